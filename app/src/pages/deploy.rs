//! `/hosts/:host/stacks/:name/deploys/:id`: one deploy: its state, what
//! started it, its steps as a timeline, the images each service ran, and
//! its output: followed live over `/ws/deploy` while it runs (the steps
//! fetched again as each begins), the kept log once it is over. Cancel
//! while it is queued or running; roll back to it when it succeeded and a
//! later deploy replaced it.

use super::stack::{Here, short};
use super::stacks::{deploy_badge, deploy_href, duration, stack_href, when};
use crate::api::ops::{cancel_deploy, get_deploy, get_stack, rollback_stack};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops as req;
use berth_core::model::{Deploy, DeployDetail, DeployId, DeployState, DeployTrigger, HostId, Operation, Permissions};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

/// The live output: what came so far, and whether the socket still runs.
#[derive(Clone, Copy)]
struct Output {
    text: RwSignal<String>,
    following: RwSignal<bool>,
    error: RwSignal<Option<String>>,
}

#[component]
pub fn DeployPage() -> impl IntoView {
    let here = Here::from_params();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|i| i.parse::<u64>().ok()));
    view! {
        <Title text=move || format!("Deploy {} of {}", id.get().unwrap_or_default(), here.name.get())/>
        <p class="crumbs small">
            <a href="/stacks">"Stacks"</a>" / "
            <a href=move || stack_href(&here.host.get(), &here.name.get())>{move || here.name.get()}</a>
        </p>
        {move || match id.get() {
            Some(id) => view! { <DeployView here id=DeployId(id)/> }.into_any(),
            None => view! { <ErrorBox error=AppError::invalid("the deploy's number is not a number")/> }.into_any(),
        }}
    }
}

#[component]
fn DeployView(here: Here, id: DeployId) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (here.host.get(), here.name.get(), refresh.get()),
        move |(host, name, _)| {
            get_deploy(req::GetDeploy {
                host: HostId(host),
                name,
                id,
            })
        },
    );
    let stack = Resource::new(
        move || (here.host.get(), here.name.get(), refresh.get()),
        |(host, name, _)| {
            get_stack(req::GetStack {
                host: HostId(host),
                name,
            })
        },
    );
    let perms = super::permissions();
    let out = Output {
        text: RwSignal::new(String::new()),
        following: RwSignal::new(false),
        error: RwSignal::new(None),
    };
    follow(here, id, detail, out, refresh);
    let failed = RwSignal::new(None::<AppError>);
    view! {
        {move || failed.get().map(|e| view! { <ErrorBox error=e/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading the deploy…"</p> }>
            {move || Suspend::new(async move {
                let perms = perms.await;
                let latest = stack.await.ok().and_then(|s| s.deploys.first().map(|d| d.id));
                match detail.await {
                    Err(e) => view! { <h1>{format!("Deploy #{id}")}</h1><ErrorBox error=e/> }.into_any(),
                    Ok(d) => deploy_view(here, d, &perms, latest, out, refresh, failed).into_any(),
                }
            })}
        </Transition>
    }
}

fn deploy_view(
    here: Here,
    detail: DeployDetail,
    perms: &Permissions,
    latest: Option<DeployId>,
    out: Output,
    refresh: RwSignal<u32>,
    failed: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let d = detail.deploy;
    let host = d.host.0.clone();
    let done = d.state.is_done();
    let may_cancel = !done && perms.allows(Operation::CancelDeploy, Some(&host));
    let may_rollback = d.state == DeployState::Succeeded
        && latest.is_some_and(|l| l != d.id)
        && perms.allows(Operation::RollbackStack, Some(&host));
    let id = d.id;
    let navigate = use_navigate();
    let cancel = move |_| {
        if confirmed("Cancel this deploy? The version running now stays.") {
            leptos::task::spawn_local(async move {
                let request = req::CancelDeploy {
                    host: here.host_id(),
                    name: here.name.get_untracked(),
                    id,
                };
                match cancel_deploy(request).await {
                    Ok(()) => refresh.update(|n| *n += 1),
                    Err(e) => failed.set(Some(e)),
                }
            });
        }
    };
    let version = d.version;
    let rollback = move |_| {
        if confirmed(&format!("Run version {version}'s images again?")) {
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                let request = req::RollbackStack {
                    host: here.host_id(),
                    name: here.name.get_untracked(),
                    to: id,
                };
                match rollback_stack(request).await {
                    Ok(next) => navigate(&deploy_href(&next.host.0, &next.stack, next.id), Default::default()),
                    Err(e) => failed.set(Some(e)),
                }
            });
        }
    };
    // The pane follows the newest line while output comes.
    let pane = NodeRef::<leptos::html::Pre>::new();
    Effect::new(move |_| {
        out.text.track();
        if let Some(p) = pane.get_untracked() {
            p.set_scroll_top(p.scroll_height());
        }
    });
    let kept = detail.log;
    let truncated = detail.truncated;
    let log = move || {
        let live = out.text.get();
        if done || live.is_empty() { kept.clone() } else { live }
    };
    view! {
        <div class="section-head">
            <h1>{format!("Deploy #{} of {}", d.id, d.stack)}</h1>
            <div class="actions">
                {may_cancel.then(|| view! { <button type="button" class="btn btn-danger" id="deploy-cancel" on:click=cancel>"Cancel"</button> })}
                {may_rollback.then(|| view! { <button type="button" class="btn" id="deploy-rollback" on:click=rollback>"Roll back to this version"</button> })}
            </div>
        </div>
        {summary(&d)}
        <h2>"Steps"</h2>
        {steps(&d)}
        {(!d.images.is_empty()).then(|| images(&d))}
        <div class="section-head output-head">
            <h2>"Output"</h2>
            <span class="live-state" id="deploy-live">
                {move || if out.following.get() { view! { <span class="live-on">"● following"</span> }.into_any() }
                    else if done { view! { <span class="muted">"as kept"</span> }.into_any() }
                    else { view! { <span class="live-connecting">"connecting…"</span> }.into_any() }}
            </span>
        </div>
        {move || out.error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
        {truncated.then(|| view! { <p class="note">"Output past the deploy's limit was not kept."</p> })}
        <pre class="deploy-log" id="deploy-log" node_ref=pane>{log}</pre>
    }
}

fn trigger_text(t: &DeployTrigger) -> String {
    match t {
        DeployTrigger::User { name } => format!("by {name}"),
        DeployTrigger::Webhook { provider, delivery } => match delivery {
            Some(id) => format!("a {provider} webhook (delivery {id})"),
            None => format!("a {provider} webhook"),
        },
        DeployTrigger::Rollback { name, to } => format!("a rollback to #{to} by {name}"),
    }
}

fn summary(d: &Deploy) -> impl IntoView {
    view! {
        <dl class="fields deploy-fields">
            <dt>"State"</dt><dd id="deploy-state">{deploy_badge(d.state)}</dd>
            <dt>"Started"</dt><dd>{trigger_text(&d.trigger)}</dd>
            <dt>"Version"</dt><dd>{d.version}</dd>
            <dt>"Commit"</dt><dd><code>{d.commit.as_deref().map(short).unwrap_or("—").to_string()}</code></dd>
            <dt>"Compose"</dt><dd>{d.compose.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Queued"</dt><dd class="time">{when(d.queued_ns)}</dd>
            <dt>"Took"</dt><dd>{d.finished_ns.map(|f| duration(d.queued_ns, f)).unwrap_or_else(|| "still running".into())}</dd>
            {d.error.clone().map(|e| view! { <dt>"Error"</dt><dd class="deploy-error">{e}</dd> })}
        </dl>
    }
}

fn steps(d: &Deploy) -> impl IntoView {
    if d.steps.is_empty() {
        return view! { <p class="muted">"Waiting for its turn."</p> }.into_any();
    }
    view! {
        <ol class="timeline" aria-label="Steps">
            {d.steps.iter().map(|s| {
                let took = match s.finished_ns {
                    Some(f) => duration(s.started_ns, f),
                    None => "…".to_string(),
                };
                view! {
                    <li class=format!("step step-{}", s.state.as_str()) data-step=s.name.clone()>
                        <span class="step-dot" aria-hidden="true"></span>
                        <div class="step-body">
                            <div class="step-head">
                                <strong class="step-name">{s.name.clone()}</strong>
                                " "{deploy_badge(s.state)}
                                <span class="num step-took">{took}</span>
                            </div>
                            {(!s.note.is_empty()).then(|| view! { <div class="muted small step-note">{s.note.clone()}</div> })}
                        </div>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

fn images(d: &Deploy) -> impl IntoView {
    view! {
        <h2>"Images"</h2>
        <div class="table-wrap">
            <table class="table stack deploy-images" aria-label="Images">
                <thead><tr><th scope="col">"Service"</th><th scope="col">"Reference"</th><th scope="col">"ID"</th></tr></thead>
                <tbody>
                    {d.images.iter().map(|i| view! {
                        <tr>
                            <td data-label="Service">{i.service.clone()}</td>
                            <td data-label="Reference"><code>{i.reference.clone()}</code></td>
                            <td data-label="ID" class="hash" title=i.id.clone()>{i.id.chars().take(19).collect::<String>()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Opens `/ws/deploy` once, when the deploy shown is not over: appends
/// its text to `out`, fetches the deploy again as each step begins
/// (berth's own lines start with "==> ") and when the socket closes; a
/// socket that drops while the deploy runs is opened again.
fn follow(
    here: Here,
    id: DeployId,
    detail: Resource<Result<DeployDetail, AppError>>,
    out: Output,
    refresh: RwSignal<u32>,
) {
    #[cfg(feature = "hydrate")]
    {
        let socket = StoredValue::new_local(None::<live::Socket>);
        Effect::new(move |_| {
            let running = detail
                .get()
                .and_then(Result::ok)
                .is_some_and(|d| !d.deploy.state.is_done());
            if running && socket.with_value(Option::is_none) {
                let (host, name) = (here.host.get_untracked(), here.name.get_untracked());
                live::open(host, name, id, out, refresh, socket);
            }
        });
        on_cleanup(move || {
            socket.try_update_value(Option::take);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (here, id, detail, out, refresh);
}

#[cfg(feature = "hydrate")]
mod live {
    use super::Output;
    use crate::api::stacks::deploy_ticket;
    use berth_core::model::DeployId;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    /// The open socket and its callbacks; dropping it closes it.
    pub(super) struct Socket {
        ws: Option<WebSocket>,
        _on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
        _on_close: Option<Closure<dyn FnMut(CloseEvent)>>,
    }

    impl Drop for Socket {
        fn drop(&mut self) {
            if let Some(ws) = &self.ws {
                ws.set_onmessage(None);
                ws.set_onclose(None);
                let _ = ws.close();
            }
        }
    }

    pub(super) fn open(
        host: String,
        name: String,
        id: DeployId,
        out: Output,
        refresh: RwSignal<u32>,
        slot: StoredValue<Option<Socket>, LocalStorage>,
    ) {
        // Taken now, so the effect opens one socket only.
        slot.set_value(Some(Socket {
            ws: None,
            _on_message: None,
            _on_close: None,
        }));
        leptos::task::spawn_local(async move {
            let ticket = match deploy_ticket(host).await {
                Ok(t) => t,
                Err(e) => return out.error.set(Some(e.to_string())),
            };
            let location = window().location();
            let scheme = if location.protocol().as_deref() == Ok("https:") {
                "wss"
            } else {
                "ws"
            };
            let url = format!(
                "{scheme}://{}/ws/deploy?ticket={ticket}&stack={name}&deploy={id}",
                location.host().unwrap_or_default()
            );
            let Ok(ws) = WebSocket::new(&url) else {
                return out
                    .error
                    .set(Some("the browser could not open the deploy's output".into()));
            };
            // The first frame is everything kept so far: it replaces what
            // an earlier socket showed.
            let mut first = true;
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                let Some(text) = m.data().as_string() else { return };
                if let Some(problem) = text.strip_prefix("error: ") {
                    out.error.set(Some(problem.trim_end().to_string()));
                    return;
                }
                out.following.set(true);
                let step = text.starts_with("==> ") || text.contains("\n==> ");
                if std::mem::take(&mut first) {
                    out.text.set(text);
                } else {
                    out.text.update(|t| t.push_str(&text));
                }
                if step {
                    refresh.update(|n| *n += 1);
                }
            });
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                out.following.set(false);
                refresh.update(|n| *n += 1);
                // Dropped, not ended (1000) nor refused (4000+): open it
                // again shortly if the deploy still runs then.
                if e.code() != 1000 && e.code() < 4000 {
                    set_timeout(
                        move || {
                            slot.try_set_value(None);
                            refresh.update(|n| *n += 1);
                        },
                        std::time::Duration::from_secs(3),
                    );
                }
            });
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            slot.try_set_value(Some(Socket {
                ws: Some(ws),
                _on_message: Some(on_message),
                _on_close: Some(on_close),
            }));
        });
    }
}
