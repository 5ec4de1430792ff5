//! Users and their grants (admins), and each caller's own password,
//! sessions and API keys. Core decides and records every call.

use super::{ApiError, AppState, Authed, Failures, Page, PageQuery, Path, Query, body};
use axum::extract::State;
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    name: String,
    password: String,
    /// admin or user (the default).
    #[serde(default)]
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// Older form of `role`.
    #[serde(default)]
    admin: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Add a user (admins)",
    request_body = NewUser,
    responses((status = 201, description = "the new user", body = User), Failures)
)]
pub(crate) async fn add_user(
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

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "A user with their grants and keys (admins)",
    params(("id" = u64, Path, description = "a user's id")),
    responses((status = 200, description = "the user", body = UserDetail), Failures)
)]
pub(crate) async fn user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>, ApiError> {
    Ok(Json(state.berth.auth.user_detail(&caller, user_id(&id)?).await?))
}

/// `{"disabled": true}` or `{"role": "admin"}` (one change per call).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChange {
    disabled: Option<bool>,
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Disable, enable or change the role of a user (admins)",
    params(("id" = u64, Path, description = "a user's id")),
    request_body = UserChange,
    responses((status = 200, description = "the user", body = User), Failures)
)]
pub(crate) async fn change_user(
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

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Delete a user; their events stay (admins)",
    params(("id" = u64, Path, description = "a user's id")),
    responses((status = 204, description = "deleted"), Failures)
)]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.berth.auth.delete_user(&caller, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password",
    tag = "users",
    summary = "Set another user's password (admins)",
    params(("id" = u64, Path, description = "a user's id")),
    request_body = NewPassword,
    responses((status = 204, description = "set"), Failures)
)]
pub(crate) async fn reset_password(
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

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/grants",
    tag = "users",
    summary = "A user's grants (admins)",
    params(("id" = u64, Path, description = "a user's id")),
    responses((status = 200, description = "the grants", body = Vec<Grant>), Failures)
)]
pub(crate) async fn grants(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<Vec<Grant>>, ApiError> {
    Ok(Json(state.berth.auth.user_detail(&caller, user_id(&id)?).await?.grants))
}

/// The whole list of the user's grants, replacing the old one.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/grants",
    tag = "users",
    summary = "Replace a user's grants (admins)",
    params(("id" = u64, Path, description = "a user's id")),
    request_body = Vec<Grant>,
    responses((status = 200, description = "the grants as stored", body = Vec<Grant>), Failures)
)]
pub(crate) async fn set_grants(
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current: String,
    password: String,
}

/// The caller's own password; their other sessions end.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "you",
    summary = "Change your password; your other sessions end",
    request_body = PasswordChange,
    responses((status = 204, description = "changed"), Failures)
)]
pub(crate) async fn change_password(
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

#[utoipa::path(
    get,
    path = "/api/v1/me/sessions",
    tag = "you",
    summary = "Your sessions",
    params(PageQuery),
    responses((status = 200, description = "a page of sessions", body = Page<SessionInfo>), Failures)
)]
pub(crate) async fn sessions(
    State(state): State<AppState>,
    Authed(caller): Authed,
    session: Session,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<SessionInfo>>, ApiError> {
    let current = session.id().map(|id| id.0);
    let all = state.berth.auth.sessions(&caller, current).await?;
    Ok(Json(page.page(all, |s| s.handle.clone())?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions/{handle}",
    tag = "you",
    summary = "End one of your sessions",
    params(("handle" = String, Path, description = "the session's handle")),
    responses((status = 204, description = "ended"), Failures)
)]
pub(crate) async fn end_session(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(handle): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.berth.auth.end_session(&caller, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "my_keys",
    path = "/api/v1/me/keys",
    tag = "you",
    summary = "Your API keys",
    params(PageQuery),
    responses((status = 200, description = "a page of keys", body = Page<ApiKeyInfo>), Failures)
)]
pub(crate) async fn keys(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<ApiKeyInfo>>, ApiError> {
    let all = state.berth.auth.keys(&caller).await?;
    Ok(Json(page.page(all, |k| k.id.clone())?))
}

/// A new key for the caller: the token is in this answer only.
#[utoipa::path(
    post,
    path = "/api/v1/me/keys",
    tag = "you",
    summary = "Create an API key; the token is in this answer only",
    request_body = NewApiKey,
    responses((status = 201, description = "the key and its token", body = CreatedApiKey), Failures)
)]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    Authed(caller): Authed,
    new: JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let new = body(new, "{\"name\", \"expires_days\", \"grants\"}")?;
    let created = state.berth.auth.create_key(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a key at once (the caller's own; admins any).
#[utoipa::path(
    delete,
    path = "/api/v1/me/keys/{id}",
    tag = "you",
    summary = "Revoke an API key at once (yours; admins any)",
    params(("id" = String, Path, description = "the key's id")),
    responses((status = 200, description = "the revoked key", body = ApiKeyInfo), Failures)
)]
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyInfo>, ApiError> {
    Ok(Json(state.berth.auth.revoke_key(&caller, &id).await?))
}
