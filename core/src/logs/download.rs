//! A container's logs as a file: one text line per log line (`TIME STREAM
//! TEXT`, or `STREAM TEXT` without timestamps), streamed in chunks as the
//! engine gives them, never held whole. Recorded as `logs.download` once
//! it ends: who, the host, the containers, the query, how many lines and
//! bytes, and whether the reader took it to its end.

use super::Matcher;
use crate::engine::EngineError;
use crate::events::EventLog;
use crate::model::{LogLine, NewEvent, Outcome};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// Lines formatted into one chunk at most.
const CHUNK_LINES: usize = 1024;

/// A download, ready to stream.
pub struct LogDownload {
    /// A file name for it (`NAME.log`).
    pub filename: String,
    /// The file, in chunks; an engine failure midway ends it with the error.
    pub body: BoxStream<'static, Result<Bytes, EngineError>>,
}

/// The record of a download, written when it is dropped: at the end, or
/// when the reader goes away first (then `complete` is false).
pub(crate) struct Recording {
    events: EventLog,
    event: Option<NewEvent>,
    details: serde_json::Value,
    lines: u64,
    bytes: u64,
    complete: bool,
    error: Option<String>,
}

impl Recording {
    /// `event` is recorded with `details` (an object) and the counts.
    pub(crate) fn new(events: EventLog, event: NewEvent, details: serde_json::Value) -> Recording {
        Recording {
            events,
            event: Some(event),
            details,
            lines: 0,
            bytes: 0,
            complete: false,
            error: None,
        }
    }
}

impl Recording {
    /// The reader took it to its end.
    fn finish(&mut self) {
        self.complete = true;
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let Some(event) = self.event.take() else { return };
        let mut details = std::mem::take(&mut self.details);
        if let Some(map) = details.as_object_mut() {
            map.insert("lines".into(), self.lines.into());
            map.insert("bytes".into(), self.bytes.into());
            map.insert("complete".into(), self.complete.into());
        }
        let outcome = match self.error.take() {
            None => Outcome::Ok,
            Some(e) => Outcome::Error(e),
        };
        self.events.record(event.outcome(outcome).details(details));
    }
}

struct State {
    chunks: futures_util::stream::ReadyChunks<BoxStream<'static, Result<LogLine, EngineError>>>,
    timestamps: bool,
    record: Recording,
    failed: Option<EngineError>,
    done: bool,
}

/// The lines of `lines` that `matcher` lets through as the file's chunks,
/// counted into `record`.
pub(crate) fn text(
    lines: BoxStream<'static, Result<LogLine, EngineError>>,
    matcher: Matcher,
    timestamps: bool,
    record: Recording,
) -> BoxStream<'static, Result<Bytes, EngineError>> {
    let lines = lines
        .filter(move |l| std::future::ready(l.as_ref().map_or(true, |l| matcher.matches(l))))
        .boxed();
    let state = State {
        chunks: lines.ready_chunks(CHUNK_LINES),
        timestamps,
        record,
        failed: None,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if let Some(e) = st.failed.take() {
            st.done = true;
            return Some((Err(e), st));
        }
        if st.done {
            return None;
        }
        let Some(items) = st.chunks.next().await else {
            st.record.finish();
            return None;
        };
        let mut text = String::new();
        for item in items {
            match item {
                Ok(line) => {
                    text.push_str(&line.to_text(st.timestamps));
                    text.push('\n');
                    st.record.lines += 1;
                }
                Err(e) => {
                    st.record.error = Some(e.to_string());
                    st.failed = Some(e);
                    break;
                }
            }
        }
        st.record.bytes += text.len() as u64;
        Some((Ok(Bytes::from(text)), st))
    })
    .boxed()
}
