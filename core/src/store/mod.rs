//! The one redb database: opening it safely, and running work on it off the
//! async workers. Table definitions live in `tables`; `hosts` keeps the
//! hosts added while berth runs.
//!
//! Opening refuses, without writing a byte, a file that is not redb, a redb
//! file that is not berth's, one written by a newer berth, and one that
//! another process holds.

pub(crate) mod hosts;
pub mod tables;

use redb::{Database, DatabaseError, ReadableDatabase};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tables::{FORMAT, META, SCHEMA_VERSION};
use thiserror::Error;

/// The most memory redb keeps of the file's pages, unless berth's
/// configuration says otherwise (`db_cache_mib`). redb's own default is
/// 1 GiB, and its cache only grows: every page a commit writes stays in it
/// (the statistics of five hosts fill 32 MiB within minutes), and so does
/// every page a search through stored logs or an export reads. The B-tree's
/// inner pages, which every lookup touches, fit many times over; what is
/// not cached is read again from the operating system's page cache.
///
/// Measured against 8 MiB: a core with five agent hosts, idle, 21.1 MiB
/// instead of 24.0 (`--bench agent` in berth-server); stored-log ingest 4%
/// slower (667k lines/s against 695k), 10% while each round also drops
/// old lines, searches as fast but for one key's (9.8 ms against 7.6;
/// `--bench stored_logs` in berth-core, 256 MiB stored).
pub const DEFAULT_CACHE_BYTES: usize = 2 * 1024 * 1024;

/// The first bytes of every redb file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "{path} is not a berth database (it is not a redb file); berth left it untouched. Point --data-dir at another directory."
    )]
    NotRedb { path: PathBuf },
    #[error(
        "{path} is a redb database but not berth's; berth left it untouched. Point --data-dir at another directory."
    )]
    NotBerth { path: PathBuf },
    #[error(
        "{path} was written by a newer berth (schema {found}; this berth reads up to {supported}); berth left it untouched. Upgrade berth."
    )]
    NewerSchema { path: PathBuf, found: u64, supported: u64 },
    #[error("{path} is in use by another berth process; stop that one first (or give this one another --data-dir).")]
    Locked { path: PathBuf },
    #[error("cannot open {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database error: {0}")]
    Redb(#[from] redb::Error),
    #[error("a background database task failed: {0}")]
    Task(String),
    /// Something berth wrote cannot be read back (a damaged file).
    #[error("damaged data in the database: {0}")]
    Damaged(String),
}

impl crate::Failure for StoreError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            StoreError::Locked { .. } => crate::ErrorKind::Unavailable,
            _ => crate::ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A handle on the database file; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens `path`, creating it (and its directory) when it does not exist.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`], with redb keeping at most `cache_bytes` of the
    /// file's pages in memory.
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Store> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let exists = path.exists();
        let mut needs_repair = false;
        if exists {
            check_magic(path).map_err(|e| match e {
                MagicError::Io(source) => io(source),
                MagicError::Foreign => StoreError::NotRedb {
                    path: path.to_path_buf(),
                },
            })?;
            match check_meta_read_only(path) {
                // Not closed cleanly (a crash): only a writable open can
                // repair it, so the checks run right after that open instead.
                Err(StoreError::Redb(redb::Error::RepairAborted)) => needs_repair = true,
                other => other?,
            }
        } else if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut builder = redb::Builder::new();
        builder.set_cache_size(cache_bytes);
        let db = if exists {
            builder.open(path)
        } else {
            builder.create(path)
        }
        .map_err(|e| map_open_error(e, path))?;
        if needs_repair {
            tracing::warn!(path = %path.display(), "the database was not closed cleanly; redb repaired it");
            check_meta(&db.begin_read()?, path)?;
        }
        let store = Store {
            db: Arc::new(db),
            path: Arc::new(path.to_path_buf()),
        };
        if !exists {
            store.init_meta()?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    fn init_meta(&self) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            meta.insert("format", FORMAT)?;
            meta.insert("schema_version", SCHEMA_VERSION.to_string().as_str())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `f` on a blocking thread: redb never runs on an async worker.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

enum MagicError {
    Io(std::io::Error),
    Foreign,
}

fn check_magic(path: &Path) -> std::result::Result<(), MagicError> {
    let mut head = [0u8; REDB_MAGIC.len()];
    let mut file = std::fs::File::open(path).map_err(MagicError::Io)?;
    match file.read_exact(&mut head) {
        Ok(()) if head == REDB_MAGIC => Ok(()),
        Ok(()) => Err(MagicError::Foreign),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(MagicError::Foreign),
        Err(e) => Err(MagicError::Io(e)),
    }
}

/// Reads format and schema through a read-only open, so a file that turns
/// out not to be ours (or newer than us) is never opened for writing.
fn check_meta_read_only(path: &Path) -> Result<()> {
    let db = redb::Builder::new()
        .open_read_only(path)
        .map_err(|e| map_open_error(e, path))?;
    check_meta(&db.begin_read()?, path)
}

fn check_meta(tx: &redb::ReadTransaction, path: &Path) -> Result<()> {
    let not_berth = || StoreError::NotBerth {
        path: path.to_path_buf(),
    };
    let meta = match tx.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Err(not_berth()),
        Err(e) => return Err(e.into()),
    };
    if meta.get("format")?.map(|v| v.value() == FORMAT) != Some(true) {
        return Err(not_berth());
    }
    let found: u64 = meta
        .get("schema_version")?
        .and_then(|v| v.value().parse().ok())
        .ok_or_else(not_berth)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

fn map_open_error(e: DatabaseError, path: &Path) -> StoreError {
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => StoreError::Locked {
            path: path.to_path_buf(),
        },
        other => StoreError::Redb(other.into()),
    }
}

/// Reads a value from META (a helper for the modules that keep state there).
pub(crate) fn meta_get(tx: &redb::ReadTransaction, key: &str) -> Result<Option<String>> {
    let meta = tx.open_table(META)?;
    Ok(meta.get(key)?.map(|v| v.value().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reopens_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/berth.redb");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let tx = store.db().begin_read().unwrap();
        assert_eq!(meta_get(&tx, "format").unwrap().as_deref(), Some("berth"));
    }

    #[test]
    fn refuses_a_foreign_file_and_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"my precious notes").unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotRedb { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"my precious notes");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(Store::open(&empty).unwrap_err(), StoreError::NotRedb { .. }));
    }

    #[test]
    fn refuses_another_programs_redb_file_and_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.redb");
        {
            let db = Database::create(&other).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(redb::TableDefinition::<&str, &str>::new("theirs"))
                .unwrap()
                .insert("k", "v")
                .unwrap();
            tx.commit().unwrap();
        }
        let before = std::fs::read(&other).unwrap();
        let err = Store::open(&other).unwrap_err();
        assert!(matches!(err, StoreError::NotBerth { .. }), "{err}");
        assert_eq!(std::fs::read(&other).unwrap(), before, "the foreign file changed");

        let newer = dir.path().join("newer.redb");
        drop(Store::open(&newer).unwrap());
        {
            let db = Database::open(&newer).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META).unwrap().insert("schema_version", "99").unwrap();
            tx.commit().unwrap();
        }
        let err = Store::open(&newer).unwrap_err();
        assert!(err.to_string().contains("newer berth (schema 99"), "{err}");
    }

    #[test]
    fn a_second_open_of_the_same_file_says_it_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.redb");
        let _first = Store::open(&path).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }
}
