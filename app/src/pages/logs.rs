//! `/containers/{host}/{id}/logs` (one container's log) and
//! `/logs/{host}?c=ID1,ID2` or `?project=NAME` (several containers of one
//! host merged, each in its own colour): which containers they name,
//! resolved against the host's list (full id, id prefix or name; a
//! compose project's containers), and the page around the viewer.

use super::log_viewer::{LogViewer, Target};
use crate::api::ops::get_host;
use crate::components::status::ErrorBox;
use berth_core::model::ops::GetHost;
use berth_core::model::{Container, HostId, MAX_MERGED, natural_cmp};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What a merged view's address asks for.
#[derive(Clone, Debug, PartialEq)]
enum Wanted {
    /// Ids, id prefixes or names.
    Containers(Vec<String>),
    Project(String),
}

/// The containers `wanted` names, in its order (a project's by service
/// and name); the error says which are unknown or what is wrong.
fn resolve(containers: &[Container], wanted: &Wanted, host: &str) -> Result<Vec<Target>, String> {
    let target = |c: &Container| Target {
        id: c.id.clone(),
        name: c.name.clone(),
    };
    let targets: Vec<Target> = match wanted {
        Wanted::Containers(names) if names.is_empty() => {
            return Err("Name the containers to show: /logs/HOST?c=ID1,ID2 or ?project=NAME".into());
        }
        Wanted::Containers(names) => {
            let mut found = Vec::new();
            let mut unknown = Vec::new();
            for n in names {
                let hit = containers.iter().find(|c| c.id == *n || c.name == *n).or_else(|| {
                    let mut prefixed = containers
                        .iter()
                        .filter(|c| n.len() >= 4 && c.id.starts_with(n.as_str()));
                    prefixed.next().filter(|_| prefixed.next().is_none())
                });
                match hit {
                    Some(c) if !found.iter().any(|t: &Target| t.id == c.id) => found.push(target(c)),
                    Some(_) => {}
                    None => unknown.push(n.as_str()),
                }
            }
            if !unknown.is_empty() {
                return Err(format!("No container {} on host {host}.", unknown.join(", ")));
            }
            found
        }
        Wanted::Project(project) => {
            let mut members: Vec<&Container> = containers
                .iter()
                .filter(|c| c.project.as_deref() == Some(project))
                .collect();
            members.sort_by(|a, b| a.service.cmp(&b.service).then_with(|| natural_cmp(&a.name, &b.name)));
            if members.is_empty() {
                return Err(format!("Compose project {project} has no containers on host {host}."));
            }
            members.into_iter().map(target).collect()
        }
    };
    if targets.len() > MAX_MERGED {
        return Err(format!(
            "One view merges at most {MAX_MERGED} containers, not {}.",
            targets.len()
        ));
    }
    Ok(targets)
}

#[component]
pub fn ContainerLogsPage() -> impl IntoView {
    let params = use_params_map();
    let key = Memo::new(move |_| {
        let p = params.read();
        (p.get("host").unwrap_or_default(), p.get("id").unwrap_or_default())
    });
    let host_view = Resource::new(move || key.get().0, |host| get_host(GetHost { host: HostId(host) }));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (host, id) = key.get_untracked();
                let found = host_view.await;
                let back = format!("/containers/{host}/{id}");
                // A container that is gone may still have a log to show:
                // the server says if not.
                let target = match &found {
                    Ok(v) => resolve(&v.containers, &Wanted::Containers(vec![id.clone()]), &host)
                        .ok()
                        .and_then(|t| t.into_iter().next()),
                    Err(_) => None,
                }
                .unwrap_or_else(|| Target { id: id.clone(), name: id.chars().take(12).collect() });
                let error = found.err().map(|e| view! { <ErrorBox error=e/> });
                let name = target.name.clone();
                view! {
                    <Title text=format!("Logs: {name}")/>
                    <p><a href=back>{format!("← {name}")}</a></p>
                    <div class="section-head log-head"><h1>"Logs: "{name.clone()}</h1><span class="muted">{format!("on {host}")}</span></div>
                    {error}
                    <LogViewer host targets=vec![target] merged=false/>
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn MergedLogsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let host = Memo::new(move |_| params.read().get("host").unwrap_or_default());
    let wanted = Memo::new(move |_| {
        let q = query.read();
        match q.get("project").filter(|p| !p.is_empty()) {
            Some(p) => Wanted::Project(p),
            None => Wanted::Containers(
                q.get("c")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        }
    });
    let host_view = Resource::new(move || host.get(), |host| get_host(GetHost { host: HostId(host) }));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (host, wanted) = (host.get_untracked(), wanted.get());
                let heading = match &wanted {
                    Wanted::Project(p) => format!("Logs: project {p}"),
                    Wanted::Containers(c) => format!("Logs: {} containers", c.len()),
                };
                let shown = match host_view.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => match resolve(&v.containers, &wanted, &host) {
                        Err(e) => view! { <div class="alert alert-error" role="alert" id="logs-unknown">{e}</div> }.into_any(),
                        Ok(targets) => view! { <LogViewer host=host.clone() targets merged=true/> }.into_any(),
                    },
                };
                view! {
                    <Title text=heading.clone()/>
                    <p><a href=format!("/containers?host={host}")>"← Containers"</a></p>
                    <div class="section-head log-head"><h1>{heading}</h1><span class="muted">{format!("on {host}")}</span></div>
                    {shown}
                }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, name: &str, project: Option<&str>, service: Option<&str>) -> Container {
        Container {
            id: id.into(),
            name: name.into(),
            image: "img".into(),
            state: "running".into(),
            health: None,
            status: String::new(),
            ports: Vec::new(),
            created: 0,
            project: project.map(Into::into),
            service: service.map(Into::into),
            restarts: 0,
            oom_kills: 0,
            compose_files: None,
            compose_dir: None,
            expected: None,
        }
    }

    fn ids(r: Result<Vec<Target>, String>) -> Vec<String> {
        r.unwrap().into_iter().map(|t| t.id).collect()
    }

    #[test]
    fn containers_by_id_prefix_or_name_and_projects_by_service() {
        let all = [
            c("aaaa1111", "web-1", Some("shop"), Some("web")),
            c("aaaa2222", "db-1", Some("shop"), Some("db")),
            c("bbbb3333", "lone", None, None),
        ];
        let names = |n: &[&str]| Wanted::Containers(n.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            ids(resolve(&all, &names(&["lone", "aaaa1"]), "h")),
            ["bbbb3333", "aaaa1111"]
        );
        assert_eq!(
            ids(resolve(&all, &names(&["aaaa2222", "db-1"]), "h")),
            ["aaaa2222"],
            "once each"
        );
        assert_eq!(
            ids(resolve(&all, &Wanted::Project("shop".into()), "h")),
            ["aaaa2222", "aaaa1111"]
        );
        let e = resolve(&all, &names(&["aaaa", "nope"]), "h").unwrap_err();
        assert_eq!(
            e, "No container aaaa, nope on host h.",
            "an ambiguous prefix is unknown"
        );
        assert!(resolve(&all, &names(&[]), "h").unwrap_err().contains("?c="));
        assert!(
            resolve(&all, &Wanted::Project("x".into()), "h")
                .unwrap_err()
                .contains("no containers")
        );
        let many: Vec<Container> = (0..=MAX_MERGED)
            .map(|i| c(&format!("id{i:04}"), &format!("n{i}"), Some("big"), None))
            .collect();
        assert!(
            resolve(&many, &Wanted::Project("big".into()), "h")
                .unwrap_err()
                .contains("at most")
        );
    }
}
