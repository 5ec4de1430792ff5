//! A grid of charts with the range buttons (1h, 24h, 7d, 30d). The 1 h view
//! reloads on every collector tick the live feed reports, so it moves.

use crate::components::chart::LineChart;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::{ChartRange, ChartSet};
use leptos::prelude::*;
use std::future::Future;

#[component]
pub fn ChartPanel<F, Fut>(
    /// Reads the chart set for a range.
    load: F,
    /// The time of the latest collector tick, from the live feed.
    tick: Signal<Option<i64>>,
) -> impl IntoView
where
    F: Fn(ChartRange) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<ChartSet, AppError>> + Send + 'static,
{
    let range = RwSignal::new(ChartRange::Hour);
    let charts = Resource::new(
        move || {
            let r = range.get();
            (r, if r == ChartRange::Hour { tick.get() } else { None })
        },
        move |(r, _)| load(r),
    );
    view! {
        <div class="toolbar ranges" role="group" aria-label="Chart range">
            {ChartRange::ALL.into_iter().map(|r| view! {
                <button type="button" class="btn btn-small" data-range=r.label()
                    aria-pressed=move || (range.get() == r).to_string()
                    on:click=move |_| range.set(r)>{r.label()}</button>
            }).collect_view()}
            <span class="muted small">{move || if range.get() == ChartRange::Hour { "updates live" } else { "" }}</span>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading charts…"</p> }>
            {move || Suspend::new(async move {
                match charts.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(set) => {
                        let (from, to, step) = (set.from, set.to, set.step);
                        view! {
                            <div class="charts" data-step=step>
                                {set.charts.into_iter().filter(|c| !c.series.is_empty()).map(|chart| view! {
                                    <LineChart chart from to step/>
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
