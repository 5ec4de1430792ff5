//! Statistics and health for the pages beside the requests of `model::ops`:
//! the dashboard, tickets for `/ws/stats`, and the health panel's form.

use crate::error::AppError;
use berth_core::model::Dashboard;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, failure};

#[server(endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    let (berth, caller) = caller().await?;
    berth.dashboard_for(&caller).await.map_err(failure)
}

/// A one-time ticket to open the live dashboard feed.
#[server(endpoint = "stats_ticket")]
pub async fn stats_ticket() -> Result<String, AppError> {
    use berth_core::auth::Purpose;
    let (berth, caller) = caller().await?;
    berth
        .auth
        .issue_ticket(&caller, Purpose::Stats, None)
        .await
        .map_err(failure)
}

/// Sets the state the container under `key` should be in from the health
/// panel's form; an empty `state` clears it. The form's way into
/// `SetExpected`.
#[server(endpoint = "set_expected_form")]
pub async fn set_expected_form(host: String, key: String, state: String) -> Result<(), AppError> {
    use berth_core::model::{HostId, ops::SetExpected};
    let state = (!state.is_empty()).then_some(state);
    super::ssr::resolve(SetExpected {
        host: HostId(host),
        key,
        state,
    })
    .await
}
