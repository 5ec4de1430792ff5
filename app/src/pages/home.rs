//! `/`: the dashboard. For now: the state of the event log and the latest
//! activity; hosts and containers join it as they arrive.

use crate::api::events::{FilterForm, chain, list_events};
use crate::components::event_table::EventTable;
use crate::components::status::{ChainBadge, ErrorBox};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let recent = Resource::new(|| (), |_| list_events(FilterForm::default(), None));
    let chain = Resource::new(|| (), |_| chain());
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (recent.await, chain.await) {
                    (Ok(page), Ok(status)) => view! {
                        <section class="cards">
                            <div class="card stat">
                                <div class="stat-label">"Events recorded"</div>
                                <div class="stat-value" id="event-count">{page.head}</div>
                            </div>
                            <div class="card stat">
                                <div class="stat-label">"Event log integrity"</div>
                                <div class="stat-value small"><ChainBadge status/></div>
                            </div>
                        </section>
                        <section>
                            <div class="section-head">
                                <h2>"Latest activity"</h2>
                                <a href="/events">"Open the event log →"</a>
                            </div>
                            <EventTable events=page.events.into_iter().take(10).collect() filter=FilterForm::default()/>
                        </section>
                    }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorBox error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
