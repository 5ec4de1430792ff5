//! The event log viewer's calls: pages, kinds, the chain's status, the
//! verify button's form, and tickets for the live stream. One event and
//! verifying the chain are generated (`api::ops`: `get_event`,
//! `verify_chain`); the list stays here, its filter typed as free text.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use berth_core::model::EventSeq;
use berth_core::model::{ChainStatus, EventFilter, EventPage};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

/// The viewer's filter as typed: text fields, checked on the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilterForm {
    pub kind: String,
    pub actor: String,
    pub host: String,
    pub target: String,
    pub outcome: String,
    pub since: String,
    pub until: String,
}

impl FilterForm {
    pub const FIELDS: [&'static str; 7] = ["kind", "actor", "host", "target", "outcome", "since", "until"];

    pub fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "kind" => &self.kind,
            "actor" => &self.actor,
            "host" => &self.host,
            "target" => &self.target,
            "outcome" => &self.outcome,
            "since" => &self.since,
            "until" => &self.until,
            _ => return None,
        })
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> FilterForm {
        let field = |n: &str| get(n).unwrap_or_default();
        FilterForm {
            kind: field("kind"),
            actor: field("actor"),
            host: field("host"),
            target: field("target"),
            outcome: field("outcome"),
            since: field("since"),
            until: field("until"),
        }
    }

    pub fn parse(&self) -> Result<EventFilter, AppError> {
        EventFilter::from_fields(|n| self.get(n)).map_err(|e| AppError::invalid(e.to_string()))
    }

    /// `kind=..&actor=..` with only the non-empty fields, URL-encoded.
    pub fn query_string(&self) -> String {
        Self::FIELDS
            .iter()
            .filter_map(|n| {
                self.get(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| format!("{n}={}", encode(v.trim())))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// This filter with one field replaced.
    pub fn with(&self, name: &str, value: &str) -> FilterForm {
        FilterForm::from_lookup(|n| {
            if n == name {
                Some(value.to_string())
            } else {
                self.get(n).map(str::to_string)
            }
        })
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// How many events a page of the viewer shows.
pub const PAGE_SIZE: usize = 50;

#[server(endpoint = "list_events")]
pub async fn list_events(filter: FilterForm, before: Option<u64>) -> Result<EventPage, AppError> {
    let (berth, caller) = caller().await?;
    let filter = filter.parse().map_err(fail)?;
    berth
        .events_page(&caller, filter, before.map(EventSeq), PAGE_SIZE)
        .await
        .map_err(failure)
}

#[server(endpoint = "event_kinds")]
pub async fn event_kinds() -> Result<Vec<String>, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .check(&caller, berth_core::model::Operation::ReadEvents)
        .await
        .map_err(failure)?;
    berth.events.kinds().await.map_err(failure)
}

#[server(endpoint = "chain")]
pub async fn chain() -> Result<ChainStatus, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .check(&caller, berth_core::model::Operation::ReadEvents)
        .await
        .map_err(failure)?;
    Ok(berth.events.chain_status())
}

/// The verify button's form: walks the whole chain now; recorded as
/// `events.verify`.
#[server(endpoint = "verify_chain_form")]
pub async fn verify_chain_form() -> Result<ChainStatus, AppError> {
    super::ssr::resolve(berth_core::model::ops::VerifyChain {}).await
}

/// A one-time ticket to open the live event stream (`/ws/events`).
#[server(endpoint = "live_ticket")]
pub async fn live_ticket() -> Result<String, AppError> {
    use berth_core::auth::Purpose;
    let (berth, caller) = caller().await?;
    berth
        .auth
        .issue_ticket(&caller, Purpose::Events, None)
        .await
        .map_err(failure)
}
