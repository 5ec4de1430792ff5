//! The hosts added while berth runs, as kept in the `HOSTS` table: one
//! record per host with its agent's address, token and pinned fingerprint,
//! whether it is enabled, and who added it when. Reads take a missing table
//! as no hosts; writes happen inside the caller's transaction, so a rename
//! commits with the grants that follow it.
//!
//! Not here: checking what an admin asks, and starting hosts
//! (`hosts::admin`).

use super::StoreError;
use super::tables::HOSTS;
use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

/// One host added at run time. The token stays in the database and goes
/// only to the agent: `Debug` redacts it, and nothing serialises a
/// `StoredHost` anywhere but into this table.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredHost {
    pub name: String,
    /// The agent's address as `AgentUrl` prints it (`https://HOST:PORT`).
    pub url: String,
    pub token: String,
    /// The pinned fingerprint of the agent's certificate (`sha256:…`).
    pub fingerprint: String,
    pub enabled: bool,
    pub added_ns: i64,
    /// The actor who added it (`user:alice`).
    pub added_by: String,
    /// The last change (rename, enable, disable, new fingerprint), unix ns.
    #[serde(default)]
    pub changed_ns: i64,
}

impl std::fmt::Debug for StoredHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredHost")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .field("enabled", &self.enabled)
            .field("added_ns", &self.added_ns)
            .field("added_by", &self.added_by)
            .field("changed_ns", &self.changed_ns)
            .finish()
    }
}

fn decode(name: &str, bytes: &[u8]) -> Result<StoredHost, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Task(format!("the record of host '{name}' is unreadable: {e}")))
}

/// Every stored host, by name.
pub(crate) fn all(db: &Database) -> Result<Vec<StoredHost>, StoreError> {
    let tx = db.begin_read()?;
    let table = match tx.open_table(HOSTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for row in table.iter()? {
        let (name, bytes) = row?;
        out.push(decode(name.value(), bytes.value())?);
    }
    Ok(out)
}

/// Host `name`'s record, within a write transaction.
pub(crate) fn get(tx: &WriteTransaction, name: &str) -> Result<Option<StoredHost>, StoreError> {
    let table = tx.open_table(HOSTS)?;
    let found = table.get(name)?;
    found.map(|bytes| decode(name, bytes.value())).transpose()
}

/// Writes `host` under its name (replacing a record of that name).
pub(crate) fn put(tx: &WriteTransaction, host: &StoredHost) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(host).map_err(|e| StoreError::Task(e.to_string()))?;
    tx.open_table(HOSTS)?.insert(host.name.as_str(), bytes.as_slice())?;
    Ok(())
}

/// Deletes host `name`'s record; false when there was none.
pub(crate) fn delete(tx: &WriteTransaction, name: &str) -> Result<bool, StoreError> {
    Ok(tx.open_table(HOSTS)?.remove(name)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn host(name: &str) -> StoredHost {
        StoredHost {
            name: name.into(),
            url: "https://10.0.0.6:7443".into(),
            token: "the-agent-token-0123456789".into(),
            fingerprint: format!("sha256:{}", "ab".repeat(32)),
            enabled: true,
            added_ns: 1,
            added_by: "user:admin".into(),
            changed_ns: 1,
        }
    }

    #[test]
    fn records_survive_a_reopen_and_debug_hides_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.redb");
        {
            let store = Store::open(&path).unwrap();
            assert!(
                all(store.db()).unwrap().is_empty(),
                "a file without the table has no hosts"
            );
            let tx = store.db().begin_write().unwrap();
            put(&tx, &host("db-1")).unwrap();
            put(&tx, &host("db-2")).unwrap();
            assert!(delete(&tx, "db-2").unwrap());
            assert!(!delete(&tx, "db-3").unwrap());
            tx.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let hosts = all(store.db()).unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].token, "the-agent-token-0123456789");
        assert!(!format!("{hosts:?}").contains("the-agent-token"));
    }
}
