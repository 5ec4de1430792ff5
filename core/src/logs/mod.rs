//! Container logs, live and on request. Live (`hub`): one engine stream
//! per container, shared by every follower through a channel with a ring
//! of its last lines (backfill, then live, without a gap or a line twice);
//! lines batched and serialised once for all followers; a follower that
//! falls behind gets a gap marker and slows nobody. Each host's streams
//! are tasks of its supervisor, stopped with it. On request (`read`):
//! `Host::read_logs`, the engine's tail through a search (`search`), and
//! `Host::download_logs`, a file to download (`download`).
//! Stored: lines kept in the database per container key (`stored`).
//!
//! Who may read is `access`'s (asked here, through `Host` and
//! `LogHub::follow`); the engine's stream is `engine`'s contract, reached
//! through `hosts`; the websocket is the server's.

mod backfill;
mod batch;
mod channel;
mod download;
mod feed;
mod hub;
mod read;
mod ring;
mod search;
pub mod stored;
mod stream;
#[cfg(test)]
mod tests;

pub use download::LogDownload;
pub use feed::Feed;
pub use hub::LogHub;
pub use search::Matcher;

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How much of each followed container's log berth keeps for new
/// followers, and how long a stream outlives its last follower
/// (`[logs]` in the configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogHubConfig {
    /// Lines kept per container (at least, when it has as many).
    pub ring_lines: usize,
    /// Bytes kept per container at most (its lines as JSON).
    pub ring_bytes: usize,
    /// Batches each follower may fall behind before it skips (and is told).
    pub follower_queue: usize,
    /// Seconds a container's stream stays open after its last follower left.
    pub linger_secs: u64,
}

impl Default for LogHubConfig {
    fn default() -> Self {
        LogHubConfig {
            ring_lines: 2_000,
            ring_bytes: 4 << 20,
            follower_queue: 256,
            linger_secs: 10,
        }
    }
}

impl LogHubConfig {
    /// Checks the settings; the error names the one that is wrong.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=crate::model::MAX_TAIL as usize).contains(&self.ring_lines) {
            return Err(format!(
                "logs.ring_lines must be from 1 to {}, not {}",
                crate::model::MAX_TAIL,
                self.ring_lines
            ));
        }
        if self.ring_bytes < 64 << 10 {
            return Err(format!(
                "logs.ring_bytes must be at least 65536, not {}",
                self.ring_bytes
            ));
        }
        if !(1..=65_536).contains(&self.follower_queue) {
            return Err(format!(
                "logs.follower_queue must be from 1 to 65536, not {}",
                self.follower_queue
            ));
        }
        Ok(())
    }

    pub(crate) fn linger(&self) -> Duration {
        Duration::from_secs(self.linger_secs)
    }
}
