//! `berth agent`: serves this machine's Docker engine to a berth elsewhere,
//! and `berth agent init`, which writes what it needs: its configuration
//! (`agent.toml`: where it listens, its token, whom it lets in), and a
//! self-signed certificate with its key. The agent keeps nothing else.

use crate::cli::{AgentArgs, AgentCommand};
use anyhow::{Context, bail};
use berth_core::agent::{self, AgentOptions, Cidr};
use berth_core::model::HostLimits;
use berth_core::tasks::Tasks;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const CONFIG: &str = "agent.toml";
const CERT: &str = "agent-cert.pem";
const KEY: &str = "agent-key.pem";

/// `agent.toml`, as `berth agent init` writes it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AgentFile {
    listen: SocketAddr,
    token: String,
    /// CIDR blocks allowed to connect; everyone when empty.
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    no_exec: bool,
}

impl std::fmt::Debug for AgentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentFile")
            .field("listen", &self.listen)
            .field("token", &"<redacted>")
            .field("allow", &self.allow)
            .field("read_only", &self.read_only)
            .field("no_exec", &self.no_exec)
            .finish()
    }
}

pub(crate) fn agent(args: AgentArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(AgentCommand::Init {
            listen,
            allow,
            name,
            force,
        }) => {
            if args.listen.is_some() {
                bail!("write --listen after `init`: `berth agent init --listen ADDR`");
            }
            init(&args.dir, listen, &allow, &name, force)
        }
        None => run(&args.dir, args.listen, args.read_only, args.no_exec),
    }
}

fn init(dir: &Path, listen: SocketAddr, allow: &[String], names: &[String], force: bool) -> anyhow::Result<ExitCode> {
    let config = dir.join(CONFIG);
    if config.exists() && !force {
        bail!(
            "{} exists already. Starting again makes a new token and certificate, and berth would refuse the \
             new certificate until an admin accepts it: pass --force to do it anyway",
            config.display()
        );
    }
    for block in allow {
        Cidr::parse(block).map_err(anyhow::Error::msg)?;
    }
    let mut names = names.to_vec();
    if names.is_empty() {
        names = vec![berth_core::files::machine_name(), "localhost".into()];
    }
    let (cert, key) = agent::tls::self_signed(&names).map_err(anyhow::Error::msg)?;
    let fingerprint = agent::tls::fingerprint_of_pem(&cert).map_err(anyhow::Error::msg)?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness for the token: {e}"))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let file = AgentFile {
        listen,
        token: token.clone(),
        allow: allow.to_vec(),
        read_only: false,
        no_exec: false,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let text = format!(
        "# berth agent, written by `berth agent init`. Keep this file private: the token lets berth in.\n\
         # allow: CIDR blocks that may connect (empty: any). read_only / no_exec: refuse changes / exec.\n{}",
        toml::to_string(&file).context("cannot write the configuration")?
    );
    berth_core::files::write_private(&dir.join(KEY), key.as_bytes())
        .with_context(|| format!("cannot write {}", dir.join(KEY).display()))?;
    std::fs::write(dir.join(CERT), cert.as_bytes())
        .with_context(|| format!("cannot write {}", dir.join(CERT).display()))?;
    berth_core::files::write_private(&config, text.as_bytes())
        .with_context(|| format!("cannot write {}", config.display()))?;
    let allowed = if allow.is_empty() {
        "any address".to_string()
    } else {
        allow.join(", ")
    };
    let port = listen.port();
    println!("berth agent set up in {}", dir.display());
    println!("  listens on   {listen}");
    println!("  allows       {allowed}");
    println!("  fingerprint  {fingerprint}");
    println!("  token        {token}");
    println!();
    println!("Start it:    berth agent --dir {}", dir.display());
    println!("On the berth server, save the token in a file and add the host:");
    println!("  berth host add NAME --agent https://THIS-MACHINE:{port} --token-file FILE --fingerprint {fingerprint}");
    Ok(ExitCode::SUCCESS)
}

fn run(dir: &Path, listen: Option<SocketAddr>, read_only: bool, no_exec: bool) -> anyhow::Result<ExitCode> {
    let (file, options) = load(dir, read_only, no_exec)?;
    let listen = listen.unwrap_or(file.listen);
    super::init_logging("info");
    // One thread is plenty for one core's connection: the agent stays small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (is another agent using it? try --listen)"))?;
        let engine = berth_core::hosts::local_engine("local").map_err(anyhow::Error::msg)?;
        let fingerprint =
            agent::tls::fingerprint_of_pem(&std::fs::read_to_string(dir.join(CERT))?).map_err(anyhow::Error::msg)?;
        tracing::info!(address = %listener.local_addr()?, %fingerprint, "berth agent ready");
        // Serving is this service's main task; its owner waits for the
        // signal, then stops it and waits until every connection has ended.
        let mut tasks = Tasks::new();
        tasks.spawn("code-pages", |stop| {
            crate::code_pages::release_after(&crate::code_pages::AFTER_START, stop)
        });
        tasks.spawn("agent", |stop| agent::serve(listener, options, engine, stop));
        super::shutdown_signal().await;
        tracing::info!("stopping");
        tasks.stop().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks the agent's files; flags add limits to the file's.
fn load(dir: &Path, read_only: bool, no_exec: bool) -> anyhow::Result<(AgentFile, AgentOptions)> {
    let path = dir.join(CONFIG);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (run `berth agent init --dir {}` first)",
            path.display(),
            dir.display()
        )
    })?;
    let file: AgentFile =
        toml::from_str(&text).with_context(|| format!("{} is not a valid agent configuration", path.display()))?;
    if file.token.len() < 32 || !file.token.chars().all(|c| c.is_ascii_graphic()) {
        bail!("{}: the token must be at least 32 printable characters", path.display());
    }
    let allow = file
        .allow
        .iter()
        .map(|b| Cidr::parse(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: allow: {e}", path.display()))?;
    let read = |name: &str| -> anyhow::Result<String> {
        let p: PathBuf = dir.join(name);
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))
    };
    let tls =
        agent::tls::server_config(&read(CERT)?, &read(KEY)?).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let options = AgentOptions {
        token: file.token.clone(),
        tls,
        allow,
        limits: HostLimits {
            read_only: file.read_only || read_only,
            no_exec: file.no_exec || no_exec,
        },
    };
    Ok((file, options))
}
