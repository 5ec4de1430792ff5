//! One entry of the event log, and what a caller hands in to create one.

use super::EventSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Who caused an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    ApiKey,
    Webhook,
    System,
    Agent,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "apikey",
            ActorKind::Webhook => "webhook",
            ActorKind::System => "system",
            ActorKind::Agent => "agent",
        }
    }

    #[cfg_attr(not(feature = "engine"), allow(dead_code))]
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<ActorKind> {
        [
            ActorKind::User,
            ActorKind::ApiKey,
            ActorKind::Webhook,
            ActorKind::System,
            ActorKind::Agent,
        ]
        .get(code as usize)
        .copied()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub kind: ActorKind,
    /// User name, key name, webhook's stack...; empty for the system.
    pub name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            name: String::new(),
        }
    }

    pub fn user(name: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::User,
            name: name.into(),
        }
    }

    /// Parses what `Display` prints (`user:alice`, `system`). A bare name
    /// means a user, the common case when a person types a filter.
    pub fn parse(text: &str) -> Actor {
        let text = text.trim();
        if text == "system" {
            return Actor::system();
        }
        for kind in [
            ActorKind::User,
            ActorKind::ApiKey,
            ActorKind::Webhook,
            ActorKind::Agent,
            ActorKind::System,
        ] {
            if let Some(name) = text.strip_prefix(kind.as_str()).and_then(|r| r.strip_prefix(':')) {
                return Actor {
                    kind,
                    name: name.to_string(),
                };
            }
        }
        Actor::user(text)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(self.kind.as_str())
        } else {
            write!(f, "{}:{}", self.kind.as_str(), self.name)
        }
    }
}

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// Refused by access control or throttling; the message says why.
    Denied(String),
    /// Attempted and failed; the message is the failure.
    Error(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied(_) => "denied",
            Outcome::Error(_) => "error",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Outcome::Ok => "",
            Outcome::Denied(m) | Outcome::Error(m) => m,
        }
    }
}

/// A SHA-256 digest; JSON carries it as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
            s.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
        }
        s
    }

    pub fn from_hex(text: &str) -> Option<Hash32> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Hash32(out))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Hash32::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// A committed event, as stored and shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub seq: EventSeq,
    /// Unix time in nanoseconds; never decreases along the log.
    pub ts_ns: i64,
    /// Dotted, most general first: `auth.login.failed`, `container.stop`.
    pub kind: String,
    pub actor: Actor,
    /// Address the request came from, when there was one.
    pub source: Option<String>,
    pub host: Option<String>,
    /// What was acted on: `user:alice`, `container:web-1`...
    pub target: Option<String>,
    pub outcome: Outcome,
    pub duration_us: Option<u64>,
    /// Small JSON object with kind-specific facts; `null` when there are none.
    pub details: serde_json::Value,
    /// Hex SHA-256 of the event before (zeros for the first).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prev_hash: Hash32,
    /// Hex SHA-256 over `prev_hash` and this event's canonical bytes.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash32,
}

/// What a caller records; the log adds seq, time and the hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: String,
    pub actor: Actor,
    pub source: Option<String>,
    pub host: Option<String>,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub duration_us: Option<u64>,
    pub details: serde_json::Value,
}

impl NewEvent {
    pub fn new(kind: impl Into<String>, actor: Actor) -> NewEvent {
        NewEvent {
            kind: kind.into(),
            actor,
            source: None,
            host: None,
            target: None,
            outcome: Outcome::Ok,
            duration_us: None,
            details: serde_json::Value::Null,
        }
    }

    pub fn source(mut self, source: Option<String>) -> Self {
        self.source = source;
        self
    }

    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn duration_us(mut self, micros: u64) -> Self {
        self.duration_us = Some(micros);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// One page of the viewer, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `before` to get the next (older) page; `None` at the start of the log.
    pub next_before: Option<EventSeq>,
    /// The newest seq in the whole log when the page was read.
    pub head: u64,
}

/// The log's signed checkpoints, as the event log page shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogStatus {
    /// The public key that checks berth's checkpoints, in the C2SP note
    /// verifier-key form `<origin>+<key id>+<base64 key>`.
    pub key: String,
    /// The log's origin, the first line of each checkpoint.
    pub origin: String,
    /// The latest signed checkpoint, if one was signed yet.
    pub checkpoint: Option<CheckpointInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointInfo {
    /// How many events the signed tree holds.
    pub size: u64,
    /// The tree's root hash, base64 (as in the checkpoint).
    pub root: String,
    /// When berth signed it (unix ns).
    pub signed_at_ns: i64,
    /// The signed note, verbatim.
    pub note: String,
    /// The witnesses that cosigned it, and when (unix seconds).
    pub cosigned: Vec<Cosigned>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cosigned {
    pub witness: String,
    pub at_s: u64,
}

/// What the last walk of the hash chain found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainStatus {
    /// How many events were checked.
    pub checked: u64,
    /// The first event whose link does not hold, and why.
    pub broken_at: Option<EventSeq>,
    pub problem: Option<String>,
    /// When the walk finished (unix ns); `None` while none has run yet.
    pub verified_at_ns: Option<i64>,
}

impl ChainStatus {
    pub fn is_ok(&self) -> bool {
        self.broken_at.is_none() && self.problem.is_none()
    }
}
