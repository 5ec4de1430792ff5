//! Statistics and health over REST: the latest readings, chart series of a
//! host or container, expected states and the drifts under way.

use super::{ApiError, AppState, Authed, Page, PageQuery, bad_request, body};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use berth_core::model::{ChartRange, ChartSet, Drift, Expectation, Operation, StatsSnapshot};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(latest))
        .route("/hosts/{host}/charts", get(host_charts))
        .route("/hosts/{host}/containers/{name}/charts", get(container_charts))
        .route("/hosts/{host}/expected", get(expected).put(set_expected))
        .route("/drifts", get(drifts))
}

/// The latest readings of the hosts the caller may see.
async fn latest(State(state): State<AppState>, Authed(caller): Authed) -> Result<Json<StatsSnapshot>, ApiError> {
    state.berth.check(&caller, Operation::ViewDashboard).await?;
    Ok(Json(state.berth.dashboard(&caller).stats))
}

/// `?range=1h|24h|7d|30d` (1h when absent).
#[derive(Deserialize)]
struct RangeQuery {
    range: Option<String>,
}

impl RangeQuery {
    fn get(&self) -> Result<ChartRange, ApiError> {
        match self.range.as_deref() {
            None => Ok(ChartRange::Hour),
            Some(r) => ChartRange::parse(r).ok_or_else(|| {
                bad_request(format!(
                    "range must be 1h, 24h, 7d or 30d, not '{}'",
                    r.chars().take(20).collect::<String>()
                ))
            }),
        }
    }
}

async fn host_charts(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<ChartSet>, ApiError> {
    let range = q.get()?;
    state.berth.hosts.get(&host)?;
    let berth = &state.berth;
    Ok(Json(
        berth.stats.host_charts(&berth.events, &caller, &host, range).await?,
    ))
}

async fn container_charts(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, name)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<ChartSet>, ApiError> {
    let range = q.get()?;
    state.berth.hosts.get(&host)?;
    let berth = &state.berth;
    Ok(Json(
        berth
            .stats
            .container_charts(&berth.events, &caller, &host, &name, range)
            .await?,
    ))
}

async fn expected(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Expectation>>, ApiError> {
    state.berth.hosts.get(&host)?.view_for(&caller).await?;
    let all = state.berth.health.expectations();
    let mine = all.into_iter().filter(|e| e.host.0 == host).collect();
    Ok(Json(page.page(mine, |e| e.key.clone())?))
}

/// `{"key": "compose:shop/web" | "name:db", "state": "running" | "exited" | "paused" | null}`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetExpected {
    key: String,
    state: Option<String>,
}

async fn set_expected(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    set: Result<Json<SetExpected>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let set = body(set, "{\"key\", \"state\"}")?;
    state
        .berth
        .health
        .set(&caller, &host, &set.key, set.state.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The drifts under way on the hosts the caller may see.
async fn drifts(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Drift>>, ApiError> {
    let all = state.berth.dashboard(&caller).drifts;
    Ok(Json(page.page(all, |d| format!("{}/{}", d.host.0, d.key))?))
}
