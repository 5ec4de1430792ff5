//! Stored container logs against a real server, engine and redb file:
//! - a collected key's lines from two lives of its container (removed and
//!   re-created under the same name), with berth restarted while the
//!   second one writes, are all found, once each, newest first;
//! - a key over its own budget loses its oldest lines, and every line is
//!   either stored or counted in a recorded `logs.dropped`;
//! - bad searches and settings get a 400 and change nothing;
//! - reading needs the logs right on the host, switching collection the
//!   manage level; each refusal is recorded once.
//!
//! Needs a running engine and the test image `berth-test/busybox:1`
//! (`./dev.sh test` provides both).

mod common;

use common::docker::TestContainer;
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn collect(server: &Server, client: &reqwest::Client, body: Value) -> (u16, Value) {
    let resp = client
        .put(server.url("/api/v1/hosts/local/logs/collect"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn search(server: &Server, client: &reqwest::Client, query: &str) -> (u16, Value) {
    let resp = client
        .get(server.url(&format!("/api/v1/logs/stored?{query}")))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// The texts of every stored line of `key`, newest first, paging back.
async fn all_lines(server: &Server, client: &reqwest::Client, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = search(server, client, &format!("host=local&key={key}&limit=50{before}")).await;
        assert_eq!(status, 200, "{page}");
        out.extend(page["matches"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_str() {
            Some(c) => before = format!("&before={c}"),
            None => return out,
        }
    }
}

/// Polls until a search for `text` under `key` finds it (or 20 s pass).
async fn wait_for_line(server: &Server, client: &reqwest::Client, key: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, page) = search(server, client, &format!("host=local&key={key}&search={text}&case=true")).await;
        assert_eq!(status, 200, "{page}");
        let found = page["matches"].as_array().unwrap().iter().any(|m| m["text"] == text);
        if found {
            return;
        }
        assert!(Instant::now() < deadline, "'{text}' was never stored under {key}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A shell loop that prints `{prefix} {i}` for i in 1..=n, `pause`
/// seconds apart (none: as fast as it can).
fn printer(prefix: &str, n: u32, pause: Option<&str>) -> Vec<String> {
    let sleep = pause.map(|p| format!(" sleep {p};")).unwrap_or_default();
    vec![
        "sh".into(),
        "-c".into(),
        format!("i=1; while [ $i -le {n} ]; do echo \"{prefix} $i\"; i=$((i+1));{sleep} done"),
    ]
}

fn run(name: &str, command: &[String]) -> TestContainer {
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    TestContainer::run(name, &[], &command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lives_of_a_key_and_a_restart_of_berth_lose_and_repeat_nothing() {
    assert_engine_running();
    let name = "berth-stored-lives";
    let key = format!("name:{name}");
    let dir = tempfile::tempdir().unwrap();
    add_admin(dir.path());
    let server = Server::start(dir.path()).await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let (status, body) = collect(&server, &admin, json!({ "key": key, "collect": true })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["collect"], true);

    // First life: 30 lines, then it exits.
    let first = run(name, &printer("first life", 30, Some("0.02")));
    wait_for_line(&server, &admin, &key, "first life 30").await;
    drop(first);

    // Second life, same name: 40 lines over about 4 s; berth restarts meanwhile.
    let _second = run(name, &printer("second life", 40, Some("0.1")));
    wait_for_line(&server, &admin, &key, "second life 5").await;
    server.stop().await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = Server::start(dir.path()).await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    wait_for_line(&server, &admin, &key, "second life 40").await;

    let lines = all_lines(&server, &admin, &key).await;
    let texts: Vec<&str> = lines.iter().map(|m| m["text"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = (1..=30).map(|i| format!("first life {i}")).collect();
    expected.extend((1..=40).map(|i| format!("second life {i}")));
    expected.reverse();
    assert_eq!(texts, expected, "every line of both lives, once each, newest first");
    let times: Vec<i64> = lines.iter().map(|m| m["ts_ns"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    let containers: std::collections::BTreeSet<&str> = lines.iter().map(|m| m["container"].as_str().unwrap()).collect();
    assert_eq!(containers.len(), 2, "two lives, two containers");
    assert!(lines.iter().all(|m| m["name"] == name && m["stream"] == "stdout"));

    // The page's list says how far back the key reaches.
    let keys = get_json(&server, &admin, "/api/v1/logs/stored/keys?host=local").await;
    let mine = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == key.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{key} not in {keys}"));
    assert_eq!(mine["lines"], 70, "{mine}");
    assert_eq!(mine["oldest_ns"], *times.last().unwrap());
    assert_eq!(mine["newest_ns"], times[0]);
    assert!(mine["collect"].as_bool().unwrap());

    // A regex, newest first, limited; an inverted search; a time range.
    let (_, page) = search(
        &server,
        &admin,
        &format!("host=local&key={key}&regex=true&search=life%20[12]0$&limit=2"),
    )
    .await;
    let texts: Vec<&str> = page["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["second life 20", "second life 10"]);
    assert!(page["next_before"].is_string(), "a full page says where to go on");
    let (_, page) = search(
        &server,
        &admin,
        &format!("host=local&key={key}&search=second&invert=true&limit=100"),
    )
    .await;
    assert_eq!(page["matches"].as_array().unwrap().len(), 30);
    let since = times[35]; // "second life 5"
    let until = times[5]; // "second life 35"
    let (_, page) = search(
        &server,
        &admin,
        &format!(
            "host=local&key={key}&since={}.{:09}&until={}.{:09}",
            since / 1_000_000_000,
            since % 1_000_000_000,
            until / 1_000_000_000,
            until % 1_000_000_000
        ),
    )
    .await;
    assert_eq!(page["matches"].as_array().unwrap().len(), 31, "{page}");

    // Recorded: switching collection on.
    let recorded = events(&server, &admin, "kind=logs.collect").await;
    let e = &recorded["events"][0];
    assert_eq!(e["outcome"]["status"], "ok", "{e}");
    assert_eq!(e["details"]["key"], key.as_str());
    assert_eq!(e["target"], format!("container:{name}"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_budget_drops_its_oldest_lines_and_records_each_drop() {
    assert_engine_running();
    let name = "berth-stored-budget";
    let key = format!("name:{name}");
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let budget = 64 * 1024;
    let (status, body) = collect(
        &server,
        &admin,
        json!({ "key": key, "collect": true, "budget_bytes": budget }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["budget_bytes"], budget);
    assert_eq!(body["own_budget"], true);

    // 2,000 lines of about 100 bytes: about four times the budget.
    let pad = "x".repeat(80);
    let _c = run(name, &printer(&format!("budget {pad}"), 2000, None));
    let last = format!("budget {pad} 2000");
    wait_for_line(&server, &admin, &key, &last).await;

    let keys = get_json(&server, &admin, "/api/v1/logs/stored/keys?host=local").await;
    let mine = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == key.as_str())
        .cloned()
        .unwrap();
    let bytes = mine["bytes"].as_u64().unwrap();
    let kept = mine["lines"].as_u64().unwrap();
    assert!(bytes <= budget, "{bytes} bytes kept under a budget of {budget}: {mine}");
    assert!(kept > 0 && kept < 2000, "{mine}");

    // Each drop is one event per round, not per line, and together with
    // what is kept they account for every line (the events are recorded
    // just after the round that dropped).
    let deadline = Instant::now() + Duration::from_secs(10);
    let (drops, lines_dropped) = loop {
        let dropped = events(&server, &admin, "kind=logs.dropped&limit=1000").await;
        let drops = dropped["events"].as_array().unwrap().clone();
        let mut lines_dropped = 0;
        for d in &drops {
            assert_eq!(d["host"], "local", "{d}");
            assert_eq!(d["details"]["key"], key.as_str(), "{d}");
            assert_eq!(d["details"]["over_budget"], "key", "{d}");
            assert!(d["details"]["from_ns"].as_i64() <= d["details"]["to_ns"].as_i64());
            lines_dropped += d["details"]["lines"].as_u64().unwrap();
        }
        if kept + lines_dropped == 2000 || Instant::now() > deadline {
            break (drops, lines_dropped);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!drops.is_empty(), "no logs.dropped event");
    println!(
        "budget {budget}: {kept} lines kept in {bytes} bytes; {lines_dropped} dropped, recorded in {} events",
        drops.len()
    );
    assert!(
        drops.len() as u64 * 10 < lines_dropped,
        "{} events for {lines_dropped} lines",
        drops.len()
    );
    assert_eq!(kept + lines_dropped, 2000, "every line is kept or its drop recorded");
    // The oldest went first: what is left is the newest, without a hole.
    let lines = all_lines(&server, &admin, &key).await;
    let numbers: Vec<u64> = lines
        .iter()
        .map(|m| m["text"].as_str().unwrap().rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    let expected: Vec<u64> = (lines_dropped + 1..=2000).rev().collect();
    assert_eq!(numbers, expected);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_searches_and_settings_get_a_400_and_change_nothing() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let (status, _) = collect(
        &server,
        &admin,
        json!({ "key": "name:berth-stored-bad", "collect": true }),
    )
    .await;
    assert_eq!(status, 200);
    // The keys with settings (the engine's other containers come and go).
    let settings = |keys: Value| -> Vec<Value> {
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["since_ns"].is_i64())
            .cloned()
            .collect()
    };
    let keys_before = settings(get_json(&server, &admin, "/api/v1/logs/stored/keys").await);
    assert_eq!(keys_before.len(), 1);
    let long = "x".repeat(600);
    for (query, says) in [
        ("search=(unclosed&regex=true", "not a valid regular expression"),
        ("search=(a{1000}){1000}&regex=true", "too complex"),
        (&format!("search={long}")[..], "at most 512"),
        (
            "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "starts after it ends",
        ),
        ("limit=0", "limit must be"),
        ("limit=100000", "limit must be"),
        ("before=somewhere", "before must be"),
        ("key=name:db", "give the host"),
        ("host=local&key=db", "not an expectation key"),
        ("since=yesterday", "since must be a time"),
        ("regex=maybe", "regex must be"),
    ] {
        let (status, body) = search(&server, &admin, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["kind"], "invalid", "{query}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
    let head = events(&server, &admin, "limit=1").await["head"].as_u64().unwrap();
    for (body, says) in [
        (json!({ "key": "db", "collect": true }), "not an expectation key"),
        (
            json!({ "key": "name:x", "collect": true, "budget_bytes": 1024 }),
            "at least",
        ),
        (
            json!({ "key": "name:x", "collect": true, "budget_bytes": 1u64 << 50 }),
            "at most the total",
        ),
    ] {
        let (status, answer) = collect(&server, &admin, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }
    let (status, _) = collect(&server, &admin, json!({ "key": "name:x" })).await;
    assert_eq!(status, 400, "a body without collect");
    let resp = admin
        .put(server.url("/api/v1/hosts/nowhere/logs/collect"))
        .json(&json!({ "key": "name:x", "collect": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let keys_after = settings(get_json(&server, &admin, "/api/v1/logs/stored/keys").await);
    assert_eq!(keys_after, keys_before, "nothing changed");
    // Each refused setting is recorded with its error (the malformed body never reached core).
    let recorded = events(&server, &admin, "kind=logs.collect&limit=100").await;
    let errors = recorded["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() > head && e["outcome"]["status"] == "error")
        .count();
    assert_eq!(errors, 4, "{recorded}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_needs_the_logs_right_and_each_refusal_is_recorded_once() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let viewer = plain_user(&server, &admin, "viewer", PASSWORD).await;
    let reader = plain_user(&server, &admin, "reader", PASSWORD).await;
    for (user, grant) in [
        (&viewer, json!([{ "host": "local", "level": "view" }])),
        (&reader, json!([{ "host": "local", "level": "view", "logs": true }])),
    ] {
        let id = get_json(&server, user, "/api/v1/me").await["user"]["id"]
            .as_u64()
            .unwrap();
        let r = admin
            .put(server.url(&format!("/api/v1/users/{id}/grants")))
            .json(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let denied = |query: &'static str| {
        let (server, admin) = (&server, &admin);
        async move {
            let page = events(server, admin, &format!("outcome=denied&{query}&limit=100")).await;
            page["events"].as_array().unwrap().len()
        }
    };
    for query in ["host=local&search=x", "search=x"] {
        let before = denied("kind=container.logs&actor=viewer").await;
        let (status, body) = search(&server, &viewer, query).await;
        assert_eq!(status, 403, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().contains("logs right"), "{body}");
        assert_eq!(
            denied("kind=container.logs&actor=viewer").await,
            before + 1,
            "{query}: recorded once"
        );
    }
    let resp = viewer.get(server.url("/api/v1/logs/stored/keys")).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    // The logs right reads, but switching collection needs manage.
    let (status, body) = search(&server, &reader, "host=local").await;
    assert_eq!(status, 200, "{body}");
    let keys = get_json(&server, &reader, "/api/v1/logs/stored/keys").await;
    assert_eq!(keys["hosts"][0]["may_collect"], false, "{keys}");
    let (status, _) = collect(&server, &reader, json!({ "key": "name:x", "collect": true })).await;
    assert_eq!(status, 403);
    assert_eq!(denied("kind=logs.collect&actor=reader").await, 1);
    server.stop().await.unwrap();
}
