//! Embeds the site (wasm, js, css, assets) into the binary when
//! `BERTH_EMBED_SITE` names a built site at compile time, so that the release
//! binary runs on its own from any directory. `./dev.sh` sets it, and
//! writes each file's gzip and brotli forms beside it (`FILE.gz`,
//! `FILE.br`), which are embedded with it so that nothing is compressed
//! while serving.
//!
//! The app's own files, every file in `/pkg/` (its js, wasm, css, and the
//! pieces of wasm that pages load when first shown with their loader),
//! are also served under one fingerprint of them all, as a directory:
//! `/pkg/<hash>/berth.js`, `/pkg/<hash>/berth_bg.wasm`... Pages name those,
//! and browsers may keep them for a year; the pieces load each other by
//! relative names, so they always come from the same build.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, base, out);
        } else if let Ok(rel) = path.strip_prefix(base) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((format!("/{rel}"), path.canonicalize().unwrap_or(path)));
        }
    }
}

/// FNV-1a, 64 bits: a fingerprint for cache busting, not a security
/// measure (fast enough unoptimised over a 20 MB debug wasm).
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
/// The app's files are those directly in this directory.
const APP_DIR: &str = "/pkg/";
/// The app's entry point: without it, no fingerprint.
const APP_JS: &str = "/pkg/berth.js";

fn main() {
    println!("cargo:rerun-if-env-changed=BERTH_EMBED_SITE");
    let mut files = Vec::new();
    if let Ok(dir) = std::env::var("BERTH_EMBED_SITE") {
        let dir = PathBuf::from(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        walk(&dir, &dir, &mut files);
        files.sort();
    }
    let exists = |url: &str| files.iter().find(|(u, _)| u == url).map(|(_, p)| p.clone());
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    let is_app = |url: &str| {
        url.strip_prefix(APP_DIR)
            .is_some_and(|name| !name.contains('/') && !name.ends_with(".gz") && !name.ends_with(".br"))
    };

    // One hash of the app's files (names and contents), when there is an app.
    let app_hash = exists(APP_JS).map(|_| {
        let h = files
            .iter()
            .filter(|(url, _)| is_app(url))
            .fold(FNV_START, |h, (url, p)| fnv(fnv(h, url.as_bytes()), &read(p)));
        format!("{h:016x}")
    });

    let mut code = String::from(
        "/// Site files embedded at build time, each with its precompressed forms.\n\
         pub(crate) static SITE_FILES: &[SiteFile] = &[\n",
    );
    for (url, path) in &files {
        if url.ends_with(".gz") || url.ends_with(".br") {
            continue;
        }
        let bytes = read(path);
        let etag = format!("\"{:016x}\"", fnv(FNV_START, &bytes));
        let alias = app_hash
            .as_ref()
            .filter(|_| is_app(url))
            .map(|h| format!("{APP_DIR}{h}/{}", &url[APP_DIR.len()..]));
        let sibling = |ext: &str| {
            exists(&format!("{url}.{ext}")).map_or_else(
                || "None".to_string(),
                |p| format!("Some(include_bytes!({:?}))", p.display().to_string()),
            )
        };
        let _ = writeln!(
            code,
            "    SiteFile {{ path: {url:?}, fingerprinted: {alias:?}, raw: include_bytes!({:?}), gzip: {}, brotli: {}, etag: {etag:?} }},",
            path.display().to_string(),
            sibling("gz"),
            sibling("br"),
        );
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// Where pages load the app from (`pkg/<hash>`), when the site is embedded.\n\
         pub(crate) static SITE_PKG_DIR: Option<&str> = {:?};",
        app_hash.map(|h| format!("{}{h}", APP_DIR.trim_start_matches('/')))
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("site_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
