//! REST under `/api/v1`, for scripts and tests: JSON in and out, errors as
//! `{"error": "...", "kind": "..."}` with the status of their kind, lists in
//! pages by cursor. A caller signs in with the session cookie of the pages or
//! an API key (`Authorization: Bearer`); core decides what each may do.

mod hooks;
mod input;
mod log;
mod logs;
mod openapi;
mod ops;
mod stats;
mod stored_logs;
mod terminal;
mod users;

use super::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_core::access::Caller;
use berth_core::auth::sign_in;
use berth_core::events::{ExportDigest, ExportFormat, MAX_PAGE};
use berth_core::model::{Account, ErrorKind, EventFilter, EventPage, EventSeq};
use berth_core::{Berth, Failure};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use tower_sessions::Session;
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout))
        .route("/me", get(me))
        .route("/events", get(list))
        .route("/events/export", get(export))
        .route("/openapi.json", get(openapi::document))
        .merge(users::routes())
        .merge(hooks::routes())
        .merge(log::routes())
        .merge(logs::routes())
        .merge(ops::routes())
        .merge(stats::routes())
        .merge(stored_logs::routes())
        .merge(terminal::routes())
}

/// Every REST error: `{"error": "what happened and what to do", "kind": "denied"}`
/// with the status of its kind, the same as server functions and websockets.
pub(crate) struct ApiError {
    kind: ErrorKind,
    message: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub error: String,
    pub kind: ErrorKind,
}

/// The failures every operation may answer with, for the document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(crate) enum Failures {
    /// refused, invalid or not found: see `kind`
    #[response(status = "4XX")]
    Refused(ErrorBody),
    /// berth or the engine failed: see `kind`
    #[response(status = "5XX")]
    Failed(ErrorBody),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: self.message,
            kind: self.kind,
        };
        (status, Json(body)).into_response()
    }
}

impl<E: Failure> From<E> for ApiError {
    fn from(e: E) -> Self {
        let kind = e.kind();
        if kind == ErrorKind::Internal {
            tracing::error!(error = %e, "a REST call failed");
        }
        ApiError {
            kind,
            message: e.to_string(),
        }
    }
}

impl ApiError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }
}

pub(crate) fn bad_request(e: impl ToString) -> ApiError {
    ApiError {
        kind: ErrorKind::Invalid,
        message: e.to_string(),
    }
}

fn internal(e: impl ToString) -> ApiError {
    ApiError {
        kind: ErrorKind::Internal,
        message: e.to_string(),
    }
}

type Source = ConnectInfo<SocketAddr>;

fn ip(source: &Source) -> Option<String> {
    Some(source.0.ip().to_string())
}

/// A JSON body, or a 400 that says what was expected.
pub(crate) fn body<T>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
    expected: &str,
) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| bad_request(format!("expected JSON {expected}: {}", e.body_text())))
}

/// `Query`, whose rejections (a repeated or malformed parameter) answer in
/// the API's error shape like every other error.
pub(crate) struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| Query(q))
            .map_err(|e| bad_request(e.body_text()))
    }
}

/// `Path`, likewise.
pub(crate) struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| Path(p))
            .map_err(|e| bad_request(e.body_text()))
    }
}

/// The caller of a REST call: an API key (`Authorization: Bearer berth_…`)
/// or the session cookie. Neither is a 401.
pub(crate) struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let source = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let text = value.to_str().unwrap_or("");
            let token = match text.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token,
                _ => return Err(bad_auth("use Authorization: Bearer <API key>")),
            };
            return Ok(Authed(state.berth.auth.key_caller(token, source).await?));
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, m)| internal(m))?;
        match state.berth.auth.session_caller(&session, source).await? {
            Some(caller) => Ok(Authed(caller)),
            None => Err(bad_auth(
                "sign in first (POST /api/v1/session {\"name\", \"password\"}) or send Authorization: Bearer <API key>",
            )),
        }
    }
}

fn bad_auth(message: &str) -> ApiError {
    ApiError {
        kind: ErrorKind::Unauthenticated,
        message: message.into(),
    }
}

/// `?limit=&cursor=` on a list: at most `limit` items (50 by default, at
/// most 1000) after the item whose key is `cursor`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// How many items at most (1 to 1000; 50 when absent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// One page of a list; pass `next_cursor` as `cursor` for the next one.
#[derive(Serialize, ToSchema)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl PageQuery {
    /// The page of `items` (sorted here by `key`, which must be unique).
    pub(crate) fn page<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> String) -> Result<Page<T>, ApiError> {
        let limit = match self.limit.as_deref() {
            None => 50,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| bad_request(format!("limit must be a whole number from 1 to {MAX_PAGE}")))?,
        };
        items.sort_by_key(&key);
        let start = match &self.cursor {
            None => 0,
            Some(c) => items.partition_point(|i| key(i) <= *c),
        };
        let mut items: Vec<T> = items.into_iter().skip(start).collect();
        let next_cursor = (items.len() > limit).then(|| key(&items[limit - 1]));
        items.truncate(limit);
        Ok(Page { items, next_cursor })
    }
}

#[derive(Deserialize, ToSchema)]
struct Credentials {
    name: String,
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    summary = "Sign in (sets the session cookie)",
    request_body = Credentials,
    responses((status = 200, description = "signed in", body = berth_core::model::User), Failures)
)]
async fn login(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    credentials: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<berth_core::model::User>, ApiError> {
    let c = body(credentials, "{\"name\", \"password\"}")?;
    let user = state.berth.auth.login(&c.name, &c.password, ip(&source)).await?;
    sign_in(&session, &user, ip(&source)).await.map_err(internal)?;
    Ok(Json(user))
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    summary = "Sign out",
    responses((status = 204, description = "signed out"), Failures)
)]
async fn logout(State(state): State<AppState>, source: Source, session: Session) -> Result<StatusCode, ApiError> {
    if let Some(caller) = state.berth.auth.session_caller(&session, ip(&source)).await? {
        state.berth.auth.logout(&caller).await?;
    }
    session.flush().await.map_err(internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is and what they may do.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "you",
    summary = "Who you are and what you may do",
    responses((status = 200, description = "the caller", body = Account), Failures)
)]
async fn me(Authed(caller): Authed) -> Result<Json<Account>, ApiError> {
    berth_core::auth::Auth::me(&caller)
        .map(Json)
        .ok_or_else(|| internal("the caller has no account"))
}

/// The export's formats (for the document).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ExportFormatName {
    Jsonl,
    Csv,
}

/// The event log's filter, as `GET /events` and the export take it.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct EventFilterQuery {
    /// An exact kind, or a prefix ending in `.*` (`auth.*`).
    kind: Option<String>,
    /// `user:alice`, `apikey:alice/ci`, `system`, or a bare user name.
    actor: Option<String>,
    host: Option<String>,
    /// `container:web`, `user:bob`...
    target: Option<String>,
    /// ok, denied or error.
    outcome: Option<String>,
    /// UTC, `2026-11-30 14:00` or `2026-11-30T14:00:00`.
    since: Option<String>,
    until: Option<String>,
}

/// `GET /events`: which page.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct EventPageQuery {
    /// The `next_before` of the page before.
    before: Option<u64>,
    /// 1 to 1000 (50 when absent).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// `GET /events/export`: the filter and the format.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ExportQuery {
    /// jsonl (the default) or csv.
    #[param(value_type = Option<ExportFormatName>)]
    format: Option<String>,
}

pub(crate) fn flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(bad_request(format!(
            "{name} must be true or false, not '{}'",
            other.chars().take(20).collect::<String>()
        ))),
    }
}

fn parse_filter(params: &HashMap<String, String>) -> Result<EventFilter, ApiError> {
    EventFilter::from_fields(|k| params.get(k).map(String::as_str)).map_err(bad_request)
}

#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    summary = "A page of the event log, newest first, filtered",
    params(EventFilterQuery, EventPageQuery),
    responses((status = 200, description = "a page of events", body = EventPage), Failures)
)]
async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<EventPage>, ApiError> {
    let filter = parse_filter(&params)?;
    let number = |name: &str| -> Result<Option<u64>, ApiError> {
        params
            .get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad_request(format!("{name} must be a whole number")))
            })
            .transpose()
    };
    let limit = number("limit")?.unwrap_or(50);
    if !(1..=MAX_PAGE as u64).contains(&limit) {
        return Err(bad_request(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    let before = number("before")?.map(EventSeq);
    Ok(Json(
        state.berth.events_page(&caller, filter, before, limit as usize).await?,
    ))
}

/// Streams the filtered log as JSON lines or CSV, newest first, only what
/// the caller may see; recorded as `events.export` with the count once it
/// is done.
#[utoipa::path(
    get,
    path = "/api/v1/events/export",
    tag = "events",
    summary = "Export the filtered log as JSON lines or CSV (recorded)",
    params(EventFilterQuery, ExportQuery),
    responses((status = 200, description = "the events, newest first", content((String = "application/x-ndjson"), (String = "text/csv; charset=utf-8"))), Failures)
)]
async fn export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let visible = state.berth.may_export(&caller).await?;
    let format_name = params.get("format").map_or("jsonl", String::as_str);
    let format = ExportFormat::parse(format_name).ok_or_else(|| {
        bad_request(format!(
            "format '{}' is not known: use jsonl or csv",
            format_name.chars().take(20).collect::<String>()
        ))
    })?;
    let filter = parse_filter(&params)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let berth: Berth = state.berth.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut chunk = format.header().unwrap_or_default();
        let mut open = true;
        let mut digest = ExportDigest::default();
        let result = berth.events.export_blocking(&filter, visible.as_ref(), |e| {
            chunk.push_str(&format.line(e));
            if chunk.len() >= 64 * 1024 {
                digest.update(chunk.as_bytes());
                open = tx.blocking_send(Bytes::from(std::mem::take(&mut chunk))).is_ok();
            }
            open
        });
        digest.update(chunk.as_bytes());
        let (sha256, bytes) = digest.finish();
        let (outcome, count) = match result {
            Ok(n) => (berth_core::model::Outcome::Ok, n),
            Err(e) => (berth_core::model::Outcome::Error(e.to_string()), 0),
        };
        // Recorded before the last chunk goes out: whoever holds the whole
        // file can find its export in the log, and check it by its hash
        // (an event the log's proofs cover). `complete` is false when the
        // reader went away before the end.
        let details = serde_json::json!({
            "format": format.extension(), "events": count, "filter": filter.to_fields(),
            "sha256": sha256, "bytes": bytes, "complete": open,
        });
        let event = caller
            .event(berth_core::model::Operation::ExportEvents.kind())
            .outcome(outcome)
            .details(details);
        if let Err(e) = runtime.block_on(berth.events.append(event)) {
            tracing::error!(error = %e, "cannot record an export");
        }
        if open && !chunk.is_empty() {
            let _ = tx.blocking_send(Bytes::from(chunk));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|b| b.map(Ok::<_, std::io::Error>)));
    let mut resp = Body::from_stream(stream).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    let disposition = format!("attachment; filename=\"berth-events.{}\"", format.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
