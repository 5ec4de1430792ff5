//! The append-only, hash-chained event log.
//!
//! Appends from any task go through one channel to one writer thread, which
//! commits whatever has queued up as a single redb transaction (group commit)
//! and then wakes the callers that wait for durability and broadcasts the
//! committed events to live viewers. Nothing here updates or deletes an event.
//! Reading (`query`), checking (`verify`) and exporting live in submodules.

mod checkpoint;
mod export;
mod index;
mod query;
mod tree;
mod verify;
mod writer;

pub use checkpoint::{
    CHECKPOINT_FILE, CheckpointError, Checkpointer, KEY_FILE, SIGN_EVERY, SIGN_IDLE_EVERY, Signed,
    kept as kept_checkpoint,
};
pub use export::{ExportDigest, ExportFormat, csv_header, csv_row};
pub use query::MAX_PAGE;

use crate::model::{ChainStatus, Event, EventFilter, EventPage, EventSeq, NewEvent};
use crate::store::{Store, StoreError};
use crate::tlog::merkle;
use std::sync::{Arc, RwLock};
use thiserror::Error;
use tokio::sync::{broadcast, oneshot};
use writer::Msg;

#[derive(Debug, Error)]
pub enum EventError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the event log is shut down")]
    Closed,
    #[error("the event log could not commit: {0}")]
    Commit(String),
    #[error("event {0} is unreadable: the database is damaged; run `berth events verify`")]
    Corrupt(u64),
    /// A root or proof asked for a size or index the tree does not have.
    #[error("{0}")]
    Proof(String),
    /// The stored tree lacks a node it should have: damaged or tampered with.
    #[error("the event tree is damaged: {0}")]
    Tree(#[from] crate::tlog::ProofError),
}

impl crate::Failure for EventError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            EventError::Store(e) => crate::Failure::kind(e),
            EventError::Closed => crate::ErrorKind::Unavailable,
            EventError::Commit(_) | EventError::Corrupt(_) | EventError::Tree(_) => crate::ErrorKind::Internal,
            EventError::Proof(_) => crate::ErrorKind::Invalid,
        }
    }
}

/// Which events a reader may see (see `access::Caller::sees_event`).
pub type Visible = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

pub type Result<T, E = EventError> = std::result::Result<T, E>;

impl From<redb::StorageError> for EventError {
    fn from(e: redb::StorageError) -> Self {
        EventError::Store(e.into())
    }
}
impl From<redb::TableError> for EventError {
    fn from(e: redb::TableError) -> Self {
        EventError::Store(e.into())
    }
}
impl From<redb::TransactionError> for EventError {
    fn from(e: redb::TransactionError) -> Self {
        EventError::Store(e.into())
    }
}

/// A handle on the log; cheap to clone, shared by every task.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    tx: std::sync::mpsc::Sender<Msg>,
    live: broadcast::Sender<Arc<Event>>,
    chain: RwLock<ChainStatus>,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EventLog {
    /// Opens the log in `store` and starts its writer thread.
    pub fn open(store: &Store) -> Result<EventLog> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (live, _) = broadcast::channel(4096);
        let writer = writer::start(store.clone(), rx, live.clone())?;
        let chain = ChainStatus {
            checked: 0,
            broken_at: None,
            problem: None,
            verified_at_ns: None,
        };
        Ok(EventLog {
            inner: Arc::new(Inner {
                store: store.clone(),
                tx,
                live,
                chain: RwLock::new(chain),
                writer: std::sync::Mutex::new(Some(writer)),
            }),
        })
    }

    /// Appends and waits until the event is durable on disk. For audited
    /// actions, whose caller must not report success before the record exists.
    pub async fn append(&self, event: NewEvent) -> Result<Event> {
        let (done, wait) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Append(event, Some(done)))
            .map_err(|_| EventError::Closed)?;
        wait.await.map_err(|_| EventError::Closed)?
    }

    /// Appends without waiting; the event is committed with the next batch.
    pub fn record(&self, event: NewEvent) {
        if self.inner.tx.send(Msg::Append(event, None)).is_err() {
            tracing::error!("event log is closed; an event was not recorded");
        }
    }

    /// Waits until everything sent before this call is committed and indexed.
    pub async fn flush(&self) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.inner.tx.send(Msg::Flush(done)).map_err(|_| EventError::Closed)?;
        wait.await.map_err(|_| EventError::Closed)
    }

    /// Commits what is queued and stops the writer thread, so that the
    /// database closes cleanly once the last handle is dropped. Appends
    /// after this fail with `Closed`.
    pub async fn close(&self) -> Result<()> {
        let (done, wait) = oneshot::channel();
        if self.inner.tx.send(Msg::Close(done)).is_ok() {
            let _ = wait.await;
        }
        let handle = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| EventError::Commit(e.to_string()))?
                .map_err(|_| EventError::Commit("the writer thread panicked".into()))?;
        }
        Ok(())
    }

    /// Committed events, in order, as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.live.subscribe()
    }

    /// The newest events matching `filter` that are older than `before`.
    pub async fn query(&self, filter: EventFilter, before: Option<EventSeq>, limit: usize) -> Result<EventPage> {
        self.query_visible(filter, before, limit, Arc::new(|_: &Event| true))
            .await
    }

    /// `query`, keeping only the events `visible` accepts (what a caller may see).
    pub async fn query_visible(
        &self,
        filter: EventFilter,
        before: Option<EventSeq>,
        limit: usize,
        visible: Visible,
    ) -> Result<EventPage> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || query::page(store.db(), &filter, before, limit, visible.as_ref()))
            .await
            .map_err(|e| EventError::Commit(e.to_string()))?
    }

    pub async fn get(&self, seq: EventSeq) -> Result<Option<Event>> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || query::get(store.db(), seq))
            .await
            .map_err(|e| EventError::Commit(e.to_string()))?
    }

    /// Every kind logged so far, for the viewer's filter.
    pub async fn kinds(&self) -> Result<Vec<String>> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || query::kinds(store.db()))
            .await
            .map_err(|e| EventError::Commit(e.to_string()))?
    }

    /// How many events the stored Merkle tree covers (all that are
    /// committed, once `flush` returns).
    pub async fn tree_size(&self) -> Result<u64> {
        self.blocking(|db| tree::read(db, |_, size, _| Ok(size))).await
    }

    /// The tree's size and root hash now (after a `flush`).
    pub async fn tree_head(&self) -> Result<(u64, merkle::Hash)> {
        self.blocking(|db| tree::read(db, |_, size, nodes| Ok((size, merkle::root(nodes, size)?))))
            .await
    }

    /// The root of the tree of the first `size` events.
    pub async fn tree_root(&self, size: u64) -> Result<merkle::Hash> {
        self.blocking(move |db| {
            tree::read(db, |_, stored, nodes| {
                tree::within(size, stored)?;
                Ok(merkle::root(nodes, size)?)
            })
        })
        .await
    }

    /// The RFC 6962 proof that the tree of `to` events extends the tree of `from`.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<merkle::Hash>> {
        if from > to {
            return Err(EventError::Proof(format!("from ({from}) is larger than to ({to})")));
        }
        self.blocking(move |db| {
            tree::read(db, |_, stored, nodes| {
                tree::within(to, stored)?;
                Ok(merkle::consistency_proof(nodes, from, to)?)
            })
        })
        .await
    }

    /// Event `seq`'s canonical bytes and its inclusion proof in the tree of
    /// the first `size` events.
    pub async fn inclusion_proof(&self, seq: EventSeq, size: u64) -> Result<(Vec<u8>, Vec<merkle::Hash>)> {
        let seq = seq.0;
        if seq == 0 || seq > size {
            return Err(EventError::Proof(format!(
                "event {seq} is not in a tree of {size} events"
            )));
        }
        self.blocking(move |db| {
            tree::read(db, |tx, stored, nodes| {
                tree::within(size, stored)?;
                let data = tree::leaf_data(tx, seq)?.ok_or(EventError::Corrupt(seq))?;
                Ok((data, merkle::inclusion_proof(nodes, seq - 1, size)?))
            })
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(store.db()))
            .await
            .map_err(|e| EventError::Commit(e.to_string()))?
    }

    /// Walks the whole chain now, rebuilds the Merkle tree from the events
    /// and compares it with the stored one and with `signed` (the latest
    /// checkpoint, when there is one: `Checkpointer::latest`), and
    /// remembers the result.
    pub async fn verify(&self, signed: Option<&Signed>) -> Result<ChainStatus> {
        let store = self.inner.store.clone();
        let signed = signed.map(|s| (s.checkpoint.size, s.checkpoint.root));
        let status = tokio::task::spawn_blocking(move || verify::walk(store.db(), signed))
            .await
            .map_err(|e| EventError::Commit(e.to_string()))??;
        *self.inner.chain.write().unwrap_or_else(|p| p.into_inner()) = status.clone();
        Ok(status)
    }

    /// The result of the last `verify`.
    pub fn chain_status(&self) -> ChainStatus {
        self.inner.chain.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Streams every event matching `filter`, newest first, in pages, to
    /// `sink`; stops early when `sink` returns false. Runs on a blocking thread.
    pub fn export_blocking(
        &self,
        filter: &EventFilter,
        visible: &dyn Fn(&Event) -> bool,
        sink: impl FnMut(&Event) -> bool,
    ) -> Result<u64> {
        export_visible(&self.inner.store, filter, visible, sink)
    }
}

pub use crate::model::decode_canonical;

/// Walks the chain and the tree of the database at `store` (for the CLI,
/// without a writer), against the checkpoint kept in `data_dir` if any.
pub fn verify_store(store: &Store, data_dir: &std::path::Path) -> std::result::Result<ChainStatus, CheckpointError> {
    let signed = checkpoint::kept(data_dir)?;
    Ok(verify::walk(
        store.db(),
        signed.map(|s| (s.checkpoint.size, s.checkpoint.root)),
    )?)
}

/// Streams every event matching `filter`, newest first, to `sink`, reading
/// the store directly (the CLI uses this without starting a writer).
pub fn export_store(store: &Store, filter: &EventFilter, sink: impl FnMut(&Event) -> bool) -> Result<u64> {
    export_visible(store, filter, &|_| true, sink)
}

fn export_visible(
    store: &Store,
    filter: &EventFilter,
    visible: &dyn Fn(&Event) -> bool,
    mut sink: impl FnMut(&Event) -> bool,
) -> Result<u64> {
    let mut before = None;
    let mut count = 0;
    loop {
        let page = query::page(store.db(), filter, before, MAX_PAGE, visible)?;
        for e in &page.events {
            count += 1;
            if !sink(e) {
                return Ok(count);
            }
        }
        match page.next_before {
            Some(next) => before = Some(next),
            None => return Ok(count),
        }
    }
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
