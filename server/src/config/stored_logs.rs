//! `[stored_logs]`: how much of the collected container logs berth keeps.
//! Collection itself is switched per container key at run time (the logs
//! page, `PUT /api/v1/hosts/{host}/logs/collect`); a key may have a budget
//! of its own there. A budget counts each line's text and 32 bytes; on
//! disk the lines take about twice that (redb leaves the pages it appends
//! to about half full), plus what the last minute freed until the next
//! durable commit lets redb reuse it.
//!
//! ```toml
//! [stored_logs]
//! budget_mib = 1024      # all keys together: the oldest lines of all go first
//! key_budget_mib = 256   # a key without a budget of its own
//! ```

use berth_core::logs::stored::Budgets;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoredLogsSettings {
    /// The most all stored logs together take, in MiB.
    pub budget_mib: u64,
    /// The most one key's stored logs take unless it has its own budget, in MiB.
    pub key_budget_mib: u64,
}

impl Default for StoredLogsSettings {
    fn default() -> Self {
        StoredLogsSettings {
            budget_mib: 1024,
            key_budget_mib: 256,
        }
    }
}

/// The largest total budget (1 PiB).
const MAX_MIB: u64 = 1 << 30;

impl StoredLogsSettings {
    pub(super) fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_MIB).contains(&self.budget_mib) {
            return Err(format!(
                "[stored_logs] budget_mib must be between 1 and {MAX_MIB}, not {}",
                self.budget_mib
            ));
        }
        if !(1..=self.budget_mib).contains(&self.key_budget_mib) {
            return Err(format!(
                "[stored_logs] key_budget_mib must be between 1 and budget_mib ({}), not {}",
                self.budget_mib, self.key_budget_mib
            ));
        }
        Ok(())
    }

    /// As core takes them, in bytes.
    pub fn budgets(&self) -> Budgets {
        Budgets {
            total: self.budget_mib << 20,
            per_key: self.key_budget_mib << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_checked_and_read_in_bytes() {
        let ok = StoredLogsSettings::default();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.budgets().total, 1 << 30);
        assert_eq!(ok.budgets().per_key, 256 << 20);
        let bigger_key = StoredLogsSettings {
            budget_mib: 10,
            key_budget_mib: 11,
        };
        assert!(bigger_key.validate().unwrap_err().contains("key_budget_mib"));
        let none = StoredLogsSettings {
            budget_mib: 0,
            key_budget_mib: 0,
        };
        assert!(none.validate().unwrap_err().contains("budget_mib"));
    }
}
