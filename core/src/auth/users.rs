//! Users in the store: one JSON record per user, plus a name index.

use crate::model::{Role, User, UserId};
use crate::store::StoreError;
use crate::store::tables::{USERS, USERS_BY_NAME};
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
            let id = users.last()?.map_or(1, |(k, _)| k.value() + 1);
            let user = User {
                id: UserId(id),
                name: name.to_string(),
                role,
                created_ns,
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
