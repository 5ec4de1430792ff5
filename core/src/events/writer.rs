//! The single writer: drains the queue, commits one transaction per batch,
//! then answers the waiting callers and broadcasts what was committed.

use super::{EventError, codec, now_ns};
use crate::model::{Event, Hash32, NewEvent, Outcome};
use crate::store::Store;
use crate::store::tables::{EVENT_INDEX, EVENT_KINDS, EVENTS, META};
use redb::{ReadableDatabase, ReadableTable};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// At most this many events go into one transaction.
const MAX_BATCH: usize = 8192;

pub(super) enum Msg {
    Append(NewEvent, Option<oneshot::Sender<Result<Event, EventError>>>),
    Flush(oneshot::Sender<()>),
    /// Commit what is queued, answer, and stop: the thread lets go of the file.
    Close(oneshot::Sender<()>),
}

/// Index fields: the first element of an `EVENT_INDEX` key.
pub(super) const IX_KIND: u8 = 1;
pub(super) const IX_ACTOR: u8 = 2;
pub(super) const IX_HOST: u8 = 3;
pub(super) const IX_TARGET: u8 = 4;
/// Only `denied` and `error` are indexed: `ok` is most events, found by scanning.
pub(super) const IX_OUTCOME: u8 = 5;

/// Where the chain ends: the next event links to this.
struct Head {
    seq: u64,
    ts_ns: i64,
    hash: Hash32,
}

pub(super) fn start(
    store: Store,
    rx: mpsc::UnboundedReceiver<Msg>,
    live: broadcast::Sender<Arc<Event>>,
) -> Result<std::thread::JoinHandle<()>, EventError> {
    let head = read_head(&store)?;
    std::thread::Builder::new()
        .name("event-writer".into())
        .spawn(move || run(store, rx, live, head))
        .map_err(|e| EventError::Commit(format!("cannot start the writer thread: {e}")))
}

fn read_head(store: &Store) -> Result<Head, EventError> {
    let tx = store.db().begin_read()?;
    let events = match tx.open_table(EVENTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Ok(Head { seq: 0, ts_ns: 0, hash: Hash32::default() });
        }
        Err(e) => return Err(e.into()),
    };
    match events.last()? {
        None => Ok(Head { seq: 0, ts_ns: 0, hash: Hash32::default() }),
        Some((seq, record)) => {
            let seq = seq.value();
            let e = codec::decode(record.value()).ok_or(EventError::Corrupt(seq))?;
            Ok(Head { seq, ts_ns: e.ts_ns, hash: e.hash })
        }
    }
}

fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Msg>, live: broadcast::Sender<Arc<Event>>, mut head: Head) {
    tracing::debug!(head = head.seq, "event writer started");
    let mut batch = Vec::new();
    let mut flushes = Vec::new();
    let mut closing = None;
    while let Some(first) = rx.blocking_recv() {
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
            commit(&store, &mut head, &mut batch, &live);
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if let Some(done) = closing.take() {
            rx.close();
            drop(store);
            let _ = done.send(());
            break;
        }
    }
    tracing::debug!(head = head.seq, "event writer stopped");
}

type Batch = Vec<(NewEvent, Option<oneshot::Sender<Result<Event, EventError>>>)>;

fn commit(store: &Store, head: &mut Head, batch: &mut Batch, live: &broadcast::Sender<Arc<Event>>) {
    let mut next = Head { seq: head.seq, ts_ns: head.ts_ns, hash: head.hash };
    let result = write(store, &mut next, batch);
    match result {
        Ok(events) => {
            *head = next;
            for ((_, done), event) in batch.drain(..).zip(events) {
                let event = Arc::new(event);
                if let Some(done) = done {
                    let _ = done.send(Ok((*event).clone()));
                }
                let _ = live.send(event);
            }
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

fn write(store: &Store, head: &mut Head, batch: &Batch) -> Result<Vec<Event>, EventError> {
    let tx = store.db().begin_write()?;
    let mut committed = Vec::with_capacity(batch.len());
    {
        let mut events = tx.open_table(EVENTS)?;
        let mut index = tx.open_table(EVENT_INDEX)?;
        let mut kinds: HashMap<&str, u64> = HashMap::new();
        let mut actor_text = String::new();
        // The clock may step back; the log's time never does.
        let ts_ns = now_ns().max(head.ts_ns);
        for (e, _) in batch {
            let seq = head.seq + 1;
            let (record, hash) = codec::encode(seq, ts_ns, e, &head.hash);
            events.insert(seq, record.as_slice())?;
            index.insert((IX_KIND, e.kind.as_str(), seq), ())?;
            actor_text.clear();
            use std::fmt::Write;
            let _ = write!(actor_text, "{}", e.actor);
            index.insert((IX_ACTOR, actor_text.as_str(), seq), ())?;
            if let Some(h) = &e.host {
                index.insert((IX_HOST, h.as_str(), seq), ())?;
            }
            if let Some(t) = &e.target {
                index.insert((IX_TARGET, t.as_str(), seq), ())?;
            }
            if !matches!(e.outcome, Outcome::Ok) {
                index.insert((IX_OUTCOME, e.outcome.label(), seq), ())?;
            }
            *kinds.entry(e.kind.as_str()).or_default() += 1;
            committed.push(Event {
                seq: crate::model::EventSeq(seq),
                ts_ns,
                kind: e.kind.clone(),
                actor: e.actor.clone(),
                source: e.source.clone(),
                host: e.host.clone(),
                target: e.target.clone(),
                outcome: e.outcome.clone(),
                duration_us: e.duration_us,
                details: e.details.clone(),
                prev_hash: head.hash,
                hash,
            });
            *head = Head { seq, ts_ns, hash };
        }
        let mut kind_table = tx.open_table(EVENT_KINDS)?;
        for (kind, n) in kinds {
            let old = kind_table.get(kind)?.map_or(0, |v| v.value());
            kind_table.insert(kind, old + n)?;
        }
        let mut meta = tx.open_table(META)?;
        meta.insert("event_head", head.seq.to_string().as_str())?;
    }
    tx.commit().map_err(|e| EventError::Commit(e.to_string()))?;
    Ok(committed)
}
