//! The log lines the browser keeps for one logs view: at most `cap`, the
//! oldest dropped first; lines that arrive while the view is paused held
//! aside (as many again) until it resumes; older lines fetched again when
//! the reader scrolls back, up to twice `cap` in all (beyond that the
//! newest go, and the view is "behind": resuming starts from the tail); markers (a gap, a stream's end,
//! an error) in line with the rest; the rows the filter lets through, each
//! with its highlights, kept up to date line by line rather than recomputed
//! per batch. Each line has an id that never changes, so the page keys its
//! rows by it and draws only new ones. Plain data: the page owns the feed.

use super::ansi::{Styled, parse};
use super::log_search::Filter;
use berth_core::model::{LogLine, LogStream};
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Log(LogStream),
    /// The view fell behind and lines were skipped.
    Gap,
    /// A container's stream ended.
    End,
    /// The feed failed.
    Error,
}

/// One line as the page draws it.
#[derive(Debug, PartialEq)]
pub struct Line {
    pub id: u64,
    /// Index of its container in the view's list (its colour).
    pub source: usize,
    pub kind: LineKind,
    pub ts_ns: i64,
    pub styled: Styled,
}

impl Line {
    pub fn stream(&self) -> Option<LogStream> {
        match self.kind {
            LineKind::Log(s) => Some(s),
            _ => None,
        }
    }
}

/// A shown line and what to highlight in it.
#[derive(Clone, Debug)]
pub struct Row {
    pub line: Arc<Line>,
    pub marks: Arc<[Range<usize>]>,
    /// The filter's generation: a new filter draws every row again.
    pub generation: u32,
}

impl Row {
    pub fn key(&self) -> (u64, u32) {
        (self.line.id, self.generation)
    }
}

/// The newest line seen of one container's stream.
#[derive(Debug)]
struct Newest {
    source: usize,
    stream: LogStream,
    ts_ns: i64,
    text: String,
}

#[derive(Debug)]
pub struct LogBuffer {
    cap: usize,
    next_id: u64,
    /// The containers' full ids, in the view's order.
    sources: Vec<String>,
    kept: VecDeque<Arc<Line>>,
    shown: VecDeque<Row>,
    paused: bool,
    held: VecDeque<Arc<Line>>,
    /// Held lines dropped because more than `cap` arrived while paused.
    held_dropped: u64,
    /// Scrolling back dropped the newest kept lines: new lines no longer
    /// join the kept ones without a hole.
    behind: bool,
    filter: Filter,
    generation: u32,
    /// Per container and stream, the newest line seen: a reconnect asks
    /// from the newest time on, and what it sends again is skipped. Each
    /// stream comes in time order, but a container's stdout and stderr
    /// interleave out of order (the engine stamps each in its own copier),
    /// so a line is checked against its own stream only. (A handful: a list.)
    newest: Vec<Newest>,
}

impl LogBuffer {
    pub fn new(cap: usize, sources: Vec<String>) -> LogBuffer {
        LogBuffer {
            cap: cap.max(1),
            next_id: 0,
            sources,
            kept: VecDeque::new(),
            shown: VecDeque::new(),
            paused: false,
            held: VecDeque::new(),
            held_dropped: 0,
            behind: false,
            filter: Filter::default(),
            generation: 0,
            newest: Vec::new(),
        }
    }

    /// Forgets every line (a new query), keeping the filter and the pause.
    pub fn clear(&mut self) {
        *self = LogBuffer {
            filter: std::mem::take(&mut self.filter),
            paused: self.paused,
            generation: self.generation,
            next_id: self.next_id,
            ..LogBuffer::new(self.cap, std::mem::take(&mut self.sources))
        };
    }

    /// The index of a container, by full id or by a prefix of one.
    pub fn source(&mut self, container: &str) -> usize {
        let found = self
            .sources
            .iter()
            .position(|s| s == container || (!container.is_empty() && s.starts_with(container)));
        found.unwrap_or_else(|| {
            self.sources.push(container.to_string());
            self.sources.len() - 1
        })
    }

    /// Adds lines from the feed, skipping those seen already.
    pub fn push_lines(&mut self, lines: Vec<LogLine>) {
        for l in lines {
            let source = self.source(&l.container);
            let seen = self
                .newest
                .iter()
                .position(|n| n.source == source && n.stream == l.stream);
            if let Some(n) = seen.map(|i| &self.newest[i])
                && l.ts_ns > 0
                && (l.ts_ns < n.ts_ns || (l.ts_ns == n.ts_ns && l.text == n.text))
            {
                continue;
            }
            let line = self.line(source, LineKind::Log(l.stream), l.ts_ns, parse(&l.text));
            match seen.map(|i| &mut self.newest[i]) {
                Some(n) => {
                    n.ts_ns = l.ts_ns;
                    n.text = l.text;
                }
                None => self.newest.push(Newest {
                    source,
                    stream: l.stream,
                    ts_ns: l.ts_ns,
                    text: l.text,
                }),
            }
            self.add(line);
        }
    }

    /// Adds a marker line in words of the page (shown, never filtered),
    /// about one container or (None) the whole view.
    pub fn push_marker(&mut self, container: Option<&str>, kind: LineKind, text: String) {
        let source = container.map_or(0, |c| self.source(c));
        let ts = self
            .newest
            .iter()
            .filter(|n| n.source == source)
            .map(|n| n.ts_ns)
            .max()
            .unwrap_or(0);
        let styled = parse(&text);
        let line = self.line(source, kind, ts, styled);
        self.add(line);
    }

    /// Older lines (from "load older" or scrolling back), oldest first, put
    /// before the kept ones: those not older than the oldest kept line are
    /// skipped, and at most `cap` are taken (the newest of them). The view
    /// holds at most twice `cap`: past that the newest kept lines go (and
    /// the lines held while paused), and the view is behind.
    pub fn prepend_older(&mut self, lines: Vec<LogLine>) -> usize {
        let oldest = self.oldest_ts();
        let mut older: Vec<LogLine> = lines
            .into_iter()
            .filter(|l| oldest.is_none_or(|o| l.ts_ns < o))
            .collect();
        let skip = older.len().saturating_sub(self.cap);
        older.drain(..skip);
        let added = older.len();
        let mut front = Vec::with_capacity(added);
        for l in older {
            let source = self.source(&l.container);
            // Ids of older lines only need to be unique and stable.
            front.push(self.line(source, LineKind::Log(l.stream), l.ts_ns, parse(&l.text)));
        }
        for line in front.into_iter().rev() {
            if let Some(marks) = self.filter.check(line.stream(), &line.styled.text) {
                self.shown.push_front(self.row(&line, marks));
            }
            self.kept.push_front(line);
        }
        while self.kept.len() > self.scrolled_back_cap() {
            let Some(gone) = self.kept.pop_back() else { break };
            if self.shown.back().is_some_and(|r| r.line.id == gone.id) {
                self.shown.pop_back();
            }
            self.behind = true;
        }
        if self.behind {
            self.held_dropped += self.held.len() as u64;
            self.held.clear();
        }
        added
    }

    /// Whether scrolling back dropped the newest lines (see `prepend_older`):
    /// the view then shows the newest again only by starting over.
    pub fn behind(&self) -> bool {
        self.behind
    }

    fn line(&mut self, source: usize, kind: LineKind, ts_ns: i64, styled: Styled) -> Arc<Line> {
        self.next_id += 1;
        Arc::new(Line {
            id: self.next_id,
            source,
            kind,
            ts_ns,
            styled,
        })
    }

    fn row(&self, line: &Arc<Line>, marks: Vec<Range<usize>>) -> Row {
        Row {
            line: line.clone(),
            marks: marks.into(),
            generation: self.generation,
        }
    }

    fn add(&mut self, line: Arc<Line>) {
        if self.paused || self.behind {
            self.held.push_back(line);
            if self.held.len() > self.cap {
                self.held.pop_front();
                self.held_dropped += 1;
            }
            return;
        }
        if let Some(marks) = self.filter.check(line.stream(), &line.styled.text) {
            self.shown.push_back(self.row(&line, marks));
        }
        self.kept.push_back(line);
        while self.kept.len() > self.cap {
            let Some(gone) = self.kept.pop_front() else { break };
            if self.shown.front().is_some_and(|r| r.line.id == gone.id) {
                self.shown.pop_front();
            }
        }
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Pauses (new lines are held) or resumes (held lines are added).
    pub fn set_paused(&mut self, paused: bool) {
        if self.paused == paused {
            return;
        }
        self.paused = paused;
        if !paused {
            for line in std::mem::take(&mut self.held) {
                self.add(line);
            }
            self.held_dropped = 0;
        }
    }

    /// Shows the lines `filter` lets through, every row drawn again.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.generation = self.generation.wrapping_add(1);
        let rows: VecDeque<Row> = self
            .kept
            .iter()
            .filter_map(|line| {
                let marks = self.filter.check(line.stream(), &line.styled.text)?;
                Some(self.row(line, marks))
            })
            .collect();
        self.shown = rows;
    }

    /// The rows to draw, oldest first.
    pub fn rows(&self) -> Vec<Row> {
        self.shown.iter().cloned().collect()
    }

    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    pub fn shown(&self) -> usize {
        self.shown.len()
    }

    /// Lines waiting while paused, and how many of those were dropped.
    pub fn held(&self) -> (usize, u64) {
        (self.held.len(), self.held_dropped)
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The most lines kept once older ones were fetched (scrolling back).
    pub fn scrolled_back_cap(&self) -> usize {
        2 * self.cap
    }

    /// The time of the oldest kept log line.
    pub fn oldest_ts(&self) -> Option<i64> {
        self.kept.iter().find(|l| l.stream().is_some()).map(|l| l.ts_ns)
    }

    /// The time of the newest line seen of any container (where a
    /// reconnect starts).
    pub fn newest_ts(&self) -> Option<i64> {
        self.newest.iter().map(|n| n.ts_ns).max()
    }

    pub fn filter_active(&self) -> bool {
        self.filter.is_active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::log_search::{SearchSpec, Streams};

    fn line(container: &str, ts: i64, text: &str) -> LogLine {
        LogLine {
            container: container.into(),
            stream: if text.starts_with("E") {
                LogStream::Stderr
            } else {
                LogStream::Stdout
            },
            ts_ns: ts,
            text: text.into(),
        }
    }

    fn texts(b: &LogBuffer) -> Vec<String> {
        b.rows().iter().map(|r| r.line.styled.text.clone()).collect()
    }

    fn numbered(from: i64, to: i64) -> Vec<LogLine> {
        (from..to).map(|i| line("aaa", i, &format!("line {i}"))).collect()
    }

    #[test]
    fn keeps_at_most_cap_lines_with_stable_ids() {
        let mut b = LogBuffer::new(3, vec!["aaa".into()]);
        b.push_lines(numbered(1, 3));
        let first_ids: Vec<u64> = b.rows().iter().map(|r| r.line.id).collect();
        b.push_lines(numbered(3, 6));
        assert_eq!(texts(&b), ["line 3", "line 4", "line 5"]);
        assert_eq!(b.kept(), 3);
        let ids: Vec<u64> = b.rows().iter().map(|r| r.line.id).collect();
        assert!(
            ids.iter().all(|i| !first_ids.contains(i)),
            "dropped lines' ids are not reused"
        );
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(b.oldest_ts(), Some(3));
    }

    #[test]
    fn a_reconnect_does_not_repeat_lines() {
        let mut b = LogBuffer::new(100, vec!["aaa".into(), "bbb".into()]);
        b.push_lines(vec![line("aaa", 5, "a5"), line("bbb", 3, "b3")]);
        assert_eq!(b.newest_ts(), Some(5));
        // Asked again from ts 5 on: the same line at 5 again, then new ones.
        b.push_lines(vec![
            line("aaa", 5, "a5"),
            line("aaa", 5, "a5 too"),
            line("bbb", 4, "b4"),
        ]);
        b.push_lines(vec![line("aaa", 4, "a4 from before")]);
        assert_eq!(texts(&b), ["a5", "b3", "a5 too", "b4"]);
    }

    #[test]
    fn stdout_and_stderr_may_interleave_out_of_order() {
        let mut b = LogBuffer::new(100, vec!["aaa".into()]);
        // The engine's stderr copier stamped 7 and wrote before stdout's 6.
        b.push_lines(vec![
            line("aaa", 5, "out 5"),
            line("aaa", 7, "E 7"),
            line("aaa", 6, "out 6"),
        ]);
        assert_eq!(texts(&b), ["out 5", "E 7", "out 6"]);
        // A reconnect from 7 sends each stream's lines from 7 on again.
        b.push_lines(vec![line("aaa", 7, "E 7"), line("aaa", 8, "out 8")]);
        assert_eq!(texts(&b), ["out 5", "E 7", "out 6", "out 8"]);
    }

    #[test]
    fn pause_holds_new_lines_and_resume_adds_them() {
        let mut b = LogBuffer::new(4, vec!["aaa".into()]);
        b.push_lines(numbered(1, 3));
        b.set_paused(true);
        b.push_lines(numbered(3, 5));
        assert_eq!(texts(&b), ["line 1", "line 2"], "the paused view does not move");
        assert_eq!(b.held(), (2, 0));
        // More than cap while paused: the oldest held ones are dropped, counted.
        b.push_lines(numbered(5, 9));
        assert_eq!(b.held(), (4, 2));
        b.set_paused(false);
        assert_eq!(texts(&b), ["line 5", "line 6", "line 7", "line 8"]);
        assert_eq!(b.held(), (0, 0));
    }

    #[test]
    fn the_filter_keeps_up_line_by_line() {
        let mut b = LogBuffer::new(3, vec!["aaa".into()]);
        let spec = SearchSpec {
            pattern: "1".into(),
            ..SearchSpec::default()
        };
        b.set_filter(Filter::new(&spec, Streams::Both).unwrap());
        b.push_lines(numbered(9, 12));
        assert_eq!(texts(&b), ["line 10", "line 11"]);
        assert_eq!(&*b.rows()[1].marks, &[5..6, 6..7]);
        b.push_lines(numbered(12, 14));
        // Kept: 11, 12, 13; 10 went with the oldest.
        assert_eq!(texts(&b), ["line 11", "line 12", "line 13"]);
        let generation = b.rows()[0].generation;
        b.set_filter(Filter::new(&SearchSpec::default(), Streams::Stderr).unwrap());
        assert!(texts(&b).is_empty());
        b.set_filter(Filter::default());
        assert_eq!(b.shown(), 3);
        assert_ne!(b.rows()[0].generation, generation, "rows are drawn again");
    }

    #[test]
    fn markers_show_through_any_filter() {
        let mut b = LogBuffer::new(10, vec!["aaa".into()]);
        b.set_filter(Filter::new(&SearchSpec::default(), Streams::Stderr).unwrap());
        b.push_lines(vec![line("aaa", 1, "out")]);
        b.push_marker(Some("aaa"), LineKind::Gap, "12 lines skipped".into());
        assert_eq!(texts(&b), ["12 lines skipped"]);
        assert_eq!(b.rows()[0].line.kind, LineKind::Gap);
        assert_eq!(b.rows()[0].line.ts_ns, 1);
    }

    #[test]
    fn older_lines_go_first_without_repeats() {
        let mut b = LogBuffer::new(3, vec!["aaa".into()]);
        b.push_lines(numbered(10, 13));
        let added = b.prepend_older(numbered(5, 11));
        assert_eq!(added, 3, "at most cap, the newest of those older than line 10");
        assert_eq!(texts(&b)[..4], ["line 7", "line 8", "line 9", "line 10"]);
        assert_eq!(b.kept(), 6);
        assert_eq!(b.oldest_ts(), Some(7));
        // New lines push the oldest out again.
        b.push_lines(numbered(13, 14));
        assert_eq!(texts(&b), ["line 11", "line 12", "line 13"]);
    }

    #[test]
    fn scrolling_back_keeps_at_most_twice_cap_and_drops_the_newest() {
        let mut b = LogBuffer::new(3, vec!["aaa".into()]);
        b.push_lines(numbered(20, 23));
        b.set_paused(true);
        b.push_lines(numbered(23, 25));
        assert_eq!(b.prepend_older(numbered(17, 20)), 3);
        assert!(!b.behind(), "twice cap fits");
        assert_eq!(b.held(), (2, 0));
        assert_eq!(b.prepend_older(numbered(14, 17)), 3);
        assert!(b.behind());
        assert_eq!(
            texts(&b),
            ["line 14", "line 15", "line 16", "line 17", "line 18", "line 19"],
            "the newest three went"
        );
        assert_eq!(b.held(), (0, 2), "held lines would leave a hole: dropped, counted");
        b.push_lines(numbered(25, 26));
        assert_eq!(b.kept(), 6, "a behind view takes no new lines");
        b.clear();
        assert!(!b.behind(), "starting over follows again");
    }

    #[test]
    fn sources_match_full_ids_and_prefixes() {
        let mut b = LogBuffer::new(3, vec!["abcdef".into(), "123456".into()]);
        assert_eq!(b.source("abcdef"), 0);
        assert_eq!(b.source("1234"), 1);
        assert_eq!(b.source("zzz"), 2);
        b.push_lines(numbered(1, 3));
        b.clear();
        assert_eq!(b.kept(), 0);
        assert_eq!(b.newest_ts(), None);
        assert_eq!(b.source("zzz"), 2, "sources survive a clear");
    }
}
