//! The core's side: `AgentEngine` is the `Engine` of a host reached through
//! `berth agent`. It keeps one TLS connection to the agent, made on first
//! use and again after a loss; every call and every stream (engine events,
//! each container's stats) shares it, each under its own id. A heartbeat
//! measures the round trip and closes a connection whose agent stopped
//! answering, so the host is marked unreachable within two heartbeats.
//!
//! The agent's certificate must have the pinned fingerprint; the token is
//! only sent once it does. Every frame from the agent is checked: one that
//! is malformed, oversized or out of place closes the connection, with the
//! reason as the host's error, and harms nothing else.

use super::addr::AgentUrl;
use super::protocol::{
    self, Answer, FromAgent, Hello, Operation, PROTOCOL, Refusal, Request, Subscription, ToAgent, Welcome,
};
use super::tls::{self, Fingerprint};
use super::wire::{self, WireError};
use crate::hosts::{Engine, EngineError};
use crate::model::{
    AgentInfo, Container, ContainerAction, ContainerDetail, EngineEvent, EngineStats, EngineVersion, HostSample, Image,
    ImageDetail, ImageRemoval, Network, NetworkDetail, NewContainer, PruneReport, Transport, Volume, VolumeDetail,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rustls::pki_types::ServerName;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Time to connect, finish the TLS handshake and be welcomed.
const CONNECT: Duration = Duration::from_secs(10);
/// Time an agent has to answer a call (bollard's default for the engine).
const CALL: Duration = Duration::from_secs(120);
/// Items of one stream held for a slow reader; beyond that the stream is
/// ended (its owner opens it again: the event watcher catches up).
const STREAM_BUFFER: usize = 1024;
const OUTBOX: usize = 256;

/// How to reach an agent: its address, its token and the fingerprint of
/// its certificate, confirmed by whoever added the host.
#[derive(Clone)]
pub struct AgentSettings {
    pub url: AgentUrl,
    pub token: String,
    pub fingerprint: Fingerprint,
}

impl std::fmt::Debug for AgentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSettings")
            .field("url", &self.url.to_string())
            .field("token", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// The fingerprint of the certificate the agent at `url` presents, read
/// from a TLS handshake that sends nothing else: what a person confirms
/// before berth pins it and sends the token.
pub async fn probe(url: &AgentUrl) -> Result<Fingerprint, String> {
    let seen = Arc::new(Mutex::new(None));
    let tcp = tcp(url).await?;
    let config = tls::client_config(None, seen.clone());
    let name = server_name(url)?;
    tokio::time::timeout(CONNECT, tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| format!("the agent at {url} did not finish the TLS handshake within {CONNECT:?}"))?
        .map_err(|e| format!("no TLS handshake with {url}: {e} (is it a berth agent?)"))?;
    let fingerprint = *seen.lock().unwrap_or_else(|p| p.into_inner());
    fingerprint.ok_or_else(|| format!("the agent at {url} presented no certificate"))
}

async fn tcp(url: &AgentUrl) -> Result<TcpStream, String> {
    let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(url.authority()))
        .await
        .map_err(|_| format!("no answer from {url} within {CONNECT:?}"))?
        .map_err(|e| format!("cannot connect to {url}: {e} (is `berth agent` running there, and the port open?)"))?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

fn server_name(url: &AgentUrl) -> Result<ServerName<'static>, String> {
    ServerName::try_from(url.host.clone()).map_err(|e| format!("'{}' cannot name a TLS server: {e}", url.host))
}

/// A host's engine through its agent.
pub struct AgentEngine {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    settings: AgentSettings,
    heartbeat: Duration,
    conn: tokio::sync::Mutex<Option<Conn>>,
}

/// One connection and its three tasks (read, write, heartbeat), which end
/// when it is dropped.
struct Conn {
    link: Arc<Link>,
    welcome: Welcome,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.link.close("the connection was replaced".into());
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What the tasks of a connection and its callers share.
struct Link {
    host: String,
    outbox: mpsc::Sender<ToAgent>,
    state: Mutex<LinkState>,
    next_id: AtomicU64,
    /// The last round trip, in microseconds (0: none yet).
    rtt_us: AtomicU64,
}

#[derive(Default)]
struct LinkState {
    pending: HashMap<u64, Pending>,
    /// Why the connection closed, once it has.
    closed: Option<String>,
    /// The ping not answered yet.
    ping: Option<(u64, Instant)>,
}

enum Pending {
    Call(oneshot::Sender<Result<Value, EngineError>>),
    Stream(mpsc::Sender<Result<Value, EngineError>>),
}

impl Link {
    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unreachable(&self, reason: impl Into<String>) -> EngineError {
        EngineError::Unreachable {
            host: self.host.clone(),
            reason: reason.into(),
        }
    }

    fn closed(&self) -> Option<String> {
        self.state().closed.clone()
    }

    /// Ends the connection: every call waiting fails with `reason`, every
    /// stream ends with it.
    fn close(&self, reason: String) {
        let pending = {
            let mut state = self.state();
            if state.closed.is_some() {
                return;
            }
            tracing::debug!(host = %self.host, %reason, "agent connection closed");
            state.closed = Some(reason.clone());
            std::mem::take(&mut state.pending)
        };
        for (_, p) in pending {
            match p {
                Pending::Call(tx) => {
                    let _ = tx.send(Err(self.unreachable(reason.clone())));
                }
                Pending::Stream(tx) => {
                    let _ = tx.try_send(Err(self.unreachable(reason.clone())));
                }
            }
        }
    }

    /// A new id for `pending`, unless the connection is closed.
    fn register(&self, pending: Pending) -> Result<u64, EngineError> {
        let mut state = self.state();
        if let Some(reason) = &state.closed {
            return Err(self.unreachable(reason.clone()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        state.pending.insert(id, pending);
        Ok(id)
    }

    fn forget(&self, id: u64) {
        self.state().pending.remove(&id);
    }

    async fn send(&self, frame: ToAgent) -> Result<(), EngineError> {
        self.outbox
            .send(frame)
            .await
            .map_err(|_| self.unreachable(self.closed().unwrap_or_else(|| "the connection closed".into())))
    }

    /// One frame from the agent.
    fn receive(&self, frame: FromAgent) -> Result<(), String> {
        match frame {
            FromAgent::Reply { id, result } => {
                if let Some(Pending::Call(tx)) = self.state().pending.remove(&id) {
                    let _ = tx.send(match result {
                        Answer::Ok(v) => Ok(v),
                        Answer::Err(e) => Err(e),
                    });
                }
            }
            FromAgent::Item { id, value } => {
                let mut state = self.state();
                if let Some(Pending::Stream(tx)) = state.pending.get(&id)
                    && tx.try_send(Ok(value)).is_err()
                {
                    // Too slow, or no longer read: end it there.
                    state.pending.remove(&id);
                    let _ = self.outbox.try_send(ToAgent::Cancel { id });
                }
            }
            FromAgent::End { id, error } => {
                if let Some(Pending::Stream(tx)) = self.state().pending.remove(&id)
                    && let Some(e) = error
                {
                    let _ = tx.try_send(Err(e));
                }
            }
            FromAgent::Pong { id } => {
                let mut state = self.state();
                if let Some((ping, sent)) = state.ping
                    && ping == id
                {
                    state.ping = None;
                    let micros = sent.elapsed().as_micros().max(1) as u64;
                    self.rtt_us.store(micros, Ordering::Relaxed);
                }
            }
            FromAgent::Welcome(_) | FromAgent::Refused(_) => {
                return Err("the agent sent a second welcome or refusal; the connection was closed".into());
            }
        }
        Ok(())
    }
}

/// Ends the stream `id` when its reader goes away.
struct StreamGuard {
    link: Arc<Link>,
    id: u64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let was_open = self.link.state().pending.remove(&self.id).is_some();
        if was_open {
            let _ = self.link.outbox.try_send(ToAgent::Cancel { id: self.id });
        }
    }
}

impl AgentEngine {
    /// Host `host` through the agent of `settings`, pinging every `heartbeat`.
    /// Nothing connects until the first call.
    pub fn new(host: &str, settings: AgentSettings, heartbeat: Duration) -> AgentEngine {
        AgentEngine {
            inner: Arc::new(Inner {
                host: host.to_string(),
                settings,
                heartbeat: heartbeat.max(Duration::from_millis(100)),
                conn: tokio::sync::Mutex::new(None),
            }),
        }
    }

    async fn call<O: Operation>(&self, operation: O) -> Result<O::Reply, EngineError> {
        self.inner.call(operation).await
    }

    fn subscribe<S>(&self, subscription: S) -> BoxStream<'static, Result<S::Item, EngineError>>
    where
        S: Subscription + Send + 'static,
        S::Item: Send + 'static,
    {
        let inner = self.inner.clone();
        let request: Request = subscription.into();
        futures_util::stream::once(async move {
            let (link, _) = inner.connection().await?;
            let (tx, rx) = mpsc::channel(STREAM_BUFFER);
            let id = link.register(Pending::Stream(tx))?;
            let guard = StreamGuard { link: link.clone(), id };
            link.send(ToAgent::Call {
                id,
                request: serde_json::to_value(&request).unwrap_or_default(),
            })
            .await?;
            Ok((rx, guard))
        })
        .flat_map(|opened: Result<_, EngineError>| match opened {
            Ok((rx, guard)) => futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
                let item = rx.recv().await?;
                let item = item.and_then(|value| {
                    serde_json::from_value::<S::Item>(value).map_err(|e| {
                        let reason = format!("the agent sent a malformed stream item: {e}; the connection was closed");
                        guard.link.close(reason.clone());
                        guard.link.unreachable(reason)
                    })
                });
                Some((item, (rx, guard)))
            })
            .boxed(),
            Err(e) => futures_util::stream::iter([Err(e)]).boxed(),
        })
        .boxed()
    }
}

impl Inner {
    fn unreachable(&self, reason: impl Into<String>) -> EngineError {
        EngineError::Unreachable {
            host: self.host.clone(),
            reason: reason.into(),
        }
    }

    /// The open connection, or a new one.
    async fn connection(&self) -> Result<(Arc<Link>, Welcome), EngineError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref()
            && conn.link.closed().is_none()
        {
            return Ok((conn.link.clone(), conn.welcome.clone()));
        }
        *slot = None;
        let conn = self.dial().await.map_err(|reason| self.unreachable(reason))?;
        let open = (conn.link.clone(), conn.welcome.clone());
        *slot = Some(conn);
        Ok(open)
    }

    async fn call<O: Operation>(&self, operation: O) -> Result<O::Reply, EngineError> {
        let request: Request = operation.into();
        let name = request.name();
        let (link, _) = self.connection().await?;
        let (tx, rx) = oneshot::channel();
        let id = link.register(Pending::Call(tx))?;
        link.send(ToAgent::Call {
            id,
            request: serde_json::to_value(&request).unwrap_or_default(),
        })
        .await?;
        let value = match tokio::time::timeout(CALL, rx).await {
            Ok(Ok(answer)) => answer?,
            Ok(Err(_)) => return Err(link.unreachable(link.closed().unwrap_or_else(|| "the connection closed".into()))),
            Err(_) => {
                link.forget(id);
                return Err(self.unreachable(format!("the agent did not answer {name} within {CALL:?}")));
            }
        };
        serde_json::from_value(value).map_err(|e| {
            let reason = format!("the agent's answer to {name} is malformed: {e}; the connection was closed");
            link.close(reason.clone());
            self.unreachable(reason)
        })
    }

    /// Connects, checks the certificate against the pin, says hello and
    /// starts the connection's tasks. The error says what to look at.
    async fn dial(&self) -> Result<Conn, String> {
        let url = &self.settings.url;
        let pin = self.settings.fingerprint;
        let tcp = tcp(url).await?;
        let seen = Arc::new(Mutex::new(None));
        let config = tls::client_config(Some(pin), seen.clone());
        let handshake = tokio_rustls::TlsConnector::from(config).connect(server_name(url)?, tcp);
        let stream = match tokio::time::timeout(CONNECT, handshake).await {
            Err(_) => {
                return Err(format!(
                    "the agent at {url} did not finish the TLS handshake within {CONNECT:?}"
                ));
            }
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let presented = *seen.lock().unwrap_or_else(|p| p.into_inner());
                return Err(match presented {
                    Some(presented) if presented != pin => format!(
                        "the agent's certificate changed: it presented {presented}, but berth pinned {pin} for this \
                         host. If the agent was set up again, an admin accepts the new fingerprint; if not, \
                         something else answers at {url}. Nothing was sent to it."
                    ),
                    _ => format!("no TLS handshake with the agent at {url}: {e}"),
                });
            }
        };
        let (mut reader, mut writer) = tokio::io::split(stream);
        let hello = ToAgent::Hello(Hello {
            protocol: PROTOCOL,
            core: env!("CARGO_PKG_VERSION").to_string(),
            token: self.settings.token.clone(),
        });
        wire::write(&mut writer, &hello)
            .await
            .map_err(|e| format!("cannot greet the agent at {url}: {e}"))?;
        let welcome = match tokio::time::timeout(CONNECT, wire::read::<FromAgent, _>(&mut reader)).await {
            Err(_) => {
                return Err(format!(
                    "the agent at {url} did not answer the hello within {CONNECT:?}"
                ));
            }
            Ok(Err(WireError::Closed)) => {
                return Err(format!("the agent at {url} closed the connection without answering"));
            }
            Ok(Err(e)) => return Err(format!("the agent at {url} answered the hello with {e}")),
            Ok(Ok(FromAgent::Welcome(w))) => w,
            Ok(Ok(FromAgent::Refused(r))) => return Err(refused(url, r)),
            Ok(Ok(_)) => return Err(format!("the agent at {url} answered the hello out of turn")),
        };
        if welcome.protocol < protocol::OLDEST_AGENT || welcome.protocol > PROTOCOL {
            return Err(format!(
                "the agent at {url} (berth {}) speaks protocol {}; this berth speaks {} to {PROTOCOL}: upgrade the \
                 older of the two",
                welcome.agent,
                welcome.protocol,
                protocol::OLDEST_AGENT
            ));
        }
        tracing::info!(host = %self.host, %url, agent = %welcome.agent, limits = ?welcome.limits, "agent connected");

        let (outbox, mut queue) = mpsc::channel::<ToAgent>(OUTBOX);
        let link = Arc::new(Link {
            host: self.host.clone(),
            outbox,
            state: Mutex::new(LinkState::default()),
            next_id: AtomicU64::new(1),
            rtt_us: AtomicU64::new(0),
        });
        let writing = {
            let link = link.clone();
            tokio::spawn(async move {
                while let Some(frame) = queue.recv().await {
                    if let Err(e) = wire::write(&mut writer, &frame).await {
                        link.close(format!("cannot send to the agent: {e}"));
                        break;
                    }
                }
            })
        };
        let reading = {
            let link = link.clone();
            tokio::spawn(async move {
                let reason = loop {
                    match wire::read::<FromAgent, _>(&mut reader).await {
                        Ok(frame) => {
                            if let Err(reason) = link.receive(frame) {
                                break reason;
                            }
                        }
                        Err(WireError::Closed) => break "the agent closed the connection".to_string(),
                        Err(e @ WireError::Io(_)) => break format!("the connection to the agent failed: {e}"),
                        Err(e) => break format!("the agent sent {e}; the connection was closed"),
                    }
                };
                if !matches!(reason.as_str(), "the agent closed the connection") {
                    tracing::warn!(host = %link.host, %reason, "agent connection lost");
                }
                link.close(reason);
            })
        };
        let beating = {
            let link = link.clone();
            let every = self.heartbeat;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let unanswered = {
                        let mut state = link.state();
                        if state.closed.is_some() {
                            return;
                        }
                        match state.ping {
                            Some((_, sent)) => Some(sent.elapsed()),
                            None => {
                                let id = link.next_id.fetch_add(1, Ordering::Relaxed);
                                state.ping = Some((id, Instant::now()));
                                let _ = link.outbox.try_send(ToAgent::Ping { id });
                                None
                            }
                        }
                    };
                    if let Some(waited) = unanswered {
                        link.close(format!(
                            "the agent stopped answering: no reply to a ping in {:.1} s",
                            waited.as_secs_f64()
                        ));
                        return;
                    }
                }
            })
        };
        Ok(Conn {
            link,
            welcome,
            tasks: vec![writing, reading, beating],
        })
    }
}

/// A refusal in words for whoever set the host up.
fn refused(url: &AgentUrl, r: protocol::Refused) -> String {
    let hint = match r.reason {
        Refusal::Token => "is the token the one `berth agent init` printed on that machine?",
        Refusal::Address => "add berth's address to the agent's `allow` list, or connect from an address in it",
        Refusal::Protocol => "upgrade the older of berth and the agent",
        Refusal::Busy => "too many connections to that agent; try again later",
        Refusal::Handshake | Refusal::Other => "",
    };
    let message: String = r.message.chars().take(300).collect();
    format!("the agent at {url} refused the connection: {message}. {hint}")
        .trim_end()
        .to_string()
}

#[async_trait]
impl Engine for AgentEngine {
    fn transport(&self) -> Transport {
        Transport::Agent
    }

    async fn connect(&self) -> Result<EngineVersion, EngineError> {
        let (_, welcome) = self.inner.connection().await?;
        let mut version = self.call(protocol::Version {}).await?;
        version.agent = Some(AgentInfo {
            version: welcome.agent,
            protocol: welcome.protocol,
            limits: welcome.limits,
        });
        Ok(version)
    }

    async fn ping(&self) -> Result<Duration, EngineError> {
        // The heartbeat pings; this reports what it found.
        let (link, _) = self.inner.connection().await?;
        if let Some(reason) = link.closed() {
            return Err(link.unreachable(reason));
        }
        Ok(Duration::from_micros(link.rtt_us.load(Ordering::Relaxed)))
    }

    async fn machine(&self) -> Result<Option<HostSample>, EngineError> {
        self.call(protocol::Machine {}).await.map(Some)
    }

    async fn containers(&self) -> Result<Vec<Container>, EngineError> {
        self.call(protocol::Containers {}).await
    }

    async fn restart_count(&self, id: &str) -> Result<u32, EngineError> {
        self.call(protocol::RestartCount { id: id.into() }).await
    }

    async fn inspect(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        self.call(protocol::Inspect { id: id.into() }).await
    }

    async fn env_value(&self, id: &str, name: &str) -> Result<Option<String>, EngineError> {
        self.call(protocol::EnvValue {
            id: id.into(),
            name: name.into(),
        })
        .await
    }

    async fn act(&self, id: &str, action: ContainerAction) -> Result<(), EngineError> {
        self.call(protocol::Act { id: id.into(), action }).await
    }

    async fn create(&self, new: &NewContainer) -> Result<String, EngineError> {
        self.call(protocol::Create { container: new.clone() }).await
    }

    fn events(&self, since_ns: i64, until_ns: Option<i64>) -> BoxStream<'static, Result<EngineEvent, EngineError>> {
        self.subscribe(protocol::Events { since_ns, until_ns })
    }

    fn stats(&self, id: &str) -> BoxStream<'static, Result<EngineStats, EngineError>> {
        self.subscribe(protocol::Stats { id: id.into() })
    }

    async fn images(&self) -> Result<Vec<Image>, EngineError> {
        self.call(protocol::Images {}).await
    }

    async fn image(&self, reference: &str) -> Result<ImageDetail, EngineError> {
        self.call(protocol::ImageInfo {
            reference: reference.into(),
        })
        .await
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<ImageRemoval, EngineError> {
        self.call(protocol::RemoveImage {
            reference: reference.into(),
            force,
        })
        .await
    }

    async fn prune_images(&self, label: Option<&str>) -> Result<PruneReport, EngineError> {
        self.call(protocol::PruneImages {
            label: label.map(Into::into),
        })
        .await
    }

    async fn networks(&self) -> Result<Vec<Network>, EngineError> {
        self.call(protocol::Networks {}).await
    }

    async fn network(&self, id: &str) -> Result<NetworkDetail, EngineError> {
        self.call(protocol::NetworkInfo { id: id.into() }).await
    }

    async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        self.call(protocol::RemoveNetwork { id: id.into() }).await
    }

    async fn prune_networks(&self, label: Option<&str>) -> Result<PruneReport, EngineError> {
        self.call(protocol::PruneNetworks {
            label: label.map(Into::into),
        })
        .await
    }

    async fn volumes(&self) -> Result<Vec<Volume>, EngineError> {
        self.call(protocol::Volumes {}).await
    }

    async fn volume(&self, name: &str) -> Result<VolumeDetail, EngineError> {
        self.call(protocol::VolumeInfo { name: name.into() }).await
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<(), EngineError> {
        self.call(protocol::RemoveVolume {
            name: name.into(),
            force,
        })
        .await
    }

    async fn prune_volumes(&self, label: Option<&str>) -> Result<PruneReport, EngineError> {
        self.call(protocol::PruneVolumes {
            label: label.map(Into::into),
        })
        .await
    }
}
