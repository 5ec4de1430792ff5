//! What stored logs keep in memory beside the tables: each key's settings
//! and extent, the containers (lives) of each key, the total size. Loaded
//! from the tables at start; changed only as a committed transaction
//! changed the tables (callers clone, change, commit, then swap).
//! Not here: writing lines (`write`), reading them (`search`).

use crate::model::{HostId, StoredKey};
use crate::store::StoreError;
use crate::store::tables::{LOG_BLOCKS, LOG_CONTAINERS, LOG_EXTENTS, LOG_KEYS};
use redb::{ReadableDatabase, ReadableTable, TableError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What a line counts against the budgets beyond its text: its key, its
/// container and stream, and redb's bookkeeping, roughly.
pub(super) const LINE_OVERHEAD: u64 = 32;

/// What a line of `text` counts against the budgets.
pub(super) fn line_size(text: &str) -> u64 {
    text.len() as u64 + LINE_OVERHEAD
}

/// Rows worth this many budget bytes make one sealed block (`blocks`),
/// unless a test asks for less (`State::block_bytes`).
pub(super) const BLOCK_BYTES: u64 = 256 * 1024;

/// The total budget and the default budget of a key, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budgets {
    pub total: u64,
    pub per_key: u64,
}

/// A key's settings as stored in `LOG_KEYS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct KeySettings {
    /// The key's number in the line tables.
    pub id: u32,
    pub collect: bool,
    /// Its own budget; none: the default.
    #[serde(default)]
    pub budget_bytes: Option<u64>,
    /// When collection was last switched on: nothing older is collected
    /// (a container's own resume point may be later).
    pub since_ns: i64,
    pub set_by: String,
    pub set_at_ns: i64,
}

/// The oldest and newest stored line of a key, and how much is stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Extent {
    pub oldest: i64,
    pub newest: i64,
    pub bytes: u64,
    pub lines: u64,
}

impl Extent {
    pub fn row(&self) -> (i64, i64, u64, u64) {
        (self.oldest, self.newest, self.bytes, self.lines)
    }

    /// One more line at `ts`.
    pub fn add(&mut self, ts: i64, size: u64) {
        if self.lines == 0 {
            self.oldest = ts;
            self.newest = ts;
        } else {
            self.oldest = self.oldest.min(ts);
            self.newest = self.newest.max(ts);
        }
        self.bytes += size;
        self.lines += 1;
    }
}

/// One container that wrote lines under a key (one life of the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Life {
    pub id: String,
    pub name: String,
    /// Its newest stored line: where collecting it resumes.
    pub last_ts: i64,
}

#[derive(Clone, Debug)]
pub(super) struct KeyState {
    pub host: String,
    pub key: String,
    pub settings: KeySettings,
    pub extent: Extent,
    /// By container number.
    pub lives: HashMap<u32, Life>,
    /// Container id -> container number.
    pub by_container: HashMap<String, u32>,
    /// The part of `extent.bytes` in sealed blocks (`blocks`).
    pub sealed: u64,
}

impl KeyState {
    /// A key's state before anything is stored.
    pub fn new(host: &str, key: &str, settings: KeySettings) -> KeyState {
        KeyState {
            host: host.to_string(),
            key: key.to_string(),
            settings,
            extent: Extent::default(),
            lives: HashMap::new(),
            by_container: HashMap::new(),
            sealed: 0,
        }
    }

    /// The budget bytes of its lines that are still rows.
    pub fn unsealed(&self) -> u64 {
        self.extent.bytes.saturating_sub(self.sealed)
    }

    /// The name to record events about this key under: the newest life's
    /// name, else the key without its kind.
    pub fn display_name(&self) -> String {
        self.lives
            .values()
            .max_by_key(|l| l.last_ts)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| key_name(&self.key))
    }
}

/// `compose:shop/web` -> `shop/web`, `name:db` -> `db`.
pub(super) fn key_name(key: &str) -> String {
    key.split_once(':').map_or(key, |(_, rest)| rest).to_string()
}

#[derive(Clone, Debug)]
pub(super) struct State {
    pub keys: HashMap<u32, KeyState>,
    pub ids: HashMap<(String, String), u32>,
    pub next_key: u32,
    pub total_bytes: u64,
    pub budgets: Budgets,
    /// Numbers lines within a key and time (see `write`).
    pub seq: u32,
    /// Rows worth this many bytes make a sealed block (`BLOCK_BYTES`;
    /// tests take less).
    pub block_bytes: u64,
}

/// A table, or none when it was never created (an empty one to readers).
pub(super) fn missing_is_empty<T>(r: Result<T, TableError>) -> Result<Option<T>, StoreError> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl State {
    /// Reads the settings, extents and lives. Blocking.
    pub fn load(db: &redb::Database, budgets: Budgets) -> Result<State, StoreError> {
        let tx = db.begin_read()?;
        let mut state = State {
            keys: HashMap::new(),
            ids: HashMap::new(),
            next_key: 1,
            total_bytes: 0,
            budgets,
            seq: 0,
            block_bytes: BLOCK_BYTES,
        };
        if let Some(table) = missing_is_empty(tx.open_table(LOG_KEYS))? {
            for row in table.iter()? {
                let (k, v) = row?;
                let (host, key) = k.value();
                let settings: KeySettings = match serde_json::from_slice(v.value()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(host, key, error = %e, "skipping unreadable stored-log settings");
                        continue;
                    }
                };
                state.next_key = state.next_key.max(settings.id + 1);
                state.ids.insert((host.to_string(), key.to_string()), settings.id);
                state.keys.insert(settings.id, KeyState::new(host, key, settings));
            }
        }
        if let Some(table) = missing_is_empty(tx.open_table(LOG_EXTENTS))? {
            for row in table.iter()? {
                let (k, v) = row?;
                let (oldest, newest, bytes, lines) = v.value();
                if let Some(ks) = state.keys.get_mut(&k.value()) {
                    ks.extent = Extent {
                        oldest,
                        newest,
                        bytes,
                        lines,
                    };
                    state.total_bytes += bytes;
                }
            }
        }
        if let Some(table) = missing_is_empty(tx.open_table(LOG_BLOCKS))? {
            for row in table.iter()? {
                let (k, v) = row?;
                let (key_id, _, _) = k.value();
                if let Some(ks) = state.keys.get_mut(&key_id) {
                    ks.sealed += v.value().2;
                }
            }
        }
        if let Some(table) = missing_is_empty(tx.open_table(LOG_CONTAINERS))? {
            for row in table.iter()? {
                let (k, v) = row?;
                let (key_id, ctr) = k.value();
                let (id, name, last_ts) = v.value();
                if let Some(ks) = state.keys.get_mut(&key_id) {
                    ks.by_container.insert(id.to_string(), ctr);
                    ks.lives.insert(
                        ctr,
                        Life {
                            id: id.to_string(),
                            name: name.to_string(),
                            last_ts,
                        },
                    );
                }
            }
        }
        Ok(state)
    }

    /// The budget of key `id`.
    pub fn budget_of(&self, ks: &KeyState) -> u64 {
        ks.settings.budget_bytes.unwrap_or(self.budgets.per_key)
    }

    /// The key as the page and the API show it.
    pub fn view(&self, ks: &KeyState) -> StoredKey {
        let stored = ks.extent.lines > 0;
        StoredKey {
            host: HostId(ks.host.clone()),
            key: ks.key.clone(),
            collect: ks.settings.collect,
            budget_bytes: self.budget_of(ks),
            own_budget: ks.settings.budget_bytes.is_some(),
            since_ns: Some(ks.settings.since_ns),
            oldest_ns: stored.then_some(ks.extent.oldest),
            newest_ns: stored.then_some(ks.extent.newest),
            lines: ks.extent.lines,
            bytes: ks.extent.bytes,
            container: None,
        }
    }

    /// The collected keys of `host`: key -> (number, collected since).
    pub fn collected(&self, host: &str) -> HashMap<String, (u32, i64)> {
        self.keys
            .values()
            .filter(|k| k.host == host && k.settings.collect)
            .map(|k| (k.key.clone(), (k.settings.id, k.settings.since_ns)))
            .collect()
    }
}
