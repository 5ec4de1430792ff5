//! One handle per host, whatever the transport. Today: the local engine,
//! over its unix socket (or `DOCKER_HOST`). Remote engines over TLS and the
//! agent will sit behind the same operations.
//!
//! Each host keeps one connection to its engine's event stream (`watch`):
//! every engine event is recorded in the event log and refreshes the cached
//! container list, which all viewers share; nobody polls per viewer. When the
//! engine goes away the host is marked unreachable (recorded, with the time),
//! and the watcher reconnects with backoff and resyncs.

mod engine;
mod resources;
mod watch;

pub use engine::EngineError;

use crate::access::{self, AccessError, Permission};

use crate::events::{EventError, EventLog, now_ns};
use crate::model::{Actor, Container, ContainerAction, HostId, HostStatus, NewEvent, Outcome, User};
use bollard::Docker;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use thiserror::Error;
use tokio::sync::{broadcast, watch as tokio_watch};

#[derive(Debug, Error)]
pub enum HostError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Denied(String),
    #[error("there is no host '{0}'")]
    UnknownHost(String),
    /// The request itself is wrong; nothing was sent to the engine.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl From<AccessError> for HostError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Denied(m) => HostError::Denied(m),
            AccessError::Events(e) => HostError::Events(e),
        }
    }
}

/// A host's engine, its status and its containers as last seen.
pub struct Host {
    id: HostId,
    docker: RwLock<Docker>,
    status: tokio_watch::Sender<HostStatus>,
    containers: RwLock<Arc<Vec<Container>>>,
    /// Sends the new list whenever it changes.
    changes: broadcast::Sender<Arc<Vec<Container>>>,
    events: EventLog,
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

impl Host {
    /// The local engine. Connecting happens in the background (`spawn_watch`).
    pub fn local(events: EventLog) -> Result<Arc<Host>, HostError> {
        let id = HostId("local".into());
        let status = HostStatus {
            id: id.clone(),
            reachable: false,
            since_ns: now_ns(),
            error: Some("not connected yet".into()),
            engine_version: None,
            api_version: None,
        };
        Ok(Arc::new(Host {
            id,
            docker: RwLock::new(engine::local()?),
            status: tokio_watch::channel(status).0,
            containers: RwLock::new(Arc::new(Vec::new())),
            changes: broadcast::channel(64).0,
            events,
        }))
    }

    pub fn id(&self) -> &HostId {
        &self.id
    }

    pub fn status(&self) -> HostStatus {
        self.status.borrow().clone()
    }

    pub fn subscribe_status(&self) -> tokio_watch::Receiver<HostStatus> {
        self.status.subscribe()
    }

    /// The containers as last seen (all of them, running or not).
    pub fn containers(&self) -> Arc<Vec<Container>> {
        lock_read(&self.containers).clone()
    }

    /// Status and containers together, as the container page shows them.
    pub fn view(&self) -> crate::model::HostView {
        crate::model::HostView {
            status: self.status(),
            containers: self.containers().as_ref().clone(),
        }
    }

    /// New container lists as the engine reports changes.
    pub fn subscribe_containers(&self) -> broadcast::Receiver<Arc<Vec<Container>>> {
        self.changes.subscribe()
    }

    fn docker(&self) -> Docker {
        lock_read(&self.docker).clone()
    }

    /// Reads the list from the engine and shares it.
    pub(crate) async fn refresh(&self) -> Result<Arc<Vec<Container>>, EngineError> {
        let list = Arc::new(engine::list(&self.docker(), &self.id.0).await?);
        *self.containers.write().unwrap_or_else(|p| p.into_inner()) = list.clone();
        let _ = self.changes.send(list.clone());
        Ok(list)
    }

    /// Does `action` to container `id` (an id, id prefix or name) for `user`,
    /// records it (also when refused or failed), and returns the engine's
    /// refusal as the error.
    pub async fn act(
        &self,
        user: &User,
        id: &str,
        action: ContainerAction,
        source: Option<String>,
    ) -> Result<(), HostError> {
        let started = Instant::now();
        let name = self
            .containers()
            .iter()
            .find(|c| c.id == id || c.name == id || (id.len() >= 6 && c.id.starts_with(id)))
            .map_or_else(|| id.to_string(), |c| c.name.clone());
        let event = NewEvent::new(action.kind(), Actor::user(user.name.clone()))
            .source(source.clone())
            .host(self.id.0.clone())
            .target(format!("container:{name}"))
            .details(serde_json::to_value(action).unwrap_or_default());
        if !access::allows(user, Permission::OperateContainers) {
            let message = format!("{} may not operate containers: that needs the admin role", user.name);
            self.events
                .append(event.outcome(Outcome::Denied(message.clone())))
                .await?;
            return Err(HostError::Denied(message));
        }
        let result = engine::act(&self.docker(), &self.id.0, id, action).await;
        let outcome = match &result {
            Ok(()) => Outcome::Ok,
            Err(e) => Outcome::Error(e.to_string()),
        };
        let micros = started.elapsed().as_micros() as u64;
        self.events.append(event.outcome(outcome).duration_us(micros)).await?;
        if result.is_ok() {
            let _ = self.refresh().await;
        }
        Ok(result?)
    }
}

impl Host {
    /// The container's configuration and state, environment values masked.
    pub async fn inspect(&self, user: &User, id: &str) -> Result<crate::model::ContainerDetail, HostError> {
        if !access::allows(user, Permission::ViewContainers) {
            return Err(HostError::Denied(format!(
                "{} may not see containers: that needs the admin role",
                user.name
            )));
        }
        Ok(engine::inspect(&self.docker(), &self.id.0, id).await?)
    }

    /// One environment value, shown on purpose: recorded as
    /// `container.env_reveal` with the variable's name (never its value).
    pub async fn reveal_env(
        &self,
        user: &User,
        id: &str,
        name: &str,
        source: Option<String>,
    ) -> Result<String, HostError> {
        let detail = self.inspect(user, id).await?;
        let event = NewEvent::new("container.env_reveal", Actor::user(user.name.clone()))
            .source(source)
            .host(self.id.0.clone())
            .target(format!("container:{}", detail.name))
            .details(serde_json::json!({ "variable": name }));
        if !access::allows(user, Permission::RevealSecrets) {
            let message = format!(
                "{} may not reveal environment values: that needs the admin role",
                user.name
            );
            self.events
                .append(event.outcome(Outcome::Denied(message.clone())))
                .await?;
            return Err(HostError::Denied(message));
        }
        let value = engine::env_value(&self.docker(), &self.id.0, id, name).await?;
        let outcome = if value.is_some() {
            Outcome::Ok
        } else {
            Outcome::Error(format!("no variable {name}"))
        };
        self.events.append(event.outcome(outcome)).await?;
        value.ok_or_else(|| HostError::Engine(EngineError::Engine(format!("the container has no variable {name}"))))
    }
}

impl Host {
    /// Creates (and starts, if asked) a container, recorded as
    /// `container.create` with its image, ports, volumes and the *names* of
    /// its environment variables (never their values).
    pub async fn create(
        &self,
        user: &User,
        new: &crate::model::NewContainer,
        source: Option<String>,
    ) -> Result<String, HostError> {
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
        let event = NewEvent::new("container.create", Actor::user(user.name.clone()))
            .source(source)
            .host(self.id.0.clone())
            .target(target)
            .details(serde_json::json!({
                "image": new.image, "command": new.command, "env": env_names, "ports": new.ports,
                "volumes": new.volumes, "restart": new.restart, "start": new.start,
            }));
        if !access::allows(user, Permission::OperateContainers) {
            let message = format!("{} may not create containers: that needs the admin role", user.name);
            self.events
                .append(event.outcome(Outcome::Denied(message.clone())))
                .await?;
            return Err(HostError::Denied(message));
        }
        let result = match new.validate() {
            Err(problem) => Err(HostError::Invalid(problem)),
            Ok(()) => engine::create(&self.docker(), &self.id.0, new)
                .await
                .map_err(HostError::from),
        };
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Error(e.to_string()),
        };
        let micros = started.elapsed().as_micros() as u64;
        self.events.append(event.outcome(outcome).duration_us(micros)).await?;
        if result.is_ok() {
            let _ = self.refresh().await;
        }
        result
    }
}

/// Every host berth manages.
#[derive(Clone)]
pub struct Hosts {
    all: Arc<Vec<Arc<Host>>>,
}

impl Hosts {
    pub fn new(hosts: Vec<Arc<Host>>) -> Hosts {
        Hosts { all: Arc::new(hosts) }
    }

    pub fn all(&self) -> &[Arc<Host>] {
        &self.all
    }

    pub fn get(&self, id: &str) -> Result<&Arc<Host>, HostError> {
        self.all
            .iter()
            .find(|h| h.id.0 == id)
            .ok_or_else(|| HostError::UnknownHost(id.to_string()))
    }

    /// Starts one watcher per host; they stop when `stop` turns true.
    pub fn spawn_watchers(&self, stop: tokio_watch::Receiver<bool>) {
        for host in self.all.iter() {
            tokio::spawn(watch::run(host.clone(), stop.clone()));
        }
    }
}
