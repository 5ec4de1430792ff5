//! Alerts: rules over what berth already watches (the collector's ticks,
//! each host's containers and status, drifts, recent restarts, OOM kills
//! and log lines), evaluated once a second with a duration, hysteresis,
//! repeats and silences (`eval`); each alert that fires or resolves is
//! recorded (`alert.fire`, `alert.resolve`), kept in the store while it
//! fires (a restart neither fires it again nor forgets it), and sent to
//! the rule's channels (`deliver`, which records each attempt).
//!
//! Rules and channels are changed through the caller-checked functions
//! here: rules need the manage level on their host (all hosts: admins),
//! channels the admin role; every change, refused or failed, is recorded.
//! Not here: reading engines (`hosts`, `stats`), the expected states
//! (`health`), the HTTP edges.

mod bench;
mod book;
pub mod deliver;
mod edit;
mod eval;
mod logwatch;
mod run;
mod state;
mod windows;
mod world;

use crate::access::AccessError;
use crate::events::{EventError, EventLog};
use crate::health::Health;
use crate::hosts::Hosts;
use crate::model::{Alert, AlertRule, Channel, ChannelId, ErrorKind, RuleId};
use crate::stats::Stats;
use crate::store::{Store, StoreError};
pub use bench::EvalBench;
use book::Shelf;
use deliver::{Deliveries, DeliverySettings};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use thiserror::Error;
use tokio::sync::Notify;

#[derive(Debug, Error)]
pub enum AlertError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for AlertError {
    fn kind(&self) -> ErrorKind {
        match self {
            AlertError::Access(e) => e.kind(),
            AlertError::Invalid(_) => ErrorKind::Invalid,
            AlertError::NotFound(_) => ErrorKind::NotFound,
            AlertError::Store(e) => e.kind(),
            AlertError::Events(e) => e.kind(),
        }
    }
}

/// How alerts run: delivery settings, and berth's own addresses (a
/// channel may not point at them).
#[derive(Clone, Debug, Default)]
pub struct AlertSettings {
    pub delivery: DeliverySettings,
    /// Where berth listens, so no channel calls berth itself.
    pub own: Vec<SocketAddr>,
    /// berth's public URL, for links in notifications.
    pub public_url: Option<String>,
}

struct Inner {
    store: Store,
    events: EventLog,
    hosts: Hosts,
    health: Health,
    stats: Stats,
    logs: crate::logs::LogHub,
    rules: Shelf<AlertRule>,
    channels: Arc<Shelf<Channel>>,
    deliveries: Deliveries,
    settings: AlertSettings,
    /// The alerts of the last pass, newest first.
    live: RwLock<Arc<Vec<Alert>>>,
    /// Rules changed: evaluate now.
    changed: Notify,
}

/// The alerts service; cheap to clone.
#[derive(Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

const RULES_NEXT: &str = "alert_rules_next";
const CHANNELS_NEXT: &str = "alert_channels_next";

impl Alerts {
    /// Loads rules, channels and the deliveries left over. Blocking. The
    /// first open of a database adds the rules berth ships with.
    pub fn open(
        store: Store,
        events: EventLog,
        hosts: Hosts,
        health: Health,
        stats: Stats,
        logs: crate::logs::LogHub,
        settings: AlertSettings,
    ) -> Result<Alerts, StoreError> {
        edit::seed_default_rules(&store)?;
        let rules = Shelf::load(&store, crate::store::tables::ALERT_RULES, RULES_NEXT)?;
        let channels = Arc::new(Shelf::<Channel>::load(
            &store,
            crate::store::tables::ALERT_CHANNELS,
            CHANNELS_NEXT,
        )?);
        let lookup = {
            let channels = channels.clone();
            Arc::new(move |id: ChannelId| channels.get(id.0)) as Arc<dyn Fn(ChannelId) -> Option<Channel> + Send + Sync>
        };
        let mut delivery = settings.delivery.clone();
        if delivery.public_url.is_none() {
            delivery.public_url = settings.public_url.clone();
        }
        if delivery.own.is_empty() {
            delivery.own = settings.own.clone();
        }
        let deliveries = Deliveries::open(store.clone(), events.clone(), delivery, lookup)?;
        Ok(Alerts {
            inner: Arc::new(Inner {
                store,
                events,
                hosts,
                health,
                stats,
                logs,
                rules,
                channels,
                deliveries,
                settings,
                live: RwLock::new(Arc::new(Vec::new())),
                changed: Notify::new(),
            }),
        })
    }

    /// The deliveries, whose task the server runs beside `run`.
    pub fn deliveries(&self) -> Deliveries {
        self.inner.deliveries.clone()
    }

    fn rule(&self, id: RuleId) -> Result<AlertRule, AlertError> {
        self.inner
            .rules
            .get(id.0)
            .ok_or_else(|| AlertError::NotFound(format!("there is no alert rule {id}")))
    }

    fn channel(&self, id: ChannelId) -> Result<Channel, AlertError> {
        self.inner
            .channels
            .get(id.0)
            .ok_or_else(|| AlertError::NotFound(format!("there is no channel {id}")))
    }

    fn live(&self) -> Arc<Vec<Alert>> {
        self.inner.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
