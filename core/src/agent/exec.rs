//! Terminals through the agent, both sides of the `Exec` stream.
//!
//! The agent's side (`serve`): runs the exec with the engine beside it,
//! sends `Started`, then the output as `Output` items, and takes `Input`
//! and `Resize` frames through a queue of its own (`Inputs`). When the core
//! `Cancel`s the stream, or the connection ends, the queue closes and the
//! engine's `finish` ends the process for sure; `Exited` says how.
//!
//! The core's side (`open`): `AgentEngine::exec` as an `ExecSession`, whose
//! `finish` cancels the stream and waits for the agent's `Exited`.
//! Not here: who may open a terminal (`terminal`), the frames (`protocol`).

use super::link::{Link, Pending, StreamGuard};
use super::protocol::{Exec, ExecItem, FromAgent, Request, ToAgent};
use crate::engine::{Engine, EngineError, ExecControl, ExecSession};
use crate::model::{ExecEnd, ExecExit, ExecSpec};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

/// Input frames held for one terminal while its process does not read;
/// beyond, the terminal is ended (its reader would otherwise hold up the
/// whole connection, pings included).
const INPUT_QUEUE: usize = 1024;
/// How long the agent waits, when a connection ends, for its terminals'
/// processes to be hung up.
const FINISH_WITHIN: Duration = Duration::from_secs(10);
/// Items of one terminal held for the core's reader.
const OUTPUT_QUEUE: usize = 1024;
/// How long the core waits for the agent to start a terminal, and to say
/// how one ended.
const AGENT_WITHIN: Duration = Duration::from_secs(30);

/// What the core sends into a terminal under way.
pub(super) enum Typed {
    Data(Bytes),
    Resize(u16, u16),
}

/// The agent's terminals on one connection, by stream id.
#[derive(Default)]
pub(super) struct Inputs {
    open: HashMap<u64, mpsc::Sender<Typed>>,
    running: JoinSet<()>,
}

impl Inputs {
    /// Starts terminal `id` (the engine's exec, answered on `outbox`).
    pub(super) fn start(&mut self, engine: Arc<dyn Engine>, id: u64, exec: Exec, outbox: mpsc::Sender<FromAgent>) {
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        self.open.insert(id, tx);
        self.running.spawn(serve(engine, id, exec, rx, outbox));
    }

    /// Hands a frame to terminal `id`; one that cannot keep up is ended.
    pub(super) fn send(&mut self, id: u64, typed: Typed) {
        let Some(tx) = self.open.get(&id) else { return };
        if tx.try_send(typed).is_err() {
            tracing::warn!(
                task = "agent",
                id,
                "a terminal's input backed up (its process does not read); ending it"
            );
            self.open.remove(&id);
        }
    }

    /// Ends terminal `id` (the core cancelled it); false when there is none.
    pub(super) fn cancel(&mut self, id: u64) -> bool {
        self.running.try_join_next();
        self.open.remove(&id).is_some()
    }

    pub(super) fn under_way(&self) -> usize {
        self.running.len()
    }

    /// The connection ended: every terminal's process is ended, and waited for.
    pub(super) async fn close(mut self) {
        self.open.clear();
        let all = async { while self.running.join_next().await.is_some() {} };
        if tokio::time::timeout(FINISH_WITHIN, all).await.is_err() {
            tracing::warn!(
                task = "agent",
                "terminals still ending after {FINISH_WITHIN:?}; leaving them"
            );
            self.running.shutdown().await;
        }
    }
}

/// One terminal on the agent, from the exec to its `Exited`.
async fn serve(
    engine: Arc<dyn Engine>,
    id: u64,
    exec: Exec,
    mut typed: mpsc::Receiver<Typed>,
    outbox: mpsc::Sender<FromAgent>,
) {
    let item = |item: ExecItem| FromAgent::Item {
        id,
        value: serde_json::to_value(item).unwrap_or_default(),
    };
    let session = match engine.exec(&exec.id, &exec.spec).await {
        Ok(s) => s,
        Err(e) => {
            let _ = outbox.send(FromAgent::End { id, error: Some(e) }).await;
            return;
        }
    };
    let ExecSession {
        command,
        mut output,
        mut control,
    } = session;
    tracing::info!(task = "agent", id, container = %exec.id, ?command, "terminal started");
    let _ = outbox.send(item(ExecItem::Started { command })).await;
    let mut error = None;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(data)) => {
                    if outbox.send(item(ExecItem::Output { data: data.to_vec() })).await.is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    error = Some(e);
                    break;
                }
                None => break,
            },
            next = typed.recv() => match next {
                Some(Typed::Data(data)) => {
                    // Output keeps flowing while the process takes its input.
                    let write = control.input(data);
                    tokio::pin!(write);
                    let written = loop {
                        tokio::select! {
                            w = &mut write => break w,
                            chunk = output.next(), if error.is_none() => match chunk {
                                Some(Ok(data)) => {
                                    let _ = outbox.send(item(ExecItem::Output { data: data.to_vec() })).await;
                                }
                                Some(Err(e)) => error = Some(e),
                                None => {}
                            },
                        }
                    };
                    if let Err(e) = written {
                        error = Some(e);
                        break;
                    }
                }
                Some(Typed::Resize(cols, rows)) => {
                    let _ = control.resize(cols, rows).await;
                }
                None => break,
            },
        }
    }
    let exit = control.finish().await;
    tracing::info!(task = "agent", id, ?exit, "terminal ended");
    let _ = outbox.send(item(ExecItem::Exited(exit))).await;
    let _ = outbox.send(FromAgent::End { id, error }).await;
}

/// The core's side: terminal `spec` in container `container` through `link`.
pub(super) async fn open(link: Arc<Link>, container: &str, spec: &ExecSpec) -> Result<ExecSession, EngineError> {
    let (tx, mut rx) = mpsc::channel(OUTPUT_QUEUE);
    let id = link.register(Pending::Stream(tx))?;
    let guard = StreamGuard { link: link.clone(), id };
    let request = Request::from(Exec {
        id: container.to_string(),
        spec: spec.clone(),
    });
    link.send(ToAgent::Call {
        id,
        request: serde_json::to_value(&request).unwrap_or_default(),
    })
    .await?;
    let first = match tokio::time::timeout(AGENT_WITHIN, rx.recv()).await {
        Ok(Some(first)) => first?,
        Ok(None) => {
            return Err(link.unreachable(link.closed().unwrap_or_else(|| "the agent ended the terminal".into())));
        }
        Err(_) => return Err(link.unreachable(format!("the agent did not start the terminal within {AGENT_WITHIN:?}"))),
    };
    let command = match serde_json::from_value(first) {
        Ok(ExecItem::Started { command }) => command,
        _ => return Err(malformed(&link)),
    };
    let shared = Arc::new(Shared {
        link,
        rx: Mutex::new(rx),
        exit: std::sync::Mutex::new(None),
        guard,
    });
    let output = futures_util::stream::unfold(shared.clone(), |shared| async move {
        let next = shared.next().await?;
        Some((next, shared))
    })
    .boxed();
    Ok(ExecSession {
        command,
        output,
        control: Box::new(AgentExec { shared }),
    })
}

fn malformed(link: &Link) -> EngineError {
    let reason = "the agent sent a malformed terminal item; the connection was closed".to_string();
    link.close(reason.clone());
    link.unreachable(reason)
}

/// What the output stream and the control of one terminal share.
struct Shared {
    link: Arc<Link>,
    rx: Mutex<mpsc::Receiver<Result<serde_json::Value, EngineError>>>,
    exit: std::sync::Mutex<Option<ExecExit>>,
    /// Cancels the stream if it is dropped without `finish`.
    guard: StreamGuard,
}

impl Shared {
    /// The next output, or `None` once the process has ended (its exit kept).
    async fn next(&self) -> Option<Result<Bytes, EngineError>> {
        let mut rx = self.rx.lock().await;
        loop {
            let value = match rx.recv().await? {
                Ok(v) => v,
                Err(e) => return Some(Err(e)),
            };
            match serde_json::from_value(value) {
                Ok(ExecItem::Output { data }) => return Some(Ok(Bytes::from(data))),
                Ok(ExecItem::Exited(exit)) => {
                    *self.exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(exit);
                }
                Ok(ExecItem::Started { .. }) => {}
                Err(_) => return Some(Err(malformed(&self.link))),
            }
        }
    }
}

struct AgentExec {
    shared: Arc<Shared>,
}

#[async_trait]
impl ExecControl for AgentExec {
    async fn input(&mut self, data: Bytes) -> Result<(), EngineError> {
        let id = self.shared.guard.id;
        self.shared
            .link
            .send(ToAgent::Input {
                id,
                data: data.to_vec(),
            })
            .await
    }

    async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), EngineError> {
        let id = self.shared.guard.id;
        self.shared.link.send(ToAgent::Resize { id, cols, rows }).await
    }

    async fn finish(self: Box<Self>) -> ExecExit {
        let shared = &self.shared;
        // The agent ends the process and answers with how it ended.
        let _ = shared.link.send(ToAgent::Cancel { id: shared.guard.id }).await;
        let drained = async {
            while let Some(item) = shared.next().await {
                drop(item)
            }
        };
        let _ = tokio::time::timeout(AGENT_WITHIN, drained).await;
        let exit = *shared.exit.lock().unwrap_or_else(|p| p.into_inner());
        exit.unwrap_or(ExecExit {
            exit_code: None,
            ended: ExecEnd::Unknown,
        })
    }
}
