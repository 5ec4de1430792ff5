//! `/ws/events`: the live event stream for the viewer. Opened with a one-time
//! ticket from a permission-checked server function, Origin-checked; sends
//! the events after `after` that match the filter (so nothing committed
//! between the page load and the socket is missed), then every new one.

use super::AppState;
use super::guard::same_origin;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_core::access::{self, Permission};
use berth_core::model::{Event, EventFilter, User};
use std::collections::HashMap;
use tokio::sync::broadcast::error::RecvError;

/// At most this many missed events are sent on connect.
const MAX_BACKFILL: usize = 1000;

/// The checks every websocket passes: same origin, a valid one-time ticket
/// for `purpose`, and the permission.
async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    purpose: &str,
    what: Permission,
) -> Result<User, Response> {
    if !same_origin(headers, state.origin.as_deref()) {
        return Err((StatusCode::FORBIDDEN, "cross-origin websocket refused").into_response());
    }
    let ticket = params.get("ticket").map_or("", String::as_str);
    let user = match state.berth.auth.redeem_ticket(ticket, purpose).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "the ticket is invalid or used; reload the page",
            )
                .into_response());
        }
        Err(e) => return Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()),
    };
    if !access::allows(&user, what) {
        return Err((StatusCode::FORBIDDEN, "that needs the admin role").into_response());
    }
    Ok(user)
}

pub(crate) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = admit(&state, &headers, &params, "events", Permission::ReadEvents).await {
        return refused;
    }
    let filter = match EventFilter::from_fields(|k| params.get(k).map(String::as_str)) {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let after = match params.get("after").map(|a| a.parse::<u64>()) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return (StatusCode::BAD_REQUEST, "after must be a whole number").into_response(),
    };
    upgrade.on_upgrade(move |socket| stream(socket, state, filter, after))
}

/// `/ws/containers?host=local`: the host's status and containers now, then
/// again on every change. One engine stream feeds every open page.
pub(crate) async fn containers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = admit(&state, &headers, &params, "containers", Permission::ViewContainers).await {
        return refused;
    }
    let host = match state
        .berth
        .hosts
        .get(params.get("host").map_or("local", String::as_str))
    {
        Ok(h) => h.clone(),
        Err(e) => return (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    };
    upgrade.on_upgrade(move |mut socket| async move {
        let mut lists = host.subscribe_containers();
        let mut status = host.subscribe_status();
        let mut stopping = state.stopping.clone();
        loop {
            let text = serde_json::to_string(&host.view()).unwrap_or_default();
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            tokio::select! {
                next = lists.recv() => if let Err(RecvError::Closed) = next { return },
                changed = status.changed() => if changed.is_err() { return },
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => continue,
                },
                _ = stopping.changed() => return close(&mut socket, 1001, "server stopping").await,
            }
        }
    })
}

/// `/ws/stats`: the dashboard (hosts, containers, latest readings, drifts)
/// now, then after every collector tick and every container change.
pub(crate) async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = admit(&state, &headers, &params, "stats", Permission::ViewStats).await {
        return refused;
    }
    upgrade.on_upgrade(move |mut socket| async move {
        let mut ticks = state.berth.stats.subscribe();
        let mut lists: Vec<_> = state
            .berth
            .hosts
            .all()
            .iter()
            .map(|h| h.subscribe_containers())
            .collect();
        let mut stopping = state.stopping.clone();
        loop {
            let text = serde_json::to_string(&state.berth.dashboard()).unwrap_or_default();
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            let list_changed = futures_util::future::select_all(lists.iter_mut().map(|l| Box::pin(l.recv())));
            tokio::select! {
                changed = ticks.changed() => if changed.is_err() { return },
                (next, _, _) = list_changed => if let Err(RecvError::Closed) = next { return },
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => continue,
                },
                _ = stopping.changed() => return close(&mut socket, 1001, "server stopping").await,
            }
        }
    })
}

/// The events after `after` matching `filter`, oldest first.
async fn backfill(state: &AppState, filter: &EventFilter, after: u64) -> Vec<Event> {
    let mut found = Vec::new();
    let mut before = None;
    'pages: loop {
        let Ok(page) = state.berth.events.query(filter.clone(), before, 200).await else {
            break;
        };
        for e in page.events {
            if e.seq.0 <= after || found.len() >= MAX_BACKFILL {
                break 'pages;
            }
            found.push(e);
        }
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    found.reverse();
    found
}

async fn send(socket: &mut WebSocket, e: &Event) -> bool {
    match serde_json::to_string(e) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => true,
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn stream(mut socket: WebSocket, state: AppState, filter: EventFilter, after: Option<u64>) {
    // Subscribe before reading the backlog, so nothing falls in between.
    let mut live = state.berth.events.subscribe();
    let mut stopping = state.stopping.clone();
    let mut last = after.unwrap_or(0);
    if let Some(after) = after {
        for e in backfill(&state, &filter, after).await {
            if !send(&mut socket, &e).await {
                return;
            }
            last = last.max(e.seq.0);
        }
    }
    loop {
        tokio::select! {
            next = live.recv() => match next {
                Ok(e) => {
                    if e.seq.0 > last && filter.matches(&e) {
                        if !send(&mut socket, &e).await {
                            return;
                        }
                        last = e.seq.0;
                    }
                }
                // The client reconnects with `after`, and the backlog fills the gap.
                Err(RecvError::Lagged(_)) => return close(&mut socket, 1013, "fell behind; reconnect").await,
                Err(RecvError::Closed) => return close(&mut socket, 1001, "server stopping").await,
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = stopping.changed() => return close(&mut socket, 1001, "server stopping").await,
        }
    }
}
