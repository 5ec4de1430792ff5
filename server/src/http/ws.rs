//! The live feeds, each opened with a one-time ticket from a
//! permission-checked server function and Origin-checked:
//! - `/ws/events`: the events after `after` that match the filter (so
//!   nothing committed between the page load and the socket is missed),
//!   then every new one;
//! - `/ws/containers`: one host's containers, or every visible host's;
//! - `/ws/stats`: the dashboard.

use super::AppState;
use super::guard::same_origin;
use super::rest::ApiError;
use axum::extract::ws::Utf8Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use berth_app::api::containers::HostsFeed;
use berth_core::access::{Caller, Scope};
use berth_core::auth::{Purpose, TicketGrant};
use berth_core::hosts::Host;
use berth_core::model::{Container, ErrorKind, Event, EventFilter, EventKind, HostStatus, HostView, NewEvent, Outcome};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// At most this many missed events are sent on connect.
const MAX_BACKFILL: usize = 1000;

/// Who opened a socket, and how to tell when their rights change.
pub(super) struct Admitted {
    pub(super) caller: Caller,
    pub(super) grant: TicketGrant,
    pub(super) changes: watch::Receiver<u64>,
}

impl Admitted {
    /// Whether the caller still exists and may still see this feed; called
    /// whenever users, grants or keys change.
    pub(super) async fn still_allowed(&mut self, state: &AppState) -> bool {
        match state
            .berth
            .auth
            .resolve(&self.grant.identity, self.caller.source())
            .await
        {
            Ok(Some(caller)) if caller.may(self.grant.purpose.operation(), self.grant.host.as_deref()) => {
                self.caller = caller;
                true
            }
            _ => false,
        }
    }
}

/// A websocket refused before it opens: the REST error shape
/// (`{"error", "kind"}`) with the status of its kind.
pub(super) fn refuse(kind: ErrorKind, message: &str) -> Response {
    ApiError::new(kind, message).into_response()
}

/// The checks every websocket passes: same origin, and a valid one-time
/// ticket for `purpose` whose caller still has the rights it was issued
/// for. Each refusal is recorded once: a foreign origin or a bad ticket as
/// `ws.refused` (with the reason), rights withdrawn since the ticket by
/// `access`, under the feed's operation.
pub(super) async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    source: Option<String>,
    params: &HashMap<String, String>,
    purpose: Purpose,
) -> Result<Admitted, Response> {
    let refused = |reason: &str, message: &str| {
        state.berth.events.record(
            NewEvent::new(EventKind::WsRefused, berth_core::model::Actor::system())
                .source(source.clone())
                .outcome(Outcome::Denied(message.into()))
                .details(serde_json::json!({ "feed": format!("{purpose:?}").to_lowercase(), "reason": reason })),
        );
    };
    if !same_origin(headers, state.origin.as_deref()) {
        let message = "cross-origin websocket refused: open it from berth's own pages";
        refused("foreign_origin", message);
        return Err(refuse(ErrorKind::Denied, message));
    }
    let ticket = params.get("ticket").map_or("", String::as_str);
    let grant = match state.berth.auth.redeem(ticket, purpose) {
        Ok(g) => g,
        Err(why) => {
            refused(why.as_str(), why.message());
            return Err(refuse(ErrorKind::Unauthenticated, why.message()));
        }
    };
    let caller = state
        .berth
        .auth
        .resolve(&grant.identity, source.clone())
        .await
        .ok()
        .flatten();
    let Some(caller) = caller else {
        let message = "the ticket's holder was disabled or removed, or its key revoked, since: sign in again";
        refused("holder_gone", message);
        return Err(refuse(ErrorKind::Unauthenticated, message));
    };
    let scope = Scope {
        host: grant.host.clone(),
        target: None,
    };
    // Refused (403), or the event log failed to record it (500): its kind says which.
    if let Err(e) = berth_core::access::check(&state.berth.events, &caller, purpose.operation(), scope).await {
        return Err(ApiError::from(e).into_response());
    }
    Ok(Admitted {
        caller,
        grant,
        changes: state.berth.auth.subscribe_changes(),
    })
}

pub(super) fn ip(info: &ConnectInfo<SocketAddr>) -> Option<String> {
    Some(info.0.ip().to_string())
}

pub(crate) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ConnectInfo<SocketAddr>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let admitted = match admit(&state, &headers, ip(&info), &params, Purpose::Events).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let filter = match EventFilter::from_fields(|k| params.get(k).map(String::as_str)) {
        Ok(f) => f,
        Err(e) => return refuse(ErrorKind::Invalid, &e.to_string()),
    };
    let after = match params.get("after").map(|a| a.parse::<u64>()) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return refuse(ErrorKind::Invalid, "after must be a whole number"),
    };
    upgrade.on_upgrade(move |socket| stream(socket, state, admitted, filter, after))
}

/// `/ws/containers`: the status and containers of the ticket's host now,
/// then again on every change. One engine stream feeds every open page.
/// With `?hosts=all` (and a ticket from `all_containers_ticket`): every
/// host the caller may see, as `HostsFeed` messages (`all_hosts`).
pub(crate) async fn containers(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ConnectInfo<SocketAddr>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if params.get("hosts").map(String::as_str) == Some("all") {
        return match admit(&state, &headers, ip(&info), &params, Purpose::AllContainers).await {
            Ok(admitted) => upgrade.on_upgrade(move |socket| all_hosts(socket, state, admitted)),
            Err(refused) => refused,
        };
    }
    let mut admitted = match admit(&state, &headers, ip(&info), &params, Purpose::Containers).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let host_id = admitted.grant.host.clone().unwrap_or_default();
    let host = match state.berth.hosts.get(&host_id) {
        Ok(h) => h,
        Err(e) => return ApiError::from(e).into_response(),
    };
    upgrade.on_upgrade(move |mut socket| async move {
        let mut lists = host.subscribe_containers();
        let mut status = host.subscribe_status();
        let mut hosts = state.berth.hosts.subscribe();
        let mut stopping = state.stopping.clone();
        loop {
            let text = serde_json::to_string(&host.view()).unwrap_or_default();
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            tokio::select! {
                changed = lists.changed() => if changed.is_err() { return },
                changed = status.changed() => if changed.is_err() { return },
                changed = hosts.changed() => {
                    let present = hosts.borrow_and_update().iter().any(|h| Arc::ptr_eq(h, &host));
                    if changed.is_err() || !present {
                        return close(&mut socket, 1001, "the host was removed").await;
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

/// A host followed by an all-hosts socket: its list and status changes.
struct Followed {
    host: Arc<Host>,
    lists: watch::Receiver<Arc<Vec<Container>>>,
    status: watch::Receiver<HostStatus>,
}

impl Followed {
    fn new(host: Arc<Host>) -> Followed {
        Followed {
            lists: host.subscribe_containers(),
            status: host.subscribe_status(),
            host,
        }
    }
}

/// Waits until the list or the status of one of `followed` changes and
/// says which; never, when nothing is followed.
async fn next_change(followed: &mut [Followed]) -> usize {
    if followed.is_empty() {
        return std::future::pending().await;
    }
    let waits = followed.iter_mut().enumerate().map(|(i, f)| {
        Box::pin(async move {
            tokio::select! {
                // Closed cannot happen while the host is held here; wait
                // for the registry.
                changed = f.lists.changed() => if changed.is_err() {
                    std::future::pending::<()>().await
                },
                changed = f.status.changed() => if changed.is_err() {
                    std::future::pending::<()>().await
                },
            }
            i
        })
    });
    futures_util::future::select_all(waits).await.0
}

fn feed_text(message: &HostsFeed) -> Utf8Bytes {
    serde_json::to_string(message).unwrap_or_default().into()
}

/// A host's `HostsFeed::Host` message now, serialised once for every
/// socket that follows the host, not once per viewer: the text is kept
/// until the host's list or status changes (one per host name, so a
/// removed host's last list stays until a host of that name returns).
fn host_message(host: &Host) -> Utf8Bytes {
    type Last = (Arc<Vec<Container>>, HostStatus, Utf8Bytes);
    static LAST: LazyLock<Mutex<HashMap<String, Last>>> = LazyLock::new(Default::default);
    let (containers, status) = (host.containers(), host.status());
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((list, seen, text)) = last.get(&host.id().0)
        && Arc::ptr_eq(list, &containers)
        && *seen == status
    {
        return text.clone();
    }
    let view = HostView {
        status: status.clone(),
        containers: containers.as_ref().clone(),
    };
    let text = feed_text(&HostsFeed::Host { view });
    last.insert(host.id().0.clone(), (containers, status, text.clone()));
    text
}

/// Every host the caller may see: their names, then each one's status and
/// containers; then each host again when it changes, and all of it again
/// when hosts come or go or the caller's access changes.
async fn all_hosts(mut socket: WebSocket, state: AppState, mut admitted: Admitted) {
    let mut registry = state.berth.hosts.subscribe();
    let mut stopping = state.stopping.clone();
    let mut followed: Vec<Followed> = Vec::new();
    let mut due: Vec<usize> = Vec::new();
    let mut regroup = true;
    loop {
        if std::mem::take(&mut regroup) {
            followed = state
                .berth
                .hosts
                .visible(&admitted.caller)
                .into_iter()
                .map(Followed::new)
                .collect();
            let hosts = followed.iter().map(|f| f.host.id().clone()).collect();
            if socket
                .send(Message::Text(feed_text(&HostsFeed::Hosts { hosts })))
                .await
                .is_err()
            {
                return;
            }
            due = (0..followed.len()).collect();
        }
        for i in due.drain(..) {
            if socket
                .send(Message::Text(host_message(&followed[i].host)))
                .await
                .is_err()
            {
                return;
            }
        }
        tokio::select! {
            i = next_change(&mut followed) => due.push(i),
            changed = registry.changed() => match changed {
                Ok(()) => regroup = true,
                Err(_) => return,
            },
            _ = admitted.changes.changed() => {
                if !admitted.still_allowed(&state).await {
                    return close(&mut socket, 1008, "your access was withdrawn").await;
                }
                // Grants on some hosts may have changed.
                regroup = true;
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            },
            _ = stopping.changed() => return close(&mut socket, 1001, "server stopping").await,
        }
    }
}

/// `/ws/stats`: the dashboard of what the caller may see (hosts,
/// containers, latest readings, drifts) now, then after every collector
/// tick and every container change.
pub(crate) async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ConnectInfo<SocketAddr>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let mut admitted = match admit(&state, &headers, ip(&info), &params, Purpose::Stats).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    upgrade.on_upgrade(move |mut socket| async move {
        let mut ticks = state.berth.stats.subscribe();
        let mut hosts = state.berth.hosts.subscribe();
        let (mut lists, mut hosts_changed) = (Vec::new(), true);
        let mut stopping = state.stopping.clone();
        loop {
            // Follow the container lists of the hosts there now.
            if std::mem::take(&mut hosts_changed) {
                lists = hosts
                    .borrow_and_update()
                    .iter()
                    .map(|h| h.subscribe_containers())
                    .collect();
            }
            let text = serde_json::to_string(&state.berth.dashboard(&admitted.caller)).unwrap_or_default();
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            let list_changed = async {
                if lists.is_empty() {
                    return std::future::pending().await;
                }
                futures_util::future::select_all(lists.iter_mut().map(|l| Box::pin(l.changed())))
                    .await
                    .0
            };
            tokio::select! {
                changed = ticks.changed() => if changed.is_err() { return },
                changed = hosts.changed() => match changed {
                    Ok(()) => hosts_changed = true,
                    Err(_) => return,
                },
                changed = list_changed => if changed.is_err() { return },
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

/// The events after `after` matching `filter` that `caller` may see, oldest first.
async fn backfill(state: &AppState, caller: &Caller, filter: &EventFilter, after: u64) -> Vec<Event> {
    let mut found = Vec::new();
    let mut before = None;
    let visible = berth_core::Berth::visible_events(caller);
    'pages: loop {
        let Ok(page) = state
            .berth
            .events
            .query_visible(filter.clone(), before, 200, visible.clone())
            .await
        else {
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

pub(super) async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn stream(
    mut socket: WebSocket,
    state: AppState,
    mut admitted: Admitted,
    filter: EventFilter,
    after: Option<u64>,
) {
    // Subscribe before reading the backlog, so nothing falls in between.
    let mut live = state.berth.events.subscribe();
    let mut stopping = state.stopping.clone();
    let mut last = after.unwrap_or(0);
    if let Some(after) = after {
        for e in backfill(&state, &admitted.caller, &filter, after).await {
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
                    if e.seq.0 > last && filter.matches(&e) && admitted.caller.sees_event(&e) {
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
            _ = admitted.changes.changed() => if !admitted.still_allowed(&state).await {
                return close(&mut socket, 1008, "your access was withdrawn").await;
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = stopping.changed() => return close(&mut socket, 1001, "server stopping").await,
        }
    }
}
