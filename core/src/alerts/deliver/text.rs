//! The words of a notification, shared by every channel: its link, its
//! plain-text body (mail, ntfy, Gotify), its colour and urgency, and the
//! limits a notification is cut to before it is queued.

use crate::model::{AlertState, Notification, Severity, format_ts};

/// What a queued notification's fields are cut to (a chat message has
/// room for this much, and the outbox stays small).
const MAX_SUMMARY: usize = 4000;
const MAX_FIELD: usize = 500;
const MAX_ID: usize = 100;
const MAX_URL: usize = 2000;

/// The notification with every field within bounds, its id safe for a
/// header, and its link made absolute with `public_url` when it can be.
pub(super) fn bounded(n: &Notification, public_url: Option<&str>) -> Notification {
    let mut id: String =
        n.id.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "._:-".contains(*c))
            .take(MAX_ID)
            .collect();
    if id.is_empty() {
        id = format!("{}-{}", n.rule.0, n.at_ms);
    }
    Notification {
        id,
        rule_name: clip(&n.rule_name, MAX_FIELD),
        subject: clip(&n.subject, MAX_FIELD),
        summary: clip(&n.summary, MAX_SUMMARY),
        url: link(n.url.as_deref(), public_url).filter(|u| u.len() <= MAX_URL),
        ..n.clone()
    }
}

/// The link to the alert: the notification's own when absolute, else made
/// from berth's public URL (a path under it, or its alerts page).
fn link(url: Option<&str>, public_url: Option<&str>) -> Option<String> {
    let base = public_url
        .map(|p| p.trim().trim_end_matches('/'))
        .filter(|p| p.starts_with("http://") || p.starts_with("https://"));
    match url {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Some(u.to_string()),
        Some(path) if path.starts_with('/') => base.map(|b| format!("{b}{path}")),
        _ => base.map(|b| format!("{b}/alerts")),
    }
}

/// At most `max` characters, control characters shown as spaces (but
/// line breaks kept), `…` when cut.
pub(super) fn clip(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        crate::outbound::truncate(&clean, max.saturating_sub(1))
    }
}

/// On one line, for a header or a title.
pub(super) fn one_line(text: &str, max: usize) -> String {
    clip(&text.replace(['\r', '\n'], " "), max)
}

/// "firing", "firing (repeat)", "resolved", "test".
pub(super) fn state_word(n: &Notification) -> &'static str {
    match (n.test, n.state, n.repeat) {
        (true, _, _) => "test",
        (_, AlertState::Resolved, _) => "resolved",
        (_, _, true) => "firing (repeat)",
        _ => "firing",
    }
}

/// A value as a person reads it: at most two decimals.
pub(super) fn value(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `2026-11-22 09:05:01.123 UTC`
pub(super) fn when(ms: i64) -> String {
    format_ts(ms.saturating_mul(1_000_000))
}

/// `2026-11-22T09:05:01.123Z`
pub(super) fn iso(ms: i64) -> String {
    when(ms).replacen(' ', "T", 1).replace(" UTC", "Z")
}

/// Firing and how bad, resolved, or a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tone {
    Critical,
    Warning,
    Info,
    Resolved,
    Test,
}

pub(super) fn tone(n: &Notification) -> Tone {
    match (n.test, n.state, n.severity) {
        (true, _, _) => Tone::Test,
        (_, AlertState::Resolved, _) => Tone::Resolved,
        (_, _, Severity::Critical) => Tone::Critical,
        (_, _, Severity::Warning) => Tone::Warning,
        (_, _, Severity::Info) => Tone::Info,
    }
}

/// The colour of a chat attachment, as 0xRRGGBB.
pub(super) fn colour(tone: Tone) -> u32 {
    match tone {
        Tone::Critical => 0xd7263d,
        Tone::Warning => 0xf4a100,
        Tone::Info => 0x2b7de9,
        Tone::Resolved => 0x2eb67d,
        Tone::Test => 0x8a8a8a,
    }
}

/// The plain-text body: the summary, then each fact on its own line.
pub(super) fn body(n: &Notification) -> String {
    let mut text = String::new();
    if !n.summary.trim().is_empty() {
        text.push_str(n.summary.trim());
        text.push_str("\n\n");
    }
    let mut line = |label: &str, v: &str| {
        text.push_str(label);
        text.push_str(": ");
        text.push_str(v);
        text.push('\n');
    };
    line("State", state_word(n));
    line("Rule", &format!("{} ({})", n.rule_name, n.severity.as_str()));
    line("Subject", &n.subject);
    if let Some(h) = &n.host {
        line("Host", &h.0);
    }
    if let Some(v) = n.value {
        line("Value", &value(v));
    }
    line("Since", &when(n.since_ms));
    if let Some(u) = &n.url {
        line("Link", u);
    }
    text
}

/// A mail: its subject (the title) and its text.
pub(super) fn mail(n: &Notification) -> (String, String) {
    let title = one_line(&n.title(), 250);
    let text = format!("{title}\n\n{}\n-- \nberth\n", body(n));
    (title, text)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{HostId, RuleId};

    pub(crate) fn sample() -> Notification {
        Notification {
            id: "n-42".into(),
            rule: RuleId(7),
            rule_name: "web down".into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            repeat: false,
            test: false,
            host: Some(HostId("local".into())),
            subject: "shop-web-1".into(),
            summary: "shop-web-1 exited with code 137".into(),
            value: Some(91.256),
            since_ms: 1_764_000_000_000,
            at_ms: 1_764_000_060_000,
            url: Some("https://berth.example.com/alerts/7".into()),
        }
    }

    #[test]
    fn bodies_carry_every_fact() {
        let (subject, text) = mail(&sample());
        assert_eq!(subject, "[FIRING] web down: shop-web-1 on local");
        for part in [
            "shop-web-1 exited with code 137",
            "State: firing",
            "Rule: web down (critical)",
            "Host: local",
            "Value: 91.26",
            "Since: 2025-11-24 16:00:00.000 UTC",
            "Link: https://berth.example.com/alerts/7",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
        assert_eq!(value(90.0), "90");
        assert_eq!(value(f64::NAN), "n/a");
        assert_eq!(iso(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
    }

    #[test]
    fn notifications_are_bounded_before_they_are_queued() {
        let mut n = sample();
        n.id = "a b\r\nX-Evil: 1".into();
        n.summary = "x".repeat(100_000);
        n.subject = "bad\u{1b}[31m".into();
        n.url = Some("/alerts/7".into());
        let b = bounded(&n, Some("https://berth.example.com/"));
        assert_eq!(b.id, "abX-Evil:1");
        assert_eq!(b.summary.chars().count(), MAX_SUMMARY);
        assert_eq!(b.subject, "bad [31m");
        assert_eq!(b.url.as_deref(), Some("https://berth.example.com/alerts/7"));
        n.url = None;
        assert_eq!(bounded(&n, None).url, None);
        let linked = bounded(&n, Some("https://b.example"));
        assert_eq!(linked.url.as_deref(), Some("https://b.example/alerts"));
    }

    #[test]
    fn tones_follow_state_then_severity() {
        let mut n = sample();
        assert_eq!(tone(&n), Tone::Critical);
        n.state = AlertState::Resolved;
        assert_eq!((tone(&n), state_word(&n)), (Tone::Resolved, "resolved"));
        n.test = true;
        assert_eq!((tone(&n), state_word(&n)), (Tone::Test, "test"));
    }
}
