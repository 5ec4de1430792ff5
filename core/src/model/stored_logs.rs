//! Stored container logs as the browser and the REST API see them: which
//! container keys are collected (and under what budget, how far back each
//! reaches), a switch to collect one, a search and its page of matches.
//! Checks that need no compiled pattern live here, so a page can say what
//! is wrong before asking; core compiles the pattern.

use super::{HostId, LogSearch, LogStream, parse_log_time, parse_ts, validate_expectation_key, validate_host_name};
use serde::{Deserialize, Serialize};

/// Matches a search returns unless asked for another number.
pub const DEFAULT_MATCHES: u32 = 100;
/// The most matches one search returns.
pub const MAX_MATCHES: u32 = 5_000;
/// The smallest budget a key may be given, in bytes.
pub const MIN_KEY_BUDGET: u64 = 64 << 10;

/// One container key on one host: whether its logs are collected, under
/// which budget, and what is stored of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredKey {
    pub host: HostId,
    /// `compose:PROJECT/SERVICE` or `name:CONTAINER`, as expected states are keyed.
    pub key: String,
    /// Whether new lines are being collected.
    pub collect: bool,
    /// The most bytes kept of this key (its own budget, or the default).
    pub budget_bytes: u64,
    /// The budget was set for this key (not the default).
    #[serde(default)]
    pub own_budget: bool,
    /// Since when lines are collected (the last time collection was switched on), Unix ns.
    #[serde(default)]
    pub since_ns: Option<i64>,
    /// The oldest and newest stored line, Unix ns; none when nothing is stored.
    #[serde(default)]
    pub oldest_ns: Option<i64>,
    #[serde(default)]
    pub newest_ns: Option<i64>,
    #[serde(default)]
    pub lines: u64,
    /// What the stored lines count against the budgets.
    #[serde(default)]
    pub bytes: u64,
    /// The name of a container on the host under this key right now, if any.
    #[serde(default)]
    pub container: Option<String>,
}

impl StoredKey {
    /// A key with nothing stored and collection off, under `budget_bytes`.
    pub fn new(host: &str, key: &str, budget_bytes: u64) -> StoredKey {
        StoredKey {
            host: HostId(host.to_string()),
            key: key.to_string(),
            collect: false,
            budget_bytes,
            own_budget: false,
            since_ns: None,
            oldest_ns: None,
            newest_ns: None,
            lines: 0,
            bytes: 0,
            container: None,
        }
    }
}

/// A host whose stored logs the caller may read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredHost {
    pub host: HostId,
    /// Whether the caller may switch collection on this host.
    pub may_collect: bool,
    /// Whether berth manages the host now (a removed host's logs stay searchable).
    pub present: bool,
}

/// Every key the caller may read stored logs of, with the budgets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredKeys {
    pub hosts: Vec<StoredHost>,
    /// Collected (or once collected) keys, and those of the hosts' current
    /// containers that are not, by host and key.
    pub keys: Vec<StoredKey>,
    /// What all stored logs count, whoever may read them.
    pub total_bytes: u64,
    /// The most bytes kept of all keys together; the oldest lines of all go first.
    pub budget_bytes: u64,
    /// The budget of a key without its own.
    pub key_budget_bytes: u64,
}

/// Switches collection of one key on a host on or off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectRequest {
    /// `compose:PROJECT/SERVICE` or `name:CONTAINER`.
    pub key: String,
    pub collect: bool,
    /// The key's own budget in bytes (at least 64 KiB, at most the total
    /// budget); none: the default per-key budget.
    #[serde(default)]
    pub budget_bytes: Option<u64>,
}

impl CollectRequest {
    /// Checks the key and the budget against the total budget.
    pub fn validate(&self, total_budget: u64) -> Result<(), String> {
        validate_expectation_key(&self.key)?;
        if let Some(b) = self.budget_bytes
            && !(MIN_KEY_BUDGET..=total_budget).contains(&b)
        {
            return Err(format!(
                "a key's budget must be at least {} and at most the total budget ({}), not {}",
                super::human_size(MIN_KEY_BUDGET as f64),
                super::human_size(total_budget as f64),
                super::human_size(b as f64)
            ));
        }
        Ok(())
    }
}

/// A search through stored logs: one key, every key of one host, or every
/// key of every host the caller may read logs on; newest matches first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredQuery {
    #[serde(default)]
    pub host: Option<String>,
    /// Needs `host`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub search: LogSearch,
    /// Unix ns, inclusive.
    #[serde(default)]
    pub since_ns: Option<i64>,
    #[serde(default)]
    pub until_ns: Option<i64>,
    /// 1 to `MAX_MATCHES` (`DEFAULT_MATCHES` when absent).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_before` of the page before: go on further back.
    #[serde(default)]
    pub before: Option<String>,
}

/// The text fields of a search, as a page or a script sends them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredQueryFields {
    pub host: Option<String>,
    pub key: Option<String>,
    pub search: Option<String>,
    pub regex: Option<String>,
    pub case: Option<String>,
    pub invert: Option<String>,
    pub stream: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<String>,
    pub before: Option<String>,
}

fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A time as `parse_log_time` reads it, or as a date-time field sends it
/// (`2026-11-22T09:05`, UTC).
fn parse_time(name: &str, text: &str) -> Result<i64, String> {
    // Unix seconds past what nanoseconds in an i64 hold (the year 2262).
    let whole = text.split('.').next().unwrap_or_default();
    if whole.len() > 10
        && whole.bytes().all(|b| b.is_ascii_digit())
        && whole.parse::<i64>().is_ok_and(|s| s > 9_223_372_035)
    {
        return Err(format!(
            "{name} is too far in the future: at most 9223372035 (Unix seconds)"
        ));
    }
    // Dates past that year, likewise.
    if let Some(year) = text.get(..4).and_then(|y| y.parse::<u32>().ok())
        && text.as_bytes().get(4) == Some(&b'-')
        && year >= 2262
    {
        return Err(format!("{name} is too far in the future: before the year 2262, please"));
    }
    parse_log_time(name, text).or_else(|e| parse_ts(text).map_err(|_| e))
}

/// `true`/`1`/`on` or `false`/`0`/absent, else an error naming `name`.
fn flag(name: &str, value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        None | Some("" | "false" | "0" | "off") => Ok(false),
        Some("true" | "1" | "on") => Ok(true),
        Some(other) => Err(format!("{name} must be true or false, not '{}'", shown(other))),
    }
}

impl StoredQueryFields {
    /// The query these fields say, checked (`StoredQuery::validate`); the
    /// error names the field and what it takes.
    pub fn parse(&self) -> Result<StoredQuery, String> {
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let limit = match present(&self.limit) {
            None => None,
            Some(l) => Some(
                l.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_MATCHES).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "limit must be a whole number from 1 to {MAX_MATCHES}, not '{}'",
                            shown(&l)
                        )
                    })?,
            ),
        };
        let query = StoredQuery {
            host: present(&self.host),
            key: present(&self.key),
            search: LogSearch {
                pattern: self.search.clone().unwrap_or_default(),
                regex: flag("regex", self.regex.as_deref())?,
                case_sensitive: flag("case", self.case.as_deref())?,
                invert: flag("invert", self.invert.as_deref())?,
                stream: present(&self.stream).map(|s| LogStream::parse(&s)).transpose()?,
            },
            since_ns: present(&self.since).map(|t| parse_time("since", &t)).transpose()?,
            until_ns: present(&self.until).map(|t| parse_time("until", &t)).transpose()?,
            limit,
            before: present(&self.before),
        };
        query.validate()?;
        Ok(query)
    }
}

impl StoredQuery {
    /// Checks all but the pattern's syntax (core compiles it).
    pub fn validate(&self) -> Result<(), String> {
        self.search.validate()?;
        if let Some(h) = &self.host {
            validate_host_name(h)?;
        }
        if let Some(k) = &self.key {
            if self.host.is_none() {
                return Err("a key belongs to a host: give the host too".into());
            }
            validate_expectation_key(k)?;
        }
        if let (Some(s), Some(u)) = (self.since_ns, self.until_ns)
            && s > u
        {
            return Err("the range starts after it ends: 'since' must be before 'until'".into());
        }
        if self.since_ns.is_some_and(|s| s < 0) || self.until_ns.is_some_and(|u| u < 0) {
            return Err("times are Unix nanoseconds and may not be negative".into());
        }
        if let Some(l) = self.limit
            && !(1..=MAX_MATCHES).contains(&l)
        {
            return Err(format!("limit must be from 1 to {MAX_MATCHES}, not {l}"));
        }
        if let Some(b) = &self.before
            && SearchCursor::parse(b).is_none()
        {
            return Err(format!(
                "before must be the next_before of an earlier page, not '{}'",
                shown(b)
            ));
        }
        Ok(())
    }

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_MATCHES)
    }
}

/// Where a page of matches stopped, as `next_before` carries it: the
/// line's time, the stored key's number and the line's number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SearchCursor {
    pub ts_ns: i64,
    pub key_id: u32,
    pub seq: u32,
}

impl SearchCursor {
    pub fn parse(text: &str) -> Option<SearchCursor> {
        let mut parts = text.split('.');
        let cursor = SearchCursor {
            ts_ns: parts.next()?.parse().ok()?,
            key_id: parts.next()?.parse().ok()?,
            seq: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(cursor)
    }
}

impl std::fmt::Display for SearchCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.ts_ns, self.key_id, self.seq)
    }
}

/// One stored line that matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredMatch {
    pub host: HostId,
    pub key: String,
    /// The full id of the container that wrote it (one life of the key).
    pub container: String,
    /// That container's name then.
    pub name: String,
    pub stream: LogStream,
    /// When the engine received it, Unix ns.
    pub ts_ns: i64,
    /// Data: render SGR colours at most, everything else inert.
    pub text: String,
}

/// A page of matches, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredPage {
    pub matches: Vec<StoredMatch>,
    /// Pass as `before` to go on further back; none when the search reached
    /// the oldest stored line.
    pub next_before: Option<String>,
    /// Lines looked at for this page.
    pub scanned: u64,
    /// The search stopped at its time limit before filling the page: more
    /// may match further back (`next_before` goes on from there).
    #[serde(default)]
    pub cut_short: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> StoredQueryFields {
        let get = |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string());
        StoredQueryFields {
            host: get("host"),
            key: get("key"),
            search: get("search"),
            regex: get("regex"),
            case: get("case"),
            invert: get("invert"),
            stream: get("stream"),
            since: get("since"),
            until: get("until"),
            limit: get("limit"),
            before: get("before"),
        }
    }

    #[test]
    fn a_search_reads_as_people_write_it() {
        let q = fields(&[
            ("host", "local"),
            ("key", "compose:shop/web"),
            ("search", "err(or)?"),
            ("regex", "true"),
            ("invert", "1"),
            ("since", "1700000000"),
            ("until", "2023-11-14T22:14"),
            ("limit", "20"),
        ])
        .parse()
        .unwrap();
        assert_eq!(q.key.as_deref(), Some("compose:shop/web"));
        assert!(q.search.regex && q.search.invert && !q.search.case_sensitive);
        assert_eq!(q.since_ns, Some(1_700_000_000_000_000_000));
        assert_eq!(
            q.until_ns,
            Some(1_700_000_040_000_000_000),
            "a date-time field's value, in UTC"
        );
        assert_eq!(q.limit(), 20);
        assert_eq!(fields(&[]).parse().unwrap().limit(), DEFAULT_MATCHES);
    }

    #[test]
    fn a_bad_search_says_what_is_wrong() {
        let err = |pairs: &[(&str, &str)]| fields(pairs).parse().unwrap_err();
        assert!(err(&[("since", "20"), ("until", "10")]).contains("before"));
        assert!(err(&[("limit", "5001")]).starts_with("limit must be"));
        assert!(err(&[("limit", "0")]).starts_with("limit must be"));
        assert!(err(&[("key", "name:db")]).contains("give the host"));
        assert!(err(&[("host", "local"), ("key", "db")]).contains("not an expectation key"));
        assert!(err(&[("regex", "maybe")]).starts_with("regex must be"));
        assert!(err(&[("until", "99999999999")]).contains("too far in the future"));
        assert!(err(&[("until", "9999-01-01T00:00:00Z")]).contains("too far in the future"));
        assert!(err(&[("before", "yesterday")]).starts_with("before must be"));
        assert!(err(&[("search", &"x".repeat(600))]).contains("at most"));
        assert!(err(&[("host", "Not A Host")]).contains("not a host name"));
    }

    #[test]
    fn cursors_read_back() {
        let c = SearchCursor {
            ts_ns: 1_700_000_000_123,
            key_id: 7,
            seq: 42,
        };
        assert_eq!(SearchCursor::parse(&c.to_string()), Some(c));
        assert_eq!(SearchCursor::parse("1.2"), None);
        assert_eq!(SearchCursor::parse("1.2.3.4"), None);
    }

    #[test]
    fn budgets_are_checked() {
        let r = |b| CollectRequest {
            key: "name:db".into(),
            collect: true,
            budget_bytes: b,
        };
        assert!(r(None).validate(1 << 30).is_ok());
        assert!(r(Some(MIN_KEY_BUDGET)).validate(1 << 30).is_ok());
        assert!(
            r(Some(1024))
                .validate(1 << 30)
                .unwrap_err()
                .contains("at least 64.0 KiB")
        );
        assert!(r(Some(2 << 30)).validate(1 << 30).is_err());
    }
}
