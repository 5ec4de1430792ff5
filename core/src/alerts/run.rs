//! The `alerts` task: once a second (and at once when rules change) it
//! reads what berth knows (`world`), moves every alert (`eval`), keeps the
//! firing ones in the store (`state`), records each that fires or
//! resolves, and queues the notifications (`deliver`). Threshold rules over
//! the collector's readings are evaluated when a new tick arrives; the
//! rest on every pass. The cost of a pass grows with rules x subjects
//! matched, never with viewers.

use super::Alerts;
use super::eval::{Change, Evaluator, Track};
use super::logwatch::LogWatchers;
use super::state::{self, Writes};
use super::windows::Windows;
use super::world::{HostFacts, World};
use crate::events::now_ns;
use crate::model::{
    Actor, Alert, AlertRule, AlertState, Condition, EventKind, NewEvent, Notification, Outcome, RuleId, SubjectKind,
};
use crate::tasks::Stop;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often alerts are evaluated.
const PASS_EVERY: Duration = Duration::from_secs(1);

impl Alerts {
    /// The `alerts` task, until `stop`.
    pub async fn run(self, mut stop: Stop) {
        tracing::debug!(task = "alerts", "started");
        let mut eval = Evaluator::default();
        let store = self.inner.store.clone();
        match store.blocking(state::load).await {
            Ok(kept) => {
                let rules = self.inner.rules.all();
                for (rule, track) in kept {
                    if rules.contains_key(&rule.0) {
                        eval.resume(rule, track);
                    }
                }
            }
            Err(e) => tracing::error!(task = "alerts", error = %e, "cannot read the alerts that were firing"),
        }
        let mut windows = Windows::default();
        let (mut readers, mut matches) = LogWatchers::new(self.inner.logs.clone(), self.inner.hosts.clone());
        let mut events = self.inner.events.subscribe();
        let mut tick = tokio::time::interval(PASS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_stats = i64::MIN;
        let started_ms = now_ns() / 1_000_000;
        let mut rules_changed = true;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                r = events.recv() => {
                    match r {
                        Ok(e) => windows.observe_event(&e),
                        Err(RecvError::Lagged(n)) => tracing::debug!(task = "alerts", skipped = n, "fell behind the event log"),
                        Err(RecvError::Closed) => break,
                    }
                    continue;
                }
                Some(m) = matches.recv() => {
                    windows.log_match(m.rule, &m.host, &m.key, m.at_ms);
                    continue;
                }
                _ = self.inner.changed.notified() => rules_changed = true,
                _ = stop.changed() => break,
            }
            let stats = self.inner.stats.latest();
            let stats_new = stats.at_ms != last_stats || rules_changed;
            last_stats = stats.at_ms;
            rules_changed = false;
            self.pass(&mut eval, &mut windows, &mut readers, &stats, stats_new, started_ms)
                .await;
        }
        tracing::debug!(task = "alerts", "stopped");
    }

    /// One pass over every rule.
    async fn pass(
        &self,
        eval: &mut Evaluator,
        windows: &mut Windows,
        readers: &mut LogWatchers,
        stats: &crate::model::StatsSnapshot,
        stats_new: bool,
        started_ms: i64,
    ) {
        let now_ms = now_ns() / 1_000_000;
        let hosts: Vec<HostFacts> = self
            .inner
            .hosts
            .all()
            .iter()
            .map(|h| HostFacts::new(h.id().0.clone(), h.status(), h.containers()))
            .collect();
        for h in hosts.iter().filter(|h| h.status.reachable) {
            windows.observe_containers(&h.id, &h.containers, now_ms);
        }
        let rules = self.inner.rules.all();
        readers.sync(&rules, &hosts);
        windows.prune(now_ms, &|r| rules.get(&r.0).is_some_and(|r| r.spec.enabled));
        let drifts = self.inner.health.drifts();
        let interval_ms = self.inner.stats.interval().as_millis() as i64;
        let stat_keys = super::world::stat_keys(stats);
        let world = World {
            now_ms,
            stats,
            stat_keys: &stat_keys,
            fresh_ms: 3 * interval_ms,
            hosts: &hosts,
            drifts: &drifts,
            windows,
            counting_since_ms: started_ms,
        };
        let changes = evaluate(eval, &world, &rules, stats_new);
        self.publish(eval, &rules, now_ms);
        if !changes.is_empty() {
            self.apply(changes, now_ms).await;
        }
    }

    /// Keeps, records and sends what changed: the store first, so that a
    /// crash after a notification never sends it again.
    async fn apply(&self, changes: Vec<(Arc<AlertRule>, Change)>, now_ms: i64) {
        let mut writes = Writes::default();
        for (rule, change) in &changes {
            match change {
                Change::Fired { track, .. } | Change::Remind { track, .. } => writes.put.push((rule.id, track.clone())),
                Change::Resolved { track, .. } => writes.delete.push((rule.id, track.subject.id())),
            }
        }
        if let Err(e) = state::save(&self.inner.store, writes).await {
            tracing::error!(task = "alerts", error = %e, "cannot keep the alerts' state; notifications held back");
            return;
        }
        for (rule, change) in changes {
            let (track, state, repeat, tell) = match &change {
                Change::Fired { track, tell } => {
                    self.record(&rule, track, EventKind::AlertFire, None, now_ms);
                    (track, AlertState::Firing, false, *tell)
                }
                Change::Remind { track, repeat } => (track, AlertState::Firing, *repeat, true),
                Change::Resolved {
                    track,
                    why,
                    tell,
                    at_ms,
                } => {
                    self.record(&rule, track, EventKind::AlertResolve, Some(why), *at_ms);
                    (track, AlertState::Resolved, false, *tell)
                }
            };
            if !tell || rule.spec.channels.is_empty() {
                continue;
            }
            let n = self.notification(&rule, track, state, repeat, now_ms);
            if let Err(e) = self.inner.deliveries.enqueue(&n, &rule.spec.channels).await {
                tracing::error!(task = "alerts", rule = %rule.id, error = %e, "cannot queue a notification");
            }
        }
    }

    fn record(&self, rule: &AlertRule, track: &Track, kind: EventKind, why: Option<&str>, at_ms: i64) {
        let mut event = NewEvent::new(kind, Actor::system())
            .host(track.subject.host().to_string())
            .details(serde_json::json!({
                "rule": rule.id.0,
                "rule_name": rule.spec.name,
                "condition": rule.spec.condition.kind(),
                "severity": rule.spec.severity.as_str(),
                "subject": track.subject.label(),
                "summary": summary(rule, track, why),
                "value": track.value,
                "since_ms": track.since_ms,
                "fired_ms": track.fired_ms,
                "lasted_ms": track.fired_ms.map(|f| at_ms - f),
                "told": track.told_ms.is_some(),
            }));
        if let Some(t) = track.subject.target() {
            event = event.target(t);
        }
        if kind == EventKind::AlertFire {
            event = event.outcome(Outcome::Error(summary(rule, track, None)));
        }
        self.inner.events.record(event);
    }

    fn notification(
        &self,
        rule: &AlertRule,
        track: &Track,
        state: AlertState,
        repeat: bool,
        now_ms: i64,
    ) -> Notification {
        Notification {
            id: notification_id(),
            rule: rule.id,
            rule_name: rule.spec.name.clone(),
            severity: rule.spec.severity,
            state,
            repeat,
            test: false,
            host: Some(crate::model::HostId(track.subject.host().to_string())),
            subject: track.subject.label(),
            summary: summary(rule, track, (state == AlertState::Resolved).then_some("resolved")),
            value: track.value,
            since_ms: track.since_ms,
            at_ms: now_ms,
            url: self
                .inner
                .settings
                .public_url
                .as_ref()
                .map(|u| format!("{}/alerts", u.trim_end_matches('/'))),
        }
    }

    /// What the pages show: every alert, newest first.
    fn publish(&self, eval: &Evaluator, rules: &std::collections::BTreeMap<u64, AlertRule>, now_ms: i64) {
        let mut alerts: Vec<Alert> = eval
            .all()
            .filter_map(|(id, t)| {
                let rule = rules.get(&id.0)?;
                Some(Alert {
                    rule: id,
                    rule_name: rule.spec.name.clone(),
                    severity: rule.spec.severity,
                    state: if t.firing() {
                        AlertState::Firing
                    } else {
                        AlertState::Pending
                    },
                    host: Some(crate::model::HostId(t.subject.host().to_string())),
                    subject: t.subject.label(),
                    summary: summary(rule, t, None),
                    value: t.value,
                    since_ms: t.since_ms,
                    fired_ms: t.fired_ms,
                    silenced: rule.spec.silenced(now_ms),
                })
            })
            .collect();
        alerts.sort_by(|a, b| b.since_ms.cmp(&a.since_ms).then(a.rule.cmp(&b.rule)));
        *self.inner.live.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(alerts);
    }
}

/// Moves every alert of every rule by what `world` says: the rules
/// disabled or deleted end theirs; threshold rules over the collector's
/// readings are read only when a new tick came (`stats_new`).
pub(super) fn evaluate(
    eval: &mut Evaluator,
    world: &World<'_>,
    rules: &std::collections::BTreeMap<u64, AlertRule>,
    stats_new: bool,
) -> Vec<(Arc<AlertRule>, Change)> {
    let now_ms = world.now_ms;
    let mut changes: Vec<(Arc<AlertRule>, Change)> = Vec::new();
    for id in eval.rules() {
        match rules.get(&id.0) {
            Some(r) if r.spec.enabled => {}
            Some(_) => retire(eval, id, "the rule was disabled", now_ms, rules, &mut changes),
            None => retire(eval, id, "the rule was deleted", now_ms, rules, &mut changes),
        }
    }
    for rule in rules.values().filter(|r| r.spec.enabled) {
        if is_tick_rule(&rule.spec.condition) && !stats_new {
            continue;
        }
        let readings = world.readings(rule);
        let mut made = eval
            .pass(rule, readings, |s| world.gone(s), now_ms)
            .into_iter()
            .peekable();
        if made.peek().is_some() {
            let rule = Arc::new(rule.clone());
            changes.extend(made.map(|c| (rule.clone(), c)));
        }
    }
    changes
}

fn retire(
    eval: &mut Evaluator,
    id: RuleId,
    why: &str,
    now_ms: i64,
    rules: &std::collections::BTreeMap<u64, AlertRule>,
    changes: &mut Vec<(Arc<AlertRule>, Change)>,
) {
    // A deleted rule is still named in what is recorded of its end.
    let rule = Arc::new(rules.get(&id.0).cloned().unwrap_or_else(|| AlertRule {
        id,
        spec: crate::model::RuleSpec {
            name: format!("rule {id}"),
            enabled: false,
            condition: Condition::HostUnreachable,
            scope: Default::default(),
            severity: Default::default(),
            for_secs: 0,
            repeat_secs: 0,
            channels: vec![],
            silences: vec![],
        },
    }));
    for c in eval.retire(id, why, now_ms) {
        changes.push((rule.clone(), c));
    }
}

/// Threshold rules over the collector's readings: evaluated per tick.
fn is_tick_rule(c: &Condition) -> bool {
    c.threshold().is_some() || matches!(c.subject(), SubjectKind::Filesystem)
}

/// "CPU 97.2% (above 90%)": what holds, in words (the subject is told apart).
fn summary(rule: &AlertRule, track: &Track, why: Option<&str>) -> String {
    let what = if track.what.is_empty() {
        rule.spec.condition.describe()
    } else {
        track.what.clone()
    };
    match why {
        Some(why) => format!("{what}; {why}"),
        None => what,
    }
}

/// A notification's id: 16 random hex digits.
pub(crate) fn notification_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the system has randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
