//! Keystroke round trip through `/ws/terminal` on loopback: prints figures,
//! asserts nothing about time.
//!
//! A real `berth serve` of this build (the bench profile) and the real local
//! engine; a container running `sleep`; a terminal in it running `cat` on a
//! TTY in raw mode without echo (`busybox stty raw -echo; exec cat`), so
//! each byte comes back from `cat` itself, not from the terminal's line
//! discipline. One byte is sent as a binary frame and the clock stops when
//! it comes back: `BENCH_KEYS` (2000) times after `BENCH_WARMUP_KEYS` (100),
//! one at a time, as a person types. Then the same through a `berth agent`
//! on the same engine (host `remote`): TLS to the agent, and the agent's
//! own connection to the engine, on the way both ways.
//!
//! Needs a running engine and the test image (`./dev.sh test` provides both).
//! Run: `cargo bench -p berth-server --bench terminal`.

mod support;

use futures_util::{SinkExt, StreamExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{ADMIN, PASSWORD, add_admin, env_or};
use tokio_tungstenite::tungstenite::Message;

const IMAGE: &str = "berth-test/busybox:1";
const PREFIX: &str = "berth-bench-term-";
const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// Processes killed when dropped (at the end, and when the bench panics).
#[derive(Default)]
struct Procs(Vec<Child>);

impl Procs {
    fn spawn(&mut self, cmd: &mut Command) {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start berth");
        self.0.push(child);
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for mut c in self.0.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn berth(args: &[&str]) -> String {
    let out = Command::new(BERTH).args(args).output().expect("berth runs");
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An agent in `dir` on a free port, started; its `[[hosts]]` entry.
fn agent(procs: &mut Procs, dir: &Path) -> String {
    let port = free_port();
    let printed = berth(&[
        "agent",
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("agent init printed no {name}"))
    };
    let token_file = dir.join("token");
    std::fs::write(&token_file, field("token")).unwrap();
    procs.spawn(Command::new(BERTH).args(["agent", "--dir"]).arg(dir));
    format!(
        "[[hosts]]\nname = \"remote\"\nagent = \"https://127.0.0.1:{port}\"\ntoken_file = \"{}\"\nfingerprint = \"{}\"\n",
        token_file.display(),
        field("fingerprint")
    )
}

/// `berth serve` with `hosts`, an admin signed in, every host reachable.
async fn start(procs: &mut Procs, dir: &Path, hosts: &str) -> (String, reqwest::Client) {
    let data = dir.join("data");
    add_admin(Path::new(BERTH), &data);
    let config = dir.join("berth.toml");
    std::fs::write(&config, format!("log = \"warn\"\n{hosts}")).unwrap();
    let port = free_port();
    procs.spawn(
        Command::new(BERTH)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen", &format!("127.0.0.1:{port}")]),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let signed_in = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if signed_in {
            let hosts: serde_json::Value = support::json(client.get(format!("{base}/api/v1/hosts"))).await;
            let all = hosts["items"].as_array().unwrap();
            if all.iter().all(|h| h["reachable"] == true) {
                return (base, client);
            }
        }
        assert!(
            Instant::now() < deadline,
            "berth did not come up with every host reachable"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads binary frames until `want` bytes have come (ignoring control frames).
async fn read_bytes(ws: &mut Socket, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => got.extend_from_slice(&b),
            Ok(Some(Ok(Message::Text(_)))) | Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            other => panic!("the terminal stopped answering: {other:?}"),
        }
    }
    got
}

/// Opens a terminal running raw `cat` on `host` and measures `keys` round trips.
async fn round_trips(
    base: &str,
    client: &reqwest::Client,
    host: &str,
    container: &str,
    warmup: u64,
    keys: u64,
) -> Vec<Duration> {
    let body = serde_json::json!({ "command": "sh -c 'busybox stty raw -echo; echo ready; exec cat'" });
    let resp = client
        .post(format!("{base}/api/v1/hosts/{host}/containers/{container}/terminal"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let ticket: serde_json::Value = resp.json().await.unwrap();
    let url = format!(
        "{}{}&cols=80&rows=24",
        base.replace("http://", "ws://"),
        ticket["path"].as_str().unwrap()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // Until `cat` runs: its shell's "ready" line.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("ready") {
        seen.extend(read_bytes(&mut ws, 1).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut times = Vec::with_capacity(keys as usize);
    for i in 0..warmup + keys {
        let key = b'a' + (i % 26) as u8;
        let sent = Instant::now();
        ws.send(Message::Binary(vec![key].into())).await.unwrap();
        let back = read_bytes(&mut ws, 1).await;
        let took = sent.elapsed();
        assert_eq!(back, [key], "cat sent back something else");
        if i >= warmup {
            times.push(took);
        }
    }
    ws.close(None).await.unwrap();
    times
}

fn print(label: &str, times: &mut [Duration]) {
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    println!(
        "{label}: {} keystrokes: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean {:.3} ms",
        times.len(),
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(at(1.0)),
        mean
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let keys = env_or("BENCH_KEYS", 2000);
    let warmup = env_or("BENCH_WARMUP_KEYS", 100);
    let _cleanup = support::Cleanup(PREFIX);
    support::remove_containers(PREFIX);
    let name = format!("{PREFIX}cat");
    let out = Command::new("docker")
        .args(["run", "-d", "--name", &name, IMAGE, "sleep", "3600"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let mut procs = Procs::default();
    let host = agent(&mut procs, &agent_dir);
    let (base, client) = start(&mut procs, dir.path(), &host).await;

    let mut local = round_trips(&base, &client, "local", &name, warmup, keys).await;
    print("local engine (unix socket)", &mut local);
    let mut remote = round_trips(&base, &client, "remote", &name, warmup, keys).await;
    print("through berth agent (TLS, loopback)", &mut remote);
}
