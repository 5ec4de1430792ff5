//! The addresses of the logs API as the browser calls it: the live feed
//! (`/ws/logs`), a container's lines (`GET …/logs`, searched on request)
//! and their download (`GET …/logs/download`), with their parameters
//! encoded; the fetch of a list of lines with the session cookie; and
//! several containers' lines merged in time order.

use crate::api::events::encode;
use berth_core::model::{LogLine, LogQuery};

/// A time as the API takes it: Unix seconds with nanoseconds (exact).
fn time_param(ts_ns: i64) -> String {
    format!(
        "{}.{:09}",
        ts_ns.div_euclid(1_000_000_000),
        ts_ns.rem_euclid(1_000_000_000)
    )
}

/// `?a=1&b=x` from the pairs that have a value ("" when none do).
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The live feed of `ids` (without the ticket): from `since` when resuming.
pub fn ws_path(ids: &[String], q: &LogQuery, resume_from: Option<i64>) -> String {
    let (tail, since) = match resume_from {
        Some(ts) => (None, Some(ts)),
        None => (q.tail, q.since_ns),
    };
    query(&[
        ("containers", Some(ids.join(","))),
        ("tail", tail.map(|t| t.to_string())),
        ("since", since.map(time_param)),
    ])
    .replacen('?', "/ws/logs?", 1)
}

/// What the REST call adds to a range: the server's search, a stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RestSearch {
    pub pattern: String,
    pub regex: bool,
    pub case: bool,
    pub invert: bool,
    pub stream: Option<&'static str>,
}

fn container_path(host: &str, id: &str) -> String {
    format!("/api/v1/hosts/{}/containers/{}/logs", encode(host), encode(id))
}

/// `GET …/logs`: a container's lines in a range, searched on the server.
pub fn rest_url(host: &str, id: &str, q: &LogQuery, search: Option<&RestSearch>) -> String {
    let flag = |b: bool| Some(b.to_string());
    let mut pairs = vec![
        ("tail", q.tail.map(|t| t.to_string())),
        ("since", q.since_ns.map(time_param)),
        ("until", q.until_ns.map(time_param)),
    ];
    if let Some(s) = search {
        pairs.extend([
            ("search", Some(s.pattern.clone())),
            ("regex", flag(s.regex)),
            ("case", flag(s.case)),
            ("invert", flag(s.invert)),
            ("stream", s.stream.map(str::to_string)),
        ]);
    }
    format!("{}{}", container_path(host, id), query(&pairs))
}

/// `GET …/logs/download`: the range as a text file (recorded by the server).
pub fn download_url(host: &str, id: &str, q: &LogQuery, timestamps: bool) -> String {
    let pairs = [
        ("tail", q.tail.map(|t| t.to_string())),
        ("since", q.since_ns.map(time_param)),
        ("until", q.until_ns.map(time_param)),
        ("timestamps", Some(timestamps.to_string())),
    ];
    format!("{}/download{}", container_path(host, id), query(&pairs))
}

/// Several containers' lines as one list in time order (stable: lines of
/// one container with the same time keep their order).
pub fn merge(mut lists: Vec<Vec<LogLine>>) -> Vec<LogLine> {
    if lists.len() == 1 {
        return lists.pop().unwrap_or_default();
    }
    let mut all: Vec<LogLine> = lists.into_iter().flatten().collect();
    all.sort_by_key(|l| l.ts_ns);
    all
}

/// Fetches a list of lines with the session cookie; the error in words.
#[cfg(feature = "hydrate")]
pub(crate) async fn get_lines(url: &str) -> Result<Vec<LogLine>, String> {
    #[derive(serde::Deserialize)]
    struct ApiError {
        error: String,
    }
    let resp = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("the request failed: {e}"))?;
    if resp.ok() {
        return resp
            .json::<Vec<LogLine>>()
            .await
            .map_err(|e| format!("the server's answer was not a list of lines: {e}"));
    }
    let status = resp.status();
    match resp.json::<ApiError>().await {
        Ok(e) => Err(e.error),
        Err(_) if status == 404 => Err("the server has no logs API at this address (404)".into()),
        Err(_) => Err(format!("the server answered {status}")),
    }
}

#[cfg(not(feature = "hydrate"))]
pub(crate) async fn get_lines(_: &str) -> Result<Vec<LogLine>, String> {
    Err("logs are fetched in the browser".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::LogStream;

    fn q(tail: Option<u32>, since: Option<i64>, until: Option<i64>) -> LogQuery {
        LogQuery {
            tail,
            since_ns: since,
            until_ns: until,
            follow: until.is_none(),
        }
    }

    #[test]
    fn addresses_carry_the_query_encoded() {
        let ids = vec!["abc".to_string(), "def".to_string()];
        assert_eq!(
            ws_path(&ids, &q(Some(500), None, None), None),
            "/ws/logs?containers=abc%2Cdef&tail=500"
        );
        assert_eq!(
            ws_path(&ids, &q(Some(500), Some(7), None), Some(99)),
            "/ws/logs?containers=abc%2Cdef&since=0.000000099",
            "a reconnect resumes from the newest line seen"
        );
        let search = RestSearch {
            pattern: "a b&c=d/é".into(),
            regex: true,
            stream: Some("stderr"),
            ..RestSearch::default()
        };
        assert_eq!(
            rest_url(
                "web 1",
                "abc",
                &q(Some(10), Some(1), Some(1_795_338_301_250_000_000)),
                Some(&search)
            ),
            "/api/v1/hosts/web%201/containers/abc/logs?tail=10&since=0.000000001&until=1795338301.250000000&search=a%20b%26c%3Dd%2F%C3%A9&regex=true&case=false&invert=false&stream=stderr"
        );
        assert_eq!(
            download_url("local", "abc", &q(None, Some(5_000_000_000), None), true),
            "/api/v1/hosts/local/containers/abc/logs/download?since=5.000000000&timestamps=true"
        );
    }

    #[test]
    fn merging_orders_by_time_and_keeps_ties_in_order() {
        let l = |c: &str, ts, text: &str| LogLine {
            container: c.into(),
            stream: LogStream::Stdout,
            ts_ns: ts,
            text: text.into(),
        };
        let merged = merge(vec![
            vec![l("a", 1, "a1"), l("a", 3, "a3"), l("a", 3, "a3b")],
            vec![l("b", 2, "b2"), l("b", 3, "b3")],
        ]);
        let texts: Vec<&str> = merged.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a1", "b2", "a3", "a3b", "b3"]);
    }
}
