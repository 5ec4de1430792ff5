//! Holding berth to its past from outside: `berth monitor` watching a log
//! (a real berth, and a log faked here that misbehaves on purpose), `berth
//! monitor --serve` as the witness berth sends its checkpoints to, and
//! `berth events check-proof` run on a machine with nothing of berth's.

mod common;

use berth_core::tlog::checkpoint::{Checkpoint, verify_cosignature};
use berth_core::tlog::merkle::{MemTree, consistency_proof, leaf_hash, root};
use berth_core::tlog::note::{COSIGNATURE_V1, ED25519, Note, SignerKey, VerifierKey};
use berth_core::tlog::{encode_hash, parse_hash};
use berth_server::config::{WitnessConfig, WitnessKey};
use common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The admin signed in on a fresh server.
async fn admin() -> (tempfile::TempDir, Server, reqwest::Client) {
    let (dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    (dir, server, client)
}

async fn log_key(server: &Server) -> String {
    let resp = reqwest::get(server.url("/api/v1/log/key")).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap().trim().to_string()
}

/// Signs a checkpoint now, as the admin; returns the note.
async fn sign(server: &Server, admin: &reqwest::Client) -> String {
    let resp = admin.post(server.url("/api/v1/log/checkpoint")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "POST /api/v1/log/checkpoint");
    resp.text().await.unwrap()
}

async fn served_checkpoint(server: &Server) -> Note {
    let resp = reqwest::get(server.url("/api/v1/log/checkpoint")).await.unwrap();
    assert_eq!(resp.status(), 200);
    Note::parse(&resp.text().await.unwrap()).unwrap()
}

fn size_of(note: &str) -> u64 {
    Checkpoint::parse(&Note::parse(note).unwrap().text).unwrap().size
}

/// The size of the checkpoint the state file keeps for `origin`.
fn kept_size(state: &Path, origin: &str) -> u64 {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    size_of(doc["logs"][origin]["checkpoint"].as_str().unwrap())
}

fn monitor(url: &str, key: &str, state: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["monitor", url, "--key", key, "--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    berth(&args, "")
}

fn said(out: &Output) -> String {
    format!("stdout:\n{}stderr:\n{}", text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_says_ok_as_a_real_log_grows_and_no_when_it_cannot_tell() {
    let (_dir, server, admin) = admin().await;
    let key = log_key(&server).await;
    let origin = key.split('+').next().unwrap().to_string();
    sign(&server, &admin).await;
    let states = tempfile::tempdir().unwrap();
    let state = states.path().join("state.json");

    let out = monitor(&server.base, &key, &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let first = text(&out.stdout);
    assert!(first.contains(&format!("ok: signature by {origin}\n")), "{first}");
    assert!(
        first.contains("(the first checkpoint seen of this log; kept)"),
        "{first}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Things happen; berth signs again.
    sign_in(&server, &admin, ADMIN, "not the password").await;
    let was = kept_size(&state, &origin);
    let now = size_of(&sign(&server, &admin).await);
    assert!(now > was, "{now} > {was}");
    assert_eq!(kept_size(&state, &origin), was, "only a check moves the state");
    let out = monitor(&server.base, &key, &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let second = text(&out.stdout);
    assert!(second.contains("ok: size "), "{second}");
    assert!(second.contains("(was "), "{second}");
    assert!(second.contains("ok: consistent with the kept checkpoint"), "{second}");

    // Another key of the same name: not this log's signature.
    let impostor = SignerKey::from_seed(&origin, ED25519, [9; 32])
        .unwrap()
        .verifier()
        .to_string();
    let kept = std::fs::read(&state).unwrap();
    let out = monitor(&server.base, &impostor, &state, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("FAIL: the checkpoint is not signed by the log's key"),
        "{}",
        said(&out)
    );
    assert_eq!(std::fs::read(&state).unwrap(), kept, "a failed check changed the state");

    // Nobody answering is "could not check", not misbehaviour.
    let base = server.base.clone();
    server.stop().await.unwrap();
    let out = monitor(&base, &key, &state, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        text(&out.stdout).starts_with("error: could not check: "),
        "{}",
        said(&out)
    );
    // Bad arguments too.
    let out = monitor(&base, "not-a-key", &state, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(text(&out.stderr).contains("not a public key"), "{}", said(&out));
    assert_eq!(std::fs::read(&state).unwrap(), kept);
}

/// A log made here that can be told to lie: it serves whatever checkpoint
/// and whichever tree's consistency proofs the test sets.
struct FakeLog {
    key: SignerKey,
    /// The checkpoint served, verbatim.
    checkpoint: String,
    /// The tree whose proofs are served.
    tree: MemTree,
}

const FAKE_ORIGIN: &str = "fake.example/berth/0001";

fn tree(size: u64, salt: &str) -> MemTree {
    let mut t = MemTree::default();
    for i in 0..size {
        t.push(leaf_hash(format!("{salt} event {i}").as_bytes()));
    }
    t
}

fn signed(key: &SignerKey, tree: &MemTree, size: u64) -> String {
    let text = Checkpoint {
        origin: FAKE_ORIGIN.into(),
        size,
        root: root(tree, size).unwrap(),
    }
    .to_text();
    key.sign(&text).unwrap().to_string()
}

/// Serves `log` on a loopback port; returns its base URL.
async fn serve_fake(log: Arc<Mutex<FakeLog>>) -> String {
    use axum::extract::{Query, State};
    use axum::routing::get;
    type Shared = State<Arc<Mutex<FakeLog>>>;
    async fn checkpoint(State(log): Shared) -> String {
        log.lock().unwrap().checkpoint.clone()
    }
    async fn consistency(
        State(log): Shared,
        Query(q): Query<std::collections::HashMap<String, u64>>,
    ) -> axum::Json<serde_json::Value> {
        let (from, to) = (q["from"], q["to"]);
        let proof = consistency_proof(&log.lock().unwrap().tree, from, to).unwrap_or_default();
        let proof: Vec<String> = proof.iter().map(encode_hash).collect();
        axum::Json(serde_json::json!({ "from": from, "to": to, "proof": proof }))
    }
    let app = axum::Router::new()
        .route("/api/v1/log/checkpoint", get(checkpoint))
        .route("/api/v1/log/proof/consistency", get(consistency))
        .with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_names_each_way_a_log_can_misbehave_and_keeps_what_it_trusted() {
    let key = SignerKey::from_seed(FAKE_ORIGIN, ED25519, [1; 32]).unwrap();
    let vkey = key.verifier().to_string();
    let honest = tree(12, "honest");
    let log = Arc::new(Mutex::new(FakeLog {
        checkpoint: signed(&key, &honest, 5),
        tree: honest.clone(),
        key,
    }));
    let base = serve_fake(log.clone()).await;
    let states = tempfile::tempdir().unwrap();
    let state = states.path().join("state.json");
    let set = |checkpoint: String, tree: &MemTree| {
        let mut l = log.lock().unwrap();
        l.checkpoint = checkpoint;
        l.tree = tree.clone();
    };
    let sign_with = |t: &MemTree, size: u64| signed(&log.lock().unwrap().key, t, size);
    let expect = |code: i32, words: &str| {
        let out = monitor(&base, &vkey, &state, &[]);
        assert_eq!(out.status.code(), Some(code), "{}", said(&out));
        assert!(text(&out.stdout).contains(words), "wanted {words:?}; {}", said(&out));
    };

    expect(0, "ok: size 5 (the first checkpoint seen of this log; kept)");
    set(sign_with(&honest, 8), &honest);
    expect(0, "ok: size 8 (was 5, +3)");
    let trusted = std::fs::read(&state).unwrap();

    // Dropped events: a smaller tree, honestly signed.
    set(sign_with(&honest, 6), &honest);
    expect(1, "FAIL: log went back from 8 to 6 events");
    // A rewritten history of the same size.
    let rewritten = tree(12, "rewritten");
    set(sign_with(&rewritten, 8), &rewritten);
    expect(1, "FAIL: fork: two checkpoints of size 8 with different roots");
    // A rewritten history that grew: its proofs cannot reach the kept root.
    set(sign_with(&rewritten, 10), &rewritten);
    expect(
        1,
        "FAIL: fork: the checkpoint of size 10 does not extend the kept one of size 8",
    );
    // Signed by someone else.
    let impostor = SignerKey::from_seed(FAKE_ORIGIN, ED25519, [2; 32]).unwrap();
    set(signed(&impostor, &honest, 10), &honest);
    expect(1, "FAIL: the checkpoint is not signed by the log's key");
    // Not a checkpoint at all: could not check.
    set("<html>oops</html>".into(), &honest);
    expect(2, "error: could not check: the log served a malformed checkpoint");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        trusted,
        "a failed check changed the state"
    );

    // The same checkpoint again is fine, until it is too old.
    set(sign_with(&honest, 8), &honest);
    expect(0, "ok: size 8 (unchanged, same root)");
    std::thread::sleep(Duration::from_millis(2100));
    let out = monitor(&base, &vkey, &state, &["--max-age", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("FAIL: log stopped signing"),
        "{}",
        said(&out)
    );

    // Growing again is good again.
    set(sign_with(&honest, 12), &honest);
    expect(0, "ok: consistent with the kept checkpoint");

    // --every reports each round and keeps going through misbehaviour.
    set(sign_with(&rewritten, 12), &rewritten);
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "monitor",
            &base,
            "--key",
            &vkey,
            "--state",
            state.to_str().unwrap(),
            "--every",
            "1s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "--every stopped at a misbehaving log"
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let rounds = text(&out.stdout);
    assert!(rounds.matches("FAIL: fork").count() >= 2, "{rounds}");
    assert!(
        rounds.matches("\n-- ").count() >= 1 && rounds.starts_with("-- "),
        "{rounds}"
    );
}

/// A `berth monitor --serve` child, killed when dropped.
struct WitnessProcess {
    child: Child,
    base: String,
    key: VerifierKey,
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a witness for the log `log_key`, with its files in `dir`.
fn start_witness(dir: &Path, log_key: &str) -> WitnessProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "monitor",
            "--serve",
            "127.0.0.1:0",
            "--key",
            log_key,
            "--name",
            "witness-test",
        ])
        .arg("--state")
        .arg(dir.join("witness-state.json"))
        .arg("--witness-key")
        .arg(dir.join("witness.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut key, mut base) = (None, None);
    while key.is_none() || base.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the witness says its key and address");
        if let Some(k) = line.strip_prefix("witness key: ") {
            key = Some(k.parse::<VerifierKey>().unwrap());
        }
        if let Some(url) = line.strip_prefix("witness serving on ") {
            base = Some(url.trim_end_matches("/add-checkpoint").to_string());
        }
    }
    let key = key.unwrap();
    assert_eq!((key.name(), key.kind()), ("witness-test", COSIGNATURE_V1));
    WitnessProcess {
        child,
        base: base.unwrap(),
        key,
    }
}

/// Polls GET checkpoint until it is cosigned by `witness` at `size` or more.
async fn cosigned(server: &Server, witness: &VerifierKey, size: u64) -> Note {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let note = served_checkpoint(server).await;
        let at = Checkpoint::parse(&note.text).unwrap().size;
        if at >= size && verify_cosignature(&note, witness).is_ok() {
            return note;
        }
        assert!(Instant::now() < deadline, "never cosigned at {size}: {note}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post_witness(witness: &WitnessProcess, body: String) -> (u16, Option<String>, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", witness.base))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, kind, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_what_berth_sends_it_and_refuses_a_log_that_went_back() {
    // Berth's key exists from its first start; the witness is told it.
    let dir = tempfile::tempdir().unwrap();
    add_admin(dir.path());
    let first = Server::start(dir.path()).await;
    let key = log_key(&first).await;
    first.stop().await.unwrap();
    let files = tempfile::tempdir().unwrap();
    let witness = start_witness(files.path(), &key);

    let config = WitnessConfig {
        url: witness.base.clone(),
        key: WitnessKey(witness.key.clone()),
    };
    let server = Server::start_with(dir.path(), |c| c.witnesses = vec![config]).await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let one = sign(&server, &admin).await;
    let note = cosigned(&server, &witness.key, size_of(&one)).await;
    assert!(note.verify(&key.parse().unwrap()).is_ok(), "{note}");

    // The log grows; the witness cosigns the next checkpoint from its size,
    // with a consistency proof.
    sign_in(&server, &admin, ADMIN, "not the password").await;
    let two = sign(&server, &admin).await;
    let (s1, s2) = (size_of(&one), size_of(&two));
    assert!(s2 > s1);
    cosigned(&server, &witness.key, s2).await;

    // A proof file made now carries the cosignature, and an auditor can
    // insist on it.
    let resp = admin.get(server.url("/api/v1/log/proof/event/1")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let proof = files.path().join("proof.txt");
    std::fs::write(&proof, resp.text().await.unwrap()).unwrap();
    let check_with = |witness: &str| {
        let args = [
            "events",
            "check-proof",
            proof.to_str().unwrap(),
            "--key",
            &key,
            "--witness",
            witness,
        ];
        berth(&args, "")
    };
    let out = check_with(&witness.key.to_string());
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("OK: cosigned by witness witness-test at "),
        "{}",
        said(&out)
    );
    let stranger = SignerKey::from_seed("witness-test", COSIGNATURE_V1, [8; 32])
        .unwrap()
        .verifier();
    let out = check_with(&stranger.to_string());
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        text(&out.stderr).contains("not cosigned by witness witness-test"),
        "{}",
        said(&out)
    );
    let page = events(&server, &admin, "kind=log.witness").await;
    let attempts = page["events"].as_array().unwrap();
    assert!(
        attempts.iter().any(|e| e["outcome"]["status"] == "ok"
            && e["target"] == "witness:witness-test"
            && e["details"]["url"].as_str().unwrap().starts_with(&witness.base)),
        "{page}"
    );

    // What berth signed next is what the witness kept.
    let latest = served_checkpoint(&server).await;
    let kept_size = Checkpoint::parse(&latest.text).unwrap().size;
    // A log showing the witness its older checkpoint as if it were new:
    // 400 when it claims the witness is past it, 409 with the witness's
    // size when it claims the witness is at it.
    let (status, _, _) = post_witness(&witness, format!("old {kept_size}\n\n{one}")).await;
    assert_eq!(status, 400);
    let (status, kind, body) = post_witness(&witness, format!("old {s1}\n\n{one}")).await;
    assert_eq!((status, kind.as_deref()), (409, Some("text/x.tlog.size")));
    assert_eq!(body, format!("{kept_size}\n"));
    // The checkpoint it has, with a proof where none belongs: 422.
    let latest_text = latest.to_string();
    let bogus = encode_hash(&[7; 32]);
    let (status, _, _) = post_witness(&witness, format!("old {kept_size}\n{bogus}\n\n{latest_text}")).await;
    assert_eq!(status, 422);
    // The same again without one is fine.
    let (status, _, body) = post_witness(&witness, format!("old {kept_size}\n\n{latest_text}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("— witness-test ") && body.ends_with('\n'), "{body}");
    // Another log (404), a broken signature (403), junk (400), too big (413).
    let stranger = SignerKey::from_seed("stranger.example", ED25519, [5; 32]).unwrap();
    let text_of = |origin: &str| format!("{origin}\n1\n{}\n", encode_hash(&[0; 32]));
    let body = format!("old 0\n\n{}", stranger.sign(&text_of("stranger.example")).unwrap());
    assert_eq!(post_witness(&witness, body).await.0, 404);
    let mut forged = latest.clone();
    let sig = &mut forged.signatures[0].bytes;
    let last = sig.len() - 1;
    sig[last] ^= 1;
    assert_eq!(
        post_witness(&witness, format!("old {kept_size}\n\n{forged}")).await.0,
        403
    );
    assert_eq!(post_witness(&witness, "hello".into()).await.0, 400);
    assert_eq!(post_witness(&witness, "x".repeat(70_000)).await.0, 413);

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_proof_runs_on_a_bare_machine_and_refuses_forgeries() {
    let (_dir, server, admin) = admin().await;
    sign_in(&server, &admin, ADMIN, "not the password").await;
    let key = log_key(&server).await;
    let origin = key.split('+').next().unwrap().to_string();
    let resp = admin.get(server.url("/api/v1/log/proof/event/2")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let proof = resp.text().await.unwrap();
    server.stop().await.unwrap();

    // The auditor's machine: the binary alone, an empty directory, no config.
    let machine = tempfile::tempdir().unwrap();
    let bin = machine.path().join("berth");
    std::fs::copy(env!("CARGO_BIN_EXE_berth"), &bin).unwrap();
    let cwd = machine.path().join("empty");
    std::fs::create_dir(&cwd).unwrap();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("key.txt"), format!("{key}\n")).unwrap();
    let key_arg = format!("@{}", files.path().join("key.txt").display());
    let check = |name: &str, proof: &str, key: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, proof).unwrap();
        Command::new(&bin)
            .args(["events", "check-proof", path.to_str().unwrap(), "--key", key])
            .current_dir(&cwd)
            .env_clear()
            .output()
            .unwrap()
    };

    let out = check("proof.txt", &proof, &key_arg);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let shown = text(&out.stdout);
    assert!(shown.starts_with("event 2\n"), "{shown}");
    assert!(shown.contains("  kind     "), "{shown}");
    assert!(
        shown.contains("OK: event 2 is in the log of size ") && shown.ends_with(&format!("signed by {origin}\n")),
        "{shown}"
    );
    assert_eq!(
        std::fs::read_dir(&cwd).unwrap().count(),
        0,
        "check-proof wrote into its directory"
    );

    // One byte of one hash of the inclusion proof changed.
    let mut lines: Vec<String> = proof.lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.starts_with("index ")).unwrap() + 1;
    let mut hash = parse_hash(&lines[at]).expect("the proof has a path");
    hash[0] ^= 1;
    lines[at] = encode_hash(&hash);
    let forged = format!("{}\n", lines.join("\n"));
    let out = check("forged.txt", &forged, &key_arg);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(text(&out.stderr).contains("does not hold"), "{}", said(&out));

    // Cut short.
    let out = check("short.txt", &proof[..proof.len() / 2], &key_arg);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(!text(&out.stderr).is_empty());

    // Checked with another key of the same name.
    let wrong = SignerKey::from_seed(&origin, ED25519, [3; 32])
        .unwrap()
        .verifier()
        .to_string();
    let out = check("proof.txt", &proof, &wrong);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(text(&out.stderr).contains("signature"), "{}", said(&out));
}
