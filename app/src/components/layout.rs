//! The frame of every signed-in page: the top bar with navigation and the
//! user's menu, and the page below it.

use crate::api::auth::{Logout, me};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

#[component]
pub fn Layout() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    let logout = ServerAction::<Logout>::new();
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"⚓"</span>
                "berth"
            </a>
            <nav class="nav" aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/containers">"Containers"</A>
                <A href="/events">"Event log"</A>
                <A href="/users">"Users"</A>
            </nav>
            <div class="usermenu">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(u)) => {
                                view! {
                                    <span class="who" title="Signed in">
                                        {u.name.clone()}
                                        <span class="role">{format!("{:?}", u.role).to_lowercase()}</span>
                                    </span>
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
            <Outlet/>
        </main>
    }
}
