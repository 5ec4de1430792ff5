//! Embeds the site (wasm, js, css, assets) into the binary when
//! `BERTH_EMBED_SITE` names a built site at compile time, so that the release
//! binary runs on its own from any directory. `./dev.sh` sets it.

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

fn main() {
    println!("cargo:rerun-if-env-changed=BERTH_EMBED_SITE");
    let mut files = Vec::new();
    if let Ok(dir) = std::env::var("BERTH_EMBED_SITE") {
        let dir = PathBuf::from(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        walk(&dir, &dir, &mut files);
        files.sort();
    }
    let mut code = String::from("/// Site files embedded at build time: (URL path, bytes).\n");
    code.push_str("pub(crate) static SITE_FILES: &[(&str, &[u8])] = &[\n");
    for (url, path) in &files {
        let _ = writeln!(code, "    ({url:?}, include_bytes!({:?})),", path.display().to_string());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("site_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
