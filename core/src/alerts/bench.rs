//! The evaluation without the store, the clock or the engines, for
//! `benches/alerts.rs`: the same `world` readings and `eval` passes the
//! `alerts` task runs, over made-up hosts, containers and readings.

use super::eval::Evaluator;
use super::run::evaluate;
use super::windows::Windows;
use super::world::{HostFacts, World};
use crate::model::{AlertRule, Container, HostStatus, StatsSnapshot};
use std::collections::BTreeMap;
use std::sync::Arc;

#[doc(hidden)]
pub struct EvalBench {
    eval: Evaluator,
    windows: Windows,
    rules: BTreeMap<u64, AlertRule>,
    hosts: Vec<HostFacts>,
}

impl EvalBench {
    pub fn new(rules: Vec<AlertRule>, hosts: Vec<(HostStatus, Vec<Container>)>) -> EvalBench {
        EvalBench {
            eval: Evaluator::default(),
            windows: Windows::default(),
            rules: rules.into_iter().map(|r| (r.id.0, r)).collect(),
            hosts: hosts
                .into_iter()
                .map(|(status, list)| HostFacts::new(status.id.0.clone(), status, Arc::new(list)))
                .collect(),
        }
    }

    /// The hosts' container lists as they are now (alerts are kept).
    pub fn set_hosts(&mut self, hosts: Vec<(HostStatus, Vec<Container>)>) {
        self.hosts = hosts
            .into_iter()
            .map(|(status, list)| HostFacts::new(status.id.0.clone(), status, Arc::new(list)))
            .collect();
    }

    /// One pass at `now_ms` with a new tick `stats`; how many alerts changed.
    pub fn pass(&mut self, stats: &StatsSnapshot, now_ms: i64) -> usize {
        for h in &self.hosts {
            self.windows.observe_containers(&h.id, &h.containers, now_ms);
        }
        let stat_keys = super::world::stat_keys(stats);
        let world = World {
            now_ms,
            stats,
            stat_keys: &stat_keys,
            fresh_ms: 15_000,
            hosts: &self.hosts,
            drifts: &[],
            windows: &self.windows,
            counting_since_ms: 0,
        };
        evaluate(&mut self.eval, &world, &self.rules, true).len()
    }

    /// Alerts pending or firing.
    pub fn alerts(&self) -> usize {
        self.eval.all().count()
    }
}
