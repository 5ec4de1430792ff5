//! Writing stored lines and keeping them within budget, in one redb
//! transaction per round: the lines of every batch that arrived together,
//! their keys' extents and their containers' resume points, the sealing of
//! keys that hold enough rows (`blocks`), then the budgets: a key over its own budget loses its oldest lines, and when all
//! keys together are over the total budget the oldest lines of all go,
//! oldest first across keys, each down to nine tenths of its budget (so a
//! full key drops a tenth at a time, not a line per write). What was
//! dropped comes back, one record per key and round.
//!
//! Synchronous: callers run it in `spawn_blocking`, holding the state's
//! lock, and swap in the state it returns once it committed.

use super::blocks::{self, Header, LineKey, Tables};
use super::state::{Extent, Life, State, line_size};
use crate::model::LogStream;
use crate::store::StoreError;
use crate::store::tables::{LOG_CONTAINERS, LOG_EXTENTS};
use redb::{Durability, ReadableTable, Table};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};

/// One line to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub ts_ns: i64,
    pub stream: LogStream,
    pub text: String,
}

/// Lines of one container under one key, in the order it wrote them.
#[derive(Clone, Debug)]
pub(super) struct Batch {
    pub key_id: u32,
    pub container: String,
    pub name: String,
    pub lines: Vec<Line>,
}

/// What one enforcement round dropped of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dropped {
    pub host: String,
    pub key: String,
    pub name: String,
    pub lines: u64,
    pub bytes: u64,
    /// The oldest and newest line dropped, Unix ns.
    pub from_ns: i64,
    pub to_ns: i64,
    /// Over its own budget, over the total budget (or both, in one round).
    pub over_key: bool,
    pub over_total: bool,
}

pub(super) fn stream_code(s: LogStream) -> u8 {
    match s {
        LogStream::Stdout => 0,
        LogStream::Stderr => 1,
    }
}

pub(super) fn stream_of(code: u8) -> LogStream {
    if code == 1 {
        LogStream::Stderr
    } else {
        LogStream::Stdout
    }
}

type Lines<'t> = Table<'t, LineKey, (u32, u8, &'static str)>;

/// Writes `batches`, seals the keys they filled (`blocks`) and enforces the
/// budgets, in one transaction (durable only when asked). Returns the
/// state after it, and what was dropped.
pub(super) fn write(
    db: &redb::Database,
    state: &State,
    batches: &[Batch],
    durable: bool,
) -> Result<(State, Vec<Dropped>), StoreError> {
    let mut next = state.clone();
    let mut tx = db.begin_write()?;
    if !durable {
        tx.set_durability(Durability::None)
            .map_err(|e| StoreError::Task(e.to_string()))?;
    }
    let dropped = {
        let mut tables = Tables::open(&tx)?;
        let mut lives = tx.open_table(LOG_CONTAINERS)?;
        let mut touched: HashSet<u32> = HashSet::new();
        let mut touched_lives: HashSet<(u32, u32)> = HashSet::new();
        for b in batches {
            if b.lines.is_empty() {
                continue;
            }
            let State {
                keys, seq, total_bytes, ..
            } = &mut next;
            let Some(ks) = keys.get_mut(&b.key_id) else {
                continue;
            };
            let ctr = match ks.by_container.get(&b.container) {
                Some(c) => *c,
                None => {
                    let c = ks.lives.keys().max().map_or(1, |m| m + 1);
                    ks.by_container.insert(b.container.clone(), c);
                    let life = Life {
                        id: b.container.clone(),
                        name: b.name.clone(),
                        last_ts: i64::MIN,
                    };
                    ks.lives.insert(c, life);
                    c
                }
            };
            let life = ks.lives.get_mut(&ctr).expect("the life was just found or made");
            life.name.clone_from(&b.name);
            for line in &b.lines {
                insert_line(
                    &mut tables.lines,
                    seq,
                    (b.key_id, line.ts_ns),
                    (ctr, stream_code(line.stream), &line.text),
                )?;
                let size = line_size(&line.text);
                ks.extent.add(line.ts_ns, size);
                *total_bytes += size;
                life.last_ts = life.last_ts.max(line.ts_ns);
            }
            touched.insert(b.key_id);
            touched_lives.insert((b.key_id, ctr));
        }
        for (key_id, ctr) in touched_lives {
            let life = &next.keys[&key_id].lives[&ctr];
            lives.insert((key_id, ctr), (life.id.as_str(), life.name.as_str(), life.last_ts))?;
        }
        for &key_id in &touched {
            blocks::seal(&mut tables, &mut next, key_id)?;
        }
        let (dropped, shrunk) = enforce(&mut tables, &mut next)?;
        let mut extents = tx.open_table(LOG_EXTENTS)?;
        for key_id in touched.into_iter().chain(shrunk) {
            extents.insert(key_id, next.keys[&key_id].extent.row())?;
        }
        dropped
    };
    tx.commit()?;
    Ok((next, dropped))
}

/// Inserts a line under the next free number at its key and time. Numbers
/// go up with every line, so lines at one nanosecond keep their order; in
/// the rare case the number is taken (it wrapped, or berth restarted and
/// met a line at the very same nanosecond), the old line is put back and
/// the next number tried.
fn insert_line(lines: &mut Lines<'_>, seq: &mut u32, at: (u32, i64), value: (u32, u8, &str)) -> Result<(), StoreError> {
    loop {
        *seq = seq.wrapping_add(1);
        let key = (at.0, at.1, *seq);
        let old = lines.insert(key, value)?.map(|g| {
            let (c, s, t) = g.value();
            (c, s, t.to_string())
        });
        match old {
            None => return Ok(()),
            Some((c, s, t)) => {
                lines.insert(key, (c, s, t.as_str()))?;
            }
        }
    }
}

/// Applies both budgets to every key of `state` (see the module's note).
/// Returns what was dropped, one record per key, and the keys whose extent
/// changed.
pub(super) fn enforce(t: &mut Tables<'_>, state: &mut State) -> Result<(Vec<Dropped>, Vec<u32>), StoreError> {
    let mut records: BTreeMap<u32, Dropped> = BTreeMap::new();
    let over: Vec<(u32, u64)> = state
        .keys
        .values()
        .filter(|ks| ks.extent.bytes > state.budget_of(ks))
        .map(|ks| (ks.settings.id, ks.extent.bytes - low_water(state.budget_of(ks))))
        .collect();
    for (key_id, need) in over {
        for (id, span) in drop_oldest(t, state, &[key_id], need)? {
            note(&mut records, state, id, span, true);
        }
    }
    if state.total_bytes > state.budgets.total {
        let need = state.total_bytes - low_water(state.budgets.total);
        let ids: Vec<u32> = state
            .keys
            .values()
            .filter(|k| k.extent.lines > 0)
            .map(|k| k.settings.id)
            .collect();
        for (id, span) in drop_oldest(t, state, &ids, need)? {
            note(&mut records, state, id, span, false);
        }
    }
    let shrunk = records.keys().copied().collect();
    Ok((records.into_values().collect(), shrunk))
}

/// Nine tenths of a budget: where dropping stops.
fn low_water(budget: u64) -> u64 {
    budget - budget / 10
}

/// What one pass dropped of one key.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    lines: u64,
    bytes: u64,
    from_ns: i64,
    to_ns: i64,
    /// Of `bytes`, those of sealed blocks.
    sealed: u64,
    /// The last row and the last block dropped.
    last_row: Option<LineKey>,
    last_block: Option<LineKey>,
}

fn note(records: &mut BTreeMap<u32, Dropped>, state: &State, id: u32, span: Span, own: bool) {
    let ks = &state.keys[&id];
    let r = records.entry(id).or_insert_with(|| Dropped {
        host: ks.host.clone(),
        key: ks.key.clone(),
        name: ks.display_name(),
        lines: 0,
        bytes: 0,
        from_ns: span.from_ns,
        to_ns: span.to_ns,
        over_key: false,
        over_total: false,
    });
    r.lines += span.lines;
    r.bytes += span.bytes;
    r.from_ns = r.from_ns.min(span.from_ns);
    r.to_ns = r.to_ns.max(span.to_ns);
    r.over_key |= own;
    r.over_total |= !own;
}

/// The oldest thing left of a key: a row, or a whole sealed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Front {
    /// Its oldest line's time: what goes first.
    oldest: i64,
    id: u32,
    /// Its key in its table, and whether that is `LOG_BLOCKS`.
    block: bool,
    at: LineKey,
    newest: i64,
    lines: u32,
    bytes: u64,
    /// Which of the keys being dropped from.
    i: usize,
}

/// Drops the oldest lines of the keys `ids`, in time order across them
/// (their rows and blocks merged by oldest line; a block goes whole),
/// until at least `need` bytes are freed or they are empty; updates their
/// extents and the total. Returns what each lost.
fn drop_oldest(t: &mut Tables<'_>, state: &mut State, ids: &[u32], need: u64) -> Result<Vec<(u32, Span)>, StoreError> {
    let mut spans: Vec<Option<Span>> = vec![None; ids.len()];
    // Each key's oldest line after the drop (none: it is empty now).
    let mut heads: Vec<Option<i64>> = vec![None; ids.len()];
    {
        let mut rows = Vec::with_capacity(ids.len());
        let mut blocks = Vec::with_capacity(ids.len());
        let mut heap = BinaryHeap::new();
        for (i, &id) in ids.iter().enumerate() {
            let all = (id, i64::MIN, 0u32)..=(id, i64::MAX, u32::MAX);
            let mut r = t.lines.range(all.clone())?;
            heap.extend(next_row(&mut r, i)?.map(Reverse));
            rows.push(r);
            let mut b = t.blocks.range(all)?;
            heap.extend(next_block(&mut b, i)?.map(Reverse));
            blocks.push(b);
        }
        let mut freed = 0u64;
        while freed < need {
            let Some(Reverse(f)) = heap.pop() else {
                break;
            };
            let span = spans[f.i].get_or_insert(Span {
                from_ns: f.oldest,
                to_ns: f.newest,
                ..Span::default()
            });
            span.lines += u64::from(f.lines);
            span.bytes += f.bytes;
            span.from_ns = span.from_ns.min(f.oldest);
            span.to_ns = span.to_ns.max(f.newest);
            freed += f.bytes;
            let next = if f.block {
                span.sealed += f.bytes;
                span.last_block = Some(f.at);
                next_block(&mut blocks[f.i], f.i)?
            } else {
                span.last_row = Some(f.at);
                next_row(&mut rows[f.i], f.i)?
            };
            heap.extend(next.map(Reverse));
        }
        for Reverse(f) in heap {
            heads[f.i] = Some(heads[f.i].map_or(f.oldest, |h| h.min(f.oldest)));
        }
    }
    let mut out = Vec::new();
    for (i, span) in spans.into_iter().enumerate() {
        let Some(span) = span else { continue };
        let id = ids[i];
        if let Some(last) = span.last_row {
            t.lines.retain_in((id, i64::MIN, 0u32)..=last, |_, _| false)?;
        }
        if let Some(last) = span.last_block {
            t.blocks.retain_in((id, i64::MIN, 0u32)..=last, |_, _| false)?;
            t.data.retain_in((id, i64::MIN, 0u32)..=last, |_, _| false)?;
        }
        let ks = state.keys.get_mut(&id).expect("a key being dropped from exists");
        ks.sealed = ks.sealed.saturating_sub(span.sealed);
        ks.extent = match heads[i] {
            Some(oldest) => Extent {
                oldest,
                newest: ks.extent.newest,
                bytes: ks.extent.bytes.saturating_sub(span.bytes),
                lines: ks.extent.lines.saturating_sub(span.lines),
            },
            None => {
                ks.sealed = 0;
                Extent::default()
            }
        };
        state.total_bytes = state.total_bytes.saturating_sub(span.bytes);
        out.push((id, span));
    }
    Ok(out)
}

/// The next row of a key's rows, as a front.
fn next_row(
    range: &mut redb::Range<'_, LineKey, (u32, u8, &'static str)>,
    i: usize,
) -> Result<Option<Front>, StoreError> {
    let Some(row) = range.next() else {
        return Ok(None);
    };
    let (k, v) = row?;
    let at = k.value();
    Ok(Some(Front {
        oldest: at.1,
        id: at.0,
        block: false,
        at,
        newest: at.1,
        lines: 1,
        bytes: line_size(v.value().2),
        i,
    }))
}

/// The next block of a key's blocks, as a front.
fn next_block(range: &mut redb::Range<'_, LineKey, Header>, i: usize) -> Result<Option<Front>, StoreError> {
    let Some(row) = range.next() else {
        return Ok(None);
    };
    let (k, v) = row?;
    let at = k.value();
    let (oldest, lines, bytes) = v.value();
    Ok(Some(Front {
        oldest,
        id: at.0,
        block: true,
        at,
        newest: at.1,
        lines,
        bytes,
        i,
    }))
}
