//! A process started in a container with a TTY, as every `Engine` hands it
//! over: its output as a stream of bytes, and a control to type into it,
//! resize it and end it; and `Host`'s one audited way to start one. Ending
//! is the engine's job, because only the engine can tell whether the
//! process really stopped: closing its input does not end a process on a
//! TTY, so `finish` hangs it up (SIGHUP, what a closed terminal sends) and
//! kills it (SIGKILL) if it stays, and says which it took.
//! Not here: the session and what is recorded of it (`terminal`).

use super::{EngineError, Host, HostError};
use crate::access::Caller;
use crate::model::{ContainerState, ExecExit, ExecSpec, Operation};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

/// A started process.
pub struct ExecSession {
    /// What runs: the shell found, or the command asked for.
    pub command: Vec<String>,
    /// Its output as it comes; ends when the process ends or the engine
    /// goes away.
    pub output: BoxStream<'static, Result<Bytes, EngineError>>,
    pub control: Box<dyn ExecControl>,
}

/// Input, size and end of a started process. `finish` must be called once
/// the session is over, whoever ended it: nothing else stops the process.
#[async_trait]
pub trait ExecControl: Send {
    /// Types `data` (keystrokes, a paste) into it; waits while it does not read.
    async fn input(&mut self, data: Bytes) -> Result<(), EngineError>;
    async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), EngineError>;
    /// Closes its input and, if it still runs, hangs it up and then kills
    /// it; returns how it ended and its exit code, as the engine tells.
    async fn finish(self: Box<Self>) -> ExecExit;
}

impl Host {
    /// The running container `id` that `caller` may open a terminal in:
    /// its full id and name. A refusal is recorded (`terminal.open`); a host
    /// whose agent refuses exec, or a container that is not running, is an
    /// error that says so.
    pub async fn terminal_target(&self, caller: &Caller, id: &str) -> Result<(String, String), HostError> {
        let target = format!("container:{}", self.container_name(id));
        self.check(caller, Operation::OpenTerminal, Some(target)).await?;
        let limits = self.limits();
        if !limits.allows_exec() {
            let flag = if limits.read_only { "--read-only" } else { "--no-exec" };
            return Err(EngineError::Forbidden(format!(
                "host {}'s agent refuses terminals (it was started with {flag})",
                self.id.0
            ))
            .into());
        }
        let detail = self.engine.inspect(id).await?;
        if detail.state != ContainerState::Running {
            return Err(EngineError::Engine(format!(
                "container '{}' is {}, not running: start it to open a terminal",
                detail.name, detail.state
            ))
            .into());
        }
        Ok((detail.id, detail.name))
    }

    /// Starts `spec` in container `id` (a full id) for `caller`, once
    /// `access` allows it (a refusal is recorded as `terminal.open`). What
    /// the session does is recorded by `terminal`, which calls this.
    pub async fn exec(&self, caller: &Caller, id: &str, spec: &ExecSpec) -> Result<ExecSession, HostError> {
        let target = format!("container:{}", self.container_name(id));
        self.check(caller, Operation::OpenTerminal, Some(target)).await?;
        spec.validate().map_err(HostError::Invalid)?;
        Ok(self.engine.exec(id, spec).await?)
    }
}
