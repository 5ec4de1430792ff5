//! Statistics: the collector that reads every host and running container
//! each tick, the time-series store that keeps the readings, and the latest
//! snapshot that the dashboard and /metrics share.

mod collector;
mod series;
pub mod tsdb;

pub use tsdb::{Retention, Sample, Tsdb};

use crate::access::{self, AccessError, Caller, Scope};
use crate::events::EventLog;
use crate::hosts::Hosts;
use crate::model::{ChartRange, ChartSet, Operation, StatsSnapshot};
use crate::store::{Store, StoreError};
use crate::tasks::Stop;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;

#[derive(Debug, Error)]
pub enum StatsError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl crate::Failure for StatsError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            StatsError::Access(e) => e.kind(),
            StatsError::Store(e) => e.kind(),
        }
    }
}

/// How often to collect, and how long to keep what was collected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsConfig {
    pub interval: Duration,
    pub retention: Retention,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            interval: Duration::from_secs(5),
            retention: Retention::default(),
        }
    }
}

struct Inner {
    tsdb: Arc<Tsdb>,
    interval: Duration,
    latest: watch::Sender<Arc<StatsSnapshot>>,
}

/// The statistics service; cheap to clone.
#[derive(Clone)]
pub struct Stats {
    inner: Arc<Inner>,
}

impl Stats {
    /// Opens the time-series tables. Blocking.
    pub fn open(store: Store, config: StatsConfig) -> Result<Stats, StoreError> {
        let tsdb = Tsdb::open(store, config.retention)?;
        Ok(Stats {
            inner: Arc::new(Inner {
                tsdb: Arc::new(tsdb),
                interval: config.interval,
                latest: watch::channel(Arc::new(StatsSnapshot::default())).0,
            }),
        })
    }

    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// The last tick's readings.
    pub fn latest(&self) -> Arc<StatsSnapshot> {
        self.inner.latest.borrow().clone()
    }

    /// Wakes on every tick.
    pub fn subscribe(&self) -> watch::Receiver<Arc<StatsSnapshot>> {
        self.inner.latest.subscribe()
    }

    /// The collector: reads every host in `hosts` (as it is at each tick)
    /// until `stop`. Its owner spawns it and waits for it at shutdown.
    pub async fn run(self, hosts: Hosts, stop: Stop) {
        collector::run(self, hosts, stop).await
    }

    /// A host's charts over `range`, ending now.
    pub async fn host_charts(
        &self,
        events: &EventLog,
        caller: &Caller,
        host: &str,
        range: ChartRange,
    ) -> Result<ChartSet, StatsError> {
        access::check(events, caller, Operation::ViewStats, Scope::host(host)).await?;
        let known = self.inner.tsdb.series_with_prefix(&series::host_prefix(host));
        self.charts(series::host_charts(host, &known), range).await
    }

    /// A container's charts over `range`, ending now (by container name).
    pub async fn container_charts(
        &self,
        events: &EventLog,
        caller: &Caller,
        host: &str,
        name: &str,
        range: ChartRange,
    ) -> Result<ChartSet, StatsError> {
        let scope = Scope::host(host).target(format!("container:{name}"));
        access::check(events, caller, Operation::ViewStats, scope).await?;
        self.charts(series::container_charts(host, name), range).await
    }

    async fn charts(&self, specs: Vec<series::ChartSpec>, range: ChartRange) -> Result<ChartSet, StatsError> {
        let to = crate::events::now_ns() / 1_000_000_000 + 1;
        let from = to - range.seconds();
        let names: Vec<String> = specs
            .iter()
            .flat_map(|s| s.lines.iter().map(|(_, n)| n.clone()))
            .collect();
        let tsdb = self.inner.tsdb.clone();
        let (step, mut points) = tokio::task::spawn_blocking(move || tsdb.query(&names, from, to))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        points.reverse();
        let charts = specs
            .into_iter()
            .map(|spec| spec.fill(|_| points.pop().unwrap_or_default()))
            .collect();
        Ok(ChartSet {
            range,
            from,
            to,
            step,
            charts,
        })
    }
}
