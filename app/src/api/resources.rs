//! Images, networks and volumes of a host: the lists, removing one, and
//! pruning the unused ones. Core decides and records every call.

use crate::error::AppError;
use berth_core::model::{Image, ImageRemoval, Network, PruneReport, Volume};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::api::ssr::failure;
#[cfg(feature = "ssr")]
use ssr::on_host;

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use crate::api::ssr::{caller, failure};
    use berth_core::access::Caller;
    use berth_core::hosts::Host;
    use std::sync::Arc;

    /// The host and the signed-in caller; core decides what they may do.
    pub(super) async fn on_host(host: &str) -> Result<(Arc<Host>, Caller), AppError> {
        let (berth, caller) = caller().await?;
        Ok((berth.hosts.get(host).map_err(failure)?, caller))
    }
}

#[server(endpoint = "list_images")]
pub async fn list_images(host: String) -> Result<Vec<Image>, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.images(&caller).await.map_err(failure)
}

/// `reference`: a `repo:tag` (removes that name) or an id (the image).
#[server(endpoint = "remove_image")]
pub async fn remove_image(host: String, reference: String) -> Result<ImageRemoval, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.remove_image(&caller, &reference, false).await.map_err(failure)
}

/// Removes the dangling images only.
#[server(endpoint = "prune_images")]
pub async fn prune_images(host: String) -> Result<PruneReport, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.prune_images(&caller, None).await.map_err(failure)
}

#[server(endpoint = "list_networks")]
pub async fn list_networks(host: String) -> Result<Vec<Network>, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.networks(&caller).await.map_err(failure)
}

#[server(endpoint = "remove_network")]
pub async fn remove_network(host: String, id: String) -> Result<(), AppError> {
    let (host, caller) = on_host(&host).await?;
    host.remove_network(&caller, &id).await.map_err(failure)
}

#[server(endpoint = "prune_networks")]
pub async fn prune_networks(host: String) -> Result<PruneReport, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.prune_networks(&caller, None).await.map_err(failure)
}

#[server(endpoint = "list_volumes")]
pub async fn list_volumes(host: String) -> Result<Vec<Volume>, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.volumes(&caller).await.map_err(failure)
}

#[server(endpoint = "remove_volume")]
pub async fn remove_volume(host: String, name: String) -> Result<(), AppError> {
    let (host, caller) = on_host(&host).await?;
    host.remove_volume(&caller, &name, false).await.map_err(failure)
}

#[server(endpoint = "prune_volumes")]
pub async fn prune_volumes(host: String) -> Result<PruneReport, AppError> {
    let (host, caller) = on_host(&host).await?;
    host.prune_volumes(&caller, None).await.map_err(failure)
}
