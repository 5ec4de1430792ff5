//! `/events`: the read-only event log. Filters live in the URL (so a view can
//! be bookmarked and shared), pages go back by cursor, new events arrive live
//! over a websocket, and the current filter exports as JSON lines or CSV.
//! Beside the chain's status, the log's signed checkpoints (`checkpoints`).

use super::checkpoints::CheckpointsPanel;
use super::live::{LiveState, follow};
use crate::api::events::{FilterForm, VerifyChainForm, encode, event_kinds, list_events};
use crate::components::event_table::EventTable;
use crate::components::status::{ChainBadge, ErrorBox};
use berth_core::model::Outcome;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| FilterForm::from_lookup(|n| query.read().get(n)));
    let before = Memo::new(move |_| query.read().get("before").and_then(|b| b.parse::<u64>().ok()));
    let page = Resource::new(move || (filter.get(), before.get()), |(f, b)| list_events(f, b));
    let kinds = Resource::new(|| (), |_| event_kinds());
    let verify = ServerAction::<VerifyChainForm>::new();
    let chain = Resource::new(move || verify.version().get(), |_| crate::api::events::chain());

    // Follow live only on the newest page; start after what the page shows.
    let head = Signal::derive(move || match (before.get(), page.get()) {
        (None, Some(Ok(p))) => Some(p.head),
        _ => None,
    });
    let live = follow(filter.into(), head);
    let newest_checkpoint = Signal::derive(move || {
        live.events.with(|events| {
            events
                .iter()
                .filter(|e| e.kind == "log.checkpoint" && e.outcome == Outcome::Ok)
                .map(|e| e.seq.0)
                .max()
        })
    });

    // The newest seq in the log: as the page read it, or a newer live one.
    let log_head = Signal::derive(move || {
        let read = page.get().and_then(Result::ok).map_or(0, |p| p.head);
        let live = live.events.with(|events| events.iter().map(|e| e.seq.0).max());
        read.max(live.unwrap_or(0))
    });

    let export = move |format: &str| {
        let q = filter.get().query_string();
        format!(
            "/api/v1/events/export?format={format}{}{q}",
            if q.is_empty() { "" } else { "&" }
        )
    };
    let field = move |name: &'static str| move || filter.with(|f| f.get(name).unwrap_or_default().to_string());

    view! {
        <Title text="Event log"/>
        <div class="section-head">
            <h1>"Event log"</h1>
            <div class="actions">
                <a class="btn" href=move || export("jsonl") download="berth-events.jsonl">"Export JSONL"</a>
                <a class="btn" href=move || export("csv") download="berth-events.csv">"Export CSV"</a>
            </div>
        </div>
        <div class="toolbar">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match chain.await {
                        Ok(status) => view! { <ChainBadge status head=log_head/> }.into_any(),
                        Err(e) => view! { <span class="chain chain-broken">{e.to_string()}</span> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=verify attr:class="inline">
                <button type="submit" class="btn btn-small" disabled=move || verify.pending().get()>
                    {move || if verify.pending().get() { "Verifying…" } else { "Verify now" }}
                </button>
            </ActionForm>
            <span class="spacer"></span>
            <label class="toggle">
                <input type="checkbox" id="follow" prop:checked=move || live.enabled.get()
                    on:change=move |ev| live.enabled.set(event_target_checked(&ev))/>
                "Follow live"
            </label>
            <span class=move || format!("live-state live-{}", live.state.get().css()) id="live-state" aria-live="polite">
                {move || live.state.get().label()}
            </span>
        </div>
        <CheckpointsPanel signed_live=newest_checkpoint/>

        <Form method="GET" action="/events" attr:class="filters" attr:aria-label="Filter events">
            <label>"Kind"
                <input name="kind" list="event-kinds" placeholder="e.g. auth.* or auth.login.failed" value=field("kind")/>
            </label>
            <datalist id="event-kinds">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let kinds = kinds.await.unwrap_or_default();
                        let mut groups: Vec<String> = kinds.iter().filter_map(|k| k.split_once('.').map(|(g, _)| format!("{g}.*"))).collect();
                        groups.dedup();
                        groups.into_iter().chain(kinds).map(|k| view! { <option value=k.clone()></option> }).collect_view()
                    })}
                </Suspense>
            </datalist>
            <label>"Actor"<input name="actor" placeholder="alice, system…" value=field("actor")/></label>
            <label>"Host"<input name="host" value=field("host")/></label>
            <label>"Target"<input name="target" placeholder="user:alice" value=field("target")/></label>
            <label>"Outcome"
                <select name="outcome">
                    {["", "ok", "denied", "error"].map(|o| {
                        let selected = move || filter.with(|f| f.outcome == o);
                        view! { <option value=o selected=selected>{if o.is_empty() { "any" } else { o }}</option> }
                    })}
                </select>
            </label>
            <label>"From (UTC)"<input name="since" type="datetime-local" step="1" value=field("since")/></label>
            <label>"Until (UTC)"<input name="until" type="datetime-local" step="1" value=field("until")/></label>
            <div class="filter-actions">
                <button type="submit" class="btn btn-primary">"Apply"</button>
                <a class="btn btn-quiet" href="/events">"Clear"</a>
            </div>
        </Form>

        <Transition fallback=|| view! { <p class="muted">"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(p) => {
                        let f = filter.get_untracked();
                        let q = f.query_string();
                        let newer = before.get_untracked().map(|_| format!("/events?{q}"));
                        let older = p.next_before.map(|b| format!("/events?{q}{}before={}", if q.is_empty() { "" } else { "&" }, encode(&b.0.to_string())));
                        view! {
                            <p class="muted summary">{format!("{} events in the log", p.head)}</p>
                            <EventTable events=p.events filter=f live=live.events/>
                            <nav class="pager" aria-label="Pages">
                                {newer.map(|h| view! { <a class="btn" href=h>"← Newest"</a> })}
                                {older.map(|h| view! { <a class="btn" href=h id="older">"Older →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

impl LiveState {
    fn css(&self) -> &'static str {
        match self {
            LiveState::Off => "off",
            LiveState::Connecting => "connecting",
            LiveState::Live => "on",
            LiveState::Lost => "lost",
        }
    }

    fn label(&self) -> &'static str {
        match self {
            LiveState::Off => "",
            LiveState::Connecting => "connecting…",
            LiveState::Live => "● live",
            LiveState::Lost => "disconnected, retrying…",
        }
    }
}
