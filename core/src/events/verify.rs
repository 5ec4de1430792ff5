//! Walking the log: every seq present from 1, every record's hash matching
//! its content, every record linking to the one before, the recorded head
//! matching the last record; then the Merkle tree rebuilt from the records
//! must match the stored one, and the latest signed checkpoint when given.

use super::tree::{self, Frontier, NodeCheck};
use super::{Result, now_ns};
use crate::model::codec;
use crate::model::{ChainStatus, EventSeq, Hash32};
use crate::store::meta_get;
use crate::store::tables::EVENTS;
use crate::tlog::merkle::{self, Hash};
use redb::{Database, ReadableDatabase, ReadableTable};

/// Walks the chain and the tree; `signed` is the latest checkpoint's size
/// and root, which the events must reproduce.
pub(super) fn walk(db: &Database, signed: Option<(u64, Hash)>) -> Result<ChainStatus> {
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
    // The tree, rebuilt from the records as they are read, and its roots at
    // the sizes of the stored tree and of the signed checkpoint.
    let stored_size = tree::tree_size(&tx)?;
    let signed_size = signed.map(|(size, _)| size);
    let mut rebuilt = Frontier::default();
    let mut nodes = NodeCheck::new(&tx, stored_size)?;
    let mut root_at_signed = None;
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
            rebuilt.push(tree::record_leaf(record).unwrap_or_default());
            nodes.check(&mut rebuilt)?;
            if Some(seq) == signed_size {
                root_at_signed = Some(rebuilt.root());
            }
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
    if status.is_ok() {
        let size = status.checked;
        let empty = Some(merkle::empty_root());
        let problem = if stored_size > size {
            // Caught above through `indexed_head` in all but odd cases.
            Some(format!(
                "the Merkle tree holds {stored_size} events, the log only {size}"
            ))
        } else if let Some((level, index)) = nodes.first_bad {
            Some(format!(
                "the stored Merkle tree does not match the events (its node at level {level}, index {index} differs)"
            ))
        } else {
            match signed {
                Some((s, _)) if s > size => Some(format!(
                    "the latest signed checkpoint holds {s} events, the log only {size}: events were removed from its end"
                )),
                Some((s, root)) if root_at_signed.or(empty.filter(|_| s == 0)) != Some(root) => Some(format!(
                    "the first {s} events are not those of the latest signed checkpoint: they were altered"
                )),
                _ => None,
            }
        };
        if let Some(problem) = problem {
            broken(size.max(1), problem, &mut status);
        }
    }
    status.verified_at_ns = Some(now_ns());
    Ok(status)
}
