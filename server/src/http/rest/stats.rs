//! Statistics and health over REST: the latest readings, chart series of a
//! host or container, expected states and the drifts under way.

use super::{ApiError, AppState, Source, allowed, bad_request, caller, ip};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use berth_core::access::Permission;
use berth_core::health::HealthError;
use berth_core::model::{ChartRange, ChartSet, Drift, Expectation, StatsSnapshot};
use berth_core::stats::StatsError;
use serde::Deserialize;
use tower_sessions::Session;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(latest))
        .route("/hosts/{host}/charts", get(host_charts))
        .route("/hosts/{host}/containers/{name}/charts", get(container_charts))
        .route("/hosts/{host}/expected", get(expected).put(set_expected))
        .route("/drifts", get(drifts))
}

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::Denied(m) => ApiError(StatusCode::FORBIDDEN, m),
            StatsError::Store(e) => {
                tracing::error!(error = %e, "statistics query failed");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}

impl From<HealthError> for ApiError {
    fn from(e: HealthError) -> Self {
        match e {
            HealthError::Denied(m) => ApiError(StatusCode::FORBIDDEN, m),
            HealthError::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, m),
            HealthError::Host(e) => e.into(),
            HealthError::Store(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            HealthError::Events(e) => e.into(),
        }
    }
}

async fn latest(
    State(state): State<AppState>,
    source: Source,
    session: Session,
) -> Result<Json<StatsSnapshot>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewStats).await?;
    Ok(Json(state.berth.stats.latest().as_ref().clone()))
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
            Some(r) => {
                ChartRange::parse(r).ok_or_else(|| bad_request(format!("range must be 1h, 24h, 7d or 30d, not '{r}'")))
            }
        }
    }
}

async fn host_charts(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<ChartSet>, ApiError> {
    let user = allowed(&state, &session, &source, Permission::ViewStats).await?;
    let range = q.get()?;
    state.berth.hosts.get(&host)?;
    Ok(Json(state.berth.stats.host_charts(&user, &host, range).await?))
}

async fn container_charts(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, name)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<ChartSet>, ApiError> {
    let user = allowed(&state, &session, &source, Permission::ViewStats).await?;
    let range = q.get()?;
    state.berth.hosts.get(&host)?;
    Ok(Json(
        state.berth.stats.container_charts(&user, &host, &name, range).await?,
    ))
}

async fn expected(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
) -> Result<Json<Vec<Expectation>>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewContainers).await?;
    state.berth.hosts.get(&host)?;
    let all = state.berth.health.expectations();
    Ok(Json(all.into_iter().filter(|e| e.host.0 == host).collect()))
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
    source: Source,
    session: Session,
    Path(host): Path<String>,
    body: Result<Json<SetExpected>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let user = caller(&state, &session).await?;
    let Json(body) = body.map_err(|e| bad_request(format!("expected JSON {{\"key\", \"state\"}}: {e}")))?;
    state
        .berth
        .health
        .set(&user, &host, &body.key, body.state.as_deref(), ip(&source))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn drifts(State(state): State<AppState>, source: Source, session: Session) -> Result<Json<Vec<Drift>>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewContainers).await?;
    Ok(Json(state.berth.health.drifts()))
}
