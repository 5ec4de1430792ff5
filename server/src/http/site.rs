//! The site's static files (wasm, js, css, favicon): from a directory when
//! one is configured or cargo-leptos provides one, otherwise from the copy
//! embedded at build time. Anything else that no route matched renders the
//! app's not-found page.

use super::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use std::path::{Component, Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

pub(crate) struct Site {
    dir: Option<PathBuf>,
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
        Site { dir }
    }

    pub(crate) fn root_hint(&self) -> String {
        self.dir
            .as_ref()
            .map_or_else(|| "site".to_string(), |d| d.display().to_string())
    }

    async fn get(&self, path: &str) -> Option<Vec<u8>> {
        match &self.dir {
            Some(dir) => {
                let rel = Path::new(path.trim_start_matches('/'));
                // Only plain names below the site directory: no "..", no roots.
                if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                    return None;
                }
                tokio::fs::read(dir.join(rel)).await.ok()
            }
            None => SITE_FILES
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, bytes)| bytes.to_vec()),
        }
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
    if let Some(bytes) = state.site.get(&path).await {
        let mut resp = bytes.into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
        // File names carry no hash: let browsers revalidate instead of guessing.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return resp;
    }
    if path.starts_with("/pkg/") || path.starts_with("/api/") {
        return (StatusCode::NOT_FOUND, format!("no such file: {path}")).into_response();
    }
    let berth = state.berth.clone();
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(berth.clone()),
        move || berth_app::shell(options.clone()),
    );
    render(req).await.into_response()
}
