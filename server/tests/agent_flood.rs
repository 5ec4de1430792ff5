//! A crowd of idle TCP connections to a `berth agent` (what a user found:
//! 300 of them, renewed every 10 s, kept berth out of its agent) does not
//! keep berth out. A real agent in front of the first engine, a real berth
//! with it as a host, and 1,000 connections that never send a byte, each
//! opened again soon after the agent closes it:
//! - from one address: a berth the agent never saw connects;
//! - from a hundred addresses: berth reconnects after the agent restarted
//!   (it knows no core then), and a berth started again reconnects.
//!
//! Each time the host is reachable and its containers are listed. Needs the
//! first engine with the test image (`./dev.sh test`) and the loopback
//! network's 127.0.0.0/8 (Linux answers on all of it).

mod common;

use common::agent::*;
use common::docker::TestContainer;
use common::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Connections the crowd keeps open.
const CROWD: usize = 1_000;
/// How soon a crowd's connection is opened again once the agent closed it
/// (the user's crowd renewed every 10 s; this one presses harder).
const RENEW: Duration = Duration::from_millis(500);

/// `CROWD` idle TCP connections to the agent at `port`, spread over
/// `sources`, each opened again `RENEW` after it ends; stopped when dropped.
struct Crowd {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    /// Connections opened so far (the agent closes them, so more than CROWD in time).
    opened: Arc<AtomicUsize>,
}

impl Crowd {
    async fn start(port: u16, sources: &[Ipv4Addr]) -> Crowd {
        let (stop, stopped) = watch::channel(false);
        let opened = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for i in 0..CROWD {
            let (source, opened, mut stopped) = (sources[i % sources.len()], opened.clone(), stopped.clone());
            tasks.spawn(async move {
                let agent = SocketAddr::from(([127, 0, 0, 1], port));
                loop {
                    let socket = TcpSocket::new_v4().unwrap();
                    socket.bind(SocketAddr::from((source, 0))).unwrap();
                    if let Ok(mut tcp) = socket.connect(agent).await {
                        opened.fetch_add(1, Ordering::Relaxed);
                        // Idle: nothing sent, until the agent closes it.
                        let mut byte = [0u8; 1];
                        tokio::select! {
                            _ = tcp.read(&mut byte) => {}
                            _ = stopped.changed() => return,
                        }
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(RENEW) => {}
                        _ = stopped.changed() => return,
                    }
                }
            });
        }
        let crowd = Crowd { stop, tasks, opened };
        let opened = crowd.opened.clone();
        until(&format!("{CROWD} idle connections are open"), 60, async || {
            (opened.load(Ordering::Relaxed) >= CROWD).then_some(())
        })
        .await;
        crowd
    }

    async fn stop(mut self) -> usize {
        self.stop.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
        self.opened.load(Ordering::Relaxed)
    }
}

/// Host `edge` is reachable and lists `container`, which berth also
/// inspects through the agent.
async fn serves(server: &Server, client: &reqwest::Client, container: &str, what: &str) {
    let status = reachable(server, client, "edge", 60).await;
    assert_eq!(status["transport"], "agent", "{what}: {status}");
    wait_for_state_on(server, client, "edge", container, "running").await;
    let inspect = get_json(server, client, &format!("/api/v1/hosts/edge/containers/{container}")).await;
    assert_eq!(inspect["name"], container, "{what}: {inspect}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_keep_berth_from_its_agent() {
    let container = TestContainer::run(&unique("flood"), &[], &["sleep", "3600"]);
    let agent_dir = AgentDir::init(&[]);
    let mut agent = agent_dir.start(None, &[]);

    // One address: a berth new to the agent connects.
    let crowd = Crowd::start(agent_dir.port, &[Ipv4Addr::new(127, 0, 0, 2)]).await;
    let (_dir, server, client) = berth_with(vec![agent_dir.host("edge")]).await;
    serves(&server, &client, &container.0, "beside a crowd from one address").await;
    let opened = crowd.stop().await;
    eprintln!("one address: {opened} idle connections opened");

    // A hundred addresses, and the agent restarted: it knows no core, and
    // berth reconnects among the crowd.
    let sources: Vec<Ipv4Addr> = (1..=100).map(|i| Ipv4Addr::new(127, 0, 1, i)).collect();
    let crowd = Crowd::start(agent_dir.port, &sources).await;
    agent.kill();
    until("edge is unreachable", 30, async || {
        let s = host_status(&server, &client, "edge").await;
        (s["reachable"] == false).then_some(())
    })
    .await;
    let mut agent = agent_dir.start(None, &[]);
    serves(
        &server,
        &client,
        &container.0,
        "after the agent restarted, beside a crowd",
    )
    .await;

    // And a berth started again reconnects too.
    server.stop().await.unwrap();
    let (_dir, server, client) = berth_with(vec![agent_dir.host("edge")]).await;
    serves(&server, &client, &container.0, "a berth started again, beside a crowd").await;
    let opened = crowd.stop().await;
    eprintln!("a hundred addresses: {opened} idle connections opened");

    assert!(agent.running(), "the agent exited:\n{}", agent.log());
    let log = agent.log();
    assert!(!log.contains("panicked"), "the agent's log:\n{log}");
    server.stop().await.unwrap();
}
