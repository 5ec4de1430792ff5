//! The event log's transparency endpoints: its signed checkpoint and key,
//! and the proofs an auditor or a monitor checks them with. The checkpoint,
//! the key and consistency proofs are public (sizes and hashes only: what a
//! monitor on another machine needs without an account); proofs about one
//! event need a caller who may see that event.
//!
//! Written here, not derived from `model::ops`: what answers as plain text
//! (the key, the checkpoint, signing one, an event's proof file) and what
//! answers without an account (the status, consistency proofs), which the
//! derived routes, resolved for a signed-in caller, do not serve. An event's
//! inclusion proof is `model::ops::ProveInclusion`.

use super::{ApiError, AppState, Authed, Failures, Path, Query, bad_request};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use berth_core::model::{ErrorKind, EventSeq, LogStatus};
use berth_core::tlog::encode_hash;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/log", get(status))
        .route("/log/key", get(key))
        .route("/log/checkpoint", get(checkpoint).post(sign))
        .route("/log/proof/consistency", get(consistency))
        .route("/log/proof/event/{seq}", get(event_proof))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// A whole number from a query or path parameter, or a 400 naming it.
fn number(name: &str, value: &str) -> Result<u64, ApiError> {
    value
        .parse()
        .map_err(|_| bad_request(format!("{name} must be a whole number")))
}

#[utoipa::path(
    get,
    path = "/api/v1/log",
    tag = "log",
    summary = "The log's public key and latest signed checkpoint (public)",
    security(()),
    responses((status = 200, description = "key and checkpoint", body = LogStatus), Failures)
)]
pub(crate) async fn status(State(state): State<AppState>) -> Json<LogStatus> {
    Json(state.berth.log_status())
}

#[utoipa::path(
    get,
    path = "/api/v1/log/key",
    tag = "log",
    summary = "The verifier key of the log's checkpoints (C2SP signed-note form, public)",
    security(()),
    responses((status = 200, description = "`<origin>+<key id>+<base64 key>`", body = String, content_type = "text/plain"))
)]
pub(crate) async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.berth.checkpoints.verifier()))
}

#[utoipa::path(
    get,
    path = "/api/v1/log/checkpoint",
    tag = "log",
    summary = "The latest signed checkpoint, with witness cosignatures (C2SP tlog-checkpoint, public)",
    security(()),
    responses((status = 200, description = "the signed note", body = String, content_type = "text/plain"), Failures)
)]
pub(crate) async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.berth.checkpoints.latest() {
        Some(signed) => Ok(text(signed.text())),
        None => Err(ApiError {
            kind: ErrorKind::Unavailable,
            message: "no checkpoint has been signed yet; one is within a minute of the first events".into(),
        }),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/log/checkpoint",
    tag = "log",
    summary = "Sign a checkpoint now (admins; recorded)",
    responses((status = 200, description = "the signed note", body = String, content_type = "text/plain"), Failures)
)]
pub(crate) async fn sign(State(state): State<AppState>, Authed(caller): Authed) -> Result<Response, ApiError> {
    Ok(text(state.berth.sign_checkpoint(&caller).await?.note))
}

/// `?from=M&to=N`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The older tree size.
    #[param(value_type = u64)]
    from: String,
    /// The newer tree size (at most the stored tree's).
    #[param(value_type = u64)]
    to: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsistencyProof {
    from: u64,
    to: u64,
    /// RFC 6962 consistency proof, base64 hashes.
    proof: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/log/proof/consistency",
    tag = "log",
    summary = "An RFC 6962 consistency proof between two tree sizes (public)",
    security(()),
    params(ConsistencyQuery),
    responses((status = 200, description = "the proof", body = ConsistencyProof), Failures)
)]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let (from, to) = (number("from", &q.from)?, number("to", &q.to)?);
    let proof = state.berth.checkpoints.consistency(from, to).await?;
    Ok(Json(ConsistencyProof {
        from,
        to,
        proof: proof.iter().map(encode_hash).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/log/proof/event/{seq}",
    tag = "log",
    summary = "An offline proof file for one event (C2SP tlog-proof; check it with `berth events check-proof`)",
    params(("seq" = u64, Path, description = "the event's number")),
    responses((status = 200, description = "the proof file", body = String, content_type = "text/plain"), Failures)
)]
pub(crate) async fn event_proof(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    let seq = number("seq", &seq)?;
    let file = state.berth.prove_event(&caller, EventSeq(seq)).await?;
    Ok(text(file.to_string()))
}
