//! Statistics and health for the pages: the dashboard, chart series of a
//! host or container, expected states, and tickets for `/ws/stats`.

use crate::error::AppError;
use berth_core::model::{ChartSet, Dashboard};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{authorized, fail, host_error, source};
#[cfg(feature = "ssr")]
use berth_core::access::Permission;

#[cfg(feature = "ssr")]
fn stats_error(e: berth_core::stats::StatsError) -> AppError {
    use berth_core::stats::StatsError;
    fail(match e {
        StatsError::Denied(m) => AppError::Forbidden(m),
        StatsError::Store(e) => AppError::Internal(e.to_string()),
    })
}

#[cfg(feature = "ssr")]
fn parse_range(range: &str) -> Result<berth_core::model::ChartRange, AppError> {
    berth_core::model::ChartRange::parse(range).ok_or_else(|| {
        fail(AppError::Invalid(format!(
            "'{range}' is not a chart range: use 1h, 24h, 7d or 30d"
        )))
    })
}

#[server(endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    let (berth, _) = authorized(Permission::ViewStats).await?;
    Ok(berth.dashboard())
}

/// A one-time ticket to open the live dashboard feed.
#[server(endpoint = "stats_ticket")]
pub async fn stats_ticket() -> Result<String, AppError> {
    let (berth, user) = authorized(Permission::ViewStats).await?;
    Ok(berth.auth.issue_ticket(&user, "stats"))
}

#[server(endpoint = "host_charts")]
pub async fn host_charts(host: String, range: String) -> Result<ChartSet, AppError> {
    let (berth, user) = authorized(Permission::ViewStats).await?;
    let range = parse_range(&range)?;
    berth.hosts.get(&host).map_err(host_error)?;
    berth.stats.host_charts(&user, &host, range).await.map_err(stats_error)
}

/// By container name: history follows the name across re-creation.
#[server(endpoint = "container_charts")]
pub async fn container_charts(host: String, name: String, range: String) -> Result<ChartSet, AppError> {
    let (berth, user) = authorized(Permission::ViewStats).await?;
    let range = parse_range(&range)?;
    berth.hosts.get(&host).map_err(host_error)?;
    berth
        .stats
        .container_charts(&user, &host, &name, range)
        .await
        .map_err(stats_error)
}

/// Sets the state the container under `key` should be in; an empty `state` clears it.
#[server(endpoint = "set_expected")]
pub async fn set_expected(host: String, key: String, state: String) -> Result<(), AppError> {
    use berth_core::health::HealthError;
    let berth = super::ssr::berth()?;
    let user = super::ssr::current_user()
        .await?
        .ok_or_else(|| fail(AppError::Unauthorized))?;
    let expected = (!state.is_empty()).then_some(state.as_str());
    berth
        .health
        .set(&user, &host, &key, expected, source().await)
        .await
        .map_err(|e| {
            fail(match e {
                HealthError::Denied(m) => AppError::Forbidden(m),
                HealthError::Invalid(m) => AppError::Invalid(m),
                HealthError::Host(e) => return host_error(e),
                other => AppError::Internal(other.to_string()),
            })
        })
}
