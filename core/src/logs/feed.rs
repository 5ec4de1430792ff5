//! `Feed`: what one viewer of `/ws/logs` is sent, as ready JSON frames
//! (`LogFeed`): the backfill of every container it follows, merged in time
//! order, in `Lines` frames; `Live`; then live `Lines` as they come (what
//! arrived together in one frame), a `Gap` when it fell behind, an `End`
//! when a container's stream ends. Lines are never serialised here: the
//! frames are the channels' bytes, or composed from slices of them.
//!
//! Several containers are merged by time, each keeping its own order;
//! live, what arrives within `MERGE_WINDOW` is merged before it is sent.

use super::backfill;
use super::batch::{Frames, Run, control, last, merge};
use super::channel::{Event, Follower};
use crate::hosts::Host;
use crate::model::LogFeed;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Live lines of several containers that arrive within this long are
/// merged by time in one frame.
const MERGE_WINDOW: Duration = Duration::from_millis(10);
/// Events taken from one container for one frame at most.
const DRAIN: usize = 64;

pub struct Feed {
    followers: Vec<Follower>,
    ready: VecDeque<Bytes>,
    /// What was received for the next frames, until `until`.
    gathering: Option<Gathering>,
}

struct Gathering {
    rounds: Vec<Round>,
    /// Which containers may give more to this round.
    open: Vec<bool>,
    until: tokio::time::Instant,
}

/// What one container brought to the next frames.
#[derive(Default)]
struct Round {
    missed: u64,
    runs: Vec<Run>,
    end: Option<Arc<str>>,
}

impl Round {
    /// Takes `event`; false when the round is over for this container (an
    /// end, or a gap after lines, which is put back for the next round).
    fn take(&mut self, follower: &mut Follower, event: Event) -> bool {
        match event {
            Event::Lines(batch) => {
                self.runs.push(Run::whole(batch));
                true
            }
            Event::Gap(n) if self.runs.is_empty() => {
                self.missed += n;
                true
            }
            gap @ Event::Gap(_) => {
                follower.put_back(gap);
                false
            }
            Event::End(reason) | Event::Closed(reason) => {
                self.end = Some(reason);
                false
            }
        }
    }
}

impl Feed {
    /// The followers' backfill (the last `tail` lines over all of them,
    /// since `since`), then `Live`, then an `End` for each container whose
    /// stream had ended already.
    pub(crate) async fn open(host: &Host, mut followers: Vec<Follower>, tail: usize, since: Option<i64>) -> Feed {
        let reads = followers.iter_mut().map(|f| {
            let snapshot = std::mem::take(&mut f.snapshot);
            let container = f.container().clone();
            async move { backfill::lines(host, &container, snapshot, tail, since).await }
        });
        let per_container = futures_util::future::join_all(reads).await;
        let mut frames = Frames::default();
        for run in last(merge(per_container), tail) {
            frames.push(run);
        }
        let mut ready: VecDeque<Bytes> = frames.finish().into();
        ready.push_back(control(&LogFeed::Live));
        for f in &followers {
            if let Some(reason) = &f.ended {
                ready.push_back(end(f, reason));
            }
        }
        Feed {
            followers,
            ready,
            gathering: None,
        }
    }

    /// The containers followed (full ids).
    pub fn containers(&self) -> Vec<String> {
        self.followers.iter().map(|f| f.container().to_string()).collect()
    }

    /// The next frame; None once every container's stream has closed.
    /// Cancel-safe: what was received is kept for the next call.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Some(frame);
            }
            if self.gathering.is_none() {
                if self.followers.iter().all(Follower::is_done) {
                    return None;
                }
                let (first, event) = {
                    let waits = self
                        .followers
                        .iter_mut()
                        .enumerate()
                        .filter(|(_, f)| !f.is_done())
                        .map(|(i, f)| Box::pin(async move { (i, f.recv().await) }));
                    futures_util::future::select_all(waits).await.0
                };
                let mut rounds: Vec<Round> = self.followers.iter().map(|_| Round::default()).collect();
                let mut open: Vec<bool> = self.followers.iter().map(|f| !f.is_done()).collect();
                open[first] = rounds[first].take(&mut self.followers[first], event);
                let window = if self.followers.len() > 1 {
                    MERGE_WINDOW
                } else {
                    Duration::ZERO
                };
                self.gathering = Some(Gathering {
                    rounds,
                    open,
                    until: tokio::time::Instant::now() + window,
                });
            }
            if let Some(g) = &self.gathering {
                // Other containers' lines of the same moment.
                tokio::time::sleep_until(g.until).await;
            }
            let Some(Gathering {
                mut rounds, mut open, ..
            }) = self.gathering.take()
            else {
                continue;
            };
            for (i, f) in self.followers.iter_mut().enumerate() {
                let mut taken = 0;
                while open[i] && taken < DRAIN {
                    let Some(event) = f.try_recv() else { break };
                    open[i] = rounds[i].take(f, event);
                    taken += 1;
                }
            }
            self.compose(rounds);
        }
    }

    /// Gaps first, then the lines merged by time, then the ends.
    fn compose(&mut self, rounds: Vec<Round>) {
        for (f, r) in self.followers.iter().zip(&rounds) {
            if r.missed > 0 {
                self.ready.push_back(control(&LogFeed::Gap {
                    container: f.container().to_string(),
                    missed: r.missed,
                }));
            }
        }
        let mut ends = Vec::new();
        let mut runs = Vec::new();
        for (f, r) in self.followers.iter().zip(rounds) {
            if let Some(reason) = &r.end {
                ends.push(end(f, reason));
            }
            runs.push(r.runs);
        }
        let mut frames = Frames::default();
        for run in merge(runs) {
            frames.push(run);
        }
        self.ready.extend(frames.finish());
        self.ready.extend(ends);
    }
}

fn end(f: &Follower, reason: &str) -> Bytes {
    control(&LogFeed::End {
        container: f.container().to_string(),
        reason: reason.to_string(),
    })
}
