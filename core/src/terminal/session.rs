//! One terminal session, from the started exec to `terminal.close`: bytes
//! both ways, resizes, the idle timeout, the recording, and a clean end
//! whichever side ends it. The browser's side arrives as `FromClient` and
//! leaves as `ToClient` through channels, so that the websocket (the
//! server's) only translates frames.
//!
//! Idle means no keystroke: a terminal left open with `top` running is as
//! unattended as one left at a prompt.

use super::RecordingMode;
use super::recorder::{Recorder, Recording};
use super::retention::Active;
use crate::access::Caller;
use crate::engine::{EngineError, ExecSession};
use crate::model::{ExecEnd, ExecExit, Outcome, TermControl, join_command, validate_term_size};
use bytes::Bytes;
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the browser sends.
#[derive(Debug)]
pub enum FromClient {
    /// Keystrokes, a paste.
    Input(Bytes),
    Resize {
        cols: u16,
        rows: u16,
    },
    /// The session must end (a bad frame, access withdrawn, berth
    /// stopping), for this reason, in words.
    End(String),
}

/// What the browser gets.
#[derive(Debug)]
pub enum ToClient {
    Output(Bytes),
    Control(TermControl),
}

/// Why a session ended.
#[derive(Debug)]
enum Reason {
    /// The process ended by itself.
    Exited,
    /// The browser went away.
    ClientGone,
    Idle(Duration),
    /// From the browser's side (`FromClient::End`).
    Ended(String),
    /// The engine (or the agent) failed.
    Engine(EngineError),
    /// The recording stopped and recording is strict.
    Recording(String),
}

impl Reason {
    fn text(&self) -> String {
        match self {
            Reason::Exited => "the process exited".into(),
            Reason::ClientGone => "the browser closed the terminal".into(),
            Reason::Idle(idle) => {
                let secs = idle.as_secs();
                let took = if secs.is_multiple_of(60) {
                    format!("{} min", secs / 60)
                } else {
                    format!("{secs} s")
                };
                format!("no keystroke for {took}: closed as idle ([terminal] idle_timeout_secs)")
            }
            Reason::Ended(why) => why.clone(),
            Reason::Engine(e) => e.to_string(),
            Reason::Recording(why) => format!("{why}; recording is strict, so the terminal was closed"),
        }
    }
}

/// A started terminal, not yet pumped.
pub struct Session {
    pub(super) caller: Caller,
    pub(super) host: String,
    /// `container:NAME`, for the record.
    pub(super) target: String,
    pub(super) container: String,
    pub(super) user: Option<String>,
    pub(super) open_seq: u64,
    pub(super) exec: ExecSession,
    pub(super) recorder: Recorder,
    /// Keeps the recording from being pruned while it is written.
    pub(super) active: Active,
}

/// How a session went, as `terminal.close` records it.
#[derive(Clone, Debug)]
pub struct Closed {
    pub exit: ExecExit,
    pub reason: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Counts and clocks of a running session.
struct Pump {
    bytes_in: u64,
    bytes_out: u64,
    last_key: Instant,
}

impl Session {
    /// What runs.
    pub fn command(&self) -> &[String] {
        &self.exec.command
    }

    /// Pumps until one side ends, then ends the process for sure, writes
    /// the rest of the recording and records `terminal.close` (durably,
    /// before returning); the browser is told why (`TermControl::Closed`).
    pub async fn run(self, mut from: mpsc::Receiver<FromClient>, to: mpsc::Sender<ToClient>) -> Closed {
        let Session {
            caller,
            host,
            target,
            container,
            user,
            open_seq,
            exec,
            mut recorder,
            active,
        } = self;
        let terminals = active.terminals().clone();
        let (config, events) = (&terminals.inner.config, &terminals.inner.events);
        let started = Instant::now();
        let ExecSession {
            command,
            mut output,
            mut control,
        } = exec;
        let mut pump = Pump {
            bytes_in: 0,
            bytes_out: 0,
            last_key: Instant::now(),
        };
        let strict = config.recording == RecordingMode::Strict;
        // A stopped recording: strict ends the session, continue says so once.
        let stopped = async |why: Option<String>, to: &mpsc::Sender<ToClient>| -> Option<Reason> {
            let why = why?;
            if strict {
                return Some(Reason::Recording(why));
            }
            let _ = to
                .send(ToClient::Control(TermControl::RecordingStopped { reason: why }))
                .await;
            None
        };
        let reason = loop {
            let flush_at = recorder.due().map(tokio::time::Instant::from_std);
            tokio::select! {
                chunk = output.next() => match chunk {
                    Some(Ok(data)) => {
                        pump.bytes_out += data.len() as u64;
                        let why = recorder.output(&data);
                        if to.send(ToClient::Output(data)).await.is_err() {
                            break Reason::ClientGone;
                        }
                        if let Some(r) = stopped(why, &to).await {
                            break r;
                        }
                    }
                    Some(Err(e)) => break Reason::Engine(e),
                    None => break Reason::Exited,
                },
                next = from.recv() => match next {
                    None => break Reason::ClientGone,
                    Some(FromClient::End(why)) => break Reason::Ended(why),
                    Some(FromClient::Resize { cols, rows }) => {
                        if let Err(why) = validate_term_size(cols, rows) {
                            break Reason::Ended(why);
                        }
                        // A process that ended meanwhile is noticed on the output.
                        let _ = control.resize(cols, rows).await;
                        if let Some(r) = stopped(recorder.resize(cols, rows), &to).await {
                            break r;
                        }
                    }
                    Some(FromClient::Input(data)) => {
                        pump.bytes_in += data.len() as u64;
                        pump.last_key = Instant::now();
                        // Output keeps flowing while the process takes its input,
                        // or a process that writes while not reading would hang both.
                        let write = control.input(data);
                        tokio::pin!(write);
                        let mut ended = None;
                        let written = loop {
                            tokio::select! {
                                w = &mut write => break w,
                                chunk = output.next(), if ended.is_none() => match chunk {
                                    Some(Ok(data)) => {
                                        pump.bytes_out += data.len() as u64;
                                        let why = recorder.output(&data);
                                        if to.send(ToClient::Output(data)).await.is_err() {
                                            ended = Some(Reason::ClientGone);
                                        } else if let Some(r) = stopped(why, &to).await {
                                            ended = Some(r);
                                        }
                                    }
                                    Some(Err(e)) => ended = Some(Reason::Engine(e)),
                                    None => ended = Some(Reason::Exited),
                                },
                            }
                        };
                        if let Some(r) = ended {
                            break r;
                        }
                        if let Err(e) = written {
                            break Reason::Engine(e);
                        }
                    }
                },
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(pump.last_key + config.idle)) => {
                    break Reason::Idle(config.idle);
                }
                _ = sleep_until_or_never(flush_at) => {
                    if let Some(r) = stopped(recorder.flush(false).await, &to).await {
                        break r;
                    }
                }
            }
            if recorder.full()
                && let Some(r) = stopped(recorder.flush(false).await, &to).await
            {
                break r;
            }
        };
        drop(output);
        let exit = control.finish().await;
        let recording = recorder.finish().await;
        let text = reason.text();
        let _ = to
            .send(ToClient::Control(TermControl::Closed {
                exit_code: exit.exit_code,
                reason: text.clone(),
            }))
            .await;
        let closed = Closed {
            exit,
            reason: text,
            bytes_in: pump.bytes_in,
            bytes_out: pump.bytes_out,
        };
        let outcome = match (&reason, exit.ended) {
            (Reason::Engine(e), _) => Outcome::Error(e.to_string()),
            (_, ExecEnd::LeftRunning) => {
                Outcome::Error("the terminal's process still runs in the container: berth could not stop it".into())
            }
            _ => Outcome::Ok,
        };
        let event = caller
            .event(crate::model::EventKind::TerminalClose.as_str())
            .host(host)
            .target(target)
            .outcome(outcome)
            .duration_us(started.elapsed().as_micros() as u64)
            .details(details(
                &closed,
                &container,
                &command,
                user.as_deref(),
                open_seq,
                &recording,
                started,
            ));
        if let Err(e) = events.append(event).await {
            tracing::error!(error = %e, open_seq, "cannot record the end of a terminal session");
        }
        drop(active);
        terminals.prune_recordings().await;
        closed
    }
}

/// `terminal.close`'s details.
fn details(
    closed: &Closed,
    container: &str,
    command: &[String],
    user: Option<&str>,
    open_seq: u64,
    recording: &Recording,
    started: Instant,
) -> serde_json::Value {
    serde_json::json!({
        "container": container,
        "command": join_command(command),
        "user": user,
        "open_seq": open_seq,
        "duration_ms": started.elapsed().as_millis() as u64,
        "bytes_in": closed.bytes_in,
        "bytes_out": closed.bytes_out,
        "exit_code": closed.exit.exit_code,
        "ended": closed.exit.ended,
        "reason": closed.reason,
        "recording_size": recording.size,
        "recording_sha256": recording.sha256,
        "recording_stopped": recording.stopped,
    })
}

async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
