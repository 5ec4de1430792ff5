//! The frame of every signed-in page: the top bar with navigation (Users
//! only for admins) and the user's menu, and the page below it.

use crate::api::auth::{Logout, me};
use crate::api::containers::host_statuses;
use crate::components::hosts::unreachable_text;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

#[component]
pub fn Layout() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    let logout = ServerAction::<Logout>::new();
    let hosts = Resource::new(|| (), |_| host_statuses());
    let location = leptos_router::hooks::use_location();
    let pathname = location.pathname;
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"⚓"</span>
                "berth"
            </a>
            <nav class="nav" aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                // A stack's pages live under its host's address but belong to Stacks.
                <a href="/hosts" aria-current=move || (section(&pathname.get()) == "hosts").then_some("page")>"Hosts"</a>
                <A href="/containers">"Containers"</A>
                <a href="/stacks" aria-current=move || (section(&pathname.get()) == "stacks").then_some("page")>"Stacks"</a>
                <A href="/logs" exact=true>"Logs"</A>
                <A href="/images">"Images"</A>
                <A href="/networks">"Networks"</A>
                <A href="/volumes">"Volumes"</A>
                <A href="/alerts">"Alerts"</A>
                <A href="/events">"Event log"</A>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let admin = matches!(user.await, Ok(Some(me)) if me.permissions.admin);
                        admin.then(|| view! { <A href="/users">"Users"</A> })
                    })}
                </Suspense>
                <a href="/api/v1/openapi.json" rel="external" title="The REST API's OpenAPI document">"API"</a>
            </nav>
            <div class="usermenu">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(me)) => {
                                let u = me.user;
                                view! {
                                    <a class="who" href="/account" title="Your account: password, sessions, API keys">
                                        {u.name.clone()}
                                        <span class="role">{format!("{:?}", u.role).to_lowercase()}</span>
                                    </a>
                                }
                                    .into_any()
                            }
                            _ => view! { <a href="/login">"Sign in"</a> }.into_any(),
                        }
                    })}
                </Suspense>
                <ActionForm action=logout attr:class="inline">
                    <button type="submit" class="btn btn-quiet">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
        <main id="main" class="page">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    // The container pages show the same, live (and each container's host).
                    let own_banner = location.pathname.get_untracked().starts_with("/containers");
                    hosts.await.unwrap_or_default().into_iter().filter(|h| !h.reachable && !own_banner).map(|h| view! {
                        <div class="alert alert-error host-down" role="alert" data-host=h.id.0.clone()>{unreachable_text(&h)}</div>
                    }).collect_view()
                })}
            </Suspense>
            <Outlet/>
        </main>
    }
}

/// Which of Hosts and Stacks a path belongs to: `/hosts/H/stacks/...` is a
/// stack's page.
fn section(path: &str) -> &'static str {
    if path == "/stacks" || path.starts_with("/stacks/") || (path.starts_with("/hosts/") && path.contains("/stacks/")) {
        "stacks"
    } else if path == "/hosts" || path.starts_with("/hosts/") {
        "hosts"
    } else {
        ""
    }
}
