//! Notes, checkpoints, cosignatures and proof files, checked against
//! implementations not written here: Cloudflare's `signed_note` and
//! `tlog_tiles` crates (ports of Go's sumdb/note and sumdb/tlog) and the
//! published example keys and note of Go's sumdb/note.

use super::checkpoint::{self, Checkpoint};
use super::merkle::{self, MemTree, leaf_hash};
use super::note::{COSIGNATURE_V1, ED25519, Note, SignerKey, VerifierKey};
use super::proof::ProofFile;
use super::*;

// Go's sumdb/note documentation example.
const GO_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn log_key() -> SignerKey {
    SignerKey::from_seed("berth.test/events", ED25519, [7; 32]).unwrap()
}

fn witness_key() -> SignerKey {
    SignerKey::from_seed("witness.test/w1", COSIGNATURE_V1, [9; 32]).unwrap()
}

fn tree(n: u64) -> MemTree {
    let mut t = MemTree::default();
    for i in 0..n {
        t.push(leaf_hash(format!("event {i}").as_bytes()));
    }
    t
}

#[test]
fn go_example_keys_and_note() {
    let signer = SignerKey::parse(GO_SKEY).unwrap();
    assert_eq!(signer.verifier().to_string(), GO_VKEY);
    assert_eq!(signer.to_secret_text(), GO_SKEY);
    // Ed25519 is deterministic: our signature is Go's byte for byte.
    let note = signer.sign(GO_TEXT).unwrap();
    assert_eq!(note.to_string(), format!("{GO_TEXT}\n{GO_SIG}"));
    let vkey: VerifierKey = GO_VKEY.parse().unwrap();
    Note::parse(&note.to_string()).unwrap().verify(&vkey).unwrap();
}

#[test]
fn our_checkpoint_verifies_with_signed_note_and_tlog_tiles() {
    let key = log_key();
    let t = tree(1000);
    let cp = Checkpoint {
        origin: key.name().into(),
        size: 1000,
        root: merkle::root(&t, 1000).unwrap(),
    };
    let note = key.sign(&cp.to_text()).unwrap().to_string();

    let verifier = signed_note::StandardVerifier::new(&key.verifier().to_string()).unwrap();
    let theirs = signed_note::Note::from_bytes(note.as_bytes()).unwrap();
    let (ok, _) = theirs
        .verify(&signed_note::VerifierList::new(vec![Box::new(verifier)]))
        .unwrap();
    assert_eq!(ok.len(), 1);
    let parsed = tlog_tiles::Checkpoint::from_bytes(theirs.text()).unwrap();
    assert_eq!(parsed.origin(), key.name());
    assert_eq!(parsed.size(), 1000);
    assert_eq!(parsed.hash().0, cp.root);
}

#[test]
fn our_proofs_check_with_tlog_tiles() {
    let t = tree(1000);
    for (index, size) in [(0, 1), (0, 1000), (517, 1000), (999, 1000), (63, 64), (64, 65)] {
        let path = merkle::inclusion_proof(&t, index, size).unwrap();
        let path: Vec<_> = path.into_iter().map(tlog_tiles::Hash).collect();
        let root = tlog_tiles::Hash(merkle::root(&t, size).unwrap());
        let leaf = tlog_tiles::Hash(merkle::Nodes::node(&t, 0, index).unwrap());
        tlog_tiles::check_record(&path, size, root, index, leaf).unwrap();
    }
    for (first, second) in [(1, 1000), (500, 1000), (512, 1000), (999, 1000), (7, 8), (1000, 1000)] {
        let proof = merkle::consistency_proof(&t, first, second).unwrap();
        let proof: Vec<_> = proof.into_iter().map(tlog_tiles::Hash).collect();
        let r1 = tlog_tiles::Hash(merkle::root(&t, first).unwrap());
        let r2 = tlog_tiles::Hash(merkle::root(&t, second).unwrap());
        tlog_tiles::check_tree(&proof, second, r2, first, r1).unwrap();
    }
}

#[test]
fn a_note_by_signed_note_verifies_here() {
    let theirs = signed_note::StandardSigner::new(GO_SKEY).unwrap();
    let text = "berth.test/other\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let mut n = signed_note::Note::new(text.as_bytes(), &[]).unwrap();
    n.add_sigs(&[&theirs]).unwrap();
    let note = Note::parse(std::str::from_utf8(&n.to_bytes()).unwrap()).unwrap();
    note.verify(&GO_VKEY.parse().unwrap()).unwrap();
}

#[test]
fn tampered_notes_are_refused() {
    let key = log_key();
    let vkey = key.verifier();
    let good = key
        .sign("berth.test/events\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
        .unwrap();
    // Another size under the same signature.
    let mut forged = good.clone();
    forged.text = forged.text.replace("\n3\n", "\n4\n");
    assert_eq!(forged.verify(&vkey), Err(TlogError::BadSignature(vkey.name().into())));
    // A note signed by someone else under our name is refused, not ignored
    // (the key id differs, so it is simply not ours: unsigned).
    let impostor = SignerKey::from_seed(key.name(), ED25519, [8; 32]).unwrap();
    let other = impostor.sign(&good.text).unwrap();
    assert_eq!(other.verify(&vkey), Err(TlogError::Unsigned(vkey.name().into())));
    // A signature line with our name and id but a broken signature.
    let mut broken = good.clone();
    broken.signatures[0].bytes[10] ^= 1;
    assert!(matches!(broken.verify(&vkey), Err(TlogError::BadSignature(_))));
    // Malformed texts.
    for bad in [
        "",
        "no blank line\n\u{2014} a AAAAAAAA\n",
        "text\n\n",
        "text\n\n\u{2014} name\n",
        "text\n\n- name AAAAAAAA\n",
        "text\n\n\u{2014} name AAAA\n",
        "text\n\n\u{2014} name !!!\n",
        "text\n\n\u{2014} na+me AAAAAAAA\n",
        "text\n\n\u{2014} name AAAAAAAA",
        "te\u{7}xt\n\n\u{2014} name AAAAAAAA\n",
        "\n\n\u{2014} name AAAAAAAA\n",
    ] {
        assert!(Note::parse(bad).is_err(), "{bad:?}");
    }
    let huge = format!("{}\n\n{GO_SIG}", "a".repeat(70_000));
    assert_eq!(Note::parse(&huge), Err(TlogError::Note("larger than 64 KiB")));
}

#[test]
fn checkpoints_parse_strictly() {
    let root = encode_hash(&[1; 32]);
    let ok = Checkpoint::parse(&format!("o\n12\n{root}\n")).unwrap();
    assert_eq!((ok.origin.as_str(), ok.size, ok.root), ("o", 12, [1; 32]));
    Checkpoint::parse(&format!("o\n12\n{root}\next\n")).unwrap();
    for bad in [
        format!("o\n012\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n 1\n{root}\n"),
        format!("o\n18446744073709551616\n{root}\n"),
        "o\n1\nAAAA\n".to_string(),
        format!("\n1\n{root}\n"),
        format!("o\n1\n{root}"),
        "o\n1\n".to_string(),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn keys_parse_strictly() {
    let vkey = log_key().verifier().to_string();
    assert_eq!(vkey.parse::<VerifierKey>().unwrap().to_string(), vkey);
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, material) = rest.split_once('+').unwrap();
    for bad in [
        format!("{name}+{id}"),
        format!("{name}x+{id}+{material}"),
        format!("{name}+00000000+{material}"),
        format!("{name}+{id}+{}", &material[4..]),
        format!("{name}+{id}+{material}+extra"),
        format!("+{id}+{material}"),
        format!("{name}+{id}+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        assert!(bad.parse::<VerifierKey>().is_err(), "{bad}");
    }
    assert!(SignerKey::parse("PRIVATE+KEY+x+00000000+AQ==").is_err());
    assert!(format!("{:?}", log_key()).contains("berth.test/events+"));
    assert!(!format!("{:?}", log_key()).contains("PRIVATE"));
}

#[test]
fn cosignatures_follow_tlog_cosignature() {
    let log = log_key();
    let witness = witness_key();
    let text = Checkpoint {
        origin: log.name().into(),
        size: 5,
        root: [3; 32],
    }
    .to_text();
    let mut note = log.sign(&text).unwrap();
    let line = checkpoint::cosign(&text, &witness, 1_679_315_147).unwrap();
    // id (4) + timestamp (8) + signature (64)
    assert_eq!(line.bytes.len(), 76);
    note.add(line.clone());
    note.add(line);
    assert_eq!(note.signatures.len(), 2);
    let reparsed = Note::parse(&note.to_string()).unwrap();
    assert_eq!(
        checkpoint::verify_cosignature(&reparsed, &witness.verifier()),
        Ok(1_679_315_147)
    );
    // The log signature still verifies with the cosignature beside it.
    checkpoint::open(&note.to_string(), &log.verifier()).unwrap();
    // The time is signed: changing it breaks the cosignature.
    let mut moved = reparsed.clone();
    moved.signatures[1].bytes[11] ^= 1;
    assert!(checkpoint::verify_cosignature(&moved, &witness.verifier()).is_err());
    // A cosigner key is not a note key and the other way round.
    assert!(witness.sign(&text).is_err());
    assert!(checkpoint::cosign(&text, &log, 1).is_err());
    // The cosigned message is exactly the spec's: check it by hand.
    let sig = &reparsed.signatures[1].bytes[12..];
    let message = format!("cosignature/v1\ntime 1679315147\n{text}");
    assert!(witness.verifier().verify_raw(message.as_bytes(), sig));
}

#[test]
fn proof_files_round_trip_and_check() {
    let key = log_key();
    let leaves: Vec<Vec<u8>> = (0..100).map(|i| format!("event {i}").into_bytes()).collect();
    let mut t = MemTree::default();
    for l in &leaves {
        t.push(leaf_hash(l));
    }
    let cp = Checkpoint {
        origin: key.name().into(),
        size: 100,
        root: merkle::root(&t, 100).unwrap(),
    };
    let note = key.sign(&cp.to_text()).unwrap().to_string();
    let file = ProofFile {
        extra: Some(leaves[42].clone()),
        index: 42,
        path: merkle::inclusion_proof(&t, 42, 100).unwrap(),
        checkpoint: note,
    };
    let text = file.to_string();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra ZXZlbnQgNDI=\nindex 42\n"));
    assert!(text.len() < 1024, "{} bytes", text.len());
    let parsed = ProofFile::parse(&text).unwrap();
    assert_eq!(parsed, file);
    let (checked, data) = parsed.check(&key.verifier()).unwrap();
    assert_eq!((checked.size, data), (100, &leaves[42][..]));

    // Forged and truncated proofs.
    let mut other_leaf = parsed.clone();
    other_leaf.extra = Some(b"event 43".to_vec());
    assert_eq!(
        other_leaf.check(&key.verifier()),
        Err(TlogError::Merkle(ProofError::RootMismatch))
    );
    let mut short = parsed.clone();
    short.path.pop();
    assert_eq!(
        short.check(&key.verifier()),
        Err(TlogError::Merkle(ProofError::TooShort))
    );
    let mut long = parsed.clone();
    long.path.push([0; 32]);
    assert_eq!(long.check(&key.verifier()), Err(TlogError::Merkle(ProofError::TooLong)));
    let mut moved = parsed.clone();
    moved.index = 43;
    assert!(moved.check(&key.verifier()).is_err());
    let mut beyond = parsed.clone();
    beyond.index = 100;
    assert!(matches!(
        beyond.check(&key.verifier()),
        Err(TlogError::Merkle(ProofError::IndexOutOfRange { .. }))
    ));
    let stranger = SignerKey::from_seed("berth.test/events", ED25519, [1; 32]).unwrap();
    assert!(parsed.check(&stranger.verifier()).is_err());
    for (i, _) in text.char_indices().filter(|(i, _)| i % 7 == 0) {
        assert!(
            ProofFile::parse(&text[..i])
                .and_then(|f| f.check(&key.verifier()).map(|_| ()))
                .is_err(),
            "cut at {i}"
        );
    }
    assert!(ProofFile::parse(&text.replace("index 42", "index 042")).is_err());
}
