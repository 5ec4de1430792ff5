//! Expected container states and drift. An operator says what state a
//! container should be in, keyed so the expectation outlives re-creation
//! (compose project and service, or the name). Each host's container list
//! is marked with its expectations; a watcher per host (run by the host's
//! supervisor) compares expected with actual on every change and records
//! `container.drift` when they part and `container.drift_end` when they
//! meet again. Drifts under way are kept in the store: a restart of berth
//! neither records one again nor forgets when it began.
//!
//! Health-check status, restart counts and OOM kills are facts of the
//! container list itself (see `hosts`).

use crate::access::{self, AccessError, Caller, Scope};
use crate::events::{EventError, EventLog, now_ns};
use crate::hosts::{Host, HostError, Hosts};
use crate::model::{
    Actor, Container, ContainerState, Drift, ErrorKind, EventKind, Expectation, ExpectedState, HostId, NewEvent,
    Operation, Outcome, validate_expectation_key,
};
use crate::store::tables::{DRIFTS, EXPECTED};
use crate::store::{Store, StoreError};
use crate::tasks::Stop;
use redb::{ReadableDatabase, ReadableTable, TableError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use thiserror::Error;
use tokio::sync::watch;

#[derive(Debug, Error)]
pub enum HealthError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for HealthError {
    fn kind(&self) -> ErrorKind {
        match self {
            HealthError::Access(e) => e.kind(),
            HealthError::Invalid(_) => ErrorKind::Invalid,
            HealthError::Host(e) => e.kind(),
            HealthError::Store(e) => e.kind(),
            HealthError::Events(e) => e.kind(),
        }
    }
}

type Key = (String, String);

struct Inner {
    store: Store,
    events: EventLog,
    hosts: Hosts,
    /// (host, key) -> expectation.
    expected: RwLock<HashMap<Key, Expectation>>,
    /// (host, key) -> the drift under way.
    drifts: RwLock<HashMap<Key, Drift>>,
    /// Bumped whenever an expectation changes, so watchers re-check.
    changed: watch::Sender<u64>,
}

#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

impl Health {
    /// Loads the stored expectations. Blocking. Hosts' containers are marked
    /// with them by each host's drift watcher (`watch_each_host`).
    pub fn open(store: Store, events: EventLog, hosts: Hosts) -> Result<Health, StoreError> {
        let mut expected = HashMap::new();
        let tx = store.db().begin_read()?;
        match tx.open_table(EXPECTED) {
            Ok(table) => {
                for row in table.iter()? {
                    let (_, v) = row?;
                    match serde_json::from_slice::<Expectation>(v.value()) {
                        Ok(e) => {
                            expected.insert((e.host.0.clone(), e.key.clone()), e);
                        }
                        Err(e) => tracing::warn!(error = %e, "skipping an unreadable expected state"),
                    }
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let drifts = load_drifts(&tx)?;
        Ok(Health {
            inner: Arc::new(Inner {
                store,
                events,
                hosts,
                expected: RwLock::new(expected),
                drifts: RwLock::new(drifts),
                changed: watch::channel(0).0,
            }),
        })
    }

    fn states_of(&self, host: &str) -> HashMap<String, ExpectedState> {
        read(&self.inner.expected)
            .values()
            .filter(|e| e.host.0 == host)
            .map(|e| (e.key.clone(), e.state))
            .collect()
    }

    /// Every expectation, by host and key.
    pub fn expectations(&self) -> Vec<Expectation> {
        let mut all: Vec<Expectation> = read(&self.inner.expected).values().cloned().collect();
        all.sort_by(|a, b| (&a.host, &a.key).cmp(&(&b.host, &b.key)));
        all
    }

    /// The drifts under way.
    pub fn drifts(&self) -> Vec<Drift> {
        let mut all: Vec<Drift> = read(&self.inner.drifts)
            .values()
            .filter(|d| self.inner.hosts.get(&d.host.0).is_ok())
            .cloned()
            .collect();
        all.sort_by(|a, b| (&a.host, &a.key).cmp(&(&b.host, &b.key)));
        all
    }

    /// Sets (or with `None` clears) the expected state under `key` on
    /// `host`; `state` is "running", "exited" or "paused" as a person sent
    /// it. Recorded as `container.expect`, also when refused or invalid.
    pub async fn set(&self, caller: &Caller, host: &str, key: &str, state: Option<&str>) -> Result<(), HealthError> {
        // What a person sent goes into the record, cut to a sane length.
        let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let target = format!("container:{}", self.target_name(host, &clip(key, 300)));
        let event = caller
            .event(Operation::SetExpectedState.kind())
            .host(clip(host, 100))
            .target(target.clone())
            .details(serde_json::json!({ "key": clip(key, 300), "expected": state.map(|s| clip(s, 40)) }));
        let scope = Scope::host(clip(host, 100)).target(target);
        access::check(&self.inner.events, caller, Operation::SetExpectedState, scope).await?;
        let checked = validate_expectation_key(key)
            .map_err(HealthError::Invalid)
            .and_then(|()| Ok(self.inner.hosts.get(host).map(|_| ())?))
            .and_then(|()| match state {
                None => Ok(None),
                Some(s) => ExpectedState::parse(s).map(Some).ok_or_else(|| {
                    HealthError::Invalid(format!(
                        "state must be running, exited, paused or none, not '{}'",
                        clip(s, 40)
                    ))
                }),
            });
        let state = match checked {
            Ok(state) => state,
            Err(e) => {
                self.inner
                    .events
                    .append(event.outcome(Outcome::Error(e.to_string())))
                    .await?;
                return Err(e);
            }
        };
        let expectation = state.map(|state| Expectation {
            host: HostId(host.to_string()),
            key: key.to_string(),
            state,
            set_by: caller
                .user()
                .map_or_else(|| caller.actor().to_string(), |u| u.name.clone()),
            set_at_ns: now_ns(),
        });
        let (store, row) = (self.inner.store.clone(), expectation.clone());
        let (h, k) = (host.to_string(), key.to_string());
        let stored = store
            .blocking(move |db| {
                let tx = db.begin_write()?;
                {
                    let mut table = tx.open_table(EXPECTED)?;
                    match &row {
                        Some(e) => {
                            let json = serde_json::to_vec(e).expect("an expectation serialises");
                            table.insert((h.as_str(), k.as_str()), json.as_slice())?;
                        }
                        None => {
                            table.remove((h.as_str(), k.as_str()))?;
                        }
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await;
        if let Err(e) = stored {
            self.inner
                .events
                .append(event.outcome(Outcome::Error(e.to_string())))
                .await?;
            return Err(e.into());
        }
        {
            let mut all = write(&self.inner.expected);
            let id = (host.to_string(), key.to_string());
            match expectation {
                Some(e) => all.insert(id, e),
                None => all.remove(&id),
            };
        }
        self.inner.events.append(event).await?;
        if let Ok(h) = self.inner.hosts.get(host) {
            h.set_expected(self.states_of(host));
        }
        self.inner.changed.send_modify(|n| *n += 1);
        Ok(())
    }

    fn target_name(&self, host: &str, key: &str) -> String {
        let name = self.inner.hosts.get(host).ok().and_then(|h| {
            h.containers()
                .iter()
                .find(|c| c.expectation_key() == key)
                .map(|c| c.name.clone())
        });
        name.unwrap_or_else(|| key.split_once(':').map_or(key, |(_, rest)| rest).to_string())
    }

    /// Runs a drift watcher for every host, present and future, under the
    /// host's supervisor.
    pub fn watch_each_host(&self) {
        let health = self.clone();
        self.inner
            .hosts
            .on_each_host("drift-watch", move |host, stop| watch_host(health.clone(), host, stop));
    }

    /// Compares the host's containers with its expectations and records
    /// each drift that began or ended.
    fn evaluate(&self, host: &str, containers: &[Container]) -> DriftWrites {
        let mut writes = DriftWrites::default();
        let expected: Vec<Expectation> = read(&self.inner.expected)
            .values()
            .filter(|e| e.host.0 == host)
            .cloned()
            .collect();
        let mut now_drifting: HashMap<String, (ExpectedState, Option<ContainerState>, String)> = HashMap::new();
        for e in &expected {
            let matching: Vec<&Container> = containers.iter().filter(|c| c.expectation_key() == e.key).collect();
            let met = if matching.is_empty() {
                e.state.is_met_by(None)
            } else {
                matching.iter().all(|c| e.state.is_met_by(Some(&c.state)))
            };
            if !met {
                let actual = matching
                    .iter()
                    .find(|c| !e.state.is_met_by(Some(&c.state)))
                    .map(|c| c.state.clone());
                let name = matching
                    .first()
                    .map_or_else(|| self.target_name(host, &e.key), |c| c.name.clone());
                now_drifting.insert(e.key.clone(), (e.state, actual, name));
            }
        }
        let mut drifts = write(&self.inner.drifts);
        let ended: Vec<Key> = drifts
            .keys()
            .filter(|(h, k)| h == host && !now_drifting.contains_key(k))
            .cloned()
            .collect();
        for id in ended {
            let Some(d) = drifts.remove(&id) else { continue };
            writes.ended.push(id.clone());
            let state_now = containers
                .iter()
                .find(|c| c.expectation_key() == d.key)
                .map(|c| c.state.clone());
            let lasted_s = (now_ns() - d.since_ns) / 1_000_000_000;
            self.inner.events.record(
                NewEvent::new(EventKind::ContainerDriftEnd, Actor::system())
                    .host(host.to_string())
                    .target(format!("container:{}", self.target_name(host, &d.key)))
                    .details(serde_json::json!({
                        "key": d.key, "expected": d.expected.as_str(), "actual": state_now, "lasted_s": lasted_s,
                    })),
            );
        }
        for (key, (expected, actual, name)) in now_drifting {
            let id = (host.to_string(), key.clone());
            if drifts.contains_key(&id) {
                continue;
            }
            let message = format!(
                "expected {}, is {}",
                expected.as_str(),
                actual.as_ref().map_or("missing", ContainerState::as_str)
            );
            self.inner.events.record(
                NewEvent::new(EventKind::ContainerDrift, Actor::system())
                    .host(host.to_string())
                    .target(format!("container:{name}"))
                    .outcome(Outcome::Error(message))
                    .details(serde_json::json!({ "key": key, "expected": expected.as_str(), "actual": actual })),
            );
            let drift = Drift {
                host: HostId(host.to_string()),
                key,
                expected,
                actual,
                since_ns: now_ns(),
            };
            writes.begun.push(drift.clone());
            drifts.insert(id, drift);
        }
        writes
    }

    /// Keeps what `evaluate` changed, so a restart of berth neither records
    /// an ongoing drift again nor forgets when it began.
    async fn keep(&self, writes: DriftWrites) {
        if writes.begun.is_empty() && writes.ended.is_empty() {
            return;
        }
        let kept = self
            .inner
            .store
            .blocking(move |db| {
                let tx = db.begin_write()?;
                {
                    let mut table = tx.open_table(DRIFTS)?;
                    for (h, k) in &writes.ended {
                        table.remove((h.as_str(), k.as_str()))?;
                    }
                    for d in &writes.begun {
                        let json = serde_json::to_vec(d).expect("a drift serialises");
                        table.insert((d.host.0.as_str(), d.key.as_str()), json.as_slice())?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await;
        if let Err(e) = kept {
            tracing::error!(error = %e, "cannot keep the drifts; a restart would record them again");
        }
    }
}

/// Marks the host's containers with their expected states, then compares
/// them on every change until `stop`. A host that goes (removed, or berth
/// stops) takes its drifts along: none of them ended, nobody sees them now.
async fn watch_host(health: Health, host: Arc<Host>, mut stop: Stop) {
    let host_id = host.id().0.clone();
    let task = format!("drift-watch:{host_id}");
    tracing::debug!(task, "started");
    let mut lists = host.subscribe_containers();
    let mut changed = health.inner.changed.subscribe();
    let mut status = host.subscribe_status();
    host.set_expected(health.states_of(&host_id));
    loop {
        // A host that cannot be reached says nothing about its containers.
        if host.status().reachable {
            let writes = health.evaluate(&host_id, &host.containers());
            health.keep(writes).await;
        }
        tokio::select! {
            r = lists.changed() => if r.is_err() { break },
            r = changed.changed() => if r.is_err() { break },
            r = status.changed() => if r.is_err() { break },
            _ = stop.changed() => break,
        }
    }
    // The host's drifts stay, in memory and stored: the host is away (or
    // berth stops), which ends none of them; `drifts` shows only those of
    // hosts berth has.
    tracing::debug!(task, "stopped");
}

/// The drifts one evaluation began and ended.
#[derive(Default)]
struct DriftWrites {
    begun: Vec<Drift>,
    ended: Vec<Key>,
}

/// The drifts under way when berth last stopped.
fn load_drifts(tx: &redb::ReadTransaction) -> Result<HashMap<Key, Drift>, StoreError> {
    let mut drifts = HashMap::new();
    match tx.open_table(DRIFTS) {
        Ok(table) => {
            for row in table.iter()? {
                let (_, v) = row?;
                match serde_json::from_slice::<Drift>(v.value()) {
                    Ok(d) => {
                        drifts.insert((d.host.0.clone(), d.key.clone()), d);
                    }
                    Err(e) => tracing::warn!(error = %e, "skipping an unreadable drift"),
                }
            }
        }
        Err(TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(drifts)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}
