//! Delivery: sending a `Notification` to notification channels, with
//! retries, persisted, every attempt audited.
//!
//! `enqueue` writes one outbox row per channel (`outbox`) before it
//! returns; the `alert-delivery` task (`run`, in `worker`) sends what is
//! due, up to 8 at once and 2 per channel (`queue`), and deliveries about
//! the same alert on the same channel in the order they were queued. Each
//! attempt (`attempt`) looks the channel up afresh, so a channel fixed
//! after failures is used on the next retry; a channel deleted or disabled
//! meanwhile ends its deliveries with a recorded error.
//!
//! What counts: a 2xx answer (or the SMTP server taking the mail) is
//! delivered. Everything else is retried, 4xx included (a receiver may be
//! fixed, a token renewed), with a doubling backoff from `retry_first` to
//! `retry_max` (and at least what a 429 or 503 asks in `Retry-After`),
//! until `give_up_after` from when it was queued. Not retried, because
//! sending again cannot help: settings that cannot be sent (a header a
//! token cannot be carried in, a bad address) and a URL or SMTP server
//! that leads back to berth itself (`loop_in`).
//!
//! Every attempt, a test from `send_now` too, is one `alert.deliver`
//! event. No secret (a webhook's signing secret, a Slack or Discord URL or
//! any piece of its path, a token, a password) reaches an event, a log
//! line or a report: messages are written here and scrubbed of them.
//!
//! The formats are in `formats` (HTTP) and `mail` (SMTP), their words in
//! `text`. Not here: rules, when to notify (`alerts`), storing channels.

mod attempt;
mod backoff;
mod formats;
mod mail;
mod outbox;
mod own;
mod queue;
mod receiver;
mod text;
mod worker;

pub use formats::{DELIVERY_HEADER, SIGNATURE_HEADER, signature};
pub(crate) use outbox::Pending;
pub use own::{loop_in, points_at};

use crate::events::EventLog;
use crate::model::{Channel, ChannelId, DeliveryReport, Notification, Outcome};
use crate::outbound::Outbound;
use crate::store::{Store, StoreError};
use crate::tasks::Stop;
use attempt::Record;
use outbox::Changes;
use queue::{MAX_WAITING, Queue};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Finds a channel by its id, as it is stored now (secrets included).
pub type ChannelLookup = Arc<dyn Fn(ChannelId) -> Option<Channel> + Send + Sync>;

/// How deliveries are made and retried.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliverySettings {
    /// One attempt's deadline, answer included.
    pub timeout: Duration,
    /// The wait after the first failure; it doubles after each one...
    pub retry_first: Duration,
    /// ...up to this.
    pub retry_max: Duration,
    /// A delivery not made this long after it was queued is given up.
    pub give_up_after: Duration,
    /// berth's address as its users reach it, for links to the alert.
    pub public_url: Option<String>,
    /// berth's own listening sockets: a channel may not call them.
    pub own: Vec<SocketAddr>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            timeout: Duration::from_secs(10),
            retry_first: Duration::from_secs(10),
            retry_max: Duration::from_secs(30 * 60),
            give_up_after: Duration::from_secs(24 * 3600),
            public_url: None,
            own: Vec::new(),
        }
    }
}

impl DeliverySettings {
    /// Within sane bounds: no zero waits (they would spin), a longest wait
    /// no shorter than the first.
    fn bounded(mut self) -> DeliverySettings {
        self.timeout = self.timeout.max(Duration::from_millis(100));
        self.retry_first = self.retry_first.max(Duration::from_millis(10));
        self.retry_max = self.retry_max.max(self.retry_first);
        self
    }
}

struct Inner {
    store: Store,
    events: EventLog,
    settings: DeliverySettings,
    lookup: ChannelLookup,
    /// The HTTP client, or why there is none (each HTTP attempt says so).
    client: Result<Outbound, String>,
    queue: Mutex<Queue>,
    /// Wakes the task when something is queued.
    wake: Notify,
    started: AtomicBool,
}

impl Inner {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The delivery service; cheap to clone.
#[derive(Clone)]
pub struct Deliveries {
    inner: Arc<Inner>,
}

impl Deliveries {
    /// Loads the outbox the last run left. Blocking. `lookup` finds a
    /// channel as it is at each attempt.
    pub fn open(
        store: Store,
        events: EventLog,
        settings: DeliverySettings,
        lookup: ChannelLookup,
    ) -> Result<Deliveries, StoreError> {
        let (entries, next_id) = outbox::load(store.db())?;
        let settings = settings.bounded();
        let client = Outbound::new_or_plain(settings.timeout).map_err(|e| e.to_string());
        if let Err(e) = &client {
            tracing::error!(error = %e, "alert channels over HTTP cannot be reached");
        }
        Ok(Deliveries {
            inner: Arc::new(Inner {
                store,
                events,
                settings,
                lookup,
                client,
                queue: Mutex::new(Queue::new(entries, next_id)),
                wake: Notify::new(),
                started: AtomicBool::new(false),
            }),
        })
    }

    /// How many deliveries wait in the outbox (under way included).
    pub fn waiting(&self) -> usize {
        self.inner.queue().entries.len()
    }

    /// Queues `n` for each of `channels` (each once), in the outbox before
    /// this returns. Past `MAX_WAITING` waiting deliveries, the rest are
    /// not queued, and each refusal is recorded.
    pub async fn enqueue(&self, n: &Notification, channels: &[ChannelId]) -> Result<(), StoreError> {
        let inner = &self.inner;
        let n = text::bounded(n, inner.settings.public_url.as_deref());
        let mut unique = Vec::new();
        for c in channels {
            if !unique.contains(c) {
                unique.push(*c);
            }
        }
        let now = now_ms();
        let (rows, refused) = {
            let mut queue = inner.queue();
            let room = MAX_WAITING.saturating_sub(queue.entries.len()).min(unique.len());
            let refused = unique.split_off(room);
            let first = queue.next_id;
            queue.next_id += unique.len() as u64;
            let rows: Vec<_> = (first..)
                .zip(unique)
                .map(|(id, channel)| {
                    let pending = Pending {
                        notification: n.clone(),
                        channel,
                        attempts: 0,
                        queued_ms: now,
                        next_ms: now,
                    };
                    (id, pending)
                })
                .collect();
            (rows, refused)
        };
        if !rows.is_empty() {
            let changes = Changes {
                put: rows.clone(),
                remove: Vec::new(),
            };
            outbox::save(&inner.store, changes).await?;
            inner.queue().entries.extend(rows);
            inner.wake.notify_one();
        }
        for channel in refused {
            let found = (inner.lookup)(channel);
            let record = Record {
                channel,
                found: found.as_ref(),
                notification: &n,
                attempt: 0,
                test: false,
            };
            let why = format!("not queued: {MAX_WAITING} deliveries are already waiting (are the receivers down?)");
            tracing::warn!(channel = channel.0, notification = %n.id, "{why}");
            inner
                .events
                .record(attempt::event(&record, Outcome::Error(why), None, None));
        }
        Ok(())
    }

    /// One attempt now, without retries and without the outbox: a
    /// channel's "send a test" button. Recorded as `alert.deliver` with
    /// `test: true` before this returns.
    pub async fn send_now(&self, n: &Notification, channel: &Channel) -> DeliveryReport {
        let inner = &self.inner;
        let n = text::bounded(n, inner.settings.public_url.as_deref());
        let tried = attempt::attempt(inner, channel, &n).await;
        let outcome = if tried.ok {
            Outcome::Ok
        } else {
            Outcome::Error(tried.detail.clone())
        };
        let record = Record {
            channel: channel.id,
            found: Some(channel),
            notification: &n,
            attempt: 1,
            test: true,
        };
        if let Err(e) = inner
            .events
            .append(attempt::event(&record, outcome, Some(&tried), None))
            .await
        {
            tracing::error!(error = %e, "a test delivery could not be recorded");
        }
        DeliveryReport {
            channel: channel.id,
            ok: tried.ok,
            detail: tried.detail,
            duration_ms: u64::try_from(tried.took.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The `alert-delivery` task: sends what is due until `stop`, then
    /// ends promptly; what is not delivered stays in the outbox for the
    /// next start. Its owner spawns it once.
    pub async fn run(self, stop: Stop) {
        if self.inner.started.swap(true, Ordering::SeqCst) {
            tracing::error!(task = "alert-delivery", "started twice; the second one does nothing");
            return;
        }
        worker::run(self.inner, stop).await;
    }
}

/// Unix time in ms.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
