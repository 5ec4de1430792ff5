//! The agent's wire protocol: what the core and `berth agent` say to each
//! other over one TLS connection, as JSON frames (`wire`).
//!
//! The core opens with `Hello` (its protocol version, the token and how
//! often it pings); the agent answers `Welcome` (its version and limits) or
//! `Refused` (why), and closes after a refusal. Then the core sends `Call`s, each with its own
//! id, and the agent answers each with one `Reply`, or, for a stream
//! (engine events, a container's stats or logs), with `Item`s and one `End`; the
//! core may `Cancel` a stream. `Ping` and `Pong` measure the round trip and
//! tell a silent peer from a quiet one. Many calls and streams share the
//! connection at once.
//!
//! Every operation is a struct of its own with the type of its reply
//! (`Operation`) or of its stream's items (`Subscription`); `Request` is
//! the tagged enum that carries them. A reply field added later must be
//! `#[serde(default)]`, so that an older agent still talks to a newer core.
//! A request an agent does not know is answered with an error, not a
//! closed connection.

use crate::engine::{ComposeItem, ComposeJob, EngineError};
use crate::model::{
    Container, ContainerAction, ContainerDetail, EngineEvent, EngineStats, EngineVersion, ExecExit, ExecSpec,
    HostLimits, HostSample, Image, ImageDetail, ImageRemoval, Network, NetworkDetail, NewContainer, PruneReport,
    Volume, VolumeDetail,
};
use crate::model::{LogLine, LogQuery};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol this berth speaks. An agent answers a core that speaks
/// this or newer; the core talks to agents from `OLDEST_AGENT` on.
pub const PROTOCOL: u32 = 1;
/// The oldest agent protocol this core still talks to.
pub const OLDEST_AGENT: u32 = 1;

/// What the core sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToAgent {
    Hello(Hello),
    /// `request` is a `Request`; the agent checks it on its own, so that a
    /// request it does not know fails alone.
    Call {
        id: u64,
        request: Value,
    },
    Cancel {
        id: u64,
    },
    Ping {
        id: u64,
    },
    /// Keystrokes for the terminal (`Exec`) under way as `id`, base64.
    /// Sent only once the agent has answered the `Exec` with `Started`, so
    /// an agent that does not know terminals never sees one.
    Input {
        id: u64,
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    /// The terminal `id`'s new size.
    Resize {
        id: u64,
        cols: u16,
        rows: u16,
    },
}

/// What the agent sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromAgent {
    Welcome(Welcome),
    Refused(Refused),
    Reply {
        id: u64,
        result: Answer,
    },
    Item {
        id: u64,
        value: Value,
    },
    /// The stream `id` is over: the engine ended it (`error` None) or failed.
    End {
        id: u64,
        error: Option<EngineError>,
    },
    Pong {
        id: u64,
    },
}

/// A call's outcome: the operation's reply, or the engine's (or the
/// agent's) refusal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Ok(Value),
    Err(EngineError),
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// berth's version.
    pub core: String,
    pub token: String,
    /// How often the core pings, in milliseconds; the agent drops a
    /// connection that stays silent much longer (a core gone without a
    /// word). 0: the core does not say (an older one), and is never dropped.
    #[serde(default)]
    pub heartbeat_ms: u64,
}

impl std::fmt::Debug for Hello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hello")
            .field("protocol", &self.protocol)
            .field("core", &self.core)
            .field("token", &"<redacted>")
            .field("heartbeat_ms", &self.heartbeat_ms)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol both speak from now on.
    pub protocol: u32,
    /// berth's version on the agent's machine.
    pub agent: String,
    #[serde(default)]
    pub limits: HostLimits,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    pub reason: Refusal,
    /// In words, for the person setting the host up.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The token is not the agent's.
    Token,
    /// The core's address is not in the agent's allowlist.
    Address,
    /// The two speak no common protocol version.
    Protocol,
    /// The agent serves as many connections as it will.
    Busy,
    /// The first frame was not a `Hello`.
    Handshake,
    /// Any other refusal, from a newer agent.
    #[serde(other)]
    Other,
}

/// An operation with one reply.
pub trait Operation: Serialize + DeserializeOwned + Into<Request> {
    type Reply: Serialize + DeserializeOwned;
}

/// An operation answered with a stream of items and an end.
pub trait Subscription: Serialize + DeserializeOwned + Into<Request> {
    type Item: Serialize + DeserializeOwned;
}

macro_rules! request {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl From<$name> for Request {
            fn from(r: $name) -> Request {
                Request::$name(r)
            }
        }
    };
}

macro_rules! operation {
    ($(#[$doc:meta])* $name:ident { $($body:tt)* } -> $reply:ty) => {
        request!($(#[$doc])* $name { $($body)* });
        impl Operation for $name {
            type Reply = $reply;
        }
    };
}

macro_rules! subscription {
    ($(#[$doc:meta])* $name:ident { $($body:tt)* } => $item:ty) => {
        request!($(#[$doc])* $name { $($body)* });
        impl Subscription for $name {
            type Item = $item;
        }
    };
}

/// Every request, tagged by its operation's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "args")]
pub enum Request {
    Version(Version),
    Machine(Machine),
    Containers(Containers),
    RestartCount(RestartCount),
    Inspect(Inspect),
    EnvValue(EnvValue),
    Act(Act),
    Create(Create),
    Images(Images),
    ImageInfo(ImageInfo),
    RemoveImage(RemoveImage),
    PruneImages(PruneImages),
    Networks(Networks),
    NetworkInfo(NetworkInfo),
    RemoveNetwork(RemoveNetwork),
    PruneNetworks(PruneNetworks),
    Volumes(Volumes),
    VolumeInfo(VolumeInfo),
    RemoveVolume(RemoveVolume),
    PruneVolumes(PruneVolumes),
    /// Added after the first release: an older agent answers that it does
    /// not know the operation.
    TagImage(TagImage),
    /// Added with stacks: compose on the agent's machine.
    Compose(Compose),
    Events(Events),
    Stats(Stats),
    Logs(Logs),
    Exec(Exec),
}

impl Request {
    /// Whether it runs a process in a container (refused by an agent
    /// started `--no-exec` or `--read-only`).
    pub fn executes(&self) -> bool {
        matches!(self, Request::Exec(_) | Request::Compose(_))
    }

    /// Whether it changes something on the host (refused by a read-only agent).
    pub fn changes(&self) -> bool {
        matches!(
            self,
            Request::Act(_)
                | Request::Create(_)
                | Request::RemoveImage(_)
                | Request::PruneImages(_)
                | Request::RemoveNetwork(_)
                | Request::PruneNetworks(_)
                | Request::RemoveVolume(_)
                | Request::PruneVolumes(_)
                | Request::TagImage(_)
                | Request::Compose(_)
        )
    }

    /// Its name on the wire, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Version(_) => "Version",
            Request::Machine(_) => "Machine",
            Request::Containers(_) => "Containers",
            Request::RestartCount(_) => "RestartCount",
            Request::Inspect(_) => "Inspect",
            Request::EnvValue(_) => "EnvValue",
            Request::Act(_) => "Act",
            Request::Create(_) => "Create",
            Request::Images(_) => "Images",
            Request::ImageInfo(_) => "ImageInfo",
            Request::RemoveImage(_) => "RemoveImage",
            Request::PruneImages(_) => "PruneImages",
            Request::Networks(_) => "Networks",
            Request::NetworkInfo(_) => "NetworkInfo",
            Request::RemoveNetwork(_) => "RemoveNetwork",
            Request::PruneNetworks(_) => "PruneNetworks",
            Request::Volumes(_) => "Volumes",
            Request::VolumeInfo(_) => "VolumeInfo",
            Request::RemoveVolume(_) => "RemoveVolume",
            Request::PruneVolumes(_) => "PruneVolumes",
            Request::TagImage(_) => "TagImage",
            Request::Compose(_) => "Compose",
            Request::Events(_) => "Events",
            Request::Stats(_) => "Stats",
            Request::Logs(_) => "Logs",
            Request::Exec(_) => "Exec",
        }
    }
}

operation!(
    /// The engine's version (the agent settles the API version with it).
    Version {} -> EngineVersion
);
operation!(
    /// A reading of the agent's machine.
    Machine {} -> HostSample
);
operation!(Containers {} -> Vec<Container>);
operation!(RestartCount { id: String } -> u32);
operation!(Inspect { id: String } -> ContainerDetail);
operation!(EnvValue { id: String, name: String } -> Option<String>);
operation!(Act { id: String, action: ContainerAction } -> ());
operation!(Create { container: NewContainer } -> String);
operation!(Images {} -> Vec<Image>);
operation!(ImageInfo { reference: String } -> ImageDetail);
operation!(RemoveImage { reference: String, force: bool } -> ImageRemoval);
operation!(PruneImages { label: Option<String> } -> PruneReport);
operation!(Networks {} -> Vec<Network>);
operation!(NetworkInfo { id: String } -> NetworkDetail);
operation!(RemoveNetwork { id: String } -> ());
operation!(PruneNetworks { label: Option<String> } -> PruneReport);
operation!(Volumes {} -> Vec<Volume>);
operation!(VolumeInfo { name: String } -> VolumeDetail);
operation!(RemoveVolume { name: String, force: bool } -> ());
operation!(PruneVolumes { label: Option<String> } -> PruneReport);
operation!(TagImage { image: String, repo: String, tag: String } -> ());
subscription!(
    /// The engine's events from `since_ns` on, as `Engine::events`.
    Events { since_ns: i64, until_ns: Option<i64> } => EngineEvent
);
subscription!(
    /// A container's counters, as `Engine::stats`.
    Stats {
        id: String,
        /// A reading each this many milliseconds (0: the engine's own pace,
        /// about one a second; what a core from before this field asks).
        #[serde(default)]
        every_ms: u64,
    } => EngineStats
);
subscription!(
    /// Compose run on the agent's machine against its engine, as
    /// `Engine::compose`: `Started`, the output's lines, then `Exit`.
    Compose { job: ComposeJob } => ComposeItem
);
subscription!(
    /// A container's log lines, as `Engine::logs`, in batches of the lines
    /// ready together (each batch well under a frame's limit).
    Logs { id: String, query: LogQuery } => Vec<LogLine>
);

subscription!(
    /// A terminal: `spec` run in container `id` with a TTY, as
    /// `Engine::exec`. The first item is `Started` (or the stream ends with
    /// the refusal); then `Output` as it comes, and `Exited` once the core
    /// `Cancel`s it (the agent then hangs the process up, kills it if it
    /// stays, and says how it ended) or it ends by itself. `Input` and
    /// `Resize` frames carry the keystrokes and sizes.
    Exec { id: String, spec: ExecSpec } => ExecItem
);

/// What a terminal's stream carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecItem {
    /// The process runs: what it is (the shell found, or the command).
    Started { command: Vec<String> },
    /// What it wrote, base64.
    Output {
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    /// How it ended; the last item.
    Exited(ExecExit),
}

/// Bytes as base64 text in JSON frames.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        // Owned: frames are read into `Value`s first, which lend no `&str`.
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_as_documented() {
        let call = ToAgent::Call {
            id: 7,
            request: serde_json::to_value(Request::from(Act {
                id: "web".into(),
                action: ContainerAction::Kill,
            }))
            .unwrap(),
        };
        let wire = serde_json::to_value(&call).unwrap();
        assert_eq!(wire["call"]["id"], 7);
        assert_eq!(wire["call"]["request"]["op"], "Act");
        assert_eq!(wire["call"]["request"]["args"]["id"], "web");
        assert_eq!(serde_json::from_value::<ToAgent>(wire).unwrap(), call);

        let request: Request = serde_json::from_value(serde_json::json!({"op": "Containers", "args": {}})).unwrap();
        assert_eq!(request, Request::Containers(Containers {}));
        assert!(!request.changes());
        assert!(Request::from(PruneVolumes { label: None }).changes());
        assert!(serde_json::from_value::<Request>(serde_json::json!({"op": "Format", "args": {}})).is_err());
    }

    #[test]
    fn terminal_bytes_travel_as_base64_through_values() {
        let output = ExecItem::Output {
            data: vec![0, 27, b'[', 0xff],
        };
        let value = serde_json::to_value(&output).unwrap();
        assert_eq!(value, serde_json::json!({"output": {"data": "ABtb/w=="}}));
        assert_eq!(serde_json::from_value::<ExecItem>(value).unwrap(), output);
        let input = ToAgent::Input {
            id: 3,
            data: b"ls\r".to_vec(),
        };
        let wire = serde_json::to_value(&input).unwrap();
        assert_eq!(wire["input"]["data"], "bHMN");
        assert_eq!(serde_json::from_value::<ToAgent>(wire).unwrap(), input);
        assert!(serde_json::from_value::<ExecItem>(serde_json::json!({"output": {"data": "@@"}})).is_err());
        assert!(
            Request::from(Exec {
                id: "web".into(),
                spec: ExecSpec {
                    command: None,
                    user: None,
                    cols: 80,
                    rows: 24
                }
            })
            .executes()
        );
    }

    #[test]
    fn an_older_agent_is_understood_and_the_token_never_printed() {
        // A welcome without limits (an agent from before they existed).
        let w: FromAgent =
            serde_json::from_value(serde_json::json!({"welcome": {"protocol": 1, "agent": "0.1.0"}})).unwrap();
        assert_eq!(
            w,
            FromAgent::Welcome(Welcome {
                protocol: 1,
                agent: "0.1.0".into(),
                limits: HostLimits::default()
            })
        );
        // A refusal this core does not know yet.
        let r: Refused =
            serde_json::from_value(serde_json::json!({"reason": "moon_phase", "message": "later"})).unwrap();
        assert_eq!(r.reason, Refusal::Other);
        let hello = Hello {
            protocol: 1,
            core: "0.1.0".into(),
            token: "s3cret-token".into(),
            heartbeat_ms: 5000,
        };
        assert!(!format!("{hello:?}").contains("s3cret"));
        // A hello from a core that does not say how often it pings.
        let older: Hello =
            serde_json::from_value(serde_json::json!({"protocol": 1, "core": "0.1.0", "token": "t"})).unwrap();
        assert_eq!(older.heartbeat_ms, 0);
    }
}
