//! berth's web UI: server-rendered Leptos pages that hydrate in the browser.
//!
//! `pages` are the routes of DESIGN.md, `components` the pieces they share,
//! `api` the server functions behind them, and `proof` the check of an
//! event's proof that runs in the browser. With the `ssr` feature this
//! crate renders on the server; with `hydrate` it runs in the browser.

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
pub mod proof;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Named like the app's js and wasm (fingerprinted in a release build).
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="berth" href=css/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "berth".to_string() } else { format!("{page} · berth") }/>
        <Router>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <Route path=path!("/setup") view=pages::setup::SetupPage/>
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=pages::home::HomePage/>
                    <Route path=path!("hosts") view=pages::host::HostsPage/>
                    <Route path=path!("hosts/:host") view=pages::host::HostPage/>
                    <Route path=path!("containers") view=pages::containers::ContainersPage/>
                    <Route path=path!("containers/:host/:id") view=pages::container::ContainerPage/>
                    <Route path=path!("containers/:host/:id/terminal") view=pages::terminal::TerminalPage/>
                    <Route path=path!("containers/:host/:id/logs") view=pages::logs::ContainerLogsPage/>
                    <Route path=path!("logs") view=pages::stored_logs::StoredLogsPage/>
                    <Route path=path!("logs/:host") view=pages::logs::MergedLogsPage/>
                    <Route path=path!("alerts") view=pages::alerts::AlertsPage/>
                    <Route path=path!("alerts/rules/:id") view=pages::alerts::RulePage/>
                    <Route path=path!("alerts/channels/:id") view=pages::alerts::ChannelPage/>
                    <Route path=path!("events") view=pages::events::EventsPage/>
                    <Route path=path!("events/:seq") view=pages::event::EventPage/>
                    <Route path=path!("users") view=pages::users::UsersPage/>
                    <Route path=path!("users/:id") view=pages::user::UserPage/>
                    <Route path=path!("account") view=pages::account::AccountPage/>
                    <Route path=path!("images") view=pages::resources::ImagesPage/>
                    <Route path=path!("networks") view=pages::resources::NetworksPage/>
                    <Route path=path!("volumes") view=pages::resources::VolumesPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
