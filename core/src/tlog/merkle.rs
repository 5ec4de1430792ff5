//! The RFC 6962 (Certificate Transparency) Merkle tree, the hashing half of
//! "verifiable from outside": leaf and node hashes, roots, inclusion and
//! consistency proofs read from the hashes of complete subtrees, and the
//! verifiers of RFC 9162 §2.1.3.2 and §2.1.4.2 that an auditor runs.
//!
//! Where the subtree hashes live is the `Nodes` trait's business: `MemTree`
//! keeps them in memory (tests, small tools); the event log keeps them in
//! redb beside the events (`events::tree`).

use sha2::{Digest, Sha256};
use thiserror::Error;

pub type Hash = [u8; 32];

/// SHA-256(0x00 || data): the hash of one leaf (an event's canonical bytes).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a tree of {second} cannot extend a tree of {first}")]
    SizesReversed { first: u64, second: u64 },
    #[error("the proof has more hashes than the tree sizes allow")]
    TooLong,
    #[error("the proof has fewer hashes than the tree sizes need")]
    TooShort,
    #[error("the proof does not lead to the root it is checked against")]
    RootMismatch,
    #[error("the hash of the subtree at level {level}, index {index} is not stored")]
    MissingNode { level: u8, index: u64 },
}

/// The hashes of complete subtrees: `node(level, index)` covers the leaves
/// `index << level .. (index + 1) << level`, which must all exist.
pub trait Nodes {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError>;
}

/// The largest power of two below `n` (n > 1): where RFC 6962 splits a tree.
fn split(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[start..end]) for a subtree of the RFC's shape, from stored
/// complete subtrees: O(log n) lookups.
pub fn range_hash(nodes: &impl Nodes, start: u64, end: u64) -> Result<Hash, ProofError> {
    let len = end - start;
    if len == 0 {
        return Ok(empty_root());
    }
    if len.is_power_of_two() && start.is_multiple_of(len) {
        return nodes.node(len.trailing_zeros() as u8, start / len);
    }
    let k = split(len);
    Ok(node_hash(
        &range_hash(nodes, start, start + k)?,
        &range_hash(nodes, start + k, end)?,
    ))
}

/// The root of the first `size` leaves.
pub fn root(nodes: &impl Nodes, size: u64) -> Result<Hash, ProofError> {
    range_hash(nodes, 0, size)
}

/// The audit path of leaf `index` in the tree of the first `size` leaves
/// (RFC 6962 §2.1.1), nearest the leaf first.
pub fn inclusion_proof(nodes: &impl Nodes, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::new();
    let (mut start, mut end, mut m) = (0, size, index);
    // Walk down from the root, noting the sibling of each step; the path
    // lists them from the leaf up, so reverse at the end.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            path.push(range_hash(nodes, start + k, end)?);
            end = start + k;
        } else {
            path.push(range_hash(nodes, start, start + k)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The proof that the tree of `second` leaves extends the tree of `first`
/// (RFC 6962 §2.1.2), nearest the leaves first.
pub fn consistency_proof(nodes: &impl Nodes, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    let mut proof = Vec::new();
    let (mut start, mut end, mut m, mut whole) = (0, second, first, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(range_hash(nodes, start, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(range_hash(nodes, start + k, end)?);
            end = start + k;
        } else {
            proof.push(range_hash(nodes, start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that `leaf` is leaf `index` of the tree of `size` with `root`
/// (RFC 9162 §2.1.3.2). Every hash of the proof is used; a proof too long
/// or too short is refused.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::TooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::TooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `second` leaves with `second_root` extends the
/// tree of `first` leaves with `first_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::TooLong);
        }
        let same = first == 0 || first_root == second_root;
        return if same { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    // A first tree of a power-of-two size is a complete subtree of the
    // second: its root starts the walk, and the proof leaves it out.
    let mut hashes: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        hashes.push(first_root);
    }
    hashes.extend(proof);
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let Some((&start, rest)) = hashes.split_first() else {
        return Err(ProofError::TooShort);
    };
    let (mut fr, mut sr) = (*start, *start);
    for c in rest {
        if s == 0 {
            return Err(ProofError::TooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::TooShort);
    }
    if fr != *first_root || sr != *second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// A tree kept in memory: the hashes of every complete subtree, appended
/// leaf by leaf the way the stored tree will be.
#[derive(Debug, Default, Clone)]
pub struct MemTree {
    /// `levels[l][i]` covers leaves `i << l .. (i + 1) << l`.
    levels: Vec<Vec<Hash>>,
}

impl MemTree {
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf (already hashed with `leaf_hash`) and every complete
    /// subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let row = &self.levels[level];
            if row.len() % 2 == 1 {
                break;
            }
            hash = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }
}

impl Nodes for MemTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|row| row.get(index as usize))
            .copied()
            .ok_or(ProofError::MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests;
