//! The collector task: every tick it reads the machine berth runs on
//! (sysinfo, as the first host over the local engine), asks each agent for
//! a reading of its machine (a remote engine over TLS has none), reads
//! every running container
//! of the hosts managed at that tick (the latest reading of its engine stats
//! stream, whatever the transport), stores all of it in one commit, and
//! publishes the snapshot. One stats stream per running container, opened
//! when it starts and dropped when it stops or its host is removed, however
//! many people watch.

use super::Stats;
use super::series;
use crate::engine::EngineError;
use crate::hosts::{Host, Hosts};
use crate::model::{ContainerSample, ContainerState, EngineStats, HostId, HostSample, StatsSnapshot, Transport};
use crate::tasks::{Stop, Tasks};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Retention is applied this often.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

type Reading = Option<(Instant, EngineStats)>;

/// The stats stream of one running container: its task, owned here and
/// told to stop when the feed is dropped (its container stopped, its host
/// is gone); `Feeds::close` also waits for it.
struct Feed {
    task: Tasks,
    latest: watch::Receiver<Reading>,
}

impl Feed {
    /// Its stream has ended (the task dropped its sender).
    fn ended(&self) -> bool {
        self.latest.has_changed().is_err()
    }
}

#[derive(Default)]
struct Feeds {
    open: HashMap<(HostId, String), Feed>,
    /// The reading each container's previous sample was computed from, and
    /// that sample (none yet when the first reading came without the
    /// engine's previous one, as asked-for readings do).
    previous: HashMap<(HostId, String), (Instant, EngineStats, Option<ContainerSample>)>,
    /// How often each container's stats stream gives a reading: the interval.
    every: std::time::Duration,
}

impl Feeds {
    /// Closes the streams of hosts no longer managed, then syncs each host.
    fn sync_all(&mut self, hosts: &[Arc<Host>]) {
        let present = |h: &HostId| hosts.iter().any(|host| host.id() == h);
        self.open.retain(|(h, _), _| present(h));
        self.previous.retain(|(h, _), _| present(h));
        for host in hosts {
            self.sync(host);
        }
    }

    /// Opens streams for running containers that have none (or whose stream
    /// ended) and closes those of containers that stopped.
    fn sync(&mut self, host: &Arc<Host>) {
        let running: Vec<String> = if host.status().reachable {
            host.containers()
                .iter()
                .filter(|c| c.state == ContainerState::Running)
                .map(|c| c.id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let hid = host.id().clone();
        self.open
            .retain(|(h, id), feed| *h != hid || (running.contains(id) && !feed.ended()));
        self.previous.retain(|(h, id), _| *h != hid || running.contains(id));
        for id in running {
            let key = (hid.clone(), id.clone());
            if self.open.contains_key(&key) {
                continue;
            }
            let (tx, latest) = watch::channel(None);
            let stream = host.container_stats(&id, self.every);
            let mut task = Tasks::new();
            let name = format!("container-stats:{hid}/{id}");
            task.spawn(name.clone(), |stop| follow_stats(name, stream, tx, stop));
            self.open.insert(key, Feed { task, latest });
        }
    }

    /// Ends every stream and waits for their tasks.
    async fn close(self) {
        futures_util::future::join_all(self.open.into_values().map(|feed| feed.task.stop())).await;
    }

    /// A sample of every running container of `host` that has a reading.
    /// `host_memory`: the machine's memory when it is the host's (0 when
    /// unknown), the limit of a container without one.
    fn samples(&mut self, host: &Host, at_ms: i64, host_memory: u64) -> Vec<ContainerSample> {
        let mut out = Vec::new();
        for c in host.containers().iter().filter(|c| c.state == ContainerState::Running) {
            let key = (host.id().clone(), c.id.clone());
            let Some(feed) = self.open.get(&key) else { continue };
            let Some((at, now)) = feed.latest.borrow().clone() else {
                continue;
            };
            let (cpu_percent, elapsed, before) = match self.previous.get(&key) {
                Some((was_at, was, _)) if at > *was_at => (
                    now.cpu_percent_since(was.cpu_total, was.system_cpu),
                    at.duration_since(*was_at).as_secs_f64(),
                    Some(was.clone()),
                ),
                // No newer reading since the last tick: repeat the last sample.
                Some((_, _, Some(sample))) => {
                    out.push(ContainerSample {
                        at_ms,
                        ..sample.clone()
                    });
                    continue;
                }
                Some((_, _, None)) => continue,
                // The first reading has no previous one to compare with:
                // it is the baseline of the next.
                None if now.pre_system_cpu == 0 => {
                    self.previous.insert(key, (at, now, None));
                    continue;
                }
                None => (now.cpu_percent_since(now.pre_cpu_total, now.pre_system_cpu), 0.0, None),
            };
            let rate = |cur: u64, old: fn(&EngineStats) -> u64| match &before {
                Some(b) if elapsed > 0.0 => cur.saturating_sub(old(b)) as f64 / elapsed,
                _ => 0.0,
            };
            let limit = if now.mem_limit == 0 || (host_memory > 0 && now.mem_limit > host_memory) {
                host_memory
            } else {
                now.mem_limit
            };
            let sample = ContainerSample {
                host: host.id().clone(),
                id: c.id.clone(),
                name: c.name.clone(),
                project: c.project.clone(),
                service: c.service.clone(),
                at_ms,
                cpu_percent,
                mem_used: now.mem_used,
                mem_limit: limit,
                net_rx_bps: rate(now.net_rx, |b| b.net_rx),
                net_tx_bps: rate(now.net_tx, |b| b.net_tx),
                blk_read_bps: rate(now.blk_read, |b| b.blk_read),
                blk_write_bps: rate(now.blk_write, |b| b.blk_write),
                pids: now.pids,
                net_rx_total: now.net_rx,
                net_tx_total: now.net_tx,
                blk_read_total: now.blk_read,
                blk_write_total: now.blk_write,
            };
            out.push(sample.clone());
            self.previous.insert(key, (at, now, Some(sample)));
        }
        out
    }
}

/// One container's stats stream, its latest reading in `tx`, until the
/// stream ends, nobody reads `tx` or `stop` says so.
async fn follow_stats(
    task: String,
    stream: BoxStream<'static, Result<EngineStats, EngineError>>,
    tx: watch::Sender<Reading>,
    mut stop: Stop,
) {
    tracing::debug!(task, "started");
    futures_util::pin_mut!(stream);
    loop {
        tokio::select! {
            next = stream.next() => match next {
                Some(Ok(reading)) => {
                    if tx.send(Some((Instant::now(), reading))).is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(task, error = %e, "stats stream ended");
                    break;
                }
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
    tracing::debug!(task, "stopped");
}

pub(super) async fn run(stats: Stats, hosts: Hosts, mut stop: Stop) {
    let task = "stats-collector";
    let interval = stats.inner.interval;
    tracing::info!(task, ?interval, "started");
    // Its samples are stamped with the machine's host at each tick.
    let reader = match tokio::task::spawn_blocking(|| crate::machine::HostReader::new(HostId("local".into()))).await {
        Ok(Ok(r)) => Some(Arc::new(Mutex::new(r))),
        Ok(Err(e)) => {
            tracing::warn!(task, error = %e, "host statistics are off");
            None
        }
        Err(e) => {
            tracing::warn!(task, error = %e, "host statistics are off");
            None
        }
    };
    let mut feeds = Feeds {
        every: interval,
        ..Feeds::default()
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        // Hosts added since the last tick are read from this one on.
        let present = hosts.all();
        feeds.sync_all(&present);
        let at_ms = crate::events::now_ns() / 1_000_000;
        // The machine berth runs on is this host's; the others' machines are out of sight.
        let machine = present
            .iter()
            .find(|h| h.transport() == Transport::Local)
            .map(|h| h.id().clone());
        let local_sample = match (&reader, machine) {
            (Some(r), Some(machine)) => {
                let r = r.clone();
                tokio::task::spawn_blocking(move || r.lock().unwrap_or_else(|p| p.into_inner()).read(at_ms))
                    .await
                    .ok()
                    .map(|sample| HostSample {
                        host: machine,
                        ..sample
                    })
            }
            _ => None,
        };
        // The machines of agents read themselves, all at once, each within the interval.
        let agents = present
            .iter()
            .filter(|h| h.transport() == Transport::Agent && h.status().reachable)
            .map(|h| async move {
                match tokio::time::timeout(interval, h.machine()).await {
                    Ok(Ok(Some(sample))) => Some(HostSample {
                        host: h.id().clone(),
                        at_ms,
                        ..sample
                    }),
                    Ok(Ok(None)) => None,
                    Ok(Err(e)) => {
                        tracing::debug!(task, host = %h.id(), error = %e, "no machine reading");
                        None
                    }
                    Err(_) => None,
                }
            });
        let agent_samples = futures_util::future::join_all(agents).await;
        let host_samples: Vec<HostSample> = local_sample
            .into_iter()
            .chain(agent_samples.into_iter().flatten())
            .collect();
        // Each machine's memory, for the containers on it.
        let machine_memory: HashMap<HostId, u64> = host_samples.iter().map(|h| (h.host.clone(), h.mem_total)).collect();
        let mut snapshot = StatsSnapshot {
            at_ms,
            hosts: host_samples,
            containers: Vec::new(),
        };
        for host in present.iter() {
            let memory = machine_memory.get(host.id()).copied().unwrap_or(0);
            snapshot.containers.extend(feeds.samples(host, at_ms, memory));
        }
        let samples = series::samples_of(&snapshot);
        let now_s = (at_ms / 1000) as u32;
        let prune = last_prune.elapsed() >= PRUNE_EVERY;
        let tsdb = stats.inner.tsdb.clone();
        let stored = tokio::task::spawn_blocking(move || {
            tsdb.ingest(&samples, now_s)?;
            if prune { tsdb.prune(now_s).map(Some) } else { Ok(None) }
        })
        .await;
        match stored {
            Ok(Ok(Some(removed))) => {
                last_prune = Instant::now();
                tracing::debug!(task, removed, "old samples pruned");
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(task, error = %e, "cannot store samples"),
            Err(e) => tracing::warn!(task, error = %e, "the storing task failed"),
        }
        stats.inner.latest.send_replace(Arc::new(snapshot));
    }
    feeds.close().await;
    tracing::info!(task, "stopped");
}
