//! `/containers`: the containers of every host the caller may see in one
//! list with a Host column, grouped by compose project, narrowed to one
//! host with `?host=NAME` (so a link shares the view) and searchable, with
//! counts by state and the actions an operator needs. One websocket
//! follows every host (`HostsFeed`); a host berth cannot reach says so
//! above the list. Destructive actions ask first; core records each one.
//! An action shows only where the caller's grants allow it on that row's
//! host and the host allows changes (a read-only agent refuses them).

use crate::api::containers::{CreateContainerForm, HostsFeed, all_containers, all_containers_ticket};
use crate::api::ops::ContainerActCall;
use crate::components::confirm::confirmed;
use crate::components::hosts::{HostSelect, ReadOnlyNote, unreachable_text};
use crate::components::socket::follow_messages;
use crate::components::status::ErrorBox;
use berth_core::model::ContainerVerb;
use berth_core::model::ops::ContainerAct;
use berth_core::model::{Container, ContainerState, HostId, HostStatus, HostView, Operation, Permissions, format_ts};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;

const PATH: &str = "/containers";

/// The hosts as the live feed has them, in the feed's order. The page
/// shows the server's first answer until the feed has sent every host once
/// (`synced`), then the feed's.
#[derive(Clone, Debug, Default)]
struct Followed {
    order: Vec<HostId>,
    views: Vec<HostView>,
    synced: bool,
}

impl Followed {
    fn apply(&mut self, message: HostsFeed) {
        match message {
            HostsFeed::Hosts { hosts } => {
                self.views.retain(|v| hosts.contains(&v.status.id));
                self.order = hosts;
            }
            // A host no longer followed (a late message) stays out.
            HostsFeed::Host { view } if !self.order.contains(&view.status.id) => {}
            HostsFeed::Host { view } => match self.views.iter_mut().find(|v| v.status.id == view.status.id) {
                Some(old) => *old = view,
                None => self.views.push(view),
            },
        }
        let order = &self.order;
        self.views.sort_by_key(|v| order.iter().position(|h| *h == v.status.id));
        self.synced = self.synced || self.views.len() == self.order.len();
    }
}

/// Whether the change `op` is allowed on this host: by the caller's grants,
/// and by the host itself (a read-only agent refuses every change).
fn may_change(perms: &Permissions, op: Operation, status: &HostStatus) -> bool {
    perms.allows(op, Some(&status.id.0)) && status.limits.allows_changes()
}

#[component]
pub fn ContainersPage() -> impl IntoView {
    let act = ServerAction::<ContainerActCall>::new();
    let query = use_query_map();
    let filter = Memo::new(move |_| query.read().get("host").unwrap_or_default());
    let initial = Resource::new(|| (), |_| all_containers());
    let perms = super::permissions();
    let live = RwSignal::new(Followed::default());
    follow_messages(
        "/ws/containers?hosts=all".to_string(),
        all_containers_ticket,
        move |message: HostsFeed| live.update(|followed| followed.apply(message)),
    );
    let search = RwSignal::new(String::new());
    let options = Options {
        timeout_s: RwSignal::new(None),
        volumes: RwSignal::new(false),
    };
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
        <Transition fallback=|| view! { <p class="muted">"Loading containers…"</p> }>
            {move || Suspend::new(async move {
                let first = initial.await;
                let perms = StoredValue::new(perms.await);
                match first {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(first) => {
                        let all = Signal::derive(move || {
                            live.with(|f| f.synced.then(|| f.views.clone())).unwrap_or_else(|| first.clone())
                        });
                        let filter = Signal::from(filter);
                        view! { <Containers all filter search act options perms/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The page below its title, once the hosts are known: the host select
/// and action options, the create form, each host's notices, the counts
/// and the list.
#[component]
fn Containers(
    all: Signal<Vec<HostView>>,
    filter: Signal<String>,
    search: RwSignal<String>,
    act: ServerAction<ContainerActCall>,
    options: Options,
    perms: StoredValue<Permissions>,
) -> impl IntoView {
    // The hosts the filter picks (all of them when it picks none).
    let shown = Signal::derive(move || {
        let only = filter.get();
        all.with(|views| {
            views
                .iter()
                .filter(|v| only.is_empty() || v.status.id.0 == only)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let ids = Memo::new(move |_| all.with(|v| v.iter().map(|v| v.status.id.clone()).collect::<Vec<_>>()));
    // Whether some shown host allows `op` to the caller.
    let somewhere = move |op: Operation| {
        Memo::new(move |_| shown.with(|views| views.iter().any(|v| perms.with_value(|p| may_change(p, op, &v.status)))))
    };
    // Every row action needs at least operate: where nobody may, no column.
    let operable = somewhere(Operation::StartContainer);
    let removable = somewhere(Operation::RemoveContainer);
    let creatable = Memo::new(move |_| {
        all.with(|views| {
            views
                .iter()
                .filter(|v| perms.with_value(|p| may_change(p, Operation::CreateContainer, &v.status)))
                .map(|v| v.status.id.0.clone())
                .collect::<Vec<_>>()
        })
    });
    let unknown = move || {
        let only = filter.get();
        (!only.is_empty() && !ids.with(|ids| ids.iter().any(|h| h.0 == only))).then(|| {
            view! {
                <div class="alert alert-error" role="alert" id="unknown-host">
                    {format!("There is no host '{only}' that you may see. ")}
                    <a href=PATH>"Show every host"</a>
                </div>
            }
        })
    };
    view! {
        <div class="toolbar">
            <HostSelect hosts=ids.into() selected=filter path=PATH all=true/>
            {move || operable.get().then(|| view! {
                <label class="toggle">"Stop timeout (s) "
                    <input type="number" min="0" max="3600" placeholder="engine default" class="narrow" id="stop-timeout"
                        prop:value=move || options.timeout_s.get().map(|t| t.to_string()).unwrap_or_default()
                        on:input=move |ev| options.timeout_s.set(event_target_value(&ev).parse().ok())/>
                </label>
                {removable.get().then(|| view! {
                    <label class="toggle">
                        <input type="checkbox" id="remove-volumes" prop:checked=move || options.volumes.get()
                            on:change=move |ev| options.volumes.set(event_target_checked(&ev))/>
                        " Remove deletes anonymous volumes too"
                    </label>
                })}
            })}
        </div>
        {move || {
            let hosts = creatable.get();
            (!hosts.is_empty()).then(|| view! { <CreateForm hosts preferred=filter/> })
        }}
        {unknown}
        <HostNotices shown/>
        <Counts shown/>
        <List shown search act options perms acts=operable.into() filter/>
    }
}

/// Above the list: each shown host that berth cannot reach, and each that
/// refuses changes.
#[component]
fn HostNotices(shown: Signal<Vec<HostView>>) -> impl IntoView {
    move || {
        shown.with(|views| {
            views
                .iter()
                .map(|v| {
                    let s = &v.status;
                    let down = (!s.reachable).then(|| {
                        view! { <div class="alert alert-error host-down" role="alert" data-host=s.id.0.clone()>{unreachable_text(s)}</div> }
                    });
                    let read_only = s.limits.read_only.then(|| {
                        let what = "berth shows its containers but cannot start, stop, create or remove them there.";
                        view! { <ReadOnlyNote host=s.id.0.clone() what/> }
                    });
                    view! { {down}{read_only} }
                })
                .collect_view()
        })
    }
}

#[component]
fn Counts(shown: Signal<Vec<HostView>>) -> impl IntoView {
    move || {
        let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
        shown.with(|views| {
            views
                .iter()
                .flat_map(|v| &v.containers)
                .for_each(|c| *by_state.entry(c.state.to_string()).or_default() += 1)
        });
        let total: usize = by_state.values().sum();
        let hosts = shown.with(Vec::len);
        let on = if hosts == 1 {
            " on 1 host".to_string()
        } else {
            format!(" on {hosts} hosts")
        };
        view! {
            <p class="counts" id="container-counts">
                <span>{format!("{total} {}{on}", if total == 1 { "container" } else { "containers" })}</span>
                {by_state.into_iter().map(|(state, n)| view! { <span class=format!("badge state-{state}")>{format!("{n} {state}")}</span> }).collect_view()}
            </p>
        }
    }
}

/// One row: a container and the host it is on.
#[derive(Clone)]
struct Row {
    host: HostId,
    /// The host refuses changes (a read-only agent).
    read_only: bool,
    c: Container,
}

#[component]
fn List(
    shown: Signal<Vec<HostView>>,
    search: RwSignal<String>,
    act: ServerAction<ContainerActCall>,
    options: Options,
    perms: StoredValue<Permissions>,
    /// Whether the Actions column is there.
    acts: Signal<bool>,
    filter: Signal<String>,
) -> impl IntoView {
    // Standalone containers of every host first, then each compose project
    // of each host (a project is one host's).
    let groups = move || {
        let needle = search.get().to_lowercase();
        let several = shown.with(|v| v.len() > 1);
        let mut groups: BTreeMap<(String, usize), (String, Vec<Row>)> = BTreeMap::new();
        for (i, v) in shown.get().into_iter().enumerate() {
            for c in v.containers {
                let project = c.project.clone().unwrap_or_default();
                let health = c.health.clone().unwrap_or_default();
                let hay =
                    format!("{} {} {project} {} {health} {}", c.name, c.image, c.state, v.status.id).to_lowercase();
                if !needle.is_empty() && !hay.contains(&needle) {
                    continue;
                }
                let (key, title) = match &c.project {
                    None => ((String::new(), 0), "Standalone containers".to_string()),
                    Some(p) if several => ((p.clone(), i), format!("Compose project {p} on {}", v.status.id)),
                    Some(p) => ((p.clone(), i), format!("Compose project {p}")),
                };
                let row = Row {
                    host: v.status.id.clone(),
                    read_only: !v.status.limits.allows_changes(),
                    c,
                };
                groups.entry(key).or_insert_with(|| (title, Vec::new())).1.push(row);
            }
        }
        groups.into_values().collect::<Vec<_>>()
    };
    let empty = move || {
        let (hosts, containers) = shown.with(|v| (v.len(), v.iter().map(|v| v.containers.len()).sum::<usize>()));
        let text = match (hosts, containers) {
            // An unknown host in the filter has its own alert.
            (0, _) if !filter.with(String::is_empty) => return None,
            (0, _) => "You may see no host yet: ask an admin for access.",
            (1, 0) => "No containers on this host.",
            (_, 0) => "No containers on any of these hosts.",
            _ => return None,
        };
        Some(view! { <p class="empty">{text}</p> })
    };
    view! {
        <div class="table-wrap">
            <table class="table containers" aria-label="Containers">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col" class="hide-sm">"Host"</th>
                        <th scope="col">"State"</th>
                        <th scope="col" class="hide-sm">"Image"</th>
                        <th scope="col" class="hide-sm">"Ports"</th>
                        <th scope="col" class="hide-sm">"Created (UTC)"</th>
                        {move || acts.get().then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                {move || {
                    let acts = acts.get();
                    groups().into_iter().map(|(title, rows)| view! {
                        <tbody>
                            <tr class="group"><th colspan=if acts { "7" } else { "6" } scope="rowgroup">{title}{project_logs(&rows)}</th></tr>
                            {rows.into_iter().map(|row| view! { <ContainerRow row act options perms acts/> }).collect_view()}
                        </tbody>
                    }).collect_view()
                }}
            </table>
        </div>
        {empty}
    }
}

/// A link to the merged logs of a compose project's group (none for the
/// standalone containers).
fn project_logs(rows: &[Row]) -> Option<impl IntoView + use<>> {
    let row = rows.first()?;
    let project = row.c.project.as_deref()?;
    let encode = crate::api::events::encode;
    let href = format!("/logs/{}?project={}", encode(&row.host.0), encode(project));
    Some(view! { <a class="group-logs" href=href title="Every container of this project, merged">"Logs →"</a> })
}

/// Create and start a container from a local image on one of `hosts` (those
/// where the caller may create and that allow changes), `preferred` chosen
/// when it is one of them. Checked in core; the new container shows up in
/// the list through the engine's events.
#[component]
fn CreateForm(hosts: Vec<String>, preferred: Signal<String>) -> impl IntoView {
    let create = ServerAction::<CreateContainerForm>::new();
    let outcome = move || {
        create.value().get().map(|r| match r {
            Ok(id) => view! { <div class="alert alert-ok" role="status" id="create-ok">{format!("Created {}.", &id[..12.min(id.len())])}</div> }.into_any(),
            Err(e) => view! { <div id="create-error"><ErrorBox error=e/></div> }.into_any(),
        })
    };
    let first = hosts.first().cloned().unwrap_or_default();
    let chosen = {
        let hosts = hosts.clone();
        Signal::derive(move || {
            let p = preferred.get();
            if hosts.contains(&p) { p } else { first.clone() }
        })
    };
    view! {
        <details class="card create-form">
            <summary>"Create a container"</summary>
            {outcome}
            <ActionForm action=create attr:class="form grid-form">
                <label>"Host"
                    <select name="host" id="create-host" prop:value=move || chosen.get()>
                        {hosts.into_iter().map(|h| {
                            let (value, is) = (h.clone(), h.clone());
                            view! { <option value=value selected=move || chosen.get() == is>{h}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Image (local to that host)"<input name="image" required placeholder="nginx:1.27"/></label>
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

/// "2026-11-30 20:01:41" (UTC, as the column says) from unix seconds.
fn created_at(unix_s: i64) -> String {
    let full = format_ts(unix_s.saturating_mul(1_000_000_000));
    full.get(..19).unwrap_or(&full).to_string()
}

/// How stop, restart and remove behave, set once for the page.
#[derive(Clone, Copy)]
struct Options {
    timeout_s: RwSignal<Option<u32>>,
    volumes: RwSignal<bool>,
}

#[component]
fn ContainerRow(
    row: Row,
    act: ServerAction<ContainerActCall>,
    options: Options,
    perms: StoredValue<Permissions>,
    acts: bool,
) -> impl IntoView {
    let Row { host, read_only, c } = row;
    let running = c.state == ContainerState::Running;
    let paused = c.state == ContainerState::Paused;
    let ports = c
        .ports
        .iter()
        .map(|p| match p.public {
            Some(public) => format!("{public}→{}/{}", p.private, p.protocol),
            None => format!("{}/{}", p.private, p.protocol),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Only the actions the caller may do on this row's host, and none on a
    // host that refuses changes.
    let may = {
        let host = host.0.clone();
        move |verb: ContainerVerb| !read_only && perms.with_value(|p| p.allows(verb.operation(), Some(&host)))
    };
    let button = move |label: &'static str,
                       verb: ContainerVerb,
                       confirm: bool,
                       name: String,
                       id: String,
                       host: String| {
        may(verb).then(|| {
                view! {
                    <button type="button" class="btn btn-small" data-action=verb.as_str() disabled=move || act.pending().get()
                        on:click=move |_| {
                            if confirm && !confirmed(&format!("{label} container {name} on {host}?")) {
                                return;
                            }
                            // From the page a removal always forces (the page asked first).
                            act.dispatch(ContainerActCall {
                                request: ContainerAct {
                                    host: HostId(host.clone()),
                                    id: id.clone(),
                                    action: verb,
                                    timeout: options.timeout_s.get_untracked(),
                                    force: true,
                                    volumes: options.volumes.get_untracked(),
                                },
                            });
                        }>
                        {label}
                    </button>
                }
            })
    };
    let (name, id, h) = (c.name.clone(), c.id.clone(), host.0.clone());
    let actions = || {
        if running || paused {
            view! {
                {button("Stop", ContainerVerb::Stop, true, name.clone(), id.clone(), h.clone())}
                {button("Restart", ContainerVerb::Restart, true, name.clone(), id.clone(), h.clone())}
                {if paused { button("Unpause", ContainerVerb::Unpause, false, name.clone(), id.clone(), h.clone()) } else { button("Pause", ContainerVerb::Pause, false, name.clone(), id.clone(), h.clone()) }}
                {button("Kill", ContainerVerb::Kill, true, name.clone(), id.clone(), h.clone())}
            }
            .into_any()
        } else {
            view! {
                {button("Start", ContainerVerb::Start, false, name.clone(), id.clone(), h.clone())}
                {button("Remove", ContainerVerb::Remove, true, name.clone(), id.clone(), h.clone())}
            }
            .into_any()
        }
    };
    view! {
        <tr data-name=c.name.clone() data-state=c.state.to_string() data-host=host.0.clone()>
            <td class="name-cell">
                <a href=format!("/containers/{host}/{}", c.id)><strong>{c.name.clone()}</strong></a>{c.service.clone().map(|s| view! { <span class="muted">{format!(" ({s})")}</span> })}
                <div class="muted small show-sm">{format!("on {host}")}{read_only.then_some(" (read-only)")}</div>
            </td>
            <td class="host-cell hide-sm">
                <a href=format!("{PATH}?host={host}") title=format!("Only host {host}")>{host.0.clone()}</a>
                {read_only.then(|| view! { " "<span class="badge badge-limit" title="The agent refuses changes">"read-only"</span> })}
            </td>
            <td>
                <span class=format!("badge state-{}", c.state)>{c.state.to_string()}</span>
                {c.health.clone().map(|h| { let class = format!("badge health-{h}"); view! { " "<span class=class>{h}</span> } })}
                {c.drifts().then(|| view! { " "<span class="badge badge-error drift" title="Not in its expected state">{format!("expected {}", c.expected.map(|e| e.as_str()).unwrap_or_default())}</span> })}
                <div class="muted small state-detail">{c.status.clone()}{(c.restarts > 0).then(|| format!(" · {} restarts", c.restarts))}{(c.oom_kills > 0).then(|| format!(" · {} OOM kills", c.oom_kills))}</div>
            </td>
            <td class="hide-sm"><code>{c.image.clone()}</code></td>
            <td class="hide-sm">{ports}</td>
            <td class="hide-sm time">{created_at(c.created)}</td>
            {acts.then(|| view! { <td class="actions"><div class="row-actions">{actions()}</div></td> })}
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::HostStatus;

    fn view(host: &str, containers: &[&str]) -> HostView {
        let status: HostStatus = serde_json::from_value(serde_json::json!({
            "id": host, "reachable": true, "since_ns": 0, "error": null,
            "engine_version": null, "api_version": null,
        }))
        .unwrap();
        let containers = containers
            .iter()
            .map(|name| Container {
                id: format!("{name}-id"),
                name: name.to_string(),
                image: "img".into(),
                state: "running".into(),
                ..Container::default()
            })
            .collect();
        HostView { status, containers }
    }

    fn hosts(ids: &[&str]) -> HostsFeed {
        HostsFeed::Hosts {
            hosts: ids.iter().map(|h| HostId(h.to_string())).collect(),
        }
    }

    fn shown(f: &Followed) -> Vec<(String, Vec<String>)> {
        f.views
            .iter()
            .map(|v| {
                (
                    v.status.id.0.clone(),
                    v.containers.iter().map(|c| c.name.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_feed_replaces_hosts_one_by_one_in_its_order_and_drops_those_it_no_longer_names() {
        let mut f = Followed::default();
        f.apply(hosts(&["local", "web-2"]));
        f.apply(HostsFeed::Host {
            view: view("web-2", &["b"]),
        });
        assert!(!f.synced, "shown before every host arrived");
        f.apply(HostsFeed::Host {
            view: view("local", &["a"]),
        });
        assert!(f.synced);
        assert_eq!(
            shown(&f),
            [("local".into(), vec!["a".into()]), ("web-2".into(), vec!["b".into()])]
        );

        // A change on one host replaces that host only.
        f.apply(HostsFeed::Host {
            view: view("web-2", &["b", "c"]),
        });
        assert_eq!(shown(&f)[1], ("web-2".into(), vec!["b".into(), "c".into()]));
        // A host not followed stays out.
        f.apply(HostsFeed::Host {
            view: view("db-1", &["d"]),
        });
        assert_eq!(shown(&f).len(), 2);

        // A host added before the others, one removed.
        f.apply(hosts(&["db-1", "web-2"]));
        assert_eq!(shown(&f), [("web-2".into(), vec!["b".into(), "c".into()])]);
        f.apply(HostsFeed::Host {
            view: view("db-1", &["d"]),
        });
        let order: Vec<String> = shown(&f).into_iter().map(|(h, _)| h).collect();
        assert_eq!(order, ["db-1", "web-2"]);
    }
}
