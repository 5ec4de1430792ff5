//! Walking the hash chain: every seq present from 1, every record's hash
//! matching its content, every record linking to the one before, and the
//! recorded head matching the last record.

use super::{Result, codec, now_ns};
use crate::model::{ChainStatus, EventSeq, Hash32};
use crate::store::meta_get;
use crate::store::tables::EVENTS;
use redb::{Database, ReadableDatabase, ReadableTable};

pub(super) fn walk(db: &Database) -> Result<ChainStatus> {
    let tx = db.begin_read()?;
    let mut status = ChainStatus {
        checked: 0,
        broken_at: None,
        problem: None,
        verified_at_ns: None,
    };
    // The index covers events up to here: the log cannot be shorter.
    let recorded_head: u64 = meta_get(&tx, "indexed_head")?.and_then(|v| v.parse().ok()).unwrap_or(0);
    let events = match tx.open_table(EVENTS) {
        Ok(t) => Some(t),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let broken = |seq: u64, why: String, status: &mut ChainStatus| {
        status.broken_at = Some(EventSeq(seq));
        status.problem = Some(why);
    };
    let mut prev = Hash32::default();
    let mut expected = 1u64;
    if let Some(events) = &events {
        for row in events.iter()? {
            let (k, v) = row?;
            let (seq, record) = (k.value(), v.value());
            if seq != expected {
                broken(
                    expected,
                    format!("event {expected} is missing (the next one stored is {seq})"),
                    &mut status,
                );
                break;
            }
            let Some(event) = codec::decode(record) else {
                broken(seq, format!("event {seq} is unreadable"), &mut status);
                break;
            };
            if event.seq.0 != seq {
                broken(
                    seq,
                    format!("event {seq} carries seq {} (moved)", event.seq.0),
                    &mut status,
                );
                break;
            }
            if event.prev_hash != prev {
                broken(
                    seq,
                    format!("event {seq} does not link to event {} (its prev_hash differs)", seq - 1),
                    &mut status,
                );
                break;
            }
            if codec::recompute_hash(record) != Some(event.hash) {
                broken(
                    seq,
                    format!("event {seq} was altered (its content does not match its hash)"),
                    &mut status,
                );
                break;
            }
            prev = event.hash;
            status.checked += 1;
            expected += 1;
        }
    }
    if status.is_ok() && status.checked < recorded_head {
        let first_missing = status.checked + 1;
        broken(
            first_missing,
            format!("events {first_missing} to {recorded_head} were removed from the end"),
            &mut status,
        );
    }
    status.verified_at_ns = Some(now_ns());
    Ok(status)
}
