//! Expected container states and the drift events they lead to: setting and
//! clearing an expectation, a container stopped behind berth's back recorded
//! as a drift (and its end), listed, and in /metrics, and who may set one.
//! Needs a running engine and the test image `berth-test/busybox:1`
//! (`./dev.sh test` provides both).

mod common;

use common::docker::{TestContainer, docker};
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// PUTs an expected state; returns the status and the body (JSON, or null).
async fn expect(server: &Server, client: &reqwest::Client, host: &str, body: Value) -> (u16, Value) {
    let resp = client
        .put(server.url(&format!("/api/v1/hosts/{host}/expected")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Polls the event log until `query` finds an event (or 15 s pass); returns the first.
async fn wait_for_event(server: &Server, client: &reqwest::Client, query: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = events(server, client, query).await;
        if let Some(e) = page["events"].as_array().unwrap().first() {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no event for {query}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// berth_container_drift of `name` in /metrics, if it has one.
async fn drift_metric(server: &Server, name: &str) -> Option<f64> {
    let scrape = parse_metrics(&get_metrics(server, None).await.text().await.unwrap());
    container_sample(&scrape, "berth_container_drift", name).map(value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_leaving_its_expected_state_is_a_recorded_drift() {
    let name = "berth-stats-drift";
    let key = format!("name:{name}");
    let target = format!("container:{name}");
    let _container = TestContainer::run(name, &[], &["sleep", "3600"]);
    let (dir, server, admin) = stats_server(|_| {}).await;
    let c = wait_for_state(&server, &admin, name, "running").await;
    assert!(c["expected"].is_null(), "{c}");
    assert_eq!(c["restarts"], 0, "{c}");
    assert_eq!(c["oom_kills"], 0, "{c}");
    assert_eq!(
        drift_metric(&server, name).await,
        None,
        "no expectation, no drift metric"
    );

    let (status, body) = expect(&server, &admin, "local", json!({ "key": key, "state": "running" })).await;
    assert_eq!(status, 204, "{body}");
    let set: Value = get_json(&server, &admin, "/api/v1/hosts/local/expected").await;
    let mine = set["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key.as_str());
    let mine = mine.unwrap_or_else(|| panic!("{key} not in {set}"));
    assert_eq!(mine["state"], "running");
    assert_eq!(mine["set_by"], ADMIN);
    let c = wait_for_state(&server, &admin, name, "running").await;
    assert_eq!(c["expected"], "running", "{c}");
    let recorded = wait_for_event(&server, &admin, &format!("kind=container.expect&target={target}")).await;
    assert_eq!(recorded["outcome"]["status"], "ok");
    assert_eq!(recorded["actor"]["name"], ADMIN);
    assert_eq!(recorded["details"]["expected"], "running");
    let drifts: Value = get_json(&server, &admin, "/api/v1/drifts").await;
    assert!(
        !drifts["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == key.as_str()),
        "running as expected: {drifts}"
    );
    assert_eq!(drift_metric(&server, name).await, Some(0.0));

    // Stopped behind berth's back: a drift, on record and listed.
    docker(&["stop", "-t", "0", name]);
    let drift = wait_for_event(&server, &admin, &format!("kind=container.drift&target={target}")).await;
    assert_eq!(drift["outcome"]["status"], "error", "{drift}");
    assert_eq!(drift["outcome"]["message"], "expected running, is exited", "{drift}");
    assert_eq!(drift["host"], "local");
    assert_eq!(drift["details"]["key"], key.as_str());
    let drifts: Value = get_json(&server, &admin, "/api/v1/drifts").await;
    let listed = drifts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == key.as_str());
    let listed = listed.unwrap_or_else(|| panic!("{key} not among the drifts: {drifts}"));
    assert_eq!(listed["expected"], "running");
    assert_eq!(listed["actual"], "exited");
    assert_eq!(listed["host"], "local");
    let c = wait_for_state(&server, &admin, name, "exited").await;
    assert_eq!(c["expected"], "running", "{c}");
    assert_eq!(drift_metric(&server, name).await, Some(1.0));

    // berth restarted during the drift: it goes on from when it began, and
    // is not recorded a second time.
    let since = listed["since_ns"].clone();
    assert!(since.is_i64(), "{listed}");
    server.stop().await.unwrap();
    let server = Server::start_with(dir.path(), |c| c.stats_interval_secs = 1).await;
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let c = wait_for_state(&server, &admin, name, "exited").await;
    assert_eq!(c["expected"], "running", "{c}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let drifts: Value = get_json(&server, &admin, "/api/v1/drifts").await;
    let kept = drifts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == key.as_str());
    let kept = kept.unwrap_or_else(|| panic!("the drift was forgotten: {drifts}"));
    assert_eq!(kept["since_ns"], since, "{kept}");
    let page = events(&server, &admin, &format!("kind=container.drift&target={target}")).await;
    assert_eq!(kinds(&page).len(), 1, "recorded once across the restart: {page}");

    // Back as expected: the drift ends, once.
    docker(&["start", name]);
    let end = wait_for_event(&server, &admin, &format!("kind=container.drift_end&target={target}")).await;
    assert_eq!(end["details"]["actual"], "running", "{end}");
    assert!(end["details"]["lasted_s"].is_i64(), "{end}");
    let drifts: Value = get_json(&server, &admin, "/api/v1/drifts").await;
    assert!(
        !drifts["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == key.as_str()),
        "{drifts}"
    );
    assert_eq!(drift_metric(&server, name).await, Some(0.0));
    let page = events(&server, &admin, &format!("kind=container.drift&target={target}")).await;
    assert_eq!(kinds(&page).len(), 1, "one drift: {page}");

    // Cleared: no expectation, and stopping it is no drift.
    let (status, _) = expect(&server, &admin, "local", json!({ "key": key, "state": null })).await;
    assert_eq!(status, 204);
    let set: Value = get_json(&server, &admin, "/api/v1/hosts/local/expected").await;
    assert!(
        !set["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == key.as_str()),
        "{set}"
    );
    let c = wait_for_state(&server, &admin, name, "running").await;
    assert!(c["expected"].is_null(), "{c}");
    docker(&["stop", "-t", "0", name]);
    wait_for_state(&server, &admin, name, "exited").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let page = events(&server, &admin, &format!("kind=container.drift&target={target}")).await;
    assert_eq!(kinds(&page).len(), 1, "no new drift: {page}");

    // Invalid requests say what is wrong.
    let (status, body) = expect(&server, &admin, "local", json!({ "key": name, "state": "running" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("is not an expectation key"),
        "{body}"
    );
    let (status, body) = expect(&server, &admin, "local", json!({ "key": key, "state": "sleeping" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "state must be running, exited, paused or none, not 'sleeping'"
    );
    let (status, body) = expect(&server, &admin, "local", json!({ "name": name })).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = expect(&server, &admin, "mars", json!({ "key": key, "state": "running" })).await;
    assert_eq!(status, 404, "{body}");
    let failed = events(&server, &admin, "kind=container.expect&outcome=error").await;
    assert!(!kinds(&failed).is_empty(), "refused keys are recorded: {failed}");

    // A plain user may not set expectations (or see statistics); the refusal is recorded.
    let dora = plain_user(&server, &admin, "dora", "dora's password").await;
    let (status, body) = expect(&server, &dora, "local", json!({ "key": key, "state": "exited" })).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        "dora may not set expected container states on host local: that needs the manage level on host local"
    );
    let denied = events(&server, &admin, "kind=container.expect&actor=dora").await;
    assert_eq!(kinds(&denied).len(), 1, "{denied}");
    assert_eq!(denied["events"][0]["outcome"]["status"], "denied");
    assert_eq!(denied["events"][0]["host"], "local");
    let set: Value = get_json(&server, &admin, "/api/v1/hosts/local/expected").await;
    assert!(
        !set["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == key.as_str()),
        "{set}"
    );
    for path in ["/api/v1/stats", "/api/v1/hosts/local/charts"] {
        let resp = dora.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 403, "{path}");
    }
    let drifts: Value = get_json(&server, &dora, "/api/v1/drifts").await;
    assert_eq!(drifts["items"], json!([]), "no drift of a host dora cannot see");
    server.stop().await.unwrap();
}
