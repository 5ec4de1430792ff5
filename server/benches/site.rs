//! The site's weight: what a first visit transfers, compressed as a browser
//! asks for it (brotli, then gzip, then none), what a first visit to each
//! group of pages transfers (each group is a piece of wasm of its own, with
//! the pieces it shares with others), and what the pages that load more
//! (the terminal's JavaScript) add. Prints figures, asserts nothing.
//!
//! It runs berth (release, site embedded, precompressed) on a free loopback
//! port over a temporary database. `./dev.sh build` builds the site into
//! the target directory's `site/`; then
//! `BERTH_EMBED_SITE=$TARGET/site cargo bench -p berth-server --bench site`
//! builds berth for the bench with that site embedded (cargo replaces
//! `release/berth` with it), or `BERTH_BIN=path` runs a copy of another
//! berth. A first visit is the sign-in page and everything it names: the
//! HTML, the app's js, wasm and css, the loader of the pages' wasm and the
//! sign-in group's pieces (which the page preloads), and the icon.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{ADMIN, PASSWORD, add_admin};

/// Files only some pages load, reported apart: (what, path).
const LATER: &[(&str, &str)] = &[
    ("terminal: xterm.js", "/xterm/xterm.js"),
    ("terminal: xterm.css", "/xterm/xterm.css"),
    ("terminal: fit addon", "/xterm/addon-fit.js"),
    ("terminal: berth glue", "/terminal.js"),
];

struct Berth {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Berth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("BERTH_BIN") {
        return PathBuf::from(bin);
    }
    if option_env!("BERTH_EMBED_SITE").is_none() {
        eprintln!(
            "this bench's berth has no site embedded: after ./dev.sh build, run it with \
             BERTH_EMBED_SITE=<target dir>/site (or BERTH_BIN=<a berth built by ./dev.sh, copied elsewhere>)"
        );
        std::process::exit(2);
    }
    PathBuf::from(env!("CARGO_BIN_EXE_berth"))
}

async fn start() -> Berth {
    let bin = binary();
    assert!(
        bin.exists(),
        "{} is missing: build it with ./dev.sh build",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    // An admin, for the pages behind sign-in (the terminal's scripts).
    add_admin(&bin, dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let berth = Berth {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let started = Instant::now();
    while reqwest::get(format!("{}/login", berth.base)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "berth did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    berth
}

/// Bytes on the wire for `path` when the client takes `accept`, and the
/// encoding the server chose.
async fn fetch(client: &reqwest::Client, base: &str, path: &str, accept: &str) -> Option<(usize, String)> {
    let resp = client
        .get(format!("{base}{path}"))
        .header("accept-encoding", accept)
        .send()
        .await
        .ok()?;
    // Not found, or sent elsewhere (to sign in): not the file.
    if !resp.status().is_success() || resp.url().path() != path {
        return None;
    }
    let encoding = resp
        .headers()
        .get("content-encoding")
        .map_or("identity".to_string(), |v| v.to_str().unwrap().to_string());
    Some((resp.bytes().await.ok()?.len(), encoding))
}

/// The paths a page names in `href="…"` and `src="…"`, and the wasm its
/// hydration script loads.
fn assets(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (at, _) in page.match_indices(attr) {
            let rest = &page[at + attr.len()..];
            let url = &rest[..rest.find('"').unwrap_or(0)];
            if url.starts_with('/') && url.contains('.') && !found.iter().any(|f| f == url) {
                found.push(url.to_string());
            }
        }
    }
    found
}

/// A first visit to a page of each group: the sign-in page's wasm and js
/// without the sign-in group's pieces, plus the group's pieces (from the
/// split manifest beside the app's files).
/// Returns each group's first visit (brotli, gzip), by group name.
async fn groups(
    client: &reqwest::Client,
    base: &str,
    first: &[String],
    wasm_js: [usize; 3],
) -> std::collections::BTreeMap<String, [usize; 2]> {
    let Some(pkg) = first
        .iter()
        .find(|p| p.ends_with("/__wasm_split.js"))
        .map(|p| p.trim_end_matches("__wasm_split.js").to_string())
    else {
        println!("(this build's wasm is not split into groups of pages)");
        return Default::default();
    };
    let manifest: std::collections::BTreeMap<String, Vec<String>> =
        support::json(client.get(format!("{base}{pkg}__wasm_split_manifest.json"))).await;
    let kib = |b: usize| format!("{:.1} KiB", b as f64 / 1024.0);
    let mut rows = Vec::new();
    let mut sign_in = [0usize; 2];
    for (split, pieces) in &manifest {
        let mut bytes = [0usize; 2];
        for piece in pieces {
            let path = format!("{pkg}{piece}.wasm");
            for (i, accept) in ["gzip, deflate, br", "gzip, deflate"].iter().enumerate() {
                bytes[i] += fetch(client, base, &path, accept).await.unwrap().0;
            }
        }
        let group = split.rsplit_once('_').map_or(split.as_str(), |(g, _)| g);
        if first.iter().any(|p| p.contains(&format!("split_{split}."))) {
            sign_in = bytes;
        }
        rows.push((group.to_string(), pieces.len(), bytes));
    }
    println!("a first visit to a page of each group, wasm + js (the app, the loader, the group's pieces):");
    println!("{:<48} {:>12} {:>12}", "group (pieces)", "brotli", "gzip");
    let mut visits = std::collections::BTreeMap::new();
    for (group, count, bytes) in rows {
        let visit = [wasm_js[0] - sign_in[0] + bytes[0], wasm_js[1] - sign_in[1] + bytes[1]];
        println!(
            "{:<48} {:>12} {:>12}",
            format!("{group} ({count})"),
            kib(visit[0]),
            kib(visit[1])
        );
        visits.insert(group, visit);
    }
    visits
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let berth = start().await;
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/login", berth.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut first = vec!["/login".to_string()];
    first.extend(assets(&page));
    println!("first visit (/login and what it names), bytes on the wire:");
    println!("{:<48} {:>12} {:>12} {:>12}", "file", "brotli", "gzip", "none");
    let mut totals = [0usize; 3];
    let mut wasm_js = [0usize; 3];
    for path in &first {
        let mut row = [0usize; 3];
        for (i, accept) in ["gzip, deflate, br", "gzip, deflate", "identity"].iter().enumerate() {
            let (bytes, _) = fetch(&client, &berth.base, path, accept).await.unwrap();
            row[i] = bytes;
            totals[i] += bytes;
            if path.ends_with(".wasm") || path.ends_with(".js") {
                wasm_js[i] += bytes;
            }
        }
        println!("{path:<48} {:>12} {:>12} {:>12}", row[0], row[1], row[2]);
    }
    let kib = |b: usize| format!("{:.1} KiB", b as f64 / 1024.0);
    println!(
        "{:<48} {:>12} {:>12} {:>12}",
        "total",
        kib(totals[0]),
        kib(totals[1]),
        kib(totals[2])
    );
    println!(
        "{:<48} {:>12} {:>12} {:>12}",
        "of which wasm + js",
        kib(wasm_js[0]),
        kib(wasm_js[1]),
        kib(wasm_js[2])
    );
    let visits = groups(&client, &berth.base, &first, wasm_js).await;
    // The terminal's scripts are for signed-in people.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::ORIGIN,
            berth.base.parse().unwrap(),
        )]))
        .build()
        .unwrap();
    let signed_in = client
        .post(format!("{}/api/v1/session", berth.base))
        .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success(), "sign-in: {}", signed_in.status());
    println!("loaded only by the pages that use them (signed in):");
    let container = visits
        .get("container_pages")
        .copied()
        .unwrap_or([wasm_js[0], wasm_js[1]]);
    let mut later = [0usize; 2];
    for (what, path) in LATER {
        let Some((br, _)) = fetch(&client, &berth.base, path, "gzip, deflate, br").await else {
            println!("{what:<48} (not in this build)");
            continue;
        };
        let (gz, _) = fetch(&client, &berth.base, path, "gzip, deflate").await.unwrap();
        later[0] += br;
        later[1] += gz;
        println!("{what:<48} {br:>12} {gz:>12}");
    }
    println!(
        "a first visit to the terminal page (the container pages' group and the terminal's scripts): {} brotli, {} gzip",
        kib(container[0] + later[0]),
        kib(container[1] + later[1])
    );
}
