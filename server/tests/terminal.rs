//! Terminals against the real server and the real engine (and a real
//! agent): a shell that echoes what is typed and learns its new size; the
//! process gone from the container once the browser goes; `terminal.open`
//! and `terminal.close` with their fields; the recording stored, hashed
//! into the close event, replayed as it was sent, and refused once altered
//! in the database; every refusal answered and recorded once; the idle
//! timeout and the recording cap; a terminal through an agent, and an agent
//! started `--no-exec` refusing one itself.

mod common;

use berth_core::agent::protocol::{Answer, Exec, FromAgent, Request, ToAgent};
use berth_core::engine::EngineError;
use berth_core::model::{ExecSpec, TermControl};
use common::agent::{AgentDir, RawPeer, Read1, berth_with, reachable};
use common::docker::{TestContainer, docker};
use common::terminal::*;
use common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_is_typed_into_resized_recorded_ended_and_replayed_as_sent() {
    let name = format!("berth-term-shell-{}", std::process::id());
    let _container = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let (dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    wait_for_state(&server, &admin, &name, "running").await;

    let t = ticket(&server, &admin, "local", &name).await;
    let mut term = Term::open(&server, &t, 80, 24).await;
    term.keys("echo hello-$RANDOM\r").await;
    let echoed = term
        .until("hello-<number>", 0, |text| {
            text.lines()
                .map(str::trim)
                .find(|l| l.starts_with("hello-") && l[6..].chars().all(|c| c.is_ascii_digit()) && l.len() > 6)
                .map(str::to_string)
        })
        .await;
    println!("the shell answered {echoed}");

    // The terminal's size, as the process sees it, before and after a resize.
    let mark = term.out.len();
    term.keys("busybox stty size\r").await;
    term.until("24 80", mark, |t| t.contains("24 80").then_some(())).await;
    term.resize(100, 30).await;
    let mark = term.out.len();
    term.keys("busybox stty size\r").await;
    term.until("30 100", mark, |t| t.contains("30 100").then_some(())).await;

    // Something that would outlive a careless close, then the browser goes.
    term.keys("sleep 7777\r").await;
    until("sleep 7777 runs in the container", 10, async || {
        strays(&name).iter().any(|l| l.contains("sleep 7777")).then_some(())
    })
    .await;
    term.ws.close(None).await.unwrap();
    while term.read(Duration::from_millis(200)).await {}
    // The engine says so: nothing of the terminal is left in the container.
    gone(&name).await;

    let close = newest(&server, &admin, "terminal.close", &format!("target=container:{name}")).await;
    let d = &close["details"];
    assert_eq!(close["outcome"]["status"], "ok", "{close}");
    assert_eq!(close["actor"]["name"], ADMIN);
    assert_eq!(close["host"], "local");
    assert_eq!(close["source"], "127.0.0.1");
    assert_eq!(d["command"], "/bin/sh", "{close}");
    assert_eq!(
        d["ended"], "hung_up",
        "closing the stream alone does not end a TTY's process: {close}"
    );
    assert_eq!(d["reason"], "the browser closed the terminal");
    assert!(
        d["duration_ms"].as_u64().unwrap() > 0 && d["bytes_in"].as_u64().unwrap() > 40,
        "{close}"
    );
    assert_eq!(d["bytes_out"].as_u64().unwrap(), term.out.len() as u64, "{close}");
    assert!(d["recording_stopped"].is_null(), "{close}");
    let open_seq = d["open_seq"].as_u64().unwrap();
    let open = get_json(&server, &admin, &format!("/api/v1/events/{open_seq}")).await;
    assert_eq!(open["kind"], "terminal.open", "{open}");
    assert_eq!(open["target"], format!("container:{name}"));
    assert_eq!(open["source"], "127.0.0.1");
    assert_eq!(open["details"]["command"], "/bin/sh");
    assert_eq!(
        (open["details"]["cols"].as_u64(), open["details"]["rows"].as_u64()),
        (Some(80), Some(24))
    );

    // The recording is what was sent, and its hash is in the close event.
    let seq = close["seq"].as_u64().unwrap();
    let resp = recording(&server, &admin, seq).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-asciicast");
    let cast = resp.text().await.unwrap();
    assert_eq!(hex(&cast), d["recording_sha256"].as_str().unwrap());
    assert_eq!(cast.len() as u64, d["recording_size"].as_u64().unwrap());
    assert_eq!(
        replayed(&cast),
        term.text(),
        "the replay differs from what the browser got"
    );
    assert!(cast.contains("\"r\",\"100x30\""), "the resize is not in the recording");
    assert!(!cast.contains(",\"i\","), "keystrokes were recorded as input");
    let replay = newest(&server, &admin, "terminal.replay", &format!("target=container:{name}")).await;
    assert_eq!(replay["outcome"]["status"], "ok");
    assert_eq!(replay["details"]["event"], seq);

    // Altered in the database while berth is stopped: refused, and on record.
    server.stop().await.unwrap();
    {
        use redb::ReadableTable;
        let db = redb::Database::open(dir.path().join("berth.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(berth_core::store::tables::TERMINAL_RECORDINGS).unwrap();
            let first = table.get((open_seq, 0)).unwrap().unwrap().value().to_vec();
            let altered = String::from_utf8(first).unwrap().replacen("hello-", "HELLO-", 1);
            table.insert((open_seq, 0), altered.as_bytes()).unwrap();
        }
        tx.commit().unwrap();
    }
    let server = Server::start(dir.path()).await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let resp = recording(&server, &admin, seq).await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("altered"), "{body}");
    let refused = newest(&server, &admin, "terminal.replay", "outcome=error").await;
    assert!(
        refused["outcome"]["message"].as_str().unwrap().contains("altered"),
        "{refused}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_answered_and_recorded_once() {
    let name = format!("berth-term-refuse-{}", std::process::id());
    let _container = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let (_dir, server) = Server::with_admin_config(|c| c.ticket_ttl_secs = 1).await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    wait_for_state(&server, &admin, &name, "running").await;
    let refusals = async |server: &Server, before: u64| -> Vec<Value> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        after(server, &admin, before)
            .await
            .into_iter()
            .filter(|e| e["outcome"]["status"] == "denied")
            .collect()
    };
    let once = |got: &[Value], kind: &str, reason: Option<&str>, what: &str| {
        assert_eq!(got.len(), 1, "{what}: {got:?}");
        assert_eq!(got[0]["kind"], kind, "{what}: {got:?}");
        if let Some(reason) = reason {
            assert_eq!(got[0]["details"]["reason"], reason, "{what}: {got:?}");
            assert_eq!(got[0]["details"]["feed"], "terminal", "{what}: {got:?}");
        }
    };

    // No session: no ticket, or a made-up one.
    let before = head(&server, &admin).await;
    assert_eq!(handshake(&server, "ticket=forged&cols=80&rows=24").await, 401);
    once(
        &refusals(&server, before).await,
        "ws.refused",
        Some("unknown_ticket"),
        "a forged ticket",
    );
    let resp = client()
        .post(server.url("/api/terminal_ticket"))
        .form(&[("host", "local"), ("id", &name)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a ticket without a session");

    // A used ticket.
    let t = ticket(&server, &admin, "local", &name).await;
    let mut term = Term::open(&server, &t, 80, 24).await;
    let before = head(&server, &admin).await;
    assert_eq!(handshake(&server, &format!("ticket={t}&cols=80&rows=24")).await, 401);
    once(
        &refusals(&server, before).await,
        "ws.refused",
        Some("used_ticket"),
        "a used ticket",
    );
    // A bad frame ends the session with a reason, and the close says why.
    term.ws.send(Message::Text("rm -rf /".into())).await.unwrap();
    term.until_closed().await;
    assert_eq!(term.close, Some(1008));
    let (_, reason) = term.closed().expect("a closed message");
    assert!(reason.contains("control message"), "{reason}");
    let close = newest(&server, &admin, "terminal.close", &format!("target=container:{name}")).await;
    assert!(
        close["details"]["reason"].as_str().unwrap().contains("control message"),
        "{close}"
    );

    // An expired ticket (they last one second here).
    let t = ticket(&server, &admin, "local", &name).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let before = head(&server, &admin).await;
    assert_eq!(handshake(&server, &format!("ticket={t}&cols=80&rows=24")).await, 401);
    once(
        &refusals(&server, before).await,
        "ws.refused",
        Some("expired_ticket"),
        "an expired ticket",
    );

    // A foreign page.
    let t = ticket(&server, &admin, "local", &name).await;
    let before = head(&server, &admin).await;
    assert_eq!(with_origin(&server, &t, "http://evil.example").await, 403);
    once(
        &refusals(&server, before).await,
        "ws.refused",
        Some("foreign_origin"),
        "a foreign origin",
    );
    // A wrong size is a clear 400 and spends no ticket.
    let before = head(&server, &admin).await;
    assert_eq!(handshake(&server, &format!("ticket={t}&cols=0&rows=24")).await, 400);
    assert!(refusals(&server, before).await.is_empty());

    // No right: view on the host, no terminal.
    let bob = plain_user(&server, &admin, "bob", PASSWORD).await;
    let bob_id = get_json(&server, &bob, "/api/v1/me").await["user"]["id"]
        .as_u64()
        .unwrap();
    let grant = async |terminal: bool| {
        let g = json!([{ "host": "local", "level": "view", "terminal": terminal }]);
        let r = admin
            .put(server.url(&format!("/api/v1/users/{bob_id}/grants")))
            .json(&g)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    grant(false).await;
    let before = head(&server, &admin).await;
    let resp = ask(&server, &bob, "local", &name, json!({})).await;
    assert_eq!(resp.status(), 403);
    let got = refusals(&server, before).await;
    once(&got, "terminal.open", None, "no terminal right");
    assert_eq!(got[0]["actor"]["name"], "bob");
    assert_eq!(got[0]["target"], format!("container:{name}"));
    // The right, withdrawn between the ticket and the socket.
    grant(true).await;
    let t = ticket(&server, &bob, "local", &name).await;
    grant(false).await;
    let before = head(&server, &admin).await;
    assert_eq!(handshake(&server, &format!("ticket={t}&cols=80&rows=24")).await, 403);
    once(
        &refusals(&server, before).await,
        "terminal.open",
        None,
        "the right withdrawn",
    );

    // Bad requests for a ticket say what is wrong.
    let resp = ask(&server, &admin, "local", &name, json!({ "command": "echo 'open" })).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("closing '"));
    let resp = ask(&server, &admin, "local", &name, json!({ "user": "root; rm" })).await;
    assert_eq!(resp.status(), 400);
    let resp = ask(&server, &admin, "local", "berth-term-no-such", json!({})).await;
    assert_eq!(resp.status(), 404);
    docker(&["stop", "-t", "0", &name]);
    wait_for_state(&server, &admin, &name, "exited").await;
    let resp = ask(&server, &admin, "local", &name, json!({})).await;
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("not running"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_runs_as_asked_idles_out_its_recording_stops_at_the_cap_and_the_oldest_goes_over_budget() {
    let name = format!("berth-term-idle-{}", std::process::id());
    let _container = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let (_dir, server) = Server::with_admin_config(|c| {
        c.terminal.idle_timeout_secs = 2;
        c.terminal.recording_cap_mib = 1;
        c.terminal.recordings_budget_mib = 1;
        c.terminal.recording = berth_core::terminal::RecordingMode::Continue;
    })
    .await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    wait_for_state(&server, &admin, &name, "running").await;

    // A command and a user of one's choosing.
    let resp = ask(
        &server,
        &admin,
        "local",
        &name,
        json!({ "command": "sh -c 'id -u; exec cat'", "user": "1234" }),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let t = resp.json::<Value>().await.unwrap()["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let mut term = Term::open(&server, &t, 80, 24).await;
    term.until("the user's id", 0, |t| t.contains("1234").then_some(()))
        .await;
    // Past the cap, the recording stops and the terminal goes on.
    let big = "x".repeat(1000) + "\r";
    for _ in 0..1200 {
        term.keys(&big).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !term
        .controls
        .iter()
        .any(|c| matches!(c, TermControl::RecordingStopped { .. }))
    {
        assert!(
            Instant::now() < deadline && term.read(Duration::from_millis(200)).await,
            "no recording_stopped"
        );
    }
    // Then nothing is typed: closed as idle.
    term.until_closed().await;
    let (_, reason) = term.closed().expect("closed");
    assert!(reason.contains("idle"), "{reason}");
    let close = newest(&server, &admin, "terminal.close", &format!("target=container:{name}")).await;
    let d = &close["details"];
    assert_eq!(d["command"], "sh -c 'id -u; exec cat'", "{close}");
    assert_eq!(d["user"], "1234");
    assert!(d["recording_stopped"].as_str().unwrap().contains("cap"), "{close}");
    assert!(d["recording_size"].as_u64().unwrap() <= 1 << 20, "{close}");
    assert_eq!(d["ended"], "hung_up", "{close}");
    let seq = close["seq"].as_u64().unwrap();
    let cast = recording(&server, &admin, seq).await.text().await.unwrap();
    assert_eq!(hex(&cast), d["recording_sha256"].as_str().unwrap());
    assert!(
        cast.trim_end().ends_with("\"]") && cast.contains("\"m\",\"recording stopped"),
        "no marker at the end"
    );
    assert!(strays(&name).is_empty(), "{:?}", strays(&name));

    // A second session takes all recordings past their budget (1 MiB, as
    // the cap): the first one's recording goes, on record.
    let first_open = d["open_seq"].as_u64().unwrap();
    let mut term = Term::open(&server, &ticket(&server, &admin, "local", &name).await, 80, 24).await;
    // The first recording stopped short of the cap by up to one output
    // chunk; lines under busybox's 1,024-character edit line, each at least
    // 1,800 bytes of recording (typed and echoed, then printed), make up
    // the rest with room to spare.
    let first_size = d["recording_size"].as_u64().unwrap();
    let lines = ((1u64 << 20) - first_size + 8192) / 1800 + 1;
    for i in 0..lines {
        let line = format!("{}{i}", "y".repeat(900));
        term.keys(&format!("echo {line}\r")).await;
        term.until("the long line", 0, |t| t.contains(&format!("\n{line}")).then_some(()))
            .await;
    }
    term.ws.close(None).await.unwrap();
    while term.read(Duration::from_millis(200)).await {}
    let dropped = newest(&server, &admin, "terminal.recording_dropped", "").await;
    assert_eq!(dropped["details"]["open_seq"], first_open, "{dropped}");
    assert_eq!(dropped["details"]["bytes"], d["recording_size"], "{dropped}");
    assert_eq!(dropped["host"], "local");
    assert_eq!(dropped["target"], format!("container:{name}"));
    let resp = recording(&server, &admin, seq).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("recordings_budget_mib"),
        "{body}"
    );
    let second = newest(&server, &admin, "terminal.close", &format!("target=container:{name}")).await;
    assert_ne!(second["seq"], close["seq"]);
    let resp = recording(&server, &admin, second["seq"].as_u64().unwrap()).await;
    assert_eq!(resp.status(), 200, "the newest recording stays");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_go_through_an_agent_and_a_no_exec_agent_refuses_them_itself() {
    let name = unique("term");
    let _container = TestContainer::run(&name, &[], &["sleep", "3600"]);
    let open_agent = AgentDir::init(&[]);
    let _open = open_agent.start(None, &[]);
    let closed_agent = AgentDir::init(&[]);
    let _closed = closed_agent.start(None, &["--no-exec"]);
    let (_dir, server, admin) = berth_with(vec![open_agent.host("remote"), closed_agent.host("guarded")]).await;
    reachable(&server, &admin, "remote", 30).await;
    let status = reachable(&server, &admin, "guarded", 30).await;
    assert_eq!(status["limits"]["no_exec"], true, "{status}");
    wait_for_state_on(&server, &admin, "remote", &name, "running").await;

    let t = ticket(&server, &admin, "remote", &name).await;
    let mut term = Term::open(&server, &t, 80, 24).await;
    term.keys("echo through-$((40+2))-the-agent\r").await;
    term.until("the echo", 0, |t| t.contains("through-42-the-agent").then_some(()))
        .await;
    term.resize(120, 40).await;
    let mark = term.out.len();
    term.keys("busybox stty size\r").await;
    term.until("40 120", mark, |t| t.contains("40 120").then_some(())).await;
    term.keys("sleep 8888\r").await;
    until("sleep 8888 runs", 10, async || {
        strays(&name).iter().any(|l| l.contains("sleep 8888")).then_some(())
    })
    .await;
    term.ws.close(None).await.unwrap();
    while term.read(Duration::from_millis(200)).await {}
    gone(&name).await;
    let close = newest(&server, &admin, "terminal.close", "host=remote").await;
    assert_eq!(close["details"]["ended"], "hung_up", "{close}");
    assert_eq!(close["outcome"]["status"], "ok", "{close}");

    // berth refuses before asking...
    let resp = ask(&server, &admin, "guarded", &name, json!({})).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("--no-exec"));
    // ...and the agent refuses whoever asks, with the token or not.
    let (port, token, id) = (closed_agent.port, closed_agent.token.clone(), name.clone());
    let answer = tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(port, Duration::from_secs(30)).unwrap();
        assert!(matches!(peer.hello(&token), Read1::Frame(FromAgent::Welcome(_))));
        let spec = ExecSpec {
            command: Some(vec!["sh".into()]),
            user: None,
            cols: 80,
            rows: 24,
        };
        let request = serde_json::to_value(Request::from(Exec { id, spec })).unwrap();
        peer.send(&ToAgent::Call { id: 1, request }).unwrap();
        peer.read()
    })
    .await
    .unwrap();
    match answer {
        Read1::Frame(FromAgent::Reply {
            id: 1,
            result: Answer::Err(EngineError::Forbidden(why)),
        }) => assert!(why.contains("--no-exec"), "{why}"),
        other => panic!("the --no-exec agent answered an exec with {other:?}"),
    }
    assert!(strays(&name).is_empty());
    server.stop().await.unwrap();
}
