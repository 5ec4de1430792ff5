//! A `berth agent` that goes away while berth follows it (a real agent
//! process in front of the first engine, a real berth server with it as a
//! host; `common/agent.rs` has what the agent tests share):
//! - killed with SIGKILL: the host is unreachable within two heartbeats;
//!   what its engine did meanwhile is replayed once it is back, each event
//!   once, checked against `docker events`;
//! - frozen with SIGSTOP (its connection open, silent): unreachable within
//!   two heartbeats too, and back when it thaws.
//!
//! Needs the first engine with the test image (`./dev.sh test`).
//! The agents' logs are in their temporary directories while a test runs;
//! a failing assertion prints the one it is about.

mod common;

use common::agent::*;
use common::docker::{IMAGE, docker};
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// What tells engine events apart: engine time, kind (`type.action` up to
/// any ':'), actor id. As in engine_replay.rs.
type Key = (i64, String, String);

/// `docker events` of the first engine between two times, with `label`, as keys.
fn engine_says(since: i64, until: i64, label: &str) -> Vec<Key> {
    let time = |ns: i64| format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
    let filter = format!("label={label}");
    let out = docker(&[
        "events",
        "--since",
        &time(since),
        "--until",
        &time(until),
        "--filter",
        &filter,
        "--format",
        "{{json .}}",
    ]);
    out.lines()
        .map(|line| {
            let m: Value = serde_json::from_str(line).unwrap();
            let verb = m["Action"]
                .as_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .trim()
                .to_string();
            (
                m["timeNano"].as_i64().unwrap(),
                format!("{}.{verb}", m["Type"].as_str().unwrap()),
                m["Actor"]["ID"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn key(e: &Value) -> Key {
    (
        e["details"]["engine_time_ns"]
            .as_i64()
            .expect("an engine event has its engine time"),
        e["kind"].as_str().unwrap().to_string(),
        e["details"]["id"].as_str().unwrap_or_default().to_string(),
    )
}

fn counts(keys: &[Key]) -> HashMap<&Key, usize> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_default() += 1;
    }
    out
}

/// Containers this test started, removed by id when it ends, pass or fail.
#[derive(Default)]
struct Started(Vec<String>);

impl Drop for Started {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f"])
                .args(&self.0)
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_is_noticed_and_what_its_engine_did_meanwhile_is_replayed_once() {
    assert_engine_running();
    let label = format!("berth-test-agent-replay={}-{}", std::process::id(), now_ns());
    let mut started = Started::default();
    let agent_dir = AgentDir::init(&[]);
    let mut agent = agent_dir.start(None, &[]);
    let (_dir, server, client) = berth_with(vec![agent_dir.host("edge")]).await;
    reachable(&server, &client, "edge", 30).await;

    // berth follows the engine through the agent: one container's exit, live.
    let first_name = unique("replay-first");
    let first = docker(&["run", "-d", "--name", &first_name, "--label", &label, IMAGE, "true"]);
    started.0.push(first.clone());
    docker(&["wait", &first]);
    let query = format!("kind=container.die&host=edge&actor=system:engine&target=container:{first_name}");
    let live = recorded(&server, &client, &query).await;
    assert!(live["details"]["replayed"].is_null(), "{live}");

    // Killed: the connection drops with the process; the host is lost within two heartbeats.
    agent.kill();
    let killed = Instant::now();
    let lost = until("edge is unreachable", 2 * HEARTBEAT.as_secs() + 8, async || {
        let s = host_status(&server, &client, "edge").await;
        (s["reachable"] == false).then_some(s)
    })
    .await;
    let lost_seen = Instant::now();
    eprintln!(
        "edge unreachable {:?} after the kill: {}",
        killed.elapsed(),
        lost["error"]
    );
    let disconnect = recorded(&server, &client, "kind=host.disconnect&host=edge").await;
    assert_eq!(disconnect["outcome"]["status"], "error", "{disconnect}");

    // Meanwhile, on its engine.
    let t0 = now_ns();
    for _ in 0..3 {
        let id = docker(&["run", "-d", "--label", &label, IMAGE, "sleep", "30"]);
        started.0.push(id.clone());
        docker(&["stop", "-t", "0", &id]);
    }
    for _ in 0..2 {
        let id = docker(&["run", "-d", "--label", &label, IMAGE, "true"]);
        started.0.push(id.clone());
        docker(&["wait", &id]);
    }
    // The engine stamps an event just before it publishes it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t1 = now_ns();
    let expected = engine_says(t0, t1, &label);
    assert!(
        expected.len() >= 5 * 3,
        "create, start and die of five containers: {expected:?}"
    );

    // Back: reconnected, and the window replayed.
    let _agent = agent_dir.start(None, &[]);
    let away = lost_seen.elapsed();
    reachable(&server, &client, "edge", 40).await;
    let connects = until("the reconnect is recorded", 10, async || {
        let page = events(&server, &client, "kind=host.connect&host=edge").await;
        let connects = page["events"].as_array().unwrap().clone();
        (connects.len() == 2).then_some(connects)
    })
    .await;
    let unreachable_ms = connects[0]["details"]["unreachable_ms"].as_u64().unwrap();
    assert!(
        unreachable_ms >= away.as_millis() as u64,
        "edge was away at least {away:?}: {}",
        connects[0]
    );
    let ours = |e: &&Value| started.0.iter().any(|id| e["details"]["id"] == id.as_str());
    let in_window = |e: &&Value| (t0..=t1).contains(&key(e).0);
    let query = "host=edge&actor=system:engine";
    until("the window is replayed", 20, async || {
        let all = all_events(&server, &client, query).await;
        (all.iter().filter(ours).filter(in_window).count() >= expected.len()).then_some(())
    })
    .await;
    // Anything doubled would come with the rest: give it a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = all_events(&server, &client, query).await;
    let window: Vec<&Value> = all.iter().filter(ours).filter(in_window).collect();
    let keys: Vec<Key> = window.iter().map(|e| key(e)).collect();
    assert_eq!(
        counts(&keys),
        counts(&expected),
        "berth's log of edge against `docker events`"
    );
    for e in &window {
        assert_eq!(e["details"]["replayed"], true, "not marked replayed: {e}");
    }
    let all_keys: Vec<Key> = all.iter().map(key).collect();
    let doubled: Vec<_> = counts(&all_keys).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(doubled.is_empty(), "recorded twice on edge: {doubled:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_agent_is_unreachable_within_two_heartbeats_and_back_when_it_thaws() {
    let agent_dir = AgentDir::init(&[]);
    let agent = agent_dir.start(None, &[]);
    let (_dir, server, client) = berth_with(vec![agent_dir.host("frozen")]).await;
    reachable(&server, &client, "frozen", 30).await;

    // Stopped, not killed: its connection stays open, and only silence tells.
    agent.signal("-STOP");
    let stopped = Instant::now();
    let status = until("frozen is unreachable", 2 * HEARTBEAT.as_secs() + 8, async || {
        let s = host_status(&server, &client, "frozen").await;
        (s["reachable"] == false).then_some(s)
    })
    .await;
    eprintln!(
        "frozen unreachable {:?} after SIGSTOP: {}",
        stopped.elapsed(),
        status["error"]
    );
    let error = status["error"].as_str().unwrap();
    assert!(error.contains("stopped answering"), "{error}");
    let lost = recorded(&server, &client, "kind=host.disconnect&host=frozen").await;
    assert_eq!(lost["outcome"]["status"], "error", "{lost}");

    agent.signal("-CONT");
    // The watcher retries with backoff (its last wait may have grown to 8 s).
    reachable(&server, &client, "frozen", 40).await;
    until("the reconnect is recorded", 10, async || {
        let connects = events(&server, &client, "kind=host.connect&host=frozen").await;
        (connects["events"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;
    server.stop().await.unwrap();
}
