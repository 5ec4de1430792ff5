//! Health over REST that is not a request of `model::ops`: the drifts under
//! way, filtered to what the caller may see (no decision to refuse, and
//! paged by host and key together). The statistics and expected states
//! are requests (`rest::ops`).

use super::{ApiError, AppState, Authed, Failures, Page, PageQuery, Query};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use berth_core::model::Drift;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/drifts", get(drifts))
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
