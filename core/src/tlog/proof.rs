//! Offline proof files (c2sp.org/tlog-proof@v1): everything an auditor needs
//! to check that one event is in the log, with only the log's public key.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the event's canonical bytes>
//! index <the event's leaf index: seq - 1>
//! <inclusion proof, one base64 hash a line, from the leaf's sibling up>
//!
//! <the signed checkpoint, verbatim>
//! ```
//!
//! For berth the `extra` line is the leaf itself: the event's canonical
//! bytes (see `model::codec`). The format calls it unauthenticated, and it
//! is, until its leaf hash is shown to be in the signed tree, which is what
//! `check` does.

use super::checkpoint::{self, Checkpoint};
use super::merkle::{Hash, leaf_hash, verify_inclusion};
use super::note::VerifierKey;
use super::{TlogError, b64, encode_hash, parse_decimal, parse_hash};
use base64::Engine;
use std::fmt;

const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// A proof file is refused beyond this (an event is at most a few KiB).
pub const MAX_PROOF_BYTES: usize = 256 * 1024;
/// A tree of up to 2^64 leaves needs at most 64 hashes.
const MAX_PATH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    /// The leaf's data (berth: the event's canonical bytes).
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub path: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl fmt::Display for ProofFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", b64().encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for h in &self.path {
            writeln!(f, "{}", encode_hash(h))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl ProofFile {
    pub fn parse(text: &str) -> Result<ProofFile, TlogError> {
        if text.len() > MAX_PROOF_BYTES {
            return Err(TlogError::Proof("larger than 256 KiB"));
        }
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(TlogError::Proof("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(HEADER) {
            return Err(TlogError::Proof("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut extra = None;
        if let Some(e) = lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            extra = Some(
                b64()
                    .decode(e)
                    .map_err(|_| TlogError::Proof("the extra line is not base64"))?,
            );
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or(TlogError::Proof("no index line"))?;
        let index =
            parse_decimal(index).ok_or(TlogError::Proof("the index is not a decimal without leading zeroes"))?;
        let mut path = Vec::new();
        for line in lines {
            if path.len() == MAX_PATH {
                return Err(TlogError::Proof("more than 64 proof hashes"));
            }
            path.push(parse_hash(line).ok_or(TlogError::Proof("a proof line is not a base64 SHA-256 hash"))?);
        }
        Ok(ProofFile {
            extra,
            index,
            path,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Checks the file against the log's public key: the checkpoint is
    /// signed by it, and the leaf (the `extra` data) is at `index` in the
    /// checkpoint's tree. Returns the checkpoint and the leaf's data.
    pub fn check(&self, log: &VerifierKey) -> Result<(Checkpoint, &[u8]), TlogError> {
        let verified = checkpoint::open(&self.checkpoint, log)?;
        let data = self
            .extra
            .as_deref()
            .ok_or(TlogError::Proof("no extra line: berth's proofs carry the event in it"))?;
        let cp = verified.checkpoint;
        verify_inclusion(&leaf_hash(data), self.index, cp.size, &self.path, &cp.root)?;
        Ok((cp, data))
    }
}
