//! Background tasks with an owner. Each task has a name and its owner's stop
//! signal; `Tasks::stop` signals them all and waits until each has ended,
//! so nothing a task holds (the event log, the store, a host) outlives the
//! owner. A host's supervisor owns one set, the server another.
//! Not here: what the tasks do, or when their owner stops them.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A task's stop signal: it turns true (or its owner goes away) when the
/// task should end. Wait on it with `changed()`.
pub type Stop = watch::Receiver<bool>;

/// A task still running this long after the stop is named in the log (and
/// still waited for: ending it by force could leave its work half done).
const SLOW_STOP: Duration = Duration::from_secs(5);

/// Named tasks that share one stop signal.
pub struct Tasks {
    stop: watch::Sender<bool>,
    running: Vec<(String, JoinHandle<()>)>,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks::new()
    }
}

impl Tasks {
    pub fn new() -> Tasks {
        Tasks {
            stop: watch::channel(false).0,
            running: Vec::new(),
        }
    }

    /// Starts `task` with this set's stop signal; `name` is how the log
    /// names it (`task = "..."`) should it fail or be slow to stop.
    /// Must be called within a tokio runtime.
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, task: F)
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task(self.stop.subscribe()));
        self.running.push((name.into(), handle));
    }

    /// Signals every task to stop and waits until each has ended.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        for (name, handle) in std::mem::take(&mut self.running) {
            join(&name, handle).await;
        }
    }
}

impl Drop for Tasks {
    /// Dropped without `stop` (an error path): the tasks are told to stop,
    /// though nobody waits for them.
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

async fn join(name: &str, mut handle: JoinHandle<()>) {
    let ended = match tokio::time::timeout(SLOW_STOP, &mut handle).await {
        Ok(ended) => ended,
        Err(_) => {
            tracing::warn!(task = name, after = ?SLOW_STOP, "still stopping; waiting for it");
            handle.await
        }
    };
    if let Err(e) = ended {
        tracing::error!(task = name, error = %e, "the task failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn stop_returns_after_every_task_has_ended() {
        let ended = Arc::new(AtomicBool::new(false));
        let mut tasks = Tasks::new();
        let flag = ended.clone();
        tasks.spawn("slow-to-stop", |mut stop| async move {
            let _ = stop.changed().await;
            // Cleaning up takes a while; `stop` must wait for it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            flag.store(true, Ordering::SeqCst);
        });
        tasks.spawn("fails", |_| async {
            panic!("a task that fails does not hold up the others")
        });
        tasks.stop().await;
        assert!(ended.load(Ordering::SeqCst));
    }
}
