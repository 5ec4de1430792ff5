//! The browser's one websocket client for every live feed: JSON text
//! messages handed to the page (`open_feed`), or a value replaced in a
//! signal (`follow_json`), or merged into what a page shows
//! (`follow_messages`). Opened with a one-time ticket from a server
//! function, reopened (with a new ticket, and the path asked for again, so
//! a page can resume where it was) three seconds after it drops, closed
//! when its `Feed` is dropped or the page that asked for it goes away. The
//! server renders without it.

use crate::error::AppError;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use std::future::Future;

/// Where a feed is, for pages that show it.
// Only the browser connects; the server never reports a state.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedState {
    /// Asking for a ticket, or the socket is opening.
    Connecting,
    Open,
    /// It dropped; trying again shortly.
    Lost,
}

/// A feed being followed; dropping it closes the socket for good.
pub struct Feed {
    #[cfg(feature = "hydrate")]
    slot: client::Slot,
}

// Only the browser's feed has anything to close; without drop glue the
// server's empty one may be dropped on any thread.
#[cfg(feature = "hydrate")]
impl Drop for Feed {
    fn drop(&mut self) {
        client::stop(&self.slot);
    }
}

/// Follows the feed at `path()` (`/ws/logs?…`, without the ticket; asked
/// again on every reconnect), handing each message to `on_message` and
/// each change of state to `on_state`, until the `Feed` is dropped.
pub fn open_feed<T, F, Fut>(
    path: impl Fn() -> String + 'static,
    ticket: F,
    on_message: impl Fn(T) + 'static,
    on_state: impl Fn(FeedState) + 'static,
) -> Feed
where
    T: DeserializeOwned + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<String, AppError>> + 'static,
{
    #[cfg(feature = "hydrate")]
    {
        use std::rc::Rc;
        let slot = client::start(Rc::new(path), ticket, Rc::new(on_message), Rc::new(on_state));
        Feed { slot }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, ticket, on_message, on_state);
        Feed {}
    }
}

/// Follows `path` (`/ws/stats?…`, without the ticket) into `live`.
pub fn follow_json<T, F, Fut>(live: RwSignal<Option<T>>, path: String, ticket: F)
where
    T: DeserializeOwned + Send + Sync + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<String, AppError>> + 'static,
{
    follow_messages(path, ticket, move |value: T| live.set(Some(value)));
}

/// Follows `path` for as long as the current page lives, handing each
/// message to `on_message`. After a reconnect the server starts over, so
/// the handler sees the whole state again.
pub fn follow_messages<T, F, Fut>(path: String, ticket: F, on_message: impl Fn(T) + 'static)
where
    T: DeserializeOwned + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<String, AppError>> + 'static,
{
    let feed = open_feed(move || path.clone(), ticket, on_message, |_| {});
    // The feed is not Send; a local StoredValue lets the cleanup reach it.
    // (Browser only: the server may clean a page up on another thread.)
    #[cfg(feature = "hydrate")]
    {
        let stored = StoredValue::new_local(Some(feed));
        on_cleanup(move || {
            stored.try_update_value(Option::take);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = feed;
}

#[cfg(feature = "hydrate")]
mod client {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    pub(super) struct Conn {
        ws: WebSocket,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_open: Closure<dyn FnMut()>,
        _on_close: Closure<dyn FnMut()>,
    }

    impl Drop for Conn {
        fn drop(&mut self) {
            self.ws.set_onmessage(None);
            self.ws.set_onopen(None);
            self.ws.set_onclose(None);
            let _ = self.ws.close();
        }
    }

    /// Whether the feed is still wanted, and the open socket.
    pub(super) type Slot = Rc<RefCell<(bool, Option<Conn>)>>;

    /// What the page asked for: where, and what to do with what comes.
    struct Want<T, F> {
        path: Rc<dyn Fn() -> String>,
        ticket: F,
        on_message: Rc<dyn Fn(T)>,
        on_state: Rc<dyn Fn(FeedState)>,
    }

    impl<T, F: Clone> Clone for Want<T, F> {
        fn clone(&self) -> Self {
            Want {
                path: self.path.clone(),
                ticket: self.ticket.clone(),
                on_message: self.on_message.clone(),
                on_state: self.on_state.clone(),
            }
        }
    }

    pub(super) fn start<T, F, Fut>(
        path: Rc<dyn Fn() -> String>,
        ticket: F,
        on_message: Rc<dyn Fn(T)>,
        on_state: Rc<dyn Fn(FeedState)>,
    ) -> Slot
    where
        T: DeserializeOwned + 'static,
        F: Fn() -> Fut + Clone + 'static,
        Fut: Future<Output = Result<String, AppError>> + 'static,
    {
        let slot: Slot = Rc::new(RefCell::new((true, None)));
        let want = Want {
            path,
            ticket,
            on_message,
            on_state,
        };
        connect(want, slot.clone());
        slot
    }

    pub(super) fn stop(slot: &Slot) {
        // Take the connection out first: dropping it closes the socket.
        let conn = {
            let mut s = slot.borrow_mut();
            s.0 = false;
            s.1.take()
        };
        drop(conn);
    }

    fn connect<T, F, Fut>(want: Want<T, F>, slot: Slot)
    where
        T: DeserializeOwned + 'static,
        F: Fn() -> Fut + Clone + 'static,
        Fut: Future<Output = Result<String, AppError>> + 'static,
    {
        (want.on_state)(FeedState::Connecting);
        leptos::task::spawn_local(async move {
            if !slot.borrow().0 {
                return;
            }
            let Ok(t) = (want.ticket)().await else {
                return retry(want, slot);
            };
            if !slot.borrow().0 {
                return;
            }
            let location = window().location();
            let scheme = if location.protocol().as_deref() == Ok("https:") {
                "wss"
            } else {
                "ws"
            };
            let path = (want.path)();
            let joiner = if path.contains('?') { '&' } else { '?' };
            let url = format!(
                "{scheme}://{}{path}{joiner}ticket={t}",
                location.host().unwrap_or_default()
            );
            let Ok(ws) = WebSocket::new(&url) else {
                return retry(want, slot);
            };
            let on_value = want.on_message.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                if let Some(value) = m.data().as_string().and_then(|t| serde_json::from_str::<T>(&t).ok()) {
                    on_value(value);
                }
            });
            let opened = want.on_state.clone();
            let on_open = Closure::<dyn FnMut()>::new(move || opened(FeedState::Open));
            let (again, again_want) = (slot.clone(), want.clone());
            let on_close = Closure::<dyn FnMut()>::new(move || retry(again_want.clone(), again.clone()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            let mut s = slot.borrow_mut();
            if s.0 {
                s.1 = Some(Conn {
                    ws,
                    _on_message: on_message,
                    _on_open: on_open,
                    _on_close: on_close,
                });
            }
        });
    }

    fn retry<T, F, Fut>(want: Want<T, F>, slot: Slot)
    where
        T: DeserializeOwned + 'static,
        F: Fn() -> Fut + Clone + 'static,
        Fut: Future<Output = Result<String, AppError>> + 'static,
    {
        if !slot.borrow().0 {
            return;
        }
        (want.on_state)(FeedState::Lost);
        set_timeout(
            move || {
                if slot.borrow().0 {
                    // The old socket (if any) goes; its callbacks with it.
                    let old = slot.borrow_mut().1.take();
                    drop(old);
                    connect(want, slot);
                }
            },
            std::time::Duration::from_secs(3),
        );
    }
}
