//! The HTTP client berth uses to reach other machines: alert channels, a
//! witness (the log side of the protocol), a berth it monitors, the berth
//! that `berth host` manages. HTTP/1.1 over rustls with ring and the
//! system's certificate roots; every request has a deadline and every
//! answer a size limit, and redirects are not followed (an answer comes
//! from the address asked, or not at all).
//!
//! `OutboundError` never names the URL: a caller whose URL is a secret
//! (a Slack or Discord webhook) can show the error as it is. `get` and
//! `post`, for callers whose URLs are not secret, put it in front.
//! Not here: what is sent, or what an answer means.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a request got no answer. None of these carries the URL.
#[derive(Debug, Error)]
pub enum OutboundError {
    #[error("no TLS certificate roots on this machine ({0}); install ca-certificates")]
    NoRoots(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("not a URL berth can call ({0}); write it as http://HOST/PATH or https://HOST/PATH")]
    BadUrl(String),
    #[error("the {0} header has characters a header cannot carry")]
    BadHeader(String),
    /// No connection, or the exchange failed before an answer: the causes
    /// as the network library tells them ("connection refused").
    #[error("{0}")]
    Connect(String),
    #[error("no answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer broke off: {0}")]
    BrokenOff(String),
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text; what is not UTF-8 is shown replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request to send: method, URL, headers and body.
#[derive(Clone, Debug)]
pub struct Request {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn get(url: impl Into<String>) -> Request {
        Request::new(Method::GET, url)
    }

    pub fn post(url: impl Into<String>) -> Request {
        Request::new(Method::POST, url)
    }

    /// Adds a header (`Title`, `X-Berth-Signature-256`...); a name or value
    /// a header cannot carry is refused, naming the header only.
    pub fn header(mut self, name: &str, value: &str) -> Result<Request, OutboundError> {
        let bad = || OutboundError::BadHeader(name.chars().filter(|c| c.is_ascii_graphic()).take(64).collect());
        let key = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value).map_err(|_| bad())?;
        self.headers.append(key, value);
        Ok(self)
    }

    /// `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer(mut self, token: &str) -> Result<Request, OutboundError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| OutboundError::BadHeader("Authorization".into()))?;
        value.set_sensitive(true);
        self.headers.insert(header::AUTHORIZATION, value);
        Ok(self)
    }

    /// The body and its `Content-Type`.
    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Request {
        self.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.body = body.into();
        self
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }
}

/// A client; cheap to clone (connections are pooled and shared).
#[derive(Clone)]
pub struct Outbound {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").field("timeout", &self.timeout).finish()
    }
}

impl Outbound {
    /// A client whose requests (answer included) fail after `timeout`.
    /// Refuses to start on a machine without certificate roots.
    pub fn new(timeout: Duration) -> Result<Outbound, OutboundError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| OutboundError::NoRoots(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Outbound::with_connector(https, timeout))
    }

    /// Like `new`, but on a machine without certificate roots plain http
    /// still works and https fails with the TLS error, at each request.
    pub fn new_or_plain(timeout: Duration) -> Result<Outbound, OutboundError> {
        match Outbound::new(timeout) {
            Err(OutboundError::NoRoots(why)) => {
                tracing::warn!(%why, "no TLS certificate roots on this machine; https requests will fail");
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| OutboundError::Tls(e.to_string()))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Outbound::with_connector(https, timeout))
            }
            other => other,
        }
    }

    fn with_connector(https: HttpsConnector<HttpConnector>, timeout: Duration) -> Outbound {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Outbound { client, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` and reads the answer, up to `limit` bytes of body,
    /// all within the client's deadline.
    pub async fn send(&self, request: Request, limit: usize) -> Result<Answer, OutboundError> {
        let uri = parse_url(&request.url)?;
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(uri)
            .header(header::USER_AGENT, concat!("berth/", env!("CARGO_PKG_VERSION")));
        if let Some(headers) = builder.headers_mut() {
            headers.extend(request.headers);
        }
        let request = builder
            .body(Full::new(request.body))
            .map_err(|e| OutboundError::BadUrl(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| OutboundError::Connect(causes(&e)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limit).collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    OutboundError::TooLarge(limit)
                } else {
                    OutboundError::BrokenOff(causes(&*e))
                }
            })?;
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body: body.to_bytes().to_vec(),
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| OutboundError::Timeout(self.timeout))?
    }

    /// GET `url`, with a bearer token if given; the error names the URL.
    pub async fn get(&self, url: &str, bearer: Option<&str>, limit: usize) -> Result<Answer, String> {
        let mut request = Request::get(url);
        if let Some(token) = bearer {
            request = request
                .bearer(token)
                .map_err(|_| "the token has characters a header cannot carry".to_string())?;
        }
        self.send(request, limit).await.map_err(|e| format!("GET {url}: {e}"))
    }

    /// POST `body` as plain text to `url`; the error names the URL.
    pub async fn post(&self, url: &str, body: String, limit: usize) -> Result<Answer, String> {
        let request = Request::post(url).body("text/plain; charset=utf-8", body);
        self.send(request, limit).await.map_err(|e| format!("POST {url}: {e}"))
    }
}

/// An absolute http or https URL with a host.
fn parse_url(url: &str) -> Result<Uri, OutboundError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| OutboundError::BadUrl(e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(OutboundError::BadUrl(
                "it does not start with http:// or https://".into(),
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(OutboundError::BadUrl("it has no host".into()));
    }
    Ok(uri)
}

/// An error with its causes ("connection refused" hides in a source).
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The first line of a remote answer, short and printable, for a message.
pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let clean: String = line.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    if clean.is_empty() {
        "(no message)".into()
    } else {
        truncate(&clean, 200)
    }
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn remote_text_is_shortened_and_made_printable() {
        assert_eq!(first_line("bad\x1b[31m thing\nmore"), "bad?[31m thing");
        assert_eq!(first_line(""), "(no message)");
        assert_eq!(first_line(&"é".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn headers_are_checked_and_urls_must_be_absolute() {
        assert!(Request::post("http://x/").header("Title", "a\r\nInjected: 1").is_err());
        assert!(Request::post("http://x/").header("bad name", "v").is_err());
        let r = Request::post("http://x/").header("X-Berth-Delivery", "abc").unwrap();
        assert_eq!(r.headers()["x-berth-delivery"], "abc");
        for bad in ["not a url", "/relative", "ftp://host/x", "http:///x"] {
            assert!(matches!(parse_url(bad), Err(OutboundError::BadUrl(_))), "{bad}");
        }
    }

    /// A one-request-per-connection HTTP server: echoes the request's
    /// method, a header and body, or sends a large answer, or says nothing.
    async fn serve(listener: tokio::net::TcpListener) {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break (head.to_string(), body.to_string());
                        }
                    }
                };
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                let answer = match path.as_str() {
                    "/silent" => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        return;
                    }
                    "/big" => "x".repeat(10_000),
                    "/redirect" => {
                        let reply =
                            "HTTP/1.1 302 Found\r\nLocation: /echo\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                        let _ = socket.write_all(reply.as_bytes()).await;
                        return;
                    }
                    _ => {
                        let method = head.split(' ').next().unwrap_or("");
                        let custom = head.lines().find_map(|l| l.strip_prefix("x-custom: ")).unwrap_or("-");
                        format!("{method} {custom} {body}")
                    }
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    }

    #[tokio::test]
    async fn answers_are_limited_and_failures_say_why() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener));
        let client = Outbound::new_or_plain(Duration::from_millis(500)).unwrap();

        let request = Request::new(Method::PUT, format!("{base}/echo"))
            .header("X-Custom", "yes")
            .unwrap()
            .body("application/json", "{}");
        let echo = client.send(request, 100).await.unwrap();
        assert_eq!((echo.status, echo.text().as_str()), (StatusCode::OK, "PUT yes {}"));
        let post = client.post(&format!("{base}/echo"), "ping".into(), 100).await.unwrap();
        assert_eq!(post.text(), "POST - ping");

        let redirect = client.get(&format!("{base}/redirect"), None, 100).await.unwrap();
        assert_eq!(redirect.status, StatusCode::FOUND, "redirects are not followed");
        let big = client.get(&format!("{base}/big"), None, 100).await.unwrap_err();
        assert!(big.contains("larger than 100 bytes"), "{big}");
        let silent = client
            .send(Request::get(format!("{base}/silent")), 100)
            .await
            .unwrap_err();
        assert!(matches!(silent, OutboundError::Timeout(_)), "{silent}");
        let refused = client.get("http://127.0.0.1:1/", None, 100).await.unwrap_err();
        assert!(refused.to_lowercase().contains("refused"), "{refused}");
        let bad = client.get("not a url", None, 100).await.unwrap_err();
        assert!(bad.contains("not a URL"), "{bad}");
    }

    #[tokio::test]
    async fn errors_do_not_name_the_url() {
        let client = Outbound::new_or_plain(Duration::from_millis(500)).unwrap();
        let secret = "T000/B000/XXXXsecretpath";
        let e = client
            .send(Request::post(format!("http://127.0.0.1:1/services/{secret}")), 100)
            .await
            .unwrap_err()
            .to_string();
        assert!(!e.contains(secret) && !e.contains("127.0.0.1"), "{e}");
    }
}
