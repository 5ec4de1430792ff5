//! The log's secondary index. For each (field, value) it keeps the ascending
//! list of seqs that carry it, stored in blocks of up to `BLOCK_LEN` seqs
//! under the key (field, value, first seq of the block), delta-encoded.
//!
//! The writer adds a whole batch's postings at once: one read-modify-write
//! of the last block per distinct key, not one insert per event and field.
//! Readers seek a block with one B-tree lookup and then step through it in
//! memory. Index writes trail the durable event writes (see `writer`); the
//! seq they cover is kept in META as `indexed_head`.

use super::Result;
use crate::model::{Event, Outcome};
use crate::store::tables::{EVENT_INDEX, EVENT_KINDS, META};
use redb::{ReadOnlyTable, ReadableTable, WriteTransaction};
use std::collections::HashMap;

pub(super) const IX_KIND: u8 = 1;
pub(super) const IX_ACTOR: u8 = 2;
pub(super) const IX_HOST: u8 = 3;
pub(super) const IX_TARGET: u8 = 4;
/// Only `denied` and `error` are indexed: `ok` is most events, found by scanning.
pub(super) const IX_OUTCOME: u8 = 5;

const BLOCK_LEN: usize = 128;

pub(super) type IndexTable = ReadOnlyTable<(u8, &'static str, u64), &'static [u8]>;

/// Postings committed to the log but not yet to the index.
#[derive(Default)]
pub(super) struct Pending {
    /// Per field code (`IX_*`): value -> seqs, ascending.
    postings: [HashMap<String, Vec<u64>>; 6],
    kinds: HashMap<String, u64>,
    scratch: String,
    /// The highest seq added.
    pub through: u64,
    pub events: usize,
}

/// Appends `seq` to `value`'s list, allocating only for a value new to the map.
fn post(map: &mut HashMap<String, Vec<u64>>, value: &str, seq: u64) {
    match map.get_mut(value) {
        Some(seqs) => seqs.push(seq),
        None => {
            map.insert(value.to_string(), vec![seq]);
        }
    }
}

impl Pending {
    pub(super) fn add(&mut self, e: &Event) {
        use std::fmt::Write;
        let seq = e.seq.0;
        let p = &mut self.postings;
        post(&mut p[IX_KIND as usize], &e.kind, seq);
        self.scratch.clear();
        let _ = write!(self.scratch, "{}", e.actor);
        post(&mut p[IX_ACTOR as usize], &self.scratch, seq);
        if let Some(h) = &e.host {
            post(&mut p[IX_HOST as usize], h, seq);
        }
        if let Some(t) = &e.target {
            post(&mut p[IX_TARGET as usize], t, seq);
        }
        if !matches!(e.outcome, Outcome::Ok) {
            post(&mut p[IX_OUTCOME as usize], e.outcome.label(), seq);
        }
        match self.kinds.get_mut(e.kind.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.kinds.insert(e.kind.clone(), 1);
            }
        }
        self.through = self.through.max(seq);
        self.events += 1;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Writes every pending posting into `tx` and empties `self`.
    pub(super) fn write(&mut self, tx: &WriteTransaction) -> Result<()> {
        let mut index = tx.open_table(EVENT_INDEX)?;
        let all = self.postings.iter_mut().enumerate();
        for (field, (value, seqs)) in all.flat_map(|(f, map)| map.drain().map(move |entry| (f as u8, entry))) {
            let v = value.as_str();
            let last = match index
                .range((field, v, 0)..=(field, v, u64::MAX))?
                .next_back()
                .transpose()?
            {
                Some((k, bytes)) => {
                    let first = k.value().2;
                    Some((first, decode(first, bytes.value())))
                }
                None => None,
            };
            let (mut first, mut block) = last.unwrap_or_else(|| (seqs[0], Vec::new()));
            for seq in seqs {
                // Lists only grow. A posting at or below the block's end means
                // the index holds seqs the log lost (`drop_beyond` missed
                // them): skip it rather than encode a negative step.
                if block.last().is_some_and(|&last| last >= seq) {
                    tracing::error!(field, seq, "the event index is ahead of the log; posting skipped");
                    continue;
                }
                if block.len() == BLOCK_LEN {
                    index.insert((field, v, first), encode(first, &block).as_slice())?;
                    block.clear();
                }
                if block.is_empty() {
                    first = seq;
                }
                block.push(seq);
            }
            index.insert((field, v, first), encode(first, &block).as_slice())?;
        }
        let mut kinds = tx.open_table(EVENT_KINDS)?;
        for (kind, n) in self.kinds.drain() {
            let old = kinds.get(kind.as_str())?.map_or(0, |v| v.value());
            kinds.insert(kind.as_str(), old + n)?;
        }
        tx.open_table(META)?
            .insert("indexed_head", self.through.to_string().as_str())?;
        self.events = 0;
        Ok(())
    }
}

/// Removes every posting of a seq above `head` (events removed from the end
/// of the log) and sets `indexed_head` to `head`, so that the next events,
/// which take those seqs again, are indexed afresh. Returns how many
/// postings went.
pub(super) fn drop_beyond(tx: &WriteTransaction, head: u64) -> Result<u64> {
    let mut index = tx.open_table(EVENT_INDEX)?;
    let mut changed: Vec<((u8, String, u64), Vec<u64>)> = Vec::new();
    let mut dropped = 0;
    for row in index.iter()? {
        let (k, v) = row?;
        let (field, value, first) = k.value();
        let seqs = decode(first, v.value());
        if seqs.last().is_some_and(|&last| last > head) {
            let kept: Vec<u64> = seqs.iter().copied().filter(|&s| s <= head).collect();
            dropped += (seqs.len() - kept.len()) as u64;
            changed.push(((field, value.to_string(), first), kept));
        }
    }
    for ((field, value, first), kept) in changed {
        if kept.is_empty() {
            index.remove((field, value.as_str(), first))?;
        } else {
            index.insert((field, value.as_str(), first), encode(first, &kept).as_slice())?;
        }
    }
    tx.open_table(META)?.insert("indexed_head", head.to_string().as_str())?;
    Ok(dropped)
}

fn encode(first: u64, seqs: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() * 2);
    let mut prev = first;
    for &s in seqs {
        let mut d = s - prev;
        while d >= 0x80 {
            out.push((d as u8) | 0x80);
            d >>= 7;
        }
        out.push(d as u8);
        prev = s;
    }
    out
}

fn decode(first: u64, bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::with_capacity(BLOCK_LEN);
    let (mut prev, mut d, mut shift) = (first, 0u64, 0);
    for &b in bytes {
        d |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            prev += d;
            out.push(prev);
            (d, shift) = (0, 0);
        }
    }
    out
}

/// A reader's position in one posting list. It keeps the last block it read
/// and the highest seq that block answers for, so leapfrogging downwards
/// mostly searches memory.
pub(super) struct Posting {
    field: u8,
    value: String,
    block: Vec<u64>,
    /// The block holds every seq of this list in `[block[0], valid_to]`.
    valid_to: u64,
}

impl Posting {
    pub(super) fn new(field: u8, value: impl Into<String>) -> Posting {
        Posting {
            field,
            value: value.into(),
            block: Vec::new(),
            valid_to: 0,
        }
    }

    /// The largest seq `<= at` in this list.
    pub(super) fn seek_le(&mut self, index: &IndexTable, at: u64) -> Result<Option<u64>> {
        let cached = self
            .block
            .first()
            .is_some_and(|&first| first <= at && at <= self.valid_to);
        if !cached {
            let v = self.value.as_str();
            let found = index
                .range((self.field, v, 0)..=(self.field, v, at))?
                .next_back()
                .transpose()?;
            match found {
                None => return Ok(None),
                Some((k, bytes)) => {
                    let first = k.value().2;
                    self.block = decode(first, bytes.value());
                    self.valid_to = at;
                }
            }
        }
        let i = self.block.partition_point(|&s| s <= at);
        Ok(i.checked_sub(1).map(|i| self.block[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip() {
        let seqs = [5, 6, 9, 300, 70_000, 70_001];
        assert_eq!(decode(5, &encode(5, &seqs)), seqs);
        assert!(decode(1, &encode(1, &[])).is_empty());
    }
}
