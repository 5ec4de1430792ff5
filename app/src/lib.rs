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
use leptos_router::{Lazy, LazyRoute, path};

/// Reloads the page (at most three times a session) when the app's scripts
/// fail to load: a browser caches a failed module for the page's life, so
/// only a reload tries again. Without it a network blip while the app and
/// its loader come (Chromium aborts requests when the machine's interfaces
/// change) leaves a page that never hydrates.
const RELOAD_ON_FAILED_APP: &str = "addEventListener('unhandledrejection', (e) => {\
  if (!(e.reason instanceof TypeError) || !/module/i.test(String(e.reason))) return;\
  const tries = Number(sessionStorage.getItem('berth-app-reloads') || 0);\
  if (tries >= 3) return;\
  sessionStorage.setItem('berth-app-reloads', String(tries + 1));\
  setTimeout(() => location.reload(), 500);\
});";

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
                <script inner_html=RELOAD_ON_FAILED_APP></script>
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
                <Route path=path!("/login") view={Lazy::<Login>::new()}/>
                <Route path=path!("/setup") view={Lazy::<Setup>::new()}/>
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view={Lazy::<Home>::new()}/>
                    <Route path=path!("hosts") view={Lazy::<Hosts>::new()}/>
                    <Route path=path!("hosts/:host") view={Lazy::<Host>::new()}/>
                    <Route path=path!("stacks") view={Lazy::<Stacks>::new()}/>
                    <Route path=path!("stacks/new") view={Lazy::<NewStack>::new()}/>
                    <Route path=path!("hosts/:host/stacks/:name") view={Lazy::<Stack>::new()}/>
                    <Route path=path!("hosts/:host/stacks/:name/edit") view={Lazy::<EditStack>::new()}/>
                    <Route path=path!("hosts/:host/stacks/:name/deploys/:id") view={Lazy::<StackDeploy>::new()}/>
                    <Route path=path!("containers") view={Lazy::<Containers>::new()}/>
                    <Route path=path!("containers/:host/:id") view={Lazy::<Container>::new()}/>
                    <Route path=path!("containers/:host/:id/terminal") view={Lazy::<Terminal>::new()}/>
                    <Route path=path!("containers/:host/:id/logs") view={Lazy::<ContainerLogs>::new()}/>
                    <Route path=path!("logs") view={Lazy::<StoredLogs>::new()}/>
                    <Route path=path!("logs/:host") view={Lazy::<MergedLogs>::new()}/>
                    <Route path=path!("alerts") view={Lazy::<Alerts>::new()}/>
                    <Route path=path!("alerts/rules/:id") view={Lazy::<Rule>::new()}/>
                    <Route path=path!("alerts/channels/:id") view={Lazy::<Channel>::new()}/>
                    <Route path=path!("events") view={Lazy::<Events>::new()}/>
                    <Route path=path!("events/:seq") view={Lazy::<Event>::new()}/>
                    <Route path=path!("users") view={Lazy::<Users>::new()}/>
                    <Route path=path!("users/:id") view={Lazy::<User>::new()}/>
                    <Route path=path!("account") view={Lazy::<Account>::new()}/>
                    <Route path=path!("images") view={Lazy::<Images>::new()}/>
                    <Route path=path!("networks") view={Lazy::<Networks>::new()}/>
                    <Route path=path!("volumes") view={Lazy::<Volumes>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Marks the document (`data-hydrated` on `<html>`) once a page's own
/// code runs in the browser, its piece of wasm loaded and the page
/// hydrated: what browser tests wait for before they click.
fn shown() {
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("data-hydrated", "");
        }
    });
}

/// The pages, in groups that are each a piece of wasm of their own,
/// fetched when a page of the group is first shown (on a first visit,
/// before the page hydrates): a first visit loads the app (router,
/// layout) and one group, not every page. `./dev.sh` splits the built wasm
/// at these points (wasm-split-cli); the server renders them as ordinary
/// routes and names the pieces a page needs in its `<head>`, so the
/// browser fetches them with the app. Few groups rather than a piece per
/// page: code that pages share becomes pieces of its own, one for each
/// set of groups sharing it, and each is one more request.
macro_rules! page_groups {
    ($($group:ident { $($route:ident => $page:path,)+ })*) => {
        /// Every page of `page_groups!`, as a group's function is told
        /// which to show.
        #[derive(Clone, Copy, Debug)]
        enum Page { $($($route,)+)* }

        $(
            $(
                struct $route;

                impl LazyRoute for $route {
                    fn data() -> Self {
                        $route
                    }

                    async fn view(_: Self) -> AnyView {
                        $group(Page::$route).await
                    }

                    // Fetches the group's wasm: before a first visit's page
                    // hydrates, and before the router shows one of its pages.
                    async fn preload() {
                        #[cfg(feature = "hydrate")]
                        paste::paste! { [<__preload_ $group>]().await };
                    }
                }
            )+

            #[leptos::lazy]
            fn $group(page: Page) -> AnyView {
                shown();
                match page {
                    $(Page::$route => $page().into_any(),)+
                    #[allow(unreachable_patterns)]
                    _ => pages::NotFound().into_any(),
                }
            }
        )*
    };
}

page_groups! {
    sign_in_pages {
        Login => pages::login::LoginPage,
        Setup => pages::setup::SetupPage,
    }
    overview_pages {
        Home => pages::home::HomePage,
        Hosts => pages::host::HostsPage,
        Host => pages::host::HostPage,
    }
    container_pages {
        Containers => pages::containers::ContainersPage,
        Container => pages::container::ContainerPage,
        Terminal => pages::terminal::TerminalPage,
        ContainerLogs => pages::logs::ContainerLogsPage,
        MergedLogs => pages::logs::MergedLogsPage,
        StoredLogs => pages::stored_logs::StoredLogsPage,
    }
    stack_pages {
        Stacks => pages::stacks::StacksPage,
        Stack => pages::stack::StackPage,
        NewStack => pages::stack_form::NewStackPage,
        EditStack => pages::stack_form::EditStackPage,
        StackDeploy => pages::deploy::DeployPage,
    }
    alert_pages {
        Alerts => pages::alerts::AlertsPage,
        Rule => pages::alerts::RulePage,
        Channel => pages::alerts::ChannelPage,
    }
    event_pages {
        Events => pages::events::EventsPage,
        Event => pages::event::EventPage,
    }
    people_pages {
        Users => pages::users::UsersPage,
        User => pages::user::UserPage,
        Account => pages::account::AccountPage,
    }
    resource_pages {
        Images => pages::resources::ImagesPage,
        Networks => pages::resources::NetworksPage,
        Volumes => pages::resources::VolumesPage,
    }
}
