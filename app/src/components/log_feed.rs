//! Where a logs view's lines come from: the live feed (`/ws/logs`, through
//! the shared socket client) for a query that follows, the REST API for a
//! fixed range, for older lines and for the server's search. Live messages
//! are queued as they arrive and put into the view's buffer once per
//! animation frame, so a burst costs one redraw per frame, not one per
//! line. The addresses are `log_api`'s; the server renders none of the
//! fetching.

use super::log_api::{RestSearch, get_lines, merge, rest_url};
use super::log_buffer::LogBuffer;
#[cfg(feature = "hydrate")]
use super::socket::Feed;
use berth_core::model::{LogLine, LogQuery};
use leptos::prelude::*;

/// Lines kept in the browser per view.
pub const KEPT: usize = 5_000;
/// Lines "load older" asks for.
pub const OLDER: u32 = 500;
/// How far back "search the server" looks in each container's log.
pub const SERVER_SEARCH_TAIL: u32 = berth_core::model::MAX_TAIL;

/// Where the view's feed is.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Connecting,
    /// The feed is sending the tail it was asked for.
    Backfill,
    Live,
    /// The socket dropped; trying again.
    Lost,
    /// Every container's stream ended.
    Ended,
    /// A fixed range was loaded (nothing follows).
    Loaded,
    Failed(String),
}

impl Status {
    pub fn label(&self) -> String {
        match self {
            Status::Connecting => "Connecting…".into(),
            Status::Backfill => "Loading…".into(),
            Status::Live => "● Live".into(),
            Status::Lost => "Connection lost: retrying…".into(),
            Status::Ended => "Ended".into(),
            Status::Loaded => "Range loaded".into(),
            Status::Failed(_) => "Stopped".into(),
        }
    }

    pub fn class(&self) -> &'static str {
        match self {
            Status::Live => "live-state live-on",
            Status::Lost | Status::Failed(_) => "live-state live-lost",
            _ => "live-state live-connecting",
        }
    }
}

/// One logs view's sources and state: the host and containers it shows,
/// its kept lines, where its feed is, and the feed itself.
#[derive(Clone, Copy)]
pub struct LogSession {
    pub host: StoredValue<String>,
    pub ids: StoredValue<Vec<String>>,
    pub buffer: RwSignal<LogBuffer>,
    pub status: RwSignal<Status>,
    /// The open live feed (browser only: it is not Send, and the server
    /// may clean a page up on another thread).
    #[cfg(feature = "hydrate")]
    feed: StoredValue<Option<Feed>, LocalStorage>,
}

impl LogSession {
    /// A session for the current page; its feed closes with the page.
    pub fn new(host: String, ids: Vec<String>) -> LogSession {
        let session = LogSession {
            host: StoredValue::new(host),
            buffer: RwSignal::new(LogBuffer::new(KEPT, ids.clone())),
            ids: StoredValue::new(ids),
            status: RwSignal::new(Status::Connecting),
            #[cfg(feature = "hydrate")]
            feed: StoredValue::new_local(None),
        };
        #[cfg(feature = "hydrate")]
        on_cleanup(move || session.stop());
        session
    }

    /// Closes the live feed, if one is open.
    pub fn stop(self) {
        #[cfg(feature = "hydrate")]
        self.feed.try_update_value(Option::take);
    }

    /// Starts over with `q`: forgets the lines, then follows (no `until`)
    /// or loads the fixed range.
    pub fn start(self, q: LogQuery) {
        self.stop();
        self.buffer.update(LogBuffer::clear);
        self.status.set(Status::Connecting);
        #[cfg(feature = "hydrate")]
        if q.until_ns.is_none() {
            let feed = client::follow(self, q);
            self.feed.set_value(Some(feed));
        } else {
            leptos::task::spawn_local(client::load_range(self, q));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = q;
    }

    /// Fetches up to `OLDER` lines before the oldest kept one and puts them
    /// first, pausing the view so that new lines do not push them out.
    pub async fn load_older(self, q: LogQuery) -> Result<usize, String> {
        let Some(oldest) = self.buffer.with_untracked(LogBuffer::oldest_ts) else {
            return Ok(0);
        };
        let older = LogQuery {
            tail: Some(OLDER),
            since_ns: q.since_ns,
            until_ns: Some(oldest),
            follow: false,
        };
        let lines = self.fetch(&older, None).await?;
        Ok(self
            .buffer
            .try_update(|b| {
                b.set_paused(true);
                b.prepend_older(lines)
            })
            .unwrap_or(0))
    }

    /// The server's search over each container's tail (in the range of
    /// `q`), in time order.
    pub async fn search_server(self, q: LogQuery, search: RestSearch) -> Result<Vec<LogLine>, String> {
        let wide = LogQuery {
            tail: Some(SERVER_SEARCH_TAIL),
            follow: false,
            ..q
        };
        self.fetch(&wide, Some(&search)).await
    }

    /// `GET …/logs` for each container, merged in time order.
    async fn fetch(self, q: &LogQuery, search: Option<&RestSearch>) -> Result<Vec<LogLine>, String> {
        let host = self.host.get_value();
        let mut lists = Vec::new();
        for id in self.ids.get_value() {
            lists.push(get_lines(&rest_url(&host, &id, q, search)).await?);
        }
        Ok(merge(lists))
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use super::*;
    use crate::api::logs::logs_ticket;
    use crate::components::log_api::ws_path;
    use crate::components::log_buffer::LineKind;
    use crate::components::socket::{FeedState, open_feed};
    use berth_core::model::{ErrorKind, LogFeed};
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    /// Messages waiting for the next animation frame.
    #[derive(Default)]
    struct Pending {
        items: VecDeque<LogFeed>,
        lines: usize,
        scheduled: bool,
        /// Containers whose stream ended.
        ended: Vec<String>,
    }

    impl Pending {
        /// Queues a message; lines beyond what the view keeps are dropped
        /// here already (a hidden tab draws no frames).
        fn push(&mut self, message: LogFeed) {
            if let LogFeed::Lines { lines } = &message {
                self.lines += lines.len();
            }
            self.items.push_back(message);
            let mut excess = self.lines.saturating_sub(KEPT);
            for item in self.items.iter_mut() {
                if excess == 0 {
                    break;
                }
                if let LogFeed::Lines { lines } = item {
                    let n = excess.min(lines.len());
                    lines.drain(..n);
                    excess -= n;
                    self.lines -= n;
                }
            }
        }
    }

    pub(super) fn follow(session: LogSession, q: LogQuery) -> Feed {
        let pending = Rc::new(RefCell::new(Pending::default()));
        let ids = session.ids.get_value();
        let host = session.host.get_value();
        let path = {
            let ids = ids.clone();
            move || {
                let resume = session.buffer.try_with_untracked(LogBuffer::newest_ts).flatten();
                ws_path(&ids, &q, resume)
            }
        };
        // A ticket refused for good (no right to the logs, signed out, no
        // such host) stops the feed and says why; others are retried.
        let ticket = move || {
            let host = host.clone();
            async move {
                let ticket = logs_ticket(host).await;
                if let Err(e) = &ticket
                    && !matches!(
                        e.kind,
                        ErrorKind::Unavailable | ErrorKind::Throttled | ErrorKind::Internal
                    )
                {
                    session.status.try_set(Status::Failed(e.message.clone()));
                    session.stop();
                }
                ticket
            }
        };
        let on_message = {
            let pending = pending.clone();
            move |message: LogFeed| {
                // Lines wait for the next frame; the rest (with the lines
                // before it) is shown at once, also in a hidden tab.
                let urgent = !matches!(message, LogFeed::Lines { .. });
                let mut p = pending.borrow_mut();
                p.push(message);
                if urgent {
                    let pending = pending.clone();
                    queue_microtask(move || flush(session, &pending));
                } else if !p.scheduled {
                    p.scheduled = true;
                    let pending = pending.clone();
                    request_animation_frame(move || flush(session, &pending));
                }
            }
        };
        let on_state = move |state: FeedState| {
            let next = match state {
                FeedState::Connecting => Status::Connecting,
                FeedState::Open => Status::Backfill,
                FeedState::Lost => Status::Lost,
            };
            session.status.try_update(|s| {
                // A feed that failed or ended stays so.
                if !matches!(s, Status::Failed(_) | Status::Ended) {
                    *s = next;
                }
            });
        };
        open_feed(path, ticket, on_message, on_state)
    }

    /// Puts the queued messages into the buffer in one update.
    fn flush(session: LogSession, pending: &Rc<RefCell<Pending>>) {
        let (items, ended) = {
            let mut p = pending.borrow_mut();
            p.scheduled = false;
            p.lines = 0;
            (std::mem::take(&mut p.items), p.ended.clone())
        };
        if items.is_empty() {
            return;
        }
        let mut ended = ended;
        let mut status = None;
        session.buffer.try_update(|b| {
            for item in items {
                match item {
                    LogFeed::Lines { lines } => b.push_lines(lines),
                    LogFeed::Gap { container, missed } => b.push_marker(
                        Some(&container),
                        LineKind::Gap,
                        format!("{missed} lines skipped: this view fell behind"),
                    ),
                    LogFeed::Live => status = Some(Status::Live),
                    LogFeed::End { container, reason } => {
                        b.push_marker(Some(&container), LineKind::End, format!("Log ended: {reason}"));
                        ended.push(container);
                    }
                    LogFeed::Error { message } => {
                        b.push_marker(None, LineKind::Error, format!("The live log stopped: {message}"));
                        status = Some(Status::Failed(message));
                    }
                }
            }
        });
        let all_ended = session
            .ids
            .try_with_value(|ids| {
                ids.iter()
                    .all(|id| ended.iter().any(|e| e.starts_with(id) || id.starts_with(e)))
            })
            .unwrap_or(false);
        pending.borrow_mut().ended = ended;
        if all_ended && !matches!(status, Some(Status::Failed(_))) {
            status = Some(Status::Ended);
        }
        if let Some(status) = status {
            let stop = matches!(status, Status::Failed(_) | Status::Ended);
            session.status.try_set(status);
            if stop {
                session.stop();
            }
        }
    }

    /// A fixed range (with `until`): fetched over REST, nothing follows.
    pub(super) async fn load_range(session: LogSession, q: LogQuery) {
        session.status.try_set(Status::Backfill);
        match session.fetch(&q, None).await {
            Ok(lines) => {
                session.buffer.try_update(|b| b.push_lines(lines));
                session.status.try_set(Status::Loaded);
            }
            Err(e) => {
                session.status.try_set(Status::Failed(e));
            }
        }
    }
}
