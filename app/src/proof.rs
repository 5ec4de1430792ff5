//! Checking an event's proof file where it is shown, trusting the server for
//! nothing but the bytes: the checkpoint must be signed by the key the person
//! holds, the event's data must be a leaf of that checkpoint's tree, and the
//! leaf must be the event on the page (same number, same hash). These are the
//! checks of `berth events check-proof`, compiled into the browser's wasm.
//! Fetching the file is `api::log::event_proof`'s business.

use crate::components::status::event_count;
use crate::error::AppError;
use berth_core::model::{EventSeq, Hash32};
use berth_core::tlog::TlogError;
use berth_core::tlog::note::VerifierKey;
use berth_core::tlog::proof::ProofFile;
use sha2::{Digest, Sha256};
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
    #[error("the proof is for another event: its event data does not hash to this event's hash")]
    OtherHash,
}

/// Checks `proof` (a proof file's text) against `key` (a verifier key's
/// text), for the event numbered `seq` whose hash is `hash`.
pub fn check(proof: &str, key: &str, seq: EventSeq, hash: &Hash32) -> Result<Included, Refusal> {
    let key: VerifierKey = key.parse()?;
    let file = ProofFile::parse(proof)?;
    let (checkpoint, data) = file.check(&key)?;
    if file.index.checked_add(1) != Some(seq.0) {
        return Err(Refusal::OtherSeq {
            proved: file.index.saturating_add(1),
            shown: seq.0,
        });
    }
    if Sha256::digest(data).as_slice() != hash.0.as_slice() {
        return Err(Refusal::OtherHash);
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
    use berth_core::tlog::checkpoint::Checkpoint;
    use berth_core::tlog::merkle::{MemTree, inclusion_proof, leaf_hash, root};
    use berth_core::tlog::note::SignerKey;

    const ORIGIN: &str = "berth.test/events";

    fn log_key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, 1, [7; 32]).unwrap()
    }

    /// Three events' data, and the proof file of `seq` in their tree,
    /// signed by `signer`.
    fn proof_of(seq: u64, signer: &SignerKey) -> (Vec<Vec<u8>>, String) {
        let events: Vec<Vec<u8>> = (1..=3).map(|i| format!("event {i}").into_bytes()).collect();
        let mut tree = MemTree::default();
        for data in &events {
            tree.push(leaf_hash(data));
        }
        let checkpoint = Checkpoint {
            origin: ORIGIN.to_string(),
            size: 3,
            root: root(&tree, 3).unwrap(),
        };
        let file = ProofFile {
            extra: Some(events[seq as usize - 1].clone()),
            index: seq - 1,
            path: inclusion_proof(&tree, seq - 1, 3).unwrap(),
            checkpoint: signer.sign(&checkpoint.to_text()).unwrap().to_string(),
        };
        (events, file.to_string())
    }

    fn hash_of(data: &[u8]) -> Hash32 {
        Hash32(Sha256::digest(data).into())
    }

    #[test]
    fn a_proof_of_the_shown_event_signed_by_the_key_checks_out() {
        let (events, proof) = proof_of(2, &log_key());
        let key = log_key().verifier().to_string();
        assert_eq!(
            check(&proof, &key, EventSeq(2), &hash_of(&events[1])),
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
        let hash = hash_of(&events[1]);
        let other_log = SignerKey::from_seed("x/y", 1, [3; 32]).unwrap().verifier().to_string();
        let refusal = check(&proof, &other_log, EventSeq(2), &hash).unwrap_err();
        assert!(
            matches!(refusal, Refusal::Tlog(TlogError::WrongOrigin { .. })),
            "{refusal}"
        );
        // Same name, another key: the signature is the problem.
        let impostor = SignerKey::from_seed(ORIGIN, 1, [8; 32]).unwrap();
        let refusal = check(&proof, &impostor.verifier().to_string(), EventSeq(2), &hash).unwrap_err();
        assert!(refusal.to_string().contains("no signature by"), "{refusal}");
        let refusal = check(&proof, "not a key", EventSeq(2), &hash).unwrap_err();
        assert!(refusal.to_string().starts_with("malformed key"), "{refusal}");
    }

    #[test]
    fn a_proof_of_another_event_is_refused() {
        let (events, proof) = proof_of(2, &log_key());
        let key = log_key().verifier().to_string();
        assert_eq!(
            check(&proof, &key, EventSeq(3), &hash_of(&events[2])),
            Err(Refusal::OtherSeq { proved: 2, shown: 3 })
        );
        assert_eq!(
            check(&proof, &key, EventSeq(2), &hash_of(b"what the page shows")),
            Err(Refusal::OtherHash)
        );
    }

    #[test]
    fn a_tampered_proof_is_refused() {
        let (events, proof) = proof_of(2, &log_key());
        let key = log_key().verifier().to_string();
        // The event's data swapped for another's: its leaf is not in the tree.
        let forged = proof.replace(
            &berth_core::tlog::encode_base64(&events[1]),
            &berth_core::tlog::encode_base64(&events[0]),
        );
        assert_ne!(forged, proof);
        let refusal = check(&forged, &key, EventSeq(2), &hash_of(&events[0])).unwrap_err();
        assert!(matches!(refusal, Refusal::Tlog(TlogError::Merkle(_))), "{refusal}");
    }
}
