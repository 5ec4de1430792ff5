//! Users, sessions and API keys as the UI and API see them: never with a
//! password hash, a session id or a key's secret.

use super::{Grant, Permissions, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users and hosts.
    Admin,
    /// Only what per-host grants allow.
    User,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Admin, Role::User];

    /// The role's one name: on the wire, in forms, pages and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// Unix time in nanoseconds.
    pub created_ns: i64,
    /// A disabled user cannot sign in; their sessions and keys stop working.
    #[serde(default)]
    pub disabled: bool,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The signed-in caller as the pages see it: who, and what they may do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub user: User,
    pub permissions: Permissions,
}

/// One user with their grants and API keys, for an admin's user page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDetail {
    pub user: User,
    pub grants: Vec<Grant>,
    pub keys: Vec<ApiKeyInfo>,
}

/// An API key as listed: never its secret (stored only as a hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    /// Public part of the key (`berth_<id>_<secret>`).
    pub id: String,
    pub name: String,
    pub owner: UserId,
    pub owner_name: String,
    pub created_ns: i64,
    /// Unix ns after which it stops working.
    pub expires_ns: Option<i64>,
    /// Narrower grants than the owner's, if any (never wider).
    pub grants: Option<Vec<Grant>>,
    pub last_used_ns: Option<i64>,
    pub last_used_from: Option<String>,
    pub revoked_ns: Option<i64>,
}

impl ApiKeyInfo {
    pub fn active(&self, now_ns: i64) -> bool {
        self.revoked_ns.is_none() && self.expires_ns.is_none_or(|e| e > now_ns)
    }
}

/// What a person asks for when creating a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    pub name: String,
    /// Days until it expires; none for a key that does not expire.
    #[serde(default)]
    pub expires_days: Option<u32>,
    /// Narrower grants; none for the owner's own.
    #[serde(default)]
    pub grants: Option<Vec<Grant>>,
}

/// A new key: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    pub key: ApiKeyInfo,
    /// The bearer token; store it now, berth keeps only its hash.
    pub token: String,
}

/// One signed-in session of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// A handle to end it by (not the session's secret id).
    pub handle: String,
    pub signed_in_ns: Option<i64>,
    pub source: Option<String>,
    /// Unix seconds when it expires unless used.
    pub expires: i64,
    /// The session this request came with.
    pub current: bool,
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn a_role_has_one_name_on_the_wire_and_everywhere_else() {
        for role in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
