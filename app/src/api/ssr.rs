//! Server-only helpers for the server functions: the shared services, the
//! caller behind the session, and the one error mapping (core's error
//! kinds, as REST and websockets map them too).

use crate::error::AppError;
use berth_core::access::Caller;
use berth_core::{Berth, Failure};
use leptos::prelude::*;
use std::net::SocketAddr;
use tower_sessions::Session;

/// Sets the response status from the error and returns it, for `?` chains.
pub(crate) fn fail(e: AppError) -> AppError {
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(code) = axum::http::StatusCode::from_u16(e.status())
    {
        opts.set_status(code);
    }
    e
}

/// Any error of core, as the pages show it (and logged when it is berth's own fault).
pub(crate) fn failure(e: impl Failure) -> AppError {
    let kind = e.kind();
    if kind == berth_core::ErrorKind::Internal {
        tracing::error!(error = %e, "a server function failed");
    }
    fail(AppError::new(kind, e.to_string()))
}

pub(crate) fn berth() -> Result<Berth, AppError> {
    use_context::<Berth>().ok_or_else(|| {
        fail(AppError::new(
            berth_core::ErrorKind::Internal,
            "server state is missing",
        ))
    })
}

pub(crate) async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        fail(AppError::new(
            berth_core::ErrorKind::Internal,
            format!("no session: {e}"),
        ))
    })
}

/// The client's address, for the event log.
pub(crate) async fn source() -> Option<String> {
    leptos_axum::extract::<axum::extract::ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip().to_string())
}

/// The signed-in caller, or `None`.
pub(crate) async fn current_caller() -> Result<Option<Caller>, AppError> {
    let session = session().await?;
    berth()?
        .auth
        .session_caller(&session, source().await)
        .await
        .map_err(failure)
}

/// The shared services and the signed-in caller; signed out is an error.
/// What the caller may do is decided by core, in the operation itself.
pub(crate) async fn caller() -> Result<(Berth, Caller), AppError> {
    let berth = berth()?;
    let caller = current_caller()
        .await?
        .ok_or_else(|| fail(AppError::unauthenticated()))?;
    Ok((berth, caller))
}

/// Carries out a request of `berth_core::model::ops` for the signed-in
/// caller: the body of every generated server function.
pub(crate) async fn resolve<R: berth_core::ops::Resolve>(request: R) -> Result<R::Response, AppError> {
    let (berth, caller) = caller().await?;
    request.resolve(&berth, &caller).await.map_err(failure)
}

/// A redirect target from a form: only paths on this site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}
