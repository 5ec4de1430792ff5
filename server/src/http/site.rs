//! The site's static files (wasm, js, css, favicon): from a directory when
//! one is configured or cargo-leptos provides one, otherwise from the copy
//! embedded at build time. Anything else that no route matched renders the
//! app's not-found page. Each file goes out in the best encoding the
//! browser takes (brotli, gzip, as built by `./dev.sh`), the app's
//! fingerprinted files with a year's cache lifetime, the others revalidated
//! by their ETag.

use super::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_core::Berth;
use leptos::WasmSplitManifest;
use leptos::prelude::{ArcStoredValue, provide_context};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

/// A file embedded at build time (see build.rs).
pub(crate) struct SiteFile {
    path: &'static str,
    /// Its name with the app's fingerprint, for the app's own files.
    fingerprinted: Option<&'static str>,
    raw: &'static [u8],
    gzip: Option<&'static [u8]>,
    brotli: Option<&'static [u8]>,
    etag: &'static str,
}

pub(crate) struct Site {
    dir: Option<PathBuf>,
    /// Which pieces of wasm each group of pages loads (see `split_manifest`).
    split: Option<WasmSplitManifest>,
}

/// The file `./dev.sh` writes beside the pieces of wasm: for each split
/// point (a group of pages, app/src/lib.rs) the pieces it loads.
const SPLIT_MANIFEST: &str = "/pkg/__wasm_split_manifest.json";

/// A file to serve, in each form there is.
struct Found {
    raw: Cow<'static, [u8]>,
    gzip: Option<Cow<'static, [u8]>>,
    brotli: Option<Cow<'static, [u8]>>,
    etag: Option<&'static str>,
    /// Asked for by its fingerprinted name: it never changes.
    immutable: bool,
}

impl Site {
    /// The configured directory, else cargo-leptos's, else the embedded copy.
    pub(crate) fn locate(configured: Option<PathBuf>) -> Site {
        let dir = configured.or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from));
        if dir.is_none() && SITE_FILES.is_empty() {
            tracing::warn!(
                "this binary has no site files embedded and no site_dir is set: pages will render but not become interactive (build with ./dev.sh)"
            );
        }
        let mut site = Site { dir, split: None };
        site.split = site.split_manifest();
        site
    }

    /// The pieces of wasm of each group of pages, as Leptos takes them to
    /// name a page's pieces in its `<head>` (preloads, fetched beside the
    /// app rather than after it): read once, from the directory or the
    /// embedded copy. None without a manifest (no split site, or none).
    fn split_manifest(&self) -> Option<WasmSplitManifest> {
        let bytes: Cow<'static, [u8]> = match &self.dir {
            Some(dir) => std::fs::read(dir.join(SPLIT_MANIFEST.trim_start_matches('/')))
                .ok()?
                .into(),
            None => SITE_FILES.iter().find(|f| f.path == SPLIT_MANIFEST)?.raw.into(),
        };
        let pieces: HashMap<String, Vec<String>> = serde_json::from_slice(&bytes)
            .inspect_err(|e| {
                tracing::warn!("{SPLIT_MANIFEST} is not a split manifest, pages will not preload their wasm: {e}")
            })
            .ok()?;
        Some(WasmSplitManifest(ArcStoredValue::new((
            format!("/{}", self.pkg_dir()),
            pieces,
            "__wasm_split.js".to_string(),
        ))))
    }

    /// What every page's rendering is given: berth, and the split manifest.
    pub(crate) fn provide_context(&self, berth: &Berth) {
        provide_context(berth.clone());
        if let Some(split) = &self.split {
            provide_context(split.clone());
        }
    }

    pub(crate) fn root_hint(&self) -> String {
        self.dir
            .as_ref()
            .map_or_else(|| "site".to_string(), |d| d.display().to_string())
    }

    /// Where pages load the app's js, wasm and css from: the fingerprinted
    /// directory when embedded, plain `pkg` from a directory (which may
    /// change under a running server).
    pub(crate) fn pkg_dir(&self) -> &'static str {
        match (&self.dir, SITE_PKG_DIR) {
            (None, Some(dir)) => dir,
            _ => "pkg",
        }
    }

    async fn get(&self, path: &str) -> Option<Found> {
        match &self.dir {
            Some(dir) => {
                let rel = Path::new(path.trim_start_matches('/'));
                // Only plain names below the site directory: no "..", no roots.
                if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                    return None;
                }
                let file = dir.join(rel);
                let raw = tokio::fs::read(&file).await.ok()?;
                let sibling = |ext: &str| {
                    let mut name = file.clone().into_os_string();
                    name.push(ext);
                    tokio::fs::read(PathBuf::from(name))
                };
                Some(Found {
                    raw: raw.into(),
                    gzip: sibling(".gz").await.ok().map(Cow::Owned),
                    brotli: sibling(".br").await.ok().map(Cow::Owned),
                    etag: None,
                    immutable: false,
                })
            }
            None => SITE_FILES.iter().find_map(|f| {
                let immutable = f.fingerprinted == Some(path);
                (f.path == path || immutable).then(|| Found {
                    raw: Cow::Borrowed(f.raw),
                    gzip: f.gzip.map(Cow::Borrowed),
                    brotli: f.brotli.map(Cow::Borrowed),
                    etag: Some(f.etag),
                    immutable,
                })
            }),
        }
    }
}

/// How a response body is encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// The best encoding the client accepts (`Accept-Encoding`, q-values
/// honoured, `q=0` refusing) among those there are.
pub(super) fn negotiate(accept: &str, brotli: bool, gzip: bool) -> Encoding {
    let accepts = |name: &str| {
        accept.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            let coding = fields.next().unwrap_or("");
            let q = fields
                .find_map(|f| f.strip_prefix("q="))
                .map_or(1.0, |q| q.parse::<f32>().unwrap_or(0.0));
            (coding.eq_ignore_ascii_case(name) || coding == "*") && q > 0.0
        })
    };
    if brotli && accepts("br") {
        Encoding::Brotli
    } else if gzip && accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

impl Found {
    fn respond(self, path: &str, request: &HeaderMap) -> Response {
        let accept = request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let encoding = negotiate(accept, self.brotli.is_some(), self.gzip.is_some());
        let (body, coding, suffix) = match encoding {
            Encoding::Brotli => (self.brotli.unwrap_or_default(), Some("br"), "-br"),
            Encoding::Gzip => (self.gzip.unwrap_or_default(), Some("gzip"), "-gz"),
            Encoding::Identity => (self.raw, None, ""),
        };
        // Each encoding is a representation of its own: its own tag.
        let etag = self.etag.map(|tag| format!("{}{suffix}\"", tag.trim_end_matches('"')));
        let fresh = etag.as_ref().is_some_and(|tag| {
            request
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|seen| seen.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
        });
        let mut resp = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Body::from(body).into_response()
        };
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Some(coding) = coding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert(header::ETAG, tag);
        }
        // Fingerprinted names never change; the others are revalidated.
        let cache = if self.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        resp
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("wasm") => "application/wasm",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn fallback(State(state): State<AppState>, req: Request<Body>) -> Response {
    let path = req.uri().path().to_string();
    if let Some(found) = state.site.get(&path).await {
        return found.respond(&path, req.headers());
    }
    if path.starts_with("/pkg/") || path.starts_with("/api/") {
        return (StatusCode::NOT_FOUND, format!("no such file: {path}")).into_response();
    }
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || state.site.provide_context(&state.berth),
        move || berth_app::shell(options.clone()),
    );
    render(req).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_accepted_encoding_is_chosen() {
        assert_eq!(negotiate("gzip, deflate, br, zstd", true, true), Encoding::Brotli);
        assert_eq!(negotiate("gzip, deflate, br", false, true), Encoding::Gzip);
        assert_eq!(negotiate("gzip", true, true), Encoding::Gzip);
        assert_eq!(negotiate("br;q=0, gzip;q=0.5", true, true), Encoding::Gzip);
        assert_eq!(negotiate("BR", true, true), Encoding::Brotli);
        assert_eq!(negotiate("*", true, true), Encoding::Brotli);
        assert_eq!(negotiate("", true, true), Encoding::Identity);
        assert_eq!(negotiate("identity", true, true), Encoding::Identity);
        assert_eq!(negotiate("gzip;q=0", false, true), Encoding::Identity);
        assert_eq!(negotiate("gzip;q=nonsense", false, true), Encoding::Identity);
    }
}
