//! A channel's receiver as its URL names it: the host and port berth
//! connects to, and the words messages name it by (never the path: a
//! Slack or Discord URL's path is its key).

/// The host and port `url` names (the scheme's port when none is written).
pub(super) fn host_port(url: &str) -> Option<(String, u16)> {
    let uri: http::Uri = url.parse().ok()?;
    let default = match uri.scheme_str()? {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), uri.port_u16().unwrap_or(default)))
}

/// The receiver as messages name it: its host, and its port when not the
/// scheme's. Never the path (a Slack or Discord URL's path is its key).
pub(super) fn receiver(url: &str) -> String {
    match host_port(url) {
        Some((host, port)) => {
            let default = if url.starts_with("https://") { 443 } else { 80 };
            let host = if host.contains(':') { format!("[{host}]") } else { host };
            if port == default {
                host
            } else {
                format!("{host}:{port}")
            }
        }
        None => "the channel's receiver".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            host_port("https://hooks.slack.com/x"),
            Some(("hooks.slack.com".into(), 443))
        );
        assert_eq!(host_port("http://[::1]:8080/x"), Some(("::1".into(), 8080)));
        assert_eq!(host_port("http://a:81"), Some(("a".into(), 81)));
        assert_eq!(host_port("ftp://a/"), None);
        assert_eq!(host_port("nonsense"), None);
    }

    #[test]
    fn receivers_are_named_by_host_only() {
        assert_eq!(
            receiver("https://hooks.slack.com/services/T1/B2/abc"),
            "hooks.slack.com"
        );
        assert_eq!(receiver("http://127.0.0.1:9000/x"), "127.0.0.1:9000");
        assert_eq!(receiver("http://[::1]:80/x"), "[::1]");
        assert_eq!(receiver("garbage"), "the channel's receiver");
    }
}
