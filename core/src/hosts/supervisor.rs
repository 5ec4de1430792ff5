//! One host's supervisor: it owns every task that runs for the host (the
//! engine watcher, and each task a service registered with
//! `Hosts::on_each_host`), and stops them and waits for them when the host
//! is removed or berth stops.
//! Not here: which hosts there are (`registry`).

use super::{Host, watch};
use crate::tasks::{Stop, Tasks};
use futures_util::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

/// A task every host runs: its name and how to start it for one host.
#[derive(Clone)]
pub(super) struct HostTask {
    name: &'static str,
    start: Arc<dyn Fn(Arc<Host>, Stop) -> BoxFuture<'static, ()> + Send + Sync>,
}

impl HostTask {
    pub(super) fn new<F, Fut>(name: &'static str, start: F) -> HostTask
    where
        F: Fn(Arc<Host>, Stop) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        HostTask {
            name,
            start: Arc::new(move |host, stop| Box::pin(start(host, stop))),
        }
    }
}

pub(super) struct Supervisor {
    host: Arc<Host>,
    tasks: Tasks,
}

impl Supervisor {
    /// Starts the host's engine watcher, then each of `registered`.
    pub(super) fn start(host: Arc<Host>, registered: &[HostTask]) -> Supervisor {
        let mut tasks = Tasks::new();
        let watched = host.clone();
        tasks.spawn(format!("engine-watch:{}", host.id), |stop| watch::run(watched, stop));
        let mut supervisor = Supervisor { host, tasks };
        for task in registered {
            supervisor.run(task);
        }
        let task = format!("host:{}", supervisor.host.id);
        tracing::debug!(task, "supervisor started");
        supervisor
    }

    pub(super) fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// Starts `task` for this host.
    pub(super) fn run(&mut self, task: &HostTask) {
        let host = self.host.clone();
        let name = format!("{}:{}", task.name, self.host.id);
        self.tasks.spawn(name, |stop| (task.start)(host, stop));
    }

    /// Stops the host's tasks and returns once each has ended.
    pub(super) async fn stop(self) -> Arc<Host> {
        let task = format!("host:{}", self.host.id);
        self.tasks.stop().await;
        tracing::debug!(task, "supervisor stopped; every task of the host has ended");
        self.host
    }
}
