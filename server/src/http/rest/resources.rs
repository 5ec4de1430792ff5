//! `/hosts/{host}/{images|networks|volumes}`: list, inspect, remove,
//! prune. Removals and prunes are authorized and recorded by core.

use super::{ApiError, AppState, Source, allowed, bad_request, caller, ip};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_core::access::Permission;
use berth_core::model::{Image, ImageDetail, ImageRemoval, Network, NetworkDetail, PruneReport, Volume, VolumeDetail};
use serde::Deserialize;
use tower_sessions::Session;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hosts/{host}/images", get(images))
        .route("/hosts/{host}/images/prune", post(prune_images))
        // Names hold slashes (`berth-test/busybox:1`): the rest of the path.
        .route("/hosts/{host}/images/{*reference}", get(image).delete(remove_image))
        .route("/hosts/{host}/networks", get(networks))
        .route("/hosts/{host}/networks/prune", post(prune_networks))
        .route("/hosts/{host}/networks/{id}", get(network).delete(remove_network))
        .route("/hosts/{host}/volumes", get(volumes))
        .route("/hosts/{host}/volumes/prune", post(prune_volumes))
        .route("/hosts/{host}/volumes/{name}", get(volume).delete(remove_volume))
}

/// `?force=true` on a removal.
#[derive(Deserialize)]
struct Force {
    force: Option<String>,
}

impl Force {
    fn get(&self) -> Result<bool, ApiError> {
        match self.force.as_deref() {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(bad_request(format!("force must be true or false, not '{other}'"))),
        }
    }
}

/// `?label=key` or `?label=key=value` on a prune: only what carries it.
#[derive(Deserialize)]
struct Prune {
    label: Option<String>,
}

impl Prune {
    fn label(&self) -> Result<Option<&str>, ApiError> {
        match self.label.as_deref() {
            Some(l) if l.trim().is_empty() || l.starts_with('=') => Err(bad_request("label must be key or key=value")),
            other => Ok(other),
        }
    }
}

async fn images(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
) -> Result<Json<Vec<Image>>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewResources).await?;
    Ok(Json(state.berth.hosts.get(&host)?.images().await?))
}

async fn image(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, reference)): Path<(String, String)>,
) -> Result<Json<ImageDetail>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewResources).await?;
    Ok(Json(state.berth.hosts.get(&host)?.image(&reference).await?))
}

/// `DELETE .../images/{id or repo:tag}?force=true`; recorded as `image.remove`.
async fn remove_image(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, reference)): Path<(String, String)>,
    Query(force): Query<Force>,
) -> Result<Json<ImageRemoval>, ApiError> {
    let user = caller(&state, &session).await?;
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(
        host.remove_image(&user, &reference, force.get()?, ip(&source)).await?,
    ))
}

/// Dangling images only; recorded as `image.prune`.
async fn prune_images(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
    Query(prune): Query<Prune>,
) -> Result<Json<PruneReport>, ApiError> {
    let user = caller(&state, &session).await?;
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.prune_images(&user, prune.label()?, ip(&source)).await?))
}

async fn networks(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
) -> Result<Json<Vec<Network>>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewResources).await?;
    Ok(Json(state.berth.hosts.get(&host)?.networks().await?))
}

async fn network(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, id)): Path<(String, String)>,
) -> Result<Json<NetworkDetail>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewResources).await?;
    Ok(Json(state.berth.hosts.get(&host)?.network(&id).await?))
}

/// Recorded as `network.remove`.
async fn remove_network(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = caller(&state, &session).await?;
    let host = state.berth.hosts.get(&host)?;
    host.remove_network(&user, &id, ip(&source)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recorded as `network.prune`.
async fn prune_networks(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
    Query(prune): Query<Prune>,
) -> Result<Json<PruneReport>, ApiError> {
    let user = caller(&state, &session).await?;
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.prune_networks(&user, prune.label()?, ip(&source)).await?))
}

async fn volumes(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
) -> Result<Json<Vec<Volume>>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewResources).await?;
    Ok(Json(state.berth.hosts.get(&host)?.volumes().await?))
}

async fn volume(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, name)): Path<(String, String)>,
) -> Result<Json<VolumeDetail>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewResources).await?;
    Ok(Json(state.berth.hosts.get(&host)?.volume(&name).await?))
}

/// `DELETE .../volumes/{name}?force=true`; recorded as `volume.remove`.
async fn remove_volume(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, name)): Path<(String, String)>,
    Query(force): Query<Force>,
) -> Result<StatusCode, ApiError> {
    let user = caller(&state, &session).await?;
    let host = state.berth.hosts.get(&host)?;
    host.remove_volume(&user, &name, force.get()?, ip(&source)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recorded as `volume.prune`.
async fn prune_volumes(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
    Query(prune): Query<Prune>,
) -> Result<Json<PruneReport>, ApiError> {
    let user = caller(&state, &session).await?;
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.prune_volumes(&user, prune.label()?, ip(&source)).await?))
}
