//! One handle per host, whatever the transport: each `Host` holds an
//! `Engine` (`crate::engine`), which speaks core's model types only:
//! `DockerEngine` (`docker`), for the local engine over its unix socket (or
//! `DOCKER_HOST`) and for remote engines over TCP with TLS client
//! certificates, or `AgentEngine` (`crate::agent`), through `berth agent`.
//!
//! Each host keeps one connection to its engine's event stream (`watch`):
//! every engine event is recorded in the event log and refreshes the cached
//! container list, which all viewers share; nobody polls per viewer. When the
//! engine goes away the host is marked unreachable (recorded, with the time),
//! and the watcher reconnects with backoff and resyncs.
//!
//! `Hosts` (`registry`) adds and removes hosts while berth runs; each host's
//! tasks (that watcher, and those services register) run under the host's
//! `supervisor`, which stops and awaits them on removal and at shutdown.

mod admin;
mod docker;
mod exec;
mod reference;
mod registry;
mod resources;
mod supervisor;
mod watch;

pub use admin::{ConfiguredHost, HostAdmin, HostAdminError};
pub use docker::TlsSettings;
pub use registry::Hosts;

/// The engine beside this process (its unix socket, or `DOCKER_HOST`), on
/// its own: what `berth agent` serves. `name` appears in its errors.
pub fn local_engine(name: &str) -> Result<Arc<dyn Engine>, EngineError> {
    Ok(Arc::new(DockerEngine::local(name)?))
}

use crate::access::{self, AccessError, Caller, Scope};
use crate::engine::{Engine, EngineError};
use crate::events::{EventError, EventLog, now_ns};
use crate::model::{
    Container, ContainerAction, ContainerDetail, EngineStats, ErrorKind, ExpectedState, HostId, HostStatus, HostView,
    LogLine, LogQuery, NewEvent, Operation, Outcome, Transport,
};
use docker::DockerEngine;
use futures_util::stream::BoxStream;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::watch as tokio_watch;

#[derive(Debug, Error)]
pub enum HostError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Refused by `access` (and recorded there).
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("there is no host '{0}'")]
    UnknownHost(String),
    #[error("there is a host '{0}' already; remove it first, or give the new one another name")]
    Exists(String),
    #[error("berth is stopping; no host can be added now")]
    ShuttingDown,
    /// The request itself is wrong; nothing was sent to the engine.
    #[error("{0}")]
    Invalid(String),
    /// Something named in the request is not there (an environment variable...).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for HostError {
    fn kind(&self) -> ErrorKind {
        match self {
            HostError::Engine(e) => e.kind(),
            HostError::Access(e) => e.kind(),
            HostError::UnknownHost(_) => ErrorKind::NotFound,
            HostError::Exists(_) => ErrorKind::Conflict,
            HostError::ShuttingDown => ErrorKind::Unavailable,
            HostError::Invalid(_) => ErrorKind::Invalid,
            HostError::NotFound(_) => ErrorKind::NotFound,
            HostError::Events(e) => e.kind(),
        }
    }
}

/// Records what `caller` did as `event` with the outcome of `result` and
/// how long it took. A refusal by `access` is already recorded.
pub(crate) async fn record<T>(
    events: &EventLog,
    event: NewEvent,
    started: Instant,
    result: &Result<T, HostError>,
) -> Result<(), EventError> {
    let outcome = match result {
        Ok(_) => Outcome::Ok,
        Err(HostError::Access(_)) => return Ok(()),
        Err(e) => Outcome::Error(e.to_string()),
    };
    let micros = started.elapsed().as_micros() as u64;
    events.append(event.outcome(outcome).duration_us(micros)).await?;
    Ok(())
}

/// A host's engine, its status and its containers as last seen.
pub struct Host {
    id: HostId,
    engine: Arc<dyn Engine>,
    status: tokio_watch::Sender<HostStatus>,
    /// The list as last read, and a change to whoever follows it. (Only the
    /// latest is kept: followers read the list when told of a change, so a
    /// queue of past lists would only hold memory.)
    containers: tokio_watch::Sender<Arc<Vec<Container>>>,
    events: EventLog,
    /// Restart counts by container id (from inspect; dropped when it starts or dies).
    restarts: Mutex<HashMap<String, u32>>,
    /// OOM kills by container name, counted from the engine's `oom` events.
    oom_kills: Mutex<HashMap<String, u32>>,
    /// Expected states by expectation key (set by `health`).
    expected: RwLock<Arc<HashMap<String, ExpectedState>>>,
    /// How often the watcher pings the engine.
    heartbeat: Duration,
    /// The last round trip, in microseconds (0: none yet).
    rtt_us: AtomicU64,
}

/// How often a host is pinged unless told otherwise (berth's stats interval).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

impl Host {
    /// The local engine, as host `local`. Connecting happens in the
    /// background, once the host is added to `Hosts`.
    pub fn local(events: EventLog) -> Result<Arc<Host>, HostError> {
        Host::local_named("local", events)
    }

    /// The local engine under another name (`id` as `validate_host_name`
    /// allows): a second host over the same engine, for tests.
    pub fn local_named(id: &str, events: EventLog) -> Result<Arc<Host>, HostError> {
        Host::new(id, Arc::new(DockerEngine::local(id)?), events)
    }

    /// A remote Docker engine over TCP with TLS client certificates, as
    /// host `id`. The settings are checked now (a wrong one is `Invalid`,
    /// naming it); connecting happens once the host is added to `Hosts`.
    pub fn tls(id: &str, settings: &TlsSettings, events: EventLog) -> Result<Arc<Host>, HostError> {
        crate::model::validate_host_name(id).map_err(HostError::Invalid)?;
        let engine = DockerEngine::tls(id, settings).map_err(|e| HostError::Invalid(format!("host '{id}': {e}")))?;
        Host::new(id, Arc::new(engine), events)
    }

    /// Host `id` through `berth agent` on its machine, pinged every
    /// `heartbeat`; connecting happens once the host is added to `Hosts`.
    pub fn agent(
        id: &str,
        settings: crate::agent::AgentSettings,
        heartbeat: Duration,
        events: EventLog,
    ) -> Result<Arc<Host>, HostError> {
        crate::model::validate_host_name(id).map_err(HostError::Invalid)?;
        let engine = crate::agent::AgentEngine::new(id, settings, heartbeat);
        Ok(Host::new(id, Arc::new(engine), events)?.with_heartbeat(heartbeat))
    }

    /// Host `id` over any `engine` (the agent's, a test's).
    pub fn new(id: &str, engine: Arc<dyn Engine>, events: EventLog) -> Result<Arc<Host>, HostError> {
        crate::model::validate_host_name(id).map_err(HostError::Invalid)?;
        let id = HostId(id.to_string());
        let status = HostStatus {
            id: id.clone(),
            reachable: false,
            since_ns: now_ns(),
            error: Some("not connected yet".into()),
            engine_version: None,
            api_version: None,
            transport: engine.transport(),
            agent_version: None,
            limits: Default::default(),
            rtt_us: None,
        };
        Ok(Arc::new(Host {
            id,
            engine,
            status: tokio_watch::channel(status).0,
            containers: tokio_watch::channel(Arc::new(Vec::new())).0,
            events,
            restarts: Mutex::new(HashMap::new()),
            oom_kills: Mutex::new(HashMap::new()),
            expected: RwLock::new(Arc::new(HashMap::new())),
            heartbeat: DEFAULT_HEARTBEAT,
            rtt_us: AtomicU64::new(0),
        }))
    }

    /// The same host, pinged every `every` (the stats interval, in berth):
    /// one that stops answering is marked unreachable within two of them.
    /// Before the host is added to `Hosts`.
    pub fn with_heartbeat(self: Arc<Self>, every: Duration) -> Arc<Host> {
        match Arc::try_unwrap(self) {
            Ok(mut host) => {
                host.heartbeat = every.max(Duration::from_millis(100));
                Arc::new(host)
            }
            Err(shared) => shared,
        }
    }

    /// The last round trip, measured by the watcher's heartbeat.
    pub(crate) fn note_rtt(&self, rtt: Duration) {
        self.rtt_us.store(rtt.as_micros().max(1) as u64, Ordering::Relaxed);
    }

    pub fn id(&self) -> &HostId {
        &self.id
    }

    /// How berth reaches the engine; whether it has the machine's readings.
    pub fn transport(&self) -> Transport {
        self.engine.transport()
    }

    pub fn status(&self) -> HostStatus {
        let mut status = self.status.borrow().clone();
        if status.reachable {
            status.rtt_us = Some(self.rtt_us.load(Ordering::Relaxed)).filter(|us| *us > 0);
        }
        status
    }

    /// What the host refuses (an agent's `--read-only`, `--no-exec`).
    pub fn limits(&self) -> crate::model::HostLimits {
        self.status.borrow().limits
    }

    /// A reading of the host's machine, where its transport has one (an agent).
    pub async fn machine(&self) -> Result<Option<crate::model::HostSample>, EngineError> {
        self.engine.machine().await
    }

    pub fn subscribe_status(&self) -> tokio_watch::Receiver<HostStatus> {
        self.status.subscribe()
    }

    /// The containers as last seen (all of them, running or not).
    pub fn containers(&self) -> Arc<Vec<Container>> {
        self.containers.borrow().clone()
    }

    /// Status and containers together, as the container page shows them
    /// (no access check: for callers that checked `Operation::ViewHost`).
    pub fn view(&self) -> HostView {
        HostView {
            status: self.status(),
            containers: self.containers().as_ref().clone(),
        }
    }

    /// `view`, for `caller`.
    pub async fn view_for(&self, caller: &Caller) -> Result<HostView, HostError> {
        self.check(caller, Operation::ViewHost, None).await?;
        Ok(self.view())
    }

    /// Asks `access` whether `caller` may do `op` on this host (about `target`).
    /// The engine itself, for services that act on it after their own
    /// access decision (a stack's containers as one).
    pub(crate) fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub(crate) async fn check(&self, caller: &Caller, op: Operation, target: Option<String>) -> Result<(), HostError> {
        let mut scope = Scope::host(self.id.0.clone());
        scope.target = target;
        Ok(access::check(&self.events, caller, op, scope).await?)
    }

    /// Told when the container list changes (read it with `containers`).
    pub fn subscribe_containers(&self) -> tokio_watch::Receiver<Arc<Vec<Container>>> {
        self.containers.subscribe()
    }

    /// Reads the list from the engine, adds what berth knows of each
    /// container (restarts, OOM kills, expected state) and shares it.
    pub(crate) async fn refresh(&self) -> Result<Arc<Vec<Container>>, EngineError> {
        let mut list = self.engine.containers().await?;
        // Whatever the engine's order (an older agent's is plain text).
        list.sort_by(crate::model::container_order);
        let unknown: Vec<String> = {
            let known = lock(&self.restarts);
            list.iter()
                .filter(|c| !known.contains_key(&c.id))
                .map(|c| c.id.clone())
                .collect()
        };
        for id in unknown {
            // A container removed meanwhile simply has no count.
            if let Ok(n) = self.engine.restart_count(&id).await {
                lock(&self.restarts).insert(id, n);
            }
        }
        {
            let mut restarts = lock(&self.restarts);
            restarts.retain(|id, _| list.iter().any(|c| &c.id == id));
            let ooms = lock(&self.oom_kills);
            for c in &mut list {
                c.restarts = restarts.get(&c.id).copied().unwrap_or_default();
                c.oom_kills = ooms.get(&c.name).copied().unwrap_or_default();
            }
        }
        Ok(self.publish(list))
    }

    /// Marks each container with its expected state and shares the list.
    fn publish(&self, mut list: Vec<Container>) -> Arc<Vec<Container>> {
        let expected = lock_read(&self.expected).clone();
        for c in &mut list {
            c.expected = expected.get(&c.expectation_key()).copied();
        }
        let list = Arc::new(list);
        self.containers.send_replace(list.clone());
        list
    }

    /// The expected states of this host's containers, by expectation key;
    /// the shared list is re-marked at once.
    pub fn set_expected(&self, expected: HashMap<String, ExpectedState>) {
        *self.expected.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(expected);
        self.publish(self.containers().as_ref().clone());
    }

    /// An engine event about a container: keeps restart and OOM counts true.
    pub(crate) fn note_container_event(&self, kind: &str, id: Option<&str>, name: Option<&str>) {
        use crate::model::EventKind as K;
        match K::parse(kind) {
            Some(K::ContainerStart | K::ContainerDie | K::ContainerRestart | K::ContainerDestroy) => {
                if let Some(id) = id {
                    lock(&self.restarts).remove(id);
                }
            }
            Some(K::ContainerOom) => {
                if let Some(name) = name {
                    *lock(&self.oom_kills).entry(name.to_string()).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// Counts the OOM kills already in the event log (once, at start-up).
    pub(crate) fn seed_oom_kills(&self, counts: HashMap<String, u32>) {
        *lock(&self.oom_kills) = counts;
    }

    /// Does `action` to container `id` (an id, id prefix or name) for
    /// `caller`, records it (also when refused or failed), and returns the
    /// engine's refusal as the error.
    pub async fn act(&self, caller: &Caller, id: &str, action: ContainerAction) -> Result<(), HostError> {
        let started = Instant::now();
        let target = format!("container:{}", self.container_name(id));
        let event = caller
            .event(action.kind())
            .host(self.id.0.clone())
            .target(target.clone())
            .details(serde_json::to_value(action).unwrap_or_default());
        let result = async {
            self.check(caller, action.operation(), Some(target)).await?;
            Ok(self.engine.act(id, action).await?)
        }
        .await;
        record(&self.events, event, started, &result).await?;
        if result.is_ok() {
            let _ = self.refresh().await;
        }
        result
    }

    /// The container's configuration and state, environment values masked.
    pub async fn inspect(&self, caller: &Caller, id: &str) -> Result<crate::model::ContainerDetail, HostError> {
        let target = format!("container:{}", self.container_name(id));
        self.check(caller, Operation::InspectContainer, Some(target)).await?;
        Ok(self.engine.inspect(id).await?)
    }

    /// One environment value, shown on purpose: recorded as
    /// `container.env_reveal` with the variable's name (never its value).
    pub async fn reveal_env(&self, caller: &Caller, id: &str, name: &str) -> Result<String, HostError> {
        let started = Instant::now();
        let target = format!("container:{}", self.container_name(id));
        let name: String = name.chars().take(256).collect();
        let event = caller
            .event(Operation::RevealSecret.kind())
            .host(self.id.0.clone())
            .target(target.clone())
            .details(serde_json::json!({ "variable": name }));
        let result = async {
            self.check(caller, Operation::RevealSecret, Some(target)).await?;
            self.engine
                .env_value(id, &name)
                .await?
                .ok_or_else(|| HostError::NotFound(format!("the container has no environment variable {name}")))
        }
        .await;
        record(&self.events, event, started, &result).await?;
        result
    }

    /// Creates (and starts, if asked) a container, recorded as
    /// `container.create` with its image, ports, volumes and the *names* of
    /// its environment variables (never their values).
    pub async fn create(&self, caller: &Caller, new: &crate::model::NewContainer) -> Result<String, HostError> {
        let started = Instant::now();
        let env_names: Vec<&str> = new
            .env
            .iter()
            .map(|e| e.split('=').next().unwrap_or_default())
            .collect();
        let target = if new.name.is_empty() {
            format!("image:{}", new.image)
        } else {
            format!("container:{}", new.name)
        };
        let event = caller
            .event(Operation::CreateContainer.kind())
            .host(self.id.0.clone())
            .target(target.clone())
            .details(serde_json::json!({
                "image": new.image, "command": new.command, "env": env_names, "ports": new.ports,
                "volumes": new.volumes, "restart": new.restart, "start": new.start,
            }));
        let result = async {
            self.check(caller, Operation::CreateContainer, Some(target)).await?;
            new.validate().map_err(HostError::Invalid)?;
            Ok(self.engine.create(new).await?)
        }
        .await;
        record(&self.events, event, started, &result).await?;
        if result.is_ok() {
            let _ = self.refresh().await;
        }
        result
    }

    /// The engine's stats stream of one container: a reading about every
    /// second until the container stops or the engine goes away.
    pub fn container_stats(&self, id: &str, every: Duration) -> BoxStream<'static, Result<EngineStats, EngineError>> {
        self.engine.stats(id, every)
    }

    /// The engine's log stream of container `id` (a full id), for `logs`,
    /// whose callers were let in already.
    pub(crate) fn engine_logs(&self, id: &str, query: &LogQuery) -> BoxStream<'static, Result<LogLine, EngineError>> {
        self.engine.logs(id, query)
    }

    /// The container's state from the engine, for the log hub.
    pub(crate) async fn engine_inspect(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        self.engine.inspect(id).await
    }

    /// The event log this host records in, for what `logs` records of it.
    pub(crate) fn events(&self) -> &EventLog {
        &self.events
    }
}
