//! Grants that follow a host's rename: every user's grants and every API
//! key's own grants that name the old host name the new one instead, in the
//! write transaction that renames the host's record, so both change or
//! neither does. Grants on every host (`*`) need nothing.
//!
//! Not here: renaming the host itself (`hosts::admin`), who may do it.

use super::keys::StoredKey;
use super::users::StoredUser;
use crate::model::Grant;
use crate::store::StoreError;
use crate::store::tables::{API_KEYS, GRANTS, USERS};
use redb::{ReadableTable, WriteTransaction};

/// What renaming did to the grants.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GrantsRenamed {
    /// This many users' and keys' grants now name the new host.
    Done { users: usize, keys: usize },
    /// These holders (`user bob`, `alice's key 'ci'`) have a grant on both
    /// names: merging them would change what they may do, so nothing was
    /// changed and an admin decides.
    Clash(Vec<String>),
}

/// `grants` with host `from` renamed `to`, sorted by host as stored; `None`
/// when none names `from`, `Err` when one names `to` already.
fn renamed(grants: &[Grant], from: &str, to: &str) -> Option<Result<Vec<Grant>, ()>> {
    if !grants.iter().any(|g| g.host == from) {
        return None;
    }
    if grants.iter().any(|g| g.host == to) {
        return Some(Err(()));
    }
    let mut out: Vec<Grant> = grants
        .iter()
        .cloned()
        .map(|mut g| {
            if g.host == from {
                g.host = to.to_string();
            }
            g
        })
        .collect();
    out.sort_by(|a, b| a.host.cmp(&b.host));
    Some(Ok(out))
}

fn unreadable(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Task(format!("{what} is unreadable: {e}"))
}

/// Renames host `from` to `to` in every grant, within `tx` (the caller
/// commits). On a clash nothing is written and the holders are named.
pub(crate) fn rename_host(tx: &WriteTransaction, from: &str, to: &str) -> Result<GrantsRenamed, StoreError> {
    let mut clashes = Vec::new();
    let mut user_updates: Vec<(u64, Vec<u8>)> = Vec::new();
    {
        let grants = tx.open_table(GRANTS)?;
        let users = tx.open_table(USERS)?;
        for row in grants.iter()? {
            let (id, bytes) = row?;
            let id = id.value();
            let list: Vec<Grant> = serde_json::from_slice(bytes.value())
                .map_err(|e| unreadable(&format!("the grants of user {id}"), e))?;
            match renamed(&list, from, to) {
                None => {}
                Some(Ok(list)) => {
                    let bytes = serde_json::to_vec(&list).map_err(|e| StoreError::Task(e.to_string()))?;
                    user_updates.push((id, bytes));
                }
                Some(Err(())) => {
                    let name = match users.get(id)? {
                        Some(u) => serde_json::from_slice::<StoredUser>(u.value())
                            .map(|s| s.user.name)
                            .unwrap_or_else(|_| format!("#{id}")),
                        None => format!("#{id}"),
                    };
                    clashes.push(format!("user {name}"));
                }
            }
        }
    }
    let mut key_updates: Vec<(String, Vec<u8>)> = Vec::new();
    {
        let keys = tx.open_table(API_KEYS)?;
        for row in keys.iter()? {
            let (id, bytes) = row?;
            let mut key: StoredKey =
                serde_json::from_slice(bytes.value()).map_err(|e| unreadable("an API key record", e))?;
            let Some(list) = &key.info.grants else { continue };
            match renamed(list, from, to) {
                None => {}
                Some(Ok(list)) => {
                    key.info.grants = Some(list);
                    let bytes = serde_json::to_vec(&key).map_err(|e| StoreError::Task(e.to_string()))?;
                    key_updates.push((id.value().to_string(), bytes));
                }
                Some(Err(())) => clashes.push(format!("API key {} ('{}')", key.info.id, key.info.name)),
            }
        }
    }
    if !clashes.is_empty() {
        return Ok(GrantsRenamed::Clash(clashes));
    }
    let done = GrantsRenamed::Done {
        users: user_updates.len(),
        keys: key_updates.len(),
    };
    let mut grants = tx.open_table(GRANTS)?;
    for (id, bytes) in user_updates {
        grants.insert(id, bytes.as_slice())?;
    }
    let mut keys = tx.open_table(API_KEYS)?;
    for (id, bytes) in key_updates {
        keys.insert(id.as_str(), bytes.as_slice())?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    #[test]
    fn only_grants_naming_the_old_host_change_and_a_clash_changes_nothing() {
        let grants = vec![Grant::new("*", Level::View), Grant::new("old", Level::Operate)];
        let out = renamed(&grants, "old", "new").unwrap().unwrap();
        assert_eq!(
            out,
            vec![Grant::new("*", Level::View), Grant::new("new", Level::Operate)]
        );
        assert!(renamed(&grants, "other", "new").is_none());
        let both = vec![Grant::new("new", Level::View), Grant::new("old", Level::Manage)];
        assert_eq!(renamed(&both, "old", "new"), Some(Err(())));
    }
}
