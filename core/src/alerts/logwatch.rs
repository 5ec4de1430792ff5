//! The readers of log pattern rules: one per (rule, running container of
//! the rule's key), each a follower of the log hub like any viewer (so a
//! container watched by a rule and by people still has one engine stream),
//! sending the time of every matching line to the `alerts` task, which
//! counts them in `windows`. Kept in step with the rules and the
//! containers on every pass; owned by the `alerts` task, so they end with it.

use super::world::HostFacts;
use crate::hosts::Hosts;
use crate::logs::{LogHub, Matcher};
use crate::model::{AlertRule, Condition, ContainerState, LogSearch, RuleId};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

/// A line that matched `rule`, logged by a container of `key` on `host`.
pub(super) struct Match {
    pub rule: RuleId,
    pub host: String,
    pub key: String,
    pub at_ms: i64,
}

/// Matches waiting for the `alerts` task at most; beyond, they are dropped
/// (a rule's count is long past its threshold by then).
const QUEUE: usize = 4096;

/// The matcher of a log pattern rule: the log search's own (a regex,
/// size-limited, or plain text), over every stream.
pub(super) fn matcher(pattern: &str, regex: bool, case_sensitive: bool) -> Result<Matcher, String> {
    Matcher::new(&LogSearch {
        pattern: pattern.to_string(),
        regex,
        case_sensitive,
        invert: false,
        stream: None,
    })
}

/// Which reader: the rule as it is now (an edited pattern is a new reader),
/// the host, the container.
type Reader = (RuleId, String, String, String);

pub(super) struct LogWatchers {
    hub: LogHub,
    hosts: Hosts,
    tasks: JoinSet<()>,
    running: HashMap<Reader, AbortHandle>,
    tx: mpsc::Sender<Match>,
}

impl LogWatchers {
    pub fn new(hub: LogHub, hosts: Hosts) -> (LogWatchers, mpsc::Receiver<Match>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let watchers = LogWatchers {
            hub,
            hosts,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            tx,
        };
        (watchers, rx)
    }

    /// Starts the readers the rules now need and ends those they do not.
    pub fn sync(&mut self, rules: &BTreeMap<u64, AlertRule>, facts: &[HostFacts]) {
        while self.tasks.try_join_next().is_some() {}
        let mut wanted: HashMap<Reader, (AlertRule, String)> = HashMap::new();
        for rule in rules.values().filter(|r| r.spec.enabled) {
            let Condition::LogPattern {
                pattern,
                regex,
                case_sensitive,
                ..
            } = &rule.spec.condition
            else {
                continue;
            };
            let Some(key) = &rule.spec.scope.key else { continue };
            let version = format!("{regex}:{case_sensitive}:{pattern}");
            for h in facts
                .iter()
                .filter(|h| h.status.reachable && rule.spec.scope.covers_host(&h.id))
            {
                for (c, k) in h.containers.iter().zip(&h.keys) {
                    if k == key && c.state == ContainerState::Running {
                        let reader = (rule.id, version.clone(), h.id.clone(), c.id.clone());
                        wanted.insert(reader, (rule.clone(), key.clone()));
                    }
                }
            }
        }
        self.running.retain(|reader, handle| {
            let keep = wanted.contains_key(reader) && !handle.is_finished();
            if !keep {
                handle.abort();
            }
            keep
        });
        for (reader, (rule, key)) in wanted {
            if self.running.contains_key(&reader) {
                continue;
            }
            let Ok(host) = self.hosts.get(&reader.2) else { continue };
            let Condition::LogPattern {
                pattern,
                regex,
                case_sensitive,
                ..
            } = &rule.spec.condition
            else {
                continue;
            };
            let Ok(matcher) = matcher(pattern, *regex, *case_sensitive) else {
                continue;
            };
            let (hub, tx, id, rule_id) = (self.hub.clone(), self.tx.clone(), reader.3.clone(), rule.id);
            let host_id = reader.2.clone();
            let handle = self.tasks.spawn(async move {
                let mut lines = match hub.lines(&host, &id).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::debug!(task = "alerts", rule = %rule_id, container = %id, error = %e, "cannot follow the logs");
                        return;
                    }
                };
                while let Some(batch) = lines.next().await {
                    for line in batch.iter().filter(|l| matcher.matches(l)) {
                        let m = Match {
                            rule: rule_id,
                            host: host_id.clone(),
                            key: key.clone(),
                            at_ms: line.ts_ns / 1_000_000,
                        };
                        if tx.try_send(m).is_err() {
                            break;
                        }
                    }
                }
            });
            self.running.insert(reader, handle);
        }
    }
}
