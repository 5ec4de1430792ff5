//! The stored form of an event, which is also the canonical form that is
//! hashed. Layout (all integers little-endian or LEB128 varints):
//!
//! ```text
//! version u8 (=1) | seq u64 | ts i64 | kind str | actor kind u8 | actor name str
//! | source opt-str | host opt-str | target opt-str | outcome u8 | message str
//! | duration varint (0 = none, else micros + 1) | details str (JSON, "" = null)
//! | prev_hash [32]                       <- canonical bytes end here
//! | hash [32]  = SHA-256(canonical bytes)
//! ```
//!
//! Strings are a varint length then UTF-8; an absent optional string is
//! encoded as one byte 0 and a present one as 1 then the string, so "" and
//! None stay distinct.

// The browser only decodes (to show what a proof is about); the writing
// half is the server's.
#![cfg_attr(not(feature = "engine"), allow(dead_code))]

use crate::model::{Actor, ActorKind, Event, EventSeq, Hash32, NewEvent, Outcome};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Encodes an event and appends its hash; returns the record and the hash.
#[cfg(test)]
pub(crate) fn encode(seq: u64, ts_ns: i64, e: &NewEvent, prev: &Hash32) -> (Vec<u8>, Hash32) {
    let mut out = Vec::new();
    let hash = encode_into(&mut out, seq, ts_ns, e, prev);
    (out, hash)
}

/// Encodes an event into `out` (cleared first), hash included; returns the hash.
pub(crate) fn encode_into(out: &mut Vec<u8>, seq: u64, ts_ns: i64, e: &NewEvent, prev: &Hash32) -> Hash32 {
    out.clear();
    out.push(VERSION);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts_ns.to_le_bytes());
    put_str(out, &e.kind);
    out.push(e.actor.kind.code());
    put_str(out, &e.actor.name);
    put_opt_str(out, e.source.as_deref());
    put_opt_str(out, e.host.as_deref());
    put_opt_str(out, e.target.as_deref());
    let (code, message) = match &e.outcome {
        Outcome::Ok => (0u8, ""),
        Outcome::Denied(m) => (1, m.as_str()),
        Outcome::Error(m) => (2, m.as_str()),
    };
    out.push(code);
    put_str(out, message);
    put_varint(out, e.duration_us.map_or(0, |d| d.saturating_add(1)));
    if e.details.is_null() {
        put_str(out, "");
    } else {
        put_str(out, &e.details.to_string());
    }
    out.extend_from_slice(&prev.0);
    let hash = Hash32(Sha256::digest(&out[..]).into());
    out.extend_from_slice(&hash.0);
    hash
}

/// An event's canonical bytes (what its hash and its Merkle leaf cover):
/// the stored record without the trailing hash.
pub fn canonical_bytes(e: &Event) -> Vec<u8> {
    let draft = NewEvent {
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        source: e.source.clone(),
        host: e.host.clone(),
        target: e.target.clone(),
        outcome: e.outcome.clone(),
        duration_us: e.duration_us,
        details: e.details.clone(),
    };
    let mut out = Vec::new();
    encode_into(&mut out, e.seq.0, e.ts_ns, &draft, &e.prev_hash);
    out.truncate(out.len() - 32);
    out
}

/// Reads an event from its canonical bytes (a Merkle leaf, the `extra` of
/// a proof file): the stored record without its hash, which is recomputed.
/// The browser uses it to show what a proof is about.
pub fn decode_canonical(bytes: &[u8]) -> Option<Event> {
    let mut record = bytes.to_vec();
    record.extend_from_slice(&Sha256::digest(bytes));
    decode(&record)
}

/// SHA-256 of a record's canonical part, to compare with its stored hash.
pub(crate) fn recompute_hash(record: &[u8]) -> Option<Hash32> {
    let body = record.get(..record.len().checked_sub(32)?)?;
    Some(Hash32(Sha256::digest(body).into()))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str()?.to_string())),
            _ => None,
        }
    }
}

/// Decodes a stored record; `None` when it is not a well-formed record.
pub(crate) fn decode(record: &[u8]) -> Option<Event> {
    let mut r = Reader { buf: record, pos: 0 };
    if r.u8()? != VERSION {
        return None;
    }
    let seq = u64::from_le_bytes(r.array()?);
    let ts_ns = i64::from_le_bytes(r.array()?);
    let kind = r.str()?.to_string();
    let actor_kind = ActorKind::from_code(r.u8()?)?;
    let actor = Actor {
        kind: actor_kind,
        name: r.str()?.to_string(),
    };
    let source = r.opt_str()?;
    let host = r.opt_str()?;
    let target = r.opt_str()?;
    let code = r.u8()?;
    let message = r.str()?.to_string();
    let outcome = match code {
        0 => Outcome::Ok,
        1 => Outcome::Denied(message),
        2 => Outcome::Error(message),
        _ => return None,
    };
    let duration_us = r.varint()?.checked_sub(1);
    let details_text = r.str()?;
    let details = if details_text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(details_text).ok()?
    };
    let prev_hash = Hash32(r.array()?);
    let hash = Hash32(r.array()?);
    if r.pos != record.len() {
        return None;
    }
    Some(Event {
        seq: EventSeq(seq),
        ts_ns,
        kind,
        actor,
        source,
        host,
        target,
        outcome,
        duration_us,
        details,
        prev_hash,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let e = NewEvent::new("auth.login.failed", Actor::user("alice"))
            .source(Some("127.0.0.1".into()))
            .target("user:alice")
            .outcome(Outcome::Denied("wrong password".into()))
            .duration_us(1234)
            .details(serde_json::json!({"attempt": 3}));
        let prev = Hash32([7; 32]);
        let (bytes, hash) = encode(42, 1_700_000_000_000_000_000, &e, &prev);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.seq, EventSeq(42));
        assert_eq!(d.kind, e.kind);
        assert_eq!(d.actor, e.actor);
        assert_eq!(d.source, e.source);
        assert_eq!(d.host, None);
        assert_eq!(d.target, e.target);
        assert_eq!(d.outcome, e.outcome);
        assert_eq!(d.duration_us, Some(1234));
        assert_eq!(d.details, e.details);
        assert_eq!(d.prev_hash, prev);
        assert_eq!(d.hash, hash);
        assert_eq!(recompute_hash(&bytes), Some(hash));
    }

    #[test]
    fn a_changed_byte_changes_the_hash_or_fails_to_decode() {
        let (bytes, hash) = encode(
            1,
            5,
            &NewEvent::new("server.start", Actor::system()),
            &Hash32::default(),
        );
        for i in 0..bytes.len() - 32 {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_ne!(recompute_hash(&bad), Some(hash), "byte {i}");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
    }
}
