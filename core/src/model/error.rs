//! The kind of every failure, whatever the area: each edge (REST, server
//! functions, websockets) answers with the status of its kind, in one
//! place (`ErrorKind::status`).

use serde::{Deserialize, Serialize};

/// The kind of every failure, whatever the area: each edge (REST, server
/// functions, websockets) turns it into an HTTP status with `status()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not signed in, or the credentials are wrong.
    Unauthenticated,
    /// Signed in, but not allowed.
    Denied,
    NotFound,
    /// The request is malformed or its values are out of range.
    Invalid,
    /// It clashes with the current state (a name taken, a container in use).
    Conflict,
    /// Too many attempts; try again later.
    Throttled,
    /// A host or engine does not answer.
    Unavailable,
    /// berth itself failed.
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Denied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Invalid => 400,
            ErrorKind::Conflict => 409,
            ErrorKind::Throttled => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}
