//! The alerts that fire, kept in the store: written when one fires, is
//! told again, or resolves (in one transaction per pass), and read back
//! at start, so a restart of berth neither fires an alert again nor
//! forgets one. Pending alerts are not kept: their wait starts over.

use super::eval::Track;
use crate::model::RuleId;
use crate::store::tables::ALERT_STATE;
use crate::store::{Store, StoreError};
use redb::{ReadableDatabase, ReadableTable, TableError};

/// What one pass changes in the store.
#[derive(Default)]
pub(super) struct Writes {
    pub put: Vec<(RuleId, Track)>,
    pub delete: Vec<(RuleId, String)>,
}

impl Writes {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

/// Every kept alert. Blocking. An unreadable row is skipped and named.
pub(super) fn load(db: &redb::Database) -> Result<Vec<(RuleId, Track)>, StoreError> {
    let tx = db.begin_read()?;
    let table = match tx.open_table(ALERT_STATE) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut all = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        let (rule, subject) = k.value();
        match serde_json::from_slice::<Track>(v.value()) {
            Ok(t) => all.push((RuleId(rule), t)),
            Err(e) => tracing::warn!(rule, subject, error = %e, "skipping an unreadable alert state"),
        }
    }
    Ok(all)
}

pub(super) async fn save(store: &Store, writes: Writes) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Ok(());
    }
    store
        .blocking(move |db| {
            let tx = db.begin_write()?;
            {
                let mut table = tx.open_table(ALERT_STATE)?;
                for (rule, subject) in &writes.delete {
                    table.remove((rule.0, subject.as_str()))?;
                }
                for (rule, track) in &writes.put {
                    let json = serde_json::to_vec(track).expect("a track serialises");
                    table.insert((rule.0, track.subject.id().as_str()), json.as_slice())?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
}
