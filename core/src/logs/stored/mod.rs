//! Stored container logs: collection switched on per container key
//! (`compose:PROJECT/SERVICE` or `name:CONTAINER`, as expected states are
//! keyed), so it survives re-creation; the lines kept in redb under a
//! budget per key and a total one, oldest dropped first and each drop
//! recorded; searchable (text or regex, time range, one key or all) after
//! the container is gone.
//!
//! Each host's supervisor runs a collector (`collect`) that follows the
//! logs of the containers under collected keys and resumes each where its
//! stored lines end (`seam`); one writer (`writer`, owned by the server)
//! commits what they read in rounds (`write`), a row per line, and seals
//! each key's older rows into deflated blocks (`blocks`); `search` reads
//! both.
//! Switching collection is `Operation::CollectLogs`, recorded with its
//! outcome; reading needs `Operation::ReadLogs` on the host.
//! Not here: the live logs (`logs::hub`), the engine (`hosts`).

mod blocks;
mod collect;
mod seam;
mod search;
mod settings;
mod state;
#[cfg(test)]
mod tests;
mod write;
mod writer;

pub use state::Budgets;
pub use write::Line;

use crate::access::{self, AccessError, Caller, Scope};
use crate::events::{EventError, EventLog};
use crate::hosts::Hosts;
use crate::logs::Matcher;
use crate::model::{
    ErrorKind, HostId, Operation, SearchCursor, StoredHost, StoredKey, StoredKeys, StoredPage, StoredQuery,
};
use crate::store::{Store, StoreError};
use crate::tasks::Stop;
use state::State;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{mpsc, watch};

/// A search gives up (and says where it got to) after this long.
const SEARCH_TIME: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum StoredLogsError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for StoredLogsError {
    fn kind(&self) -> ErrorKind {
        match self {
            StoredLogsError::Access(e) => e.kind(),
            StoredLogsError::Invalid(_) => ErrorKind::Invalid,
            StoredLogsError::NotFound(_) => ErrorKind::NotFound,
            StoredLogsError::Store(e) => e.kind(),
            StoredLogsError::Events(e) => e.kind(),
        }
    }
}

struct Inner {
    store: Store,
    events: EventLog,
    hosts: Hosts,
    state: Mutex<State>,
    tx: mpsc::Sender<writer::Msg>,
    /// Taken by `run`.
    rx: Mutex<Option<mpsc::Receiver<writer::Msg>>>,
    /// Bumped whenever a key's collection is switched, so collectors look again.
    changed: watch::Sender<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stored-logs service; cheap to clone.
#[derive(Clone)]
pub struct StoredLogs {
    inner: Arc<Inner>,
}

impl StoredLogs {
    /// Loads the settings and extents. Blocking.
    pub fn open(store: Store, events: EventLog, hosts: Hosts, budgets: Budgets) -> Result<StoredLogs, StoreError> {
        let state = State::load(store.db(), budgets)?;
        let (tx, rx) = mpsc::channel(writer::QUEUE);
        Ok(StoredLogs {
            inner: Arc::new(Inner {
                store,
                events,
                hosts,
                state: Mutex::new(state),
                tx,
                rx: Mutex::new(Some(rx)),
                changed: watch::channel(0).0,
            }),
        })
    }

    pub fn budgets(&self) -> Budgets {
        self.inner.lock().budgets
    }

    /// The writer: commits what the collectors read until `stop`, then
    /// what is queued, durably. Its owner spawns it once and waits for it.
    pub async fn run(self, stop: Stop) {
        let rx = self.inner.rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        match rx {
            Some(rx) => writer::run(self, rx, stop).await,
            None => tracing::error!(
                task = "stored-logs-writer",
                "started twice; the second one does nothing"
            ),
        }
    }

    /// Runs a collector for every host, present and future, under the
    /// host's supervisor.
    pub fn collect_each_host(&self) {
        let logs = self.clone();
        self.inner
            .hosts
            .on_each_host("log-collect", move |host, stop| collect::run(logs.clone(), host, stop));
    }

    /// The hosts `caller` may read stored logs on (`only`, or all: those
    /// managed now and those with stored logs). Asking for one that is
    /// refused, or for all with none allowed, is a recorded refusal.
    async fn readable(&self, caller: &Caller, only: Option<&str>) -> Result<Vec<String>, StoredLogsError> {
        if let Some(h) = only {
            access::check(&self.inner.events, caller, Operation::ReadLogs, Scope::host(h)).await?;
            let known = self.inner.hosts.get(h).is_ok() || self.inner.lock().keys.values().any(|k| k.host == h);
            if !known {
                return Err(StoredLogsError::NotFound(format!(
                    "there is no host '{h}', and no stored logs of one by that name"
                )));
            }
            return Ok(vec![h.to_string()]);
        }
        let mut all: BTreeSet<String> = self.inner.hosts.all().iter().map(|h| h.id().0.clone()).collect();
        all.extend(self.inner.lock().keys.values().map(|k| k.host.clone()));
        let allowed: Vec<String> = all
            .into_iter()
            .filter(|h| caller.may(Operation::ReadLogs, Some(h)))
            .collect();
        if allowed.is_empty() && !caller.permissions().admin {
            access::check(&self.inner.events, caller, Operation::ReadLogs, Scope::none()).await?;
        }
        Ok(allowed)
    }

    /// Every key of the hosts `caller` may read logs on (or of `host`):
    /// collected or once collected, with how far back each reaches, and
    /// the keys of the hosts' current containers that are not collected.
    pub async fn keys(&self, caller: &Caller, host: Option<&str>) -> Result<StoredKeys, StoredLogsError> {
        let hosts = self.readable(caller, host).await?;
        let state = self.inner.lock();
        let mut keys: HashMap<(String, String), StoredKey> = state
            .keys
            .values()
            .filter(|k| hosts.contains(&k.host))
            .map(|k| ((k.host.clone(), k.key.clone()), state.view(k)))
            .collect();
        let mut out_hosts = Vec::new();
        for h in &hosts {
            let present = self.inner.hosts.get(h).ok();
            if let Some(live) = &present {
                for c in live.containers().iter() {
                    let key = c.expectation_key();
                    let entry = keys
                        .entry((h.clone(), key.clone()))
                        .or_insert_with(|| StoredKey::new(h, &key, state.budgets.per_key));
                    entry.container.get_or_insert_with(|| c.name.clone());
                }
            }
            out_hosts.push(StoredHost {
                host: HostId(h.clone()),
                may_collect: caller.may(Operation::CollectLogs, Some(h)),
                present: present.is_some(),
            });
        }
        let mut keys: Vec<StoredKey> = keys.into_values().collect();
        keys.sort_by(|a, b| (&a.host, &a.key).cmp(&(&b.host, &b.key)));
        Ok(StoredKeys {
            hosts: out_hosts,
            keys,
            total_bytes: state.total_bytes,
            budget_bytes: state.budgets.total,
            key_budget_bytes: state.budgets.per_key,
        })
    }

    /// The newest stored lines that `q` matches, for `caller`: one key, the
    /// keys of one host, or those of every host the caller may read logs on.
    pub async fn search(&self, caller: &Caller, q: &StoredQuery) -> Result<StoredPage, StoredLogsError> {
        let hosts = self.readable(caller, q.host.as_deref()).await?;
        q.validate().map_err(StoredLogsError::Invalid)?;
        let matcher = Matcher::new(&q.search).map_err(StoredLogsError::Invalid)?;
        let targets: Vec<search::Target> = {
            let state = self.inner.lock();
            state
                .keys
                .values()
                .filter(|k| hosts.contains(&k.host) && q.key.as_ref().is_none_or(|key| *key == k.key))
                .filter(|k| k.extent.lines > 0)
                .map(|k| search::Target {
                    key_id: k.settings.id,
                    host: k.host.clone(),
                    key: k.key.clone(),
                    lives: k
                        .lives
                        .iter()
                        .map(|(c, l)| (*c, (l.id.clone(), l.name.clone())))
                        .collect(),
                })
                .collect()
        };
        let window = search::Window {
            since_ns: q.since_ns,
            until_ns: q.until_ns,
            before: q.before.as_deref().and_then(SearchCursor::parse),
            limit: q.limit() as usize,
            deadline: Instant::now() + SEARCH_TIME,
        };
        let store = self.inner.store.clone();
        let found = store
            .blocking(move |db| search::search(db, &targets, &matcher, &window))
            .await?;
        Ok(StoredPage {
            matches: found.matches,
            next_before: found.next_before.map(|c| c.to_string()),
            scanned: found.scanned,
            cut_short: found.cut_short,
        })
    }

    /// Stores `lines` of `container` under the collected key `key` of
    /// `host` as a collector would (through the writer), for benchmarks and
    /// tests; `false` when the key is not collected or berth is stopping.
    pub async fn store_lines(&self, host: &str, key: &str, container: &str, name: &str, lines: Vec<Line>) -> bool {
        let Some((key_id, _)) = self.inner.lock().collected(host).get(key).copied() else {
            return false;
        };
        self.send(write::Batch {
            key_id,
            container: container.to_string(),
            name: name.to_string(),
            lines,
        })
        .await
    }

    /// Waits until everything sent so far is committed; `false` when the
    /// writer has stopped.
    pub async fn flush(&self) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner.tx.send(writer::Msg::Flush(tx)).await.is_ok() && rx.await.is_ok()
    }

    /// Where collecting `container` under key `key_id` resumes (from the
    /// store: call `flush` first).
    async fn resume(&self, key_id: u32, container: &str) -> Result<seam::Seam, StoreError> {
        let life = {
            let state = self.inner.lock();
            state.keys.get(&key_id).and_then(|k| {
                let ctr = *k.by_container.get(container)?;
                Some((ctr, k.lives.get(&ctr)?.last_ts))
            })
        };
        match life {
            Some((ctr, last)) if last != i64::MIN => {
                self.inner
                    .store
                    .blocking(move |db| seam::load(db, key_id, ctr, last))
                    .await
            }
            _ => Ok(seam::Seam::default()),
        }
    }

    async fn send(&self, batch: write::Batch) -> bool {
        self.inner.tx.send(writer::Msg::Lines(batch)).await.is_ok()
    }
}
