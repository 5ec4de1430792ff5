//! Live logs through `/ws/logs`: prints figures, asserts nothing about time.
//!
//! A real `berth serve` of this build (the bench profile) and the real
//! local engine:
//! 1. throughput: a container printing numbered lines as fast as it can
//!    (`cat` of a file of them: a shell loop would cost more CPU than the
//!    engine's own work and be what is measured); one viewer follows it
//!    (no backfill) and counts the lines it is sent over `BENCH_SECS` (5) s
//!    after a second's warm-up, the frames they came in, any gap, and
//!    berth's CPU; beside it, how far the line numbers advanced in the same
//!    time (as many as were received, when none was lost).
//! 2. memory per viewer, on a fresh server: a container printing
//!    `BENCH_RATE` (200) lines a second; one viewer, then `BENCH_VIEWERS`
//!    (100) more of the same container, every one read as it arrives; the
//!    server's RSS (VmRSS) after each settles for `BENCH_SETTLE` (5) s, and
//!    the difference per extra viewer. Every viewer's lines are counted, to
//!    show they all stayed live.
//! 3. the logs page in headless Chromium, on a fresh server, while a
//!    container writes 10,000 lines at once: the slowest frame, beside the
//!    aim of 2 s (`logs/page.rs`). Needs the site embedded
//!    (`BERTH_EMBED_SITE=<target dir>/site`, after `./dev.sh build`),
//!    chromium and chromedriver; without them it says so and skips it.
//!
//! The containers are removed at the end, also when the bench fails.
//! Needs a running engine and the test image (`./dev.sh test` provides both).
//! Run: `cargo bench -p berth-server --bench logs`.

#[path = "logs/page.rs"]
mod page;
mod support;

use futures_util::StreamExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{ADMIN, PASSWORD, add_admin, clock_ticks, env_or, stat_ticks, status_mib};
use tokio_tungstenite::tungstenite::Message;

const IMAGE: &str = "berth-test/busybox:1";
const PREFIX: &str = "berth-bench-logs-";
const BERTH: &str = env!("CARGO_BIN_EXE_berth");

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The server, killed when dropped (at the end, and when the bench panics).
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `berth serve` on a fresh database with an admin: the process, its base URL.
fn serve(dir: &Path) -> (Served, String) {
    let data = dir.join("data");
    add_admin(Path::new(BERTH), &data);
    let config = dir.join("berth.toml");
    std::fs::write(&config, "log = \"warn\"\n").unwrap();
    let port = free_port();
    let child = Command::new(BERTH)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start berth");
    (Served(child), format!("http://127.0.0.1:{port}"))
}

async fn sign_in(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
            .send()
            .await;
        if matches!(&r, Ok(r) if r.status().is_success()) {
            return client;
        }
        assert!(Instant::now() < deadline, "cannot sign in to berth");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `docker run -d` of the test image running `script`; its name.
fn run(name: &str, mounts: &[String], script: &str) -> String {
    let name = format!("{PREFIX}{name}");
    let out = Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            &name,
            // Room for the whole run in one file: a rotation under a
            // reader that lags behind loses lines in the engine itself.
            "--log-opt",
            "max-size=4g",
        ])
        .args(mounts.iter().flat_map(|m| ["-v", m.as_str()]))
        .args([IMAGE, "sh", "-c", script])
        .output()
        .expect("docker run");
    assert!(
        out.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    name
}

/// Waits until berth lists `name` as running.
async fn until_listed(client: &reqwest::Client, base: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list: serde_json::Value = client
            .get(format!("{base}/api/v1/hosts/local/containers?limit=1000"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        let running = list["items"]
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c["name"] == name && c["state"] == "running"));
        if running {
            return;
        }
        assert!(Instant::now() < deadline, "{name} is not running");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn follow(client: &reqwest::Client, base: &str, query: &str) -> Socket {
    let ticket: String = support::json(
        client
            .post(format!("{base}/api/logs_ticket"))
            .form(&[("host", "local")]),
    )
    .await;
    let url = format!("{}/ws/logs?ticket={ticket}&{query}", base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.expect("the socket").0
}

/// What a viewer has counted so far.
#[derive(Default)]
struct Counts {
    lines: AtomicU64,
    frames: AtomicU64,
    missed: AtomicU64,
    /// The number in the last line seen.
    last: AtomicU64,
}

/// Reads `socket` until it ends, counting into `counts`.
fn read(mut socket: Socket, counts: Arc<Counts>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(Ok(msg)) = socket.next().await {
            let Message::Text(text) = msg else { continue };
            let feed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            match feed["type"].as_str() {
                Some("lines") => {
                    let lines = feed["lines"].as_array().map_or(&[][..], Vec::as_slice);
                    counts.lines.fetch_add(lines.len() as u64, Ordering::Relaxed);
                    counts.frames.fetch_add(1, Ordering::Relaxed);
                    if let Some(n) = lines
                        .last()
                        .and_then(|l| l["text"].as_str())
                        .and_then(|t| t.split(' ').nth(1))
                        .and_then(|n| n.parse().ok())
                    {
                        counts.last.store(n, Ordering::Relaxed);
                    }
                }
                Some("gap") => {
                    counts
                        .missed
                        .fetch_add(feed["missed"].as_u64().unwrap_or(0), Ordering::Relaxed);
                }
                _ => {}
            }
        }
    })
}

fn rss(pid: u32) -> f64 {
    status_mib(&format!("/proc/{pid}/status"), "VmRSS:")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs = env_or("BENCH_SECS", 5);
    let rate = env_or("BENCH_RATE", 200);
    let viewers = env_or("BENCH_VIEWERS", 100);
    let settle = env_or("BENCH_SETTLE", 5);
    support::remove_containers(PREFIX);
    let _cleanup = support::Cleanup(PREFIX);
    let dir = tempfile::tempdir().unwrap();
    let (served, base) = serve(dir.path());
    let pid = served.0.id();
    let client = sign_in(&base).await;

    // 1. Throughput.
    // Numbered lines written beforehand, more than the run can read.
    let lines_file = dir.path().join("lines");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&lines_file).unwrap());
        for i in 0..400_000 * (secs + 5) {
            writeln!(out, "line {i} of a container that prints as fast as it can").unwrap();
        }
    }
    let name = run(
        "flood",
        &[format!("{}:/lines:ro", lines_file.display())],
        "sleep 1; cat /lines; sleep 3600",
    );
    until_listed(&client, &base, &name).await;
    let counts = Arc::new(Counts::default());
    let reader = read(
        follow(&client, &base, &format!("containers={name}&tail=0")).await,
        counts.clone(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (lines0, frames0, printed0) = (
        counts.lines.load(Ordering::Relaxed),
        counts.frames.load(Ordering::Relaxed),
        counts.last.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    let cpu0 = stat_ticks(&format!("/proc/{pid}/stat"));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let wall = started.elapsed().as_secs_f64();
    let cpu = (stat_ticks(&format!("/proc/{pid}/stat")) - cpu0) as f64 / clock_ticks() / wall * 100.0;
    let lines = counts.lines.load(Ordering::Relaxed) - lines0;
    let frames = counts.frames.load(Ordering::Relaxed) - frames0;
    let printed = counts.last.load(Ordering::Relaxed) - printed0;
    reader.abort();
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    println!("1. one viewer of a container printing as fast as it can, {secs} s:");
    println!(
        "   {:.0} lines/s received, in {:.0} frames/s ({:.0} lines a frame); the line numbers advanced {:.0}/s; \
         {} lines skipped as gaps",
        lines as f64 / wall,
        frames as f64 / wall,
        lines as f64 / frames.max(1) as f64,
        printed as f64 / wall,
        counts.missed.load(Ordering::Relaxed)
    );
    println!("   berth's CPU meanwhile: {cpu:.0}% of a core");

    // 2. Memory per viewer, on a server of its own: memory the first part
    // freed would be reused unseen.
    drop(served);
    let dir = tempfile::tempdir().unwrap();
    let (served, base) = serve(dir.path());
    let pid = served.0.id();
    let client = sign_in(&base).await;
    let sleep = 1.0 / rate as f64;
    let name = run(
        "steady",
        &[],
        &format!("i=0; while true; do echo \"line $i of a steady container\"; i=$((i+1)); sleep {sleep:.4}; done"),
    );
    until_listed(&client, &base, &name).await;
    let query = format!("containers={name}&tail=100");
    let mut all = vec![Arc::new(Counts::default())];
    let mut readers = vec![read(follow(&client, &base, &query).await, all[0].clone())];
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let one = rss(pid);
    for _ in 0..viewers {
        let c = Arc::new(Counts::default());
        readers.push(read(follow(&client, &base, &query).await, c.clone()));
        all.push(c);
    }
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let many = rss(pid);
    let received: Vec<u64> = all.iter().map(|c| c.lines.load(Ordering::Relaxed)).collect();
    let missed: u64 = all.iter().map(|c| c.missed.load(Ordering::Relaxed)).sum();
    println!("2. viewers of one container printing about {rate} lines/s:");
    println!(
        "   server RSS with 1 viewer {one:.1} MiB, with {} {many:.1} MiB: {:.1} KiB more per extra viewer",
        viewers + 1,
        (many - one) * 1024.0 / viewers as f64
    );
    println!(
        "   lines each viewer received: min {}, max {} (backfill 100 + live); {missed} skipped as gaps",
        received.iter().min().unwrap_or(&0),
        received.iter().max().unwrap_or(&0)
    );
    for r in readers {
        r.abort();
    }
    drop(served);

    // 3. The page under a burst, on a server of its own.
    println!(
        "3. the logs page in Chromium while a container writes {} lines at once:",
        page::BURST_LINES
    );
    if let Some(why) = page::why_not() {
        println!("   not measured: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_served, base) = serve(dir.path());
    let client = sign_in(&base).await;
    let name = run("burst", &[], page::BURST_SCRIPT);
    until_listed(&client, &base, &name).await;
    let burst = page::burst(&base, ADMIN, PASSWORD, &name)
        .await
        .unwrap_or_else(|e| panic!("the page under a burst: {e}"));
    println!(
        "   the slowest of {} frames took {:?} (aim: under {:?}); the last line was shown {:?} after the burst began",
        burst.frames,
        burst.slowest_frame,
        page::AIM,
        burst.last_line_after
    );
}
