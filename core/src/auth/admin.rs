//! Account administration: admins manage users and their grants; every
//! user changes their own password, ends their own sessions and keeps
//! their own API keys. Each operation asks `access::check` first and is
//! recorded under the operation's kind (refusals by `access`, once).

use super::{Auth, AuthError, Result, blocking, check_password, keys, password, sessions, users};
use crate::access::{self, Caller, Scope};
use crate::events::now_ns;
use crate::model::{
    ALL_HOSTS, Account, ApiKeyInfo, CreatedApiKey, Grant, NewApiKey, Operation, Permissions, Right, Role, SessionInfo,
    User, UserDetail, UserId, validate_grants,
};
use std::future::Future;
use std::time::Instant;

/// The longest an API key may be valid for, in days.
pub const MAX_KEY_DAYS: u32 = 3650;

impl Auth {
    /// Checks `op`, runs `work`, records the outcome as an event of the
    /// operation's kind about `target`, and tells open websockets when
    /// something changed.
    async fn administer<T>(
        &self,
        caller: &Caller,
        op: Operation,
        target: String,
        details: serde_json::Value,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = async {
            access::check(&self.inner.events, caller, op, Scope::none().target(target.clone())).await?;
            work.await
        }
        .await;
        let event = caller.event(op.kind()).target(target).details(details);
        self.finish(event, started, &result).await?;
        if result.is_ok() {
            self.changed();
        }
        result
    }

    async fn stored_user(&self, id: UserId) -> Result<users::StoredUser> {
        let store = self.inner.store.clone();
        blocking(move || users::stored(store.db(), id))
            .await??
            .ok_or_else(|| AuthError::NotFound(format!("there is no user {id}")))
    }

    /// The target an event about user `id` names (`user:alice`).
    async fn user_target(&self, id: UserId) -> String {
        match self.user(id).await {
            Ok(Some(u)) => format!("user:{}", u.name),
            _ => format!("user:#{id}"),
        }
    }

    /// Who the caller is and what they may do, for the pages.
    pub fn me(caller: &Caller) -> Option<Account> {
        caller.user().map(|u| Account {
            user: u.clone(),
            permissions: caller.permissions().clone(),
        })
    }

    /// Every user (admins only).
    pub async fn users(&self, caller: &Caller) -> Result<Vec<User>> {
        access::check(&self.inner.events, caller, Operation::ListUsers, Scope::none()).await?;
        let store = self.inner.store.clone();
        Ok(blocking(move || users::list(store.db())).await??)
    }

    /// One user with their grants and keys (admins only).
    pub async fn user_detail(&self, caller: &Caller, id: UserId) -> Result<UserDetail> {
        access::check(&self.inner.events, caller, Operation::ListUsers, Scope::none()).await?;
        let user = self.stored_user(id).await?.user;
        let store = self.inner.store.clone();
        let (grants, keys) = blocking(move || -> std::result::Result<_, crate::store::StoreError> {
            Ok((users::grants(store.db(), id)?, keys::list(store.db(), Some(id))?))
        })
        .await??;
        Ok(UserDetail { user, grants, keys })
    }

    /// Creates a user; recorded as `user.create` (also when it fails).
    pub async fn create_user(&self, caller: &Caller, name: &str, password: &str, role: Role) -> Result<User> {
        let target = format!(
            "user:{}",
            name.trim().to_lowercase().chars().take(64).collect::<String>()
        );
        let details = serde_json::json!({ "role": role });
        let work = self.insert_user(name, password, role, false);
        self.administer(caller, Operation::CreateUser, target, details, work)
            .await
    }

    /// Changes user `id`, refusing to act on the caller themself or to
    /// leave berth without an active admin.
    async fn change_user(
        &self,
        caller: &Caller,
        id: UserId,
        delete: bool,
        f: impl FnOnce(&mut User) + Send + 'static,
    ) -> Result<User> {
        if caller.user().is_some_and(|u| u.id == id) {
            return Err(AuthError::Conflict(
                "you cannot disable, delete or change the role of your own account; ask another admin".into(),
            ));
        }
        let store = self.inner.store.clone();
        let changed = blocking(move || users::change(store.db(), id, delete, |s| f(&mut s.user))).await??;
        match changed {
            users::Change::Done(user) => Ok(user),
            users::Change::NotFound => Err(AuthError::NotFound(format!("there is no user {id}"))),
            users::Change::LastAdmin => Err(AuthError::Conflict(
                "that would leave berth without an active admin; make another user admin first".into(),
            )),
        }
    }

    /// Ends every session of `id` (except `keep`).
    async fn end_sessions(&self, id: UserId, keep: Option<i128>) -> Result<usize> {
        let store = self.inner.store.clone();
        Ok(blocking(move || sessions::end(store.db(), id, None, keep)).await??)
    }

    /// Disables or re-enables a user. A disabled user's sessions end, their
    /// keys stop working and their websockets close at once.
    pub async fn set_disabled(&self, caller: &Caller, id: UserId, disabled: bool) -> Result<User> {
        let op = if disabled {
            Operation::DisableUser
        } else {
            Operation::EnableUser
        };
        let target = self.user_target(id).await;
        let work = async {
            let user = self
                .change_user(caller, id, false, move |u| u.disabled = disabled)
                .await?;
            if disabled {
                self.end_sessions(id, None).await?;
            }
            Ok(user)
        };
        self.administer(caller, op, target, serde_json::json!({}), work).await
    }

    pub async fn set_role(&self, caller: &Caller, id: UserId, role: Role) -> Result<User> {
        let target = self.user_target(id).await;
        let work = self.change_user(caller, id, false, move |u| u.role = role);
        self.administer(
            caller,
            Operation::SetRole,
            target,
            serde_json::json!({ "role": role }),
            work,
        )
        .await
    }

    /// Deletes a user: their sessions end and their keys are revoked; their
    /// events stay, under their name.
    pub async fn delete_user(&self, caller: &Caller, id: UserId) -> Result<()> {
        let target = self.user_target(id).await;
        let work = async {
            self.change_user(caller, id, true, |_| {}).await?;
            self.end_sessions(id, None).await?;
            let store = self.inner.store.clone();
            blocking(move || keys::revoke_all(store.db(), id, now_ns())).await??;
            Ok(())
        };
        self.administer(caller, Operation::DeleteUser, target, serde_json::json!({}), work)
            .await
    }

    async fn store_password(&self, id: UserId, name: &str, new: &str) -> Result<()> {
        check_password(name, new)?;
        let new = new.to_string();
        let hash = blocking(move || password::hash(&new))
            .await?
            .map_err(AuthError::Invalid)?;
        let store = self.inner.store.clone();
        match blocking(move || users::change(store.db(), id, false, |s| s.password_hash = hash)).await?? {
            users::Change::Done(_) => Ok(()),
            _ => Err(AuthError::NotFound(format!("there is no user {id}"))),
        }
    }

    /// Sets another user's password (admins); their sessions end.
    pub async fn reset_password(&self, caller: &Caller, id: UserId, new: &str) -> Result<()> {
        let target = self.user_target(id).await;
        let work = async {
            if caller.user().is_some_and(|u| u.id == id) {
                return Err(AuthError::Conflict(
                    "change your own password on your account page (PUT /api/v1/me/password): it needs the current one"
                        .into(),
                ));
            }
            let user = self.stored_user(id).await?.user;
            self.store_password(id, &user.name, new).await?;
            self.end_sessions(id, None).await?;
            Ok(())
        };
        self.administer(caller, Operation::ResetPassword, target, serde_json::json!({}), work)
            .await
    }

    /// The caller's own password, given the current one; their other
    /// sessions end (`keep` is the one making the change).
    pub async fn change_password(&self, caller: &Caller, current: &str, new: &str, keep: Option<i128>) -> Result<()> {
        let Some(me) = caller.user().cloned() else {
            return Err(AuthError::Invalid("only users have passwords".into()));
        };
        let target = format!("user:{}", me.name);
        let work = async {
            let stored = self.stored_user(me.id).await?;
            let current = current.to_string();
            self.inner
                .verifications
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if !blocking(move || password::verify(&current, &stored.password_hash)).await? {
                return Err(AuthError::Invalid("the current password is wrong".into()));
            }
            self.store_password(me.id, &me.name, new).await?;
            self.end_sessions(me.id, keep).await?;
            Ok(())
        };
        self.administer(
            caller,
            Operation::ChangeOwnPassword,
            target,
            serde_json::json!({}),
            work,
        )
        .await
    }

    /// Replaces a user's grants (admins). Recorded as `grant.set` with the
    /// grants themselves (they hold no secret).
    pub async fn set_grants(&self, caller: &Caller, id: UserId, grants: Vec<Grant>) -> Result<Vec<Grant>> {
        let target = self.user_target(id).await;
        let details = serde_json::json!({ "grants": grants.iter().take(32).collect::<Vec<_>>() });
        let work = async {
            let grants = validate_grants(grants).map_err(AuthError::Invalid)?;
            let (store, saved) = (self.inner.store.clone(), grants.clone());
            if !blocking(move || users::set_grants(store.db(), id, &saved)).await?? {
                return Err(AuthError::NotFound(format!("there is no user {id}")));
            }
            Ok(grants)
        };
        self.administer(caller, Operation::SetGrants, target, details, work)
            .await
    }

    /// The caller's own live sessions; `current` marks the one asking.
    pub async fn sessions(&self, caller: &Caller, current: Option<i128>) -> Result<Vec<SessionInfo>> {
        access::check(&self.inner.events, caller, Operation::ListOwnSessions, Scope::none()).await?;
        let Some(id) = caller.user().map(|u| u.id) else {
            return Ok(Vec::new());
        };
        let store = self.inner.store.clone();
        Ok(blocking(move || sessions::of_user(store.db(), id, current)).await??)
    }

    /// Ends one of the caller's own sessions, by its handle.
    pub async fn end_session(&self, caller: &Caller, handle: &str) -> Result<()> {
        let Some(id) = caller.user().map(|u| u.id) else {
            return Err(AuthError::Invalid("only users have sessions".into()));
        };
        let target = format!("session:{}", handle.chars().take(16).collect::<String>());
        let handle = handle.to_string();
        let work = async {
            let store = self.inner.store.clone();
            let ended = blocking(move || sessions::end(store.db(), id, Some(&handle), None)).await??;
            if ended == 0 {
                return Err(AuthError::NotFound("you have no such session".into()));
            }
            Ok(())
        };
        self.administer(caller, Operation::EndOwnSession, target, serde_json::json!({}), work)
            .await
    }

    /// The caller's own API keys (revoked and expired ones too).
    pub async fn keys(&self, caller: &Caller) -> Result<Vec<ApiKeyInfo>> {
        access::check(&self.inner.events, caller, Operation::ListOwnKeys, Scope::none()).await?;
        let Some(id) = caller.user().map(|u| u.id) else {
            return Ok(Vec::new());
        };
        let store = self.inner.store.clone();
        Ok(blocking(move || keys::list(store.db(), Some(id))).await??)
    }

    /// A new key for the caller, shown once. Its grants may not be wider
    /// than the caller's own (admins excepted): refused whole, nothing
    /// stored. A key made with a key is never wider than the key that made it.
    pub async fn create_key(&self, caller: &Caller, new: NewApiKey) -> Result<CreatedApiKey> {
        let name = new.name.trim().to_string();
        let target = format!("apikey:{}", name.chars().take(64).collect::<String>());
        let details = serde_json::json!({ "expires_days": new.expires_days, "grants": new.grants });
        let work = async {
            let owner = caller
                .user()
                .cloned()
                .ok_or_else(|| AuthError::Invalid("only users own API keys".into()))?;
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid_name {
                return Err(AuthError::Invalid(
                    "a key's name is 1 to 64 letters, digits, '.', '_' or '-'".into(),
                ));
            }
            if new.expires_days.is_some_and(|d| d == 0 || d > MAX_KEY_DAYS) {
                return Err(AuthError::Invalid(format!(
                    "a key expires after 1 to {MAX_KEY_DAYS} days, or never"
                )));
            }
            let mut grants = new
                .grants
                .map(validate_grants)
                .transpose()
                .map_err(AuthError::Invalid)?;
            if let Some(wider) = grants.as_deref().and_then(|g| wider_grant(caller.permissions(), g)) {
                return Err(AuthError::Invalid(wider));
            }
            if caller.key_id().is_some() && !caller.permissions().admin {
                let base = grants.unwrap_or_else(|| caller.permissions().grants.clone());
                grants = Some(caller.permissions().narrowed(&base).grants);
            }
            let (id, secret, token) = keys::generate();
            let now = now_ns();
            let info = ApiKeyInfo {
                id,
                name: name.clone(),
                owner: owner.id,
                owner_name: owner.name.clone(),
                created_ns: now,
                expires_ns: new.expires_days.map(|d| now + i64::from(d) * 86_400 * 1_000_000_000),
                grants,
                last_used_ns: None,
                last_used_from: None,
                revoked_ns: None,
            };
            let stored = keys::StoredKey {
                info: info.clone(),
                secret_hash: keys::hash_secret(&secret),
            };
            let store = self.inner.store.clone();
            if !blocking(move || keys::insert(store.db(), &stored)).await?? {
                return Err(AuthError::KeyNameTaken(name.clone()));
            }
            Ok(CreatedApiKey { key: info, token })
        };
        self.administer(caller, Operation::CreateKey, target, details, work)
            .await
    }

    /// Revokes a key at once. Users revoke their own; admins any.
    pub async fn revoke_key(&self, caller: &Caller, id: &str) -> Result<ApiKeyInfo> {
        let target = format!("apikey:{}", id.chars().take(16).collect::<String>());
        let id = id.to_string();
        let work = async {
            let store = self.inner.store.clone();
            let lookup = id.clone();
            let key = blocking(move || keys::get(store.db(), &lookup)).await??;
            let mine = |k: &keys::StoredKey| caller.user().is_some_and(|u| u.id == k.info.owner);
            match key {
                Some(k) if mine(&k) || caller.permissions().admin => {}
                _ => return Err(AuthError::NotFound(format!("there is no key {id} of yours"))),
            }
            let store = self.inner.store.clone();
            let now = now_ns();
            let info = blocking(move || {
                keys::change(store.db(), &id, true, |k| {
                    k.revoked_ns.get_or_insert(now);
                })
            })
            .await??;
            info.ok_or_else(|| AuthError::NotFound("the key is gone".into()))
        };
        self.administer(caller, Operation::RevokeKey, target, serde_json::json!({}), work)
            .await
    }
}

/// Why `grants` (a new key's) are wider than `holder` (its creator), naming
/// the first grant that is; `None` when the key asks nothing more. A grant
/// on `*` is measured against what the holder has on `*` itself: view on
/// every host one by one is not view on hosts added later.
pub(super) fn wider_grant(holder: &Permissions, grants: &[Grant]) -> Option<String> {
    if holder.admin {
        return None;
    }
    let fix = "give the key at most what you hold, or leave its grants out to give it yours";
    grants.iter().find_map(|g| {
        let on = match g.host.as_str() {
            ALL_HOSTS => "every host ('*')".to_string(),
            host => format!("host '{host}'"),
        };
        let mine = holder.level(&g.host);
        if g.level > mine {
            return Some(format!(
                "the key's grant on {on} is {}, wider than your {} there; {fix}",
                g.level.as_str(),
                mine.as_str()
            ));
        }
        Right::ALL
            .into_iter()
            .find(|&r| g.has(r) && !holder.has(&g.host, r))
            .map(|r| {
                format!(
                    "the key's grant on {on} has the {} right, which you do not hold there; {fix}",
                    r.as_str()
                )
            })
    })
}
