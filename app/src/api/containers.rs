//! Containers: the list of one host or of every host the caller may see,
//! actions on one, and tickets for the live lists (`/ws/containers`), with
//! the messages of the all-hosts feed (`HostsFeed`).

// `create_container_form` takes one argument per form field, as ActionForm posts
// them; the server macro's generated code carries the same count.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use berth_core::model::{HostId, HostView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

/// The status and containers of every host the caller may see, in the
/// order berth added them (empty when they may see none).
#[server(endpoint = "all_containers")]
pub async fn all_containers() -> Result<Vec<HostView>, AppError> {
    let (berth, caller) = caller().await?;
    let mut views = Vec::new();
    for host in berth.hosts.visible(&caller) {
        views.push(host.view_for(&caller).await.map_err(failure)?);
    }
    Ok(views)
}

/// One message of the live list of every host the caller may see
/// (`/ws/containers?hosts=all`). The server sends `Hosts` first, then one
/// `Host` per host; afterwards a `Host` whenever that host's status or
/// containers change, and `Hosts` again (followed by each host) whenever
/// hosts are added or removed or the caller's access changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostsFeed {
    /// The hosts followed now, in order; a host not named is gone.
    Hosts { hosts: Vec<HostId> },
    /// One host's status and containers now.
    Host { view: HostView },
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

/// A one-time ticket to open the live list of every host the caller may
/// see (`/ws/containers?hosts=all`). It is the dashboard's ticket: that
/// feed already carries the same hosts and containers, so the right to
/// open one is the right to open the other.
#[server(endpoint = "all_containers_ticket")]
pub async fn all_containers_ticket() -> Result<String, AppError> {
    use berth_core::auth::Purpose;
    use berth_core::model::{ErrorKind, Operation};
    let (berth, caller) = caller().await?;
    // The page asks again every few seconds while the socket is closed: a
    // caller who sees no host gets nothing to follow, not a recorded
    // refusal each time (core would refuse and record it).
    if !caller.may(Operation::ViewDashboard, None) {
        return Err(fail(AppError::new(
            ErrorKind::Denied,
            "you may see no host yet, so there is no live list to follow; ask an admin for access",
        )));
    }
    berth
        .auth
        .issue_ticket(&caller, Purpose::AllContainers, None)
        .await
        .map_err(failure)
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

/// Creates a container from the create form's text fields (command words
/// split on spaces; environment, ports and volumes one per line): the form's
/// way into `CreateContainer`, which REST and scripts send as JSON.
#[server(endpoint = "create_container_form")]
pub async fn create_container_form(
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
    let lines = |text: &str| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let request = berth_core::model::ops::CreateContainer {
        host: HostId(host),
        container: berth_core::model::NewContainer {
            image: image.trim().to_string(),
            name: name.trim().to_string(),
            command: command.split_whitespace().map(str::to_string).collect(),
            env: lines(&env),
            ports: lines(&ports.replace(',', "\n")),
            volumes: lines(&volumes),
            restart,
            start: start.is_some(),
        },
    };
    Ok(super::ssr::resolve(request).await?.id)
}
