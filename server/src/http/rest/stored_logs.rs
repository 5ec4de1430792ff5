//! Stored container logs over REST: search them (one key, one host's keys,
//! or every host's you may read logs on). Written here, not derived from
//! `model::ops` like listing the keys and switching a key's collection:
//! its query is the free text of `StoredQueryFields` (flags, times and the
//! limit as typed, checked by `StoredQueryFields::parse` with messages of
//! its own) and it pages by `before`, not by a cursor over one list.

use super::{ApiError, AppState, Authed, Failures, Query};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use berth_core::model::{StoredPage, StoredQueryFields};
use serde::Deserialize;
use utoipa::IntoParams;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/logs/stored", get(search))
}

/// `GET /logs/stored`: what to search for, where, and which page.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// One host (absent: every host you may read logs on).
    host: Option<String>,
    /// One key of `host`: `compose:PROJECT/SERVICE` or `name:CONTAINER`.
    key: Option<String>,
    /// A text, or with `regex=true` a regular expression (Rust `regex`
    /// syntax); absent or empty: every line. At most 512 characters.
    search: Option<String>,
    #[param(value_type = Option<bool>)]
    regex: Option<String>,
    /// Match case exactly (ignored by default).
    #[param(value_type = Option<bool>)]
    case: Option<String>,
    /// The lines that do *not* match.
    #[param(value_type = Option<bool>)]
    invert: Option<String>,
    /// stdout or stderr only.
    stream: Option<String>,
    /// From this time on: RFC 3339 (`2026-11-22T09:05:01Z`) or Unix seconds.
    since: Option<String>,
    /// Up to this time (inclusive), as `since`.
    until: Option<String>,
    /// Matches per page, 1 to 5000 (100 when absent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 5000)]
    limit: Option<String>,
    /// The `next_before` of the page before: go on further back.
    before: Option<String>,
}

impl From<SearchParams> for StoredQueryFields {
    fn from(p: SearchParams) -> StoredQueryFields {
        StoredQueryFields {
            host: p.host,
            key: p.key,
            search: p.search,
            regex: p.regex,
            case: p.case,
            invert: p.invert,
            stream: p.stream,
            since: p.since,
            until: p.until,
            limit: p.limit,
            before: p.before,
        }
    }
}

/// The newest stored lines that match, newest first; a page that stops at
/// its limit (or its time limit: `cut_short`) says where to go on.
#[utoipa::path(
    get,
    path = "/api/v1/logs/stored",
    tag = "logs",
    summary = "Search stored container logs, newest first",
    params(SearchParams),
    responses((status = 200, description = "a page of matches", body = StoredPage), Failures)
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(params): Query<SearchParams>,
) -> Result<Json<StoredPage>, ApiError> {
    let fields = StoredQueryFields::from(params);
    let query = fields.parse().map_err(super::bad_request)?;
    Ok(Json(state.berth.stored_logs.search(&caller, &query).await?))
}
