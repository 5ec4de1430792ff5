//! The OpenAPI document against the server it describes: the document is
//! public and OpenAPI 3.1, and schemathesis (installed by `./dev.sh test`)
//! sends generated requests, valid and invalid, to every REST operation that
//! is safe to call here and checks each answer against the document: no 5xx,
//! and status, content type and body as documented. What the operations do
//! is tested elsewhere (api.rs, access.rs, resources.rs...). The document
//! itself passes a standard validator (openapi-spec-validator, also
//! installed by `./dev.sh test`), names each operation once, and every
//! reference in it resolves.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The run takes under a minute on 2 cores; past this it is killed.
const TIMEOUT: Duration = Duration::from_secs(300);
/// Generated cases per operation in the fuzzing phase (the coverage phase
/// adds its own boundary cases on top).
const MAX_EXAMPLES: &str = "100";
/// The same cases every run, so a failure can be run again.
const SEED: &str = "1";

/// Operations schemathesis is not given, besides every path holding `prune`
/// (a prune acts on the machine's real engine whatever its arguments: it
/// would remove every dangling image and unused network and volume there,
/// other tests' and other people's included).
const SKIPPED: &[(&str, &str)] = &[
    // Disabling, demoting or deleting users, revoking keys and ending
    // sessions could hit the admin who owns the key or the key itself: the
    // run would lock itself out halfway and see only 401s from then on.
    ("DELETE", "/api/v1/users/{id}"),
    ("PATCH", "/api/v1/users/{id}"),
    ("DELETE", "/api/v1/me/keys/{id}"),
    ("DELETE", "/api/v1/me/sessions/{handle}"),
    // Signing in and out rotate and end the caller's session, state this
    // test does not own the way a browser would.
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    // Probing and adding a host make berth connect to the address in the
    // body, whatever was generated: someone else's machine, perhaps. (Every
    // other host operation runs on `local`, which refuses to change.)
    ("POST", "/api/v1/hosts/probe"),
    ("POST", "/api/v1/hosts"),
    // A channel made or changed from a generated body would have berth send
    // notifications there, and a test sends one at once.
    ("POST", "/api/v1/alerts/channels"),
    ("PUT", "/api/v1/alerts/channels/{id}"),
    ("POST", "/api/v1/alerts/channels/{id}/test"),
];

/// A host berth does not know.
const NO_HOST: &str = "berth-openapi-no-such-host";

/// Operations that change an engine, called only on things that exist
/// nowhere: schemathesis reuses the ids it reads in list answers (real
/// containers and networks), a generated id could match a real one by
/// prefix (the engine takes `4` for the one whose id starts with 4), and a
/// generated body could name a real image. Path parameters set here are the
/// only values it sends; body fields set the same way are not (it still
/// sends bodies without them), so creation goes to no host. Every other
/// operation runs on `local`, the real engine, and only reads it.
const NOWHERE: &[Pinned] = &[
    Pinned {
        method: "POST",
        path: "/api/v1/hosts/{host}/containers",
        params: &[("host", NO_HOST)],
    },
    Pinned {
        method: "POST",
        path: "/api/v1/hosts/{host}/containers/{id}/{action}",
        params: &[("host", "local"), ("id", "berth-openapi-no-such-container")],
    },
    Pinned {
        method: "DELETE",
        path: "/api/v1/hosts/{host}/images/{reference}",
        params: &[("host", "local"), ("reference", "berth-openapi-test/no-such-image:0")],
    },
    Pinned {
        method: "DELETE",
        path: "/api/v1/hosts/{host}/networks/{id}",
        params: &[("host", "local"), ("id", "berth-openapi-no-such-network")],
    },
    Pinned {
        method: "DELETE",
        path: "/api/v1/hosts/{host}/volumes/{name}",
        params: &[("host", "local"), ("name", "berth-openapi-no-such-volume")],
    },
];

/// One operation with the only values schemathesis may send for some of
/// its path parameters.
struct Pinned {
    method: &'static str,
    path: &'static str,
    params: &'static [(&'static str, &'static str)],
}

/// The event kinds of changes to an engine (core records each call).
const ENGINE_CHANGES: &[&str] = &[
    "container.create",
    "container.start",
    "container.stop",
    "container.restart",
    "container.kill",
    "container.pause",
    "container.unpause",
    "container.remove",
    "image.remove",
    "image.prune",
    "network.remove",
    "network.prune",
    "volume.remove",
    "volume.prune",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_document_says() {
    let schemathesis = std::env::var("BERTH_SCHEMATHESIS").unwrap_or_else(|_| {
        panic!("BERTH_SCHEMATHESIS is not set: run ./dev.sh test, which installs schemathesis and sets it")
    });
    // Operations on `local` need the engine; without one every call is a 503.
    assert_engine_running();
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let resp = admin
        .post(server.url("/api/v1/me/keys"))
        .json(&serde_json::json!({ "name": "schemathesis" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "creating the key");
    let created: Value = resp.json().await.unwrap();
    let key = created["token"].as_str().expect("the new key's token").to_string();

    // Public: a client that never signed in reads it.
    let resp = reqwest::get(server.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(resp.status(), 200, "GET /api/v1/openapi.json without signing in");
    let doc: Value = resp.json().await.unwrap();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "not OpenAPI 3.1: {version:?}");
    for path in [
        "/api/v1/hosts/{host}/containers",
        "/api/v1/hosts/entries",
        "/api/v1/users",
        "/api/v1/me/keys",
        "/api/v1/events",
    ] {
        assert!(doc["paths"].get(path).is_some(), "the document has no {path}");
    }
    // A skip or a pin that names no operation would silently let
    // schemathesis call the real thing.
    let operation = |method: &str, path: &str| doc["paths"][path].get(method.to_lowercase()).is_some();
    for (method, path) in SKIPPED
        .iter()
        .copied()
        .chain(NOWHERE.iter().map(|p| (p.method, p.path)))
    {
        assert!(operation(method, path), "the document has no {method} {path}");
    }

    // Kept when the run fails, with schemathesis's whole output and its
    // crash files (.schemathesis, .hypothesis).
    let mut work = tempfile::Builder::new()
        .prefix("openapi-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, config_toml()).unwrap();
    let output = work.path().join("output.txt");
    let log = std::fs::File::create(&output).unwrap();

    let mut command = Command::new(&schemathesis);
    command
        .current_dir(work.path())
        .arg("--config-file")
        .arg(&config)
        .args([
            "run",
            &server.url("/api/v1/openapi.json"),
            "--url",
            &server.base,
            "--header",
            &format!("Authorization: Bearer {key}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            // Stateful testing chains calls on the ids in answers (a listed
            // container's id into an action): not on the machine's engine.
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
            // One worker: with two threads, Python 3.11's `ast` (which
            // hypothesis uses to describe its strategies) races on its
            // recursion counter and fails the run at random ("AST constructor
            // recursion depth mismatch", CPython issue 106905).
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            "--no-color",
            "--exclude-path-regex",
            "prune",
        ]);
    for (method, path) in SKIPPED {
        command.arg("--exclude-name").arg(format!("{method} {path}"));
    }
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {schemathesis}: {e} (./dev.sh test installs it)"));
    let mut child = KillOnDrop(child);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(child); // kills it if it is still running
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    println!(
        "schemathesis ran {:.0} s; its summary:\n{}",
        started.elapsed().as_secs_f64(),
        summary(&text)
    );

    // The run kept its key: its 401s, if any, are the server's own.
    let me = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the key stopped working during the run");
    let changed = engine_changes(&server, &key).await;
    assert!(changed.is_empty(), "the run changed the machine's engine: {changed:#?}");
    let failed = match status {
        None => Some(format!("took more than {} s and was killed", TIMEOUT.as_secs())),
        Some(s) if !s.success() => Some(format!("found answers that differ from the document ({s})")),
        Some(_) => None,
    };
    if let Some(failed) = failed {
        work.disable_cleanup(true);
        panic!(
            "schemathesis {failed}; its whole output is in {}, and its end:\n{}",
            output.display(),
            tail(&text)
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_and_names_each_operation_once() {
    let validator = std::env::var("BERTH_OPENAPI_VALIDATOR").unwrap_or_else(|_| {
        panic!(
            "BERTH_OPENAPI_VALIDATOR is not set: run ./dev.sh test, which installs openapi-spec-validator and sets it"
        )
    });
    let (_dir, server) = Server::with_admin().await;
    let text = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();

    let mut ids: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default().to_string();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            ids.push((id, format!("{method} {path}")));
        }
    }
    ids.sort();
    let twice: Vec<_> = ids.windows(2).filter(|w| w[0].0 == w[1].0).collect();
    assert!(twice.is_empty(), "operation ids named twice: {twice:?}");
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} is referred to but not defined"
        );
    }

    let work = tempfile::Builder::new()
        .prefix("openapi-doc-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let file = work.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new(&validator)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {validator}: {e} (./dev.sh test installs it)"));
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "openapi-spec-validator refuses the document:\n{}",
        tail(&said)
    );
    println!("openapi-spec-validator: {}; {} operations", said.trim(), ids.len());
    server.stop().await.unwrap();
}

/// Every `$ref` in the document.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => found.push(r.clone()),
                    _ => references(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// schemathesis's configuration: operations on `local`, those of `NOWHERE`
/// on the things that do not exist.
fn config_toml() -> String {
    // A JSON string is a TOML basic string too.
    let quote = |s: &str| serde_json::to_string(s).unwrap();
    let mut toml = format!("[parameters]\n{} = {}\n", quote("path.host"), quote("local"));
    for Pinned { method, path, params } in NOWHERE {
        let params: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{} = {}", quote(&format!("path.{name}")), quote(value)))
            .collect();
        toml += &format!(
            "\n[[operations]]\ninclude-name = {}\nparameters = {{ {} }}\n",
            quote(&format!("{method} {path}")),
            params.join(", ")
        );
    }
    toml
}

/// Changes to an engine the key's calls made, other than on the things that
/// exist nowhere (removing a missing volume with `force` succeeds). Read
/// with the key: the run resets the admin's password, which ends the
/// admin's sessions.
async fn engine_changes(server: &Server, key: &str) -> Vec<String> {
    let mut changed = Vec::new();
    let mut before = String::new();
    loop {
        let path = format!("/api/v1/events?outcome=ok&actor=apikey:{ADMIN}/schemathesis&limit=1000{before}");
        let resp = reqwest::Client::new()
            .get(server.url(&path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        let page: Value = resp.json().await.unwrap();
        for e in page["events"].as_array().expect("a page of events") {
            let kind = e["kind"].as_str().unwrap_or_default();
            let target = e["target"].as_str().unwrap_or_default();
            let nowhere = NOWHERE
                .iter()
                .flat_map(|p| p.params.iter())
                .any(|(name, value)| *name != "host" && target.ends_with(&format!(":{value}")));
            if ENGINE_CHANGES.contains(&kind) && !nowhere {
                changed.push(format!("{kind} {target} on {}", e["host"]));
            }
        }
        match page["next_before"].as_u64() {
            Some(seq) => before = format!("&before={seq}"),
            None => return changed,
        }
    }
}

/// Kills schemathesis (by its pid) unless it has exited: on a timeout, and
/// when the test panics while it runs.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The SUMMARY section: operations, phases, failures by kind, test cases.
fn summary(text: &str) -> String {
    match text.find("SUMMARY") {
        Some(at) => text[at..]
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        None => "(none: it did not finish)".into(),
    }
}

/// The last lines of the output, where the failures and the summary are.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(250)..].join("\n")
}
