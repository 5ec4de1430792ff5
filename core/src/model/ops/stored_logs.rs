//! Stored container logs: the keys with how far back each reaches, and
//! switching a key's collection. Not here: the search, whose filter is the
//! free text of `StoredQueryFields` (flags, times and limits as typed,
//! parsed by `StoredQueryFields::parse`) paged by its own `before`
//! (`server::http::rest::stored_logs`).

use super::{Body, Method, Request, Route};
use crate::model::{CollectRequest, HostId, Operation, StoredKey, StoredKeys};
use serde::{Deserialize, Serialize};

/// The keys of the hosts the caller may read logs on: collected or not,
/// each key's budget and what is stored of it (oldest and newest line,
/// lines, bytes), and the total budget.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredLogKeys {
    /// One host (absent or empty: every host you may read logs on).
    #[serde(default)]
    pub host: Option<String>,
}

impl Request for StoredLogKeys {
    type Response = StoredKeys;
    const ROUTE: Route = Route::new(
        "stored_log_keys",
        Method::Get,
        "/logs/stored/keys",
        "logs",
        "Which container keys are collected, and how far back each reaches",
    );
    fn operation(&self) -> Operation {
        Operation::ReadLogs
    }
}

/// Switches a key's collection on or off, with a budget of its own or the
/// default; recorded as `logs.collect`. Switched off, what is stored stays
/// searchable until the budgets drop it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectLogs {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The whole body.
    pub change: CollectRequest,
}

impl Request for CollectLogs {
    type Response = StoredKey;
    const ROUTE: Route = Route::new(
        "collect_logs",
        Method::Put,
        "/hosts/{host}/logs/collect",
        "logs",
        "Switch the collection of a container key's logs (recorded)",
    )
    .body(Body::Whole("change"));
    fn operation(&self) -> Operation {
        Operation::CollectLogs
    }
}
