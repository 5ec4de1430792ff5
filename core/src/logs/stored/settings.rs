//! Switching a key's collection on and off, and its budget: checked,
//! recorded as `logs.collect` with its outcome (also when refused or
//! invalid), stored durably with the new budget applied at once, and the
//! collectors told.

use super::blocks::Tables;
use super::state::{self, KeySettings, KeyState, State};
use super::{StoredLogs, StoredLogsError, write, writer};
use crate::access::{self, Caller, Scope};
use crate::events::now_ns;
use crate::model::{CollectRequest, Operation, Outcome, StoredKey};
use crate::store::StoreError;
use crate::store::tables::{LOG_EXTENTS, LOG_KEYS};

impl StoredLogs {
    /// Switches collection of `req.key` on `host` on or off (with its own
    /// budget, or the default), for `caller`; recorded as `logs.collect`,
    /// also when refused or invalid. Switched on, lines are collected from
    /// now on; switched off, what is stored stays (and stays searchable)
    /// until the budgets drop it.
    pub async fn set_collect(
        &self,
        caller: &Caller,
        host: &str,
        req: &CollectRequest,
    ) -> Result<StoredKey, StoredLogsError> {
        let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let target = format!("container:{}", self.target_name(host, &req.key));
        let event = caller
            .event(Operation::CollectLogs.kind())
            .host(clip(host, 100))
            .target(clip(&target, 300))
            .details(serde_json::json!({
                "key": clip(&req.key, 300), "collect": req.collect, "budget_bytes": req.budget_bytes,
            }));
        let scope = Scope::host(clip(host, 100)).target(clip(&target, 300));
        access::check(&self.inner.events, caller, Operation::CollectLogs, scope).await?;
        let total = self.budgets().total;
        let checked = req.validate(total).map_err(StoredLogsError::Invalid).and_then(|()| {
            self.inner
                .hosts
                .get(host)
                .map(|_| ())
                .map_err(|e| StoredLogsError::NotFound(e.to_string()))
        });
        if let Err(e) = checked {
            self.inner
                .events
                .append(event.outcome(Outcome::Error(e.to_string())))
                .await?;
            return Err(e);
        }
        let set_by = caller
            .user()
            .map_or_else(|| caller.actor().to_string(), |u| u.name.clone());
        let (inner, host_s, req_c) = (self.inner.clone(), host.to_string(), req.clone());
        let written = tokio::task::spawn_blocking(move || {
            let mut state = inner.lock();
            let (next, view, dropped) = apply_setting(inner.store.db(), &state, &host_s, &req_c, set_by)?;
            *state = next;
            Ok::<_, StoreError>((view, dropped))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
        .and_then(|r| r);
        let (view, dropped) = match written {
            Ok(w) => w,
            Err(e) => {
                self.inner
                    .events
                    .append(event.outcome(Outcome::Error(e.to_string())))
                    .await?;
                return Err(e.into());
            }
        };
        self.inner.events.append(event).await?;
        writer::record(self, dropped);
        self.inner.changed.send_modify(|n| *n += 1);
        Ok(view)
    }

    /// The name a key's events are recorded under: a current container's.
    fn target_name(&self, host: &str, key: &str) -> String {
        self.inner
            .hosts
            .get(host)
            .ok()
            .and_then(|h| {
                h.containers()
                    .iter()
                    .find(|c| c.expectation_key() == key)
                    .map(|c| c.name.clone())
            })
            .unwrap_or_else(|| state::key_name(key))
    }
}

/// Changes one key's settings (and applies its new budget) in one durable
/// transaction. Returns the state after it, the key's view and any drops.
fn apply_setting(
    db: &redb::Database,
    state: &State,
    host: &str,
    req: &CollectRequest,
    set_by: String,
) -> Result<(State, StoredKey, Vec<write::Dropped>), StoreError> {
    let mut next = state.clone();
    let id_key = (host.to_string(), req.key.clone());
    let now = now_ns();
    let id = match next.ids.get(&id_key) {
        Some(id) => *id,
        // Switching off a key never collected changes nothing.
        None if !req.collect => {
            let view = StoredKey {
                own_budget: req.budget_bytes.is_some(),
                ..StoredKey::new(host, &req.key, req.budget_bytes.unwrap_or(next.budgets.per_key))
            };
            return Ok((next, view, Vec::new()));
        }
        None => {
            let id = next.next_key;
            next.next_key += 1;
            next.ids.insert(id_key, id);
            next.keys.insert(
                id,
                KeyState::new(
                    host,
                    &req.key,
                    KeySettings {
                        id,
                        collect: false,
                        budget_bytes: None,
                        since_ns: now,
                        set_by: String::new(),
                        set_at_ns: now,
                    },
                ),
            );
            id
        }
    };
    let ks = next.keys.get_mut(&id).expect("the key was just found or made");
    if req.collect && !ks.settings.collect {
        ks.settings.since_ns = now;
    }
    ks.settings.collect = req.collect;
    ks.settings.budget_bytes = req.budget_bytes;
    ks.settings.set_by = set_by;
    ks.settings.set_at_ns = now;
    let json = serde_json::to_vec(&ks.settings).expect("settings serialise");
    let tx = db.begin_write()?;
    let dropped = {
        tx.open_table(LOG_KEYS)?
            .insert((host, req.key.as_str()), json.as_slice())?;
        let mut tables = Tables::open(&tx)?;
        let (dropped, shrunk) = write::enforce(&mut tables, &mut next)?;
        let mut extents = tx.open_table(LOG_EXTENTS)?;
        for key_id in shrunk {
            extents.insert(key_id, next.keys[&key_id].extent.row())?;
        }
        dropped
    };
    tx.commit()?;
    let view = next.view(&next.keys[&id]);
    Ok((next, view, dropped))
}
