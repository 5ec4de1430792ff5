//! Stored container logs over REST: search them (one key, one host's keys,
//! or every host's you may read logs on), list the keys with how far back
//! each reaches, and switch a key's collection.

use super::{ApiError, AppState, Authed, Failures, Path, Query, body};
use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use berth_core::model::{CollectRequest, StoredKey, StoredKeys, StoredPage, StoredQueryFields};
use serde::Deserialize;
use utoipa::IntoParams;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/logs/stored", get(search))
        .route("/logs/stored/keys", get(keys))
        .route("/hosts/{host}/logs/collect", put(collect))
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

/// `GET /logs/stored/keys?host=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct KeysParams {
    /// One host (absent: every host you may read logs on).
    host: Option<String>,
}

/// The keys of the hosts you may read logs on: collected or not, each
/// key's budget and what is stored of it (oldest and newest line, lines,
/// bytes), and the total budget.
#[utoipa::path(
    get,
    path = "/api/v1/logs/stored/keys",
    operation_id = "stored_log_keys",
    tag = "logs",
    summary = "Which container keys are collected, and how far back each reaches",
    params(KeysParams),
    responses((status = 200, description = "the keys and budgets", body = StoredKeys), Failures)
)]
pub(crate) async fn keys(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(params): Query<KeysParams>,
) -> Result<Json<StoredKeys>, ApiError> {
    let host = params.host.filter(|h| !h.is_empty());
    Ok(Json(state.berth.stored_logs.keys(&caller, host.as_deref()).await?))
}

/// Switches a key's collection on or off, with a budget of its own or the
/// default; recorded as `logs.collect`. Switched off, what is stored stays
/// searchable until the budgets drop it.
#[utoipa::path(
    put,
    path = "/api/v1/hosts/{host}/logs/collect",
    tag = "logs",
    summary = "Switch the collection of a container key's logs (recorded)",
    params(("host" = String, Path, description = "the host's name, `local` for the engine beside berth")),
    request_body = CollectRequest,
    responses((status = 200, description = "the key now", body = StoredKey), Failures)
)]
pub(crate) async fn collect(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(host): Path<String>,
    req: Result<Json<CollectRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<StoredKey>, ApiError> {
    let req = body(req, "{\"key\", \"collect\", \"budget_bytes\"}")?;
    Ok(Json(state.berth.stored_logs.set_collect(&caller, &host, &req).await?))
}
