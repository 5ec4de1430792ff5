//! `/logs`: stored container logs. A search (text or regex, case, invert,
//! stream, time range, one host or key, or everything the caller may read)
//! whose fields live in the URL, matches newest first with their time,
//! container and stream, and a link further back; below it, the container
//! keys with how far back each reaches and its size against its budget, and
//! for those who may, a form to switch a key's collection and set its budget.

use crate::api::events::encode;
use crate::api::ops::stored_log_keys;
use crate::api::stored_logs::{CollectLogsForm, search_stored_logs};
use crate::components::ansi;
use crate::components::status::ErrorBox;
use berth_core::model::ops::StoredLogKeys;
use berth_core::model::{
    LogStream, StoredKey, StoredKeys, StoredMatch, StoredPage, StoredQueryFields, format_ts, human_size, natural_cmp,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

/// The URL's query names, in the order a link writes them.
const FIELDS: [&str; 11] = [
    "host", "key", "search", "regex", "case", "invert", "stream", "since", "until", "limit", "before",
];

fn fields_from(get: impl Fn(&str) -> Option<String>) -> StoredQueryFields {
    StoredQueryFields {
        host: get("host"),
        key: get("key"),
        search: get("search"),
        regex: get("regex"),
        case: get("case"),
        invert: get("invert"),
        stream: get("stream"),
        since: get("since"),
        until: get("until"),
        limit: get("limit"),
        before: get("before"),
    }
}

fn field(f: &StoredQueryFields, name: &str) -> Option<String> {
    match name {
        "host" => f.host.clone(),
        "key" => f.key.clone(),
        "search" => f.search.clone(),
        "regex" => f.regex.clone(),
        "case" => f.case.clone(),
        "invert" => f.invert.clone(),
        "stream" => f.stream.clone(),
        "since" => f.since.clone(),
        "until" => f.until.clone(),
        "limit" => f.limit.clone(),
        "before" => f.before.clone(),
        _ => None,
    }
}

/// `/logs?…` for these fields (empty ones left out).
fn link(f: &StoredQueryFields) -> String {
    let q: Vec<String> = FIELDS
        .iter()
        .filter_map(|n| {
            field(f, n)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{n}={}", encode(&v)))
        })
        .collect();
    if q.is_empty() {
        "/logs".into()
    } else {
        format!("/logs?{}", q.join("&"))
    }
}

/// The stored logs of one key, as the container page links to them.
pub fn key_link(host: &str, key: &str) -> String {
    format!("/logs?host={}&key={}", encode(host), encode(key))
}

#[component]
pub fn StoredLogsPage() -> impl IntoView {
    let query = use_query_map();
    let fields = Memo::new(move |_| fields_from(|n| query.read().get(n)));
    let results = Resource::new(move || fields.get(), search_stored_logs);
    let collect = ServerAction::<CollectLogsForm>::new();
    let keys = Resource::new(
        move || collect.version().get(),
        |_| stored_log_keys(StoredLogKeys::default()),
    );
    let value = move |name: &'static str| move || fields.with(|f| field(f, name).unwrap_or_default());
    let checked = move |name: &'static str| move || fields.with(|f| field(f, name).is_some_and(|v| v == "true"));
    view! {
        <Title text="Stored logs"/>
        <div class="section-head">
            <h1>"Stored logs"</h1>
        </div>
        <p class="muted">
            "berth keeps the logs of the container keys collected below, within their budgets (the oldest lines go first), "
            "so they can be searched after the container is gone. Times are UTC."
        </p>
        <Form method="GET" action="/logs" attr:class="filters stored-search" attr:aria-label="Search stored logs">
            <label class="wide">"Search"
                <input name="search" id="stored-search" placeholder="text, or a regular expression" value=value("search")/>
            </label>
            <label>"Host"
                <select name="host" id="stored-host">
                    <option value="">"every host"</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let hosts = keys.await.map(|k| k.hosts).unwrap_or_default();
                            let current = fields.with_untracked(|f| f.host.clone().unwrap_or_default());
                            hosts.into_iter().map(|h| {
                                let selected = h.host.0 == current;
                                view! { <option value=h.host.0.clone() selected=selected>{h.host.0.clone()}</option> }
                            }).collect_view()
                        })}
                    </Transition>
                </select>
            </label>
            <label>"Key"
                <input name="key" id="stored-key" list="stored-keys" placeholder="compose:shop/web or name:db" value=value("key")/>
            </label>
            <datalist id="stored-keys">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let keys = keys.await.map(|k| k.keys).unwrap_or_default();
                        let mut names: Vec<String> = keys.into_iter().map(|k| k.key).collect();
                        names.sort_by(|a, b| natural_cmp(a, b));
                        names.dedup();
                        names.into_iter().map(|k| view! { <option value=k></option> }).collect_view()
                    })}
                </Transition>
            </datalist>
            <label>"Stream"
                <select name="stream">
                    {["", "stdout", "stderr"].map(|s| {
                        let selected = move || fields.with(|f| f.stream.as_deref().unwrap_or("") == s);
                        view! { <option value=s selected=selected>{if s.is_empty() { "both" } else { s }}</option> }
                    })}
                </select>
            </label>
            <label>"From (UTC)"<input name="since" type="datetime-local" step="1" value=value("since")/></label>
            <label>"Until (UTC)"<input name="until" type="datetime-local" step="1" value=value("until")/></label>
            <div class="checks">
                <label class="toggle"><input type="checkbox" name="regex" value="true" checked=checked("regex")/>"Regex"</label>
                <label class="toggle"><input type="checkbox" name="case" value="true" checked=checked("case")/>"Match case"</label>
                <label class="toggle"><input type="checkbox" name="invert" value="true" checked=checked("invert")/>"Lines that do not match"</label>
            </div>
            <div class="filter-actions">
                <button type="submit" class="btn btn-primary">"Search"</button>
                <a class="btn btn-quiet" href="/logs">"Clear"</a>
            </div>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(page) => view! { <Matches page fields=fields.get_untracked()/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                }
            })}
        </Transition>
        <h2 id="keys">"Container keys"</h2>
        {move || collect.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(all) => view! { <Keys all collect/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One match as a log line: its time, container, stream and text (SGR
/// colours rendered, everything else shown inert, all as text nodes).
fn match_view(m: StoredMatch) -> impl IntoView {
    let styled = ansi::parse(&m.text);
    let stderr = m.stream == LogStream::Stderr;
    let class = if stderr { "log-line stderr" } else { "log-line" };
    let short = m.container.get(..12).unwrap_or(&m.container).to_string();
    let source = format!("{} · {} · {}", m.host.0, m.key, short);
    let text = styled
        .runs
        .iter()
        .map(|(range, style)| {
            let piece = styled.text[range.clone()].to_string();
            if style.is_plain() {
                piece.into_any()
            } else {
                view! { <span class=style.class() style=style.css()>{piece}</span> }.into_any()
            }
        })
        .collect_view();
    view! {
        <div class=class>
            <span class="log-ts">{format_ts(m.ts_ns)}</span>
            <span class="log-src stored-src" title=source>{m.name.clone()}</span>
            {stderr.then(|| view! { <span class="log-err" title="written to stderr">"err"</span> })}
            <span class="log-text">{text}</span>
        </div>
    }
}

#[component]
fn Matches(page: StoredPage, fields: StoredQueryFields) -> impl IntoView {
    let count = page.matches.len();
    let more = page.next_before.clone().map(|before| {
        link(&StoredQueryFields {
            before: Some(before),
            ..fields.clone()
        })
    });
    let summary = match (count, page.cut_short) {
        (0, false) => "No stored line matches.".to_string(),
        (n, false) => format!(
            "The newest {n} matching lines, newest first ({} looked at).",
            page.scanned
        ),
        (n, true) => format!(
            "{n} matching lines in the {} looked at before the search's time ran out; go on further back for more.",
            page.scanned
        ),
    };
    let newest = fields.before.is_some().then(|| {
        let first = link(&StoredQueryFields {
            before: None,
            ..fields.clone()
        });
        view! { <a class="btn btn-small" href=first>"Newest"</a> }
    });
    view! {
        <div class="log-bar">
            <span class="muted" id="stored-summary">{summary}</span>
            <span class="spacer"></span>
            {newest}
            {more.map(|href| view! { <a class="btn btn-small" id="stored-older" href=href>"Older →"</a> })}
        </div>
        {(count > 0).then(|| view! {
            <div class="log-area log-results stored-results" role="log" aria-label="Matching lines" tabindex="0">
                {page.matches.into_iter().map(match_view).collect_view()}
            </div>
        })}
    }
}

/// `2026-11-22 09:05:01`: a time to the second (the page says UTC).
fn short_time(ts_ns: Option<i64>) -> String {
    ts_ns.map_or_else(
        || "–".to_string(),
        |t| {
            let full = format_ts(t);
            full.get(..19).unwrap_or(&full).to_string()
        },
    )
}

/// `1.5 MiB of 256 MiB`, with a meter.
fn size_view(k: &StoredKey) -> impl IntoView {
    let text = format!(
        "{} of {}",
        human_size(k.bytes as f64),
        human_size(k.budget_bytes as f64)
    );
    let budget = k.budget_bytes.max(1) as f64;
    view! {
        <div class="stored-size">
            <meter min="0" max=budget value=k.bytes as f64 high=budget * 0.9 aria-hidden="true"></meter>
            {text}
            {k.own_budget.then(|| view! { <div class="muted small">"its own budget"</div> })}
        </div>
    }
}

#[component]
fn Keys(all: StoredKeys, collect: ServerAction<CollectLogsForm>) -> impl IntoView {
    let summary = format!(
        "All stored logs take {} of the total budget of {}; a key without its own budget may take {}.",
        human_size(all.total_bytes as f64),
        human_size(all.budget_bytes as f64),
        human_size(all.key_budget_bytes as f64)
    );
    let may = |host: &str| all.hosts.iter().any(|h| h.host.0 == host && h.may_collect);
    let rows = all
        .keys
        .iter()
        .map(|k| {
            let may_collect = may(&k.host.0);
            key_row(k.clone(), may_collect, collect)
        })
        .collect_view();
    view! {
        <p class="muted" id="stored-total">{summary}</p>
        {if all.keys.is_empty() {
            view! { <p class="empty">"No containers and no stored logs on the hosts you may read logs on."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap"><table class="table stored-keys" aria-label="Container keys">
                    <thead><tr>
                        <th>"Host"</th><th>"Key"</th><th>"Collected"</th><th>"Stored (UTC)"</th>
                        <th class="num">"Lines"</th><th>"Size"</th><th></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table></div>
            }
            .into_any()
        }}
    }
}

fn key_row(k: StoredKey, may_collect: bool, collect: ServerAction<CollectLogsForm>) -> impl IntoView {
    let state = if k.collect {
        view! {
            <span class="badge state-running">"collecting"</span>
            <div class="muted small">{format!("since {}", short_time(k.since_ns))}</div>
        }
        .into_any()
    } else {
        view! { <span class="badge">"off"</span> }.into_any()
    };
    let stored = match (k.oldest_ns, k.newest_ns) {
        (Some(oldest), Some(newest)) => view! {
            <div class="stored-oldest" title="The oldest stored line: how far back this key reaches">
                {format!("from {}", short_time(Some(oldest)))}
            </div>
            <div class="muted small">{format!("to {}", short_time(Some(newest)))}</div>
        }
        .into_any(),
        _ => view! { <span class="muted">"nothing"</span> }.into_any(),
    };
    let search =
        (k.lines > 0).then(|| view! { <a class="btn btn-small" href=key_link(&k.host.0, &k.key)>"Search"</a> });
    let budget_mib = if k.own_budget {
        format!("{}", k.budget_bytes as f64 / 1048576.0)
    } else {
        String::new()
    };
    let form = may_collect.then(|| {
        let (host, key) = (k.host.0.clone(), k.key.clone());
        let (stop_host, stop_key, stop_budget) = (host.clone(), key.clone(), budget_mib.clone());
        let save = if k.collect { "Save budget" } else { "Collect" };
        let stop = k.collect.then(|| {
            view! {
                <ActionForm action=collect attr:class="inline stored-stop">
                    <input type="hidden" name="host" value=stop_host/>
                    <input type="hidden" name="key" value=stop_key/>
                    <input type="hidden" name="collect" value="false"/>
                    <input type="hidden" name="budget_mib" value=stop_budget/>
                    <button type="submit" class="btn btn-small" disabled=move || collect.pending().get()>"Stop"</button>
                </ActionForm>
            }
        });
        view! {
            <ActionForm action=collect attr:class="inline stored-collect">
                <input type="hidden" name="host" value=host/>
                <input type="hidden" name="key" value=key/>
                <input type="hidden" name="collect" value="true"/>
                <input name="budget_mib" class="stored-budget" inputmode="decimal" value=budget_mib
                    placeholder="MiB" aria-label="Budget in MiB (empty: the default)" title="Budget in MiB (empty: the default)"/>
                " "<button type="submit" class="btn btn-small" disabled=move || collect.pending().get()>{save}</button>
            </ActionForm>
            {stop}
        }
    });
    let container = k
        .container
        .clone()
        .map(|c| view! { <div class="muted small">{c}</div> });
    view! {
        <tr data-key=k.key.clone()>
            <td>{k.host.0.clone()}</td>
            <td><code>{k.key.clone()}</code>{container}</td>
            <td>{state}</td>
            <td>{stored}</td>
            <td class="num">{k.lines}</td>
            <td>{size_view(&k)}</td>
            <td><div class="stored-actions">{form}{search}</div></td>
        </tr>
    }
}
