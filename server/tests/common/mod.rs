//! A real berth server on a loopback port with a temporary database, and the
//! real `berth` binary for CLI tests.

#![allow(dead_code)]

use berth_server::Config;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
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
        // RUST_LOG=debug shows the server's log when a test needs explaining.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config {
            listen: addr,
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
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
        let dir = tempfile::tempdir().unwrap();
        add_admin(dir.path());
        let server = Server::start(dir.path()).await;
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
