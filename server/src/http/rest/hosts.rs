//! Hosts as an admin manages them while berth runs: the list with each
//! host's origin and address, probing an agent for its certificate, and
//! adding, renaming, disabling, enabling and removing hosts reached through
//! `berth agent`. Core decides and records every call; an agent's token is
//! taken here and never answered with.

use super::{ApiError, AppState, Authed, Failures, Page, PageQuery, Path, Query, body};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_core::access::Caller;
use berth_core::model::{ErrorKind, HostEntry, NewAgentHost};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

/// The paths of their own; `POST /hosts` and `PATCH`/`DELETE /hosts/{host}`
/// sit beside the reads of the same paths in `rest::routes`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hosts/entries", get(entries))
        .route("/hosts/probe", post(probe))
        .route("/hosts/{host}/fingerprint", post(accept_fingerprint))
}

/// The host named `name` as `caller` now sees it in the list.
async fn entry(state: &AppState, caller: &Caller, name: &str) -> Result<HostEntry, ApiError> {
    state
        .berth
        .host_admin
        .list(caller)
        .await?
        .into_iter()
        .find(|e| e.id.0 == name)
        .ok_or_else(|| ApiError {
            kind: ErrorKind::NotFound,
            message: format!("there is no host '{name}' any more"),
        })
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/entries",
    tag = "hosts",
    summary = "Every host with its origin, address and whether it is enabled (admins see disabled ones too)",
    params(PageQuery),
    responses((status = 200, description = "a page of hosts, by name", body = Page<HostEntry>), Failures)
)]
pub(crate) async fn entries(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<HostEntry>>, ApiError> {
    let all = state.berth.host_admin.list(&caller).await?;
    Ok(Json(page.page(all, |e| e.id.0.clone())?))
}

/// Where the agent listens.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeRequest {
    /// `https://HOST` or `https://HOST:PORT` (7443 by default).
    url: String,
}

/// What the agent presented.
#[derive(Serialize, ToSchema)]
pub(crate) struct Probed {
    /// The SHA-256 of its certificate, `sha256:` and 64 hex digits: compare
    /// it with what `berth agent init` printed on that machine.
    fingerprint: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/probe",
    tag = "hosts",
    summary = "The fingerprint of the certificate an agent presents (admins; sends it nothing but a TLS handshake)",
    request_body = ProbeRequest,
    responses((status = 200, description = "the fingerprint", body = Probed), Failures)
)]
pub(crate) async fn probe(
    State(state): State<AppState>,
    Authed(caller): Authed,
    request: JsonBody<ProbeRequest>,
) -> Result<Json<Probed>, ApiError> {
    let request = body(request, "{\"url\": \"https://HOST[:PORT]\"}")?;
    let fingerprint = state.berth.host_admin.probe_agent(&caller, &request.url).await?;
    Ok(Json(Probed { fingerprint }))
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts",
    tag = "hosts",
    summary = "Add a host reached through `berth agent` (admins)",
    request_body = NewAgentHost,
    responses((status = 201, description = "the new host", body = HostEntry), Failures)
)]
pub(crate) async fn add_host(
    State(state): State<AppState>,
    Authed(caller): Authed,
    new: JsonBody<NewAgentHost>,
) -> Result<(StatusCode, Json<HostEntry>), ApiError> {
    let new = body(new, "{\"name\", \"url\", \"token\", \"fingerprint\"}")?;
    let name = new.name.clone();
    state.berth.host_admin.add_agent(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(entry(&state, &caller, &name).await?)))
}

/// `{"name": "new-name"}`, `{"enabled": false}`, or both (renamed first).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostChange {
    /// A new name; the grants that name the host follow it.
    name: Option<String>,
    /// false stops the host and keeps it; true starts it again.
    enabled: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/hosts/{host}",
    tag = "hosts",
    summary = "Rename, disable or enable a host added at run time (admins)",
    params(("host" = String, Path, description = "the host's name")),
    request_body = HostChange,
    responses((status = 200, description = "the host as it is now", body = HostEntry), Failures)
)]
pub(crate) async fn change_host(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    change: JsonBody<HostChange>,
) -> Result<Json<HostEntry>, ApiError> {
    let change = body(change, "{\"name\": \"new-name\"} or {\"enabled\": true | false}")?;
    if change.name.is_none() && change.enabled.is_none() {
        return Err(super::bad_request(
            "nothing to change: send {\"name\": \"new-name\"} or {\"enabled\": true | false}",
        ));
    }
    let admin = &state.berth.host_admin;
    let mut name = host;
    if let Some(new_name) = change.name {
        admin.rename(&caller, &name, &new_name).await?;
        name = new_name;
    }
    if let Some(enabled) = change.enabled {
        admin.set_enabled(&caller, &name, enabled).await?;
    }
    Ok(Json(entry(&state, &caller, &name).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/hosts/{host}",
    tag = "hosts",
    summary = "Remove a host added at run time (admins); its history stays in the log",
    params(("host" = String, Path, description = "the host's name")),
    responses((status = 204, description = "removed"), Failures)
)]
pub(crate) async fn remove_host(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.berth.host_admin.remove(&caller, &host).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The fingerprint the agent's certificate has now.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFingerprint {
    /// `sha256:` and 64 hex digits, as `berth agent init` printed it.
    fingerprint: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host}/fingerprint",
    tag = "hosts",
    summary = "Pin an agent's new certificate fingerprint and reconnect (admins)",
    params(("host" = String, Path, description = "the host's name")),
    request_body = NewFingerprint,
    responses((status = 200, description = "the host as it is now", body = HostEntry), Failures)
)]
pub(crate) async fn accept_fingerprint(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    request: JsonBody<NewFingerprint>,
) -> Result<Json<HostEntry>, ApiError> {
    let request = body(request, "{\"fingerprint\": \"sha256:…\"}")?;
    state
        .berth
        .host_admin
        .accept_fingerprint(&caller, &host, &request.fingerprint)
        .await?;
    Ok(Json(entry(&state, &caller, &host).await?))
}
