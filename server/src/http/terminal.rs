//! `/ws/terminal?ticket=..&cols=..&rows=..`: a terminal in a container.
//! Admitted like every feed (same origin, a one-time ticket, here one that
//! names the container, command and user; each refusal recorded once), then
//! the session is core's (`terminal`): this only translates frames. Binary
//! frames carry keystrokes in and output out; text frames carry
//! `TermControl` as JSON (the browser sends only `resize`). A bad size or
//! frame ends the session with a message that says what was wrong.

use super::AppState;
use super::ws::{Admitted, admit, close, ip, refuse};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use berth_core::Failure;
use berth_core::auth::Purpose;
use berth_core::model::{ErrorKind, TermControl, validate_term_size};
use berth_core::terminal::{FromClient, ToClient};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// The largest frame the browser may send (a paste).
const MAX_INPUT: usize = 1 << 20;
/// Frames queued each way between the socket and the session.
const QUEUE: usize = 64;

pub(crate) async fn terminal(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ConnectInfo<SocketAddr>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Checked before the ticket is spent: a wrong size costs no ticket.
    let size = match size(&params) {
        Ok(s) => s,
        Err(message) => return refuse(ErrorKind::Invalid, &message),
    };
    let admitted = match admit(&state, &headers, ip(&info), &params, Purpose::Terminal).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    upgrade
        .max_message_size(MAX_INPUT)
        .max_frame_size(MAX_INPUT)
        .on_upgrade(move |socket| run(socket, state, admitted, size))
}

/// `cols` and `rows` from the query, checked.
fn size(params: &HashMap<String, String>) -> Result<(u16, u16), String> {
    let number = |name: &str| {
        params
            .get(name)
            .and_then(|v| v.parse::<u16>().ok())
            .ok_or_else(|| format!("{name} must be given as a whole number: the terminal's size (cols=80&rows=24)"))
    };
    let (cols, rows) = (number("cols")?, number("rows")?);
    validate_term_size(cols, rows)?;
    Ok((cols, rows))
}

fn control(c: &TermControl) -> Message {
    Message::Text(serde_json::to_string(c).unwrap_or_default().into())
}

/// What a browser's text frame asks, or why it is refused.
fn read_control(text: &str) -> Result<FromClient, String> {
    match serde_json::from_str::<TermControl>(text) {
        Ok(TermControl::Resize { cols, rows }) => {
            validate_term_size(cols, rows)?;
            Ok(FromClient::Resize { cols, rows })
        }
        Ok(_) => Err("the browser may send only resize messages; keystrokes go in binary frames".into()),
        Err(e) => Err(format!(
            "a text frame must be a control message like {{\"type\":\"resize\",\"cols\":80,\"rows\":24}} ({e})"
        )),
    }
}

async fn run(mut socket: WebSocket, state: AppState, mut admitted: Admitted, (cols, rows): (u16, u16)) {
    let session = match state
        .berth
        .terminals
        .open(&admitted.caller, &admitted.grant, cols, rows)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            let closed = TermControl::Closed {
                exit_code: None,
                reason: e.to_string(),
            };
            let _ = socket.send(control(&closed)).await;
            let code = if e.kind() == ErrorKind::Denied { 1008 } else { 1011 };
            return close(&mut socket, code, "the terminal could not start").await;
        }
    };
    let (from_tx, from_rx) = mpsc::channel(QUEUE);
    let (to_tx, mut to_rx) = mpsc::channel(QUEUE);
    let pump = session.run(from_rx, to_tx);
    let bridge = async {
        let mut from = Some(from_tx);
        let mut code = 1000;
        let mut stopping = state.stopping.clone();
        let mut open = true;
        let end = |from: &mut Option<mpsc::Sender<FromClient>>, why: String| {
            // Room is there: frames are read only while there is.
            if let Some(tx) = from.take() {
                let _ = tx.try_send(FromClient::End(why));
            }
        };
        loop {
            // Read the browser only while the session has room, so that its
            // output is never held up behind a keystroke it has not taken.
            let room = from.as_ref().is_some_and(|tx| tx.capacity() > 0);
            tokio::select! {
                out = to_rx.recv() => {
                    let frame = match out {
                        Some(ToClient::Output(data)) => Message::Binary(data),
                        Some(ToClient::Control(c)) => control(&c),
                        None => break,
                    };
                    if open && socket.send(frame).await.is_err() {
                        open = false;
                        from = None;
                    }
                }
                incoming = socket.recv(), if room && open => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => from = None,
                    Some(Ok(Message::Binary(data))) => {
                        if let Some(tx) = &from {
                            let _ = tx.try_send(FromClient::Input(data));
                        }
                    }
                    Some(Ok(Message::Text(text))) => match read_control(&text) {
                        Ok(c) => {
                            if let Some(tx) = &from {
                                let _ = tx.try_send(c);
                            }
                        }
                        Err(why) => {
                            code = 1008;
                            end(&mut from, why);
                        }
                    },
                    Some(Ok(_)) => {}
                },
                _ = stopping.changed(), if from.is_some() => {
                    code = 1001;
                    end(&mut from, "berth is stopping".into());
                }
                _ = admitted.changes.changed(), if from.is_some() => {
                    if !admitted.still_allowed(&state).await {
                        code = 1008;
                        end(&mut from, "your access to terminals on this host was withdrawn".into());
                    }
                }
            }
        }
        if open {
            close(&mut socket, code, "the terminal closed").await;
        }
    };
    let (closed, ()) = tokio::join!(pump, bridge);
    tracing::debug!(reason = %closed.reason, exit = ?closed.exit, "terminal closed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_control_frames_are_checked_with_a_reason() {
        let params = |q: &[(&str, &str)]| q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(size(&params(&[("cols", "80"), ("rows", "24")])), Ok((80, 24)));
        assert!(size(&params(&[("cols", "80")])).unwrap_err().contains("rows"));
        assert!(
            size(&params(&[("cols", "x"), ("rows", "24")]))
                .unwrap_err()
                .contains("cols")
        );
        assert!(
            size(&params(&[("cols", "5000"), ("rows", "24")]))
                .unwrap_err()
                .contains("columns")
        );
        assert!(matches!(
            read_control(r#"{"type":"resize","cols":100,"rows":30}"#),
            Ok(FromClient::Resize { cols: 100, rows: 30 })
        ));
        assert!(read_control(r#"{"type":"resize","cols":0,"rows":30}"#).is_err());
        assert!(
            read_control(r#"{"type":"closed","exit_code":0,"reason":"x"}"#)
                .unwrap_err()
                .contains("only resize")
        );
        assert!(read_control("ls -la").unwrap_err().contains("control message"));
    }
}
