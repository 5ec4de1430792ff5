//! `/containers/{host}/{id}`: one container of any host: the host's state
//! (reachable, how berth reaches it, what it refuses), the container's
//! state, configuration, the environment (values masked; revealing one is
//! recorded, and offered only with the secrets right on the host), ports,
//! mounts, networks, labels, restart policy and the health-check log; and
//! the alerts firing about it.

use crate::api::containers::host_statuses;
use crate::api::ops::{inspect_container, reveal_env};
use crate::components::hosts::{LimitBadges, ReachBadge, engine, reach, unreachable_text};
use crate::components::status::ErrorBox;
use crate::error::AppError;
use crate::pages::alerts::ContainerAlerts;
use berth_core::model::ops::{InspectContainer, RevealEnv};
use berth_core::model::{ContainerDetail, ContainerState, HostId, HostStatus, Operation, Permissions};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use std::collections::HashMap;

#[component]
pub fn ContainerPage() -> impl IntoView {
    let params = use_params_map();
    let key = Memo::new(move |_| {
        let p = params.read();
        (p.get("host").unwrap_or_default(), p.get("id").unwrap_or_default())
    });
    let detail = Resource::new(
        move || key.get(),
        |(host, id)| inspect_container(InspectContainer { host: HostId(host), id }),
    );
    let hosts = Resource::new(|| (), |_| host_statuses());
    let perms = super::permissions();
    view! {
        <Title text=move || format!("Container {}", key.get().1)/>
        <p><a href="/containers">"← Containers"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (detail, perms, hosts) = (detail.await, perms.await, hosts.await);
                let host = key.get_untracked().0;
                let status = hosts.unwrap_or_default().into_iter().find(|s| s.id.0 == host);
                let down = status.as_ref().filter(|s| !s.reachable).map(|s| {
                    view! { <div class="alert alert-error host-down" role="alert">{unreachable_text(s)}</div> }
                });
                let shown = match detail {
                    Err(e) => view! { <h1>"Cannot show this container"</h1><ErrorBox error=e/> }.into_any(),
                    Ok(d) => view! { <Detail d host status perms/> }.into_any(),
                };
                view! { {down}{shown} }
            })}
        </Suspense>
    }
}

fn or_dash(v: Option<String>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or_else(|| "–".into())
}

#[component]
fn Detail(d: ContainerDetail, host: String, status: Option<HostStatus>, perms: Permissions) -> impl IntoView {
    let reveal = perms.allows(Operation::RevealSecret, Some(&host));
    let set_expected = perms.allows(Operation::SetExpectedState, Some(&host));
    // A shell for those with the terminal right, where the host allows exec.
    let terminal = perms.allows(Operation::OpenTerminal, Some(&host))
        && d.state == ContainerState::Running
        && status.as_ref().is_none_or(|s| s.limits.allows_exec());
    // Values revealed on purpose, by variable name.
    let revealed: RwSignal<HashMap<String, String>> = RwSignal::new(HashMap::new());
    let reveal_failed: RwSignal<Option<AppError>> = RwSignal::new(None);
    let state = match (&d.state, d.exit_code) {
        (ContainerState::Exited, Some(code)) => format!("exited ({code})"),
        (s, _) => s.to_string(),
    };
    let env_rows = d
        .env
        .iter()
        .map(|v| {
            let (name, host, id) = (v.name.clone(), host.clone(), d.id.clone());
            let shown = name.clone();
            let value = move || {
                revealed
                    .with(|m| m.get(&shown).cloned())
                    .unwrap_or_else(|| "••••••".to_string())
            };
            let click_name = name.clone();
            view! {
                <tr>
                    <td><code>{name.clone()}</code></td>
                    <td><code class="env-value" data-name=name.clone()>{value}</code></td>
                    {reveal.then(|| view! {
                        <td>
                            <button type="button" class="btn btn-small" title="Show this value (recorded in the event log)"
                                on:click=move |_| {
                                    let (host, id, name) = (host.clone(), id.clone(), click_name.clone());
                                    leptos::task::spawn_local(async move {
                                        match reveal_env(RevealEnv { host: HostId(host), id, name }).await {
                                            Ok(v) => revealed.update(|m| { m.insert(v.name, v.value); }),
                                            Err(e) => reveal_failed.set(Some(e)),
                                        }
                                    });
                                }>
                                "Reveal"
                            </button>
                        </td>
                    })}
                </tr>
            }
        })
        .collect_view();
    let reveal_error = move || reveal_failed.get().map(|e| view! { <ErrorBox error=e/> });
    view! {
        <div class="section-head">
            <h1>{d.name.clone()}</h1>
            <div class="actions">
                <a class="btn" id="container-logs" href=format!("/containers/{host}/{}/logs", d.id)>"Logs →"</a>
                {terminal.then(|| view! {
                    <a class="btn" id="container-terminal" href=format!("/containers/{host}/{}/terminal", d.name)>"Terminal →"</a>
                })}
                <a class="btn" id="container-stored-logs" href=crate::pages::stored_logs::key_link(&host, &stored_key(&d))
                    title="The logs berth keeps of this container's key, across re-creation">"Stored logs →"</a>
                <a class="btn" href=format!("/events?target=container:{}", d.name)>"Its events →"</a>
            </div>
        </div>
        <ContainerAlerts host=host.clone() key=stored_key(&d)/>
        <dl class="fields card">
            <dt>"State"</dt><dd><span class=format!("badge state-{}", d.state)>{state}</span>
                {d.oom_killed.then(|| view! { " "<span class="badge badge-error">"OOM killed"</span> })}
                {d.error.clone().map(|e| view! { <div class="muted">{e}</div> })}</dd>
            <dt>"Host"</dt><dd id="container-host">
                <a href=format!("/hosts/{host}")>{host.clone()}</a>
                {status.clone().map(|s| view! {
                    " "<ReachBadge reachable=s.reachable/>" "<LimitBadges limits=s.limits/>
                    <div class="muted small">{format!("{} · {}", reach(&s), engine(&s))}</div>
                    {s.limits.read_only.then(|| view! {
                        <div class="muted small">"Its agent is read-only: berth cannot start, stop or remove containers there."</div>
                    })}
                })}
            </dd>
            <dt>"Image"</dt><dd><code>{d.image.clone()}</code></dd>
            <dt>"Id"</dt><dd><code class="hash">{d.id.clone()}</code></dd>
            <dt>"Command"</dt><dd><code>{if d.command.is_empty() { "–".to_string() } else { d.command.join(" ") }}</code></dd>
            <dt>"Created"</dt><dd>{d.created.clone()}</dd>
            <dt>"Started"</dt><dd>{or_dash(d.started_at.clone())}</dd>
            <dt>"Finished"</dt><dd>{or_dash(d.finished_at.clone())}</dd>
            <dt>"Restart policy"</dt><dd>{format!("{} · restarted {} times", d.restart_policy, d.restart_count)}</dd>
            <dt>"Working directory"</dt><dd>{or_dash(d.working_dir.clone())}</dd>
            <dt>"User"</dt><dd>{or_dash(d.user.clone())}</dd>
        </dl>

        <super::container_health::Monitoring host=host.clone() id=d.id.clone() name=d.name.clone() set_expected/>

        <h2>"Environment"</h2>
        {reveal_error}
        {if d.env.is_empty() {
            view! { <p class="empty">"No environment variables."</p> }.into_any()
        } else {
            view! {
                <p class="muted">{if reveal {
                    "Values are hidden. Revealing one is recorded in the event log."
                } else {
                    "Values are hidden. Revealing them needs the secrets right on this host."
                }}</p>
                <div class="table-wrap"><table class="table" aria-label="Environment">
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Value"</th>{reveal.then(|| view! { <th scope="col"></th> })}</tr></thead>
                    <tbody>{env_rows}</tbody>
                </table></div>
            }.into_any()
        }}

        <h2>"Ports"</h2>
        {list_or_empty(d.ports.iter().map(|p| match p.public {
            Some(public) => format!("{}:{public} → {}/{}", p.ip.clone().unwrap_or_else(|| "0.0.0.0".into()), p.private, p.protocol),
            None => format!("{}/{} (not published)", p.private, p.protocol),
        }).collect(), "No ports.")}

        <h2>"Mounts"</h2>
        {list_or_empty(d.mounts.iter().map(|m| format!("{} {} → {}{}", m.kind, m.source, m.destination, if m.read_write { "" } else { " (read-only)" })).collect(), "No mounts.")}

        <h2>"Networks"</h2>
        {list_or_empty(d.networks.iter().map(|n| format!("{}: {} (gateway {})", n.network, n.ip.clone().unwrap_or_else(|| "no address".into()), n.gateway.clone().unwrap_or_else(|| "–".into()))).collect(), "Not attached to a network.")}

        <h2>"Labels"</h2>
        {list_or_empty(d.labels.iter().map(|(k, v)| format!("{k} = {v}")).collect(), "No labels.")}

        <h2>"Health-check log"</h2>
        {match d.health.clone() {
            None => view! { <p class="empty">"The image defines no health check."</p> }.into_any(),
            Some(h) => view! {
                <p><span class=format!("badge health-{}", h.status)>{h.status.clone()}</span>{format!(" · failing streak {}", h.failing_streak)}</p>
                <div class="table-wrap"><table class="table" aria-label="Health checks">
                    <thead><tr><th scope="col">"Started"</th><th scope="col">"Exit"</th><th scope="col">"Output"</th></tr></thead>
                    <tbody>{h.log.into_iter().rev().map(|r| view! {
                        <tr><td class="time">{r.start}</td><td class="num">{r.exit_code}</td><td><pre>{r.output}</pre></td></tr>
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any(),
        }}
    }
}

fn list_or_empty(items: Vec<String>, empty: &'static str) -> impl IntoView {
    if items.is_empty() {
        view! { <p class="empty">{empty}</p> }.into_any()
    } else {
        view! { <ul class="plain">{items.into_iter().map(|i| view! { <li><code>{i}</code></li> }).collect_view()}</ul> }
            .into_any()
    }
}

/// The key the container's logs are stored (and its expected state kept)
/// under: its compose project and service, or its name.
fn stored_key(d: &ContainerDetail) -> String {
    let label = |name: &str| d.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    berth_core::model::expectation_key(
        &d.name,
        label("com.docker.compose.project"),
        label("com.docker.compose.service"),
    )
}
