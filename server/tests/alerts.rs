//! Alerts against the real engine, a real server and real receivers on
//! loopback: a killed container is down at the receiver (the webhook's
//! signature checked there) and a restart of berth neither tells it again
//! nor forgets it; a restart loop and a log pattern fire; a receiver that is down gets
//! retries, each recorded, and one delivery once it is back; rules and
//! channels refuse bad input, and no secret reaches a view or the log.
//! (CPU rules: `alerts_cpu.rs`.) Needs a running engine and the test
//! image (`./dev.sh test`).

mod common;

use common::alerting::*;
use common::docker::{TestContainer, docker};
use common::receivers::HttpReceiver;
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_container_is_down_at_the_receiver_and_a_restart_of_berth_neither_tells_again_nor_forgets() {
    let receiver = HttpReceiver::start().await;
    let (dir, server, admin) = server().await;
    let name = unique("down");
    let _c = TestContainer::run(&name, &[], &["sleep", "3600"]);
    wait_for_state(&server, &admin, &name, "running").await;
    let channel = webhook(&server, &admin, &receiver.url("/hook")).await;
    let id = rule(
        &server,
        &admin,
        json!({ "name": "web down", "condition": { "kind": "container_down" }, "severity": "critical",
                "scope": { "host": "local", "key": format!("name:{name}") }, "channels": [channel] }),
    )
    .await;

    let killed = Instant::now();
    docker(&["kill", &name]);
    let got = received(&receiver, 1, 30).await;
    let latency = killed.elapsed();
    println!("alerts: container killed -> notification at the receiver: {latency:?}");
    let n = signed(&got[0]);
    assert_eq!(n["state"], "firing", "{n}");
    assert_eq!(n["rule"], id);
    assert_eq!(n["rule_name"], "web down");
    assert_eq!(n["severity"], "critical");
    assert_eq!(n["host"], "local");
    assert_eq!(n["subject"], format!("container name:{name}"));
    assert!(n["summary"].as_str().unwrap().contains("exited (137)"), "{n}");
    assert_eq!(got[0].header("x-berth-delivery"), n["id"].as_str().unwrap());
    let fired = until("alert.fire on record", 10, async || {
        let page = events(&server, &admin, &format!("kind=alert.fire&target=container:{name}")).await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(fired["details"]["rule"], id, "{fired}");
    let delivered = until("alert.deliver on record", 10, async || {
        let page = events(&server, &admin, "kind=alert.deliver").await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(delivered["outcome"]["status"], "ok", "{delivered}");
    let now = alerts_now(&server, &admin).await;
    let firing = now.iter().find(|a| a["rule"] == id).expect("listed as firing");
    assert_eq!(firing["state"], "firing");
    let fired_ms = firing["fired_ms"].clone();
    println!(
        "alerts: fired -> delivered and answered (berth's clock): {} ms",
        delivered["ts_ns"].as_i64().unwrap() / 1_000_000 - fired_ms.as_i64().unwrap()
    );

    // berth restarts while it fires: nobody is told again, it is still listed.
    server.stop().await.unwrap();
    let server = Server::start_with(dir.path(), |c| {
        c.stats_interval_secs = 1;
        c.alerts.retry_first_secs = 1;
    })
    .await;
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let again = until("listed again after the restart", 15, async || {
        alerts_now(&server, &admin).await.into_iter().find(|a| a["rule"] == id)
    })
    .await;
    assert_eq!(again["fired_ms"], fired_ms, "the same alert: {again}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told: Vec<Value> = receiver.requests().iter().map(|r| r.json()).collect();
    assert_eq!(told.len(), 1, "told once across the restart: {told:?}");

    // Back up: resolved, told once.
    docker(&["start", &name]);
    let got = received(&receiver, 2, 20).await;
    let n = signed(&got[1]);
    assert_eq!(n["state"], "resolved", "{n}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.requests().len(), 2, "{:?}", receiver.requests());
    let page = events(&server, &admin, &format!("kind=alert.fire&target=container:{name}")).await;
    let mine: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["rule"] == id)
        .collect();
    assert_eq!(mine.len(), 1, "fired once: {page}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loop_and_a_log_pattern_fire() {
    let receiver = HttpReceiver::start().await;
    let (_dir, server, admin) = server().await;
    let looping = unique("loop");
    let talker = unique("talker");
    let channel = webhook(&server, &admin, &receiver.url("/loop")).await;
    let loop_rule = rule(
        &server,
        &admin,
        json!({ "name": "crash loop", "condition": { "kind": "restart_loop", "restarts": 2, "within_secs": 120 },
                "scope": { "key": format!("name:{looping}") }, "channels": [channel] }),
    )
    .await;
    let log_rule = rule(
        &server,
        &admin,
        json!({ "name": "boom in the logs",
                "condition": { "kind": "log_pattern", "pattern": "^ERROR .*boom", "regex": true, "count": 2, "within_secs": 60 },
                "scope": { "key": format!("name:{talker}") }, "channels": [channel] }),
    )
    .await;
    let _t = TestContainer::run(
        &talker,
        &[],
        &[
            "sh",
            "-c",
            "sleep 2; while :; do echo 'INFO fine'; echo 'ERROR it went boom'; sleep 1; done",
        ],
    );
    let _l = TestContainer::run(&looping, &["--restart", "always"], &["sh", "-c", "sleep 1; exit 3"]);

    for (id, what) in [(loop_rule, "the restart loop"), (log_rule, "the log pattern")] {
        let got = until(&format!("{what} fires"), 40, async || {
            receiver.requests().into_iter().find(|r| r.json()["rule"] == id)
        })
        .await;
        let n = signed(&got);
        assert_eq!(n["state"], "firing", "{n}");
        println!("{what}: {}", n["summary"]);
    }
    // Removed by its guard; `rm -f` takes a container between two restarts,
    // where `update --restart no` is refused ("container not running").
    drop(_l);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_retries_each_recorded_then_one_delivery() {
    let addr = HttpReceiver::down_address().await;
    let (_dir, server, admin) = server().await;
    let name = unique("retry");
    let _c = TestContainer::run(&name, &[], &["sleep", "3600"]);
    wait_for_state(&server, &admin, &name, "running").await;
    let channel = webhook(&server, &admin, &format!("http://{addr}/late")).await;
    rule(
        &server,
        &admin,
        json!({ "name": "down", "condition": { "kind": "container_down" },
                "scope": { "key": format!("name:{name}") }, "channels": [channel] }),
    )
    .await;
    docker(&["kill", &name]);
    let failures = until("two failed attempts on record", 30, async || {
        let page = events(&server, &admin, "kind=alert.deliver").await;
        let list = page["events"].as_array().unwrap().clone();
        (list.len() >= 2).then_some(list)
    })
    .await;
    assert!(
        failures.iter().all(|e| e["outcome"]["status"] == "error"),
        "{failures:?}"
    );
    let text = serde_json::to_string(&failures).unwrap();
    assert!(!text.contains(SECRET), "no secret in the record");

    let receiver = HttpReceiver::start_on(addr).await;
    let got = received(&receiver, 1, 30).await;
    assert_eq!(signed(&got[0])["state"], "firing");
    let ok = until("the delivery on record", 10, async || {
        let page = events(&server, &admin, "kind=alert.deliver").await;
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["outcome"]["status"] == "ok")
            .cloned()
    })
    .await;
    assert!(ok["details"]["attempt"].as_u64().unwrap() >= 3, "{ok}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.requests().len(), 1, "delivered once");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_and_channels_are_refused_saying_why_and_secrets_stay_hidden() {
    let (_dir, server, admin) = server().await;
    let rules = get_json(&server, &admin, "/api/v1/alerts/rules").await;
    let names: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Disk over 90%",
            "Container down",
            "Container unhealthy",
            "Host unreachable"
        ],
        "the rules berth ships with"
    );
    let bad_rules = [
        (
            json!({ "name": "x", "condition": { "kind": "host_cpu", "above": 80, "recover_below": 90 } }),
            "recovery",
        ),
        (
            json!({ "name": "x", "condition": { "kind": "disk", "above": 120, "recover_below": 1 } }),
            "from 0 to 100",
        ),
        (
            json!({ "name": "x", "condition": { "kind": "log_pattern", "pattern": "(", "regex": true, "count": 1, "within_secs": 60 },
                 "scope": { "key": "name:web" } }),
            "regex",
        ),
        (
            json!({ "name": "x", "condition": { "kind": "unhealthy" }, "channels": [424242] }),
            "no channel",
        ),
        (
            json!({ "name": "x", "condition": { "kind": "unhealthy" }, "repeat_secs": 5 }),
            "repeat",
        ),
        (
            json!({ "name": "x", "condition": { "kind": "warp_drive" } }),
            "expected JSON",
        ),
        (
            json!({ "name": "x", "condition": { "kind": "unhealthy" }, "silences": [{ "kind": "weekly", "days": [9], "start_min": 0, "minutes": 60 }] }),
            "Monday",
        ),
    ];
    for (body, why) in bad_rules {
        let (status, answer) = post(&server, &admin, "/api/v1/alerts/rules", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer["error"].as_str().unwrap().contains(why), "{body} -> {answer}");
    }
    let own = server.url("/api/v1/alerts");
    let bad_channels = [
        (
            json!({ "name": "me", "target": { "kind": "webhook", "url": own, "secret": SECRET } }),
            "berth itself",
        ),
        (
            json!({ "name": "x", "target": { "kind": "webhook", "url": "ftp://example.com", "secret": SECRET } }),
            "http",
        ),
        (
            json!({ "name": "x", "target": { "kind": "webhook", "url": "https://example.com", "secret": "short" } }),
            "16",
        ),
        (
            json!({ "name": "x", "target": { "kind": "email", "host": "smtp.example.com", "port": 587,
                  "from": "berth@example.com", "to": ["ops@example.com\r\nBcc: evil@example.com"] } }),
            "mail address",
        ),
    ];
    for (body, why) in bad_channels {
        let (status, answer) = post(&server, &admin, "/api/v1/alerts/channels", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer["error"].as_str().unwrap().contains(why), "{body} -> {answer}");
    }

    // A secret is shown masked, and kept when the mask is sent back.
    let token = "gotify-token-that-is-secret";
    let (status, made) = post(
        &server,
        &admin,
        "/api/v1/alerts/channels",
        json!({ "name": "phone", "target": { "kind": "gotify", "server": "https://gotify.example.com", "token": token } }),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["target"]["token"], berth_core::model::MASK, "{made}");
    let id = made["id"].as_u64().unwrap();
    let mut edit = made.clone();
    edit["name"] = json!("phone 2");
    let resp = admin
        .put(server.url(&format!("/api/v1/alerts/channels/{id}")))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed = get_json(&server, &admin, "/api/v1/alerts/channels").await;
    let text = listed.to_string();
    assert!(text.contains("phone 2") && !text.contains(token), "{listed}");
    let log = get_json(&server, &admin, "/api/v1/events?kind=alert.*&limit=200").await;
    assert!(!log.to_string().contains(token), "no secret in the log");
    assert!(log.to_string().contains("alert.channel_update"), "{log}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_container_and_one_killed_out_of_memory_fire() {
    let receiver = HttpReceiver::start().await;
    let (_dir, server, admin) = server().await;
    let sick = unique("sick");
    let hungry = unique("hungry");
    let channel = webhook(&server, &admin, &receiver.url("/health")).await;
    let unhealthy = rule(
        &server,
        &admin,
        json!({ "name": "sick", "condition": { "kind": "unhealthy" },
                "scope": { "key": format!("name:{sick}") }, "channels": [channel] }),
    )
    .await;
    let oom = rule(
        &server,
        &admin,
        json!({ "name": "out of memory", "condition": { "kind": "oom_killed", "within_secs": 600 },
                "scope": { "key": format!("name:{hungry}") }, "channels": [channel] }),
    )
    .await;
    let _s = TestContainer::run(
        &sick,
        &[
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        &["sleep", "3600"],
    );
    // 100 MB into a shell variable under a 16 MiB limit: the kernel kills it.
    let _h = TestContainer::run(
        &hungry,
        &["--memory", "16m", "--memory-swap", "16m"],
        &["sh", "-c", "sleep 2; x=$(yes | head -c 100000000); sleep 3600"],
    );
    for (id, what, words) in [
        (unhealthy, "unhealthy", "unhealthy"),
        (oom, "out of memory", "out of memory"),
    ] {
        let got = until(&format!("{what} fires"), 40, async || {
            receiver.requests().into_iter().find(|r| r.json()["rule"] == id)
        })
        .await;
        let n = signed(&got);
        assert_eq!(n["state"], "firing", "{n}");
        assert!(n["summary"].as_str().unwrap().contains(words), "{n}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_goes_away_is_a_host_unreachable_alert_that_resolves_when_it_is_back() {
    let receiver = HttpReceiver::start().await;
    let agent_dir = common::agent::AgentDir::init(&[]);
    let mut agent = agent_dir.start(None, &[]);
    let (_dir, server, admin) = common::agent::berth_with(vec![agent_dir.host("edge")]).await;
    common::agent::reachable(&server, &admin, "edge", 30).await;
    let channel = webhook(&server, &admin, &receiver.url("/edge")).await;
    let id = rule(
        &server,
        &admin,
        json!({ "name": "edge away", "condition": { "kind": "host_unreachable" }, "severity": "critical",
                "scope": { "host": "edge" }, "channels": [channel] }),
    )
    .await;
    agent.kill();
    let killed = Instant::now();
    let got = until("the host is unreachable at the receiver", 40, async || {
        receiver.requests().into_iter().find(|r| r.json()["rule"] == id)
    })
    .await;
    println!(
        "alerts: agent killed -> host unreachable at the receiver: {:?}",
        killed.elapsed()
    );
    let n = signed(&got);
    assert_eq!(
        (n["state"].as_str(), n["host"].as_str()),
        (Some("firing"), Some("edge")),
        "{n}"
    );
    assert_eq!(n["subject"], "host edge");
    let _back = agent_dir.start(None, &[]);
    let got = until("resolved once the agent is back", 60, async || {
        receiver
            .requests()
            .into_iter()
            .find(|r| r.json()["rule"] == id && r.json()["state"] == "resolved")
    })
    .await;
    signed(&got);
    server.stop().await.unwrap();
}

/// The engine tells of a `die` a moment before its list shows it; a kill
/// right as berth starts following must still be seen (it once waited for
/// the next resync, 30 s on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_killed_as_berth_starts_is_down_all_the_same() {
    let name = unique("early");
    let _c = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let (_dir, server, admin) = server().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    docker(&["kill", &name]);
    let subject = format!("container name:{name}");
    until("the shipped rule finds it down", 15, async || {
        alerts_now(&server, &admin)
            .await
            .into_iter()
            .find(|a| a["state"] == "firing" && a["subject"] == subject.as_str())
    })
    .await;
    server.stop().await.unwrap();
}
