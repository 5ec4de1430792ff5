//! The monitoring part of a container's page: health at a glance (check
//! status, restarts, OOM kills), the expected state a manager sets (others
//! see it, without the form) and any drift from it, and the container's
//! charts.

use crate::api::ops::container_charts;
use crate::api::stats::SetExpectedForm;
use crate::components::charts::ChartPanel;
use crate::components::dashboard::{WithDashboard, follow_dashboard};
use crate::components::status::ErrorBox;
use berth_core::model::ops::ContainerCharts;
use berth_core::model::{Container, Dashboard, ExpectedState, HostId};
use leptos::prelude::*;

#[component]
pub fn Monitoring(host: String, id: String, name: String, set_expected: bool) -> impl IntoView {
    let set = ServerAction::<SetExpectedForm>::new();
    let live = follow_dashboard();
    let tick = Signal::derive(move || live.with(|d| d.as_ref().map(|d| d.stats.at_ms)));
    // This container as the dashboard has it (a saved expectation comes back on the feed).
    let panel = {
        let host = host.clone();
        move |current: Signal<Dashboard>| {
            let (host, id) = (host.clone(), id.clone());
            let find = host.clone();
            let container = Signal::derive(move || {
                current.with(|d| {
                    d.hosts
                        .iter()
                        .find(|h| h.status.id.0 == find)
                        .and_then(|h| h.containers.iter().find(|c| c.id == id).cloned())
                })
            });
            view! { <HealthPanel host current=container set=set_expected.then_some(set)/> }
        }
    };
    view! {
        <h2>"Health and expected state"</h2>
        {move || set.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e/> })}
        <WithDashboard live render=panel/>
        <h2>"Usage"</h2>
        <ChartPanel load=move |range| container_charts(ContainerCharts { host: HostId(host.clone()), name: name.clone(), range }) tick/>
    }
}

/// `set` is the action to change the expected state, for those who may.
#[component]
fn HealthPanel(
    host: String,
    current: Signal<Option<Container>>,
    set: Option<ServerAction<SetExpectedForm>>,
) -> impl IntoView {
    move || {
        let Some(c) = current.get() else {
            return view! { <p class="empty">"This container is no longer on the host."</p> }.into_any();
        };
        let key = c.expectation_key();
        let expected = c.expected.map(|e| e.as_str()).unwrap_or("");
        let drift = c.drifts().then(|| {
            view! {
                <span class="badge badge-error drift" id="drift">{format!("drift: expected {expected}, is {}", c.state)}</span>
            }
        });
        let keyed_by = if key.starts_with("compose:") {
            "its compose project and service"
        } else {
            "its name"
        };
        let host = host.clone();
        let note = format!("Kept under {key} ({keyed_by}), so it outlives re-creation.");
        view! {
            <dl class="fields card health">
                <dt>"Health check"</dt>
                <dd>{match c.health.clone() {
                    Some(h) => { let class = format!("badge health-{h}"); view! { <span class=class id="health">{h}</span> }.into_any() }
                    None => view! { <span class="muted">"none defined"</span> }.into_any(),
                }}</dd>
                <dt>"Restarts"</dt><dd id="restarts">{c.restarts}</dd>
                <dt>"OOM kills"</dt><dd id="oom-kills">{c.oom_kills}</dd>
                <dt>"Expected state"</dt>
                <dd>
                    {match set {
                        Some(set) => view! {
                            <ActionForm action=set attr:class="inline expected-form">
                                <input type="hidden" name="host" value=host/>
                                <input type="hidden" name="key" value=key.clone()/>
                                <select name="state" id="expected-state" aria-label="Expected state">
                                    <option value="" selected=expected.is_empty()>"not set"</option>
                                    {ExpectedState::ALL.into_iter().map(|s| view! {
                                        <option value=s.as_str() selected=expected == s.as_str()>{s.as_str()}</option>
                                    }).collect_view()}
                                </select>
                                " "<button type="submit" class="btn btn-small" disabled=move || set.pending().get()>"Save"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        None => view! {
                            <span id="expected-state-text">{if expected.is_empty() { "not set" } else { expected }}</span>
                        }
                        .into_any(),
                    }}
                    " "{drift}
                    <div class="muted small">{note}</div>
                </dd>
            </dl>
        }
        .into_any()
    }
}
