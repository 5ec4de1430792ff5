//! A new follower's lines from before it started: the last `tail` of one
//! container's lines (since `since`, if set), from the channel's ring, and,
//! when the ring does not reach back that far, the older ones from the
//! engine (one bounded request for the lines before the ring's oldest,
//! those sharing its time counted so that none comes twice; at most
//! `MAX_BYTES` of text).
//! Not here: what comes after (`channel`), merging containers (`feed`).

use super::batch::{Batch, Run, last};
use super::ring::Snapshot;
use crate::hosts::Host;
use crate::model::{LogLine, LogQuery, MAX_TAIL};
use futures_util::StreamExt;
use std::sync::Arc;

/// The most text read from the engine for one backfill: its newest lines
/// within this, however many were asked for.
const MAX_BYTES: usize = 32 << 20;

/// The backfill of `container`, oldest first.
pub(crate) async fn lines(
    host: &Host,
    container: &str,
    snapshot: Snapshot,
    tail: usize,
    since: Option<i64>,
) -> Vec<Run> {
    if tail == 0 {
        return Vec::new();
    }
    let ring = within(&snapshot.runs, since);
    let have: usize = ring.iter().map(Run::len).sum();
    let Some((oldest, same)) = snapshot.oldest() else {
        return ring;
    };
    let reaches = snapshot.complete || since.is_some_and(|s| oldest <= s);
    if have >= tail || reaches {
        return last(ring, tail);
    }
    let want = tail - have;
    let query = LogQuery {
        tail: Some((want + same).min(MAX_TAIL as usize) as u32),
        since_ns: since,
        until_ns: Some(oldest),
        follow: false,
    };
    let mut older: Vec<LogLine> = Vec::new();
    let mut bytes = 0;
    let mut read = host.engine_logs(container, &query);
    while let Some(line) = read.next().await {
        match line {
            Ok(line) => {
                bytes += line.text.len();
                older.push(line);
            }
            Err(e) => {
                tracing::warn!(host = %host.id(), container, error = %e, "cannot read the lines before the ring");
                return ring;
            }
        }
    }
    // The newest of them within the budget.
    let mut drop_front = 0;
    while bytes > MAX_BYTES && drop_front < older.len() {
        bytes -= older[drop_front].text.len();
        drop_front += 1;
    }
    older.drain(..drop_front);
    // The ring's first lines share its oldest time; the engine gave those too.
    let mut twice = same;
    let mut i = older.len();
    while twice > 0 && i > 0 {
        i -= 1;
        if older[i].ts_ns == oldest {
            older.remove(i);
            twice -= 1;
        } else if older[i].ts_ns < oldest {
            break;
        }
    }
    let skip = older.len().saturating_sub(want);
    let older = &older[skip..];
    let mut runs = Vec::new();
    if !older.is_empty() {
        runs.push(Run::whole(Arc::new(Batch::build(0, older))));
    }
    runs.extend(ring);
    runs
}

/// The lines of `runs` at or after `since`.
fn within(runs: &[Run], since: Option<i64>) -> Vec<Run> {
    let Some(since) = since else { return runs.to_vec() };
    let mut out = Vec::new();
    for run in runs {
        let mut start = None;
        for i in 0..=run.len() {
            let keep = i < run.len() && run.ts(i) >= since;
            match (keep, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(Run {
                        batch: run.batch.clone(),
                        from: run.from + s,
                        to: run.from + i,
                    });
                    start = None;
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogLine, LogStream};

    #[test]
    fn since_keeps_the_lines_at_or_after_it() {
        let lines: Vec<LogLine> = [1, 5, 3, 7, 2, 9]
            .iter()
            .map(|t| LogLine {
                container: "c".into(),
                stream: LogStream::Stdout,
                ts_ns: *t,
                text: String::new(),
            })
            .collect();
        let batch = Arc::new(Batch::build(0, &lines));
        let kept = within(&[Run::whole(batch)], Some(4));
        let times: Vec<i64> = kept.iter().flat_map(|r| (0..r.len()).map(move |i| r.ts(i))).collect();
        assert_eq!(times, [5, 7, 9]);
        assert_eq!(kept.len(), 3, "split where lines are left out");
    }
}
