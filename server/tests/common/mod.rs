//! A real berth server on a loopback port with a temporary database, and the
//! real `berth` binary for CLI tests; the server's statistics and /metrics;
//! in `docker`, containers of the test image; in `second_engine`, a second
//! Docker engine with a TLS port, as a remote host; in `terminal`, a
//! terminal's socket and what its tests look at; in `receivers`, an HTTP
//! receiver and an SMTP server for alert deliveries, and in `deliveries`
//! the delivery service they are sent from; in `alerting`, what the alert
//! tests share.

#![allow(dead_code)]

pub mod agent;
pub mod alerting;
pub mod deliveries;
pub mod docker;
pub mod receivers;
pub mod second_engine;
pub mod terminal;

use berth_server::Config;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery";

pub struct Server {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Server {
    /// Serves the database in `dir` on 127.0.0.1:0 until `stop`.
    pub async fn start(dir: &Path) -> Server {
        Server::start_with(dir, |_| {}).await
    }

    /// Like `start`, with `change` applied to the configuration first
    /// (`listen` and `data_dir` are already set then; leave them).
    pub async fn start_with(dir: &Path, change: impl FnOnce(&mut Config)) -> Server {
        // RUST_LOG=debug shows the server's log when a test needs explaining.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            listen: addr,
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        change(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(berth_server::run(listener, config, async move {
            let _ = rx.await;
        }));
        Server {
            base: format!("http://{addr}"),
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// A fresh database with the admin added through the CLI, served.
    pub async fn with_admin() -> (tempfile::TempDir, Server) {
        Server::with_admin_config(|_| {}).await
    }

    /// `with_admin`, with `change` applied to the configuration (see `start_with`).
    pub async fn with_admin_config(change: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Server) {
        let dir = tempfile::tempdir().unwrap();
        add_admin(dir.path());
        let server = Server::start_with(dir.path(), change).await;
        (dir, server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops gracefully and returns what `run` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap()
    }
}

/// A client that keeps cookies, like a browser, but sends no Origin.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn sign_in(server: &Server, client: &reqwest::Client, name: &str, password: &str) -> reqwest::Response {
    client
        .post(server.url("/api/v1/session"))
        .json(&serde_json::json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
}

/// Runs the real binary with `args`, feeding `stdin`.
pub fn berth(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env_remove("BERTH_DATA_DIR")
        .env_remove("BERTH_LISTEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits until `check` finds something, up to `secs`; fails naming `what`.
/// For a plain condition: `async || condition.then_some(())`.
pub async fn until<T>(what: &str, secs: u64, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A name for something a test makes on the engine (a container, image,
/// volume, label value): `berth-test-NAME-PID-N`, which no other test
/// process uses, nor an earlier run whose leftovers are still there.
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("berth-test-{name}-{}-{nanos}", std::process::id())
}

/// Adds the admin through the CLI, the way an operator bootstraps one.
pub fn add_admin(dir: &Path) {
    let out = berth(
        &["user", "add", "--admin", ADMIN, "--data-dir", dir.to_str().unwrap()],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "user add failed: {}", text(&out.stderr));
}

pub async fn events(server: &Server, client: &reqwest::Client, query: &str) -> serde_json::Value {
    let resp = client
        .get(server.url(&format!("/api/v1/events?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "GET /api/v1/events?{query}");
    resp.json().await.unwrap()
}

pub fn kinds(page: &serde_json::Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// GETs `path` and returns its JSON body.
pub async fn get_json(server: &Server, client: &reqwest::Client, path: &str) -> serde_json::Value {
    client.get(server.url(path)).send().await.unwrap().json().await.unwrap()
}

/// Fails the test with a way forward when no Docker engine answers.
pub fn assert_engine_running() {
    let engine = Command::new("docker")
        .arg("info")
        .output()
        .expect("the docker CLI is installed");
    assert!(
        engine.status.success(),
        "no Docker engine is running: start dockerd (./dev.sh test does)"
    );
}

/// A server reading statistics every second (plus `change`), and the admin signed in.
pub async fn stats_server(change: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Server, reqwest::Client) {
    let (dir, server) = Server::with_admin_config(|c| {
        c.stats_interval_secs = 1;
        change(c);
    })
    .await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    (dir, server, client)
}

/// A field of /proc/meminfo in bytes.
pub fn meminfo(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/meminfo"));
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// GETs /metrics (with `token` as a bearer token, if any).
pub async fn get_metrics(server: &Server, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(server.url("/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// Parses a /metrics body, and checks that the parser took every sample line.
pub fn parse_metrics(body: &str) -> prometheus_parse::Scrape {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the text format parses");
    let sample_lines = body.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count();
    assert_eq!(
        scrape.samples.len(),
        sample_lines,
        "lines the parser did not take as samples:\n{body}"
    );
    for s in &scrape.samples {
        assert!(scrape.docs.contains_key(&s.metric), "{} has no HELP:\n{body}", s.metric);
    }
    scrape
}

/// The number in a gauge, counter or untyped sample.
pub fn value(sample: &prometheus_parse::Sample) -> f64 {
    match sample.value {
        prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{} is a {other:?}", sample.metric),
    }
}

/// The sample of `metric` for container `name`, if there is one.
pub fn container_sample<'a>(
    scrape: &'a prometheus_parse::Scrape,
    metric: &str,
    name: &str,
) -> Option<&'a prometheus_parse::Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("container") == Some(name))
}

/// Polls the container list until `name` is in `state` (or 15 s pass).
pub async fn wait_for_state(server: &Server, client: &reqwest::Client, name: &str, state: &str) -> serde_json::Value {
    wait_for_state_on(server, client, "local", name, state).await
}

/// `wait_for_state` on host `host`.
pub async fn wait_for_state_on(
    server: &Server,
    client: &reqwest::Client,
    host: &str,
    name: &str,
    state: &str,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let path = format!("/api/v1/hosts/{host}/containers?limit=1000");
        let list: serde_json::Value = get_json(server, client, &path).await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned();
        match found {
            Some(c) if c["state"] == state => return c,
            other if std::time::Instant::now() > deadline => {
                panic!("{name} never became {state} on {host}: {other:?} in {list}")
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

/// Adds a user without the admin role through the REST API (as `admin`),
/// and returns a client signed in as them.
pub async fn plain_user(server: &Server, admin: &reqwest::Client, name: &str, password: &str) -> reqwest::Client {
    let resp = admin
        .post(server.url("/api/v1/users"))
        .json(&serde_json::json!({ "name": name, "password": password, "admin": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let user = client();
    assert_eq!(sign_in(server, &user, name, password).await.status(), 200);
    user
}
