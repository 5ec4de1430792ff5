//! Containers of a host: the list, actions on one, and tickets for the
//! live list (`/ws/containers`).

// `create_container` takes one argument per form field, as ActionForm posts
// them; the server macro's generated code carries the same count.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use berth_core::model::HostView;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{authorized, fail, host_error, source};
#[cfg(feature = "ssr")]
use berth_core::access::Permission;

#[server(endpoint = "get_host")]
pub async fn get_host(host: String) -> Result<HostView, AppError> {
    let (berth, _) = authorized(Permission::ViewContainers).await?;
    Ok(berth.hosts.get(&host).map_err(host_error)?.view())
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
    use berth_core::model::ContainerAction as A;
    let (berth, user) = authorized(Permission::ViewContainers).await?;
    if timeout_s.is_some_and(|t| t > 3600) {
        return Err(fail(AppError::Invalid(
            "the stop timeout is at most 3600 seconds".into(),
        )));
    }
    let action = match action.as_str() {
        "start" => A::Start,
        "stop" => A::Stop { timeout_s },
        "restart" => A::Restart { timeout_s },
        "kill" => A::Kill,
        "pause" => A::Pause,
        "unpause" => A::Unpause,
        "remove" => A::Remove { force: true, volumes },
        other => return Err(fail(AppError::Invalid(format!("'{other}' is not a container action")))),
    };
    let host = berth.hosts.get(&host).map_err(host_error)?;
    host.act(&user, &id, action, source().await).await.map_err(host_error)
}

/// A one-time ticket to open the live container list.
#[server(endpoint = "containers_ticket")]
pub async fn containers_ticket() -> Result<String, AppError> {
    let (berth, user) = authorized(Permission::ViewContainers).await?;
    Ok(berth.auth.issue_ticket(&user, "containers"))
}

#[server(endpoint = "inspect_container")]
pub async fn inspect_container(host: String, id: String) -> Result<berth_core::model::ContainerDetail, AppError> {
    let (berth, user) = authorized(Permission::ViewContainers).await?;
    berth
        .hosts
        .get(&host)
        .map_err(host_error)?
        .inspect(&user, &id)
        .await
        .map_err(host_error)
}

/// One environment value in clear; recorded as `container.env_reveal`.
#[server(endpoint = "reveal_env")]
pub async fn reveal_env(host: String, id: String, name: String) -> Result<String, AppError> {
    let (berth, user) = authorized(Permission::ViewContainers).await?;
    let host = berth.hosts.get(&host).map_err(host_error)?;
    host.reveal_env(&user, &id, &name, source().await)
        .await
        .map_err(host_error)
}

/// Every host's reachability, for the banner on every page. Signed-in users
/// who may not see containers get an empty list.
#[server(endpoint = "host_statuses")]
pub async fn host_statuses() -> Result<Vec<berth_core::model::HostStatus>, AppError> {
    let berth = super::ssr::berth()?;
    match super::ssr::current_user().await? {
        Some(u) if berth_core::access::allows(&u, Permission::ViewContainers) => {
            Ok(berth.hosts.all().iter().map(|h| h.status()).collect())
        }
        _ => Ok(Vec::new()),
    }
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
    let (berth, user) = authorized(Permission::ViewContainers).await?;
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
    let host = berth.hosts.get(&host).map_err(host_error)?;
    host.create(&user, &new, source().await).await.map_err(host_error)
}
