//! What a monitor or a witness remembers between runs: for each log origin,
//! the newest checkpoint this machine verified. One JSON file, replaced
//! atomically (temporary file, fsync, rename) while holding a lock on a
//! `.lock` file beside it, so a monitor and a witness can share it and a
//! crash never leaves half a file. It holds no secret but is written 0600
//! all the same: what it says is what the next check trusts.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;
/// A few hundred logs' checkpoints at most; anything larger is not ours.
const MAX_STATE_BYTES: u64 = 8 << 20;

/// What is kept about one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Kept {
    /// The last verified checkpoint, as a signed note (the log's signature,
    /// and the witness's cosignature when a witness wrote it).
    pub checkpoint: String,
    /// Unix seconds when this machine first checked the log.
    pub first_seen: u64,
    /// Unix seconds when the log's size last grew (or was first seen).
    pub grown_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Document {
    version: u32,
    logs: BTreeMap<String, Kept>,
}

/// The state file. Every operation locks, reads and (maybe) replaces it;
/// they block, so async callers run them with `spawn_blocking`.
#[derive(Debug, Clone)]
pub(super) struct StateFile {
    path: PathBuf,
}

pub(super) use berth_core::files::private_options;

impl StateFile {
    pub fn new(path: &Path) -> StateFile {
        StateFile {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks early that the file is readable and ours (not at every round).
    pub fn check(&self) -> anyhow::Result<()> {
        self.update(|_| None::<()>).map(|_| ())
    }

    /// What is kept for `origin`, if anything.
    pub fn get(&self, origin: &str) -> anyhow::Result<Option<Kept>> {
        let _lock = self.lock()?;
        Ok(self.read()?.logs.remove(origin))
    }

    /// Under the lock: reads the file, lets `change` look at (and change)
    /// the kept entries, and writes them back if it returns `Some`. Nothing
    /// is written when it returns `None`, so a refused update leaves the
    /// file as it was.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Kept>) -> Option<T>,
    ) -> anyhow::Result<Option<T>> {
        let _lock = self.lock()?;
        let mut doc = self.read()?;
        let Some(result) = change(&mut doc.logs) else {
            return Ok(None);
        };
        self.write(&doc)?;
        Ok(Some(result))
    }

    /// Replaces `origin`'s entry with `new` if it is still `expected` (what
    /// the caller checked `new` against); `false` when someone else changed
    /// it meanwhile and the caller must check again.
    pub fn replace_if(&self, origin: &str, expected: Option<&Kept>, new: Kept) -> anyhow::Result<bool> {
        let done = self.update(|logs| {
            if logs.get(origin) != expected {
                return None;
            }
            logs.insert(origin.to_string(), new);
            Some(())
        })?;
        Ok(done.is_some())
    }

    /// An exclusive lock on `<file>.lock`, released when dropped. Separate
    /// opens conflict even within one process, so this also orders the
    /// witness's concurrent requests.
    fn lock(&self) -> anyhow::Result<File> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = self.path.with_file_name(name);
        let file = private_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    }

    fn read(&self) -> anyhow::Result<Document> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Document {
                    version: VERSION,
                    logs: BTreeMap::new(),
                });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read the state file {}", self.path.display())),
        };
        let mut bytes = Vec::new();
        file.take(MAX_STATE_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read the state file {}", self.path.display()))?;
        if bytes.len() as u64 > MAX_STATE_BYTES {
            bail!(
                "the state file {} is larger than 8 MiB: not one of berth's",
                self.path.display()
            );
        }
        let doc: Document = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the state file {} is not berth monitor state (move it away to start over)",
                self.path.display()
            )
        })?;
        if doc.version != VERSION {
            bail!(
                "the state file {} is of version {}; this berth reads version {VERSION}",
                self.path.display(),
                doc.version
            );
        }
        Ok(doc)
    }

    /// Writes a temporary file beside the state, syncs it, renames it over
    /// the state and syncs the directory: the file is the old one or the
    /// new one, never a mix.
    fn write(&self, doc: &Document) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(doc).context("cannot encode the state")?;
        bytes.push(b'\n');
        berth_core::files::write_private(&self.path, &bytes)
            .with_context(|| format!("cannot write the state file {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(n: u64) -> Kept {
        Kept {
            checkpoint: format!("note {n}"),
            first_seen: 1,
            grown_at: n,
        }
    }

    #[test]
    fn replaces_only_what_the_caller_checked_against() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateFile::new(&dir.path().join("state.json"));
        assert_eq!(state.get("log").unwrap(), None);
        assert!(state.replace_if("log", None, kept(1)).unwrap());
        // A second writer that checked against nothing is told to look again.
        assert!(!state.replace_if("log", None, kept(2)).unwrap());
        assert!(state.replace_if("log", Some(&kept(1)), kept(3)).unwrap());
        assert_eq!(state.get("log").unwrap(), Some(kept(3)));
        assert_eq!(state.get("other").unwrap(), None);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_foreign_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "not json").unwrap();
        let state = StateFile::new(&path);
        let e = state.replace_if("log", None, kept(1)).unwrap_err();
        assert!(format!("{e:#}").contains("not berth monitor state"), "{e:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
        std::fs::write(&path, r#"{"version": 9, "logs": {}}"#).unwrap();
        assert!(format!("{:#}", state.check().unwrap_err()).contains("version 9"));
    }
}
