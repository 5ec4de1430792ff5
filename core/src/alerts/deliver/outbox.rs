//! The outbox: every delivery not yet made, one row per notification and
//! channel in `ALERT_OUTBOX`, so a restart picks up where the last run
//! stopped. Rows are written before `enqueue` returns and removed once
//! delivered or given up. Not here: when a row is due (`queue`).

use crate::model::{ChannelId, Notification};
use crate::store::tables::ALERT_OUTBOX;
use crate::store::{Store, StoreError};
use redb::{Database, ReadableDatabase, ReadableTable, TableError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A delivery's number in the outbox (in the order they were queued).
pub(crate) type DeliveryId = u64;

/// One notification on its way to one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub notification: Notification,
    pub channel: ChannelId,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// Unix ms when it was queued; giving up counts from here.
    pub queued_ms: i64,
    /// Unix ms of the next attempt.
    pub next_ms: i64,
}

impl Pending {
    /// Deliveries with the same key go out in the order they were queued,
    /// so a receiver never hears "resolved" before "firing".
    pub fn order_key(&self) -> (ChannelId, u64, Option<&str>, &str) {
        let n = &self.notification;
        (
            self.channel,
            n.rule.0,
            n.host.as_ref().map(|h| h.0.as_str()),
            &n.subject,
        )
    }
}

/// What a round of attempts changes in the outbox.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub put: Vec<(DeliveryId, Pending)>,
    pub remove: Vec<DeliveryId>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.remove.is_empty()
    }
}

/// Every readable row, and the number to give the next one. Blocking.
pub(crate) fn load(db: &Database) -> Result<(BTreeMap<DeliveryId, Pending>, DeliveryId), StoreError> {
    let mut pending = BTreeMap::new();
    let mut next = 1;
    let tx = db.begin_read()?;
    let table = match tx.open_table(ALERT_OUTBOX) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok((pending, next)),
        Err(e) => return Err(e.into()),
    };
    for row in table.iter()? {
        let (k, v) = row?;
        let id = k.value();
        next = next.max(id + 1);
        match serde_json::from_slice::<Pending>(v.value()) {
            Ok(p) => {
                pending.insert(id, p);
            }
            Err(e) => tracing::warn!(delivery = id, error = %e, "skipping an unreadable alert delivery"),
        }
    }
    Ok((pending, next))
}

/// Writes `changes` in one transaction.
pub(crate) async fn save(store: &Store, changes: Changes) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<(DeliveryId, Vec<u8>)> = changes
        .put
        .iter()
        .map(|(id, p)| (*id, serde_json::to_vec(p).unwrap_or_default()))
        .collect();
    let remove = changes.remove;
    store
        .blocking(move |db| {
            let tx = db.begin_write()?;
            {
                let mut table = tx.open_table(ALERT_OUTBOX)?;
                for (id, json) in &rows {
                    table.insert(*id, json.as_slice())?;
                }
                for id in &remove {
                    table.remove(*id)?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
}
