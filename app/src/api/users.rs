//! Users and grants (admins), and each user's own password, sessions and
//! API keys. Core decides and records every call.

use crate::error::AppError;
use berth_core::model::{ApiKeyInfo, CreatedApiKey, Grant, NewApiKey, SessionInfo, User, UserDetail};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

#[cfg(feature = "ssr")]
fn role(admin: bool) -> berth_core::model::Role {
    if admin {
        berth_core::model::Role::Admin
    } else {
        berth_core::model::Role::User
    }
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let (berth, caller) = caller().await?;
    berth.auth.users(&caller).await.map_err(failure)
}

#[server(endpoint = "add_user")]
pub async fn add_user(name: String, password: String, admin: Option<String>) -> Result<User, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .auth
        .create_user(&caller, &name, &password, role(admin.is_some()))
        .await
        .map_err(failure)
}

#[server(endpoint = "get_user")]
pub async fn get_user(id: u64) -> Result<UserDetail, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .auth
        .user_detail(&caller, berth_core::model::UserId(id))
        .await
        .map_err(failure)
}

/// `change` is disable, enable, admin (make admin) or user (make a plain user).
#[server(endpoint = "change_user")]
pub async fn change_user(id: u64, change: String) -> Result<User, AppError> {
    let (berth, caller) = caller().await?;
    let id = berth_core::model::UserId(id);
    match change.as_str() {
        "disable" => berth.auth.set_disabled(&caller, id, true).await,
        "enable" => berth.auth.set_disabled(&caller, id, false).await,
        "admin" => berth.auth.set_role(&caller, id, role(true)).await,
        "user" => berth.auth.set_role(&caller, id, role(false)).await,
        _ => return Err(fail(AppError::invalid("the change is disable, enable, admin or user"))),
    }
    .map_err(failure)
}

#[server(endpoint = "delete_user")]
pub async fn delete_user(id: u64) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth
        .auth
        .delete_user(&caller, berth_core::model::UserId(id))
        .await
        .map_err(failure)
}

#[server(endpoint = "reset_password")]
pub async fn reset_password(id: u64, password: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth
        .auth
        .reset_password(&caller, berth_core::model::UserId(id), &password)
        .await
        .map_err(failure)
}

#[server(endpoint = "set_grants", input = leptos::server_fn::codec::Json)]
pub async fn set_grants(id: u64, grants: Vec<Grant>) -> Result<Vec<Grant>, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .auth
        .set_grants(&caller, berth_core::model::UserId(id), grants)
        .await
        .map_err(failure)
}

/// The caller's own password; their other sessions end.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, password: String, confirm: String) -> Result<(), AppError> {
    if password != confirm {
        return Err(fail(AppError::invalid(
            "the two new passwords differ; type the same one twice",
        )));
    }
    let (berth, caller) = caller().await?;
    let keep = super::ssr::session().await?.id().map(|id| id.0);
    berth
        .auth
        .change_password(&caller, &current, &password, keep)
        .await
        .map_err(failure)
}

#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let (berth, caller) = caller().await?;
    let current = super::ssr::session().await?.id().map(|id| id.0);
    berth.auth.sessions(&caller, current).await.map_err(failure)
}

#[server(endpoint = "end_session")]
pub async fn end_session(handle: String) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth.auth.end_session(&caller, &handle).await.map_err(failure)
}

#[server(endpoint = "my_keys")]
pub async fn my_keys() -> Result<Vec<ApiKeyInfo>, AppError> {
    let (berth, caller) = caller().await?;
    berth.auth.keys(&caller).await.map_err(failure)
}

#[server(endpoint = "create_key", input = leptos::server_fn::codec::Json)]
pub async fn create_key(key: NewApiKey) -> Result<CreatedApiKey, AppError> {
    let (berth, caller) = caller().await?;
    berth.auth.create_key(&caller, key).await.map_err(failure)
}

#[server(endpoint = "revoke_key")]
pub async fn revoke_key(id: String) -> Result<ApiKeyInfo, AppError> {
    let (berth, caller) = caller().await?;
    berth.auth.revoke_key(&caller, &id).await.map_err(failure)
}
