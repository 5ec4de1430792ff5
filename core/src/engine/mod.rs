//! The engine contract, at the bottom of what runs on the server: one
//! method per operation berth asks of a container engine, in core's model
//! types and `EngineError`, never a client library's. `hosts` holds one
//! per host (`hosts::docker` answers them over the Docker engine API,
//! `agent` through `berth agent`); `logs`, `stats` and `terminal` read
//! what it returns, and the agent serves it to a core.
//! - `error`: what an engine failed at, plain data that travels;
//! - `exec`: a process started in a container with a TTY.
//!
//! Not here: who may do what and the audit record (`Host` wraps every call
//! in both), the shared container list, reconnecting (`hosts::watch`).

pub mod compose;
mod error;
mod exec;

pub use compose::{ComposeItem, ComposeJob, ProjectFile};
pub use error::{EngineError, Object};
pub use exec::{ExecControl, ExecSession};

use crate::model::{
    Container, ContainerAction, ContainerDetail, EngineEvent, EngineStats, EngineVersion, ExecSpec, HostSample, Image,
    ImageDetail, ImageRemoval, Network, NetworkDetail, NewContainer, PruneReport, Transport, Volume, VolumeDetail,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::time::Duration;

/// Below this interval a container's stats come from the engine's own
/// stream; from it on, a reading is asked for each interval.
pub const STREAM_BELOW: Duration = Duration::from_secs(2);

/// One host's engine. Containers are named by id, id prefix or name;
/// images by id, id prefix or `repo:tag`; networks by id or name; volumes
/// by name. Each call is one request (the streams: one long-lived one).
#[async_trait]
pub trait Engine: Send + Sync {
    /// How berth reaches this engine.
    fn transport(&self) -> Transport;

    /// Called on every (re)connect: the engine's version, once berth and
    /// the engine have settled on the highest API version both speak.
    async fn connect(&self) -> Result<EngineVersion, EngineError>;

    /// One round trip to the engine (or the agent in front of it): how
    /// long it took. Asked every heartbeat, so that a host that stops
    /// answering is noticed even while no stream is open.
    async fn ping(&self) -> Result<Duration, EngineError>;

    /// A reading of the machine the engine runs on (CPU, memory, disks,
    /// network), where the transport has one: only an agent does. The
    /// local machine is read by the stats collector itself.
    async fn machine(&self) -> Result<Option<HostSample>, EngineError> {
        Ok(None)
    }

    /// Every container, running or not, sorted by `model::container_order`.
    async fn containers(&self) -> Result<Vec<Container>, EngineError>;

    /// How often the engine restarted the container.
    async fn restart_count(&self, id: &str) -> Result<u32, EngineError>;

    /// The container's configuration and state; environment values left out.
    async fn inspect(&self, id: &str) -> Result<ContainerDetail, EngineError>;

    /// One environment variable's value; `None` when there is none by that name.
    async fn env_value(&self, id: &str, name: &str) -> Result<Option<String>, EngineError>;

    /// Starts, stops, restarts, kills, pauses, unpauses or removes it.
    /// Already in the asked-for state is no failure.
    async fn act(&self, id: &str, action: ContainerAction) -> Result<(), EngineError>;

    /// Creates (and starts, if asked) a container from a checked request;
    /// returns its id.
    async fn create(&self, new: &NewContainer) -> Result<String, EngineError>;

    /// The engine's events from `since_ns` on (inclusive): first those it
    /// still remembers, then, without a gap, the new ones as they happen.
    /// With `until_ns`, only those up to then (inclusive), and the stream
    /// ends.
    fn events(&self, since_ns: i64, until_ns: Option<i64>) -> BoxStream<'static, Result<EngineEvent, EngineError>>;

    /// A container's counters, one reading each `every` (the collector's
    /// interval), until it stops, the engine goes away or the stream is
    /// dropped. Under `STREAM_BELOW`, the engine's own stream (a reading
    /// about each second); from it on, one reading asked for each time, so
    /// that neither the engine nor berth reads and sends counters nobody
    /// keeps (at 5 s, a fifth of the work).
    fn stats(&self, id: &str, every: Duration) -> BoxStream<'static, Result<EngineStats, EngineError>>;

    /// A container's log lines as `query` asks (checked by the caller):
    /// its last `tail` lines, those within `since` and `until` to the
    /// nanosecond, each with its stream and the engine's timestamp, in the
    /// engine's order; then, with `follow`, new ones as they come, until
    /// the container stops, the engine goes away or the stream is dropped.
    fn logs(
        &self,
        id: &str,
        query: &crate::model::LogQuery,
    ) -> BoxStream<'static, Result<crate::model::LogLine, EngineError>>;

    /// Starts `spec` in container `id` with a TTY (`TERM=xterm-256color`),
    /// attached: see `ExecSession`. A host that refuses exec says so
    /// (`Forbidden`).
    async fn exec(&self, id: &str, spec: &ExecSpec) -> Result<ExecSession, EngineError>;

    /// Every image with a name, and the dangling ones.
    async fn images(&self) -> Result<Vec<Image>, EngineError>;
    async fn image(&self, reference: &str) -> Result<ImageDetail, EngineError>;
    /// Removes a name (`repo:tag`) or, by id, the image; `force` also when
    /// stopped containers use it or it has several names.
    async fn remove_image(&self, reference: &str, force: bool) -> Result<ImageRemoval, EngineError>;
    /// Dangling images only (optionally only those with `label`, `key` or `key=value`).
    async fn prune_images(&self, label: Option<&str>) -> Result<PruneReport, EngineError>;

    async fn networks(&self) -> Result<Vec<Network>, EngineError>;
    async fn network(&self, id: &str) -> Result<NetworkDetail, EngineError>;
    async fn remove_network(&self, id: &str) -> Result<(), EngineError>;
    async fn prune_networks(&self, label: Option<&str>) -> Result<PruneReport, EngineError>;

    async fn volumes(&self) -> Result<Vec<Volume>, EngineError>;
    async fn volume(&self, name: &str) -> Result<VolumeDetail, EngineError>;
    async fn remove_volume(&self, name: &str, force: bool) -> Result<(), EngineError>;
    /// Unused volumes; the engine decides which (before API 1.42 every
    /// unused one, since then only anonymous ones).
    async fn prune_volumes(&self, label: Option<&str>) -> Result<PruneReport, EngineError>;

    /// Gives an image another `repo:tag`.
    async fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError>;

    /// Where a command line on berth's machine (compose, for a deploy)
    /// reaches this engine; `None` when only the transport itself can (an
    /// agent runs such commands on its own machine).
    fn address(&self) -> Option<EngineAddress> {
        None
    }

    /// Runs compose on the engine's own machine (`engine::compose`), for an
    /// engine berth's command line cannot reach (`address` is `None`).
    fn compose(&self, job: ComposeJob) -> BoxStream<'static, Result<ComposeItem, EngineError>> {
        let _ = job;
        let why = "this engine runs no compose of its own; berth runs compose against its address".to_string();
        futures_util::stream::iter([Err(EngineError::Rejected(why))]).boxed()
    }
}

/// How a `docker` or compose command on berth's machine reaches an engine:
/// `DOCKER_HOST`, and for TLS the CA, client certificate and key files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineAddress {
    pub docker_host: String,
    pub tls: Option<TlsPaths>,
}

/// The files of a TLS engine's client side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsPaths {
    pub ca: std::path::PathBuf,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}
