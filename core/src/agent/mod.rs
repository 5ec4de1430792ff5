//! `berth agent` and the core's side of it: a small stateless server on
//! each remote machine that answers for the Docker engine there and reads
//! the machine itself, over one TLS connection per core.
//!
//! - `protocol`: the frames and one typed request per operation, with a
//!   version handshake;
//! - `wire`: how a frame is carried (length-prefixed JSON, size-capped);
//! - `tls`: the agent's self-signed certificate and the core's pinning of
//!   its fingerprint;
//! - `addr`: the agent's address and its allowlist;
//! - `server`: the agent (`berth agent`), which enforces its own limits;
//! - `client`: `AgentEngine`, the `engine::Engine` of a host reached
//!   through an agent; `link`: its one connection as callers share it;
//! - `exec`: terminals through the agent, on both sides.
//!
//! Not here: the agent's configuration file and command line (the server
//! crate), and who may add a host (`hosts`).

pub mod addr;
mod client;
mod exec;
mod link;
mod logs;
pub mod protocol;
mod server;
pub mod tls;
pub mod wire;

pub use addr::{AgentUrl, Cidr, DEFAULT_PORT};
pub use client::{AgentEngine, AgentSettings, probe};
pub use server::{AgentOptions, OLDEST_CORE, allowed, serve};
pub use tls::Fingerprint;
