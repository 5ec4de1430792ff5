//! `Berth`: the services a running server shares, built once at start-up.

use crate::auth::Auth;
use crate::events::EventLog;
use crate::health::Health;
use crate::hosts::Hosts;
use crate::stats::Stats;
use crate::store::Store;

/// What every request handler needs; cheap to clone.
#[derive(Clone)]
pub struct Berth {
    pub store: Store,
    pub events: EventLog,
    pub auth: Auth,
    pub hosts: Hosts,
    pub stats: Stats,
    pub health: Health,
}

impl Berth {
    /// Every host with its containers, the latest readings and the drifts.
    pub fn dashboard(&self) -> crate::model::Dashboard {
        crate::model::Dashboard {
            hosts: self.hosts.all().iter().map(|h| h.view()).collect(),
            stats: self.stats.latest().as_ref().clone(),
            drifts: self.health.drifts(),
        }
    }
}
