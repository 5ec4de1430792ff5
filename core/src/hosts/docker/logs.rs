//! A container's logs over the Docker engine API, as core's `LogLine`s:
//! timestamps always asked for and read into `ts_ns`, stdout and stderr
//! told apart, lines split on '\n' (a line the engine hands over in pieces
//! joined, one longer than `MAX_LINE` cut with a marker), bytes that are
//! not UTF-8 replaced. The engine applies `since` and `until` to the
//! second; berth to the nanosecond.

use super::map_error;
use crate::engine::EngineError;
use crate::model::{LogLine, LogQuery, LogStream, parse_rfc3339};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::collections::VecDeque;

/// The longest line kept whole, in bytes; the rest of a longer one is dropped.
pub(crate) const MAX_LINE: usize = 64 << 10;
/// What a cut line ends with.
pub(crate) const CUT: &str = " [… line cut at 64 KiB]";
/// The most text held while only the last lines before `until` are
/// wanted: the newest within it.
const KEEP_BYTES: usize = 64 << 20;

/// The engine's log stream of container `id` (the full id: it is what each
/// line names).
pub(super) fn stream(
    docker: &Docker,
    host: &str,
    id: &str,
    query: &LogQuery,
) -> BoxStream<'static, Result<LogLine, EngineError>> {
    let raw = docker.logs(id, Some(options(query))).boxed();
    // With `until`, the engine would take its last `tail` lines first and
    // then those before `until`: berth keeps the last `tail` before `until`.
    let keep_last = query.until_ns.and(query.tail).map(|n| n as usize);
    let state = State {
        raw,
        splitter: Splitter::new(id),
        query: query.clone(),
        keep_last,
        kept: VecDeque::new(),
        kept_bytes: 0,
        ready: VecDeque::new(),
        done: false,
        host: host.to_string(),
        id: id.to_string(),
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(line) = st.ready.pop_front() {
                return Some((Ok(line), st));
            }
            if st.done {
                return None;
            }
            let mut lines = Vec::new();
            match st.raw.next().await {
                Some(Ok(output)) => {
                    let (stream, message) = match output {
                        LogOutput::StdOut { message } | LogOutput::Console { message } => (LogStream::Stdout, message),
                        LogOutput::StdErr { message } => (LogStream::Stderr, message),
                        LogOutput::StdIn { .. } => continue,
                    };
                    st.splitter.push(stream, &message, &mut lines);
                    st.accept(lines);
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(map_error(&st.host, &st.id, e)), st));
                }
                None => {
                    st.splitter.finish(&mut lines);
                    st.accept(lines);
                    let kept = std::mem::take(&mut st.kept);
                    st.ready.extend(kept);
                    st.done = true;
                }
            }
        }
    })
    .boxed()
}

struct State {
    raw: BoxStream<'static, Result<LogOutput, bollard::errors::Error>>,
    splitter: Splitter,
    query: LogQuery,
    /// Keep only the last this many lines, sent at the end.
    keep_last: Option<usize>,
    kept: VecDeque<LogLine>,
    kept_bytes: usize,
    ready: VecDeque<LogLine>,
    done: bool,
    host: String,
    id: String,
}

impl State {
    /// Lines within the query's range are ready, or kept until the end
    /// when only the last of them are wanted.
    fn accept(&mut self, lines: Vec<LogLine>) {
        for line in lines.into_iter().filter(|l| self.query.covers(l.ts_ns)) {
            match self.keep_last {
                None => self.ready.push_back(line),
                Some(n) => {
                    self.kept_bytes += line.text.len();
                    self.kept.push_back(line);
                    while self.kept.len() > n || self.kept_bytes > KEEP_BYTES {
                        let Some(old) = self.kept.pop_front() else { break };
                        self.kept_bytes -= old.text.len();
                    }
                }
            }
        }
    }
}

/// The engine's parameters for `query`: seconds, rounded outwards, and the
/// tail only when no `until` applies after it.
fn options(query: &LogQuery) -> LogsOptions {
    let secs = |ns: i64, up: bool| {
        let s = if up {
            ns.div_euclid(1_000_000_000) + i64::from(ns.rem_euclid(1_000_000_000) > 0)
        } else {
            ns.div_euclid(1_000_000_000)
        };
        s.clamp(0, i64::from(i32::MAX)) as i32
    };
    LogsOptions {
        follow: query.follow,
        stdout: true,
        stderr: true,
        since: query.since_ns.map_or(0, |ns| secs(ns, false)),
        until: query.until_ns.map_or(0, |ns| secs(ns, true).max(1)),
        timestamps: true,
        tail: match (query.tail, query.until_ns) {
            (Some(n), None) => n.to_string(),
            _ => "all".to_string(),
        },
    }
}

/// Turns the engine's messages into lines, per stream.
pub(crate) struct Splitter {
    container: String,
    /// stdout's line under way, then stderr's.
    open: [Partial; 2],
    /// The last timestamp read, for a message without one.
    last_ts: i64,
}

#[derive(Default)]
struct Partial {
    bytes: Vec<u8>,
    ts_ns: i64,
    started: bool,
    cut: bool,
}

impl Splitter {
    pub(crate) fn new(container: &str) -> Splitter {
        Splitter {
            container: container.to_string(),
            open: Default::default(),
            last_ts: 0,
        }
    }

    /// One message of the engine: its timestamp, then text. Each line it
    /// completes goes to `out`; an unfinished one waits for the next
    /// message of the same stream (which has a timestamp of its own).
    pub(crate) fn push(&mut self, stream: LogStream, message: &[u8], out: &mut Vec<LogLine>) {
        let (ts, mut rest) = match split_stamp(message) {
            Some((ts, rest)) => (ts, rest),
            None => (self.last_ts, message),
        };
        self.last_ts = ts;
        loop {
            match rest.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.append(stream, &rest[..end], ts);
                    out.push(self.take(stream));
                    rest = &rest[end + 1..];
                }
                None => {
                    if !rest.is_empty() {
                        self.append(stream, rest, ts);
                    }
                    return;
                }
            }
        }
    }

    /// The end of the engine's stream: what is under way, as lines.
    pub(crate) fn finish(&mut self, out: &mut Vec<LogLine>) {
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            if self.open[index(stream)].started {
                out.push(self.take(stream));
            }
        }
    }

    fn append(&mut self, stream: LogStream, piece: &[u8], ts: i64) {
        let part = &mut self.open[index(stream)];
        if !part.started {
            part.started = true;
            part.ts_ns = ts;
        }
        if part.cut {
            return;
        }
        let room = MAX_LINE - part.bytes.len();
        if piece.len() > room {
            part.bytes.extend_from_slice(&piece[..room]);
            part.cut = true;
        } else {
            part.bytes.extend_from_slice(piece);
        }
    }

    fn take(&mut self, stream: LogStream) -> LogLine {
        let part = std::mem::take(&mut self.open[index(stream)]);
        let mut bytes = part.bytes;
        if !part.cut && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let mut text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if part.cut {
            text.push_str(CUT);
        }
        LogLine {
            container: self.container.clone(),
            stream,
            ts_ns: part.ts_ns,
            text,
        }
    }
}

fn index(stream: LogStream) -> usize {
    match stream {
        LogStream::Stdout => 0,
        LogStream::Stderr => 1,
    }
}

/// The engine's timestamp at the start of a message (`2026-…Z `), and the rest.
fn split_stamp(message: &[u8]) -> Option<(i64, &[u8])> {
    let space = message.iter().take(40).position(|b| *b == b' ')?;
    let stamp = std::str::from_utf8(&message[..space]).ok()?;
    Some((parse_rfc3339(stamp)?, &message[space + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2023-11-14T22:13:20.000000001Z";
    const T2: &str = "2023-11-14T22:13:20.000000002Z";
    const NS1: i64 = 1_700_000_000_000_000_001;

    fn texts(lines: &[LogLine]) -> Vec<(&str, LogStream, i64)> {
        lines.iter().map(|l| (l.text.as_str(), l.stream, l.ts_ns)).collect()
    }

    #[test]
    fn lines_are_split_stamped_and_told_apart_by_stream() {
        let mut s = Splitter::new("abc");
        let mut out = Vec::new();
        s.push(LogStream::Stdout, format!("{T1} one\n").as_bytes(), &mut out);
        s.push(LogStream::Stderr, format!("{T2} two\r\n").as_bytes(), &mut out);
        // Several lines in one message share its stamp; an empty line is a line.
        s.push(LogStream::Stdout, format!("{T2} a\n\nb\n").as_bytes(), &mut out);
        assert_eq!(
            texts(&out),
            [
                ("one", LogStream::Stdout, NS1),
                ("two", LogStream::Stderr, NS1 + 1),
                ("a", LogStream::Stdout, NS1 + 1),
                ("", LogStream::Stdout, NS1 + 1),
                ("b", LogStream::Stdout, NS1 + 1),
            ]
        );
        assert!(out.iter().all(|l| l.container == "abc"));
    }

    #[test]
    fn a_line_in_pieces_is_joined_per_stream_and_keeps_its_first_stamp() {
        let mut s = Splitter::new("abc");
        let mut out = Vec::new();
        s.push(LogStream::Stdout, format!("{T1} hel").as_bytes(), &mut out);
        s.push(LogStream::Stderr, format!("{T1} err\n").as_bytes(), &mut out);
        s.push(LogStream::Stdout, format!("{T2} lo\n").as_bytes(), &mut out);
        s.push(LogStream::Stdout, format!("{T2} tail without end").as_bytes(), &mut out);
        assert_eq!(
            texts(&out),
            [("err", LogStream::Stderr, NS1), ("hello", LogStream::Stdout, NS1)]
        );
        out.clear();
        s.finish(&mut out);
        assert_eq!(texts(&out), [("tail without end", LogStream::Stdout, NS1 + 1)]);
    }

    #[test]
    fn a_long_line_is_cut_and_bad_bytes_replaced() {
        let mut s = Splitter::new("abc");
        let mut out = Vec::new();
        let chunk = "x".repeat(40 << 10);
        s.push(LogStream::Stdout, format!("{T1} {chunk}").as_bytes(), &mut out);
        s.push(LogStream::Stdout, format!("{T2} {chunk}").as_bytes(), &mut out);
        s.push(LogStream::Stdout, format!("{T2} {chunk}\nnext\n").as_bytes(), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].text.len(), MAX_LINE + CUT.len());
        assert!(out[0].text.ends_with(CUT));
        assert_eq!(out[1].text, "next");

        out.clear();
        let mut bad = format!("{T1} ").into_bytes();
        bad.extend_from_slice(b"ok \xff\xfe end\n");
        s.push(LogStream::Stderr, &bad, &mut out);
        assert_eq!(out[0].text, "ok \u{fffd}\u{fffd} end");
        // A message without a stamp takes the last one seen.
        s.push(LogStream::Stderr, b"bare\n", &mut out);
        assert_eq!(out[1].ts_ns, NS1);
    }

    #[test]
    fn the_engine_is_asked_in_whole_seconds_outwards() {
        let q = LogQuery {
            tail: Some(10),
            since_ns: Some(1_500_000_000),
            until_ns: Some(2_000_000_001),
            follow: false,
        };
        let o = options(&q);
        assert_eq!((o.since, o.until, o.tail.as_str()), (1, 3, "all"));
        assert!(o.timestamps && o.stdout && o.stderr);
        let o = options(&LogQuery {
            tail: Some(10),
            follow: true,
            ..Default::default()
        });
        assert_eq!((o.since, o.until, o.tail.as_str(), o.follow), (0, 0, "10", true));
    }
}
