//! A tower-sessions `SessionStore` on the redb file, so sessions survive a
//! restart. Expired sessions are never returned, and `delete_expired` purges
//! them and records an `auth.session.expired` event for each signed-in one.

use crate::events::EventLog;
use crate::model::{Actor, NewEvent};
use crate::store::Store;
use crate::store::tables::SESSIONS;
use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, ExpiredDeletion, Result, SessionStore};

/// The session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "uid";
/// The session key holding the signed-in user's name (for expiry events).
pub const USER_NAME_KEY: &str = "name";
/// When (unix ns) and from where the session signed in, for the user's list.
const SIGNED_IN_KEY: &str = "at";
const SOURCE_KEY: &str = "from";

/// Re-saving an unchanged session only to move its expiry by less than this
/// is skipped, so browsing does not write to disk on every request.
const EXPIRY_SLACK_SECS: i64 = 60;

#[derive(Clone)]
pub struct RedbSessionStore {
    store: Store,
    events: EventLog,
}

impl std::fmt::Debug for RedbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbSessionStore")
    }
}

impl RedbSessionStore {
    pub fn new(store: Store, events: EventLog) -> Self {
        RedbSessionStore { store, events }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&redb::Database) -> Result<T> + Send + 'static) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.db()))
            .await
            .map_err(|e| Error::Backend(e.to_string()))?
    }
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl SessionStore for RedbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let mut rec = record.clone();
        let rec = self
            .run(move |db| {
                let tx = db.begin_write().map_err(backend)?;
                {
                    let mut t = tx.open_table(SESSIONS).map_err(backend)?;
                    while t.get(rec.id.0).map_err(backend)?.is_some() {
                        rec.id = Id::default();
                    }
                    let json = serde_json::to_vec(&rec).map_err(|e| Error::Encode(e.to_string()))?;
                    t.insert(rec.id.0, (rec.expiry_date.unix_timestamp(), json.as_slice()))
                        .map_err(backend)?;
                }
                tx.commit().map_err(backend)?;
                Ok(rec)
            })
            .await?;
        record.id = rec.id;
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let rec = record.clone();
        self.run(move |db| {
            let json = serde_json::to_vec(&rec).map_err(|e| Error::Encode(e.to_string()))?;
            let expiry = rec.expiry_date.unix_timestamp();
            {
                let tx = db.begin_read().map_err(backend)?;
                if let Ok(t) = tx.open_table(SESSIONS)
                    && let Some(old) = t.get(rec.id.0).map_err(backend)?
                {
                    let (old_expiry, old_json) = old.value();
                    if (old_json == json.as_slice() || same_data(old_json, &rec))
                        && (expiry - old_expiry).abs() < EXPIRY_SLACK_SECS
                    {
                        return Ok(());
                    }
                }
            }
            let tx = db.begin_write().map_err(backend)?;
            tx.open_table(SESSIONS)
                .map_err(backend)?
                .insert(rec.id.0, (expiry, json.as_slice()))
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let id = id.0;
        self.run(move |db| {
            let tx = db.begin_read().map_err(backend)?;
            let t = match tx.open_table(SESSIONS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(backend(e)),
            };
            let Some(v) = t.get(id).map_err(backend)? else {
                return Ok(None);
            };
            let (expiry, json) = v.value();
            if expiry <= now_secs() {
                return Ok(None);
            }
            serde_json::from_slice(json)
                .map(Some)
                .map_err(|e| Error::Decode(e.to_string()))
        })
        .await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let id = id.0;
        self.run(move |db| {
            let tx = db.begin_write().map_err(backend)?;
            tx.open_table(SESSIONS).map_err(backend)?.remove(id).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(())
        })
        .await
    }
}

fn same_data(old_json: &[u8], rec: &Record) -> bool {
    serde_json::from_slice::<Record>(old_json).is_ok_and(|old| old.data == rec.data)
}

#[async_trait]
impl ExpiredDeletion for RedbSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        let expired_users = self
            .run(|db| {
                let now = now_secs();
                let tx = db.begin_write().map_err(backend)?;
                let mut users = Vec::new();
                {
                    let mut t = tx.open_table(SESSIONS).map_err(backend)?;
                    let gone = t
                        .extract_if(|_, (expiry, _)| expiry <= now)
                        .map_err(backend)?
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(backend)?;
                    for (_, v) in gone {
                        let (_, json) = v.value();
                        if let Ok(rec) = serde_json::from_slice::<Record>(json)
                            && let Some(name) = rec.data.get(USER_NAME_KEY).and_then(|n| n.as_str())
                        {
                            users.push(name.to_string());
                        }
                    }
                }
                tx.commit().map_err(backend)?;
                Ok(users)
            })
            .await?;
        for name in expired_users {
            self.events.record(
                NewEvent::new(crate::model::EventKind::SessionExpired, Actor::user(name.clone()))
                    .target(format!("user:{name}")),
            );
        }
        Ok(())
    }
}

/// Marks `session` as signed in by `user`, with a fresh session id so that
/// an id planted before sign-in is worthless afterwards.
pub async fn sign_in(
    session: &tower_sessions::Session,
    user: &crate::model::User,
    source: Option<String>,
) -> Result<()> {
    let err = |e: tower_sessions::session::Error| Error::Backend(e.to_string());
    session.cycle_id().await.map_err(err)?;
    session.insert(USER_ID_KEY, user.id.0).await.map_err(err)?;
    session.insert(USER_NAME_KEY, user.name.clone()).await.map_err(err)?;
    session
        .insert(SIGNED_IN_KEY, crate::events::now_ns())
        .await
        .map_err(err)?;
    session.insert(SOURCE_KEY, source).await.map_err(err)?;
    Ok(())
}

/// A handle for a session id that can be shown and sent back without
/// giving the session away: the first 16 hex digits of its SHA-256.
pub(crate) fn handle(id: i128) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(id.to_le_bytes())[..8])
}

/// The live sessions of `user`.
pub(crate) fn of_user(
    db: &redb::Database,
    user: crate::model::UserId,
    current: Option<i128>,
) -> std::result::Result<Vec<crate::model::SessionInfo>, crate::store::StoreError> {
    let tx = db.begin_read()?;
    let t = match tx.open_table(SESSIONS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let now = now_secs();
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let (expiry, json) = v.value();
        let Ok(rec) = serde_json::from_slice::<Record>(json) else {
            continue;
        };
        if expiry <= now || rec.data.get(USER_ID_KEY).and_then(|v| v.as_u64()) != Some(user.0) {
            continue;
        }
        out.push(crate::model::SessionInfo {
            handle: handle(k.value()),
            signed_in_ns: rec.data.get(SIGNED_IN_KEY).and_then(|v| v.as_i64()),
            source: rec.data.get(SOURCE_KEY).and_then(|v| v.as_str()).map(str::to_string),
            expires: expiry,
            current: current == Some(k.value()),
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.signed_in_ns));
    Ok(out)
}

/// Ends the sessions of `user`: the one with `only` as its handle, or
/// every one but `keep`. Returns how many ended.
pub(crate) fn end(
    db: &redb::Database,
    user: crate::model::UserId,
    only: Option<&str>,
    keep: Option<i128>,
) -> std::result::Result<usize, crate::store::StoreError> {
    let tx = db.begin_write()?;
    let ended = {
        let mut t = tx.open_table(SESSIONS)?;
        t.extract_if(|id, (_, json)| {
            let owned = serde_json::from_slice::<Record>(json)
                .is_ok_and(|r| r.data.get(USER_ID_KEY).and_then(|v| v.as_u64()) == Some(user.0));
            owned && Some(id) != keep && only.is_none_or(|h| handle(id) == h)
        })?
        .count()
    };
    tx.commit()?;
    Ok(ended)
}

/// The id of the user signed in on `session`, if any.
pub async fn session_user_id(session: &tower_sessions::Session) -> Result<Option<crate::model::UserId>> {
    let id: Option<u64> = session
        .get(USER_ID_KEY)
        .await
        .map_err(|e| Error::Backend(e.to_string()))?;
    Ok(id.map(crate::model::UserId))
}
