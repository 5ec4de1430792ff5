//! `/containers`: every container of the local engine, grouped by compose
//! project, searchable, with counts by state and the actions an operator
//! needs. The list follows the engine live over a websocket; destructive
//! actions ask first. Each action is recorded in the event log by core;
//! the page shows only the actions the caller's grants allow on the host.

use crate::api::containers::{ContainerAction, CreateContainer, containers_ticket, get_host};
use crate::components::confirm::confirmed;
use crate::components::socket::follow_json;
use crate::components::status::ErrorBox;
use berth_core::model::{Container, HostView, Operation, Permissions, format_ts};
use leptos::prelude::*;
use leptos_meta::Title;
use std::collections::BTreeMap;

const HOST: &str = "local";

#[component]
pub fn ContainersPage() -> impl IntoView {
    let act = ServerAction::<ContainerAction>::new();
    let initial = Resource::new(|| (), |_| get_host(HOST.to_string()));
    let perms = super::permissions();
    let live: RwSignal<Option<HostView>> = RwSignal::new(None);
    let search = RwSignal::new(String::new());
    let options = Options {
        timeout_s: RwSignal::new(None),
        volumes: RwSignal::new(false),
    };
    follow_json(live, "/ws/containers".to_string(), || {
        containers_ticket(HOST.to_string())
    });

    let error = move || {
        act.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <ErrorBox error=e/> })
    };
    view! {
        <Title text="Containers"/>
        <div class="section-head">
            <h1>"Containers"</h1>
            <input class="search" type="search" placeholder="Search name, image, project, state…" aria-label="Search containers"
                on:input=move |ev| search.set(event_target_value(&ev))/>
        </div>
        {error}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let perms = perms.await;
                let operate = perms.allows(Operation::StopContainer, Some(HOST));
                let remove = perms.allows(Operation::RemoveContainer, Some(HOST));
                view! {
                    {operate.then(|| view! {
                        <div class="toolbar action-options">
                            <label>"Stop timeout (s) "
                                <input type="number" min="0" max="3600" placeholder="engine default" class="narrow" id="stop-timeout"
                                    on:input=move |ev| options.timeout_s.set(event_target_value(&ev).parse().ok())/>
                            </label>
                            {remove.then(|| view! {
                                <label class="toggle">
                                    <input type="checkbox" id="remove-volumes" on:change=move |ev| options.volumes.set(event_target_checked(&ev))/>
                                    " Remove deletes anonymous volumes too"
                                </label>
                            })}
                        </div>
                    })}
                    {perms.allows(Operation::CreateContainer, Some(HOST)).then(|| view! { <CreateForm/> })}
                }
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="muted">"Loading containers…"</p> }>
            {move || Suspend::new(async move {
                let first = initial.await;
                let perms = StoredValue::new(perms.await);
                match first {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(first) => {
                        let current = Signal::derive(move || live.get().unwrap_or_else(|| first.clone()));
                        view! { <HostContainers current search act options perms/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Create and start a container from a local image. Checked in core; the
/// new container shows up in the list through the engine's events.
#[component]
fn CreateForm() -> impl IntoView {
    let create = ServerAction::<CreateContainer>::new();
    let outcome = move || {
        create.value().get().map(|r| match r {
            Ok(id) => view! { <div class="alert alert-ok" role="status" id="create-ok">{format!("Created {}.", &id[..12.min(id.len())])}</div> }.into_any(),
            Err(e) => view! { <div id="create-error"><ErrorBox error=e/></div> }.into_any(),
        })
    };
    view! {
        <details class="card create-form">
            <summary>"Create a container"</summary>
            {outcome}
            <ActionForm action=create attr:class="form grid-form">
                <input type="hidden" name="host" value=HOST/>
                <label>"Image (local)"<input name="image" required placeholder="nginx:1.27"/></label>
                <label>"Name"<input name="name" placeholder="optional"/></label>
                <label>"Command"<input name="command" placeholder="image default; words split on spaces"/></label>
                <label>"Restart policy"
                    <select name="restart">
                        <option value="no">"no"</option>
                        <option value="unless-stopped">"unless-stopped"</option>
                        <option value="always">"always"</option>
                        <option value="on-failure">"on-failure"</option>
                    </select>
                </label>
                <label>"Environment (NAME=value, one per line)"<textarea name="env" rows="3"></textarea></label>
                <label>"Ports (HOST:CONTAINER[/udp], one per line)"<textarea name="ports" rows="3"></textarea></label>
                <label>"Volumes (name:/path or /host:/path[:ro], one per line)"<textarea name="volumes" rows="3"></textarea></label>
                <label class="toggle"><input type="checkbox" name="start" value="on" checked/>" Start it now"</label>
                <div><button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create"</button></div>
            </ActionForm>
        </details>
    }
}

/// How stop, restart and remove behave, set once for the page.
#[derive(Clone, Copy)]
struct Options {
    timeout_s: RwSignal<Option<u32>>,
    volumes: RwSignal<bool>,
}

#[component]
fn HostContainers(
    current: Signal<HostView>,
    search: RwSignal<String>,
    act: ServerAction<ContainerAction>,
    options: Options,
    perms: StoredValue<Permissions>,
) -> impl IntoView {
    // Every action needs at least operate: without it the column goes.
    let acts = perms.with_value(|p| p.allows(Operation::StartContainer, Some(HOST)));
    let banner = move || {
        let s = current.with(|v| v.status.clone());
        (!s.reachable).then(|| {
            let since = format_ts(s.since_ns);
            let why = s.error.unwrap_or_default();
            view! {
                <div class="alert alert-error" role="alert" id="engine-down">
                    {format!("The Docker engine on host {} is unreachable since {since}: {why}. berth keeps trying.", s.id)}
                </div>
            }
        })
    };
    let counts = move || {
        let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
        current.with(|v| {
            v.containers
                .iter()
                .for_each(|c| *by_state.entry(c.state.clone()).or_default() += 1)
        });
        let total: usize = by_state.values().sum();
        view! {
            <p class="counts" id="container-counts">
                <span>{format!("{total} containers")}</span>
                {by_state.into_iter().map(|(state, n)| view! { <span class=format!("badge state-{state}")>{format!("{n} {state}")}</span> }).collect_view()}
            </p>
        }
    };
    let groups = move || {
        let needle = search.get().to_lowercase();
        let mut groups: BTreeMap<String, Vec<Container>> = BTreeMap::new();
        for c in current.with(|v| v.containers.clone()) {
            let project = c.project.clone().unwrap_or_default();
            let health = c.health.clone().unwrap_or_default();
            let hay = format!("{} {} {project} {} {health}", c.name, c.image, c.state).to_lowercase();
            if needle.is_empty() || hay.contains(&needle) {
                groups.entry(c.project.clone().unwrap_or_default()).or_default().push(c);
            }
        }
        groups
    };
    view! {
        {banner}
        {counts}
        <div class="table-wrap">
            <table class="table containers" aria-label="Containers">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"State"</th>
                        <th scope="col" class="hide-sm">"Image"</th>
                        <th scope="col" class="hide-sm">"Ports"</th>
                        <th scope="col" class="hide-sm">"Created (UTC)"</th>
                        {acts.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                {move || groups().into_iter().map(|(project, list)| {
                    let title = if project.is_empty() { "Standalone containers".to_string() } else { format!("Compose project {project}") };
                    view! {
                        <tbody>
                            <tr class="group"><th colspan=if acts { "6" } else { "5" } scope="rowgroup">{title}</th></tr>
                            {list.into_iter().map(|c| view! { <ContainerRow c act options perms acts/> }).collect_view()}
                        </tbody>
                    }
                }).collect_view()}
            </table>
        </div>
        {move || current.with(|v| v.containers.is_empty()).then(|| view! { <p class="empty">"No containers on this host."</p> })}
    }
}

#[component]
fn ContainerRow(
    c: Container,
    act: ServerAction<ContainerAction>,
    options: Options,
    perms: StoredValue<Permissions>,
    acts: bool,
) -> impl IntoView {
    let running = c.state == "running";
    let paused = c.state == "paused";
    let ports = c
        .ports
        .iter()
        .map(|p| match p.public {
            Some(public) => format!("{public}→{}/{}", p.private, p.protocol),
            None => format!("{}/{}", p.private, p.protocol),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Only the actions the caller may do on this host: parsed into the
    // model's action to ask which operation it is.
    let may = move |action: &str| {
        berth_core::model::ContainerAction::parse(action, None, false, false)
            .is_ok_and(|a| perms.with_value(|p| p.allows(a.operation(), Some(HOST))))
    };
    let button = move |label: &'static str, action: &'static str, confirm: bool, name: String, id: String| {
        may(action).then(|| {
            view! {
                <button type="button" class="btn btn-small" data-action=action disabled=move || act.pending().get()
                    on:click=move |_| {
                        if confirm && !confirmed(&format!("{label} container {name}?")) {
                            return;
                        }
                        act.dispatch(ContainerAction {
                            host: HOST.to_string(),
                            id: id.clone(),
                            action: action.to_string(),
                            timeout_s: options.timeout_s.get_untracked(),
                            volumes: options.volumes.get_untracked(),
                        });
                    }>
                    {label}
                </button>
            }
        })
    };
    let (name, id) = (c.name.clone(), c.id.clone());
    view! {
        <tr data-name=c.name.clone() data-state=c.state.clone()>
            <td><a href=format!("/containers/{HOST}/{}", c.id)><strong>{c.name.clone()}</strong></a>{c.service.clone().map(|s| view! { <span class="muted">{format!(" ({s})")}</span> })}</td>
            <td>
                <span class=format!("badge state-{}", c.state)>{c.state.clone()}</span>
                {c.health.clone().map(|h| { let class = format!("badge health-{h}"); view! { " "<span class=class>{h}</span> } })}
                {c.drifts().then(|| view! { " "<span class="badge badge-error drift" title="Not in its expected state">{format!("expected {}", c.expected.map(|e| e.as_str()).unwrap_or_default())}</span> })}
                <div class="muted small">{c.status.clone()}{(c.restarts > 0).then(|| format!(" · {} restarts", c.restarts))}{(c.oom_kills > 0).then(|| format!(" · {} OOM kills", c.oom_kills))}</div>
            </td>
            <td class="hide-sm"><code>{c.image.clone()}</code></td>
            <td class="hide-sm">{ports}</td>
            <td class="hide-sm time">{format_ts(c.created * 1_000_000_000)}</td>
            {acts.then(|| view! { <td class="actions">
                {if running || paused {
                    view! {
                        {button("Stop", "stop", true, name.clone(), id.clone())}
                        {button("Restart", "restart", true, name.clone(), id.clone())}
                        {if paused { button("Unpause", "unpause", false, name.clone(), id.clone()) } else { button("Pause", "pause", false, name.clone(), id.clone()) }}
                        {button("Kill", "kill", true, name.clone(), id.clone())}
                    }.into_any()
                } else {
                    view! {
                        {button("Start", "start", false, name.clone(), id.clone())}
                        {button("Remove", "remove", true, name.clone(), id.clone())}
                    }.into_any()
                }}
            </td> })}
        </tr>
    }
}
