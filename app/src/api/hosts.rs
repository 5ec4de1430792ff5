//! Hosts as an admin manages them: the list (with origin, address and
//! whether each is enabled), probing an agent for its certificate, and
//! adding, renaming, disabling, enabling and removing hosts while berth
//! runs. Core decides and records every call; a token is only ever sent
//! here, never returned.

use crate::error::AppError;
use berth_core::model::HostEntry;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, failure};

/// Every host the caller may see; admins also see disabled ones.
#[server(endpoint = "list_hosts")]
pub async fn list_hosts() -> Result<Vec<HostEntry>, AppError> {
    let (berth, caller) = caller().await?;
    berth.host_admin.list(&caller).await.map_err(failure)
}

/// The fingerprint of the certificate the agent at `url` presents, to
/// compare with what `berth agent init` printed before adding the host.
#[server(endpoint = "probe_agent")]
pub async fn probe_agent(url: String) -> Result<String, AppError> {
    let (berth, caller) = caller().await?;
    berth.host_admin.probe_agent(&caller, &url).await.map_err(failure)
}

/// Adds host `name` reached through the agent at `url`, with the token and
/// fingerprint `berth agent init` printed on that machine.
#[server(endpoint = "add_agent_host")]
pub async fn add_agent_host(name: String, url: String, token: String, fingerprint: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    let new = berth_core::model::NewAgentHost {
        name,
        url,
        token,
        fingerprint,
    };
    berth.host_admin.add_agent(&caller, new).await.map_err(failure)
}

/// Renames a host added at run time; the grants that name it follow.
#[server(endpoint = "rename_host")]
pub async fn rename_host(host: String, new_name: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth
        .host_admin
        .rename(&caller, &host, &new_name)
        .await
        .map_err(failure)
}

/// Disables (stops, keeps) or enables (starts again) a host added at run time.
#[server(endpoint = "set_host_enabled")]
pub async fn set_host_enabled(host: String, enabled: bool) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth
        .host_admin
        .set_enabled(&caller, &host, enabled)
        .await
        .map_err(failure)
}

/// Removes a host added at run time; its history stays in the event log.
#[server(endpoint = "remove_host")]
pub async fn remove_host(host: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth.host_admin.remove(&caller, &host).await.map_err(failure)
}

/// Pins a new certificate fingerprint for an agent host (after its agent
/// was set up again) and reconnects.
#[server(endpoint = "accept_fingerprint")]
pub async fn accept_fingerprint(host: String, fingerprint: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth
        .host_admin
        .accept_fingerprint(&caller, &host, &fingerprint)
        .await
        .map_err(failure)
}
