//! RFC 6962 Merkle tree benchmark: prints figures, asserts nothing about time.
//!
//! Builds an in-memory tree of `BENCH_EVENTS` leaves (1,000,000 by default;
//! each leaf 200 bytes, about an encoded event) and measures:
//! 1. appending: leaves per second (leaf hash plus the subtrees each closes);
//! 2. inclusion proofs of random leaves in the full tree and consistency
//!    proofs between random sizes: p50/p99 latency of making one, of
//!    verifying one, and the proof's size in bytes.
//!
//! The stored tree (redb) is not wired yet; this is the cost of the math.
//!
//! Run: `cargo bench -p berth-core --bench merkle`

mod support;

use berth_core::tlog::merkle::{
    MemTree, consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
};
use std::time::{Duration, Instant};

const RUNS: usize = 2000;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (us(v[v.len() / 2]), us(v[v.len() * 99 / 100]))
}

fn main() {
    let n: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut tree = MemTree::default();
    let mut event = [0u8; 200];
    let started = Instant::now();
    for i in 0..n {
        event[..8].copy_from_slice(&i.to_be_bytes());
        tree.push(leaf_hash(&event));
    }
    let took = started.elapsed();
    println!(
        "append: {} leaves in {:.2} s: {} leaves/s",
        support::group(n),
        took.as_secs_f64(),
        support::group((n as f64 / took.as_secs_f64()) as u64)
    );
    let full = root(&tree, n).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let (mut make, mut check, mut bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..RUNS {
        let index = rng.below(n);
        event[..8].copy_from_slice(&index.to_be_bytes());
        let leaf = leaf_hash(&event);
        let t = Instant::now();
        let proof = inclusion_proof(&tree, index, n).unwrap();
        make.push(t.elapsed());
        let t = Instant::now();
        verify_inclusion(&leaf, index, n, &proof, &full).unwrap();
        check.push(t.elapsed());
        bytes = bytes.max(proof.len() * 32);
    }
    let ((mp50, mp99), (cp50, cp99)) = (percentiles(make), percentiles(check));
    println!(
        "inclusion in {}: make p50 {mp50:.1} µs p99 {mp99:.1} µs; verify p50 {cp50:.1} µs p99 {cp99:.1} µs; at most {bytes} bytes",
        support::group(n)
    );

    let (mut make, mut check, mut bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..RUNS {
        let first = 1 + rng.below(n - 1);
        let second = first + rng.below(n - first + 1);
        let t = Instant::now();
        let proof = consistency_proof(&tree, first, second).unwrap();
        let (r1, r2) = (root(&tree, first).unwrap(), root(&tree, second).unwrap());
        make.push(t.elapsed());
        let t = Instant::now();
        verify_consistency(first, second, &r1, &r2, &proof).unwrap();
        check.push(t.elapsed());
        bytes = bytes.max(proof.len() * 32);
    }
    let ((mp50, mp99), (cp50, cp99)) = (percentiles(make), percentiles(check));
    println!(
        "consistency up to {}: make (with both roots) p50 {mp50:.1} µs p99 {mp99:.1} µs; verify p50 {cp50:.1} µs p99 {cp99:.1} µs; at most {bytes} bytes",
        support::group(n)
    );
}
