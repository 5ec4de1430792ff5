//! `run`: opens the database, starts the services and background tasks
//! (the hosts: `local`, the configuration's, then those added at run time),
//! serves HTTP on the given listener until `shutdown` resolves, then stops
//! every task and waits for it (the server's own, and each host's), and
//! only then records the stop, signs a last checkpoint and closes the log.

use crate::config::{Config, HostKind, WitnessConfig};
use crate::http;
use anyhow::Context;
use axum::serve::ListenerExt;
use berth_core::Berth;
use berth_core::auth::{Auth, RedbSessionStore};
use berth_core::events::{Checkpointer, EventLog};
use berth_core::health::Health;
use berth_core::hosts::{ConfiguredHost, Host, HostAdmin, Hosts};
use berth_core::logs::stored::StoredLogs;
use berth_core::model::{Actor, EventKind, NewEvent, Outcome};
use berth_core::stats::Stats;
use berth_core::store::Store;
use berth_core::tasks::{Stop, Tasks};
use berth_core::terminal::Terminals;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_sessions::ExpiredDeletion;

/// How often expired sessions are purged.
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(60);
/// How long websockets get to close once the server stops.
const SOCKETS_CLOSE_WITHIN: Duration = Duration::from_secs(10);
const VERSION: &str = env!("CARGO_PKG_VERSION");

pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local = listener.local_addr().context("the listener has no address")?;
    let path = config.db_path();
    let cache = config.db_cache_bytes();
    let store = tokio::task::spawn_blocking(move || Store::open_with_cache(&path, cache)).await??;
    let events = EventLog::open(&store)?;
    let auth = {
        let (store, events) = (store.clone(), events.clone());
        tokio::task::spawn_blocking(move || Auth::new(store, events)).await?
    };
    let local_host = Host::local(events.clone())?.with_heartbeat(config.stats().interval);
    // Remote engines and agents from `[[hosts]]` (checked when the config was read).
    let heartbeat = config.stats().interval;
    let remote_hosts = config
        .hosts
        .iter()
        .map(|h| match h.kind().map_err(anyhow::Error::msg)? {
            HostKind::Tls(tls) => Ok(Host::tls(&h.name, &tls, events.clone())?.with_heartbeat(heartbeat)),
            HostKind::Agent(agent) => Ok(Host::agent(&h.name, agent, heartbeat, events.clone())?),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let hosts = Hosts::new();
    let (stats, health) = {
        let (store, events, hosts, stats_config) = (store.clone(), events.clone(), hosts.clone(), config.stats());
        tokio::task::spawn_blocking(move || {
            Ok::<_, anyhow::Error>((
                Stats::open(store.clone(), stats_config)?,
                Health::open(store, events, hosts)?,
            ))
        })
        .await??
    };
    let checkpoints = {
        let (events, dir) = (events.clone(), config.data_dir.clone());
        tokio::task::spawn_blocking(move || Checkpointer::open(&events, &dir)).await??
    };
    tracing::info!(key = %checkpoints.verifier(), "the event log's checkpoints are signed with this key");
    // Hosts added later (page, REST, `berth host add`) get the same heartbeat.
    let host_admin = HostAdmin::new(
        store.clone(),
        events.clone(),
        hosts.clone(),
        auth.clone(),
        heartbeat,
        config.hosts.iter().map(configured).collect(),
    );
    auth.set_ticket_ttl(Duration::from_secs(u64::from(config.ticket_ttl_secs)));
    let terminals = Terminals::new(
        store.clone(),
        events.clone(),
        hosts.clone(),
        auth.clone(),
        config.terminal.core(),
    );
    // A budget lowered since the last run applies now, not at the next session's end.
    terminals.prune_recordings().await;
    // Each host's live log streams run under its supervisor.
    let logs = berth_core::logs::LogHub::new(&hosts, config.logs.clone());
    let stored_logs = {
        let (store, events, hosts, budgets) = (
            store.clone(),
            events.clone(),
            hosts.clone(),
            config.stored_logs.budgets(),
        );
        tokio::task::spawn_blocking(move || StoredLogs::open(store, events, hosts, budgets)).await??
    };
    let alerts = {
        let settings = berth_core::alerts::AlertSettings {
            delivery: config.alerts.delivery(config.public_origin()),
            own: vec![local],
            public_url: config.public_origin(),
        };
        let (store, events, hosts, health, stats, logs) = (
            store.clone(),
            events.clone(),
            hosts.clone(),
            health.clone(),
            stats.clone(),
            logs.clone(),
        );
        tokio::task::spawn_blocking(move || {
            berth_core::alerts::Alerts::open(store, events, hosts, health, stats, logs, settings)
        })
        .await??
    };
    let stacks = berth_core::stacks::Stacks::new(
        store.clone(),
        events.clone(),
        hosts.clone(),
        config.data_dir.join("stacks"),
    )
    .with_repo_cap(u64::from(config.stacks_repo_max_mib) << 20);
    let ended = stacks.recover().await?;
    if ended > 0 {
        tracing::warn!(
            deploys = ended,
            "deploys left unfinished by the last run were marked failed"
        );
    }
    let berth = Berth {
        stacks,
        alerts,
        stored_logs: stored_logs.clone(),
        logs,
        terminals,
        checkpoints: checkpoints.clone(),
        store: store.clone(),
        events: events.clone(),
        auth: auth.clone(),
        hosts: hosts.clone(),
        host_admin: host_admin.clone(),
        stats: stats.clone(),
        health: health.clone(),
    };
    events
        .append(
            NewEvent::new(EventKind::ServerStart, Actor::system()).details(serde_json::json!({
                "version": VERSION,
                "listen": local.to_string(),
                "data": store.path().display().to_string(),
            })),
        )
        .await?;

    // From here on, whatever happens, every task is stopped and awaited
    // before the stop is recorded and the log closed.
    let mut tasks = Tasks::new();
    let served = async {
        let sessions = RedbSessionStore::new(store.clone(), events.clone());
        health.watch_each_host();
        stored_logs.collect_each_host();
        hosts.add(local_host)?;
        for host in remote_hosts {
            hosts.add(host)?;
        }
        let added = host_admin.start_added().await?;
        if added > 0 {
            tracing::info!(hosts = added, "started the hosts added at run time");
        }
        spawn_tasks(&mut tasks, &berth, sessions.clone(), config.witnesses.clone());
        serve(listener, berth, &config, sessions, local, shutdown).await
    }
    .await;
    if let Err(e) = &served {
        tracing::error!(error = format!("{e:#}"), "berth is stopping after an error");
    }
    tokio::join!(tasks.stop(), hosts.shutdown());

    let stop = NewEvent::new(EventKind::ServerStop, Actor::system());
    let stop = match &served {
        Ok(()) => stop,
        Err(e) => stop.outcome(Outcome::Error(format!("{e:#}"))),
    };
    events.append(stop).await?;
    // The kept checkpoint covers the log up to the stop, so that whatever
    // happens to the file while berth is down is caught at the next start.
    if let Err(e) = checkpoints.sign(Actor::system()).await {
        tracing::error!(error = %e, "no checkpoint at stop");
    }
    events.close().await?;
    tracing::info!("berth stopped");
    served
}

/// A `[[hosts]]` entry as the admin's host list shows it (no token).
fn configured(h: &crate::config::HostConfig) -> ConfiguredHost {
    let fingerprint = h
        .fingerprint
        .as_deref()
        .map(|f| berth_core::agent::Fingerprint::parse(f).map_or_else(|_| f.to_string(), |f| f.to_string()));
    ConfiguredHost {
        name: h.name.clone(),
        address: h.agent.clone().or_else(|| h.url.clone()),
        fingerprint,
    }
}

/// The background tasks of the server as a whole (each host's own run
/// under its supervisor, in `Hosts`).
fn spawn_tasks(tasks: &mut Tasks, berth: &Berth, sessions: RedbSessionStore, witnesses: Vec<WitnessConfig>) {
    let (events, checkpoints) = (berth.events.clone(), berth.checkpoints.clone());
    tasks.spawn("chain-check", |_| chain_check(events, checkpoints));
    tasks.spawn("session-purge", |stop| purge_sessions(sessions, stop));
    let (stats, hosts) = (berth.stats.clone(), berth.hosts.clone());
    tasks.spawn("stats-collector", |stop| stats.run(hosts, stop));
    let stored_logs = berth.stored_logs.clone();
    tasks.spawn("stored-logs-writer", |stop| stored_logs.run(stop));
    let checkpoints = berth.checkpoints.clone();
    tasks.spawn("checkpoint-signer", |stop| checkpoints.run(stop));
    let alerts = berth.alerts.clone();
    tasks.spawn("alert-delivery", |stop| alerts.deliveries().run(stop));
    let alerts = berth.alerts.clone();
    tasks.spawn("alerts", |stop| alerts.run(stop));
    let (events, checkpoints) = (berth.events.clone(), berth.checkpoints.clone());
    // The pushers run in a set of their own, which this stops and waits for.
    tasks.spawn("witness", |stop| {
        crate::witness::run(checkpoints, events, witnesses, stop)
    });
}

/// Serves HTTP until `shutdown` resolves, then until every request is
/// answered and every websocket closed (they hold the services).
async fn serve(
    listener: TcpListener,
    berth: Berth,
    config: &Config,
    sessions: RedbSessionStore,
    local: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let base = config
        .public_origin()
        .unwrap_or_else(|| format!("http://{}", printable(local)));
    if let Some(token) = berth.auth.open_setup().await? {
        // The console, not the log: the link is a one-time secret.
        println!(
            "\n  berth has no users yet. Create the first admin with this one-time link:\n\n    {base}/setup?token={token}\n"
        );
    }
    // Every copy of the router's state holds a receiver of `stopping`.
    let (stopping, stopping_rx) = watch::channel(false);
    let app = http::router(berth, config, sessions, local, stopping_rx)?;
    tracing::info!(%local, version = VERSION, "berth is serving on {base}");

    // Pages stream in several writes; without TCP_NODELAY each later write
    // waits for the client's delayed ACK (about 40 ms a page).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let signal = stopping.clone();
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            signal.send_replace(true);
        })
        .await
        .context("the HTTP server failed");
    // A websocket outlives its HTTP connection: wait until the last one has
    // closed and let go of the state (and so of the services).
    stopping.send_replace(true);
    if tokio::time::timeout(SOCKETS_CLOSE_WITHIN, stopping.closed())
        .await
        .is_err()
    {
        tracing::warn!("a websocket is still closing; stopping anyway");
    }
    served
}

/// 0.0.0.0 is where berth listens, not an address to browse to.
fn printable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// Walks the hash chain once at start-up; a broken chain is logged and
/// recorded. Not cut short by a stop: the walk runs on a blocking thread
/// that holds the store, so the server waits for it.
async fn chain_check(events: EventLog, checkpoints: Checkpointer) {
    tracing::debug!(task = "chain-check", "started");
    match events.verify(checkpoints.latest().as_deref()).await {
        Ok(status) if status.is_ok() => {
            tracing::info!(
                task = "chain-check",
                events = status.checked,
                "event log hash chain intact"
            );
        }
        Ok(status) => {
            let problem = status.problem.clone().unwrap_or_default();
            tracing::error!(task = "chain-check", %problem, "event log hash chain is BROKEN");
            events.record(
                NewEvent::new(EventKind::EventsVerify, Actor::system())
                    .outcome(Outcome::Error(problem))
                    .details(serde_json::json!({ "checked": status.checked })),
            );
        }
        Err(e) => tracing::error!(task = "chain-check", error = %e, "cannot walk the event log"),
    }
}

async fn purge_sessions(sessions: RedbSessionStore, mut stop: Stop) {
    tracing::debug!(task = "session-purge", "started");
    let mut tick = tokio::time::interval(SESSION_PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = sessions.delete_expired().await {
                    tracing::warn!(task = "session-purge", error = %e, "cannot purge expired sessions");
                }
            }
            _ = stop.changed() => break,
        }
    }
    tracing::debug!(task = "session-purge", "stopped");
}
