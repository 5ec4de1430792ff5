//! One container's live log as every follower shares it: the ring of its
//! last lines, a broadcast of each new batch (and of the stream's end), and
//! who follows. A follower takes the ring and subscribes under one lock, so
//! its backfill and the live batches meet without a gap or a line twice.
//! Each follower has a bounded place in the broadcast: one that falls
//! behind skips what it missed and is told how many lines (`Event::Gap`);
//! the others, and the engine stream, never wait for it.
//! `HostChannels` holds one host's channels by container id.
//! Not here: reading the engine (`stream`), or when a channel is opened
//! and by whom (`hub`).

use super::batch::Batch;
use super::ring::{Ring, Snapshot};
use crate::engine::EngineError;
use crate::model::LogLine;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;

/// What the broadcast carries.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    Lines(Arc<Batch>),
    /// The engine's stream ended (the container stopped, the host is
    /// unreachable); more may follow when it starts again.
    End {
        at_seq: u64,
        reason: Arc<str>,
    },
    /// Nothing more will come (the container was removed, the host too,
    /// berth is stopping, or nobody follows any more).
    Closed {
        at_seq: u64,
        reason: Arc<str>,
    },
}

/// Where the channel is in its life.
#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// Reading the container's last lines into the ring.
    Loading,
    Ready,
    /// The first reading failed (no such container, the host is down...).
    Failed(EngineError),
    Closed,
}

pub(crate) struct Channel {
    /// The container's full id.
    pub(crate) container: Arc<str>,
    state: Mutex<State>,
    tx: broadcast::Sender<Item>,
    phase: watch::Sender<Phase>,
    followers: watch::Sender<usize>,
}

struct State {
    ring: Ring,
    next_seq: u64,
    /// Why the stream ended, while it is ended.
    ended: Option<Arc<str>>,
    closed: bool,
}

impl Channel {
    /// `queue`: batches each follower may fall behind before it skips.
    pub(crate) fn new(container: &str, ring_lines: usize, ring_bytes: usize, queue: usize) -> Arc<Channel> {
        Arc::new(Channel {
            container: Arc::from(container),
            state: Mutex::new(State {
                ring: Ring::new(ring_lines, ring_bytes),
                next_seq: 0,
                ended: None,
                closed: false,
            }),
            tx: broadcast::channel(queue.max(1)).0,
            phase: watch::channel(Phase::Loading).0,
            followers: watch::channel(0).0,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One more follower, unless the channel is closed.
    pub(crate) fn attach(self: &Arc<Self>) -> Option<Attached> {
        let state = self.state();
        if state.closed {
            return None;
        }
        self.followers.send_modify(|n| *n += 1);
        Some(Attached { channel: self.clone() })
    }

    /// How many follow it, as it changes.
    pub(crate) fn followers(&self) -> watch::Receiver<usize> {
        self.followers.subscribe()
    }

    /// New lines: serialised once, kept in the ring, sent to every follower.
    pub(crate) fn publish(&self, lines: &[LogLine]) {
        if lines.is_empty() {
            return;
        }
        // Only the stream task publishes: the seq cannot move meanwhile.
        let first_seq = self.state().next_seq;
        let batch = Arc::new(Batch::build(first_seq, lines));
        let mut state = self.state();
        state.ring.push(batch.clone());
        state.next_seq = batch.next_seq();
        state.ended = None;
        let _ = self.tx.send(Item::Lines(batch));
    }

    /// The ring is filled: followers may start. `complete` when it holds
    /// every line the container has.
    pub(crate) fn loaded(&self, complete: bool) {
        self.state().ring.set_complete(complete);
        self.phase.send_replace(Phase::Ready);
    }

    /// The first reading failed: whoever waits is told why; the channel closes.
    pub(crate) fn fail(&self, error: EngineError) {
        self.state().closed = true;
        self.phase.send_replace(Phase::Failed(error));
    }

    /// The engine's stream ended for `reason`; followers stay.
    pub(crate) fn end(&self, reason: &str) {
        let mut state = self.state();
        if state.ended.as_deref() == Some(reason) {
            // Told already, and nothing came since.
            return;
        }
        let reason: Arc<str> = Arc::from(reason);
        state.ended = Some(reason.clone());
        let _ = self.tx.send(Item::End {
            at_seq: state.next_seq,
            reason,
        });
    }

    /// Closes it for good, telling every follower `reason`; with
    /// `only_if_idle`, only when nobody follows (else false).
    pub(crate) fn close(&self, reason: &str, only_if_idle: bool) -> bool {
        let mut state = self.state();
        if state.closed {
            return true;
        }
        if only_if_idle && *self.followers.borrow() > 0 {
            return false;
        }
        state.closed = true;
        let _ = self.tx.send(Item::Closed {
            at_seq: state.next_seq,
            reason: Arc::from(reason),
        });
        drop(state);
        self.phase.send_replace(Phase::Closed);
        true
    }

    /// Lines and bytes in its ring.
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        let state = self.state();
        (state.ring.lines(), state.ring.bytes())
    }
}

/// A follower's place, counted until dropped.
pub(crate) struct Attached {
    channel: Arc<Channel>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.channel.followers.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Attached {
    /// Waits until the ring is filled, then takes it and subscribes at once.
    pub(crate) async fn start(self) -> Result<Follower, EngineError> {
        let mut phase = self.channel.phase.subscribe();
        let ready = phase
            .wait_for(|p| !matches!(p, Phase::Loading))
            .await
            .map(|p| p.clone())
            .unwrap_or(Phase::Closed);
        if let Phase::Failed(e) = ready {
            return Err(e);
        }
        let (snapshot, rx, expected, ended, closed) = {
            let state = self.channel.state();
            (
                state.ring.snapshot(),
                self.channel.tx.subscribe(),
                state.next_seq,
                state.ended.clone(),
                state.closed,
            )
        };
        let stash = closed
            .then(|| Event::Closed(Arc::from("the log stream was closed")))
            .into_iter()
            .collect();
        Ok(Follower {
            attached: self,
            rx,
            expected,
            snapshot,
            ended,
            stash,
            done: false,
        })
    }
}

/// What a follower receives.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    Lines(Arc<Batch>),
    /// It fell behind: this many lines were not for it.
    Gap(u64),
    End(Arc<str>),
    Closed(Arc<str>),
}

/// One follower of one container: where it started, then what comes.
pub(crate) struct Follower {
    attached: Attached,
    rx: broadcast::Receiver<Item>,
    /// The seq of the next line it should see.
    expected: u64,
    /// The ring when it started (its backfill), taken by whoever builds it.
    pub(crate) snapshot: Snapshot,
    /// Why the stream had ended when it started, if it had.
    pub(crate) ended: Option<Arc<str>>,
    /// Events to hand out before reading on.
    stash: VecDeque<Event>,
    done: bool,
}

impl Follower {
    pub(crate) fn container(&self) -> &Arc<str> {
        &self.attached.channel.container
    }

    /// Whether it was closed (nothing more will come).
    pub(crate) fn is_done(&self) -> bool {
        self.done && self.stash.is_empty()
    }

    /// Puts `event` back, to be received next.
    pub(crate) fn put_back(&mut self, event: Event) {
        self.stash.push_front(event);
    }

    /// The next event; a gap first when lines went by.
    pub(crate) async fn recv(&mut self) -> Event {
        if let Some(e) = self.next_stashed() {
            return e;
        }
        loop {
            match self.rx.recv().await {
                Ok(item) => {
                    if let Some(e) = self.take(item) {
                        return e;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return self.closed("the log stream was closed"),
            }
        }
    }

    /// The next event if one is there already.
    pub(crate) fn try_recv(&mut self) -> Option<Event> {
        if let Some(e) = self.next_stashed() {
            return Some(e);
        }
        loop {
            match self.rx.try_recv() {
                Ok(item) => {
                    if let Some(e) = self.take(item) {
                        return Some(e);
                    }
                }
                Err(TryRecvError::Lagged(_)) => continue,
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Closed) => return Some(self.closed("the log stream was closed")),
            }
        }
    }

    fn next_stashed(&mut self) -> Option<Event> {
        let e = self.stash.pop_front()?;
        if matches!(e, Event::Closed(_)) {
            self.done = true;
        }
        Some(e)
    }

    fn closed(&mut self, reason: &str) -> Event {
        self.done = true;
        Event::Closed(Arc::from(reason))
    }

    /// An item as this follower's event: seen already (None), or after a
    /// gap (the gap now, the item next).
    fn take(&mut self, item: Item) -> Option<Event> {
        let at = match &item {
            Item::Lines(b) => {
                if b.next_seq() <= self.expected {
                    return None;
                }
                b.first_seq
            }
            Item::End { at_seq, .. } | Item::Closed { at_seq, .. } => *at_seq,
        };
        let missed = at.saturating_sub(self.expected);
        let event = match item {
            Item::Lines(b) => {
                self.expected = b.next_seq();
                Event::Lines(b)
            }
            Item::End { reason, .. } => {
                self.expected = self.expected.max(at);
                Event::End(reason)
            }
            Item::Closed { reason, .. } => {
                self.done = true;
                Event::Closed(reason)
            }
        };
        if missed > 0 {
            if matches!(event, Event::Closed(_)) {
                // Told after the gap.
                self.done = false;
            }
            self.stash.push_back(event);
            return Some(Event::Gap(missed));
        }
        Some(event)
    }
}

/// One host's channels, by container id.
#[derive(Default)]
pub(crate) struct HostChannels {
    map: Mutex<HashMap<String, Arc<Channel>>>,
}

impl HostChannels {
    pub(super) fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets `channel` (if it is still the one for `id`).
    pub(crate) fn remove(&self, id: &str, channel: &Arc<Channel>) {
        let mut map = self.map();
        if map.get(id).is_some_and(|c| Arc::ptr_eq(c, channel)) {
            map.remove(id);
        }
    }
}
