//! Searching lines on request (the REST API's `search`): a text or a
//! regular expression (the `regex` crate: linear time, no backtracking),
//! ignoring case unless asked, optionally one stream only, optionally the
//! lines that do not match. The pattern's compiled size is bounded, so a
//! short pattern cannot make a huge automaton.

use crate::model::{LogLine, LogSearch};
use regex::{Regex, RegexBuilder};

/// The most memory a compiled pattern may take.
const SIZE_LIMIT: usize = 1 << 20;

/// A checked, compiled `LogSearch`.
pub struct Matcher {
    regex: Option<Regex>,
    invert: bool,
    stream: Option<crate::model::LogStream>,
}

impl Matcher {
    /// The search, compiled; the error says what is wrong with the pattern.
    pub fn new(search: &LogSearch) -> Result<Matcher, String> {
        search.validate()?;
        let regex = if search.pattern.is_empty() {
            None
        } else {
            let source = if search.regex {
                search.pattern.clone()
            } else {
                regex::escape(&search.pattern)
            };
            let built = RegexBuilder::new(&source)
                .case_insensitive(!search.case_sensitive)
                .size_limit(SIZE_LIMIT)
                .dfa_size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| match e {
                    regex::Error::CompiledTooBig(_) => {
                        "the search pattern is too complex: make it simpler (fewer or smaller repetitions)".to_string()
                    }
                    other => format!("the search pattern is not a valid regular expression: {other}"),
                })?;
            Some(built)
        };
        Ok(Matcher {
            regex,
            invert: search.invert,
            stream: search.stream,
        })
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        if self.stream.is_some_and(|s| s != line.stream) {
            return false;
        }
        let found = self.regex.as_ref().is_none_or(|r| r.is_match(&line.text));
        found != self.invert
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn line(stream: LogStream, text: &str) -> LogLine {
        LogLine {
            container: "c".into(),
            stream,
            ts_ns: 0,
            text: text.into(),
        }
    }

    #[test]
    fn text_regex_case_stream_and_invert() {
        let search = |pattern: &str, regex, case_sensitive, invert, stream| LogSearch {
            pattern: pattern.into(),
            regex,
            case_sensitive,
            invert,
            stream,
        };
        let err = line(LogStream::Stderr, "ERROR: disk full (sda1)");
        let out = line(LogStream::Stdout, "all good");
        let m = Matcher::new(&search("error", false, false, false, None)).unwrap();
        assert!(m.matches(&err) && !m.matches(&out));
        let m = Matcher::new(&search("error", false, true, false, None)).unwrap();
        assert!(!m.matches(&err), "case is matched when asked");
        // A text is a text: its parentheses are not a group.
        let m = Matcher::new(&search("(sda1)", false, false, false, None)).unwrap();
        assert!(m.matches(&err));
        let m = Matcher::new(&search(r"disk \w+ \(sd[a-z]\d\)$", true, false, false, None)).unwrap();
        assert!(m.matches(&err));
        let m = Matcher::new(&search("error", false, false, true, None)).unwrap();
        assert!(!m.matches(&err) && m.matches(&out));
        let m = Matcher::new(&search("", false, false, false, Some(LogStream::Stdout))).unwrap();
        assert!(!m.matches(&err) && m.matches(&out));

        let bad = Matcher::new(&search("(unclosed", true, false, false, None))
            .err()
            .unwrap();
        assert!(
            bad.starts_with("the search pattern is not a valid regular expression"),
            "{bad}"
        );
        let huge = Matcher::new(&search("(a{1000}){1000}", true, false, false, None))
            .err()
            .unwrap();
        assert!(huge.contains("too complex"), "{huge}");
        let long = "x".repeat(crate::model::MAX_PATTERN + 1);
        assert!(Matcher::new(&search(&long, false, false, false, None)).is_err());
    }
}
