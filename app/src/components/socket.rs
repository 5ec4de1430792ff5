//! A live JSON feed over a websocket: each message replaces the value in a
//! signal (`follow_json`), or goes to a handler that merges it into what the
//! page shows (`follow_messages`). Opened with a one-time ticket from a
//! server function, reopened (with a new ticket) three seconds after it
//! drops, closed when the page that asked for it goes away. The server
//! renders without it.

use crate::error::AppError;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use std::future::Future;

/// Follows `path` (`/ws/stats?…`, without the ticket) into `live`.
pub fn follow_json<T, F, Fut>(live: RwSignal<Option<T>>, path: String, ticket: F)
where
    T: DeserializeOwned + Send + Sync + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<String, AppError>> + 'static,
{
    follow_messages(path, ticket, move |value: T| live.set(Some(value)));
}

/// Follows `path`, handing each message to `on_message`. After a reconnect
/// the server starts over, so the handler sees the whole state again.
pub fn follow_messages<T, F, Fut>(path: String, ticket: F, on_message: impl Fn(T) + 'static)
where
    T: DeserializeOwned + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<String, AppError>> + 'static,
{
    #[cfg(feature = "hydrate")]
    client::follow(std::rc::Rc::new(on_message), path, ticket);
    #[cfg(not(feature = "hydrate"))]
    let _ = (path, ticket, on_message);
}

#[cfg(feature = "hydrate")]
mod client {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    struct Conn {
        ws: WebSocket,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_close: Closure<dyn FnMut()>,
    }

    impl Drop for Conn {
        fn drop(&mut self) {
            self.ws.set_onclose(None);
            let _ = self.ws.close();
        }
    }

    /// Whether the page still wants the feed, and the open socket.
    type Slot = Rc<RefCell<(bool, Option<Conn>)>>;

    /// What the page does with each message.
    type Handler<T> = Rc<dyn Fn(T)>;

    pub(super) fn follow<T, F, Fut>(handler: Handler<T>, path: String, ticket: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn() -> Fut + Clone + 'static,
        Fut: Future<Output = Result<String, AppError>> + 'static,
    {
        let slot: Slot = Rc::new(RefCell::new((true, None)));
        connect(handler, slot.clone(), Rc::new(path), ticket);
        let stored = StoredValue::new_local(slot);
        on_cleanup(move || {
            stored.try_with_value(|s| *s.borrow_mut() = (false, None));
        });
    }

    fn connect<T, F, Fut>(handler: Handler<T>, slot: Slot, path: Rc<String>, ticket: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn() -> Fut + Clone + 'static,
        Fut: Future<Output = Result<String, AppError>> + 'static,
    {
        leptos::task::spawn_local(async move {
            if !slot.borrow().0 {
                return;
            }
            let Ok(t) = ticket().await else {
                return retry(handler, slot, path, ticket);
            };
            let location = window().location();
            let scheme = if location.protocol().as_deref() == Ok("https:") {
                "wss"
            } else {
                "ws"
            };
            let joiner = if path.contains('?') { '&' } else { '?' };
            let url = format!(
                "{scheme}://{}{path}{joiner}ticket={t}",
                location.host().unwrap_or_default()
            );
            let Ok(ws) = WebSocket::new(&url) else {
                return retry(handler, slot, path, ticket);
            };
            let on_value = handler.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                if let Some(value) = m.data().as_string().and_then(|t| serde_json::from_str::<T>(&t).ok()) {
                    on_value(value);
                }
            });
            let (again, again_path, again_ticket) = (slot.clone(), path.clone(), ticket.clone());
            let on_close = Closure::<dyn FnMut()>::new(move || {
                retry(handler.clone(), again.clone(), again_path.clone(), again_ticket.clone())
            });
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            let mut s = slot.borrow_mut();
            if s.0 {
                s.1 = Some(Conn {
                    ws,
                    _on_message: on_message,
                    _on_close: on_close,
                });
            }
        });
    }

    fn retry<T, F, Fut>(handler: Handler<T>, slot: Slot, path: Rc<String>, ticket: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn() -> Fut + Clone + 'static,
        Fut: Future<Output = Result<String, AppError>> + 'static,
    {
        set_timeout(
            move || {
                if slot.borrow().0 {
                    slot.borrow_mut().1 = None;
                    connect(handler, slot, path, ticket);
                }
            },
            std::time::Duration::from_secs(3),
        );
    }
}
