//! `POST /api/v1/hooks/stacks/{host}/{name}`: a forge's push webhook for a
//! stack. No session and no API key: the delivery is signed with the
//! stack's webhook secret (GitHub, Gitea/Forgejo, GitLab or the generic
//! sender's headers), which core checks over the raw bytes. Written here,
//! not derived from `model::ops`: it answers a forge, not a signed-in
//! caller, and reads the raw body.

use super::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use berth_core::stacks::hooks::MAX_BODY;
use std::net::SocketAddr;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/hooks/stacks/{host}/{name}", post(receive))
}

/// What a delivery is answered with.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct HookAnswer {
    /// deploy, pong, other_branch, skipped, duplicate, ignored.
    pub verdict: Option<String>,
    /// The deploy it queued.
    pub deploy: Option<u64>,
    /// Why it was refused, in words.
    pub error: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/hooks/stacks/{host}/{name}",
    tag = "stacks",
    summary = "A forge's push webhook for a stack (signed with the stack's webhook secret; recorded)",
    description = "GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, `X-GitHub-Event`, \
                   `X-GitHub-Delivery`. Gitea/Forgejo: `X-Gitea-Signature` (bare hex). GitLab: `X-Gitlab-Token`. \
                   Any other sender: GitHub's signature header, with `X-Berth-Event` and `X-Berth-Delivery`. \
                   A push to the stack's branch is answered 202 once its deploy is queued; a ping, another \
                   branch, `[skip deploy]` or a delivery id seen before are answered 200 and not deployed.",
    security(()),
    params(("host" = String, Path, description = "the stack's host"), ("name" = String, Path, description = "the stack's name")),
    request_body(content = String, content_type = "application/json", description = "the forge's JSON payload, at most 5 MiB"),
    responses(
        (status = 200, description = "received, not deployed (the verdict says why)", body = HookAnswer),
        (status = 202, description = "a deploy was queued", body = HookAnswer),
        (status = 400, description = "a malformed signature, header or payload", body = HookAnswer),
        (status = 401, description = "no signature", body = HookAnswer),
        (status = 403, description = "a wrong signature", body = HookAnswer),
        (status = 404, description = "no such stack, or its webhook is off", body = HookAnswer),
        (status = 413, description = "a body over 5 MiB", body = HookAnswer),
    )
)]
pub(crate) async fn receive(
    State(state): State<AppState>,
    Path((host, name)): Path<(String, String)>,
    info: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (bytes, over) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => (b, false),
        Err(_) => (Default::default(), true),
    };
    let source = Some(info.0.ip().to_string());
    let receipt = state
        .berth
        .stacks
        .receive(&host, &name, &headers, &bytes, over, source)
        .await;
    let status = StatusCode::from_u16(receipt.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(receipt.body)).into_response()
}
