//! REST under `/api/v1`, for scripts and tests: JSON in and out, errors as
//! `{"error": "..."}` with a fitting status. Signs in with the same session
//! cookie as the pages (API keys come later).

mod resources;
mod stats;

use super::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_core::access::{self, AccessError, Permission};
use berth_core::auth::{AuthError, sign_in};
use berth_core::events::{EventError, ExportFormat, MAX_PAGE};
use berth_core::hosts::{EngineError, HostError};
use berth_core::model::{
    Actor, ChainStatus, Container, ContainerAction, Event, EventFilter, EventPage, EventSeq, HostStatus, NewEvent, User,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use tower_sessions::Session;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout))
        .route("/me", get(me))
        .route("/users", get(users).post(add_user))
        .route("/hosts", get(hosts))
        .route("/hosts/{host}/containers", get(containers).post(create_container))
        .route("/hosts/{host}/containers/{id}/{action}", post(container_action))
        .route("/hosts/{host}/containers/{id}", get(inspect_container))
        .route("/hosts/{host}/containers/{id}/env/{name}/reveal", post(reveal_env))
        .route("/events", get(list))
        .route("/events/export", get(export))
        .route("/events/verify", post(verify))
        .route("/events/{seq}", get(one))
        .merge(resources::routes())
        .merge(stats::routes())
}

pub(crate) struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let status = match e {
            AuthError::BadCredentials => StatusCode::UNAUTHORIZED,
            AuthError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthError::BadSetupToken | AuthError::SetupClosed => StatusCode::FORBIDDEN,
            AuthError::Invalid(_) | AuthError::NameTaken(_) => StatusCode::BAD_REQUEST,
            AuthError::Store(_) | AuthError::Events(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

impl From<EventError> for ApiError {
    fn from(e: EventError) -> Self {
        tracing::error!(error = %e, "event log failed");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Denied(m) => ApiError(StatusCode::FORBIDDEN, m),
            AccessError::Events(e) => e.into(),
        }
    }
}

fn bad_request(e: impl ToString) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, e.to_string())
}

type Source = ConnectInfo<SocketAddr>;

fn ip(source: &Source) -> Option<String> {
    Some(source.0.ip().to_string())
}

async fn caller(state: &AppState, session: &Session) -> Result<User, ApiError> {
    state.berth.auth.session_user(session).await?.ok_or_else(|| {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "sign in first: POST /api/v1/session {\"name\", \"password\"}".into(),
        )
    })
}

async fn allowed(state: &AppState, session: &Session, source: &Source, what: Permission) -> Result<User, ApiError> {
    let user = caller(state, session).await?;
    access::authorize(&state.berth.events, &user, what, ip(source)).await?;
    Ok(user)
}

#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    body: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<User>, ApiError> {
    let Json(c) = body.map_err(|e| bad_request(format!("expected JSON {{\"name\", \"password\"}}: {e}")))?;
    let user = state.berth.auth.login(&c.name, &c.password, ip(&source)).await?;
    sign_in(&session, &user)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(user))
}

async fn logout(State(state): State<AppState>, source: Source, session: Session) -> Result<StatusCode, ApiError> {
    if let Some(user) = state.berth.auth.session_user(&session).await? {
        state.berth.auth.logout(&user, ip(&source)).await?;
    }
    session
        .flush()
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, session: Session) -> Result<Json<User>, ApiError> {
    Ok(Json(caller(&state, &session).await?))
}

async fn users(State(state): State<AppState>, source: Source, session: Session) -> Result<Json<Vec<User>>, ApiError> {
    allowed(&state, &session, &source, Permission::ManageUsers).await?;
    Ok(Json(state.berth.auth.users().await?))
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    password: String,
    #[serde(default)]
    admin: bool,
}

async fn add_user(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let me = allowed(&state, &session, &source, Permission::ManageUsers).await?;
    let Json(new) =
        body.map_err(|e| bad_request(format!("expected JSON {{\"name\", \"password\", \"admin\"}}: {e}")))?;
    let role = if new.admin {
        berth_core::model::Role::Admin
    } else {
        berth_core::model::Role::User
    };
    let user = state
        .berth
        .auth
        .create_user(&new.name, &new.password, role, Actor::user(me.name), ip(&source))
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

impl From<HostError> for ApiError {
    fn from(e: HostError) -> Self {
        let status = match &e {
            HostError::Denied(_) => StatusCode::FORBIDDEN,
            HostError::UnknownHost(_) | HostError::Engine(EngineError::NotFound { .. }) => StatusCode::NOT_FOUND,
            HostError::Engine(EngineError::Unreachable { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            HostError::Engine(EngineError::Engine(_)) => StatusCode::CONFLICT,
            HostError::Invalid(_) => StatusCode::BAD_REQUEST,
            HostError::Events(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

async fn hosts(
    State(state): State<AppState>,
    source: Source,
    session: Session,
) -> Result<Json<Vec<HostStatus>>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewContainers).await?;
    Ok(Json(state.berth.hosts.all().iter().map(|h| h.status()).collect()))
}

#[derive(serde::Serialize)]
struct HostContainers {
    host: HostStatus,
    containers: Vec<Container>,
}

async fn containers(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
) -> Result<Json<HostContainers>, ApiError> {
    allowed(&state, &session, &source, Permission::ViewContainers).await?;
    let host = state.berth.hosts.get(&host)?;
    Ok(Json(HostContainers {
        host: host.status(),
        containers: host.containers().as_ref().clone(),
    }))
}

/// `POST .../containers/{id}/{start|stop|restart|kill|pause|unpause|remove}`
/// with `?timeout=SECONDS` (stop, restart) or `?force=true&volumes=true` (remove).
async fn container_action(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, id, action)): Path<(String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let user = caller(&state, &session).await?;
    let flag = |name: &str| -> Result<bool, ApiError> {
        match params.get(name).map(String::as_str) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(bad_request(format!("{name} must be true or false, not '{other}'"))),
        }
    };
    let timeout_s = match params.get("timeout") {
        None => None,
        Some(t) => Some(
            t.parse::<u32>()
                .ok()
                .filter(|t| *t <= 3600)
                .ok_or_else(|| bad_request("timeout must be a whole number of seconds, at most 3600"))?,
        ),
    };
    let action = match action.as_str() {
        "start" => ContainerAction::Start,
        "stop" => ContainerAction::Stop { timeout_s },
        "restart" => ContainerAction::Restart { timeout_s },
        "kill" => ContainerAction::Kill,
        "pause" => ContainerAction::Pause,
        "unpause" => ContainerAction::Unpause,
        "remove" => ContainerAction::Remove {
            force: flag("force")?,
            volumes: flag("volumes")?,
        },
        other => {
            return Err(bad_request(format!(
                "'{other}' is not an action: use start, stop, restart, kill, pause, unpause or remove"
            )));
        }
    };
    let host = state.berth.hosts.get(&host)?;
    host.act(&user, &id, action, ip(&source)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /hosts/{host}/containers` with a `NewContainer` as JSON; 201 with the id.
async fn create_container(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(host): Path<String>,
    body: Result<Json<berth_core::model::NewContainer>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let user = caller(&state, &session).await?;
    let Json(new) = body.map_err(|e| bad_request(format!("expected a container as JSON: {e}")))?;
    let id = state.berth.hosts.get(&host)?.create(&user, &new, ip(&source)).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

async fn inspect_container(
    State(state): State<AppState>,
    session: Session,
    Path((host, id)): Path<(String, String)>,
) -> Result<Json<berth_core::model::ContainerDetail>, ApiError> {
    let user = caller(&state, &session).await?;
    Ok(Json(state.berth.hosts.get(&host)?.inspect(&user, &id).await?))
}

/// One environment value in clear; recorded as `container.env_reveal`.
async fn reveal_env(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path((host, id, name)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = caller(&state, &session).await?;
    let value = state
        .berth
        .hosts
        .get(&host)?
        .reveal_env(&user, &id, &name, ip(&source))
        .await?;
    Ok(Json(serde_json::json!({ "name": name, "value": value })))
}

fn parse_filter(params: &HashMap<String, String>) -> Result<EventFilter, ApiError> {
    EventFilter::from_fields(|k| params.get(k).map(String::as_str)).map_err(bad_request)
}

async fn list(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<EventPage>, ApiError> {
    allowed(&state, &session, &source, Permission::ReadEvents).await?;
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
    Ok(Json(state.berth.events.query(filter, before, limit as usize).await?))
}

async fn one(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Path(seq): Path<String>,
) -> Result<Json<Event>, ApiError> {
    allowed(&state, &session, &source, Permission::ReadEvents).await?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| bad_request("an event number is a whole number"))?;
    match state.berth.events.get(EventSeq(seq)).await? {
        Some(e) => Ok(Json(e)),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("there is no event {seq}"))),
    }
}

async fn verify(
    State(state): State<AppState>,
    source: Source,
    session: Session,
) -> Result<Json<ChainStatus>, ApiError> {
    let user = allowed(&state, &session, &source, Permission::VerifyEvents).await?;
    let status = state.berth.events.verify().await?;
    let outcome = match &status.problem {
        None => berth_core::model::Outcome::Ok,
        Some(p) => berth_core::model::Outcome::Error(p.clone()),
    };
    state.berth.events.record(
        NewEvent::new("events.verify", Actor::user(user.name))
            .source(ip(&source))
            .outcome(outcome)
            .details(serde_json::json!({ "checked": status.checked })),
    );
    Ok(Json(status))
}

/// Streams the filtered log as JSON lines or CSV, newest first; recorded as
/// `events.export` with the count once it is done.
async fn export(
    State(state): State<AppState>,
    source: Source,
    session: Session,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let user = allowed(&state, &session, &source, Permission::ReadEvents).await?;
    let format_name = params.get("format").map_or("jsonl", String::as_str);
    let format = ExportFormat::parse(format_name)
        .ok_or_else(|| bad_request(format!("format '{format_name}' is not known: use jsonl or csv")))?;
    let filter = parse_filter(&params)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let events = state.berth.events.clone();
    let source = ip(&source);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut chunk = format.header().unwrap_or_default();
        let mut open = true;
        let result = events.export_blocking(&filter, |e| {
            chunk.push_str(&format.line(e));
            if chunk.len() >= 64 * 1024 {
                open = tx.blocking_send(Bytes::from(std::mem::take(&mut chunk))).is_ok();
            }
            open
        });
        let (outcome, count) = match result {
            Ok(n) => (berth_core::model::Outcome::Ok, n),
            Err(e) => (berth_core::model::Outcome::Error(e.to_string()), 0),
        };
        // Recorded before the last chunk goes out: whoever holds the whole
        // file can find its export in the log.
        let details =
            serde_json::json!({ "format": format.extension(), "events": count, "filter": filter.to_fields() });
        let event = NewEvent::new("events.export", Actor::user(user.name))
            .source(source)
            .outcome(outcome)
            .details(details);
        if let Err(e) = runtime.block_on(events.append(event)) {
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
