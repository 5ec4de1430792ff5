//! Hosts added, renamed, disabled, enabled and removed while berth runs,
//! against real parts: real `berth agent` processes on loopback ports in
//! front of the real engine, a real server, REST with an admin's API key,
//! and the real `berth host` command line.
//!
//! - Added through REST: probed first (the fingerprint of agent-cert.pem),
//!   reachable with the engine's containers, listed with its origin, on
//!   record, and back after a restart. The token is in no answer and no
//!   event.
//! - A wrong fingerprint keeps the host away, saying why, on record, until
//!   an admin accepts the right one.
//! - Renamed (grants and key grants follow, a clash changes nothing),
//!   disabled (kept, listed, not connected, also after a restart), enabled,
//!   removed; a configured host of the same name wins at start-up.
//! - Bad inputs and non-admins change nothing; two adds at once of one name
//!   make one host.
//! - `berth host add` and `berth host list` against the running server.

mod common;

use berth_server::HostConfig;
use common::docker::TestContainer;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real `berth agent` set up with `berth agent init` in a temporary
/// directory, on a loopback port; killed by its pid when dropped (also
/// when the test panics).
struct Agent {
    dir: tempfile::TempDir,
    port: u16,
    token: String,
    /// What `berth agent init` printed.
    fingerprint: String,
    child: Option<Child>,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["agent", "init", "--dir"])
            .arg(dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "berth agent init: {}", text(&out.stderr));
        let printed = text(&out.stdout);
        let field = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("`berth agent init` printed no {name}:\n{printed}"))
        };
        let log = std::fs::File::create(dir.path().join("agent.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["agent", "--dir"])
            .arg(dir.path())
            .env_remove("DOCKER_HOST")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut agent = Agent {
            token: field("token"),
            fingerprint: field("fingerprint"),
            dir,
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = agent.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("berth agent exited ({status}):\n{}", agent.log());
            }
            assert!(
                Instant::now() < deadline,
                "berth agent never listened:\n{}",
                agent.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// The fingerprint of the certificate file itself.
    fn cert_fingerprint(&self) -> String {
        let pem = std::fs::read_to_string(self.dir.path().join("agent-cert.pem")).unwrap();
        berth_core::agent::tls::fingerprint_of_pem(&pem).unwrap().to_string()
    }

    /// A file holding the token, as `--token-file` and `token_file` read it.
    fn token_file(&self) -> PathBuf {
        let path = self.dir.path().join("berth.token");
        std::fs::write(&path, format!("{}\n", self.token)).unwrap();
        path
    }

    /// The body of `POST /api/v1/hosts` adding this agent as `name`.
    fn new_host(&self, name: &str) -> Value {
        json!({ "name": name, "url": self.url(), "token": self.token, "fingerprint": self.fingerprint })
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A server with heartbeats every second (plus `change`), the admin signed
/// in, and an API key of the admin's.
async fn berth_with(change: impl FnOnce(&mut berth_server::Config)) -> (tempfile::TempDir, Server, String) {
    let (dir, server, admin) = stats_server(change).await;
    let key = new_key(&server, &admin, "ops").await;
    (dir, server, key)
}

async fn new_key(server: &Server, client: &reqwest::Client, name: &str) -> String {
    let resp = client
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `method path` with `key` as the bearer and `body` as JSON: status and body.
async fn call(server: &Server, key: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn get(server: &Server, key: &str, path: &str) -> (u16, Value) {
    call(server, key, Method::GET, path, None).await
}

/// Waits until host `id` is reachable; returns its view (status and containers).
async fn reachable(server: &Server, key: &str, id: &str) -> Value {
    until(&format!("host {id} is reachable"), 30, async || {
        let (status, view) = get(server, key, &format!("/api/v1/hosts/{id}")).await;
        (status == 200 && view["status"]["reachable"] == true).then_some(view)
    })
    .await
}

/// The admin's list of hosts, by name.
async fn entries(server: &Server, key: &str) -> Vec<Value> {
    let (status, page) = get(server, key, "/api/v1/hosts/entries?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

fn names(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

fn entry<'a>(entries: &'a [Value], id: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no host {id} in {entries:?}"))
}

/// The events of `kind` (newest first), as the admin's key sees them.
async fn events_of(server: &Server, key: &str, query: &str) -> Vec<Value> {
    let (status, page) = get(server, key, &format!("/api/v1/events?limit=1000&{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().unwrap().clone()
}

/// The whole log, exported as JSON lines.
async fn export(server: &Server, key: &str) -> String {
    let resp = reqwest::Client::new()
        .get(server.url("/api/v1/events/export"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_added_through_rest_connects_shows_its_containers_and_comes_back_after_a_restart() {
    assert_engine_running();
    let container = unique("sleeper");
    let _sleeper = TestContainer::run(&container, &[], &["sleep", "600"]);
    let agent = Agent::start();
    let (dir, server, key) = berth_with(|_| {}).await;

    // Probing tells the certificate's fingerprint, and sends nothing else.
    let (status, probed) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts/probe",
        Some(json!({ "url": agent.url() })),
    )
    .await;
    assert_eq!(status, 200, "{probed}");
    assert_eq!(probed["fingerprint"], agent.cert_fingerprint());
    assert_eq!(probed["fingerprint"], agent.fingerprint.as_str());

    let (status, added) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts",
        Some(agent.new_host("edge-1")),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["id"], "edge-1");
    assert_eq!(added["origin"], "added");
    assert_eq!(added["transport"], "agent");
    assert_eq!(added["address"], agent.url());
    assert_eq!(added["fingerprint"], agent.fingerprint.as_str());
    assert_eq!(added["added_by"], "apikey:admin/ops");

    // Reachable, with the engine's containers (the agent serves the same engine).
    let view = reachable(&server, &key, "edge-1").await;
    assert_eq!(view["status"]["transport"], "agent");
    wait_for_state_on(&server, &client_with(&key), "edge-1", &container, "running").await;

    let listed = entries(&server, &key).await;
    assert_eq!(names(&listed), ["edge-1", "local"]);
    assert_eq!(entry(&listed, "local")["origin"], "local");
    assert_eq!(entry(&listed, "edge-1")["enabled"], true);
    assert_eq!(entry(&listed, "edge-1")["status"]["reachable"], true);

    let add = &events_of(&server, &key, "kind=host.add").await[0];
    assert_eq!(add["host"], "edge-1", "{add}");
    assert_eq!(add["outcome"]["status"], "ok", "{add}");
    assert_eq!(add["actor"]["name"], "admin/ops", "{add}");
    assert_eq!(add["details"]["url"], agent.url(), "{add}");
    assert_eq!(add["details"]["fingerprint"], agent.fingerprint.as_str(), "{add}");
    let probe = &events_of(&server, &key, "kind=host.probe").await[0];
    assert_eq!(probe["details"]["fingerprint"], agent.fingerprint.as_str(), "{probe}");

    // Back after a restart, connected again, still added at run time.
    server.stop().await.unwrap();
    let server = Server::start_with(dir.path(), |c| c.stats_interval_secs = 1).await;
    reachable(&server, &key, "edge-1").await;
    let listed = entries(&server, &key).await;
    assert_eq!(entry(&listed, "edge-1")["origin"], "added");

    // The token is in no answer and no event.
    let mut seen = String::new();
    for path in [
        "/api/v1/hosts/entries",
        "/api/v1/hosts",
        "/api/v1/hosts/edge-1",
        "/api/v1/events?limit=1000",
    ] {
        let (status, body) = get(&server, &key, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        seen.push_str(&body.to_string());
    }
    seen.push_str(&export(&server, &key).await);
    assert!(seen.contains("edge-1"), "the answers are about the host");
    assert!(
        !seen.contains(&agent.token),
        "the agent's token was in an answer or an event"
    );
    server.stop().await.unwrap();
}

/// A client that sends `key` with every request (for the common helpers).
fn client_with(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {key}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_fingerprint_keeps_the_host_away_until_an_admin_accepts_the_right_one() {
    let agent = Agent::start();
    let (_dir, server, key) = berth_with(|_| {}).await;
    let wrong = format!("sha256:{}", "00".repeat(32));
    let mut body = agent.new_host("pinned");
    body["fingerprint"] = json!(wrong);
    let (status, added) = call(&server, &key, Method::POST, "/api/v1/hosts", Some(body)).await;
    assert_eq!(status, 201, "{added}");

    let status = until("host pinned has failed to connect", 20, async || {
        let (_, view) = get(&server, &key, "/api/v1/hosts/pinned").await;
        let error = view["status"]["error"].as_str()?.to_string();
        (error != "not connected yet").then_some(view["status"].clone())
    })
    .await;
    assert_eq!(status["reachable"], false);
    let error = status["error"].as_str().unwrap();
    assert!(error.starts_with("the agent's certificate changed"), "{error}");
    assert!(error.contains(&agent.fingerprint), "{error}");
    // The watcher records it without waiting for the disk: wait for it.
    let lost = until("the failure is recorded", 10, async || {
        events_of(&server, &key, "kind=host.disconnect&host=pinned")
            .await
            .first()
            .cloned()
    })
    .await;
    assert_eq!(lost["outcome"]["message"], error, "{lost}");

    let (status, accepted) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts/pinned/fingerprint",
        Some(json!({ "fingerprint": agent.fingerprint })),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["fingerprint"], agent.fingerprint.as_str());
    reachable(&server, &key, "pinned").await;
    let accept = &events_of(&server, &key, "kind=host.fingerprint_accept").await[0];
    assert_eq!(accept["host"], "pinned");
    assert_eq!(accept["outcome"]["status"], "ok", "{accept}");
    assert_eq!(accept["details"]["old"], wrong.as_str(), "{accept}");
    assert_eq!(accept["details"]["new"], agent.fingerprint.as_str(), "{accept}");

    // Local is nobody's to re-pin; a malformed fingerprint changes nothing.
    let (status, body) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts/local/fingerprint",
        Some(json!({ "fingerprint": agent.fingerprint })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts/pinned/fingerprint",
        Some(json!({ "fingerprint": "sha256:nothex" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("is not a certificate fingerprint"),
        "{body}"
    );
    assert_eq!(
        entry(&entries(&server, &key).await, "pinned")["fingerprint"],
        agent.fingerprint.as_str()
    );
    server.stop().await.unwrap();
}

/// User `name` (not an admin) with `grants`, signed in, and their id.
async fn granted(server: &Server, admin: &reqwest::Client, name: &str, grants: Value) -> (reqwest::Client, u64) {
    let user = plain_user(server, admin, name, PASSWORD).await;
    let id = get_json(server, &user, "/api/v1/me").await["user"]["id"]
        .as_u64()
        .unwrap();
    set_grants(server, admin, id, grants).await;
    (user, id)
}

async fn set_grants(server: &Server, admin: &reqwest::Client, id: u64, grants: Value) {
    let resp = admin
        .put(server.url(&format!("/api/v1/users/{id}/grants")))
        .json(&grants)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_disable_enable_and_remove_while_berth_runs() {
    let agent = Agent::start();
    let (dir, server, admin) = stats_server(|_| {}).await;
    let key = new_key(&server, &admin, "ops").await;
    let (status, body) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts",
        Some(agent.new_host("edge-a")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    reachable(&server, &key, "edge-a").await;

    // Bob may view edge-a, and so may his key; carol holds grants on both
    // edge-a and edge-z.
    let (bob, bob_id) = granted(&server, &admin, "bob", json!([{ "host": "edge-a", "level": "view" }])).await;
    let resp = bob
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": "narrow", "grants": [{ "host": "edge-a", "level": "view" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let bob_key = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let both = json!([{ "host": "edge-a", "level": "view" }, { "host": "edge-z", "level": "operate" }]);
    let (_carol, carol_id) = granted(&server, &admin, "carol", both).await;

    // Renaming onto a name carol holds as well would merge her grants: refused, nothing changed.
    let (status, body) = call(
        &server,
        &key,
        Method::PATCH,
        "/api/v1/hosts/edge-a",
        Some(json!({ "name": "edge-z" })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("user carol"), "{body}");
    assert_eq!(names(&entries(&server, &key).await), ["edge-a", "local"]);
    set_grants(
        &server,
        &admin,
        carol_id,
        json!([{ "host": "edge-a", "level": "view" }]),
    )
    .await;

    let (status, renamed) = call(
        &server,
        &key,
        Method::PATCH,
        "/api/v1/hosts/edge-a",
        Some(json!({ "name": "edge-b" })),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["id"], "edge-b");
    let (status, _) = get(&server, &key, "/api/v1/hosts/edge-a").await;
    assert_eq!(status, 404, "the old name is gone");
    reachable(&server, &key, "edge-b").await;
    assert_eq!(names(&entries(&server, &key).await), ["edge-b", "local"]);
    // Grants followed, the user's and the key's.
    let grants = get_json(&server, &admin, &format!("/api/v1/users/{bob_id}/grants")).await;
    assert_eq!(grants.to_string().matches("edge-b").count(), 1, "{grants}");
    assert!(!grants.to_string().contains("edge-a"), "{grants}");
    assert_eq!(
        bob.get(server.url("/api/v1/hosts/edge-b"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get(&server, &bob_key, "/api/v1/hosts/edge-b").await.0,
        200,
        "bob's narrowed key"
    );
    let rename = &events_of(&server, &key, "kind=host.rename&outcome=ok").await[0];
    assert_eq!(
        rename["details"],
        json!({ "from": "edge-a", "to": "edge-b" }),
        "{rename}"
    );
    // The old name's history stays as it was.
    let before = events_of(&server, &key, "kind=host.add&host=edge-a").await;
    assert_eq!(before.len(), 1, "{before:?}");

    // Disabled: not connected, not among the running hosts, listed as disabled.
    let (status, disabled) = call(
        &server,
        &key,
        Method::PATCH,
        "/api/v1/hosts/edge-b",
        Some(json!({ "enabled": false })),
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["status"]["reachable"], false);
    assert_eq!(disabled["status"]["error"], "disabled");
    assert_eq!(get(&server, &key, "/api/v1/hosts/edge-b").await.0, 404);
    let running = get(&server, &key, "/api/v1/hosts").await.1;
    assert!(!running.to_string().contains("edge-b"), "{running}");
    assert_eq!(
        events_of(&server, &key, "kind=host.disable&host=edge-b&outcome=ok")
            .await
            .len(),
        1
    );
    // Bob still sees it listed (his grant covers it), disabled.
    let bob_list = get(&server, &bob_key, "/api/v1/hosts/entries").await.1;
    assert_eq!(bob_list["items"].as_array().unwrap().len(), 1, "{bob_list}");
    assert_eq!(bob_list["items"][0]["enabled"], false, "{bob_list}");

    // Still disabled after a restart.
    server.stop().await.unwrap();
    let server = Server::start_with(dir.path(), |c| c.stats_interval_secs = 1).await;
    let listed = entries(&server, &key).await;
    assert_eq!(entry(&listed, "edge-b")["enabled"], false);
    assert_eq!(get(&server, &key, "/api/v1/hosts/edge-b").await.0, 404);

    let (status, body) = call(
        &server,
        &key,
        Method::PATCH,
        "/api/v1/hosts/edge-b",
        Some(json!({ "enabled": true })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    reachable(&server, &key, "edge-b").await;
    assert_eq!(
        events_of(&server, &key, "kind=host.enable&host=edge-b&outcome=ok")
            .await
            .len(),
        1
    );

    let (status, body) = call(&server, &key, Method::DELETE, "/api/v1/hosts/edge-b", None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(get(&server, &key, "/api/v1/hosts/edge-b").await.0, 404);
    assert_eq!(names(&entries(&server, &key).await), ["local"]);
    assert_eq!(
        events_of(&server, &key, "kind=host.remove&host=edge-b&outcome=ok")
            .await
            .len(),
        1
    );
    let (status, body) = call(&server, &key, Method::DELETE, "/api/v1/hosts/local", None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("'local' is the engine beside berth"),
        "{body}"
    );

    // A name the configuration file also has: the file's host wins at start-up.
    let (status, body) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts",
        Some(agent.new_host("edge-c")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    server.stop().await.unwrap();
    let configured = HostConfig::agent("edge-c", &agent.url(), agent.token_file(), &agent.fingerprint);
    let server = Server::start_with(dir.path(), |c| {
        c.stats_interval_secs = 1;
        c.hosts = vec![configured];
    })
    .await;
    reachable(&server, &key, "edge-c").await;
    let listed = entries(&server, &key).await;
    assert_eq!(names(&listed), ["edge-c", "local"]);
    assert_eq!(entry(&listed, "edge-c")["origin"], "config");
    let (status, body) = call(
        &server,
        &key,
        Method::PATCH,
        "/api/v1/hosts/edge-c",
        Some(json!({ "name": "edge-d" })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("configuration file"), "{body}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_and_non_admins_change_nothing() {
    let agent = Agent::start();
    let (dir, server, admin) = stats_server(|_| {}).await;
    let key = new_key(&server, &admin, "ops").await;
    let (status, body) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts",
        Some(agent.new_host("edge-1")),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let with = |field: &str, value: &str| {
        let mut body = agent.new_host("edge-new");
        body[field] = json!(value);
        body
    };
    let cases = [
        (with("name", "Bad Name"), 400, "is not a host name"),
        (with("name", "local"), 400, "'local' is the engine beside berth"),
        (with("name", "entries"), 400, "names a path of berth's REST API"),
        (with("name", "edge-1"), 409, "there is a host 'edge-1' already"),
        (with("url", "http://127.0.0.1:7443"), 400, "must start with https://"),
        (
            with("url", "https://127.0.0.1:7443/path"),
            400,
            "only a host and a port",
        ),
        (with("token", "short"), 400, "is not an agent token"),
        (
            with("fingerprint", "sha256:1234"),
            400,
            "is not a certificate fingerprint",
        ),
    ];
    let bad_count = cases.len();
    for (body, want, says) in cases {
        let (status, answer) = call(&server, &key, Method::POST, "/api/v1/hosts", Some(body.clone())).await;
        assert_eq!(status, want, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(says), "{body}: {error}");
    }
    let (status, answer) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts",
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = call(&server, &key, Method::PATCH, "/api/v1/hosts/edge-1", Some(json!({}))).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = call(
        &server,
        &key,
        Method::PATCH,
        "/api/v1/hosts/no-such-host",
        Some(json!({ "enabled": false })),
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = call(
        &server,
        &key,
        Method::POST,
        "/api/v1/hosts/probe",
        Some(json!({ "url": "ftp://x" })),
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    // Each failed add is on record, with what was wrong, without the token.
    let failed = events_of(&server, &key, "kind=host.add&outcome=error").await;
    assert_eq!(failed.len(), bad_count, "{failed:?}");
    assert!(!Value::from(failed).to_string().contains(&agent.token));

    // Someone who is not an admin is refused, and the refusal recorded once.
    let (bob, _) = granted(&server, &admin, "bob", json!([{ "host": "*", "level": "manage" }])).await;
    let resp = bob
        .post(server.url("/api/v1/hosts"))
        .json(&agent.new_host("bobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let refused = events_of(&server, &key, "kind=host.add&outcome=denied").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["actor"]["name"], "bob");
    assert!(!refused[0].to_string().contains(&agent.token));
    let resp = bob.delete(server.url("/api/v1/hosts/edge-1")).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        events_of(&server, &key, "kind=host.remove&outcome=denied").await.len(),
        1
    );
    // He still sees the hosts his grant covers, without changing them.
    let listed = bob.get(server.url("/api/v1/hosts/entries")).send().await.unwrap();
    assert_eq!(listed.status(), 200);

    // Two adds of one name at once: one host, one conflict.
    let (a, b) = tokio::join!(
        call(
            &server,
            &key,
            Method::POST,
            "/api/v1/hosts",
            Some(agent.new_host("edge-2"))
        ),
        call(
            &server,
            &key,
            Method::POST,
            "/api/v1/hosts",
            Some(agent.new_host("edge-2"))
        ),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
    assert_eq!(names(&entries(&server, &key).await), ["edge-1", "edge-2", "local"]);
    server.stop().await.unwrap();

    // What is stored: the two good hosts, nothing else.
    let stored = stored_hosts(&dir.path().join("berth.redb"));
    assert_eq!(stored, ["edge-1", "edge-2"]);
}

/// The names in the database's table of added hosts (berth stopped).
fn stored_hosts(db: &Path) -> Vec<String> {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};
    let table: TableDefinition<&str, &[u8]> = TableDefinition::new("hosts");
    let db = redb::Database::open(db).unwrap();
    let tx = db.begin_read().unwrap();
    let table = tx.open_table(table).unwrap();
    table
        .iter()
        .unwrap()
        .map(|row| row.unwrap().0.value().to_string())
        .collect()
}

/// `berth ARGS` with nothing on standard input (not a terminal) and no
/// BERTH_API_KEY in its environment, run off the async workers.
async fn berth_cli(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(&args)
            .env_remove("BERTH_API_KEY")
            .env_remove("BERTH_LISTEN")
            .env_remove("BERTH_DATA_DIR")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berth_host_adds_and_lists_hosts_of_the_running_server() {
    let agent = Agent::start();
    let (dir, server, key) = berth_with(|_| {}).await;
    let key_file = dir.path().join("admin.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let common = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--server".to_string(),
            server.base.clone(),
            "--api-key-file".to_string(),
            key_file.display().to_string(),
        ]);
        all
    };
    let token_file = agent.token_file().display().to_string();

    let out = berth_cli(common(&[
        "host",
        "add",
        "cli-1",
        "--agent",
        &agent.url(),
        "--token-file",
        &token_file,
        "--fingerprint",
        &agent.fingerprint,
    ]))
    .await;
    assert!(out.status.success(), "berth host add: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("added host cli-1"), "{}", text(&out.stdout));
    reachable(&server, &key, "cli-1").await;

    // Without --fingerprint and without a terminal to confirm on: refused,
    // after showing what the agent presents.
    let out = berth_cli(common(&[
        "host",
        "add",
        "cli-2",
        "--agent",
        &agent.url(),
        "--token-file",
        &token_file,
    ]))
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains(&agent.cert_fingerprint()),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("pass it with --fingerprint"),
        "{}",
        text(&out.stderr)
    );

    let out = berth_cli(common(&["host", "list"])).await;
    assert!(out.status.success(), "berth host list: {}", text(&out.stderr));
    let listed = text(&out.stdout);
    println!("berth host list:\n{listed}");
    let line = listed
        .lines()
        .find(|l| l.starts_with("cli-1 "))
        .unwrap_or_else(|| panic!("cli-1 is not listed:\n{listed}"));
    for word in [
        "added",
        "agent",
        "reachable",
        agent.url().as_str(),
        agent.fingerprint.as_str(),
    ] {
        assert!(line.contains(word), "no {word} in: {line}");
    }
    assert!(listed.lines().any(|l| l.starts_with("local ")), "{listed}");
    assert!(!listed.contains("cli-2"), "{listed}");
    assert!(!listed.contains(&agent.token), "{listed}");

    // A key file that cannot be read is named.
    let out = berth_cli(vec![
        "host".into(),
        "remove".into(),
        "cli-1".into(),
        "--server".into(),
        server.base.clone(),
        "--api-key-file".into(),
        "/nonexistent/key".into(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot read the API key file"),
        "{}",
        text(&out.stderr)
    );

    let out = berth_cli(common(&["host", "remove", "cli-1"])).await;
    assert!(out.status.success(), "berth host remove: {}", text(&out.stderr));
    assert_eq!(names(&entries(&server, &key).await), ["local"]);
    server.stop().await.unwrap();
}
