//! The dashboard as the pages follow it: the server's answer first, then
//! every tick of `/ws/stats` once hydrated. Shared by the dashboard, host,
//! container health and alerts pages.

use crate::api::stats::{get_dashboard, stats_ticket};
use crate::components::socket::follow_json;
use crate::components::status::ErrorBox;
use berth_core::model::Dashboard;
use leptos::prelude::*;

/// The dashboard feed, live: every tick of `/ws/stats` once hydrated.
pub fn follow_dashboard() -> RwSignal<Option<Dashboard>> {
    let live: RwSignal<Option<Dashboard>> = RwSignal::new(None);
    follow_json(live, "/ws/stats".to_string(), stats_ticket);
    live
}

/// Draws `render` from the dashboard: the server's answer first, then each
/// one the live feed brings.
#[component]
pub fn WithDashboard<F, V>(live: RwSignal<Option<Dashboard>>, render: F) -> impl IntoView
where
    F: Fn(Signal<Dashboard>) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let first = Resource::new(|| (), |_| get_dashboard());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match first.await {
                        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        Ok(first) => {
                            let current = Signal::derive(move || live.get().unwrap_or_else(|| first.clone()));
                            render(current).into_any()
                        }
                    }
                })
            }}
        </Transition>
    }
}
