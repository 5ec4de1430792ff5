//! Container logs and terminal sessions as the browser and the REST API see
//! them: a log line, what a viewer asks for (and its checks), what the live
//! feed sends, and the terminal's control messages.

use serde::{Deserialize, Serialize};

/// Which of a container's outputs a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line a container wrote, as the engine gave it (without its newline;
/// bytes that are not UTF-8 replaced). `text` is data: whoever shows it
/// renders SGR colours at most, and every other byte inert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// The container's full id.
    pub container: String,
    pub stream: LogStream,
    /// When the engine received it, Unix nanoseconds.
    pub ts_ns: i64,
    pub text: String,
}

/// The most lines a viewer may ask the engine's tail for at once.
pub const MAX_TAIL: u32 = 100_000;
/// The most containers merged in one view.
pub const MAX_MERGED: usize = 32;
/// The longest search pattern accepted.
pub const MAX_PATTERN: usize = 512;

/// What a viewer asks of a container's (or several containers') logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogQuery {
    /// The last N lines before `until` (or now); None: all (within since).
    #[serde(default)]
    pub tail: Option<u32>,
    /// Unix nanoseconds, inclusive.
    #[serde(default)]
    pub since_ns: Option<i64>,
    /// Unix nanoseconds, inclusive; a query with `until` does not follow.
    #[serde(default)]
    pub until_ns: Option<i64>,
    /// Go on with new lines as they come.
    #[serde(default)]
    pub follow: bool,
}

impl LogQuery {
    /// Checks the query; the error says what is wrong, in words for the person.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(tail) = self.tail
            && tail > MAX_TAIL
        {
            return Err(format!("tail may be at most {MAX_TAIL} lines, not {tail}"));
        }
        if let (Some(since), Some(until)) = (self.since_ns, self.until_ns)
            && since > until
        {
            return Err("the range starts after it ends: 'since' must be before 'until'".into());
        }
        if self.since_ns.is_some_and(|s| s < 0) || self.until_ns.is_some_and(|u| u < 0) {
            return Err("times are Unix nanoseconds and may not be negative".into());
        }
        if self.follow && self.until_ns.is_some() {
            return Err("a query with 'until' cannot follow new lines".into());
        }
        Ok(())
    }
}

/// Lines a live view gets from before it opened, when it does not say.
pub const DEFAULT_TAIL: u32 = 100;

impl LogQuery {
    /// A query from the text of its parameters as a page or a script sends
    /// them: `tail` a number of lines (or `all`), `since` and `until` times
    /// as `parse_log_time` reads them. Checked (`validate`); the error names
    /// the parameter and says what it takes.
    pub fn parse(
        tail: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        follow: bool,
    ) -> Result<LogQuery, String> {
        let tail = match present(tail) {
            None | Some("all") => None,
            Some(t) => Some(t.parse::<u32>().ok().filter(|n| *n <= MAX_TAIL).ok_or_else(|| {
                format!(
                    "tail must be a whole number of lines from 0 to {MAX_TAIL} (or 'all'), not '{}'",
                    shown(t)
                )
            })?),
        };
        let query = LogQuery {
            tail,
            since_ns: present(since).map(|t| parse_log_time("since", t)).transpose()?,
            until_ns: present(until).map(|t| parse_log_time("until", t)).transpose()?,
            follow,
        };
        query.validate()?;
        Ok(query)
    }

    /// Whether `ts_ns` is within `since` and `until`.
    pub fn covers(&self, ts_ns: i64) -> bool {
        self.since_ns.is_none_or(|s| ts_ns >= s) && self.until_ns.is_none_or(|u| ts_ns <= u)
    }
}

/// A parameter that is there and not blank.
fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// At most 40 characters of what a person sent, for an error message.
fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A time as `since` and `until` take it (`name` says which, for the
/// error): RFC 3339 (`2026-11-22T09:05:01Z`, `2026-11-22T11:05:01.5+02:00`)
/// or Unix seconds (`1795338301`, `1795338301.25`); Unix nanoseconds out.
pub fn parse_log_time(name: &str, text: &str) -> Result<i64, String> {
    let text = text.trim();
    let err = || {
        format!(
            "{name} must be a time in RFC 3339 (2026-11-22T09:05:01Z) or Unix seconds (1795338301), not '{}'",
            shown(text)
        )
    };
    if let Some(ns) = super::time::parse_rfc3339(text) {
        return Ok(ns);
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || whole.len() > 11 || !(fraction.is_empty() || digits(fraction) && fraction.len() <= 9) {
        return Err(err());
    }
    let secs: i64 = whole.parse().map_err(|_| err())?;
    let nanos: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().map_err(|_| err())? * 10i64.pow(9 - fraction.len() as u32)
    };
    Ok(secs * 1_000_000_000 + nanos)
}

impl LogStream {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }

    pub fn parse(text: &str) -> Result<LogStream, String> {
        match text {
            "stdout" => Ok(LogStream::Stdout),
            "stderr" => Ok(LogStream::Stderr),
            other => Err(format!("stream must be stdout or stderr, not '{}'", shown(other))),
        }
    }
}

impl LogLine {
    /// The line as a downloaded file has it: `TIME STREAM TEXT` (or
    /// `STREAM TEXT` without timestamps), the time in RFC 3339 UTC with
    /// nanoseconds; no newline.
    pub fn to_text(&self, timestamps: bool) -> String {
        if timestamps {
            format!(
                "{} {} {}",
                super::time::format_rfc3339(self.ts_ns),
                self.stream.as_str(),
                self.text
            )
        } else {
            format!("{} {}", self.stream.as_str(), self.text)
        }
    }
}

/// A search through lines, on request (the REST API's `search`): a text
/// or a regular expression, ignoring case unless asked, optionally only
/// one stream, optionally the lines that do *not* match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogSearch {
    /// Empty: every line (of `stream`).
    #[serde(default)]
    pub pattern: String,
    /// `pattern` is a regular expression (Rust `regex` syntax), not a text.
    #[serde(default)]
    pub regex: bool,
    /// Match case exactly.
    #[serde(default)]
    pub case_sensitive: bool,
    /// The lines that do not match.
    #[serde(default)]
    pub invert: bool,
    /// Only lines of this stream.
    #[serde(default)]
    pub stream: Option<LogStream>,
}

impl LogSearch {
    /// Checks what can be checked without compiling the pattern.
    pub fn validate(&self) -> Result<(), String> {
        let len = self.pattern.chars().count();
        if len > MAX_PATTERN {
            return Err(format!(
                "the search pattern may be at most {MAX_PATTERN} characters, not {len}"
            ));
        }
        Ok(())
    }

    /// Whether it leaves every line in.
    pub fn is_everything(&self) -> bool {
        self.pattern.is_empty() && self.stream.is_none() && !self.invert
    }
}

/// What the live logs feed (`/ws/logs`) sends, one JSON text frame each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogFeed {
    /// Lines in time order (within one container; merged views order them
    /// across containers as they arrive).
    Lines { lines: Vec<LogLine> },
    /// This viewer fell behind and `missed` lines of `container` were not
    /// sent to it; the others were not slowed.
    Gap { container: String, missed: u64 },
    /// The backfill (tail, since) is complete; what follows is live.
    Live,
    /// A container's stream ended: it stopped, was removed, or the host went
    /// away (`reason` says which, in words).
    End { container: String, reason: String },
    /// The feed cannot go on (a refusal, a bad request); the socket closes.
    Error { message: String },
}

/// The smallest and largest terminal accepted (columns, rows).
pub const TERM_MIN: (u16, u16) = (2, 1);
pub const TERM_MAX: (u16, u16) = (1000, 500);

/// Checks a terminal size from the browser.
pub fn validate_term_size(cols: u16, rows: u16) -> Result<(), String> {
    if !(TERM_MIN.0..=TERM_MAX.0).contains(&cols) || !(TERM_MIN.1..=TERM_MAX.1).contains(&rows) {
        return Err(format!(
            "a terminal is {}–{} columns by {}–{} rows, not {cols}×{rows}",
            TERM_MIN.0, TERM_MAX.0, TERM_MIN.1, TERM_MAX.1
        ));
    }
    Ok(())
}

/// Control messages of the terminal socket (`/ws/terminal`), as JSON text
/// frames; keystrokes and output travel as binary frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TermControl {
    /// Browser → server: the terminal's size changed.
    Resize { cols: u16, rows: u16 },
    /// Server → browser: the session ended (`exit_code` when the process
    /// exited, `reason` in words).
    Closed { exit_code: Option<i64>, reason: String },
    /// Server → browser: recording stopped (cap hit or storage failed) and
    /// the session goes on unrecorded from here.
    RecordingStopped { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_queries_are_checked() {
        assert!(LogQuery::default().validate().is_ok());
        let q = |tail, since, until, follow| LogQuery {
            tail,
            since_ns: since,
            until_ns: until,
            follow,
        };
        assert!(q(Some(MAX_TAIL), None, None, true).validate().is_ok());
        assert!(
            q(Some(MAX_TAIL + 1), None, None, true)
                .validate()
                .unwrap_err()
                .contains("at most")
        );
        assert!(
            q(None, Some(5), Some(4), false)
                .validate()
                .unwrap_err()
                .contains("before")
        );
        assert!(q(None, Some(-1), None, false).validate().is_err());
        assert!(q(None, None, Some(4), true).validate().unwrap_err().contains("follow"));
    }

    #[test]
    fn log_parameters_read_as_people_write_them() {
        let q = LogQuery::parse(Some("50"), Some("1700000000.5"), Some("2023-11-14T22:13:21Z"), false).unwrap();
        assert_eq!(q.tail, Some(50));
        assert_eq!(q.since_ns, Some(1_700_000_000_500_000_000));
        assert_eq!(q.until_ns, Some(1_700_000_001_000_000_000));
        assert!(q.covers(1_700_000_000_500_000_000) && !q.covers(1_700_000_000_499_999_999));
        assert_eq!(LogQuery::parse(Some("all"), None, None, true).unwrap().tail, None);
        assert_eq!(
            LogQuery::parse(Some(""), Some(" "), None, true).unwrap(),
            LogQuery {
                follow: true,
                ..Default::default()
            }
        );
        let e = LogQuery::parse(Some("-1"), None, None, true).unwrap_err();
        assert!(e.starts_with("tail must be a whole number"), "{e}");
        assert!(LogQuery::parse(Some("100001"), None, None, true).is_err());
        let e = LogQuery::parse(None, Some("yesterday"), None, true).unwrap_err();
        assert!(e.starts_with("since must be a time in RFC 3339"), "{e}");
        let e = LogQuery::parse(None, Some("20"), Some("10"), false).unwrap_err();
        assert!(e.contains("before"), "{e}");
        assert_eq!(parse_log_time("since", "1.000000001"), Ok(1_000_000_001));
        assert!(parse_log_time("since", "1.0000000001").is_err());
        assert!(parse_log_time("since", "-5").is_err());
    }

    #[test]
    fn a_downloaded_line_reads_time_stream_text() {
        let line = LogLine {
            container: "abc".into(),
            stream: LogStream::Stderr,
            ts_ns: 1_700_000_000_000_000_001,
            text: "boom".into(),
        };
        assert_eq!(line.to_text(true), "2023-11-14T22:13:20.000000001Z stderr boom");
        assert_eq!(line.to_text(false), "stderr boom");
        let long = LogSearch {
            pattern: "x".repeat(MAX_PATTERN + 1),
            ..Default::default()
        };
        assert!(long.validate().unwrap_err().contains("at most"));
        assert!(LogSearch::default().is_everything());
    }

    #[test]
    fn terminal_sizes_are_checked() {
        assert!(validate_term_size(80, 24).is_ok());
        assert!(validate_term_size(0, 24).is_err());
        assert!(validate_term_size(80, 0).is_err());
        assert!(validate_term_size(1001, 24).is_err());
    }

    #[test]
    fn the_feed_is_tagged_json() {
        let json = serde_json::to_string(&LogFeed::Gap {
            container: "abc".into(),
            missed: 3,
        })
        .unwrap();
        assert_eq!(json, r#"{"type":"gap","container":"abc","missed":3}"#);
        let back: TermControl = serde_json::from_str(r#"{"type":"resize","cols":80,"rows":24}"#).unwrap();
        assert_eq!(back, TermControl::Resize { cols: 80, rows: 24 });
    }
}
