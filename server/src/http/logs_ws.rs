//! `/ws/logs?ticket=T&containers=ID,ID&tail=N&since=TIME`: the live logs
//! of up to `MAX_MERGED` containers of the ticket's host (a ticket from
//! `logs_ticket`), merged in time order, as `LogFeed` JSON text frames:
//! the backfill in `lines` frames, `live`, then `lines` as they come, a
//! `gap` when this viewer fell behind, an `end` when a container's stream
//! ends. Core's `Feed` makes every frame; this only sends them.
//!
//! A request that cannot be served (a bad `tail` or `since`, an `until`,
//! an unknown container, too many) gets one `error` frame saying why, and
//! the socket closes with 4000 + the HTTP status of the failure (4400,
//! 4403, 4404, 4503). Rights are checked again whenever grants change
//! (closed with 1008 when withdrawn); the server stopping closes it (1001);
//! once every container's stream has ended for good it closes (1000).

use super::AppState;
use super::ws::{Admitted, admit, close, ip};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use berth_core::Failure;
use berth_core::auth::Purpose;
use berth_core::hosts::{Host, HostError};
use berth_core::logs::Feed;
use berth_core::model::{LogFeed, LogQuery};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Bytes read from a viewer at once, and the largest message it may send.
const VIEWER_READ_BUFFER: usize = 4 << 10;

pub(crate) async fn logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ConnectInfo<SocketAddr>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let admitted = match admit(&state, &headers, ip(&info), &params, Purpose::Logs).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let host = state
        .berth
        .hosts
        .get(admitted.grant.host.as_deref().unwrap_or_default());
    let containers: Vec<String> = params
        .get("containers")
        .map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| params.get(name).map(String::as_str);
    let query = LogQuery::parse(param("tail"), param("since"), param("until"), true);
    // A viewer sends nothing but control frames: a small read buffer and
    // small messages (the default 128 KiB each, times every viewer).
    upgrade
        .read_buffer_size(VIEWER_READ_BUFFER)
        .max_message_size(VIEWER_READ_BUFFER)
        .max_frame_size(VIEWER_READ_BUFFER)
        .on_upgrade(move |socket| run(socket, state, admitted, host, containers, query))
}

async fn run(
    mut socket: WebSocket,
    state: AppState,
    mut admitted: Admitted,
    host: Result<Arc<Host>, HostError>,
    containers: Vec<String>,
    query: Result<LogQuery, String>,
) {
    let opened = async {
        let host = host?;
        let query = query.map_err(HostError::Invalid)?;
        state
            .berth
            .logs
            .follow(&admitted.caller, &host, &containers, &query)
            .await
    }
    .await;
    let mut feed: Feed = match opened {
        Ok(feed) => feed,
        Err(e) => {
            let message = serde_json::to_string(&LogFeed::Error { message: e.to_string() }).unwrap_or_default();
            let _ = socket.send(Message::Text(message.into())).await;
            let code = 4000 + e.kind().status();
            return close(&mut socket, code, "the logs cannot be followed").await;
        }
    };
    let mut stopping = state.stopping.clone();
    loop {
        tokio::select! {
            frame = feed.next() => match frame {
                Some(bytes) => {
                    // Core's frames are JSON, so UTF-8.
                    let Ok(text) = Utf8Bytes::try_from(bytes) else { continue };
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                None => return close(&mut socket, 1000, "the logs ended").await,
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
}
