//! What each subcommand does.

mod agent;
mod events;
mod host;
mod monitor;
mod prove;
mod remote;
mod stack;
mod user;

pub(crate) use agent::agent;
pub(crate) use events::events;
pub(crate) use host::host;
pub(crate) use monitor::monitor;
pub(crate) use stack::{StackArgs, stack};
pub(crate) use user::user;

use crate::cli::{Cli, Command, ServerFlags};
use crate::config::{Config, Overrides};
use anyhow::Context;
use berth_core::tasks::Tasks;
use clap::Parser;
use std::process::ExitCode;

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logs to stderr, which is mostly a journal or a file: colours only on a
/// terminal, so that the log reads (and greps) as plain text.
pub(crate) fn init_logging(filter: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// `berth serve`: runs until Ctrl-C or SIGTERM.
pub(crate) fn serve(config: Config) -> anyhow::Result<ExitCode> {
    init_logging(&config.log);
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
            format!(
                "cannot listen on {} (is another server using it? try --listen)",
                config.listen
            )
        })?;
        // Giving back code pages is this command's own task, stopped and
        // awaited once the server has stopped.
        let mut tasks = Tasks::new();
        tasks.spawn("code-pages", |stop| {
            crate::code_pages::release_after(&crate::code_pages::AFTER_START, stop)
        });
        let served = crate::run(listener, config, shutdown_signal()).await;
        tasks.stop().await;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Runs the command line: parses it, loads the configuration of the
/// commands that take berth's, and runs the command.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    // The agent has its own configuration (agent.toml), not berth's: it
    // neither reads nor needs one, so a berth.toml or BERTH_* meant for the
    // server cannot stop it.
    let command = cli.command.unwrap_or(Command::Serve {
        server: ServerFlags::default(),
    });
    let (server, run): (ServerFlags, Run) = match command {
        Command::Agent(_) if cli.server.given() => {
            eprintln!(
                "berth: --config, --data-dir and --listen before `agent` are the server's; the agent reads \
                 agent.toml in --dir: write `berth agent --listen ADDR` (or `berth agent init --listen ADDR`)"
            );
            return ExitCode::from(2);
        }
        Command::Agent(args) => return finish(agent(args)),
        Command::Serve { server } => (server, Box::new(serve)),
        Command::User { server, command } => (server, Box::new(move |c| user(c, command))),
        Command::Host { server, args } => (server, Box::new(move |c| host(c, args))),
        Command::Stack { server, args } => (server, Box::new(move |c| stack(c, args))),
        Command::Events { server, command } => (server, Box::new(move |c| events(c, command))),
        Command::Monitor { server, args } => (server, Box::new(move |c| monitor(c, args))),
    };
    let given = cli.server.and(server);
    let flags = Overrides {
        listen: given.listen,
        data_dir: given.data_dir.clone(),
    };
    let config = match Config::load(given.config.as_deref(), &flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::from(2);
        }
    };
    finish(run(config))
}

/// A command of berth's, given its configuration.
type Run = Box<dyn FnOnce(Config) -> anyhow::Result<ExitCode>>;

/// The exit code of a command's result, its error printed.
fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
