//! `Host`'s one audited way to start a process in a container with a TTY
//! (the contract of one is `engine::ExecSession`): who may, and whether
//! the host and the container allow it.
//! Not here: the session and what is recorded of it (`terminal`).

use super::{Host, HostError};
use crate::access::Caller;
use crate::engine::{EngineError, ExecSession};
use crate::model::{ContainerState, ExecSpec, Operation};

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
