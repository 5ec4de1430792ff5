//! Following the event log live: a websocket to `/ws/events`, opened with a
//! one-time ticket and the page's filter, starting after the newest event
//! the page already shows. Reconnects (with a new ticket) when it drops.

use crate::api::events::FilterForm;
use berth_core::model::Event;
use leptos::prelude::*;

// Only the browser connects; the server renders the `Off` state.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveState {
    Off,
    Connecting,
    Live,
    Lost,
}

/// The live part of the viewer.
#[derive(Clone, Copy)]
pub struct Live {
    /// Events that arrived since the page loaded, newest first.
    pub events: RwSignal<Vec<Event>>,
    pub state: RwSignal<LiveState>,
    /// The person's "Follow live" switch.
    pub enabled: RwSignal<bool>,
}

/// At most this many live rows are kept on the page.
const MAX_LIVE_ROWS: usize = 500;

/// Follows `filter` while `after` is `Some(head)` and the switch is on.
pub fn follow(filter: Signal<FilterForm>, after: Signal<Option<u64>>) -> Live {
    let live = Live {
        events: RwSignal::new(Vec::new()),
        state: RwSignal::new(LiveState::Off),
        enabled: RwSignal::new(true),
    };
    #[cfg(feature = "hydrate")]
    client::run(live, filter, after);
    #[cfg(not(feature = "hydrate"))]
    let _ = (filter, after, MAX_LIVE_ROWS);
    live
}

#[cfg(feature = "hydrate")]
mod client {
    use super::*;
    use crate::api::events::live_ticket;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    /// One open socket and the callbacks it holds; closing it on drop.
    struct Conn {
        ws: WebSocket,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_open: Closure<dyn FnMut()>,
        _on_close: Closure<dyn FnMut()>,
    }

    impl Drop for Conn {
        fn drop(&mut self) {
            self.ws.set_onclose(None);
            let _ = self.ws.close();
        }
    }

    #[derive(Default)]
    struct Slot {
        /// Bumped on every (re)start, so callbacks of an old socket do nothing.
        generation: u64,
        conn: Option<Conn>,
    }

    pub(super) fn run(live: Live, filter: Signal<FilterForm>, after: Signal<Option<u64>>) {
        let slot = Rc::new(RefCell::new(Slot::default()));
        let effect_slot = slot.clone();
        Effect::new(move |_| {
            let (f, head, on) = (filter.get(), after.get(), live.enabled.get());
            let generation = {
                let mut s = effect_slot.borrow_mut();
                s.generation += 1;
                s.conn = None;
                s.generation
            };
            live.events.set(Vec::new());
            match head {
                Some(head) if on => connect(live, effect_slot.clone(), generation, f, head),
                _ => live.state.set(LiveState::Off),
            }
        });
        // The slot is not Send; a local StoredValue lets the cleanup reach it.
        let stored = StoredValue::new_local(slot);
        on_cleanup(move || {
            stored.try_with_value(|slot| {
                let mut s = slot.borrow_mut();
                s.generation += 1;
                s.conn = None;
            });
        });
    }

    fn connect(live: Live, slot: Rc<RefCell<Slot>>, generation: u64, filter: FilterForm, after: u64) {
        live.state.set(LiveState::Connecting);
        leptos::task::spawn_local(async move {
            let current = |slot: &Rc<RefCell<Slot>>| slot.borrow().generation == generation;
            let ticket = match live_ticket().await {
                Ok(t) => t,
                Err(_) => return retry(live, slot, generation, filter),
            };
            if !current(&slot) {
                return;
            }
            let location = window().location();
            let scheme = if location.protocol().as_deref() == Ok("https:") {
                "wss"
            } else {
                "ws"
            };
            let host = location.host().unwrap_or_default();
            let since = live
                .events
                .with_untracked(|v| v.first().map(|e| e.seq.0))
                .unwrap_or(after);
            let q = filter.query_string();
            let url = format!(
                "{scheme}://{host}/ws/events?ticket={ticket}&after={since}{}{q}",
                if q.is_empty() { "" } else { "&" }
            );
            let Ok(ws) = WebSocket::new(&url) else {
                return retry(live, slot, generation, filter);
            };

            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                let Some(text) = m.data().as_string() else { return };
                if let Ok(event) = serde_json::from_str::<Event>(&text) {
                    live.events.update(|v| {
                        if v.first().is_none_or(|f| f.seq < event.seq) {
                            v.insert(0, event);
                            v.truncate(MAX_LIVE_ROWS);
                        }
                    });
                }
            });
            let on_open = Closure::<dyn FnMut()>::new(move || live.state.set(LiveState::Live));
            let close_slot = slot.clone();
            let close_filter = filter.clone();
            let on_close = Closure::<dyn FnMut()>::new(move || {
                retry(live, close_slot.clone(), generation, close_filter.clone());
            });
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            let mut s = slot.borrow_mut();
            if s.generation == generation {
                s.conn = Some(Conn {
                    ws,
                    _on_message: on_message,
                    _on_open: on_open,
                    _on_close: on_close,
                });
            }
        });
    }

    /// Tries again in three seconds, unless the page moved on meanwhile.
    fn retry(live: Live, slot: Rc<RefCell<Slot>>, generation: u64, filter: FilterForm) {
        if slot.borrow().generation != generation {
            return;
        }
        live.state.set(LiveState::Lost);
        let after = live.events.with_untracked(|v| v.first().map(|e| e.seq.0)).unwrap_or(0);
        set_timeout(
            move || {
                if slot.borrow().generation == generation {
                    slot.borrow_mut().conn = None;
                    connect(live, slot, generation, filter, after);
                }
            },
            std::time::Duration::from_secs(3),
        );
    }
}
