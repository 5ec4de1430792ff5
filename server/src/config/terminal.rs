//! `[terminal]`: how long an idle terminal stays open, and what a session's
//! recording may take and do when it cannot go on.
//!
//! ```toml
//! [terminal]
//! idle_timeout_secs = 900    # no keystroke this long: closed
//! recording = "strict"       # or "continue": go on unrecorded past the cap
//! recording_cap_mib = 8      # per session
//! recordings_budget_mib = 1024  # all sessions together; the oldest go first
//! ```

use berth_core::terminal::{RecordingMode, TerminalConfig};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TerminalSettings {
    /// A terminal without a keystroke for this many seconds is closed.
    pub idle_timeout_secs: u32,
    /// When a session's recording reaches its cap or cannot be stored:
    /// `strict` closes the terminal, `continue` lets it go on unrecorded
    /// (the person is told, and `terminal.close` says so).
    pub recording: RecordingMode,
    /// The most one session's recording may take, in MiB.
    pub recording_cap_mib: u32,
    /// The most all recordings together may take, in MiB; over it the
    /// oldest are dropped (each drop recorded).
    pub recordings_budget_mib: u32,
}

impl Default for TerminalSettings {
    fn default() -> Self {
        let core = TerminalConfig::default();
        TerminalSettings {
            idle_timeout_secs: core.idle.as_secs() as u32,
            recording: core.recording,
            recording_cap_mib: (core.recording_cap >> 20) as u32,
            recordings_budget_mib: (core.recordings_budget >> 20) as u32,
        }
    }
}

impl TerminalSettings {
    pub(super) fn validate(&self) -> Result<(), String> {
        if !(1..=24 * 3600).contains(&self.idle_timeout_secs) {
            return Err(format!(
                "[terminal] idle_timeout_secs must be between 1 and 86400, not {}",
                self.idle_timeout_secs
            ));
        }
        if !(1..=1024).contains(&self.recording_cap_mib) {
            return Err(format!(
                "[terminal] recording_cap_mib must be between 1 and 1024, not {}",
                self.recording_cap_mib
            ));
        }
        if !(self.recording_cap_mib..=1 << 20).contains(&self.recordings_budget_mib) {
            return Err(format!(
                "[terminal] recordings_budget_mib must be at least recording_cap_mib ({}) and at most 1048576, not {}",
                self.recording_cap_mib, self.recordings_budget_mib
            ));
        }
        Ok(())
    }

    /// As core takes it.
    pub fn core(&self) -> TerminalConfig {
        TerminalConfig {
            idle: Duration::from_secs(u64::from(self.idle_timeout_secs)),
            recording_cap: u64::from(self.recording_cap_mib) << 20,
            recording: self.recording,
            recordings_budget: u64::from(self.recordings_budget_mib) << 20,
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::super::{Config, Overrides};
    use super::*;
    use std::path::Path;

    #[test]
    fn the_terminal_table_is_read_and_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.terminal.core(), TerminalConfig::default());
            jail.create_file(
                "t.toml",
                "[terminal]\nidle_timeout_secs = 60\nrecording = \"continue\"\nrecording_cap_mib = 2\nrecordings_budget_mib = 3\n",
            )?;
            let c = Config::load(Some(Path::new("t.toml")), &Overrides::default()).unwrap();
            assert_eq!(c.terminal.core().idle, Duration::from_secs(60));
            assert_eq!(c.terminal.core().recording, RecordingMode::Continue);
            assert_eq!(c.terminal.core().recording_cap, 2 << 20);
            assert_eq!(c.terminal.core().recordings_budget, 3 << 20);
            let refused = |name: &str, toml: &str, word: &str| {
                jail.create_file(name, toml).unwrap();
                let e = Config::load(Some(Path::new(name)), &Overrides::default()).unwrap_err();
                assert!(e.contains(word), "{name}: {e}");
            };
            refused("idle.toml", "[terminal]\nidle_timeout_secs = 0\n", "idle_timeout_secs");
            refused("cap.toml", "[terminal]\nrecording_cap_mib = 0\n", "recording_cap_mib");
            refused(
                "budget.toml",
                "[terminal]\nrecording_cap_mib = 8\nrecordings_budget_mib = 4\n",
                "recordings_budget_mib",
            );
            refused("mode.toml", "[terminal]\nrecording = \"sometimes\"\n", "recording");
            refused("ttl.toml", "ticket_ttl_secs = 0\n", "ticket_ttl_secs");
            Ok(())
        });
    }
}
