//! The permission model: what a signed-in user may do. Every operation asks
//! here, in core; the UI only hides what this would refuse anyway. A refusal
//! is recorded as an `access.denied` event by `authorize`.
//!
//! Today there are two roles: admins may do everything; other users may
//! do nothing yet. Per-host grants (view < operate < manage, plus the logs,
//! terminal and secrets capabilities) arrive with hosts.

use crate::events::{EventError, EventLog};
use crate::model::{Actor, NewEvent, Outcome, User};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read, filter, follow and export the event log.
    ReadEvents,
    /// Walk the hash chain on demand.
    VerifyEvents,
    /// Create and list users.
    ManageUsers,
    /// See a host's containers.
    ViewContainers,
    /// Start, stop, restart, kill, pause, unpause and remove containers.
    OperateContainers,
    /// See environment values and other secrets in clear.
    RevealSecrets,
    /// See a host's images, networks and volumes.
    ViewResources,
    /// Remove and prune images, networks and volumes.
    ManageResources,
    /// See host and container statistics and their history.
    ViewStats,
    /// Set or clear the state a container is expected to be in.
    SetExpectedState,
}

impl Permission {
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ReadEvents => "read the event log",
            Permission::VerifyEvents => "verify the event log",
            Permission::ManageUsers => "manage users",
            Permission::ViewContainers => "see containers",
            Permission::OperateContainers => "operate containers",
            Permission::RevealSecrets => "reveal secrets",
            Permission::ViewResources => "see images, networks and volumes",
            Permission::ManageResources => "remove images, networks and volumes",
            Permission::ViewStats => "see statistics",
            Permission::SetExpectedState => "set expected container states",
        }
    }
}

#[derive(Debug, Error)]
pub enum AccessError {
    #[error("{0}")]
    Denied(String),
    #[error(transparent)]
    Events(#[from] EventError),
}

/// Whether `user` may do `what`, without recording anything.
pub fn allows(user: &User, what: Permission) -> bool {
    match what {
        // Per-host grants will widen these for non-admins.
        Permission::ReadEvents
        | Permission::VerifyEvents
        | Permission::ManageUsers
        | Permission::ViewContainers
        | Permission::OperateContainers
        | Permission::RevealSecrets
        | Permission::ViewResources
        | Permission::ManageResources
        | Permission::ViewStats
        | Permission::SetExpectedState => user.is_admin(),
    }
}

/// Checks `what` for `user`; a refusal is recorded, then returned.
pub async fn authorize(
    events: &EventLog,
    user: &User,
    what: Permission,
    source: Option<String>,
) -> Result<(), AccessError> {
    if allows(user, what) {
        return Ok(());
    }
    let message = format!("{} may not {}: that needs the admin role", user.name, what.describe());
    let event = NewEvent::new("access.denied", Actor::user(user.name.clone()))
        .source(source)
        .outcome(Outcome::Denied(message.clone()))
        .details(serde_json::json!({ "permission": what.describe() }));
    events.append(event).await?;
    Err(AccessError::Denied(message))
}
