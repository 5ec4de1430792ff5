//! The agent's side: `berth agent` accepts the core's TLS connections,
//! checks the address against its allowlist and the token in constant
//! time, then answers every call with the engine beside it and refuses,
//! itself, what its limits forbid (`--read-only`, `--no-exec`), so a core
//! that was taken over cannot go past them. It keeps nothing: no database,
//! no state beyond its configuration and the connections open now.
//!
//! A connection that sends a malformed or oversized frame is closed, and
//! only that one.

use super::addr::Cidr;
use super::protocol::{Answer, FromAgent, Hello, PROTOCOL, Refusal, Refused, Request, ToAgent, Welcome};
use super::wire;
use crate::hosts::{Engine, EngineError};
use crate::model::{HostId, HostLimits, HostSample};
use crate::stats::HostReader;
use crate::tasks::Stop;
use futures_util::{StreamExt, stream::BoxStream};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinSet};

/// The oldest core protocol this agent answers.
pub const OLDEST_CORE: u32 = 1;
/// Time for the TLS handshake and the `Hello` together.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Connections served at once (each core keeps one).
const MAX_CONNECTIONS: usize = 16;
/// Calls answered at once on one connection; more wait.
const MAX_CALLS: usize = 64;
/// Frames queued for sending on one connection.
const OUTBOX: usize = 256;

/// What an agent needs to serve.
pub struct AgentOptions {
    pub token: String,
    pub tls: Arc<rustls::ServerConfig>,
    /// Who may connect; everyone when empty.
    pub allow: Vec<Cidr>,
    pub limits: HostLimits,
}

impl std::fmt::Debug for AgentOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOptions")
            .field("token", &"<redacted>")
            .field("allow", &self.allow)
            .field("limits", &self.limits)
            .finish()
    }
}

struct Shared {
    token_hash: [u8; 32],
    acceptor: tokio_rustls::TlsAcceptor,
    allow: Vec<Cidr>,
    limits: HostLimits,
    engine: Arc<dyn Engine>,
    /// This machine's readings; made on first use (sysinfo is not free).
    machine: Mutex<Option<Arc<Mutex<HostReader>>>>,
    connections: Arc<Semaphore>,
}

/// Serves the core's connections on `listener` until `stop`, then closes
/// them all and returns once their tasks have ended.
pub async fn serve(listener: TcpListener, options: AgentOptions, engine: Arc<dyn Engine>, mut stop: Stop) {
    let task = "agent";
    let shared = Arc::new(Shared {
        token_hash: Sha256::digest(options.token.as_bytes()).into(),
        acceptor: tokio_rustls::TlsAcceptor::from(options.tls),
        allow: options.allow,
        limits: options.limits,
        engine,
        machine: Mutex::new(None),
        connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
    });
    tracing::info!(task, address = ?listener.local_addr().ok(), limits = ?shared.limits, "serving");
    let mut open = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(task, error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            Some(_) = open.join_next(), if !open.is_empty() => continue,
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        open.spawn(async move {
            if let Err(reason) = connection(tcp, peer, shared).await {
                tracing::info!(task = "agent", %peer, %reason, "connection ended");
            }
        });
    }
    open.shutdown().await;
    tracing::info!(task, "stopped");
}

/// One core's connection, from the handshake to its end; `Err` says why it ended early.
async fn connection(tcp: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<Shared>) -> Result<(), String> {
    let ip = peer.ip();
    let allowed = allowed(&shared.allow, ip);
    let tls = tokio::time::timeout(HANDSHAKE, shared.acceptor.accept(tcp))
        .await
        .map_err(|_| "no TLS handshake in time".to_string())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let (mut reader, mut writer) = tokio::io::split(tls);
    // The refusals are sent inside TLS, so the core can say why.
    if !allowed {
        tracing::warn!(task = "agent", %peer, "refused: the address is not in the allowlist");
        return refuse(
            &mut writer,
            Refusal::Address,
            format!("this agent does not accept connections from {ip}"),
        )
        .await;
    }
    let Ok(_permit) = shared.connections.clone().try_acquire_owned() else {
        return refuse(
            &mut writer,
            Refusal::Busy,
            format!("this agent already serves {MAX_CONNECTIONS} connections"),
        )
        .await;
    };
    let hello = match tokio::time::timeout(HANDSHAKE, wire::read::<ToAgent, _>(&mut reader)).await {
        Err(_) => return Err("no hello in time".into()),
        Ok(Err(e)) => return Err(format!("no hello: {e}")),
        Ok(Ok(ToAgent::Hello(h))) => h,
        Ok(Ok(_)) => {
            return refuse(
                &mut writer,
                Refusal::Handshake,
                "the first frame must be a hello".into(),
            )
            .await;
        }
    };
    let Hello { protocol, core, token } = hello;
    let token_hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if !constant_time_eq(&token_hash, &shared.token_hash) {
        tracing::warn!(task = "agent", %peer, "refused: wrong token");
        // A guess costs the guesser a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        return refuse(&mut writer, Refusal::Token, "the token is not this agent's".into()).await;
    }
    if protocol < OLDEST_CORE {
        return refuse(
            &mut writer,
            Refusal::Protocol,
            format!(
                "this agent speaks protocol {OLDEST_CORE} to {PROTOCOL}; the core speaks {protocol}: upgrade berth"
            ),
        )
        .await;
    }
    let welcome = Welcome {
        protocol: protocol.min(PROTOCOL),
        agent: env!("CARGO_PKG_VERSION").to_string(),
        limits: shared.limits,
    };
    wire::write(&mut writer, &FromAgent::Welcome(welcome))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(task = "agent", %peer, core, "core connected");

    let (outbox, mut queue) = mpsc::channel::<FromAgent>(OUTBOX);
    let mut sending = tokio::spawn(async move {
        while let Some(frame) = queue.recv().await {
            if let Err(e) = wire::write(&mut writer, &frame).await {
                tracing::debug!(task = "agent", error = %e, "cannot send");
                break;
            }
        }
    });
    // The calls and streams being answered.
    let mut work = JoinSet::new();
    let calls = Arc::new(Semaphore::new(MAX_CALLS));
    let mut streams: HashMap<u64, AbortHandle> = HashMap::new();
    let ended = loop {
        let frame = tokio::select! {
            frame = wire::read::<ToAgent, _>(&mut reader) => frame,
            // The writer stopped: the connection is gone.
            _ = &mut sending => break Ok(()),
            Some(_) = work.join_next(), if !work.is_empty() => continue,
        };
        let frame = match frame {
            Ok(f) => f,
            Err(wire::WireError::Closed) => break Ok(()),
            Err(e) => {
                tracing::warn!(task = "agent", %peer, error = %e, "closing the connection");
                break Err(e.to_string());
            }
        };
        match frame {
            ToAgent::Ping { id } => {
                if outbox.send(FromAgent::Pong { id }).await.is_err() {
                    break Ok(());
                }
            }
            ToAgent::Cancel { id } => {
                if let Some(h) = streams.remove(&id) {
                    h.abort();
                }
            }
            ToAgent::Hello(_) => break Err("a second hello".into()),
            ToAgent::Call { id, request } => {
                let request = match serde_json::from_value::<Request>(request) {
                    Ok(r) => r,
                    Err(e) => {
                        let error = EngineError::Rejected(format!(
                            "this agent (protocol {PROTOCOL}) does not know this request: {e}"
                        ));
                        let _ = outbox
                            .send(FromAgent::Reply {
                                id,
                                result: Answer::Err(error),
                            })
                            .await;
                        continue;
                    }
                };
                if let Some(refusal) = forbidden(shared.limits, &request) {
                    let _ = outbox
                        .send(FromAgent::Reply {
                            id,
                            result: Answer::Err(refusal),
                        })
                        .await;
                    continue;
                }
                let (shared, outbox) = (shared.clone(), outbox.clone());
                match request {
                    Request::Events(_) | Request::Stats(_) => {
                        streams.retain(|_, h| !h.is_finished());
                        let handle = work.spawn(async move { stream(&shared, id, request, &outbox).await });
                        if let Some(old) = streams.insert(id, handle) {
                            old.abort();
                        }
                    }
                    _ => {
                        let permit = calls.clone().acquire_owned().await;
                        work.spawn(async move {
                            let _permit = permit;
                            let result = match answer(&shared, request).await {
                                Ok(v) => Answer::Ok(v),
                                Err(e) => Answer::Err(e),
                            };
                            let _ = outbox.send(FromAgent::Reply { id, result }).await;
                        });
                    }
                }
            }
        }
    };
    work.shutdown().await;
    sending.abort();
    let _ = sending.await;
    tracing::info!(task = "agent", %peer, "core disconnected");
    ended
}

async fn refuse<W: AsyncWrite + Unpin>(writer: &mut W, reason: Refusal, message: String) -> Result<(), String> {
    let frame = FromAgent::Refused(Refused {
        reason,
        message: message.clone(),
    });
    let _ = wire::write(writer, &frame).await;
    Err(format!("refused: {message}"))
}

/// What the agent's limits forbid, whoever asks.
fn forbidden(limits: HostLimits, request: &Request) -> Option<EngineError> {
    (limits.read_only && request.changes()).then(|| {
        EngineError::Forbidden(format!(
            "this host's agent is read-only: it refuses {} (it was started with --read-only)",
            request.name()
        ))
    })
}

fn to_value<T: Serialize>(value: T) -> Result<Value, EngineError> {
    serde_json::to_value(value).map_err(|e| EngineError::Engine(format!("cannot encode the answer: {e}")))
}

/// One call's answer, from the engine (or the machine).
async fn answer(shared: &Shared, request: Request) -> Result<Value, EngineError> {
    let engine = shared.engine.as_ref();
    match request {
        Request::Version(_) => to_value(engine.connect().await?),
        Request::Machine(_) => to_value(machine(shared).await?),
        Request::Containers(_) => to_value(engine.containers().await?),
        Request::RestartCount(r) => to_value(engine.restart_count(&r.id).await?),
        Request::Inspect(r) => to_value(engine.inspect(&r.id).await?),
        Request::EnvValue(r) => to_value(engine.env_value(&r.id, &r.name).await?),
        Request::Act(r) => to_value(engine.act(&r.id, r.action).await?),
        Request::Create(r) => {
            r.container.validate().map_err(EngineError::Rejected)?;
            to_value(engine.create(&r.container).await?)
        }
        Request::Images(_) => to_value(engine.images().await?),
        Request::ImageInfo(r) => to_value(engine.image(&r.reference).await?),
        Request::RemoveImage(r) => to_value(engine.remove_image(&r.reference, r.force).await?),
        Request::PruneImages(r) => to_value(engine.prune_images(r.label.as_deref()).await?),
        Request::Networks(_) => to_value(engine.networks().await?),
        Request::NetworkInfo(r) => to_value(engine.network(&r.id).await?),
        Request::RemoveNetwork(r) => to_value(engine.remove_network(&r.id).await?),
        Request::PruneNetworks(r) => to_value(engine.prune_networks(r.label.as_deref()).await?),
        Request::Volumes(_) => to_value(engine.volumes().await?),
        Request::VolumeInfo(r) => to_value(engine.volume(&r.name).await?),
        Request::RemoveVolume(r) => to_value(engine.remove_volume(&r.name, r.force).await?),
        Request::PruneVolumes(r) => to_value(engine.prune_volumes(r.label.as_deref()).await?),
        Request::Events(_) | Request::Stats(_) => Err(EngineError::Rejected("a stream is not a call".into())),
    }
}

/// Sends a stream's items, then its end.
async fn stream(shared: &Shared, id: u64, request: Request, outbox: &mpsc::Sender<FromAgent>) {
    let items: BoxStream<'static, Result<Value, EngineError>> = match request {
        Request::Events(r) => shared
            .engine
            .events(r.since_ns, r.until_ns)
            .map(|i| i.and_then(to_value))
            .boxed(),
        Request::Stats(r) => shared.engine.stats(&r.id).map(|i| i.and_then(to_value)).boxed(),
        _ => return,
    };
    futures_util::pin_mut!(items);
    let mut error = None;
    while let Some(item) = items.next().await {
        match item {
            Ok(value) => {
                if outbox.send(FromAgent::Item { id, value }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let _ = outbox.send(FromAgent::End { id, error }).await;
}

/// A reading of this machine.
async fn machine(shared: &Shared) -> Result<HostSample, EngineError> {
    let existing = shared.machine.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let reader = match existing {
        Some(r) => r,
        None => {
            let made = tokio::task::spawn_blocking(|| HostReader::new(HostId("agent".into())))
                .await
                .map_err(|e| EngineError::Engine(e.to_string()))?
                .map_err(EngineError::Engine)?;
            let made = Arc::new(Mutex::new(made));
            shared
                .machine
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(made)
                .clone()
        }
    };
    let at_ms = crate::events::now_ns() / 1_000_000;
    tokio::task::spawn_blocking(move || reader.lock().unwrap_or_else(|p| p.into_inner()).read(at_ms))
        .await
        .map_err(|e| EngineError::Engine(e.to_string()))
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `ip` may connect under `allow` (everyone when it is empty).
pub fn allowed(allow: &[Cidr], ip: IpAddr) -> bool {
    allow.is_empty() || allow.iter().any(|c| c.contains(ip))
}
