//! The channels on `/alerts`: where notifications go, and for admins
//! editing, deleting and "Send a test" (which shows what the receiver
//! answered). Also the test button's action and report, which the
//! channel's own page shows too.

use crate::api::ops::{delete_alert_channel, list_alert_channels, test_alert_channel};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{DeleteChannel, ListChannels, TestChannel};
use berth_core::model::{Channel, ChannelId, ChannelTarget, DeliveryReport, Operation, Permissions};
use leptos::prelude::*;

/// Sends channel (id, name) a test; the report comes back with its name.
pub(super) type TestAction = Action<(u64, String), Result<(String, DeliveryReport), AppError>>;

pub(super) fn test_action() -> TestAction {
    Action::new(|(id, name): &(u64, String)| {
        let (id, name) = (*id, name.clone());
        async move {
            test_alert_channel(TestChannel { id: ChannelId(id) })
                .await
                .map(|report| (name, report))
        }
    })
}

/// How the last test went: delivered, or what the receiver said.
pub(super) fn test_report(test: TestAction) -> impl IntoView {
    move || {
        if test.pending().get() {
            return Some(
                view! { <p class="muted" id="channel-test-pending" role="status">"Sending a test…"</p> }.into_any(),
            );
        }
        test.value().get().map(|outcome| match outcome {
            Ok((name, r)) if r.ok => view! {
                <div class="alert alert-ok" role="status" id="channel-test-report" data-ok="true">
                    <strong>{format!("Test delivered to {name}")}</strong>{format!(" in {} ms. ", r.duration_ms)}
                    <span class="report-detail">{r.detail}</span>
                </div>
            }
            .into_any(),
            Ok((name, r)) => view! {
                <div class="alert alert-error" role="alert" id="channel-test-report" data-ok="false">
                    <strong>{format!("The test to {name} failed")}</strong>{format!(" after {} ms: ", r.duration_ms)}
                    <span class="report-detail">{r.detail}</span>
                </div>
            }
            .into_any(),
            Err(e) => view! { <div id="channel-test-report" data-ok="false"><ErrorBox error=e/></div> }.into_any(),
        })
    }
}

/// Where a channel sends, as far as it is no secret.
fn sends_to(t: &ChannelTarget) -> String {
    match t {
        ChannelTarget::Webhook { url, .. } => url.clone(),
        ChannelTarget::Slack { .. } => "a Slack webhook".into(),
        ChannelTarget::Discord { .. } => "a Discord webhook".into(),
        ChannelTarget::Ntfy { server, topic, .. } => format!("{}/{topic}", server.trim_end_matches('/')),
        ChannelTarget::Gotify { server, .. } => server.clone(),
        ChannelTarget::Email { to, .. } => to.join(", "),
    }
}

#[component]
pub(super) fn Channels(perms: Resource<Permissions>, refresh: RwSignal<usize>) -> impl IntoView {
    let channels = Resource::new(move || refresh.get(), |_| list_alert_channels(ListChannels {}));
    let test = test_action();
    let delete = Action::new(move |id: &u64| {
        let id = *id;
        async move {
            delete_alert_channel(DeleteChannel { id: ChannelId(id) }).await?;
            refresh.update(|n| *n += 1);
            Ok::<(), AppError>(())
        }
    });
    let error = move || {
        delete
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <div id="channel-change-error"><ErrorBox error=e/></div> })
    };
    view! {
        <section class="alert-channels" aria-labelledby="channels-title" id="channels">
            <div class="section-head">
                <h2 id="channels-title">"Channels"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        perms.await.allows(Operation::CreateChannel, None)
                            .then(|| view! { <a class="btn" href="/alerts/channels/new" id="new-channel">"New channel"</a> })
                    })}
                </Suspense>
            </div>
            {error}
            {test_report(test)}
            <Transition fallback=|| view! { <p class="muted">"Loading channels…"</p> }>
                {move || Suspend::new(async move {
                    let admin = perms.await.allows(Operation::UpdateChannel, None);
                    match channels.await {
                        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No channels: alerts are recorded in the event log, and nobody is told."</p>
                        }
                        .into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="table channels stack" aria-label="Notification channels">
                                    <thead><tr>
                                        <th scope="col">"Channel"</th>
                                        <th scope="col">"Kind"</th>
                                        <th scope="col" class="hide-sm">"Sends to"</th>
                                        {admin.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                                    </tr></thead>
                                    <tbody>{list.into_iter().map(|c| channel_row(c, admin, test, delete)).collect_view()}</tbody>
                                </table>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn channel_row(c: Channel, admin: bool, test: TestAction, delete: Action<u64, Result<(), AppError>>) -> impl IntoView {
    let (id, name, enabled) = (c.id.0, c.spec.name.clone(), c.spec.enabled);
    let question = format!("Delete the channel “{name}”? Rules that use it stop telling it.");
    let test_name = name.clone();
    let actions = admin.then(|| {
        view! {
            <td class="actions">
                <div class="row-actions">
                    <a class="btn btn-small" href=format!("/alerts/channels/{id}") data-action="edit">"Edit"</a>
                    <button type="button" class="btn btn-small" data-action="test" disabled=move || test.pending().get()
                        on:click=move |_| { test.dispatch((id, test_name.clone())); }>
                        "Send a test"
                    </button>
                    <button type="button" class="btn btn-small btn-danger" data-action="delete" disabled=move || delete.pending().get()
                        on:click=move |_| if confirmed(&question) { delete.dispatch(id); }>
                        "Delete"
                    </button>
                </div>
            </td>
        }
    });
    view! {
        <tr data-channel=id.to_string() data-name=name.clone() data-enabled=enabled.to_string() class:disabled=!enabled>
            <td class="wrap"><strong>{name.clone()}</strong>
                {(!enabled).then(|| view! { " "<span class="badge badge-off">"off"</span> })}
                <div class="muted small show-sm">{sends_to(&c.spec.target)}</div>
            </td>
            <td data-label="Kind">{c.spec.target.kind()}</td>
            <td class="hide-sm wrap">{sends_to(&c.spec.target)}</td>
            {actions}
        </tr>
    }
}
