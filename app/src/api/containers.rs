//! Containers of a host: the list, actions on one, and tickets for the
//! live list (`/ws/containers`).

// `create_container` takes one argument per form field, as ActionForm posts
// them; the server macro's generated code carries the same count.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use berth_core::model::HostView;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

#[server(endpoint = "get_host")]
pub async fn get_host(host: String) -> Result<HostView, AppError> {
    let (berth, caller) = caller().await?;
    let host = berth.hosts.get(&host).map_err(failure)?;
    host.view_for(&caller).await.map_err(failure)
}

/// `action` is start, stop, restart, kill, pause, unpause or remove;
/// `timeout_s` applies to stop and restart, `volumes` to remove.
#[server(endpoint = "container_action")]
pub async fn container_action(
    host: String,
    id: String,
    action: String,
    timeout_s: Option<u32>,
    volumes: bool,
) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    // From the page a removal always forces (the page asked first).
    let action = berth_core::model::ContainerAction::parse(&action, timeout_s, true, volumes)
        .map_err(|m| fail(AppError::invalid(m)))?;
    let host = berth.hosts.get(&host).map_err(failure)?;
    host.act(&caller, &id, action).await.map_err(failure)
}

/// A one-time ticket to open the live container list of `host`.
#[server(endpoint = "containers_ticket")]
pub async fn containers_ticket(host: String) -> Result<String, AppError> {
    use berth_core::auth::Purpose;
    let (berth, caller) = caller().await?;
    berth.hosts.get(&host).map_err(failure)?;
    berth
        .auth
        .issue_ticket(&caller, Purpose::Containers, Some(&host))
        .await
        .map_err(failure)
}

#[server(endpoint = "inspect_container")]
pub async fn inspect_container(host: String, id: String) -> Result<berth_core::model::ContainerDetail, AppError> {
    let (berth, caller) = caller().await?;
    let host = berth.hosts.get(&host).map_err(failure)?;
    host.inspect(&caller, &id).await.map_err(failure)
}

/// One environment value in clear; recorded as `container.env_reveal`.
#[server(endpoint = "reveal_env")]
pub async fn reveal_env(host: String, id: String, name: String) -> Result<String, AppError> {
    let (berth, caller) = caller().await?;
    let host = berth.hosts.get(&host).map_err(failure)?;
    host.reveal_env(&caller, &id, &name).await.map_err(failure)
}

/// The reachability of every host the caller may see, for the banner on
/// every page (empty when signed out).
#[server(endpoint = "host_statuses")]
pub async fn host_statuses() -> Result<Vec<berth_core::model::HostStatus>, AppError> {
    let berth = super::ssr::berth()?;
    Ok(match super::ssr::current_caller().await? {
        Some(caller) => berth.hosts.visible(&caller).iter().map(|h| h.status()).collect(),
        None => Vec::new(),
    })
}

/// Creates a container from the form's text fields: command words split on
/// spaces; environment, ports and volumes one per line.
#[server(endpoint = "create_container")]
pub async fn create_container(
    host: String,
    image: String,
    name: String,
    command: String,
    env: String,
    ports: String,
    volumes: String,
    restart: String,
    start: Option<String>,
) -> Result<String, AppError> {
    let (berth, caller) = caller().await?;
    let lines = |text: &str| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let new = berth_core::model::NewContainer {
        image: image.trim().to_string(),
        name: name.trim().to_string(),
        command: command.split_whitespace().map(str::to_string).collect(),
        env: lines(&env),
        ports: lines(&ports.replace(',', "\n")),
        volumes: lines(&volumes),
        restart,
        start: start.is_some(),
    };
    let host = berth.hosts.get(&host).map_err(failure)?;
    host.create(&caller, &new).await.map_err(failure)
}
