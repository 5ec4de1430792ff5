//! Stacks as kept in the store: definitions, their secrets (in a table of
//! their own, never in a definition's JSON), deploys with their output,
//! and webhook deliveries with the ids already seen. Plain functions over a
//! `redb::Database`, run by the caller inside `Store::blocking`; a missing
//! table reads as empty.

use crate::model::{DeliveryRecord, Deploy, DeployId, StackDefinition};
use crate::store::StoreError;
use crate::store::tables::{
    DELIVERIES, DELIVERY_IDS, DEPLOY_LOGS, DEPLOYS, STACK_DEPLOYS, STACK_PORTS, STACK_SECRETS, STACKS,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableError};
use serde::Serialize;
use serde::de::DeserializeOwned;

type Result<T> = std::result::Result<T, StoreError>;

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Damaged(format!("{what}: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("model types serialise")
}

/// Opens a table for reading; `None` when it was never written.
macro_rules! read_table {
    ($tx:expr, $def:expr) => {
        match $tx.open_table($def) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Default::default()),
            Err(e) => return Err(e.into()),
        }
    };
}

/// Every definition, by host then name.
pub(crate) fn definitions(db: &Database) -> Result<Vec<StackDefinition>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, STACKS);
    let mut all = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        let (host, name) = k.value();
        all.push(decode(&format!("stack {host}/{name}"), v.value())?);
    }
    Ok(all)
}

pub(crate) fn definition(db: &Database, host: &str, name: &str) -> Result<Option<StackDefinition>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, STACKS);
    match table.get((host, name))? {
        Some(v) => Ok(Some(decode(&format!("stack {host}/{name}"), v.value())?)),
        None => Ok(None),
    }
}

/// A secret change: set a key to a value, or remove it.
pub(crate) enum SecretChange {
    Set(String, String),
    Remove(String),
}

/// Writes a definition and its secret changes in one transaction. With
/// `create`, a stack already defined under that host and name is not
/// overwritten: `Ok(false)`.
pub(crate) fn save(db: &Database, def: &StackDefinition, secrets: &[SecretChange], create: bool) -> Result<bool> {
    let tx = db.begin_write()?;
    {
        let mut table = tx.open_table(STACKS)?;
        let key = (def.host.0.as_str(), def.name.as_str());
        if create && table.get(key)?.is_some() {
            return Ok(false);
        }
        table.insert(key, encode(def).as_slice())?;
        release_ports(&mut tx.open_table(STACK_PORTS)?, def)?;
        let mut secret_table = tx.open_table(STACK_SECRETS)?;
        for change in secrets {
            match change {
                SecretChange::Set(k, v) => {
                    secret_table.insert((key.0, key.1, k.as_str()), v.as_bytes())?;
                }
                SecretChange::Remove(k) => {
                    secret_table.remove((key.0, key.1, k.as_str()))?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(true)
}

/// Removes a definition, its secrets, its deploys with their output and its
/// deliveries. `false` when there was none.
pub(crate) fn delete(db: &Database, host: &str, name: &str) -> Result<bool> {
    let tx = db.begin_write()?;
    let existed;
    {
        existed = tx.open_table(STACKS)?.remove((host, name))?.is_some();
        remove_prefix3(&mut tx.open_table(STACK_SECRETS)?, host, name)?;
        remove_prefix3(&mut tx.open_table(DELIVERY_IDS)?, host, name)?;
        remove_prefix3(&mut tx.open_table(STACK_PORTS)?, host, name)?;
        let mut deliveries = tx.open_table(DELIVERIES)?;
        let keys: Vec<i64> = deliveries
            .range((host, name, i64::MIN)..=(host, name, i64::MAX))?
            .map(|r| r.map(|(k, _)| k.value().2))
            .collect::<std::result::Result<_, _>>()?;
        for at in keys {
            deliveries.remove((host, name, at))?;
        }
        let mut by_stack = tx.open_table(STACK_DEPLOYS)?;
        let ids: Vec<u64> = by_stack
            .range((host, name, 0)..=(host, name, u64::MAX))?
            .map(|r| r.map(|(k, _)| k.value().2))
            .collect::<std::result::Result<_, _>>()?;
        let mut deploys = tx.open_table(DEPLOYS)?;
        let mut logs = tx.open_table(DEPLOY_LOGS)?;
        for id in ids {
            by_stack.remove((host, name, id))?;
            deploys.remove(id)?;
            let chunks: Vec<u32> = logs
                .range((id, 0)..=(id, u32::MAX))?
                .map(|r| r.map(|(k, _)| k.value().1))
                .collect::<std::result::Result<_, _>>()?;
            for c in chunks {
                logs.remove((id, c))?;
            }
        }
    }
    tx.commit()?;
    Ok(existed)
}

fn remove_prefix3<V: redb::Value + 'static>(
    table: &mut redb::Table<(&str, &str, &str), V>,
    host: &str,
    name: &str,
) -> Result<()> {
    let mut keys: Vec<String> = Vec::new();
    for row in table.range((host, name, "")..)? {
        let (k, _) = row?;
        let (h, n, key) = k.value();
        if h != host || n != name {
            break;
        }
        keys.push(key.to_string());
    }
    for k in keys {
        table.remove((host, name, k.as_str()))?;
    }
    Ok(())
}

/// Drops the ports of variables that are no longer `free_port` ones.
fn release_ports(table: &mut redb::Table<(&str, &str, &str), u16>, def: &StackDefinition) -> Result<()> {
    let (host, name) = (def.host.0.as_str(), def.name.as_str());
    let mut gone = Vec::new();
    for row in table.range((host, name, "")..)? {
        let (k, _) = row?;
        let (h, n, var) = k.value();
        if h != host || n != name {
            break;
        }
        let kept = def
            .vars
            .iter()
            .any(|v| v.name == var && v.computed == Some(crate::model::Computed::FreePort));
        if !kept {
            gone.push(var.to_string());
        }
    }
    for var in gone {
        table.remove((host, name, var.as_str()))?;
    }
    Ok(())
}

/// The port of a stack's `free_port` variable: the one chosen before, or
/// the lowest of `range` that no container on the host publishes (`busy`)
/// and no other stack's variable holds there, chosen and kept now.
pub(crate) fn port_for(
    db: &Database,
    host: &str,
    name: &str,
    var: &str,
    busy: &[u16],
    range: std::ops::RangeInclusive<u16>,
) -> Result<Option<u16>> {
    let tx = db.begin_write()?;
    let port;
    {
        let mut table = tx.open_table(STACK_PORTS)?;
        if let Some(p) = table.get((host, name, var))? {
            return Ok(Some(p.value()));
        }
        let mut held: Vec<u16> = busy.to_vec();
        for row in table.range((host, "", "")..)? {
            let (k, v) = row?;
            if k.value().0 != host {
                break;
            }
            held.push(v.value());
        }
        port = range.into_iter().find(|p| !held.contains(p));
        if let Some(p) = port {
            table.insert((host, name, var), p)?;
        }
    }
    tx.commit()?;
    Ok(port)
}

/// One secret's value.
pub(crate) fn secret(db: &Database, host: &str, name: &str, key: &str) -> Result<Option<String>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, STACK_SECRETS);
    Ok(table
        .get((host, name, key))?
        .map(|v| String::from_utf8_lossy(v.value()).into_owned()))
}

/// Every secret of a stack whose key starts with `prefix`, the prefix cut.
pub(crate) fn secrets(db: &Database, host: &str, name: &str, prefix: &str) -> Result<Vec<(String, String)>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, STACK_SECRETS);
    let mut out = Vec::new();
    for row in table.range((host, name, prefix)..)? {
        let (k, v) = row?;
        let (h, n, key) = k.value();
        if h != host || n != name || !key.starts_with(prefix) {
            break;
        }
        out.push((
            key[prefix.len()..].to_string(),
            String::from_utf8_lossy(v.value()).into_owned(),
        ));
    }
    Ok(out)
}

/// Stores a new deploy under the next id, and returns it with that id.
pub(crate) fn insert_deploy(db: &Database, mut deploy: Deploy) -> Result<Deploy> {
    let tx = db.begin_write()?;
    {
        let mut deploys = tx.open_table(DEPLOYS)?;
        let next = deploys.last()?.map_or(1, |(k, _)| k.value() + 1);
        deploy.id = DeployId(next);
        deploys.insert(next, encode(&deploy).as_slice())?;
        tx.open_table(STACK_DEPLOYS)?
            .insert((deploy.host.0.as_str(), deploy.stack.as_str(), next), ())?;
    }
    tx.commit()?;
    Ok(deploy)
}

/// Writes a deploy's record as it now stands.
pub(crate) fn update_deploy(db: &Database, deploy: &Deploy) -> Result<()> {
    let tx = db.begin_write()?;
    tx.open_table(DEPLOYS)?.insert(deploy.id.0, encode(deploy).as_slice())?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn deploy(db: &Database, id: DeployId) -> Result<Option<Deploy>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, DEPLOYS);
    match table.get(id.0)? {
        Some(v) => Ok(Some(decode(&format!("deploy {id}"), v.value())?)),
        None => Ok(None),
    }
}

/// Ends the deploys a stopped berth left queued or running: failed, with
/// the reason. Returns them.
pub(crate) fn fail_unfinished(db: &Database, reason: &str, at_ns: i64) -> Result<Vec<Deploy>> {
    let unfinished: Vec<Deploy> = {
        let tx = db.begin_read()?;
        let table = read_table!(tx, DEPLOYS);
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let d: Deploy = decode(&format!("deploy {}", k.value()), v.value())?;
            if !d.state.is_done() {
                out.push(d);
            }
        }
        out
    };
    let tx = db.begin_write()?;
    let mut ended = Vec::new();
    {
        let mut table = tx.open_table(DEPLOYS)?;
        for mut d in unfinished {
            d.state = crate::model::DeployState::Failed;
            d.error = Some(reason.to_string());
            d.finished_ns = Some(at_ns);
            table.insert(d.id.0, encode(&d).as_slice())?;
            ended.push(d);
        }
    }
    tx.commit()?;
    Ok(ended)
}

/// A stack's deploys, newest first, at most `limit`.
pub(crate) fn stack_deploys(db: &Database, host: &str, name: &str, limit: usize) -> Result<Vec<Deploy>> {
    let tx = db.begin_read()?;
    let by_stack = read_table!(tx, STACK_DEPLOYS);
    let deploys = read_table!(tx, DEPLOYS);
    let mut out = Vec::new();
    for row in by_stack
        .range((host, name, 0)..=(host, name, u64::MAX))?
        .rev()
        .take(limit)
    {
        let id = row?.0.value().2;
        if let Some(v) = deploys.get(id)? {
            out.push(decode(&format!("deploy {id}"), v.value())?);
        }
    }
    Ok(out)
}

/// Appends a chunk of a deploy's output.
pub(crate) fn append_log(db: &Database, id: DeployId, chunk: u32, bytes: &[u8]) -> Result<()> {
    let tx = db.begin_write()?;
    tx.open_table(DEPLOY_LOGS)?.insert((id.0, chunk), bytes)?;
    tx.commit()?;
    Ok(())
}

/// A deploy's kept output.
pub(crate) fn log(db: &Database, id: DeployId) -> Result<Vec<u8>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, DEPLOY_LOGS);
    let mut out = Vec::new();
    for row in table.range((id.0, 0)..=(id.0, u32::MAX))? {
        out.extend_from_slice(row?.1.value());
    }
    Ok(out)
}

/// Records a delivery. With a delivery id, whether that id was seen before
/// for this stack is decided in the same transaction that marks it seen,
/// so two copies arriving at once are never both new. `decide` is given
/// that answer and returns the record to keep.
pub(crate) fn record_delivery(
    db: &Database,
    host: &str,
    name: &str,
    delivery_id: Option<&str>,
    at_ns: i64,
    decide: impl FnOnce(bool) -> DeliveryRecord,
) -> Result<DeliveryRecord> {
    let tx = db.begin_write()?;
    let record;
    {
        let mut ids = tx.open_table(DELIVERY_IDS)?;
        let seen = match delivery_id {
            Some(d) => {
                let seen = ids.get((host, name, d))?.is_some();
                if !seen {
                    ids.insert((host, name, d), at_ns)?;
                }
                seen
            }
            None => false,
        };
        record = decide(seen);
        let mut deliveries = tx.open_table(DELIVERIES)?;
        let mut at = at_ns;
        while deliveries.get((host, name, at))?.is_some() {
            at += 1;
        }
        deliveries.insert((host, name, at), encode(&record).as_slice())?;
    }
    tx.commit()?;
    Ok(record)
}

/// Sets the deploy a recorded delivery started.
pub(crate) fn set_delivery_deploy(db: &Database, host: &str, name: &str, at_ns: i64, id: DeployId) -> Result<()> {
    let tx = db.begin_write()?;
    {
        let mut table = tx.open_table(DELIVERIES)?;
        let found = table
            .range((host, name, at_ns)..=(host, name, i64::MAX))?
            .next()
            .transpose()?
            .map(|(k, v)| (k.value().2, v.value().to_vec()));
        if let Some((at, bytes)) = found {
            let mut record: DeliveryRecord = decode("delivery", &bytes)?;
            record.deploy = Some(id);
            table.insert((host, name, at), encode(&record).as_slice())?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// A stack's deliveries, newest first, at most `limit`.
pub(crate) fn deliveries(db: &Database, host: &str, name: &str, limit: usize) -> Result<Vec<DeliveryRecord>> {
    let tx = db.begin_read()?;
    let table = read_table!(tx, DELIVERIES);
    let mut out = Vec::new();
    for row in table
        .range((host, name, i64::MIN)..=(host, name, i64::MAX))?
        .rev()
        .take(limit)
    {
        out.push(decode("delivery", row?.1.value())?);
    }
    Ok(out)
}
