//! Server-only helpers for the server functions: the shared services, the
//! caller's session and address, and error mapping.

use crate::error::AppError;
use berth_core::Berth;
use berth_core::access::{self, AccessError, Permission};
use berth_core::auth::AuthError;
use berth_core::events::EventError;
use berth_core::model::User;
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

pub(crate) fn berth() -> Result<Berth, AppError> {
    use_context::<Berth>().ok_or_else(|| fail(AppError::Internal("server state is missing".into())))
}

pub(crate) async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| fail(AppError::Internal(format!("no session: {e}"))))
}

/// The client's address, for the event log.
pub(crate) async fn source() -> Option<String> {
    leptos_axum::extract::<axum::extract::ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip().to_string())
}

/// The signed-in user, or `None`.
pub(crate) async fn current_user() -> Result<Option<User>, AppError> {
    let session = session().await?;
    berth()?.auth.session_user(&session).await.map_err(auth_error)
}

/// The signed-in user allowed to do `what`, or the reason why not.
pub(crate) async fn authorized(what: Permission) -> Result<(Berth, User), AppError> {
    let berth = berth()?;
    let user = current_user().await?.ok_or_else(|| fail(AppError::Unauthorized))?;
    access::authorize(&berth.events, &user, what, source().await)
        .await
        .map_err(|e| match e {
            AccessError::Denied(m) => fail(AppError::Forbidden(m)),
            AccessError::Events(e) => fail(event_error(e)),
        })?;
    Ok((berth, user))
}

pub(crate) fn auth_error(e: AuthError) -> AppError {
    fail(match e {
        AuthError::BadCredentials | AuthError::BadSetupToken | AuthError::SetupClosed => {
            AppError::Forbidden(e.to_string())
        }
        AuthError::Throttled(_) => AppError::TooManyRequests(e.to_string()),
        AuthError::Invalid(_) | AuthError::NameTaken(_) => AppError::Invalid(e.to_string()),
        AuthError::Store(_) | AuthError::Events(_) => {
            tracing::error!(error = %e, "auth failed");
            AppError::Internal(e.to_string())
        }
    })
}

pub(crate) fn event_error(e: EventError) -> AppError {
    tracing::error!(error = %e, "event log failed");
    fail(AppError::Internal(e.to_string()))
}

/// A redirect target from a form: only paths on this site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// A host's refusal as the UI shows it: unknown things are 404, the engine's
/// refusals (in use, already gone) are the engine's own words.
pub(crate) fn host_error(e: berth_core::hosts::HostError) -> AppError {
    use berth_core::hosts::{EngineError, HostError};
    fail(match e {
        HostError::Denied(m) => AppError::Forbidden(m),
        HostError::UnknownHost(_) | HostError::Engine(EngineError::NotFound { .. }) => {
            AppError::NotFound(e.to_string())
        }
        HostError::Engine(EngineError::Engine(_)) | HostError::Invalid(_) => AppError::Invalid(e.to_string()),
        HostError::Engine(EngineError::Unreachable { .. }) | HostError::Events(_) => AppError::Internal(e.to_string()),
    })
}
