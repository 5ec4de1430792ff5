//! Sealed blocks: the older lines of a key, deflated together.
//!
//! New lines go to `LOG_LINES`, one row each: cheap to write in rounds and
//! to read back at a resume point. Once a key holds `2 × block_bytes` of
//! such rows, its oldest rows worth `block_bytes` become one block: a
//! header in `LOG_BLOCKS` and the lines, encoded and deflated, in
//! `LOG_BLOCK_DATA`, both keyed by the block's newest line (key number,
//! time, line number). So a key's newest lines always stay rows, and the
//! rest takes a fraction of the room (log text deflates 4 to 10 times)
//! with one page write per block instead of a row per line.
//!
//! A block counts against the budgets as its deflated size plus
//! `BLOCK_OVERHEAD`; a row as its text plus `LINE_OVERHEAD`. Dropping over
//! budget drops whole blocks, oldest first (`write::drop_oldest`).
//!
//! Blocks of one key may overlap in time: two containers under one key
//! (a scaled compose service) are collected apart, and one may store lines
//! older than a block sealed already. Readers merge them: a block's lines
//! all come at or before its key, so a reader going back opens a block
//! when its key is the newest thing left (`search`).

use super::state::{State, line_size};
use crate::store::StoreError;
use crate::store::tables::{LOG_BLOCK_DATA, LOG_BLOCKS, LOG_LINES};
use redb::{ReadableTable, Table, WriteTransaction};

/// What a block counts against the budgets beyond its deflated lines.
pub(super) const BLOCK_OVERHEAD: u64 = 64;
/// The first byte of an encoded block: its format.
const FORMAT: u8 = 1;
/// A block never inflates to more than this: one that claims to is damaged.
const MAX_INFLATED: usize = 64 * 1024 * 1024;
/// Deflate level: 1 deflates log text nearly as well as 6 at several
/// times the speed, and sealing runs in the writer's rounds.
const LEVEL: u8 = 1;

/// A row's or block's key: (key number, time ns, line number).
pub(super) type LineKey = (u32, i64, u32);
/// A block's header: (oldest line ns, lines, budget bytes).
pub(super) type Header = (i64, u32, u64);

/// The stored-line tables of a write transaction.
pub(super) struct Tables<'t> {
    pub lines: Table<'t, LineKey, (u32, u8, &'static str)>,
    pub blocks: Table<'t, LineKey, Header>,
    pub data: Table<'t, LineKey, &'static [u8]>,
}

impl<'t> Tables<'t> {
    pub fn open(tx: &'t WriteTransaction) -> Result<Tables<'t>, StoreError> {
        Ok(Tables {
            lines: tx.open_table(LOG_LINES)?,
            blocks: tx.open_table(LOG_BLOCKS)?,
            data: tx.open_table(LOG_BLOCK_DATA)?,
        })
    }
}

/// One line of a block; its text is `Block::text(line)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BlockLine {
    pub ts: i64,
    pub seq: u32,
    pub ctr: u32,
    pub stream: u8,
    text: std::ops::Range<usize>,
}

/// A block's lines, oldest first.
#[derive(Debug, Default)]
pub(super) struct Block {
    pub lines: Vec<BlockLine>,
    texts: String,
}

impl Block {
    pub fn text(&self, line: &BlockLine) -> &str {
        &self.texts[line.text.clone()]
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(input: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *input.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Lines as a block holds them, before deflating: the format byte, then
/// per line the change of time (zigzag), number, container, stream, length
/// and text.
#[derive(Default)]
pub(super) struct Encoder {
    buf: Vec<u8>,
    prev_ts: i64,
    pub lines: u32,
}

impl Encoder {
    pub fn push(&mut self, ts: i64, seq: u32, ctr: u32, stream: u8, text: &str) {
        if self.buf.is_empty() {
            self.buf.push(FORMAT);
        }
        let delta = ts.wrapping_sub(self.prev_ts);
        put_varint(&mut self.buf, ((delta << 1) ^ (delta >> 63)) as u64);
        self.prev_ts = ts;
        put_varint(&mut self.buf, u64::from(seq));
        put_varint(&mut self.buf, u64::from(ctr));
        self.buf.push(stream);
        put_varint(&mut self.buf, text.len() as u64);
        self.buf.extend_from_slice(text.as_bytes());
        self.lines += 1;
    }

    /// The deflated block.
    pub fn finish(self) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec(&self.buf, LEVEL)
    }
}

/// Inflates and decodes a block stored under `at`.
pub(super) fn decode(at: LineKey, data: &[u8]) -> Result<Block, StoreError> {
    let damaged = |why: &str| StoreError::Damaged(format!("stored log block {at:?}: {why}"));
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(data, MAX_INFLATED)
        .map_err(|e| damaged(&format!("cannot inflate it ({:?})", e.status)))?;
    if raw.first() != Some(&FORMAT) {
        return Err(damaged("unknown format"));
    }
    let mut block = Block {
        lines: Vec::new(),
        texts: String::with_capacity(raw.len()),
    };
    let mut at_byte = 1;
    let mut ts = 0i64;
    while at_byte < raw.len() {
        let field = |v: Option<u64>| v.ok_or_else(|| damaged("a line is cut short"));
        let z = field(get_varint(&raw, &mut at_byte))?;
        ts = ts.wrapping_add(((z >> 1) as i64) ^ -((z & 1) as i64));
        let seq = u32::try_from(field(get_varint(&raw, &mut at_byte))?).map_err(|_| damaged("line number"))?;
        let ctr = u32::try_from(field(get_varint(&raw, &mut at_byte))?).map_err(|_| damaged("container number"))?;
        let stream = *raw.get(at_byte).ok_or_else(|| damaged("a line is cut short"))?;
        at_byte += 1;
        let len = field(get_varint(&raw, &mut at_byte))? as usize;
        let bytes = raw
            .get(at_byte..at_byte.saturating_add(len))
            .ok_or_else(|| damaged("a line is cut short"))?;
        at_byte += len;
        let text = std::str::from_utf8(bytes).map_err(|_| damaged("a line is not UTF-8"))?;
        let start = block.texts.len();
        block.texts.push_str(text);
        block.lines.push(BlockLine {
            ts,
            seq,
            ctr,
            stream,
            text: start..block.texts.len(),
        });
    }
    Ok(block)
}

/// A row read to be sealed: its key, container, stream and text.
type SealRow = (LineKey, u32, u8, String);

/// The first `n` of `rows` as a deflated block.
fn encode(rows: &[SealRow], n: usize) -> Vec<u8> {
    let mut enc = Encoder::default();
    for ((_, ts, seq), ctr, stream, text) in &rows[..n] {
        enc.push(*ts, *seq, *ctr, *stream, text);
    }
    enc.finish()
}

/// Seals the oldest rows of key `key_id` into blocks while it holds at
/// least twice `state.block_bytes` of them; keeps its extent, its sealed
/// bytes and the total true.
pub(super) fn seal(t: &mut Tables<'_>, state: &mut State, key_id: u32) -> Result<(), StoreError> {
    let block_bytes = state.block_bytes;
    loop {
        let Some(ks) = state.keys.get(&key_id) else {
            return Ok(());
        };
        if ks.unsealed() < 2 * block_bytes {
            return Ok(());
        }
        let mut rows = Vec::new();
        let mut raw = 0u64;
        for row in t.lines.range((key_id, i64::MIN, 0u32)..=(key_id, i64::MAX, u32::MAX))? {
            let (k, v) = row?;
            let (ctr, stream, text) = v.value();
            raw += line_size(text);
            rows.push((k.value(), ctr, stream, text.to_string()));
            if raw >= block_bytes {
                break;
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut n = rows.len();
        let mut data = encode(&rows, n);
        // A block's key is its newest line. A line number may come again
        // after a restart, so a key taken already takes the next line too.
        while t.blocks.get(rows[n - 1].0)?.is_some() {
            if n == rows.len() {
                // Every row's key is taken by a block: they stay rows.
                return Ok(());
            }
            n += 1;
            data = encode(&rows, n);
        }
        let at = rows[n - 1].0;
        let raw: u64 = rows[..n].iter().map(|r| line_size(&r.3)).sum();
        let size = data.len() as u64 + BLOCK_OVERHEAD;
        t.blocks.insert(at, (rows[0].0.1, n as u32, size))?;
        t.data.insert(at, data.as_slice())?;
        t.lines.retain_in((key_id, i64::MIN, 0u32)..=at, |_, _| false)?;
        let ks = state.keys.get_mut(&key_id).expect("the key was just read");
        ks.sealed += size;
        ks.extent.bytes = ks.extent.bytes.saturating_sub(raw) + size;
        state.total_bytes = state.total_bytes.saturating_sub(raw) + size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_decodes_to_what_was_encoded() {
        let lines = [
            (i64::MIN + 5, 0u32, 1u32, 0u8, "first"),
            (-3, u32::MAX, 2, 1, ""),
            (1_700_000_000_000_000_000, 7, 3, 0, "ünïcode \u{1b}[31mred\u{1b}[0m"),
            (1_699_999_999_000_000_000, 8, 3, 1, "older, from another stream"),
        ];
        let mut enc = Encoder::default();
        for (ts, seq, ctr, s, text) in lines {
            enc.push(ts, seq, ctr, s, text);
        }
        let block = decode((1, 0, 0), &enc.finish()).unwrap();
        let back: Vec<_> = block
            .lines
            .iter()
            .map(|l| (l.ts, l.seq, l.ctr, l.stream, block.text(l)))
            .collect();
        assert_eq!(back, lines);
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_panic() {
        let mut enc = Encoder::default();
        enc.push(10, 1, 1, 0, "a line of text");
        let good = enc.finish();
        let err = |data: &[u8]| decode((4, 10, 1), data).unwrap_err().to_string();
        assert!(err(b"not deflate at all").contains("cannot inflate"));
        assert!(err(&good[..good.len() / 2]).contains("(4, 10, 1)"));
        // Inflates, but the text's length runs past the end.
        let cut = miniz_oxide::deflate::compress_to_vec(&[FORMAT, 20, 1, 1, 0, 200, b'x'], 1);
        assert!(err(&cut).contains("cut short"), "{}", err(&cut));
        let other = miniz_oxide::deflate::compress_to_vec(&[9, 1, 2], 1);
        assert!(err(&other).contains("unknown format"));
        let latin1 = miniz_oxide::deflate::compress_to_vec(&[FORMAT, 20, 1, 1, 0, 1, 0xff], 1);
        assert!(err(&latin1).contains("UTF-8"));
    }
}
