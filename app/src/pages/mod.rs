//! One module per route of DESIGN.md's page list, and what they share:
//! the caller's permissions, to hide what core would refuse anyway.

pub mod account;
pub mod alerts;
mod checkpoints;
pub mod container;
mod container_health;
pub mod containers;
pub(crate) mod deploy;
pub mod event;
pub mod events;
pub mod home;
pub mod host;
mod hosts_admin;
mod live;
mod log_viewer;
pub mod login;
pub mod logs;
pub mod replay;
pub mod resources;
pub mod setup;
pub(crate) mod stack;
mod stack_definition;
pub(crate) mod stack_form;
mod stack_hooks;
mod stack_vars;
pub mod stacks;
pub mod stored_logs;
pub mod terminal;
pub mod user;
pub mod users;

use crate::api::auth::me;
use berth_core::model::Permissions;
use leptos::prelude::*;
use leptos_meta::Title;

/// What the signed-in caller may do, fetched once by each page that hides
/// buttons with it; nothing when signed out or when the fetch fails. Core
/// decides every call regardless: this only spares people dead buttons.
/// Read it inside `<Suspense/>` or `<Transition/>` so hydration matches.
pub(crate) fn permissions() -> Resource<Permissions> {
    Resource::new(
        || (),
        |_| async {
            me().await
                .ok()
                .flatten()
                .map(|account| account.permissions)
                .unwrap_or_default()
        },
    )
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. "<a href="/">"Go to the dashboard"</a>"."</p>
        </main>
    }
}
