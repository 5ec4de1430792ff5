//! The event log's proofs: an inclusion proof of one event. Not here, as
//! `server::http::rest::log` writes them: what answers as plain text (the
//! verifier key, the signed checkpoint, signing one now, an event's proof
//! file) and what needs no account (the log's status and consistency
//! proofs, which a monitor on another machine reads).

use super::{Method, Request, Route};
use crate::model::{EventSeq, Operation};
use serde::{Deserialize, Serialize};

/// An RFC 6962 inclusion proof of event `seq` in the tree of `size`
/// events, for a caller who may see the event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProveInclusion {
    /// The event's number.
    pub seq: EventSeq,
    /// The tree size to prove it in (at most the latest checkpoint's).
    pub size: u64,
}

/// An event's inclusion proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    pub seq: u64,
    /// The leaf index: seq - 1.
    pub index: u64,
    pub size: u64,
    /// The event's canonical bytes (the leaf's data), base64.
    pub leaf: String,
    /// RFC 6962 audit path, base64 hashes, from the leaf's sibling up.
    pub proof: Vec<String>,
}

impl Request for ProveInclusion {
    type Response = InclusionProof;
    const ROUTE: Route = Route::new(
        "prove_inclusion",
        Method::Get,
        "/log/proof/inclusion",
        "log",
        "An RFC 6962 inclusion proof of one event in the tree of a size",
    );
    fn operation(&self) -> Operation {
        Operation::ProveEvent
    }
}
