//! Peers of a `berth agent` other than berth, against a real agent process
//! in front of the first engine that a real berth server also uses as a
//! host (`common/agent.rs` has what the agent tests share):
//! - hostile peers (oversized, non-JSON, out of order, wrong token, unknown
//!   request, crowds, a socket that never starts TLS, a core that goes
//!   silent) are each turned away alone, in time, while berth's connection
//!   to the same agent keeps working;
//! - a connection stays answered under load: pings while many slow calls
//!   wait their turn, a frame arriving in pieces while calls complete.
//!
//! Needs the first engine with the test image (`./dev.sh test`).
//! The agents' logs are in their temporary directories while a test runs;
//! a failing assertion prints the one it is about.

mod common;

use berth_core::agent::protocol::{Act, Answer, Containers, FromAgent, Hello, Machine, Refusal, Request, ToAgent};
use berth_core::agent::wire;
use berth_core::engine::EngineError;
use berth_core::model::ContainerAction;
use common::agent::*;
use common::docker::TestContainer;
use common::*;
use std::time::{Duration, Instant};

/// What a peer got: a refusal of `reason`, and then the end.
fn refused(got: Read1, then: Read1, reason: Refusal, what: &str) {
    match got {
        Read1::Frame(FromAgent::Refused(r)) => {
            assert_eq!(r.reason, reason, "{what}: {r:?}");
            assert!(!r.message.is_empty(), "{what}");
        }
        other => panic!("{what}: the agent answered {other:?}"),
    }
    assert!(
        matches!(then, Read1::Closed),
        "{what}: the connection stayed open ({then:?})"
    );
}

/// An agent in front of the first engine with a running container, and a
/// berth connected to it as host `target`: what hostile peers try to harm.
struct Target {
    agent_dir: AgentDir,
    agent: AgentProcess,
    container: TestContainer,
    server: Server,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Target {
    async fn start(name: &str) -> Target {
        let container = TestContainer::run(&unique(name), &[], &["sleep", "3600"]);
        let agent_dir = AgentDir::init(&[]);
        let agent = agent_dir.start(None, &[]);
        let (_dir, server, client) = berth_with(vec![agent_dir.host("target")]).await;
        reachable(&server, &client, "target", 30).await;
        Target {
            agent_dir,
            agent,
            container,
            server,
            client,
            _dir,
        }
    }

    /// berth's own connection never noticed: the host stayed reachable,
    /// and the agent still answers for the engine (an inspect goes to it
    /// each time). Then berth stops.
    async fn still_serves_berth(mut self) {
        let (server, client) = (&self.server, &self.client);
        let status = host_status(server, client, "target").await;
        assert_eq!(status["reachable"], true, "{status}");
        let lost = events(server, client, "kind=host.disconnect&host=target").await;
        assert!(
            lost["events"].as_array().unwrap().is_empty(),
            "berth lost the agent: {lost}"
        );
        let name = &self.container.0;
        let resp = post(
            server,
            client,
            &format!("/api/v1/hosts/target/containers/{name}/restart?timeout=1"),
        )
        .await;
        assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
        let inspect = get_json(server, client, &format!("/api/v1/hosts/target/containers/{name}")).await;
        assert_eq!(inspect["name"], name.as_str(), "{inspect}");
        wait_for_state_on(server, client, "target", name, "running").await;
        assert!(self.agent.running(), "the agent exited:\n{}", self.agent.log());
        let log = self.agent.log();
        assert!(!log.contains("panicked"), "the agent's log:\n{log}");
        assert!(!log.contains(&self.agent_dir.token), "the token in the agent's log");
        self.server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_first_frames_and_unknown_requests_are_answered_alone() {
    let target = Target::start("bad-frames").await;
    let (port, token) = (target.agent_dir.port, target.agent_dir.token.clone());
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(30);
        // A length over the limit, before anything else.
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        peer.send_raw(&(u32::MAX).to_be_bytes()).unwrap();
        refused(
            peer.read(),
            peer.read(),
            Refusal::Handshake,
            "an oversized length prefix",
        );

        // A length within what a core may send, but far over what a hello needs.
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        peer.send_raw(&(1u32 << 20).to_be_bytes()).unwrap();
        match peer.read() {
            Read1::Frame(FromAgent::Refused(r)) => {
                assert_eq!(r.reason, Refusal::Handshake);
                assert!(r.message.contains("over the limit of 65536"), "{}", r.message);
            }
            other => panic!("a 1 MiB hello was answered with {other:?}"),
        }
        assert!(matches!(peer.read(), Read1::Closed));

        // Bytes that are not JSON.
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        let mut junk = 6u32.to_be_bytes().to_vec();
        junk.extend_from_slice(b"\xff\xfe<<>>");
        peer.send_raw(&junk).unwrap();
        refused(peer.read(), peer.read(), Refusal::Handshake, "non-JSON bytes");

        // JSON, but a call before any hello.
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        let request = serde_json::to_value(Request::from(Containers {})).unwrap();
        peer.send(&ToAgent::Call { id: 1, request }).unwrap();
        refused(peer.read(), peer.read(), Refusal::Handshake, "a call before the hello");

        // A wrong token.
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        let got = peer.hello(&"f".repeat(64));
        refused(got, peer.read(), Refusal::Token, "a wrong token");

        // A request this agent does not know, after a good hello: an error
        // reply, and the connection stays open.
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        assert!(matches!(peer.hello(&token), Read1::Frame(FromAgent::Welcome(_))));
        let request = serde_json::json!({"op": "FormatDisk", "args": {"device": "/dev/sda"}});
        peer.send(&ToAgent::Call { id: 7, request }).unwrap();
        match peer.read() {
            Read1::Frame(FromAgent::Reply {
                id: 7,
                result: Answer::Err(EngineError::Rejected(why)),
            }) => assert!(why.contains("does not know this request"), "{why}"),
            other => panic!("an unknown request was answered with {other:?}"),
        }
        peer.send(&ToAgent::Ping { id: 8 }).unwrap();
        assert!(matches!(peer.read(), Read1::Frame(FromAgent::Pong { id: 8 })));
        let request = serde_json::to_value(Request::from(Containers {})).unwrap();
        peer.send(&ToAgent::Call { id: 9, request }).unwrap();
        let answered = peer.read();
        assert!(
            matches!(
                answered,
                Read1::Frame(FromAgent::Reply {
                    id: 9,
                    result: Answer::Ok(_)
                })
            ),
            "{answered:?}"
        );
        // A second hello on a welcomed connection ends it.
        peer.send(&ToAgent::Hello(Hello {
            protocol: 1,
            core: "again".into(),
            token,
            heartbeat_ms: 0,
        }))
        .unwrap();
        assert!(matches!(peer.read(), Read1::Closed));
    })
    .await
    .unwrap();
    target.still_serves_berth().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowds_are_turned_away_without_locking_berth_out() {
    let target = Target::start("crowds").await;
    let (port, token) = (target.agent_dir.port, target.agent_dir.token.clone());
    let timeout = Duration::from_secs(30);

    // A crowd that completes TLS and then says nothing holds no place of a
    // core: a core with the token is still let in meanwhile.
    let core_token = token.clone();
    tokio::task::spawn_blocking(move || {
        let crowd: Vec<RawPeer> = (0..40).map(|_| RawPeer::connect(port, timeout).unwrap()).collect();
        let mut core = RawPeer::connect(port, timeout).unwrap();
        match core.hello(&core_token) {
            Read1::Frame(FromAgent::Welcome(_)) => {}
            other => panic!("with 40 silent peers connected, a core with the token got {other:?}"),
        }
        drop(crowd);
    })
    .await
    .unwrap();

    // Many at once: wrong tokens, oversized frames, and more cores with the
    // token than the agent serves. Each is refused alone; the cores beyond
    // the limit are told the agent is busy.
    let mut crowd = Vec::new();
    for i in 0..48 {
        let token = token.clone();
        crowd.push(tokio::task::spawn_blocking(move || {
            let mut peer = RawPeer::connect(port, timeout).unwrap();
            match i % 3 {
                0 => {
                    let got = peer.hello(&format!("{i:064}"));
                    refused(got, peer.read(), Refusal::Token, "one of many wrong tokens");
                    None
                }
                1 => {
                    peer.send_raw(&(u32::MAX).to_be_bytes()).unwrap();
                    refused(
                        peer.read(),
                        peer.read(),
                        Refusal::Handshake,
                        "one of many oversized frames",
                    );
                    None
                }
                _ => match peer.hello(&token) {
                    // Held open until the whole crowd is done.
                    Read1::Frame(FromAgent::Welcome(_)) => Some(Ok(peer)),
                    got => {
                        refused(got, peer.read(), Refusal::Busy, "a core too many");
                        Some(Err(()))
                    }
                },
            }
        }));
    }
    let mut cores = Vec::new();
    for peer in crowd {
        cores.extend(peer.await.unwrap());
    }
    let busy = cores.iter().filter(|c| c.is_err()).count();
    eprintln!(
        "16 cores with the token beside berth: {} welcomed, {busy} refused as busy",
        cores.len() - busy
    );
    assert!(busy >= 1, "17 cores at once, and none was refused");
    assert!(busy < cores.len(), "no core was welcomed");
    drop(cores);
    target.still_serves_berth().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peers_are_dropped_in_time_without_holding_up_others() {
    let target = Target::start("silence").await;
    let (port, token) = (target.agent_dir.port, target.agent_dir.token.clone());
    let timeout = Duration::from_secs(30);

    // A socket that never starts TLS.
    let socket = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(timeout)).unwrap();
        let opened = Instant::now();
        let read = std::io::Read::read(&mut tcp, &mut [0u8; 1]);
        let closed = matches!(&read, Ok(0)) || read.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset);
        closed.then(|| opened.elapsed())
    });
    // A core that said it pings every second, and then went silent (its
    // machine gone without a word): dropped, so that its place is free.
    let core_token = token.clone();
    let core = tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        let welcome = peer.hello_pinging(&core_token, 1000);
        assert!(matches!(welcome, Read1::Frame(FromAgent::Welcome(_))), "{welcome:?}");
        let welcomed = Instant::now();
        matches!(peer.read(), Read1::Closed).then(|| welcomed.elapsed())
    });
    // Meanwhile, another core is let in at once.
    tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(port, timeout).unwrap();
        let welcome = peer.hello(&token);
        assert!(matches!(welcome, Read1::Frame(FromAgent::Welcome(_))), "{welcome:?}");
    })
    .await
    .unwrap();

    // Each is dropped after its time (10 s: the handshake's, and three
    // heartbeats but at least that): the agent closes it, before the
    // peer's own read gives up (`timeout`, with slack for a busy machine),
    // and logs why.
    let socket = socket
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the agent kept a socket that never started TLS for {timeout:?}"));
    let core = core
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the agent kept a silent core's connection open for {timeout:?}"));
    eprintln!("the silent socket was closed after {socket:?}, the silent core after {core:?}");
    until("the agent logged both", 5, async || {
        let log = target.agent.log();
        (log.contains("no TLS handshake in time") && log.contains("the core went silent")).then_some(())
    })
    .await;
    target.still_serves_berth().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_with_many_slow_calls_still_answers_pings() {
    // PID 1 ignores SIGTERM: each stop takes its whole timeout.
    let name = unique("slow-stop");
    let _container = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let agent_dir = AgentDir::init(&[]);
    let _agent = agent_dir.start(None, &[]);
    let (port, token) = (agent_dir.port, agent_dir.token.clone());
    let calls = 100;
    let frames = tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(port, Duration::from_secs(60)).unwrap();
        assert!(matches!(peer.hello(&token), Read1::Frame(FromAgent::Welcome(_))));
        // More calls than the agent answers at once, then a ping.
        for id in 1..=calls {
            let stop = Request::from(Act {
                id: name.clone(),
                action: ContainerAction::Stop { timeout_s: Some(2) },
            });
            let request = serde_json::to_value(stop).unwrap();
            peer.send(&ToAgent::Call { id, request }).unwrap();
        }
        peer.send(&ToAgent::Ping { id: 0 }).unwrap();
        (0..=calls)
            .map(|_| match peer.read() {
                Read1::Frame(frame) => frame,
                other => panic!("the agent stopped answering: {other:?}"),
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    // The pong did not wait for the engine.
    assert_eq!(frames[0], FromAgent::Pong { id: 0 }, "{:?}", &frames[..3]);
    let mut answered: Vec<u64> = frames[1..]
        .iter()
        .map(|f| match f {
            FromAgent::Reply {
                id,
                result: Answer::Ok(_),
            } => *id,
            other => panic!("a stop was answered with {other:?}"),
        })
        .collect();
    answered.sort_unstable();
    assert_eq!(answered, (1..=calls).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_that_arrives_in_pieces_is_read_whole_while_calls_complete() {
    let agent_dir = AgentDir::init(&[]);
    let agent = agent_dir.start(None, &[]);
    let (port, token) = (agent_dir.port, agent_dir.token.clone());
    tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(port, Duration::from_secs(30)).unwrap();
        assert!(matches!(peer.hello(&token), Read1::Frame(FromAgent::Welcome(_))));
        for round in 0..3 {
            // A call that takes a moment, and the start of the next frame:
            // a slow network's way.
            let (call, ping) = (2 * round + 1, 2 * round + 2);
            let request = serde_json::to_value(Request::from(Machine {})).unwrap();
            peer.send(&ToAgent::Call { id: call, request }).unwrap();
            let frame = wire::encode(&ToAgent::Ping { id: ping }).unwrap();
            peer.send_raw(&frame[..6]).unwrap();
            // The call is answered while the agent holds half a frame.
            match peer.read() {
                Read1::Frame(FromAgent::Reply {
                    id,
                    result: Answer::Ok(_),
                }) => assert_eq!(id, call),
                other => panic!("the call was answered with {other:?}"),
            }
            peer.send_raw(&frame[6..]).unwrap();
            match peer.read() {
                Read1::Frame(FromAgent::Pong { id }) => assert_eq!(id, ping),
                other => panic!("a frame sent in two pieces was answered with {other:?}"),
            }
        }
    })
    .await
    .unwrap();
    let log = agent.log();
    assert!(!log.contains("closing the connection"), "the agent's log:\n{log}");
}
