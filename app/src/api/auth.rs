//! Signing in and out, and the first admin's setup.

use crate::error::AppError;
use berth_core::model::Account;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{berth, current_caller, fail, failure, session, source};

/// The signed-in user and what they may do, or `None`.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<Account>, AppError> {
    Ok(current_caller().await?.and_then(|c| berth_core::auth::Auth::me(&c)))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetupStatus {
    /// No user exists yet.
    pub open: bool,
}

#[server(endpoint = "setup_info")]
pub async fn setup_info() -> Result<SetupStatus, AppError> {
    let berth = berth()?;
    let users = berth.auth.user_count().await.map_err(failure)?;
    Ok(SetupStatus { open: users == 0 })
}

#[cfg(feature = "ssr")]
async fn sign_in(user: &berth_core::model::User) -> Result<(), AppError> {
    let session = session().await?;
    berth_core::auth::sign_in(&session, user, source().await)
        .await
        .map_err(|e| fail(AppError::new(berth_core::ErrorKind::Internal, e.to_string())))
}

#[server(endpoint = "login")]
pub async fn login(name: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let berth = berth()?;
    let user = berth
        .auth
        .login(&name, &password, source().await)
        .await
        .map_err(failure)?;
    sign_in(&user).await?;
    leptos_axum::redirect(&super::ssr::safe_next(next.as_deref()));
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let berth = berth()?;
    if let Some(caller) = current_caller().await? {
        berth.auth.logout(&caller).await.map_err(failure)?;
    }
    let session = session().await?;
    session
        .flush()
        .await
        .map_err(|e| fail(AppError::new(berth_core::ErrorKind::Internal, e.to_string())))?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Creates the first admin from the one-time setup link, then signs them in.
#[server(endpoint = "setup")]
pub async fn setup(token: String, name: String, password: String, confirm: String) -> Result<(), AppError> {
    if password != confirm {
        return Err(fail(AppError::invalid(
            "the two passwords differ; type the same one twice",
        )));
    }
    let berth = berth()?;
    let user = berth
        .auth
        .setup(&token, &name, &password, source().await)
        .await
        .map_err(failure)?;
    sign_in(&user).await?;
    leptos_axum::redirect("/");
    Ok(())
}
