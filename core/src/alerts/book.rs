//! The stored rules and channels: each kept in memory for the evaluator
//! and the pages, and written through to its redb table (u64 id -> JSON)
//! before a change is visible. Ids are never reused: the next one is one
//! above the largest ever stored (kept in META, so a deleted last rule's
//! number is not handed out again).

use crate::store::tables::META;
use crate::store::{Store, StoreError};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Rows of one table, by id.
pub(crate) struct Shelf<T> {
    table: TableDefinition<'static, u64, &'static [u8]>,
    /// META key of the next id.
    next_key: &'static str,
    rows: RwLock<Arc<BTreeMap<u64, T>>>,
    /// One change at a time, so two writers cannot take the same id.
    writing: tokio::sync::Mutex<()>,
}

impl<T> Shelf<T>
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Loads every row. Blocking. A row that cannot be read is skipped and
    /// named in the log (it stays in the file untouched).
    pub fn load(
        store: &Store,
        table: TableDefinition<'static, u64, &'static [u8]>,
        next_key: &'static str,
    ) -> Result<Shelf<T>, StoreError> {
        let mut rows = BTreeMap::new();
        let tx = store.db().begin_read()?;
        match tx.open_table(table) {
            Ok(t) => {
                for row in t.iter()? {
                    let (k, v) = row?;
                    match serde_json::from_slice::<T>(v.value()) {
                        Ok(value) => {
                            rows.insert(k.value(), value);
                        }
                        Err(e) => {
                            tracing::warn!(table = %table, id = k.value(), error = %e, "skipping an unreadable row")
                        }
                    }
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Shelf {
            table,
            next_key,
            rows: RwLock::new(Arc::new(rows)),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn all(&self) -> Arc<BTreeMap<u64, T>> {
        self.rows.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn get(&self, id: u64) -> Option<T> {
        self.all().get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.all().len()
    }

    /// Stores `make(new id)` under a new id and returns it.
    pub async fn insert(&self, store: &Store, make: impl FnOnce(u64) -> T) -> Result<T, StoreError> {
        let _one = self.writing.lock().await;
        let (table, next_key) = (self.table, self.next_key);
        let last = self.all().keys().next_back().copied().unwrap_or(0);
        let id = store
            .blocking(move |db| {
                let tx = db.begin_read()?;
                let stored = crate::store::meta_get(&tx, next_key)?.and_then(|v| v.parse::<u64>().ok());
                Ok(stored.unwrap_or(1).max(last + 1))
            })
            .await?;
        let value = make(id);
        let json = serde_json::to_vec(&value).expect("a row serialises");
        store
            .blocking(move |db| {
                let tx = db.begin_write()?;
                {
                    tx.open_table(table)?.insert(id, json.as_slice())?;
                    tx.open_table(META)?.insert(next_key, (id + 1).to_string().as_str())?;
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.edit(|rows| {
            rows.insert(id, value.clone());
        });
        Ok(value)
    }

    /// Replaces row `id` with what `change` makes of it; None when there is no such row.
    pub async fn update(
        &self,
        store: &Store,
        id: u64,
        change: impl FnOnce(&T) -> T,
    ) -> Result<Option<(T, T)>, StoreError> {
        let _one = self.writing.lock().await;
        let Some(old) = self.get(id) else {
            return Ok(None);
        };
        let new = change(&old);
        let json = serde_json::to_vec(&new).expect("a row serialises");
        let table = self.table;
        store
            .blocking(move |db| {
                let tx = db.begin_write()?;
                tx.open_table(table)?.insert(id, json.as_slice())?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.edit(|rows| {
            rows.insert(id, new.clone());
        });
        Ok(Some((old, new)))
    }

    /// Removes row `id`; returns it, or None when there was none.
    pub async fn remove(&self, store: &Store, id: u64) -> Result<Option<T>, StoreError> {
        let _one = self.writing.lock().await;
        let Some(old) = self.get(id) else {
            return Ok(None);
        };
        let table = self.table;
        store
            .blocking(move |db| {
                let tx = db.begin_write()?;
                tx.open_table(table)?.remove(id)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.edit(|rows| {
            rows.remove(&id);
        });
        Ok(Some(old))
    }

    fn edit(&self, f: impl FnOnce(&mut BTreeMap<u64, T>)) {
        let mut rows = self.rows.write().unwrap_or_else(|p| p.into_inner());
        f(Arc::make_mut(&mut rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::ALERT_RULES;

    #[tokio::test]
    async fn ids_are_never_reused_and_rows_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.redb");
        let store = Store::open(&path).unwrap();
        let shelf: Shelf<String> = Shelf::load(&store, ALERT_RULES, "alert_rules_next").unwrap();
        let a = shelf.insert(&store, |id| format!("a{id}")).await.unwrap();
        let b = shelf.insert(&store, |id| format!("b{id}")).await.unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("a1", "b2"));
        assert_eq!(shelf.remove(&store, 2).await.unwrap().as_deref(), Some("b2"));
        let c = shelf.insert(&store, |id| format!("c{id}")).await.unwrap();
        assert_eq!(c, "c3", "the removed last id is not handed out again");
        let (old, new) = shelf.update(&store, 1, |s| format!("{s}!")).await.unwrap().unwrap();
        assert_eq!((old.as_str(), new.as_str()), ("a1", "a1!"));
        assert!(shelf.update(&store, 9, |s| s.clone()).await.unwrap().is_none());
        drop(shelf);
        drop(store);
        let store = Store::open(&path).unwrap();
        let shelf: Shelf<String> = Shelf::load(&store, ALERT_RULES, "alert_rules_next").unwrap();
        let rows: Vec<(u64, String)> = shelf.all().iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(rows, vec![(1, "a1!".to_string()), (3, "c3".to_string())]);
    }
}
