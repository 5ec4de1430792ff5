//! The alerts firing now, as the dashboard, host, container and alerts
//! pages show them: a short box linking to `/alerts`, severity badges, and
//! alert times to the second.

use berth_core::model::{Alert, AlertState, Severity, format_ts};
use leptos::prelude::*;

#[component]
pub(crate) fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge sev-{}", severity.as_str())>{severity.as_str()}</span> }
}

/// The alerts firing now among `alerts`, as a short box linking to
/// `/alerts`; with `quiet_when_none`, nothing at all when none fire.
#[component]
pub(crate) fn FiringBox(#[prop(into)] alerts: Signal<Vec<Alert>>, quiet_when_none: bool) -> impl IntoView {
    move || {
        let mut firing: Vec<Alert> =
            alerts.with(|all| all.iter().filter(|a| a.state == AlertState::Firing).cloned().collect());
        firing.sort_by_key(|a| std::cmp::Reverse((a.severity, a.since_ms)));
        if firing.is_empty() {
            return (!quiet_when_none).then(|| {
                view! {
                    <p class="firing-none" id="firing-alerts">"✓ No alerts firing. "<a href="/alerts">"Alerts and rules →"</a></p>
                }
                .into_any()
            });
        }
        let title = match firing.len() {
            1 => "1 alert firing".to_string(),
            n => format!("{n} alerts firing"),
        };
        Some(
            view! {
                <section class="firing card" id="firing-alerts" aria-label="Alerts firing">
                    <div class="section-head">
                        <h2>{title}</h2>
                        <a href="/alerts">"All alerts →"</a>
                    </div>
                    <ul class="plain firing-list">
                        {firing.into_iter().map(|a| view! {
                            <li data-rule-name=a.rule_name.clone() data-subject=a.subject.clone()>
                                <SeverityBadge severity=a.severity/>" "
                                <strong>{a.rule_name.clone()}</strong>": "{a.subject.clone()}
                                {a.host.clone().map(|h| format!(" on {h}"))}
                                {a.silenced.then(|| view! { " "<span class="badge badge-off">"silenced"</span> })}
                                <div class="muted small">{format!("{} · since {}", a.summary, when(a.fired_ms.unwrap_or(a.since_ms)))}</div>
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
            }
            .into_any(),
        )
    }
}

/// A unix-ms instant as the pages show times, to the second.
pub(crate) fn when(ms: i64) -> String {
    let full = format_ts(ms.saturating_mul(1_000_000));
    match full.split_once('.') {
        Some((to_second, _)) => format!("{to_second} UTC"),
        None => full,
    }
}
