//! What happened recently, counted per container key: restarts by the
//! engine and OOM kills (from the changes in each host's container list),
//! log lines that matched a rule, and which containers were stopped on
//! purpose (an engine `stop` event). Rules over windows ("3 restarts in
//! 10 min") read the counts; nothing older than the longest window is kept.

use crate::model::{ActorKind, Container, ContainerState, Event, EventKind, MAX_SPAN_SECS, RuleId};
use std::collections::{HashMap, VecDeque};

type Key = (String, String);

#[derive(Default)]
pub(crate) struct Windows {
    /// (host, container id) -> (restarts, OOM kills) when last seen.
    counts: HashMap<Key, (u32, u32)>,
    /// (host, expectation key) -> times of restarts, oldest first.
    restarts: HashMap<Key, VecDeque<i64>>,
    ooms: HashMap<Key, VecDeque<i64>>,
    /// (rule, host, key) -> times of matching log lines.
    log_matches: HashMap<(RuleId, String, String), VecDeque<i64>>,
    /// (host, container name) -> when the engine said it was stopped on
    /// request; forgotten when it starts again.
    stopped: HashMap<Key, i64>,
    /// (host, container id) -> when it was first seen exited with a non-zero code.
    exited: HashMap<Key, i64>,
}

/// At most this many times per key and window: a count beyond any rule's
/// threshold says nothing more.
const MAX_TIMES: usize = 100_000;

impl Windows {
    /// Takes in a host's container list: restart and OOM counters that
    /// went up are counted now (a container seen for the first time sets
    /// its baseline: what it did before berth looked is not counted).
    pub fn observe_containers(&mut self, host: &str, list: &[Container], now_ms: i64) {
        let mut present = std::collections::HashSet::with_capacity(list.len());
        for c in list {
            let id = (host.to_string(), c.id.clone());
            present.insert(c.id.as_str());
            let key = (host.to_string(), c.expectation_key());
            if let Some((restarts, ooms)) = self.counts.insert(id.clone(), (c.restarts, c.oom_kills)) {
                push(&mut self.restarts, &key, c.restarts.saturating_sub(restarts), now_ms);
                push(&mut self.ooms, &key, c.oom_kills.saturating_sub(ooms), now_ms);
            }
            if exit_code(c).is_some_and(|code| code != 0) {
                self.exited.entry(id).or_insert(now_ms);
            } else {
                self.exited.remove(&id);
            }
        }
        self.counts
            .retain(|(h, id), _| h != host || present.contains(id.as_str()));
        self.exited
            .retain(|(h, id), _| h != host || present.contains(id.as_str()));
    }

    /// Takes in an event from the log: the engine's `stop` marks a
    /// container stopped on purpose until it starts again (what people
    /// asked for is not what happened: a refused stop is no stop).
    pub fn observe_event(&mut self, e: &Event) {
        if e.actor.kind != ActorKind::System || e.actor.name != "engine" {
            return;
        }
        let (Some(host), Some(name)) = (&e.host, e.target.as_deref().and_then(|t| t.strip_prefix("container:"))) else {
            return;
        };
        let key = (host.clone(), name.to_string());
        match EventKind::parse(&e.kind) {
            Some(EventKind::ContainerStop) => {
                self.stopped.insert(key, e.ts_ns / 1_000_000);
            }
            Some(EventKind::ContainerStart | EventKind::ContainerDestroy) => {
                self.stopped.remove(&key);
            }
            _ => {}
        }
    }

    /// A line matching `rule` was logged by a container of `key` on `host`.
    pub fn log_match(&mut self, rule: RuleId, host: &str, key: &str, at_ms: i64) {
        let times = self
            .log_matches
            .entry((rule, host.to_string(), key.to_string()))
            .or_default();
        times.push_back(at_ms);
        if times.len() > MAX_TIMES {
            times.pop_front();
        }
    }

    pub fn restarts(&self, host: &str, key: &str, within_s: u64, now_ms: i64) -> usize {
        count(
            self.restarts.get(&(host.to_string(), key.to_string())),
            within_s,
            now_ms,
        )
    }

    pub fn ooms(&self, host: &str, key: &str, within_s: u64, now_ms: i64) -> usize {
        count(self.ooms.get(&(host.to_string(), key.to_string())), within_s, now_ms)
    }

    pub fn log_matches(&self, rule: RuleId, host: &str, key: &str, within_s: u64, now_ms: i64) -> usize {
        count(
            self.log_matches.get(&(rule, host.to_string(), key.to_string())),
            within_s,
            now_ms,
        )
    }

    /// Whether the engine said `name` was stopped on request (since its last start).
    pub fn stopped_on_purpose(&self, host: &str, name: &str) -> bool {
        self.stopped.contains_key(&(host.to_string(), name.to_string()))
    }

    /// Since when a container has been seen exited with a non-zero code.
    pub fn exited_since(&self, host: &str, id: &str) -> Option<i64> {
        self.exited.get(&(host.to_string(), id.to_string())).copied()
    }

    /// Forgets what is older than any window, and the matches of rules gone.
    pub fn prune(&mut self, now_ms: i64, rules: &dyn Fn(RuleId) -> bool) {
        let oldest = now_ms - MAX_SPAN_SECS as i64 * 1000;
        for times in self.restarts.values_mut().chain(self.ooms.values_mut()) {
            while times.front().is_some_and(|t| *t < oldest) {
                times.pop_front();
            }
        }
        self.restarts.retain(|_, t| !t.is_empty());
        self.ooms.retain(|_, t| !t.is_empty());
        self.log_matches.retain(|(rule, _, _), times| {
            while times.front().is_some_and(|t| *t < oldest) {
                times.pop_front();
            }
            !times.is_empty() && rules(*rule)
        });
    }
}

fn push(map: &mut HashMap<Key, VecDeque<i64>>, key: &Key, n: u32, now_ms: i64) {
    if n == 0 {
        return;
    }
    let times = map.entry(key.clone()).or_default();
    for _ in 0..n.min(MAX_TIMES as u32) {
        times.push_back(now_ms);
    }
    while times.len() > MAX_TIMES {
        times.pop_front();
    }
}

fn count(times: Option<&VecDeque<i64>>, within_s: u64, now_ms: i64) -> usize {
    let from = now_ms - i64::try_from(within_s).unwrap_or(i64::MAX / 1000) * 1000;
    times.map_or(0, |t| t.iter().rev().take_while(|&&at| at > from).count())
}

/// The exit code in the engine's status of an exited container
/// ("Exited (137) 5 seconds ago"), if it has exited.
pub(crate) fn exit_code(c: &Container) -> Option<i64> {
    if c.state != ContainerState::Exited {
        return None;
    }
    let inner = c.status.strip_prefix("Exited (")?;
    inner.split_once(')')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctr(id: &str, state: &str, status: &str, restarts: u32) -> Container {
        Container {
            id: id.into(),
            name: format!("n-{id}"),
            image: "i".into(),
            state: state.into(),
            status: status.into(),
            project: Some("shop".into()),
            service: Some("web".into()),
            restarts,
            ..Container::default()
        }
    }

    #[test]
    fn restarts_count_from_the_first_sight_and_age_out_of_the_window() {
        let mut w = Windows::default();
        w.observe_containers("local", &[ctr("a", "running", "Up", 40)], 0);
        assert_eq!(
            w.restarts("local", "compose:shop/web", 600, 0),
            0,
            "the past is a baseline"
        );
        w.observe_containers("local", &[ctr("a", "running", "Up", 42)], 10_000);
        w.observe_containers("local", &[ctr("a", "restarting", "Restarting", 43)], 20_000);
        assert_eq!(w.restarts("local", "compose:shop/web", 600, 20_000), 3);
        assert_eq!(w.restarts("local", "compose:shop/web", 5, 20_000), 1);
        assert_eq!(w.restarts("local", "compose:shop/web", 600, 700_000), 0);
        w.prune(MAX_SPAN_SECS as i64 * 1000 + 30_000, &|_| true);
        assert!(w.restarts.is_empty());
    }

    #[test]
    fn exit_codes_are_read_from_the_engines_status() {
        assert_eq!(
            exit_code(&ctr("a", "exited", "Exited (137) 5 seconds ago", 0)),
            Some(137)
        );
        assert_eq!(exit_code(&ctr("a", "exited", "Exited (0) 2 hours ago", 0)), Some(0));
        assert_eq!(exit_code(&ctr("a", "running", "Up 3 minutes", 0)), None);
        let mut w = Windows::default();
        w.observe_containers("local", &[ctr("a", "exited", "Exited (1) 1 second ago", 0)], 5);
        w.observe_containers("local", &[ctr("a", "exited", "Exited (1) 2 seconds ago", 0)], 900);
        assert_eq!(w.exited_since("local", "a"), Some(5));
        w.observe_containers("local", &[], 1000);
        assert_eq!(w.exited_since("local", "a"), None, "a removed container is forgotten");
    }
}
