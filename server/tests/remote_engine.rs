//! A remote Docker engine over TCP with TLS client certificates, as a host
//! beside `local`: a second, independent engine on this machine
//! (`common::second_engine`), configured under `[[hosts]]`. Its containers
//! are listed, stopped through berth's REST API and their statistics
//! collected like local ones, every event carries its host's name, it has no
//! machine readings, and a client certificate from another CA (or an engine
//! certificate berth does not trust) leaves only that host unreachable,
//! saying which certificate to look at. Needs root, so it is `#[ignore]`d
//! (run it with `--ignored`; `./dev.sh test` does as root), and the first
//! engine with the test image (`./dev.sh test` provides both).

mod common;

use berth_server::HostConfig;
use common::docker::IMAGE;
use common::second_engine::{ClientFiles, SecondEngine};
use common::*;
use serde_json::Value;
use std::time::Instant;

fn host(name: &str, url: &str, files: &ClientFiles) -> HostConfig {
    HostConfig::tls_engine(name, url, files.ca.clone(), files.cert.clone(), files.key.clone())
}

fn status<'a>(hosts: &'a Value, id: &str) -> &'a Value {
    hosts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("no host {id} in {hosts}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts a second dockerd: needs root, run with --ignored (./dev.sh test does as root)"]
async fn a_remote_engine_over_tls_is_a_host_like_local_and_a_stranger_certificate_loses_only_that_host() {
    let began = Instant::now();
    let engine = SecondEngine::start();
    eprintln!("timing: second engine up, test image loaded: {:?}", began.elapsed());
    let name = "berth-remote-sleeper";
    engine.docker(&["run", "-d", "--name", name, IMAGE, "sleep", "3600"]);

    let (_dir, server, client) = stats_server(|c| {
        c.hosts = vec![
            host("second", &engine.tls_url, &engine.client),
            host("stranger", &engine.tls_url, &engine.stranger),
            host(
                "untrusting",
                &engine.tls_url,
                &ClientFiles {
                    ca: engine.other_ca.clone(),
                    ..engine.client.clone()
                },
            ),
        ];
    })
    .await;
    let connecting = Instant::now();

    // Both engines answer; the one berth proves itself to with a stranger's certificate does not.
    let hosts = until(
        "local and second are reachable and the others have failed",
        30,
        async || {
            let hosts = get_json(&server, &client, "/api/v1/hosts").await;
            let up = |id| status(&hosts, id)["reachable"] == true;
            let failed = |id| {
                status(&hosts, id)["error"]
                    .as_str()
                    .is_some_and(|e| e != "not connected yet")
            };
            (up("local") && up("second") && failed("stranger") && failed("untrusting")).then_some(hosts)
        },
    )
    .await;
    eprintln!("timing: berth reached both engines in {:?}", connecting.elapsed());
    let (local, second, stranger) = (
        status(&hosts, "local"),
        status(&hosts, "second"),
        status(&hosts, "stranger"),
    );
    assert_eq!(local["transport"], "local", "{local}");
    assert_eq!(second["transport"], "tls", "{second}");
    assert_eq!(second["api_version"], "1.41", "negotiated over TLS too: {second}");
    assert!(second["engine_version"].is_string(), "{second}");
    assert_eq!(stranger["reachable"], false, "{stranger}");
    let why = stranger["error"].as_str().unwrap();
    eprintln!("the stranger's error: {why}");
    assert!(
        why.starts_with("the engine refused berth's TLS client certificate") && why.contains("--tlscacert"),
        "the error does not say that the engine refused berth's certificate: {why}"
    );
    let untrusting = status(&hosts, "untrusting");
    assert_eq!(untrusting["reachable"], false, "{untrusting}");
    let why = untrusting["error"].as_str().unwrap();
    eprintln!("the untrusting host's error: {why}");
    assert!(
        why.starts_with("berth does not trust the engine's TLS certificate"),
        "the error does not say that berth refused the engine's certificate: {why}"
    );

    // The remote engine's container, on its host only.
    let c = wait_for_state_on(&server, &client, "second", name, "running").await;
    assert_eq!(c["image"], IMAGE, "{c}");
    let local_list = client
        .get(server.url("/api/v1/hosts/local/containers?limit=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(local_list.status(), 200, "local keeps working");
    let local_list: Value = local_list.json().await.unwrap();
    assert!(
        !local_list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == name),
        "the remote container shows on local: {local_list}"
    );

    // Container statistics come over the engine's API; the remote machine has no readings.
    let scrape = until("the remote container has statistics", 30, async || {
        let body = get_metrics(&server, None).await.text().await.unwrap();
        let scrape = parse_metrics(&body);
        let found = scrape.samples.iter().any(|s| {
            s.metric == "berth_container_cpu_usage_percent"
                && s.labels.get("host") == Some("second")
                && s.labels.get("container") == Some(name)
        });
        found.then_some(scrape)
    })
    .await;
    let machine = |host: &str| {
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "berth_host_memory_total_bytes" && s.labels.get("host") == Some(host))
    };
    assert!(machine("local"), "the machine berth runs on has its readings");
    assert!(!machine("second"), "a TLS engine's host got machine readings");
    let limit = scrape
        .samples
        .iter()
        .find(|s| s.metric == "berth_container_memory_limit_bytes" && s.labels.get("container") == Some(name))
        .unwrap();
    assert!(value(limit) > 0.0, "no memory limit from the remote engine");

    // Stopped through berth, on the remote engine, and on record with its host.
    let resp = client
        .post(server.url(&format!("/api/v1/hosts/second/containers/{name}/stop?timeout=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    wait_for_state_on(&server, &client, "second", name, "exited").await;
    assert_eq!(engine.docker(&["inspect", "-f", "{{.State.Status}}", name]), "exited");
    let stop = events(&server, &client, "kind=container.stop&actor=admin").await;
    let stop = &stop["events"][0];
    assert_eq!(stop["host"], "second", "{stop}");
    assert_eq!(stop["target"], format!("container:{name}"));
    assert_eq!(stop["outcome"]["status"], "ok", "{stop}");
    let die = until("the remote engine's container.die is recorded", 10, async || {
        let page = events(&server, &client, &format!("kind=container.die&target=container:{name}")).await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(die["host"], "second", "{die}");
    assert_eq!(die["actor"]["name"], "engine", "{die}");

    // The unreachable host: its loss is on record, and asking it for anything says why.
    let lost = events(&server, &client, "kind=host.disconnect&host=stranger").await;
    let lost = &lost["events"][0];
    assert_eq!(lost["outcome"]["status"], "error", "{lost}");
    let resp = client
        .post(server.url(&format!("/api/v1/hosts/stranger/containers/{name}/start")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("the engine on host stranger is unreachable") && error.contains("certificate"),
        "{body}"
    );
    let hosts = get_json(&server, &client, "/api/v1/hosts").await;
    assert_eq!(
        status(&hosts, "local")["reachable"],
        true,
        "local lost with the stranger"
    );

    server.stop().await.unwrap();
    let stopping = Instant::now();
    drop(engine);
    eprintln!(
        "timing: second engine removed in {:?}; the whole test {:?}",
        stopping.elapsed(),
        began.elapsed()
    );
}
