//! The HTTP client berth uses to reach other machines: a witness (the log
//! side of the protocol) or a berth it monitors. HTTP/1.1 over rustls with
//! ring and the system's certificate roots; every request has a deadline
//! and every answer a size limit, and redirects are not followed (an answer
//! comes from the address asked, or not at all).

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// An answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text; what is not UTF-8 is shown replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client; cheap to clone (connections are pooled and shared).
#[derive(Clone)]
pub(crate) struct Outbound {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Outbound {
    /// A client whose requests (answer included) fail after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Outbound> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| anyhow::anyhow!("no TLS certificate roots on this machine ({e}); install ca-certificates"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Outbound { client, timeout })
    }

    pub async fn get(&self, url: &str, bearer: Option<&str>, limit: usize) -> Result<Answer, String> {
        self.send(Method::GET, url, bearer, None, limit).await
    }

    pub async fn post(&self, url: &str, body: String, limit: usize) -> Result<Answer, String> {
        self.send(Method::POST, url, None, Some(body), limit).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<String>,
        limit: usize,
    ) -> Result<Answer, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url} is not a URL: {e}"))?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::USER_AGENT, concat!("berth/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = bearer {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| "the token has characters a header cannot carry".to_string())?;
            request = request.header(header::AUTHORIZATION, value);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        format!("the answer is larger than {limit} bytes")
                    } else {
                        format!("the answer broke off: {e}")
                    }
                })?
                .to_bytes()
                .to_vec();
            Ok::<_, String>(Answer { status, body })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answer) => answer.map_err(|e| format!("{method} {url}: {e}")),
            Err(_) => Err(format!("{method} {url}: no answer within {} s", self.timeout.as_secs())),
        }
    }
}

/// An error with its causes ("connection refused" hides in a source).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The first line of a remote answer, short and printable, for a message.
pub(crate) fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let clean: String = line.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    if clean.is_empty() {
        "(no message)".into()
    } else {
        truncate(&clean, 200)
    }
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_text_is_shortened_and_made_printable() {
        assert_eq!(first_line("bad\x1b[31m thing\nmore"), "bad?[31m thing");
        assert_eq!(first_line(""), "(no message)");
        assert_eq!(first_line(&"é".repeat(300)).chars().count(), 201);
    }

    #[tokio::test]
    async fn answers_are_limited_and_failures_say_why() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/small", axum::routing::get(|| async { "hello" }))
            .route("/big", axum::routing::get(|| async { "x".repeat(10_000) }))
            .route("/echo", axum::routing::post(|body: String| async move { body }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = Outbound::new(Duration::from_secs(5)).unwrap();
        let base = format!("http://{addr}");

        let small = client.get(&format!("{base}/small"), None, 100).await.unwrap();
        assert_eq!((small.status, small.text().as_str()), (StatusCode::OK, "hello"));
        let echo = client.post(&format!("{base}/echo"), "ping".into(), 100).await.unwrap();
        assert_eq!(echo.text(), "ping");
        let big = client.get(&format!("{base}/big"), None, 100).await.unwrap_err();
        assert!(big.contains("larger than 100 bytes"), "{big}");
        let refused = client.get("http://127.0.0.1:1/", None, 100).await.unwrap_err();
        assert!(refused.to_lowercase().contains("refused"), "{refused}");
        let bad = client.get("not a url", None, 100).await.unwrap_err();
        assert!(bad.contains("not a URL"), "{bad}");
    }
}
