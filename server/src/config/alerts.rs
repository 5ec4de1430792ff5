//! `[alerts]`: how notifications are delivered. Rules and channels are
//! made at run time (the alerts page, `/api/v1/alerts/...`); these are the
//! delivery's limits: how long one attempt may take, and how failed ones
//! are retried (doubling from `retry_first_secs` up to `retry_max_secs`,
//! given up after `give_up_hours`, each attempt recorded).
//!
//! ```toml
//! [alerts]
//! timeout_secs = 10
//! retry_first_secs = 10
//! retry_max_secs = 1800
//! give_up_hours = 24
//! ```

use berth_core::alerts::deliver::DeliverySettings;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// One delivery attempt, answer included, fails after this many seconds.
    pub timeout_secs: u32,
    /// The wait before the first retry of a failed delivery.
    pub retry_first_secs: u32,
    /// The longest wait between retries.
    pub retry_max_secs: u32,
    /// A delivery still failing after this many hours is given up (and that recorded).
    pub give_up_hours: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            timeout_secs: 10,
            retry_first_secs: 10,
            retry_max_secs: 1800,
            give_up_hours: 24,
        }
    }
}

impl AlertSettings {
    pub(super) fn validate(&self) -> Result<(), String> {
        if !(1..=300).contains(&self.timeout_secs) {
            return Err(format!(
                "[alerts] timeout_secs must be between 1 and 300, not {}",
                self.timeout_secs
            ));
        }
        if !(1..=86_400).contains(&self.retry_first_secs) {
            return Err(format!(
                "[alerts] retry_first_secs must be between 1 and 86400, not {}",
                self.retry_first_secs
            ));
        }
        if !(self.retry_first_secs..=86_400).contains(&self.retry_max_secs) {
            return Err(format!(
                "[alerts] retry_max_secs must be between retry_first_secs ({}) and 86400, not {}",
                self.retry_first_secs, self.retry_max_secs
            ));
        }
        if !(1..=24 * 30).contains(&self.give_up_hours) {
            return Err(format!(
                "[alerts] give_up_hours must be between 1 and 720, not {}",
                self.give_up_hours
            ));
        }
        Ok(())
    }

    /// As core takes them.
    pub fn delivery(&self, public_url: Option<String>) -> DeliverySettings {
        DeliverySettings {
            timeout: Duration::from_secs(self.timeout_secs.into()),
            retry_first: Duration::from_secs(self.retry_first_secs.into()),
            retry_max: Duration::from_secs(self.retry_max_secs.into()),
            give_up_after: Duration::from_secs(u64::from(self.give_up_hours) * 3600),
            public_url,
            ..DeliverySettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        assert!(AlertSettings::default().validate().is_ok());
        let bad = AlertSettings {
            retry_first_secs: 100,
            retry_max_secs: 10,
            ..AlertSettings::default()
        };
        assert!(bad.validate().unwrap_err().contains("retry_max_secs"));
        let bad = AlertSettings {
            timeout_secs: 0,
            ..AlertSettings::default()
        };
        assert!(bad.validate().unwrap_err().contains("timeout_secs"));
    }
}
