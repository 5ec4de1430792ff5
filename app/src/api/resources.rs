//! Images, networks and volumes of a host: the lists, removing one, and
//! pruning the unused ones. Core authorizes and records the changes.

use crate::error::AppError;
use berth_core::model::{Image, ImageRemoval, Network, PruneReport, Volume};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::api::ssr::host_error;
#[cfg(feature = "ssr")]
use ssr::{operator, viewer};

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use crate::api::ssr::{authorized, berth, current_user, fail, host_error};
    use berth_core::access::Permission;
    use berth_core::hosts::Host;
    use berth_core::model::User;
    use std::sync::Arc;

    /// The host, for a caller who may see its resources.
    pub(super) async fn viewer(host: &str) -> Result<Arc<Host>, AppError> {
        let (berth, _) = authorized(Permission::ViewResources).await?;
        berth.hosts.get(host).cloned().map_err(host_error)
    }

    /// The host and the signed-in caller; core decides what they may change
    /// (and records a refusal as the action it refused).
    pub(super) async fn operator(host: &str) -> Result<(Arc<Host>, User), AppError> {
        let user = current_user().await?.ok_or_else(|| fail(AppError::Unauthorized))?;
        Ok((berth()?.hosts.get(host).cloned().map_err(host_error)?, user))
    }
}

#[server(endpoint = "list_images")]
pub async fn list_images(host: String) -> Result<Vec<Image>, AppError> {
    viewer(&host).await?.images().await.map_err(host_error)
}

/// `reference`: a `repo:tag` (removes that name) or an id (the image).
#[server(endpoint = "remove_image")]
pub async fn remove_image(host: String, reference: String) -> Result<ImageRemoval, AppError> {
    let (host, user) = operator(&host).await?;
    let source = crate::api::ssr::source().await;
    host.remove_image(&user, &reference, false, source)
        .await
        .map_err(host_error)
}

/// Removes the dangling images only.
#[server(endpoint = "prune_images")]
pub async fn prune_images(host: String) -> Result<PruneReport, AppError> {
    let (host, user) = operator(&host).await?;
    let source = crate::api::ssr::source().await;
    host.prune_images(&user, None, source).await.map_err(host_error)
}

#[server(endpoint = "list_networks")]
pub async fn list_networks(host: String) -> Result<Vec<Network>, AppError> {
    viewer(&host).await?.networks().await.map_err(host_error)
}

#[server(endpoint = "remove_network")]
pub async fn remove_network(host: String, id: String) -> Result<(), AppError> {
    let (host, user) = operator(&host).await?;
    let source = crate::api::ssr::source().await;
    host.remove_network(&user, &id, source).await.map_err(host_error)
}

#[server(endpoint = "prune_networks")]
pub async fn prune_networks(host: String) -> Result<PruneReport, AppError> {
    let (host, user) = operator(&host).await?;
    let source = crate::api::ssr::source().await;
    host.prune_networks(&user, None, source).await.map_err(host_error)
}

#[server(endpoint = "list_volumes")]
pub async fn list_volumes(host: String) -> Result<Vec<Volume>, AppError> {
    viewer(&host).await?.volumes().await.map_err(host_error)
}

#[server(endpoint = "remove_volume")]
pub async fn remove_volume(host: String, name: String) -> Result<(), AppError> {
    let (host, user) = operator(&host).await?;
    let source = crate::api::ssr::source().await;
    host.remove_volume(&user, &name, false, source)
        .await
        .map_err(host_error)
}

#[server(endpoint = "prune_volumes")]
pub async fn prune_volumes(host: String) -> Result<PruneReport, AppError> {
    let (host, user) = operator(&host).await?;
    let source = crate::api::ssr::source().await;
    host.prune_volumes(&user, None, source).await.map_err(host_error)
}
