//! `run`: opens the database, starts the services and background tasks,
//! serves HTTP on the given listener until `shutdown` resolves, then records
//! the stop and flushes the event log.

use crate::config::Config;
use crate::http;
use anyhow::Context;
use axum::serve::ListenerExt;
use berth_core::Berth;
use berth_core::auth::{Auth, RedbSessionStore};
use berth_core::events::{Checkpointer, EventLog};
use berth_core::health::Health;
use berth_core::hosts::{Host, Hosts};
use berth_core::model::{Actor, NewEvent, Outcome};
use berth_core::stats::Stats;
use berth_core::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_sessions::ExpiredDeletion;

/// How often expired sessions are purged.
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(60);

pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local = listener.local_addr().context("the listener has no address")?;
    let path = config.db_path();
    let store = tokio::task::spawn_blocking(move || Store::open(&path)).await??;
    let events = EventLog::open(&store)?;
    let auth = {
        let (store, events) = (store.clone(), events.clone());
        tokio::task::spawn_blocking(move || Auth::new(store, events)).await?
    };
    let hosts = Hosts::new(vec![Host::local(events.clone())?]);
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
    let berth = Berth {
        checkpoints: checkpoints.clone(),
        store: store.clone(),
        events: events.clone(),
        auth: auth.clone(),
        hosts: hosts.clone(),
        stats: stats.clone(),
        health: health.clone(),
    };
    let version = env!("CARGO_PKG_VERSION");
    events
        .append(
            NewEvent::new("server.start", Actor::system()).details(serde_json::json!({
                "version": version,
                "listen": local.to_string(),
                "data": store.path().display().to_string(),
            })),
        )
        .await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    spawn_chain_check(events.clone(), checkpoints.clone());
    let sessions = RedbSessionStore::new(store.clone(), events.clone());
    spawn_session_purge(sessions.clone(), stop_rx.clone());
    hosts.spawn_watchers(stop_rx.clone());
    stats.spawn_collector(hosts.clone(), stop_rx.clone());
    health.spawn_watchers(stop_rx.clone());
    let signer = tokio::spawn(checkpoints.clone().run(stop_rx.clone()));
    let witnessing = crate::witness::spawn(
        checkpoints.clone(),
        events.clone(),
        config.witnesses.clone(),
        stop_rx.clone(),
    );

    let base = config
        .public_origin()
        .unwrap_or_else(|| format!("http://{}", printable(local)));
    if let Some(token) = auth.open_setup().await? {
        // The console, not the log: the link is a one-time secret.
        println!(
            "\n  berth has no users yet. Create the first admin with this one-time link:\n\n    {base}/setup?token={token}\n"
        );
    }
    let app = http::router(berth, &config, sessions, local, stop_rx)?;
    tracing::info!(%local, version, "berth is serving on {base}");

    // Pages stream in several writes; without TCP_NODELAY each later write
    // waits for the client's delayed ACK (about 40 ms a page).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await
        .context("the HTTP server failed")?;

    events.append(NewEvent::new("server.stop", Actor::system())).await?;
    let _ = signer.await;
    let _ = witnessing.await;
    // The kept checkpoint covers the log up to the stop, so that whatever
    // happens to the file while berth is down is caught at the next start.
    if let Err(e) = checkpoints.sign(Actor::system()).await {
        tracing::error!(error = %e, "no checkpoint at stop");
    }
    events.close().await?;
    tracing::info!("berth stopped");
    Ok(())
}

/// 0.0.0.0 is where berth listens, not an address to browse to.
fn printable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// Walks the hash chain once at start-up; a broken chain is logged and recorded.
fn spawn_chain_check(events: EventLog, checkpoints: Checkpointer) {
    tokio::spawn(async move {
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
                    NewEvent::new("events.verify", Actor::system())
                        .outcome(Outcome::Error(problem))
                        .details(serde_json::json!({ "checked": status.checked })),
                );
            }
            Err(e) => tracing::error!(task = "chain-check", error = %e, "cannot walk the event log"),
        }
    });
}

fn spawn_session_purge(sessions: RedbSessionStore, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
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
    });
}
