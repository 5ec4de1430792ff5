//! Following the event log live: a websocket to `/ws/events` (through the
//! shared client, `components::socket`), opened with a one-time ticket and
//! the page's filter, starting after the newest event the page already
//! shows. Reconnects (with a new ticket) when it drops.

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
    // The open feed, replaced (the old one closed) whenever the filter,
    // the head or the switch changes. In the browser only: the feed is not
    // Send, and the server may clean a page up on another thread.
    #[cfg(feature = "hydrate")]
    {
        use crate::components::socket::Feed;
        let current = StoredValue::new_local(None::<Feed>);
        Effect::new(move |_| {
            let (filter, head, on) = (filter.get(), after.get(), live.enabled.get());
            current.update_value(|feed| *feed = None);
            live.events.set(Vec::new());
            match head {
                Some(head) if on => current.set_value(Some(connect(live, filter, head))),
                _ => live.state.set(LiveState::Off),
            }
        });
        on_cleanup(move || {
            current.try_update_value(Option::take);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (filter, after, MAX_LIVE_ROWS);
    live
}

/// Opens `/ws/events` for `filter`, after the newest event shown (`head`
/// at first; after a reconnect, the newest that arrived live).
#[cfg(feature = "hydrate")]
fn connect(live: Live, filter: FilterForm, head: u64) -> crate::components::socket::Feed {
    use crate::api::events::live_ticket;
    use crate::components::socket::{FeedState, open_feed};
    let path = move || {
        let after = live
            .events
            .with_untracked(|v| v.first().map(|e| e.seq.0))
            .unwrap_or(head);
        let q = filter.query_string();
        format!("/ws/events?after={after}{}{q}", if q.is_empty() { "" } else { "&" })
    };
    let on_event = move |event: Event| {
        live.events.update(|v| {
            if v.first().is_none_or(|f| f.seq < event.seq) {
                v.insert(0, event);
                v.truncate(MAX_LIVE_ROWS);
            }
        })
    };
    let on_state = move |state: FeedState| {
        live.state.set(match state {
            FeedState::Connecting => LiveState::Connecting,
            FeedState::Open => LiveState::Live,
            FeedState::Lost => LiveState::Lost,
        })
    };
    open_feed(path, live_ticket, on_event, on_state)
}
