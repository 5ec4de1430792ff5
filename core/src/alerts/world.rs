//! What berth knows at one moment, read as each rule's readings: the
//! collector's latest tick (hosts, filesystems, containers' usage), each
//! host's status and container list, the drifts from `health`, and the
//! recent counts of `windows`. Nothing here asks an engine anything.

use super::eval::{Reading, Subject, held};
use super::windows::{Windows, exit_code};
use crate::model::{
    AlertRule, Condition, Container, ContainerState, Drift, ExpectedState, HostStatus, StatsSnapshot, expectation_key,
    span,
};
use std::collections::HashMap;
use std::sync::Arc;

/// One host as the registry has it now.
pub(crate) struct HostFacts {
    pub id: String,
    pub status: HostStatus,
    pub containers: Arc<Vec<Container>>,
    /// Each container's expectation key, in the same order.
    pub keys: Vec<String>,
}

impl HostFacts {
    pub fn new(id: String, status: HostStatus, containers: Arc<Vec<Container>>) -> HostFacts {
        let keys = containers.iter().map(Container::expectation_key).collect();
        HostFacts {
            id,
            status,
            containers,
            keys,
        }
    }

    /// Connected at least once, so that what it lacks means something.
    fn known(&self) -> bool {
        self.status.reachable
            || self.status.engine_version.is_some()
            || self.status.since_ns > 0 && self.status.error.as_deref() != Some("not connected yet")
    }
}

/// A container's exit counts as a crash only once its engine had this
/// long to say it was a stop on request (`stop` follows `die`).
const STOP_GRACE_MS: i64 = 2000;

pub(crate) struct World<'a> {
    pub now_ms: i64,
    pub stats: &'a StatsSnapshot,
    /// Readings older than this are not read (a host that stopped answering).
    pub fresh_ms: i64,
    pub hosts: &'a [HostFacts],
    pub drifts: &'a [Drift],
    pub windows: &'a Windows,
    /// Each of `stats.containers`' expectation keys, in the same order.
    pub stat_keys: &'a [String],
    /// When the counting began (the `alerts` task started): a window
    /// reaching further back does not know what happened before, so it
    /// may say that something holds, never that it does not.
    pub counting_since_ms: i64,
}

/// The expectation key of each container reading of a tick, once per pass.
pub(crate) fn stat_keys(stats: &StatsSnapshot) -> Vec<String> {
    stats
        .containers
        .iter()
        .map(|s| expectation_key(&s.name, s.project.as_deref(), s.service.as_deref()))
        .collect()
}

impl World<'_> {
    /// Whether an alert about `subject` that has no reading is over: its
    /// host is gone from berth, or answers and no longer has it.
    pub fn gone(&self, subject: &Subject) -> bool {
        self.hosts
            .iter()
            .find(|h| h.id == subject.host())
            .is_none_or(|h| h.status.reachable)
    }

    /// `rule`'s condition for each subject in its scope.
    pub fn readings(&self, rule: &AlertRule) -> Vec<(Subject, Reading)> {
        let scope = &rule.spec.scope;
        let fresh = |at_ms: i64| self.now_ms - at_ms <= self.fresh_ms;
        let host_values = |f: &dyn Fn(&crate::model::HostSample) -> Option<f64>| {
            self.stats
                .hosts
                .iter()
                .filter(|s| scope.covers_host(&s.host.0) && fresh(s.at_ms))
                .filter_map(|s| f(s).map(|v| (Subject::Host { host: s.host.0.clone() }, Reading::Value(v))))
                .collect()
        };
        match &rule.spec.condition {
            Condition::HostCpu { .. } => host_values(&|s| Some(s.cpu_percent)),
            Condition::HostMemory { .. } => host_values(&|s| percent(s.mem_used, s.mem_total)),
            Condition::HostLoad { .. } => {
                host_values(&|s| (!s.cores.is_empty()).then(|| s.load[0] / s.cores.len() as f64))
            }
            Condition::Disk { mount, .. } => self
                .stats
                .hosts
                .iter()
                .filter(|s| scope.covers_host(&s.host.0) && fresh(s.at_ms))
                .flat_map(|s| {
                    s.filesystems
                        .iter()
                        .filter(|f| mount.as_ref().is_none_or(|m| *m == f.mount))
                        .filter_map(|f| {
                            let subject = Subject::Filesystem {
                                host: s.host.0.clone(),
                                mount: f.mount.clone(),
                            };
                            percent(f.used, f.total).map(|v| (subject, Reading::Value(v)))
                        })
                })
                .collect(),
            Condition::ContainerCpu { .. } => self.container_values(rule, |c| Some(c.cpu_percent)),
            Condition::ContainerMemory { .. } => self.container_values(rule, |c| percent(c.mem_used, c.mem_limit)),
            Condition::HostUnreachable => self
                .hosts
                .iter()
                .filter(|h| scope.covers_host(&h.id) && h.known())
                .map(|h| {
                    let subject = Subject::Host { host: h.id.clone() };
                    if h.status.reachable {
                        (subject, Reading::Clear)
                    } else {
                        let why = h.status.error.clone().unwrap_or_else(|| "no answer".into());
                        let since_ms = h.status.since_ns / 1_000_000;
                        let what = format!("unreachable for {}: {why}", held(since_ms, self.now_ms));
                        (
                            subject,
                            Reading::Holds {
                                since_ms: Some(since_ms),
                                what,
                            },
                        )
                    }
                })
                .collect(),
            Condition::Drift => {
                let out = self.per_key(rule, |_, _| Reading::Clear);
                self.drifting(
                    rule,
                    out,
                    |_| true,
                    |d| {
                        format!(
                            "expected {}, is {}",
                            d.expected.as_str(),
                            d.actual.as_ref().map_or("missing", ContainerState::as_str)
                        )
                    },
                )
            }
            Condition::ContainerDown => {
                let out = self.per_key_known(rule, |h, cs| self.down(h, cs));
                // Expected running and not there at all.
                let missing = |d: &Drift| d.expected == ExpectedState::Running && d.actual.is_none();
                self.drifting(rule, out, missing, |_| "missing, expected running".into())
            }
            Condition::Unhealthy => self.per_key(rule, |_, cs| {
                match cs.iter().find(|c| c.health.as_deref() == Some("unhealthy")) {
                    Some(c) => Reading::Holds {
                        since_ms: None,
                        what: format!("{} is unhealthy", c.name),
                    },
                    None => Reading::Clear,
                }
            }),
            Condition::RestartLoop { restarts, within_secs } => self.per_key_known(rule, |h, cs| {
                let n = self
                    .windows
                    .restarts(h, &cs[0].expectation_key(), *within_secs, self.now_ms);
                if n >= *restarts as usize {
                    Some(Reading::Holds {
                        since_ms: None,
                        what: format!("restarted {n} times within {}", span(*within_secs)),
                    })
                } else {
                    self.counted(*within_secs).then_some(Reading::Clear)
                }
            }),
            Condition::OomKilled { within_secs } => self.per_key_known(rule, |h, cs| {
                let n = self
                    .windows
                    .ooms(h, &cs[0].expectation_key(), *within_secs, self.now_ms);
                if n > 0 {
                    Some(Reading::Holds {
                        since_ms: None,
                        what: format!("killed out of memory {n} times within {}", span(*within_secs)),
                    })
                } else {
                    self.counted(*within_secs).then_some(Reading::Clear)
                }
            }),
            Condition::LogPattern { count, within_secs, .. } => self.per_key_known(rule, |h, cs| {
                let n = self
                    .windows
                    .log_matches(rule.id, h, &cs[0].expectation_key(), *within_secs, self.now_ms);
                if n >= *count as usize {
                    Some(Reading::Holds {
                        since_ms: None,
                        what: format!("{n} matching log lines within {}", span(*within_secs)),
                    })
                } else {
                    self.counted(*within_secs).then_some(Reading::Clear)
                }
            }),
        }
    }

    /// `out` with the drifts in `rule`'s scope that `which` picks holding
    /// (from when each began), in place of what `out` read of them.
    fn drifting(
        &self,
        rule: &AlertRule,
        mut out: Vec<(Subject, Reading)>,
        which: impl Fn(&Drift) -> bool,
        what: impl Fn(&Drift) -> String,
    ) -> Vec<(Subject, Reading)> {
        let scope = &rule.spec.scope;
        for d in self
            .drifts
            .iter()
            .filter(|d| which(d) && scope.covers_host(&d.host.0) && scope.covers_key(&d.key))
        {
            let subject = Subject::Container {
                host: d.host.0.clone(),
                key: d.key.clone(),
            };
            out.retain(|(s, _)| *s != subject);
            let since_ms = Some(d.since_ns / 1_000_000);
            out.push((
                subject,
                Reading::Holds {
                    since_ms,
                    what: what(d),
                },
            ));
        }
        out
    }

    /// Whether the whole of a window of `secs` was counted.
    fn counted(&self, secs: u64) -> bool {
        self.now_ms - self.counting_since_ms >= i64::try_from(secs).unwrap_or(i64::MAX / 1000) * 1000
    }

    /// One reading per container key in scope on each reachable host, made
    /// from that key's containers (a scaled service has several).
    fn per_key(&self, rule: &AlertRule, read: impl Fn(&str, &[&Container]) -> Reading) -> Vec<(Subject, Reading)> {
        self.per_key_known(rule, |h, cs| Some(read(h, cs)))
    }

    /// `per_key`, where `read` may not know yet (None: no reading).
    fn per_key_known(
        &self,
        rule: &AlertRule,
        read: impl Fn(&str, &[&Container]) -> Option<Reading>,
    ) -> Vec<(Subject, Reading)> {
        let scope = &rule.spec.scope;
        let mut out = Vec::new();
        for h in self
            .hosts
            .iter()
            .filter(|h| h.status.reachable && scope.covers_host(&h.id))
        {
            let mut by_key: HashMap<&str, Vec<&Container>> = HashMap::new();
            for (c, key) in h.containers.iter().zip(&h.keys) {
                if scope.covers_key(key) {
                    by_key.entry(key).or_default().push(c);
                }
            }
            for (key, cs) in by_key {
                let subject = Subject::Container {
                    host: h.id.clone(),
                    key: key.to_string(),
                };
                if let Some(reading) = read(&h.id, &cs) {
                    out.push((subject, reading));
                }
            }
        }
        out
    }

    /// Down: not running while expected running, or exited non-zero
    /// without a stop on request. Not known yet (None) while an exit is
    /// too fresh to tell a crash from a stop.
    fn down(&self, host: &str, cs: &[&Container]) -> Option<Reading> {
        let mut known = true;
        for c in cs {
            if c.expected == Some(ExpectedState::Running) && c.state != ContainerState::Running {
                return Some(Reading::Holds {
                    since_ms: None,
                    what: format!("{} is {}, expected running", c.name, c.state),
                });
            }
            let crashed = c.state == ContainerState::Dead
                || exit_code(c).is_some_and(|code| code != 0) && !self.windows.stopped_on_purpose(host, &c.name);
            if !crashed {
                continue;
            }
            let since = self.windows.exited_since(host, &c.id);
            if since.is_none_or(|s| self.now_ms - s >= STOP_GRACE_MS) {
                return Some(Reading::Holds {
                    since_ms: since,
                    what: format!("{} {}", c.name, c.status.to_lowercase()),
                });
            }
            known = false;
        }
        known.then_some(Reading::Clear)
    }

    /// The usage of each container key in scope (the highest of a scaled service's).
    fn container_values(
        &self,
        rule: &AlertRule,
        value: impl Fn(&crate::model::ContainerSample) -> Option<f64>,
    ) -> Vec<(Subject, Reading)> {
        let scope = &rule.spec.scope;
        let mut by_key: HashMap<(&str, &str), f64> = HashMap::new();
        for (s, key) in self.stats.containers.iter().zip(self.stat_keys) {
            if !scope.covers_host(&s.host.0) || !scope.covers_key(key) || self.now_ms - s.at_ms > self.fresh_ms {
                continue;
            }
            if let Some(v) = value(s) {
                let e = by_key.entry((&s.host.0, key)).or_insert(v);
                *e = e.max(v);
            }
        }
        by_key
            .into_iter()
            .map(|((host, key), v)| {
                (
                    Subject::Container {
                        host: host.to_string(),
                        key: key.to_string(),
                    },
                    Reading::Value(v),
                )
            })
            .collect()
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests;
