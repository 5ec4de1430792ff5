//! Searching stored lines: the keys asked for read newest first, their
//! lines merged by (time, key, line number), each tested with the search's
//! `Matcher`, until the page is full, the oldest line is passed, or the
//! time limit is up (then the page says so and where to go on). A cursor
//! (`SearchCursor`) continues strictly before the last line of a page.
//!
//! Synchronous: callers run it in `spawn_blocking`.

use super::write::stream_of;
use crate::logs::Matcher;
use crate::model::{HostId, LogLine, LogStream, SearchCursor, StoredMatch};
use crate::store::StoreError;
use crate::store::tables::LOG_LINES;
use redb::{ReadableDatabase, TableError};
use std::collections::{BinaryHeap, HashMap};
use std::ops::Bound;
use std::time::Instant;

/// One key to search, and the names of its containers by number.
pub(super) struct Target {
    pub key_id: u32,
    pub host: String,
    pub key: String,
    pub lives: HashMap<u32, (String, String)>,
}

/// The lines a search looks at and how many it may return.
pub(super) struct Window {
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub before: Option<SearchCursor>,
    pub limit: usize,
    pub deadline: Instant,
}

pub(super) struct Found {
    pub matches: Vec<StoredMatch>,
    pub next_before: Option<SearchCursor>,
    pub scanned: u64,
    pub cut_short: bool,
}

type Key = (u32, i64, u32);

/// The smaller of two upper bounds.
fn lower_of(a: Bound<Key>, b: Bound<Key>) -> Bound<Key> {
    let rank = |x: &Bound<Key>| match x {
        Bound::Included(k) => (*k, 1),
        Bound::Excluded(k) => (*k, 0),
        Bound::Unbounded => ((u32::MAX, i64::MAX, u32::MAX), 2),
    };
    if rank(&a) <= rank(&b) { a } else { b }
}

/// The part of key `k`'s lines within the window: (lower, upper), or none.
fn bounds(k: u32, w: &Window) -> Option<(Key, Bound<Key>)> {
    let lower = (k, w.since_ns.unwrap_or(i64::MIN), 0);
    let mut upper = Bound::Included((k, w.until_ns.unwrap_or(i64::MAX), u32::MAX));
    if let Some(c) = w.before {
        // The order is (time, key, number): before the cursor means an
        // earlier time, or the same time and a smaller (key, number).
        let cut = match k.cmp(&c.key_id) {
            std::cmp::Ordering::Less => Bound::Included((k, c.ts_ns, u32::MAX)),
            std::cmp::Ordering::Equal => Bound::Excluded((k, c.ts_ns, c.seq)),
            std::cmp::Ordering::Greater => Bound::Excluded((k, c.ts_ns, 0)),
        };
        upper = lower_of(upper, cut);
    }
    let empty = match upper {
        Bound::Included(u) => u < lower,
        Bound::Excluded(u) => u <= lower,
        Bound::Unbounded => false,
    };
    (!empty).then_some((lower, upper))
}

/// A key's next line (going back), tested.
struct Head {
    ts: i64,
    seq: u32,
    /// (container number, stream, text) when it matched.
    hit: Option<(u32, LogStream, String)>,
}

pub(super) fn search(
    db: &redb::Database,
    targets: &[Target],
    matcher: &Matcher,
    w: &Window,
) -> Result<Found, StoreError> {
    let mut found = Found {
        matches: Vec::new(),
        next_before: None,
        scanned: 0,
        cut_short: false,
    };
    let tx = db.begin_read()?;
    let table = match tx.open_table(LOG_LINES) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(found),
        Err(e) => return Err(e.into()),
    };
    let mut scratch = LogLine {
        container: String::new(),
        stream: LogStream::Stdout,
        ts_ns: 0,
        text: String::new(),
    };
    let mut test = |stream: LogStream, text: &str| {
        scratch.stream = stream;
        scratch.text.clear();
        scratch.text.push_str(text);
        matcher.matches(&scratch)
    };
    let mut ranges = Vec::new();
    let mut heads: Vec<Option<Head>> = Vec::new();
    let mut heap = BinaryHeap::new();
    let mut pull = |range: &mut redb::Range<'static, Key, (u32, u8, &'static str)>,
                    scanned: &mut u64|
     -> Result<Option<Head>, StoreError> {
        let Some(row) = range.next_back() else {
            return Ok(None);
        };
        let (k, v) = row?;
        *scanned += 1;
        let (_, ts, seq) = k.value();
        let (ctr, code, text) = v.value();
        let stream = stream_of(code);
        let hit = test(stream, text).then(|| (ctr, stream, text.to_string()));
        Ok(Some(Head { ts, seq, hit }))
    };
    for (i, t) in targets.iter().enumerate() {
        let Some((lower, upper)) = bounds(t.key_id, w) else {
            continue;
        };
        let mut range = table.range::<Key>((Bound::Included(lower), upper))?;
        let head = pull(&mut range, &mut found.scanned)?;
        if let Some(h) = &head {
            heap.push((h.ts, t.key_id, h.seq, i));
        }
        while ranges.len() < i {
            ranges.push(None);
            heads.push(None);
        }
        ranges.push(Some(range));
        heads.push(head);
    }
    while let Some((ts, key_id, seq, i)) = heap.pop() {
        let cursor = SearchCursor { ts_ns: ts, key_id, seq };
        let head = heads[i].take().expect("a key in the heap has a head");
        if let Some((ctr, stream, text)) = head.hit {
            let t = &targets[i];
            let (container, name) = t.lives.get(&ctr).cloned().unwrap_or_default();
            found.matches.push(StoredMatch {
                host: HostId(t.host.clone()),
                key: t.key.clone(),
                container,
                name,
                stream,
                ts_ns: ts,
                text,
            });
            if found.matches.len() >= w.limit {
                found.next_before = Some(cursor);
                return Ok(found);
            }
        }
        let range = ranges[i].as_mut().expect("a key in the heap has a range");
        if let Some(h) = pull(range, &mut found.scanned)? {
            heap.push((h.ts, key_id, h.seq, i));
            heads[i] = Some(h);
        }
        if found.scanned.is_multiple_of(1024) && Instant::now() >= w.deadline {
            found.cut_short = !heap.is_empty();
            found.next_before = found.cut_short.then_some(cursor);
            return Ok(found);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(before: Option<SearchCursor>) -> Window {
        Window {
            since_ns: Some(10),
            until_ns: Some(100),
            before,
            limit: 10,
            deadline: Instant::now(),
        }
    }

    #[test]
    fn a_cursor_continues_strictly_before_its_line_in_every_key() {
        let c = SearchCursor {
            ts_ns: 50,
            key_id: 2,
            seq: 7,
        };
        let w = window(Some(c));
        assert_eq!(bounds(1, &w), Some(((1, 10, 0), Bound::Included((1, 50, u32::MAX)))));
        assert_eq!(bounds(2, &w), Some(((2, 10, 0), Bound::Excluded((2, 50, 7)))));
        assert_eq!(bounds(3, &w), Some(((3, 10, 0), Bound::Excluded((3, 50, 0)))));
        // Without a cursor, the window's end.
        assert_eq!(
            bounds(3, &window(None)),
            Some(((3, 10, 0), Bound::Included((3, 100, u32::MAX))))
        );
        // A cursor before the window's start leaves nothing.
        let early = SearchCursor {
            ts_ns: 10,
            key_id: 2,
            seq: 0,
        };
        assert_eq!(bounds(2, &window(Some(early))), None);
        assert_eq!(bounds(3, &window(Some(early))), None);
        assert!(bounds(1, &window(Some(early))).is_some());
    }
}
