//! Ending an exec's process for sure: closing a TTY's input does not end
//! its process, so it is hung up (SIGHUP, by a second exec: `kill -HUP PID`
//! as the same user) and killed (SIGKILL) if it stays, checking with the
//! engine (`inspect_exec`) after each step. Its pid is what the wrapper of
//! `exec` reported.

use super::map_error;
use crate::engine::EngineError;
use crate::model::{ExecEnd, ExecExit};
use bollard::Docker;
use bollard::exec::StartExecOptions;
use bollard::models::ExecConfig;
use std::time::Duration;

/// How long a process gets to end after its input closed, and after each
/// signal, before berth looks again or gives up.
const GRACE: Duration = Duration::from_millis(300);
const AFTER_SIGNAL: Duration = Duration::from_secs(2);

/// (running, exit code) of an exec.
pub(super) async fn inspect(docker: &Docker, host: &str, exec_id: &str) -> Result<(bool, Option<i64>), EngineError> {
    let info = docker
        .inspect_exec(exec_id)
        .await
        .map_err(|e| map_error(host, exec_id, e))?;
    Ok((info.running.unwrap_or(false), info.exit_code))
}

/// The exec's process, as the engine knows it.
pub(super) struct Process {
    pub(super) docker: Docker,
    pub(super) host: String,
    pub(super) container: String,
    pub(super) user: Option<String>,
    pub(super) exec_id: String,
    pub(super) pid: Option<u32>,
}

impl Process {
    /// Waits up to `within` for the exec to end; its exit code once it has.
    async fn ended_within(&self, within: Duration) -> Option<Option<i64>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match inspect(&self.docker, &self.host, &self.exec_id).await {
                Ok((false, code)) => return Some(code),
                Ok((true, _)) => {}
                // The container (and so the exec) is gone.
                Err(EngineError::NotFound { .. }) => return Some(None),
                Err(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `signal` to the process by a second exec, as the same user.
    async fn signal(&self, pid: u32, signal: &str) {
        let config = ExecConfig {
            cmd: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                format!("kill -{signal} \"$1\""),
                "berth".into(),
                pid.to_string(),
            ]),
            user: self.user.clone(),
            ..Default::default()
        };
        let sent = async {
            let created = self.docker.create_exec(&self.container, config).await?;
            let detached = StartExecOptions {
                detach: true,
                tty: false,
                output_capacity: None,
            };
            self.docker.start_exec(&created.id, Some(detached)).await.map(|_| ())
        };
        if let Err(e) = sent.await {
            tracing::warn!(host = %self.host, container = %self.container, pid, signal, error = %e,
                "cannot signal a terminal's process");
        }
    }

    /// Ends the process if it still runs: hangup, then kill, each checked.
    pub(super) async fn end(self) -> ExecExit {
        let exit = |exit_code, ended| ExecExit { exit_code, ended };
        if let Some(code) = self.ended_within(GRACE).await {
            return exit(code, ExecEnd::Exited);
        }
        let Some(pid) = self.pid else {
            tracing::warn!(host = %self.host, container = %self.container, exec = %self.exec_id,
                "a terminal's process outlives it: its pid is unknown (no /bin/sh in the container)");
            return exit(None, ExecEnd::LeftRunning);
        };
        self.signal(pid, "HUP").await;
        if let Some(code) = self.ended_within(AFTER_SIGNAL).await {
            return exit(code, ExecEnd::HungUp);
        }
        self.signal(pid, "KILL").await;
        if let Some(code) = self.ended_within(AFTER_SIGNAL).await {
            return exit(code, ExecEnd::Killed);
        }
        tracing::warn!(host = %self.host, container = %self.container, exec = %self.exec_id, pid,
            "a terminal's process survived SIGKILL");
        exit(None, ExecEnd::LeftRunning)
    }
}
