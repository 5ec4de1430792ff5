//! Users: the list, and adding one (admins only; recorded as `user.create`).

use crate::error::AppError;
use berth_core::model::User;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{auth_error, authorized, source};
#[cfg(feature = "ssr")]
use berth_core::access::Permission;

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let (berth, _) = authorized(Permission::ManageUsers).await?;
    berth.auth.users().await.map_err(auth_error)
}

#[server(endpoint = "add_user")]
pub async fn add_user(name: String, password: String, admin: Option<String>) -> Result<User, AppError> {
    use berth_core::model::{Actor, Role};
    let (berth, me) = authorized(Permission::ManageUsers).await?;
    let role = if admin.is_some() { Role::Admin } else { Role::User };
    berth
        .auth
        .create_user(&name, &password, role, Actor::user(me.name), source().await)
        .await
        .map_err(auth_error)
}
