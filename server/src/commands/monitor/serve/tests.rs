//! The witness's answers to every kind of request the spec names, with a
//! log made here (its key, an in-memory tree, signed checkpoints).

use super::*;
use berth_core::tlog::merkle::{MemTree, consistency_proof, leaf_hash, root};
use berth_core::tlog::note::ED25519;

const ORIGIN: &str = "log.example/events";
const NOW: u64 = 1_700_000_000;

struct Log {
    key: SignerKey,
    tree: MemTree,
}

impl Log {
    fn new() -> Log {
        Log {
            key: SignerKey::from_seed(ORIGIN, ED25519, [1; 32]).unwrap(),
            tree: MemTree::default(),
        }
    }

    fn grow_to(&mut self, size: u64) {
        while self.tree.size() < size {
            self.tree
                .push(leaf_hash(format!("event {}", self.tree.size() + 1).as_bytes()));
        }
    }

    /// The signed checkpoint of the first `size` leaves.
    fn checkpoint(&self, size: u64) -> String {
        let root = if size == 0 {
            empty_root()
        } else {
            root(&self.tree, size).unwrap()
        };
        self.sign(size, root)
    }

    fn sign(&self, size: u64, root: [u8; 32]) -> String {
        let text = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
        }
        .to_text();
        self.key.sign(&text).unwrap().to_string()
    }

    fn request(&self, old: u64, size: u64) -> String {
        // No proof where none can exist (from 0, or backwards).
        let proof = if old == 0 || old >= size {
            vec![]
        } else {
            consistency_proof(&self.tree, old, size).unwrap()
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: self.checkpoint(size),
        }
        .to_string()
    }
}

fn witness(dir: &tempfile::TempDir, log: &Log) -> Witness {
    let logs = BTreeMap::from([(ORIGIN.to_string(), log.key.verifier())]);
    Witness {
        logs,
        state: StateFile::new(&dir.path().join("state.json")),
        key: SignerKey::from_seed("witness-test", COSIGNATURE_V1, [2; 32]).unwrap(),
    }
}

fn kept_size(w: &Witness) -> Option<u64> {
    let kept = w.state.get(ORIGIN).unwrap()?;
    Some(
        Checkpoint::parse(&Note::parse(&kept.checkpoint).unwrap().text)
            .unwrap()
            .size,
    )
}

fn is_inconsistent(r: Result<String, Refusal>) -> bool {
    matches!(r, Err(Refusal::Inconsistent(_)))
}

#[test]
fn cosigns_checkpoints_that_extend_the_kept_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new();
    log.grow_to(7);
    let w = witness(&dir, &log);

    let answer = w.add(log.request(0, 3).as_bytes(), NOW).unwrap();
    assert!(
        answer.starts_with("— witness-test ") && answer.ends_with('\n'),
        "{answer:?}"
    );
    // The answer appended to the checkpoint is a note the witness's key verifies.
    let mut note = Note::parse(&log.checkpoint(3)).unwrap();
    note.add(berth_core::tlog::note::SignatureLine::parse(answer.trim_end()).unwrap());
    assert_eq!(verify_cosignature(&note, &w.key.verifier()), Ok(NOW));
    assert_eq!(kept_size(&w), Some(3));

    w.add(log.request(3, 7).as_bytes(), NOW + 1).unwrap();
    assert_eq!(kept_size(&w), Some(7));
    // The same checkpoint again is fine (the same tree).
    w.add(log.request(7, 7).as_bytes(), NOW + 2).unwrap();
    let kept = w.state.get(ORIGIN).unwrap().unwrap();
    assert_eq!((kept.first_seen, kept.grown_at), (NOW, NOW + 1));
    // What is kept is the log's signature and ours, nothing else.
    let kept = Note::parse(&kept.checkpoint).unwrap();
    assert_eq!(kept.signatures.len(), 2);
    assert!(kept.verify(&log.key.verifier()).is_ok());
    assert_eq!(verify_cosignature(&kept, &w.key.verifier()), Ok(NOW + 2));

    let hash = hex(&Sha256::digest(ORIGIN.as_bytes()));
    assert_eq!(w.latest(&hash).unwrap(), Some(kept.to_string()));
    assert_eq!(w.latest(&"0".repeat(64)).unwrap(), None);
    assert_eq!(w.latest("../../etc/passwd").unwrap(), None);
}

#[test]
fn refuses_what_the_spec_says_to_refuse_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new();
    log.grow_to(9);
    let w = witness(&dir, &log);
    w.add(log.request(0, 5).as_bytes(), NOW).unwrap();

    // 409 with the witness's size when the old size is not its own.
    assert_eq!(w.add(log.request(0, 7).as_bytes(), NOW), Err(Refusal::Conflict(5)));
    assert_eq!(w.add(log.request(3, 7).as_bytes(), NOW), Err(Refusal::Conflict(5)));
    // 400 when the old size is beyond the checkpoint: the log went back.
    assert!(matches!(
        w.add(log.request(5, 4).as_bytes(), NOW),
        Err(Refusal::Malformed(_))
    ));
    // A log that went back and says so truthfully gets 409.
    assert_eq!(w.add(log.request(4, 4).as_bytes(), NOW), Err(Refusal::Conflict(5)));

    // 422: a proof that does not hold, or none where one is needed.
    let mut forged = AddCheckpoint::parse(&log.request(5, 9)).unwrap();
    forged.proof[0][0] ^= 1;
    assert!(is_inconsistent(w.add(forged.to_string().as_bytes(), NOW)));
    let mut short = AddCheckpoint::parse(&log.request(5, 9)).unwrap();
    short.proof.pop();
    assert!(is_inconsistent(w.add(short.to_string().as_bytes(), NOW)));
    // 422: the same size with another root, signed by the log: a fork.
    let fork = AddCheckpoint {
        old: 5,
        proof: vec![],
        checkpoint: log.sign(5, [9; 32]),
    };
    assert!(is_inconsistent(w.add(fork.to_string().as_bytes(), NOW)));
    // A larger tree that does not contain the kept one: another fork.
    let mut other = Log::new();
    other.tree.push(leaf_hash(b"a different first event"));
    other.grow_to(9);
    assert!(is_inconsistent(w.add(other.request(5, 9).as_bytes(), NOW)));

    // 404 for a log it does not follow; 403 for a bad or missing signature.
    let stranger = SignerKey::from_seed("other.example", ED25519, [3; 32]).unwrap();
    let text = Checkpoint {
        origin: "other.example".into(),
        size: 1,
        root: [0; 32],
    }
    .to_text();
    let body = format!("old 0\n\n{}", stranger.sign(&text).unwrap());
    assert!(matches!(w.add(body.as_bytes(), NOW), Err(Refusal::UnknownLog(_))));
    let impostor = SignerKey::from_seed(ORIGIN, ED25519, [4; 32]).unwrap();
    let text = Checkpoint::parse(&Note::parse(&log.checkpoint(9)).unwrap().text)
        .unwrap()
        .to_text();
    let body = format!("old 5\n\n{}", impostor.sign(&text).unwrap());
    assert!(matches!(w.add(body.as_bytes(), NOW), Err(Refusal::NotSigned(_))));
    let mut altered = log.request(5, 9);
    let at = altered.rfind(' ').unwrap() + 3;
    altered.replace_range(at..at + 1, if &altered[at..at + 1] == "A" { "B" } else { "A" });
    assert!(matches!(w.add(altered.as_bytes(), NOW), Err(Refusal::NotSigned(_))));

    // 400 for what is not a request at all.
    for junk in [&b"\xff\xfe"[..], b"", b"old 5\n", b"old 5\n\nnot a note\n"] {
        assert!(matches!(w.add(junk, NOW), Err(Refusal::Malformed(_))), "{junk:?}");
    }

    // Nothing refused changed what the witness kept.
    assert_eq!(kept_size(&w), Some(5));
    w.add(log.request(5, 9).as_bytes(), NOW).unwrap();
    assert_eq!(kept_size(&w), Some(9));
}

#[test]
fn an_empty_tree_has_the_empty_root_and_needs_no_proof() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new();
    log.grow_to(2);
    let w = witness(&dir, &log);
    let wrong_empty = format!("old 0\n\n{}", log.sign(0, [5; 32]));
    assert!(is_inconsistent(w.add(wrong_empty.as_bytes(), NOW)));
    let with_proof = AddCheckpoint {
        old: 0,
        proof: vec![[6; 32]],
        checkpoint: log.checkpoint(2),
    };
    assert!(is_inconsistent(w.add(with_proof.to_string().as_bytes(), NOW)));
    assert_eq!(kept_size(&w), None);
    w.add(log.request(0, 0).as_bytes(), NOW).unwrap();
    assert_eq!(kept_size(&w), Some(0));
    w.add(log.request(0, 2).as_bytes(), NOW).unwrap();
    assert_eq!(kept_size(&w), Some(2));
}

#[tokio::test]
async fn a_conflict_answers_the_size_as_text_x_tlog_size() {
    let response = Refusal::Conflict(1187).into_response();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/x.tlog.size");
    let body = axum::body::to_bytes(response.into_body(), 100).await.unwrap();
    assert_eq!(&body[..], b"1187\n");
}

#[test]
fn the_key_file_is_made_private_once_and_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("witness.key");
    let made = load_or_create_key(&path, Some("witness-a")).unwrap();
    assert_eq!(made.name(), "witness-a");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = load_or_create_key(&path, None).unwrap();
    assert_eq!(again.verifier(), made.verifier());
    let e = load_or_create_key(&path, Some("witness-b")).unwrap_err();
    assert!(e.to_string().contains("witness-a"), "{e}");

    let log_key = dir.path().join("log.key");
    std::fs::write(
        &log_key,
        SignerKey::from_seed("log", ED25519, [1; 32]).unwrap().to_secret_text(),
    )
    .unwrap();
    assert!(
        load_or_create_key(&log_key, None)
            .unwrap_err()
            .to_string()
            .contains("0x04")
    );
    let made = load_or_create_key(&dir.path().join("default.key"), None).unwrap();
    assert!(made.name().starts_with("witness"), "{}", made.name());
}

/// berth's side (`crate::witness`) sending a real Checkpointer's
/// checkpoints to this witness over HTTP, as two machines would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berths_pusher_gets_its_checkpoints_cosigned_here() {
    use crate::config::{WitnessConfig, WitnessKey};
    use berth_core::events::{Checkpointer, EventLog};
    use berth_core::model::{Actor, EventFilter, NewEvent};
    use berth_core::store::Store;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    let log = EventLog::open(&store).unwrap();
    let checkpoints = Checkpointer::open(&log, dir.path()).unwrap();
    let grow = |n: usize| {
        let log = log.clone();
        async move {
            for _ in 0..n {
                log.append(NewEvent::new("test.event", Actor::system())).await.unwrap();
            }
        }
    };
    grow(3).await;
    checkpoints.sign(Actor::system()).await.unwrap();

    // Two witnesses sharing one state file, so the second has already seen
    // what the first cosigned: berth, which thinks it at 0, learns its size
    // from a 409 answer and tries again from there.
    let witnesses = tempfile::tempdir().unwrap();
    let mut configs = Vec::new();
    let mut keys = Vec::new();
    for (name, seed) in [("witness-one", 2), ("witness-two", 3)] {
        let key = SignerKey::from_seed(name, COSIGNATURE_V1, [seed; 32]).unwrap();
        keys.push(key.verifier());
        let witness = Witness {
            logs: BTreeMap::from([(checkpoints.origin().to_string(), checkpoints.verifier())]),
            state: StateFile::new(&witnesses.path().join("state.json")),
            key,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        configs.push(WitnessConfig {
            url: format!("http://{}/", listener.local_addr().unwrap()),
            key: WitnessKey(keys.last().unwrap().clone()),
        });
        tokio::spawn(async move { axum::serve(listener, router(witness)).await });
    }
    let cosigned_by = |key: &VerifierKey, size: u64| {
        let latest = checkpoints.latest().unwrap();
        latest.checkpoint.size >= size && verify_cosignature(&latest.note, key).is_ok()
    };
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "{what}: {:?}", checkpoints.latest());
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let first = tokio::spawn(crate::witness::run(
        checkpoints.clone(),
        log.clone(),
        configs[..1].to_vec(),
        stopped.clone(),
    ));
    let size = checkpoints.latest().unwrap().checkpoint.size;
    wait("the first checkpoint cosigned", &|| cosigned_by(&keys[0], size));
    grow(5).await;
    let size = checkpoints.sign(Actor::system()).await.unwrap().checkpoint.size;
    wait("the grown checkpoint cosigned", &|| cosigned_by(&keys[0], size));

    grow(2).await;
    let size = checkpoints.sign(Actor::system()).await.unwrap().checkpoint.size;
    let second = tokio::spawn(crate::witness::run(
        checkpoints.clone(),
        log.clone(),
        configs[1..].to_vec(),
        stopped,
    ));
    wait("both cosign the newest", &|| {
        cosigned_by(&keys[0], size) && cosigned_by(&keys[1], size)
    });

    stop.send(true).unwrap();
    first.await.unwrap();
    second.await.unwrap();
    log.flush().await.unwrap();
    let filter = EventFilter::from_fields(|k| (k == "kind").then_some("log.witness")).unwrap();
    let mut attempts = Vec::new();
    berth_core::events::export_store(&store, &filter, |e| {
        attempts.push(e.clone());
        true
    })
    .unwrap();
    assert!(attempts.len() >= 4, "{attempts:#?}");
    assert!(attempts.iter().all(|e| e.outcome.label() == "ok"), "{attempts:#?}");
    let targets: std::collections::BTreeSet<_> = attempts.iter().filter_map(|e| e.target.clone()).collect();
    assert_eq!(
        targets.into_iter().collect::<Vec<_>>(),
        ["witness:witness-one", "witness:witness-two"]
    );
    assert!(
        attempts[0].details["url"]
            .as_str()
            .unwrap()
            .ends_with("/add-checkpoint")
    );
    assert_eq!(attempts[0].actor.to_string(), "system:witness");
    log.close().await.unwrap();
}
