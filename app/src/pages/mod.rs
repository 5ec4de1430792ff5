//! One module per route of DESIGN.md's page list.

pub mod container;
mod container_health;
pub mod containers;
pub mod event;
pub mod events;
pub mod home;
pub mod host;
mod live;
pub mod login;
pub mod resources;
pub mod setup;
pub mod users;

use leptos::prelude::*;
use leptos_meta::Title;

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
