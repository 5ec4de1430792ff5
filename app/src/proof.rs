//! Checking an event's proof file where it is shown, trusting the server for
//! nothing but the bytes: the checkpoint must be signed by the key the person
//! holds, the event's data must be a leaf of that checkpoint's tree, and the
//! leaf, decoded here, must be the event on the page, field for field. These are the
//! checks of `berth events check-proof`, compiled into the browser's wasm.
//! Fetching the file is `api::log::event_proof`'s business.

use crate::components::status::event_count;
use crate::error::AppError;
use berth_core::model::{Event, EventSeq, decode_canonical};
use berth_core::tlog::TlogError;
use berth_core::tlog::note::VerifierKey;
use berth_core::tlog::proof::ProofFile;
use std::fmt;
use thiserror::Error;

/// What a proof that checked out shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Included {
    pub seq: EventSeq,
    /// The size of the signed tree that holds the event.
    pub size: u64,
    /// The log that signed the checkpoint (the key's name).
    pub origin: String,
}

impl fmt::Display for Included {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Event {} is in the log of {}, signed by {}",
            self.seq.0,
            event_count(self.size),
            self.origin
        )
    }
}

/// Why a proof does not show that this event is in the log.
#[derive(Debug, Error, PartialEq)]
pub enum Refusal {
    #[error("could not get the proof: {0}")]
    Fetch(AppError),
    /// A malformed key or proof, a signature that does not verify, a leaf
    /// that is not in the tree: the message says which.
    #[error(transparent)]
    Tlog(#[from] TlogError),
    #[error("the proof is for another event: it proves event {proved}, this page shows event {shown}")]
    OtherSeq { proved: u64, shown: u64 },
    #[error("the proof is for another event: the event it holds differs from what this page shows")]
    OtherContent,
}

/// Checks `proof` (a proof file's text) against `key` (a verifier key's
/// text), for the event `shown` on the page.
pub fn check(proof: &str, key: &str, shown: &Event) -> Result<Included, Refusal> {
    let seq = shown.seq;
    let key: VerifierKey = key.parse()?;
    let file = ProofFile::parse(proof)?;
    let (checkpoint, data) = file.check(&key)?;
    if file.index.checked_add(1) != Some(seq.0) {
        return Err(Refusal::OtherSeq {
            proved: file.index.saturating_add(1),
            shown: seq.0,
        });
    }
    // Decoded here, so every field shown (and its hash) is the one proved.
    if decode_canonical(data).as_ref() != Some(shown) {
        return Err(Refusal::OtherContent);
    }
    Ok(Included {
        seq,
        size: checkpoint.size,
        origin: checkpoint.origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::{Actor, Hash32, Outcome, canonical_bytes};
    use berth_core::tlog::checkpoint::Checkpoint;
    use berth_core::tlog::merkle::{MemTree, inclusion_proof, leaf_hash, root};
    use berth_core::tlog::note::SignerKey;

    const ORIGIN: &str = "berth.test/events";

    fn log_key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, 1, [7; 32]).unwrap()
    }

    /// Event `seq` as the log holds it (its hash over its canonical bytes).
    fn event(seq: u64) -> Event {
        let draft = Event {
            seq: EventSeq(seq),
            ts_ns: 1_700_000_000_000_000_000 + seq as i64,
            kind: "container.stop".into(),
            actor: Actor::user("alice"),
            source: Some("10.0.0.1".into()),
            host: Some("local".into()),
            target: Some(format!("container:web-{seq}")),
            outcome: Outcome::Ok,
            duration_us: Some(1200),
            details: serde_json::json!({ "signal": "TERM" }),
            prev_hash: Hash32([seq as u8; 32]),
            hash: Hash32::default(),
        };
        decode_canonical(&canonical_bytes(&draft)).unwrap()
    }

    /// Three events, and the proof file of `seq` in their tree, signed by
    /// `signer`.
    fn proof_of(seq: u64, signer: &SignerKey) -> (Vec<Event>, String) {
        let events: Vec<Event> = (1..=3).map(event).collect();
        let mut tree = MemTree::default();
        for e in &events {
            tree.push(leaf_hash(&canonical_bytes(e)));
        }
        let checkpoint = Checkpoint {
            origin: ORIGIN.to_string(),
            size: 3,
            root: root(&tree, 3).unwrap(),
        };
        let file = ProofFile {
            extra: Some(canonical_bytes(&events[seq as usize - 1])),
            index: seq - 1,
            path: inclusion_proof(&tree, seq - 1, 3).unwrap(),
            checkpoint: signer.sign(&checkpoint.to_text()).unwrap().to_string(),
        };
        (events, file.to_string())
    }

    #[test]
    fn a_proof_of_the_shown_event_signed_by_the_key_checks_out() {
        let (events, proof) = proof_of(2, &log_key());
        let key = log_key().verifier().to_string();
        assert_eq!(
            check(&proof, &key, &events[1]),
            Ok(Included {
                seq: EventSeq(2),
                size: 3,
                origin: ORIGIN.to_string()
            })
        );
    }

    #[test]
    fn the_verdict_reads_as_a_sentence() {
        let included = |size| Included {
            seq: EventSeq(1),
            size,
            origin: ORIGIN.to_string(),
        };
        assert_eq!(
            included(1).to_string(),
            "Event 1 is in the log of 1 event, signed by berth.test/events"
        );
        assert_eq!(
            included(3).to_string(),
            "Event 1 is in the log of 3 events, signed by berth.test/events"
        );
    }

    #[test]
    fn another_key_is_refused_with_the_reason() {
        let (events, proof) = proof_of(2, &log_key());
        let shown = &events[1];
        let other_log = SignerKey::from_seed("x/y", 1, [3; 32]).unwrap().verifier().to_string();
        let refusal = check(&proof, &other_log, shown).unwrap_err();
        assert!(
            matches!(refusal, Refusal::Tlog(TlogError::WrongOrigin { .. })),
            "{refusal}"
        );
        // Same name, another key: the signature is the problem.
        let impostor = SignerKey::from_seed(ORIGIN, 1, [8; 32]).unwrap();
        let refusal = check(&proof, &impostor.verifier().to_string(), shown).unwrap_err();
        assert!(refusal.to_string().contains("no signature by"), "{refusal}");
        let refusal = check(&proof, "not a key", shown).unwrap_err();
        assert!(refusal.to_string().starts_with("malformed key"), "{refusal}");
    }

    #[test]
    fn a_proof_of_another_event_is_refused() {
        let (events, proof) = proof_of(2, &log_key());
        let key = log_key().verifier().to_string();
        assert_eq!(
            check(&proof, &key, &events[2]),
            Err(Refusal::OtherSeq { proved: 2, shown: 3 })
        );
        // The page shows event 2 with another target than the log holds.
        let mut altered = events[1].clone();
        altered.target = Some("container:db".into());
        assert_eq!(check(&proof, &key, &altered), Err(Refusal::OtherContent));
    }

    #[test]
    fn a_tampered_proof_is_refused() {
        let (events, proof) = proof_of(2, &log_key());
        let key = log_key().verifier().to_string();
        // The event's data swapped for another's: its leaf is not in the tree.
        let forged = proof.replace(
            &berth_core::tlog::encode_base64(&canonical_bytes(&events[1])),
            &berth_core::tlog::encode_base64(&canonical_bytes(&events[0])),
        );
        assert_ne!(forged, proof);
        let refusal = check(&forged, &key, &events[0]).unwrap_err();
        assert!(matches!(refusal, Refusal::Tlog(TlogError::Merkle(_))), "{refusal}");
    }
}
