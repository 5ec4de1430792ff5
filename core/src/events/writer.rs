//! The single writer thread. It drains the queue, commits the batch's events
//! in one durable transaction (group commit), answers the waiting callers and
//! broadcasts what was committed.
//!
//! The index and the Merkle tree trail: postings and tree nodes collect in
//! memory and are written in their own transaction, without an fsync of
//! their own, once enough have gathered or a moment has passed. A durable
//! append therefore writes only the event's pages. Readers scan the few
//! events past `indexed_head`; after a crash the missing postings and nodes
//! are rebuilt from the events at start-up.

use super::index::Pending;
use super::tree::{self, Frontier};
use super::{EventError, now_ns};
use crate::model::codec;
use crate::model::{Event, EventSeq, Hash32, NewEvent};
use crate::store::Store;
use crate::store::tables::EVENTS;
use crate::tlog::merkle;
use redb::{Durability, ReadableDatabase, ReadableTable};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, oneshot};

/// At most this many events go into one transaction.
const MAX_BATCH: usize = 8192;
/// The index is written once this many events wait for it...
const INDEX_EVERY_EVENTS: usize = 4096;
/// ...or once the oldest has waited this long.
const INDEX_EVERY: Duration = Duration::from_millis(200);

// Append is nearly every message: boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub(super) enum Msg {
    Append(NewEvent, Option<oneshot::Sender<Result<Event, EventError>>>),
    Flush(oneshot::Sender<()>),
    /// Commit what is queued, index it durably, answer, and stop: the thread
    /// lets go of the file.
    Close(oneshot::Sender<()>),
}

/// Where the chain ends: the next event links to this.
struct Head {
    seq: u64,
    ts_ns: i64,
    hash: Hash32,
}

struct Writer {
    store: Store,
    live: broadcast::Sender<Arc<Event>>,
    head: Head,
    pending: Pending,
    /// The Merkle tree's right edge; its new nodes are written with the index.
    tree: Frontier,
    /// The stored `tree_size` differs from `tree.size()` (it ran past the
    /// events, or trails them).
    tree_dirty: bool,
    pending_since: Option<Instant>,
    /// Reused for every record's encoding.
    buf: Vec<u8>,
}

pub(super) fn start(
    store: Store,
    rx: Receiver<Msg>,
    live: broadcast::Sender<Arc<Event>>,
) -> Result<std::thread::JoinHandle<()>, EventError> {
    let head = read_head(&store)?;
    let (tree, tree_dirty) = {
        let tx = store.db().begin_read()?;
        let tree = Frontier::resume(&tx, head.seq)?;
        let dirty = tree::tree_size(&tx)? != tree.size();
        (tree, dirty)
    };
    let mut writer = Writer {
        store,
        live,
        head,
        pending: Pending::default(),
        tree,
        tree_dirty,
        pending_since: None,
        buf: Vec::new(),
    };
    writer.forget_removed_tail()?;
    writer.reindex_tail()?;
    std::thread::Builder::new()
        .name("event-writer".into())
        .spawn(move || writer.run(rx))
        .map_err(|e| EventError::Commit(format!("cannot start the writer thread: {e}")))
}

fn read_head(store: &Store) -> Result<Head, EventError> {
    let tx = store.db().begin_read()?;
    let empty = Head {
        seq: 0,
        ts_ns: 0,
        hash: Hash32::default(),
    };
    let events = match tx.open_table(EVENTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(empty),
        Err(e) => return Err(e.into()),
    };
    match events.last()? {
        None => Ok(empty),
        Some((seq, record)) => {
            let seq = seq.value();
            let e = codec::decode(record.value()).ok_or(EventError::Corrupt(seq))?;
            Ok(Head {
                seq,
                ts_ns: e.ts_ns,
                hash: e.hash,
            })
        }
    }
}

/// The seq up to which the index is written.
pub(super) fn indexed_head(tx: &redb::ReadTransaction) -> Result<u64, EventError> {
    Ok(crate::store::meta_get(tx, "indexed_head")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

impl Writer {
    /// When events were removed from the end of the log (the index or the
    /// tree reach past its last event), drops what the index holds of them
    /// and records the cut as the first event of this run, so that the log
    /// itself says so and the next events start afresh. (The checkpoints
    /// refuse to sign over the cut: see `checkpoint`.)
    fn forget_removed_tail(&mut self) -> Result<(), EventError> {
        let head = self.head.seq;
        let reached = {
            let tx = self.store.db().begin_read()?;
            indexed_head(&tx)?.max(tree::tree_size(&tx)?)
        };
        if reached <= head {
            return Ok(());
        }
        let tx = self.store.db().begin_write()?;
        let dropped = super::index::drop_beyond(&tx, head)?;
        tx.commit().map_err(|e| EventError::Commit(e.to_string()))?;
        let first = head + 1;
        tracing::error!(
            first,
            last = reached,
            dropped,
            "events were removed from the end of the log"
        );
        let mut batch = vec![(
            NewEvent::new(crate::model::EventKind::LogTruncated, crate::model::Actor::system())
                .outcome(crate::model::Outcome::Error(format!(
                    "events {first} to {reached} were removed from the end of the log while berth was stopped"
                )))
                .details(serde_json::json!({ "first": first, "last": reached })),
            None,
        )];
        self.commit(&mut batch);
        Ok(())
    }

    /// Indexes the events a crash left unindexed.
    fn reindex_tail(&mut self) -> Result<(), EventError> {
        let tx = self.store.db().begin_read()?;
        let from = indexed_head(&tx)? + 1;
        if from > self.head.seq {
            return self.write_index(Durability::Immediate);
        }
        let events = tx.open_table(EVENTS)?;
        for row in events.range(from..)? {
            let (k, v) = row?;
            let e = codec::decode(v.value()).ok_or(EventError::Corrupt(k.value()))?;
            self.pending.add(&e);
        }
        tracing::info!(from, to = self.head.seq, "indexed events a previous run left unindexed");
        self.write_index(Durability::Immediate)
    }

    fn run(mut self, rx: Receiver<Msg>) {
        tracing::debug!(head = self.head.seq, "event writer started");
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut closing = None;
        loop {
            let first = match self.pending_since {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(since) => rx.recv_timeout(INDEX_EVERY.saturating_sub(since.elapsed())),
            };
            let first = match first {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    self.index_now(Durability::None);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Append(e, done) => batch.push((e, done)),
                    Msg::Flush(done) => flushes.push(done),
                    Msg::Close(done) => closing = Some(done),
                }
                if batch.len() < MAX_BATCH && closing.is_none() {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
            }
            if self.pending.events >= INDEX_EVERY_EVENTS || !flushes.is_empty() {
                self.index_now(Durability::None);
            }
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
            if let Some(done) = closing.take() {
                self.index_now(Durability::Immediate);
                drop(rx);
                drop(self);
                let _ = done.send(());
                return;
            }
        }
        self.index_now(Durability::Immediate);
        tracing::debug!("event writer stopped");
    }

    fn index_now(&mut self, durability: Durability) {
        if let Err(e) = self.write_index(durability) {
            // The events are safe; the index is rebuilt from them at the next start.
            tracing::error!(error = %e, "cannot write the event index");
        }
    }

    fn write_index(&mut self, durability: Durability) -> Result<(), EventError> {
        self.pending_since = None;
        if self.pending.is_empty() && !self.tree.has_pending() && !self.tree_dirty {
            return Ok(());
        }
        let mut tx = self.store.db().begin_write()?;
        tx.set_durability(durability)
            .map_err(|e| EventError::Commit(e.to_string()))?;
        if !self.pending.is_empty() {
            self.pending.write(&tx)?;
        }
        self.tree.write(&tx)?;
        self.tree_dirty = false;
        tx.commit().map_err(|e| EventError::Commit(e.to_string()))?;
        Ok(())
    }

    fn commit(&mut self, batch: &mut Batch) {
        let prev = Head {
            seq: self.head.seq,
            ts_ns: self.head.ts_ns,
            hash: self.head.hash,
        };
        match self.write_events(batch) {
            Ok((hashes, leaves)) => {
                for leaf in leaves {
                    self.tree.push(leaf);
                }
                let (mut seq, mut prev_hash) = (prev.seq, prev.hash);
                for ((e, done), hash) in batch.drain(..).zip(hashes) {
                    seq += 1;
                    let event = Event {
                        seq: EventSeq(seq),
                        ts_ns: self.head.ts_ns,
                        kind: e.kind,
                        actor: e.actor,
                        source: e.source,
                        host: e.host,
                        target: e.target,
                        outcome: e.outcome,
                        duration_us: e.duration_us,
                        details: e.details,
                        prev_hash,
                        hash,
                    };
                    prev_hash = hash;
                    self.pending.add(&event);
                    let event = Arc::new(event);
                    if let Some(done) = done {
                        let _ = done.send(Ok((*event).clone()));
                    }
                    let _ = self.live.send(event);
                }
                self.pending_since.get_or_insert_with(Instant::now);
            }
            Err(e) => {
                let message = e.to_string();
                tracing::error!(error = %message, events = batch.len(), "event batch not committed");
                for (_, done) in batch.drain(..) {
                    if let Some(done) = done {
                        let _ = done.send(Err(EventError::Commit(message.clone())));
                    }
                }
            }
        }
    }

    /// One durable transaction with the batch's events, and nothing else (the
    /// fewer pages a commit writes, the sooner its fsync returns). The head
    /// moves only once it is committed. Returns each event's chain hash and
    /// Merkle leaf hash.
    fn write_events(&mut self, batch: &Batch) -> Result<(Vec<Hash32>, Vec<merkle::Hash>), EventError> {
        let tx = self.store.db().begin_write()?;
        let mut hashes = Vec::with_capacity(batch.len());
        let mut leaves = Vec::with_capacity(batch.len());
        let (mut seq, mut hash) = (self.head.seq, self.head.hash);
        // The clock may step back; the log's time never does.
        let ts_ns = now_ns().max(self.head.ts_ns);
        {
            let mut events = tx.open_table(EVENTS)?;
            for (e, _) in batch {
                seq += 1;
                hash = codec::encode_into(&mut self.buf, seq, ts_ns, e, &hash);
                events.insert(seq, self.buf.as_slice())?;
                hashes.push(hash);
                leaves.push(tree::record_leaf(&self.buf).unwrap_or_default());
            }
        }
        tx.commit().map_err(|e| EventError::Commit(e.to_string()))?;
        self.head = Head { seq, ts_ns, hash };
        Ok((hashes, leaves))
    }
}

type Batch = Vec<(NewEvent, Option<oneshot::Sender<Result<Event, EventError>>>)>;
