//! API keys in the store. A key reads `berth_<id>_<secret>`: the id finds
//! the record, and only the SHA-256 of the secret is kept, compared in
//! constant time. The secret has 256 random bits, so a fast hash is enough
//! (unlike passwords, it cannot be guessed from a dictionary).

use crate::model::{ApiKeyInfo, UserId};
use crate::store::StoreError;
use crate::store::tables::API_KEYS;
use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "berth_";

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredKey {
    pub info: ApiKeyInfo,
    /// Hex SHA-256 of the secret part.
    pub secret_hash: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("info", &self.info)
            .field("secret_hash", &"<redacted>")
            .finish()
    }
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh (id, secret, token).
pub(crate) fn generate() -> (String, String, String) {
    let mut id = [0u8; 6];
    getrandom::fill(&mut id).expect("the operating system's random source works");
    let id = hex::encode(id);
    let secret = super::random_token();
    let token = format!("{PREFIX}{id}_{secret}");
    (id, secret, token)
}

/// Splits a token into (id, secret), or `None` when it is not shaped like one.
pub(crate) fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.trim().strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 12) && hex(secret, 64)).then_some((id, secret))
}

fn decode(bytes: &[u8]) -> Result<StoredKey, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Task(format!("an API key record is unreadable: {e}")))
}

pub(crate) fn get(db: &Database, id: &str) -> Result<Option<StoredKey>, StoreError> {
    let tx = db.begin_read()?;
    let table = match tx.open_table(API_KEYS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match table.get(id)? {
        Some(v) => decode(v.value()).map(Some),
        None => Ok(None),
    }
}

/// Every key of `owner` (all owners with `None`), newest first.
pub(crate) fn list(db: &Database, owner: Option<UserId>) -> Result<Vec<ApiKeyInfo>, StoreError> {
    let tx = db.begin_read()?;
    let table = match tx.open_table(API_KEYS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for row in table.iter()? {
        let key = decode(row?.1.value())?.info;
        if owner.is_none_or(|o| o == key.owner) {
            out.push(key);
        }
    }
    out.sort_by(|a, b| b.created_ns.cmp(&a.created_ns).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Stores a new key; false when its owner already has a key of that name.
pub(crate) fn insert(db: &Database, key: &StoredKey) -> Result<bool, StoreError> {
    let tx = db.begin_write()?;
    {
        let mut table = tx.open_table(API_KEYS)?;
        for row in table.iter()? {
            let other = decode(row?.1.value())?.info;
            if other.owner == key.info.owner && other.name == key.info.name {
                return Ok(false);
            }
        }
        let bytes = serde_json::to_vec(key).map_err(|e| StoreError::Task(e.to_string()))?;
        table.insert(key.info.id.as_str(), bytes.as_slice())?;
    }
    tx.commit()?;
    Ok(true)
}

/// Changes the key `id` in one transaction; `None` when there is none.
pub(crate) fn change(
    db: &Database,
    id: &str,
    durable: bool,
    f: impl FnOnce(&mut ApiKeyInfo),
) -> Result<Option<ApiKeyInfo>, StoreError> {
    let mut tx = db.begin_write()?;
    if !durable {
        tx.set_durability(redb::Durability::None)
            .map_err(|e| StoreError::Task(e.to_string()))?;
    }
    let info = {
        let mut table = tx.open_table(API_KEYS)?;
        let Some(mut key) = table.get(id)?.map(|v| decode(v.value())).transpose()? else {
            return Ok(None);
        };
        f(&mut key.info);
        let bytes = serde_json::to_vec(&key).map_err(|e| StoreError::Task(e.to_string()))?;
        table.insert(id, bytes.as_slice())?;
        key.info
    };
    tx.commit()?;
    Ok(Some(info))
}

/// Revokes every active key of `owner` (when the owner is deleted).
pub(crate) fn revoke_all(db: &Database, owner: UserId, now_ns: i64) -> Result<Vec<String>, StoreError> {
    let ids: Vec<String> = list(db, Some(owner))?
        .into_iter()
        .filter(|k| k.revoked_ns.is_none())
        .map(|k| k.id)
        .collect();
    for id in &ids {
        change(db, id, true, |k| k.revoked_ns = Some(now_ns))?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_back_and_malformed_ones_do_not() {
        let (id, secret, token) = generate();
        assert_eq!(parse(&token), Some((id.as_str(), secret.as_str())));
        assert_eq!(parse("berth_abc_def"), None);
        assert_eq!(parse(&token.replace("berth_", "")), None);
        assert_eq!(parse(&format!("{token}x")), None);
        assert_eq!(parse(""), None);
    }
}
