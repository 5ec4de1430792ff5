//! Users and their grants (admins), and each caller's own password,
//! sessions and API keys. Not here: the list of every user, paged by its
//! numeric id (`server::http::rest::users`), and signing in and out, which
//! set the session cookie.
//!
//! The requests holding a password print it as `…` (`Debug`).

use super::{Body, Method, Request, Route};
use crate::model::{
    ApiKeyInfo, CreatedApiKey, Grant, NewApiKey, Operation, Role, SessionInfo, User, UserDetail, UserId,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Add a user (admins).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddUser {
    pub name: String,
    pub password: String,
    /// admin or user (the default).
    #[serde(default)]
    pub role: Option<Role>,
    /// Older form of `role`.
    #[serde(default)]
    pub admin: bool,
}

impl fmt::Debug for AddUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddUser")
            .field("name", &self.name)
            .field("password", &"…")
            .field("role", &self.role)
            .field("admin", &self.admin)
            .finish()
    }
}

impl AddUser {
    /// The role asked for: `role`, else admin when `admin`, else user.
    pub fn role(&self) -> Role {
        match (self.role, self.admin) {
            (Some(role), _) => role,
            (None, true) => Role::Admin,
            (None, false) => Role::User,
        }
    }
}

impl Request for AddUser {
    type Response = User;
    const ROUTE: Route = Route::new("add_user", Method::Post, "/users", "users", "Add a user (admins)")
        .status(201)
        .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::CreateUser
    }
}

/// A user with their grants and keys (admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetUser {
    /// A user's id.
    pub id: UserId,
}

impl Request for GetUser {
    type Response = UserDetail;
    const ROUTE: Route = Route::new(
        "get_user",
        Method::Get,
        "/users/{id}",
        "users",
        "A user with their grants and keys (admins)",
    );
    fn operation(&self) -> Operation {
        Operation::ListUsers
    }
}

/// `{"disabled": true}` or `{"role": "admin"}` (one change per call).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeUser {
    /// A user's id.
    pub id: UserId,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub role: Option<Role>,
}

/// The one change a `ChangeUser` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserChange {
    Disabled(bool),
    Role(Role),
}

impl ChangeUser {
    /// The change, or why there is not exactly one.
    pub fn change(&self) -> Result<UserChange, String> {
        match (self.disabled, self.role) {
            (Some(d), None) => Ok(UserChange::Disabled(d)),
            (None, Some(r)) => Ok(UserChange::Role(r)),
            _ => Err("send one change: {\"disabled\": true | false} or {\"role\": \"admin\" | \"user\"}".into()),
        }
    }
}

impl Request for ChangeUser {
    type Response = User;
    const ROUTE: Route = Route::new(
        "change_user",
        Method::Patch,
        "/users/{id}",
        "users",
        "Disable, enable or change the role of a user (admins)",
    )
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        match self.change() {
            Ok(UserChange::Disabled(true)) => Operation::DisableUser,
            Ok(UserChange::Disabled(false)) => Operation::EnableUser,
            Ok(UserChange::Role(_)) | Err(_) => Operation::SetRole,
        }
    }
}

/// Delete a user; their events stay (admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteUser {
    /// A user's id.
    pub id: UserId,
}

impl Request for DeleteUser {
    type Response = ();
    const ROUTE: Route = Route::new(
        "delete_user",
        Method::Delete,
        "/users/{id}",
        "users",
        "Delete a user; their events stay (admins)",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::DeleteUser
    }
}

/// Set another user's password (admins); their sessions end.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// A user's id.
    pub id: UserId,
    pub password: String,
}

impl fmt::Debug for ResetPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResetPassword")
            .field("id", &self.id)
            .field("password", &"…")
            .finish()
    }
}

impl Request for ResetPassword {
    type Response = ();
    const ROUTE: Route = Route::new(
        "reset_password",
        Method::Post,
        "/users/{id}/password",
        "users",
        "Set another user's password (admins)",
    )
    .status(204)
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::ResetPassword
    }
}

/// A user's grants (admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetGrants {
    /// A user's id.
    pub id: UserId,
}

impl Request for GetGrants {
    type Response = Vec<Grant>;
    const ROUTE: Route = Route::new(
        "get_grants",
        Method::Get,
        "/users/{id}/grants",
        "users",
        "A user's grants (admins)",
    );
    fn operation(&self) -> Operation {
        Operation::ListUsers
    }
}

/// The whole list of the user's grants, replacing the old one; answers
/// with the grants as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetGrants {
    /// A user's id.
    pub id: UserId,
    /// The whole body: every grant of the user.
    pub grants: Vec<Grant>,
}

impl Request for SetGrants {
    type Response = Vec<Grant>;
    const ROUTE: Route = Route::new(
        "set_grants",
        Method::Put,
        "/users/{id}/grants",
        "users",
        "Replace a user's grants (admins)",
    )
    .body(Body::Whole("grants"));
    fn operation(&self) -> Operation {
        Operation::SetGrants
    }
}

/// The caller's own password, given the current one; their other sessions
/// end.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current: String,
    pub password: String,
}

impl fmt::Debug for ChangePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangePassword")
            .field("current", &"…")
            .field("password", &"…")
            .finish()
    }
}

impl Request for ChangePassword {
    type Response = ();
    const ROUTE: Route = Route::new(
        "change_password",
        Method::Put,
        "/me/password",
        "you",
        "Change your password; your other sessions end",
    )
    .status(204)
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::ChangeOwnPassword
    }
}

/// Where the caller is signed in; `current` marks the session asking.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MySessions {}

impl Request for MySessions {
    type Response = Vec<SessionInfo>;
    const ROUTE: Route =
        Route::new("my_sessions", Method::Get, "/me/sessions", "you", "Your sessions").paged_by("handle");
    fn operation(&self) -> Operation {
        Operation::ListOwnSessions
    }
}

/// End one of the caller's own sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndSession {
    /// The session's handle.
    pub handle: String,
}

impl Request for EndSession {
    type Response = ();
    const ROUTE: Route = Route::new(
        "end_session",
        Method::Delete,
        "/me/sessions/{handle}",
        "you",
        "End one of your sessions",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::EndOwnSession
    }
}

/// The caller's own API keys, revoked and expired ones too.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyKeys {}

impl Request for MyKeys {
    type Response = Vec<ApiKeyInfo>;
    const ROUTE: Route = Route::new("my_keys", Method::Get, "/me/keys", "you", "Your API keys").paged_by("id");
    fn operation(&self) -> Operation {
        Operation::ListOwnKeys
    }
}

/// A new key for the caller: the token is in this answer only. Its grants
/// may not be wider than the caller's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateKey {
    /// The whole body.
    pub key: NewApiKey,
}

impl Request for CreateKey {
    type Response = CreatedApiKey;
    const ROUTE: Route = Route::new(
        "create_key",
        Method::Post,
        "/me/keys",
        "you",
        "Create an API key; the token is in this answer only",
    )
    .status(201)
    .body(Body::Whole("key"));
    fn operation(&self) -> Operation {
        Operation::CreateKey
    }
}

/// Revokes a key at once (the caller's own; admins any).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeKey {
    /// The key's id.
    pub id: String,
}

impl Request for RevokeKey {
    type Response = ApiKeyInfo;
    const ROUTE: Route = Route::new(
        "revoke_key",
        Method::Delete,
        "/me/keys/{id}",
        "you",
        "Revoke an API key at once (yours; admins any)",
    );
    fn operation(&self) -> Operation {
        Operation::RevokeKey
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_exactly_one_change() {
        let change = |disabled, role| ChangeUser {
            id: UserId(1),
            disabled,
            role,
        };
        assert_eq!(change(Some(true), None).change(), Ok(UserChange::Disabled(true)));
        assert_eq!(change(Some(true), None).operation(), Operation::DisableUser);
        assert_eq!(change(Some(false), None).operation(), Operation::EnableUser);
        assert_eq!(change(None, Some(Role::Admin)).operation(), Operation::SetRole);
        assert!(change(None, None).change().is_err());
        assert!(change(Some(true), Some(Role::User)).change().is_err());
    }

    #[test]
    fn role_is_read_from_role_then_the_older_flag() {
        let add = |role, admin| AddUser {
            name: "dora".into(),
            password: "a long password".into(),
            role,
            admin,
        };
        assert_eq!(add(None, false).role(), Role::User);
        assert_eq!(add(None, true).role(), Role::Admin);
        assert_eq!(add(Some(Role::User), true).role(), Role::User);
        assert!(
            !format!("{:?}", add(None, false)).contains("long"),
            "a password was printed"
        );
    }
}
