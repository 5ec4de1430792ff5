//! `/hosts/{host}/{images|networks|volumes}`: list, inspect, remove,
//! prune. Core decides every call and records the changes.

use super::{ApiError, AppState, Authed, Failures, Page, PageQuery, Path, Query, bad_request, flag};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_core::model::{Image, ImageDetail, ImageRemoval, Network, NetworkDetail, PruneReport, Volume, VolumeDetail};
use serde::Deserialize;

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
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Force {
    /// Also when in use (images: by stopped containers or under several names).
    #[param(value_type = Option<bool>)]
    force: Option<String>,
}

impl Force {
    fn get(&self) -> Result<bool, ApiError> {
        flag("force", self.force.as_deref())
    }
}

/// `?label=key` or `?label=key=value` on a prune: only what carries it.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Prune {
    /// Only what carries this label: `key` or `key=value`.
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

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/images",
    tag = "images",
    summary = "A host's images",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), PageQuery),
    responses((status = 200, description = "a page of images", body = Page<Image>), Failures)
)]
pub(crate) async fn images(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Image>>, ApiError> {
    let all = state.berth.hosts.get(&host)?.images(&caller).await?;
    Ok(Json(page.page(all, |i| i.id.clone())?))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/images/{reference}",
    tag = "images",
    summary = "One image",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("reference" = String, Path, description = "an id, id prefix or repo:tag")),
    responses((status = 200, description = "the image", body = ImageDetail), Failures)
)]
pub(crate) async fn image(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, reference)): Path<(String, String)>,
) -> Result<Json<ImageDetail>, ApiError> {
    Ok(Json(state.berth.hosts.get(&host)?.image(&caller, &reference).await?))
}

/// `DELETE .../images/{id or repo:tag}?force=true`; recorded as `image.remove`.
#[utoipa::path(
    delete,
    path = "/api/v1/hosts/{host}/images/{reference}",
    tag = "images",
    summary = "Remove an image or one of its names (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("reference" = String, Path, description = "an id, id prefix or repo:tag"), Force),
    responses((status = 200, description = "what was untagged and deleted", body = ImageRemoval), Failures)
)]
pub(crate) async fn remove_image(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, reference)): Path<(String, String)>,
    Query(force): Query<Force>,
) -> Result<Json<ImageRemoval>, ApiError> {
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.remove_image(&caller, &reference, force.get()?).await?))
}

/// Dangling images only; recorded as `image.prune`.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host}/images/prune",
    tag = "images",
    summary = "Remove dangling images (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), Prune),
    responses((status = 200, description = "what was removed", body = PruneReport), Failures)
)]
pub(crate) async fn prune_images(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(prune): Query<Prune>,
) -> Result<Json<PruneReport>, ApiError> {
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.prune_images(&caller, prune.label()?).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/networks",
    tag = "networks",
    summary = "A host's networks",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), PageQuery),
    responses((status = 200, description = "a page of networks", body = Page<Network>), Failures)
)]
pub(crate) async fn networks(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Network>>, ApiError> {
    let all = state.berth.hosts.get(&host)?.networks(&caller).await?;
    Ok(Json(page.page(all, |n| n.id.clone())?))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/networks/{id}",
    tag = "networks",
    summary = "One network",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("id" = String, Path, description = "an id, id prefix or name")),
    responses((status = 200, description = "the network", body = NetworkDetail), Failures)
)]
pub(crate) async fn network(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, id)): Path<(String, String)>,
) -> Result<Json<NetworkDetail>, ApiError> {
    Ok(Json(state.berth.hosts.get(&host)?.network(&caller, &id).await?))
}

/// Recorded as `network.remove`.
#[utoipa::path(
    delete,
    path = "/api/v1/hosts/{host}/networks/{id}",
    tag = "networks",
    summary = "Remove a network (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("id" = String, Path, description = "an id or name")),
    responses((status = 204, description = "removed"), Failures)
)]
pub(crate) async fn remove_network(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.berth.hosts.get(&host)?.remove_network(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recorded as `network.prune`.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host}/networks/prune",
    tag = "networks",
    summary = "Remove unused networks (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), Prune),
    responses((status = 200, description = "what was removed", body = PruneReport), Failures)
)]
pub(crate) async fn prune_networks(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(prune): Query<Prune>,
) -> Result<Json<PruneReport>, ApiError> {
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.prune_networks(&caller, prune.label()?).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/volumes",
    tag = "volumes",
    summary = "A host's volumes",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), PageQuery),
    responses((status = 200, description = "a page of volumes", body = Page<Volume>), Failures)
)]
pub(crate) async fn volumes(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Volume>>, ApiError> {
    let all = state.berth.hosts.get(&host)?.volumes(&caller).await?;
    Ok(Json(page.page(all, |v| v.name.clone())?))
}

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/volumes/{name}",
    tag = "volumes",
    summary = "One volume",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("name" = String, Path, description = "the volume's name")),
    responses((status = 200, description = "the volume", body = VolumeDetail), Failures)
)]
pub(crate) async fn volume(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, name)): Path<(String, String)>,
) -> Result<Json<VolumeDetail>, ApiError> {
    Ok(Json(state.berth.hosts.get(&host)?.volume(&caller, &name).await?))
}

/// `DELETE .../volumes/{name}?force=true`; recorded as `volume.remove`.
#[utoipa::path(
    delete,
    path = "/api/v1/hosts/{host}/volumes/{name}",
    tag = "volumes",
    summary = "Remove a volume and its data (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("name" = String, Path, description = "the volume's name"), Force),
    responses((status = 204, description = "removed"), Failures)
)]
pub(crate) async fn remove_volume(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, name)): Path<(String, String)>,
    Query(force): Query<Force>,
) -> Result<StatusCode, ApiError> {
    let host = state.berth.hosts.get(&host)?;
    host.remove_volume(&caller, &name, force.get()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recorded as `volume.prune`.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{host}/volumes/prune",
    tag = "volumes",
    summary = "Remove unused volumes and their data (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), Prune),
    responses((status = 200, description = "what was removed", body = PruneReport), Failures)
)]
pub(crate) async fn prune_volumes(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(prune): Query<Prune>,
) -> Result<Json<PruneReport>, ApiError> {
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.prune_volumes(&caller, prune.label()?).await?))
}
