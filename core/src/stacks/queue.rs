//! One deploy per stack at a time: each stack has a queue and one worker
//! that runs its deploys in the order they were queued. A deploy can be
//! cancelled while it waits (it never starts) or while it runs (its
//! command is stopped; `deploy` puts the previous version back).

use super::output::Output;
use crate::access::Caller;
use crate::model::{Deploy, DeployId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// What a queued deploy does.
pub(crate) enum Work {
    /// Fetch (the branch's head or this commit), build, up, wait.
    Build { commit: Option<String> },
    /// Run an earlier deploy's images again.
    Rollback { to: Box<Deploy> },
}

pub(crate) struct Job {
    pub deploy: Deploy,
    pub work: Work,
    pub caller: Caller,
    pub cancel: watch::Receiver<bool>,
}

/// A stack's queue: its worker's inbox, and how many deploys are queued
/// or running.
pub(crate) struct Slot {
    /// Held while a deploy is stored and queued, so ids and queue order agree.
    pub enqueue: tokio::sync::Mutex<()>,
    pub tx: mpsc::UnboundedSender<Job>,
    pub busy: AtomicUsize,
}

#[derive(Default)]
pub(crate) struct Queues {
    slots: Mutex<HashMap<(String, String), Arc<Slot>>>,
    cancels: Mutex<HashMap<DeployId, watch::Sender<bool>>>,
    outputs: Mutex<HashMap<DeployId, Arc<Output>>>,
}

impl Queues {
    /// The stack's slot; a new one comes with its inbox's receiving end,
    /// for the caller to start the worker on.
    pub fn slot(&self, host: &str, name: &str) -> (Arc<Slot>, Option<mpsc::UnboundedReceiver<Job>>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(&(host.to_string(), name.to_string())) {
            return (s.clone(), None);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let slot = Arc::new(Slot {
            enqueue: tokio::sync::Mutex::new(()),
            tx,
            busy: AtomicUsize::new(0),
        });
        slots.insert((host.to_string(), name.to_string()), slot.clone());
        (slot, Some(rx))
    }

    /// A deploy's cancel switch, made as it is queued.
    pub fn cancel_switch(&self, id: DeployId) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        self.cancels.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tx);
        rx
    }

    /// Asks a queued or running deploy to stop: `false` when it is not
    /// (any longer) queued or running here.
    pub fn cancel(&self, id: DeployId) -> bool {
        match self.cancels.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            Some(tx) => {
                let _ = tx.send(true);
                true
            }
            None => false,
        }
    }

    pub fn register_output(&self, output: Arc<Output>) {
        let mut outputs = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        outputs.insert(output.id, output);
    }

    /// The output of a deploy that is running now.
    pub fn output(&self, id: DeployId) -> Option<Arc<Output>> {
        self.outputs.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// A deploy is over: forget its switch and its live output.
    pub fn done(&self, slot: &Slot, id: DeployId) {
        self.cancels.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        self.outputs.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        slot.busy.fetch_sub(1, Ordering::SeqCst);
    }
}
