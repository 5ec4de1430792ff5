//! The rules on `/alerts`: what each watches, where, how long it waits,
//! how often it repeats, whom it tells; switching one on or off, editing
//! and deleting it, for those who may (manage on its host; all hosts:
//! admins).

use super::SeverityBadge;
use crate::api::alerts::set_rule_enabled;
use crate::api::ops::{delete_alert_rule, list_alert_channels, list_alert_rules};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{DeleteRule, ListChannels, ListRules};
use berth_core::model::{AlertRule, Channel, Level, Operation, Permissions, RuleId, span};
use leptos::prelude::*;

/// A change asked of one rule from the table.
#[derive(Clone)]
enum Change {
    Enable(u64, bool),
    Delete(u64),
}

#[component]
pub(super) fn Rules(perms: Resource<Permissions>, refresh: RwSignal<usize>) -> impl IntoView {
    let rules = Resource::new(move || refresh.get(), |_| list_alert_rules(ListRules {}));
    let channels = Resource::new(move || refresh.get(), |_| list_alert_channels(ListChannels {}));
    let change = Action::new(move |c: &Change| {
        let c = c.clone();
        async move {
            match c {
                Change::Enable(id, on) => set_rule_enabled(id, on).await.map(|_| ()),
                Change::Delete(id) => delete_alert_rule(DeleteRule { id: RuleId(id) }).await,
            }?;
            refresh.update(|n| *n += 1);
            Ok::<(), AppError>(())
        }
    });
    let error = move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <div id="rule-change-error"><ErrorBox error=e/></div> })
    };
    view! {
        <section class="alert-rules" aria-labelledby="rules-title">
            <div class="section-head">
                <h2 id="rules-title">"Rules"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let p = perms.await;
                        (p.admin || p.grants.iter().any(|g| g.level >= Level::Manage))
                            .then(|| view! { <a class="btn" href="/alerts/rules/new" id="new-rule">"New rule"</a> })
                    })}
                </Suspense>
            </div>
            {error}
            <Transition fallback=|| view! { <p class="muted">"Loading rules…"</p> }>
                {move || Suspend::new(async move {
                    match (rules.await, channels.await) {
                        (Err(e), _) | (_, Err(e)) => view! { <ErrorBox error=e/> }.into_any(),
                        (Ok(list), Ok(_)) if list.is_empty() => {
                            view! { <p class="empty">"No rules: nothing is watched."</p> }.into_any()
                        }
                        (Ok(list), Ok(channels)) => {
                            let perms = perms.await;
                            view! {
                                <div class="table-wrap">
                                    <table class="table rules stack" aria-label="Alert rules">
                                        <thead><tr>
                                            <th scope="col">"Rule"</th>
                                            <th scope="col">"Where"</th>
                                            <th scope="col" class="hide-sm">"Severity"</th>
                                            <th scope="col" class="hide-sm">"Timing"</th>
                                            <th scope="col" class="hide-sm">"Channels"</th>
                                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                                        </tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|r| rule_row(r, &channels, &perms, change)).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// "all hosts", "web-1 · compose:shop/web".
fn scope(r: &AlertRule) -> String {
    let host = r
        .spec
        .scope
        .host
        .as_ref()
        .map_or("all hosts".to_string(), |h| h.0.clone());
    match &r.spec.scope.key {
        Some(k) => format!("{host} · {k}"),
        None => host,
    }
}

/// "at once · tells once", "after 5 min · repeats every 1 h".
fn timing(r: &AlertRule) -> String {
    let wait = match r.spec.for_secs {
        0 => "at once".to_string(),
        s => format!("after {}", span(s)),
    };
    let repeat = match r.spec.repeat_secs {
        0 => "tells once".to_string(),
        s => format!("repeats every {}", span(s)),
    };
    format!("{wait} · {repeat}")
}

fn rule_row(
    r: AlertRule,
    channels: &[Channel],
    perms: &Permissions,
    change: Action<Change, Result<(), AppError>>,
) -> impl IntoView {
    let host = r.spec.scope.host.as_ref().map(|h| h.0.as_str());
    let may_edit = perms.allows(Operation::UpdateAlertRule, host);
    let may_delete = perms.allows(Operation::DeleteAlertRule, host);
    let told: Vec<String> = r
        .spec
        .channels
        .iter()
        .map(|id| {
            channels
                .iter()
                .find(|c| c.id == *id)
                .map_or_else(|| format!("channel {id}"), |c| c.spec.name.clone())
        })
        .collect();
    let told = if told.is_empty() {
        "nobody".to_string()
    } else {
        told.join(", ")
    };
    let (id, enabled, name) = (r.id.0, r.spec.enabled, r.spec.name.clone());
    let question = format!("Delete the rule “{name}”? Its alerts stop; what they did stays in the event log.");
    let toggle = may_edit.then(|| {
        view! {
            <button type="button" class="btn btn-small" data-action=if enabled { "disable" } else { "enable" }
                disabled=move || change.pending().get()
                on:click=move |_| { change.dispatch(Change::Enable(id, !enabled)); }>
                {if enabled { "Disable" } else { "Enable" }}
            </button>
        }
    });
    let delete = may_delete.then(|| {
        view! {
            <button type="button" class="btn btn-small btn-danger" data-action="delete" disabled=move || change.pending().get()
                on:click=move |_| if confirmed(&question) { change.dispatch(Change::Delete(id)); }>
                "Delete"
            </button>
        }
    });
    view! {
        <tr data-rule=id.to_string() data-name=name.clone() data-enabled=enabled.to_string() class:disabled=!enabled>
            <td class="wrap rule-cell">
                <strong>{name.clone()}</strong>
                {(!enabled).then(|| view! { " "<span class="badge badge-off">"off"</span> })}
                <div class="muted small">{r.spec.condition.describe()}</div>
                <div class="muted small show-sm">{format!("{} · {} · channels: {told}", r.spec.severity.as_str(), timing(&r))}</div>
            </td>
            <td class="wrap" data-label="Where">{scope(&r)}</td>
            <td class="hide-sm"><SeverityBadge severity=r.spec.severity/></td>
            <td class="hide-sm wrap small">{timing(&r)}</td>
            <td class="hide-sm wrap">{told.clone()}</td>
            <td class="actions">
                <div class="row-actions">
                    <a class="btn btn-small" href=format!("/alerts/rules/{id}") data-action="edit">{if may_edit { "Edit" } else { "View" }}</a>
                    {toggle}
                    {delete}
                </div>
            </td>
        </tr>
    }
}
