//! Statistics and health over REST: the latest readings, chart series of a
//! host or container, expected states and the drifts under way.

use super::{ApiError, AppState, Authed, Failures, Page, PageQuery, Path, Query, bad_request, body};
use axum::extract::State;
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
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "statistics",
    summary = "The latest readings of the hosts you may see",
    responses((status = 200, description = "the readings", body = StatsSnapshot), Failures)
)]
pub(crate) async fn latest(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<StatsSnapshot>, ApiError> {
    state.berth.check(&caller, Operation::ViewDashboard).await?;
    Ok(Json(state.berth.dashboard(&caller).stats))
}

/// `?range=1h|24h|7d|30d` (1h when absent).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RangeQuery {
    /// 1h (the default), 24h, 7d or 30d.
    #[param(value_type = Option<ChartRange>)]
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

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/charts",
    tag = "statistics",
    summary = "A host's charts",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), RangeQuery),
    responses((status = 200, description = "the charts", body = ChartSet), Failures)
)]
pub(crate) async fn host_charts(
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

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/containers/{name}/charts",
    tag = "statistics",
    summary = "A container's charts, by name",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), ("name" = String, Path, description = "the container's name"), RangeQuery),
    responses((status = 200, description = "the charts", body = ChartSet), Failures)
)]
pub(crate) async fn container_charts(
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

#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/expected",
    tag = "health",
    summary = "The expected states on a host",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth"), PageQuery),
    responses((status = 200, description = "a page of expectations", body = Page<Expectation>), Failures)
)]
pub(crate) async fn expected(
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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetExpected {
    key: String,
    state: Option<String>,
}

#[utoipa::path(
    put,
    path = "/api/v1/hosts/{host}/expected",
    tag = "health",
    summary = "Set or clear the state a container is expected in (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth")),
    request_body = SetExpected,
    responses((status = 204, description = "set"), Failures)
)]
pub(crate) async fn set_expected(
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
#[utoipa::path(
    get,
    path = "/api/v1/drifts",
    tag = "health",
    summary = "The drifts under way on the hosts you may see",
    params(PageQuery),
    responses((status = 200, description = "a page of drifts", body = Page<Drift>), Failures)
)]
pub(crate) async fn drifts(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Drift>>, ApiError> {
    let all = state.berth.dashboard(&caller).drifts;
    Ok(Json(page.page(all, |d| format!("{}/{}", d.host.0, d.key))?))
}
