//! Searching stored lines: the keys asked for read newest first (each
//! key's rows and sealed blocks merged, `Source`), their lines merged by
//! (time, key, line number), each tested with the search's
//! `Matcher`, until the page is full, the oldest line is passed, or the
//! time limit is up (then the page says so and where to go on). A cursor
//! (`SearchCursor`) continues strictly before the last line of a page.
//!
//! Synchronous: callers run it in `spawn_blocking`.

use super::blocks::{self, Block, Header};
use super::state::missing_is_empty;
use super::write::stream_of;
use crate::logs::Matcher;
use crate::model::{HostId, LogLine, LogStream, SearchCursor, StoredMatch};
use crate::store::StoreError;
use crate::store::tables::{LOG_BLOCK_DATA, LOG_BLOCKS, LOG_LINES};
use redb::ReadableDatabase;
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

type Rows = redb::Range<'static, Key, (u32, u8, &'static str)>;
type Row = redb::AccessGuard<'static, (u32, u8, &'static str)>;

/// One key's lines within the window, going back: its rows and its sealed
/// blocks merged. A block's lines all come at or before its key (its
/// newest line), so a block is opened when its key is the newest thing
/// left; blocks that overlap in time are open together.
struct Source {
    key_id: u32,
    lower: Key,
    upper: Bound<Key>,
    rows: Rows,
    /// The next row, read ahead.
    row: Option<(Key, Row)>,
    blocks: Option<redb::Range<'static, Key, Header>>,
    /// The next block not opened yet (its key), read ahead.
    block: Option<Key>,
    /// Blocks opened, each with its lines in the window still to give, oldest first.
    open: Vec<(Block, Vec<usize>)>,
}

/// Whether `k` is at or under the upper bound `upper`.
fn under(upper: Bound<Key>, k: Key) -> bool {
    match upper {
        Bound::Included(u) => k <= u,
        Bound::Excluded(u) => k < u,
        Bound::Unbounded => true,
    }
}

impl Source {
    fn within(&self, k: Key) -> bool {
        k >= self.lower && under(self.upper, k)
    }

    fn next_row(&mut self) -> Result<(), StoreError> {
        self.row = match self.rows.next_back() {
            Some(r) => {
                let (k, v) = r?;
                Some((k.value(), v))
            }
            None => None,
        };
        Ok(())
    }

    /// Reads ahead to the next block that can hold a line in the window.
    fn next_block(&mut self) -> Result<(), StoreError> {
        self.block = None;
        let Some(range) = self.blocks.as_mut() else {
            return Ok(());
        };
        for r in range.by_ref().rev() {
            let (k, v) = r?;
            let oldest = v.value().0;
            // Its newest line is at or above the window's start (the range's
            // own bound); its oldest must not be past the window's end.
            if under(self.upper, (self.key_id, oldest, 0)) {
                self.block = Some(k.value());
                return Ok(());
            }
        }
        Ok(())
    }

    /// The next line going back, tested with `test`; none when the key has
    /// no more in the window.
    fn next(
        &mut self,
        data: Option<&redb::ReadOnlyTable<Key, &'static [u8]>>,
        test: &mut impl FnMut(LogStream, &str) -> bool,
    ) -> Result<Option<Head>, StoreError> {
        loop {
            let row = self.row.as_ref().map(|(k, _)| *k);
            // The open block whose next line is the newest.
            let opened = self
                .open
                .iter()
                .enumerate()
                .filter_map(|(i, (b, left))| left.last().map(|&l| (i, (self.key_id, b.lines[l].ts, b.lines[l].seq))))
                .max_by_key(|(_, k)| *k);
            let newest_line = row.max(opened.map(|(_, k)| k));
            if let Some(at) = self.block
                && Some(at) >= newest_line
            {
                self.next_block()?;
                let Some(bytes) = data.map(|d| d.get(at)).transpose()?.flatten() else {
                    continue;
                };
                match blocks::decode(at, bytes.value()) {
                    Ok(block) => {
                        let left = (0..block.lines.len())
                            .filter(|&i| self.within((self.key_id, block.lines[i].ts, block.lines[i].seq)))
                            .collect();
                        self.open.push((block, left));
                    }
                    Err(e) => tracing::warn!(error = %e, "skipping a stored log block that cannot be read"),
                }
                continue;
            }
            let Some(newest) = newest_line else {
                return Ok(None);
            };
            if let Some((i, k)) = opened
                && k == newest
            {
                let (block, left) = &mut self.open[i];
                let line = &block.lines[left.pop().expect("an open block with a line")];
                let text = block.text(line);
                let stream = stream_of(line.stream);
                let hit = test(stream, text).then(|| (line.ctr, stream, text.to_string()));
                let head = Head {
                    ts: line.ts,
                    seq: line.seq,
                    hit,
                };
                if left.is_empty() {
                    self.open.swap_remove(i);
                }
                return Ok(Some(head));
            }
            let (k, v) = self.row.take().expect("the newest line is a row");
            let (ctr, code, text) = v.value();
            let stream = stream_of(code);
            let hit = test(stream, text).then(|| (ctr, stream, text.to_string()));
            self.next_row()?;
            return Ok(Some(Head { ts: k.1, seq: k.2, hit }));
        }
    }
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
    let Some(table) = missing_is_empty(tx.open_table(LOG_LINES))? else {
        return Ok(found);
    };
    let heads = missing_is_empty(tx.open_table(LOG_BLOCKS))?;
    let data = missing_is_empty(tx.open_table(LOG_BLOCK_DATA))?;
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
    let mut sources: Vec<Option<Source>> = Vec::new();
    let mut pending: Vec<Option<Head>> = Vec::new();
    let mut heap = BinaryHeap::new();
    for (i, t) in targets.iter().enumerate() {
        sources.push(None);
        pending.push(None);
        let Some((lower, upper)) = bounds(t.key_id, w) else {
            continue;
        };
        let blocks = match &heads {
            Some(h) => Some(h.range::<Key>(lower..=(t.key_id, i64::MAX, u32::MAX))?),
            None => None,
        };
        let mut src = Source {
            key_id: t.key_id,
            lower,
            upper,
            rows: table.range::<Key>((Bound::Included(lower), upper))?,
            row: None,
            blocks,
            block: None,
            open: Vec::new(),
        };
        src.next_row()?;
        src.next_block()?;
        let head = src.next(data.as_ref(), &mut test)?;
        if let Some(h) = &head {
            found.scanned += 1;
            heap.push((h.ts, t.key_id, h.seq, i));
        }
        sources[i] = Some(src);
        pending[i] = head;
    }
    while let Some((ts, key_id, seq, i)) = heap.pop() {
        let cursor = SearchCursor { ts_ns: ts, key_id, seq };
        let head = pending[i].take().expect("a key in the heap has a head");
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
        let src = sources[i].as_mut().expect("a key in the heap has a source");
        if let Some(h) = src.next(data.as_ref(), &mut test)? {
            found.scanned += 1;
            heap.push((h.ts, key_id, h.seq, i));
            pending[i] = Some(h);
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
