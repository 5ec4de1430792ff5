//! Users in the store: one JSON record per user, plus a name index.

use crate::model::{Grant, Role, User, UserId};
use crate::store::StoreError;
use crate::store::tables::{GRANTS, META, USERS, USERS_BY_NAME};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredUser {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUser")
            .field("user", &self.user)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

fn decode(id: u64, bytes: &[u8]) -> Result<StoredUser, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Task(format!("user {id} is unreadable: {e}")))
}

pub(crate) fn count(db: &Database) -> Result<u64, StoreError> {
    let tx = db.begin_read()?;
    match tx.open_table(USERS) {
        Ok(t) => Ok(t.len()?),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn by_name(db: &Database, name: &str) -> Result<Option<StoredUser>, StoreError> {
    let tx = db.begin_read()?;
    let (names, users) = match (tx.open_table(USERS_BY_NAME), tx.open_table(USERS)) {
        (Ok(n), Ok(u)) => (n, u),
        (Err(redb::TableError::TableDoesNotExist(_)), _) | (_, Err(redb::TableError::TableDoesNotExist(_))) => {
            return Ok(None);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let Some(id) = names.get(name)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let Some(bytes) = users.get(id)? else { return Ok(None) };
    decode(id, bytes.value()).map(Some)
}

pub(crate) fn by_id(db: &Database, id: UserId) -> Result<Option<User>, StoreError> {
    let tx = db.begin_read()?;
    let users = match tx.open_table(USERS) {
        Ok(u) => u,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(bytes) = users.get(id.0)? else { return Ok(None) };
    decode(id.0, bytes.value()).map(|s| Some(s.user))
}

pub(crate) fn list(db: &Database) -> Result<Vec<User>, StoreError> {
    let tx = db.begin_read()?;
    let users = match tx.open_table(USERS) {
        Ok(u) => u,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for row in users.iter()? {
        let (k, v) = row?;
        out.push(decode(k.value(), v.value())?.user);
    }
    Ok(out)
}

pub(crate) enum Insert {
    Created(User),
    NameTaken,
    /// `only_if_none` was set and a user exists already.
    NotFirst,
}

/// Adds a user in one transaction, so two concurrent adds of one name (or
/// two concurrent first-admin setups) cannot both succeed.
pub(crate) fn insert(
    db: &Database,
    name: &str,
    role: Role,
    password_hash: String,
    created_ns: i64,
    only_if_none: bool,
) -> Result<Insert, StoreError> {
    let tx = db.begin_write()?;
    let result = {
        let mut users = tx.open_table(USERS)?;
        let mut names = tx.open_table(USERS_BY_NAME)?;
        if only_if_none && !users.is_empty()? {
            Insert::NotFirst
        } else if names.get(name)?.is_some() {
            Insert::NameTaken
        } else {
            // Ids are never reused, even after the newest user is deleted:
            // events and keys name them.
            let mut meta = tx.open_table(META)?;
            let next = meta.get("next_user_id")?.and_then(|v| v.value().parse::<u64>().ok());
            let id = next.unwrap_or(1).max(users.last()?.map_or(1, |(k, _)| k.value() + 1));
            meta.insert("next_user_id", (id + 1).to_string().as_str())?;
            let user = User {
                id: UserId(id),
                name: name.to_string(),
                role,
                created_ns,
                disabled: false,
            };
            let stored = StoredUser {
                user: user.clone(),
                password_hash,
            };
            let bytes = serde_json::to_vec(&stored).map_err(|e| StoreError::Task(e.to_string()))?;
            users.insert(id, bytes.as_slice())?;
            names.insert(name, id)?;
            Insert::Created(user)
        }
    };
    if matches!(result, Insert::Created(_)) {
        tx.commit()?;
    }
    Ok(result)
}

/// The stored record of user `id`, with its password hash.
pub(crate) fn stored(db: &Database, id: UserId) -> Result<Option<StoredUser>, StoreError> {
    let tx = db.begin_read()?;
    let users = match tx.open_table(USERS) {
        Ok(u) => u,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(bytes) = users.get(id.0)? else { return Ok(None) };
    decode(id.0, bytes.value()).map(Some)
}

/// How a change to a user went.
pub(crate) enum Change {
    Done(User),
    NotFound,
    /// The change would leave berth without an active admin.
    LastAdmin,
}

fn active_admins(users: &redb::Table<u64, &[u8]>) -> Result<usize, StoreError> {
    let mut n = 0;
    for row in users.iter()? {
        let (k, v) = row?;
        let u = decode(k.value(), v.value())?.user;
        if u.is_admin() && !u.disabled {
            n += 1;
        }
    }
    Ok(n)
}

/// Changes user `id` in one transaction; refuses a change that leaves no
/// active admin. `delete` removes the user (their grants too).
pub(crate) fn change(
    db: &Database,
    id: UserId,
    delete: bool,
    f: impl FnOnce(&mut StoredUser),
) -> Result<Change, StoreError> {
    let tx = db.begin_write()?;
    let result = {
        let mut users = tx.open_table(USERS)?;
        let old = match users.get(id.0)? {
            Some(bytes) => decode(id.0, bytes.value())?,
            None => return Ok(Change::NotFound),
        };
        let mut new = old.clone();
        f(&mut new);
        let was_admin = old.user.is_admin() && !old.user.disabled;
        let still_admin = !delete && new.user.is_admin() && !new.user.disabled;
        if was_admin && !still_admin && active_admins(&users)? <= 1 {
            return Ok(Change::LastAdmin);
        }
        if delete {
            users.remove(id.0)?;
            tx.open_table(USERS_BY_NAME)?.remove(old.user.name.as_str())?;
            tx.open_table(GRANTS)?.remove(id.0)?;
        } else {
            let bytes = serde_json::to_vec(&new).map_err(|e| StoreError::Task(e.to_string()))?;
            users.insert(id.0, bytes.as_slice())?;
        }
        Change::Done(new.user)
    };
    tx.commit()?;
    Ok(result)
}

pub(crate) fn grants(db: &Database, id: UserId) -> Result<Vec<Grant>, StoreError> {
    let tx = db.begin_read()?;
    let table = match tx.open_table(GRANTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    match table.get(id.0)? {
        Some(v) => serde_json::from_slice(v.value())
            .map_err(|e| StoreError::Task(format!("the grants of user {id} are unreadable: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// Replaces the grants of user `id`; false when there is no such user.
pub(crate) fn set_grants(db: &Database, id: UserId, grants: &[Grant]) -> Result<bool, StoreError> {
    let tx = db.begin_write()?;
    {
        if tx.open_table(USERS)?.get(id.0)?.is_none() {
            return Ok(false);
        }
        let mut table = tx.open_table(GRANTS)?;
        if grants.is_empty() {
            table.remove(id.0)?;
        } else {
            let bytes = serde_json::to_vec(grants).map_err(|e| StoreError::Task(e.to_string()))?;
            table.insert(id.0, bytes.as_slice())?;
        }
    }
    tx.commit()?;
    Ok(true)
}
