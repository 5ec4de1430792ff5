//! `Berth`: the services a running server shares, built once at start-up,
//! and the caller-checked operations that span them (the dashboard, reading
//! the event log). Adding and changing hosts is `host_admin`'s.

use crate::access::{self, AccessError, Caller, Scope};
use crate::auth::Auth;
use crate::events::{CheckpointError, Checkpointer, EventError, EventLog, Signed, Visible};
use crate::health::Health;
use crate::hosts::{HostAdmin, Hosts};
use crate::model::{
    ChainStatus, CheckpointInfo, Cosigned, Dashboard, Event, EventFilter, EventPage, EventSeq, LogStatus, Operation,
    Outcome,
};
use crate::stats::Stats;
use crate::store::Store;
use crate::tlog::proof::ProofFile;
use std::sync::Arc;
use thiserror::Error;

/// What every request handler needs; cheap to clone.
#[derive(Clone)]
pub struct Berth {
    pub store: Store,
    pub events: EventLog,
    pub auth: Auth,
    pub hosts: Hosts,
    /// Hosts added, renamed, disabled and removed while berth runs.
    pub host_admin: HostAdmin,
    pub stats: Stats,
    pub health: Health,
    pub checkpoints: Checkpointer,
    /// Containers' live logs, one engine stream each shared by every follower.
    pub logs: crate::logs::LogHub,
    /// Terminals in containers, and their recordings.
    pub terminals: crate::terminal::Terminals,
    /// Container logs kept in the store under a budget, searchable.
    pub stored_logs: crate::logs::stored::StoredLogs,
    /// Alert rules, what fires, and the notification channels.
    pub alerts: crate::alerts::Alerts,
    /// Compose projects on every host, and the stacks berth deploys.
    pub stacks: crate::stacks::Stacks,
}

/// Reading the log for a caller: refused, or the log failed.
#[derive(Debug, Error)]
pub enum LogError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error("there is no event {0}")]
    NotFound(u64),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl crate::Failure for LogError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            LogError::Access(e) => e.kind(),
            LogError::Events(e) => e.kind(),
            LogError::NotFound(_) => crate::ErrorKind::NotFound,
            LogError::Checkpoint(e) => e.kind(),
        }
    }
}

impl Berth {
    /// `dashboard`, once `access` allows it.
    pub async fn dashboard_for(&self, caller: &Caller) -> Result<Dashboard, AccessError> {
        self.check(caller, Operation::ViewDashboard).await?;
        Ok(self.dashboard(caller))
    }

    /// The hosts `caller` may see with their containers, the latest readings
    /// of those hosts and their drifts (for a caller already let in).
    pub fn dashboard(&self, caller: &Caller) -> Dashboard {
        let p = caller.permissions();
        let mut stats = self.stats.latest().as_ref().clone();
        stats.hosts.retain(|h| p.sees(&h.host.0));
        stats.containers.retain(|c| p.sees(&c.host.0));
        Dashboard {
            hosts: self.hosts.visible(caller).iter().map(|h| h.view()).collect(),
            stats,
            drifts: self.health.drifts().into_iter().filter(|d| p.sees(&d.host.0)).collect(),
            alerts: self.alerts.visible_to(caller),
        }
    }

    /// Which events `caller` may see, as a predicate for the log's readers.
    pub fn visible_events(caller: &Caller) -> Visible {
        let caller = caller.clone();
        Arc::new(move |e: &Event| caller.sees_event(e))
    }

    /// A page of the log as `caller` may see it (events about hosts they
    /// cannot view are left out).
    pub async fn events_page(
        &self,
        caller: &Caller,
        filter: EventFilter,
        before: Option<EventSeq>,
        limit: usize,
    ) -> Result<EventPage, LogError> {
        access::check(&self.events, caller, Operation::ReadEvents, Scope::none()).await?;
        Ok(self
            .events
            .query_visible(filter, before, limit, Self::visible_events(caller))
            .await?)
    }

    /// One event, if `caller` may see it.
    pub async fn event(&self, caller: &Caller, seq: EventSeq) -> Result<Event, LogError> {
        access::check(&self.events, caller, Operation::ReadEvents, Scope::none()).await?;
        match self.events.get(seq).await? {
            Some(e) if caller.sees_event(&e) => Ok(e),
            _ => Err(LogError::NotFound(seq.0)),
        }
    }

    /// The log's key and latest checkpoint. Public: it is what a monitor
    /// outside checks berth against, and holds only sizes and hashes.
    pub fn log_status(&self) -> LogStatus {
        LogStatus {
            key: self.checkpoints.verifier().to_string(),
            origin: self.checkpoints.origin().to_string(),
            checkpoint: self.checkpoints.latest().map(|s| checkpoint_info(&s)),
        }
    }

    /// Signs a checkpoint now (admins); recorded as `log.checkpoint`.
    pub async fn sign_checkpoint(&self, caller: &Caller) -> Result<CheckpointInfo, LogError> {
        access::check(&self.events, caller, Operation::SignCheckpoint, Scope::none()).await?;
        let signed = self.checkpoints.sign(caller.actor()).await?;
        Ok(checkpoint_info(&signed))
    }

    /// An offline proof file (c2sp.org/tlog-proof) that event `seq`, which
    /// the caller may see, is in the log's latest signed checkpoint.
    pub async fn prove_event(&self, caller: &Caller, seq: EventSeq) -> Result<ProofFile, LogError> {
        access::check(&self.events, caller, Operation::ProveEvent, Scope::none()).await?;
        self.event(caller, seq).await?;
        Ok(self.checkpoints.prove(seq, caller.actor()).await?)
    }

    /// Event `seq`'s canonical bytes and its inclusion proof in the tree of
    /// the first `size` events, for a caller who may see it.
    pub async fn inclusion_proof(
        &self,
        caller: &Caller,
        seq: EventSeq,
        size: u64,
    ) -> Result<(Vec<u8>, Vec<crate::tlog::Hash>), LogError> {
        access::check(&self.events, caller, Operation::ProveEvent, Scope::none()).await?;
        self.event(caller, seq).await?;
        Ok(self.events.inclusion_proof(seq, size).await?)
    }

    /// Whether `caller` may do `op` (an operation about no one host), for
    /// reads that have no core function of their own (the log's kinds and
    /// chain status); a refusal is recorded like any other.
    pub async fn check(&self, caller: &Caller, op: Operation) -> Result<(), AccessError> {
        access::check(&self.events, caller, op, Scope::none()).await
    }

    /// Checks that `caller` may export; the export itself streams with
    /// `visible_events` and records `events.export` when done.
    pub async fn may_export(&self, caller: &Caller) -> Result<Visible, LogError> {
        access::check(&self.events, caller, Operation::ExportEvents, Scope::none()).await?;
        Ok(Self::visible_events(caller))
    }

    /// Walks the whole chain now; recorded as `events.verify`.
    pub async fn verify_events(&self, caller: &Caller) -> Result<ChainStatus, LogError> {
        access::check(&self.events, caller, Operation::VerifyEvents, Scope::none()).await?;
        let status = self.events.verify(self.checkpoints.latest().as_deref()).await?;
        let outcome = match &status.problem {
            None => Outcome::Ok,
            Some(p) => Outcome::Error(p.clone()),
        };
        self.events.record(
            caller
                .event(Operation::VerifyEvents.kind())
                .outcome(outcome)
                .details(serde_json::json!({ "checked": status.checked })),
        );
        Ok(status)
    }
}

fn checkpoint_info(s: &Signed) -> CheckpointInfo {
    CheckpointInfo {
        size: s.checkpoint.size,
        root: crate::tlog::encode_hash(&s.checkpoint.root),
        signed_at_ns: s.signed_at_ns,
        note: s.text(),
        cosigned: s
            .cosigners()
            .into_iter()
            .map(|(witness, at_s)| Cosigned { witness, at_s })
            .collect(),
    }
}
