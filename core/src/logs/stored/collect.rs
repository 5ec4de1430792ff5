//! One host's collector, run by the host's supervisor: it follows the logs
//! of every running container under a collected key (new ones as they
//! start, from the host's shared container list), reads a stopped one's to
//! its end once per life (a container that ran and exited between two
//! looks is not missed), and hands the lines to the writer in batches.
//! Each container resumes at its seam (`seam`): after a berth restart, a
//! broken stream, a restart of the container; a re-created container is a
//! new life of its key and starts when collection did. The readers are
//! tasks of the collector, stopped with it (host removed, berth stopping)
//! or when their key's collection is switched off.

use super::StoredLogs;
use super::seam::Seam;
use super::write::{Batch, Line};
use crate::hosts::Host;
use crate::model::{Container, LogQuery};
use crate::tasks::Stop;
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::{AbortHandle, JoinSet};

/// A container whose stream ended is not read again sooner than this, and
/// the collector looks again at least this often.
const RETRY: Duration = Duration::from_secs(2);
/// A reader hands over its lines when it has this many...
const BATCH_LINES: usize = 512;
/// ... or its first waited this long.
const BATCH_WAIT: Duration = Duration::from_millis(200);

struct Reader {
    key_id: u32,
    generation: u64,
    abort: AbortHandle,
}

/// How a reader ended: its seam, whether the stream ended by itself.
struct Ended {
    container: String,
    generation: u64,
    seam: Option<Seam>,
    clean: bool,
}

struct Collector {
    logs: StoredLogs,
    host: Arc<Host>,
    readers: HashMap<String, Reader>,
    set: JoinSet<Ended>,
    generation: u64,
    /// Where each container's collection stands (kept between streams).
    seams: HashMap<String, Seam>,
    /// Stopped containers read to their end in their current life.
    drained: HashSet<String>,
    ended_at: HashMap<String, Instant>,
}

pub(super) async fn run(logs: StoredLogs, host: Arc<Host>, mut stop: Stop) {
    let task = format!("log-collect:{}", host.id());
    tracing::debug!(task, "started");
    let mut lists = host.subscribe_containers();
    let mut status = host.subscribe_status();
    let mut changed = logs.inner.changed.subscribe();
    let mut events = logs.inner.events.subscribe();
    let mut events_open = true;
    let mut tick = tokio::time::interval(RETRY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut c = Collector {
        logs,
        host,
        readers: HashMap::new(),
        set: JoinSet::new(),
        generation: 0,
        seams: HashMap::new(),
        drained: HashSet::new(),
        ended_at: HashMap::new(),
    };
    loop {
        c.sync();
        tokio::select! {
            r = lists.changed() => if r.is_err() { break },
            r = status.changed() => if r.is_err() { break },
            r = changed.changed() => if r.is_err() { break },
            e = events.recv(), if events_open => match e {
                Ok(e) => c.note_event(&e),
                // Missed events may have been starts: read every stopped one again.
                Err(RecvError::Lagged(_)) => c.drained.clear(),
                Err(RecvError::Closed) => events_open = false,
            },
            Some(done) = c.set.join_next(), if !c.set.is_empty() => {
                if let Ok(ended) = done {
                    c.ended(ended, &task);
                }
            }
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
    }
    c.set.shutdown().await;
    tracing::debug!(task, "stopped");
}

impl Collector {
    /// A container started again: its stopped life is read anew.
    fn note_event(&mut self, e: &crate::model::Event) {
        if crate::model::EventKind::ContainerStart.is(&e.kind)
            && e.host.as_deref() == Some(self.host.id().0.as_str())
            && let Some(id) = e.details.get("id").and_then(|v| v.as_str())
        {
            self.drained.remove(id);
        }
    }

    fn ended(&mut self, ended: Ended, task: &str) {
        let current = self
            .readers
            .get(&ended.container)
            .is_some_and(|r| r.generation == ended.generation);
        if !current {
            return;
        }
        self.readers.remove(&ended.container);
        if let Some(seam) = ended.seam {
            self.seams.insert(ended.container.clone(), seam);
        }
        if ended.clean {
            self.drained.insert(ended.container.clone());
        } else {
            tracing::debug!(task, container = %ended.container, "a log stream broke; it resumes shortly");
        }
        self.ended_at.insert(ended.container, Instant::now());
    }

    /// Starts a reader for each container under a collected key that needs
    /// one, and stops those whose key is no longer collected.
    fn sync(&mut self) {
        let collected = self.logs.inner.lock().collected(&self.host.id().0);
        let keys: HashSet<u32> = collected.values().map(|(id, _)| *id).collect();
        self.readers.retain(|_, r| {
            let keep = keys.contains(&r.key_id);
            if !keep {
                r.abort.abort();
            }
            keep
        });
        if !self.host.status().reachable {
            return;
        }
        let list = self.host.containers();
        let present: HashSet<&str> = list.iter().map(|c| c.id.as_str()).collect();
        self.seams.retain(|id, _| present.contains(id.as_str()));
        self.drained.retain(|id| present.contains(id.as_str()));
        self.ended_at.retain(|id, _| present.contains(id.as_str()));
        for c in list.iter() {
            let Some(&(key_id, since)) = collected.get(&c.expectation_key()) else {
                continue;
            };
            if self.readers.contains_key(&c.id) {
                continue;
            }
            let live = matches!(c.state.as_str(), "running" | "paused" | "restarting");
            let readable = live || matches!(c.state.as_str(), "exited" | "dead");
            if !readable || (!live && self.drained.contains(&c.id)) {
                continue;
            }
            if self.ended_at.get(&c.id).is_some_and(|t| t.elapsed() < RETRY) {
                continue;
            }
            self.start(c, key_id, since, live);
        }
    }

    fn start(&mut self, c: &Container, key_id: u32, since: i64, follow: bool) {
        self.generation += 1;
        let generation = self.generation;
        let job = Job {
            logs: self.logs.clone(),
            host: self.host.clone(),
            container: c.id.clone(),
            name: c.name.clone(),
            key_id,
            since,
            follow,
        };
        let seam = self.seams.remove(&c.id);
        let abort = self.set.spawn(job.read(seam, generation));
        self.readers.insert(
            c.id.clone(),
            Reader {
                key_id,
                generation,
                abort,
            },
        );
    }
}

/// What one reader reads.
struct Job {
    logs: StoredLogs,
    host: Arc<Host>,
    container: String,
    name: String,
    key_id: u32,
    since: i64,
    follow: bool,
}

impl Job {
    /// Reads the container's log from its seam on (to its end, or
    /// following it), handing new lines to the writer in batches.
    async fn read(self, seam: Option<Seam>, generation: u64) -> Ended {
        let mut ended = Ended {
            container: self.container.clone(),
            generation,
            seam: None,
            clean: false,
        };
        let mut seam = match seam {
            Some(s) => s,
            None => {
                // What was sent before must be in the store to resume from it.
                if !self.logs.flush().await {
                    return ended;
                }
                match self.logs.resume(self.key_id, &self.container).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(container = %self.container, error = %e, "cannot read where its logs end");
                        return ended;
                    }
                }
            }
        };
        let query = LogQuery {
            tail: None,
            since_ns: Some(seam.open(self.since)),
            until_ns: None,
            follow: self.follow,
        };
        let mut stream = self.host.engine_logs(&self.container, &query);
        let mut lines: Vec<Line> = Vec::new();
        let mut due = tokio::time::Instant::now();
        let clean = loop {
            let next = if lines.is_empty() {
                stream.next().await
            } else {
                match tokio::time::timeout_at(due, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        if !self.hand_over(&mut lines).await {
                            break false;
                        }
                        continue;
                    }
                }
            };
            match next {
                Some(Ok(line)) => {
                    if !seam.admit(line.ts_ns, line.stream, &line.text) {
                        continue;
                    }
                    if lines.is_empty() {
                        due = tokio::time::Instant::now() + BATCH_WAIT;
                    }
                    lines.push(Line {
                        ts_ns: line.ts_ns,
                        stream: line.stream,
                        text: line.text,
                    });
                    if lines.len() >= BATCH_LINES && !self.hand_over(&mut lines).await {
                        break false;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(container = %self.container, error = %e, "log stream ended");
                    let _ = self.hand_over(&mut lines).await;
                    break false;
                }
                None => break self.hand_over(&mut lines).await,
            }
        };
        ended.seam = Some(seam);
        ended.clean = clean;
        ended
    }

    /// Sends the lines to the writer; `false` when it has stopped.
    async fn hand_over(&self, lines: &mut Vec<Line>) -> bool {
        if lines.is_empty() {
            return true;
        }
        self.logs
            .send(Batch {
                key_id: self.key_id,
                container: self.container.clone(),
                name: self.name.clone(),
                lines: std::mem::take(lines),
            })
            .await
    }
}
