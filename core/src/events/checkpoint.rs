//! Signed checkpoints of the event log: what lets an outsider hold berth to
//! its past.
//!
//! berth signs the tree's size and root as a C2SP checkpoint with an Ed25519
//! key made on first start (`log-key` in the data directory, mode 0600; its
//! name is the log's origin). The last checkpoint it signed is kept apart
//! from the events, in `log-checkpoint`, and before each new signature berth
//! proves, from the stored tree, that the new tree extends that one. When it
//! does not (events were removed from the end, or rewritten), berth refuses
//! to sign and records why: it never vouches for a log that contradicts what
//! it vouched for before. A monitor holding an older checkpoint then sees
//! either the contradiction or the signatures stop.
//!
//! Schedule: a new checkpoint each minute while events arrive, each hour
//! when idle, and on demand. Each signature is itself an event
//! (`log.checkpoint`), so an idle log still grows once an hour and a
//! monitor can tell "quiet" from "stopped signing".

use super::{EventError, EventLog, now_ns};
use crate::model::{Actor, EventKind, EventSeq, NewEvent, Outcome};
use crate::tlog::checkpoint::{self, Checkpoint};
use crate::tlog::merkle::{self, Hash};
use crate::tlog::note::{ED25519, Note, SignatureLine, SignerKey, VerifierKey};
use crate::tlog::proof::ProofFile;
use crate::tlog::{TlogError, encode_hash};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;

/// A new checkpoint this often while events arrive...
pub const SIGN_EVERY: Duration = Duration::from_secs(60);
/// ...and this often when the log is idle.
pub const SIGN_IDLE_EVERY: Duration = Duration::from_secs(3600);
/// The log's own bookkeeping, which alone does not call for a new checkpoint.
const OWN_KINDS: [&str; 2] = [EventKind::LogCheckpoint.as_str(), EventKind::LogWitness.as_str()];
/// A refusal for the same reason is recorded again at most this often.
const REFUSAL_EVERY: Duration = Duration::from_secs(3600);

pub const KEY_FILE: &str = "log-key";
pub const CHECKPOINT_FILE: &str = "log-checkpoint";

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Events(#[from] EventError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {problem}")]
    Key { path: PathBuf, problem: TlogError },
    #[error(
        "the kept checkpoint {path} is unreadable ({problem}); berth signs nothing until it is restored, or moved away and berth restarted"
    )]
    Kept { path: PathBuf, problem: String },
    #[error("refused to sign: {0}")]
    Inconsistent(String),
    #[error("no checkpoint has been signed yet")]
    NotSigned,
    #[error("the cosignature is refused: {0}")]
    Cosignature(String),
}

impl crate::Failure for CheckpointError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            CheckpointError::Events(e) => crate::Failure::kind(e),
            CheckpointError::Io { .. } | CheckpointError::Key { .. } | CheckpointError::Kept { .. } => {
                ErrorKind::Internal
            }
            CheckpointError::Inconsistent(_) => ErrorKind::Conflict,
            CheckpointError::NotSigned => ErrorKind::Unavailable,
            CheckpointError::Cosignature(_) => ErrorKind::Invalid,
        }
    }
}

type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// A checkpoint berth signed, with the cosignatures it gathered since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub checkpoint: Checkpoint,
    /// The note: berth's signature and any witness cosignatures.
    pub note: Note,
    pub signed_at_ns: i64,
}

impl Signed {
    /// The note as served at `/api/v1/log/checkpoint`.
    pub fn text(&self) -> String {
        self.note.to_string()
    }

    /// Who cosigned (key name) and when (unix seconds), from the note's
    /// other signature lines. Only lines checked by `add_cosignature` are
    /// ever kept.
    pub fn cosigners(&self) -> Vec<(String, u64)> {
        self.note
            .signatures
            .iter()
            .filter(|l| l.name != self.checkpoint.origin)
            .filter_map(|l| Some((l.name.clone(), checkpoint::cosignature_time(l)?)))
            .collect()
    }
}

/// Signs and serves the log's checkpoints; cheap to clone.
#[derive(Clone)]
pub struct Checkpointer {
    inner: Arc<Inner>,
}

struct Inner {
    log: EventLog,
    key: SignerKey,
    kept_path: PathBuf,
    latest: watch::Sender<Option<Arc<Signed>>>,
    /// Set when the kept checkpoint could not be read: nothing is signed.
    kept_problem: Option<String>,
    /// One signature at a time; remembers the last refusal.
    signing: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    /// Held while `log-checkpoint` and `latest` change together, so that a
    /// late cosignature never writes an older checkpoint over a newer one.
    keeping: std::sync::Mutex<()>,
}

impl Checkpointer {
    /// Loads (or on first start makes) the signing key and the kept
    /// checkpoint in `data_dir`.
    pub fn open(log: &EventLog, data_dir: &Path) -> Result<Checkpointer> {
        let key = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let kept_path = data_dir.join(CHECKPOINT_FILE);
        let (kept, kept_problem) = match load_kept(&kept_path, &key.verifier()) {
            Ok(kept) => (kept, None),
            Err(problem) => {
                tracing::error!(path = %kept_path.display(), %problem, "the kept checkpoint is unreadable");
                (None, Some(problem))
            }
        };
        Ok(Checkpointer {
            inner: Arc::new(Inner {
                log: log.clone(),
                key,
                kept_path,
                latest: watch::Sender::new(kept.map(Arc::new)),
                kept_problem,
                signing: tokio::sync::Mutex::new(None),
                keeping: std::sync::Mutex::new(()),
            }),
        })
    }

    /// The public key that checks berth's checkpoints (`<origin>+<id>+<key>`).
    pub fn verifier(&self) -> VerifierKey {
        self.inner.key.verifier()
    }

    pub fn origin(&self) -> &str {
        self.inner.key.name()
    }

    /// The newest signed checkpoint.
    pub fn latest(&self) -> Option<Arc<Signed>> {
        self.inner.latest.borrow().clone()
    }

    /// Changes whenever a checkpoint is signed or gains a cosignature.
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Signed>>> {
        self.inner.latest.subscribe()
    }

    /// Signs the log as it is now, after checking that it extends the last
    /// checkpoint; records the signature (or the refusal) as an event.
    /// Returns the latest checkpoint, unchanged when nothing was appended.
    pub async fn sign(&self, actor: Actor) -> Result<Arc<Signed>> {
        let mut last_refusal = self.inner.signing.lock().await;
        match self.try_sign().await {
            Ok((signed, fresh)) => {
                *last_refusal = None;
                if fresh {
                    let cp = &signed.checkpoint;
                    self.inner.log.record(
                        NewEvent::new(EventKind::LogCheckpoint, actor)
                            .target(format!("log:{}", cp.origin))
                            .details(serde_json::json!({"size": cp.size, "root": encode_hash(&cp.root)})),
                    );
                }
                Ok(signed)
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!(error = %why, "checkpoint not signed");
                let repeat = last_refusal
                    .as_ref()
                    .is_some_and(|(last, at)| *last == why && at.elapsed() < REFUSAL_EVERY);
                if !repeat {
                    self.inner.log.record(
                        NewEvent::new(EventKind::LogCheckpoint, actor)
                            .target(format!("log:{}", self.origin()))
                            .outcome(Outcome::Error(why.clone())),
                    );
                    *last_refusal = Some((why, std::time::Instant::now()));
                }
                Err(e)
            }
        }
    }

    async fn try_sign(&self) -> Result<(Arc<Signed>, bool)> {
        if let Some(problem) = &self.inner.kept_problem {
            return Err(CheckpointError::Kept {
                path: self.inner.kept_path.clone(),
                problem: problem.clone(),
            });
        }
        let log = &self.inner.log;
        log.flush().await?;
        let (size, root) = log.tree_head().await?;
        let previous = self.latest();
        if let Some(prev) = &previous {
            let old = &prev.checkpoint;
            if size < old.size {
                return Err(CheckpointError::Inconsistent(format!(
                    "the log holds {size} events, fewer than the {} of the last signed checkpoint: events were removed from its end",
                    old.size
                )));
            }
            let proof = log.consistency_proof(old.size, size).await?;
            if merkle::verify_consistency(old.size, size, &old.root, &root, &proof).is_err() {
                return Err(CheckpointError::Inconsistent(format!(
                    "the log's first {} events are not those of the last signed checkpoint: they were altered",
                    old.size
                )));
            }
            if size == old.size {
                return Ok((prev.clone(), false));
            }
        }
        let checkpoint = Checkpoint {
            origin: self.origin().to_string(),
            size,
            root,
        };
        let note = self
            .inner
            .key
            .sign(&checkpoint.to_text())
            .map_err(|problem| CheckpointError::Key {
                path: self.inner.kept_path.clone(),
                problem,
            })?;
        let signed = Arc::new(Signed {
            checkpoint,
            note,
            signed_at_ns: now_ns(),
        });
        let _keeping = self.inner.keeping.lock().unwrap_or_else(|p| p.into_inner());
        write_private(&self.inner.kept_path, signed.text().as_bytes())?;
        self.inner.latest.send_replace(Some(signed.clone()));
        Ok((signed, true))
    }

    /// Keeps a witness's cosignature of the checkpoint of `size`, once it
    /// verifies with `witness`.
    pub fn add_cosignature(&self, size: u64, witness: &VerifierKey, line: SignatureLine) -> Result<()> {
        let _keeping = self.inner.keeping.lock().unwrap_or_else(|p| p.into_inner());
        let Some(latest) = self.latest() else {
            return Err(CheckpointError::NotSigned);
        };
        if latest.checkpoint.size != size {
            return Err(CheckpointError::Cosignature(format!(
                "it is for size {size}, the latest checkpoint has {}",
                latest.checkpoint.size
            )));
        }
        if !witness.matches(&line) {
            return Err(CheckpointError::Cosignature(format!(
                "the line is not by {}",
                witness.name()
            )));
        }
        let mut note = latest.note.clone();
        note.signatures.retain(|l| !witness.matches(l));
        note.signatures.push(line);
        checkpoint::verify_cosignature(&note, witness).map_err(|e| CheckpointError::Cosignature(e.to_string()))?;
        let signed = Signed {
            note,
            ..(*latest).clone()
        };
        write_private(&self.inner.kept_path, signed.text().as_bytes())?;
        self.inner.latest.send_replace(Some(Arc::new(signed)));
        Ok(())
    }

    /// The consistency proof between two tree sizes.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        Ok(self.inner.log.consistency_proof(from, to).await?)
    }

    /// A proof file for event `seq` against the latest checkpoint, signing
    /// a new one first when the event is newer than it.
    pub async fn prove(&self, seq: EventSeq, actor: Actor) -> Result<ProofFile> {
        let signed = match self.latest() {
            Some(s) if s.checkpoint.size >= seq.0 => s,
            _ => self.sign(actor).await?,
        };
        let size = signed.checkpoint.size;
        let (data, path) = self.inner.log.inclusion_proof(seq, size).await?;
        Ok(ProofFile {
            extra: Some(data),
            index: seq.0 - 1,
            path,
            checkpoint: signed.text(),
        })
    }

    /// Signs on schedule until `stop` turns true: at once if the log grew
    /// since the kept checkpoint, then each minute when events other than
    /// its own arrived, and each hour regardless.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(SIGN_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            if self.due().await {
                // A refusal is recorded by `sign`; the schedule goes on.
                let _ = self.sign(Actor::system()).await;
            }
        }
    }

    async fn due(&self) -> bool {
        let Ok(size) = self.inner.log.tree_size().await else {
            return true;
        };
        let Some(s) = self.latest() else {
            return true;
        };
        if size <= s.checkpoint.size {
            return false;
        }
        let idle_for = Duration::from_nanos(now_ns().saturating_sub(s.signed_at_ns).max(0) as u64);
        idle_for >= SIGN_IDLE_EVERY || self.others_since(s.checkpoint.size, size).await
    }

    /// Whether an event other than the log's own bookkeeping (its
    /// checkpoints, witness deliveries) came after `from`: those alone do
    /// not make the log busy, or it would sign every minute for ever.
    async fn others_since(&self, from: u64, to: u64) -> bool {
        for seq in from + 1..=to {
            match self.inner.log.get(EventSeq(seq)).await {
                Ok(Some(e)) if OWN_KINDS.contains(&e.kind.as_str()) => continue,
                _ => return true,
            }
        }
        false
    }
}

/// The checkpoint kept in `data_dir`, checked with the key there, without
/// making either (for the CLI, while berth is stopped).
pub fn kept(data_dir: &Path) -> Result<Option<Signed>> {
    let key_path = data_dir.join(KEY_FILE);
    let key = match std::fs::read_to_string(&key_path) {
        Ok(text) => SignerKey::parse(&text).map_err(|problem| CheckpointError::Key {
            path: key_path.clone(),
            problem,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CheckpointError::Io { path: key_path, source }),
    };
    let path = data_dir.join(CHECKPOINT_FILE);
    load_kept(&path, &key.verifier()).map_err(|problem| CheckpointError::Kept { path, problem })
}

/// Reads the signing key, or makes one (mode 0600) on first start. Its name,
/// the log's origin, is `<host name>/berth/<8 random hex digits>`: unique
/// per log, readable by a person.
fn load_or_create_key(path: &Path) -> Result<SignerKey> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            restrict(path).map_err(io)?;
            SignerKey::parse(&text).map_err(|problem| CheckpointError::Key {
                path: path.to_path_buf(),
                problem,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).expect("the operating system's random source works");
            let mut tag = [0u8; 4];
            getrandom::fill(&mut tag).expect("the operating system's random source works");
            let origin = format!("{}/berth/{}", crate::files::machine_name(), hex::encode(tag));
            let key = SignerKey::from_seed(&origin, ED25519, seed).map_err(|problem| CheckpointError::Key {
                path: path.to_path_buf(),
                problem,
            })?;
            write_private(path, format!("{}\n", key.to_secret_text()).as_bytes())?;
            tracing::info!(key = %key.verifier(), "made the event log's signing key");
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

/// The kept checkpoint, checked with our key; `Ok(None)` when there is none.
fn load_kept(path: &Path, key: &VerifierKey) -> std::result::Result<Option<Signed>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let verified = checkpoint::open(&text, key).map_err(|e| e.to_string())?;
    let signed_at_ns = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Ok(Some(Signed {
        checkpoint: verified.checkpoint,
        note: verified.note,
        signed_at_ns,
    }))
}

/// `files::write_private`, with the path in the error.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::files::write_private(path, bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Makes a key file readable by its owner only, whatever it was.
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the signing key was readable by others; made it 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
