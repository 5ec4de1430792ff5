//! The state of every alert and how a reading moves it: pure, with the
//! time passed in, so each rule of firing (duration, hysteresis, repeat,
//! silences, a subject that is gone) is tested without a clock.
//!
//! One alert is one rule's condition holding for one subject (a host, a
//! filesystem, a container key). It is pending while the condition holds
//! for less than the rule's duration, then fires; it resolves when a
//! threshold value falls to the recovery threshold (not merely under the
//! firing one), when a yes/no condition stops holding, or when its subject
//! is gone from a host that answers. People are told when it fires,
//! again every repeat interval, and when it resolves, unless a silence
//! holds; an alert that fired in a silence is told when the silence ends,
//! and one nobody was told of resolves quietly.

use crate::model::{AlertRule, Condition, RuleId, span};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What an alert is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Subject {
    Host { host: String },
    Filesystem { host: String, mount: String },
    Container { host: String, key: String },
}

impl Subject {
    pub fn host(&self) -> &str {
        match self {
            Subject::Host { host } | Subject::Filesystem { host, .. } | Subject::Container { host, .. } => host,
        }
    }

    /// How people read it: `host local`, `filesystem /var`, `container compose:shop/web`.
    pub fn label(&self) -> String {
        match self {
            Subject::Host { host } => format!("host {host}"),
            Subject::Filesystem { mount, .. } => format!("filesystem {mount}"),
            Subject::Container { key, .. } => format!("container {key}"),
        }
    }

    /// The event's target, as other events about the same thing name it.
    pub fn target(&self) -> Option<String> {
        match self {
            Subject::Host { .. } => None,
            Subject::Filesystem { mount, .. } => Some(format!("filesystem:{mount}")),
            Subject::Container { key, .. } => Some(format!(
                "container:{}",
                key.split_once(':').map_or(key.as_str(), |(_, k)| k)
            )),
        }
    }

    /// Its key in the store: unique per subject, stable across versions.
    pub fn id(&self) -> String {
        match self {
            Subject::Host { host } => format!("host\u{0}{host}"),
            Subject::Filesystem { host, mount } => format!("fs\u{0}{host}\u{0}{mount}"),
            Subject::Container { host, key } => format!("ctr\u{0}{host}\u{0}{key}"),
        }
    }
}

/// A rule's condition read for one subject in one pass.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reading {
    /// A threshold rule's value.
    Value(f64),
    /// A yes/no condition holds: since when, if known, and in words.
    Holds { since_ms: Option<i64>, what: String },
    /// It does not hold.
    Clear,
}

/// One alert's state; kept in the store while it fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Track {
    pub subject: Subject,
    /// When the condition began to hold.
    pub since_ms: i64,
    pub fired_ms: Option<i64>,
    /// When people were last told it fires (None: not yet, e.g. silenced).
    pub told_ms: Option<i64>,
    pub value: Option<f64>,
    /// "CPU 97.2% above 90%", "exited with code 1".
    pub what: String,
    /// Since when its subject has had no reading while its host answers.
    #[serde(default)]
    pub missing_ms: Option<i64>,
}

impl Track {
    pub fn firing(&self) -> bool {
        self.fired_ms.is_some()
    }
}

/// What a pass changed, for the caller to record, store and send.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// It fired; `tell` unless a silence holds.
    Fired { track: Track, tell: bool },
    /// Still firing: tell again (a repeat, or the end of a silence).
    Remind { track: Track, repeat: bool },
    /// It resolved (`why`); `tell` when people were told it fired.
    Resolved {
        track: Track,
        at_ms: i64,
        why: String,
        tell: bool,
    },
}

/// A firing alert whose subject has had no reading this long, while its
/// host answers, is over: the container is gone, the filesystem unmounted.
pub(crate) const GONE_AFTER_MS: i64 = 10_000;

/// Every alert of every rule.
#[derive(Default)]
pub(crate) struct Evaluator {
    tracks: HashMap<RuleId, HashMap<Subject, Track>>,
}

impl Evaluator {
    /// Picks up where the last run stopped: alerts that fired stay firing
    /// without firing (or telling) again.
    pub fn resume(&mut self, rule: RuleId, track: Track) {
        self.tracks
            .entry(rule)
            .or_default()
            .insert(track.subject.clone(), track);
    }

    /// Every alert, pending or firing.
    pub fn all(&self) -> impl Iterator<Item = (RuleId, &Track)> {
        self.tracks.iter().flat_map(|(r, t)| t.values().map(move |t| (*r, t)))
    }

    /// The rules that have alerts.
    pub fn rules(&self) -> Vec<RuleId> {
        self.tracks.keys().copied().collect()
    }

    /// Applies one pass of `rule`'s readings at `now_ms`. A subject with
    /// no reading keeps its state unless `gone(subject)` says its host
    /// answers and it is not there any more.
    pub fn pass(
        &mut self,
        rule: &AlertRule,
        readings: Vec<(Subject, Reading)>,
        gone: impl Fn(&Subject) -> bool,
        now_ms: i64,
    ) -> Vec<Change> {
        let spec = &rule.spec;
        let threshold = spec.condition.threshold();
        let hold_ms = i64::try_from(spec.for_secs)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(1000);
        let silenced = spec.silenced(now_ms);
        let tracks = self.tracks.entry(rule.id).or_default();
        let mut changes = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(readings.len());
        for (subject, reading) in readings {
            let (holds, clears, value, what, since) = match reading {
                Reading::Value(v) => {
                    let (above, recover) = threshold.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
                    (
                        v > above,
                        v <= recover,
                        Some(v),
                        describe_value(&spec.condition, v),
                        None,
                    )
                }
                Reading::Holds { since_ms, what } => (true, false, None, what, since_ms),
                Reading::Clear => (false, true, None, String::new(), None),
            };
            seen.insert(subject.clone());
            if let Some(t) = tracks.get_mut(&subject) {
                t.missing_ms = None;
            }
            match tracks.get_mut(&subject) {
                None if holds => {
                    tracks.insert(
                        subject.clone(),
                        Track {
                            subject: subject.clone(),
                            since_ms: since.unwrap_or(now_ms).min(now_ms),
                            fired_ms: None,
                            told_ms: None,
                            value,
                            what,
                            missing_ms: None,
                        },
                    );
                }
                None => {}
                Some(t) if !t.firing() => {
                    if holds {
                        t.value = value;
                        t.what = what;
                    } else {
                        tracks.remove(&subject);
                    }
                }
                Some(t) => {
                    if clears {
                        let why = match value {
                            Some(v) => describe_value(&spec.condition, v),
                            None => "no longer holds".into(),
                        };
                        let track = tracks.remove(&subject).expect("present");
                        changes.push(resolved(track, now_ms, why));
                    } else if value.is_some() || holds {
                        t.value = value.or(t.value);
                        if !what.is_empty() {
                            t.what = what;
                        }
                    }
                }
            }
        }
        // Subjects not read this pass: gone (for a while: a list or a
        // reading can be late), or their host is silent.
        let missing: Vec<Subject> = tracks.keys().filter(|s| !seen.contains(*s)).cloned().collect();
        for subject in missing {
            let t = tracks.get_mut(&subject).expect("present");
            if !gone(&subject) {
                t.missing_ms = None;
                continue;
            }
            let since = *t.missing_ms.get_or_insert(now_ms);
            if !t.firing() || now_ms - since >= GONE_AFTER_MS {
                let track = tracks.remove(&subject).expect("present");
                if track.firing() {
                    changes.push(resolved(track, now_ms, format!("{} is gone", subject.label())));
                }
            }
        }
        for t in tracks.values_mut() {
            match t.fired_ms {
                None if now_ms - t.since_ms >= hold_ms => {
                    t.fired_ms = Some(now_ms);
                    if !silenced {
                        t.told_ms = Some(now_ms);
                    }
                    changes.push(Change::Fired {
                        track: t.clone(),
                        tell: !silenced,
                    });
                }
                Some(_) if !silenced => match t.told_ms {
                    None => {
                        t.told_ms = Some(now_ms);
                        changes.push(Change::Remind {
                            track: t.clone(),
                            repeat: false,
                        });
                    }
                    Some(told) if spec.repeat_secs > 0 && now_ms - told >= spec.repeat_secs as i64 * 1000 => {
                        t.told_ms = Some(now_ms);
                        changes.push(Change::Remind {
                            track: t.clone(),
                            repeat: true,
                        });
                    }
                    Some(_) => {}
                },
                _ => {}
            }
        }
        if tracks.is_empty() {
            self.tracks.remove(&rule.id);
        }
        changes
    }

    /// Ends every alert of a rule that was disabled or deleted.
    pub fn retire(&mut self, rule: RuleId, why: &str, now_ms: i64) -> Vec<Change> {
        let Some(tracks) = self.tracks.remove(&rule) else {
            return Vec::new();
        };
        tracks
            .into_values()
            .filter(Track::firing)
            .map(|t| resolved(t, now_ms, why.to_string()))
            .collect()
    }
}

fn resolved(track: Track, at_ms: i64, why: String) -> Change {
    let tell = track.told_ms.is_some();
    Change::Resolved {
        track,
        at_ms,
        why,
        tell,
    }
}

/// "CPU 97.2% (above 90%)": a threshold rule's value in words.
pub(crate) fn describe_value(condition: &Condition, v: f64) -> String {
    let (what, unit) = match condition {
        Condition::HostCpu { .. } => ("CPU", "%"),
        Condition::HostMemory { .. } => ("memory", "%"),
        Condition::HostLoad { .. } => ("load per core", ""),
        Condition::Disk { .. } => ("filesystem", "% full"),
        Condition::ContainerCpu { .. } => ("CPU", "%"),
        Condition::ContainerMemory { .. } => ("memory", "% of its limit"),
        _ => ("value", ""),
    };
    match condition.threshold() {
        Some((above, _)) if v > above => format!("{what} {v:.1}{unit} (above {above}{unit})"),
        Some((_, recover)) if v <= recover => format!("{what} {v:.1}{unit} (at or below {recover}{unit})"),
        _ => format!("{what} {v:.1}{unit}"),
    }
}

/// "for 2 min": how long it has held, for summaries.
pub(crate) fn held(since_ms: i64, now_ms: i64) -> String {
    span(u64::try_from((now_ms - since_ms) / 1000).unwrap_or(0))
}

#[cfg(test)]
mod tests;
