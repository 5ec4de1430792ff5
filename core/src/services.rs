//! `Berth`: the services a running server shares, built once at start-up.

use crate::auth::Auth;
use crate::events::EventLog;
use crate::hosts::Hosts;
use crate::store::Store;

/// What every request handler needs; cheap to clone.
#[derive(Clone)]
pub struct Berth {
    pub store: Store,
    pub events: EventLog,
    pub auth: Auth,
    pub hosts: Hosts,
}
