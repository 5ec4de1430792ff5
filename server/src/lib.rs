//! The berth server: the CLI, configuration, the HTTP surface (Leptos pages,
//! REST under /api/v1, websockets) and the background tasks, wired to the
//! services of berth-core. `run` serves on a given listener until a shutdown
//! signal, so tests can bind port 0 and stop it cleanly.

pub mod cli;
mod code_pages;
mod commands;
pub mod config;
mod http;
mod serve;
mod witness;

pub use config::{Config, HostConfig};

/// The `berth` command line (`berth --help`); the binary's `main`.
pub fn main() -> std::process::ExitCode {
    commands::main()
}
pub use serve::run;
