//! The command line: `berth [serve]`, `berth user ...`, `berth host ...`,
//! `berth stack ...` (its subcommands are in `commands::stack`),
//! `berth events ...`, `berth monitor ...`, `berth agent [init]`.

use berth_core::agent;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// berth: run Docker containers across your servers from one place.
///
/// With no command, berth serves its web UI on http://127.0.0.1:8080 and
/// keeps its data in ./data/berth.redb. On the first start it prints a
/// one-time link that creates the first admin account.
#[derive(Debug, Parser)]
#[command(name = "berth", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// berth's configuration, for `berth` alone (it serves) and written before
/// a command (`berth --data-dir DIR user list`). Not global: the agent has
/// its own configuration, and its help shows only its own flags.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// TOML configuration file (defaults, then this file, then BERTH_*
    /// environment variables, then flags).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Directory of the database (berth.redb) [env: BERTH_DATA_DIR] [default: ./data]
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Address to serve on [env: BERTH_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
}

/// The same flags for the commands that use berth's configuration, also
/// after their subcommand (`berth user add NAME --data-dir DIR`).
#[derive(Debug, Default, Args)]
pub(crate) struct ServerFlags {
    /// TOML configuration file (defaults, then this file, then BERTH_*
    /// environment variables, then flags).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Directory of the database (berth.redb) [env: BERTH_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Address berth serves on [env: BERTH_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
}

impl ServerArgs {
    /// These, with what was written after the command taking precedence.
    pub(crate) fn and(self, later: ServerFlags) -> ServerArgs {
        ServerArgs {
            config: later.config.or(self.config),
            data_dir: later.data_dir.or(self.data_dir),
            listen: later.listen.or(self.listen),
        }
    }

    pub(crate) fn given(&self) -> bool {
        self.config.is_some() || self.data_dir.is_some() || self.listen.is_some()
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the web UI, the REST API and the websockets (the default).
    Serve {
        #[command(flatten)]
        server: ServerFlags,
    },
    /// Add and list users (stop the server first: the database is locked while it runs).
    User {
        #[command(flatten)]
        server: ServerFlags,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Add, list, rename, disable, enable and remove the hosts of a running
    /// berth (through its REST API, with an admin's API key).
    ///
    /// A host reached through `berth agent`: first run `berth agent init`
    /// and `berth agent` on that machine, save the token it printed in a
    /// file here, then `berth host add NAME --agent https://ADDRESS:7443
    /// --token-file FILE --fingerprint sha256:...`. Hosts in the
    /// configuration file ([[hosts]]) are listed but changed there.
    Host {
        #[command(flatten)]
        server: ServerFlags,
        #[command(flatten)]
        args: HostArgs,
    },
    /// List, show, start, stop, define and deploy the compose stacks of a
    /// running berth (through its REST API, with your API key).
    ///
    /// Example: `berth stack list --server https://berth.example.com
    /// --api-key-file ~/.berth-key`, then `berth stack show HOST NAME`.
    Stack {
        #[command(flatten)]
        server: ServerFlags,
        #[command(flatten)]
        args: crate::commands::StackArgs,
    },
    /// Check and export the event log, and prove that an event is in it.
    Events {
        #[command(flatten)]
        server: ServerFlags,
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Watch a berth's event log from another machine (no database needed):
    /// checks that each signed checkpoint extends the last one it kept.
    /// With --serve, acts as a witness that cosigns the checkpoints a berth
    /// sends it (c2sp.org/tlog-witness).
    ///
    /// Exit codes: 0 all checks passed; 1 the log misbehaved (went back,
    /// forked, bad signature, stopped signing); 2 could not check.
    Monitor {
        #[command(flatten)]
        server: ServerFlags,
        #[command(flatten)]
        args: MonitorArgs,
    },
    /// Serve this machine's Docker engine to a berth on another machine,
    /// over TLS with a token (set up first with `berth agent init`). The
    /// agent keeps no state; --read-only and --no-exec are enforced here,
    /// whatever berth asks.
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
    /// The agent's directory: agent.toml, agent-cert.pem, agent-key.pem.
    #[arg(long, value_name = "DIR", default_value = "agent", global = true)]
    pub dir: PathBuf,
    /// Listen here instead of where agent.toml says (`berth agent init
    /// --listen` writes that).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Refuse every change (start, stop, create, remove, prune) and exec.
    #[arg(long)]
    pub read_only: bool,
    /// Refuse exec into containers (the web terminal).
    #[arg(long)]
    pub no_exec: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Write the agent's configuration: a random token, a self-signed TLS
    /// certificate, the listen address and an allowlist. Prints the token
    /// and the certificate's fingerprint, which `berth host add` on the
    /// berth server needs.
    Init {
        /// The address the agent will listen on (kept in agent.toml).
        #[arg(long, value_name = "ADDR", default_value_t = SocketAddr::from(([0, 0, 0, 0], agent::DEFAULT_PORT)))]
        listen: SocketAddr,
        /// Only these addresses may connect: a CIDR block (10.0.0.0/8) or
        /// one address; repeat for more. Default: any.
        #[arg(long, value_name = "CIDR")]
        allow: Vec<String>,
        /// A DNS name or IP address for the certificate; repeat for more.
        /// Default: this machine's name and localhost. (berth pins the
        /// fingerprint; the names are for people.)
        #[arg(long, value_name = "NAME")]
        name: Vec<String>,
        /// Replace an existing configuration (a new token and certificate).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user. The password is read from a prompt, or from the first
    /// line of standard input when that is not a terminal.
    Add {
        /// The user name: letters, digits, '.', '_' or '-'.
        name: String,
        /// Make the user an admin (all permissions).
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List,
}

/// `berth host`: which berth to ask, with which key, and what to do.
#[derive(Debug, Args)]
pub(crate) struct HostArgs {
    #[command(subcommand)]
    pub command: HostCommand,
    /// The running berth, as this machine reaches it [default: http://
    /// and the listen address of the configuration, 127.0.0.1:8080]
    #[arg(long, value_name = "URL", global = true)]
    pub server: Option<String>,
    /// A file whose first line is an admin's API key (berth_…; create one
    /// on your account page). Without it the key is read from the
    /// environment variable BERTH_API_KEY.
    #[arg(long, value_name = "FILE", global = true)]
    pub api_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HostCommand {
    /// Add a host reached through `berth agent` on its machine. berth
    /// checks everything first, keeps the host in its database (it comes
    /// back after a restart) and connects to it.
    Add {
        /// The host's name in berth: 1 to 64 of a-z, 0-9, '.', '_', '-'.
        name: String,
        /// The agent's address: https://HOST or https://HOST:PORT (port 7443 by default).
        #[arg(long, value_name = "URL")]
        agent: String,
        /// A file whose first line is the token `berth agent init` printed
        /// on that machine (the token is never shown or logged by berth).
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// The certificate fingerprint `berth agent init` printed
        /// (sha256:…). Without it berth asks the agent, prints what it
        /// presents and asks you to confirm (on a terminal only).
        #[arg(long, value_name = "FP")]
        fingerprint: Option<String>,
    },
    /// List the hosts: name, origin (local, config, added), transport,
    /// state, address and pinned fingerprint, and why one is unreachable.
    List,
    /// Rename a host added at run time; the grants that name it follow.
    Rename { name: String, new_name: String },
    /// Stop connecting to a host added at run time, keeping it (and its
    /// settings) to enable later.
    Disable { name: String },
    /// Connect again to a disabled host.
    Enable { name: String },
    /// Remove a host added at run time; its history stays in the event log.
    Remove { name: String },
    /// Pin the new fingerprint of an agent that was set up again (its
    /// host shows "the agent's certificate changed"), and reconnect.
    AcceptFingerprint {
        name: String,
        /// The new fingerprint, as `berth agent init` printed it (sha256:…).
        fingerprint: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Walk the hash chain: prints OK and the count, or the first broken
    /// event. Exits 1 when the chain is broken.
    Verify,
    /// Write the events matching the filters to standard output, newest first.
    Export {
        /// jsonl (one JSON object per line) or csv.
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "csv"])]
        format: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Write a proof that event SEQ is in the log: a c2sp.org/tlog-proof
    /// file with the event, its inclusion proof and the latest signed
    /// checkpoint, which `berth events check-proof` checks on any machine.
    Prove {
        /// The event's sequence number.
        seq: u64,
        /// Write the proof here instead of to standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a proof file written by `berth events prove` (or served by
    /// /api/v1/log/proof/event/SEQ) with only the log's public key, and
    /// print the event. Needs no database. Exits 1 when the proof does not
    /// hold.
    CheckProof {
        /// The proof file ('-' for standard input).
        file: PathBuf,
        /// The log's public key (GET /api/v1/log/key), or @FILE holding it.
        #[arg(long, value_name = "VKEY")]
        key: String,
        /// Also require a cosignature by this witness (its public key or
        /// @FILE); may be given several times.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
    },
}

/// `berth monitor`: either watch a log (URL) or serve as a witness (--serve).
#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    /// The berth to watch, as its users reach it (https://berth.example.com).
    #[arg(required_unless_present = "serve", conflicts_with = "serve")]
    pub url: Option<String>,
    /// The log's public key (GET /api/v1/log/key on the berth, kept from
    /// when you trusted it), or @FILE holding it. With --serve, give one
    /// --key per log the witness accepts.
    #[arg(long, value_name = "VKEY", required = true)]
    pub key: Vec<String>,
    /// Where the last verified checkpoint of each log is kept (JSON, created
    /// if missing, mode 0600, locked through FILE.lock beside it). A monitor
    /// and a witness may share it.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Fail when the log's size has not grown for this long (berth records
    /// an event every time it signs, so it grows at least hourly).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub max_age: Duration,
    /// Check again every DURATION (30s, 5m, 1h) and report each round,
    /// instead of checking once and exiting.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "serve")]
    pub every: Option<Duration>,
    /// Send the token in this file as `Authorization: Bearer` (for a berth
    /// behind a proxy that wants one; the log's endpoints need none).
    #[arg(long, value_name = "FILE", conflicts_with = "serve")]
    pub token_file: Option<PathBuf>,
    /// Serve as a witness on ADDR: POST /add-checkpoint (c2sp.org/tlog-witness).
    #[arg(long, value_name = "ADDR", requires = "witness_key")]
    pub serve: Option<SocketAddr>,
    /// The witness's secret key file (PRIVATE+KEY+...), created with mode
    /// 0600 when missing.
    #[arg(long, value_name = "FILE", requires = "serve")]
    pub witness_key: Option<PathBuf>,
    /// The name of a new witness key [default: witness-<hostname>].
    #[arg(long, value_name = "NAME", requires = "serve")]
    pub name: Option<String>,
}

/// A duration as people write it: `90s`, `5m`, `2h`, `1d`, or several
/// (`1h30m`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration like 30s, 5m, 2h or 1d");
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = match rest[digits..].chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86_400,
            _ => return Err(bad()),
        };
        total = number
            .checked_mul(unit)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(bad)?;
        rest = &rest[digits + 1..];
    }
    if total == 0 {
        return Err(format!("'{text}' is no time at all"));
    }
    Ok(Duration::from_secs(total))
}

/// The filters of the event log page.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Exact kind, or a prefix ending in '*' (auth.*).
    #[arg(long)]
    pub kind: Option<String>,
    /// user:NAME, system, ... (a bare name means a user).
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub host: Option<String>,
    /// What was acted on, e.g. user:alice.
    #[arg(long)]
    pub target: Option<String>,
    /// ok, denied or error.
    #[arg(long)]
    pub outcome: Option<String>,
    /// From this UTC time on (YYYY-MM-DD[THH:MM[:SS]]).
    #[arg(long)]
    pub since: Option<String>,
    /// Before this UTC time.
    #[arg(long)]
    pub until: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "2", "h", "2x", "0s", "-1s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
