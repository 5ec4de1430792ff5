//! Lines serialised once: a `Batch` is a run of one container's lines as
//! the feed's `{"type":"lines","lines":[…]}` JSON, with where each line's
//! JSON sits in it and its time. Every follower is handed the same bytes;
//! a frame of parts of several batches (a backfill's start, a merged view)
//! is composed from their slices, never serialised again.
//! Not here: who gets which batch (`channel`).

use crate::model::{LogFeed, LogLine};
use bytes::Bytes;
use std::sync::Arc;

/// The most JSON a composed frame carries (a single line may pass it): a
/// viewer's socket keeps a buffer as large as the largest frame it sent.
pub(crate) const MAX_FRAME: usize = 256 << 10;

const HEAD: &[u8] = br#"{"type":"lines","lines":["#;
const TAIL: &[u8] = b"]}";

/// One line's JSON within a batch's frame, and its time.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    end: u32,
    ts_ns: i64,
}

/// A run of one container's lines, numbered from `first_seq`.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) first_seq: u64,
    /// The whole run as one `LogFeed::Lines` frame.
    frame: Bytes,
    spans: Vec<Span>,
}

impl Batch {
    pub(crate) fn build(first_seq: u64, lines: &[LogLine]) -> Batch {
        let mut json = Vec::with_capacity(HEAD.len() + TAIL.len() + lines.len() * 128);
        json.extend_from_slice(HEAD);
        let mut spans = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            let start = json.len() as u32;
            // A LogLine is strings and numbers: it always serialises.
            serde_json::to_writer(&mut json, line).unwrap_or_default();
            spans.push(Span {
                start,
                end: json.len() as u32,
                ts_ns: line.ts_ns,
            });
        }
        json.extend_from_slice(TAIL);
        Batch {
            first_seq,
            frame: Bytes::from(json),
            spans,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The seq of the line after its last.
    pub(crate) fn next_seq(&self) -> u64 {
        self.first_seq + self.spans.len() as u64
    }

    /// Bytes it holds.
    pub(crate) fn size(&self) -> usize {
        self.frame.len() + self.spans.len() * std::mem::size_of::<Span>()
    }

    pub(crate) fn ts(&self, i: usize) -> i64 {
        self.spans[i].ts_ns
    }

    /// Line `i` read back from the frame (for berth's own readers of
    /// lines, such as alerts' log patterns).
    pub(crate) fn line(&self, i: usize) -> Option<LogLine> {
        let span = self.spans.get(i)?;
        serde_json::from_slice(&self.frame[span.start as usize..span.end as usize]).ok()
    }

    /// The JSON of lines `from..to`, comma-separated.
    fn slice(&self, from: usize, to: usize) -> Bytes {
        self.frame
            .slice(self.spans[from].start as usize..self.spans[to - 1].end as usize)
    }
}

/// Lines `from..to` of a batch.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) batch: Arc<Batch>,
    pub(crate) from: usize,
    pub(crate) to: usize,
}

impl Run {
    pub(crate) fn whole(batch: Arc<Batch>) -> Run {
        let to = batch.len();
        Run { batch, from: 0, to }
    }

    pub(crate) fn len(&self) -> usize {
        self.to - self.from
    }

    pub(crate) fn ts(&self, i: usize) -> i64 {
        self.batch.ts(self.from + i)
    }

    fn size(&self) -> usize {
        (self.batch.spans[self.to - 1].end - self.batch.spans[self.from].start) as usize
    }
}

/// Frames of lines, composed from runs in the order given: a frame that
/// is exactly one whole batch is that batch's own bytes.
#[derive(Default)]
pub(crate) struct Frames {
    done: Vec<Bytes>,
    runs: Vec<Run>,
    size: usize,
}

impl Frames {
    pub(crate) fn push(&mut self, mut run: Run) {
        while run.len() > 0 {
            // As many of its lines as fit (at least one in an empty frame).
            let room = MAX_FRAME.saturating_sub(self.size);
            let mut fit = 0;
            let mut size = 0;
            while fit < run.len() {
                let line = run.batch.spans[run.from + fit];
                let more = (line.end - line.start) as usize + 1;
                if size + more > room && (fit > 0 || self.size > 0) {
                    break;
                }
                size += more;
                fit += 1;
            }
            if fit == 0 {
                self.flush();
                continue;
            }
            let part = Run {
                batch: run.batch.clone(),
                from: run.from,
                to: run.from + fit,
            };
            run.from += fit;
            self.size += size;
            // Continues the last run of the same batch: one slice.
            match self.runs.last_mut() {
                Some(last) if Arc::ptr_eq(&last.batch, &part.batch) && last.to == part.from => last.to = part.to,
                _ => self.runs.push(part),
            }
            if run.len() > 0 || self.size >= MAX_FRAME {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        let runs = std::mem::take(&mut self.runs);
        self.size = 0;
        match runs.as_slice() {
            [] => {}
            [one] if one.from == 0 && one.to == one.batch.len() => self.done.push(one.batch.frame.clone()),
            _ => {
                let body: usize = runs.iter().map(|r| r.size() + 1).sum();
                let mut json = Vec::with_capacity(HEAD.len() + TAIL.len() + body);
                json.extend_from_slice(HEAD);
                for (i, run) in runs.iter().enumerate() {
                    if i > 0 {
                        json.push(b',');
                    }
                    json.extend_from_slice(&run.batch.slice(run.from, run.to));
                }
                json.extend_from_slice(TAIL);
                self.done.push(Bytes::from(json));
            }
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Bytes> {
        self.flush();
        self.done
    }
}

/// Merges each container's runs (each in its own order) by time: the
/// earliest next line of any container goes first, a tie to the one
/// listed first. Returns the runs in merged order.
pub(crate) fn merge(per_container: Vec<Vec<Run>>) -> Vec<Run> {
    let mut heads: Vec<(Vec<Run>, usize, usize)> = per_container
        .into_iter()
        .filter(|runs| !runs.is_empty())
        .map(|runs| (runs, 0, 0))
        .collect();
    if heads.len() == 1 {
        return heads.pop().map(|(runs, _, _)| runs).unwrap_or_default();
    }
    let mut out: Vec<Run> = Vec::new();
    while !heads.is_empty() {
        // The container whose next line is earliest...
        let (pick, _) = heads
            .iter()
            .enumerate()
            .map(|(i, (runs, r, l))| (i, runs[*r].ts(*l)))
            .min_by_key(|(i, ts)| (*ts, *i))
            .unwrap_or((0, 0));
        // ...gives every line up to the next one of another container.
        let bound = heads
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != pick)
            .map(|(_, (runs, r, l))| runs[*r].ts(*l))
            .min();
        let (runs, r, l) = &mut heads[pick];
        let run = &runs[*r];
        let mut end = *l + 1;
        while end < run.len() && bound.is_none_or(|b| run.ts(end) <= b) {
            end += 1;
        }
        out.push(Run {
            batch: run.batch.clone(),
            from: run.from + *l,
            to: run.from + end,
        });
        if end == run.len() {
            *r += 1;
            *l = 0;
        } else {
            *l = end;
        }
        if *r == runs.len() {
            heads.remove(pick);
        }
    }
    out
}

/// The last `n` lines of `runs`.
pub(crate) fn last(runs: Vec<Run>, n: usize) -> Vec<Run> {
    let mut left = n;
    let mut kept = Vec::new();
    for run in runs.into_iter().rev() {
        if left == 0 {
            break;
        }
        let take = run.len().min(left);
        left -= take;
        kept.push(Run {
            from: run.to - take,
            ..run
        });
    }
    kept.reverse();
    kept
}

/// A frame that is not lines, serialised.
pub(crate) fn control(message: &LogFeed) -> Bytes {
    Bytes::from(serde_json::to_vec(message).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn lines(container: &str, ts: &[i64]) -> Vec<LogLine> {
        ts.iter()
            .map(|t| LogLine {
                container: container.into(),
                stream: LogStream::Stdout,
                ts_ns: *t,
                text: format!("{container}@{t}"),
            })
            .collect()
    }

    fn read(frames: Vec<Bytes>) -> Vec<String> {
        frames
            .into_iter()
            .flat_map(|f| match serde_json::from_slice::<LogFeed>(&f).unwrap() {
                LogFeed::Lines { lines } => lines.into_iter().map(|l| l.text),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_whole_batch_is_sent_as_its_own_bytes_and_parts_compose() {
        let b = Arc::new(Batch::build(10, &lines("a", &[1, 2, 3])));
        assert_eq!((b.len(), b.next_seq()), (3, 13));
        let mut f = Frames::default();
        f.push(Run::whole(b.clone()));
        let frames = f.finish();
        assert_eq!(frames[0].as_ptr(), b.frame.as_ptr(), "the same bytes, not a copy");
        let mut f = Frames::default();
        f.push(Run {
            batch: b.clone(),
            from: 1,
            to: 2,
        });
        f.push(Run {
            batch: b.clone(),
            from: 2,
            to: 3,
        });
        assert_eq!(read(f.finish()), ["a@2", "a@3"]);
    }

    #[test]
    fn containers_merge_by_time_each_in_its_own_order() {
        let a = Arc::new(Batch::build(0, &lines("a", &[1, 5, 3, 9])));
        let b = Arc::new(Batch::build(0, &lines("b", &[2, 4, 10])));
        let merged = merge(vec![vec![Run::whole(a)], vec![Run::whole(b)]]);
        let mut f = Frames::default();
        merged.into_iter().for_each(|r| f.push(r));
        // a's 5 before its 3 stays so; b's lines go where their times fall.
        assert_eq!(read(f.finish()), ["a@1", "b@2", "b@4", "a@5", "a@3", "a@9", "b@10"]);
    }

    #[test]
    fn the_last_lines_are_cut_from_the_front() {
        let a = Arc::new(Batch::build(0, &lines("a", &[1, 2, 3])));
        let b = Arc::new(Batch::build(3, &lines("a", &[4, 5])));
        let kept = last(vec![Run::whole(a), Run::whole(b)], 3);
        let mut f = Frames::default();
        kept.into_iter().for_each(|r| f.push(r));
        assert_eq!(read(f.finish()), ["a@3", "a@4", "a@5"]);
    }

    #[test]
    fn large_compositions_are_split_into_frames_of_bounded_size() {
        let text: Vec<LogLine> = (0..100)
            .map(|i| LogLine {
                container: "a".into(),
                stream: LogStream::Stdout,
                ts_ns: i,
                text: "y".repeat(30_000),
            })
            .collect();
        let a = Arc::new(Batch::build(0, &text[..50]));
        let b = Arc::new(Batch::build(50, &text[50..]));
        let mut f = Frames::default();
        f.push(Run {
            batch: a,
            from: 1,
            to: 50,
        });
        f.push(Run {
            batch: b,
            from: 0,
            to: 50,
        });
        let frames = f.finish();
        assert!(frames.len() >= 3, "{}", frames.len());
        assert!(frames.iter().all(|f| f.len() <= MAX_FRAME + 40_000));
        assert_eq!(read(frames).len(), 99);
    }
}
