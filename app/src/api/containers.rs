//! Containers of a host: the list, actions on one, and tickets for the
//! live list (`/ws/containers`).

use crate::error::AppError;
use berth_core::model::HostView;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{authorized, fail, source};
#[cfg(feature = "ssr")]
use berth_core::access::Permission;

#[cfg(feature = "ssr")]
fn host_error(e: berth_core::hosts::HostError) -> AppError {
    use berth_core::hosts::{EngineError, HostError};
    fail(match e {
        HostError::Denied(m) => AppError::Forbidden(m),
        HostError::UnknownHost(_) | HostError::Engine(EngineError::NotFound { .. }) => {
            AppError::NotFound(e.to_string())
        }
        HostError::Engine(EngineError::Engine(_)) => AppError::Invalid(e.to_string()),
        HostError::Engine(EngineError::Unreachable { .. }) | HostError::Events(_) => AppError::Internal(e.to_string()),
    })
}

#[server(endpoint = "get_host")]
pub async fn get_host(host: String) -> Result<HostView, AppError> {
    let (berth, _) = authorized(Permission::ViewContainers).await?;
    Ok(berth.hosts.get(&host).map_err(host_error)?.view())
}

/// `action` is start, stop, restart, kill, pause, unpause or remove.
#[server(endpoint = "container_action")]
pub async fn container_action(host: String, id: String, action: String) -> Result<(), AppError> {
    use berth_core::model::ContainerAction as A;
    let (berth, user) = authorized(Permission::ViewContainers).await?;
    let action = match action.as_str() {
        "start" => A::Start,
        "stop" => A::Stop { timeout_s: None },
        "restart" => A::Restart { timeout_s: None },
        "kill" => A::Kill,
        "pause" => A::Pause,
        "unpause" => A::Unpause,
        "remove" => A::Remove {
            force: true,
            volumes: false,
        },
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
