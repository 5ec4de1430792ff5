//! Checkpoints (c2sp.org/tlog-checkpoint) and their cosignatures
//! (c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`).
//!
//! A checkpoint is a note whose text is the log's origin, its tree size and
//! its root hash, one per line:
//!
//! ```text
//! berth.example/events
//! 1187
//! mF6GjqGhDlO0zqpLOEgOfl3Zt6VeWXjUnW0mRpmvbtA=
//!
//! — berth.example/events Xq1f...
//! ```
//!
//! The log signs it with its type 0x01 key, whose name is the origin. A
//! witness cosigns it with a type 0x04 key: Ed25519 over
//! `cosignature/v1\ntime <unix seconds>\n` followed by the checkpoint text,
//! the time travelling in the signature line before the signature.

use super::merkle::Hash;
use super::note::{COSIGNATURE_V1, Note, SignatureLine, SignerKey, VerifierKey};
use super::{TlogError, encode_hash, parse_decimal, parse_hash};

/// A checkpoint's text, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, size and root, each ending in a newline.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, encode_hash(&self.root))
    }

    /// Reads a checkpoint's text. Extension lines (which berth does not
    /// write) are accepted and ignored, as the format says.
    pub fn parse(text: &str) -> Result<Checkpoint, TlogError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(TlogError::Checkpoint("the text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(TlogError::Checkpoint("fewer than three lines (origin, size, root)"));
        };
        if origin.is_empty() {
            return Err(TlogError::Checkpoint("the origin line is empty"));
        }
        if lines.any(str::is_empty) {
            return Err(TlogError::Checkpoint("an extension line is empty"));
        }
        let size = parse_decimal(size).ok_or(TlogError::Checkpoint(
            "the size is not a decimal without leading zeroes",
        ))?;
        let root = parse_hash(root).ok_or(TlogError::Checkpoint("the root is not a base64 SHA-256 hash"))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

/// A checkpoint note whose log signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub checkpoint: Checkpoint,
    pub note: Note,
}

/// Reads a signed checkpoint and checks it is signed by `log` for the
/// origin that is `log`'s name.
pub fn open(message: &str, log: &VerifierKey) -> Result<Verified, TlogError> {
    let note = Note::parse(message)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    if checkpoint.origin != log.name() {
        return Err(TlogError::WrongOrigin {
            expected: log.name().to_string(),
            found: checkpoint.origin,
        });
    }
    note.verify(log)?;
    Ok(Verified { checkpoint, note })
}

fn cosigned_message(text: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// A witness's cosignature line on the checkpoint `text`, at `time`
/// (unix seconds).
pub fn cosign(text: &str, witness: &SignerKey, time: u64) -> Result<SignatureLine, TlogError> {
    if witness.kind() != COSIGNATURE_V1 {
        return Err(TlogError::Key("cosignatures need a type 0x04 (cosignature/v1) key"));
    }
    if time > i64::MAX as u64 {
        return Err(TlogError::Key("a cosignature's time is at most 2^63 - 1"));
    }
    Ok(SignatureLine {
        name: witness.name().to_string(),
        bytes: witness.sign_raw(cosigned_message(text, time).as_bytes(), &time.to_be_bytes()),
    })
}

/// Checks `witness`'s cosignature on the note; returns its time. Lines of
/// other keys are ignored.
pub fn verify_cosignature(note: &Note, witness: &VerifierKey) -> Result<u64, TlogError> {
    if witness.kind() != COSIGNATURE_V1 {
        return Err(TlogError::Key("a witness key is of type 0x04 (cosignature/v1)"));
    }
    let mut newest = None;
    for line in note.signatures.iter().filter(|l| witness.matches(l)) {
        let sig = line.signature();
        let time = cosignature_time(line).filter(|t| *t <= i64::MAX as u64);
        match time {
            Some(t) if witness.verify_raw(cosigned_message(&note.text, t).as_bytes(), &sig[8..]) => {
                newest = newest.max(Some(t));
            }
            _ => return Err(TlogError::BadSignature(witness.name().to_string())),
        }
    }
    newest.ok_or_else(|| TlogError::Unsigned(witness.name().to_string()))
}

/// A cosignature line's time, without checking it (for display).
pub fn cosignature_time(line: &SignatureLine) -> Option<u64> {
    let sig = line.signature();
    (sig.len() == 8 + 64).then(|| u64::from_be_bytes(sig[..8].try_into().unwrap_or_default()))
}
