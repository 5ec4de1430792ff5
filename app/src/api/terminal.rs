//! Terminals: a one-time ticket for `/ws/terminal` (the container, command
//! and user fixed in it), and a recorded session's asciicast for the replay
//! player, which core serves only when its hash is the one its event holds.

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, failure};

/// A ticket for a terminal in container `id` on `host`: `command` as one
/// line (blank: the container's shell), as `user` (blank: its own).
#[server(endpoint = "terminal_ticket")]
pub async fn terminal_ticket(
    host: String,
    id: String,
    command: Option<String>,
    user: Option<String>,
) -> Result<String, AppError> {
    let (berth, caller) = caller().await?;
    let request = berth_core::model::TerminalRequest { command, user };
    berth
        .terminals
        .ticket(&caller, &host, &id, &request)
        .await
        .map_err(failure)
}

/// The recording of session `seq` (its `terminal.close` event), as
/// asciicast v2; viewing it is recorded (`terminal.replay`).
#[server(endpoint = "terminal_recording")]
pub async fn terminal_recording(seq: u64) -> Result<String, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .terminals
        .recording(&caller, berth_core::model::EventSeq(seq))
        .await
        .map_err(failure)
}
