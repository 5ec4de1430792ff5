//! The agent's side: `berth agent` accepts the core's TLS connections,
//! checks the address against its allowlist and the token in constant
//! time, then answers every call with the engine beside it and refuses,
//! itself, what its limits forbid (`--read-only`, `--no-exec`), so a core
//! that was taken over cannot go past them. It keeps nothing: no database,
//! no state beyond its configuration and the connections open now.
//!
//! A peer that has not shown the token yet costs little and holds nothing
//! a core needs: it has `TLS` to finish its TLS handshake and `HANDSHAKE`
//! to say hello, its first frame is capped at `wire::MAX_HELLO`, its place
//! meanwhile is bounded per address and in all (`gate`: a crowd of idle
//! connections cannot keep a core out), and only a peer with the token
//! takes one of the places for cores. A connection that sends a malformed
//! or oversized frame is closed (told why while it has not said hello
//! yet), and only that one.

mod gate;

use super::addr::Cidr;
use super::protocol::{Answer, FromAgent, Hello, PROTOCOL, Refusal, Refused, Request, ToAgent, Welcome};
use super::wire;
use crate::engine::{Engine, EngineError};
use crate::machine::HostReader;
use crate::model::{HostId, HostLimits, HostSample};
use crate::tasks::Stop;
use futures_util::{StreamExt, stream::BoxStream};
use gate::{Gate, Ticket};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinSet};
use tokio_rustls::server::TlsStream;

/// The oldest core protocol this agent answers.
pub const OLDEST_CORE: u32 = 1;
/// Time from the connection to the end of its TLS handshake: a peer that
/// sends nothing is closed after it. A core needs a few round trips.
const TLS: Duration = Duration::from_secs(5);
/// Time from the connection to its `Hello`.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Connections served at once (each core keeps one). Only a peer that
/// showed the token takes one of these places.
const MAX_CONNECTIONS: usize = 16;
/// Calls answered at once on one connection; more wait their turn.
const MAX_CALLS: usize = 64;
/// Calls and streams under way on one connection, waiting ones included;
/// beyond, a call is refused at once, so that the connection itself (its
/// pings above all) never waits for the engine.
const MAX_WORK: usize = 1024;
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
    /// The places of peers in their handshake.
    gate: Arc<Gate>,
}

type Reader = ReadHalf<TlsStream<TcpStream>>;
type Writer = WriteHalf<TlsStream<TcpStream>>;

/// Serves the core's connections on `listener` until `stop`, then closes
/// them all and returns once their tasks have ended. Each connection is a
/// task of its own (`agent-connection:PEER`), owned here.
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
        gate: Arc::new(Gate::default()),
    });
    tracing::info!(task, address = ?listener.local_addr().ok(), limits = ?shared.limits, "serving");
    let mut open = JoinSet::new();
    // What the log calls each connection's task.
    let mut names: HashMap<tokio::task::Id, String> = HashMap::new();
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
            Some(ended) = open.join_next_with_id(), if !open.is_empty() => {
                joined(ended, &mut names);
                continue;
            }
            _ = stop.changed() => break,
        };
        let ticket = shared.gate.admit(peer.ip(), allowed(&shared.allow, peer.ip()));
        let _ = tcp.set_nodelay(true);
        let (shared, stop) = (shared.clone(), stop.clone());
        let handle = open.spawn(async move {
            if let Err(reason) = connection(tcp, peer, shared, ticket, stop).await {
                tracing::info!(task = "agent", %peer, %reason, "connection ended");
            }
        });
        names.insert(handle.id(), format!("agent-connection:{peer}"));
    }
    // Each connection sees the stop too, and ends as it would on its own.
    let began = tokio::time::Instant::now();
    let mut warned = false;
    while !open.is_empty() {
        match tokio::time::timeout(SLOW_STOP, open.join_next_with_id()).await {
            Ok(Some(ended)) => joined(ended, &mut names),
            Ok(None) => break,
            Err(_) if !warned => {
                warned = true;
                tracing::warn!(task, after = ?began.elapsed(), connections = open.len(), "still stopping; waiting for them");
            }
            Err(_) => {}
        }
    }
    tracing::info!(task, "stopped");
}

/// A connection still ending this long after the stop is named in the log
/// (and still waited for), as `tasks` does.
const SLOW_STOP: Duration = Duration::from_secs(5);

/// Logs a connection's task that failed, and forgets its name.
fn joined(ended: Result<(tokio::task::Id, ()), tokio::task::JoinError>, names: &mut HashMap<tokio::task::Id, String>) {
    let (id, failed) = match ended {
        Ok((id, ())) => (id, None),
        Err(e) => (e.id(), Some(e)),
    };
    let name = names.remove(&id).unwrap_or_default();
    if let Some(e) = failed {
        tracing::error!(task = name, error = %e, "the task failed");
    }
}

/// Logs a task of `peer`'s connection that failed (one ended on purpose did not).
fn failed(name: &str, peer: SocketAddr, ended: Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended
        && e.is_panic()
    {
        tracing::error!(task = name, %peer, error = %e, "the task failed");
    }
}

/// One core's connection, from the handshake to its end; `Err` says why it ended early.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut ticket: Ticket,
    mut stop: Stop,
) -> Result<(), String> {
    let tls_turns = ticket.tls_turns();
    let welcomed = tokio::select! {
        welcomed = ticket.hold(handshake(tcp, peer, &shared, &tls_turns)) => welcomed?,
        _ = stop.wait_for(|stop| *stop) => return Ok(()),
    };
    drop(ticket);
    let Welcomed {
        mut reader,
        mut writer,
        place: _place,
        silence,
    } = welcomed;

    // The writer, a task of this connection's: it sends what the calls
    // queue while the connection reads on.
    let (outbox, mut queue) = mpsc::channel::<FromAgent>(OUTBOX);
    let mut sending = JoinSet::new();
    sending.spawn(async move {
        if let Err(e) = wire::send_queued(&mut writer, &mut queue).await {
            tracing::debug!(task = "agent-sender", %peer, error = %e, "cannot send");
        }
    });
    // The calls and streams being answered.
    let mut work = JoinSet::new();
    let calls = Arc::new(Semaphore::new(MAX_CALLS));
    let mut streams: HashMap<u64, AbortHandle> = HashMap::new();
    // The terminals (`Exec`), which end their processes when they stop.
    let mut terminals = super::exec::Inputs::default();
    let mut sender_ended = false;
    let ended = loop {
        // Nothing else may end a read half way (a frame's first bytes would
        // be lost with it): only the connection's end, the core's silence or
        // the agent's stop.
        let next = async {
            match silence {
                Some(limit) => tokio::time::timeout(limit, wire::read::<ToAgent, _>(&mut reader))
                    .await
                    .ok(),
                None => Some(wire::read::<ToAgent, _>(&mut reader).await),
            }
        };
        let frame = tokio::select! {
            frame = next => frame,
            // The writer stopped: the connection is gone.
            Some(ended) = sending.join_next() => {
                failed("agent-sender", peer, ended);
                sender_ended = true;
                break Ok(());
            }
            // The agent stops: the connection ends as if the core had gone.
            _ = stop.wait_for(|stop| *stop) => break Ok(()),
        };
        // The calls answered meanwhile.
        while let Some(ended) = work.try_join_next() {
            failed("agent-call", peer, ended);
        }
        let frame = match frame {
            Some(Ok(f)) => f,
            Some(Err(wire::WireError::Closed)) => break Ok(()),
            Some(Err(e)) => {
                tracing::warn!(task = "agent", %peer, error = %e, "closing the connection");
                break Err(e.to_string());
            }
            None => {
                let limit = silence.unwrap_or_default();
                tracing::warn!(task = "agent", %peer, ?limit, "closing the connection: the core went silent");
                break Err(format!(
                    "the core sent nothing for {limit:?}, though it said it pings more often"
                ));
            }
        };
        let (id, request) = match frame {
            ToAgent::Ping { id } => {
                if outbox.send(FromAgent::Pong { id }).await.is_err() {
                    break Ok(());
                }
                continue;
            }
            ToAgent::Cancel { id } => {
                if !terminals.cancel(id)
                    && let Some(h) = streams.remove(&id)
                {
                    h.abort();
                }
                continue;
            }
            ToAgent::Input { id, data } => {
                terminals.send(id, super::exec::Typed::Data(data.into()));
                continue;
            }
            ToAgent::Resize { id, cols, rows } => {
                terminals.send(id, super::exec::Typed::Resize(cols, rows));
                continue;
            }
            ToAgent::Hello(_) => break Err("a second hello".into()),
            ToAgent::Call { id, request } => (id, request),
        };
        let request = match admit(shared.limits, request, work.len() + terminals.under_way()) {
            Ok(request) => request,
            Err(error) => {
                let reply = FromAgent::Reply {
                    id,
                    result: Answer::Err(error),
                };
                if outbox.send(reply).await.is_err() {
                    break Ok(());
                }
                continue;
            }
        };
        let (shared, outbox) = (shared.clone(), outbox.clone());
        match request {
            Request::Exec(exec) => terminals.start(shared.engine.clone(), id, exec, outbox),
            Request::Events(_) | Request::Stats(_) | Request::Logs(_) | Request::Compose(_) => {
                streams.retain(|_, h| !h.is_finished());
                let handle = work.spawn(async move { stream(&shared, id, request, &outbox).await });
                if let Some(old) = streams.insert(id, handle) {
                    old.abort();
                }
            }
            _ => {
                // The call waits for its turn in its own task: reading goes on meanwhile.
                let calls = calls.clone();
                work.spawn(async move {
                    let Ok(_turn) = calls.acquire_owned().await else { return };
                    let result = match answer(&shared, request).await {
                        Ok(v) => Answer::Ok(v),
                        Err(e) => Answer::Err(e),
                    };
                    let _ = outbox.send(FromAgent::Reply { id, result }).await;
                });
            }
        }
    };
    // Terminals first: their processes are hung up while the writer still sends.
    terminals.close().await;
    work.abort_all();
    while let Some(ended) = work.join_next().await {
        failed("agent-call", peer, ended);
    }
    if !sender_ended {
        sending.abort_all();
        while let Some(ended) = sending.join_next().await {
            failed("agent-sender", peer, ended);
        }
    }
    tracing::info!(task = "agent", %peer, "core disconnected");
    ended
}

/// A core past the handshake.
struct Welcomed {
    reader: Reader,
    writer: Writer,
    /// Its place among the `MAX_CONNECTIONS`, held while it is connected.
    place: OwnedSemaphorePermit,
    /// How long it may send nothing, from the heartbeat it said it keeps.
    silence: Option<Duration>,
}

/// How long a core that pings every `heartbeat_ms` may send nothing before
/// the agent takes it for gone (its place is then free for it again):
/// three heartbeats, and never less than a handshake's time. None when the
/// core does not say (an older berth).
fn allowed_silence(heartbeat_ms: u64) -> Option<Duration> {
    (heartbeat_ms > 0).then(|| (Duration::from_millis(heartbeat_ms) * 3).max(HANDSHAKE))
}

/// From a TCP connection to a welcomed core: TLS within `TLS` (taking a
/// turn of its source's `tls_turns` for it), the allowlist, a hello with
/// the token within `HANDSHAKE`, a protocol both speak and a free place.
/// Each refusal is sent inside TLS, so that the core can say why, and
/// closes the connection; `Err` says why, for the log.
async fn handshake(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    tls_turns: &Semaphore,
) -> Result<Welcomed, String> {
    let connected = tokio::time::Instant::now();
    let deadline = connected + HANDSHAKE;
    let tls = tokio::time::timeout_at(connected + TLS, async {
        let _turn = tls_turns.acquire().await;
        shared.acceptor.accept(tcp).await
    })
    .await
    .map_err(|_| "no TLS handshake in time".to_string())?
    .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let (mut reader, mut writer) = tokio::io::split(tls);
    let ip = peer.ip();
    if !allowed(&shared.allow, ip) {
        let blocks: Vec<String> = shared.allow.iter().map(Cidr::to_string).collect();
        tracing::warn!(task = "agent", %peer, allow = %blocks.join(", "), "refused: the address is not in the allowlist");
        return refuse(
            &mut writer,
            Refusal::Address,
            format!("{ip} is not in this agent's allowlist (`allow` in its agent.toml)"),
        )
        .await;
    }
    let hello = match tokio::time::timeout_at(deadline, wire::read_at_most(&mut reader, wire::MAX_HELLO)).await {
        Err(_) => return Err("no hello in time".into()),
        Ok(Err(wire::WireError::Closed)) => return Err("closed before saying hello".into()),
        Ok(Err(wire::WireError::Io(e))) => return Err(format!("no hello: {e}")),
        // Too large, empty, not JSON or not a frame of this protocol.
        Ok(Err(e)) => {
            return refuse(
                &mut writer,
                Refusal::Handshake,
                format!("the first frame must be a hello ({e})"),
            )
            .await;
        }
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
    let Hello {
        protocol,
        core,
        token,
        heartbeat_ms,
    } = hello;
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
    let Ok(place) = shared.connections.clone().try_acquire_owned() else {
        tracing::warn!(task = "agent", %peer, "refused: {MAX_CONNECTIONS} cores are connected already");
        return refuse(
            &mut writer,
            Refusal::Busy,
            format!("this agent already serves {MAX_CONNECTIONS} connections"),
        )
        .await;
    };
    let welcome = Welcome {
        protocol: protocol.min(PROTOCOL),
        agent: env!("CARGO_PKG_VERSION").to_string(),
        limits: shared.limits,
    };
    wire::write(&mut writer, &FromAgent::Welcome(welcome))
        .await
        .map_err(|e| e.to_string())?;
    shared.gate.remember(ip);
    let core: String = core.chars().filter(|c| !c.is_control()).take(64).collect();
    tracing::info!(task = "agent", %peer, core, heartbeat_ms, "core connected");
    Ok(Welcomed {
        reader,
        writer,
        place,
        silence: allowed_silence(heartbeat_ms),
    })
}

/// Sends the refusal, closes the connection as TLS should (close_notify),
/// and returns why, for the log.
async fn refuse<T>(writer: &mut Writer, reason: Refusal, message: String) -> Result<T, String> {
    let frame = FromAgent::Refused(Refused {
        reason,
        message: message.clone(),
    });
    let _ = wire::write(writer, &frame).await;
    let _ = writer.shutdown().await;
    Err(format!("refused: {message}"))
}

/// A call's request, or the refusal to answer at once: a request this agent
/// does not know, one its limits forbid, or one too many under way.
fn admit(limits: HostLimits, request: Value, under_way: usize) -> Result<Request, EngineError> {
    let request = serde_json::from_value::<Request>(request).map_err(|e| {
        EngineError::Rejected(format!(
            "this agent (protocol {PROTOCOL}) does not know this request: {e}"
        ))
    })?;
    if let Some(refusal) = forbidden(limits, &request) {
        return Err(refusal);
    }
    if under_way >= MAX_WORK {
        return Err(EngineError::Engine(format!(
            "the agent has {MAX_WORK} calls under way on this connection already; try again when they are done"
        )));
    }
    Ok(request)
}

/// What the agent's limits forbid, whoever asks.
fn forbidden(limits: HostLimits, request: &Request) -> Option<EngineError> {
    if request.executes() && !limits.allows_exec() {
        let flag = if limits.read_only { "--read-only" } else { "--no-exec" };
        return Some(EngineError::Forbidden(format!(
            "this host's agent refuses terminals and other commands in containers (it was started with {flag})"
        )));
    }
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
        Request::TagImage(r) => to_value(engine.tag_image(&r.image, &r.repo, &r.tag).await?),
        Request::Events(_) | Request::Stats(_) | Request::Logs(_) | Request::Exec(_) | Request::Compose(_) => {
            Err(EngineError::Rejected("a stream is not a call".into()))
        }
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
        Request::Stats(r) => shared
            .engine
            .stats(&r.id, Duration::from_millis(r.every_ms))
            .map(|i| i.and_then(to_value))
            .boxed(),
        Request::Logs(r) => match r.query.validate() {
            Ok(()) => super::logs::batches(shared.engine.logs(&r.id, &r.query))
                .map(|i| i.and_then(to_value))
                .boxed(),
            Err(why) => futures_util::stream::iter([Err(EngineError::Rejected(why))]).boxed(),
        },
        Request::Compose(r) => crate::stacks::agent::run(r.job).map(|i| i.and_then(to_value)).boxed(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::protocol::{Act, Containers};
    use crate::model::ContainerAction;

    #[test]
    fn a_core_may_be_silent_for_three_heartbeats_and_never_less_than_a_handshake() {
        assert_eq!(allowed_silence(0), None, "an older core, which does not say");
        assert_eq!(allowed_silence(1_000), Some(HANDSHAKE));
        assert_eq!(allowed_silence(5_000), Some(Duration::from_secs(15)));
        assert_eq!(allowed_silence(3_600_000), Some(Duration::from_secs(3 * 3600)));
    }

    #[test]
    fn limits_and_the_allowlist_decide_alone() {
        let kill = Request::from(Act {
            id: "web".into(),
            action: ContainerAction::Kill,
        });
        let read_only = HostLimits {
            read_only: true,
            no_exec: false,
        };
        let refusal = forbidden(read_only, &kill).unwrap();
        assert!(matches!(&refusal, EngineError::Forbidden(m) if m.contains("read-only") && m.contains("Act")));
        assert_eq!(forbidden(read_only, &Request::from(Containers {})), None);
        assert_eq!(forbidden(HostLimits::default(), &kill), None);

        // A call is admitted, or refused at once with a reason.
        let wire = |r: Request| serde_json::to_value(r).unwrap();
        let list = Request::from(Containers {});
        assert_eq!(admit(read_only, wire(list.clone()), 0), Ok(list.clone()));
        assert_eq!(admit(read_only, wire(kill.clone()), 0), Err(refusal));
        let unknown = admit(
            HostLimits::default(),
            serde_json::json!({"op": "Format", "args": {}}),
            0,
        );
        assert!(matches!(unknown, Err(EngineError::Rejected(m)) if m.contains("does not know this request")));
        let crowded = admit(HostLimits::default(), wire(list), MAX_WORK);
        assert!(matches!(crowded, Err(EngineError::Engine(m)) if m.contains("under way")));

        let lan = [Cidr::parse("10.0.0.0/8").unwrap()];
        assert!(allowed(&[], "127.0.0.1".parse().unwrap()), "no allowlist: anyone");
        assert!(allowed(&lan, "10.1.2.3".parse().unwrap()));
        assert!(!allowed(&lan, "127.0.0.1".parse().unwrap()));
        assert!(constant_time_eq(&[7; 32], &[7; 32]) && !constant_time_eq(&[7; 32], &[8; 32]));
    }
}
