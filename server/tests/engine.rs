//! The local Docker engine through berth's REST API: the list, an audited
//! stop, the engine's own events in the log, and clear errors. Needs a
//! running engine and the test image (`./dev.sh test` provides both).

mod common;

use common::docker::{IMAGE, TestContainer};
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_are_listed_stopped_with_an_audit_trail_and_errors_are_clear() {
    let name = "berth-test-stop";
    let _container = TestContainer::run(name, &[], &["sleep", "3600"]);
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);

    let c = wait_for_state(&server, &client, name, "running").await;
    assert_eq!(c["image"], IMAGE);
    assert!(c["status"].as_str().unwrap().starts_with("Up"), "{c}");
    let hosts: serde_json::Value = get_json(&server, &client, "/api/v1/hosts").await;
    let hosts = &hosts["items"];
    assert_eq!(hosts[0]["reachable"], true, "{hosts}");
    assert_eq!(
        hosts[0]["api_version"], "1.41",
        "negotiated down to the engine's API: {hosts}"
    );

    let resp = client
        .post(server.url(&format!("/api/v1/hosts/local/containers/{name}/stop?timeout=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    wait_for_state(&server, &client, name, "exited").await;

    // The stop by the user, and the engine's own die event, both on record.
    let stop = events(&server, &client, "kind=container.stop&actor=admin").await;
    let stop = &stop["events"][0];
    assert_eq!(stop["target"], format!("container:{name}"));
    assert_eq!(stop["host"], "local");
    assert_eq!(stop["outcome"]["status"], "ok");
    assert!(stop["duration_us"].as_u64().unwrap() > 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let die = events(&server, &client, &format!("kind=container.die&target=container:{name}")).await;
        if let Some(e) = die["events"].as_array().unwrap().first() {
            assert_eq!(e["actor"]["name"], "engine");
            assert_eq!(e["host"], "local");
            break;
        }
        assert!(Instant::now() < deadline, "no container.die event from the engine");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Errors name what went wrong, and are recorded too.
    let resp = client
        .post(server.url("/api/v1/hosts/local/containers/no-such-container/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "there is no container 'no-such-container' on host local");
    let resp = client
        .post(server.url(&format!("/api/v1/hosts/local/containers/{name}/explode")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = client
        .post(server.url("/api/v1/hosts/mars/containers/x/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let failed = events(&server, &client, "kind=container.start&outcome=error").await;
    assert_eq!(kinds(&failed).len(), 1);

    // Remove: gone from the list.
    let resp = client
        .post(server.url(&format!("/api/v1/hosts/local/containers/{name}/remove?force=true")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let list: serde_json::Value = get_json(&server, &client, "/api/v1/hosts/local/containers?limit=1000").await;
    assert!(!list["items"].as_array().unwrap().iter().any(|c| c["name"] == name));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_masks_the_environment_and_a_reveal_is_recorded_without_the_value() {
    let name = "berth-test-env";
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    let out = Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            name,
            "-e",
            "API_TOKEN=hunter2-secret",
            "-e",
            "MODE=demo",
        ])
        .args(["--restart", "on-failure:3", "-l", "team=ops", IMAGE, "sleep", "3600"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _container = TestContainer(name.to_string());
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);

    let detail = client
        .get(server.url(&format!("/api/v1/hosts/local/containers/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(detail.status(), 200);
    let detail_text = detail.text().await.unwrap();
    assert!(
        !detail_text.contains("hunter2"),
        "an environment value leaked: {detail_text}"
    );
    let detail: serde_json::Value = serde_json::from_str(&detail_text).unwrap();
    let names: Vec<&str> = detail["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"API_TOKEN") && names.contains(&"MODE"), "{names:?}");
    assert_eq!(detail["restart_policy"], "on-failure (at most 3 retries)");
    assert!(
        detail["labels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l[0] == "team" && l[1] == "ops")
    );

    let url = server.url(&format!("/api/v1/hosts/local/containers/{name}/env/API_TOKEN/reveal"));
    let revealed: serde_json::Value = client.post(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(revealed["value"], "hunter2-secret");
    let log = events(&server, &client, "kind=container.env_reveal").await;
    assert_eq!(log["events"][0]["details"]["variable"], "API_TOKEN");
    assert_eq!(log["events"][0]["actor"]["name"], ADMIN);
    let everything = client
        .get(server.url("/api/v1/events/export?format=jsonl"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !everything.contains("hunter2"),
        "a revealed value reached the event log"
    );

    let missing = client
        .get(server.url("/api/v1/hosts/local/containers/nope-nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_is_created_from_a_local_image_checked_and_audited() {
    let name = "berth-test-created";
    let _container = TestContainer(name.to_string());
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let create = |body: serde_json::Value| {
        client
            .post(server.url("/api/v1/hosts/local/containers"))
            .json(&body)
            .send()
    };

    // Bad requests never reach the engine, and say what is wrong.
    for (body, needle) in [
        (serde_json::json!({ "image": "" }), "is not an image reference"),
        (
            serde_json::json!({ "image": IMAGE, "ports": ["99999:80"] }),
            "port '99999:80'",
        ),
        (
            serde_json::json!({ "image": IMAGE, "volumes": ["data"] }),
            "volume 'data'",
        ),
        (serde_json::json!({ "image": IMAGE, "env": ["1BAD=x"] }), "NAME=value"),
        (
            serde_json::json!({ "image": IMAGE, "restart": "sometimes" }),
            "restart policy",
        ),
    ] {
        let resp = create(body.clone()).await.unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert!(err["error"].as_str().unwrap().contains(needle), "{body}: {err}");
    }
    let resp = create(serde_json::json!({ "image": "berth-test/none:0" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "an image the engine does not have");
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["kind"], "not_found", "{err}");

    let resp = create(serde_json::json!({
        "image": IMAGE, "name": name, "command": ["sleep", "3600"],
        "env": ["TOKEN=abc123-secret", "MODE=demo"], "ports": ["18555:80"],
        "volumes": ["berth-test-created-vol:/data"], "restart": "unless-stopped", "start": true,
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let detail: serde_json::Value = get_json(&server, &client, &format!("/api/v1/hosts/local/containers/{name}")).await;
    assert_eq!(detail["state"], "running");
    assert_eq!(detail["restart_policy"], "unless-stopped");
    assert_eq!(detail["ports"][0]["public"], 18555);
    assert_eq!(detail["mounts"][0]["destination"], "/data");

    // The user's requests; the engine records its own container.create too.
    let log = events(&server, &client, "kind=container.create&actor=admin").await;
    let created = &log["events"][0];
    assert_eq!(created["outcome"]["status"], "ok");
    assert_eq!(created["target"], format!("container:{name}"));
    assert_eq!(created["details"]["env"], serde_json::json!(["TOKEN", "MODE"]));
    assert!(
        !log.to_string().contains("abc123"),
        "an environment value reached the log"
    );
    assert_eq!(kinds(&log).len(), 7, "the refused requests are recorded too");
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    let _ = Command::new("docker")
        .args(["volume", "rm", "berth-test-created-vol"])
        .output();
    server.stop().await.unwrap();
}

/// The database file as `Store::open` finds it right after `run` returned:
/// free, unless a task of the server still holds it.
fn reopen(dir: &std::path::Path) -> berth_core::store::Store {
    berth_core::store::Store::open(&dir.join("berth.redb"))
        .unwrap_or_else(|e| panic!("a task of the stopped server still holds the database: {e}"))
}

/// `run` returns only once every task it started has ended, however
/// early it is stopped: here while the start-up walk of a long log is
/// still under way, and the hosts' watchers are connecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_at_once_lets_go_of_its_database() {
    use berth_core::events::EventLog;
    use berth_core::model::{Actor, NewEvent};

    let dir = tempfile::tempdir().unwrap();
    add_admin(dir.path());
    {
        let store = reopen(dir.path());
        let log = EventLog::open(&store).unwrap();
        for _ in 0..50_000 {
            log.record(NewEvent::new("test.filler", Actor::system()));
        }
        log.close().await.unwrap();
    }
    for round in 0..3 {
        let server = Server::start(dir.path()).await;
        tokio::time::sleep(Duration::from_millis(round * 20)).await;
        server.stop().await.unwrap();
        drop(reopen(dir.path()));
    }
}

/// Nothing the engine did while berth was stopping is recorded after
/// `server.stop`: every host's watcher has ended before it is appended, and
/// only the final checkpoint follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_is_recorded_after_the_last_engine_event() {
    use berth_core::events::EventLog;
    use berth_core::model::EventFilter;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let name = "berth-test-churn";
    let _container = TestContainer::run(name, &[], &["sleep", "3600"]);
    let (dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    wait_for_state(&server, &client, name, "running").await;

    // The engine keeps reporting while berth stops.
    let churning = Arc::new(AtomicBool::new(true));
    let churn = std::thread::spawn({
        let churning = churning.clone();
        move || {
            while churning.load(Ordering::Relaxed) {
                let _ = Command::new("docker").args(["pause", name]).output();
                let _ = Command::new("docker").args(["unpause", name]).output();
            }
        }
    });
    let unpaused = format!("kind=container.unpause&target=container:{name}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while kinds(&events(&server, &client, &unpaused).await).is_empty() {
        assert!(Instant::now() < deadline, "no container.unpause event from the engine");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await.unwrap();
    let store = reopen(dir.path());
    churning.store(false, Ordering::Relaxed);
    churn.join().unwrap();

    let log = EventLog::open(&store).unwrap();
    let page = log.query(EventFilter::default(), None, 100_000).await.unwrap();
    let newest_first: Vec<&str> = page.events.iter().map(|e| e.kind.as_str()).collect();
    let stop = newest_first
        .iter()
        .position(|k| *k == "server.stop")
        .unwrap_or_else(|| panic!("no server.stop: {newest_first:?}"));
    assert_eq!(
        newest_first[..stop],
        ["log.checkpoint"],
        "only the final checkpoint follows server.stop"
    );
    let paused = page.events[stop..]
        .iter()
        .filter(|e| e.actor.name == "engine" && e.kind == "container.pause")
        .count();
    assert!(paused > 0, "the engine's events are on record before the stop");
    log.close().await.unwrap();
}
