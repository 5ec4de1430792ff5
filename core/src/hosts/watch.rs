//! The watcher of one host: connect, catch up on the engine events missed
//! while away, resync, follow the engine's events; on loss, mark the host
//! unreachable, back off, and start over.
//!
//! Catching up: the engine remembers its last 256 events (moby's
//! `eventsLimit`), none from before it started, and its event stream takes
//! a start time. On every connect the watcher asks for the events since the
//! engine time of the last one recorded for this host, up to now; records
//! those not in the log yet, marked `replayed` and with their engine time;
//! then follows from just after now, so nothing falls between the two. When
//! the engine no longer has the last recorded event (it restarted, or newer
//! events pushed it out), the stretch it cannot give back is recorded as one
//! `host.events_gap`. A host with no engine event recorded yet starts live:
//! the engine's memory may reach back to before berth managed the host.

use super::Host;
use crate::engine::EngineError;
use crate::events::{EventError, now_ns};
use crate::model::{
    Actor, ActorKind, EngineEvent, EngineVersion, Event, EventFilter, EventKind, HostStatus, NewEvent, Outcome,
    format_ts,
};
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the container list is re-read even without engine events.
const RESYNC_EVERY: Duration = Duration::from_secs(30);
/// How long after a container event the list is read again (see `follow`).
const SETTLE: Duration = Duration::from_millis(300);
/// How many of the newest recorded engine events are read to find the last
/// engine time and the events recorded at exactly that time.
const RECENT: usize = 32;

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
    let version = match host.engine.connect().await {
        Ok(v) => v,
        Err(e) => return reason(e),
    };
    // Where catching up ends and following begins, on berth's clock. With an
    // engine whose clock differs, events within the difference are marked as
    // if on the other side of it (still recorded once each); one whose clock
    // is behind holds the catch-up open until its clock gets there.
    let caught_up_to = match catch_up(host, now_ns()).await {
        Ok(t) => t,
        Err(e) => return e,
    };
    // From just after the catch-up: what happens before the stream is
    // actually open comes from the engine's memory, so nothing falls
    // between catching up, listing and following.
    let mut stream = host.engine.events(caught_up_to + 1, None);
    // One listing counts everything the replayed events changed.
    if let Err(e) = host.refresh().await {
        return reason(e);
    }
    set_reachable(host, version);
    // The engine's status text ("Up 3 minutes") ages without events: re-read it now and then.
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    // A host that stops answering (a machine gone, a stopped agent or
    // engine) holds its streams open in silence: a ping each heartbeat,
    // answered within one, tells.
    let mut heartbeat = tokio::time::interval(host.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The engine tells of a change (`die`) a moment before its list shows
    // it: a list read at once may still say "running". So each container
    // event is followed by a second reading once the engine has settled.
    let mut settle: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            next = stream.next() => match next {
                Some(next) => next,
                None => break,
            },
            _ = tokio::time::sleep_until(settle.unwrap_or_else(tokio::time::Instant::now)), if settle.is_some() => {
                settle = None;
                if let Err(err) = host.refresh().await {
                    return reason(err);
                }
                continue;
            }
            _ = heartbeat.tick() => {
                match tokio::time::timeout(host.heartbeat, host.engine.ping()).await {
                    Ok(Ok(rtt)) => host.note_rtt(rtt),
                    Ok(Err(e)) => return reason(e),
                    Err(_) => {
                        return format!(
                            "the engine stopped answering: no reply to a ping within {:.1} s",
                            host.heartbeat.as_secs_f64()
                        );
                    }
                }
                continue;
            }
            _ = resync.tick() => {
                if let Err(err) = host.refresh().await {
                    return reason(err);
                }
                continue;
            }
        };
        match next {
            Ok(e) => {
                let is_container = e.is_container;
                record(host, e, false);
                if is_container {
                    if let Err(err) = host.refresh().await {
                        return reason(err);
                    }
                    settle = Some(tokio::time::Instant::now() + SETTLE);
                }
            }
            Err(e) => return reason(e),
        }
    }
    "the engine closed its event stream".into()
}

/// Why the engine stopped answering, as the host's status says it (the
/// status already names the host).
fn reason(e: EngineError) -> String {
    match e {
        EngineError::Unreachable { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Records the engine events of this host missed since the last one
/// recorded, up to `now` (and a gap for what the engine no longer has);
/// returns the engine time it caught up to.
async fn catch_up(host: &Host, now: i64) -> Result<i64, String> {
    let last = match last_recorded(host).await {
        Ok(Some(last)) => last,
        Ok(None) => return Ok(now),
        Err(e) => return Err(format!("cannot read the event log: {e}")),
    };
    let until = now.max(last.time_ns);
    let mut stream = host.engine.events(last.time_ns, Some(until));
    let mut remembered = Vec::new();
    while let Some(e) = stream.next().await {
        remembered.push(e.map_err(reason)?);
    }
    let replay = plan(&last, remembered, until);
    if let Some((from_ns, to_ns)) = replay.gap {
        tracing::warn!(host = %host.id, from_ns, to_ns, "the engine no longer has every event berth missed");
        host.events.record(
            NewEvent::new(EventKind::HostEventsGap, Actor::system())
                .host(host.id.0.clone())
                .outcome(Outcome::Error(format!(
                    "the engine no longer has its events from between {} and {} (it restarted, or more \
                     happened while berth was not connected than it keeps): any from that time are missing here",
                    format_ts(from_ns),
                    format_ts(to_ns)
                )))
                .details(serde_json::json!({ "from_ns": from_ns, "to_ns": to_ns })),
        );
    }
    if !replay.missed.is_empty() {
        tracing::info!(host = %host.id, count = replay.missed.len(), "recording the engine events missed");
    }
    for e in replay.missed {
        record(host, e, true);
    }
    Ok(until)
}

/// Records one engine event, and keeps the host's restart and OOM counts true.
fn record(host: &Host, e: EngineEvent, replayed: bool) {
    if e.is_container {
        let id = e.details.get("id").and_then(Value::as_str);
        let name = e.target.as_deref().and_then(|t| t.strip_prefix("container:"));
        host.note_container_event(&e.kind, id, name);
    }
    let mut details = e.details;
    if replayed && let Value::Object(map) = &mut details {
        map.insert("replayed".into(), true.into());
    }
    let mut event = NewEvent::new(e.kind, engine_actor())
        .host(host.id.0.clone())
        .details(details);
    if let Some(t) = e.target {
        event = event.target(t);
    }
    host.events.record(event);
}

/// The newest engine time recorded for a host, and what was recorded at
/// exactly that time (the engine may send those again).
#[derive(Debug)]
struct LastRecorded {
    time_ns: i64,
    keys: Vec<EventKey>,
}

/// What tells two engine events apart: their engine time, kind, status
/// (the part of the action after ':') and actor id.
#[derive(Clone, Debug, PartialEq, Eq)]
struct EventKey {
    time_ns: i64,
    kind: String,
    status: Option<String>,
    id: Option<String>,
}

impl EventKey {
    fn of(kind: &str, details: &Value) -> Option<EventKey> {
        let text = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_string);
        Some(EventKey {
            time_ns: engine_time(details)?,
            kind: kind.to_string(),
            status: text("status"),
            id: text("id"),
        })
    }
}

fn engine_time(details: &Value) -> Option<i64> {
    details.get("engine_time_ns").and_then(Value::as_i64)
}

async fn last_recorded(host: &Host) -> Result<Option<LastRecorded>, EventError> {
    // What the previous connection recorded may still be queued.
    host.events.flush().await?;
    let filter = EventFilter {
        host: Some(host.id.0.clone()),
        actor: Some(engine_actor()),
        ..Default::default()
    };
    let page = host.events.query(filter, None, RECENT).await?;
    Ok(newest(&page.events))
}

/// From the newest recorded engine events of a host (any order): the
/// latest engine time and the events at it. Events recorded without an
/// engine time fall back to berth's time, at which the engine has nothing
/// to match: a gap is recorded rather than assuming none.
fn newest(recorded: &[Event]) -> Option<LastRecorded> {
    let time_ns = recorded
        .iter()
        .filter_map(|e| engine_time(&e.details))
        .max()
        .or_else(|| recorded.iter().map(|e| e.ts_ns).max())?;
    let keys = recorded
        .iter()
        .filter(|e| engine_time(&e.details) == Some(time_ns))
        .filter_map(|e| EventKey::of(&e.kind, &e.details))
        .collect();
    Some(LastRecorded { time_ns, keys })
}

/// What catching up records.
struct Replay {
    /// From and to (both exclusive, engine time) where events may be missing.
    gap: Option<(i64, i64)>,
    /// The remembered events not recorded yet, oldest first.
    missed: Vec<EngineEvent>,
}

/// `remembered`: what the engine sent back for `last.time_ns..=until_ns`.
/// Those recorded already (at `last.time_ns`) are dropped; if none of them
/// came back, the engine forgot where berth left off, and what lies between
/// that and the oldest event it still has is a gap.
fn plan(last: &LastRecorded, remembered: Vec<EngineEvent>, until_ns: i64) -> Replay {
    let mut unmatched = last.keys.clone();
    let mut missed = Vec::new();
    for e in remembered {
        let seen = EventKey::of(&e.kind, &e.details).and_then(|k| unmatched.iter().position(|r| *r == k));
        match seen {
            Some(i) => {
                unmatched.swap_remove(i);
            }
            None => missed.push(e),
        }
    }
    let continuous = unmatched.len() < last.keys.len();
    let gap = (!continuous).then(|| {
        let oldest = missed.first().and_then(|e| engine_time(&e.details));
        (last.time_ns, oldest.unwrap_or(until_ns))
    });
    Replay { gap, missed }
}

/// OOM kills are counted from the engine's `oom` events in the log.
async fn seed_oom_kills(host: &Arc<Host>) {
    let (events, id) = (host.events.clone(), host.id.0.clone());
    let counted = tokio::task::spawn_blocking(move || {
        let filter = crate::model::EventFilter {
            kind: Some(EventKind::ContainerOom.into()),
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

fn set_reachable(host: &Host, version: EngineVersion) {
    let EngineVersion {
        version: engine_version,
        api_version,
        agent,
    } = version;
    let was = host.status();
    let since_ns = now_ns();
    if !was.reachable {
        let gap_ms = (since_ns - was.since_ns) / 1_000_000;
        host.events.record(
            NewEvent::new(EventKind::HostConnect, Actor::system())
                .host(host.id.0.clone())
                .details(serde_json::json!({
                    "engine_version": engine_version,
                    "api_version": api_version,
                    "agent": agent,
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
        transport: was.transport,
        agent_version: agent.as_ref().map(|a| a.version.clone()),
        limits: agent.map(|a| a.limits).unwrap_or_default(),
        rtt_us: None,
    });
}

/// Marks the host unreachable for `reason`: recorded as `host.disconnect`
/// when it was reachable (or never connected), and as `host.unreachable`
/// when, while away, the reason changes (the agent now refuses the token,
/// its certificate changed...), so each new cause is in the log once.
fn set_unreachable(host: &Host, reason: &str) {
    let was = host.status();
    let first = was.reachable || was.engine_version.is_none() && was.error.as_deref() == Some("not connected yet");
    if !first && was.error.as_deref() == Some(reason) {
        return;
    }
    let kind = if first {
        EventKind::HostDisconnect
    } else {
        EventKind::HostUnreachable
    };
    host.events.record(
        NewEvent::new(kind, Actor::system())
            .host(host.id.0.clone())
            .outcome(Outcome::Error(reason.to_string())),
    );
    host.status.send_replace(HostStatus {
        reachable: false,
        since_ns: if first { now_ns() } else { was.since_ns },
        error: Some(reason.to_string()),
        rtt_us: None,
        ..was
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventSeq, Hash32};

    const T: i64 = 1_700_000_000_000_000_000;

    fn engine(kind: &str, id: &str, time_ns: i64) -> EngineEvent {
        EngineEvent {
            kind: kind.into(),
            target: Some(format!("container:{id}")),
            details: serde_json::json!({ "id": id, "engine_time_ns": time_ns }),
            is_container: true,
        }
    }

    fn recorded(e: &EngineEvent, seq: u64) -> Event {
        Event {
            seq: EventSeq(seq),
            ts_ns: T + 5_000_000_000 + seq as i64,
            kind: e.kind.clone(),
            actor: engine_actor(),
            source: None,
            host: Some("local".into()),
            target: e.target.clone(),
            outcome: Outcome::Ok,
            duration_us: None,
            details: e.details.clone(),
            prev_hash: Hash32::default(),
            hash: Hash32::default(),
        }
    }

    fn kinds(replay: &Replay) -> Vec<(String, i64)> {
        let time = |e: &EngineEvent| engine_time(&e.details).unwrap();
        replay.missed.iter().map(|e| (e.kind.clone(), time(e))).collect()
    }

    #[test]
    fn what_was_recorded_at_the_last_time_is_not_recorded_again() {
        // Two events at the same nanosecond; berth had recorded only the first.
        let start = engine("container.start", "a", T);
        let log = [
            recorded(&engine("container.create", "a", T - 1), 1),
            recorded(&start, 2),
        ];
        let last = newest(&log).unwrap();
        assert_eq!(last.time_ns, T);
        let remembered = vec![
            engine("container.start", "a", T),
            engine("container.start", "b", T),
            engine("container.die", "a", T + 7),
        ];
        let replay = plan(&last, remembered, T + 100);
        assert_eq!(replay.gap, None);
        assert_eq!(
            kinds(&replay),
            [("container.start".into(), T), ("container.die".into(), T + 7)]
        );
        assert_eq!(replay.missed[0].details["id"], "b");
    }

    #[test]
    fn identical_events_at_one_nanosecond_are_counted_not_merged() {
        let die = engine("container.die", "a", T);
        let last = newest(&[recorded(&die, 1)]).unwrap();
        let replay = plan(
            &last,
            vec![engine("container.die", "a", T), engine("container.die", "a", T)],
            T,
        );
        assert_eq!(replay.gap, None);
        assert_eq!(replay.missed.len(), 1);
    }

    #[test]
    fn an_engine_that_forgot_where_berth_left_off_gives_a_gap() {
        // Restarted (or pushed out by newer events): it starts later than the last record.
        let last = newest(&[recorded(&engine("container.die", "a", T), 1)]).unwrap();
        let replay = plan(&last, vec![engine("container.start", "b", T + 50)], T + 100);
        assert_eq!(replay.gap, Some((T, T + 50)));
        assert_eq!(kinds(&replay), [("container.start".into(), T + 50)]);
        // Nothing remembered at all: the gap runs up to now.
        let replay = plan(&last, Vec::new(), T + 100);
        assert_eq!(replay.gap, Some((T, T + 100)));
        assert!(replay.missed.is_empty());
    }

    #[test]
    fn a_record_without_an_engine_time_cannot_be_matched_so_it_is_a_gap() {
        let mut old = recorded(&engine("container.die", "a", T), 1);
        old.details = serde_json::json!({ "id": "a" });
        let last = newest(&[old.clone()]).unwrap();
        assert_eq!(last.time_ns, old.ts_ns);
        assert!(last.keys.is_empty());
        let replay = plan(&last, Vec::new(), old.ts_ns + 10);
        assert_eq!(replay.gap, Some((old.ts_ns, old.ts_ns + 10)));
        assert!(newest(&[]).is_none(), "no record: first contact, nothing to catch up");
    }
}
