//! Container logs over REST (not the event log's transparency endpoints:
//! those are `log`): a container's lines as JSON, searched on request,
//! and the same as a file to download (recorded). Both read the engine
//! directly and end; following live is `/ws/logs`.

use super::{ApiError, AppState, Authed, Failures, Path, Query, bad_request, flag};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use berth_core::model::{LogLine, LogQuery, LogSearch, LogStream};
use serde::Deserialize;
use utoipa::IntoParams;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hosts/{host}/containers/{id}/logs", get(lines))
        .route("/hosts/{host}/containers/{id}/logs/download", get(download))
}

/// Which lines: a range, the last of them, and a search through them.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogsQuery {
    /// The last N lines of the range (0 to 100000, or `all`). JSON: the
    /// last 100000 when absent; a download: every line of the range.
    #[param(value_type = Option<String>, example = "500")]
    tail: Option<String>,
    /// Lines from this time on (inclusive): RFC 3339 (`2026-11-22T09:05:01Z`,
    /// with an offset or up to nine digits of fraction) or Unix seconds
    /// (`1795338301`, `1795338301.25`).
    since: Option<String>,
    /// Lines up to this time (inclusive), as `since`.
    until: Option<String>,
    /// Only lines containing this (at most 512 characters); searched on the
    /// server through the lines the range and tail select.
    search: Option<String>,
    /// `search` is a regular expression (Rust `regex` syntax), not a text.
    #[param(value_type = Option<bool>)]
    regex: Option<String>,
    /// Match case exactly (it is ignored by default).
    #[param(value_type = Option<bool>)]
    case: Option<String>,
    /// The lines that do not match instead.
    #[param(value_type = Option<bool>)]
    invert: Option<String>,
    /// Only stdout or only stderr.
    #[param(value_type = Option<LogStream>)]
    stream: Option<String>,
}

/// A download's format.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DownloadQuery {
    /// Start each line with its time (RFC 3339, UTC, nanoseconds); true by default.
    #[param(value_type = Option<bool>)]
    timestamps: Option<String>,
}

impl LogsQuery {
    fn parse(&self) -> Result<(LogQuery, LogSearch), ApiError> {
        let query = LogQuery::parse(
            self.tail.as_deref(),
            self.since.as_deref(),
            self.until.as_deref(),
            false,
        )
        .map_err(bad_request)?;
        let search = LogSearch {
            pattern: self.search.clone().unwrap_or_default(),
            regex: flag("regex", self.regex.as_deref())?,
            case_sensitive: flag("case", self.case.as_deref())?,
            invert: flag("invert", self.invert.as_deref())?,
            stream: self
                .stream
                .as_deref()
                .map(LogStream::parse)
                .transpose()
                .map_err(bad_request)?,
        };
        search.validate().map_err(bad_request)?;
        Ok((query, search))
    }
}

/// A container's lines, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/containers/{id}/logs",
    tag = "logs",
    summary = "A container's log lines: a range, its last lines, searched on request (at most 100000)",
    params(
        ("host" = String, Path, description = "the host's name, `local` for the engine beside berth"),
        ("id" = String, Path, description = "a container's id, id prefix (6+) or name"),
        LogsQuery
    ),
    responses((status = 200, description = "the lines, oldest first", body = Vec<LogLine>), Failures)
)]
pub(crate) async fn lines(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, id)): Path<(String, String)>,
    Query(q): Query<LogsQuery>,
) -> Result<Json<Vec<LogLine>>, ApiError> {
    let (query, search) = q.parse()?;
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(host.read_logs(&caller, &id, &query, &search).await?))
}

/// A container's lines as a text file (recorded as `logs.download`).
#[utoipa::path(
    get,
    path = "/api/v1/hosts/{host}/containers/{id}/logs/download",
    tag = "logs",
    summary = "A container's log lines as a text file, `TIME STREAM TEXT` a line (recorded)",
    params(
        ("host" = String, Path, description = "the host's name, `local` for the engine beside berth"),
        ("id" = String, Path, description = "a container's id, id prefix (6+) or name"),
        LogsQuery,
        DownloadQuery
    ),
    responses((status = 200, description = "the file, an attachment", body = String, content_type = "text/plain"), Failures)
)]
pub(crate) async fn download(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((host, id)): Path<(String, String)>,
    Query(q): Query<LogsQuery>,
    Query(format): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let (query, search) = q.parse()?;
    let timestamps = match format.timestamps.as_deref() {
        None => true,
        other => flag("timestamps", other)?,
    };
    let host = state.berth.hosts.get(&host)?;
    let file = host.download_logs(&caller, &id, &query, &search, timestamps).await?;
    let mut resp = Body::from_stream(file.body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
