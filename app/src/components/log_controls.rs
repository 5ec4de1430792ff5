//! The logs view's controls: what to ask the server for (how many lines of
//! the tail, from when, until when; applied on submit, checked first, and
//! refused in words), and how to search what the browser keeps (plain or
//! regex, case, invert, streams; applied as the person types). Times are
//! UTC, as everywhere in berth.

use super::log_search::{SearchSpec, Streams};
use berth_core::model::{LogQuery, MAX_TAIL, parse_ts};
use leptos::prelude::*;

/// Lines of the tail a view starts with.
pub const DEFAULT_TAIL: u32 = 500;

/// The query every view starts with: the last 500 lines, then live.
pub fn default_query() -> LogQuery {
    LogQuery {
        tail: Some(DEFAULT_TAIL),
        follow: true,
        ..LogQuery::default()
    }
}

/// The ranges offered, as (value, label, seconds back from now).
const RANGES: [(&str, &str, i64); 6] = [
    ("all", "Any time", 0),
    ("15m", "Last 15 minutes", 15 * 60),
    ("1h", "Last hour", 3600),
    ("6h", "Last 6 hours", 6 * 3600),
    ("24h", "Last 24 hours", 24 * 3600),
    ("custom", "From … to …", 0),
];

/// The query from the form's fields; the error says what to fix.
pub fn build_query(tail: &str, range: &str, since: &str, until: &str, now_ns: i64) -> Result<LogQuery, String> {
    let tail = match tail.trim() {
        "" => None,
        t => Some(
            t.parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_TAIL)
                .ok_or_else(|| format!("Lines is a whole number from 0 to {MAX_TAIL}, or empty for all; not '{t}'"))?,
        ),
    };
    let time = |label: &str, text: &str| -> Result<Option<i64>, String> {
        match text.trim() {
            "" => Ok(None),
            t => parse_ts(t).map(Some).map_err(|e| format!("{label}: {e}")),
        }
    };
    let (since_ns, until_ns) = match RANGES.iter().find(|r| r.0 == range) {
        Some(("custom", ..)) => (time("From", since)?, time("To", until)?),
        Some((_, _, secs)) if *secs > 0 => (Some(now_ns - secs * 1_000_000_000), None),
        _ => (None, None),
    };
    let q = LogQuery {
        tail,
        since_ns,
        until_ns,
        follow: until_ns.is_none(),
    };
    // Core's words start a sentence here (they are ASCII).
    q.validate().map_err(|mut e| {
        if let Some(first) = e.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        e
    })?;
    Ok(q)
}

/// Now, in Unix nanoseconds, by the browser's clock.
fn now_ns() -> i64 {
    #[cfg(feature = "hydrate")]
    return (js_sys::Date::now() * 1_000_000.0) as i64;
    #[cfg(not(feature = "hydrate"))]
    0
}

/// Lines, range and (for a custom range) from/to; `applied` changes only
/// when the whole form is valid.
#[component]
pub fn QueryForm(applied: RwSignal<LogQuery>) -> impl IntoView {
    let tail = RwSignal::new(DEFAULT_TAIL.to_string());
    let range = RwSignal::new("all".to_string());
    let since = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = build_query(&tail.get(), &range.get(), &since.get(), &until.get(), now_ns());
        match q {
            Ok(q) => {
                error.set(None);
                applied.set(q);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let custom = move || range.get() == "custom";
    view! {
        <form class="log-query" on:submit=submit aria-label="What to load">
            <label>"Lines"
                <input type="text" inputmode="numeric" class="log-tail" id="log-tail" placeholder="all"
                    prop:value=move || tail.get() on:input=move |ev| tail.set(event_target_value(&ev))/>
            </label>
            <label>"Range"
                <select id="log-range" prop:value=move || range.get() on:change=move |ev| range.set(event_target_value(&ev))>
                    {RANGES.iter().map(|(value, label, _)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
            </label>
            <Show when=custom>
                <label>"From (UTC)"
                    <input type="datetime-local" step="1" id="log-since" prop:value=move || since.get()
                        on:input=move |ev| since.set(event_target_value(&ev))/>
                </label>
                <label>"To (UTC)"
                    <input type="datetime-local" step="1" id="log-until" prop:value=move || until.get()
                        on:input=move |ev| until.set(event_target_value(&ev))/>
                </label>
            </Show>
            <button type="submit" class="btn btn-small">"Apply"</button>
            <span class="hint">{move || if custom() && !until.get().is_empty() {
                "A range with an end does not follow new lines."
            } else {
                "Then follows new lines."
            }}</span>
        </form>
        {move || error.get().map(|e| view! { <div class="alert alert-error log-input-error" id="log-query-error" role="alert">{e}</div> })}
    }
}

/// The search over what the browser keeps, and the streams shown.
#[component]
pub fn SearchBar(
    spec: RwSignal<SearchSpec>,
    streams: RwSignal<Streams>,
    /// Why the search cannot run as typed.
    error: Signal<Option<String>>,
    /// Sends the search to the server.
    on_server: Callback<()>,
) -> impl IntoView {
    let check = move |set: fn(&mut SearchSpec, bool)| {
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            spec.update(|s| set(s, on));
        }
    };
    view! {
        <form class="log-search" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            on_server.run(());
        }>
            <input type="search" id="log-search" class="search" placeholder="Search these lines…" aria-label="Search"
                prop:value=move || spec.with(|s| s.pattern.clone())
                on:input=move |ev| spec.update(|s| s.pattern = event_target_value(&ev))/>
            <label class="toggle" title="Regular expression">
                <input type="checkbox" id="log-regex" on:change=check(|s, on| s.regex = on)/>"Regex"
            </label>
            <label class="toggle" title="Match upper and lower case exactly">
                <input type="checkbox" id="log-case" on:change=check(|s, on| s.case = on)/>"Aa"
            </label>
            <label class="toggle" title="Show the lines that do not match">
                <input type="checkbox" id="log-invert" on:change=check(|s, on| s.invert = on)/>"Invert"
            </label>
            <select id="log-streams" aria-label="Streams" on:change=move |ev| streams.set(Streams::parse(&event_target_value(&ev)))>
                <option value="both">"stdout + stderr"</option>
                <option value="stdout">"stdout only"</option>
                <option value="stderr">"stderr only"</option>
            </select>
            <button type="submit" class="btn btn-small" id="log-server-search"
                title="Search each container's log on the server, further back than the lines kept here">
                "Search the server"
            </button>
        </form>
        {move || error.get().map(|e| view! { <div class="alert alert-error log-input-error" id="log-search-error" role="alert">{e}</div> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000_000;

    #[test]
    fn the_form_builds_a_checked_query() {
        let q = build_query("500", "all", "", "", NOW).unwrap();
        assert_eq!(q, default_query());
        let q = build_query(" ", "1h", "", "", NOW).unwrap();
        assert_eq!(
            (q.tail, q.since_ns, q.follow),
            (None, Some(NOW - 3_600_000_000_000), true)
        );
        let q = build_query("10", "custom", "2026-11-30T10:00", "2026-11-30T11:00:30", NOW).unwrap();
        assert_eq!(q.since_ns, Some(parse_ts("2026-11-30T10:00").unwrap()));
        assert!(!q.follow, "a range with an end does not follow");
        // From/to only count for a custom range.
        assert_eq!(build_query("1", "15m", "junk", "junk", NOW).unwrap().until_ns, None);
    }

    #[test]
    fn bad_input_says_what_to_fix() {
        let e = build_query("lots", "all", "", "", NOW).unwrap_err();
        assert!(e.contains("whole number") && e.contains("'lots'"), "{e}");
        assert!(build_query("-1", "all", "", "", NOW).is_err());
        let e = build_query(&(MAX_TAIL + 1).to_string(), "all", "", "", NOW).unwrap_err();
        assert!(e.contains("from 0 to 100000"), "{e}");
        let e = build_query("1", "custom", "yesterday", "", NOW).unwrap_err();
        assert!(e.starts_with("From: 'yesterday' is not a time"), "{e}");
        let e = build_query("1", "custom", "2026-11-30T11:00", "2026-11-30T10:00", NOW).unwrap_err();
        assert!(e.contains("before"), "{e}");
    }
}
