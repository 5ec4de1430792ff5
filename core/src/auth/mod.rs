//! Who someone is: users with Argon2id passwords, the first-admin setup,
//! sign-in with throttling, sessions (a redb `SessionStore`), API keys, and
//! one-time websocket tickets; each resolves to an `access::Caller`. Every
//! sign-in attempt and account change is an event. What a caller may do is
//! `access`'s business, not this module's.

mod admin;
mod keys;
mod password;
mod rename;
mod sessions;
mod throttle;
mod tickets;
mod users;

pub(crate) use rename::{GrantsRenamed, rename_host as rename_host_in_grants};
pub use sessions::{RedbSessionStore, USER_ID_KEY, USER_NAME_KEY, session_user_id, sign_in};
pub use tickets::{DEFAULT_TTL as DEFAULT_TICKET_TTL, Purpose, TicketGrant, TicketRefusal};

use crate::access::{AccessError, Caller, Who};
use crate::events::{EventError, EventLog, now_ns};
use crate::model::{Actor, ErrorKind, NewEvent, Outcome, Role, User, UserId};
use crate::store::{Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use thiserror::Error;
use throttle::{Throttle, Verdict};
use tickets::Tickets;
use tokio::sync::watch;

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    #[error("{0}")]
    Invalid(String),
    #[error("a user named '{0}' already exists; pick another name")]
    NameTaken(String),
    #[error("you already have a key named '{0}'; pick another name")]
    KeyNameTaken(String),
    #[error("setup is closed: an admin exists already, so sign in instead")]
    SetupClosed,
    #[error("this setup link is not valid; open the link printed on the server's console")]
    BadSetupToken,
    /// A bearer token that is malformed, unknown, revoked or expired, or
    /// whose owner is disabled.
    #[error("{0}")]
    BadKey(String),
    #[error("{0}")]
    NotFound(String),
    /// The change clashes with the current state (the last admin...).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for AuthError {
    fn kind(&self) -> ErrorKind {
        match self {
            AuthError::BadCredentials | AuthError::BadKey(_) => ErrorKind::Unauthenticated,
            AuthError::Throttled(_) => ErrorKind::Throttled,
            AuthError::Invalid(_) => ErrorKind::Invalid,
            AuthError::NameTaken(_) | AuthError::KeyNameTaken(_) | AuthError::Conflict(_) | AuthError::SetupClosed => {
                ErrorKind::Conflict
            }
            AuthError::BadSetupToken => ErrorKind::Denied,
            AuthError::NotFound(_) => ErrorKind::NotFound,
            AuthError::Access(e) => e.kind(),
            AuthError::Store(e) => e.kind(),
            AuthError::Events(e) => e.kind(),
        }
    }
}

pub type Result<T, E = AuthError> = std::result::Result<T, E>;

/// What a caller is, without its rights: the user, and the key when it
/// came with one. Rights are looked up afresh from it (`Auth::resolve`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: UserId,
    pub key: Option<String>,
}

impl Identity {
    pub fn of(caller: &Caller) -> Option<Identity> {
        match caller.who() {
            Who::User(u) => Some(Identity { user: u.id, key: None }),
            Who::Key { id, owner, .. } => Some(Identity {
                user: owner.id,
                key: Some(id.clone()),
            }),
            Who::System(_) => None,
        }
    }
}

/// 32 random bytes as hex: setup links, websocket tickets, key secrets.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

/// Lowercases and checks a user name: 1 to 64 of `a-z 0-9 . _ -`, starting
/// with a letter or digit.
pub fn normalize_name(name: &str) -> Result<String> {
    let name = name.trim().to_lowercase();
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.len() > 64 || !first_ok || !rest_ok {
        return Err(AuthError::Invalid(
            "a user name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit".into(),
        ));
    }
    Ok(name)
}

fn check_password(name: &str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < 8 {
        return Err(AuthError::Invalid(
            "the password is too short: use at least 8 characters".into(),
        ));
    }
    if password.len() > 1024 {
        return Err(AuthError::Invalid(
            "the password is too long: use at most 1024 bytes".into(),
        ));
    }
    if password.eq_ignore_ascii_case(name) {
        return Err(AuthError::Invalid("the password must not be the user name".into()));
    }
    Ok(())
}

#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: EventLog,
    throttle: Mutex<Throttle>,
    tickets: Mutex<Tickets>,
    setup_token: Mutex<Option<String>>,
    /// Verified against when the user does not exist, so that an unknown
    /// name takes as long to refuse as a wrong password.
    dummy_hash: String,
    /// Bumped on every change to users, grants or keys: open websockets
    /// re-check their caller and close when it lost its rights.
    changes: watch::Sender<u64>,
    /// Password verifications done, for tests and benchmarks of throttling.
    verifications: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Store(StoreError::Task(e.to_string())))
}

impl Auth {
    pub fn new(store: Store, events: EventLog) -> Auth {
        let dummy_hash = password::hash(&random_token()).expect("hashing a random password works");
        Auth {
            inner: Arc::new(Inner {
                store,
                events,
                throttle: Mutex::default(),
                tickets: Mutex::default(),
                setup_token: Mutex::new(None),
                dummy_hash,
                changes: watch::channel(0).0,
                verifications: Default::default(),
            }),
        }
    }

    pub async fn user_count(&self) -> Result<u64> {
        let store = self.inner.store.clone();
        Ok(blocking(move || users::count(store.db())).await??)
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let store = self.inner.store.clone();
        Ok(blocking(move || users::by_id(store.db(), id)).await??)
    }

    /// Wakes whenever users, grants or keys change.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    fn changed(&self) {
        self.inner.changes.send_modify(|n| *n += 1);
    }

    /// Tells open websockets that grants changed outside this module (a
    /// host's rename moved them), so they re-check their callers.
    pub(crate) fn grants_changed(&self) {
        self.changed();
    }

    /// How many passwords were verified since start (sign-ins that passed
    /// the throttle).
    pub fn password_verifications(&self) -> u64 {
        self.inner.verifications.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn insert_user(&self, name: &str, password: &str, role: Role, first: bool) -> Result<User> {
        let name = normalize_name(name)?;
        check_password(&name, password)?;
        let password = password.to_string();
        let hash = blocking(move || password::hash(&password))
            .await?
            .map_err(AuthError::Invalid)?;
        let store = self.inner.store.clone();
        let key = name.clone();
        let inserted = blocking(move || users::insert(store.db(), &key, role, hash, now_ns(), first)).await??;
        match inserted {
            users::Insert::Created(user) => Ok(user),
            users::Insert::NameTaken => Err(AuthError::NameTaken(name)),
            users::Insert::NotFirst => Err(AuthError::SetupClosed),
        }
    }

    /// Records `event` with the outcome of `result`, durably. A refusal by
    /// `access` is already recorded, and is not recorded twice.
    async fn finish<T>(&self, event: NewEvent, started: Instant, result: &Result<T>) -> Result<()> {
        let outcome = match result {
            Ok(_) => Outcome::Ok,
            Err(AuthError::Access(_)) => return Ok(()),
            Err(AuthError::BadSetupToken | AuthError::SetupClosed | AuthError::Throttled(_)) => {
                Outcome::Denied(result.as_ref().err().map(ToString::to_string).unwrap_or_default())
            }
            Err(e) => Outcome::Error(e.to_string()),
        };
        let micros = started.elapsed().as_micros() as u64;
        self.inner
            .events
            .append(event.outcome(outcome).duration_us(micros))
            .await?;
        Ok(())
    }

    /// Opens first-admin setup when there are no users: returns the one-time
    /// token for the setup link (a new one each call), or `None`.
    pub async fn open_setup(&self) -> Result<Option<String>> {
        if self.user_count().await? > 0 {
            *lock(&self.inner.setup_token) = None;
            return Ok(None);
        }
        let token = random_token();
        *lock(&self.inner.setup_token) = Some(token.clone());
        Ok(Some(token))
    }

    /// Whether first-admin setup is waiting for its link to be used.
    pub fn setup_pending(&self) -> bool {
        lock(&self.inner.setup_token).is_some()
    }

    /// Creates the first admin through the setup link, once.
    pub async fn setup(&self, token: &str, name: &str, password: &str, source: Option<String>) -> Result<User> {
        let started = Instant::now();
        let result = async {
            let valid = lock(&self.inner.setup_token)
                .as_deref()
                .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
            if !valid {
                return Err(if self.user_count().await? > 0 {
                    AuthError::SetupClosed
                } else {
                    AuthError::BadSetupToken
                });
            }
            let user = self.insert_user(name, password, Role::Admin, true).await?;
            *lock(&self.inner.setup_token) = None;
            Ok(user)
        }
        .await;
        let actor = match &result {
            Ok(u) => Actor::user(u.name.clone()),
            Err(_) => Actor {
                kind: crate::model::ActorKind::User,
                name: String::new(),
            },
        };
        let event = NewEvent::new("setup.admin_create", actor)
            .source(source)
            .target(format!("user:{}", name.trim().to_lowercase()));
        self.finish(event, started, &result).await?;
        result
    }

    /// Checks a name and password. Every attempt is an event: `auth.login.ok`,
    /// `auth.login.failed` or `auth.login.throttled`. The throttle decides
    /// and counts in one step, so parallel guesses cannot slip past it.
    pub async fn login(&self, name: &str, password: &str, source: Option<String>) -> Result<User> {
        let started = Instant::now();
        let key: String = name.trim().to_lowercase().chars().take(64).collect();
        let addr = source.as_deref();
        let event = |kind: &str| {
            NewEvent::new(kind, Actor::user(key.clone()))
                .source(source.clone())
                .target(format!("user:{key}"))
        };
        let verdict = lock(&self.inner.throttle).attempt(&key, addr, Instant::now());
        match verdict {
            Verdict::Wait(wait) => {
                let result: Result<User> = Err(AuthError::Throttled(wait.as_secs().max(1)));
                self.finish(event("auth.login.throttled"), started, &result).await?;
                return result;
            }
            Verdict::Go { delay: Some(delay) } => tokio::time::sleep(delay).await,
            Verdict::Go { delay: None } => {}
        }
        let store = self.inner.store.clone();
        let lookup = key.clone();
        let stored = blocking(move || users::by_name(store.db(), &lookup)).await??;
        let hash = stored
            .as_ref()
            .map_or(self.inner.dummy_hash.clone(), |s| s.password_hash.clone());
        let password = password.to_string();
        self.inner
            .verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let matches = blocking(move || password::verify(&password, &hash)).await?;
        match stored {
            Some(s) if matches && !s.user.disabled => {
                lock(&self.inner.throttle).success(&key, addr);
                let result = Ok(s.user);
                self.finish(event("auth.login.ok"), started, &result).await?;
                result
            }
            other => {
                let failures = lock(&self.inner.throttle).failures(&key);
                let reason = match other {
                    Some(s) if s.user.disabled && matches => "account disabled",
                    Some(_) => "wrong password",
                    None => "unknown user",
                };
                // The same answer whatever the reason: a disabled account
                // is not revealed to someone who guesses its password.
                let result: Result<User> = Err(AuthError::BadCredentials);
                let e = event("auth.login.failed").details(serde_json::json!({
                    "reason": reason,
                    "failures": failures,
                }));
                self.finish(e, started, &result).await?;
                result
            }
        }
    }

    pub async fn logout(&self, caller: &Caller) -> Result<()> {
        let e = caller
            .event("auth.logout")
            .target(format!("user:{}", caller.user().map_or("", |u| u.name.as_str())));
        self.inner.events.append(e).await?;
        Ok(())
    }

    /// The caller signed in on `session` (and come with it, see
    /// `Caller::session`): `None` when nobody is, or when the account no
    /// longer exists or is disabled.
    pub async fn session_caller(
        &self,
        session: &tower_sessions::Session,
        source: Option<String>,
    ) -> Result<Option<Caller>> {
        let id = session_user_id(session)
            .await
            .map_err(|e| AuthError::Store(StoreError::Task(e.to_string())))?;
        let Some(id) = id else {
            return Ok(None);
        };
        let caller = self.resolve(&Identity { user: id, key: None }, source).await?;
        Ok(caller.map(|c| c.in_session(session.id().map(|id| id.0))))
    }

    /// The caller behind a bearer token (`Authorization: Bearer berth_…`).
    /// A malformed, unknown, revoked or expired key, or one whose owner is
    /// disabled, is refused and the refusal recorded (`auth.apikey.refused`).
    pub async fn key_caller(&self, token: &str, source: Option<String>) -> Result<Caller> {
        let found = match keys::parse(token) {
            None => Err("the bearer token is not a berth API key (berth_<id>_<secret>)".to_string()),
            Some((id, secret)) => {
                let store = self.inner.store.clone();
                let lookup = id.to_string();
                let stored = blocking(move || keys::get(store.db(), &lookup)).await??;
                match stored {
                    Some(k) if constant_time_eq(k.secret_hash.as_bytes(), keys::hash_secret(secret).as_bytes()) => {
                        Ok(k.info)
                    }
                    _ => Err(format!("API key {id} is not known")),
                }
            }
        };
        let refuse = |message: String, key: Option<String>| {
            let mut e = NewEvent::new("auth.apikey.refused", Actor::system())
                .source(source.clone())
                .outcome(Outcome::Denied(message));
            if let Some(k) = key {
                e = e.target(format!("apikey:{k}"));
            }
            e
        };
        let info = match found {
            Ok(info) => info,
            Err(message) => {
                self.inner.events.append(refuse(message.clone(), None)).await?;
                return Err(AuthError::BadKey(message));
            }
        };
        let identity = Identity {
            user: info.owner,
            key: Some(info.id.clone()),
        };
        let Some(caller) = self.resolve(&identity, source.clone()).await? else {
            let message = format!(
                "API key {} ({}) is revoked or expired, or its owner is disabled",
                info.id, info.name
            );
            self.inner
                .events
                .append(refuse(message.clone(), Some(info.id.clone())))
                .await?;
            return Err(AuthError::BadKey(message));
        };
        self.touch_key(&info, source);
        Ok(caller)
    }

    /// Notes when and from where a key was last used, at most once a minute
    /// per key, without waiting for the disk.
    fn touch_key(&self, info: &crate::model::ApiKeyInfo, source: Option<String>) {
        let now = now_ns();
        let recent = info.last_used_ns.is_some_and(|t| now - t < 60_000_000_000);
        if recent && info.last_used_from == source {
            return;
        }
        let store = self.inner.store.clone();
        let id = info.id.clone();
        tokio::task::spawn_blocking(move || {
            let result = keys::change(store.db(), &id, false, |k| {
                k.last_used_ns = Some(now);
                k.last_used_from = source;
            });
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot note an API key's last use");
            }
        });
    }

    /// The caller an identity stands for now, with its current rights:
    /// `None` when the user is gone or disabled, or the key is revoked or
    /// expired.
    pub async fn resolve(&self, identity: &Identity, source: Option<String>) -> Result<Option<Caller>> {
        let store = self.inner.store.clone();
        let id = identity.clone();
        let found = blocking(move || -> std::result::Result<_, StoreError> {
            let Some(user) = users::by_id(store.db(), id.user)? else {
                return Ok(None);
            };
            let grants = users::grants(store.db(), id.user)?;
            let key = match &id.key {
                Some(k) => match keys::get(store.db(), k)? {
                    Some(k) => Some(k.info),
                    None => return Ok(None),
                },
                None => None,
            };
            Ok(Some((user, grants, key)))
        })
        .await??;
        let Some((user, grants, key)) = found else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        match key {
            None => Ok(Some(Caller::signed_in(user, grants, source))),
            Some(k) if k.active(now_ns()) && k.owner == identity.user => {
                Ok(Some(Caller::key(&k, user, grants, source)))
            }
            Some(_) => Ok(None),
        }
    }

    /// A one-time ticket for a websocket opened by `caller` for `purpose`
    /// on `host` (or none), once `access` allows what the feed shows.
    pub async fn issue_ticket(&self, caller: &Caller, purpose: Purpose, host: Option<&str>) -> Result<String> {
        let scope = crate::access::Scope {
            host: host.map(|h| h.chars().take(64).collect()),
            target: None,
        };
        crate::access::check(&self.inner.events, caller, purpose.operation(), scope).await?;
        let identity =
            Identity::of(caller).ok_or_else(|| AuthError::Invalid("only users and API keys open websockets".into()))?;
        let grant = TicketGrant {
            identity,
            purpose,
            host: host.map(str::to_string),
            target: None,
        };
        Ok(lock(&self.inner.tickets).issue(grant, Instant::now()))
    }

    /// A ticket for a terminal in `target` on `host`, for a caller whom
    /// `access` already let open it (`hosts::Host::terminal_target`).
    pub(crate) fn issue_terminal_ticket(
        &self,
        caller: &Caller,
        host: &str,
        target: crate::model::TerminalTarget,
    ) -> Result<String> {
        let identity =
            Identity::of(caller).ok_or_else(|| AuthError::Invalid("only users and API keys open terminals".into()))?;
        let grant = TicketGrant {
            identity,
            purpose: Purpose::Terminal,
            host: Some(host.to_string()),
            target: Some(target),
        };
        Ok(lock(&self.inner.tickets).issue(grant, Instant::now()))
    }

    /// What a ticket was issued for, once; `None` when it is unknown, used,
    /// expired or for another purpose.
    pub fn redeem_ticket(&self, ticket: &str, purpose: Purpose) -> Option<TicketGrant> {
        self.redeem(ticket, purpose).ok()
    }

    /// What a ticket was issued for, once, or why it is refused.
    pub fn redeem(&self, ticket: &str, purpose: Purpose) -> Result<TicketGrant, TicketRefusal> {
        lock(&self.inner.tickets).redeem(ticket, purpose, Instant::now())
    }

    /// How long a ticket stays valid (`ticket_ttl_secs`).
    pub fn set_ticket_ttl(&self, ttl: std::time::Duration) {
        lock(&self.inner.tickets).set_ttl(ttl);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
