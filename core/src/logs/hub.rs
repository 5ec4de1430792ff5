//! `LogHub`: the live logs of every host's containers, one engine stream
//! per container however many follow it. Each host runs a `log-hub` task
//! under its supervisor; it owns the container streams of the host (one
//! task each, in a `JoinSet`), starts one for the first follower of a
//! container, and stops and awaits them all when the host is removed or
//! berth stops. `follow` is the one way in: one audited decision
//! (`Operation::ReadLogs`), then a `Feed`.
//! Not here: the streams themselves (`stream`), merging and framing (`feed`).

use super::LogHubConfig;
use super::channel::{Attached, Channel, HostChannels};
use super::feed::Feed;
use crate::access::Caller;
use crate::hosts::{Host, HostError, Hosts};
use crate::model::{LogQuery, MAX_MERGED, Operation};
use crate::tasks::Stop;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Every host's live logs; cheap to clone.
#[derive(Clone)]
pub struct LogHub {
    inner: Arc<Inner>,
}

struct Inner {
    config: LogHubConfig,
    /// The hosts whose `log-hub` task runs, by name.
    hosts: Mutex<HashMap<String, Registered>>,
}

struct Registered {
    host: Arc<Host>,
    channels: Arc<HostChannels>,
    /// Hands a new channel to the host's task, which starts its stream.
    start: mpsc::UnboundedSender<Arc<Channel>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LogHub {
    /// The hub, with a `log-hub` task on every host, present and future.
    pub fn new(hosts: &Hosts, config: LogHubConfig) -> LogHub {
        let hub = LogHub {
            inner: Arc::new(Inner {
                config,
                hosts: Mutex::new(HashMap::new()),
            }),
        };
        let serving = hub.clone();
        hosts.on_each_host("log-hub", move |host, stop| serving.clone().serve_host(host, stop));
        hub
    }

    pub fn config(&self) -> &LogHubConfig {
        &self.inner.config
    }

    /// The live logs of `containers` (ids, id prefixes or names; at most
    /// `MAX_MERGED`) of `host`, merged in time order, for `caller`: first
    /// the last `tail` lines of each (since `query.since_ns`, if set), then
    /// what comes. Refused (and recorded) without `ReadLogs` on the host.
    pub async fn follow(
        &self,
        caller: &Caller,
        host: &Arc<Host>,
        containers: &[String],
        query: &LogQuery,
    ) -> Result<Feed, HostError> {
        let target = format!("container:{}", containers.join(","));
        host.check(caller, Operation::ReadLogs, Some(target.chars().take(256).collect()))
            .await?;
        if containers.is_empty() {
            return Err(HostError::Invalid(
                "name at least one container to follow (containers=ID,ID...)".into(),
            ));
        }
        if containers.len() > MAX_MERGED {
            return Err(HostError::Invalid(format!(
                "at most {MAX_MERGED} containers can be followed together, not {}",
                containers.len()
            )));
        }
        if query.until_ns.is_some() {
            return Err(HostError::Invalid(
                "a live view cannot have 'until': use the REST API for a range".into(),
            ));
        }
        query.validate().map_err(HostError::Invalid)?;
        let mut ids: Vec<String> = Vec::new();
        for name in containers {
            let id = host.resolve_container(name).await?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut starting = Vec::new();
        for id in &ids {
            starting.push(self.attach(host, id)?.start());
        }
        let mut followers = Vec::new();
        for started in futures_util::future::join_all(starting).await {
            followers.push(started?);
        }
        let tail = match (query.tail, query.since_ns) {
            (Some(n), _) => n as usize,
            (None, Some(_)) => crate::model::MAX_TAIL as usize,
            (None, None) => crate::model::DEFAULT_TAIL as usize,
        };
        Ok(Feed::open(host, followers, tail, query.since_ns).await)
    }

    /// The lines container `id` (a full id) of `host` logs from now on,
    /// for berth's own readers (alerts' log patterns), whose rules were
    /// let in when they were made: no caller, no backfill.
    pub(crate) async fn lines(&self, host: &Arc<Host>, id: &str) -> Result<Lines, HostError> {
        let follower = self.attach(host, id)?.start().await?;
        Ok(Lines { follower })
    }

    /// A place among the followers of container `id`, starting its stream
    /// if nobody follows it yet.
    fn attach(&self, host: &Arc<Host>, id: &str) -> Result<Attached, HostError> {
        let hosts = lock(&self.inner.hosts);
        let registered = hosts
            .get(&host.id().0)
            .filter(|r| Arc::ptr_eq(&r.host, host))
            .ok_or_else(|| HostError::UnknownHost(host.id().0.clone()))?;
        let mut map = registered.channels.map();
        if let Some(attached) = map.get(id).and_then(|c| c.attach()) {
            return Ok(attached);
        }
        let config = &self.inner.config;
        let channel = Channel::new(id, config.ring_lines, config.ring_bytes, config.follower_queue);
        let attached = channel.attach().ok_or(HostError::ShuttingDown)?;
        map.insert(id.to_string(), channel.clone());
        if registered.start.send(channel.clone()).is_err() {
            map.remove(id);
            return Err(HostError::UnknownHost(host.id().0.clone()));
        }
        Ok(attached)
    }

    /// The `log-hub` task of one host: starts each container's stream,
    /// and on stop waits until every one has ended.
    async fn serve_host(self, host: Arc<Host>, mut stop: Stop) {
        let task = format!("log-hub:{}", host.id());
        tracing::debug!(task, "started");
        let (start, mut requests) = mpsc::unbounded_channel();
        let channels = Arc::new(HostChannels::default());
        lock(&self.inner.hosts).insert(
            host.id().0.clone(),
            Registered {
                host: host.clone(),
                channels: channels.clone(),
                start,
            },
        );
        let mut streams = JoinSet::new();
        loop {
            tokio::select! {
                Some(channel) = requests.recv() => {
                    let run = super::stream::run(
                        host.clone(), channel, channels.clone(), self.inner.config.clone(), stop.clone(),
                    );
                    streams.spawn(run);
                }
                Some(ended) = streams.join_next(), if !streams.is_empty() => {
                    if let Err(e) = ended {
                        tracing::error!(task, error = %e, "a container's log stream failed");
                    }
                }
                _ = stop.changed() => break,
            }
        }
        {
            let mut hosts = lock(&self.inner.hosts);
            if hosts
                .get(&host.id().0)
                .is_some_and(|r| Arc::ptr_eq(&r.channels, &channels))
            {
                hosts.remove(&host.id().0);
            }
        }
        // Channels handed over but never started: their followers are told.
        requests.close();
        while let Ok(channel) = requests.try_recv() {
            channel.fail(crate::engine::EngineError::Engine(
                "the host was removed, or berth is stopping".into(),
            ));
        }
        // Each stream saw the same stop: it closes its channel and ends.
        let open = streams.len();
        while let Some(ended) = streams.join_next().await {
            if let Err(e) = ended {
                tracing::error!(task, error = %e, "a container's log stream failed");
            }
        }
        tracing::debug!(task, streams = open, "stopped");
    }
}

/// One container's lines as they come (`LogHub::lines`).
pub(crate) struct Lines {
    follower: super::channel::Follower,
}

impl Lines {
    /// The next lines; None once the stream is closed (the container was
    /// removed, or berth stops). A stop and a start of the container are
    /// followed through; lines missed by falling behind are skipped.
    pub(crate) async fn next(&mut self) -> Option<Vec<crate::model::LogLine>> {
        use super::channel::Event;
        loop {
            match self.follower.recv().await {
                Event::Lines(batch) => return Some((0..batch.len()).filter_map(|i| batch.line(i)).collect()),
                Event::Gap(_) | Event::End(_) => continue,
                Event::Closed(_) => return None,
            }
        }
    }
}
