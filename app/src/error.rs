//! The one error type of every server function: what happened in words a
//! person can act on, and its kind, which maps to the HTTP status in one
//! place (`ErrorKind::status`), the same as REST and websockets use.

use berth_core::model::ErrorKind;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Serialize, Deserialize)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AppError {
        AppError {
            kind,
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> AppError {
        AppError::new(ErrorKind::Unauthenticated, "you are signed out; sign in again")
    }

    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Invalid, message)
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::new(ErrorKind::Unavailable, format!("the request failed: {value}"))
    }
}
