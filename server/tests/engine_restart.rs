//! The engine goes away while berth runs: berth stays up, says since when
//! the engine is unreachable, records the gap, reconnects by itself and
//! shows the containers as they are afterwards.
//!
//! It stops and restarts the machine's `dockerd`, so it is `#[ignore]`d:
//! it runs when asked for (`cargo test -p berth-server --test
//! engine_restart -- --ignored`), as root; `./dev.sh test` runs it when it
//! runs as root, as in CI. Asked for without root, it fails saying so.

mod common;

use common::second_engine::assert_root;
use common::*;
use std::process::Command;

fn engine_up() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops and restarts the machine's dockerd: needs root, run with --ignored (./dev.sh test does as root)"]
async fn berth_survives_an_engine_restart_and_resyncs() {
    assert_root("this test stops and restarts the machine's dockerd");
    assert!(engine_up(), "no Docker engine is running");
    let name = "berth-test-restart";
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    let run = Command::new("docker")
        .args(["run", "-d", "--name", name, "berth-test/busybox:1", "sleep", "3600"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));

    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let state_of = async |client: &reqwest::Client| -> (bool, Option<String>) {
        let list: serde_json::Value = get_json(&server, client, "/api/v1/hosts/local").await;
        let state = list["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"].as_str().unwrap().to_string());
        (list["status"]["reachable"].as_bool().unwrap(), state)
    };
    until("berth sees the container running", 15, async || {
        (state_of(&client).await == (true, Some("running".into()))).then_some(())
    })
    .await;

    // Stop the engine (its containers stop with it: no live-restore here),
    // by the process id in its own pidfile: never another dockerd on the
    // machine (a second engine of another test has its own).
    let pid = std::fs::read_to_string("/var/run/docker.pid").expect("the engine's pidfile, /var/run/docker.pid");
    let pid = pid.trim().to_string();
    assert!(pid.parse::<u32>().is_ok(), "the pidfile holds no process id: {pid:?}");
    let stopped = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(stopped.success(), "could not stop dockerd (pid {pid})");
    let dockerd_gone = || !std::path::Path::new(&format!("/proc/{pid}")).exists();
    until("dockerd has exited", 60, async || dockerd_gone().then_some(())).await;
    until("berth marks the host unreachable", 15, async || {
        (!state_of(&client).await.0).then_some(())
    })
    .await;
    // berth itself still answers, and says why.
    let hosts: serde_json::Value = get_json(&server, &client, "/api/v1/hosts").await;
    let hosts = &hosts["items"];
    assert_eq!(hosts[0]["reachable"], false);
    assert!(hosts[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{hosts}");

    // Start it again; berth reconnects on its own and resyncs the list.
    Command::new("sh")
        .args(["-c", "dockerd >>/var/log/berth-dockerd.log 2>&1 &"])
        .status()
        .unwrap();
    until("the engine is back", 60, async || engine_up().then_some(())).await;
    until("berth reconnects and shows the container stopped", 60, async || {
        (state_of(&client).await == (true, Some("exited".into()))).then_some(())
    })
    .await;

    let gap = events(&server, &client, "kind=host.*").await;
    let seen: Vec<String> = kinds(&gap).into_iter().filter(|k| k != "host.events_gap").collect();
    assert_eq!(seen[..2], ["host.connect", "host.disconnect"], "{gap}");
    let connect = gap["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "host.connect")
        .unwrap();
    assert!(connect["details"]["unreachable_ms"].as_i64().unwrap() > 0);
    // The restarted engine forgot the events berth had not seen yet: the
    // log says so instead of pretending nothing happened meanwhile.
    let newest_gap = kinds(&gap).iter().position(|k| k == "host.events_gap");
    let disconnect = kinds(&gap).iter().position(|k| k == "host.disconnect");
    assert!(newest_gap.is_some_and(|g| Some(g) < disconnect), "{gap}");
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    server.stop().await.unwrap();
}
