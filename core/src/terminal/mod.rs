//! Terminals in containers, recorded: a ticket bound to one container,
//! command and user (`ticket`); the session it opens (`open`, then
//! `Session::run`) with the one access decision made by the host, the
//! `terminal.open` and `terminal.close` events, the idle timeout and the
//! recording (`recorder`); and watching a recording (`replay`), checked
//! against the SHA-256 its `terminal.close` event holds, and itself
//! recorded as `terminal.replay`; all recordings kept under one budget,
//! the oldest dropped first (`retention`).
//! Not here: the websocket and its frames (the server), the engine's exec
//! (`hosts`).

mod recorder;
mod replay;
mod retention;
mod session;

pub use session::{Closed, FromClient, Session, ToClient};

use crate::access::{AccessError, Caller};
use crate::auth::{Auth, AuthError, TicketGrant};
use crate::events::{EventError, EventLog, now_ns};
use crate::hosts::{HostError, Hosts};
use crate::model::asciicast::CastHeader;
use crate::model::{ErrorKind, ExecSpec, Outcome, TERM, TerminalRequest, TerminalTarget, join_command};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// What happens when a recording cannot go on (its cap, a failed write).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingMode {
    /// The terminal closes: no session runs unrecorded.
    #[default]
    Strict,
    /// The terminal goes on unrecorded; the person is told, and
    /// `terminal.close` says where the recording stopped and why.
    Continue,
}

/// How terminals behave (`[terminal]` in berth's configuration).
#[derive(Clone, Debug, PartialEq)]
pub struct TerminalConfig {
    /// A terminal without a keystroke this long is closed.
    pub idle: Duration,
    /// The most bytes one session's recording may take.
    pub recording_cap: u64,
    pub recording: RecordingMode,
    /// The most bytes all recordings together may take.
    pub recordings_budget: u64,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig {
            idle: Duration::from_secs(15 * 60),
            recording_cap: 8 << 20,
            recording: RecordingMode::Strict,
            recordings_budget: 1 << 30,
        }
    }
}

#[derive(Debug, Error)]
pub enum TerminalError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request itself is wrong; nothing was started.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The stored recording is not the one its event vouches for.
    #[error("{0}")]
    Altered(String),
}

impl crate::Failure for TerminalError {
    fn kind(&self) -> ErrorKind {
        match self {
            TerminalError::Host(e) => e.kind(),
            TerminalError::Access(e) => e.kind(),
            TerminalError::Auth(e) => e.kind(),
            TerminalError::Events(e) => e.kind(),
            TerminalError::Store(e) => e.kind(),
            TerminalError::Invalid(_) => ErrorKind::Invalid,
            TerminalError::NotFound(_) => ErrorKind::NotFound,
            TerminalError::Altered(_) => ErrorKind::Conflict,
        }
    }
}

pub type Result<T, E = TerminalError> = std::result::Result<T, E>;

/// The terminals of a running berth; cheap to clone.
#[derive(Clone)]
pub struct Terminals {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: EventLog,
    hosts: Hosts,
    auth: Auth,
    config: TerminalConfig,
    /// The sessions whose recordings are being written (`retention::Active`).
    active: std::sync::Mutex<std::collections::HashSet<u64>>,
}

impl Terminals {
    pub fn new(store: Store, events: EventLog, hosts: Hosts, auth: Auth, config: TerminalConfig) -> Terminals {
        Terminals {
            inner: Arc::new(Inner {
                store,
                events,
                hosts,
                auth,
                config,
                active: Default::default(),
            }),
        }
    }

    pub fn config(&self) -> &TerminalConfig {
        &self.inner.config
    }

    /// A one-time ticket for `/ws/terminal`: a terminal in the running
    /// container `id` on `host`, running `request`'s command (the shell when
    /// blank) as its user. Asked of `access` first (a refusal is recorded as
    /// `terminal.open`); the socket can open only what the ticket names.
    pub async fn ticket(&self, caller: &Caller, host: &str, id: &str, request: &TerminalRequest) -> Result<String> {
        let host = self.inner.hosts.get(host)?;
        let (container, name) = host.terminal_target(caller, id).await?;
        let (command, user) = request.parse().map_err(TerminalError::Invalid)?;
        let target = TerminalTarget {
            container,
            name,
            command,
            user,
        };
        Ok(self.inner.auth.issue_terminal_ticket(caller, &host.id().0, target)?)
    }

    /// Starts the terminal a redeemed ticket names, for `caller` (resolved
    /// afresh from the ticket), `cols` × `rows` big. Recorded as
    /// `terminal.open` (ok or failed; a refusal by `access` once, there);
    /// the session then runs with `Session::run`.
    pub async fn open(&self, caller: &Caller, grant: &TicketGrant, cols: u16, rows: u16) -> Result<Session> {
        let Some(target) = grant.target.clone() else {
            return Err(TerminalError::Invalid("this ticket is not for a terminal".into()));
        };
        let host_name = grant.host.clone().unwrap_or_default();
        let host = self.inner.hosts.get(&host_name)?;
        let spec = ExecSpec {
            command: target.command.clone(),
            user: target.user.clone(),
            cols,
            rows,
        };
        spec.validate().map_err(TerminalError::Invalid)?;
        let started = Instant::now();
        let record_target = format!("container:{}", target.name);
        let event = |command: &str| {
            caller
                .event(crate::model::Operation::OpenTerminal.kind())
                .host(host_name.clone())
                .target(record_target.clone())
                .details(serde_json::json!({
                    "container": target.container,
                    "command": command,
                    "user": target.user,
                    "cols": cols,
                    "rows": rows,
                }))
        };
        let exec = match host.exec(caller, &target.container, &spec).await {
            Ok(exec) => exec,
            // Recorded by `access`, once.
            Err(HostError::Access(e)) => return Err(e.into()),
            Err(e) => {
                let failed = event(&spec.command_text())
                    .outcome(Outcome::Error(e.to_string()))
                    .duration_us(started.elapsed().as_micros() as u64);
                self.inner.events.append(failed).await?;
                return Err(e.into());
            }
        };
        let command = join_command(&exec.command);
        let opened = self
            .inner
            .events
            .append(event(&command).duration_us(started.elapsed().as_micros() as u64))
            .await;
        let opened = match opened {
            Ok(e) => e,
            Err(e) => {
                // Unrecorded, it may not run.
                exec.control.finish().await;
                return Err(e.into());
            }
        };
        let header = CastHeader {
            version: 2,
            width: cols,
            height: rows,
            timestamp: Some(now_ns() / 1_000_000_000),
            title: Some(format!("{} on {host_name}: {command}", target.name)),
            env: Some([("TERM".to_string(), TERM.to_string())].into()),
        };
        let recorder = recorder::Recorder::new(
            self.inner.store.clone(),
            opened.seq.0,
            &header,
            self.inner.config.recording_cap,
        );
        Ok(Session {
            caller: caller.clone(),
            host: host_name,
            target: record_target,
            container: target.container,
            user: target.user,
            open_seq: opened.seq.0,
            exec,
            recorder,
            active: retention::Active::new(self, opened.seq.0),
        })
    }
}
