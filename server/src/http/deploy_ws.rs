//! `/ws/deploy?ticket=T&stack=NAME&deploy=ID`: one deploy's output on the
//! ticket's host (a ticket from `deploy_ticket`), as text frames: first
//! what was kept so far, then each line as it comes; the socket closes with
//! 1000 when the deploy ends. A deploy that is over sends what it kept and
//! closes. A request that cannot be served gets one text frame starting
//! `error: ` and closes with 4000 + the HTTP status (4403, 4404).

use super::AppState;
use super::ws::{admit, close, ip};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use berth_core::Failure;
use berth_core::auth::Purpose;
use berth_core::model::DeployId;
use berth_core::stacks::output::Live;
use std::collections::HashMap;
use std::net::SocketAddr;

/// A follower sends nothing but control frames.
const READ_BUFFER: usize = 4 << 10;

pub(crate) async fn deploy(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ConnectInfo<SocketAddr>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let mut admitted = match admit(&state, &headers, ip(&info), &params, Purpose::Deploy).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let host = admitted.grant.host.clone().unwrap_or_default();
    let stack = params.get("stack").cloned().unwrap_or_default();
    let id = params.get("deploy").and_then(|d| d.parse::<u64>().ok());
    upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(READ_BUFFER)
        .max_frame_size(READ_BUFFER)
        .on_upgrade(move |mut socket: WebSocket| async move {
            let followed = match id {
                Some(id) => {
                    let caller = &admitted.caller;
                    state.berth.stacks.follow(caller, &host, &stack, DeployId(id)).await
                }
                None => Err(berth_core::stacks::StackError::Invalid(
                    "give the deploy's number: ?deploy=N".into(),
                )),
            };
            let (so_far, live) = match followed {
                Ok(f) => f,
                Err(e) => {
                    let _ = socket.send(Message::Text(format!("error: {e}").into())).await;
                    let code = 4000 + e.kind().status();
                    return close(&mut socket, code, "the deploy cannot be followed").await;
                }
            };
            if !so_far.is_empty() && socket.send(Message::Text(so_far.into())).await.is_err() {
                return;
            }
            let Some(mut live) = live else {
                return close(&mut socket, 1000, "the deploy is over").await;
            };
            let mut stopping = state.stopping.clone();
            loop {
                tokio::select! {
                    item = live.recv() => match item {
                        Ok(Live::Text(text)) => {
                            if socket.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                        Ok(Live::Done) | Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            return close(&mut socket, 1000, "the deploy is over").await;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            let note = format!("==> {n} lines skipped (this viewer fell behind); the deploy's page keeps them all\n");
                            if socket.send(Message::Text(note.into())).await.is_err() {
                                return;
                            }
                        }
                    },
                    _ = admitted.changes.changed() => if !admitted.still_allowed(&state).await {
                        return close(&mut socket, 1008, "your access was withdrawn").await;
                    },
                    incoming = socket.recv() => match incoming {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                        Some(Ok(_)) => continue,
                    },
                    _ = stopping.changed() => return close(&mut socket, 1001, "server stopping").await,
                }
            }
        })
}
