//! Writing a session's recording: asciicast v2 lines (the header, each
//! output as `o`, each resize as `r`) gathered in memory and written to the
//! `TERMINAL_RECORDINGS` table in pieces, one transaction per piece (once
//! 32 KiB have gathered or a second has passed; never one per keystroke),
//! without an fsync of their own until the last one; the recording's size
//! so far goes with each piece (for `retention`). The SHA-256 runs over
//! exactly the bytes committed, so the hash in `terminal.close` vouches for
//! what is stored.
//!
//! A recording is capped: the line that would pass the cap is not written;
//! a marker (`m`) saying so is, and the recording stops. A failed write
//! stops it too. What then happens to the session (end it, or go on
//! unrecorded) is the session's decision (`RecordingMode`).
//!
//! Input is not recorded: keystrokes hold what a terminal does not show
//! (passwords typed at a prompt with echo off), and what it does show is in
//! the output already.

use crate::model::asciicast::{self, CastEvent, CastHeader};
use crate::store::tables::{TERMINAL_RECORDING_SIZES, TERMINAL_RECORDINGS};
use crate::store::{Store, StoreError};
use redb::Durability;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// A piece is written once this much has gathered...
const PIECE: usize = 32 * 1024;
/// ...or once its first line has waited this long.
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Room kept under the cap for the marker that says the cap was reached.
const MARKER_ROOM: u64 = 256;

/// What a finished recording amounts to.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Recording {
    /// Bytes stored.
    pub size: u64,
    /// Hex SHA-256 of them.
    pub sha256: String,
    /// Why it stopped before the session ended, if it did.
    pub stopped: Option<String>,
}

pub(super) struct Recorder {
    store: Store,
    key: u64,
    next_piece: u32,
    started: Instant,
    cap: u64,
    /// Lines not written yet.
    pending: Vec<u8>,
    pending_since: Option<Instant>,
    /// Bytes committed, and their hash.
    committed: u64,
    hasher: Sha256,
    /// The start of a UTF-8 character split across two outputs.
    carry: Vec<u8>,
    stopped: Option<String>,
}

impl Recorder {
    /// A recording under `key` (the session's `terminal.open` seq) that
    /// starts with `header`, stored at most `cap` bytes.
    pub(super) fn new(store: Store, key: u64, header: &CastHeader, cap: u64) -> Recorder {
        let mut r = Recorder {
            store,
            key,
            next_piece: 0,
            started: Instant::now(),
            cap: cap.max(MARKER_ROOM * 4),
            pending: Vec::new(),
            pending_since: None,
            committed: 0,
            hasher: Sha256::new(),
            carry: Vec::new(),
            stopped: None,
        };
        r.push(asciicast::header_line(header));
        r
    }

    /// Bytes of the terminal's output. Returns the reason when this output
    /// stopped the recording.
    pub(super) fn output(&mut self, bytes: &[u8]) -> Option<String> {
        if self.stopped.is_some() {
            return None;
        }
        let text = self.text(bytes);
        if text.is_empty() {
            return None;
        }
        self.event(CastEvent::Output(text))
    }

    /// The terminal's new size.
    pub(super) fn resize(&mut self, cols: u16, rows: u16) -> Option<String> {
        if self.stopped.is_some() {
            return None;
        }
        self.event(CastEvent::Resize { cols, rows })
    }

    /// When the gathered lines are due to be written, if any are waiting.
    pub(super) fn due(&self) -> Option<Instant> {
        self.pending_since.map(|since| since + FLUSH_EVERY)
    }

    /// Whether enough has gathered for a piece.
    pub(super) fn full(&self) -> bool {
        self.pending.len() >= PIECE
    }

    /// Writes what has gathered as one piece (durably when `durable`).
    /// Returns the reason when the write failed and so stopped the recording.
    pub(super) async fn flush(&mut self, durable: bool) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let piece = std::mem::take(&mut self.pending);
        self.pending_since = None;
        let (key, n) = (self.key, self.next_piece);
        let size = self.committed + piece.len() as u64;
        let written = {
            let piece = piece.clone();
            self.store
                .blocking(move |db| {
                    let mut tx = db.begin_write()?;
                    tx.set_durability(if durable {
                        Durability::Immediate
                    } else {
                        Durability::None
                    })
                    .map_err(|e| StoreError::Task(e.to_string()))?;
                    tx.open_table(TERMINAL_RECORDINGS)?.insert((key, n), piece.as_slice())?;
                    tx.open_table(TERMINAL_RECORDING_SIZES)?.insert(key, (size, 0))?;
                    tx.commit()?;
                    Ok(())
                })
                .await
        };
        match written {
            Ok(()) => {
                self.next_piece += 1;
                self.committed += piece.len() as u64;
                self.hasher.update(&piece);
                None
            }
            Err(e) => {
                tracing::error!(recording = key, error = %e, "cannot store a terminal recording");
                let reason = format!("berth could not store the recording: {e}");
                self.stopped = Some(reason.clone());
                Some(reason)
            }
        }
    }

    /// Writes the rest (durably) and says what the recording amounts to.
    pub(super) async fn finish(mut self) -> Recording {
        if !self.carry.is_empty() && self.stopped.is_none() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.carry)).into_owned();
            self.event(CastEvent::Output(rest));
        }
        self.flush(true).await;
        Recording {
            size: self.committed,
            sha256: hex::encode(self.hasher.clone().finalize()),
            stopped: self.stopped,
        }
    }

    fn push(&mut self, line: String) {
        if self.pending.is_empty() {
            self.pending_since = Some(Instant::now());
        }
        self.pending.extend_from_slice(line.as_bytes());
    }

    /// Adds an event's line, unless it would pass the cap: then the marker,
    /// and the recording stops (the reason is returned).
    fn event(&mut self, event: CastEvent) -> Option<String> {
        let at = self.started.elapsed().as_secs_f64();
        let line = asciicast::event_line(at, &event);
        let size = self.committed + self.pending.len() as u64;
        if size + line.len() as u64 > self.cap - MARKER_ROOM {
            let reason = format!(
                "the recording reached its cap of {} bytes ([terminal] recording_cap_mib)",
                self.cap
            );
            self.push(asciicast::event_line(
                at,
                &CastEvent::Marker(format!("recording stopped: {reason}")),
            ));
            self.stopped = Some(reason.clone());
            return Some(reason);
        }
        self.push(line);
        None
    }

    /// The output as text: a character split between two outputs is kept
    /// for the next; bytes that are not UTF-8 become U+FFFD.
    fn text(&mut self, bytes: &[u8]) -> String {
        let mut all = std::mem::take(&mut self.carry);
        all.extend_from_slice(bytes);
        let keep = incomplete_tail(&all);
        self.carry = all.split_off(all.len() - keep);
        String::from_utf8_lossy(&all).into_owned()
    }
}

/// How many bytes at the end of `bytes` start a UTF-8 character that is
/// not complete yet (0 to 3).
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=3.min(bytes.len()) {
        let b = bytes[bytes.len() - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte: look further back
        }
        let need = match b {
            0b1100_0000..=0b1101_1111 => 2,
            0b1110_0000..=0b1110_1111 => 3,
            0b1111_0000..=0b1111_0111 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

/// The stored recording under `key`, its pieces in order.
pub(super) fn read(db: &redb::Database, key: u64) -> Result<Option<Vec<u8>>, StoreError> {
    use redb::ReadableDatabase;
    let tx = db.begin_read()?;
    let table = match tx.open_table(TERMINAL_RECORDINGS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    let mut found = false;
    for row in table.range((key, 0)..=(key, u32::MAX))? {
        let (_, piece) = row?;
        out.extend_from_slice(piece.value());
        found = true;
    }
    Ok(found.then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> CastHeader {
        CastHeader {
            version: 2,
            width: 80,
            height: 24,
            timestamp: Some(1),
            title: None,
            env: None,
        }
    }

    #[test]
    fn characters_split_between_outputs_are_joined() {
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_tail(&"é".as_bytes()[..1]), 1);
        assert_eq!(incomplete_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(incomplete_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_tail(b"\xff"), 0);
    }

    #[tokio::test]
    async fn pieces_are_stored_hashed_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.redb")).unwrap();
        let mut r = Recorder::new(store.clone(), 7, &header(), 4096);
        let euro = "€".as_bytes();
        assert_eq!(r.output(&[b'a', euro[0]]), None);
        assert_eq!(r.output(&euro[1..]), None);
        assert_eq!(r.resize(100, 30), None);
        assert!(r.due().is_some());
        assert_eq!(r.flush(false).await, None);
        assert_eq!(r.due(), None);
        // Past the cap: a marker, and nothing more.
        let reason = r.output(&[b'x'; 5000]).expect("the cap stops it");
        assert!(reason.contains("cap of 4096"), "{reason}");
        assert_eq!(r.output(b"more"), None);
        let done = r.finish().await;
        let stored = store.blocking(|db| read(db, 7)).await.unwrap().unwrap();
        assert_eq!(done.size, stored.len() as u64);
        assert!(done.size <= 4096);
        assert_eq!(done.sha256, hex::encode(Sha256::digest(&stored)));
        let cast = asciicast::parse(std::str::from_utf8(&stored).unwrap()).unwrap();
        // The euro sign whole, in the output that completed it.
        assert_eq!(cast.events[0].1, CastEvent::Output("a".into()));
        assert_eq!(cast.events[1].1, CastEvent::Output("€".into()));
        assert_eq!(cast.events[2].1, CastEvent::Resize { cols: 100, rows: 30 });
        assert!(matches!(&cast.events[3].1, CastEvent::Marker(m) if m.contains("recording stopped")));
        assert_eq!(cast.events.len(), 4);
        assert_eq!(store.blocking(|db| read(db, 8)).await.unwrap(), None);
    }
}
