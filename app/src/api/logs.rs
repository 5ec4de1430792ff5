//! Containers' logs: the ticket that opens their live view on one host
//! (`/ws/logs?ticket=T&containers=ID,ID&tail=N`). Reading a range, a search
//! and downloads are REST (`/api/v1/hosts/{host}/containers/{id}/logs`).

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, failure};

/// A one-time ticket to follow the logs of containers of `host` (the logs
/// right on the host; a refusal is recorded).
#[server(endpoint = "logs_ticket")]
pub async fn logs_ticket(host: String) -> Result<String, AppError> {
    use berth_core::auth::Purpose;
    let (berth, caller) = caller().await?;
    berth.hosts.get(&host).map_err(failure)?;
    berth
        .auth
        .issue_ticket(&caller, Purpose::Logs, Some(&host))
        .await
        .map_err(failure)
}
