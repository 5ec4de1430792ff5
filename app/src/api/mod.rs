//! Server functions: find the caller, call core, map the error. Nothing more.

pub mod auth;
pub mod events;

#[cfg(feature = "ssr")]
pub(crate) mod ssr;
