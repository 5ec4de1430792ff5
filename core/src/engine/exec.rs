//! A process started in a container with a TTY, as every `Engine` hands it
//! over: its output as a stream of bytes, and a control to type into it,
//! resize it and end it. Ending is the engine's job, because only the
//! engine can tell whether the process really stopped: closing its input
//! does not end a process on a TTY, so `finish` hangs it up (SIGHUP, what a
//! closed terminal sends) and kills it (SIGKILL) if it stays, and says
//! which it took.
//! Not here: who may start one (`Host::exec`), the session and what is
//! recorded of it (`terminal`).

use super::EngineError;
use crate::model::ExecExit;
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
