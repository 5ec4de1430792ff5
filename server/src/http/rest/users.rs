//! `GET /api/v1/users`, the one user route written by hand: its pages are
//! cursored by the user's numeric id, zero-padded so that the text order is
//! the number order, where the routes derived from `model::ops` page by a
//! member that is text. Every other user, grant, session and key route is
//! a request of `berth_core::model::ops` (`rest::ops`).

use super::{ApiError, AppState, Authed, Failures, Page, PageQuery, Query};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use berth_core::model::User;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/users", get(users))
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    summary = "Every user (admins)",
    params(PageQuery),
    responses((status = 200, description = "a page of users", body = Page<User>), Failures)
)]
pub(crate) async fn users(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let all = state.berth.auth.users(&caller).await?;
    Ok(Json(page.page(all, |u| format!("{:020}", u.id.0))?))
}
