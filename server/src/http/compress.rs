//! gzip for what berth makes as it answers: pages, JSON, exports,
//! downloads, /metrics. The site's own files are compressed at build time
//! (`site.rs`) and pass through untouched, as does anything else that
//! already has a `Content-Encoding`.
//!
//! Pages stream (Leptos sends the shell first, then each part as its data
//! arrives), so the encoder must not sit on what it has: it compresses
//! every chunk that is ready and flushes when the body has nothing more for
//! now. (tower-http's compression holds a streamed body until it ends.)
//!
//! Only answers to GET are compressed. What carries a secret (a new API
//! key, a ticket) answers a POST, so no compressed body mixes a secret with
//! text an attacker chose, and the sizes say nothing about it (BREACH).

use super::site::{Encoding, negotiate};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::{Stream, StreamExt};
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Smaller bodies are sent as they are: gzip's own framing would eat
/// most of the gain.
const MIN_BYTES: u64 = 1024;

/// Output is handed on once this much is ready, even mid-stream.
const CHUNK: usize = 64 * 1024;

pub(crate) async fn gzip(req: Request, next: Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wanted = req.method() == Method::GET && negotiate(accept, false, true) == Encoding::Gzip;
    let mut resp = next.run(req).await;
    if !compressible(resp.status(), resp.headers()) {
        return resp;
    }
    let headers = resp.headers_mut();
    let varies = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    });
    if !varies {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if !wanted {
        return resp;
    }
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    // The compressed bytes are not the ones a strong tag named.
    if let Some(tag) = headers.get(header::ETAG).and_then(|t| t.to_str().ok())
        && !tag.starts_with("W/")
        && let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}"))
    {
        headers.insert(header::ETAG, weak);
    }
    resp.map(|body| Body::from_stream(Gzip::new(body)))
}

/// Whether a response is worth compressing: a body of text that is not
/// encoded yet, not a live stream of events, and not tiny.
fn compressible(status: StatusCode, headers: &HeaderMap) -> bool {
    if status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
        )
        || headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE)
    {
        return false;
    }
    let small = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n < MIN_BYTES);
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = kind.split(';').next().unwrap_or("").trim();
    let text = (essence.starts_with("text/") && essence != "text/event-stream")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/json"
                | "application/x-ndjson"
                | "application/x-asciicast"
                | "application/javascript"
                | "application/xml"
                | "application/openmetrics-text"
        );
    text && !small
}

/// A body gzipped as it streams.
struct Gzip {
    body: axum::body::BodyDataStream,
    /// None once the trailer is out.
    encoder: Option<GzEncoder<Vec<u8>>>,
    /// Bytes written since the last flush.
    unflushed: bool,
}

impl Gzip {
    fn new(body: Body) -> Gzip {
        Gzip {
            body: body.into_data_stream(),
            encoder: Some(GzEncoder::new(Vec::new(), Compression::default())),
            unflushed: false,
        }
    }
}

impl Stream for Gzip {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            if encoder.get_ref().len() >= CHUNK {
                return Poll::Ready(Some(Ok(Bytes::from(std::mem::take(encoder.get_mut())))));
            }
            match this.body.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    if let Err(e) = encoder.write_all(&data) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    this.unflushed |= !data.is_empty();
                }
                Poll::Ready(Some(Err(e))) => {
                    this.encoder = None;
                    return Poll::Ready(Some(Err(std::io::Error::other(e))));
                }
                Poll::Ready(None) => {
                    let rest = this.encoder.take().map(GzEncoder::finish);
                    return Poll::Ready(rest.map(|r| r.map(Bytes::from)));
                }
                // Nothing more for now: send what there is, so that a page's
                // first part reaches the browser before its slow parts.
                Poll::Pending => {
                    if !this.unflushed {
                        return Poll::Pending;
                    }
                    this.unflushed = false;
                    if let Err(e) = encoder.flush() {
                        return Poll::Ready(Some(Err(e)));
                    }
                    return Poll::Ready(Some(Ok(Bytes::from(std::mem::take(encoder.get_mut())))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn text_is_compressed_and_the_rest_is_not() {
        let html = headers(&[(header::CONTENT_TYPE, "text/html; charset=utf-8")]);
        assert!(compressible(StatusCode::OK, &html));
        assert!(compressible(StatusCode::NOT_FOUND, &html), "error pages are pages");
        let json = headers(&[
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_LENGTH, "5000"),
        ]);
        assert!(compressible(StatusCode::OK, &json));
        for no in [
            headers(&[
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_LENGTH, "80"),
            ]),
            headers(&[(header::CONTENT_TYPE, "text/event-stream")]),
            headers(&[(header::CONTENT_TYPE, "application/wasm")]),
            headers(&[(header::CONTENT_TYPE, "image/png")]),
            headers(&[(header::CONTENT_TYPE, "text/css"), (header::CONTENT_ENCODING, "br")]),
            headers(&[]),
        ] {
            assert!(!compressible(StatusCode::OK, &no), "{no:?}");
        }
        assert!(!compressible(StatusCode::SWITCHING_PROTOCOLS, &html));
        assert!(!compressible(StatusCode::NOT_MODIFIED, &html));
        assert!(!compressible(StatusCode::PARTIAL_CONTENT, &html));
    }

    /// A stream whose first part is ready and whose second is not: the
    /// first comes out, decodable, before the second exists.
    #[tokio::test]
    async fn a_streamed_body_is_flushed_while_it_waits() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let body = Body::from_stream(tokio_stream_of(rx));
        let mut gz = Gzip::new(body);
        let shell = "<html><body>the shell ".repeat(100);
        tx.send(Ok(Bytes::from(shell.clone()))).await.unwrap();
        let first = gz.next().await.unwrap().unwrap();
        // A sync flush ends on a whole deflate block: the shell decodes.
        let mut seen = Vec::new();
        let mut decoder = GzDecoder::new(&first[..]);
        let _ = decoder.read_to_end(&mut seen);
        assert_eq!(String::from_utf8_lossy(&seen), shell);

        tx.send(Ok(Bytes::from_static(b"the rest</body></html>")))
            .await
            .unwrap();
        drop(tx);
        let mut all = first.to_vec();
        while let Some(part) = gz.next().await {
            all.extend_from_slice(&part.unwrap());
        }
        let mut text = String::new();
        GzDecoder::new(&all[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text, format!("{shell}the rest</body></html>"));
    }

    #[tokio::test]
    async fn only_answers_to_get_are_compressed() {
        use axum::Router;
        use axum::routing::get;
        use tower::ServiceExt;
        let big = || async { ([(header::CONTENT_TYPE, "application/json")], "[1,2,3]".repeat(500)) };
        let app = Router::new()
            .route("/", get(big).post(big))
            .layer(axum::middleware::from_fn(gzip));
        let mut seen = Vec::new();
        for method in [Method::GET, Method::POST, Method::HEAD] {
            let req = axum::http::Request::builder()
                .method(method.clone())
                .uri("/")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            seen.push((method, resp.headers().get(header::CONTENT_ENCODING).cloned()));
        }
        assert_eq!(
            seen,
            [
                (Method::GET, Some(HeaderValue::from_static("gzip"))),
                (Method::POST, None),
                (Method::HEAD, None)
            ]
        );
    }

    fn tokio_stream_of(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
