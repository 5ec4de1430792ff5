//! The logs view of one or more containers of a host, as the logs pages
//! show it: the query and search controls, the feed's state and counts,
//! pause and resume, timestamps, wrapping, downloads, "load older" (also
//! by scrolling to the top), the live lines, and the server's search
//! results. The lines, the feed and the search live in
//! `components::log_*`; this is how they fit together.

use crate::components::log_api::{RestSearch, download_url};
use crate::components::log_buffer::LogBuffer;
use crate::components::log_controls::{QueryForm, SearchBar, default_query};
use crate::components::log_feed::{KEPT, LogSession, OLDER, SERVER_SEARCH_TAIL, Status};
use crate::components::log_search::{Filter, SearchSpec, Streams};
use crate::components::log_view::{LineLook, LogLines, StaticLines};
use berth_core::model::LogLine;
use leptos::prelude::*;

/// A container the view shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub id: String,
    pub name: String,
}

/// What "search the server" brought back.
#[derive(Clone, Debug)]
enum Found {
    Searching,
    Lines(Vec<LogLine>),
    Failed(String),
}

fn count(n: usize) -> String {
    // 5000 → "5,000"
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[component]
pub fn LogViewer(host: String, targets: Vec<Target>, merged: bool) -> impl IntoView {
    let session = LogSession::new(host.clone(), targets.iter().map(|t| t.id.clone()).collect());
    let timestamps = RwSignal::new(true);
    let wrap = RwSignal::new(true);
    let look = LineLook {
        names: StoredValue::new(targets.iter().map(|t| t.name.clone()).collect()),
        merged,
        timestamps: timestamps.into(),
        wrap: wrap.into(),
    };
    let stick = RwSignal::new(true);
    let applied = RwSignal::new(default_query());
    let older_note = RwSignal::new(None::<Result<usize, String>>);
    // Whether older lines are being fetched, or none are left.
    let older_busy = RwSignal::new(false);
    let no_older = RwSignal::new(false);
    // Effects run in the browser: the server renders an empty view.
    Effect::new(move |_| {
        let q = applied.get();
        no_older.set(false);
        older_note.set(None);
        session.start(q);
    });

    let spec = RwSignal::new(SearchSpec::default());
    let streams = RwSignal::new(Streams::Both);
    let search_error = RwSignal::new(None::<String>);
    Effect::new(move |_| match Filter::new(&spec.get(), streams.get()) {
        Ok(filter) => {
            search_error.set(None);
            session.buffer.update(|b| b.set_filter(filter));
        }
        // The last good search stays applied meanwhile.
        Err(e) => search_error.set(Some(e)),
    });

    let found = RwSignal::new(None::<Found>);
    let server_search = Callback::new(move |_| {
        let s = spec.get_untracked();
        if s.pattern.is_empty() {
            found.set(Some(Found::Failed("Type what to search for first.".into())));
            return;
        }
        let search = RestSearch {
            pattern: s.pattern,
            regex: s.regex,
            case: s.case,
            invert: s.invert,
            stream: streams.get_untracked().as_param(),
        };
        found.set(Some(Found::Searching));
        leptos::task::spawn_local(async move {
            let result = session.search_server(applied.get_untracked(), search).await;
            found.try_set(Some(match result {
                Ok(lines) => Found::Lines(lines),
                Err(e) => Found::Failed(e),
            }));
        });
    });

    // Fetches older lines (the button, or scrolling to the top) unless a
    // fetch is under way or the last one found none; says whether it went.
    let load_older = Callback::new(move |_: ()| {
        if older_busy.get_untracked() || no_older.get_untracked() {
            return false;
        }
        older_busy.set(true);
        leptos::task::spawn_local(async move {
            let result = session.load_older(applied.get_untracked()).await;
            no_older.try_set(matches!(result, Ok(0)));
            older_note.try_set(Some(result));
            older_busy.try_set(false);
        });
        true
    });
    let paused = Memo::new(move |_| session.buffer.with(LogBuffer::paused));
    // Resuming a view scrolled back past what is kept starts from the tail.
    let toggle_pause = move |_| {
        if session.buffer.with_untracked(LogBuffer::behind) {
            session.buffer.update(|b| b.set_paused(false));
            stick.set(true);
            applied.notify();
        } else {
            session.buffer.update(|b| b.set_paused(!b.paused()));
        }
    };

    let counts = move || {
        session.buffer.with(|b| {
            let n = b.kept();
            let most = if n > b.cap() {
                format!("at most {} scrolling back", count(b.scrolled_back_cap()))
            } else {
                format!("at most {}", count(b.cap()))
            };
            let kept = format!("{} {} kept ({most})", count(n), if n == 1 { "line" } else { "lines" });
            if b.filter_active() {
                format!("{kept} · {} shown", count(b.shown()))
            } else {
                kept
            }
        })
    };
    let held = move || {
        session.buffer.with(|b| {
            b.paused().then(|| {
                let (n, dropped) = b.held();
                let text = if b.behind() {
                    "Paused far back: the newest lines were let go to keep this view small; resuming loads them again. "
                        .to_string()
                } else if dropped > 0 {
                    format!(
                        "Paused: {} new lines ({} older ones not kept). ",
                        count(n),
                        count(dropped as usize)
                    )
                } else {
                    format!("Paused: {} new lines. ", count(n))
                };
                view! {
                    <div class="log-paused" role="status" id="log-held">
                        {text}
                        <button type="button" class="btn btn-small" on:click=toggle_pause>"Resume"</button>
                    </div>
                }
            })
        })
    };
    let stopped = move || {
        let status = session.status.get();
        let again = move |_| session.start(applied.get_untracked());
        match status {
            Status::Failed(message) => Some(
                view! {
                    <div class="alert alert-error" role="alert" id="log-failed">
                        <strong>{message}</strong>" "
                        <button type="button" class="btn btn-small" on:click=again>"Try again"</button>
                    </div>
                }
                .into_any(),
            ),
            Status::Ended => Some(
                view! {
                    <div class="note" role="status" id="log-ended">
                        {if merged { "Every container's log ended. " } else { "The container's log ended. " }}
                        <button type="button" class="btn btn-small" on:click=again>"Follow again"</button>
                    </div>
                }
                .into_any(),
            ),
            _ => None,
        }
    };
    // A container's lines in the current range as a file.
    let download = {
        let host = host.clone();
        move |id: String, class: &'static str, label: &'static str| {
            let host = host.clone();
            let href = move || download_url(&host, &id, &applied.get(), timestamps.get());
            let title = "Download these lines as a text file (recorded in the event log)";
            view! { <a class=class href=href title=title>{label}</a> }
        }
    };
    let single = (!merged).then(|| {
        let id = targets.first().map(|t| t.id.clone()).unwrap_or_default();
        download(id, "btn btn-small log-download", "Download")
    });
    let legend = merged.then(|| {
        targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                view! {
                    <li class=format!("s{}", i % 8)><span class=format!("swatch s{}", i % 8)></span>
                        <a class="log-name" href=format!("/containers/{host}/{}/logs", t.id)>{t.name.clone()}</a>
                        " "{download(t.id.clone(), "log-download", "download")}</li>
                }
            })
            .collect_view()
    });
    let results = move || {
        found.get().map(|f| {
            let close = move |_| found.set(None);
            let body = match f {
                Found::Searching => view! { <p class="muted">"Searching the server…"</p> }.into_any(),
                Found::Failed(e) => view! { <div class="alert alert-error" role="alert">{e}</div> }.into_any(),
                Found::Lines(lines) => {
                    let total = lines.len();
                    let filter = Filter::new(&spec.get_untracked(), Streams::Both).unwrap_or_default();
                    let mut b = LogBuffer::new(KEPT, session.ids.get_value());
                    b.push_lines(lines);
                    let rows = b
                        .rows()
                        .into_iter()
                        .map(|mut r| {
                            r.marks = filter.marks(&r.line.styled.text).into();
                            r
                        })
                        .collect();
                    let note = if total > KEPT {
                        format!(", the newest {} shown", count(KEPT))
                    } else {
                        String::new()
                    };
                    let scope = count(SERVER_SEARCH_TAIL as usize);
                    let text = format!(
                        "{} matching lines in the last {scope} lines of each container{note}.",
                        count(total)
                    );
                    view! {
                        <p class="muted small" id="log-found-count">{text}</p>
                        <StaticLines rows look/>
                    }
                    .into_any()
                }
            };
            view! {
                <section class="log-found card" aria-label="Server search results">
                    <div class="section-head">
                        <h2>"Found on the server"</h2>
                        <button type="button" class="btn btn-small btn-quiet" on:click=close>"Close"</button>
                    </div>
                    {body}
                </section>
            }
        })
    };

    view! {
        <div class="log-controls">
            <QueryForm applied/>
            <SearchBar spec streams error=search_error.into() on_server=server_search/>
        </div>
        {results}
        {legend.map(|l| view! { <ul class="log-legend" aria-label="Containers">{l}</ul> })}
        <div class="log-bar">
            <span class=move || session.status.with(Status::class) id="log-status">{move || session.status.with(Status::label)}</span>
            <span class="muted small" id="log-counts">{counts}</span>
            <span class="spacer"></span>
            <label class="toggle"><input type="checkbox" id="log-timestamps" prop:checked=move || timestamps.get()
                on:change=move |ev| timestamps.set(event_target_checked(&ev))/>"Times (UTC)"</label>
            <label class="toggle"><input type="checkbox" id="log-wrap" prop:checked=move || wrap.get()
                on:change=move |ev| wrap.set(event_target_checked(&ev))/>"Wrap"</label>
            <button type="button" class="btn btn-small" id="log-pause" aria-pressed=move || paused.get().to_string() on:click=toggle_pause>
                {move || if paused.get() { "Resume" } else { "Pause" }}
            </button>
            <button type="button" class="btn btn-small" id="log-older" on:click=move |_| { load_older.run(()); }
                disabled=move || older_busy.get() || no_older.get() || session.buffer.with(|b| b.oldest_ts().is_none())
                title=format!("Fetch up to {OLDER} lines from before the oldest one here")>
                "Load older"
            </button>
            {single}
        </div>
        {move || older_note.get().map(|r| match r {
            Ok(0) => view! { <p class="muted small" id="log-older-note">"No older lines."</p> }.into_any(),
            Ok(n) => view! { <p class="muted small" id="log-older-note">{format!("Loaded {} older lines; following is paused so they stay.", count(n))}</p> }.into_any(),
            Err(e) => view! { <div class="alert alert-error" role="alert" id="log-older-note">{e}</div> }.into_any(),
        })}
        {stopped}
        {held}
        <LogLines buffer=session.buffer look stick on_top=load_older/>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(super::count(0), "0");
        assert_eq!(super::count(999), "999");
        assert_eq!(super::count(5000), "5,000");
        assert_eq!(super::count(1_234_567), "1,234,567");
    }
}
