//! Who someone is: users with Argon2id passwords, the first-admin setup,
//! sign-in with throttling, sessions (a redb `SessionStore`), and one-time
//! websocket tickets. Every sign-in attempt and account change is an event.
//! What a signed-in user may do is `access`'s business, not this module's.

mod password;
mod sessions;
mod throttle;
mod tickets;
mod users;

pub use sessions::{RedbSessionStore, USER_ID_KEY, USER_NAME_KEY, session_user_id, sign_in};

use crate::events::{EventError, EventLog, now_ns};
use crate::model::{Actor, NewEvent, Outcome, Role, User, UserId};
use crate::store::{Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use thiserror::Error;
use throttle::Throttle;
use tickets::Tickets;

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
    #[error("setup is closed: an admin exists already, so sign in instead")]
    SetupClosed,
    #[error("this setup link is not valid; open the link printed on the server's console")]
    BadSetupToken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
}

pub type Result<T, E = AuthError> = std::result::Result<T, E>;

/// 32 random bytes as hex: setup links, websocket tickets.
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
            }),
        }
    }

    pub async fn user_count(&self) -> Result<u64> {
        let store = self.inner.store.clone();
        Ok(blocking(move || users::count(store.db())).await??)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let store = self.inner.store.clone();
        Ok(blocking(move || users::list(store.db())).await??)
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let store = self.inner.store.clone();
        Ok(blocking(move || users::by_id(store.db(), id)).await??)
    }

    /// Creates a user and records `user.create` (also when it fails).
    pub async fn create_user(
        &self,
        name: &str,
        password: &str,
        role: Role,
        actor: Actor,
        source: Option<String>,
    ) -> Result<User> {
        let started = Instant::now();
        let result = self.insert_user(name, password, role, false).await;
        let target = format!("user:{}", name.trim().to_lowercase());
        let event = NewEvent::new("user.create", actor)
            .source(source)
            .target(target)
            .details(serde_json::json!({ "role": role }));
        self.finish(event, started, &result).await?;
        result
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

    /// Records `event` with the outcome of `result`, durably.
    async fn finish<T>(&self, event: NewEvent, started: Instant, result: &Result<T>) -> Result<()> {
        let outcome = match result {
            Ok(_) => Outcome::Ok,
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
    /// `auth.login.failed` or `auth.login.throttled`.
    pub async fn login(&self, name: &str, password: &str, source: Option<String>) -> Result<User> {
        let started = Instant::now();
        let key: String = name.trim().to_lowercase().chars().take(64).collect();
        let addr = source.as_deref();
        let event = |kind: &str| {
            NewEvent::new(kind, Actor::user(key.clone()))
                .source(source.clone())
                .target(format!("user:{key}"))
        };
        let wait = lock(&self.inner.throttle).check(&key, addr, Instant::now());
        if let Some(wait) = wait {
            let secs = wait.as_secs().max(1);
            let result: Result<User> = Err(AuthError::Throttled(secs));
            self.finish(event("auth.login.throttled"), started, &result).await?;
            return result;
        }
        let store = self.inner.store.clone();
        let lookup = key.clone();
        let stored = blocking(move || users::by_name(store.db(), &lookup)).await??;
        let hash = stored
            .as_ref()
            .map_or(self.inner.dummy_hash.clone(), |s| s.password_hash.clone());
        let password = password.to_string();
        let matches = blocking(move || password::verify(&password, &hash)).await?;
        match stored {
            Some(s) if matches => {
                lock(&self.inner.throttle).success(&key, addr);
                let result = Ok(s.user);
                self.finish(event("auth.login.ok"), started, &result).await?;
                result
            }
            other => {
                let failures = {
                    let mut t = lock(&self.inner.throttle);
                    t.failure(&key, addr, Instant::now());
                    t.failures(&key)
                };
                let reason = if other.is_some() {
                    "wrong password"
                } else {
                    "unknown user"
                };
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

    pub async fn logout(&self, user: &User, source: Option<String>) -> Result<()> {
        let e = NewEvent::new("auth.logout", Actor::user(user.name.clone()))
            .source(source)
            .target(format!("user:{}", user.name));
        self.inner.events.append(e).await?;
        Ok(())
    }

    /// The user signed in on `session`: `None` when nobody is, or when the
    /// account no longer exists.
    pub async fn session_user(&self, session: &tower_sessions::Session) -> Result<Option<User>> {
        let id = session_user_id(session)
            .await
            .map_err(|e| AuthError::Store(StoreError::Task(e.to_string())))?;
        match id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    /// A one-time ticket for a websocket opened by `user` for `purpose`.
    pub fn issue_ticket(&self, user: &User, purpose: &str) -> String {
        lock(&self.inner.tickets).issue(user.id, purpose, Instant::now())
    }

    pub async fn redeem_ticket(&self, ticket: &str, purpose: &str) -> Result<Option<User>> {
        let id = lock(&self.inner.tickets).redeem(ticket, purpose, Instant::now());
        match id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
