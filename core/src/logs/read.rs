//! Container logs on request, straight from the engine and bounded: a
//! read asks `access` once (`ReadLogs`; like inspecting, an allowed read is
//! not recorded, a refusal is); a download asks for `DownloadLogs` and is
//! recorded as `logs.download` with what it held. Both are `Host`'s
//! methods, so a caller asks the host it holds.
//! Not here: the live view shared by followers (`hub`), stored lines
//! (`stored`).

use super::download::{LogDownload, Recording, text as download_text};
use super::search::Matcher;
use crate::access::Caller;
use crate::hosts::{Host, HostError};
use crate::model::{LogLine, LogQuery, LogSearch, MAX_TAIL, Operation, Outcome};
use futures_util::StreamExt;
use std::collections::VecDeque;

/// The most text one read returns: its last lines within this.
const MAX_READ_BYTES: usize = 64 << 20;

impl Host {
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
        let mut lines = self.engine_logs(&full, &query);
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
            .host(self.id().0.clone())
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
        let mut lines = self.engine_logs(&full, &query);
        let first = lines.next().await;
        if let Some(Err(e)) = first {
            self.events()
                .record(event.outcome(Outcome::Error(e.to_string())).details(details));
            return Err(e.into());
        }
        // No first line: the stream has ended, and must not be polled again
        // (an empty file, not a panic).
        let lines = match first {
            None => futures_util::stream::empty().boxed(),
            Some(first) => futures_util::stream::iter([first]).chain(lines).boxed(),
        };
        let record = Recording::new(self.events().clone(), event, details);
        Ok(LogDownload {
            filename: format!("{name}.log"),
            body: download_text(lines, matcher, timestamps, record),
        })
    }
}
