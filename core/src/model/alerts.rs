//! Alert rules as the browser and the API see them: what a rule watches,
//! where, for how long, whom it tells, when it keeps quiet; and the alerts
//! it raises. How rules are evaluated is core's `alerts`; where a
//! notification goes is `model::channels`.

use super::{ChannelId, HostId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rule's permanent number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct RuleId(pub u64);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The most rules berth keeps, and the most channels and silences one rule has.
pub const MAX_RULES: usize = 10_000;
pub const MAX_RULE_CHANNELS: usize = 20;
pub const MAX_SILENCES: usize = 50;
/// The longest a rule may wait (`for_secs`), repeat, or count over.
pub const MAX_SPAN_SECS: u64 = 7 * 86_400;
/// The shortest repeat interval (0 means "tell once").
pub const MIN_REPEAT_SECS: u64 = 60;

/// What a rule watches. Thresholds fire when a value goes above `above`
/// and resolve only when it falls to `recover_below` or under (hysteresis:
/// a value hovering at the threshold fires once, not on every wobble).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The host's busy share of all its cores, in percent.
    HostCpu { above: f64, recover_below: f64 },
    /// The host's memory in use without the page cache, in percent of its total.
    HostMemory { above: f64, recover_below: f64 },
    /// The host's 1-minute load average divided by its number of cores.
    HostLoad { above: f64, recover_below: f64 },
    /// How full each filesystem is, in percent (`mount` narrows it to one).
    Disk {
        above: f64,
        recover_below: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount: Option<String>,
    },
    /// A container's CPU in percent of one core (200 = two cores busy).
    ContainerCpu { above: f64, recover_below: f64 },
    /// A container's memory without file cache, in percent of its limit.
    ContainerMemory { above: f64, recover_below: f64 },
    /// Not running while expected running, or exited with a non-zero code.
    ContainerDown,
    /// Its health check says unhealthy.
    Unhealthy,
    /// Restarted by the engine `restarts` times or more within `within_secs`.
    RestartLoop { restarts: u32, within_secs: u64 },
    /// Killed for lack of memory within the last `within_secs`.
    OomKilled { within_secs: u64 },
    /// Its state differs from the expected state set for its key.
    Drift,
    /// berth cannot reach the host's engine or agent.
    HostUnreachable,
    /// At least `count` log lines matching `pattern` within `within_secs`.
    LogPattern {
        pattern: String,
        #[serde(default)]
        regex: bool,
        #[serde(default)]
        case_sensitive: bool,
        count: u32,
        within_secs: u64,
    },
}

/// What a rule's alerts are about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Host,
    Filesystem,
    Container,
}

impl Condition {
    /// Every kind, with a default to start editing from.
    pub fn examples() -> Vec<Condition> {
        vec![
            Condition::HostCpu {
                above: 90.0,
                recover_below: 80.0,
            },
            Condition::HostMemory {
                above: 90.0,
                recover_below: 85.0,
            },
            Condition::HostLoad {
                above: 2.0,
                recover_below: 1.5,
            },
            Condition::Disk {
                above: 90.0,
                recover_below: 85.0,
                mount: None,
            },
            Condition::ContainerCpu {
                above: 90.0,
                recover_below: 70.0,
            },
            Condition::ContainerMemory {
                above: 90.0,
                recover_below: 80.0,
            },
            Condition::ContainerDown,
            Condition::Unhealthy,
            Condition::RestartLoop {
                restarts: 3,
                within_secs: 600,
            },
            Condition::OomKilled { within_secs: 900 },
            Condition::Drift,
            Condition::HostUnreachable,
            Condition::LogPattern {
                pattern: "panic".into(),
                regex: false,
                case_sensitive: false,
                count: 1,
                within_secs: 300,
            },
        ]
    }

    /// The snake_case name of its kind (`host_cpu`), as in the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Condition::HostCpu { .. } => "host_cpu",
            Condition::HostMemory { .. } => "host_memory",
            Condition::HostLoad { .. } => "host_load",
            Condition::Disk { .. } => "disk",
            Condition::ContainerCpu { .. } => "container_cpu",
            Condition::ContainerMemory { .. } => "container_memory",
            Condition::ContainerDown => "container_down",
            Condition::Unhealthy => "unhealthy",
            Condition::RestartLoop { .. } => "restart_loop",
            Condition::OomKilled { .. } => "oom_killed",
            Condition::Drift => "drift",
            Condition::HostUnreachable => "host_unreachable",
            Condition::LogPattern { .. } => "log_pattern",
        }
    }

    /// What it is about: a host, each filesystem of a host, or each container.
    pub fn subject(&self) -> SubjectKind {
        match self {
            Condition::HostCpu { .. }
            | Condition::HostMemory { .. }
            | Condition::HostLoad { .. }
            | Condition::HostUnreachable => SubjectKind::Host,
            Condition::Disk { .. } => SubjectKind::Filesystem,
            _ => SubjectKind::Container,
        }
    }

    /// (fire above, resolve at or below) for the threshold kinds.
    pub fn threshold(&self) -> Option<(f64, f64)> {
        match *self {
            Condition::HostCpu { above, recover_below }
            | Condition::HostMemory { above, recover_below }
            | Condition::HostLoad { above, recover_below }
            | Condition::Disk {
                above, recover_below, ..
            }
            | Condition::ContainerCpu { above, recover_below }
            | Condition::ContainerMemory { above, recover_below } => Some((above, recover_below)),
            _ => None,
        }
    }

    /// A short description: "host CPU above 90% (resolves at 80%)".
    pub fn describe(&self) -> String {
        let t = |what: &str, unit: &str, a: f64, r: f64| format!("{what} above {a}{unit} (resolves at {r}{unit})");
        match self {
            Condition::HostCpu { above, recover_below } => t("host CPU", "%", *above, *recover_below),
            Condition::HostMemory { above, recover_below } => t("host memory", "%", *above, *recover_below),
            Condition::HostLoad { above, recover_below } => t("load per core", "", *above, *recover_below),
            Condition::Disk {
                above,
                recover_below,
                mount,
            } => {
                let what = match mount {
                    Some(m) => format!("filesystem {m}"),
                    None => "a filesystem".into(),
                };
                t(&what, "% full", *above, *recover_below)
            }
            Condition::ContainerCpu { above, recover_below } => t("container CPU", "%", *above, *recover_below),
            Condition::ContainerMemory { above, recover_below } => {
                t("container memory", "% of its limit", *above, *recover_below)
            }
            Condition::ContainerDown => "container down (not running while expected, or exited non-zero)".into(),
            Condition::Unhealthy => "container unhealthy".into(),
            Condition::RestartLoop { restarts, within_secs } => {
                format!("{restarts} or more restarts within {}", span(*within_secs))
            }
            Condition::OomKilled { within_secs } => format!("killed out of memory (kept {})", span(*within_secs)),
            Condition::Drift => "container not in its expected state".into(),
            Condition::HostUnreachable => "host unreachable".into(),
            Condition::LogPattern {
                pattern,
                regex,
                count,
                within_secs,
                ..
            } => format!(
                "{count} or more log lines matching {}{pattern}{} within {}",
                if *regex { "/" } else { "\"" },
                if *regex { "/" } else { "\"" },
                span(*within_secs)
            ),
        }
    }

    /// Checks the numbers (a regex's syntax is checked by core, which has the engine).
    pub fn validate(&self) -> Result<(), String> {
        if let Some((above, recover)) = self.threshold() {
            let max = match self {
                Condition::ContainerCpu { .. } => 100_000.0,
                Condition::HostLoad { .. } => 1_000.0,
                _ => 100.0,
            };
            if !above.is_finite() || !recover.is_finite() {
                return Err("a threshold must be a number".into());
            }
            if !(0.0..=max).contains(&above) || !(0.0..=max).contains(&recover) {
                return Err(format!("thresholds of {} go from 0 to {max}", self.kind()));
            }
            if recover > above {
                return Err(format!(
                    "the recovery threshold ({recover}) must not be above the firing one ({above})"
                ));
            }
        }
        match self {
            Condition::Disk { mount: Some(m), .. } if m.is_empty() || m.len() > 4096 || !m.starts_with('/') => {
                Err("a mount point is an absolute path, such as /var".into())
            }
            Condition::RestartLoop { restarts, within_secs } => {
                if !(1..=1000).contains(restarts) {
                    return Err("restarts go from 1 to 1000".into());
                }
                window(*within_secs)
            }
            Condition::OomKilled { within_secs } => window(*within_secs),
            Condition::LogPattern {
                pattern,
                count,
                within_secs,
                ..
            } => {
                if pattern.is_empty() || pattern.len() > super::MAX_PATTERN {
                    return Err(format!("a log pattern has 1 to {} bytes", super::MAX_PATTERN));
                }
                if !(1..=100_000).contains(count) {
                    return Err("a log line count goes from 1 to 100000".into());
                }
                window(*within_secs)
            }
            _ => Ok(()),
        }
    }
}

fn window(secs: u64) -> Result<(), String> {
    if (10..=MAX_SPAN_SECS).contains(&secs) {
        Ok(())
    } else {
        Err(format!("a window goes from 10 s to {}", span(MAX_SPAN_SECS)))
    }
}

/// "90 s", "5 min", "2 h", "7 d": a span as people say it.
pub fn span(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// How urgent a rule's alerts are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Where a rule looks: one host or all, one container key or all (for
/// container conditions; a log pattern needs a key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostId>,
    /// An expectation key (`compose:shop/web`, `name:db`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl AlertScope {
    pub fn covers_host(&self, host: &str) -> bool {
        self.host.as_ref().is_none_or(|h| h.0 == host)
    }

    pub fn covers_key(&self, key: &str) -> bool {
        self.key.as_deref().is_none_or(|k| k == key)
    }
}

/// A time when a rule keeps quiet: its alerts still fire and resolve (and
/// are recorded), but nobody is told until the silence ends, and then only
/// of those still firing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Silence {
    /// From one moment to another (unix milliseconds).
    Once {
        from_ms: i64,
        until_ms: i64,
        #[serde(default)]
        comment: String,
    },
    /// Every week on `days` (0 = Monday … 6 = Sunday), from `start_min`
    /// minutes after midnight UTC, for `minutes`.
    Weekly {
        days: Vec<u8>,
        start_min: u16,
        minutes: u32,
        #[serde(default)]
        comment: String,
    },
}

const WEEK_MS: i64 = 7 * 86_400_000;

impl Silence {
    /// Whether it holds at `now_ms` (unix milliseconds).
    pub fn covers(&self, now_ms: i64) -> bool {
        match self {
            Silence::Once { from_ms, until_ms, .. } => (*from_ms..*until_ms).contains(&now_ms),
            Silence::Weekly {
                days,
                start_min,
                minutes,
                ..
            } => {
                // 1970-01-01 was a Thursday (3); a window may run into the next days.
                let since_monday = (now_ms + 3 * 86_400_000).rem_euclid(WEEK_MS);
                let length = i64::from(*minutes) * 60_000;
                days.iter().any(|&d| {
                    let start = i64::from(d) * 86_400_000 + i64::from(*start_min) * 60_000;
                    let into = (since_monday - start).rem_euclid(WEEK_MS);
                    into < length
                })
            }
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        let comment = match self {
            Silence::Once {
                from_ms,
                until_ms,
                comment,
            } => {
                if from_ms >= until_ms {
                    return Err("a silence ends after it starts".into());
                }
                if until_ms - from_ms > 366 * 86_400_000 {
                    return Err("a one-off silence lasts at most a year".into());
                }
                comment
            }
            Silence::Weekly {
                days,
                start_min,
                minutes,
                comment,
            } => {
                if days.is_empty() || days.len() > 7 || days.iter().any(|d| *d > 6) {
                    return Err("a weekly silence names days from 0 (Monday) to 6 (Sunday)".into());
                }
                if *start_min >= 24 * 60 {
                    return Err("a weekly silence starts within the day (0 to 1439 minutes after midnight)".into());
                }
                if *minutes == 0 || *minutes > 7 * 24 * 60 {
                    return Err("a weekly silence lasts 1 minute to 7 days".into());
                }
                comment
            }
        };
        if comment.chars().count() > 200 {
            return Err("a silence's comment has at most 200 characters".into());
        }
        Ok(())
    }
}

/// A rule as a person writes it (to create or replace one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub condition: Condition,
    #[serde(default)]
    pub scope: AlertScope,
    #[serde(default)]
    pub severity: Severity,
    /// How long the condition must hold before the alert fires.
    #[serde(default)]
    pub for_secs: u64,
    /// While firing, tell again this often; 0 tells once.
    #[serde(default)]
    pub repeat_secs: u64,
    /// Where to send its notifications.
    #[serde(default)]
    pub channels: Vec<ChannelId>,
    #[serde(default)]
    pub silences: Vec<Silence>,
}

fn yes() -> bool {
    true
}

impl RuleSpec {
    /// Checks everything a person sent; channels are checked to exist by core.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err("a rule's name has 1 to 100 characters, none of them control characters".into());
        }
        self.condition.validate()?;
        if let Some(h) = &self.scope.host {
            super::validate_host_name(&h.0)?;
        }
        if let Some(k) = &self.scope.key {
            super::validate_expectation_key(k)?;
        }
        match self.condition.subject() {
            SubjectKind::Host | SubjectKind::Filesystem if self.scope.key.is_some() => {
                return Err(format!(
                    "a {} rule is about hosts, so it takes no container key",
                    self.condition.kind()
                ));
            }
            _ => {}
        }
        if matches!(self.condition, Condition::LogPattern { .. }) && self.scope.key.is_none() {
            return Err("a log pattern rule watches one container key (such as compose:shop/web)".into());
        }
        if self.for_secs > MAX_SPAN_SECS {
            return Err(format!("a rule waits at most {} before firing", span(MAX_SPAN_SECS)));
        }
        if self.repeat_secs != 0 && !(MIN_REPEAT_SECS..=MAX_SPAN_SECS).contains(&self.repeat_secs) {
            return Err(format!(
                "a repeat interval is 0 (tell once) or from {} to {}",
                span(MIN_REPEAT_SECS),
                span(MAX_SPAN_SECS)
            ));
        }
        if self.channels.len() > MAX_RULE_CHANNELS {
            return Err(format!("a rule tells at most {MAX_RULE_CHANNELS} channels"));
        }
        let mut seen = self.channels.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.channels.len() {
            return Err("a channel is named twice".into());
        }
        if self.silences.len() > MAX_SILENCES {
            return Err(format!("a rule has at most {MAX_SILENCES} silences"));
        }
        self.silences.iter().try_for_each(Silence::validate)
    }

    /// Whether one of its silences holds at `now_ms`.
    pub fn silenced(&self, now_ms: i64) -> bool {
        self.silences.iter().any(|s| s.covers(now_ms))
    }
}

/// A rule with its number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    pub id: RuleId,
    #[serde(flatten)]
    pub spec: RuleSpec,
}

/// Where an alert stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds, not yet for the rule's duration.
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert now: a rule's condition holding for one subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub rule: RuleId,
    pub rule_name: String,
    pub severity: Severity,
    pub state: AlertState,
    pub host: Option<HostId>,
    /// What it is about: `host local`, `filesystem / on local`, `container compose:shop/web on local`.
    pub subject: String,
    /// "CPU 97.2% above 90% for 2 min".
    pub summary: String,
    /// The last value read, for threshold rules.
    pub value: Option<f64>,
    /// Unix ms when the condition began to hold.
    pub since_ms: i64,
    /// Unix ms when it fired (None while pending).
    pub fired_ms: Option<i64>,
    /// Whether a silence keeps it quiet now.
    pub silenced: bool,
}

/// The alerts firing and pending now, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertList {
    pub alerts: Vec<Alert>,
}

/// For tests: an enabled warning named "r" over everything, firing at once,
/// never repeated, sent nowhere.
#[cfg(test)]
pub(crate) fn test_rule(condition: Condition) -> RuleSpec {
    RuleSpec {
        name: "r".into(),
        enabled: true,
        condition,
        scope: AlertScope::default(),
        severity: Severity::Warning,
        for_secs: 0,
        repeat_secs: 0,
        channels: vec![],
        silences: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: Condition) -> RuleSpec {
        test_rule(condition)
    }

    #[test]
    fn every_example_is_valid_and_bad_numbers_say_why() {
        for c in Condition::examples() {
            let mut r = rule(c.clone());
            if matches!(c, Condition::LogPattern { .. }) {
                r.scope.key = Some("compose:shop/web".into());
            }
            assert_eq!(r.validate(), Ok(()), "{c:?}");
        }
        let bad = [
            Condition::HostCpu {
                above: 80.0,
                recover_below: 90.0,
            },
            Condition::HostCpu {
                above: f64::NAN,
                recover_below: 1.0,
            },
            Condition::Disk {
                above: 101.0,
                recover_below: 1.0,
                mount: None,
            },
            Condition::Disk {
                above: 90.0,
                recover_below: 80.0,
                mount: Some("var".into()),
            },
            Condition::RestartLoop {
                restarts: 0,
                within_secs: 60,
            },
            Condition::OomKilled { within_secs: 1 },
        ];
        for c in bad {
            assert!(rule(c.clone()).validate().is_err(), "{c:?}");
        }
        let mut r = rule(Condition::HostCpu {
            above: 90.0,
            recover_below: 80.0,
        });
        r.scope.key = Some("name:web".into());
        assert!(r.validate().unwrap_err().contains("no container key"));
        r.scope.key = None;
        r.repeat_secs = 5;
        assert!(r.validate().is_err());
        r.repeat_secs = 0;
        r.channels = vec![ChannelId(1), ChannelId(1)];
        assert!(r.validate().unwrap_err().contains("twice"));
        let log = rule(Condition::examples().pop().unwrap());
        assert!(log.validate().unwrap_err().contains("container key"));
    }

    #[test]
    fn conditions_read_and_write_as_flat_json() {
        let c: Condition = serde_json::from_str(r#"{"kind":"disk","above":90,"recover_below":85}"#).unwrap();
        assert_eq!(
            c,
            Condition::Disk {
                above: 90.0,
                recover_below: 85.0,
                mount: None
            }
        );
        let text = serde_json::to_string(&Condition::ContainerDown).unwrap();
        assert_eq!(text, r#"{"kind":"container_down"}"#);
        let r: RuleSpec = serde_json::from_str(r#"{"name":"x","condition":{"kind":"unhealthy"}}"#).unwrap();
        assert!(r.enabled);
        assert_eq!(r.severity, Severity::Warning);
    }

    #[test]
    fn weekly_silences_cover_their_window_across_midnight() {
        // 2026-11-30 was a Monday; 23:00 UTC for two hours runs into Tuesday.
        let monday = 1_796_083_200_000_i64; // 2026-12-01T00:00Z is a Tuesday
        let monday = monday - 86_400_000;
        let s = Silence::Weekly {
            days: vec![0],
            start_min: 23 * 60,
            minutes: 120,
            comment: String::new(),
        };
        assert!(s.validate().is_ok());
        assert!(!s.covers(monday + 22 * 3_600_000));
        assert!(s.covers(monday + 23 * 3_600_000));
        assert!(s.covers(monday + 24 * 3_600_000 + 59 * 60_000));
        assert!(!s.covers(monday + 25 * 3_600_000));
        assert!(s.covers(monday + WEEK_MS + 23 * 3_600_000 + 1));
        let once = Silence::Once {
            from_ms: 10,
            until_ms: 20,
            comment: String::new(),
        };
        assert!(once.covers(10) && !once.covers(20));
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(90), "90 s");
        assert_eq!(span(300), "5 min");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(86_400 * 7), "7 d");
    }
}
