//! Hosts an admin adds, renames, disables, enables and removes while berth
//! runs (from the pages, REST or `berth host`): hosts reached through
//! `berth agent`, kept in the database (`store::hosts`) and started again
//! at every start. Each operation asks `access` (admins only), is recorded
//! with its outcome (never with an agent's token), and writes the table
//! before it changes the running `Hosts`, so a failure leaves both as they
//! were. One operation runs at a time: two admins cannot interleave.
//!
//! The engine beside berth (`local`) and the hosts of the configuration
//! file are listed here (`list`) but changed elsewhere (never; in the
//! file). Not here: connecting to a host (`Host`, `agent`), the registry's
//! mechanics.

mod list;

use super::{Host, HostError, Hosts};
use crate::access::{self, AccessError, Caller, Scope};
use crate::agent::{AgentSettings, AgentUrl, Fingerprint};
use crate::auth::{Auth, GrantsRenamed};
use crate::events::{EventError, EventLog, now_ns};
use crate::model::{ErrorKind, NewAgentHost, NewEvent, Operation, Outcome, validate_agent_token, validate_host_name};
use crate::store::hosts::{self as stored, StoredHost};
use crate::store::{Store, StoreError};
use redb::WriteTransaction;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HostAdminError {
    /// Refused by `access` (and recorded there).
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// The agent asked about does not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
}

impl crate::Failure for HostAdminError {
    fn kind(&self) -> ErrorKind {
        match self {
            HostAdminError::Access(e) => e.kind(),
            HostAdminError::Invalid(_) => ErrorKind::Invalid,
            HostAdminError::Conflict(_) => ErrorKind::Conflict,
            HostAdminError::NotFound(_) => ErrorKind::NotFound,
            HostAdminError::Unavailable(_) => ErrorKind::Unavailable,
            HostAdminError::Host(e) => e.kind(),
            HostAdminError::Store(e) => e.kind(),
            HostAdminError::Events(e) => e.kind(),
        }
    }
}

type Result<T, E = HostAdminError> = std::result::Result<T, E>;

/// A `[[hosts]]` entry of the configuration file, as the list shows it.
#[derive(Clone, Debug)]
pub struct ConfiguredHost {
    pub name: String,
    /// The remote engine's or agent's address.
    pub address: Option<String>,
    /// An agent's pinned fingerprint.
    pub fingerprint: Option<String>,
}

/// The admin's operations on hosts; cheap to clone, shared.
#[derive(Clone)]
pub struct HostAdmin {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: EventLog,
    hosts: Hosts,
    auth: Auth,
    /// How often hosts added here are pinged (berth's stats interval).
    heartbeat: Duration,
    configured: Vec<ConfiguredHost>,
    /// Held through each changing operation, so they run one at a time.
    busy: tokio::sync::Mutex<()>,
}

/// What an operation needs to know of host `name` before changing it.
enum Found {
    Added(StoredHost),
    Configured,
    Local,
    /// Running, but neither configured nor added here (a test's host).
    Other,
    Unknown,
}

/// Names a host added here cannot have: `/api/v1/hosts/NAME` means
/// something else.
const RESERVED: [&str; 2] = ["entries", "probe"];

/// The first 100 characters of something a caller sent, for the record.
fn short(text: &str) -> String {
    text.chars().take(100).collect()
}

/// A fingerprint as sent, written the way berth prints it when it is one.
fn fingerprint_text(text: &str) -> String {
    Fingerprint::parse(text).map_or_else(|_| short(text), |f| f.to_string())
}

impl HostAdmin {
    /// The operations over `hosts`; `configured` are the configuration
    /// file's hosts (changed only there), `heartbeat` how often added hosts
    /// are pinged.
    pub fn new(
        store: Store,
        events: EventLog,
        hosts: Hosts,
        auth: Auth,
        heartbeat: Duration,
        configured: Vec<ConfiguredHost>,
    ) -> HostAdmin {
        HostAdmin {
            inner: Arc::new(Inner {
                store,
                events,
                hosts,
                auth,
                heartbeat,
                configured,
                busy: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Starts every enabled host added at run time (at start-up, after the
    /// configured ones): a name the configuration also has is skipped with
    /// a warning (the file wins), and so is a record that cannot be used.
    /// Returns how many were started.
    pub async fn start_added(&self) -> Result<usize> {
        let mut started = 0;
        for host in self.stored_all().await? {
            if !host.enabled {
                tracing::info!(host = %host.name, "host added at run time is disabled; not connecting");
                continue;
            }
            if self.is_configured(&host.name) || host.name == "local" {
                tracing::warn!(
                    host = %host.name,
                    "a host added at run time has the name of a host in the configuration file, which wins; \
                     to use the added one instead, delete that [[hosts]] entry and restart berth"
                );
                continue;
            }
            match self.build(&host) {
                Ok(h) => {
                    self.inner.hosts.add(h)?;
                    started += 1;
                }
                Err(e) => tracing::warn!(host = %host.name, error = %e, "cannot start a host added at run time"),
            }
        }
        Ok(started)
    }

    /// The fingerprint of the certificate the agent at `url` presents (a
    /// TLS handshake that sends nothing else), for an admin to compare
    /// with what `berth agent init` printed. Recorded as `host.probe`.
    pub async fn probe_agent(&self, caller: &Caller, url: &str) -> Result<String> {
        let started = Instant::now();
        access::check(&self.inner.events, caller, Operation::ProbeHost, Scope::none()).await?;
        let result = async {
            let url = AgentUrl::parse(url).map_err(HostAdminError::Invalid)?;
            let fingerprint = crate::agent::probe(&url).await.map_err(HostAdminError::Unavailable)?;
            Ok(fingerprint.to_string())
        }
        .await;
        let mut details = serde_json::json!({ "url": short(url) });
        if let Ok(f) = &result {
            details["fingerprint"] = f.clone().into();
        }
        let event = caller.event(Operation::ProbeHost.kind()).details(details);
        self.finish(event, started, &result).await?;
        result
    }

    /// Adds a host reached through `berth agent`: everything is checked
    /// first (name free, address, token, fingerprint), then the host is
    /// stored and started. Recorded as `host.add` (without the token).
    pub async fn add_agent(&self, caller: &Caller, new: NewAgentHost) -> Result<()> {
        let details = serde_json::json!({
            "name": short(&new.name), "url": short(&new.url), "fingerprint": fingerprint_text(&new.fingerprint),
            "transport": "agent",
        });
        self.changing(caller, Operation::AddHost, &new.name, details, async {
            let settings = self.check_new(&new).await?;
            let host = Host::agent(
                &new.name,
                settings.clone(),
                self.inner.heartbeat,
                self.inner.events.clone(),
            )?;
            let now = now_ns();
            let record = StoredHost {
                name: new.name.clone(),
                url: settings.url.to_string(),
                token: settings.token,
                fingerprint: settings.fingerprint.to_string(),
                enabled: true,
                added_ns: now,
                added_by: caller.actor().to_string(),
                changed_ns: now,
            };
            let name = new.name.clone();
            self.transact(move |tx| {
                if stored::get(tx, &record.name)?.is_some() {
                    return Err(taken(&name, "added at run time"));
                }
                stored::put(tx, &record)?;
                Ok(())
            })
            .await?;
            if let Err(e) = self.inner.hosts.add(host) {
                // Not started: not kept either.
                let name = new.name.clone();
                self.transact(move |tx| Ok(stored::delete(tx, &name)?)).await?;
                return Err(e.into());
            }
            Ok(())
        })
        .await
    }

    /// Renames a host added at run time: the record and the grants that
    /// name it change together, then the host is stopped and started under
    /// its new name. Its past events, statistics and expected states stay
    /// under the old name. Recorded as `host.rename` with both names.
    pub async fn rename(&self, caller: &Caller, id: &str, new_name: &str) -> Result<()> {
        let details = serde_json::json!({ "from": short(id), "to": short(new_name) });
        self.changing(caller, Operation::RenameHost, id, details, async {
            let mut record = self
                .added(id, "renamed", "rename it there ([[hosts]] name) and restart berth")
                .await?;
            if new_name == id {
                return Err(HostAdminError::Invalid(format!("host '{id}' is named '{id}' already")));
            }
            self.check_name_free(new_name).await?;
            record.name = new_name.to_string();
            record.changed_ns = now_ns();
            let host = if record.enabled {
                Some(self.build(&record)?)
            } else {
                None
            };
            let (from, to) = (id.to_string(), new_name.to_string());
            self.transact(move |tx| {
                if stored::get(tx, &to)?.is_some() {
                    return Err(taken(&to, "added at run time"));
                }
                match crate::auth::rename_host_in_grants(tx, &from, &to)? {
                    GrantsRenamed::Done { .. } => {}
                    GrantsRenamed::Clash(holders) => {
                        return Err(HostAdminError::Conflict(format!(
                            "{} hold grants on both '{from}' and '{to}'; berth will not merge them. Change \
                             those grants so that only one of the two names is granted, then rename again",
                            holders.join(", ")
                        )));
                    }
                }
                stored::delete(tx, &from)?;
                stored::put(tx, &record)?;
                Ok(())
            })
            .await?;
            self.inner.auth.grants_changed();
            if let Some(host) = host {
                self.stop(id).await;
                self.inner.hosts.add(host)?;
            }
            Ok(())
        })
        .await
    }

    /// Disables (stops, keeps, lists as disabled) or enables (starts again)
    /// a host added at run time. Recorded as `host.disable` / `host.enable`.
    pub async fn set_enabled(&self, caller: &Caller, id: &str, enabled: bool) -> Result<()> {
        let (op, verb, in_config) = if enabled {
            (Operation::EnableHost, "enabled", "it runs as long as it is there")
        } else {
            (
                Operation::DisableHost,
                "disabled",
                "remove or comment out its [[hosts]] entry there and restart berth",
            )
        };
        let details = serde_json::json!({ "enabled": enabled });
        self.changing(caller, op, id, details, async {
            let mut record = self.added(id, verb, in_config).await?;
            if record.enabled == enabled {
                // Asked twice: nothing to change, and nothing fails.
                return Ok(());
            }
            record.enabled = enabled;
            record.changed_ns = now_ns();
            let host = if enabled { Some(self.build(&record)?) } else { None };
            self.transact(move |tx| Ok(stored::put(tx, &record)?)).await?;
            match host {
                Some(host) => {
                    if let Err(e) = self.inner.hosts.add(host) {
                        let name = id.to_string();
                        self.transact(move |tx| {
                            if let Some(mut back) = stored::get(tx, &name)? {
                                back.enabled = false;
                                stored::put(tx, &back)?;
                            }
                            Ok(())
                        })
                        .await?;
                        return Err(e.into());
                    }
                }
                None => self.stop(id).await,
            }
            Ok(())
        })
        .await
    }

    /// Removes a host added at run time: out of the table and no longer
    /// managed (its tasks have ended when this returns). Its history stays
    /// in the log. Recorded as `host.remove`.
    pub async fn remove(&self, caller: &Caller, id: &str) -> Result<()> {
        let details = serde_json::json!({ "name": short(id) });
        self.changing(caller, Operation::RemoveHost, id, details, async {
            self.added(id, "removed", "delete its [[hosts]] entry there and restart berth")
                .await?;
            let name = id.to_string();
            self.transact(move |tx| Ok(stored::delete(tx, &name)?)).await?;
            self.stop(id).await;
            Ok(())
        })
        .await
    }

    /// Pins a new fingerprint for an agent host added at run time (its
    /// agent was set up again) and reconnects to it. Recorded as
    /// `host.fingerprint_accept` with the old and new fingerprints.
    pub async fn accept_fingerprint(&self, caller: &Caller, id: &str, fingerprint: &str) -> Result<()> {
        let started = Instant::now();
        let scope = host_scope(id);
        access::check(&self.inner.events, caller, Operation::AcceptFingerprint, scope).await?;
        let _busy = self.inner.busy.lock().await;
        let mut old = None;
        let result = async {
            let mut record = self
                .added(
                    id,
                    "given a new fingerprint",
                    "change its fingerprint there and restart berth",
                )
                .await?;
            let new = Fingerprint::parse(fingerprint).map_err(HostAdminError::Invalid)?;
            old = Some(record.fingerprint.clone());
            record.fingerprint = new.to_string();
            record.changed_ns = now_ns();
            let host = if record.enabled {
                Some(self.build(&record)?)
            } else {
                None
            };
            self.transact(move |tx| Ok(stored::put(tx, &record)?)).await?;
            if let Some(host) = host {
                self.stop(id).await;
                self.inner.hosts.add(host)?;
            }
            Ok(new.to_string())
        }
        .await;
        let new = fingerprint_text(fingerprint);
        let event = self
            .event(caller, Operation::AcceptFingerprint, id)
            .details(serde_json::json!({ "old": old, "new": new }));
        self.finish(event, started, &result).await?;
        result.map(|_| ())
    }

    /// Runs `work`, a change to host `id` by `caller`, once `access` allows
    /// it and no other change runs; records it as `op` with `details` and
    /// the outcome.
    async fn changing(
        &self,
        caller: &Caller,
        op: Operation,
        id: &str,
        details: serde_json::Value,
        work: impl Future<Output = Result<()>>,
    ) -> Result<()> {
        let started = Instant::now();
        access::check(&self.inner.events, caller, op, host_scope(id)).await?;
        let _busy = self.inner.busy.lock().await;
        let result = work.await;
        let event = self.event(caller, op, id).details(details);
        self.finish(event, started, &result).await?;
        result
    }

    /// The event of `op` on host `id` (named as host when it is a host name).
    fn event(&self, caller: &Caller, op: Operation, id: &str) -> NewEvent {
        let event = caller.event(op.kind());
        match validate_host_name(id) {
            Ok(()) => event.host(id).target(format!("host:{id}")),
            Err(_) => event,
        }
    }

    /// Records `event` with the outcome of `result`, durably. A refusal by
    /// `access` is already recorded.
    async fn finish<T>(&self, event: NewEvent, started: Instant, result: &Result<T>) -> Result<()> {
        let outcome = match result {
            Ok(_) => Outcome::Ok,
            Err(HostAdminError::Access(_)) => return Ok(()),
            Err(e) => Outcome::Error(e.to_string()),
        };
        let micros = started.elapsed().as_micros() as u64;
        self.inner
            .events
            .append(event.outcome(outcome).duration_us(micros))
            .await?;
        Ok(())
    }

    /// Checks a new agent host as sent; its settings when all is well.
    async fn check_new(&self, new: &NewAgentHost) -> Result<AgentSettings> {
        self.check_name_free(&new.name).await?;
        let url = AgentUrl::parse(&new.url).map_err(HostAdminError::Invalid)?;
        validate_agent_token(&new.token).map_err(HostAdminError::Invalid)?;
        let fingerprint = Fingerprint::parse(&new.fingerprint).map_err(HostAdminError::Invalid)?;
        Ok(AgentSettings {
            url,
            token: new.token.clone(),
            fingerprint,
        })
    }

    /// A well-formed name that no host has: running, disabled or configured.
    async fn check_name_free(&self, name: &str) -> Result<()> {
        validate_host_name(name).map_err(|e| HostAdminError::Invalid(e.replace(" (or '*' for every host)", "")))?;
        if name == "local" {
            return Err(HostAdminError::Invalid(
                "'local' is the engine beside berth: give the host another name".into(),
            ));
        }
        if RESERVED.contains(&name) {
            return Err(HostAdminError::Invalid(format!(
                "'{name}' names a path of berth's REST API (/api/v1/hosts/{name}), where the host could not be \
                 reached: give the host another name"
            )));
        }
        if self.is_configured(name) {
            return Err(taken(name, "in the configuration file"));
        }
        if let Some(h) = self.stored_all().await?.iter().find(|h| h.name == name) {
            return Err(taken(name, if h.enabled { "added at run time" } else { "disabled" }));
        }
        if self.inner.hosts.get(name).is_ok() {
            return Err(taken(name, "running"));
        }
        Ok(())
    }

    /// The record of host `id` when it was added at run time; otherwise an
    /// error saying why it cannot be `done` (`renamed`) and, for a
    /// configured host, what to do instead (`in_config`).
    async fn added(&self, id: &str, done: &str, in_config: &str) -> Result<StoredHost> {
        match self.find(id).await? {
            Found::Added(record) => Ok(record),
            Found::Local => Err(HostAdminError::Conflict(format!(
                "'local' is the engine beside berth; it cannot be {done}"
            ))),
            Found::Configured => Err(HostAdminError::Conflict(format!(
                "host '{id}' comes from the configuration file, so it cannot be {done} here: {in_config}"
            ))),
            Found::Other => Err(HostAdminError::Conflict(format!(
                "host '{id}' was not added at run time, so it cannot be {done} here"
            ))),
            Found::Unknown => Err(HostAdminError::NotFound(format!(
                "there is no host '{}'; `berth host list` (or GET /api/v1/hosts/entries) shows them",
                short(id)
            ))),
        }
    }

    async fn find(&self, id: &str) -> Result<Found> {
        if self.is_configured(id) {
            return Ok(Found::Configured);
        }
        if let Some(record) = self.stored_all().await?.into_iter().find(|h| h.name == id) {
            return Ok(Found::Added(record));
        }
        Ok(match self.inner.hosts.get(id) {
            Ok(_) if id == "local" => Found::Local,
            Ok(_) => Found::Other,
            Err(_) => Found::Unknown,
        })
    }

    fn is_configured(&self, name: &str) -> bool {
        self.inner.configured.iter().any(|c| c.name == name)
    }

    /// Host `record` as berth runs it (not yet started).
    fn build(&self, record: &StoredHost) -> Result<Arc<Host>> {
        let bad = |e: String| HostAdminError::Invalid(format!("the stored host '{}' is unusable: {e}", record.name));
        let settings = AgentSettings {
            url: AgentUrl::parse(&record.url).map_err(bad)?,
            token: record.token.clone(),
            fingerprint: Fingerprint::parse(&record.fingerprint).map_err(bad)?,
        };
        Ok(Host::agent(
            &record.name,
            settings,
            self.inner.heartbeat,
            self.inner.events.clone(),
        )?)
    }

    /// Stops host `id` if it runs; returns once its tasks have ended.
    async fn stop(&self, id: &str) {
        if self.inner.hosts.remove(id).await.is_err() {
            tracing::debug!(host = %id, "the host was not running");
        }
    }

    async fn stored_all(&self) -> Result<Vec<StoredHost>> {
        Ok(self.inner.store.blocking(stored::all).await?)
    }

    /// Runs `f` in one write transaction, committed only when it succeeds.
    async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || {
            let tx = store.db().begin_write().map_err(StoreError::from)?;
            let out = f(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn host_scope(id: &str) -> Scope {
    match validate_host_name(id) {
        Ok(()) => Scope::host(id),
        Err(_) => Scope::none(),
    }
}

fn taken(name: &str, how: &str) -> HostAdminError {
    HostAdminError::Conflict(format!(
        "there is a host '{name}' already ({how}); give this one another name, or remove that one first"
    ))
}
