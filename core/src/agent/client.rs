//! The core's side: `AgentEngine` is the `Engine` of a host reached through
//! `berth agent`. It keeps one TLS connection to the agent, made on first
//! use and again after a loss; every call and every stream (engine events,
//! each container's stats) shares it, each under its own id. A heartbeat
//! closes a connection whose agent stopped answering, so the host is
//! marked unreachable within two heartbeats; `Engine::ping` measures one
//! round trip over the open connection (it never opens one). Errors the
//! agent sends back name this host as berth knows it.
//!
//! The agent's certificate must have the pinned fingerprint; the token is
//! only sent once it does. Every frame from the agent is checked: one that
//! is malformed, oversized or out of place closes the connection, with the
//! reason as the host's error, and harms nothing else.

use super::addr::AgentUrl;
use super::link::{Forget, Link, Pending, StreamGuard};
use super::protocol::{self, FromAgent, Hello, Operation, PROTOCOL, Refusal, Request, Subscription, ToAgent, Welcome};
use super::tls::{self, Fingerprint};
use super::wire::{self, WireError};
use crate::engine::{Engine, EngineError, ExecSession};
use crate::model::{
    AgentInfo, Container, ContainerAction, ContainerDetail, EngineEvent, EngineStats, EngineVersion, ExecSpec,
    HostSample, Image, ImageDetail, ImageRemoval, Network, NetworkDetail, NewContainer, PruneReport, Transport, Volume,
    VolumeDetail,
};
use crate::tasks::{Stop, Tasks};
use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rustls::pki_types::ServerName;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// Time to connect, finish the TLS handshake and be welcomed.
const CONNECT: Duration = Duration::from_secs(10);
/// Time an agent has to answer a call (bollard's default for the engine).
const CALL: Duration = Duration::from_secs(120);
/// Items of one stream held for a slow reader; beyond that the stream is
/// ended (its owner opens it again: the event watcher catches up).
const STREAM_BUFFER: usize = 1024;

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

/// One connection and its three tasks (write, read, heartbeat): `stop`
/// ends them and waits for them; dropped, they are told to end.
struct Conn {
    link: Arc<Link>,
    welcome: Welcome,
    tasks: Option<Tasks>,
}

impl Conn {
    /// Closes the connection and waits until its tasks have ended.
    async fn stop(mut self) {
        self.link.close("the connection was replaced".into());
        if let Some(tasks) = self.tasks.take() {
            tasks.stop().await;
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.link.close("the connection was replaced".into());
    }
}

/// Runs `work` until it ends or `stop` says to end it.
async fn until_stopped(mut stop: Stop, work: impl std::future::Future<Output = ()>) {
    tokio::select! {
        () = work => {}
        _ = stop.wait_for(|stop| *stop) => {}
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
        self.subscribe_holding(subscription, STREAM_BUFFER)
    }

    /// `subscribe`, holding up to `buffer` items for a slow reader (a
    /// bounded stream may be held whole: it is cut nowhere).
    fn subscribe_holding<S>(&self, subscription: S, buffer: usize) -> BoxStream<'static, Result<S::Item, EngineError>>
    where
        S: Subscription + Send + 'static,
        S::Item: Send + 'static,
    {
        let inner = self.inner.clone();
        let request: Request = subscription.into();
        futures_util::stream::once(async move {
            let (link, _) = inner.connection().await?;
            // One slot more than asked: the error that says the reader fell behind.
            let (tx, rx) = mpsc::channel(buffer + 1);
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
        if let Some(closed) = slot.take() {
            closed.stop().await;
        }
        let conn = self.dial().await.map_err(|reason| self.unreachable(reason))?;
        let open = (conn.link.clone(), conn.welcome.clone());
        *slot = Some(conn);
        Ok(open)
    }

    /// The open connection, without making one: what a ping measures.
    async fn open_link(&self) -> Result<Arc<Link>, EngineError> {
        let slot = self.conn.lock().await;
        let Some(conn) = slot.as_ref() else {
            return Err(self.unreachable("berth is not connected to the agent"));
        };
        match conn.link.closed() {
            None => Ok(conn.link.clone()),
            Some(reason) => Err(self.unreachable(reason)),
        }
    }

    /// One ping and its pong over the open connection.
    async fn ping(&self) -> Result<Duration, EngineError> {
        let link = self.open_link().await?;
        let (tx, rx) = oneshot::channel();
        let id = link.register(Pending::Ping(Instant::now(), tx))?;
        let _forget = Forget { link: &link, id };
        link.send(ToAgent::Ping { id }).await?;
        match tokio::time::timeout(CALL, rx).await {
            Ok(Ok(rtt)) => Ok(rtt),
            Ok(Err(_)) => Err(link.unreachable(link.closed().unwrap_or_else(|| "the connection closed".into()))),
            Err(_) => Err(self.unreachable(format!("the agent did not answer a ping within {CALL:?}"))),
        }
    }

    async fn call<O: Operation>(&self, operation: O) -> Result<O::Reply, EngineError> {
        let request: Request = operation.into();
        let name = request.name();
        let (link, _) = self.connection().await?;
        let (tx, rx) = oneshot::channel();
        let id = link.register(Pending::Call(tx))?;
        let _forget = Forget { link: &link, id };
        link.send(ToAgent::Call {
            id,
            request: serde_json::to_value(&request).unwrap_or_default(),
        })
        .await?;
        let value = match tokio::time::timeout(CALL, rx).await {
            Ok(Ok(answer)) => answer?,
            Ok(Err(_)) => return Err(link.unreachable(link.closed().unwrap_or_else(|| "the connection closed".into()))),
            Err(_) => return Err(self.unreachable(format!("the agent did not answer {name} within {CALL:?}"))),
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
            heartbeat_ms: self.heartbeat.as_millis() as u64,
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

        let (link, queue) = Link::new(&self.host);
        let mut tasks = Tasks::new();
        let (host, every) = (&self.host, self.heartbeat);
        let l = link.clone();
        tasks.spawn(format!("agent-writer:{host}"), |stop| {
            until_stopped(stop, l.write_to(writer, queue))
        });
        let l = link.clone();
        tasks.spawn(format!("agent-reader:{host}"), |stop| {
            until_stopped(stop, l.read_from(reader))
        });
        let l = link.clone();
        tasks.spawn(format!("agent-heartbeat:{host}"), |stop| {
            until_stopped(stop, l.heartbeat(every))
        });
        Ok(Conn {
            link,
            welcome,
            tasks: Some(tasks),
        })
    }
}

/// A refusal in words for whoever set the host up: what the agent refused,
/// its own words, and what to do.
fn refused(url: &AgentUrl, r: protocol::Refused) -> String {
    let (what, hint) = match r.reason {
        Refusal::Token => (
            "berth's token",
            "Is the host's token file the token `berth agent init` printed on that machine?",
        ),
        Refusal::Address => (
            "berth's address",
            "Add berth's address to `allow` in the agent's agent.toml and restart the agent, or connect from an \
             address in it.",
        ),
        Refusal::Protocol => ("berth's protocol version", "Upgrade the older of berth and the agent."),
        Refusal::Busy => (
            "another connection",
            "It serves as many as it will; berth tries again by itself.",
        ),
        Refusal::Handshake | Refusal::Other => ("the connection", ""),
    };
    // The agent's words, shown as text: short, and without control characters.
    let message: String = r.message.chars().filter(|c| !c.is_control()).take(300).collect();
    format!("the agent at {url} refused {what}: {message}. {hint}")
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
        self.inner.ping().await
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

    fn stats(&self, id: &str, every: Duration) -> BoxStream<'static, Result<EngineStats, EngineError>> {
        self.subscribe(protocol::Stats {
            id: id.into(),
            every_ms: every.as_millis().min(u128::from(u64::MAX)) as u64,
        })
    }

    fn logs(
        &self,
        id: &str,
        query: &crate::model::LogQuery,
    ) -> BoxStream<'static, Result<crate::model::LogLine, EngineError>> {
        // A query that does not follow ends by itself, and has at most
        // MAX_TAIL lines (each item holds one or more): held whole, so
        // that a slow download is slow, never cut short. A followed one is
        // ended with an error when its reader falls behind (the hub
        // follows it again from its last line).
        let buffer = if query.follow {
            STREAM_BUFFER
        } else {
            crate::model::MAX_TAIL as usize
        };
        super::logs::lines(self.subscribe_holding(
            protocol::Logs {
                id: id.into(),
                query: query.clone(),
            },
            buffer,
        ))
    }

    async fn exec(&self, id: &str, spec: &ExecSpec) -> Result<ExecSession, EngineError> {
        let (link, _) = self.inner.connection().await?;
        super::exec::open(link, id, spec).await.map_err(|e| match e {
            EngineError::Rejected(m) if m.contains("does not know this request") => EngineError::Rejected(format!(
                "the agent on host {} is older than terminals: upgrade it ({m})",
                self.inner.host
            )),
            other => other,
        })
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

    fn compose(
        &self,
        job: crate::engine::ComposeJob,
    ) -> BoxStream<'static, Result<crate::engine::ComposeItem, EngineError>> {
        // A build's output may be long: held whole rather than cut.
        self.subscribe_holding(protocol::Compose { job }, 1 << 16)
    }

    async fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError> {
        self.call(protocol::TagImage {
            image: image.into(),
            repo: repo.into(),
            tag: tag.into(),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_was_refused_and_what_to_do() {
        let url = AgentUrl::parse("https://10.0.0.6:7443").unwrap();
        let refusal = |reason, message: &str| protocol::Refused {
            reason,
            message: message.into(),
        };
        let token = refused(&url, refusal(Refusal::Token, "the token is not this agent's"));
        assert_eq!(
            token,
            "the agent at https://10.0.0.6:7443 refused berth's token: the token is not this agent's. Is the host's \
             token file the token `berth agent init` printed on that machine?"
        );
        let address = refused(
            &url,
            refusal(Refusal::Address, "10.1.2.3 is not in this agent's allowlist"),
        );
        assert!(address.contains("refused berth's address: 10.1.2.3") && address.contains("`allow`"));
        // A newer agent's reason, in its own words, shown as plain text.
        let other = refused(&url, refusal(Refusal::Other, "moon\u{1b}[31m phase\n"));
        assert_eq!(
            other,
            "the agent at https://10.0.0.6:7443 refused the connection: moon[31m phase."
        );
    }
}
