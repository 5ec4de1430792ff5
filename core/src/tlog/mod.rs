//! Transparency-log formats, so that an outsider can check berth's event log
//! with nothing of berth's: the RFC 6962 Merkle tree (`merkle`), C2SP
//! signed notes and keys (`note`), checkpoints and witness cosignatures
//! (`checkpoint`, c2sp.org/tlog-checkpoint and tlog-cosignature) and offline
//! proof files (`proof`, c2sp.org/tlog-proof).
//!
//! Everything here is pure: no store, no clock, no randomness. It compiles to
//! wasm, so the browser runs the same checks as `berth events check-proof`
//! and `berth monitor`.

pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod proof;

use thiserror::Error;

pub use merkle::{Hash, ProofError};

/// Everything that can be wrong with a note, key, checkpoint or proof file
/// handed to berth. Each says what is wrong, never what a secret was.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TlogError {
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("malformed signed note: {0}")]
    Note(&'static str),
    #[error("no signature by {0} on the note")]
    Unsigned(String),
    #[error("the signature by {0} does not verify: the note was altered or signed by another key")]
    BadSignature(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
    #[error("the checkpoint is for log {found:?}, the key is for {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("malformed proof: {0}")]
    Proof(&'static str),
    #[error(transparent)]
    Merkle(#[from] ProofError),
}

/// Standard base64 (RFC 4648 §4, padded), as every C2SP format uses.
pub(crate) fn b64() -> &'static base64::engine::GeneralPurpose {
    &base64::engine::general_purpose::STANDARD
}

/// A 32-byte hash from its base64 line.
pub fn parse_hash(s: &str) -> Option<Hash> {
    use base64::Engine;
    let bytes = b64().decode(s).ok()?;
    bytes.try_into().ok()
}

pub fn encode_hash(h: &Hash) -> String {
    encode_base64(h)
}

pub fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    b64().encode(bytes)
}

/// A decimal with no leading zeroes ("0" alone for zero), as C2SP formats
/// write sizes and indexes; anything else is refused.
pub fn parse_decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

#[cfg(test)]
mod tests;
