//! The alert delivery service on a temporary database, with channels to
//! look up and its task running, as `tests/alert_delivery.rs` drives it.

use berth_core::alerts::deliver::{Deliveries, DeliverySettings};
use berth_core::events::EventLog;
use berth_core::model::{Channel, ChannelId, ChannelSpec, ChannelTarget, Event, EventFilter};
use berth_core::store::Store;
use berth_core::tasks::Tasks;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub type Channels = Arc<RwLock<HashMap<ChannelId, Channel>>>;

/// A store, its event log, channels to look up, and the delivery service
/// with its task running (or not yet).
pub struct World {
    pub events: EventLog,
    pub channels: Channels,
    pub deliveries: Deliveries,
    tasks: Option<Tasks>,
}

/// Quick retries for tests: after 200 ms, then at most 400 ms apart.
pub fn quick() -> DeliverySettings {
    DeliverySettings {
        timeout: Duration::from_secs(3),
        retry_first: Duration::from_millis(200),
        retry_max: Duration::from_millis(400),
        ..DeliverySettings::default()
    }
}

impl World {
    /// Opens the database in `dir`; the task starts when `run` is true.
    pub fn open(dir: &Path, settings: DeliverySettings, channels: Channels, run: bool) -> World {
        let store = Store::open(&dir.join("berth.redb")).unwrap();
        let events = EventLog::open(&store).unwrap();
        let lookup = {
            let channels = channels.clone();
            Arc::new(move |id: ChannelId| channels.read().unwrap().get(&id).cloned())
        };
        let deliveries = Deliveries::open(store, events.clone(), settings, lookup).unwrap();
        let mut world = World {
            events,
            channels,
            deliveries,
            tasks: None,
        };
        if run {
            world.start();
        }
        world
    }

    pub fn start(&mut self) {
        let mut tasks = Tasks::new();
        let deliveries = self.deliveries.clone();
        tasks.spawn("alert-delivery", move |stop| deliveries.run(stop));
        self.tasks = Some(tasks);
    }

    pub fn add(&self, id: u64, name: &str, target: ChannelTarget) -> ChannelId {
        let channel = Channel {
            id: ChannelId(id),
            spec: ChannelSpec {
                name: name.into(),
                enabled: true,
                target,
            },
        };
        self.channels.write().unwrap().insert(ChannelId(id), channel);
        ChannelId(id)
    }

    pub fn channel(&self, id: ChannelId) -> Channel {
        self.channels.read().unwrap()[&id].clone()
    }

    /// Every `alert.deliver` event so far, oldest first.
    pub async fn deliveries_recorded(&self) -> Vec<Event> {
        self.events.flush().await.unwrap();
        let filter = EventFilter {
            kind: Some("alert.deliver".into()),
            ..EventFilter::default()
        };
        let mut page = self.events.query(filter, None, 500).await.unwrap().events;
        page.reverse();
        page
    }

    /// Waits until `done` holds for the recorded deliveries (panics after 10 s).
    pub async fn wait_events(&self, what: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let start = Instant::now();
        loop {
            let events = self.deliveries_recorded().await;
            if done(&events) {
                return events;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "{what}: {events:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_outbox_empty(&self) {
        let start = Instant::now();
        while self.deliveries.waiting() > 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "the outbox never emptied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn close(mut self) {
        if let Some(tasks) = self.tasks.take() {
            tasks.stop().await;
        }
        drop(self.deliveries);
        self.events.close().await.unwrap();
    }
}

pub fn channels() -> Channels {
    Arc::new(RwLock::new(HashMap::new()))
}

/// HMAC-SHA256 written out here (RFC 2104), so the check does not lean
/// on the code it checks.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}
