//! Request guards: state-changing requests must come from berth's own pages
//! (the Origin check), and pages need a signed-in user.

use super::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use berth_app::api::events::encode;
use berth_core::auth::session_user_id;
use berth_core::model::{Actor, NewEvent, Outcome};
use std::net::SocketAddr;
use tower_sessions::Session;

/// True when the request comes from berth's own origin. Browsers send Origin
/// on every cross-site request that can change state; a request without it
/// is a non-browser client (curl, a script), unless Sec-Fetch-Site says the
/// browser saw it as cross-site.
pub(crate) fn same_origin(headers: &HeaderMap, configured: Option<&str>) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(origin) = text(ORIGIN) else {
        return text(axum::http::HeaderName::from_static("sec-fetch-site")) != Some("cross-site");
    };
    if let Some(configured) = configured {
        return origin == configured;
    }
    match text(HOST) {
        Some(host) => {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
        None => false,
    }
}

pub(crate) async fn origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || same_origin(req.headers(), state.origin.as_deref()) {
        return next.run(req).await;
    }
    let origin = req
        .headers()
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let message = format!("cross-origin request from '{origin}' refused");
    state.berth.events.record(
        NewEvent::new(berth_core::model::EventKind::HttpOriginDenied, Actor::user("anonymous"))
            .source(source)
            .outcome(Outcome::Denied(message.clone()))
            .details(
                serde_json::json!({ "origin": origin, "path": req.uri().path(), "method": req.method().as_str() }),
            ),
    );
    (StatusCode::FORBIDDEN, message).into_response()
}

/// Paths anyone may GET without signing in.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/setup"
        || path == "/favicon.svg"
        // Guarded by its own bearer token when one is configured.
        || path == "/metrics"
        || ["/pkg/", "/api/", "/ws/"].iter().any(|p| path.starts_with(p))
}

/// Sends signed-out people to the sign-in page (or to setup while there are
/// no users), and signed-in people away from the sign-in page.
pub(crate) async fn pages(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let signed_in = match req.extensions().get::<Session>() {
        Some(session) => session_user_id(session).await.ok().flatten().is_some(),
        None => false,
    };
    if path == "/login" && signed_in {
        return Redirect::to("/").into_response();
    }
    if signed_in || is_public(&path) {
        return next.run(req).await;
    }
    if state.berth.auth.user_count().await.unwrap_or(1) == 0 {
        return Redirect::to("/setup").into_response();
    }
    let wanted = req.uri().path_and_query().map_or("/", |p| p.as_str());
    Redirect::to(&format!("/login?next={}", encode(wanted))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_must_match_the_host_or_the_configured_url() {
        assert!(same_origin(
            &headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")]),
            None
        ));
        assert!(!same_origin(&headers(&[("origin", "http://127.0.0.1:8080")]), None));
        assert!(same_origin(&headers(&[]), None), "curl sends no Origin");
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), None));
        let configured = Some("https://berth.example.com");
        assert!(same_origin(
            &headers(&[("host", "internal:8080"), ("origin", "https://berth.example.com")]),
            configured
        ));
        assert!(!same_origin(
            &headers(&[("host", "internal:8080"), ("origin", "http://internal:8080")]),
            configured
        ));
    }
}
