//! Terminals over REST: a ticket for `/ws/terminal` (so a script or the CLI
//! can open one), and a session's recording as asciicast v2, served only
//! when it is the one its `terminal.close` event vouches for (409 when not).

use super::{ApiError, Authed, Failures, Path, bad_request};
use crate::http::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_core::model::{EventSeq, TerminalRequest, TerminalTicket};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hosts/{host}/containers/{id}/terminal", post(ticket))
        .route("/events/{seq}/recording", get(recording))
}

/// A one-time ticket for a terminal in a running container. The body
/// (optional) names the command and user; blank: the container's shell, as
/// its own user. Open `path` as a websocket with `&cols=..&rows=..` within
/// a minute, from a page of berth's origin or a client that sends none.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host}/containers/{id}/terminal",
    tag = "terminals",
    summary = "A ticket for a terminal in a container (needs the terminal right)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("id" = String, Path, description = "a container's id, id prefix (6+) or name")),
    request_body(content = Option<TerminalRequest>, description = "what to run and as whom; may be left out"),
    responses((status = 201, description = "the ticket and where to open it", body = TerminalTicket), Failures)
)]
pub(super) async fn ticket(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<(StatusCode, Json<TerminalTicket>), ApiError> {
    let request: TerminalRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TerminalRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            bad_request(format!(
                "expected JSON {{\"command\": \"...\", \"user\": \"...\"}} or nothing: {e}"
            ))
        })?
    };
    let ticket = state.berth.terminals.ticket(&caller, &host, &id, &request).await?;
    let path = format!("/ws/terminal?ticket={ticket}");
    Ok((StatusCode::CREATED, Json(TerminalTicket { ticket, path })))
}

/// The recording of a terminal session, as asciicast v2 (one JSON header
/// line, then `[seconds, "o"|"r"|"m", data]` a line), named by its
/// `terminal.close` event. Viewing it is recorded (`terminal.replay`).
#[utoipa::path(
    get,
    path = "/api/v1/events/{seq}/recording",
    tag = "terminals",
    summary = "A terminal session's recording, checked against its event's hash",
    params(("seq" = u64, Path, description = "the session's terminal.close event")),
    responses(
        (status = 200, description = "the recording", content_type = "application/x-asciicast", body = String),
        (status = 409, description = "the stored recording is not the one its event vouches for", body = super::ErrorBody),
        Failures
    )
)]
pub(super) async fn recording(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(seq): Path<u64>,
) -> Result<Response, ApiError> {
    let text = state.berth.terminals.recording(&caller, EventSeq(seq)).await?;
    let headers = [
        (header::CONTENT_TYPE, "application/x-asciicast"),
        (header::CONTENT_DISPOSITION, "inline"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, text).into_response())
}
