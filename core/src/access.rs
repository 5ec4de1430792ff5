//! The one access decision. Every core operation takes a `Caller` (a
//! session's user, an API key and its owner, or the system) and asks
//! `check` with the `Operation` and its `Scope`; `check` alone allows or
//! refuses, and records each refusal exactly once, as an event of the
//! operation's kind with outcome `denied`, whatever the entry point (page,
//! REST, websocket, CLI). What each operation needs is data in
//! `model::access`, shared with the browser so it hides what core refuses.
//!
//! Who a caller is (sessions, keys, passwords) is `auth`'s business.

use crate::events::{EventError, EventLog};
use crate::model::{
    Actor, ActorKind, ApiKeyInfo, ErrorKind, Event, Grant, Need, NewEvent, Operation, Outcome, Permissions, User,
};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AccessError {
    #[error("{0}")]
    Denied(String),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for AccessError {
    fn kind(&self) -> ErrorKind {
        match self {
            AccessError::Denied(_) => ErrorKind::Denied,
            AccessError::Events(e) => crate::Failure::kind(e),
        }
    }
}

/// Who is asking.
#[derive(Clone, Debug)]
pub enum Who {
    /// A person signed in with a session.
    User(User),
    /// A script with an API key, acting for its owner.
    Key { id: String, name: String, owner: User },
    /// berth itself (start-up; `cli` for the command line while the server is stopped).
    System(String),
}

fn permissions_of(user: &User, grants: Vec<Grant>) -> Permissions {
    if user.is_admin() {
        Permissions::admin()
    } else {
        Permissions::of(grants)
    }
}

/// A caller with its effective permissions and the address it came from.
#[derive(Clone, Debug)]
pub struct Caller {
    who: Who,
    source: Option<String>,
    permissions: Arc<Permissions>,
    session: Option<SessionRef>,
}

/// The session a caller signed in with, by the session store's id. That id
/// is the cookie's value, a secret: `Debug` does not show it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SessionRef(i128);

impl std::fmt::Debug for SessionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionRef(…)")
    }
}

impl Caller {
    /// A signed-in user: admins may do everything, others what `grants` say.
    pub fn signed_in(user: User, grants: Vec<Grant>, source: Option<String>) -> Caller {
        Caller {
            permissions: Arc::new(permissions_of(&user, grants)),
            who: Who::User(user),
            source,
            session: None,
        }
    }

    /// An API key of `owner` (who holds `grants`): the owner's permissions,
    /// narrowed by the key's own grants when it has some.
    pub fn key(key: &ApiKeyInfo, owner: User, grants: Vec<Grant>, source: Option<String>) -> Caller {
        let of_owner = permissions_of(&owner, grants);
        let permissions = match &key.grants {
            Some(narrow) => of_owner.narrowed(narrow),
            None => of_owner,
        };
        Caller {
            who: Who::Key {
                id: key.id.clone(),
                name: key.name.clone(),
                owner,
            },
            source,
            permissions: Arc::new(permissions),
            session: None,
        }
    }

    /// berth itself, under a name for the record (`cli`), or none.
    pub fn system(name: &str) -> Caller {
        Caller {
            who: Who::System(name.to_string()),
            source: None,
            permissions: Arc::new(Permissions::admin()),
            session: None,
        }
    }

    pub fn who(&self) -> &Who {
        &self.who
    }

    /// The user behind the caller: the session's user or the key's owner.
    pub fn user(&self) -> Option<&User> {
        match &self.who {
            Who::User(u) | Who::Key { owner: u, .. } => Some(u),
            Who::System(_) => None,
        }
    }

    /// The API key's id, when the caller is one.
    pub fn key_id(&self) -> Option<&str> {
        match &self.who {
            Who::Key { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn source(&self) -> Option<String> {
        self.source.clone()
    }

    /// The same caller, come with the session whose store id is `id`.
    pub fn in_session(mut self, id: Option<i128>) -> Caller {
        self.session = id.map(SessionRef);
        self
    }

    /// The store id of the session the caller came with (none for keys and
    /// berth itself): the session a password change keeps, and the one
    /// the caller's list of sessions marks as theirs.
    pub fn session(&self) -> Option<i128> {
        self.session.map(|s| s.0)
    }

    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// How the caller appears in events: `user:alice`, `apikey:alice/ci`, `system`.
    pub fn actor(&self) -> Actor {
        match &self.who {
            Who::User(u) => Actor::user(u.name.clone()),
            Who::Key { name, owner, .. } => Actor {
                kind: ActorKind::ApiKey,
                name: format!("{}/{}", owner.name, name),
            },
            Who::System(name) => Actor {
                kind: ActorKind::System,
                name: name.clone(),
            },
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> String {
        match &self.who {
            Who::User(u) => u.name.clone(),
            Who::Key { name, owner, .. } => format!("{}'s key '{}'", owner.name, name),
            Who::System(_) => "berth".into(),
        }
    }

    /// Whether `op` would be allowed on `host`, recording nothing (to hide
    /// what would be refused).
    pub fn may(&self, op: Operation, host: Option<&str>) -> bool {
        self.permissions.allows(op, host)
    }

    /// Whether the caller may see `event`: events about a host need view
    /// on it; events about no host (sign-ins, users) need view on every host.
    pub fn sees_event(&self, event: &Event) -> bool {
        match &event.host {
            Some(h) => self.permissions.sees(h),
            None => self.permissions.sees_all(),
        }
    }

    /// The event an operation by this caller is recorded as.
    pub fn event(&self, kind: &str) -> NewEvent {
        NewEvent::new(kind, self.actor()).source(self.source.clone())
    }
}

/// What an operation is about: a host (for host operations) and, when
/// known, the thing it touches (`container:web`), for the record.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub host: Option<String>,
    pub target: Option<String>,
}

impl Scope {
    pub fn none() -> Scope {
        Scope::default()
    }

    pub fn host(host: impl Into<String>) -> Scope {
        Scope {
            host: Some(host.into()),
            target: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Scope {
        self.target = Some(target.into());
        self
    }
}

fn needs(op: Operation, host: Option<&str>) -> String {
    let on = host.map(|h| format!(" on host {h}")).unwrap_or_default();
    match op.need() {
        Need::SignedIn => "signing in".into(),
        Need::Admin => "the admin role".into(),
        Need::SeeAny => "view on at least one host".into(),
        Need::SeeAll => "view on every host".into(),
        Need::Level(l) => format!("the {} level{on}", l.as_str()),
        Need::Right(r) => format!("the {} right{on}", r.as_str()),
    }
}

/// The decision: `Ok` when `caller` may do `op` in `scope`; otherwise the
/// refusal is recorded once (durably, before answering) and returned.
pub async fn check(events: &EventLog, caller: &Caller, op: Operation, scope: Scope) -> Result<(), AccessError> {
    if caller.may(op, scope.host.as_deref()) {
        return Ok(());
    }
    let on = scope
        .host
        .as_deref()
        .map(|h| format!(" on host {h}"))
        .unwrap_or_default();
    let message = format!(
        "{} may not {}{on}: that needs {}",
        caller.name(),
        op.describe(),
        needs(op, scope.host.as_deref())
    );
    let mut event = caller
        .event(op.kind())
        .outcome(Outcome::Denied(message.clone()))
        .details(serde_json::json!({ "operation": op.kind() }));
    if let Some(h) = scope.host {
        event = event.host(h);
    }
    if let Some(t) = scope.target {
        event = event.target(t);
    }
    events.append(event).await?;
    Err(AccessError::Denied(message))
}
