//! berth-core: everything berth does on the server that is not HTTP.
//!
//! `model` holds the types shared with the browser and compiles to wasm. The
//! `engine` feature adds the parts that run on the server: the redb `store`,
//! the tamper-evident `events` log, `auth` (users, sessions, throttling),
//! `access` (who may do what), `engine` (what berth asks of a container
//! engine), `machine` (reading the machine itself), `hosts` (each host's
//! engine), `stats` (collector and time series), `health` (expected states
//! and drift), `alerts` (rules, what fires, notifications) and `outbound`
//! (the HTTP client berth calls other machines with); `tasks` gives each
//! background task an owner that stops it and waits for it. Nothing here
//! knows about Leptos or axum.

pub mod model;
pub mod tlog;

#[cfg(feature = "engine")]
pub mod access;
#[cfg(feature = "engine")]
pub mod agent;
#[cfg(feature = "engine")]
pub mod alerts;
#[cfg(feature = "engine")]
pub mod auth;
#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "engine")]
pub mod events;
#[cfg(feature = "engine")]
pub mod files;
#[cfg(feature = "engine")]
pub mod health;
#[cfg(feature = "engine")]
pub mod hosts;
#[cfg(feature = "engine")]
pub mod logs;
#[cfg(feature = "engine")]
pub mod machine;
#[cfg(feature = "engine")]
pub mod ops;
#[cfg(feature = "engine")]
pub mod outbound;
#[cfg(feature = "engine")]
mod services;
#[cfg(feature = "engine")]
pub mod stacks;
#[cfg(feature = "engine")]
pub mod stats;
#[cfg(feature = "engine")]
pub mod store;
#[cfg(feature = "engine")]
pub mod tasks;
#[cfg(feature = "engine")]
pub mod terminal;

#[cfg(feature = "engine")]
pub use services::Berth;

#[cfg(feature = "engine")]
pub use model::ErrorKind;

/// Every error of core knows its kind (denied, not found, unavailable...),
/// so each edge (REST, server functions, websockets) maps it to an HTTP
/// status in one place: `ErrorKind::status`.
#[cfg(feature = "engine")]
pub trait Failure: std::error::Error {
    fn kind(&self) -> ErrorKind;
}
