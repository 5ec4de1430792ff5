//! A host's container logs for callers. Reading asks `access` once
//! (`ReadLogs`; like inspecting, an allowed read is not recorded, a refusal
//! is); a download asks for `DownloadLogs` and is recorded as
//! `logs.download` with what it held. Both go straight to the engine and
//! are bounded; the live view shared by followers is `crate::logs`'s,
//! which reads the engine through `engine_logs` once its caller was let in.

use super::engine::EngineError;
use super::{Host, HostError};
use crate::access::Caller;
use crate::logs::{LogDownload, Matcher, Recording, download_text};
use crate::model::{ContainerDetail, LogLine, LogQuery, LogSearch, MAX_TAIL, Operation, Outcome};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::collections::VecDeque;

/// The most text one read returns: its last lines within this.
const MAX_READ_BYTES: usize = 64 << 20;

/// Checks a container reference from a request: a name, an id or an id
/// prefix, never anything that would change the engine's URL.
fn check_reference(id: &str) -> Result<(), HostError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !id.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(HostError::Invalid(format!(
            "'{}' is not a container name or id (letters, digits, '_', '.', '-')",
            id.chars().take(64).collect::<String>()
        )))
    }
}

impl Host {
    /// The full id of container `id` (a full id, a unique id prefix of six
    /// or more, or a name), from the list as last seen, else the engine.
    pub async fn resolve_container(&self, id: &str) -> Result<String, HostError> {
        check_reference(id)?;
        let list = self.containers();
        if let Some(c) = list.iter().find(|c| c.id == id || c.name == id) {
            return Ok(c.id.clone());
        }
        if id.len() >= 6 {
            let mut prefixed = list.iter().filter(|c| c.id.starts_with(id));
            if let (Some(c), None) = (prefixed.next(), prefixed.next()) {
                return Ok(c.id.clone());
            }
        }
        Ok(self.engine.inspect(id).await?.id)
    }

    /// The lines of container `id` that `query` asks for (no following),
    /// those `search` lets through, for `caller`: at most `MAX_TAIL` (the
    /// last ones; the last `MAX_TAIL` when no tail is asked for) and
    /// `MAX_READ_BYTES` of text. The search looks through the lines the
    /// query selects, on berth's side.
    pub async fn read_logs(
        &self,
        caller: &Caller,
        id: &str,
        query: &LogQuery,
        search: &LogSearch,
    ) -> Result<Vec<LogLine>, HostError> {
        let target = format!("container:{}", self.container_name(id));
        self.check(caller, Operation::ReadLogs, Some(target)).await?;
        let matcher = Matcher::new(search).map_err(HostError::Invalid)?;
        let query = LogQuery {
            tail: Some(query.tail.unwrap_or(MAX_TAIL)),
            follow: false,
            ..query.clone()
        };
        query.validate().map_err(HostError::Invalid)?;
        let full = self.resolve_container(id).await?;
        let mut lines = self.engine.logs(&full, &query);
        let mut kept: VecDeque<LogLine> = VecDeque::new();
        let mut bytes = 0;
        while let Some(line) = lines.next().await {
            let line = line?;
            if !matcher.matches(&line) {
                continue;
            }
            bytes += line.text.len();
            kept.push_back(line);
            while kept.len() > MAX_TAIL as usize || bytes > MAX_READ_BYTES {
                let Some(old) = kept.pop_front() else { break };
                bytes -= old.text.len();
            }
        }
        Ok(kept.into())
    }

    /// Container `id`'s logs as `query` asks (no following, every line in
    /// range when no tail is asked for), those `search` lets through, as a
    /// text file, for `caller` (`DownloadLogs`). Streamed, never held
    /// whole; recorded as `logs.download` when it ends, with the number of
    /// lines and bytes.
    pub async fn download_logs(
        &self,
        caller: &Caller,
        id: &str,
        query: &LogQuery,
        search: &LogSearch,
        timestamps: bool,
    ) -> Result<LogDownload, HostError> {
        let name = self.container_name(id);
        let target = format!("container:{name}");
        self.check(caller, Operation::DownloadLogs, Some(target.clone()))
            .await?;
        let matcher = Matcher::new(search).map_err(HostError::Invalid)?;
        let query = LogQuery {
            follow: false,
            ..query.clone()
        };
        query.validate().map_err(HostError::Invalid)?;
        let full = self.resolve_container(id).await?;
        let name = self.container_name(&full);
        let event = caller
            .event(Operation::DownloadLogs.kind())
            .host(self.id.0.clone())
            .target(format!("container:{name}"));
        let details = serde_json::json!({
            "containers": [name],
            "query": { "tail": query.tail, "since_ns": query.since_ns, "until_ns": query.until_ns },
            "search": (!search.is_everything()).then_some(search),
            "timestamps": timestamps,
        });
        // The engine refuses some containers only once asked (a dead one,
        // a log driver it cannot read): its first answer is awaited, so
        // that such a refusal is the response's status, not a file cut off.
        let mut lines = self.engine.logs(&full, &query);
        let first = lines.next().await;
        if let Some(Err(e)) = first {
            self.events
                .record(event.outcome(Outcome::Error(e.to_string())).details(details));
            return Err(e.into());
        }
        // No first line: the stream has ended, and must not be polled again
        // (an empty file, not a panic).
        let lines = match first {
            None => futures_util::stream::empty().boxed(),
            Some(first) => futures_util::stream::iter([first]).chain(lines).boxed(),
        };
        let record = Recording::new(self.events.clone(), event, details);
        Ok(LogDownload {
            filename: format!("{name}.log"),
            body: download_text(lines, matcher, timestamps, record),
        })
    }

    /// The engine's log stream of container `id` (a full id), for the log
    /// hub, whose callers were let in already.
    pub(crate) fn engine_logs(&self, id: &str, query: &LogQuery) -> BoxStream<'static, Result<LogLine, EngineError>> {
        self.engine.logs(id, query)
    }

    /// The container's state from the engine, for the log hub.
    pub(crate) async fn engine_inspect(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        self.engine.inspect(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_and_ids_reach_the_engine() {
        for ok in ["web", "3f2a9c1b7d44", "my_app.web-1"] {
            assert!(check_reference(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../images/json", "web?x=1", "a/b", "-rf", &"x".repeat(129)] {
            assert!(matches!(check_reference(bad), Err(HostError::Invalid(_))), "{bad}");
        }
    }
}
