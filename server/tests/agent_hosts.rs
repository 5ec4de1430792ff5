//! `berth agent` hosts, set up right and wrong: real agent processes (the
//! `berth` binary) in front of real engines, and a real berth server with
//! them as `[[hosts]]`. An agent going away is in `agent_outages.rs`, peers
//! other than berth in `agent_peers.rs`; what they share, in
//! `common/agent.rs`.
//!
//! - Two hosts through agents, one of them a second dockerd: both reachable
//!   with the agent's version and a round trip, containers under the right
//!   host, a stop and a start through REST recorded with the host, and the
//!   agent's machine readings among berth's statistics.
//! - The live list of every host's containers carries only the hosts a
//!   user may see (a user who may see none gets no ticket for it).
//! - A host set up wrong stays unreachable, saying why, on record: a wrong
//!   token, a certificate that is not the pinned one (and then the token is
//!   never sent), an allowlist without berth's address.
//! - A `--read-only` agent refuses changes itself, to berth (403) and to
//!   anyone holding the token.
//!
//! Not covered yet: `--no-exec` refusing a terminal. The second engine
//! needs root, so that test is `#[ignore]`d (`./dev.sh test` runs it as
//! root); the first engine with the test image must run.
//! The agents' logs are in their temporary directories while a test runs;
//! a failing assertion prints the one it is about.

mod common;

use berth_core::agent::protocol::{Act, Answer, FromAgent, Request, ToAgent};
use berth_core::engine::EngineError;
use berth_core::model::ContainerAction;
use berth_server::HostConfig;
use common::agent::*;
use common::docker::{IMAGE, TestContainer, docker};
use common::second_engine::SecondEngine;
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts a second dockerd: needs root, run with --ignored (./dev.sh test does as root)"]
async fn two_hosts_through_agents_are_hosts_like_local_with_their_machines_readings() {
    let began = Instant::now();
    let engine = SecondEngine::start();
    let name = unique("far-sleeper");
    engine.docker(&["run", "-d", "--name", &name, IMAGE, "sleep", "3600"]);
    let near_name = unique("near-sleeper");
    let _near = TestContainer::run(&near_name, &[], &["sleep", "3600"]);
    // One agent in front of the second engine, one in front of the first.
    let far = AgentDir::init(&[]);
    let _far_agent = far.start(Some(&engine.socket), &[]);
    let near = AgentDir::init(&[]);
    let _near_agent = near.start(None, &[]);

    let (_dir, server, client) = berth_with(vec![far.host("far"), near.host("near")]).await;

    for id in ["far", "near"] {
        let status = reachable(&server, &client, id, 30).await;
        assert_eq!(status["transport"], "agent", "{status}");
        assert_eq!(status["agent_version"], env!("CARGO_PKG_VERSION"), "{status}");
        assert_eq!(
            status["api_version"], "1.41",
            "the agent negotiated with its engine: {status}"
        );
        assert_eq!(status["limits"]["read_only"], false, "{status}");
        // The round trip is measured by a heartbeat.
        until(&format!("host {id} has a round trip time"), 10, async || {
            let s = host_status(&server, &client, id).await;
            s["rtt_us"].as_u64().filter(|us| *us > 0)
        })
        .await;
    }
    let connected = recorded(&server, &client, "kind=host.connect&host=far").await;
    assert_eq!(connected["details"]["agent"]["version"], env!("CARGO_PKG_VERSION"));

    // Each engine's containers under its own host.
    let c = wait_for_state_on(&server, &client, "far", &name, "running").await;
    assert_eq!(c["image"], IMAGE, "{c}");
    wait_for_state_on(&server, &client, "near", &near_name, "running").await;
    let far_list = get_json(&server, &client, "/api/v1/hosts/far/containers?limit=1000").await;
    let names: Vec<&str> = far_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&near_name.as_str()),
        "a container of the first engine shows on far: {names:?}"
    );

    // Stopped through berth, on the second engine, on record with its host.
    let resp = post(
        &server,
        &client,
        &format!("/api/v1/hosts/far/containers/{name}/stop?timeout=1"),
    )
    .await;
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    wait_for_state_on(&server, &client, "far", &name, "exited").await;
    assert_eq!(engine.docker(&["inspect", "-f", "{{.State.Status}}", &name]), "exited");
    let target = format!("container:{name}");
    let stop = recorded(
        &server,
        &client,
        &format!("kind=container.stop&actor=admin&target={target}"),
    )
    .await;
    assert_eq!(stop["host"], "far", "{stop}");
    assert_eq!(stop["outcome"]["status"], "ok", "{stop}");
    for kind in ["container.die", "container.stop"] {
        let e = recorded(
            &server,
            &client,
            &format!("kind={kind}&actor=system:engine&target={target}"),
        )
        .await;
        assert_eq!(e["host"], "far", "the engine's {kind}: {e}");
    }
    // And started again.
    let resp = post(&server, &client, &format!("/api/v1/hosts/far/containers/{name}/start")).await;
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    wait_for_state_on(&server, &client, "far", &name, "running").await;
    assert_eq!(engine.docker(&["inspect", "-f", "{{.State.Status}}", &name]), "running");
    let start = recorded(
        &server,
        &client,
        &format!("kind=container.start&actor=admin&target={target}"),
    )
    .await;
    assert_eq!(start["host"], "far", "{start}");
    let e = recorded(
        &server,
        &client,
        &format!("kind=container.start&actor=system:engine&target={target}"),
    )
    .await;
    assert_eq!(e["host"], "far", "{e}");
    // A container the second engine does not have: the error names berth's host, not the agent's.
    let resp = post(&server, &client, "/api/v1/hosts/far/containers/no-such-container/stop").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"], "there is no container 'no-such-container' on host far",
        "{body}"
    );

    // The agents read their machine (this one): its memory, among berth's readings.
    let total = meminfo("MemTotal");
    let stats = until("both agents' machines have readings", 20, async || {
        let stats = get_json(&server, &client, "/api/v1/stats").await;
        let hosts = stats["hosts"].as_array().unwrap();
        let read = |id| {
            hosts
                .iter()
                .any(|h| h["host"] == id && h["mem_total"].as_u64() > Some(0))
        };
        (read("far") && read("near")).then_some(stats)
    })
    .await;
    for h in stats["hosts"].as_array().unwrap() {
        assert_eq!(h["mem_total"], total, "the same machine's memory: {h}");
        assert!(h["mem_used"].as_u64().unwrap() > 0, "{h}");
        assert!(!h["filesystems"].as_array().unwrap().is_empty(), "{h}");
    }
    let charts = until("far's memory chart has points", 20, async || {
        let charts = get_json(&server, &client, "/api/v1/hosts/far/charts?range=1h").await;
        let has_points = charts["charts"].as_array().is_some_and(|charts| {
            charts.iter().any(|c| {
                c["title"] == "Memory"
                    && c["series"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| !s["points"].as_array().unwrap().is_empty())
            })
        });
        has_points.then_some(charts)
    })
    .await;
    assert!(charts["step"].as_i64().unwrap() > 0);

    server.stop().await.unwrap();
    eprintln!("two hosts through agents: {:?}", began.elapsed());
}

/// The live list of every host's containers (`/ws/containers?hosts=all`)
/// carries only the hosts a user may see; one who may see none gets no ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_all_hosts_feed_carries_only_the_hosts_a_user_may_see() {
    let agent_dir = AgentDir::init(&[]);
    let _agent = agent_dir.start(None, &[]);
    let (_dir, server, admin) = berth_with(vec![agent_dir.host("edge")]).await;
    reachable(&server, &admin, "edge", 20).await;
    let ticket = async |user: &reqwest::Client| {
        user.post(server.url("/api/all_containers_ticket"))
            .send()
            .await
            .unwrap()
    };

    let nobody = plain_user(&server, &admin, "nobody", "a-long-password-1").await;
    assert_eq!(ticket(&nobody).await.status(), 403, "no host to see, no ticket");

    let viewer = plain_user(&server, &admin, "viewer", "a-long-password-2").await;
    let id = get_json(&server, &admin, "/api/v1/users").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "viewer")
        .map(|u| match &u["id"] {
            Value::String(id) => id.clone(),
            id => id.to_string(),
        })
        .unwrap();
    let resp = admin
        .put(server.url(&format!("/api/v1/users/{id}/grants")))
        .json(&serde_json::json!([{ "host": "edge", "level": "view" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = ticket(&viewer).await;
    assert_eq!(resp.status(), 200);
    let ticket: String = resp.json().await.unwrap();
    let url = format!(
        "{}/ws/containers?hosts=all&ticket={ticket}",
        server.base.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("the feed opens");
    // The hosts followed, then each one's view: `edge` only, never `local`.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(10), futures_util::StreamExt::next(&mut socket))
            .await
            .expect("the feed speaks within 10 s")
            .expect("the feed stays open")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
            seen.push(serde_json::from_str::<Value>(&text).unwrap());
        }
    }
    let text = serde_json::to_string(&seen).unwrap();
    assert!(text.contains("\"edge\""), "{text}");
    assert!(!text.contains("\"local\""), "a host the viewer may not see: {text}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_by_the_agent_and_on_record() {
    let agent_dir = AgentDir::init(&[]);
    let agent = agent_dir.start(None, &[]);
    let wrong = "0123456789abcdef".repeat(4);
    let host = HostConfig::agent(
        "guessed",
        &agent_dir.url(),
        agent_dir.token_file("guessed", &wrong),
        &agent_dir.fingerprint,
    );
    let (_dir, server, client) = berth_with(vec![host]).await;

    let status = failed(&server, &client, "guessed").await;
    assert_eq!(status["reachable"], false, "{status}");
    let error = status["error"].as_str().unwrap();
    eprintln!("the wrong token's error: {error}");
    assert!(
        error.contains(&format!("the agent at {} refused berth's token", agent_dir.url()))
            && error.contains("berth agent init"),
        "{error}"
    );
    assert!(
        !error.contains(&wrong) && !error.contains(&agent_dir.token),
        "a token in the error: {error}"
    );
    let lost = recorded(&server, &client, "kind=host.disconnect&host=guessed").await;
    assert_eq!(lost["outcome"]["status"], "error", "{lost}");
    assert_eq!(lost["outcome"]["message"], error, "{lost}");
    // Asking the host for anything says why it cannot.
    let resp = client
        .get(server.url("/api/v1/hosts/guessed/images"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("refused berth's token"),
        "{body}"
    );

    let log = agent.log();
    assert!(log.contains("refused: wrong token"), "the agent's log:\n{log}");
    assert!(
        !log.contains(&wrong) && !log.contains(&agent_dir.token),
        "a token in the agent's log:\n{log}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_is_not_the_pinned_one_gets_no_token_and_is_on_record() {
    let agent_dir = AgentDir::init(&[]);
    let agent = agent_dir.start(None, &[]);
    // As if the agent had been set up again since berth pinned it: another certificate.
    let earlier = AgentDir::init(&[]);
    // The right token: had berth sent it, the agent would have let it in.
    let host = HostConfig::agent(
        "moved",
        &agent_dir.url(),
        agent_dir.token_file("moved", &agent_dir.token),
        &earlier.fingerprint,
    );
    let (_dir, server, client) = berth_with(vec![host]).await;

    let status = failed(&server, &client, "moved").await;
    let error = status["error"].as_str().unwrap();
    eprintln!("the changed certificate's error: {error}");
    assert!(
        error.contains("the agent's certificate changed")
            && error.contains(&agent_dir.fingerprint)
            && error.contains(&earlier.fingerprint)
            && error.contains("Nothing was sent"),
        "{error}"
    );
    let lost = recorded(&server, &client, "kind=host.disconnect&host=moved").await;
    assert_eq!(lost["outcome"]["message"], error, "{lost}");

    // The agent saw a TLS handshake fail, and never a hello.
    let log = until("the agent logged the failed handshake", 10, async || {
        let log = agent.log();
        log.contains("TLS handshake failed").then_some(log)
    })
    .await;
    for never in ["wrong token", "core connected", "hello"] {
        assert!(!log.contains(never), "'{never}' in the agent's log:\n{log}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowlist_without_berths_address_is_named_and_on_record() {
    let agent_dir = AgentDir::init(&["--allow", "10.0.0.0/8", "--allow", "192.168.7.0/24"]);
    let agent = agent_dir.start(None, &[]);
    let (_dir, server, client) = berth_with(vec![agent_dir.host("fenced")]).await;

    let status = failed(&server, &client, "fenced").await;
    let error = status["error"].as_str().unwrap();
    eprintln!("the allowlist's error: {error}");
    assert!(
        error.contains("127.0.0.1") && error.contains("allowlist") && error.contains("allow"),
        "{error}"
    );
    let lost = recorded(&server, &client, "kind=host.disconnect&host=fenced").await;
    assert_eq!(lost["outcome"]["message"], error, "{lost}");
    let log = agent.log();
    assert!(
        log.contains("not in the allowlist") && log.contains("10.0.0.0/8"),
        "the agent's log:\n{log}"
    );
    assert!(!log.contains("core connected"), "{log}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_agent_refuses_changes_itself() {
    let name = unique("guarded");
    let _container = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let agent_dir = AgentDir::init(&[]);
    let _agent = agent_dir.start(None, &["--read-only"]);
    let (_dir, server, client) = berth_with(vec![agent_dir.host("guarded")]).await;
    let status = reachable(&server, &client, "guarded", 30).await;
    assert_eq!(status["limits"]["read_only"], true, "{status}");
    wait_for_state_on(&server, &client, "guarded", &name, "running").await;

    let resp = post(
        &server,
        &client,
        &format!("/api/v1/hosts/guarded/containers/{name}/stop?timeout=1"),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("agent is read-only") && error.contains("--read-only"),
        "{body}"
    );
    assert_eq!(docker(&["inspect", "-f", "{{.State.Status}}", &name]), "running");
    let stop = recorded(
        &server,
        &client,
        &format!("kind=container.stop&actor=admin&host=guarded&target=container:{name}"),
    )
    .await;
    assert_eq!(stop["outcome"]["status"], "error", "{stop}");
    assert_eq!(stop["outcome"]["message"], error, "{stop}");

    // Anyone with the token gets the same answer: the agent itself refuses.
    let (port, token, id) = (agent_dir.port, agent_dir.token.clone(), name.clone());
    let answer = tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(port, Duration::from_secs(30)).unwrap();
        assert!(matches!(peer.hello(&token), Read1::Frame(FromAgent::Welcome(_))));
        let act = Request::from(Act {
            id,
            action: ContainerAction::Kill,
        });
        let request = serde_json::to_value(act).unwrap();
        peer.send(&ToAgent::Call { id: 1, request }).unwrap();
        peer.read()
    })
    .await
    .unwrap();
    match answer {
        Read1::Frame(FromAgent::Reply {
            id: 1,
            result: Answer::Err(EngineError::Forbidden(why)),
        }) => assert!(why.contains("read-only") && why.contains("Act"), "{why}"),
        other => panic!("the read-only agent answered a kill with {other:?}"),
    }
    assert_eq!(docker(&["inspect", "-f", "{{.State.Status}}", &name]), "running");
    server.stop().await.unwrap();
}
