//! `berth agent` as the browser tests run it: set up with `berth agent
//! init` in a temporary directory on a free loopback port, started in
//! front of the Docker engine at a `DOCKER_HOST`, and killed with its
//! process group when dropped (also when the test panics). `host_entry`
//! writes the `[[hosts]]` entry that lets a berth server reach it;
//! `renew_certificate` gives it a new certificate, as when a machine's
//! agent is set up again.

use super::{ChildGuard, Result, berth_bin, free_port};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

pub struct Agent {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// What `berth agent init` printed: berth presents the token and pins
    /// the certificate's fingerprint.
    pub token: String,
    pub fingerprint: String,
    port: u16,
    docker_host: String,
    flags: Vec<String>,
    log: PathBuf,
    /// The running agent; `None` only while it is being restarted.
    process: Option<ChildGuard>,
    dir: tempfile::TempDir,
}

/// A TOML basic string.
fn toml_str(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `berth agent init` into `dir` for loopback port `port`: the token and
/// fingerprint it printed.
fn init(dir: &Path, port: u16) -> Result<(String, String)> {
    let init = std::process::Command::new(berth_bin())
        .args(["agent", "init", "--dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .output()?;
    let printed = String::from_utf8_lossy(&init.stdout).into_owned();
    if !init.status.success() {
        return Err(format!("berth agent init failed: {}", String::from_utf8_lossy(&init.stderr)).into());
    }
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .ok_or_else(|| format!("`berth agent init` printed no {name}:\n{printed}"))
    };
    Ok((field("token")?, field("fingerprint")?))
}

impl Agent {
    /// `berth agent init`, then `berth agent FLAGS...` serving the engine at
    /// `docker_host` (`unix:///…/sock`); returns once it accepts connections.
    pub async fn start(docker_host: &str, flags: &[&str]) -> Result<Agent> {
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let (token, fingerprint) = init(dir.path(), port)?;
        let mut agent = Agent {
            url: format!("https://127.0.0.1:{port}"),
            token,
            fingerprint,
            port,
            docker_host: docker_host.to_string(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            log: dir.path().join("agent.log"),
            process: None,
            dir,
        };
        agent.serve().await?;
        Ok(agent)
    }

    /// Starts `berth agent` on the agent's directory and waits until it
    /// accepts connections.
    async fn serve(&mut self) -> Result {
        let file = std::fs::File::options().create(true).append(true).open(&self.log)?;
        let mut command = Command::new(berth_bin());
        command
            .args(["agent", "--dir"])
            .arg(self.dir.path())
            .args(&self.flags)
            .env("DOCKER_HOST", &self.docker_host)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let process = self.process.insert(ChildGuard::spawn("berth agent", command)?);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let log = || std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!("berth agent exited ({status}):\n{}", log()).into());
            }
            if started.elapsed() > Duration::from_secs(15) {
                return Err(format!("berth agent never listened on {}:\n{}", self.port, log()).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Stops the agent, gives it a new certificate and key (from a fresh
    /// `berth agent init`), keeps its token and port, and starts it again:
    /// berth then meets a certificate other than the one it pinned. Sets
    /// and returns the new fingerprint.
    pub async fn renew_certificate(&mut self) -> Result<String> {
        drop(self.process.take());
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            if started.elapsed() > Duration::from_secs(15) {
                return Err(format!("the stopped agent still answers on port {}", self.port).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let fresh = tempfile::tempdir()?;
        let (_, fingerprint) = init(fresh.path(), self.port)?;
        for file in ["agent-cert.pem", "agent-key.pem"] {
            std::fs::copy(fresh.path().join(file), self.dir.path().join(file))?;
        }
        self.fingerprint = fingerprint.clone();
        self.serve().await?;
        Ok(fingerprint)
    }

    /// The `[[hosts]]` entry of a berth server that manages this agent's
    /// machine as host `name` (the token goes in a file beside the agent's).
    pub fn host_entry(&self, name: &str) -> Result<String> {
        let token_file = self.dir.path().join(format!("{name}.token"));
        std::fs::write(&token_file, format!("{}\n", self.token))?;
        Ok(format!(
            "[[hosts]]\nname = {}\nagent = {}\ntoken_file = {}\nfingerprint = {}\n",
            toml_str(name),
            toml_str(&self.url),
            toml_str(&token_file.display().to_string()),
            toml_str(&self.fingerprint),
        ))
    }

    /// The certificate the agent presents (`agent-cert.pem` in its directory).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("agent-cert.pem")
    }

    /// What the agent logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
