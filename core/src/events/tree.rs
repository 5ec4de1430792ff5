//! The log's RFC 6962 Merkle tree, stored beside the events.
//!
//! Leaf `i` is event `seq = i + 1`; its data is the event's canonical bytes
//! (the stored record without its trailing chain hash, see `model::codec`), so
//! `leaf = SHA-256(0x00 || canonical bytes)`.
//!
//! The hash of every complete subtree of 16 leaves or more is kept in
//! `EVENT_TREE` (one entry per 8 events, about 5 bytes an event); smaller
//! ones are recomputed from the records when a proof needs them (at most 15
//! lookups and hashes a level), which keeps appends nearly as cheap as
//! without a tree. A node's key is its place in the order nodes are
//! completed (`stored_index`, the layout of Go's sumdb/tlog), so the table
//! only ever grows at its end, in full pages. Any root or proof at any size
//! is a few dozen lookups (`tlog::merkle` composes them), with no rehashing
//! of the log.
//!
//! The writer keeps the tree's right edge in memory (`Frontier`: the roots
//! of the perfect subtrees that make up the tree, at most 64) and appends
//! the nodes each event completes. Like the index, they are written in the
//! trailing non-durable transaction with `tree_size` in META; a crash loses
//! at most that tail, which start-up rebuilds from the events.

use super::{EventError, Result};
use crate::store::tables::{EVENT_TREE, EVENTS, META};
use crate::tlog::merkle::{Hash, Nodes, ProofError, leaf_hash, node_hash};
use redb::{ReadOnlyTable, ReadTransaction, ReadableDatabase, WriteTransaction};

/// Subtrees below this level (fewer than 16 leaves) are not stored.
pub(super) const LOWEST_STORED: u8 = 4;

/// The leaf hash of a stored record: its canonical bytes, without the
/// trailing chain hash.
pub(super) fn record_leaf(record: &[u8]) -> Option<Hash> {
    Some(leaf_hash(record.get(..record.len().checked_sub(32)?)?))
}

/// The tree's right edge and the nodes not yet written.
#[derive(Debug, Default)]
pub(super) struct Frontier {
    size: u64,
    /// Roots of the perfect subtrees covering `0..size`, largest first: one
    /// per set bit of `size`.
    roots: Vec<Hash>,
    /// Stored nodes (`LOWEST_STORED` and up) completed since the last
    /// write: ((level, index), hash), in completion order.
    pending: Vec<((u8, u64), Hash)>,
}

impl Frontier {
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf and every node it completes.
    pub(super) fn push(&mut self, leaf: Hash) {
        let (mut hash, mut level, mut index) = (leaf, 0u8, self.size);
        // An odd index is a right child: it closes its parent with the
        // smallest root on the edge.
        while index & 1 == 1 {
            let Some(left) = self.roots.pop() else { break };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            if level >= LOWEST_STORED {
                self.pending.push(((level, index), hash));
            }
        }
        self.roots.push(hash);
        self.size += 1;
    }

    /// The root of the whole tree: the edge folded from the right.
    pub(super) fn root(&self) -> Hash {
        let mut it = self.roots.iter().rev();
        let Some(last) = it.next() else {
            return crate::tlog::merkle::empty_root();
        };
        it.fold(*last, |right, left| node_hash(left, &right))
    }

    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes the completed nodes and `tree_size` into `tx`.
    pub(super) fn write(&mut self, tx: &WriteTransaction) -> Result<()> {
        let mut nodes = tx.open_table(EVENT_TREE)?;
        for ((level, index), hash) in self.pending.drain(..) {
            nodes.insert(stored_index(level, index), hash)?;
        }
        tx.open_table(META)?
            .insert("tree_size", self.size.to_string().as_str())?;
        Ok(())
    }

    /// The edge of the stored tree of `size` leaves, read back from its
    /// nodes; `None` when one is missing.
    fn load(tx: &ReadTransaction, size: u64) -> Result<Option<Frontier>> {
        if size == 0 {
            return Ok(Some(Frontier::default()));
        }
        let nodes = StoredTree::open(tx)?;
        let mut roots = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                match nodes.node(level, start >> level) {
                    Ok(h) => roots.push(h),
                    Err(_) => return Ok(None),
                }
                start += 1 << level;
            }
        }
        Ok(Some(Frontier {
            size,
            roots,
            pending: Vec::new(),
        }))
    }

    /// The tree over the first `head` events as stored, completed from the
    /// events when it trails them (a crash lost its last write) and cut back
    /// when it runs past them (events were removed from the end: the
    /// checkpoints will refuse to sign over that, see `checkpoint`).
    pub(super) fn resume(tx: &ReadTransaction, head: u64) -> Result<Frontier> {
        let stored = tree_size(tx)?;
        if stored > head {
            tracing::error!(
                tree = stored,
                events = head,
                "the event tree covers more events than the log holds: events were removed from its end"
            );
        }
        let mut frontier = match Frontier::load(tx, stored.min(head))? {
            Some(f) => f,
            None => {
                tracing::warn!("the event tree is incomplete; rebuilding it from the events");
                Frontier::default()
            }
        };
        if frontier.size < head {
            let events = tx.open_table(EVENTS)?;
            for row in events.range(frontier.size + 1..=head)? {
                let (k, v) = row?;
                let leaf = record_leaf(v.value()).ok_or(EventError::Corrupt(k.value()))?;
                frontier.push(leaf);
            }
        }
        Ok(frontier)
    }
}

/// The number of events the stored tree covers.
pub(super) fn tree_size(tx: &ReadTransaction) -> Result<u64> {
    Ok(crate::store::meta_get(tx, "tree_size")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// What a reader asks of the stored tree.
pub(super) fn read<T>(
    db: &redb::Database,
    f: impl FnOnce(&ReadTransaction, u64, &StoredTree) -> Result<T>,
) -> Result<T> {
    let tx = db.begin_read()?;
    let size = tree_size(&tx)?;
    let nodes = StoredTree::open(&tx)?;
    f(&tx, size, &nodes)
}

/// Refuses a tree size the stored tree does not reach yet.
pub(super) fn within(size: u64, stored: u64) -> Result<()> {
    if size > stored {
        return Err(EventError::Proof(format!(
            "the tree has {stored} events; there is no tree of size {size} yet"
        )));
    }
    Ok(())
}

/// The canonical bytes of event `seq` (its Merkle leaf data).
pub(super) fn leaf_data(tx: &ReadTransaction, seq: u64) -> Result<Option<Vec<u8>>> {
    let events = match tx.open_table(EVENTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(record) = events.get(seq)? else {
        return Ok(None);
    };
    let record = record.value();
    let body = record
        .get(..record.len().saturating_sub(32))
        .ok_or(EventError::Corrupt(seq))?;
    Ok(Some(body.to_vec()))
}

/// Where node (level, index) is kept: its place in completion order
/// (Go's sumdb/tlog `StoredHashIndex`), counting the leaves' places though
/// they are not stored. Appending leaves only ever adds larger keys.
pub(super) fn stored_index(level: u8, index: u64) -> u64 {
    // Level l's node n is completed right after level l-1's node 2n+1.
    let mut n = index;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    // Leaf n's place is n + n/2 + n/4 + ... (the nodes completed before it).
    let mut place = 0;
    while n > 0 {
        place += n;
        n >>= 1;
    }
    place + u64::from(level)
}

/// Compares the nodes a walk rebuilds with the stored ones in one forward
/// pass over the table (both come in completion order): `events verify`.
pub(super) struct NodeCheck {
    stored: Option<redb::Range<'static, u64, Hash>>,
    /// Only nodes within the first `size` leaves are stored yet.
    size: u64,
    pub(super) first_bad: Option<(u8, u64)>,
}

impl NodeCheck {
    pub(super) fn new(tx: &ReadTransaction, size: u64) -> Result<NodeCheck> {
        let stored = match StoredTree::open(tx)?.nodes {
            Some(t) => Some(t.range::<u64>(..)?),
            None => None,
        };
        Ok(NodeCheck {
            stored,
            size,
            first_bad: None,
        })
    }

    /// Checks the nodes `frontier` completed since the last call.
    pub(super) fn check(&mut self, frontier: &mut Frontier) -> Result<()> {
        for ((level, index), hash) in frontier.pending.drain(..) {
            if self.first_bad.is_some() || (index + 1) << level > self.size {
                continue;
            }
            let stored = match self.stored.as_mut() {
                Some(range) => range.next().transpose()?,
                None => None,
            };
            let same = stored.is_some_and(|(k, v)| k.value() == stored_index(level, index) && v.value() == hash);
            if !same {
                self.first_bad = Some((level, index));
            }
        }
        Ok(())
    }
}

/// The stored nodes and the events (the leaves), for roots and proofs.
pub(super) struct StoredTree {
    nodes: Option<ReadOnlyTable<u64, Hash>>,
    events: Option<ReadOnlyTable<u64, &'static [u8]>>,
}

impl StoredTree {
    pub(super) fn open(tx: &ReadTransaction) -> Result<StoredTree> {
        fn optional<K: redb::Key + 'static, V: redb::Value + 'static>(
            tx: &ReadTransaction,
            table: redb::TableDefinition<K, V>,
        ) -> Result<Option<ReadOnlyTable<K, V>>> {
            match tx.open_table(table) {
                Ok(t) => Ok(Some(t)),
                Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        Ok(StoredTree {
            nodes: optional(tx, EVENT_TREE)?,
            events: optional(tx, EVENTS)?,
        })
    }
}

impl Nodes for StoredTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let missing = ProofError::MissingNode { level, index };
        let found = if level == 0 {
            let record = self.events.as_ref().and_then(|t| t.get(index + 1).ok().flatten());
            record.and_then(|r| record_leaf(r.value()))
        } else if level < LOWEST_STORED {
            let left = self.node(level - 1, 2 * index)?;
            let right = self.node(level - 1, 2 * index + 1)?;
            Some(node_hash(&left, &right))
        } else {
            let node = self
                .nodes
                .as_ref()
                .and_then(|t| t.get(stored_index(level, index)).ok().flatten());
            node.map(|v| v.value())
        };
        found.ok_or(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::merkle::{MemTree, root};

    #[test]
    fn stored_places_follow_go_sumdb_tlog() {
        // From golang.org/x/mod/sumdb/tlog's StoredHashIndex: leaves 0..=3
        // at 0, 1, 3, 4; level 1 nodes 0 and 1 at 2 and 5; level 2 node 0 at 6.
        let places: Vec<u64> = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4)]
            .iter()
            .map(|&(l, i)| stored_index(l, i))
            .collect();
        assert_eq!(places, [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn the_frontier_makes_the_same_nodes_and_roots_as_the_reference_tree() {
        let mut f = Frontier::default();
        let mut mem = MemTree::default();
        let mut nodes = std::collections::HashMap::new();
        let mut last_place = None;
        for i in 0..300u64 {
            let leaf = leaf_hash(&i.to_le_bytes());
            f.push(leaf);
            mem.push(leaf);
            for ((level, index), h) in f.pending.drain(..) {
                assert!(level >= LOWEST_STORED, "small subtrees are not stored");
                assert!(
                    nodes.insert((level, index), h).is_none(),
                    "node {level}/{index} written twice"
                );
                // The table only grows at its end.
                let place = stored_index(level, index);
                assert!(
                    Some(place) > last_place,
                    "{level}/{index} at {place} after {last_place:?}"
                );
                last_place = Some(place);
            }
            assert_eq!(f.root(), root(&mem, i + 1).unwrap(), "size {}", i + 1);
        }
        for ((level, index), h) in nodes {
            assert_eq!(mem.node(level, index).unwrap(), h);
        }
    }
}
