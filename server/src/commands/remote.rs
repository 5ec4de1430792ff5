//! berth's REST API as the commands that manage a *running* berth reach it
//! (`berth host`, `berth stack`): its address, an API key, and one call per
//! request of `berth_core::model::ops`, placed where its route says (path,
//! query or JSON body), so the CLI and the server read the same definition.
//!
//! Not here: what any command prints; the server's side of the routes
//! (`http::rest::ops`).

use anyhow::{Context, anyhow, bail};
use axum::http::Method;
use berth_core::model::ops::{self, Body, Request as Op};
use berth_core::outbound::{Outbound, OutboundError, Request};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;

use crate::config::Config;

/// A probe waits up to 10 s for the agent; this leaves room for it.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (a long host list fits many times).
const ANSWER_LIMIT: usize = 4 << 20;

/// berth's REST API, called with an API key.
pub(super) struct Api {
    base: String,
    key: String,
    client: Outbound,
    /// Said after a 403: what the command needs.
    on_denied: &'static str,
}

impl Api {
    /// The berth at `server` (default: this configuration's listen
    /// address), with the key in `key_file` or `BERTH_API_KEY`. `command`
    /// names the command in advice; `on_denied` follows a 403's message.
    pub(super) fn new(
        config: &Config,
        server: Option<&str>,
        key_file: Option<&Path>,
        command: &str,
        on_denied: &'static str,
    ) -> anyhow::Result<Api> {
        let base = match server {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => {
                let mut listen = config.listen;
                if listen.ip().is_unspecified() {
                    listen.set_ip([127, 0, 0, 1].into());
                }
                format!("http://{listen}")
            }
        };
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--server {base}: write the address as http://HOST:PORT or https://HOST");
        }
        let key = match (key_file, std::env::var("BERTH_API_KEY")) {
            (Some(file), _) => std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the API key file {}", file.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            (None, Ok(key)) => key.trim().to_string(),
            (None, Err(_)) => bail!(
                "`{command}` talks to the running berth with an API key: create one on your account page (or \
                 POST /api/v1/me/keys), save it in a file and pass --api-key-file FILE, or set BERTH_API_KEY"
            ),
        };
        if key.is_empty() {
            bail!("the API key is empty: the file's first line (or BERTH_API_KEY) must hold it");
        }
        // No roots on this machine: plain http still works, and https
        // fails with the TLS error.
        let client = Outbound::new_or_plain(TIMEOUT).context("cannot set up TLS")?;
        Ok(Api {
            base,
            key,
            client,
            on_denied,
        })
    }

    /// berth's address, as given (no trailing '/').
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` with `body` as JSON; the answer's JSON when it
    /// succeeded (`null` when empty), else the server's error message.
    pub(super) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let body = body.map(|b| serde_json::to_vec(&b)).transpose()?;
        let answer = self.raw(method, path, body).await?;
        Ok(if answer.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&answer).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer).into()))
        })
    }

    /// Sends one request of `berth_core::model::ops` where its route says,
    /// and reads its answer as the type the route promises.
    pub(super) async fn send<R: Op>(&self, request: &R) -> anyhow::Result<R::Response> {
        let (method, path, body) = place(request)?;
        let answer = self.raw(method, &path, body).await?;
        let text: &[u8] = if answer.is_empty() { b"null" } else { &answer };
        serde_json::from_slice(text).with_context(|| {
            format!("berth answered {path} with something this berth does not read (another version?)")
        })
    }

    async fn raw(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::new(method.clone(), &url)
            .bearer(&self.key)
            .map_err(|_| anyhow!("the API key has characters a header cannot carry"))?;
        if let Some(b) = body {
            request = request.body("application/json", b);
        }
        let answer = self.client.send(request, ANSWER_LIMIT).await.map_err(|e| match e {
            OutboundError::Connect(why) => anyhow!(
                "cannot reach berth at {}: {why} (is berth running there? --server URL reaches another)",
                self.base
            ),
            OutboundError::Timeout(_) => anyhow!("{method} {url}: no answer within {} s", TIMEOUT.as_secs()),
            OutboundError::BadUrl(_) | OutboundError::BadHeader(_) => anyhow!("{url}: {e}"),
            other => anyhow!("berth's answer broke off: {other}"),
        })?;
        let (status, body) = (answer.status, answer.body);
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let message = value["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{method} {path}: {status} {}", String::from_utf8_lossy(&body).trim()));
        let hint = match status.as_u16() {
            401 => " (the API key was refused: is it current, and its owner enabled?)",
            403 => self.on_denied,
            _ => "",
        };
        bail!("{message}{hint}")
    }
}

/// The verb, path (with query) and JSON body of `request`, as its route
/// places its fields: the server reads them back the same way.
fn place<R: Op>(request: &R) -> anyhow::Result<(Method, String, Option<Vec<u8>>)> {
    let route = R::ROUTE;
    let mut fields = match serde_json::to_value(request)? {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => bail!("{} is not a request with fields: {other}", route.id),
    };
    let mut path = String::from("/api/v1");
    for segment in route.path.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let (name, keep_slashes) = match name.strip_prefix('*') {
                    Some(rest) => (rest, true),
                    None => (name, false),
                };
                let value = fields.remove(name).unwrap_or(Value::Null);
                path.push_str(&encode(&text(&value), keep_slashes));
            }
            None => path.push_str(segment),
        }
    }
    let body = match route.body {
        Body::None => None,
        Body::Whole(name) => Some(fields.remove(name).unwrap_or(Value::Null)),
        Body::Fields => Some(Value::Object(std::mem::take(&mut fields))),
    };
    let query: Vec<String> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| format!("{}={}", encode(k, false), encode(&text(v), false)))
        .collect();
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    let method = match route.method {
        ops::Method::Get => Method::GET,
        ops::Method::Post => Method::POST,
        ops::Method::Put => Method::PUT,
        ops::Method::Patch => Method::PATCH,
        ops::Method::Delete => Method::DELETE,
    };
    let body = body.map(|b| serde_json::to_vec(&b)).transpose()?;
    Ok((method, path, body))
}

/// A field as it is written in a path or a query: strings bare, the rest
/// as JSON (`true`, `12`).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes all but the unreserved characters (and '/', when the
/// field takes the rest of the path).
fn encode(text: &str, keep_slashes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'~' => out.push(b as char),
            b'/' if keep_slashes => out.push('/'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::ops::{DeployStack, GetStack, ListStacks, RollbackStack, StackAct};
    use berth_core::model::{DeployId, HostId, StackVerb};

    #[test]
    fn fields_go_where_the_route_says() {
        let (method, path, body) = place(&ListStacks {}).unwrap();
        assert_eq!((method, path.as_str(), body), (Method::GET, "/api/v1/stacks", None));

        let get = GetStack {
            host: HostId("db/1".into()),
            name: "shop".into(),
        };
        assert_eq!(place(&get).unwrap().1, "/api/v1/hosts/db%2F1/stacks/shop");

        let act = StackAct {
            host: HostId("local".into()),
            name: "shop".into(),
            action: StackVerb::Down,
            service: Some("web app".into()),
            volumes: true,
        };
        let (method, path, body) = place(&act).unwrap();
        assert_eq!(method, Method::POST);
        assert_eq!(
            path,
            "/api/v1/hosts/local/stacks/shop/down?service=web%20app&volumes=true"
        );
        assert_eq!(body, None);

        let deploy = DeployStack {
            host: HostId("local".into()),
            name: "shop".into(),
            commit: None,
            queue: false,
        };
        let (_, path, body) = place(&deploy).unwrap();
        assert_eq!(path, "/api/v1/hosts/local/stacks/shop/deploys");
        let body: serde_json::Value = serde_json::from_slice(&body.unwrap()).unwrap();
        assert_eq!(body["queue"], false, "{body}");

        let back = RollbackStack {
            host: HostId("local".into()),
            name: "shop".into(),
            to: DeployId(7),
        };
        let (_, path, body) = place(&back).unwrap();
        assert_eq!(path, "/api/v1/hosts/local/stacks/shop/rollback");
        assert_eq!(body.as_deref(), Some(br#"{"to":7}"#.as_slice()));
    }
}
