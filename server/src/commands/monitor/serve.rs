//! `berth monitor --serve`: a witness (c2sp.org/tlog-witness). A log POSTs
//! each new checkpoint to /add-checkpoint with a consistency proof from the
//! size this witness last cosigned; the witness checks the log's signature
//! and the proof, keeps the checkpoint, and answers with its cosignature.
//! It never cosigns a checkpoint that does not extend the one it kept, so a
//! log cannot show different histories to different readers and collect
//! cosignatures for both.
//!
//! The check and the write happen under the state file's lock, and the
//! write is durable before the answer leaves (the spec's rollback race).

use super::read_small;
use super::state::{Kept, StateFile, private_options};
use crate::witness::AddCheckpoint;
use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use berth_core::tlog::checkpoint::{Checkpoint, cosign, verify_cosignature};
use berth_core::tlog::merkle::{empty_root, verify_consistency};
use berth_core::tlog::note::{COSIGNATURE_V1, Note, SignerKey, VerifierKey};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Requests larger than this are refused (413) before they are read.
const MAX_BODY: usize = 64 * 1024;

/// Reads the witness's secret key, or makes one (mode 0600) when the file
/// does not exist.
pub(super) fn load_or_create_key(path: &Path, name: Option<&str>) -> anyhow::Result<SignerKey> {
    if !path.exists() {
        let name = name.map_or_else(default_name, str::to_string);
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a new key: {e}"))?;
        let key = SignerKey::from_seed(&name, COSIGNATURE_V1, seed).with_context(|| format!("--name '{name}'"))?;
        let mut file = private_options()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create the witness key file {}", path.display()))?;
        file.write_all(format!("{}\n", key.to_secret_text()).as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write the witness key file {}", path.display()))?;
        eprintln!("berth monitor: made a new witness key in {}", path.display());
        return Ok(key);
    }
    let text =
        read_small(path, 4096).with_context(|| format!("cannot read the witness key file {}", path.display()))?;
    let key = SignerKey::parse(&text).with_context(|| format!("{} does not hold a witness key", path.display()))?;
    if key.kind() != COSIGNATURE_V1 {
        bail!(
            "{} holds a key of type {:#04x}; a witness cosigns with a type 0x04 (cosignature/v1) key",
            path.display(),
            key.kind()
        );
    }
    if let Some(name) = name.filter(|n| *n != key.name()) {
        bail!(
            "{} holds the key of witness '{}', not '{name}': drop --name, or give a new file",
            path.display(),
            key.name()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            eprintln!(
                "berth monitor: warning: {} is readable by others; chmod 600 it",
                path.display()
            );
        }
    }
    Ok(key)
}

/// `witness-<hostname>`.
fn default_name() -> String {
    format!("witness-{}", berth_core::files::machine_name())
}

/// Serves until Ctrl-C or SIGTERM.
pub(super) async fn serve(
    addr: SocketAddr,
    logs: Vec<VerifierKey>,
    state: StateFile,
    key: SignerKey,
) -> anyhow::Result<()> {
    let mut by_origin = BTreeMap::new();
    for log in logs {
        if by_origin.insert(log.name().to_string(), log).is_some() {
            bail!("two --key for the same log origin");
        }
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr().context("the listener has no address")?;
    println!("witness key: {}", key.verifier());
    for origin in by_origin.keys() {
        println!("accepting checkpoints of {origin}");
    }
    println!("witness serving on http://{local}/add-checkpoint");
    tracing::info!(task = "witness", %local, witness = key.name(), "started");
    let witness = Witness {
        logs: by_origin,
        state,
        key,
    };
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(crate::commands::shutdown_signal())
        .await
        .context("the witness's HTTP server failed")?;
    tracing::info!(task = "witness", "stopped");
    Ok(())
}

fn router(witness: Witness) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(latest))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(witness))
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let now = super::now_secs();
    let answer = tokio::task::spawn_blocking(move || witness.add(&body, now)).await;
    match answer {
        Ok(Ok(lines)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Broken(format!("the check failed: {e}")).into_response(),
    }
}

/// The monitoring prefix's GET <sha256(origin) in hex>/checkpoint: the
/// newest checkpoint this witness cosigned for that log.
async fn latest(State(witness): State<Arc<Witness>>, UrlPath(origin_hash): UrlPath<String>) -> Response {
    let found = tokio::task::spawn_blocking(move || witness.latest(&origin_hash)).await;
    match found {
        Ok(Ok(Some(note))) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response(),
        Ok(Ok(None)) => (
            StatusCode::NOT_FOUND,
            "this witness has cosigned nothing for that log\n",
        )
            .into_response(),
        Ok(Err(e)) => Refusal::Broken(format!("{e:#}")).into_response(),
        Err(e) => Refusal::Broken(e.to_string()).into_response(),
    }
}

struct Witness {
    /// The logs this witness accepts, by origin.
    logs: BTreeMap<String, VerifierKey>,
    state: StateFile,
    key: SignerKey,
}

/// Why a checkpoint was not cosigned, as the spec wants each answered.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// 400: not a request, or an old size beyond the checkpoint.
    Malformed(String),
    /// 404: a log this witness does not know.
    UnknownLog(String),
    /// 403: no valid signature by the log's key.
    NotSigned(String),
    /// 409: the witness's size is not the old size given.
    Conflict(u64),
    /// 422: the checkpoint does not extend the one kept.
    Inconsistent(String),
    /// 500: the witness's own trouble (its state file).
    Broken(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refusal::Conflict(size) => {
                return (
                    StatusCode::CONFLICT,
                    [(header::CONTENT_TYPE, "text/x.tlog.size")],
                    format!("{size}\n"),
                )
                    .into_response();
            }
            Refusal::Malformed(why) => (StatusCode::BAD_REQUEST, why),
            Refusal::UnknownLog(why) => (StatusCode::NOT_FOUND, why),
            Refusal::NotSigned(why) => (StatusCode::FORBIDDEN, why),
            Refusal::Inconsistent(why) => (StatusCode::UNPROCESSABLE_ENTITY, why),
            Refusal::Broken(why) => {
                tracing::error!(task = "witness", error = %why, "cannot answer");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the witness cannot read or write its state\n".into(),
                )
            }
        };
        let text = if text.ends_with('\n') {
            text
        } else {
            format!("{text}\n")
        };
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
    }
}

impl Witness {
    /// Handles one add-checkpoint body at `now` (unix seconds): the
    /// cosignature line(s) to answer, or why not.
    fn add(&self, body: &[u8], now: u64) -> Result<String, Refusal> {
        let malformed = |e: &dyn std::fmt::Display| Refusal::Malformed(e.to_string());
        let body = std::str::from_utf8(body).map_err(|_| Refusal::Malformed("the body is not UTF-8".into()))?;
        let request = AddCheckpoint::parse(body).map_err(|e| malformed(&e))?;
        let note = Note::parse(&request.checkpoint).map_err(|e| malformed(&e))?;
        let checkpoint = Checkpoint::parse(&note.text).map_err(|e| malformed(&e))?;
        let log = self.logs.get(&checkpoint.origin).ok_or_else(|| {
            Refusal::UnknownLog(format!("this witness does not follow the log {:?}", checkpoint.origin))
        })?;
        note.verify(log).map_err(|e| Refusal::NotSigned(e.to_string()))?;
        if request.old > checkpoint.size {
            return Err(Refusal::Malformed(format!(
                "the old size {} is larger than the checkpoint's {}",
                request.old, checkpoint.size
            )));
        }
        let mut refused = None;
        let answer = self
            .state
            .update(|logs| {
                let checked = check(logs.get(&checkpoint.origin), &request, &checkpoint)
                    .and_then(|kept| self.cosign(&note, log, kept, checkpoint.size, now));
                match checked {
                    Ok((line, kept)) => {
                        logs.insert(checkpoint.origin.clone(), kept);
                        Some(line)
                    }
                    Err(refusal) => {
                        refused = Some(refusal);
                        None
                    }
                }
            })
            .map_err(|e| Refusal::Broken(format!("{e:#}")))?;
        match (answer, refused) {
            (Some(line), _) => {
                tracing::info!(
                    task = "witness", origin = %checkpoint.origin, old = request.old, size = checkpoint.size,
                    "cosigned"
                );
                Ok(line)
            }
            (None, Some(refusal)) => {
                if matches!(refusal, Refusal::Inconsistent(_)) {
                    // Signed by the log and not consistent: evidence.
                    tracing::warn!(
                        task = "witness", origin = %checkpoint.origin, ?refusal, checkpoint = %request.checkpoint,
                        "refused a signed checkpoint: possible log misbehaviour"
                    );
                }
                Err(refusal)
            }
            (None, None) => Err(Refusal::Broken("the state was not updated".into())),
        }
    }

    /// Cosigns the checkpoint and says what to keep: the log's signature
    /// and ours (other lines are the submitter's business).
    fn cosign(
        &self,
        note: &Note,
        log: &VerifierKey,
        kept: KeptTimes,
        size: u64,
        now: u64,
    ) -> Result<(String, Kept), Refusal> {
        let line = cosign(&note.text, &self.key, now).map_err(|e| Refusal::Broken(e.to_string()))?;
        let mut keep = Note {
            text: note.text.clone(),
            signatures: note.signatures.iter().filter(|l| log.matches(l)).cloned().collect(),
        };
        keep.add(line.clone());
        let grown = kept.size.is_none_or(|s| size > s);
        let kept = Kept {
            checkpoint: keep.to_string(),
            first_seen: kept.first_seen.unwrap_or(now),
            grown_at: if grown { now } else { kept.grown_at.unwrap_or(now) },
        };
        Ok((format!("{line}\n"), kept))
    }

    /// The kept checkpoint of the log whose origin hashes to `origin_hash`,
    /// if it carries this witness's cosignature.
    fn latest(&self, origin_hash: &str) -> anyhow::Result<Option<String>> {
        if origin_hash.len() != 64 || !origin_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Some(origin) = self
            .logs
            .keys()
            .find(|o| hex(&Sha256::digest(o.as_bytes())) == origin_hash)
        else {
            return Ok(None);
        };
        let Some(kept) = self.state.get(origin)? else {
            return Ok(None);
        };
        let ours = Note::parse(&kept.checkpoint).is_ok_and(|n| verify_cosignature(&n, &self.key.verifier()).is_ok());
        Ok(ours.then_some(kept.checkpoint))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the kept entry said, for the new one.
struct KeptTimes {
    size: Option<u64>,
    first_seen: Option<u64>,
    grown_at: Option<u64>,
}

/// The spec's checks of a signed checkpoint against the kept one, in its
/// order: 409 for a wrong old size, then 422 for anything inconsistent.
fn check(kept: Option<&Kept>, request: &AddCheckpoint, new: &Checkpoint) -> Result<KeptTimes, Refusal> {
    let (kept_size, kept_root) = match kept {
        None => (0, empty_root()),
        Some(k) => {
            let old = Note::parse(&k.checkpoint)
                .and_then(|n| Checkpoint::parse(&n.text))
                .map_err(|e| Refusal::Broken(format!("the kept checkpoint of {} is unreadable: {e}", new.origin)))?;
            (old.size, old.root)
        }
    };
    if request.old != kept_size {
        return Err(Refusal::Conflict(kept_size));
    }
    if new.size == 0 && new.root != empty_root() {
        return Err(Refusal::Inconsistent(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        ));
    }
    if request.old == 0 && !request.proof.is_empty() {
        return Err(Refusal::Inconsistent(
            "from size 0 the consistency proof must be empty".into(),
        ));
    }
    if request.old == new.size && new.root != kept_root {
        return Err(Refusal::Inconsistent(format!(
            "a checkpoint of size {} with another root than the one this witness cosigned: the log forked",
            new.size
        )));
    }
    verify_consistency(request.old, new.size, &kept_root, &new.root, &request.proof).map_err(|e| {
        Refusal::Inconsistent(format!(
            "the consistency proof from size {} to {} does not hold: {e}",
            request.old, new.size
        ))
    })?;
    Ok(KeptTimes {
        size: kept.map(|_| kept_size),
        first_seen: kept.map(|k| k.first_seen),
        grown_at: kept.map(|k| k.grown_at),
    })
}

#[cfg(test)]
mod tests;
