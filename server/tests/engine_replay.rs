//! No engine event is lost while berth is down: berth is killed (SIGKILL)
//! while containers start and stop, and once it is back its log holds every
//! engine event of that window, each once, marked replayed, with the
//! engine's own time, exactly as `docker events --since --until` lists them.
//!
//! berth runs as its own process here (the real binary), so that it can be
//! killed without a chance to flush or say goodbye.
//!
//! Not covered: catching up after berth loses the engine while it keeps
//! running. That takes restarting dockerd (the engine then forgets its
//! events, so the expected result is a `host.events_gap`), which other
//! tests on this machine cannot tolerate; `engine_restart.rs` does it (an
//! ignored test, run as root by `./dev.sh test`).

mod common;

use common::docker::{IMAGE, docker};
use common::{ADMIN, PASSWORD, add_admin, assert_engine_running, text, until};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `berth serve` on a free loopback port, killed when dropped.
struct Berth {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Berth {
    async fn start(dir: &Path, log: &str) -> Berth {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join(log)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir)
            .env_remove("BERTH_DATA_DIR")
            .env_remove("BERTH_LISTEN")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let berth = Berth {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client,
        };
        let signed_in = async || {
            let body = serde_json::json!({ "name": ADMIN, "password": PASSWORD });
            let resp = berth.client.post(berth.url("/api/v1/session")).json(&body).send().await;
            resp.is_ok_and(|r| r.status() == 200).then_some(())
        };
        until("berth answers and the admin is signed in", 30, signed_in).await;
        until("berth is connected to the engine", 30, async || {
            (berth.get("/api/v1/hosts/local").await["status"]["reachable"] == true).then_some(())
        })
        .await;
        berth
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// Every event of host `local` matching `query`, newest first.
    async fn events(&self, query: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before = String::new();
        loop {
            let page = self
                .get(&format!("/api/v1/events?host=local&limit=500&{query}{before}"))
                .await;
            all.extend(page["events"].as_array().unwrap().iter().cloned());
            match page["next_before"].as_u64() {
                Some(seq) => before = format!("&before={seq}"),
                None => return all,
            }
        }
    }

    /// The engine's events as berth recorded them.
    async fn engine_events(&self) -> Vec<Value> {
        let all = self.events("").await;
        let engine = |e: &&Value| e["actor"]["kind"] == "system" && e["actor"]["name"] == "engine";
        all.iter().filter(engine).cloned().collect()
    }

    /// SIGKILL, by the child's pid.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The containers a test started, removed (by id) when it ends, pass or fail.
#[derive(Default)]
struct Started(Vec<String>);

impl Started {
    fn run(&mut self, label: &str, command: &[&str]) -> String {
        let id = docker(&[&["run", "-d", "--label", label, IMAGE], command].concat());
        self.0.push(id.clone());
        id
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("docker").args(["rm", "-f"]).args(&self.0).output();
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// As the engine's CLI takes a time: `seconds.nanoseconds`.
fn engine_time(ns: i64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// What tells engine events apart: engine time, kind (`type.action`, the
/// action up to any ':'), actor id.
type Key = (i64, String, String);

/// `docker events` between two times, as keys.
fn engine_says(since: i64, until: i64, filter: &[&str]) -> Vec<Key> {
    let out = Command::new("docker")
        .args(["events", "--since", &engine_time(since), "--until", &engine_time(until)])
        .args(["--format", "{{json .}}"])
        .args(filter)
        .output()
        .unwrap();
    assert!(out.status.success(), "docker events: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|line| {
            let m: Value = serde_json::from_str(line).unwrap();
            let action = m["Action"].as_str().unwrap();
            let verb = action.split(':').next().unwrap().trim();
            let kind = format!("{}.{verb}", m["Type"].as_str().unwrap());
            (
                m["timeNano"].as_i64().unwrap(),
                kind,
                m["Actor"]["ID"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn key(e: &Value) -> Key {
    let id = e["details"]["id"].as_str().unwrap_or_default().to_string();
    let time = e["details"]["engine_time_ns"]
        .as_i64()
        .expect("an engine event has its engine time");
    (time, e["kind"].as_str().unwrap().to_string(), id)
}

/// How often each key occurs.
fn counts<'a>(keys: impl IntoIterator<Item = &'a Key>) -> HashMap<&'a Key, usize> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_default() += 1;
    }
    out
}

/// The tests in this file each flood or watch the same engine's memory:
/// one at a time.
static ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh berth that has recorded, live, one container with `label`
/// starting and exiting, so that it knows where it left off.
async fn berth_following(dir: &Path, started: &mut Started, label: &str) -> Berth {
    add_admin(dir);
    let berth = Berth::start(dir, "first.log").await;
    let before = started.run(label, &["true"]);
    docker(&["wait", &before]);
    until("berth has recorded the first container's exit", 15, async || {
        let events = berth.engine_events().await;
        let exited = events
            .iter()
            .any(|e| e["kind"] == "container.die" && e["details"]["id"] == before);
        exited.then_some(())
    })
    .await;
    berth
}

fn unique_label() -> String {
    format!("berth-test-replay={}-{}", std::process::id(), now_ns())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_while_berth_was_killed_are_replayed_once_with_their_engine_time() {
    assert_engine_running();
    let _engine = ENGINE.lock().await;
    let label = unique_label();
    let dir = tempfile::tempdir().unwrap();
    let mut started = Started::default();
    let mut berth = berth_following(dir.path(), &mut started, &label).await;

    // Killed: no chance to flush or to say goodbye.
    let t0 = now_ns();
    berth.kill();
    for _ in 0..6 {
        let id = started.run(&label, &["sleep", "30"]);
        docker(&["stop", "-t", "0", &id]);
    }
    for _ in 0..4 {
        let id = started.run(&label, &["true"]);
        docker(&["wait", &id]);
    }
    // The engine stamps an event just before it publishes it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t1 = now_ns();
    let label_filter = format!("label={label}");
    let expected = engine_says(t0, t1, &["--filter", &label_filter]);
    let everything = engine_says(t0, t1, &[]);
    assert!(
        expected.len() >= 10 * 3,
        "the engine should list create, start and die of ten containers: {expected:?}"
    );

    let berth = Berth::start(dir.path(), "second.log").await;
    let ours = |e: &&Value| {
        e["kind"].as_str().unwrap().starts_with("container.")
            && started.0.iter().any(|id| e["details"]["id"] == id.as_str())
    };
    let in_window = |e: &&Value| (t0..=t1).contains(&key(e).0);
    until("berth has caught up on the window", 30, async || {
        let events = berth.engine_events().await;
        (events.iter().filter(ours).filter(in_window).count() >= expected.len()).then_some(())
    })
    .await;
    // Anything doubled would come with the rest: give it a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let recorded = berth.engine_events().await;

    // Each event of our containers in the window: once, replayed, with the engine's time.
    let window: Vec<&Value> = recorded.iter().filter(ours).filter(in_window).collect();
    let keys: Vec<Key> = window.iter().map(|e| key(e)).collect();
    assert_eq!(counts(&keys), counts(&expected), "berth's log against `docker events`");
    for e in &window {
        assert_eq!(e["details"]["replayed"], true, "not marked replayed: {e}");
        assert!(
            e["ts_ns"].as_i64().unwrap() > t1,
            "recorded at berth's time, after the window: {e}"
        );
    }
    // Every other engine event of the window too (other tests' containers,
    // networks...), each exactly once.
    let all_keys: Vec<Key> = recorded.iter().map(key).collect();
    let all = counts(&all_keys);
    for k in &everything {
        assert_eq!(all.get(k), Some(&1), "{k:?} should be in berth's log once");
    }
    // Nothing recorded live before the kill came back a second time.
    let doubled: Vec<_> = all.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "recorded twice: {doubled:?}");
    let replayed = recorded.iter().filter(|e| e["details"]["replayed"] == true).count();
    let gaps = berth.events("kind=host.events_gap").await;
    assert!(gaps.is_empty(), "the engine had every event; no gap: {gaps:?}");
    eprintln!(
        "window: {} events of this test's containers, {} in all; berth replayed {replayed}, none twice",
        expected.len(),
        everything.len()
    );
}

/// More happened while berth was down than the engine keeps (256 events):
/// berth records what the engine still has and one gap for the rest,
/// from its last record to the oldest event the engine gave back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_engine_forgot_while_berth_was_killed_is_recorded_as_a_gap() {
    assert_engine_running();
    let _engine = ENGINE.lock().await;
    let label = unique_label();
    let dir = tempfile::tempdir().unwrap();
    let mut started = Started::default();
    let mut berth = berth_following(dir.path(), &mut started, &label).await;
    let last_before = berth.engine_events().await.iter().map(|e| key(e).0).max().unwrap();
    berth.kill();
    let t0 = now_ns();
    // 150 containers created and removed: 300 events, more than the engine keeps.
    let created: Vec<String> = (0..150)
        .map(|_| docker(&["create", "--label", &label, IMAGE, "true"]))
        .collect();
    started.0.extend(created.iter().cloned());
    docker(&[&["rm"][..], &created.iter().map(String::as_str).collect::<Vec<_>>()].concat());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // What the engine still has of the window (it keeps its newest 256).
    let remembered = engine_says(t0, now_ns(), &[]);
    assert!(
        remembered.len() <= 256,
        "the engine keeps 256 events: {}",
        remembered.len()
    );

    let berth = Berth::start(dir.path(), "second.log").await;
    until("berth has recorded the gap", 30, async || {
        (!berth.events("kind=host.events_gap").await.is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let gaps = berth.events("kind=host.events_gap").await;
    assert_eq!(gaps.len(), 1, "one gap: {gaps:?}");
    let gap = &gaps[0];
    assert_eq!(gap["actor"]["kind"], "system");
    assert_eq!(gap["outcome"]["status"], "error");
    assert!(
        gap["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("no longer has its events"),
        "{gap}"
    );
    let (from, to) = (
        gap["details"]["from_ns"].as_i64().unwrap(),
        gap["details"]["to_ns"].as_i64().unwrap(),
    );
    // The last event berth recorded before the kill (others' containers may have added to it).
    assert!(
        last_before <= from && from < t0,
        "the gap starts where berth left off: {gap}"
    );

    let recorded = berth.engine_events().await;
    let replayed: Vec<Key> = recorded
        .iter()
        .filter(|e| e["details"]["replayed"] == true)
        .map(key)
        .collect();
    let oldest = replayed
        .iter()
        .map(|k| k.0)
        .min()
        .expect("berth replayed what the engine had");
    assert_eq!(to, oldest, "the gap ends at the oldest event the engine gave back");
    assert!(t0 < to, "the engine forgot the start of the window");
    let replayed_counts = counts(&replayed);
    // Whatever the engine still had of the window when berth came back is there, once.
    for k in remembered.iter().filter(|k| k.0 >= to) {
        assert_eq!(replayed_counts.get(k), Some(&1), "{k:?} should be replayed once");
    }
    assert!(
        replayed_counts.values().all(|n| *n == 1),
        "replayed twice: {replayed_counts:?}"
    );
    eprintln!(
        "300 events of this test while berth was down; the engine kept {}, berth replayed {}, gap of {} ms",
        remembered.len(),
        replayed.len(),
        (to - from) / 1_000_000
    );
}
