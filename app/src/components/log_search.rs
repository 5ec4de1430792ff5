//! Which log lines the logs page shows and what it highlights in them: a
//! search (plain text or a regular expression, case-sensitive or not,
//! inverted or not) and a choice of streams, checked over a line's visible
//! text; and a line's styled runs split at the matches. Regular expressions
//! compile in the browser only (regex-lite); the server renders no search.

use super::ansi::Style;
use berth_core::model::{LogStream, MAX_PATTERN};
use std::ops::Range;

/// Which of a container's outputs the page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Streams {
    #[default]
    Both,
    Stdout,
    Stderr,
}

impl Streams {
    pub fn parse(value: &str) -> Streams {
        match value {
            "stdout" => Streams::Stdout,
            "stderr" => Streams::Stderr,
            _ => Streams::Both,
        }
    }

    /// The REST API's `stream` parameter, when it narrows.
    pub fn as_param(self) -> Option<&'static str> {
        match self {
            Streams::Both => None,
            Streams::Stdout => Some("stdout"),
            Streams::Stderr => Some("stderr"),
        }
    }

    fn shows(self, stream: LogStream) -> bool {
        matches!(
            (self, stream),
            (Streams::Both, _) | (Streams::Stdout, LogStream::Stdout) | (Streams::Stderr, LogStream::Stderr)
        )
    }
}

/// What the person typed in the search controls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchSpec {
    pub pattern: String,
    pub regex: bool,
    /// Case-sensitive.
    pub case: bool,
    /// Show the lines that do not match.
    pub invert: bool,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// Needle as typed (case-sensitive) or folded to lower case.
    Plain { needle: String, case: bool },
    #[cfg(any(feature = "hydrate", test))]
    Regex(regex_lite::Regex),
}

impl Matcher {
    /// Byte ranges of the non-empty matches in `text`, in order.
    fn find(&self, text: &str) -> Vec<Range<usize>> {
        match self {
            Matcher::Plain { needle, case: true } => text
                .match_indices(needle.as_str())
                .map(|(i, m)| i..i + m.len())
                .collect(),
            Matcher::Plain { needle, case: false } => find_folded(text, needle),
            #[cfg(any(feature = "hydrate", test))]
            Matcher::Regex(re) => re
                .find_iter(text)
                .map(|m| m.range())
                .filter(|r| !r.is_empty())
                .collect(),
        }
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            #[cfg(any(feature = "hydrate", test))]
            Matcher::Regex(re) => re.is_match(text),
            plain => !plain.find(text).is_empty(),
        }
    }
}

/// Case-insensitive plain search: ASCII needles on an ASCII-folded copy
/// (same byte offsets), others char by char with Unicode lower case.
fn find_folded(text: &str, needle: &str) -> Vec<Range<usize>> {
    if needle.is_ascii() {
        let hay = text.to_ascii_lowercase();
        return hay.match_indices(needle).map(|(i, m)| i..i + m.len()).collect();
    }
    let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
    let needle: Vec<char> = needle.chars().collect();
    let mut found = Vec::new();
    let mut starts = text.char_indices();
    while let Some((start, _)) = starts.next() {
        let mut chars = text[start..].char_indices();
        let matched = needle.iter().all(|&n| chars.next().is_some_and(|(_, c)| fold(c) == n));
        if matched {
            let end = chars.next().map_or(text.len(), |(i, _)| start + i);
            found.push(start..end);
            // Matches do not overlap: go on after this one.
            while starts.clone().next().is_some_and(|(i, _)| i < end) {
                starts.next();
            }
        }
    }
    found
}

/// The page's filter: a search (none when the box is empty) and streams.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    matcher: Option<Matcher>,
    invert: bool,
    streams: Streams,
}

impl Filter {
    /// Checks what the person typed; the error says what is wrong.
    pub fn new(spec: &SearchSpec, streams: Streams) -> Result<Filter, String> {
        if spec.pattern.chars().count() > MAX_PATTERN {
            return Err(format!("a search may be at most {MAX_PATTERN} characters long"));
        }
        let matcher = match (&spec.pattern[..], spec.regex) {
            ("", _) => None,
            (pattern, false) => Some(Matcher::Plain {
                needle: if spec.case {
                    pattern.to_string()
                } else if pattern.is_ascii() {
                    pattern.to_ascii_lowercase()
                } else {
                    pattern.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect()
                },
                case: spec.case,
            }),
            (pattern, true) => Some(compile(pattern, spec.case)?),
        };
        Ok(Filter {
            matcher,
            invert: spec.invert,
            streams,
        })
    }

    /// Whether the filter narrows anything.
    pub fn is_active(&self) -> bool {
        self.matcher.is_some() || self.streams != Streams::Both
    }

    /// What to highlight in `text` whether or not the filter shows it (the
    /// server's search results, found by the server).
    pub fn marks(&self, text: &str) -> Vec<Range<usize>> {
        match &self.matcher {
            Some(m) if !self.invert => m.find(text),
            _ => Vec::new(),
        }
    }

    /// Whether a line of `stream` with this visible text is shown (`None`:
    /// hidden), and the ranges to highlight in it. Marker lines (no stream)
    /// always show.
    pub fn check(&self, stream: Option<LogStream>, text: &str) -> Option<Vec<Range<usize>>> {
        let Some(stream) = stream else {
            return Some(Vec::new());
        };
        if !self.streams.shows(stream) {
            return None;
        }
        match &self.matcher {
            None => Some(Vec::new()),
            Some(m) if self.invert => (!m.is_match(text)).then(Vec::new),
            Some(m) => {
                let found = m.find(text);
                (!found.is_empty() || m.is_match(text)).then_some(found)
            }
        }
    }
}

#[cfg(any(feature = "hydrate", test))]
fn compile(pattern: &str, case: bool) -> Result<Matcher, String> {
    regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(!case)
        .size_limit(1 << 20)
        .nest_limit(64)
        .build()
        .map(Matcher::Regex)
        .map_err(|e| format!("not a regular expression: {e}"))
}

#[cfg(not(any(feature = "hydrate", test)))]
fn compile(_: &str, _: bool) -> Result<Matcher, String> {
    Err("regular expressions are searched in the browser".into())
}

/// One piece of a line as drawn: a byte range of its text, its style, and
/// whether it is part of a match.
pub type Piece = (Range<usize>, Style, bool);

/// Splits styled runs at the edges of `marks` (sorted, not overlapping).
pub fn pieces(runs: &[(Range<usize>, Style)], marks: &[Range<usize>]) -> Vec<Piece> {
    if marks.is_empty() {
        return runs.iter().map(|(r, s)| (r.clone(), *s, false)).collect();
    }
    let mut out = Vec::with_capacity(runs.len() + 2 * marks.len());
    let mut marks = marks.iter().peekable();
    for (run, style) in runs {
        let mut at = run.start;
        while at < run.end {
            // Marks that end before this point are done.
            while marks.peek().is_some_and(|m| m.end <= at) {
                marks.next();
            }
            let (end, marked) = match marks.peek() {
                Some(m) if m.start <= at => (m.end.min(run.end), true),
                Some(m) => (m.start.min(run.end), false),
                None => (run.end, false),
            };
            out.push((at..end, *style, marked));
            at = end;
        }
    }
    out
}

#[cfg(test)]
// Lists of match ranges that happen to hold one.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use crate::components::ansi::{Colour, parse};

    fn filter(pattern: &str, regex: bool, case: bool, invert: bool) -> Filter {
        let spec = SearchSpec {
            pattern: pattern.into(),
            regex,
            case,
            invert,
        };
        Filter::new(&spec, Streams::Both).unwrap()
    }

    const OUT: Option<LogStream> = Some(LogStream::Stdout);

    #[test]
    fn plain_search_with_and_without_case() {
        let f = filter("Error", false, true, false);
        assert_eq!(f.check(OUT, "an Error and an error"), Some(vec![3..8]));
        assert_eq!(f.check(OUT, "all fine"), None);
        let f = filter("ERROR", false, false, false);
        assert_eq!(f.check(OUT, "an Error and an error"), Some(vec![3..8, 16..21]));
        // Non-ASCII needles fold per character; offsets stay right.
        let f = filter("ÉTÉ", false, false, false);
        let text = "un été, un Été";
        let found = f.check(OUT, text).unwrap();
        assert_eq!(
            found.iter().map(|r| &text[r.clone()]).collect::<Vec<_>>(),
            ["été", "Été"]
        );
        assert_eq!(
            filter("aa", false, false, false).check(OUT, "aaaa"),
            Some(vec![0..2, 2..4])
        );
    }

    #[test]
    fn regex_search_and_invert() {
        let f = filter(r"id=\d+", true, true, false);
        assert_eq!(f.check(OUT, "x id=42 y id=7"), Some(vec![2..7, 10..14]));
        let f = filter("WARN|error", true, false, false);
        assert_eq!(f.check(OUT, "warn: Error"), Some(vec![0..4, 6..11]));
        let f = filter("error", false, false, true);
        assert_eq!(f.check(OUT, "all fine"), Some(vec![]));
        assert_eq!(f.check(OUT, "an ERROR"), None);
        // A pattern that only matches empty shows the line, highlighting nothing.
        assert_eq!(filter("^", true, true, false).check(OUT, "x"), Some(vec![]));
    }

    #[test]
    fn bad_input_is_refused_in_words() {
        let spec = |pattern: &str, regex| SearchSpec {
            pattern: pattern.into(),
            regex,
            ..SearchSpec::default()
        };
        let e = Filter::new(&spec("(unclosed", true), Streams::Both).unwrap_err();
        assert!(e.starts_with("not a regular expression"), "{e}");
        let e = Filter::new(&spec(&"x".repeat(MAX_PATTERN + 1), false), Streams::Both).unwrap_err();
        assert!(e.contains("at most"), "{e}");
        assert!(
            Filter::new(&spec("(unclosed", false), Streams::Both).is_ok(),
            "plain text is literal"
        );
    }

    #[test]
    fn streams_and_markers() {
        let f = Filter::new(&SearchSpec::default(), Streams::Stderr).unwrap();
        assert!(f.is_active());
        assert_eq!(f.check(OUT, "x"), None);
        assert_eq!(f.check(Some(LogStream::Stderr), "x"), Some(vec![]));
        assert_eq!(f.check(None, "10 lines skipped"), Some(vec![]), "markers always show");
        assert!(!Filter::default().is_active());
        assert_eq!(Streams::parse("stdout").as_param(), Some("stdout"));
        assert_eq!(Streams::parse("anything").as_param(), None);
    }

    #[test]
    fn marks_split_styled_runs() {
        let s = parse("ab\x1b[31mcd\x1b[0mef");
        let red = Style {
            fg: Some(Colour::Indexed(1)),
            ..Style::default()
        };
        let plain = Style::default();
        // A match across the edge of two runs, and one inside a run.
        let p = pieces(&s.runs, &[1..3, 4..5]);
        assert_eq!(
            p,
            vec![
                (0..1, plain, false),
                (1..2, plain, true),
                (2..3, red, true),
                (3..4, red, false),
                (4..5, plain, true),
                (5..6, plain, false),
            ]
        );
        assert_eq!(pieces(&s.runs, &[]).len(), 3);
        assert_eq!(pieces(&s.runs, &[0..6]).iter().filter(|p| p.2).count(), 3);
    }
}
