//! `/hosts/:host/stacks/:name`: one stack's services and containers, the
//! actions on it and on each service (down asks twice), and for a stack
//! berth deploys: its definition, the Deploy button and the deploy
//! history. The webhook and its deliveries are `stack_hooks`'s; the
//! definition and its variables `stack_definition`'s.

use super::stack_definition::Definition;
use super::stack_hooks::{Webhook, WebhookAnswer};
use super::stacks::{deploy_badge, deploy_href, duration, when};
use crate::api::ops::{StackActCall, deploy_stack, get_stack};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops as req;
use berth_core::model::{DeploySummary, HostId, Operation, Permissions, StackService, StackVerb, StackView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

/// The stack a page is about, from its address.
#[derive(Clone, Copy)]
pub(crate) struct Here {
    pub host: Memo<String>,
    pub name: Memo<String>,
}

impl Here {
    pub fn from_params() -> Here {
        let params = use_params_map();
        Here {
            host: Memo::new(move |_| params.read().get("host").unwrap_or_default()),
            name: Memo::new(move |_| params.read().get("name").unwrap_or_default()),
        }
    }

    pub fn host_id(self) -> HostId {
        HostId(self.host.get_untracked())
    }
}

#[component]
pub fn StackPage() -> impl IntoView {
    let here = Here::from_params();
    let act = ServerAction::<StackActCall>::new();
    let changed = RwSignal::new(0u32);
    let view_ = Resource::new(
        move || (here.host.get(), here.name.get(), act.version().get(), changed.get()),
        |(host, name, _, _)| {
            get_stack(req::GetStack {
                host: HostId(host),
                name,
            })
        },
    );
    let perms = super::permissions();
    provide_context(WebhookAnswer(RwSignal::new(None)));
    view! {
        <Title text=move || format!("Stack {}", here.name.get())/>
        <p class="crumbs small"><a href="/stacks">"Stacks"</a>" / "{move || here.host.get()}</p>
        {move || act.value().get().map(|r| match r {
            Ok(done) => view! {
                <div class="alert alert-ok" role="status" id="stack-acted">
                    {format!("Done: {} container{}.", done.containers, if done.containers == 1 { "" } else { "s" })}
                    {(!done.output.is_empty()).then(|| view! { <pre class="stack-output">{done.output.join("\n")}</pre> })}
                </div>
            }.into_any(),
            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading the stack…"</p> }>
            {move || Suspend::new(async move {
                let perms = perms.await;
                match view_.await {
                    Err(e) => view! { <h1>{here.name.get_untracked()}</h1><ErrorBox error=e/> }.into_any(),
                    Ok(v) => stack_view(here, v, perms, act, changed).into_any(),
                }
            })}
        </Transition>
    }
}

fn stack_view(
    here: Here,
    v: StackView,
    perms: Permissions,
    act: ServerAction<StackActCall>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let host = v.stack.host.0.clone();
    let managed = v.definition.is_some();
    let may = |op: Operation| perms.allows(op, Some(&host));
    let verbs: Vec<StackVerb> = [
        StackVerb::Up,
        StackVerb::Pull,
        StackVerb::Start,
        StackVerb::Stop,
        StackVerb::Restart,
    ]
    .into_iter()
    .filter(|v| (managed || !v.needs_compose()) && may(v.operation()))
    .collect();
    let may_down = may(Operation::StackDown);
    let may_deploy = managed && may(Operation::DeployStack);
    let (up, all) = v.stack.running();
    let services = v.stack.services.clone();
    let svc_verbs = verbs.clone();
    view! {
        <div class="section-head">
            <h1>{v.stack.name.clone()}</h1>
            <div class="actions stack-actions">
                {verbs.into_iter().map(|verb| verb_button(here, act, verb, None)).collect_view()}
                {may_down.then(|| down_button(here, act))}
            </div>
        </div>
        <p class="stack-summary">
            {format!("{up} of {all} containers running on {host}")}
            {managed.then(|| view! { " "<span class="badge badge-ok managed">"berth deploys it"</span> })}
            {v.stack.drifts().then(|| view! { " "<span class="badge badge-error drift">"drift"</span> })}
        </p>
        <h2>"Services"</h2>
        {services_table(here, services, svc_verbs, act)}
        {v.definition.clone().map(|d| {
            let deploys = v.deploys.clone();
            let git = matches!(d.source, berth_core::model::StackSource::Git { .. });
            view! {
                {may_deploy.then(|| deploy_form(here, git))}
                <h2>"Deploys"</h2>
                {deploy_history(&host, &d.name, deploys)}
                <Definition here def=d.clone() perms=perms.clone() changed/>
                <Webhook here def=d perms=perms.clone() changed/>
            }
        })}
    }
}

/// A stack action's button (the whole stack, or one `service`).
fn verb_button(here: Here, act: ServerAction<StackActCall>, verb: StackVerb, service: Option<String>) -> impl IntoView {
    let label = match verb {
        StackVerb::Up => "Up",
        StackVerb::Pull => "Pull",
        StackVerb::Start => "Start",
        StackVerb::Stop => "Stop",
        StackVerb::Restart => "Restart",
        StackVerb::Down => "Down",
    };
    let small = if service.is_some() { "btn btn-small" } else { "btn" };
    let aria = service.as_ref().map(|s| format!("{label} {s}"));
    view! {
        <button type="button" class=small data-action=verb.as_str() aria-label=aria disabled=move || act.pending().get()
            on:click=move |_| {
                act.dispatch(StackActCall { request: req::StackAct {
                    host: here.host_id(), name: here.name.get_untracked(), action: verb, service: service.clone(), volumes: false,
                }});
            }>
            {label}
        </button>
    }
}

/// Down, asked twice, with the choice to remove the volumes too.
fn down_button(here: Here, act: ServerAction<StackActCall>) -> impl IntoView {
    let volumes = RwSignal::new(false);
    view! {
        <span class="down-group">
            <button type="button" class="btn btn-danger" data-action="down" disabled=move || act.pending().get()
                on:click=move |_| {
                    let name = here.name.get_untracked();
                    let also = if volumes.get_untracked() { " and its volumes (their data is lost)" } else { "" };
                    if confirmed(&format!("Take stack {name} down? Its containers and networks{also} are removed."))
                        && confirmed(&format!("Really remove every container of {name}? This cannot be undone."))
                    {
                        act.dispatch(StackActCall { request: req::StackAct {
                            host: here.host_id(), name, action: StackVerb::Down, service: None, volumes: volumes.get_untracked(),
                        }});
                    }
                }>
                "Down"
            </button>
            <label class="toggle">
                <input type="checkbox" id="down-volumes" prop:checked=move || volumes.get()
                    on:change=move |ev| volumes.set(event_target_checked(&ev))/>
                "remove volumes too"
            </label>
        </span>
    }
}

fn services_table(
    here: Here,
    services: Vec<StackService>,
    verbs: Vec<StackVerb>,
    act: ServerAction<StackActCall>,
) -> impl IntoView {
    if services.is_empty() {
        return view! { <p class="empty">"No containers of this stack run now. Deploy it, or bring it up."</p> }
            .into_any();
    }
    let host = here.host.get_untracked();
    view! {
        <div class="table-wrap">
            <table class="table stack services" aria-label="Services">
                <thead>
                    <tr>
                        <th scope="col">"Container"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Image"</th>
                    </tr>
                </thead>
                <tbody>
                    {services.into_iter().map(|s| {
                        let verbs = verbs.clone();
                        let svc = s.name.clone();
                        let host = host.clone();
                        view! {
                            <tr class="group" data-service=s.name.clone()>
                                <th colspan="3" scope="rowgroup">
                                    <span class="service-name">{s.name.clone()}</span>
                                    <span class="row-actions service-actions">
                                        {verbs.into_iter().map(|v| verb_button(here, act, v, Some(svc.clone()))).collect_view()}
                                    </span>
                                </th>
                            </tr>
                            {s.containers.into_iter().map(|c| view! {
                                <tr data-container=c.name.clone() data-state=c.state.to_string()>
                                    <td data-label="Container"><a href=format!("/containers/{host}/{}", c.id)>{c.name.clone()}</a></td>
                                    <td data-label="State">
                                        <span class=format!("badge state-{}", c.state)>{c.state.to_string()}</span>
                                        {c.health.clone().map(|h| view! { " "<span class=format!("badge health-{h}")>{h.clone()}</span> })}
                                        {c.drifts().then(|| view! { " "<span class="badge badge-error drift">"drift"</span> })}
                                    </td>
                                    <td data-label="Image"><code>{c.image.clone()}</code></td>
                                </tr>
                            }).collect_view()}
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Deploy now: an optional commit (git sources), and whether to wait
/// behind a running deploy. Goes to the deploy's page once it is queued.
fn deploy_form(here: Here, git: bool) -> impl IntoView {
    let commit = RwSignal::new(String::new());
    let queue = RwSignal::new(false);
    let navigate = use_navigate();
    let deploy = Action::new(move |(commit, queue): &(String, bool)| {
        let request = req::DeployStack {
            host: here.host_id(),
            name: here.name.get_untracked(),
            commit: Some(commit.trim().to_string()).filter(|c| !c.is_empty()),
            queue: *queue,
        };
        async move { deploy_stack(request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(d)) = deploy.value().get() {
            navigate(&deploy_href(&d.host.0, &d.stack, d.id), Default::default());
        }
    });
    let error = move || {
        deploy
            .value()
            .get()
            .and_then(Result::err)
            .map(|e: AppError| view! { <ErrorBox error=e/> })
    };
    view! {
        <section class="card deploy-now">
            <h2>"Deploy"</h2>
            <form class="deploy-form" on:submit=move |ev| {
                ev.prevent_default();
                deploy.dispatch((commit.get_untracked(), queue.get_untracked()));
            }>
                {git.then(|| view! {
                    <label for="deploy-commit">"Commit"
                        <input id="deploy-commit" placeholder="the branch's head" autocomplete="off"
                            prop:value=move || commit.get() on:input=move |ev| commit.set(event_target_value(&ev))/>
                    </label>
                })}
                <label class="toggle">
                    <input type="checkbox" id="deploy-queue" prop:checked=move || queue.get()
                        on:change=move |ev| queue.set(event_target_checked(&ev))/>
                    "queue behind a running deploy"
                </label>
                <button type="submit" class="btn btn-primary" id="deploy" disabled=move || deploy.pending().get()>
                    {move || if deploy.pending().get() { "Deploying…" } else { "Deploy" }}
                </button>
            </form>
            {error}
        </section>
    }
}

fn deploy_history(host: &str, name: &str, deploys: Vec<DeploySummary>) -> impl IntoView {
    if deploys.is_empty() {
        return view! { <p class="empty">"Not deployed yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table stack deploys" aria-label="Deploys">
                <thead>
                    <tr>
                        <th scope="col">"Deploy"</th>
                        <th scope="col">"State"</th>
                        <th scope="col" class="num">"Version"</th>
                        <th scope="col">"Commit"</th>
                        <th scope="col">"When"</th>
                        <th scope="col" class="num">"Took"</th>
                    </tr>
                </thead>
                <tbody>
                    {deploys.into_iter().map(|d| view! {
                        <tr data-deploy=d.id.0.to_string()>
                            <td data-label="Deploy"><a class="deploy-link" href=deploy_href(host, name, d.id)>{format!("#{}", d.id)}</a></td>
                            <td data-label="State">{deploy_badge(d.state)}</td>
                            <td data-label="Version" class="num">{d.version}</td>
                            <td data-label="Commit"><code>{d.commit.as_deref().map(short).unwrap_or("—").to_string()}</code></td>
                            <td data-label="When" class="time">{when(d.queued_ns)}</td>
                            <td data-label="Took" class="num">{d.finished_ns.map(|f| duration(d.queued_ns, f)).unwrap_or_else(|| "…".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A commit's first 10 characters.
pub(crate) fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}
