//! The log side of the witness protocol (c2sp.org/tlog-witness): every new
//! signed checkpoint goes to each configured witness with a consistency
//! proof from the size that witness last cosigned; the cosignatures that
//! come back are checked and kept with the checkpoint, so
//! GET /api/v1/log/checkpoint serves them. Each attempt is recorded as a
//! `log.witness` event.
//!
//! Also here, because both ends of the protocol use it: the
//! add-checkpoint request's wire format (`AddCheckpoint`; the witness of
//! `berth monitor --serve` reads it).
//! Not here: signing checkpoints and keeping cosignatures
//! (`berth_core::events::Checkpointer`), the HTTP client
//! (`berth_core::outbound`).

use crate::config::WitnessConfig;
use berth_core::events::{Checkpointer, EventLog, Signed};
use berth_core::model::{Actor, ActorKind, NewEvent, Outcome};
use berth_core::outbound::{Outbound, first_line, truncate};
use berth_core::tasks::{Stop, Tasks};
use berth_core::tlog::checkpoint::verify_cosignature;
use berth_core::tlog::note::{Note, SignatureLine, VerifierKey};
use berth_core::tlog::{Hash, encode_hash, parse_decimal, parse_hash};
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// The spec's bound: a proof between two trees of up to 2^63 leaves.
pub(crate) const MAX_PROOF_LINES: usize = 63;
/// A witness's answer is a few signature lines.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Waiting longer than this for a witness only delays the next checkpoint.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Failed attempts are retried after 5 s, doubling up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// The body of POST /add-checkpoint: `old <size>`, the consistency proof
/// from that size one base64 hash a line, a blank line, then the signed
/// checkpoint note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old)?;
        for hash in &self.proof {
            writeln!(f, "{}", encode_hash(hash))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl AddCheckpoint {
    /// Reads a request body; the checkpoint is left to the note parser.
    pub fn parse(body: &str) -> Result<AddCheckpoint, &'static str> {
        let (head, checkpoint) = body.split_once("\n\n").ok_or("no blank line before the checkpoint")?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or("the first line is not 'old <size>'")?;
        let old = parse_decimal(old).ok_or("the old size is not a decimal without leading zeroes")?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err("more than 63 consistency proof lines");
            }
            proof.push(parse_hash(line).ok_or("a proof line is not a base64 SHA-256 hash")?);
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }
}

/// Sends checkpoints to `witnesses` until `stop` turns true, one task
/// each (`witness:NAME`), then stops them and waits until each has ended.
/// Stopping one mid-request is safe: a cosignature is kept only once
/// checked, and an abandoned request only leaves the witness ahead, which
/// the next attempt's 409 answer corrects.
pub(crate) async fn run(checkpointer: Checkpointer, log: EventLog, witnesses: Vec<WitnessConfig>, mut stop: Stop) {
    if witnesses.is_empty() {
        return;
    }
    let client = match Outbound::new(REQUEST_TIMEOUT) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(task = "witness", error = %e, "cannot reach witnesses: no HTTP client");
            return;
        }
    };
    tracing::info!(task = "witness", witnesses = witnesses.len(), "started");
    let mut tasks = Tasks::new();
    for config in witnesses {
        let pusher = Pusher {
            checkpointer: checkpointer.clone(),
            log: log.clone(),
            client: client.clone(),
            url: config.add_checkpoint_url(),
            key: config.key.0,
        };
        tasks.spawn(format!("witness:{}", pusher.key.name()), |stop| pusher.run(stop));
    }
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    tasks.stop().await;
    tracing::info!(task = "witness", "stopped");
}

/// Sends one witness our checkpoints.
struct Pusher {
    checkpointer: Checkpointer,
    log: EventLog,
    client: Outbound,
    url: String,
    key: VerifierKey,
}

impl Pusher {
    async fn run(self, mut stop: Stop) {
        let name = self.key.name().to_string();
        tracing::info!(task = "witness", witness = %name, url = %self.url, "started");
        let mut latest = self.checkpointer.subscribe();
        // The size this witness last cosigned for us; it says when we are wrong.
        let mut cosigned = 0;
        let mut backoff = FIRST_BACKOFF;
        let mut retry_at: Option<Instant> = None;
        while !*stop.borrow() {
            // The newest checkpoint, unless this witness already cosigned it.
            let pending = match latest.borrow_and_update().clone() {
                Some(signed) if verify_cosignature(&signed.note, &self.key).is_ok() => {
                    cosigned = signed.checkpoint.size;
                    None
                }
                other => other,
            };
            let due = retry_at.is_none_or(|at| at <= Instant::now());
            if due && let Some(signed) = &pending {
                let result = tokio::select! {
                    r = self.push(signed, cosigned) => r,
                    _ = stop.changed() => break,
                };
                self.record(signed.checkpoint.size, &result);
                match result {
                    Ok(size) => {
                        tracing::debug!(task = "witness", witness = %name, size, "cosigned");
                        cosigned = size;
                        backoff = FIRST_BACKOFF;
                        retry_at = None;
                    }
                    Err(e) => {
                        tracing::warn!(
                            task = "witness", witness = %name, error = %e, retry_in = ?backoff,
                            "the witness did not cosign"
                        );
                        retry_at = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                continue;
            }
            let wake = retry_at.filter(|_| pending.is_some());
            tokio::select! {
                _ = stop.changed() => break,
                changed = latest.changed() => if changed.is_err() { break },
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
            }
        }
        tracing::info!(task = "witness", witness = %name, "stopped");
    }

    /// One attempt: sends `signed` claiming the witness is at `old`; on 409
    /// takes the witness's word for its size and tries once more. Returns
    /// the size now cosigned.
    async fn push(&self, signed: &Signed, mut old: u64) -> Result<u64, String> {
        let size = signed.checkpoint.size;
        for retry in [false, true] {
            if old > size {
                return Err(format!(
                    "the witness has cosigned {old} events, more than this checkpoint's {size}: \
                     did the log lose events?"
                ));
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                self.checkpointer
                    .consistency(old, size)
                    .await
                    .map_err(|e| format!("cannot prove size {size} extends {old}: {e}"))?
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: signed.note.to_string(),
            };
            let answer = self.client.post(&self.url, body.to_string(), MAX_ANSWER_BYTES).await?;
            let (status, answer) = (answer.status, answer.text());
            match status.as_u16() {
                200 => return self.keep(signed, &answer).map(|()| size),
                409 if !retry => {
                    old = answer
                        .strip_suffix('\n')
                        .and_then(parse_decimal)
                        .ok_or("the witness answered 409 without its size")?;
                }
                _ => return Err(format!("HTTP {status}: {}", first_line(&answer))),
            }
        }
        Err("the witness answered 409 twice".into())
    }

    /// Checks the witness's answer and keeps its cosignature. Lines of other
    /// keys are ignored, as the spec says.
    fn keep(&self, signed: &Signed, answer: &str) -> Result<(), String> {
        let mut kept = false;
        for line in answer.lines().filter(|l| !l.is_empty()).take(100) {
            let line = SignatureLine::parse(line).map_err(|e| format!("the witness answered {e}"))?;
            if !self.key.matches(&line) {
                continue;
            }
            let note = Note {
                text: signed.note.text.clone(),
                signatures: vec![line.clone()],
            };
            verify_cosignature(&note, &self.key).map_err(|e| format!("its cosignature is wrong: {e}"))?;
            self.checkpointer
                .add_cosignature(signed.checkpoint.size, &self.key, line)
                .map_err(|e| format!("cannot keep its cosignature: {e}"))?;
            kept = true;
        }
        if kept {
            Ok(())
        } else {
            Err(format!("the answer has no cosignature by {}", self.key.name()))
        }
    }

    fn record(&self, size: u64, result: &Result<u64, String>) {
        let outcome = match result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Error(truncate(e, 200)),
        };
        let actor = Actor {
            kind: ActorKind::System,
            name: "witness".into(),
        };
        self.log.record(
            NewEvent::new(berth_core::model::EventKind::LogWitness, actor)
                .target(format!("witness:{}", self.key.name()))
                .outcome(outcome)
                .details(serde_json::json!({ "url": self.url, "size": size })),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_checkpoint_bodies_round_trip_and_bad_ones_are_refused() {
        let checkpoint = "log.example\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— log.example AAAA\n";
        let body = AddCheckpoint {
            old: 1,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: checkpoint.into(),
        };
        let text = body.to_string();
        assert!(text.starts_with("old 1\nAQEB"), "{text}");
        assert_eq!(AddCheckpoint::parse(&text), Ok(body));
        let none = AddCheckpoint::parse(&format!("old 0\n\n{checkpoint}")).unwrap();
        assert_eq!((none.old, none.proof.len()), (0, 0));
        assert_eq!(none.checkpoint, checkpoint);

        let hash = encode_hash(&[3; 32]);
        let long = format!("old 5\n{}\n{checkpoint}", format!("{hash}\n").repeat(64));
        for bad in [
            "",
            "old 1\n",
            &format!("old 01\n\n{checkpoint}"),
            &format!("old -1\n\n{checkpoint}"),
            &format!("new 1\n\n{checkpoint}"),
            &format!("old 1\nnot a hash\n\n{checkpoint}"),
            &format!("old 1\n{}\n\n{checkpoint}", &encode_hash(&[0; 32])[..40]),
            &long,
        ] {
            assert!(AddCheckpoint::parse(bad).is_err(), "took {bad:?}");
        }
    }
}
