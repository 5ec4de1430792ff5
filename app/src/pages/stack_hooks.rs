//! A managed stack's push webhook on its page: turning it on (the URL path
//! and a new secret, shown this once) or off, and the deliveries it
//! received with berth's verdict on each.

use super::stack::{Here, short};
use super::stacks::{deploy_href, when};
use crate::api::ops::{list_deliveries, set_stack_webhook};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops as req;
use berth_core::model::{DeliveryRecord, Operation, Permissions, StackDefinition, WebhookSetting};
use leptos::prelude::*;

/// What the last webhook change answered, provided by the stack's page.
#[derive(Clone, Copy)]
pub(crate) struct WebhookAnswer(pub RwSignal<Option<Result<WebhookSetting, AppError>>>);

#[component]
pub(crate) fn Webhook(here: Here, def: StackDefinition, perms: Permissions, changed: RwSignal<u32>) -> impl IntoView {
    let may_set = perms.allows(Operation::SetStackWebhook, Some(&def.host.0));
    let enabled = def.webhook;
    // What the last change answered: kept outside the page's reloads, so
    // the secret stays on screen after the definition is fetched again.
    let answer = use_context::<WebhookAnswer>().map_or_else(|| RwSignal::new(None), |a| a.0);
    let set = move |on: bool| {
        leptos::task::spawn_local(async move {
            let request = req::SetStackWebhook {
                host: here.host_id(),
                name: here.name.get_untracked(),
                enabled: on,
            };
            answer.set(Some(set_stack_webhook(request).await));
            changed.update(|n| *n += 1);
        });
    };
    let deliveries = Resource::new(
        move || (here.host.get(), here.name.get(), changed.get()),
        |(host, name, _)| {
            list_deliveries(req::ListDeliveries {
                host: berth_core::model::HostId(host),
                name,
            })
        },
    );
    view! {
        <section class="card webhook" id="webhook">
            <div class="section-head">
                <h2>"Webhook"</h2>
                {may_set.then(|| view! {
                    <div class="actions">
                        {if enabled {
                            view! {
                                <button type="button" class="btn btn-small" id="webhook-new" on:click=move |_| {
                                    if confirmed("Make a new secret? The forge's current one stops working.") { set(true) }
                                }>"New secret"</button>
                                <button type="button" class="btn btn-small" id="webhook-off" on:click=move |_| {
                                    if confirmed("Turn the webhook off? Pushes no longer deploy.") { set(false) }
                                }>"Turn off"</button>
                            }.into_any()
                        } else {
                            view! { <button type="button" class="btn btn-small btn-primary" id="webhook-on" on:click=move |_| set(true)>"Turn on"</button> }.into_any()
                        }}
                    </div>
                })}
            </div>
            <p class="muted">
                {if enabled { "On: a signed push to the stack's branch deploys it (when “deploy on push” is set)." }
                 else { "Off: forges' deliveries are refused." }}
            </p>
            {move || answer.get().map(|r| match r {
                Ok(WebhookSetting { path, secret: Some(secret), .. }) => view! {
                    <div class="token-box alert alert-warn" role="status" id="webhook-secret">
                        <p><strong>"Copy the secret now: berth will not show it again."</strong></p>
                        <p>"URL: "<code class="webhook-path">{path}</code>" (under berth's address)"</p>
                        <p>"Secret: "<code class="webhook-secret">{secret}</code></p>
                    </div>
                }.into_any(),
                Ok(s) => view! { <p class="muted">{format!("Webhook {}.", if s.enabled { "on" } else { "off" })}</p> }.into_any(),
                Err(e) => view! { <ErrorBox error=e/> }.into_any(),
            })}
            <h3>"Deliveries"</h3>
            <Transition fallback=|| view! { <p class="muted">"Loading deliveries…"</p> }>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No deliveries yet."</p> }.into_any(),
                        Ok(list) => table(here, list).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn table(here: Here, list: Vec<DeliveryRecord>) -> impl IntoView {
    let (host, name) = (here.host.get_untracked(), here.name.get_untracked());
    view! {
        <div class="table-wrap">
            <table class="table stack deliveries" aria-label="Deliveries">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Provider"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"Delivery"</th>
                        <th scope="col">"Branch"</th>
                        <th scope="col">"Commit"</th>
                        <th scope="col">"Verdict"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col">"Deploy"</th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|d| {
                        let tone = match d.verdict.as_str() {
                            "deploy" | "pong" => "badge-ok",
                            "refused" => "badge-error",
                            _ => "badge-off",
                        };
                        view! {
                            <tr>
                                <td data-label="Time" class="time">{when(d.at_ns)}</td>
                                <td data-label="Provider">{if d.provider.is_empty() { "—".to_string() } else { d.provider.clone() }}</td>
                                <td data-label="Event">{d.event.clone()}</td>
                                <td data-label="Delivery" class="hash">{d.delivery_id.clone().unwrap_or_default()}</td>
                                <td data-label="Branch">{d.branch.clone().unwrap_or_default()}</td>
                                <td data-label="Commit"><code>{d.commit.as_deref().map(short).unwrap_or("").to_string()}</code></td>
                                <td data-label="Verdict"><span class=format!("badge {tone}")>{d.verdict.replace('_', " ")}</span></td>
                                <td data-label="Reason" class="reason">{d.reason.clone().unwrap_or_default()}</td>
                                <td data-label="Deploy">{d.deploy.map(|id| view! { <a href=deploy_href(&host, &name, id)>{format!("#{id}")}</a> })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
