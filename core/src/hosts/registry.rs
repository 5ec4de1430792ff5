//! The hosts berth manages, while it runs: adding a host starts its
//! supervisor, removing one stops the host's tasks and waits for them, and
//! `shutdown` does that for every host. Services register the tasks each
//! host runs once (`on_each_host`); present and future hosts all get them.
//! Readers take snapshots.
//! Not here: who may add or remove a host, keeping it, and recording that
//! (`admin` does all three, with its caller); what a host's tasks do.

use super::supervisor::{HostTask, Supervisor};
use super::{Host, HostError};
use crate::access::Caller;
use crate::tasks::Stop;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Every host berth manages; cheap to clone, shared.
#[derive(Clone)]
pub struct Hosts {
    inner: Arc<Inner>,
}

struct Inner {
    /// The hosts now, in the order they were added.
    current: watch::Sender<Arc<[Arc<Host>]>>,
    running: Mutex<Running>,
}

/// Behind one lock, so that a task registered while a host is added
/// reaches that host exactly once.
#[derive(Default)]
struct Running {
    supervisors: Vec<Supervisor>,
    tasks: Vec<HostTask>,
    shut_down: bool,
}

impl Default for Hosts {
    fn default() -> Self {
        Hosts::new()
    }
}

impl Hosts {
    /// No hosts yet.
    pub fn new() -> Hosts {
        Hosts {
            inner: Arc::new(Inner {
                current: watch::channel(Arc::from(Vec::new())).0,
                running: Mutex::new(Running::default()),
            }),
        }
    }

    /// The hosts now.
    pub fn all(&self) -> Arc<[Arc<Host>]> {
        self.inner.current.borrow().clone()
    }

    pub fn get(&self, id: &str) -> Result<Arc<Host>, HostError> {
        self.inner
            .current
            .borrow()
            .iter()
            .find(|h| h.id.0 == id)
            .cloned()
            .ok_or_else(|| HostError::UnknownHost(id.chars().take(64).collect()))
    }

    /// The hosts `caller` may see.
    pub fn visible(&self, caller: &Caller) -> Vec<Arc<Host>> {
        self.all()
            .iter()
            .filter(|h| caller.permissions().sees(&h.id.0))
            .cloned()
            .collect()
    }

    /// The hosts, again whenever one is added or removed.
    pub fn subscribe(&self) -> watch::Receiver<Arc<[Arc<Host>]>> {
        self.inner.current.subscribe()
    }

    /// Manages `host` from now on: starts its supervisor, which runs its
    /// engine watcher and every task registered with `on_each_host`.
    /// Must be called within a tokio runtime.
    pub fn add(&self, host: Arc<Host>) -> Result<(), HostError> {
        let mut running = lock(&self.inner.running);
        if running.shut_down {
            return Err(HostError::ShuttingDown);
        }
        if running.supervisors.iter().any(|s| s.host().id == host.id) {
            return Err(HostError::Exists(host.id.0.clone()));
        }
        tracing::info!(host = %host.id, "managing host");
        let supervisor = Supervisor::start(host, &running.tasks);
        running.supervisors.push(supervisor);
        self.publish(&running);
        Ok(())
    }

    /// Stops managing host `id`: it leaves the snapshot at once, and this
    /// returns once every task of the host has ended, so an event recorded
    /// after it follows the host's last one. Its history stays in the log.
    pub async fn remove(&self, id: &str) -> Result<Arc<Host>, HostError> {
        let supervisor = {
            let mut running = lock(&self.inner.running);
            let Some(at) = running.supervisors.iter().position(|s| s.host().id.0 == id) else {
                return Err(HostError::UnknownHost(id.chars().take(64).collect()));
            };
            let supervisor = running.supervisors.remove(at);
            self.publish(&running);
            supervisor
        };
        let host = supervisor.stop().await;
        tracing::info!(host = %host.id, "host removed; its tasks have ended");
        Ok(host)
    }

    /// Runs `task` (named `name`, e.g. "drift-watch") for every host, those
    /// here now and those added later, under each host's supervisor: it gets
    /// the host and a stop signal, and is stopped and awaited with the host.
    pub fn on_each_host<F, Fut>(&self, name: &'static str, task: F)
    where
        F: Fn(Arc<Host>, Stop) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task = HostTask::new(name, task);
        let mut running = lock(&self.inner.running);
        if running.shut_down {
            return;
        }
        for supervisor in &mut running.supervisors {
            supervisor.run(&task);
        }
        running.tasks.push(task);
    }

    /// Stops every host's tasks and waits for them. Afterwards there are no
    /// hosts, and adding one fails. The registered tasks are dropped too:
    /// they hold the services that hold this registry.
    pub async fn shutdown(&self) {
        let supervisors = {
            let mut running = lock(&self.inner.running);
            running.shut_down = true;
            running.tasks.clear();
            let supervisors = std::mem::take(&mut running.supervisors);
            self.publish(&running);
            supervisors
        };
        futures_util::future::join_all(supervisors.into_iter().map(Supervisor::stop)).await;
    }

    fn publish(&self, running: &Running) {
        let hosts: Arc<[Arc<Host>]> = running.supervisors.iter().map(|s| s.host().clone()).collect();
        self.inner.current.send_replace(hosts);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventLog;
    use crate::store::Store;
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    /// The hosts a probe task started and ended for.
    #[derive(Default)]
    struct Seen {
        started: BTreeSet<String>,
        ended: BTreeSet<String>,
    }

    /// Notes that the probe of a host ended, when dropped (however the task ends).
    struct Ended(Arc<Mutex<Seen>>, String);

    impl Drop for Ended {
        fn drop(&mut self) {
            lock(&self.0).ended.insert(self.1.clone());
        }
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn ids(hosts: &Hosts) -> Vec<String> {
        hosts.all().iter().map(|h| h.id().0.clone()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_on_each_host_runs_for_every_host_and_has_ended_when_remove_or_shutdown_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("berth.redb")).unwrap();
        let events = EventLog::open(&store).unwrap();
        let hosts = Hosts::new();
        hosts.add(Host::local(events.clone()).unwrap()).unwrap();

        let seen = Arc::new(Mutex::new(Seen::default()));
        let probe = seen.clone();
        hosts.on_each_host("probe", move |host, mut stop| {
            let seen = probe.clone();
            async move {
                let id = host.id().0.clone();
                let _ended = Ended(seen.clone(), id.clone());
                lock(&seen).started.insert(id);
                let _ = stop.changed().await;
                // Winding down takes a while: whoever stops the task must wait for it.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        until("the probe runs for the host already there", || {
            lock(&seen).started.contains("local")
        })
        .await;

        // A host added after the task was registered gets it too.
        assert!(matches!(
            Host::local_named("Second Host", events.clone()),
            Err(HostError::Invalid(_))
        ));
        hosts.add(Host::local_named("second", events.clone()).unwrap()).unwrap();
        until("the probe runs for the host added later", || {
            lock(&seen).started.contains("second")
        })
        .await;
        assert_eq!(ids(&hosts), ["local", "second"]);
        assert!(matches!(
            hosts.add(Host::local(events.clone()).unwrap()),
            Err(HostError::Exists(_))
        ));

        let removed = hosts.remove("second").await.unwrap();
        assert!(
            lock(&seen).ended.contains("second"),
            "remove returned before the host's task ended"
        );
        assert!(
            !lock(&seen).ended.contains("local"),
            "only the removed host's tasks stop"
        );
        assert_eq!(
            Arc::strong_count(&removed),
            1,
            "a task of the removed host (its engine watcher?) still holds it"
        );
        assert_eq!(ids(&hosts), ["local"]);
        assert!(matches!(hosts.get("second"), Err(HostError::UnknownHost(_))));
        assert!(matches!(hosts.remove("second").await, Err(HostError::UnknownHost(_))));

        let local = hosts.get("local").unwrap();
        hosts.shutdown().await;
        assert!(
            lock(&seen).ended.contains("local"),
            "shutdown returned before a host's task ended"
        );
        assert_eq!(Arc::strong_count(&local), 1, "a task of host local still holds it");
        assert!(ids(&hosts).is_empty());
        assert!(matches!(
            hosts.add(Host::local_named("third", events.clone()).unwrap()),
            Err(HostError::ShuttingDown)
        ));
        events.close().await.unwrap();
    }
}
