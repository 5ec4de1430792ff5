//! Containers' logs end to end, against a real server, the real engine and
//! containers of the test image:
//! - 20,000 lines printed at full speed, followed over `/ws/logs`: every
//!   one arrives, in order, once, in far fewer frames than lines; viewers
//!   joining later get their backfill (from the ring, and from the engine
//!   beyond it) and then live lines without a gap or a line twice;
//! - two containers merged in time order, stderr told apart;
//! - a container that stops is told (`end`) and its restart followed;
//! - REST: tail, since and until (RFC 3339 and Unix seconds), the search
//!   (text, regex, case, invert, stream), and every bad request refused
//!   with a message that says why; the websocket's bad requests likewise;
//! - someone without the logs right is refused, and that recorded once;
//!   a download is a file of `TIME STREAM TEXT` lines, recorded with its
//!   line count and size;
//! - a host reached through `berth agent`: followed, read and downloaded
//!   the same way.

mod common;

use berth_core::model::{LogFeed, LogLine, LogStream, MAX_MERGED, format_rfc3339};
use common::agent::{AgentDir, berth_with, reachable};
use common::docker::{TestContainer, docker};
use common::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/ws/logs` on `host` with `query` (`containers=…&tail=…`).
async fn follow(server: &Server, client: &reqwest::Client, host: &str, query: &str) -> Socket {
    let resp = client
        .post(server.url("/api/logs_ticket"))
        .form(&[("host", host)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "logs_ticket: {}", resp.text().await.unwrap());
    let ticket: String = resp.json().await.unwrap();
    let url = format!(
        "{}/ws/logs?ticket={ticket}&{query}",
        server.base.replace("http://", "ws://")
    );
    tokio_tungstenite::connect_async(url).await.expect("the socket opens").0
}

/// What came next: a feed message, or the close code.
#[derive(Debug)]
enum Got {
    Feed(LogFeed),
    Closed(Option<u16>),
}

async fn next(socket: &mut Socket, secs: u64) -> Got {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(secs), socket.next())
            .await
            .unwrap_or_else(|_| panic!("nothing within {secs} s"));
        match msg {
            Some(Ok(Message::Text(t))) => return Got::Feed(serde_json::from_str(&t).expect("a LogFeed")),
            Some(Ok(Message::Close(frame))) => return Got::Closed(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Got::Closed(None),
        }
    }
}

/// Lines until `Live`, and how many frames they came in.
async fn backfill(socket: &mut Socket) -> (Vec<LogLine>, usize) {
    let (mut lines, mut frames) = (Vec::new(), 0);
    loop {
        match next(socket, 30).await {
            Got::Feed(LogFeed::Lines { lines: l }) => {
                lines.extend(l);
                frames += 1;
            }
            Got::Feed(LogFeed::Live) => return (lines, frames),
            other => panic!("before live: {other:?}"),
        }
    }
}

/// Live lines until `done` says so (a gap fails the test), and the frames.
async fn live_until(socket: &mut Socket, done: impl Fn(&[LogLine]) -> bool) -> (Vec<LogLine>, usize) {
    let (mut lines, mut frames) = (Vec::new(), 0);
    while !done(&lines) {
        match next(socket, 30).await {
            Got::Feed(LogFeed::Lines { lines: l }) => {
                lines.extend(l);
                frames += 1;
            }
            other => panic!("live, after {} lines: {other:?}", lines.len()),
        }
    }
    (lines, frames)
}

fn texts(lines: &[LogLine]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

/// The test container's whole log as it prints it.
fn expected(lines: u32, ticks: u32) -> Vec<String> {
    (0..lines)
        .map(|i| format!("line {i}"))
        .chain((0..ticks).map(|j| format!("tick {j}")))
        .collect()
}

/// `texts` is a run of `all` without a gap or a repeat: where it starts.
fn run_of(all: &[String], texts: &[&str]) -> usize {
    let start = all
        .iter()
        .position(|l| l == texts[0])
        .unwrap_or_else(|| panic!("{} is not in the log", texts[0]));
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(all.get(start + i).map(String::as_str), Some(*t), "line {i} of the run");
    }
    start
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_line_arrives_once_in_order_and_late_viewers_meet_live_without_a_seam() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let name = unique("flood");
    let script = "sleep 2; i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; \
                  j=0; while true; do echo tick $j; j=$((j+1)); sleep 0.02; done";
    let _c = TestContainer::run(&name, &[], &["sh", "-c", script]);
    wait_for_state(&server, &client, &name, "running").await;

    // Following from the start (with whatever it printed before, if anything).
    let mut first = follow(&server, &client, "local", &format!("containers={name}&tail=all")).await;
    let (mut got, _) = backfill(&mut first).await;
    let before = got.len();
    let (live, frames) = live_until(&mut first, |l| l.iter().any(|l| l.text == "line 19999")).await;
    got.extend(live);
    let lines: Vec<&str> = texts(&got).into_iter().filter(|t| t.starts_with("line ")).collect();
    let all = expected(20_000, 0);
    assert_eq!(lines.len(), 20_000, "every line once");
    run_of(&all, &lines);
    assert!(
        frames < 2_000,
        "{} live lines came in {frames} frames: they are batched",
        got.len() - before
    );
    assert!(
        got.iter()
            .all(|l| l.stream == LogStream::Stdout && l.container.len() == 64)
    );
    assert!(got.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns), "in time order");
    println!("20000 lines: {before} as backfill, the rest live in {frames} frames");

    // Later viewers: beyond the ring (from the engine, then the ring), and within it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = expected(20_000, 100_000);
    for tail in [5_000usize, 100] {
        let mut late = follow(&server, &client, "local", &format!("containers={name}&tail={tail}")).await;
        let (mut seen, _) = backfill(&mut late).await;
        assert_eq!(seen.len(), tail, "tail={tail}");
        let (more, _) = live_until(&mut late, |l| l.len() >= 20).await;
        seen.extend(more);
        let start = run_of(&all, &texts(&seen));
        assert!(start + tail > 20_000, "tail={tail}: it reaches the ticks");
        late.close(None).await.ok();
    }
    // The first viewer went on meanwhile, without a gap.
    let (more, _) = live_until(&mut first, |l| l.len() >= 20).await;
    got.extend(more);
    run_of(&all, &texts(&got));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_containers_merge_in_time_order_and_stderr_is_told_apart() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let (a, b) = (unique("merge-a"), unique("merge-b"));
    let print = |label: &str, to_stderr: bool| {
        let redirect = if to_stderr { " >&2" } else { "" };
        // Both wait for /go, so they print at once however slowly they started.
        format!(
            "while [ ! -e /go ]; do sleep 0.05; done; i=0; while [ $i -lt 40 ]; do echo {label} $i{redirect}; i=$((i+1)); sleep 0.02; done; sleep 3600"
        )
    };
    let _a = TestContainer::run(&a, &[], &["sh", "-c", &print("a", false)]);
    let _b = TestContainer::run(&b, &[], &["sh", "-c", &print("b", true)]);
    wait_for_state(&server, &client, &a, "running").await;
    wait_for_state(&server, &client, &b, "running").await;
    for name in [&a, &b] {
        let go = std::process::Command::new("docker")
            .args(["exec", name, "sh", "-c", ": > /go"])
            .output()
            .unwrap();
        assert!(go.status.success(), "{}", String::from_utf8_lossy(&go.stderr));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut socket = follow(&server, &client, "local", &format!("containers={a},{b}&tail=all")).await;
    let (lines, _) = backfill(&mut socket).await;
    assert_eq!(lines.len(), 80, "{:?}", texts(&lines));
    assert!(lines.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns), "merged by time");
    let of = |label: &str| -> Vec<&LogLine> { lines.iter().filter(|l| l.text.starts_with(label)).collect() };
    for (label, stream) in [("a ", LogStream::Stdout), ("b ", LogStream::Stderr)] {
        let mine = of(label);
        assert_eq!(mine.len(), 40);
        assert!(mine.iter().all(|l| l.stream == stream), "{label} on {stream:?}");
        let numbers: Vec<u32> = mine.iter().map(|l| l.text[2..].parse().unwrap()).collect();
        assert_eq!(numbers, (0..40).collect::<Vec<_>>(), "each container in its own order");
    }
    let ids: std::collections::BTreeSet<&str> = lines.iter().map(|l| l.container.as_str()).collect();
    assert_eq!(ids.len(), 2);
    // Interleaved, not one after the other.
    let switches = lines.windows(2).filter(|w| w[0].container != w[1].container).count();
    assert!(switches > 10, "{switches}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_container_is_told_and_its_restart_followed() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let name = unique("restart");
    let _c = TestContainer::run(&name, &[], &["sh", "-c", "echo up; sleep 2; echo down"]);
    wait_for_state(&server, &client, &name, "running").await;
    let mut socket = follow(&server, &client, "local", &format!("containers={name}&tail=10")).await;
    let (mut seen, _) = backfill(&mut socket).await;
    let reason = loop {
        match next(&mut socket, 20).await {
            Got::Feed(LogFeed::Lines { lines }) => seen.extend(lines),
            Got::Feed(LogFeed::End { reason, .. }) => break reason,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(texts(&seen), ["up", "down"]);
    assert_eq!(reason, "the container stopped (exit code 0)");
    docker(&["start", &name]);
    let (again, _) = live_until(&mut socket, |l| l.iter().any(|l| l.text == "up")).await;
    assert_eq!(texts(&again)[0], "up", "the restart's lines follow, nothing twice");
    server.stop().await.unwrap();
}

async fn get(server: &Server, client: &reqwest::Client, path: &str) -> (u16, Value) {
    let resp = client.get(server.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn rest_texts(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("not a list: {body}"))
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_reads_a_range_its_tail_and_searches_and_refuses_bad_requests_saying_why() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let name = unique("rest");
    let script = "i=0; while [ $i -lt 10 ]; do echo line $i; echo ERR $i >&2; i=$((i+1)); sleep 0.1; done; sleep 3600";
    let _c = TestContainer::run(&name, &[], &["sh", "-c", script]);
    let base = format!("/api/v1/hosts/local/containers/{name}/logs");
    let all = until("the container printed its 20 lines", 20, async || {
        let (status, body) = get(&server, &client, &base).await;
        assert_eq!(status, 200, "{body}");
        (body.as_array().unwrap().len() == 20).then_some(body)
    })
    .await;
    let lines: Vec<LogLine> = serde_json::from_value(all.clone()).unwrap();
    // Each stream in its own order (the engine copies the two apart, so
    // one may run ahead of the other by a little).
    let outs: Vec<&str> = lines
        .iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(outs, (0..10).map(|i| format!("line {i}")).collect::<Vec<_>>());
    assert!(
        lines
            .iter()
            .filter(|l| l.text.starts_with("ERR"))
            .all(|l| l.stream == LogStream::Stderr)
    );

    let (_, tail) = get(&server, &client, &format!("{base}?tail=3")).await;
    assert_eq!(rest_texts(&tail), rest_texts(&all)[17..], "the last three");

    // since (RFC 3339) and until (Unix seconds), inclusive, to the nanosecond.
    let outs: Vec<&LogLine> = lines.iter().filter(|l| l.text.starts_with("line")).collect();
    let since = format_rfc3339(outs[3].ts_ns);
    let until_s = format!("{}.{:09}", outs[6].ts_ns / 1_000_000_000, outs[6].ts_ns % 1_000_000_000);
    let (status, range) = get(
        &server,
        &client,
        &format!("{base}?since={since}&until={until_s}&stream=stdout"),
    )
    .await;
    assert_eq!(status, 200, "{range}");
    assert_eq!(rest_texts(&range), ["line 3", "line 4", "line 5", "line 6"]);
    let (_, last_two) = get(&server, &client, &format!("{base}?until={until_s}&tail=2")).await;
    let before: Vec<&str> = lines
        .iter()
        .filter(|l| l.ts_ns <= outs[6].ts_ns)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        rest_texts(&last_two),
        before[before.len() - 2..],
        "the last two up to until, not the last two that are"
    );

    // The search: a text ignoring case, a regex, inverted, one stream.
    let (_, found) = get(&server, &client, &format!("{base}?search=LINE%205")).await;
    assert_eq!(rest_texts(&found), ["line 5"]);
    let (_, found) = get(&server, &client, &format!("{base}?search=LINE%205&case=true")).await;
    assert!(rest_texts(&found).is_empty());
    let (_, found) = get(
        &server,
        &client,
        &format!("{base}?search=%5E(line|ERR)%20%5B2-3%5D%24&regex=true"),
    )
    .await;
    let mut found = rest_texts(&found);
    found.sort();
    assert_eq!(found, ["ERR 2", "ERR 3", "line 2", "line 3"]);
    let (_, found) = get(&server, &client, &format!("{base}?search=line&invert=true")).await;
    assert_eq!(rest_texts(&found).len(), 10);
    assert!(rest_texts(&found).iter().all(|t| t.starts_with("ERR")));

    // Bad requests: 400 with a message that says what is wrong.
    let long = "x".repeat(600);
    for (query, says) in [
        ("tail=-1", "tail must be a whole number"),
        ("tail=100001", "tail must be a whole number"),
        ("since=yesterday", "since must be a time"),
        ("since=2000&until=1000", "'since' must be before 'until'"),
        ("search=(unclosed&regex=true", "not a valid regular expression"),
        (&format!("search={long}"), "at most 512 characters"),
        ("stream=stdin", "stream must be stdout or stderr"),
        ("regex=maybe", "regex must be true or false"),
    ] {
        let (status, body) = get(&server, &client, &format!("{base}?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{query}: {body}");
    }
    let (status, body) = get(&server, &client, "/api/v1/hosts/local/containers/berth-logs-none/logs").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = get(
        &server,
        &client,
        "/api/v1/hosts/local/containers/..%2Fimages%2Fjson/logs",
    )
    .await;
    assert_eq!(status, 400);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_refuses_bad_requests_with_an_error_frame_that_says_why() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let name = unique("ws-errors");
    let _c = TestContainer::run(&name, &[], &["sleep", "3600"]);
    wait_for_state(&server, &client, &name, "running").await;
    let many = vec![name.as_str(); MAX_MERGED + 1].join(",");
    for (query, says, code) in [
        (
            format!("containers={name}&tail=lots"),
            "tail must be a whole number",
            4400,
        ),
        (
            format!("containers={name}&since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z"),
            "'since' must be before 'until'",
            4400,
        ),
        (
            format!("containers={name}&until=2029-01-01T00:00:00Z"),
            "cannot follow",
            4400,
        ),
        (
            "containers=berth-logs-nobody".to_string(),
            "there is no container 'berth-logs-nobody'",
            4404,
        ),
        ("tail=5".to_string(), "name at least one container", 4400),
        (format!("containers={many}"), "at most 32 containers", 4400),
    ] {
        let mut socket = follow(&server, &client, "local", &query).await;
        match next(&mut socket, 10).await {
            Got::Feed(LogFeed::Error { message }) => assert!(message.contains(says), "{query}: {message}"),
            other => panic!("{query}: {other:?}"),
        }
        match next(&mut socket, 10).await {
            Got::Closed(c) => assert_eq!(c, Some(code), "{query}"),
            other => panic!("{query}: {other:?}"),
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_logs_right_one_is_refused_once_on_record_and_downloads_are_recorded() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let name = unique("download");
    let _c = TestContainer::run(
        &name,
        &[],
        &["sh", "-c", "echo one; echo two >&2; echo three; sleep 3600"],
    );
    wait_for_state(&server, &admin, &name, "running").await;

    let viewer = plain_user(&server, &admin, "viewer", PASSWORD).await;
    let id = get_json(&server, &viewer, "/api/v1/me").await["user"]["id"]
        .as_u64()
        .unwrap();
    let grants = admin
        .put(server.url(&format!("/api/v1/users/{id}/grants")))
        .json(&serde_json::json!([{ "host": "local", "level": "view" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(grants.status(), 200);
    let refused = viewer
        .post(server.url("/api/logs_ticket"))
        .form(&[("host", "local")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let (status, body) = get(&server, &viewer, &format!("/api/v1/hosts/local/containers/{name}/logs")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("the logs right on host local"),
        "{body}"
    );
    let denied = events(&server, &admin, "kind=container.logs&actor=viewer").await;
    let denied = denied["events"].as_array().unwrap();
    assert_eq!(denied.len(), 2, "the ticket and the read, each once: {denied:?}");
    assert!(denied.iter().all(|e| e["outcome"]["status"] == "denied"));

    // The download: a file of lines, on record with its count and size.
    let resp = admin
        .get(server.url(&format!("/api/v1/hosts/local/containers/{name}/logs/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"].to_str().unwrap().to_string();
    assert_eq!(disposition, format!("attachment; filename=\"{name}.log\""));
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = resp.text().await.unwrap();
    let mut lines: Vec<&str> = body
        .lines()
        .map(|l| {
            let (ts, rest) = l.split_once(' ').unwrap();
            assert!(berth_core::model::parse_rfc3339(ts).is_some(), "{ts}");
            rest
        })
        .collect();
    lines.sort();
    assert_eq!(lines, ["stderr two", "stdout one", "stdout three"], "{body}");
    let plain = admin
        .get(server.url(&format!(
            "/api/v1/hosts/local/containers/{name}/logs/download?timestamps=false&stream=stdout"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(plain, "stdout one\nstdout three\n");
    // Nothing in range: an empty file (the engine's stream ends at once).
    let empty = admin
        .get(server.url(&format!(
            "/api/v1/hosts/local/containers/{name}/logs/download?since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00Z"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 200);
    assert_eq!(empty.text().await.unwrap(), "");
    let recorded = until("the three downloads are recorded", 10, async || {
        let page = events(&server, &admin, "kind=logs.download").await;
        let list = page["events"].as_array().unwrap().clone();
        (list.len() == 3).then_some(list)
    })
    .await;
    assert_eq!(recorded[0]["details"]["lines"], 0, "{}", recorded[0]);
    assert_eq!(recorded[0]["details"]["complete"], true, "{}", recorded[0]);
    let recorded = &recorded[1..];
    let first = &recorded[1];
    assert_eq!(first["actor"]["name"], ADMIN);
    assert_eq!(first["host"], "local");
    assert_eq!(first["target"], format!("container:{name}"));
    assert_eq!(first["details"]["lines"], 3, "{first}");
    assert_eq!(first["details"]["bytes"], body.len(), "{first}");
    assert_eq!(first["details"]["complete"], true);
    assert_eq!(first["details"]["containers"][0], name.as_str());
    assert_eq!(recorded[0]["details"]["lines"], 2);

    // A container whose logs the engine refuses to read: the refusal is the
    // answer's status and says why, not a file that breaks off.
    let silent = unique("no-driver");
    let _s = TestContainer::run(&silent, &["--log-driver", "none"], &["sleep", "3600"]);
    wait_for_state(&server, &admin, &silent, "running").await;
    let resp = admin
        .get(server.url(&format!("/api/v1/hosts/local/containers/{silent}/logs/download")))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert!(status >= 400, "{status} {body}");
    assert!(body["error"].as_str().unwrap().contains("logging driver"), "{body}");
    let refused = until("the refused download is recorded", 10, async || {
        let page = events(
            &server,
            &admin,
            &format!("kind=logs.download&target=container:{silent}"),
        )
        .await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(refused["outcome"]["status"], "error", "{refused}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_through_an_agent_is_followed_read_and_downloaded_the_same_way() {
    let agent_dir = AgentDir::init(&[]);
    let _agent = agent_dir.start(None, &[]);
    let (_dir, server, client) = berth_with(vec![agent_dir.host("edge")]).await;
    reachable(&server, &client, "edge", 30).await;
    let name = unique("agent");
    let script = "sleep 2; i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done; echo oops >&2; sleep 3600";
    let _c = TestContainer::run(&name, &[], &["sh", "-c", script]);
    wait_for_state_on(&server, &client, "edge", &name, "running").await;
    let mut socket = follow(&server, &client, "edge", &format!("containers={name}&tail=all")).await;
    let (mut got, _) = backfill(&mut socket).await;
    let seen = |l: &[LogLine], text: &str| l.iter().any(|l| l.text == text);
    if !(seen(&got, "line 4999") && seen(&got, "oops")) {
        let (live, _) = live_until(&mut socket, |l| seen(l, "line 4999") && seen(l, "oops")).await;
        got.extend(live);
    }
    // Stdout in order, each line once; stderr's line where the engine put it.
    let outs: Vec<&str> = got
        .iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(outs, expected(5_000, 0), "every line once, in order");
    let errs: Vec<&str> = got
        .iter()
        .filter(|l| l.stream == LogStream::Stderr)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(errs, ["oops"]);

    let (status, tail) = get(
        &server,
        &client,
        &format!("/api/v1/hosts/edge/containers/{name}/logs?tail=2"),
    )
    .await;
    assert_eq!(status, 200, "{tail}");
    let tail = rest_texts(&tail);
    assert!(tail.len() == 2 && tail.contains(&"line 4999".to_string()), "{tail:?}");
    let file = client
        .get(server.url(&format!(
            "/api/v1/hosts/edge/containers/{name}/logs/download?timestamps=false"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(file.lines().count(), 5_001);
    server.stop().await.unwrap();
}
