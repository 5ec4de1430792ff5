//! Stacks: the ticket that opens a deploy's live output on one host
//! (`/ws/deploy?ticket=T&stack=NAME&deploy=ID`). Every other stack
//! operation is defined once in core's `model::ops` (`api::ops`).

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, failure};

/// A one-time ticket to follow a deploy's output on `host` (seeing the
/// host's stacks is enough; a refusal is recorded).
#[server(endpoint = "deploy_ticket")]
pub async fn deploy_ticket(host: String) -> Result<String, AppError> {
    use berth_core::auth::Purpose;
    let (berth, caller) = caller().await?;
    berth.hosts.get(&host).map_err(failure)?;
    berth
        .auth
        .issue_ticket(&caller, Purpose::Deploy, Some(&host))
        .await
        .map_err(failure)
}
