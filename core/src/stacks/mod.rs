//! Stacks: compose projects on every host, and deploys from git.
//!
//! `Stacks` is the service: every compose project found from its
//! containers' labels (whoever started it), acting on one as a whole,
//! berth's definitions of the stacks it deploys (with their secrets kept
//! apart, `store`), webhooks, and deploys (`deploy`). Each operation asks
//! `access` and is recorded once, here.
//!
//! The parts it is built of:
//! - `compose`: the compose command line (`docker compose`, else
//!   `docker-compose`), run against a host's engine, its output streamed.
//! - `mask`: secret values masked in every stream berth keeps or shows,
//!   including values that span two chunks.
//! - `git`: fetching a repository's commit into a checkout, with
//!   credentials that never reach a command line or a log.
//! - `webhook`: checking a push delivery's signature (GitHub, Gitea,
//!   GitLab) over the raw body, and reading what it asks for.

pub mod agent;
pub mod compose;
mod deploy;
pub mod git;
pub mod hooks;
pub mod mask;
pub mod output;
mod queue;
mod run;
mod store;
pub mod webhook;

use crate::access::{self, AccessError, Caller, Scope};
use crate::engine::EngineError;
use crate::events::{EventError, EventLog, now_ns};
use crate::hosts::{Host, HostError, Hosts};
use crate::model::{
    ComposeCheck, ComposeProblem, ContainerAction, ContainerState, DeliveryRecord, ErrorKind, GitCredentialKind,
    MAX_COMPOSE_BYTES, NewEvent, Operation, Outcome, Stack, StackDefinition, StackSource, StackSpec, StackVar,
    StackVerb, StackView, WebhookSetting, group_stacks,
};
use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use store::SecretChange;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StackError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Compose, git or a build failed; the running version is untouched.
    #[error("{0}")]
    Failed(String),
}

impl crate::Failure for StackError {
    fn kind(&self) -> ErrorKind {
        match self {
            StackError::Access(e) => e.kind(),
            StackError::Host(e) => e.kind(),
            StackError::Engine(e) => e.kind(),
            StackError::Store(e) => e.kind(),
            StackError::Events(e) => e.kind(),
            StackError::Invalid(_) => ErrorKind::Invalid,
            StackError::NotFound(_) => ErrorKind::NotFound,
            StackError::Conflict(_) => ErrorKind::Conflict,
            StackError::Failed(_) => ErrorKind::Unavailable,
        }
    }
}

pub type Result<T, E = StackError> = std::result::Result<T, E>;

/// The stacks service; cheap to clone.
#[derive(Clone)]
pub struct Stacks {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: EventLog,
    hosts: Hosts,
    /// Where checkouts and git caches live (`<data dir>/stacks`).
    dir: PathBuf,
    /// Each stack's deploy queue, and the deploys running now.
    queues: queue::Queues,
    /// The largest repository a stack may fetch, in bytes.
    repo_cap: u64,
    /// The compose command line found on this machine, once (finding it
    /// runs two commands: 0.4 s a deploy otherwise). Not kept while none is
    /// found, so installing one later needs no restart.
    compose: tokio::sync::OnceCell<compose::Compose>,
}

/// The largest repository a stack may fetch unless configured otherwise.
pub const DEFAULT_REPO_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// The most deploys a stack's page lists.
const HISTORY: usize = 50;

impl Stacks {
    pub fn new(store: Store, events: EventLog, hosts: Hosts, dir: PathBuf) -> Stacks {
        Stacks {
            inner: Arc::new(Inner {
                store,
                events,
                hosts,
                dir,
                queues: queue::Queues::default(),
                repo_cap: DEFAULT_REPO_MAX_BYTES,
                compose: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// With another cap on the repositories stacks fetch (before any deploy).
    pub fn with_repo_cap(mut self, bytes: u64) -> Stacks {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.repo_cap = bytes;
        }
        self
    }

    /// At start: the deploys a stopped berth left queued or running are
    /// failed, and recorded so. Their stacks run what they ran.
    pub async fn recover(&self) -> Result<usize> {
        let reason = "berth stopped during the deploy; what was running stayed as it was";
        let ended = self
            .inner
            .store
            .blocking(move |db| store::fail_unfinished(db, reason, now_ns()))
            .await?;
        for d in &ended {
            let event = NewEvent::new(crate::model::EventKind::DeployFinish, crate::model::Actor::system())
                .host(d.host.0.clone())
                .target(format!("stack:{}", d.stack))
                .outcome(Outcome::Error(reason.into()))
                .details(serde_json::json!({ "deploy": d.id, "stack": d.stack, "state": d.state.as_str() }));
            self.inner.events.append(event).await?;
        }
        Ok(ended.len())
    }

    /// Every compose project on the hosts the caller sees, and every stack
    /// berth deploys there (with or without containers yet).
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Stack>> {
        access::check(&self.inner.events, caller, Operation::ListStacks, Scope::none()).await?;
        let defs = self.inner.store.blocking(store::definitions).await?;
        let mut all = Vec::new();
        for host in self.inner.hosts.visible(caller) {
            let mut stacks = group_stacks(host.id(), &host.containers());
            for def in defs.iter().filter(|d| &d.host == host.id()) {
                match stacks.binary_search_by(|s| s.name.cmp(&def.name)) {
                    Ok(i) => stacks[i].managed = true,
                    Err(i) => stacks.insert(i, empty_stack(def)),
                }
            }
            all.extend(stacks);
        }
        for s in all.iter_mut().filter(|s| s.managed) {
            let (host, name) = (s.host.0.clone(), s.name.clone());
            let last = self
                .inner
                .store
                .blocking(move |db| store::stack_deploys(db, &host, &name, 1))
                .await?;
            s.last_deploy = last.first().map(Into::into);
        }
        Ok(all)
    }

    /// One stack: its services, berth's definition, its deploys.
    pub async fn get(&self, caller: &Caller, host: &str, name: &str) -> Result<StackView> {
        let h = self.inner.hosts.get(host)?;
        self.check(caller, Operation::ViewStack, host, name).await?;
        let (hs, ns) = (host.to_string(), name.to_string());
        let (definition, deploys) = self
            .inner
            .store
            .blocking(move |db| {
                Ok((
                    store::definition(db, &hs, &ns)?,
                    store::stack_deploys(db, &hs, &ns, HISTORY)?,
                ))
            })
            .await?;
        let found = group_stacks(h.id(), &h.containers())
            .into_iter()
            .find(|s| s.name == name);
        let mut stack = match (found, &definition) {
            (Some(s), _) => s,
            (None, Some(def)) => empty_stack(def),
            (None, None) => return Err(no_stack(host, name)),
        };
        stack.managed = definition.is_some();
        stack.last_deploy = deploys.first().map(Into::into);
        Ok(StackView {
            stack,
            definition,
            deploys: deploys.iter().map(Into::into).collect(),
        })
    }

    /// Stops, starts, restarts or takes down a stack (or one service)
    /// through the engine's API, whoever started it; up and pull run
    /// compose with the stack's files. Recorded as `stack.<verb>`.
    pub async fn act(
        &self,
        caller: &Caller,
        host: &str,
        name: &str,
        verb: StackVerb,
        service: Option<&str>,
        volumes: bool,
    ) -> Result<crate::model::ops::StackActed> {
        let started = Instant::now();
        let h = self.inner.hosts.get(host)?;
        let event = caller
            .event(verb.operation().kind())
            .host(host.to_string())
            .target(format!("stack:{name}"))
            .details(serde_json::json!({ "service": service, "volumes": volumes }));
        let result = async {
            self.check(caller, verb.operation(), host, name).await?;
            if verb.needs_compose() {
                return Err(StackError::Invalid(format!(
                    "{} needs the stack's compose files: deploy the stack from berth, which keeps them",
                    verb.as_str()
                )));
            }
            self.act_on_containers(&h, name, verb, service, volumes).await
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// The engine-side actions: each container of the project (or
    /// service), stopped in reverse name order, started in name order.
    async fn act_on_containers(
        &self,
        h: &Host,
        name: &str,
        verb: StackVerb,
        service: Option<&str>,
        volumes: bool,
    ) -> Result<crate::model::ops::StackActed> {
        let stack = group_stacks(h.id(), &h.containers())
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| no_stack(&h.id().0, name))?;
        let mut containers: Vec<_> = stack
            .services
            .iter()
            .filter(|s| service.is_none_or(|want| s.name == want))
            .flat_map(|s| s.containers.iter().cloned())
            .collect();
        if containers.is_empty() {
            return Err(StackError::NotFound(format!(
                "stack '{name}' has no service '{}'",
                service.unwrap_or_default()
            )));
        }
        let engine = h.engine();
        let action = match verb {
            StackVerb::Start => ContainerAction::Start,
            StackVerb::Stop => ContainerAction::Stop { timeout_s: None },
            StackVerb::Restart => ContainerAction::Restart { timeout_s: None },
            StackVerb::Down => ContainerAction::Remove { force: true, volumes },
            StackVerb::Up | StackVerb::Pull => unreachable!("compose verbs are run by compose"),
        };
        if verb != StackVerb::Start {
            containers.reverse();
        }
        let n = containers.len() as u32;
        for c in &containers {
            if verb == StackVerb::Start && c.state == ContainerState::Running {
                continue;
            }
            engine.act(&c.id, action).await?;
        }
        if verb == StackVerb::Down && service.is_none() {
            let label = format!("com.docker.compose.project={name}");
            engine.prune_networks(Some(&label)).await?;
            if volumes {
                engine.prune_volumes(Some(&label)).await?;
            }
        }
        let _ = h.refresh().await;
        Ok(crate::model::ops::StackActed {
            containers: n,
            output: Vec::new(),
        })
    }

    /// Defines a stack berth deploys (recorded as `stack.create`, with no
    /// secret in the event).
    pub async fn create(&self, caller: &Caller, spec: StackSpec) -> Result<StackDefinition> {
        self.save(caller, None, spec).await
    }

    /// Changes a stack's definition; its host and name stay.
    pub async fn update(&self, caller: &Caller, host: &str, name: &str, spec: StackSpec) -> Result<StackDefinition> {
        self.save(caller, Some((host, name)), spec).await
    }

    async fn save(&self, caller: &Caller, existing: Option<(&str, &str)>, spec: StackSpec) -> Result<StackDefinition> {
        let started = Instant::now();
        let (op, host, name) = match existing {
            Some((h, n)) => (Operation::UpdateStack, h.to_string(), n.to_string()),
            None => (Operation::CreateStack, spec.host.0.clone(), spec.name.clone()),
        };
        let event = caller
            .event(op.kind())
            .host(host.clone())
            .target(format!("stack:{name}"))
            .details(spec_details(&spec));
        let result = async {
            self.check(caller, op, &host, &name).await?;
            spec.validate().map_err(StackError::Invalid)?;
            if existing.is_some() && (spec.host.0 != host || spec.name != name) {
                return Err(StackError::Invalid(
                    "a stack's host and name stay as they are; define a new stack to move it".into(),
                ));
            }
            self.inner.hosts.get(&host)?;
            let (h, n) = (host.clone(), name.clone());
            let before = self
                .inner
                .store
                .blocking(move |db| store::definition(db, &h, &n))
                .await?;
            let before = match (existing, before) {
                (Some(_), None) => return Err(no_stack(&host, &name)),
                (None, Some(_)) => {
                    return Err(StackError::Conflict(format!(
                        "a stack '{name}' is defined on {host} already; edit it, or choose another name"
                    )));
                }
                (_, b) => b,
            };
            let (def, secrets) = definition_from(spec, caller, before.as_ref())?;
            let (d, create) = (def.clone(), existing.is_none());
            let saved = self
                .inner
                .store
                .blocking(move |db| store::save(db, &d, &secrets, create))
                .await?;
            if !saved {
                return Err(StackError::Conflict(format!(
                    "a stack '{name}' is defined on {host} already"
                )));
            }
            Ok(def)
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// Forgets a stack's definition, secrets, deploys and deliveries; its
    /// containers stay.
    pub async fn delete(&self, caller: &Caller, host: &str, name: &str) -> Result<()> {
        let started = Instant::now();
        let event = caller
            .event(Operation::DeleteStack.kind())
            .host(host.to_string())
            .target(format!("stack:{name}"));
        let result = async {
            self.check(caller, Operation::DeleteStack, host, name).await?;
            let (h, n) = (host.to_string(), name.to_string());
            if !self.inner.store.blocking(move |db| store::delete(db, &h, &n)).await? {
                return Err(no_stack(host, name));
            }
            Ok(())
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// One secret variable in clear, recorded with its name (never its
    /// value) as `stack.secret_reveal`.
    pub async fn reveal(&self, caller: &Caller, host: &str, name: &str, var: &str) -> Result<String> {
        let started = Instant::now();
        let var: String = var.chars().take(128).collect();
        let event = caller
            .event(Operation::RevealStackSecret.kind())
            .host(host.to_string())
            .target(format!("stack:{name}"))
            .details(serde_json::json!({ "variable": var }));
        let result = async {
            self.check(caller, Operation::RevealStackSecret, host, name).await?;
            let (h, n, k) = (host.to_string(), name.to_string(), format!("var:{var}"));
            self.inner
                .store
                .blocking(move |db| store::secret(db, &h, &n, &k))
                .await?
                .ok_or_else(|| StackError::NotFound(format!("stack '{name}' on {host} has no secret variable {var}")))
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// Turns the stack's webhook on with a new secret (returned this once)
    /// or off (the secret dropped).
    pub async fn set_webhook(&self, caller: &Caller, host: &str, name: &str, enabled: bool) -> Result<WebhookSetting> {
        let started = Instant::now();
        let event = caller
            .event(Operation::SetStackWebhook.kind())
            .host(host.to_string())
            .target(format!("stack:{name}"))
            .details(serde_json::json!({ "enabled": enabled }));
        let result = async {
            self.check(caller, Operation::SetStackWebhook, host, name).await?;
            let (h, n) = (host.to_string(), name.to_string());
            let mut def = self
                .inner
                .store
                .blocking(move |db| store::definition(db, &h, &n))
                .await?
                .ok_or_else(|| no_stack(host, name))?;
            def.webhook = enabled;
            let secret = enabled.then(new_secret);
            let change = match &secret {
                Some(s) => SecretChange::Set("webhook".into(), s.clone()),
                None => SecretChange::Remove("webhook".into()),
            };
            self.inner
                .store
                .blocking(move |db| store::save(db, &def, &[change], false))
                .await?;
            Ok(WebhookSetting {
                enabled,
                path: webhook_path(host, name),
                secret,
            })
        }
        .await;
        self.record(event, started, &result).await?;
        result
    }

    /// Checks a compose file with compose itself (nothing is saved or
    /// recorded; a refusal is).
    pub async fn validate(&self, caller: &Caller, host: &str, text: &str) -> Result<ComposeCheck> {
        self.inner.hosts.get(host)?;
        let scope = Scope::host(host);
        access::check(&self.inner.events, caller, Operation::ValidateCompose, scope).await?;
        if text.len() > MAX_COMPOSE_BYTES {
            return Err(StackError::Invalid(format!(
                "the compose file is over {} KiB",
                MAX_COMPOSE_BYTES / 1024
            )));
        }
        let compose = self.compose().await?;
        let files = [("compose.yaml".to_string(), text.to_string())];
        let (services, problem) = match compose.validate(&files, None).await {
            Ok(model) => (model.services.into_iter().map(|s| s.name).collect(), None),
            Err(compose::ComposeError::Config(e)) => (
                Vec::new(),
                Some(ComposeProblem {
                    line: e.line,
                    message: e.message,
                }),
            ),
            Err(e) => return Err(StackError::Failed(e.to_string())),
        };
        Ok(ComposeCheck {
            compose: compose.describe(),
            services,
            problem,
        })
    }

    /// A stack's webhook deliveries, newest first.
    pub async fn deliveries(&self, caller: &Caller, host: &str, name: &str) -> Result<Vec<DeliveryRecord>> {
        self.inner.hosts.get(host)?;
        self.check(caller, Operation::ViewStack, host, name).await?;
        let (h, n) = (host.to_string(), name.to_string());
        Ok(self
            .inner
            .store
            .blocking(move |db| store::deliveries(db, &h, &n, 200))
            .await?)
    }

    /// The compose command line on this machine.
    pub(crate) async fn compose(&self) -> Result<&compose::Compose> {
        self.inner
            .compose
            .get_or_try_init(|| async { compose::Compose::detect(None).await })
            .await
            .map_err(|e| StackError::Failed(e.to_string()))
    }

    async fn check(&self, caller: &Caller, op: Operation, host: &str, name: &str) -> Result<(), AccessError> {
        let scope = Scope::host(host).target(format!("stack:{name}"));
        access::check(&self.inner.events, caller, op, scope).await
    }

    /// Records a caller's operation once; a refusal was recorded by
    /// `access` already.
    async fn record<T>(&self, event: NewEvent, started: Instant, result: &Result<T>) -> Result<(), EventError> {
        let outcome = match result {
            Ok(_) => Outcome::Ok,
            Err(StackError::Access(_)) => return Ok(()),
            Err(e) => Outcome::Error(e.to_string()),
        };
        let micros = started.elapsed().as_micros() as u64;
        self.inner
            .events
            .append(event.outcome(outcome).duration_us(micros))
            .await?;
        Ok(())
    }
}

/// Where forges post a stack's pushes, under berth's address.
pub fn webhook_path(host: &str, name: &str) -> String {
    format!("/api/v1/hooks/stacks/{host}/{name}")
}

fn no_stack(host: &str, name: &str) -> StackError {
    StackError::NotFound(format!("there is no stack '{name}' on {host}"))
}

fn empty_stack(def: &StackDefinition) -> Stack {
    Stack {
        host: def.host.clone(),
        name: def.name.clone(),
        services: Vec::new(),
        config_files: None,
        working_dir: None,
        managed: true,
        last_deploy: None,
    }
}

/// What a create or edit event says of the spec: no secret value.
fn spec_details(spec: &StackSpec) -> serde_json::Value {
    let source = match &spec.source {
        StackSource::Git { url, branch, path, .. } => {
            serde_json::json!({ "kind": "git", "url": url, "branch": branch, "path": path })
        }
        StackSource::Inline { compose } => serde_json::json!({ "kind": "inline", "bytes": compose.len() }),
    };
    serde_json::json!({
        "source": source,
        "vars": spec.vars.iter().map(|v| &v.name).collect::<Vec<_>>(),
        "secrets": spec.vars.iter().filter(|v| v.secret).map(|v| &v.name).collect::<Vec<_>>(),
        "on_push": spec.on_push,
        "timeout_s": spec.timeout_s,
    })
}

/// The stored definition and the secret changes a checked spec makes. A
/// secret sent without a value keeps the stored one (there must be one);
/// a variable no longer listed loses its secret.
fn definition_from(
    spec: StackSpec,
    caller: &Caller,
    before: Option<&StackDefinition>,
) -> Result<(StackDefinition, Vec<SecretChange>)> {
    let mut secrets = Vec::new();
    let mut vars = Vec::new();
    for v in &spec.vars {
        let had = before.is_some_and(|b| b.vars.iter().any(|o| o.name == v.name && o.secret));
        match (&v.value, v.secret) {
            (Some(value), true) => secrets.push(SecretChange::Set(format!("var:{}", v.name), value.clone())),
            (None, true) if !had => {
                return Err(StackError::Invalid(format!("the secret {} needs a value", v.name)));
            }
            _ => {}
        }
        vars.push(StackVar {
            name: v.name.clone(),
            value: if v.secret { None } else { v.value.clone() },
            secret: v.secret,
            computed: v.computed,
        });
    }
    for old in before.iter().flat_map(|b| &b.vars) {
        if old.secret && !vars.iter().any(|v| v.name == old.name && v.secret) {
            secrets.push(SecretChange::Remove(format!("var:{}", old.name)));
        }
    }
    if let StackSource::Git { credential, .. } = &spec.source {
        match (credential, &spec.git_secret) {
            (GitCredentialKind::None, _) => secrets.push(SecretChange::Remove("git".into())),
            (_, Some(s)) if !s.is_empty() => secrets.push(SecretChange::Set("git".into(), s.clone())),
            (_, _) if before.is_none() => {
                return Err(StackError::Invalid(
                    "the repository's credential needs its token or key".into(),
                ));
            }
            _ => {}
        }
    }
    let def = StackDefinition {
        name: spec.name,
        host: spec.host,
        source: spec.source,
        vars,
        timeout_s: spec.timeout_s,
        on_push: spec.on_push,
        keep_versions: spec.keep_versions,
        rollback_on_failure: spec.rollback_on_failure,
        webhook: before.is_some_and(|b| b.webhook),
        created_by: before.map_or_else(|| caller.actor().to_string(), |b| b.created_by.clone()),
        created_ns: before.map_or_else(now_ns, |b| b.created_ns),
        next_version: before.map_or(1, |b| b.next_version),
    };
    Ok((def, secrets))
}

/// A new webhook secret: 32 random bytes, hex.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source");
    hex::encode(bytes)
}
