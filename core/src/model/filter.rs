//! The event viewer's filter: parsed and checked once, then used by the
//! store's query, the live stream and the exports alike.

use super::{Actor, Event, Outcome, parse_ts};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeFilter {
    Ok,
    Denied,
    Error,
}

impl OutcomeFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeFilter::Ok => "ok",
            OutcomeFilter::Denied => "denied",
            OutcomeFilter::Error => "error",
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum FilterError {
    #[error("kind '{0}' is not valid: use letters, digits, '.', '_' or '-', optionally ending in '*' (e.g. auth.*)")]
    Kind(String),
    #[error("outcome '{0}' is not valid: use ok, denied or error")]
    Outcome(String),
    #[error("{0}")]
    Time(#[from] super::TsParseError),
    #[error("the time range ends before it starts")]
    Range,
    #[error("{0} is too long (at most 200 characters)")]
    TooLong(&'static str),
}

/// Every field narrows the result; `None` means "any".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Exact kind, or a prefix ending in `*` (`auth.*`).
    pub kind: Option<String>,
    pub actor: Option<Actor>,
    pub host: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<OutcomeFilter>,
    /// Inclusive, unix ns.
    pub since_ns: Option<i64>,
    /// Exclusive, unix ns.
    pub until_ns: Option<i64>,
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl EventFilter {
    /// Builds a filter from the text fields of a form or query string.
    /// `get` returns the raw value of a named field.
    pub fn from_fields<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<EventFilter, FilterError> {
        let text = |name: &'static str| -> Result<Option<String>, FilterError> {
            match non_empty(get(name)) {
                Some(v) if v.chars().count() > 200 => Err(FilterError::TooLong(name)),
                v => Ok(v.map(str::to_string)),
            }
        };
        let kind = text("kind")?;
        if let Some(k) = &kind {
            let body = k.strip_suffix('*').unwrap_or(k);
            let valid = body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid || k.is_empty() {
                return Err(FilterError::Kind(k.clone()));
            }
        }
        let outcome = match non_empty(get("outcome")) {
            None => None,
            Some("ok") => Some(OutcomeFilter::Ok),
            Some("denied") => Some(OutcomeFilter::Denied),
            Some("error") => Some(OutcomeFilter::Error),
            Some(other) => return Err(FilterError::Outcome(other.to_string())),
        };
        let since_ns = non_empty(get("since")).map(parse_ts).transpose()?;
        let until_ns = non_empty(get("until")).map(parse_ts).transpose()?;
        if let (Some(s), Some(u)) = (since_ns, until_ns)
            && u <= s
        {
            return Err(FilterError::Range);
        }
        Ok(EventFilter {
            kind,
            actor: text("actor")?.map(|a| Actor::parse(&a)),
            host: text("host")?,
            target: text("target")?,
            outcome,
            since_ns,
            until_ns,
        })
    }

    /// The filter as query-string pairs, the inverse of `from_fields`.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(k) = &self.kind {
            out.push(("kind", k.clone()));
        }
        if let Some(a) = &self.actor {
            out.push(("actor", a.to_string()));
        }
        if let Some(h) = &self.host {
            out.push(("host", h.clone()));
        }
        if let Some(t) = &self.target {
            out.push(("target", t.clone()));
        }
        if let Some(o) = self.outcome {
            out.push(("outcome", o.as_str().to_string()));
        }
        if let Some(s) = self.since_ns {
            out.push(("since", super::format_ts(s).replace(" UTC", "").replace(' ', "T")));
        }
        if let Some(u) = self.until_ns {
            out.push(("until", super::format_ts(u).replace(" UTC", "").replace(' ', "T")));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        *self == EventFilter::default()
    }

    /// The exact kind, or the prefix when the filter ends in `*`.
    pub fn kind_prefix(&self) -> Option<&str> {
        self.kind.as_deref().and_then(|k| k.strip_suffix('*'))
    }

    pub fn matches(&self, e: &Event) -> bool {
        let kind_ok = match (&self.kind, self.kind_prefix()) {
            (None, _) => true,
            (Some(_), Some(prefix)) => e.kind.starts_with(prefix),
            (Some(k), None) => &e.kind == k,
        };
        kind_ok
            && self.actor.as_ref().is_none_or(|a| *a == e.actor)
            && self.host.as_ref().is_none_or(|h| e.host.as_ref() == Some(h))
            && self.target.as_ref().is_none_or(|t| e.target.as_ref() == Some(t))
            && self.outcome.is_none_or(|o| {
                matches!(
                    (o, &e.outcome),
                    (OutcomeFilter::Ok, Outcome::Ok)
                        | (OutcomeFilter::Denied, Outcome::Denied(_))
                        | (OutcomeFilter::Error, Outcome::Error(_))
                )
            })
            && self.since_ns.is_none_or(|s| e.ts_ns >= s)
            && self.until_ns.is_none_or(|u| e.ts_ns < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<EventFilter, FilterError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        EventFilter::from_fields(|k| map.get(k).copied())
    }

    #[test]
    fn parses_fields_and_round_trips() {
        let f = parse(&[
            ("kind", "auth.*"),
            ("actor", "alice"),
            ("outcome", "denied"),
            ("since", "2026-11-01"),
        ])
        .unwrap();
        assert_eq!(f.kind_prefix(), Some("auth."));
        assert_eq!(f.actor, Some(Actor::user("alice")));
        let fields = f.to_fields();
        let again = parse(&fields.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).unwrap();
        assert_eq!(f, again);
        assert!(parse(&[("kind", " "), ("host", "")]).unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_fields_with_a_reason() {
        assert_eq!(
            parse(&[("outcome", "maybe")]),
            Err(FilterError::Outcome("maybe".into()))
        );
        assert!(matches!(parse(&[("kind", "a b")]), Err(FilterError::Kind(_))));
        assert_eq!(
            parse(&[("since", "2026-11-02"), ("until", "2026-11-01")]),
            Err(FilterError::Range)
        );
        assert!(parse(&[("until", "soon")]).unwrap_err().to_string().contains("soon"));
    }
}
