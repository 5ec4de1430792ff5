//! Users and their grants (admins), and each caller's own password,
//! sessions and API keys. Core decides and records every call.

use super::{ApiError, AppState, Authed, Page, PageQuery, body};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use berth_core::model::{ApiKeyInfo, CreatedApiKey, Grant, NewApiKey, Role, SessionInfo, User, UserDetail, UserId};
use serde::Deserialize;
use tower_sessions::Session;

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users).post(add_user))
        .route("/users/{id}", get(user).patch(change_user).delete(delete_user))
        .route("/users/{id}/password", post(reset_password))
        .route("/users/{id}/grants", get(grants).put(set_grants))
        .route("/me/password", put(change_password))
        .route("/me/sessions", get(sessions))
        .route("/me/sessions/{handle}", delete(end_session))
        .route("/me/keys", get(keys).post(create_key))
        .route("/me/keys/{id}", delete(revoke_key))
}

fn user_id(text: &str) -> Result<UserId, ApiError> {
    text.parse()
        .map(UserId)
        .map_err(|_| super::bad_request("a user id is a whole number"))
}

fn role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| super::bad_request("role must be admin or user"))
}

async fn users(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let all = state.berth.auth.users(&caller).await?;
    Ok(Json(page.page(all, |u| format!("{:020}", u.id.0))?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    password: String,
    /// admin or user (the default).
    #[serde(default)]
    role: Option<String>,
    /// Older form of `role`.
    #[serde(default)]
    admin: bool,
}

async fn add_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    new: JsonBody<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let new = body(new, "{\"name\", \"password\", \"role\": \"admin\" | \"user\"}")?;
    let role = match (new.role.as_deref(), new.admin) {
        (Some(r), _) => role(r)?,
        (None, true) => Role::Admin,
        (None, false) => Role::User,
    };
    let user = state
        .berth
        .auth
        .create_user(&caller, &new.name, &new.password, role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>, ApiError> {
    Ok(Json(state.berth.auth.user_detail(&caller, user_id(&id)?).await?))
}

/// `{"disabled": true}` or `{"role": "admin"}` (one change per call).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    disabled: Option<bool>,
    role: Option<String>,
}

async fn change_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    change: JsonBody<UserChange>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    let auth = &state.berth.auth;
    let user = match body(
        change,
        "{\"disabled\": true | false} or {\"role\": \"admin\" | \"user\"}",
    )? {
        UserChange {
            disabled: Some(d),
            role: None,
        } => auth.set_disabled(&caller, id, d).await?,
        UserChange {
            disabled: None,
            role: Some(r),
        } => auth.set_role(&caller, id, role(&r)?).await?,
        _ => {
            return Err(super::bad_request(
                "send one change: {\"disabled\": …} or {\"role\": …}",
            ));
        }
    };
    Ok(Json(user))
}

async fn delete_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.berth.auth.delete_user(&caller, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    new: JsonBody<NewPassword>,
) -> Result<StatusCode, ApiError> {
    let new = body(new, "{\"password\"}")?;
    state
        .berth
        .auth
        .reset_password(&caller, user_id(&id)?, &new.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn grants(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<Vec<Grant>>, ApiError> {
    Ok(Json(state.berth.auth.user_detail(&caller, user_id(&id)?).await?.grants))
}

/// The whole list of the user's grants, replacing the old one.
async fn set_grants(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    grants: JsonBody<Vec<Grant>>,
) -> Result<Json<Vec<Grant>>, ApiError> {
    let grants = body(
        grants,
        "[{\"host\": \"local\" | \"*\", \"level\": \"none\" | \"view\" | \"operate\" | \"manage\", \"logs\", \"terminal\", \"secrets\"}]",
    )?;
    Ok(Json(state.berth.auth.set_grants(&caller, user_id(&id)?, grants).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current: String,
    password: String,
}

/// The caller's own password; their other sessions end.
async fn change_password(
    State(state): State<AppState>,
    Authed(caller): Authed,
    session: Session,
    change: JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let change = body(change, "{\"current\", \"password\"}")?;
    let keep = session.id().map(|id| id.0);
    state
        .berth
        .auth
        .change_password(&caller, &change.current, &change.password, keep)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(
    State(state): State<AppState>,
    Authed(caller): Authed,
    session: Session,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<SessionInfo>>, ApiError> {
    let current = session.id().map(|id| id.0);
    let all = state.berth.auth.sessions(&caller, current).await?;
    Ok(Json(page.page(all, |s| s.handle.clone())?))
}

async fn end_session(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(handle): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.berth.auth.end_session(&caller, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn keys(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<ApiKeyInfo>>, ApiError> {
    let all = state.berth.auth.keys(&caller).await?;
    Ok(Json(page.page(all, |k| k.id.clone())?))
}

/// A new key for the caller: the token is in this answer only.
async fn create_key(
    State(state): State<AppState>,
    Authed(caller): Authed,
    new: JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let new = body(new, "{\"name\", \"expires_days\", \"grants\"}")?;
    let created = state.berth.auth.create_key(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a key at once (the caller's own; admins any).
async fn revoke_key(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyInfo>, ApiError> {
    Ok(Json(state.berth.auth.revoke_key(&caller, &id).await?))
}
