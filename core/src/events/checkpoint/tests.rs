//! The stored tree and the checkpoints, on a real redb file: the tree
//! matches the reference tree, survives a lost trailing write, and berth
//! refuses to sign a log that was cut or rewritten behind its back.

use super::*;
use crate::events::decode_canonical;
use crate::store::Store;
use crate::store::tables::{EVENT_TREE, EVENTS, META};
use crate::tlog::merkle::{MemTree, leaf_hash};
use redb::{ReadableDatabase, ReadableTable};

fn ev(i: u64) -> NewEvent {
    NewEvent::new("test.tick", Actor::user(format!("u{}", i % 7))).details(serde_json::json!({ "i": i }))
}

async fn fill(log: &EventLog, from: u64, to: u64) {
    for i in from..to {
        log.record(ev(i));
    }
    log.flush().await.unwrap();
}

/// The reference tree over the stored records, leaf i = record seq i + 1.
fn reference(store: &Store) -> MemTree {
    let tx = store.db().begin_read().unwrap();
    let mut t = MemTree::default();
    for row in tx.open_table(EVENTS).unwrap().iter().unwrap() {
        let (_, v) = row.unwrap();
        let v = v.value();
        t.push(leaf_hash(&v[..v.len() - 32]));
    }
    t
}

fn reopen(path: &Path) -> (Store, EventLog) {
    let store = Store::open(path).unwrap();
    let log = EventLog::open(&store).unwrap();
    (store, log)
}

#[tokio::test]
async fn the_stored_tree_is_the_reference_tree_and_proves_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = reopen(&dir.path().join("berth.redb"));
    fill(&log, 0, 1000).await;
    let mem = reference(&store);
    assert_eq!(log.tree_size().await.unwrap(), 1000);
    for size in [1, 2, 3, 511, 512, 513, 999, 1000] {
        let root = log.tree_root(size).await.unwrap();
        assert_eq!(root, merkle::root(&mem, size).unwrap(), "size {size}");
    }
    let (_, root) = log.tree_head().await.unwrap();
    for seq in [1, 2, 500, 1000] {
        let (data, path) = log.inclusion_proof(EventSeq(seq), 1000).await.unwrap();
        merkle::verify_inclusion(&leaf_hash(&data), seq - 1, 1000, &path, &root).unwrap();
        let event = decode_canonical(&data).unwrap();
        assert_eq!(event, log.get(EventSeq(seq)).await.unwrap().unwrap());
    }
    let r300 = log.tree_root(300).await.unwrap();
    let proof = log.consistency_proof(300, 1000).await.unwrap();
    merkle::verify_consistency(300, 1000, &r300, &root, &proof).unwrap();
    // Sizes the tree does not have are refused with a clear error.
    for e in [
        log.tree_root(1001).await.unwrap_err(),
        log.consistency_proof(10, 1001).await.unwrap_err(),
        log.consistency_proof(11, 10).await.unwrap_err(),
        log.inclusion_proof(EventSeq(0), 10).await.unwrap_err(),
        log.inclusion_proof(EventSeq(11), 10).await.unwrap_err(),
    ] {
        assert!(matches!(e, EventError::Proof(_)), "{e:?}");
    }
}

#[tokio::test]
async fn a_lost_trailing_write_is_rebuilt_from_the_events_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.redb");
    {
        let (_store, log) = reopen(&path);
        fill(&log, 0, 700).await;
        log.close().await.unwrap();
    }
    {
        // As after a crash: the tree's last write never reached the disk.
        let store = Store::open(&path).unwrap();
        let tx = store.db().begin_write().unwrap();
        {
            let mut nodes = tx.open_table(EVENT_TREE).unwrap();
            // Keeps the nodes of the first 300 leaves (places below 600).
            nodes.retain(|place, _| place < 600).unwrap();
            tx.open_table(META).unwrap().insert("tree_size", "300").unwrap();
        }
        tx.commit().unwrap();
    }
    let (store, log) = reopen(&path);
    assert_eq!(log.tree_size().await.unwrap(), 700);
    assert_eq!(
        log.tree_head().await.unwrap().1,
        merkle::root(&reference(&store), 700).unwrap()
    );
}

async fn signed_log(dir: &tempfile::TempDir) -> (Store, EventLog, Checkpointer) {
    let (store, log) = reopen(&dir.path().join("berth.redb"));
    fill(&log, 0, 50).await;
    let cp = Checkpointer::open(&log, dir.path()).unwrap();
    (store, log, cp)
}

#[tokio::test]
async fn checkpoints_are_signed_kept_and_checked_by_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log, cp) = signed_log(&dir).await;
    assert!(cp.latest().is_none());
    let first = cp.sign(Actor::system()).await.unwrap();
    assert_eq!(first.checkpoint.size, 50);
    checkpoint::open(&first.text(), &cp.verifier()).unwrap();
    // The signature is an event of its own.
    log.flush().await.unwrap();
    let last = log.query(Default::default(), None, 1).await.unwrap().events.remove(0);
    assert_eq!(last.kind, "log.checkpoint");
    assert_eq!(last.details["size"], 50);
    // Nothing new but that event: the next signature covers it.
    let second = cp.sign(Actor::system()).await.unwrap();
    assert_eq!(second.checkpoint.size, 51);

    // The key and the checkpoint survive a restart; the key is private.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let again = Checkpointer::open(&log, dir.path()).unwrap();
    assert_eq!(again.verifier(), cp.verifier());
    assert_eq!(again.latest().unwrap().note, second.note);

    // A proof file for an event checks offline with the public key only.
    let proof = cp.prove(EventSeq(7), Actor::system()).await.unwrap();
    let parsed = ProofFile::parse(&proof.to_string()).unwrap();
    let (checked, data) = parsed.check(&cp.verifier()).unwrap();
    assert_eq!(checked.size, 51);
    assert_eq!(decode_canonical(data).unwrap().seq, EventSeq(7));
    // An event newer than the checkpoint gets a new one first.
    fill(&log, 100, 105).await;
    let newest = log.tree_size().await.unwrap();
    let proof = cp.prove(EventSeq(newest), Actor::system()).await.unwrap();
    proof.check(&cp.verifier()).unwrap();
}

#[tokio::test]
async fn cosignatures_are_checked_before_they_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _log, cp) = signed_log(&dir).await;
    let signed = cp.sign(Actor::system()).await.unwrap();
    let witness = SignerKey::from_seed("witness.test/w", crate::tlog::note::COSIGNATURE_V1, [5; 32]).unwrap();
    let text = signed.checkpoint.to_text();
    let line = checkpoint::cosign(&text, &witness, 1_700_000_000).unwrap();
    let mut forged = line.clone();
    forged.bytes[20] ^= 1;
    assert!(cp.add_cosignature(50, &witness.verifier(), forged).is_err());
    assert!(cp.add_cosignature(49, &witness.verifier(), line.clone()).is_err());
    cp.add_cosignature(50, &witness.verifier(), line).unwrap();
    let latest = cp.latest().unwrap();
    assert_eq!(latest.cosigners(), vec![("witness.test/w".to_string(), 1_700_000_000)]);
    let kept = std::fs::read_to_string(dir.path().join(CHECKPOINT_FILE)).unwrap();
    let note = checkpoint::open(&kept, &cp.verifier()).unwrap().note;
    assert_eq!(
        checkpoint::verify_cosignature(&note, &witness.verifier()),
        Ok(1_700_000_000)
    );
}

/// Removes events `from..` with redb directly, as someone with the file could.
fn cut_tail(path: &Path, from: u64) {
    let store = Store::open(path).unwrap();
    let tx = store.db().begin_write().unwrap();
    tx.open_table(EVENTS).unwrap().retain(|seq, _| seq < from).unwrap();
    tx.commit().unwrap();
}

async fn refusals(log: &EventLog) -> Vec<String> {
    log.flush().await.unwrap();
    let page = log.query(Default::default(), None, 100).await.unwrap();
    page.events
        .iter()
        .filter(|e| e.kind == "log.checkpoint")
        .filter_map(|e| match &e.outcome {
            Outcome::Error(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn berth_refuses_to_sign_a_log_cut_short_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.redb");
    {
        let (_store, log, cp) = signed_log(&dir).await;
        cp.sign(Actor::system()).await.unwrap();
        log.close().await.unwrap();
    }
    cut_tail(&path, 41);
    let (_store, log) = reopen(&path);
    // The writer noticed the cut and says so in the log itself.
    assert_eq!(log.tree_size().await.unwrap(), 41);
    let noted = log.get(EventSeq(41)).await.unwrap().unwrap();
    assert_eq!(noted.kind, "log.truncated");
    assert_eq!(noted.details, serde_json::json!({"first": 41, "last": 51}));
    let cp = Checkpointer::open(&log, dir.path()).unwrap();
    let e = cp.sign(Actor::system()).await.unwrap_err();
    assert!(matches!(e, CheckpointError::Inconsistent(_)), "{e}");
    assert!(e.to_string().contains("removed from its end"), "{e}");
    // Appending more does not paper over it: the first 50 differ now.
    fill(&log, 1000, 1020).await;
    let e = cp.sign(Actor::system()).await.unwrap_err();
    assert!(e.to_string().contains("altered"), "{e}");
    assert_eq!(cp.latest().unwrap().checkpoint.size, 50);
    let recorded = refusals(&log).await;
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    // The same refusal again is not recorded again within the hour.
    let _ = cp.sign(Actor::system()).await;
    assert_eq!(refusals(&log).await.len(), 2);
}

#[tokio::test]
async fn an_unreadable_kept_checkpoint_stops_signing_until_someone_looks() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log, cp) = signed_log(&dir).await;
    cp.sign(Actor::system()).await.unwrap();
    let kept = dir.path().join(CHECKPOINT_FILE);
    let text = std::fs::read_to_string(&kept).unwrap();
    std::fs::write(&kept, text.replace("\n50\n", "\n49\n")).unwrap();
    let cp = Checkpointer::open(&log, dir.path()).unwrap();
    let e = cp.sign(Actor::system()).await.unwrap_err();
    assert!(matches!(e, CheckpointError::Kept { .. }), "{e}");
    // A key file that is not a key is a clear error, not a new key.
    std::fs::write(dir.path().join(KEY_FILE), "PRIVATE+KEY+nonsense").unwrap();
    assert!(matches!(
        Checkpointer::open(&log, dir.path()),
        Err(CheckpointError::Key { .. })
    ));
}

#[tokio::test]
async fn verify_rebuilds_the_tree_and_holds_the_events_to_the_signed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.redb");
    {
        let (_store, log, cp) = signed_log(&dir).await;
        let signed = cp.sign(Actor::system()).await.unwrap();
        let status = log.verify(Some(&signed)).await.unwrap();
        assert!(status.is_ok(), "{status:?}");
        log.close().await.unwrap();
    }
    {
        // A node of the stored tree altered: the walk notices.
        let store = Store::open(&path).unwrap();
        let set = |value: [u8; 32]| {
            let tx = store.db().begin_write().unwrap();
            let old = tx
                .open_table(EVENT_TREE)
                .unwrap()
                .insert(crate::events::tree::stored_index(4, 1), value)
                .unwrap()
                .unwrap()
                .value();
            tx.commit().unwrap();
            old
        };
        let original = set([0; 32]);
        let status = crate::events::verify_store(&store, dir.path()).unwrap();
        assert!(status.problem.unwrap().contains("level 4, index 1 differs"));
        set(original);
    }
    // Events cut and the traces in META wiped: the chain alone looks whole,
    // the kept checkpoint does not agree.
    cut_tail(&path, 31);
    {
        let store = Store::open(&path).unwrap();
        let tx = store.db().begin_write().unwrap();
        tx.open_table(META).unwrap().insert("indexed_head", "30").unwrap();
        tx.open_table(META).unwrap().insert("tree_size", "30").unwrap();
        tx.commit().unwrap();
        let status = crate::events::verify_store(&store, dir.path()).unwrap();
        let problem = status.problem.unwrap();
        assert!(problem.contains("removed from its end"), "{problem}");
    }
}
