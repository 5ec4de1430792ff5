//! The `alert-delivery` task: starts what is due, settles what ended
//! (the outbox row removed, or rescheduled with its backoff), and sleeps
//! until the next is due, something is queued, or an attempt ends. On stop
//! it gives attempts under way a moment, then stops them: their rows stay
//! for the next start (a receiver may then get one twice; the
//! notification's id, the same each time, lets it tell).

use super::attempt::{self, Record, Tried};
use super::outbox::{self, Changes, DeliveryId, Pending};
use super::queue::PARALLEL;
use super::{Inner, backoff, now_ms};
use crate::model::Outcome;
use crate::tasks::Stop;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{Id, JoinError, JoinSet};

const TASK: &str = "alert-delivery";
/// How long attempts under way may finish once the task is told to stop.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// The longest sleep with nothing due.
const IDLE: Duration = Duration::from_secs(3600);

/// What an attempt leaves: the row rescheduled, or None when it is done
/// (delivered, given up, or its channel gone).
type Settled = Option<Pending>;
type Joined = Result<(Id, (DeliveryId, Settled)), JoinError>;

pub(super) async fn run(inner: Arc<Inner>, mut stop: Stop) {
    tracing::info!(task = TASK, waiting = inner.queue().entries.len(), "started");
    let mut running: JoinSet<(DeliveryId, Settled)> = JoinSet::new();
    let mut ids: HashMap<Id, DeliveryId> = HashMap::new();
    loop {
        if *stop.borrow() {
            break;
        }
        let now = now_ms();
        let (due, next) = {
            let mut queue = inner.queue();
            let due = queue.take_due(now, PARALLEL.saturating_sub(running.len()));
            (due, queue.next_due().filter(|t| *t > now))
        };
        for (id, pending) in due {
            let inner = inner.clone();
            let handle = running.spawn(async move { (id, deliver(&inner, pending).await) });
            ids.insert(handle.id(), id);
        }
        let sleep = next.map_or(IDLE, |t| {
            Duration::from_millis(u64::try_from(t - now_ms()).unwrap_or(0))
        });
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            _ = inner.wake.notified() => {}
            Some(first) = running.join_next_with_id(), if !running.is_empty() => {
                let mut ended = vec![first];
                while let Some(more) = running.try_join_next_with_id() {
                    ended.push(more);
                }
                settle(&inner, &mut ids, ended).await;
            }
            _ = tokio::time::sleep(sleep.min(IDLE)) => {}
        }
    }
    let grace = tokio::time::sleep(STOP_GRACE);
    tokio::pin!(grace);
    while !running.is_empty() {
        tokio::select! {
            _ = &mut grace => break,
            Some(ended) = running.join_next_with_id() => settle(&inner, &mut ids, vec![ended]).await,
        }
    }
    let stopped = running.len();
    running.shutdown().await;
    inner.queue().clear_busy();
    tracing::info!(
        task = TASK,
        waiting = inner.queue().entries.len(),
        stopped_under_way = stopped,
        "stopped"
    );
}

/// Applies what ended to the queue and the outbox (one transaction).
async fn settle(inner: &Inner, ids: &mut HashMap<Id, DeliveryId>, ended: Vec<Joined>) {
    let mut changes = Changes::default();
    {
        let mut queue = inner.queue();
        for joined in ended {
            let (id, settled) = match joined {
                Ok((task, (id, settled))) => {
                    ids.remove(&task);
                    (id, settled)
                }
                Err(e) => {
                    let Some(id) = ids.remove(&e.id()) else { continue };
                    tracing::error!(task = TASK, delivery = id, error = %e, "an attempt failed; trying later");
                    let later = queue.entries.get(&id).cloned().map(|mut p| {
                        p.attempts += 1;
                        p.next_ms = now_ms().saturating_add(millis(inner.settings.retry_max));
                        p
                    });
                    (id, later)
                }
            };
            queue.done(id);
            match settled {
                Some(p) => {
                    queue.entries.insert(id, p.clone());
                    changes.put.push((id, p));
                }
                None => {
                    queue.entries.remove(&id);
                    changes.remove.push(id);
                }
            }
        }
    }
    if let Err(e) = outbox::save(&inner.store, changes).await {
        tracing::error!(task = TASK, error = %e, "the alert outbox could not be updated");
    }
}

/// One attempt at a queued delivery, recorded; what is left of it.
async fn deliver(inner: &Inner, mut p: Pending) -> Settled {
    let number = p.attempts + 1;
    let found = (inner.lookup)(p.channel);
    let (outcome, tried, retry_in, gave_up) = match &found {
        None => (
            Outcome::Error("the channel no longer exists; this notification is not sent to it".into()),
            None,
            None,
            false,
        ),
        Some(c) if !c.spec.enabled => (
            Outcome::Error(format!(
                "the channel {} is disabled; this notification is not sent to it",
                c.spec.name
            )),
            None,
            None,
            false,
        ),
        Some(c) => {
            let tried = attempt::attempt(inner, c, &p.notification).await;
            let (outcome, retry_in, gave_up) = judge(inner, &p, number, &tried);
            (outcome, Some(tried), retry_in, gave_up)
        }
    };
    let record = Record {
        channel: p.channel,
        found: found.as_ref(),
        notification: &p.notification,
        attempt: number,
        test: false,
    };
    let failed = outcome.message().to_string();
    let mut event = attempt::event(&record, outcome, tried.as_ref(), retry_in);
    if gave_up {
        event.details["gave_up"] = true.into();
        tracing::warn!(task = TASK, channel = p.channel.0, notification = %p.notification.id, "{failed}");
    } else if !failed.is_empty() {
        tracing::debug!(task = TASK, channel = p.channel.0, attempt = number, "{failed}");
    }
    if let Err(e) = inner.events.append(event).await {
        tracing::error!(task = TASK, error = %e, "a delivery attempt could not be recorded");
    }
    let wait = retry_in?;
    p.attempts = number;
    p.next_ms = now_ms().saturating_add(millis(wait));
    Some(p)
}

/// An attempt's outcome, when to try again (None: not again), and
/// whether this is giving up.
fn judge(inner: &Inner, p: &Pending, number: u32, tried: &Tried) -> (Outcome, Option<Duration>, bool) {
    if tried.ok {
        return (Outcome::Ok, None, false);
    }
    if !tried.retry {
        return (Outcome::Error(format!("{}; not retried", tried.detail)), None, false);
    }
    let s = &inner.settings;
    let waited = Duration::from_millis(u64::try_from(now_ms() - p.queued_ms).unwrap_or(0));
    if waited >= s.give_up_after {
        let why = format!(
            "{}; gave up after {number} attempts over {}",
            tried.detail,
            span(waited)
        );
        return (Outcome::Error(why), None, true);
    }
    let wait = backoff::delay(number, s.retry_first, s.retry_max, backoff::random())
        .max(tried.retry_after.unwrap_or_default())
        .min(s.retry_max)
        // The last attempt comes when the time is up, not after.
        .min(s.give_up_after - waited);
    (Outcome::Error(tried.detail.clone()), Some(wait), false)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// "3 s", "12 min", "24 h".
fn span(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::span;
    use std::time::Duration;

    #[test]
    fn spans_read_well() {
        assert_eq!(span(Duration::from_secs(3)), "3 s");
        assert_eq!(span(Duration::from_secs(720)), "12 min");
        assert_eq!(span(Duration::from_secs(86_400)), "24 h");
    }
}
