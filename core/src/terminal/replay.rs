//! Watching a recorded session: the recording of a `terminal.close` event,
//! served only when its SHA-256 is the one that event holds (the hash chain
//! vouches for the event, the event for the recording), for a caller with
//! the terminal right on the event's host. Each viewing, and each refusal
//! of an altered recording, is recorded as `terminal.replay`. A recording
//! dropped to keep the budget (`retention`) is said to be so.

use super::{Result, TerminalError, Terminals, recorder, retention};
use crate::access::{self, Caller, Scope};
use crate::model::{EventSeq, Operation, Outcome};
use sha2::{Digest, Sha256};

impl Terminals {
    /// The asciicast of session `seq` (its `terminal.close` event) for
    /// `caller`, checked against the hash in that event.
    pub async fn recording(&self, caller: &Caller, seq: EventSeq) -> Result<String> {
        let inner = &self.inner;
        let not_one = || {
            TerminalError::NotFound(format!(
                "event {} is not the end of a recorded terminal session: replay a terminal.close event",
                seq.0
            ))
        };
        let Some(event) = inner.events.get(seq).await? else {
            return Err(TerminalError::NotFound(format!("there is no event {}", seq.0)));
        };
        let Some(host) = event.host.clone() else {
            return Err(not_one());
        };
        let mut scope = Scope::host(host.clone());
        scope.target = event.target.clone();
        access::check(&inner.events, caller, Operation::ReplayTerminal, scope).await?;
        let details = &event.details;
        let (Some(open_seq), Some(vouched)) = (details["open_seq"].as_u64(), details["recording_sha256"].as_str())
        else {
            return Err(not_one());
        };
        if !crate::model::EventKind::TerminalClose.is(&event.kind) {
            return Err(not_one());
        }
        let (stored, dropped_at) = inner
            .store
            .blocking(move |db| Ok((recorder::read(db, open_seq)?, retention::dropped_at(db, open_seq)?)))
            .await?;
        if let (None, Some(at)) = (&stored, dropped_at) {
            let when = crate::model::format_ts(at);
            return Err(TerminalError::NotFound(format!(
                "the recording of this session was dropped at {when} to keep all recordings within \
                 [terminal] recordings_budget_mib (see its terminal.recording_dropped event); \
                 this event still holds its SHA-256"
            )));
        }
        let mut record = caller
            .event(Operation::ReplayTerminal.kind())
            .host(host)
            .details(serde_json::json!({ "event": seq.0, "open_seq": open_seq }));
        if let Some(target) = event.target.clone() {
            record = record.target(target);
        }
        let stored = stored.unwrap_or_default();
        let found = hex::encode(Sha256::digest(&stored));
        if found != vouched {
            let message = format!(
                "the stored recording of event {} is not the one that event vouches for (its SHA-256 is {found}, \
                 the event holds {vouched}): it was altered or damaged after the session, so berth does not serve it",
                seq.0
            );
            inner
                .events
                .append(record.outcome(Outcome::Error(message.clone())))
                .await?;
            return Err(TerminalError::Altered(message));
        }
        let text = String::from_utf8(stored)
            .map_err(|_| TerminalError::Altered(format!("the recording of event {} is not text", seq.0)))?;
        inner.events.append(record).await?;
        Ok(text)
    }
}
