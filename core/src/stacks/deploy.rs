//! Deploys: queueing one (a person, the API or a webhook), cancelling,
//! rolling back, reading one with its output; and the run itself, step by
//! step: fetch the commit, check the compose files, build (tagged
//! `berth/STACK-SERVICE:N` and `:COMMIT7`, with OCI labels), up with an
//! override file pinning berth's images, wait until every service settles,
//! and on failure put the previous version back. Every step is recorded as
//! an event (`deploy.start`, `deploy.step`, `deploy.finish`,
//! `deploy.rollback`), and its output kept, masked, with the deploy.

use super::output::Output;
use super::queue::{Job, Work};
use super::run::Runner;
use super::{Result, StackError, Stacks, store};
use crate::access::Caller;
use crate::events::now_ns;
use crate::model::{
    Deploy, DeployDetail, DeployId, DeployState, DeployStep, DeployTrigger, EventKind, NewEvent, Operation, Outcome,
    ServiceImage, StackDefinition,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

impl Stacks {
    /// Queues a deploy of a stack (the branch's head, or `commit`), and
    /// answers once it is stored and queued. While another deploy of the
    /// stack is queued or running, `queue` says whether to wait behind it
    /// or be refused.
    pub async fn deploy(
        &self,
        caller: &Caller,
        host: &str,
        name: &str,
        commit: Option<String>,
        queue: bool,
    ) -> Result<Deploy> {
        let trigger = DeployTrigger::User { name: caller.name() };
        self.enqueue(caller, host, name, Work::Build { commit }, trigger, queue)
            .await
    }

    /// Queues a deploy that runs the images an earlier one ran.
    pub async fn rollback(&self, caller: &Caller, host: &str, name: &str, to: DeployId) -> Result<Deploy> {
        // Decided (and a refusal recorded) before anything about the stack is told.
        self.check(caller, Operation::RollbackStack, host, name).await?;
        let target = self.inner.store.blocking(move |db| store::deploy(db, to)).await?;
        let target = target
            .filter(|d| d.host.0 == host && d.stack == name)
            .ok_or_else(|| StackError::NotFound(format!("stack '{name}' on {host} has no deploy {to}")))?;
        if !matches!(target.state, DeployState::Succeeded) || target.images.is_empty() {
            return Err(StackError::Invalid(format!(
                "deploy {to} did not succeed, so there is no version of it to run again"
            )));
        }
        let trigger = DeployTrigger::Rollback {
            name: caller.name(),
            to,
        };
        let work = Work::Rollback { to: Box::new(target) };
        self.enqueue(caller, host, name, work, trigger, true).await
    }

    /// The one way a deploy is queued: access decided and the request
    /// recorded (as `stack.deploy` or `stack.rollback`), the deploy stored,
    /// then handed to the stack's worker.
    pub(super) async fn enqueue(
        &self,
        caller: &Caller,
        host: &str,
        name: &str,
        work: Work,
        trigger: DeployTrigger,
        queue: bool,
    ) -> Result<Deploy> {
        let started = Instant::now();
        let op = match work {
            Work::Build { .. } => Operation::DeployStack,
            Work::Rollback { .. } => Operation::RollbackStack,
        };
        let commit = match &work {
            Work::Build { commit } => commit.clone(),
            Work::Rollback { to } => to.commit.clone(),
        };
        let event = caller
            .event(op.kind())
            .host(host.to_string())
            .target(format!("stack:{name}"))
            .details(serde_json::json!({ "commit": commit, "trigger": trigger }));
        let result = async {
            self.check(caller, op, host, name).await?;
            if let Some(c) = &commit {
                check_commit(c)?;
            }
            self.inner.hosts.get(host)?;
            let def = self.definition(host, name).await?;
            let (slot, rx) = self.inner.queues.slot(host, name);
            if let Some(rx) = rx {
                tokio::spawn(worker(Arc::downgrade(&self.inner), rx));
            }
            let _order = slot.enqueue.lock().await;
            if !queue && slot.busy.load(Ordering::SeqCst) > 0 {
                return Err(StackError::Conflict(format!(
                    "a deploy of '{name}' is queued or running; wait for it, cancel it, or ask to queue this one"
                )));
            }
            let version = match &work {
                Work::Rollback { to } => to.version,
                Work::Build { .. } => 0,
            };
            let deploy = Deploy {
                id: DeployId(0),
                host: def.host.clone(),
                stack: def.name.clone(),
                version,
                commit: commit.clone(),
                state: DeployState::Queued,
                trigger,
                queued_ns: now_ns(),
                finished_ns: None,
                steps: Vec::new(),
                images: Vec::new(),
                compose: None,
                error: None,
                log_sha256: None,
            };
            let deploy = self
                .inner
                .store
                .blocking(move |db| store::insert_deploy(db, deploy))
                .await?;
            let cancel = self.inner.queues.cancel_switch(deploy.id);
            slot.busy.fetch_add(1, Ordering::SeqCst);
            let job = Job {
                deploy: deploy.clone(),
                work,
                caller: caller.clone(),
                cancel,
            };
            if slot.tx.send(job).is_err() {
                self.inner.queues.done(&slot, deploy.id);
                return Err(StackError::Failed("berth is stopping; no deploy can start now".into()));
            }
            Ok(deploy)
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// Cancels a queued or running deploy (recorded as
    /// `stack.deploy_cancel`). A running one stops at once; whatever it
    /// had changed is put back to the previous version.
    pub async fn cancel(&self, caller: &Caller, host: &str, name: &str, id: DeployId) -> Result<()> {
        let started = Instant::now();
        let event = caller
            .event(Operation::CancelDeploy.kind())
            .host(host.to_string())
            .target(format!("stack:{name}"))
            .details(serde_json::json!({ "deploy": id }));
        let result = async {
            self.check(caller, Operation::CancelDeploy, host, name).await?;
            let d = self.deploy_of(host, name, id).await?;
            if d.state.is_done() || !self.inner.queues.cancel(id) {
                return Err(StackError::Conflict(format!(
                    "deploy {id} is {} already; there is nothing to cancel",
                    d.state.as_str()
                )));
            }
            Ok(())
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// A deploy with its output so far.
    pub async fn deploy_detail(&self, caller: &Caller, host: &str, name: &str, id: DeployId) -> Result<DeployDetail> {
        self.check(caller, Operation::ViewStack, host, name).await?;
        let deploy = self.deploy_of(host, name, id).await?;
        if let Some(out) = self.inner.queues.output(id) {
            let (log, _) = out.follow();
            let truncated = out.truncated();
            return Ok(DeployDetail { deploy, log, truncated });
        }
        let bytes = self.inner.store.blocking(move |db| store::log(db, id)).await?;
        Ok(DeployDetail {
            truncated: String::from_utf8_lossy(&bytes).contains("==> output past"),
            log: String::from_utf8_lossy(&bytes).into_owned(),
            deploy,
        })
    }

    /// Follows a deploy's output: what was kept so far, then the rest live
    /// (`None` when it is over).
    pub async fn follow(
        &self,
        caller: &Caller,
        host: &str,
        name: &str,
        id: DeployId,
    ) -> Result<(String, Option<tokio::sync::broadcast::Receiver<super::output::Live>>)> {
        self.check(caller, Operation::ViewStack, host, name).await?;
        self.deploy_of(host, name, id).await?;
        if let Some(out) = self.inner.queues.output(id) {
            return Ok(out.follow());
        }
        let bytes = self.inner.store.blocking(move |db| store::log(db, id)).await?;
        Ok((String::from_utf8_lossy(&bytes).into_owned(), None))
    }

    async fn deploy_of(&self, host: &str, name: &str, id: DeployId) -> Result<Deploy> {
        let d = self.inner.store.blocking(move |db| store::deploy(db, id)).await?;
        d.filter(|d| d.host.0 == host && d.stack == name)
            .ok_or_else(|| StackError::NotFound(format!("stack '{name}' on {host} has no deploy {id}")))
    }

    pub(super) async fn definition(&self, host: &str, name: &str) -> Result<StackDefinition> {
        let (h, n) = (host.to_string(), name.to_string());
        self.inner
            .store
            .blocking(move |db| store::definition(db, &h, &n))
            .await?
            .ok_or_else(|| {
                StackError::NotFound(format!(
                    "berth does not deploy a stack '{name}' on {host}: define it first (New stack)"
                ))
            })
    }

    async fn save_deploy(&self, d: &Deploy, out: &Output) {
        let (d, chunk, id) = (d.clone(), out.unstored(), out.id);
        let saved = self
            .inner
            .store
            .blocking(move |db| {
                if let Some((n, bytes)) = chunk {
                    store::append_log(db, id, n, &bytes)?;
                }
                store::update_deploy(db, &d)
            })
            .await;
        if let Err(e) = saved {
            tracing::error!(deploy = %id, error = %e, "could not store a deploy's progress");
        }
    }

    async fn event(&self, kind: EventKind, caller: &Caller, d: &Deploy, details: serde_json::Value) {
        let outcome = match d.state {
            DeployState::Failed | DeployState::Cancelled | DeployState::RolledBack => {
                Outcome::Error(d.error.clone().unwrap_or_else(|| d.state.as_str().into()))
            }
            _ => Outcome::Ok,
        };
        let event = NewEvent::new(kind, caller.actor())
            .host(d.host.0.clone())
            .target(format!("stack:{}", d.stack))
            .outcome(outcome)
            .details(details);
        if let Err(e) = self.inner.events.append(event).await {
            tracing::error!(deploy = %d.id, error = %e, "could not record a deploy's event");
        }
    }

    /// Runs one deploy to its end: never returns an error, records it.
    async fn run(&self, job: Job) {
        let Job {
            mut deploy,
            work,
            caller,
            cancel,
        } = job;
        let out = Arc::new(Output::new(deploy.id));
        self.inner.queues.register_output(out.clone());
        if *cancel.borrow() {
            deploy.state = DeployState::Cancelled;
            deploy.error = Some("cancelled before it started".into());
            deploy.finished_ns = Some(now_ns());
            out.note("cancelled before it started");
            self.finish(&caller, deploy, &out, None).await;
            return;
        }
        let def = match self.definition(&deploy.host.0, &deploy.stack).await {
            Ok(d) => d,
            Err(e) => {
                deploy.state = DeployState::Failed;
                deploy.error = Some(e.to_string());
                self.finish(&caller, deploy, &out, None).await;
                return;
            }
        };
        deploy.state = DeployState::Running;
        self.save_deploy(&deploy, &out).await;
        let details = serde_json::json!({
            "deploy": deploy.id, "stack": deploy.stack, "commit": deploy.commit, "trigger": deploy.trigger,
        });
        self.event(EventKind::DeployStart, &caller, &deploy, details).await;

        let runner = Runner::new(self.clone(), def, out.clone(), cancel).with_actor(&caller, deploy.id);
        let mut rolled_back_to = None;
        let result = self.steps(&runner, &mut deploy, &work).await;
        match result {
            Ok(images) => {
                deploy.images = images;
                deploy.state = DeployState::Succeeded;
                out.note(&format!("deploy {} succeeded: version {}", deploy.id, deploy.version));
            }
            Err(e) => {
                let cancelled = runner.cancelled();
                deploy.error = Some(if cancelled { "cancelled".into() } else { e.to_string() });
                out.note(&format!(
                    "deploy {} {}: {e}",
                    deploy.id,
                    if cancelled { "cancelled" } else { "failed" }
                ));
                deploy.state = if cancelled {
                    DeployState::Cancelled
                } else {
                    DeployState::Failed
                };
                let wants_back = cancelled || runner.definition().rollback_on_failure;
                if runner.touched_services() && wants_back {
                    rolled_back_to = self.roll_back_after_failure(&runner, &caller, &mut deploy).await;
                }
            }
        }
        deploy.finished_ns = Some(now_ns());
        self.finish(&caller, deploy, &out, rolled_back_to).await;
        if let Err(e) = runner.prune_versions().await {
            tracing::warn!(error = %e, "could not drop a stack's old versions");
        }
    }

    /// The steps of a deploy or a rollback, each timed and recorded.
    async fn steps(&self, runner: &Runner, d: &mut Deploy, work: &Work) -> Result<Vec<ServiceImage>> {
        let prepared = match work {
            Work::Build { commit } => {
                let def = runner.definition().clone();
                d.version = def.next_version;
                self.bump_version(&def).await?;
                let fetched = self
                    .step(runner, d, "fetch", runner.fetch(d.version, commit.as_deref()))
                    .await?;
                d.commit = fetched.commit.clone();
                d.compose = Some(runner.compose_name().await?);
                let mut p = self.step(runner, d, "check", runner.check(fetched)).await?;
                let p2 = p.clone();
                let built = self.step(runner, d, "build", runner.build(d.id, &p2)).await?;
                p.built = built;
                runner.write_manifest(&p)?;
                p
            }
            Work::Rollback { to } => {
                d.compose = Some(runner.compose_name().await?);
                runner.read_manifest(to.version)?
            }
        };
        self.step(runner, d, "up", runner.up(&prepared)).await?;
        self.step(runner, d, "wait", runner.wait(&prepared)).await?;
        runner.images(&prepared).await
    }

    /// One step: started, timed, its end stored and recorded.
    async fn step<T>(
        &self,
        runner: &Runner,
        d: &mut Deploy,
        name: &str,
        work: impl std::future::Future<Output = Result<(T, String)>>,
    ) -> Result<T> {
        runner.out().note(name);
        d.steps.push(DeployStep {
            name: name.into(),
            state: DeployState::Running,
            started_ns: now_ns(),
            finished_ns: None,
            note: String::new(),
        });
        self.save_deploy(d, runner.out()).await;
        let result = runner.bounded(work).await;
        let step = d.steps.last_mut().expect("pushed above");
        step.finished_ns = Some(now_ns());
        let outcome = match &result {
            Ok((_, note)) => {
                step.state = DeployState::Succeeded;
                step.note = note.clone();
                runner.out().note(&format!("{name}: {note}"));
                Outcome::Ok
            }
            Err(e) => {
                step.state = DeployState::Failed;
                step.note = e.to_string();
                Outcome::Error(e.to_string())
            }
        };
        let took_ms = (step.finished_ns.unwrap_or(0) - step.started_ns) / 1_000_000;
        let details = serde_json::json!({
            "deploy": d.id, "step": name, "ms": took_ms, "note": step.note, "output_sha256": runner.out().digest(),
        });
        self.save_deploy(d, runner.out()).await;
        let event = NewEvent::new(EventKind::DeployStep, runner.caller_actor())
            .host(d.host.0.clone())
            .target(format!("stack:{}", d.stack))
            .outcome(outcome)
            .details(details);
        if let Err(e) = self.inner.events.append(event).await {
            tracing::error!(error = %e, "could not record a deploy step");
        }
        result.map(|(t, _)| t)
    }

    async fn bump_version(&self, def: &StackDefinition) -> Result<()> {
        let (h, n) = (def.host.0.clone(), def.name.clone());
        self.inner
            .store
            .blocking(move |db| {
                if let Some(mut d) = store::definition(db, &h, &n)? {
                    d.next_version += 1;
                    store::save(db, &d, &[], false)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Puts the latest version that succeeded back after a failed or
    /// cancelled deploy; returns that deploy's id when it did.
    async fn roll_back_after_failure(&self, runner: &Runner, caller: &Caller, d: &mut Deploy) -> Option<DeployId> {
        let (h, n, id) = (d.host.0.clone(), d.stack.clone(), d.id);
        let history = self
            .inner
            .store
            .blocking(move |db| store::stack_deploys(db, &h, &n, 100))
            .await
            .ok()?;
        let Some(prev) = history
            .into_iter()
            .find(|p| p.id != id && p.state == DeployState::Succeeded)
        else {
            runner
                .out()
                .note("no earlier version succeeded; nothing to roll back to");
            return None;
        };
        runner.out().note(&format!(
            "rolling back to version {} (deploy {})",
            prev.version, prev.id
        ));
        let back = async {
            let p = runner.read_manifest(prev.version)?;
            runner.up_unbounded(&p).await?;
            runner.wait_unbounded(&p).await?;
            runner.images(&p).await
        }
        .await;
        let ok = back.is_ok();
        match &back {
            Ok(_) => runner.out().note(&format!("version {} is running again", prev.version)),
            Err(e) => runner.out().note(&format!("the rollback failed too: {e}")),
        }
        if d.state == DeployState::Failed && ok {
            d.state = DeployState::RolledBack;
        }
        let details = serde_json::json!({
            "deploy": d.id, "to": prev.id, "version": prev.version, "commit": prev.commit,
            "images": back.as_ref().ok(), "error": back.as_ref().err().map(ToString::to_string),
        });
        let event = NewEvent::new(EventKind::DeployRollback, caller.actor())
            .host(d.host.0.clone())
            .target(format!("stack:{}", d.stack))
            .outcome(if ok {
                Outcome::Ok
            } else {
                Outcome::Error("the rollback failed".into())
            })
            .details(details);
        if let Err(e) = self.inner.events.append(event).await {
            tracing::error!(error = %e, "could not record a rollback");
        }
        ok.then_some(prev.id)
    }

    /// Stores the deploy's end, closes its output and records it.
    async fn finish(&self, caller: &Caller, mut d: Deploy, out: &Arc<Output>, rolled_back_to: Option<DeployId>) {
        d.finished_ns.get_or_insert_with(now_ns);
        let (sha, dropped) = out.finish();
        d.log_sha256 = Some(sha.clone());
        self.save_deploy(&d, out).await;
        let details = serde_json::json!({
            "deploy": d.id, "stack": d.stack, "version": d.version, "commit": d.commit,
            "state": d.state.as_str(), "images": d.images, "log_sha256": sha, "log_dropped_bytes": dropped,
            "rolled_back_to": rolled_back_to, "compose": d.compose, "trigger": d.trigger,
        });
        self.event(EventKind::DeployFinish, caller, &d, details).await;
        let (slot, _) = self.inner.queues.slot(&d.host.0, &d.stack);
        self.inner.queues.done(&slot, d.id);
    }
}

/// A stack's worker: runs its deploys one at a time, in order, until
/// berth's stacks service is gone.
async fn worker(inner: std::sync::Weak<super::Inner>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        let stacks = Stacks { inner };
        stacks.run(job).await;
    }
}

/// A commit as a person gives it: 7 to 40 hex digits (64 for SHA-256 repositories).
fn check_commit(c: &str) -> Result<()> {
    if (7..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StackError::Invalid(format!(
            "'{}' is not a commit: give 7 to 40 hex digits",
            c.chars().take(64).collect::<String>()
        )))
    }
}
