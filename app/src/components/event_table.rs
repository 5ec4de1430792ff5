//! The event log as a table. Every actor, kind, host and target cell links to
//! the log filtered by that value, so narrowing down is one click.

use super::status::OutcomeBadge;
use crate::api::events::FilterForm;
use berth_core::model::{Event, format_ts};
use leptos::prelude::*;

fn filter_link(filter: &FilterForm, field: &str, value: &str) -> String {
    format!("/events?{}", filter.with(field, value).query_string())
}

#[component]
pub fn EventRow(event: Event, filter: FilterForm, #[prop(optional)] fresh: bool) -> impl IntoView {
    let e = event;
    let seq = e.seq.0;
    let actor = e.actor.to_string();
    let cell = |field: &'static str, value: Option<String>| match value {
        Some(v) => {
            let href = filter_link(&filter, field, &v);
            let title = format!("Only {field} {v}");
            view! { <a href=href title=title>{v}</a> }.into_any()
        }
        None => view! { <span class="muted">"–"</span> }.into_any(),
    };
    view! {
        <tr class:fresh=fresh data-seq=seq>
            <td class="num"><a href=format!("/events/{seq}")>{seq}</a></td>
            <td class="time">{format_ts(e.ts_ns)}</td>
            <td class="kind">{cell("kind", Some(e.kind.clone()))}</td>
            <td>{cell("actor", Some(actor))}</td>
            <td class="hide-sm">{e.source.clone().unwrap_or_default()}</td>
            <td class="hide-sm">{cell("host", e.host.clone())}</td>
            <td>{cell("target", e.target.clone())}</td>
            <td><OutcomeBadge outcome=e.outcome.clone()/></td>
        </tr>
    }
}

#[component]
pub fn EventTable(
    events: Vec<Event>,
    filter: FilterForm,
    /// Events that arrived live, shown above `events`. Owned by the page,
    /// not by this table: a table being replaced must not dispose it.
    #[prop(optional)]
    live: Option<RwSignal<Vec<Event>>>,
) -> impl IntoView {
    let live_rows = {
        let filter = filter.clone();
        move || {
            live.and_then(|l| l.try_get())
                .unwrap_or_default()
                .into_iter()
                .map(|e| {
                    view! { <EventRow event=e filter=filter.clone() fresh=true/> }
                })
                .collect_view()
        }
    };
    let empty = events.is_empty();
    let rows = events
        .into_iter()
        .map(|e| view! { <EventRow event=e filter=filter.clone()/> })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table events" aria-label="Events, newest first">
                <thead>
                    <tr>
                        <th scope="col" class="num">"Seq"</th>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col" class="hide-sm">"Source"</th>
                        <th scope="col" class="hide-sm">"Host"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Outcome"</th>
                    </tr>
                </thead>
                <tbody>
                    {live_rows}
                    {rows}
                </tbody>
            </table>
        </div>
        {move || {
            let no_live = live.and_then(|l| l.try_with(Vec::is_empty)).unwrap_or(true);
            (empty && no_live).then(|| view! { <p class="empty">"No events match this filter."</p> })
        }}
    }
}
