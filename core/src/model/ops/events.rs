//! The event log: one event, and walking the whole hash chain now. Not
//! here: the filtered list and the export, whose filter is free text parsed
//! by `EventFilter` and whose export is a stream (`server::http::rest`).

use super::{Method, Request, Route};
use crate::model::{ChainStatus, Event, EventSeq, Operation};
use serde::{Deserialize, Serialize};

/// One event, if the caller may see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetEvent {
    /// The event's number.
    pub seq: EventSeq,
}

impl Request for GetEvent {
    type Response = Event;
    const ROUTE: Route = Route::new("get_event", Method::Get, "/events/{seq}", "events", "One event");
    fn operation(&self) -> Operation {
        Operation::ReadEvents
    }
}

/// Walks the whole hash chain now; recorded as `events.verify`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyChain {}

impl Request for VerifyChain {
    type Response = ChainStatus;
    const ROUTE: Route = Route::new(
        "verify_chain",
        Method::Post,
        "/events/verify",
        "events",
        "Walk the whole hash chain now (recorded)",
    );
    fn operation(&self) -> Operation {
        Operation::VerifyEvents
    }
}
