//! The watcher of one host: connect, resync, follow the engine's events;
//! on loss, mark the host unreachable, back off, and start over.

use super::{Host, engine};
use crate::events::now_ns;
use crate::model::{Actor, ActorKind, HostStatus, NewEvent, Outcome};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the container list is re-read even without engine events.
const RESYNC_EVERY: Duration = Duration::from_secs(30);

fn engine_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        name: "engine".into(),
    }
}

pub(super) async fn run(host: Arc<Host>, mut stop: watch::Receiver<bool>) {
    let task = format!("engine-watch:{}", host.id);
    tracing::debug!(task, "started");
    seed_oom_kills(&host).await;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let reason = tokio::select! {
            r = follow(&host) => r,
            _ = stop.changed() => break,
        };
        set_unreachable(&host, &reason);
        tracing::warn!(task, %reason, retry_in = ?backoff, "engine unreachable");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => break,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if host.status().reachable {
            backoff = FIRST_BACKOFF;
        }
    }
    tracing::debug!(task, "stopped");
}

/// Runs while the engine answers; returns why it stopped answering.
async fn follow(host: &Arc<Host>) -> String {
    let docker = host.docker();
    let version = match docker.version().await {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    // Settle on the highest API version both sides speak.
    match docker.clone().negotiate_version().await {
        Ok(d) => *host.docker.write().unwrap_or_else(|p| p.into_inner()) = d,
        Err(e) => return e.to_string(),
    }
    // Subscribe before listing, so no change falls between the two.
    let mut stream = host.docker().events(None);
    if let Err(e) = host.refresh().await {
        return e.to_string();
    }
    set_reachable(host, version.version, version.api_version);
    // The engine's status text ("Up 3 minutes") ages without events: re-read it now and then.
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    loop {
        let next = tokio::select! {
            next = stream.next() => match next {
                Some(next) => next,
                None => break,
            },
            _ = resync.tick() => {
                if let Err(err) = host.refresh().await {
                    return err.to_string();
                }
                continue;
            }
        };
        match next {
            Ok(message) => {
                let e = engine::engine_event(message);
                if e.is_container {
                    let id = e.details.get("id").and_then(|v| v.as_str());
                    let name = e.target.as_deref().and_then(|t| t.strip_prefix("container:"));
                    host.note_container_event(&e.kind, id, name);
                }
                let mut event = NewEvent::new(e.kind, engine_actor())
                    .host(host.id.0.clone())
                    .details(e.details);
                if let Some(t) = e.target {
                    event = event.target(t);
                }
                host.events.record(event);
                if e.is_container
                    && let Err(err) = host.refresh().await
                {
                    return err.to_string();
                }
            }
            Err(e) => return e.to_string(),
        }
    }
    "the engine closed its event stream".into()
}

/// OOM kills are counted from the engine's `oom` events in the log.
async fn seed_oom_kills(host: &Arc<Host>) {
    let (events, id) = (host.events.clone(), host.id.0.clone());
    let counted = tokio::task::spawn_blocking(move || {
        let filter = crate::model::EventFilter {
            kind: Some("container.oom".into()),
            host: Some(id),
            ..Default::default()
        };
        let mut counts = std::collections::HashMap::<String, u32>::new();
        events.export_blocking(&filter, &|_| true, |e| {
            if let Some(name) = e.target.as_deref().and_then(|t| t.strip_prefix("container:")) {
                *counts.entry(name.to_string()).or_default() += 1;
            }
            true
        })?;
        Ok::<_, crate::events::EventError>(counts)
    })
    .await;
    match counted {
        Ok(Ok(counts)) => host.seed_oom_kills(counts),
        Ok(Err(e)) => tracing::warn!(host = %host.id, error = %e, "cannot count past OOM kills"),
        Err(e) => tracing::warn!(host = %host.id, error = %e, "cannot count past OOM kills"),
    }
}

fn set_reachable(host: &Host, engine_version: Option<String>, api_version: Option<String>) {
    let was = host.status();
    let since_ns = now_ns();
    if !was.reachable {
        let gap_ms = (since_ns - was.since_ns) / 1_000_000;
        host.events.record(
            NewEvent::new("host.connect", Actor::system())
                .host(host.id.0.clone())
                .details(serde_json::json!({
                    "engine_version": engine_version,
                    "api_version": api_version,
                    "unreachable_ms": gap_ms,
                })),
        );
    }
    host.status.send_replace(HostStatus {
        id: host.id.clone(),
        reachable: true,
        since_ns,
        error: None,
        engine_version,
        api_version,
    });
}

fn set_unreachable(host: &Host, reason: &str) {
    let was = host.status();
    if was.reachable || was.engine_version.is_none() && was.error.as_deref() == Some("not connected yet") {
        host.events.record(
            NewEvent::new("host.disconnect", Actor::system())
                .host(host.id.0.clone())
                .outcome(Outcome::Error(reason.to_string())),
        );
        host.status.send_replace(HostStatus {
            id: host.id.clone(),
            reachable: false,
            since_ns: now_ns(),
            error: Some(reason.to_string()),
            engine_version: was.engine_version,
            api_version: was.api_version,
        });
    }
}
