//! `berth monitor`: checks a berth's event log from another machine, with
//! only the log's public key and a small state file, no database. Each
//! round fetches the latest signed checkpoint, checks its signature, and
//! checks that it extends the checkpoint kept from the last round (a
//! consistency proof, RFC 6962), so a log that drops or rewrites events it
//! once signed is caught. With `--serve`, the same checks run as a witness
//! (`serve`) that berth sends its checkpoints to.
//!
//! Exit codes: 0 every check passed, 1 the log misbehaved, 2 could not
//! check. A round that fails keeps the old state, so a bad checkpoint never
//! becomes the one the next round trusts.

mod serve;
mod state;

use crate::cli::MonitorArgs;
use crate::config::Config;
use anyhow::{Context, bail};
use axum::http::{StatusCode, Uri};
use berth_core::outbound::{Outbound, first_line};
use berth_core::tlog::checkpoint::{self, Verified};
use berth_core::tlog::merkle::verify_consistency;
use berth_core::tlog::note::{ED25519, VerifierKey};
use berth_core::tlog::{Hash, TlogError, encode_hash, parse_hash};
use serde::Deserialize;
use state::{Kept, StateFile};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// A checkpoint is a note: 64 KiB at most.
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;
/// A consistency proof has at most about 2·64 hashes; its JSON is small.
const MAX_PROOF_BYTES: usize = 32 * 1024;
const MAX_PROOF_HASHES: usize = 130;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn monitor(config: Config, args: MonitorArgs) -> anyhow::Result<ExitCode> {
    // Whatever stops a start is "could not check" (2), never "misbehaved" (1).
    start(config, args).or_else(|e| {
        eprintln!("berth monitor: {e:#}");
        Ok(ExitCode::from(2))
    })
}

fn start(config: Config, args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let keys = args
        .key
        .iter()
        .map(|k| read_key(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(key) = keys.iter().find(|k| k.kind() != ED25519) {
        bail!(
            "--key {} is a witness's key (type 0x04); give the log's key (GET /api/v1/log/key)",
            key.name()
        );
    }
    let state = StateFile::new(&args.state);
    state.check()?;
    if let Some(addr) = args.serve {
        super::init_logging(&config.log);
        let key_file = args
            .witness_key
            .as_deref()
            .context("--serve needs --witness-key FILE")?;
        let witness = serve::load_or_create_key(key_file, args.name.as_deref())?;
        super::runtime()?.block_on(serve::serve(addr, keys, state, witness))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Ok([key]) = <[VerifierKey; 1]>::try_from(keys) else {
        bail!("give one --key: the key of the log at the URL");
    };
    let watch = Watch::new(&args, key, state)?;
    super::runtime()?.block_on(async move {
        let Some(every) = args.every else {
            return Ok(watch.round().await.exit_code());
        };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            println!("-- {} {}", berth_core::model::format_ts(now_ns()), watch.base);
            watch.round().await;
        }
    })
}

/// A public key given on the command line: the text, or `@FILE` holding it.
pub(crate) fn read_key(arg: &str) -> anyhow::Result<VerifierKey> {
    let text = match arg.strip_prefix('@') {
        Some(path) => read_small(Path::new(path), 4096).with_context(|| format!("cannot read the key file {path}"))?,
        None => arg.to_string(),
    };
    if text.trim_start().starts_with("PRIVATE+KEY+") {
        // Not echoed: it is a secret.
        bail!("that is a secret signing key; give its public key (<name>+<id>+<base64>)");
    }
    text.trim()
        .parse()
        .context("not a public key (<name>+<hex id>+<base64>)")
}

/// Reads a file that should be small, refusing one that is not.
pub(crate) fn read_small(path: &Path, limit: u64) -> anyhow::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_string(&mut text)
        .context("not UTF-8 text")?;
    if text.len() as u64 > limit {
        bail!("larger than {limit} bytes");
    }
    Ok(text)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn now_secs() -> u64 {
    u64::try_from(now_ns() / 1_000_000_000).unwrap_or(0)
}

/// `2h 5m`, `45s`: an age as a person reads it.
fn human(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() { "0s".into() } else { parts.join(" ") }
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Good,
    Misbehaved,
    Unchecked,
}

impl Verdict {
    fn exit_code(self) -> ExitCode {
        match self {
            Verdict::Good => ExitCode::SUCCESS,
            Verdict::Misbehaved => ExitCode::from(1),
            Verdict::Unchecked => ExitCode::from(2),
        }
    }
}

/// Why a round stopped: the log's fault, or ours/the network's.
enum Stop {
    Misbehaved(String),
    Unchecked(String),
}

fn unchecked(e: impl std::fmt::Display) -> Stop {
    Stop::Unchecked(e.to_string())
}

/// One watched log.
struct Watch {
    client: Outbound,
    /// The berth's address, without a trailing slash.
    base: String,
    key: VerifierKey,
    state: StateFile,
    max_age: Duration,
    token: Option<String>,
}

#[derive(Deserialize)]
struct ConsistencyAnswer {
    from: u64,
    to: u64,
    proof: Vec<String>,
}

impl Watch {
    fn new(args: &MonitorArgs, key: VerifierKey, state: StateFile) -> anyhow::Result<Watch> {
        let url = args.url.as_deref().unwrap_or_default();
        let uri: Uri = url.parse().with_context(|| format!("'{url}' is not a URL"))?;
        let plain_host = uri.authority().is_some_and(|a| !a.as_str().contains('@'));
        if !matches!(uri.scheme_str(), Some("http" | "https")) || !plain_host || uri.query().is_some() {
            bail!("'{url}' is not the http(s) address of a berth (like https://berth.example.com)");
        }
        let token = match &args.token_file {
            Some(path) => {
                let token =
                    read_small(path, 4096).with_context(|| format!("cannot read the token file {}", path.display()))?;
                Some(token.trim().to_string()).filter(|t| !t.is_empty())
            }
            None => None,
        };
        Ok(Watch {
            client: Outbound::new(REQUEST_TIMEOUT)?,
            base: url.trim_end_matches('/').to_string(),
            key,
            state,
            max_age: args.max_age,
            token,
        })
    }

    /// Checks once, printing a line per check, and says how it went.
    async fn round(&self) -> Verdict {
        match self.check().await {
            Ok(()) => Verdict::Good,
            Err(Stop::Misbehaved(why)) => {
                println!("FAIL: {why}");
                Verdict::Misbehaved
            }
            Err(Stop::Unchecked(why)) => {
                println!("error: could not check: {why}");
                Verdict::Unchecked
            }
        }
    }

    async fn check(&self) -> Result<(), Stop> {
        let text = self.fetch_checkpoint().await?;
        let new = match checkpoint::open(&text, &self.key) {
            Ok(v) => v,
            Err(e @ (TlogError::BadSignature(_) | TlogError::Unsigned(_) | TlogError::WrongOrigin { .. })) => {
                return Err(Stop::Misbehaved(format!(
                    "the checkpoint is not signed by the log's key: {e}"
                )));
            }
            Err(e) => return Err(unchecked(format!("the log served a malformed checkpoint: {e}"))),
        };
        println!("ok: signature by {}", new.checkpoint.origin);
        // Someone sharing the state file (a witness) may move it on while
        // we fetch a proof; then we check against what they kept instead.
        for _ in 0..3 {
            let kept = self.kept(&new.checkpoint.origin).await?;
            let now = now_secs();
            let next = self.compare(kept.as_ref(), &new, &text, now).await?;
            let state = self.state.clone();
            let origin = new.checkpoint.origin.clone();
            let replaced = tokio::task::spawn_blocking(move || state.replace_if(&origin, kept.as_ref(), next))
                .await
                .map_err(unchecked)?
                .map_err(|e| unchecked(format!("{e:#}")))?;
            if replaced {
                return Ok(());
            }
            println!("(the state file changed meanwhile; checking against it again)");
        }
        Err(unchecked("the state file keeps changing under this monitor"))
    }

    async fn kept(&self, origin: &str) -> Result<Option<Kept>, Stop> {
        let (state, origin) = (self.state.clone(), origin.to_string());
        tokio::task::spawn_blocking(move || state.get(&origin))
            .await
            .map_err(unchecked)?
            .map_err(|e| unchecked(format!("{e:#}")))
    }

    /// The checks against the kept checkpoint; returns what to keep next.
    async fn compare(&self, kept: Option<&Kept>, new: &Verified, text: &str, now: u64) -> Result<Kept, Stop> {
        let (size, root) = (new.checkpoint.size, new.checkpoint.root);
        let Some(kept) = kept else {
            println!("ok: size {size} (the first checkpoint seen of this log; kept)");
            return Ok(Kept {
                checkpoint: text.to_string(),
                first_seen: now,
                grown_at: now,
            });
        };
        let old = checkpoint::open(&kept.checkpoint, &self.key)
            .map_err(|e| {
                unchecked(format!(
                    "the checkpoint kept in {} does not verify with this key ({e}); \
                     move the file away to start over",
                    self.state.path().display()
                ))
            })?
            .checkpoint;
        if size < old.size {
            return Err(Stop::Misbehaved(format!(
                "log went back from {} to {size} events",
                old.size
            )));
        }
        if size == old.size {
            if root != old.root {
                return Err(Stop::Misbehaved(format!(
                    "fork: two checkpoints of size {size} with different roots (kept {}, now {})",
                    encode_hash(&old.root),
                    encode_hash(&root)
                )));
            }
            println!("ok: size {size} (unchanged, same root)");
            let idle = now.saturating_sub(kept.grown_at);
            if idle > self.max_age.as_secs() {
                return Err(Stop::Misbehaved(format!(
                    "log stopped signing: its size has not grown for {} (--max-age {})",
                    human(idle),
                    human(self.max_age.as_secs())
                )));
            }
            println!(
                "ok: grew {} ago (--max-age {})",
                human(idle),
                human(self.max_age.as_secs())
            );
            return Ok(Kept {
                checkpoint: text.to_string(),
                ..kept.clone()
            });
        }
        println!("ok: size {size} (was {}, +{})", old.size, size - old.size);
        let proof = if old.size == 0 {
            Vec::new()
        } else {
            self.fetch_consistency(old.size, size).await?
        };
        verify_consistency(old.size, size, &old.root, &root, &proof).map_err(|e| {
            Stop::Misbehaved(format!(
                "fork: the checkpoint of size {size} does not extend the kept one of size {} ({e})",
                old.size
            ))
        })?;
        println!("ok: consistent with the kept checkpoint");
        Ok(Kept {
            checkpoint: text.to_string(),
            first_seen: kept.first_seen,
            grown_at: now,
        })
    }

    async fn get(&self, path: &str, limit: usize) -> Result<(StatusCode, String), Stop> {
        let url = format!("{}{path}", self.base);
        let answer = self
            .client
            .get(&url, self.token.as_deref(), limit)
            .await
            .map_err(unchecked)?;
        let body =
            String::from_utf8(answer.body).map_err(|_| unchecked(format!("GET {url}: the answer is not UTF-8")))?;
        Ok((answer.status, body))
    }

    async fn fetch_checkpoint(&self) -> Result<String, Stop> {
        let path = "/api/v1/log/checkpoint";
        let (status, body) = self.get(path, MAX_CHECKPOINT_BYTES).await?;
        if status != StatusCode::OK {
            return Err(unchecked(format!(
                "GET {path}: HTTP {status}: {}",
                error_message(&body)
            )));
        }
        Ok(body)
    }

    /// The log's proof that the tree of `to` extends the tree of `from`.
    async fn fetch_consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>, Stop> {
        let path = format!("/api/v1/log/proof/consistency?from={from}&to={to}");
        let (status, body) = self.get(&path, MAX_PROOF_BYTES).await?;
        if status != StatusCode::OK {
            let why = format!(
                "the log cannot prove that its size {to} extends {from}, though it signed both (a log that did \
                 can always): HTTP {status}: {}",
                error_message(&body)
            );
            // A refusal on the request's merits (400, 409) from a log that
            // signed both sizes means it no longer holds what it signed:
            // events were removed. Anything else (auth, rate, server or
            // network trouble) only stops this round.
            return Err(match status {
                StatusCode::BAD_REQUEST | StatusCode::CONFLICT => Stop::Misbehaved(why),
                _ => unchecked(why),
            });
        }
        let answer: ConsistencyAnswer =
            serde_json::from_str(&body).map_err(|e| unchecked(format!("GET {path}: not a consistency proof ({e})")))?;
        if (answer.from, answer.to) != (from, to) {
            return Err(unchecked(format!(
                "asked for a proof from {from} to {to}, got one from {} to {}",
                answer.from, answer.to
            )));
        }
        if answer.proof.len() > MAX_PROOF_HASHES {
            return Err(unchecked("the consistency proof is impossibly long"));
        }
        answer
            .proof
            .iter()
            .map(|h| {
                parse_hash(h).ok_or_else(|| unchecked("the consistency proof has a hash that is not base64 SHA-256"))
            })
            .collect()
    }
}

/// berth's JSON error message, or the answer's first line.
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(first_line))
        .unwrap_or_else(|| first_line(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_write_them() {
        assert_eq!(human(0), "0s");
        assert_eq!(human(45), "45s");
        assert_eq!(human(7200), "2h");
        assert_eq!(human(90_061), "1d 1h 1m 1s");
    }

    #[test]
    fn berth_errors_are_shown_by_their_message() {
        assert_eq!(
            error_message(r#"{"error":"no checkpoint yet","kind":"unavailable"}"#),
            "no checkpoint yet"
        );
        assert_eq!(error_message("Bad Gateway\n<html>"), "Bad Gateway");
    }
}
