//! `/stacks`: every compose project on every host the caller may see, found
//! from its containers' labels, with berth's mark on the ones it deploys
//! (and their last deploy), and a way to define a new one. What the stack
//! pages share (a deploy's state badge, durations, a stack's address)
//! lives here too.

use crate::api::ops::list_stacks;
use crate::components::status::ErrorBox;
use berth_core::model::ops as req;
use berth_core::model::{DeployState, Level, Permissions, Stack, format_ts};
use leptos::prelude::*;
use leptos_meta::Title;

/// A stack's page.
pub(crate) fn stack_href(host: &str, name: &str) -> String {
    format!("/hosts/{host}/stacks/{name}")
}

/// A deploy's page.
pub(crate) fn deploy_href(host: &str, name: &str, id: impl std::fmt::Display) -> String {
    format!("/hosts/{host}/stacks/{name}/deploys/{id}")
}

/// A deploy's state as a badge, coloured as containers' states are.
pub(crate) fn deploy_badge(state: DeployState) -> impl IntoView {
    let tone = match state {
        DeployState::Succeeded => "badge-ok",
        DeployState::Failed | DeployState::RolledBack => "badge-error",
        DeployState::Queued | DeployState::Running => "badge-denied",
        DeployState::Cancelled => "badge-off",
    };
    let label = state.as_str().replace('_', " ");
    view! { <span class=format!("badge deploy-state {tone}") data-state=state.as_str()>{label}</span> }
}

/// How long from `start` to `end` (unix ns), in words a person reads at
/// a glance: "850 ms", "12 s", "3 min 4 s", "1 h 2 min".
pub(crate) fn duration(start: i64, end: i64) -> String {
    let ms = (end - start).max(0) / 1_000_000;
    let s = ms / 1000;
    match s {
        0 => format!("{ms} ms"),
        1..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A timestamp to the second, without the milliseconds nobody reads.
pub(crate) fn when(ts_ns: i64) -> String {
    let full = format_ts(ts_ns);
    match full.split_once('.') {
        Some((head, _)) => format!("{head} UTC"),
        None => full,
    }
}

/// Whether the caller may create a stack somewhere.
pub(crate) fn may_create_any(perms: &Permissions) -> bool {
    perms.admin || perms.grants.iter().any(|g| g.level >= Level::Manage)
}

#[component]
pub fn StacksPage() -> impl IntoView {
    let stacks = Resource::new(|| (), |_| list_stacks(req::ListStacks {}));
    let perms = super::permissions();
    view! {
        <Title text="Stacks"/>
        <div class="section-head">
            <h1>"Stacks"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    may_create_any(&perms.await).then(|| view! {
                        <div class="actions"><a class="btn btn-primary" href="/stacks/new" id="new-stack">"New stack"</a></div>
                    })
                })}
            </Suspense>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading stacks…"</p> }>
            {move || Suspend::new(async move {
                let create = may_create_any(&perms.await);
                match stacks.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => empty(create).into_any(),
                    Ok(list) => table(list).into_any(),
                }
            })}
        </Transition>
    }
}

fn empty(create: bool) -> impl IntoView {
    view! {
        <div class="empty stacks-empty">
            <p>"No stacks yet. berth finds compose projects from their containers' labels "
               "(com.docker.compose.project): run "<code>"docker compose up"</code>" on a host and its stack shows here."</p>
            {create.then(|| view! {
                <p>"Or let berth deploy one from a git repository or a compose file: "
                   <a href="/stacks/new">"New stack"</a>"."</p>
            })}
        </div>
    }
}

fn table(list: Vec<Stack>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table stack stacks" aria-label="Stacks">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Host"</th>
                        <th scope="col" class="num">"Services"</th>
                        <th scope="col" class="num">"Running"</th>
                        <th scope="col">"Deploys"</th>
                    </tr>
                </thead>
                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    }
}

fn row(s: Stack) -> impl IntoView {
    let (up, all) = s.running();
    let href = stack_href(&s.host.0, &s.name);
    let tone = if up == all && all > 0 { "" } else { "warn" };
    let managed = s.managed.then(|| {
        let last = s.last_deploy.clone();
        view! {
            <span class="badge badge-ok managed" title="berth deploys this stack">"berth deploys it"</span>
            {last.map(|d| {
                let href = deploy_href(&s.host.0, &s.name, d.id);
                view! { " "<a href=href class="last-deploy" title=format!("Version {}, {}", d.version, when(d.queued_ns))>{deploy_badge(d.state)}</a> }
            })}
        }
    });
    view! {
        <tr data-stack=s.name.clone() data-host=s.host.0.clone()>
            <td data-label="Name">
                <a href=href><strong>{s.name.clone()}</strong></a>
                {s.drifts().then(|| view! { " "<span class="badge badge-error drift" title="A service is not in the state expected of it">"drift"</span> })}
            </td>
            <td data-label="Host">{s.host.0.clone()}</td>
            <td data-label="Services" class="num">{s.services.len()}</td>
            <td data-label="Running" class=format!("num {tone}")>{format!("{up}/{all}")}</td>
            <td data-label="Deploys">{managed.map(IntoAny::into_any).unwrap_or_else(|| view! { <span class="muted">"—"</span> }.into_any())}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        let s = 1_000_000_000;
        assert_eq!(duration(0, 850_000_000), "850 ms");
        assert_eq!(duration(0, 12 * s), "12 s");
        assert_eq!(duration(0, 184 * s), "3 min 4 s");
        assert_eq!(duration(0, 3720 * s), "1 h 2 min");
        assert_eq!(duration(5, 0), "0 ms");
    }
}
