//! What an engine failed at, in the words of the person who asked, and
//! which kind of failure each is for the edges' statuses. Plain data: an
//! agent sends it back as it is.

use crate::model::ErrorKind;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What an engine failed at, in words for the person who asked. It
/// travels as it is (an agent sends it back), so it is plain data.
#[derive(Debug, Error, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum EngineError {
    #[error("the engine on host {host} is unreachable: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("there is no {what} '{id}' on host {host}")]
    NotFound { what: Object, host: String, id: String },
    /// The engine refused because of the state of things (in use,
    /// already started...); its own message.
    #[error("the engine said: {0}")]
    Engine(String),
    /// The engine found the request itself malformed (a bad reference...);
    /// its own message.
    #[error("the engine refused the request: {0}")]
    Rejected(String),
    /// The host refuses this kind of request whoever asks (an agent
    /// started `--read-only` or `--no-exec`); its own words.
    #[error("{0}")]
    Forbidden(String),
}

/// What an engine keeps, for saying which one is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Object {
    Container,
    Image,
    Network,
    Volume,
}

impl std::fmt::Display for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Object::Container => "container",
            Object::Image => "image",
            Object::Network => "network",
            Object::Volume => "volume",
        })
    }
}

impl crate::Failure for EngineError {
    fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Unreachable { .. } => ErrorKind::Unavailable,
            EngineError::NotFound { .. } => ErrorKind::NotFound,
            EngineError::Engine(_) => ErrorKind::Conflict,
            EngineError::Rejected(_) => ErrorKind::Invalid,
            EngineError::Forbidden(_) => ErrorKind::Denied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_error_travels_and_reads_the_same() {
        let e = EngineError::NotFound {
            what: Object::Network,
            host: "web-1".into(),
            id: "front".into(),
        };
        assert_eq!(e.to_string(), "there is no network 'front' on host web-1");
        let wire = serde_json::to_value(&e).unwrap();
        assert_eq!(wire["error"], "not_found");
        assert_eq!(serde_json::from_value::<EngineError>(wire).unwrap(), e);
        let e = EngineError::Engine("conflict".into());
        assert_eq!(
            serde_json::from_value::<EngineError>(serde_json::to_value(&e).unwrap()).unwrap(),
            e
        );
    }
}
