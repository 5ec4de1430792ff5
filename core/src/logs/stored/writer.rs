//! The one writer of stored lines: it takes the collectors' batches from a
//! bounded channel (a collector that outruns it waits, and so reads its
//! engine stream more slowly; nothing is lost or held without bound),
//! gathers what arrives together, and commits each round in one
//! transaction without fsync; once a minute, and when it stops, a durable
//! commit makes everything before it safe. A power loss costs at most that
//! minute, which the collectors read again from the engine at the next
//! start (each container's resume point is committed with its lines).
//! Each drop a round made is recorded as one `logs.dropped` event per key.

use super::StoredLogs;
use super::write::{self, Batch, Dropped};
use crate::model::{Actor, NewEvent};
use crate::store::StoreError;
use crate::tasks::Stop;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How many batches may wait for the writer.
pub(super) const QUEUE: usize = 256;
/// A round takes what arrives within this after its first batch...
const GATHER: Duration = Duration::from_millis(100);
/// ... up to this many lines.
const ROUND_LINES: usize = 16_384;
/// A durable commit at least this often.
pub(super) const DURABLE_EVERY: Duration = Duration::from_secs(60);

pub(super) enum Msg {
    Lines(Batch),
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
}

/// Runs until `stop`; then commits what is queued, durably.
pub(super) async fn run(logs: StoredLogs, mut rx: mpsc::Receiver<Msg>, mut stop: Stop) {
    let task = "stored-logs-writer";
    tracing::info!(task, "started");
    let mut last_durable = Instant::now();
    let mut undurable = false;
    let mut tick = tokio::time::interval(DURABLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let first = tokio::select! {
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
            _ = tick.tick() => {
                if undurable && last_durable.elapsed() >= DURABLE_EVERY {
                    commit(&logs, Vec::new(), true, task).await;
                    last_durable = Instant::now();
                    undurable = false;
                }
                continue;
            }
            _ = stop.changed() => break,
        };
        let mut batches = Vec::new();
        let mut flushes = Vec::new();
        let mut lines = 0;
        take(first, &mut batches, &mut flushes, &mut lines);
        let until = tokio::time::Instant::now() + GATHER;
        while lines < ROUND_LINES && flushes.is_empty() {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(m)) => take(m, &mut batches, &mut flushes, &mut lines),
                Ok(None) | Err(_) => break,
            }
        }
        let durable = last_durable.elapsed() >= DURABLE_EVERY;
        if !batches.is_empty() || durable {
            commit(&logs, batches, durable, task).await;
            if durable {
                last_durable = Instant::now();
                undurable = false;
            } else {
                undurable = true;
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
    // What is queued still goes in, and everything becomes durable.
    rx.close();
    let mut batches = Vec::new();
    let mut flushes = Vec::new();
    let mut lines = 0;
    while let Ok(m) = rx.try_recv() {
        take(m, &mut batches, &mut flushes, &mut lines);
    }
    commit(&logs, batches, true, task).await;
    for f in flushes {
        let _ = f.send(());
    }
    tracing::info!(task, "stopped");
}

fn take(m: Msg, batches: &mut Vec<Batch>, flushes: &mut Vec<oneshot::Sender<()>>, lines: &mut usize) {
    match m {
        Msg::Lines(b) => {
            *lines += b.lines.len();
            batches.push(b);
        }
        Msg::Flush(f) => flushes.push(f),
    }
}

/// One round; a failure is logged (its lines are read again from the
/// engine at the next start, as their resume points did not move).
async fn commit(logs: &StoredLogs, batches: Vec<Batch>, durable: bool, task: &str) {
    match logs.write(batches, durable).await {
        Ok(dropped) => record(logs, dropped),
        Err(e) => tracing::warn!(task, error = %e, "cannot store log lines"),
    }
}

/// One `logs.dropped` event per key the round dropped lines of.
pub(super) fn record(logs: &StoredLogs, dropped: Vec<Dropped>) {
    for d in dropped {
        let over = match (d.over_key, d.over_total) {
            (true, true) => "key and total",
            (true, false) => "key",
            _ => "total",
        };
        tracing::info!(
            host = d.host,
            key = d.key,
            lines = d.lines,
            bytes = d.bytes,
            over,
            "dropped the oldest stored log lines"
        );
        logs.inner.events.record(
            NewEvent::new(crate::model::EventKind::LogsDropped, Actor::system())
                .host(d.host.clone())
                .target(format!("container:{}", d.name))
                .details(serde_json::json!({
                    "key": d.key, "lines": d.lines, "bytes": d.bytes,
                    "from_ns": d.from_ns, "to_ns": d.to_ns, "over_budget": over,
                })),
        );
    }
}

impl StoredLogs {
    /// Writes a round under the state's lock (blocking thread) and swaps
    /// in the state after it.
    pub(super) async fn write(&self, batches: Vec<Batch>, durable: bool) -> Result<Vec<Dropped>, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut state = inner.lock();
            let (next, dropped) = write::write(inner.store.db(), &state, &batches, durable)?;
            *state = next;
            Ok(dropped)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}
