//! Where collecting a container resumes, and the de-duplication there.
//! A container's collection resumes at the time of its newest stored line
//! (inclusive, since the engine may hold more lines at that nanosecond):
//! the engine sends again the lines at that time that are stored already,
//! and they are skipped by (stream, text), as many times as they are stored;
//! every other line is new. So a restart of berth, a dropped engine stream
//! or the container's restart neither loses nor repeats a line.

use super::blocks;
use super::state::missing_is_empty;
use super::write::stream_of;
use crate::model::LogStream;
use crate::store::StoreError;
use crate::store::tables::{LOG_BLOCK_DATA, LOG_BLOCKS, LOG_LINES};
use redb::ReadableDatabase;

/// One container's resume point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Seam {
    /// The newest stored (or sent to be stored) line's time; `None`: nothing yet.
    newest: Option<i64>,
    /// The lines at `newest`, in the order they came.
    at_newest: Vec<(LogStream, String)>,
    /// Where the open stream started and the lines there still to skip.
    from: Option<i64>,
    skip: Vec<(LogStream, String)>,
}

impl Seam {
    /// A seam at `newest` holding `lines` (as stored).
    pub fn at(newest: i64, lines: Vec<(LogStream, String)>) -> Seam {
        Seam {
            newest: Some(newest),
            at_newest: lines,
            from: None,
            skip: Vec::new(),
        }
    }

    /// Opens a stream: returns where it must start (nothing earlier than
    /// `not_before`, when collection was switched on), and arms the skip.
    pub fn open(&mut self, not_before: i64) -> i64 {
        let from = self.newest.map_or(not_before, |n| n.max(not_before));
        self.from = Some(from);
        self.skip = if self.newest == Some(from) {
            self.at_newest.clone()
        } else {
            Vec::new()
        };
        from
    }

    /// Whether a line the stream sent is new (and so to be stored); notes it.
    pub fn admit(&mut self, ts: i64, stream: LogStream, text: &str) -> bool {
        if self.from.is_some_and(|f| ts < f) {
            return false;
        }
        if self.from == Some(ts)
            && let Some(i) = self.skip.iter().position(|(s, t)| *s == stream && t == text)
        {
            self.skip.remove(i);
            return false;
        }
        match self.newest {
            Some(n) if ts < n => {}
            Some(n) if ts == n => self.at_newest.push((stream, text.to_string())),
            _ => {
                self.newest = Some(ts);
                self.at_newest = vec![(stream, text.to_string())];
            }
        }
        true
    }
}

/// The seam of container number `ctr` of key `key_id`, whose newest stored
/// line was at `last`: the lines stored at that time, as rows or in a
/// sealed block. When the budget dropped them meanwhile, collection
/// resumes just after it (they were stored once). Blocking.
pub(super) fn load(db: &redb::Database, key_id: u32, ctr: u32, last: i64) -> Result<Seam, StoreError> {
    let tx = db.begin_read()?;
    let mut lines = Vec::new();
    if let Some(table) = missing_is_empty(tx.open_table(LOG_LINES))? {
        for row in table.range((key_id, last, 0u32)..=(key_id, last, u32::MAX))? {
            let (_, v) = row?;
            let (c, code, text) = v.value();
            if c == ctr {
                lines.push((stream_of(code), text.to_string()));
            }
        }
    }
    if let (Some(heads), Some(data)) = (
        missing_is_empty(tx.open_table(LOG_BLOCKS))?,
        missing_is_empty(tx.open_table(LOG_BLOCK_DATA))?,
    ) {
        // Blocks whose newest line is at `last` or later, and oldest at or before.
        for row in heads.range((key_id, last, 0u32)..=(key_id, i64::MAX, u32::MAX))? {
            let (k, v) = row?;
            if v.value().0 > last {
                continue;
            }
            let at = k.value();
            let Some(bytes) = data.get(at)? else { continue };
            let block = blocks::decode(at, bytes.value())?;
            lines.extend(
                block
                    .lines
                    .iter()
                    .filter(|l| l.ts == last && l.ctr == ctr)
                    .map(|l| (stream_of(l.stream), block.text(l).to_string())),
            );
        }
    }
    if lines.is_empty() {
        return Ok(Seam::at(last.saturating_add(1), Vec::new()));
    }
    Ok(Seam::at(last, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use LogStream::{Stderr, Stdout};

    fn admitted(seam: &mut Seam, lines: &[(i64, LogStream, &str)]) -> Vec<String> {
        lines
            .iter()
            .filter(|(ts, s, t)| seam.admit(*ts, *s, t))
            .map(|(ts, _, t)| format!("{ts}:{t}"))
            .collect()
    }

    #[test]
    fn lines_at_the_seam_are_stored_once_and_new_ones_at_the_same_time_kept() {
        // Stored: "a" twice and "b" at 20 (and older lines).
        let mut seam = Seam::at(
            20,
            vec![(Stdout, "a".into()), (Stdout, "a".into()), (Stderr, "b".into())],
        );
        assert_eq!(seam.open(5), 20, "resumes at the newest stored line");
        let got = admitted(
            &mut seam,
            &[
                (20, Stdout, "a"),
                (20, Stderr, "b"),
                (20, Stdout, "a"),
                // Also at 20, but not stored: a third "a", and "b" on stdout.
                (20, Stdout, "a"),
                (20, Stdout, "b"),
                (21, Stdout, "c"),
            ],
        );
        assert_eq!(got, ["20:a", "20:b", "21:c"]);
    }

    #[test]
    fn a_second_reopen_skips_what_the_first_stream_sent() {
        let mut seam = Seam::default();
        assert_eq!(seam.open(100), 100, "a new container starts when collection did");
        assert_eq!(
            admitted(
                &mut seam,
                &[
                    (99, Stdout, "old"),
                    (100, Stdout, "x"),
                    (105, Stdout, "y"),
                    (105, Stdout, "z")
                ]
            ),
            ["100:x", "105:y", "105:z"]
        );
        // The stream broke; the engine sends from 105 again, and one more.
        assert_eq!(seam.open(100), 105);
        assert_eq!(
            admitted(&mut seam, &[(105, Stdout, "y"), (105, Stdout, "z"), (106, Stdout, "w")]),
            ["106:w"]
        );
    }

    #[test]
    fn collection_switched_on_again_starts_at_the_new_time() {
        let mut seam = Seam::at(50, vec![(Stdout, "x".into())]);
        // Switched off at 60 and on again at 80: nothing from between.
        assert_eq!(seam.open(80), 80);
        assert_eq!(
            admitted(&mut seam, &[(70, Stdout, "between"), (80, Stdout, "x")]),
            ["80:x"]
        );
    }

    #[test]
    fn a_line_out_of_order_within_a_stream_is_kept() {
        // stderr's line began before stdout's but ended after it.
        let mut seam = Seam::default();
        seam.open(0);
        assert_eq!(
            admitted(&mut seam, &[(10, Stdout, "late"), (9, Stderr, "early")]),
            ["10:late", "9:early"]
        );
        assert_eq!(seam.open(0), 10);
    }
}
