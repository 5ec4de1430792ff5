//! The command line: `berth [serve]`, `berth user ...`, `berth events ...`.

use crate::commands;
use crate::config::{Config, Overrides};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// berth: run Docker containers across your servers from one place.
///
/// With no command, berth serves its web UI on http://127.0.0.1:8080 and
/// keeps its data in ./data/berth.redb. On the first start it prints a
/// one-time link that creates the first admin account.
#[derive(Debug, Parser)]
#[command(name = "berth", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML configuration file (defaults, then this file, then BERTH_*
    /// environment variables, then flags).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the database (berth.redb) [env: BERTH_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to serve on [env: BERTH_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web UI, the REST API and the websockets (the default).
    Serve,
    /// Add and list users (stop the server first: the database is locked while it runs).
    #[command(subcommand)]
    User(UserCommand),
    /// Check and export the event log.
    #[command(subcommand)]
    Events(EventsCommand),
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

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = Overrides {
        listen: cli.global.listen,
        data_dir: cli.global.data_dir.clone(),
    };
    let config = match Config::load(cli.global.config.as_deref(), &flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(config),
        Command::User(cmd) => commands::user(config, cmd),
        Command::Events(cmd) => commands::events(config, cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
