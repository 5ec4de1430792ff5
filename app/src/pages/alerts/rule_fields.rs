//! A rule as its form holds it: every field as typed (text, so nothing a
//! person typed is lost when it does not parse), made from a stored rule
//! and turned into a `RuleSpec` with an error that names the field. No
//! Leptos here: the form keeps one `RwSignal<RuleFields>`.

use berth_core::model::{AlertScope, ChannelId, Condition, HostId, RuleSpec, Severity, Silence, format_ts, parse_ts};

/// One silence as typed.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SilenceFields {
    /// Stays put while rows come and go (for the list's keys).
    pub key: usize,
    pub weekly: bool,
    /// `YYYY-MM-DDTHH:MM` in UTC, as `<input type=datetime-local>` has it.
    pub from: String,
    pub until: String,
    /// Monday first.
    pub days: [bool; 7],
    /// `HH:MM` in UTC.
    pub start: String,
    pub minutes: String,
    pub comment: String,
}

impl SilenceFields {
    pub fn new(key: usize, weekly: bool) -> SilenceFields {
        SilenceFields {
            key,
            weekly,
            from: String::new(),
            until: String::new(),
            days: [false; 7],
            start: "22:00".into(),
            minutes: "120".into(),
            comment: String::new(),
        }
    }

    fn from_silence(key: usize, s: &Silence) -> SilenceFields {
        match s {
            Silence::Once {
                from_ms,
                until_ms,
                comment,
            } => SilenceFields {
                from: local_input(*from_ms),
                until: local_input(*until_ms),
                comment: comment.clone(),
                ..SilenceFields::new(key, false)
            },
            Silence::Weekly {
                days,
                start_min,
                minutes,
                comment,
            } => {
                let mut on = [false; 7];
                for d in days.iter().filter(|d| **d < 7) {
                    on[usize::from(*d)] = true;
                }
                SilenceFields {
                    days: on,
                    start: format!("{:02}:{:02}", start_min / 60, start_min % 60),
                    minutes: minutes.to_string(),
                    comment: comment.clone(),
                    ..SilenceFields::new(key, true)
                }
            }
        }
    }

    fn to_silence(&self, n: usize) -> Result<Silence, String> {
        let comment = self.comment.trim().to_string();
        if !self.weekly {
            let at = |text: &str, what: &str| {
                parse_ts(text)
                    .map(|ns| ns / 1_000_000)
                    .map_err(|_| format!("Silence {n}: the {what} time is missing or not a date and time"))
            };
            return Ok(Silence::Once {
                from_ms: at(&self.from, "start")?,
                until_ms: at(&self.until, "end")?,
                comment,
            });
        }
        let days: Vec<u8> = (0u8..7).filter(|d| self.days[usize::from(*d)]).collect();
        let start_min = hh_mm(&self.start)
            .ok_or_else(|| format!("Silence {n}: the start is a time of day in UTC, such as 22:00"))?;
        let minutes = self
            .minutes
            .trim()
            .parse()
            .map_err(|_| format!("Silence {n}: the length is a whole number of minutes"))?;
        Ok(Silence::Weekly {
            days,
            start_min,
            minutes,
            comment,
        })
    }
}

/// A rule as typed.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct RuleFields {
    pub name: String,
    pub enabled: bool,
    /// The condition's kind (`host_cpu`), as `Condition::kind` names it.
    pub kind: String,
    pub above: String,
    pub recover: String,
    pub mount: String,
    pub restarts: String,
    pub count: String,
    pub within: String,
    pub pattern: String,
    pub regex: bool,
    pub case_sensitive: bool,
    /// Empty: all hosts.
    pub host: String,
    pub key: String,
    pub severity: Severity,
    pub for_span: String,
    pub repeat: String,
    pub channels: Vec<ChannelId>,
    pub silences: Vec<SilenceFields>,
}

impl RuleFields {
    /// A new rule: the first kind with its defaults.
    pub fn new() -> RuleFields {
        let mut fields = RuleFields {
            name: String::new(),
            enabled: true,
            kind: String::new(),
            above: String::new(),
            recover: String::new(),
            mount: String::new(),
            restarts: String::new(),
            count: String::new(),
            within: String::new(),
            pattern: String::new(),
            regex: false,
            case_sensitive: false,
            host: String::new(),
            key: String::new(),
            severity: Severity::Warning,
            for_span: "0".into(),
            repeat: "0".into(),
            channels: Vec::new(),
            silences: Vec::new(),
        };
        fields.set_kind("container_down");
        fields
    }

    pub fn from_spec(spec: &RuleSpec) -> RuleFields {
        let mut fields = RuleFields {
            name: spec.name.clone(),
            enabled: spec.enabled,
            host: spec.scope.host.as_ref().map(|h| h.0.clone()).unwrap_or_default(),
            key: spec.scope.key.clone().unwrap_or_default(),
            severity: spec.severity,
            for_span: span_input(spec.for_secs),
            repeat: span_input(spec.repeat_secs),
            channels: spec.channels.clone(),
            silences: spec
                .silences
                .iter()
                .enumerate()
                .map(|(i, s)| SilenceFields::from_silence(i, s))
                .collect(),
            ..RuleFields::new()
        };
        fields.fill(&spec.condition);
        fields
    }

    /// Switches to another kind of condition with that kind's defaults.
    pub fn set_kind(&mut self, kind: &str) {
        if let Some(example) = Condition::examples().into_iter().find(|c| c.kind() == kind) {
            self.fill(&example);
        }
    }

    fn fill(&mut self, c: &Condition) {
        self.kind = c.kind().to_string();
        if let Some((above, recover)) = c.threshold() {
            self.above = above.to_string();
            self.recover = recover.to_string();
        }
        match c {
            Condition::Disk { mount, .. } => self.mount = mount.clone().unwrap_or_default(),
            Condition::RestartLoop { restarts, within_secs } => {
                self.restarts = restarts.to_string();
                self.within = span_input(*within_secs);
            }
            Condition::OomKilled { within_secs } => self.within = span_input(*within_secs),
            Condition::LogPattern {
                pattern,
                regex,
                case_sensitive,
                count,
                within_secs,
            } => {
                self.pattern = pattern.clone();
                self.regex = *regex;
                self.case_sensitive = *case_sensitive;
                self.count = count.to_string();
                self.within = span_input(*within_secs);
            }
            _ => {}
        }
    }

    /// Whether the kind is about hosts (so it takes no container key).
    pub fn about_hosts(&self) -> bool {
        Condition::examples()
            .iter()
            .find(|c| c.kind() == self.kind)
            .is_some_and(|c| c.subject() != berth_core::model::SubjectKind::Container)
    }

    pub fn condition(&self) -> Result<Condition, String> {
        let number = |text: &str, what: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{what} is a number, such as 90 or 1.5"))
        };
        let above = || number(&self.above, "The firing threshold");
        let recover_below = || number(&self.recover, "The recovery threshold");
        let whole = |text: &str, what: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} is a whole number"))
        };
        let within_secs = || parse_span(&self.within).map_err(|e| format!("Window: {e}"));
        Ok(match self.kind.as_str() {
            "host_cpu" => Condition::HostCpu {
                above: above()?,
                recover_below: recover_below()?,
            },
            "host_memory" => Condition::HostMemory {
                above: above()?,
                recover_below: recover_below()?,
            },
            "host_load" => Condition::HostLoad {
                above: above()?,
                recover_below: recover_below()?,
            },
            "disk" => Condition::Disk {
                above: above()?,
                recover_below: recover_below()?,
                mount: Some(self.mount.trim().to_string()).filter(|m| !m.is_empty()),
            },
            "container_cpu" => Condition::ContainerCpu {
                above: above()?,
                recover_below: recover_below()?,
            },
            "container_memory" => Condition::ContainerMemory {
                above: above()?,
                recover_below: recover_below()?,
            },
            "container_down" => Condition::ContainerDown,
            "unhealthy" => Condition::Unhealthy,
            "restart_loop" => Condition::RestartLoop {
                restarts: whole(&self.restarts, "Restarts")?,
                within_secs: within_secs()?,
            },
            "oom_killed" => Condition::OomKilled {
                within_secs: within_secs()?,
            },
            "drift" => Condition::Drift,
            "host_unreachable" => Condition::HostUnreachable,
            "log_pattern" => Condition::LogPattern {
                pattern: self.pattern.clone(),
                regex: self.regex,
                case_sensitive: self.case_sensitive,
                count: whole(&self.count, "The number of lines")?,
                within_secs: within_secs()?,
            },
            other => return Err(format!("'{other}' is not a kind of condition; pick one from the list")),
        })
    }

    /// The rule to send, or what to correct first. Core checks the rest.
    pub fn to_spec(&self) -> Result<RuleSpec, String> {
        let condition = self.condition()?;
        let key = Some(self.key.trim().to_string()).filter(|k| !k.is_empty() && !self.about_hosts());
        let silences = self
            .silences
            .iter()
            .enumerate()
            .map(|(i, s)| s.to_silence(i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RuleSpec {
            name: self.name.trim().to_string(),
            enabled: self.enabled,
            condition,
            scope: AlertScope {
                host: Some(self.host.clone()).filter(|h| !h.is_empty()).map(HostId),
                key,
            },
            severity: self.severity,
            for_secs: parse_span(&self.for_span).map_err(|e| format!("For: {e}"))?,
            repeat_secs: parse_span(&self.repeat).map_err(|e| format!("Repeat: {e}"))?,
            channels: self.channels.clone(),
            silences,
        })
    }

    pub fn add_silence(&mut self, weekly: bool) {
        let key = self.silences.iter().map(|s| s.key + 1).max().unwrap_or(0);
        self.silences.push(SilenceFields::new(key, weekly));
    }

    pub fn silence(&mut self, key: usize) -> Option<&mut SilenceFields> {
        self.silences.iter_mut().find(|s| s.key == key)
    }
}

/// A span as people type it: `90` or `90 s`, `5 min`, `2 h`, `1 d`
/// (also `5m`, `2h`, `minutes`, `hours`, `days`).
pub(super) fn parse_span(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit_secs = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => Some(1),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(60),
        "h" | "hr" | "hrs" | "hour" | "hours" => Some(3600),
        "d" | "day" | "days" => Some(86_400),
        _ => None,
    };
    number
        .parse::<u64>()
        .ok()
        .zip(unit_secs)
        .and_then(|(n, u)| n.checked_mul(u))
        .ok_or_else(|| {
            let shown: String = t.chars().take(20).collect();
            format!("'{shown}' is not a length of time; write seconds (90) or with a unit (90 s, 5 min, 2 h, 1 d)")
        })
}

/// A span for a field: `0`, `90 s`, `5 min`.
fn span_input(secs: u64) -> String {
    if secs == 0 {
        "0".into()
    } else {
        berth_core::model::span(secs)
    }
}

/// `HH:MM` as minutes after midnight.
fn hh_mm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Unix ms as `<input type=datetime-local>` takes it: `2026-11-30T22:00`.
pub(super) fn local_input(ms: i64) -> String {
    format_ts(ms.saturating_mul(1_000_000))
        .chars()
        .take(16)
        .collect::<String>()
        .replacen(' ', "T", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_write_them() {
        for (text, secs) in [
            ("0", 0),
            ("90", 90),
            ("90 s", 90),
            ("5 min", 300),
            ("5m", 300),
            ("2 h", 7200),
            ("1 d", 86_400),
            (" 3 Days ", 259_200),
        ] {
            assert_eq!(parse_span(text), Ok(secs), "{text}");
        }
        for bad in ["", "min", "5 fortnights", "-5", "1.5 h", "99999999999999999999 d"] {
            assert!(parse_span(bad).unwrap_err().contains("length of time"), "{bad}");
        }
    }

    #[test]
    fn a_stored_rule_comes_back_unchanged() {
        let spec = RuleSpec {
            name: "Shop errors".into(),
            enabled: false,
            condition: Condition::LogPattern {
                pattern: "ERROR".into(),
                regex: true,
                case_sensitive: true,
                count: 5,
                within_secs: 600,
            },
            scope: AlertScope {
                host: Some(HostId("web-1".into())),
                key: Some("compose:shop/web".into()),
            },
            severity: Severity::Critical,
            for_secs: 90,
            repeat_secs: 3600,
            channels: vec![ChannelId(2), ChannelId(5)],
            silences: vec![
                Silence::Once {
                    from_ms: 1_764_540_000_000,
                    until_ms: 1_764_547_200_000,
                    comment: "upgrade".into(),
                },
                Silence::Weekly {
                    days: vec![0, 6],
                    start_min: 22 * 60 + 30,
                    minutes: 90,
                    comment: String::new(),
                },
            ],
        };
        let fields = RuleFields::from_spec(&spec);
        assert_eq!(fields.silences[0].from, "2025-11-30T22:00");
        assert_eq!(fields.silences[1].start, "22:30");
        assert_eq!(fields.to_spec(), Ok(spec));
    }

    #[test]
    fn switching_kind_takes_its_defaults_and_host_kinds_drop_the_key() {
        let mut fields = RuleFields::new();
        fields.key = "name:db".into();
        fields.set_kind("restart_loop");
        assert_eq!((fields.restarts.as_str(), fields.within.as_str()), ("3", "10 min"));
        assert_eq!(fields.to_spec().unwrap().scope.key.as_deref(), Some("name:db"));
        fields.set_kind("host_cpu");
        assert_eq!((fields.above.as_str(), fields.recover.as_str()), ("90", "80"));
        let spec = fields.to_spec().unwrap();
        assert_eq!(
            spec.condition,
            Condition::HostCpu {
                above: 90.0,
                recover_below: 80.0
            }
        );
        assert_eq!(spec.scope.key, None);
    }

    #[test]
    fn what_does_not_parse_names_its_field() {
        let mut fields = RuleFields::new();
        fields.for_span = "soon".into();
        assert!(fields.to_spec().unwrap_err().starts_with("For:"));
        fields.for_span = "0".into();
        fields.add_silence(true);
        fields.silences[0].start = "25:00".into();
        assert!(fields.to_spec().unwrap_err().starts_with("Silence 1:"));
        fields.silences[0].start = "06:00".into();
        fields.silences[0].days[2] = true;
        assert!(matches!(
            fields.to_spec().unwrap().silences[0],
            Silence::Weekly { ref days, start_min: 360, minutes: 120, .. } if days == &[2]
        ));
    }
}
