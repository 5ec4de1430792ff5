//! The one engine stream behind a channel, as a task of its host's hub:
//! it fills the ring with the container's last lines, then follows new
//! ones, publishing what arrives within `BATCH_WINDOW` as one batch.
//!
//! When the engine's stream ends while the container still runs (an engine
//! hiccup, an agent's connection that dropped a slow stream), it follows
//! again from the last line it saw, without a line twice. When the
//! container stops, followers are told (`End`) and stay: a restart is
//! picked up and its lines follow. The channel closes when the container
//! is removed, when the host is removed or berth stops, or `linger` after
//! the last follower left.

use super::LogHubConfig;
use super::channel::{Channel, HostChannels};
use crate::engine::EngineError;
use crate::hosts::Host;
use crate::model::ContainerState;
use crate::model::{LogLine, LogQuery};
use crate::tasks::Stop;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

/// Lines that arrive within this long of the first are one batch.
const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// A batch holds at most this many lines, or about this much text.
const BATCH_LINES: usize = 1000;
const BATCH_BYTES: usize = 64 << 10;
/// Between the engine's stream ending and following again while the
/// container runs: at first, and at most.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often a stopped container is looked at again, beside its events.
const RECHECK: Duration = Duration::from_secs(10);

/// Why following stopped.
enum Stopped {
    /// The engine's stream ended, and why, if it failed.
    Ended(Option<EngineError>),
    /// Nobody has followed for `linger`.
    Idle,
    /// The host's tasks are stopping.
    Stop,
}

/// What to do once the engine's stream ended.
enum Next {
    Follow,
    Close(String),
    Idle,
    Stop,
}

pub(crate) async fn run(
    host: Arc<Host>,
    channel: Arc<Channel>,
    channels: Arc<HostChannels>,
    config: LogHubConfig,
    mut stop: Stop,
) {
    let id = channel.container.to_string();
    let task = format!("logs:{}:{}", host.id(), &id[..id.len().min(12)]);
    tracing::debug!(task, "started");
    let mut cursor = Cursor::default();
    let load = LogQuery {
        tail: Some(config.ring_lines as u32),
        ..LogQuery::default()
    };
    let loaded = tokio::select! {
        lines = host.engine_logs(&id, &load).collect::<Vec<_>>() => lines.into_iter().collect::<Result<Vec<_>, _>>(),
        _ = stop.changed() => Err(EngineError::Engine("berth is stopping".into())),
    };
    let lines = match loaded {
        Ok(lines) => lines,
        Err(e) => {
            tracing::debug!(task, error = %e, "cannot read the container's logs");
            channel.fail(e);
            channels.remove(&id, &channel);
            return;
        }
    };
    for chunk in lines.chunks(BATCH_LINES) {
        chunk.iter().for_each(|l| cursor.note(l));
        channel.publish(chunk);
    }
    channel.loaded(lines.len() < config.ring_lines);
    tracing::debug!(task, lines = lines.len(), last_ns = ?cursor.last_ts, "the ring is filled");
    drop(lines);

    let followers = channel.followers();
    let idle = idle(followers.clone(), config.linger());
    tokio::pin!(idle);
    let mut retry = RETRY_FIRST;
    let reason = loop {
        let opened = Instant::now();
        let stopped = follow(&host, &channel, &mut cursor, &mut stop, &mut idle).await;
        let next = match stopped {
            Stopped::Stop => Next::Stop,
            Stopped::Idle => Next::Idle,
            Stopped::Ended(error) => {
                if let Some(e) = &error {
                    tracing::debug!(task, error = %e, "the engine's log stream failed");
                }
                after_end(&host, &channel, error, &mut stop, &mut idle).await
            }
        };
        match next {
            Next::Follow => {
                // Ended at once although it runs: do not hammer the engine.
                if opened.elapsed() < Duration::from_secs(1) {
                    tokio::select! {
                        _ = sleep(retry) => {}
                        _ = stop.changed() => break "the host was removed, or berth is stopping".to_string(),
                    }
                    retry = (retry * 2).min(RETRY_MAX);
                } else {
                    retry = RETRY_FIRST;
                }
            }
            Next::Close(reason) => break reason,
            Next::Stop => break "the host was removed, or berth is stopping".to_string(),
            Next::Idle => {
                if channel.close("nobody follows it any more", true) {
                    channels.remove(&id, &channel);
                    tracing::debug!(task, "stopped: nobody follows");
                    return;
                }
                // Someone came back just now.
                idle.set(self::idle(followers.clone(), config.linger()));
            }
        }
    };
    channel.close(&reason, false);
    channels.remove(&id, &channel);
    tracing::debug!(task, %reason, "stopped");
}

/// Follows the engine's stream from after the last line seen, publishing
/// in batches, until it ends, nobody follows, or the host stops.
async fn follow(
    host: &Host,
    channel: &Channel,
    cursor: &mut Cursor,
    stop: &mut Stop,
    idle: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Stopped {
    let query = LogQuery {
        since_ns: cursor.last_ts,
        follow: true,
        ..LogQuery::default()
    };
    cursor.resume();
    tracing::debug!(host = %host.id(), container = %channel.container, since_ns = ?query.since_ns, "following");
    let mut lines = host.engine_logs(&channel.container, &query);
    let mut pending: Vec<LogLine> = Vec::new();
    let mut bytes = 0;
    let mut due = Instant::now();
    let publish = |pending: &mut Vec<LogLine>, bytes: &mut usize| {
        channel.publish(pending);
        pending.clear();
        *bytes = 0;
    };
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => {
                publish(&mut pending, &mut bytes);
                return Stopped::Stop;
            }
            _ = idle.as_mut() => {
                publish(&mut pending, &mut bytes);
                return Stopped::Idle;
            }
            _ = sleep_until(due), if !pending.is_empty() => publish(&mut pending, &mut bytes),
            item = lines.next() => match item {
                Some(Ok(line)) => {
                    if !cursor.accept(&line) {
                        continue;
                    }
                    if pending.is_empty() {
                        due = Instant::now() + BATCH_WINDOW;
                    }
                    bytes += line.text.len();
                    pending.push(line);
                    if pending.len() >= BATCH_LINES || bytes >= BATCH_BYTES {
                        publish(&mut pending, &mut bytes);
                    }
                }
                Some(Err(e)) => {
                    publish(&mut pending, &mut bytes);
                    return Stopped::Ended(Some(e));
                }
                None => {
                    publish(&mut pending, &mut bytes);
                    return Stopped::Ended(None);
                }
            },
        }
    }
}

/// The engine's stream ended: follow again at once if the container runs;
/// else tell the followers and wait until it runs again or is removed.
async fn after_end(
    host: &Host,
    channel: &Channel,
    error: Option<EngineError>,
    stop: &mut Stop,
    idle: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Next {
    let id = &channel.container;
    // Subscribed before looking, so that a start in between is not missed.
    let mut lists = host.subscribe_containers();
    let mut status = host.subscribe_status();
    match host.engine_inspect(id).await {
        Ok(c) if running(&c.state) => return Next::Follow,
        Ok(c) => channel.end(&match c.exit_code {
            Some(code) => format!("the container stopped (exit code {code})"),
            None => format!("the container is {}", c.state),
        }),
        Err(EngineError::NotFound { .. }) => return Next::Close("the container was removed".into()),
        Err(e) => channel.end(&error.map_or_else(|| e.to_string(), |first| first.to_string())),
    }
    let mut recheck = tokio::time::interval_at(Instant::now() + RECHECK, RECHECK);
    loop {
        let look = tokio::select! {
            _ = stop.changed() => return Next::Stop,
            _ = idle.as_mut() => return Next::Idle,
            changed = lists.changed() => match changed {
                Ok(()) => Look::List,
                Err(_) => return Next::Stop,
            },
            changed = status.changed() => match changed {
                Ok(()) => Look::List,
                Err(_) => return Next::Stop,
            },
            _ = recheck.tick() => Look::Engine,
        };
        // The list can lag behind the engine: it only says when to ask.
        let ask = match look {
            Look::List => match host.containers().iter().find(|c| c.id == **id) {
                Some(c) => running(&c.state),
                None => host.status().reachable,
            },
            Look::Engine => true,
        };
        if ask {
            match host.engine_inspect(id).await {
                Ok(c) if running(&c.state) => return Next::Follow,
                Err(EngineError::NotFound { .. }) => return Next::Close("the container was removed".into()),
                _ => {}
            }
        }
    }
}

/// Running or paused: its process exists, so its log can still grow.
fn running(state: &ContainerState) -> bool {
    matches!(state, ContainerState::Running | ContainerState::Paused)
}

enum Look {
    List,
    Engine,
}

/// Resolves once nobody has followed for `linger`.
async fn idle(mut followers: watch::Receiver<usize>, linger: Duration) {
    loop {
        let gone = followers.wait_for(|n| *n == 0).await.is_err();
        if gone {
            return std::future::pending().await;
        }
        let came_back = tokio::time::timeout(linger, followers.wait_for(|n| *n > 0))
            .await
            .map(|r| r.is_ok());
        match came_back {
            Err(_) => return,
            Ok(true) => continue,
            Ok(false) => return std::future::pending().await,
        }
    }
}

/// Where the stream is: the latest time seen and how many lines had it,
/// so that following again from that time skips what was published.
#[derive(Default)]
struct Cursor {
    last_ts: Option<i64>,
    at_last: usize,
    /// While following again: lines before this time, and this many at
    /// it, were published already.
    skipping: Option<(i64, usize)>,
}

impl Cursor {
    fn note(&mut self, line: &LogLine) {
        match self.last_ts {
            Some(t) if line.ts_ns < t => {}
            Some(t) if line.ts_ns == t => self.at_last += 1,
            _ => {
                self.last_ts = Some(line.ts_ns);
                self.at_last = 1;
            }
        }
    }

    fn resume(&mut self) {
        self.skipping = self.last_ts.map(|t| (t, self.at_last));
    }

    /// Whether `line` is new.
    fn accept(&mut self, line: &LogLine) -> bool {
        if let Some((t, left)) = &mut self.skipping {
            if line.ts_ns < *t {
                return false;
            }
            if line.ts_ns == *t && *left > 0 {
                *left -= 1;
                return false;
            }
            if line.ts_ns > *t {
                self.skipping = None;
            }
        }
        self.note(line);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn line(ts: i64, text: &str) -> LogLine {
        LogLine {
            container: "c".into(),
            stream: LogStream::Stdout,
            ts_ns: ts,
            text: text.into(),
        }
    }

    #[test]
    fn following_again_skips_exactly_what_was_published() {
        let mut c = Cursor::default();
        for l in [line(5, "a"), line(7, "b"), line(7, "c")] {
            assert!(c.accept(&l));
        }
        c.resume();
        // The engine repeats the second: everything from 7 (and before).
        let again = [
            line(5, "a"),
            line(7, "b"),
            line(7, "c"),
            line(7, "d"),
            line(6, "late"),
            line(8, "e"),
        ];
        let new: Vec<&str> = again.iter().filter(|l| c.accept(l)).map(|l| l.text.as_str()).collect();
        assert_eq!(new, ["d", "e"]);
        // A stream that had seen nothing takes everything.
        let mut empty = Cursor::default();
        empty.resume();
        assert!(empty.accept(&line(1, "x")));
    }
}
