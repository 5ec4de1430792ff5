//! The HTTP surface: Leptos pages and server functions, REST under
//! `/api/v1`, the live event websocket, and the site's static files, behind
//! the session layer and the guards, gzipped on the way out.

mod compress;
mod deploy_ws;
mod guard;
mod logs_ws;
mod metrics;
mod rest;
mod site;
mod terminal;
mod ws;

use crate::config::Config;
use axum::Router;
use axum::extract::FromRef;
use berth_app::{App, shell};
use berth_core::Berth;
use berth_core::auth::RedbSessionStore;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "berth_session";

#[derive(Clone, FromRef)]
pub(crate) struct AppState {
    pub leptos_options: LeptosOptions,
    pub berth: Berth,
    pub site: Arc<site::Site>,
    /// The configured public origin, if any (for the Origin check).
    pub origin: Option<Arc<str>>,
    /// Turns true when the server is stopping (websockets close).
    pub stopping: watch::Receiver<bool>,
    /// /metrics wants this bearer token, when set.
    pub metrics_token: Option<MetricsToken>,
}

/// The bearer token /metrics wants.
#[derive(Clone)]
pub(crate) struct MetricsToken(pub Arc<str>);

pub(crate) fn router(
    berth: Berth,
    config: &Config,
    sessions: RedbSessionStore,
    local: SocketAddr,
    stopping: watch::Receiver<bool>,
) -> anyhow::Result<Router> {
    let site = site::Site::locate(config.site_dir.clone());
    let leptos_options = LeptosOptions::builder()
        .output_name("berth")
        .site_root(site.root_hint())
        .site_pkg_dir(site.pkg_dir())
        .site_addr(local)
        .build();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        berth: berth.clone(),
        site: Arc::new(site),
        origin: config.public_origin().map(Arc::from),
        stopping,
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| MetricsToken(Arc::from(t.0.trim()))),
    };
    let routes = generate_route_list(App);
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(i64::from(
            config.session_hours,
        ))));

    let app = Router::new()
        .nest("/api/v1", rest::routes())
        .route("/ws/events", axum::routing::get(ws::events))
        .route("/ws/containers", axum::routing::get(ws::containers))
        .route("/ws/stats", axum::routing::get(ws::stats))
        .route("/ws/logs", axum::routing::get(logs_ws::logs))
        .route("/ws/deploy", axum::routing::get(deploy_ws::deploy))
        .route("/ws/terminal", axum::routing::get(terminal::terminal))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let (site, berth) = (state.site.clone(), berth.clone());
                move || site.provide_context(&berth)
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(site::fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::pages))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::origin))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(compress::gzip))
        .with_state(state);
    Ok(app)
}
