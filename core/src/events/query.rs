//! Reading the log: filtered pages, newest first, by cursor.
//!
//! Each filtered field with an index is a cursor over `(field, value, seq)`
//! keys; the cursors are intersected by leapfrogging (each seeks to the
//! largest seq not above the current candidate until all agree), so a page
//! costs a few B-tree seeks per result however large the log is. Fields
//! without an index (outcome `ok`) are checked on the loaded event. A time
//! range becomes a seq range by binary search, since time never decreases
//! along the log.

use super::index::{IX_ACTOR, IX_HOST, IX_KIND, IX_OUTCOME, IX_TARGET, IndexTable, Posting};
use super::writer::indexed_head;
use super::{EventError, Result};
use crate::model::codec;
use crate::model::{Event, EventFilter, EventPage, EventSeq, OutcomeFilter};
use crate::store::tables::{EVENT_INDEX, EVENT_KINDS, EVENTS};
use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable};

/// The largest page a caller may ask for.
pub const MAX_PAGE: usize = 1000;

/// The most events one page reads before it answers with what it found
/// and a cursor to go on from: a reader who may see few events (a rare
/// filter, a grant on one host of many) cannot make one request walk the
/// whole log.
pub(super) const MAX_SCAN: usize = 20_000;

/// A filter field: one posting list, or the union of several (a kind prefix).
struct Cursor(Vec<Posting>);

impl Cursor {
    fn seek_le(&mut self, index: &IndexTable, at: u64) -> Result<Option<u64>> {
        let mut best = None;
        for p in &mut self.0 {
            if let Some(s) = p.seek_le(index, at)? {
                best = best.max(Some(s));
            }
        }
        Ok(best)
    }
}

fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &redb::ReadTransaction,
    def: redb::TableDefinition<K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>> {
    match tx.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn decode(seq: u64, bytes: &[u8]) -> Result<Event> {
    codec::decode(bytes).ok_or(EventError::Corrupt(seq))
}

pub(super) fn get(db: &Database, seq: EventSeq) -> Result<Option<Event>> {
    let tx = db.begin_read()?;
    let Some(events) = open(&tx, EVENTS)? else {
        return Ok(None);
    };
    let Some(v) = events.get(seq.0)? else { return Ok(None) };
    decode(seq.0, v.value()).map(Some)
}

pub(super) fn kinds(db: &Database) -> Result<Vec<String>> {
    let tx = db.begin_read()?;
    let Some(table) = open(&tx, EVENT_KINDS)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in table.iter()? {
        out.push(row?.0.value().to_string());
    }
    Ok(out)
}

/// The first seq whose time is `>= ts`, or `head + 1` when there is none.
fn first_at_or_after(events: &ReadOnlyTable<u64, &'static [u8]>, head: u64, ts: i64) -> Result<u64> {
    let (mut lo, mut hi) = (1u64, head + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let bytes = events.get(mid)?.ok_or(EventError::Corrupt(mid))?;
        if decode(mid, bytes.value())?.ts_ns >= ts {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

fn cursors(filter: &EventFilter, kinds: Option<&ReadOnlyTable<&'static str, u64>>) -> Result<Option<Vec<Cursor>>> {
    let one = |field, value: &str| Cursor(vec![Posting::new(field, value)]);
    let mut out = Vec::new();
    if let Some(kind) = &filter.kind {
        match filter.kind_prefix() {
            None => out.push(one(IX_KIND, kind)),
            Some(prefix) => {
                let mut postings = Vec::new();
                if let Some(kinds) = kinds {
                    for row in kinds.range(prefix..)? {
                        let name = row?.0.value().to_string();
                        if !name.starts_with(prefix) {
                            break;
                        }
                        postings.push(Posting::new(IX_KIND, name));
                    }
                }
                if postings.is_empty() {
                    return Ok(None);
                }
                out.push(Cursor(postings));
            }
        }
    }
    if let Some(actor) = &filter.actor {
        out.push(one(IX_ACTOR, &actor.to_string()));
    }
    if let Some(host) = &filter.host {
        out.push(one(IX_HOST, host));
    }
    if let Some(target) = &filter.target {
        out.push(one(IX_TARGET, target));
    }
    match filter.outcome {
        Some(o @ (OutcomeFilter::Denied | OutcomeFilter::Error)) => out.push(one(IX_OUTCOME, o.as_str())),
        Some(OutcomeFilter::Ok) | None => {}
    }
    Ok(Some(out))
}

pub(super) fn page(
    db: &Database,
    filter: &EventFilter,
    before: Option<EventSeq>,
    limit: usize,
    visible: &dyn Fn(&Event) -> bool,
) -> Result<EventPage> {
    let limit = limit.clamp(1, MAX_PAGE);
    let tx = db.begin_read()?;
    let empty = |head| EventPage {
        events: Vec::new(),
        next_before: None,
        head,
    };
    let Some(events) = open(&tx, EVENTS)? else {
        return Ok(empty(0));
    };
    let head = events.last()?.map_or(0, |(k, _)| k.value());
    let mut upper = head.min(before.map_or(u64::MAX, |b| b.0.saturating_sub(1)));
    let mut lower = 1;
    if let Some(since) = filter.since_ns {
        lower = first_at_or_after(&events, head, since)?;
    }
    if let Some(until) = filter.until_ns {
        upper = upper.min(first_at_or_after(&events, head, until)?.saturating_sub(1));
    }
    if upper < lower {
        return Ok(empty(head));
    }
    let mut found = Vec::new();
    let mut last_seen = None;
    let mut scanned = 0;
    let mut take = |seq: u64, e: Event, found: &mut Vec<Event>| {
        last_seen = Some(seq);
        scanned += 1;
        if filter.matches(&e) && visible(&e) {
            found.push(e);
        }
        found.len() == limit || scanned == MAX_SCAN
    };

    // Events past the index are few: scan them first (they are the newest).
    let indexed = indexed_head(&tx)?;
    let scan_from = lower.max(indexed + 1);
    if scan_from <= upper {
        for row in events.range(scan_from..=upper)?.rev() {
            let (k, v) = row?;
            if take(k.value(), decode(k.value(), v.value())?, &mut found) {
                return Ok(finish(found, last_seen, lower, limit, head, scanned));
            }
        }
    }
    let upper = upper.min(indexed);
    let kinds = open(&tx, EVENT_KINDS)?;
    let cursors = cursors(filter, kinds.as_ref())?;
    match cursors {
        _ if upper < lower => {}
        None => {}
        Some(cursors) if cursors.is_empty() => {
            for row in events.range(lower..=upper)?.rev() {
                let (k, v) = row?;
                if take(k.value(), decode(k.value(), v.value())?, &mut found) {
                    break;
                }
            }
        }
        Some(mut cursors) => {
            let Some(index) = open(&tx, EVENT_INDEX)? else {
                return Ok(finish(found, last_seen, lower, limit, head, scanned));
            };
            let mut candidate = upper;
            'search: loop {
                // Leapfrog until every cursor lands on the same seq.
                let mut agreed = 0;
                let mut i = 0;
                while agreed < cursors.len() {
                    match cursors[i].seek_le(&index, candidate)? {
                        Some(s) if s < lower => break 'search,
                        None => break 'search,
                        Some(s) if s == candidate => agreed += 1,
                        Some(s) => {
                            candidate = s;
                            agreed = 1;
                        }
                    }
                    i = (i + 1) % cursors.len();
                }
                let bytes = events.get(candidate)?.ok_or(EventError::Corrupt(candidate))?;
                if take(candidate, decode(candidate, bytes.value())?, &mut found) || candidate <= lower {
                    break;
                }
                candidate -= 1;
            }
        }
    }
    Ok(finish(found, last_seen, lower, limit, head, scanned))
}

/// A page may be short (or empty) and still have a `next_before`: when it
/// stopped at `MAX_SCAN` rather than at `limit`.
fn finish(
    events: Vec<Event>,
    last_seen: Option<u64>,
    lower: u64,
    limit: usize,
    head: u64,
    scanned: usize,
) -> EventPage {
    let stopped_early = events.len() == limit || scanned >= MAX_SCAN;
    let next_before = match last_seen {
        Some(s) if stopped_early && s > lower => Some(EventSeq(s)),
        _ => None,
    };
    EventPage {
        events,
        next_before,
        head,
    }
}
