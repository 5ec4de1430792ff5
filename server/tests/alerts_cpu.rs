//! Alerts over the collector's readings, alone in their binary (busy
//! loops take both cores): a CPU burner fires only after the rule's
//! duration and resolves when it stops; a value flapping across the
//! threshold tells once. Needs a running engine and the test image.

mod common;

use common::alerting::*;
use common::docker::TestContainer;
use common::receivers::HttpReceiver;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_burner_fires_after_its_duration_and_resolves_and_a_flapping_one_tells_once() {
    let receiver = HttpReceiver::start().await;
    let (_dir, server, admin) = server().await;
    let burner = unique("burner");
    let flapper = unique("flapper");
    let channel = webhook(&server, &admin, &receiver.url("/cpu")).await;
    let burn = rule(
        &server,
        &admin,
        json!({ "name": "burning", "condition": { "kind": "container_cpu", "above": 50, "recover_below": 20 },
                "for_secs": 4, "scope": { "key": format!("name:{burner}") }, "channels": [channel] }),
    )
    .await;
    // Busy 1.5 s, idle 0.5 s: every reading is between about 50% and 100%,
    // across the firing threshold of 60 again and again, never near 10.
    let flap = rule(
        &server,
        &admin,
        json!({ "name": "flapping", "condition": { "kind": "container_cpu", "above": 60, "recover_below": 10 },
                "scope": { "key": format!("name:{flapper}") }, "channels": [channel] }),
    )
    .await;
    let _b = TestContainer::run(
        &burner,
        &[],
        &["sh", "-c", "timeout 14 sh -c 'while :; do :; done'; sleep 3600"],
    );

    let firing = until("the burner fires", 40, async || {
        receiver.requests().into_iter().find(|r| r.json()["rule"] == burn)
    })
    .await;
    let n = signed(&firing);
    assert_eq!(n["state"], "firing");
    let fired = until("its alert.fire", 10, async || {
        let page = events(&server, &admin, &format!("kind=alert.fire&target=container:{burner}")).await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await;
    let held = fired["details"]["fired_ms"].as_i64().unwrap() - fired["details"]["since_ms"].as_i64().unwrap();
    assert!(held >= 4000, "fired after {held} ms of the 4 s it must hold: {fired}");
    let resolved = until("the burner resolves once it stops", 40, async || {
        receiver
            .requests()
            .into_iter()
            .find(|r| r.json()["rule"] == burn && r.json()["state"] == "resolved")
    })
    .await;
    assert!(signed(&resolved)["summary"].as_str().unwrap().contains("CPU"));

    // One busy loop at a time: the flapper once the burner is done.
    let _f = TestContainer::run(
        &flapper,
        &[],
        &[
            "sh",
            "-c",
            "while :; do timeout 1.5 sh -c 'while :; do :; done'; sleep 0.5; done",
        ],
    );
    until("the flapping one fires", 30, async || {
        receiver.requests().into_iter().find(|r| r.json()["rule"] == flap)
    })
    .await;
    // Readings cross 60 both ways every few seconds: a while of them.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let flapping: Vec<Value> = receiver
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|n| n["rule"] == flap)
        .collect();
    assert_eq!(flapping.len(), 1, "one alert for a flapping value: {flapping:?}");
    assert_eq!(flapping[0]["state"], "firing");
    server.stop().await.unwrap();
}
