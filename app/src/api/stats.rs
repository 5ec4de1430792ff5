//! Statistics and health for the pages: the dashboard, chart series of a
//! host or container, expected states, and tickets for `/ws/stats`.

use crate::error::AppError;
use berth_core::model::{ChartSet, Dashboard};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

#[cfg(feature = "ssr")]
fn parse_range(range: &str) -> Result<berth_core::model::ChartRange, AppError> {
    berth_core::model::ChartRange::parse(range).ok_or_else(|| {
        fail(AppError::invalid(format!(
            "'{}' is not a chart range: use 1h, 24h, 7d or 30d",
            range.chars().take(20).collect::<String>()
        )))
    })
}

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

#[server(endpoint = "host_charts")]
pub async fn host_charts(host: String, range: String) -> Result<ChartSet, AppError> {
    let (berth, caller) = caller().await?;
    let range = parse_range(&range)?;
    berth.hosts.get(&host).map_err(failure)?;
    berth
        .stats
        .host_charts(&berth.events, &caller, &host, range)
        .await
        .map_err(failure)
}

/// By container name: history follows the name across re-creation.
#[server(endpoint = "container_charts")]
pub async fn container_charts(host: String, name: String, range: String) -> Result<ChartSet, AppError> {
    let (berth, caller) = caller().await?;
    let range = parse_range(&range)?;
    berth.hosts.get(&host).map_err(failure)?;
    berth
        .stats
        .container_charts(&berth.events, &caller, &host, &name, range)
        .await
        .map_err(failure)
}

/// Sets the state the container under `key` should be in; an empty `state` clears it.
#[server(endpoint = "set_expected")]
pub async fn set_expected(host: String, key: String, state: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    let expected = (!state.is_empty()).then_some(state.as_str());
    berth.health.set(&caller, &host, &key, expected).await.map_err(failure)
}
