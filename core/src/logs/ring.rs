//! A container's last lines, kept for whoever starts following it: whole
//! batches, at least `max_lines` lines when there are as many (at most one
//! batch more), never more than `max_bytes`, the oldest dropped first.
//! Not here: how the batches are made or handed out (`batch`, `channel`).

use super::batch::{Batch, Run};
use std::collections::VecDeque;
use std::sync::Arc;

pub(crate) struct Ring {
    batches: VecDeque<Arc<Batch>>,
    lines: usize,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    /// It holds every line the container has (nothing was dropped yet,
    /// and the first reading had fewer lines than asked for).
    complete: bool,
}

/// What a new follower starts from: the ring's runs, oldest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) runs: Vec<Run>,
    pub(crate) complete: bool,
}

impl Snapshot {
    /// The time of its oldest line, and how many lines at its start share it.
    pub(crate) fn oldest(&self) -> Option<(i64, usize)> {
        let first = self.runs.first()?.ts(0);
        let same = self
            .runs
            .iter()
            .flat_map(|r| (0..r.len()).map(move |i| r.ts(i)))
            .take_while(|ts| *ts == first)
            .count();
        Some((first, same))
    }
}

impl Ring {
    pub(crate) fn new(max_lines: usize, max_bytes: usize) -> Ring {
        Ring {
            batches: VecDeque::new(),
            lines: 0,
            bytes: 0,
            max_lines,
            max_bytes,
            complete: false,
        }
    }

    pub(crate) fn set_complete(&mut self, complete: bool) {
        self.complete = complete;
    }

    pub(crate) fn push(&mut self, batch: Arc<Batch>) {
        self.lines += batch.len();
        self.bytes += batch.size();
        self.batches.push_back(batch);
        while let Some(front) = self.batches.front() {
            let enough_without = self.lines - front.len() >= self.max_lines;
            if !(enough_without || self.bytes > self.max_bytes) {
                break;
            }
            self.lines -= front.len();
            self.bytes -= front.size();
            self.batches.pop_front();
            self.complete = false;
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            runs: self.batches.iter().cloned().map(Run::whole).collect(),
            complete: self.complete,
        }
    }

    #[cfg(test)]
    pub(crate) fn lines(&self) -> usize {
        self.lines
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogLine, LogStream};

    fn batch(first: u64, n: usize, text: usize) -> Arc<Batch> {
        let lines: Vec<LogLine> = (0..n)
            .map(|i| LogLine {
                container: "c".into(),
                stream: LogStream::Stdout,
                ts_ns: (first + i as u64) as i64,
                text: "z".repeat(text),
            })
            .collect();
        Arc::new(Batch::build(first, &lines))
    }

    #[test]
    fn it_keeps_at_least_the_lines_asked_for_and_never_more_bytes_than_allowed() {
        let mut ring = Ring::new(100, 1 << 20);
        ring.set_complete(true);
        let mut seq = 0;
        for _ in 0..50 {
            ring.push(batch(seq, 30, 10));
            seq += 30;
            assert!(ring.lines() >= 100.min(seq as usize), "{}", ring.lines());
            assert!(ring.lines() < 100 + 30);
        }
        let snap = ring.snapshot();
        assert!(!snap.complete, "lines were dropped");
        assert_eq!(snap.runs.last().unwrap().batch.next_seq(), seq);
        assert_eq!(snap.oldest(), Some((snap.runs[0].batch.first_seq as i64, 1)));

        // A byte budget smaller than the lines asked for wins.
        let mut ring = Ring::new(100_000, 64 << 10);
        for i in 0..100 {
            ring.push(batch(i * 10, 10, 1000));
            assert!(ring.bytes() <= 64 << 10, "{}", ring.bytes());
        }
        assert!(ring.lines() > 0);
    }
}
