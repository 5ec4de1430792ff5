//! Server functions: find the caller, call core, map the error. Nothing more.

pub mod alerts;
pub mod auth;
pub mod containers;
pub mod events;
pub mod hosts;
pub mod log;
pub mod logs;
pub mod ops;
pub mod stacks;
pub mod stats;
pub mod stored_logs;
pub mod terminal;
pub mod users;

#[cfg(feature = "ssr")]
pub(crate) mod ssr;
