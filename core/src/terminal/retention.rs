//! Keeping all recordings together under `[terminal] recordings_budget_mib`:
//! each session's size is kept in `TERMINAL_RECORDING_SIZES` as its pieces
//! are written (`recorder`); when a session ends, and once at start, the
//! oldest recordings go until the rest take at most nine tenths of the
//! budget. A recording being written is never dropped.
//!
//! A dropped recording leaves its row behind, marked with the time it
//! went: the replay page then says the recording was dropped to keep the
//! budget, not that it was altered. Each drop is recorded as
//! `terminal.recording_dropped` (on the session's host and container, with
//! its `open_seq`); the session's `terminal.close` still holds the SHA-256
//! of what was dropped.

use super::Terminals;
use crate::events::now_ns;
use crate::model::{Actor, EventSeq, NewEvent};
use crate::store::StoreError;
use crate::store::tables::{TERMINAL_RECORDING_SIZES, TERMINAL_RECORDINGS};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableError};
use std::collections::{BTreeMap, HashSet};
use std::sync::MutexGuard;

/// A recording dropped to keep the budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dropped {
    pub open_seq: u64,
    pub bytes: u64,
}

/// Drops the oldest recordings not in `active` while all of them together
/// take more than `budget` bytes, down to nine tenths of it. Blocking.
pub(super) fn prune(db: &redb::Database, budget: u64, active: &HashSet<u64>) -> Result<Vec<Dropped>, StoreError> {
    let tx = db.begin_write()?;
    let mut dropped = Vec::new();
    {
        let mut sizes = tx.open_table(TERMINAL_RECORDING_SIZES)?;
        let mut pieces = tx.open_table(TERMINAL_RECORDINGS)?;
        if sizes.is_empty()? && !pieces.is_empty()? {
            // Recordings stored before sizes were kept: sized once.
            let mut found: BTreeMap<u64, u64> = BTreeMap::new();
            for row in pieces.iter()? {
                let (k, v) = row?;
                *found.entry(k.value().0).or_default() += v.value().len() as u64;
            }
            for (seq, bytes) in found {
                sizes.insert(seq, (bytes, 0))?;
            }
        }
        let kept: Vec<(u64, u64)> = sizes
            .iter()?
            .filter_map(|row| match row {
                Ok((k, v)) => {
                    let (bytes, dropped_at) = v.value();
                    (dropped_at == 0).then(|| Ok((k.value(), bytes)))
                }
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        let mut total: u64 = kept.iter().map(|(_, b)| b).sum();
        if total > budget {
            let low_water = budget - budget / 10;
            let now = now_ns();
            for (seq, bytes) in kept {
                if total <= low_water {
                    break;
                }
                if active.contains(&seq) {
                    continue;
                }
                pieces.retain_in((seq, 0)..=(seq, u32::MAX), |_, _| false)?;
                sizes.insert(seq, (bytes, now))?;
                total -= bytes;
                dropped.push(Dropped { open_seq: seq, bytes });
            }
        }
    }
    tx.commit()?;
    Ok(dropped)
}

/// When the recording of session `open_seq` was dropped (Unix ns), if it was.
pub(super) fn dropped_at(db: &redb::Database, open_seq: u64) -> Result<Option<i64>, StoreError> {
    let tx = db.begin_read()?;
    let sizes = match tx.open_table(TERMINAL_RECORDING_SIZES) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(sizes.get(open_seq)?.map(|v| v.value().1).filter(|&at| at != 0))
}

/// A session whose recording is being written: kept from pruning until dropped.
pub(super) struct Active {
    terminals: Terminals,
    open_seq: u64,
}

impl Active {
    pub fn new(terminals: &Terminals, open_seq: u64) -> Active {
        terminals.active().insert(open_seq);
        Active {
            terminals: terminals.clone(),
            open_seq,
        }
    }

    /// The terminals this session belongs to.
    pub fn terminals(&self) -> &Terminals {
        &self.terminals
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.terminals.active().remove(&self.open_seq);
    }
}

impl Terminals {
    fn active(&self) -> MutexGuard<'_, HashSet<u64>> {
        self.inner.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps all recordings within the budget (see the module's note); each
    /// drop is recorded. A failure is logged: the next session's end tries again.
    pub async fn prune_recordings(&self) {
        let inner = &self.inner;
        let budget = inner.config.recordings_budget;
        let active = self.active().clone();
        let dropped = match inner.store.blocking(move |db| prune(db, budget, &active)).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot keep terminal recordings within their budget");
                return;
            }
        };
        for d in dropped {
            let mut event = NewEvent::new(crate::model::EventKind::TerminalRecordingDropped, Actor::system()).details(
                serde_json::json!({
                    "open_seq": d.open_seq,
                    "bytes": d.bytes,
                    "budget_bytes": budget,
                }),
            );
            // On the session's host and container, as its open event was.
            if let Ok(Some(open)) = inner.events.get(EventSeq(d.open_seq)).await {
                if let Some(host) = open.host {
                    event = event.host(host);
                }
                if let Some(target) = open.target {
                    event = event.target(target);
                }
            }
            tracing::info!(
                open_seq = d.open_seq,
                bytes = d.bytes,
                "dropped a terminal recording to keep the budget"
            );
            if let Err(e) = inner.events.append(event).await {
                tracing::error!(error = %e, open_seq = d.open_seq, "cannot record a dropped terminal recording");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Stores a recording of `bytes` bytes under `seq`, sized as the recorder does.
    fn record(store: &Store, seq: u64, bytes: usize, sized: bool) {
        let tx = store.db().begin_write().unwrap();
        {
            let mut pieces = tx.open_table(TERMINAL_RECORDINGS).unwrap();
            let half = bytes / 2;
            pieces.insert((seq, 0), vec![b'a'; half].as_slice()).unwrap();
            pieces.insert((seq, 1), vec![b'b'; bytes - half].as_slice()).unwrap();
            if sized {
                tx.open_table(TERMINAL_RECORDING_SIZES)
                    .unwrap()
                    .insert(seq, (bytes as u64, 0))
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    fn kept(store: &Store) -> Vec<u64> {
        let tx = store.db().begin_read().unwrap();
        let pieces = tx.open_table(TERMINAL_RECORDINGS).unwrap();
        let mut seqs: Vec<u64> = pieces.iter().unwrap().map(|r| r.unwrap().0.value().0).collect();
        seqs.dedup();
        seqs
    }

    #[test]
    fn the_oldest_recordings_go_first_and_an_active_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.redb")).unwrap();
        for seq in [10, 20, 30, 40, 50] {
            record(&store, seq, 1_000, true);
        }
        // Within the budget: nothing goes.
        assert_eq!(prune(store.db(), 5_000, &HashSet::new()).unwrap(), []);
        // Over 4,000: down to 3,600, the oldest first, 10 still being written.
        let active = HashSet::from([10]);
        let dropped = prune(store.db(), 4_000, &active).unwrap();
        let seqs: Vec<u64> = dropped.iter().map(|d| d.open_seq).collect();
        assert_eq!(seqs, [20, 30]);
        assert!(dropped.iter().all(|d| d.bytes == 1_000));
        assert_eq!(kept(&store), [10, 40, 50]);
        assert!(dropped_at(store.db(), 20).unwrap().is_some());
        assert_eq!(dropped_at(store.db(), 40).unwrap(), None);
        assert_eq!(dropped_at(store.db(), 99).unwrap(), None);
        // A dropped one is not counted again.
        assert_eq!(prune(store.db(), 4_000, &HashSet::new()).unwrap(), []);
    }

    #[test]
    fn recordings_from_before_sizes_were_kept_are_sized_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.redb")).unwrap();
        record(&store, 1, 3_000, false);
        record(&store, 2, 3_000, false);
        let dropped = prune(store.db(), 4_000, &HashSet::new()).unwrap();
        assert_eq!(
            dropped,
            [Dropped {
                open_seq: 1,
                bytes: 3_000
            }]
        );
        assert_eq!(kept(&store), [2]);
    }
}
