//! The Certificate Transparency test vectors (the eight leaves of RFC 6962's
//! reference implementation, with their roots and proofs), and every proof
//! of small trees checked and then tampered with.

use super::*;

fn hex(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// The leaves of the CT reference tests.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// MTH of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_tree() -> MemTree {
    let mut t = MemTree::default();
    for l in LEAVES {
        t.push(leaf_hash(&hex::decode(l).unwrap()));
    }
    t
}

/// A tree of `n` leaves `0u64.to_be_bytes()`, `1u64...`.
fn tree(n: u64) -> MemTree {
    let mut t = MemTree::default();
    for i in 0..n {
        t.push(leaf_hash(&i.to_be_bytes()));
    }
    t
}

#[test]
fn roots_match_the_reference_vectors() {
    let t = reference_tree();
    assert_eq!(
        root(&t, 0).unwrap(),
        hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    for (i, want) in ROOTS.iter().enumerate() {
        assert_eq!(root(&t, i as u64 + 1).unwrap(), hex(want), "root of {}", i + 1);
    }
}

#[test]
fn inclusion_proofs_match_the_reference_vectors() {
    let t = reference_tree();
    let cases: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, want) in cases {
        let want: Vec<Hash> = want.iter().map(|h| hex(h)).collect();
        assert_eq!(
            inclusion_proof(&t, index, size).unwrap(),
            want,
            "leaf {index} of {size}"
        );
        let leaf = leaf_hash(&hex::decode(LEAVES[index as usize]).unwrap());
        verify_inclusion(&leaf, index, size, &want, &root(&t, size).unwrap()).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_reference_vectors() {
    let t = reference_tree();
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (first, second, want) in cases {
        let want: Vec<Hash> = want.iter().map(|h| hex(h)).collect();
        assert_eq!(
            consistency_proof(&t, first, second).unwrap(),
            want,
            "{first} -> {second}"
        );
        let (r1, r2) = (root(&t, first).unwrap(), root(&t, second).unwrap());
        verify_consistency(first, second, &r1, &r2, &want).unwrap();
    }
}

/// Every hash flipped, every hash dropped, one hash too many: each refused.
fn tampered(proof: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i][0] ^= 1;
        out.push(p);
        let mut p = proof.to_vec();
        p.remove(i);
        out.push(p);
    }
    let mut longer = proof.to_vec();
    longer.push([7; 32]);
    out.push(longer);
    out
}

#[test]
fn every_inclusion_proof_of_small_trees_verifies_and_no_tampered_one_does() {
    let t = tree(33);
    for size in 1..=33 {
        let r = root(&t, size).unwrap();
        for index in 0..size {
            let leaf = leaf_hash(&index.to_be_bytes());
            let proof = inclusion_proof(&t, index, size).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &r).unwrap();
            for bad in tampered(&proof) {
                assert!(
                    verify_inclusion(&leaf, index, size, &bad, &r).is_err(),
                    "{index} of {size}"
                );
            }
            let other = leaf_hash(b"not this one");
            assert!(verify_inclusion(&other, index, size, &proof, &r).is_err());
            if index + 1 < size {
                assert!(verify_inclusion(&leaf, index + 1, size, &proof, &r).is_err());
            }
            // Checked against the next tree's real root, an old path fails
            // whenever the paths differ. (The size alone only shapes the
            // walk: a proof is only as good as the signed (size, root) pair
            // it is checked against.)
            if size < 33 && inclusion_proof(&t, index, size + 1).unwrap() != proof {
                let next = root(&t, size + 1).unwrap();
                assert!(verify_inclusion(&leaf, index, size + 1, &proof, &next).is_err());
            }
        }
        assert_eq!(
            verify_inclusion(&r, size, size, &[], &r),
            Err(ProofError::IndexOutOfRange { index: size, size })
        );
    }
}

#[test]
fn every_consistency_proof_of_small_trees_verifies_and_no_tampered_one_does() {
    let t = tree(33);
    for second in 1..=33 {
        let r2 = root(&t, second).unwrap();
        for first in 1..=second {
            let r1 = root(&t, first).unwrap();
            let proof = consistency_proof(&t, first, second).unwrap();
            verify_consistency(first, second, &r1, &r2, &proof).unwrap();
            for bad in tampered(&proof) {
                assert!(
                    verify_consistency(first, second, &r1, &r2, &bad).is_err(),
                    "{first} -> {second}"
                );
            }
            if first < second {
                // A rewritten tail: the same first tree, another second root.
                let forked = node_hash(&r2, &r2);
                assert!(verify_consistency(first, second, &r1, &forked, &proof).is_err());
                assert!(verify_consistency(second, first, &r2, &r1, &proof).is_err());
            }
        }
    }
}

#[test]
fn the_tree_never_reads_a_subtree_it_does_not_have() {
    let t = tree(5);
    assert_eq!(root(&t, 6), Err(ProofError::MissingNode { level: 1, index: 2 }));
    assert!(matches!(
        inclusion_proof(&t, 5, 5),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        consistency_proof(&t, 6, 5),
        Err(ProofError::SizesReversed { .. })
    ));
}
