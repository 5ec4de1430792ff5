//! Attacks on the event log by someone who can write berth's files while it
//! is stopped, each caught by `berth monitor` holding an earlier checkpoint
//! (the real binary, from outside, with only the log's public key):
//!
//! - the newest events deleted with redb directly;
//! - the tail rewritten with every hash recomputed, and the traces of the
//!   old tail (the kept checkpoint, the index and tree heads) wiped, so that
//!   berth's own checks inside the file pass;
//! - an old backup restored.
//!
//! And what berth does itself: it records the cut and refuses to sign a
//! checkpoint that contradicts the one it kept.

mod common;

use berth_core::events::EventLog;
use berth_core::model::{Actor, NewEvent};
use berth_core::store::Store;
use berth_core::store::tables::{EVENTS, META};
use common::*;
use redb::ReadableTable;
use std::path::Path;

struct Log {
    dir: tempfile::TempDir,
    server: Option<Server>,
    admin: reqwest::Client,
    key: String,
    state: std::path::PathBuf,
}

impl Log {
    async fn start() -> Log {
        let (dir, server) = Server::with_admin().await;
        let admin = client();
        assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
        let key = admin
            .get(server.url("/api/v1/log/key"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim()
            .to_string();
        let state = dir.path().join("monitor-elsewhere.json");
        Log {
            dir,
            server: Some(server),
            admin,
            key,
            state,
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// Some activity (each walk of the chain is an event), then a
    /// checkpoint now; returns its size.
    async fn activity_and_checkpoint(&self, n: usize) -> u64 {
        for _ in 0..n {
            let resp = self
                .admin
                .post(self.server().url("/api/v1/events/verify"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
        let resp = self
            .admin
            .post(self.server().url("/api/v1/log/checkpoint"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let note = resp.text().await.unwrap();
        note.lines().nth(1).unwrap().parse().unwrap()
    }

    /// `berth monitor` from outside: (exit code, stdout).
    async fn monitor(&self, extra: &[&str]) -> (i32, String) {
        let url = self.server().base.clone();
        let (key, state) = (self.key.clone(), self.state.to_str().unwrap().to_string());
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let mut args = vec![
                "monitor",
                url.as_str(),
                "--key",
                key.as_str(),
                "--state",
                state.as_str(),
            ];
            args.extend(extra.iter().map(String::as_str));
            let out = berth(&args, "");
            let stdout = text(&out.stdout);
            eprintln!("monitor said:\n{stdout}{}", text(&out.stderr));
            (out.status.code().unwrap_or(-1), stdout)
        })
        .await
        .unwrap()
    }

    async fn stop(&mut self) {
        self.server.take().unwrap().stop().await.unwrap();
    }

    async fn restart(&mut self) {
        self.server = Some(Server::start(self.dir.path()).await);
        assert_eq!(sign_in(self.server(), &self.admin, ADMIN, PASSWORD).await.status(), 200);
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("berth.redb")
    }
}

/// The seq of the last event in the file.
fn head(path: &Path) -> u64 {
    use redb::ReadableDatabase;
    let store = Store::open(path).unwrap();
    let tx = store.db().begin_read().unwrap();
    let events = tx.open_table(EVENTS).unwrap();
    events.last().unwrap().map_or(0, |(k, _)| k.value())
}

/// Deletes the events after `keep` with redb directly.
fn cut(path: &Path, keep: u64) {
    let store = Store::open(path).unwrap();
    let tx = store.db().begin_write().unwrap();
    tx.open_table(EVENTS).unwrap().retain(|seq, _| seq <= keep).unwrap();
    tx.commit().unwrap();
}

/// What a careful attacker also does: the heads berth keeps in META follow
/// the cut, and the kept checkpoint goes, so berth notices nothing itself.
fn wipe_traces(dir: &Path, keep: u64) {
    let store = Store::open(&dir.join("berth.redb")).unwrap();
    let tx = store.db().begin_write().unwrap();
    {
        let mut meta = tx.open_table(META).unwrap();
        meta.insert("indexed_head", keep.to_string().as_str()).unwrap();
        meta.insert("tree_size", keep.to_string().as_str()).unwrap();
    }
    tx.commit().unwrap();
    std::fs::remove_file(dir.join("log-checkpoint")).unwrap();
}

fn says(out: &str, words: &[&str]) -> bool {
    let lower = out.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_events_is_caught() {
    let mut log = Log::start().await;
    log.activity_and_checkpoint(5).await;
    assert_eq!(log.monitor(&[]).await.0, 0);
    let signed = log.activity_and_checkpoint(10).await;
    assert_eq!(log.monitor(&[]).await.0, 0);
    log.stop().await;

    // A naive attacker deletes the newest events and nothing else.
    let head = head(&log.db());
    cut(&log.db(), signed - 8);
    log.restart().await;
    // berth noticed and says so in the log, and refuses to sign over the cut.
    let page = events(log.server(), &log.admin, "kind=log.truncated").await;
    let truncated = &page["events"][0];
    assert_eq!(truncated["details"]["first"], signed - 7, "{page}");
    assert_eq!(truncated["details"]["last"], head);
    let resp = log
        .admin
        .post(log.server().url("/api/v1/log/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let refusal: serde_json::Value = resp.json().await.unwrap();
    assert!(
        says(refusal["error"].as_str().unwrap(), &["removed from its end"]),
        "{refusal}"
    );
    // The monitor: berth still serves the checkpoint it signed as it
    // stopped, but can no longer prove that it extends what the monitor
    // holds, because the events it covered are gone.
    let (code, out) = log.monitor(&[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(says(&out, &["cannot prove"]), "{out}");
    log.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_tail_with_every_hash_recomputed_is_caught() {
    let mut log = Log::start().await;
    let signed = log.activity_and_checkpoint(12).await;
    assert_eq!(log.monitor(&[]).await.0, 0);
    log.stop().await;

    // Cut the last events and write others in their place through berth's
    // own writer: every chain hash and tree node is recomputed.
    let keep = signed - 6;
    cut(&log.db(), keep);
    wipe_traces(log.dir.path(), keep);
    {
        let store = Store::open(&log.db()).unwrap();
        let events = EventLog::open(&store).unwrap();
        for i in 0..20 {
            events.record(NewEvent::new("auth.login.ok", Actor::user(format!("nobody-{i}"))));
        }
        events.close().await.unwrap();
    }
    // Inside the file all is well: the chain and the tree agree.
    let dir = log.dir.path().to_str().unwrap().to_string();
    let verify = tokio::task::spawn_blocking(move || berth(&["events", "verify", "--data-dir", &dir], ""))
        .await
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stdout));

    log.restart().await;
    log.activity_and_checkpoint(1).await;
    let (code, out) = log.monitor(&[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(says(&out, &["fork", "not consistent", "inconsistent"]), "{out}");
    // The kept state is the honest one: asking again fails again.
    assert_eq!(log.monitor(&[]).await.0, 1);
    log.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_backup_restored_is_caught() {
    let mut log = Log::start().await;
    log.activity_and_checkpoint(3).await;
    log.stop().await;
    let backup = tempfile::tempdir().unwrap();
    for file in ["berth.redb", "log-key", "log-checkpoint"] {
        std::fs::copy(log.dir.path().join(file), backup.path().join(file)).unwrap();
    }
    log.restart().await;
    log.activity_and_checkpoint(15).await;
    assert_eq!(log.monitor(&[]).await.0, 0);
    log.stop().await;

    for file in ["berth.redb", "log-checkpoint"] {
        std::fs::copy(backup.path().join(file), log.dir.path().join(file)).unwrap();
    }
    log.restart().await;
    // The restored files agree with each other, so berth signs again...
    log.activity_and_checkpoint(1).await;
    // ...but not with what the monitor saw.
    let (code, out) = log.monitor(&[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(says(&out, &["went back", "fork", "not consistent", "smaller"]), "{out}");
    log.stop().await;
}
