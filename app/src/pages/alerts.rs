//! `/alerts`: the alerts firing and pending now (live over `/ws/stats`),
//! the rules that raise them and the channels that are told; and the
//! container page's firing alerts (`ContainerAlerts`; the box the pages
//! share is `components::firing`). The history of alerts is the event log
//! (`alert.fire`, `alert.resolve`, `alert.deliver`).
//!
//! Here: the page and the alert lists. `rules` and `channels`: their
//! tables; `rule_form` (with `rule_fields` and `silences`) and
//! `channel_form` (with `channel_fields`): the edit pages.

mod channel_fields;
mod channel_form;
mod channels;
mod rule_fields;
mod rule_form;
mod rules;
mod saving;
mod silences;

pub(crate) use crate::components::firing::SeverityBadge;
pub use channel_form::ChannelPage;
pub use rule_form::RulePage;

use crate::api::events::encode;
use crate::api::ops::list_alerts;
use crate::components::dashboard::follow_dashboard;
use crate::components::firing::{FiringBox, when};
use crate::components::status::ErrorBox;
use berth_core::model::ops::ListAlerts;
use berth_core::model::{Alert, AlertState};
use leptos::prelude::*;
use leptos_meta::Title;

/// The event log filtered to alerts: their firing, resolving and delivery.
pub(crate) const HISTORY: &str = "/events?kind=alert.*";

#[component]
pub fn AlertsPage() -> impl IntoView {
    let perms = super::permissions();
    let first = Resource::new(|| (), |_| list_alerts(ListAlerts {}));
    let live = follow_dashboard();
    // Bumped by every change to a rule or channel: both lists load again.
    let refresh = RwSignal::new(0usize);
    view! {
        <Title text="Alerts"/>
        <div class="section-head">
            <h1>"Alerts"</h1>
            <div class="actions">
                <a class="btn" href=HISTORY id="alert-history">"History in the event log →"</a>
            </div>
        </div>
        <section aria-labelledby="alerts-now-title">
            <h2 id="alerts-now-title" class="sr-only">"Firing and pending now"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading alerts…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        Ok(first) => {
                            let alerts = Signal::derive(move || {
                                live.with(|d| d.as_ref().map(|d| d.alerts.clone())).unwrap_or_else(|| first.alerts.clone())
                            });
                            view! { <AlertsNow alerts/> }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
        <rules::Rules perms refresh/>
        <channels::Channels perms refresh/>
    }
}

/// Every alert firing or pending now, firing first, most severe first.
#[component]
fn AlertsNow(alerts: Signal<Vec<Alert>>) -> impl IntoView {
    let sorted = move || {
        let mut list = alerts.get();
        list.sort_by_key(|a| std::cmp::Reverse((a.state == AlertState::Firing, a.severity, a.since_ms)));
        list
    };
    move || {
        let list = sorted();
        if list.is_empty() {
            return view! { <p class="empty" id="alerts-none">"Nothing is firing or pending."</p> }.into_any();
        }
        let firing = list.iter().filter(|a| a.state == AlertState::Firing).count();
        view! {
            <p class="muted summary" id="alerts-count">
                {format!("{firing} firing, {} pending", list.len() - firing)}
            </p>
            <div class="table-wrap">
                <table class="table alerts stack" aria-label="Alerts now">
                    <thead><tr>
                        <th scope="col">"Severity"</th>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Subject"</th>
                        <th scope="col" class="hide-sm">"Summary"</th>
                        <th scope="col" class="hide-sm">"Since (UTC)"</th>
                        <th scope="col"><span class="sr-only">"History"</span></th>
                    </tr></thead>
                    <tbody>{list.into_iter().map(alert_row).collect_view()}</tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

fn alert_row(a: Alert) -> impl IntoView {
    let host = a.host.as_ref().map(|h| h.0.clone()).unwrap_or_default();
    let since = a
        .fired_ms
        .filter(|_| a.state == AlertState::Firing)
        .map(|f| format!("fired {}", when(f)))
        .unwrap_or_else(|| format!("holding since {}", when(a.since_ms)));
    view! {
        <tr data-rule=a.rule.0.to_string() data-rule-name=a.rule_name.clone() data-state=a.state.as_str() data-host=host.clone()
            data-subject=a.subject.clone()>
            <td>
                <SeverityBadge severity=a.severity/>
                " "<span class=format!("badge alert-{}", a.state.as_str())>{a.state.as_str()}</span>
                {a.silenced.then(|| view! { " "<span class="badge badge-off" title="A silence of its rule keeps it quiet: nobody is told">"silenced"</span> })}
            </td>
            <td class="wrap"><strong>{a.rule_name.clone()}</strong></td>
            <td class="wrap">{a.subject.clone()}
                {(!host.is_empty()).then(|| view! { <div class="muted small">"on "<a href=format!("/hosts/{host}")>{host.clone()}</a></div> })}
                <div class="muted small show-sm">{a.summary.clone()}</div>
            </td>
            <td class="hide-sm wrap">{a.summary.clone()}</td>
            <td class="hide-sm time">{since}</td>
            <td><a class="small history" href=history_link(&a) title="This alert's history in the event log">"History"</a></td>
        </tr>
    }
}

/// The event log at the alert's subject: its firing, resolving and
/// deliveries (the events name a container or filesystem as their target).
fn history_link(a: &Alert) -> String {
    let mut link = HISTORY.to_string();
    if let Some(h) = &a.host {
        link.push_str(&format!("&host={}", encode(&h.0)));
    }
    let target = match a.subject.split_once(' ') {
        Some(("container", key)) => Some(format!("container:{}", key.split_once(':').map_or(key, |(_, k)| k))),
        Some(("filesystem", mount)) => Some(format!("filesystem:{mount}")),
        _ => None,
    };
    if let Some(t) = target {
        link.push_str(&format!("&target={}", encode(&t)));
    }
    link
}

/// The alerts firing now about one container (`key` as in expected
/// states: `compose:shop/web`, `name:db`) on `host`: nothing when none.
#[component]
pub(crate) fn ContainerAlerts(host: String, key: String) -> impl IntoView {
    let all = Resource::new(|| (), |_| list_alerts(ListAlerts {}));
    let subject = format!("container {key}");
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (host, subject) = (host.clone(), subject.clone());
                Suspend::new(async move {
                    let alerts: Vec<Alert> = all
                        .await
                        .map(|l| l.alerts)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|a| a.subject == subject && a.host.as_ref().is_some_and(|h| h.0 == host))
                        .collect();
                    view! { <FiringBox alerts=Signal::stored(alerts) quiet_when_none=true/> }
                })
            }}
        </Suspense>
    }
}
