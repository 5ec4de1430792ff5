//! One connection to an agent as its callers share it: the calls, streams
//! and pings waiting for an answer, each by its id; the tasks that write,
//! read and keep a heartbeat; and, once it closes, why, which every caller
//! waiting then and after is told.
//! Not here: making the connection (`client`).

use super::protocol::{Answer, FromAgent, ToAgent};
use super::wire::{self, WireError};
use crate::engine::EngineError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

/// Frames queued for sending.
const OUTBOX: usize = 256;

/// What the tasks of a connection and its callers share.
pub(super) struct Link {
    host: String,
    outbox: mpsc::Sender<ToAgent>,
    state: Mutex<LinkState>,
    next_id: AtomicU64,
}

#[derive(Default)]
struct LinkState {
    pending: HashMap<u64, Pending>,
    /// Why the connection closed, once it has.
    closed: Option<String>,
    /// The heartbeat's ping not answered yet, and when it was sent.
    ping: Option<(u64, Instant)>,
}

pub(super) enum Pending {
    Call(oneshot::Sender<Result<Value, EngineError>>),
    Stream(mpsc::Sender<Result<Value, EngineError>>),
    /// A ping asked for by `Engine::ping`: when it was sent.
    Ping(Instant, oneshot::Sender<Duration>),
}

impl Link {
    /// A new connection's link, and the queue its writer sends from.
    pub(super) fn new(host: &str) -> (Arc<Link>, mpsc::Receiver<ToAgent>) {
        let (outbox, queue) = mpsc::channel(OUTBOX);
        let link = Link {
            host: host.to_string(),
            outbox,
            state: Mutex::new(LinkState::default()),
            next_id: AtomicU64::new(1),
        };
        (Arc::new(link), queue)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn unreachable(&self, reason: impl Into<String>) -> EngineError {
        EngineError::Unreachable {
            host: self.host.clone(),
            reason: reason.into(),
        }
    }

    pub(super) fn closed(&self) -> Option<String> {
        self.state().closed.clone()
    }

    /// An error the agent sent, about this host: the agent names its engine
    /// for itself (`local`), berth by the host's name here.
    fn ours(&self, e: EngineError) -> EngineError {
        match e {
            EngineError::NotFound { what, id, .. } => EngineError::NotFound {
                what,
                host: self.host.clone(),
                id,
            },
            EngineError::Unreachable { reason, .. } => {
                self.unreachable(format!("the agent cannot reach its engine: {reason}"))
            }
            other => other,
        }
    }

    /// Ends the connection: every call waiting fails with `reason`, every
    /// stream ends with it.
    pub(super) fn close(&self, reason: String) {
        let pending = {
            let mut state = self.state();
            if state.closed.is_some() {
                return;
            }
            tracing::debug!(host = %self.host, %reason, "agent connection closed");
            state.closed = Some(reason.clone());
            std::mem::take(&mut state.pending)
        };
        for (_, p) in pending {
            match p {
                Pending::Call(tx) => {
                    let _ = tx.send(Err(self.unreachable(reason.clone())));
                }
                Pending::Stream(tx) => {
                    let _ = tx.try_send(Err(self.unreachable(reason.clone())));
                }
                // Dropped: the ping fails with the reason the connection closed.
                Pending::Ping(..) => {}
            }
        }
    }

    /// A new id for `pending`, unless the connection is closed.
    pub(super) fn register(&self, pending: Pending) -> Result<u64, EngineError> {
        let mut state = self.state();
        if let Some(reason) = &state.closed {
            return Err(self.unreachable(reason.clone()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        state.pending.insert(id, pending);
        Ok(id)
    }

    pub(super) fn forget(&self, id: u64) {
        self.state().pending.remove(&id);
    }

    pub(super) async fn send(&self, frame: ToAgent) -> Result<(), EngineError> {
        self.outbox
            .send(frame)
            .await
            .map_err(|_| self.unreachable(self.closed().unwrap_or_else(|| "the connection closed".into())))
    }

    /// One frame from the agent.
    fn receive(&self, frame: FromAgent) -> Result<(), String> {
        match frame {
            FromAgent::Reply { id, result } => match self.state().pending.remove(&id) {
                Some(Pending::Call(tx)) => {
                    let _ = tx.send(match result {
                        Answer::Ok(v) => Ok(v),
                        Answer::Err(e) => Err(self.ours(e)),
                    });
                }
                // A stream refused at once (limits, or a request an older
                // agent does not know): the refusal ends it.
                Some(Pending::Stream(tx)) => {
                    if let Answer::Err(e) = result {
                        let _ = tx.try_send(Err(self.ours(e)));
                    }
                }
                _ => {}
            },
            FromAgent::Item { id, value } => {
                let mut state = self.state();
                if let Some(Pending::Stream(tx)) = state.pending.get(&id) {
                    // The last slot is kept for saying why the stream ends.
                    let sent = if tx.capacity() > 1 {
                        tx.try_send(Ok(value)).is_ok()
                    } else {
                        let _ = tx.try_send(Err(EngineError::Engine(
                            "berth read this stream from the agent too slowly, so it was ended there".into(),
                        )));
                        false
                    };
                    if !sent {
                        // Too slow, or no longer read: end it there.
                        state.pending.remove(&id);
                        let _ = self.outbox.try_send(ToAgent::Cancel { id });
                    }
                }
            }
            FromAgent::End { id, error } => {
                if let Some(Pending::Stream(tx)) = self.state().pending.remove(&id)
                    && let Some(e) = error
                {
                    let _ = tx.try_send(Err(self.ours(e)));
                }
            }
            FromAgent::Pong { id } => {
                let mut state = self.state();
                if state.ping.is_some_and(|(ping, _)| ping == id) {
                    // The heartbeat's: the agent still answers.
                    state.ping = None;
                } else if matches!(state.pending.get(&id), Some(Pending::Ping(..)))
                    && let Some(Pending::Ping(sent, tx)) = state.pending.remove(&id)
                {
                    let _ = tx.send(sent.elapsed());
                }
            }
            FromAgent::Welcome(_) | FromAgent::Refused(_) => {
                return Err("the agent sent a second welcome or refusal; the connection was closed".into());
            }
        }
        Ok(())
    }
    /// The writing task: sends what is queued until the queue or the connection ends.
    pub(super) async fn write_to<W>(self: Arc<Self>, mut writer: W, mut queue: mpsc::Receiver<ToAgent>)
    where
        W: AsyncWrite + Unpin,
    {
        if let Err(e) = wire::send_queued(&mut writer, &mut queue).await {
            self.close(format!("cannot send to the agent: {e}"));
        }
    }

    /// The reading task: hands each frame to its caller until the
    /// connection ends or the agent sends what it should not.
    pub(super) async fn read_from<R>(self: Arc<Self>, mut reader: R)
    where
        R: AsyncRead + Unpin,
    {
        const CLOSED: &str = "the agent closed the connection";
        let reason = loop {
            match wire::read::<FromAgent, _>(&mut reader).await {
                Ok(frame) => {
                    if let Err(reason) = self.receive(frame) {
                        break reason;
                    }
                }
                Err(WireError::Closed) => break CLOSED.to_string(),
                Err(e @ WireError::Io(_)) => break format!("the connection to the agent failed: {e}"),
                Err(e) => break format!("the agent sent {e}; the connection was closed"),
            }
        };
        if reason != CLOSED {
            tracing::warn!(host = %self.host, %reason, "agent connection lost");
        }
        self.close(reason);
    }

    /// The heartbeat task: a ping every `every`; one still unanswered at
    /// the next beat closes the connection.
    pub(super) async fn heartbeat(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let unanswered = {
                let mut state = self.state();
                if state.closed.is_some() {
                    return;
                }
                match state.ping {
                    Some((_, sent)) => Some(sent.elapsed()),
                    None => {
                        // A full outbox sends it at the next beat instead.
                        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                        if self.outbox.try_send(ToAgent::Ping { id }).is_ok() {
                            state.ping = Some((id, Instant::now()));
                        }
                        None
                    }
                }
            };
            if let Some(waited) = unanswered {
                self.close(format!(
                    "the agent stopped answering: no reply to a ping in {:.1} s",
                    waited.as_secs_f64()
                ));
                return;
            }
        }
    }
}

/// Ends the stream `id` when its reader goes away.
pub(super) struct StreamGuard {
    pub(super) link: Arc<Link>,
    pub(super) id: u64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let was_open = self.link.state().pending.remove(&self.id).is_some();
        if was_open {
            let _ = self.link.outbox.try_send(ToAgent::Cancel { id: self.id });
        }
    }
}

/// Forgets the call or ping `id` when its caller stops waiting for it.
pub(super) struct Forget<'a> {
    pub(super) link: &'a Link,
    pub(super) id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.link.forget(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Object;

    fn link(host: &str) -> (Arc<Link>, mpsc::Receiver<ToAgent>) {
        Link::new(host)
    }

    #[test]
    fn errors_from_the_agent_name_the_host_as_berth_knows_it() {
        let (link, _queue) = link("db-1");
        let (tx, mut rx) = oneshot::channel();
        let id = link.register(Pending::Call(tx)).unwrap();
        // The agent calls its engine `local`.
        let missing = EngineError::NotFound {
            what: Object::Container,
            host: "local".into(),
            id: "web".into(),
        };
        link.receive(FromAgent::Reply {
            id,
            result: Answer::Err(missing),
        })
        .unwrap();
        let e = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "there is no container 'web' on host db-1");

        let (tx, mut rx) = mpsc::channel(4);
        let id = link.register(Pending::Stream(tx)).unwrap();
        let down = EngineError::Unreachable {
            host: "local".into(),
            reason: "no socket".into(),
        };
        link.receive(FromAgent::End { id, error: Some(down) }).unwrap();
        let e = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the engine on host db-1 is unreachable: the agent cannot reach its engine: no socket"
        );
        // The agent's own refusals pass as they are.
        let refusal = EngineError::Forbidden("read-only".into());
        assert_eq!(link.ours(refusal.clone()), refusal);
    }

    #[tokio::test]
    async fn a_ping_ends_with_its_pong_or_with_the_connection() {
        let (link, mut queue) = link("db-1");
        let (tx, rx) = oneshot::channel();
        let id = link.register(Pending::Ping(Instant::now(), tx)).unwrap();
        // Another frame's id, or an unknown pong, leaves it waiting.
        link.receive(FromAgent::Pong { id: id + 1 }).unwrap();
        assert!(link.state().pending.contains_key(&id));
        link.receive(FromAgent::Pong { id }).unwrap();
        assert!(rx.await.is_ok());
        assert!(link.state().pending.is_empty());

        let (tx, rx) = oneshot::channel();
        link.register(Pending::Ping(Instant::now(), tx)).unwrap();
        link.close("the agent closed the connection".into());
        assert!(rx.await.is_err(), "a ping outlived its connection");
        let e = link
            .register(Pending::Ping(Instant::now(), oneshot::channel().0))
            .unwrap_err();
        assert!(e.to_string().ends_with("the agent closed the connection"), "{e}");
        assert!(queue.try_recv().is_err(), "nothing is sent by receiving");
    }
}
