//! `berth agent` as the tests use it: a real agent process set up with
//! `berth agent init` in a temporary directory on a free loopback port,
//! started beside the first engine or in front of another one (through
//! `DOCKER_HOST`), its log (stderr) kept in a file, and killed by its pid
//! when dropped, also when the test panics. `RawPeer`, a TLS client that
//! speaks the agent's frames by hand, for peers berth would never be. And
//! berth's side: a server with agent hosts, their status, their events.

use berth_core::agent::protocol::{FromAgent, Hello, PROTOCOL, ToAgent};
use berth_core::agent::wire::{self, MAX_FRAME};
use berth_server::HostConfig;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Server, events, get_json, stats_server, text, until};
use serde_json::Value;

/// A loopback port free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An agent's directory, as `berth agent init` wrote it, and what it printed.
pub struct AgentDir {
    dir: tempfile::TempDir,
    pub port: u16,
    pub token: String,
    pub fingerprint: String,
    /// How many times an agent was started from it (each has its own log).
    starts: AtomicUsize,
}

impl AgentDir {
    /// `berth agent init --dir D --listen 127.0.0.1:PORT EXTRA...`.
    pub fn init(extra: &[&str]) -> AgentDir {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["agent", "init", "--dir"])
            .arg(dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "berth agent init: {}", text(&out.stderr));
        let printed = text(&out.stdout);
        let field = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("`berth agent init` printed no {name}:\n{printed}"))
        };
        AgentDir {
            port,
            token: field("token"),
            fingerprint: field("fingerprint"),
            dir,
            starts: AtomicUsize::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// A file holding `token`, as berth's `token_file` reads it.
    pub fn token_file(&self, name: &str, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.token"));
        std::fs::write(&path, format!("{token}\n")).unwrap();
        path
    }

    /// `[[hosts]]` entry `name` for this agent, with its own token and fingerprint.
    pub fn host(&self, name: &str) -> HostConfig {
        HostConfig::agent(name, &self.url(), self.token_file(name, &self.token), &self.fingerprint)
    }

    /// `berth agent --dir D FLAGS...`, serving the engine at `docker_host`
    /// (the first engine when None); returns once it accepts connections.
    pub fn start(&self, docker_host: Option<&str>, flags: &[&str]) -> AgentProcess {
        let n = self.starts.fetch_add(1, Ordering::Relaxed);
        let log = self.dir.path().join(format!("agent-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
        command
            .args(["agent", "--dir"])
            .arg(self.dir.path())
            .args(flags)
            // The agent's own level; it writes plain text to a file by itself.
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        match docker_host {
            Some(socket) => command.env("DOCKER_HOST", socket),
            None => command.env_remove("DOCKER_HOST"),
        };
        let child = command.spawn().unwrap();
        let mut agent = AgentProcess {
            child,
            log,
            port: self.port,
        };
        // It says so once it listens (a probe connection would be in its log).
        let deadline = Instant::now() + Duration::from_secs(15);
        while !agent.log().contains("berth agent ready") {
            if let Some(status) = agent.child.try_wait().unwrap() {
                panic!("berth agent exited ({status}):\n{}", agent.log());
            }
            assert!(
                Instant::now() < deadline,
                "berth agent never listened on {}:\n{}",
                self.port,
                agent.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }
}

/// A running `berth agent`, killed (SIGKILL, by pid) when dropped, also
/// when stopped (SIGSTOP) then.
pub struct AgentProcess {
    child: Child,
    log: PathBuf,
    pub port: u16,
}

impl AgentProcess {
    /// What it wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Killed with SIGKILL: no goodbye to anyone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (`-STOP`, `-CONT`...) to it, by its pid.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {}", self.child.id());
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Trusts whatever certificate the agent shows (a hostile peer does not
/// care): core's own verifier with no pin, which still checks that the
/// handshake is signed by the certificate's key.
fn client_config() -> Arc<rustls::ClientConfig> {
    berth_core::agent::tls::client_config(None, Arc::new(Mutex::new(None)))
}

/// How a read from the agent ended.
#[derive(Debug)]
pub enum Read1 {
    Frame(FromAgent),
    /// The agent closed the connection (after a TLS close_notify or not).
    Closed,
    /// Nothing within the read timeout.
    Silent,
}

/// A TLS peer of the agent that writes frames (or anything else) by hand.
/// Blocking: run it in `spawn_blocking` beside an async server.
pub struct RawPeer {
    tls: StreamOwned<ClientConnection, TcpStream>,
}

impl RawPeer {
    /// Connects and finishes the TLS handshake; reads wait up to `read_timeout`.
    pub fn connect(port: u16, read_timeout: Duration) -> std::io::Result<RawPeer> {
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(read_timeout))?;
        // Each write goes out at once, as berth's own client sends.
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(client_config(), name).map_err(std::io::Error::other)?;
        let mut tls = StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(RawPeer { tls })
    }

    /// Writes `bytes` as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.tls.write_all(bytes)?;
        self.tls.flush()
    }

    pub fn send(&mut self, frame: &ToAgent) -> std::io::Result<()> {
        self.send_raw(&wire::encode(frame).unwrap())
    }

    /// A hello with `token`, from a core that does not say how often it
    /// pings (so the agent never takes its silence for an absence).
    pub fn hello(&mut self, token: &str) -> Read1 {
        self.hello_pinging(token, 0)
    }

    /// A hello with `token`, from a core that pings every `heartbeat_ms`.
    pub fn hello_pinging(&mut self, token: &str, heartbeat_ms: u64) -> Read1 {
        self.send(&ToAgent::Hello(Hello {
            protocol: PROTOCOL,
            core: "test".into(),
            token: token.into(),
            heartbeat_ms,
        }))
        .unwrap();
        self.read()
    }

    /// The next frame, or how the connection ended.
    pub fn read(&mut self) -> Read1 {
        let mut len = [0u8; 4];
        if let Err(e) = self.tls.read_exact(&mut len) {
            return ended(e);
        }
        let len = u32::from_be_bytes(len) as usize;
        assert!(len <= MAX_FRAME, "the agent announced a frame of {len} bytes");
        let mut body = vec![0; len];
        if let Err(e) = self.tls.read_exact(&mut body) {
            return ended(e);
        }
        Read1::Frame(serde_json::from_slice(&body).expect("the agent sends JSON frames"))
    }
}

fn ended(e: std::io::Error) -> Read1 {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Read1::Silent,
        // A clean close_notify reads as the end; a bare FIN as UnexpectedEof.
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Read1::Closed,
        _ => panic!("reading from the agent: {e}"),
    }
}

/// berth's statistics interval in these tests, which is also the heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Host `id` as GET /api/v1/hosts shows it.
pub async fn host_status(server: &Server, client: &reqwest::Client, id: &str) -> Value {
    let hosts = get_json(server, client, "/api/v1/hosts").await;
    hosts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no host {id} in {hosts}"))
}

/// Waits until host `id` is reachable, and returns its status.
pub async fn reachable(server: &Server, client: &reqwest::Client, id: &str, secs: u64) -> Value {
    until(&format!("host {id} is reachable"), secs, async || {
        let s = host_status(server, client, id).await;
        (s["reachable"] == true).then_some(s)
    })
    .await
}

/// Waits until host `id` has failed to connect, and returns its status.
pub async fn failed(server: &Server, client: &reqwest::Client, id: &str) -> Value {
    until(&format!("host {id} has failed to connect"), 20, async || {
        let s = host_status(server, client, id).await;
        let tried = s["error"].as_str().is_some_and(|e| e != "not connected yet");
        tried.then_some(s)
    })
    .await
}

/// Every event matching `query`, newest first (all pages).
pub async fn all_events(server: &Server, client: &reqwest::Client, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut before = String::new();
    loop {
        let page = events(server, client, &format!("limit=500&{query}{before}")).await;
        all.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_u64() {
            Some(seq) => before = format!("&before={seq}"),
            None => return all,
        }
    }
}

/// The newest event matching `query`, once there is one.
pub async fn recorded(server: &Server, client: &reqwest::Client, query: &str) -> Value {
    until(&format!("an event {query} is recorded"), 10, async || {
        let page = events(server, client, query).await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await
}

pub async fn post(server: &Server, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client.post(server.url(path)).send().await.unwrap()
}

/// A server with `hosts` beside local, heartbeats every second, the admin signed in.
pub async fn berth_with(hosts: Vec<HostConfig>) -> (tempfile::TempDir, Server, reqwest::Client) {
    stats_server(|c| {
        assert_eq!(u64::from(c.stats_interval_secs), HEARTBEAT.as_secs());
        c.hosts = hosts;
    })
    .await
}
