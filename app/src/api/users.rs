//! The user server functions that are not generated from `model::ops`
//! (`api::ops` has the others: `get_user`, `change_user`, `set_grants`,
//! `my_keys`, `create_key`...): the list of every user, which REST pages by
//! the numeric id and so writes by hand, and the form adapters that
//! `ActionForm`s post to, each turning its form into the request.

use crate::error::AppError;
use berth_core::model::User;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure, resolve};
#[cfg(feature = "ssr")]
use berth_core::model::{UserId, ops as req};

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let (berth, caller) = caller().await?;
    berth.auth.users(&caller).await.map_err(failure)
}

/// The add-user form: an `admin` checkbox, ticked or absent.
#[server(endpoint = "add_user_form")]
pub async fn add_user_form(name: String, password: String, admin: Option<String>) -> Result<User, AppError> {
    resolve(req::AddUser {
        name,
        password,
        role: None,
        admin: admin.is_some(),
    })
    .await
}

/// The reset-password form on a user's page.
#[server(endpoint = "reset_password_form")]
pub async fn reset_password_form(id: u64, password: String) -> Result<(), AppError> {
    resolve(req::ResetPassword {
        id: UserId(id),
        password,
    })
    .await
}

/// The account page's password form: the new password typed twice.
#[server(endpoint = "change_password_form")]
pub async fn change_password_form(current: String, password: String, confirm: String) -> Result<(), AppError> {
    if password != confirm {
        return Err(fail(AppError::invalid(
            "the two new passwords differ; type the same one twice",
        )));
    }
    resolve(req::ChangePassword { current, password }).await
}
