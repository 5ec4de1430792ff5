//! Container list benchmark: prints figures, asserts nothing about time.
//!
//! With 500 containers (by default) on the local Docker engine (`berth-bench-000` to
//! `berth-bench-499`, the first 20 running, every other one labelled as a
//! service of the compose project `bench`), measures in one run, N = 50 each,
//! interleaved round by round so that all of them see the same machine:
//! 1. the engine's own list call, `GET /containers/json?all=1` on its socket
//!    (bollard `list_containers(all)`, as berth itself calls it);
//! 2. berth's REST list, `GET /api/v1/hosts/local/containers?limit=1000`, signed in;
//! 3. berth's server function, `POST /api/get_host` with `{"host":"local"}`;
//! 4. berth's page render, `GET /containers`, the whole server-rendered body;
//!
//! and, to tell where the time goes: the engine's raw response (bytes off the
//! socket, no parsing), berth's cheapest signed-in call (`GET /api/v1/me`), a
//! small server-rendered page (`GET /users`, one row), and the CPU time each
//! call costs this process (client and server together) and dockerd.
//! Then prints each figure as a ratio to the engine's list call.
//!
//! The berth server runs in-process on 127.0.0.1:0 over a temporary database,
//! as the tests start it. The containers are removed at the end, also when
//! the bench fails midway.
//!
//! Needs a running engine and the test image (`./dev.sh test` provides both).
//! Run: `BERTH_EMBED_SITE=target/site cargo bench -p berth-server --bench containers`
//! (`BENCH_CONTAINERS=100` for another count than 500).

mod support;

use berth_core::access::Caller;
use berth_core::auth::Auth;
use berth_core::events::EventLog;
use berth_core::model::Role;
use berth_core::store::Store;
use berth_server::Config;
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListContainersOptionsBuilder};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const IMAGE: &str = "berth-test/busybox:1";
const PREFIX: &str = "berth-bench-";
const STARTED: usize = 20;
const CONCURRENCY: usize = 16;
const RUNS: usize = 50;
const WARMUP: usize = 5;
const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";

/// How many containers to create: `$BENCH_CONTAINERS`, 500 by default.
fn count() -> usize {
    std::env::var("BENCH_CONTAINERS").map_or(500, |v| v.parse().expect("BENCH_CONTAINERS is a number"))
}

/// CPU time used so far by all threads of process `pid` ("self" or a number),
/// from the scheduler's own accounting (nanoseconds).
fn cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

async fn create_one(docker: &Docker, i: usize) -> Result<(), bollard::errors::Error> {
    let name = format!("{PREFIX}{i:03}");
    let labels = i.is_multiple_of(2).then(|| {
        HashMap::from([
            ("com.docker.compose.project".to_string(), "bench".to_string()),
            ("com.docker.compose.service".to_string(), format!("svc-{}", i % 25)),
        ])
    });
    let body = ContainerCreateBody {
        image: Some(IMAGE.to_string()),
        cmd: Some(vec!["sleep".to_string(), "3600".to_string()]),
        labels,
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker.create_container(Some(options), body).await?;
    if i < STARTED {
        docker.start_container(&name, None).await?;
    }
    Ok(())
}

/// The admin, made in-process on the database the server will open.
async fn add_admin(dir: &Path) {
    let store = Store::open(&dir.join("berth.redb")).expect("open store");
    let events = EventLog::open(&store).expect("open event log");
    let auth = {
        let (store, events) = (store.clone(), events.clone());
        tokio::task::spawn_blocking(move || Auth::new(store, events))
            .await
            .expect("auth")
    };
    auth.create_user(&Caller::system("bench"), ADMIN, PASSWORD, Role::Admin)
        .await
        .expect("create admin");
    events.close().await.expect("close event log");
    drop(auth);
    drop(events);
    drop(store);
}

/// The socket the engine listens on (`DOCKER_HOST=unix://...` or the default).
fn socket_path() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string())
}

#[derive(Clone, Copy, PartialEq)]
enum Call {
    Engine,
    EngineRaw,
    Me,
    SmallPage,
    Rest,
    ServerFn,
    Page,
}

impl Call {
    const ALL: [Call; 7] = [
        Call::Engine,
        Call::EngineRaw,
        Call::Me,
        Call::SmallPage,
        Call::Rest,
        Call::ServerFn,
        Call::Page,
    ];

    fn label(self) -> &'static str {
        match self {
            Call::Engine => "engine list (bollard, all=1)",
            Call::EngineRaw => "engine list, raw bytes, no parse",
            Call::Me => "berth GET /api/v1/me (baseline)",
            Call::SmallPage => "page render GET /users (1 row)",
            Call::Rest => "REST list",
            Call::ServerFn => "server function get_host",
            Call::Page => "page render",
        }
    }
}

struct Clients {
    docker: Docker,
    socket: String,
    http: reqwest::Client,
    base: String,
}

impl Clients {
    /// Makes one call; returns the size of what came back (bytes, or
    /// containers for the bollard call, which hides the bytes).
    async fn call(&self, which: Call) -> usize {
        match which {
            Call::Engine => {
                let options = ListContainersOptionsBuilder::default().all(true).build();
                self.docker
                    .list_containers(Some(options))
                    .await
                    .expect("list_containers")
                    .len()
            }
            Call::EngineRaw => {
                let mut s = tokio::net::UnixStream::connect(&self.socket)
                    .await
                    .expect("engine socket");
                s.write_all(b"GET /containers/json?all=1 HTTP/1.0\r\nHost: docker\r\n\r\n")
                    .await
                    .expect("write");
                let mut buf = Vec::with_capacity(1 << 20);
                s.read_to_end(&mut buf).await.expect("read");
                assert!(
                    buf.starts_with(b"HTTP/1.0 200"),
                    "engine said {:?}",
                    String::from_utf8_lossy(&buf[..40.min(buf.len())])
                );
                let head = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("headers end") + 4;
                buf.len() - head
            }
            Call::Me => self.get("/api/v1/me").await,
            Call::SmallPage => self.get("/users").await,
            Call::Rest => self.get("/api/v1/hosts/local/containers?limit=1000").await,
            Call::ServerFn => {
                let resp = self
                    .http
                    .post(format!("{}/api/get_host", self.base))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(r#"{"host":"local"}"#)
                    .send()
                    .await
                    .expect("POST /api/get_host");
                assert_eq!(resp.status(), 200, "POST /api/get_host");
                resp.bytes().await.expect("body").len()
            }
            Call::Page => self.get("/containers").await,
        }
    }

    async fn get(&self, path: &str) -> usize {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.bytes().await.expect("body").len()
    }
}

/// (p50, p99) in milliseconds.
fn pct(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 99 / 100).min(v.len() - 1)]))
}

/// Polls the REST list until berth's cache holds all the bench containers.
async fn wait_for_cache(http: &reqwest::Client, base: &str, count: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list: serde_json::Value = http
            .get(format!("{base}/api/v1/hosts/local/containers?limit=1000"))
            .send()
            .await
            .expect("GET containers")
            .json()
            .await
            .expect("JSON");
        let all = list["items"].as_array().cloned().unwrap_or_default();
        let ours = all
            .iter()
            .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with(PREFIX)))
            .count();
        if ours >= count {
            return all.len();
        }
        assert!(
            Instant::now() < deadline,
            "berth's cache has {ours} of {count} bench containers after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run() {
    let count = count();
    let engine = Command::new("docker")
        .arg("info")
        .output()
        .expect("the docker CLI is installed");
    assert!(engine.status.success(), "no Docker engine is running");
    let stale = support::remove_containers(PREFIX);
    if stale > 0 {
        println!("removed {stale} stale {PREFIX}* containers first");
    }
    let _cleanup = support::Cleanup(PREFIX);

    let docker = Docker::connect_with_local_defaults()
        .expect("connect to the engine")
        .negotiate_version()
        .await
        .expect("negotiate the API version");
    let t = Instant::now();
    support::create_all(count, CONCURRENCY, |i| create_one(&docker, i)).await;
    println!(
        "created {count} containers ({} running, {} in compose project bench) in {:.1} s, {CONCURRENCY} at a time",
        STARTED.min(count),
        count.div_ceil(2),
        t.elapsed().as_secs_f64()
    );

    // berth, in-process, on a fresh database with an admin.
    let dir = tempfile::tempdir().expect("temp dir");
    add_admin(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let config = Config {
        listen: addr,
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(berth_server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let signed_in = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 200, "sign in");
    let listed = wait_for_cache(&http, &base, count).await;
    let clients = Clients {
        docker,
        socket: socket_path(),
        http,
        base,
    };
    let page = clients
        .http
        .get(format!("{}/containers", clients.base))
        .send()
        .await
        .expect("page");
    let html = page.text().await.expect("page body");
    let last = format!("{PREFIX}{:03}", count - 1);
    assert!(html.contains(&last), "the page does not list {last}");
    println!(
        "berth serves {listed} containers ({count} bench + {} others)",
        listed - count
    );
    let dockerd = Command::new("pidof")
        .arg("dockerd")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().next().map(str::to_string));

    // Warm-up, then RUNS rounds of every call in turn.
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); Call::ALL.len()];
    let mut sizes = [0usize; Call::ALL.len()];
    // CPU nanoseconds over the timed runs: this process, dockerd.
    let mut cpu = [(0u64, 0u64); Call::ALL.len()];
    let engine_cpu = || dockerd.as_deref().map_or(0, cpu_ns);
    for round in 0..WARMUP + RUNS {
        for (k, which) in Call::ALL.into_iter().enumerate() {
            let (me, engine) = (cpu_ns("self"), engine_cpu());
            let t = Instant::now();
            sizes[k] = clients.call(which).await;
            let took = t.elapsed();
            if round >= WARMUP {
                times[k].push(took);
                cpu[k].0 += cpu_ns("self").saturating_sub(me);
                cpu[k].1 += engine_cpu().saturating_sub(engine);
            }
        }
    }
    let figures: Vec<(f64, f64)> = times.into_iter().map(pct).collect();

    println!(
        "latency, {RUNS} runs each after {WARMUP} warm-up, interleaved; mean CPU per call in this process / dockerd:"
    );
    for (k, which) in Call::ALL.into_iter().enumerate() {
        let (p50, p99) = figures[k];
        let size = match which {
            Call::Engine => format!("{} containers", sizes[k]),
            _ => format!("{:.1} KiB", sizes[k] as f64 / 1024.0),
        };
        let per = |ns: u64| ns as f64 / RUNS as f64 / 1e6;
        println!(
            "  {:<34} p50 {p50:>8.2} ms   p99 {p99:>8.2} ms   cpu {:>6.2} / {:>6.2} ms   {size}",
            which.label(),
            per(cpu[k].0),
            per(cpu[k].1)
        );
    }
    let (e50, e99) = figures[0];
    println!("ratio to the engine's own list call (p50, p99):");
    for (k, which) in Call::ALL.into_iter().enumerate() {
        if matches!(which, Call::Engine) {
            continue;
        }
        let (p50, p99) = figures[k];
        println!(
            "  {:<34} / engine list = {:.2}x   (p99 {:.2}x)",
            which.label(),
            p50 / e50,
            p99 / e99
        );
    }

    let _ = stop.send(());
    server.await.expect("server task").expect("server stopped cleanly");
}

fn main() {
    // RUST_LOG=debug shows the server's log when a figure needs explaining.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}
