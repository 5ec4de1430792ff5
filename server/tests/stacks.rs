//! Stacks against a real server, the real engine, the real compose
//! (Debian's docker-compose 1.29, or `docker compose` where present) and a
//! real git repository served over HTTP with basic auth (`git
//! http-backend`):
//! - a compose project started by hand shows up on /stacks and is stopped,
//!   started and taken down from berth;
//! - a stack from git is deployed (one service built from the repository,
//!   one from an image, a secret), versioned, redeployed by a GitHub-signed
//!   webhook (forged, empty, replayed and ping deliveries each answered
//!   and recorded), and a commit whose healthcheck never passes fails at
//!   its timeout and rolls back; the secret is in the container's
//!   environment and nowhere in a deploy's output, an event or a page.

mod common;

#[path = "../../core/tests/support/git_http.rs"]
mod git_http;

use common::docker::{IMAGE, docker};
use common::*;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::process::Command;

const SECRET_VALUE: &str = "s3cr3t-token-for-the-worker";

/// Removes a compose project's containers and networks by its label.
struct Project(String);

impl Drop for Project {
    fn drop(&mut self) {
        let label = format!("label=com.docker.compose.project={}", self.0);
        if let Ok(out) = Command::new("docker").args(["ps", "-aq", "--filter", &label]).output() {
            for id in text(&out.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
        let _ = Command::new("docker")
            .args(["network", "prune", "-f", "--filter", &label])
            .output();
    }
}

fn compose_v1_or_v2() -> Vec<&'static str> {
    let v2 = Command::new("docker").args(["compose", "version"]).output();
    if v2.is_ok_and(|o| o.status.success()) {
        vec!["docker", "compose"]
    } else {
        vec!["docker-compose"]
    }
}

async fn stack(server: &Server, c: &reqwest::Client, name: &str) -> Value {
    get_json(server, c, &format!("/api/v1/hosts/local/stacks/{name}")).await
}

async fn act(server: &Server, c: &reqwest::Client, name: &str, action: &str) -> Value {
    let r = c
        .post(server.url(&format!("/api/v1/hosts/local/stacks/{name}/{action}")))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {body}");
    body
}

fn states(stack: &Value) -> Vec<String> {
    stack["stack"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["containers"].as_array().unwrap().clone())
        .map(|c| c["state"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_project_started_by_hand_is_found_and_operated_from_berth() {
    assert_engine_running();
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let name = format!("byhand{}", std::process::id());
    let _cleanup = Project(name.clone());
    let files = tempfile::tempdir().unwrap();
    std::fs::write(
        files.path().join("docker-compose.yml"),
        format!(
            "version: '3.7'\nservices:\n  app:\n    image: {IMAGE}\n    command: [\"sleep\", \"600\"]\n  \
             side:\n    image: {IMAGE}\n    command: [\"sleep\", \"600\"]\n"
        ),
    )
    .unwrap();
    let mut cmd = compose_v1_or_v2();
    let program = cmd.remove(0);
    let out = Command::new(program)
        .args(&cmd)
        .args(["-p", &name, "up", "-d"])
        .current_dir(files.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "compose up: {}", text(&out.stderr));

    let listed = until("the project is listed", 20, async || {
        let all = get_json(&server, &admin, "/api/v1/stacks").await;
        all.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name.as_str())
            .cloned()
    })
    .await;
    assert_eq!(listed["managed"], false);
    let services: Vec<&str> = listed["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["app", "side"]);
    let config = listed["config_files"].as_str().unwrap_or_default();
    assert!(
        config.ends_with("docker-compose.yml"),
        "the labels' compose file: {listed}"
    );

    assert_eq!(act(&server, &admin, &name, "stop").await["containers"], 2);
    until("both stopped", 20, async || {
        let s = stack(&server, &admin, &name).await;
        states(&s).iter().all(|st| st == "exited").then_some(())
    })
    .await;
    act(&server, &admin, &name, "start").await;
    until("both running again", 20, async || {
        let s = stack(&server, &admin, &name).await;
        states(&s).iter().all(|st| st == "running").then_some(())
    })
    .await;

    // Up needs the compose files berth keeps only for the stacks it deploys.
    let up = admin
        .post(server.url(&format!("/api/v1/hosts/local/stacks/{name}/up")))
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 400);
    assert!(up.text().await.unwrap().contains("compose files"));

    act(&server, &admin, &name, "down").await;
    let left = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
    ]);
    assert!(left.is_empty(), "down left containers: {left}");
    let events = events(&server, &admin, "kind=stack.down").await;
    assert_eq!(events["events"][0]["outcome"]["status"], "ok", "{events}");
    server.stop().await.unwrap();
}

fn compose_file(health: &str) -> String {
    format!(
        r#"version: "3.7"
services:
  web:
    build: .
    healthcheck:
      test: {health}
      interval: 1s
      timeout: 2s
      retries: 2
  worker:
    image: {IMAGE}
    command: ["sh", "-c", "echo worker starting; sleep 600"]
    environment:
      - API_TOKEN=${{API_TOKEN}}
      - GREETING=${{GREETING}}
      - PORT=${{WEB_PORT}}
      - DATA=${{DATA_DIR}}
"#
    )
}

const HEALTHY: &str = r#"["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]"#;
const NEVER_HEALTHY: &str = r#"["CMD", "false"]"#;

fn dockerfile() -> String {
    // The secret is echoed at build time if the build ever saw it: it must not.
    format!(
        "FROM {IMAGE}\nCOPY index.html /www/index.html\nRUN echo building; echo \"token=$API_TOKEN\"\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
    )
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn deliver(server: &Server, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn push_body(commit: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main",
        "after": commit,
        "head_commit": { "id": commit, "message": message },
        "pusher": { "name": "ci" },
    }))
    .unwrap()
}

/// Waits for a deploy to end; returns its detail.
async fn finished(server: &Server, c: &reqwest::Client, name: &str, id: u64, secs: u64) -> Value {
    until(&format!("deploy {id} ends"), secs, async || {
        let d = get_json(server, c, &format!("/api/v1/hosts/local/stacks/{name}/deploys/{id}")).await;
        let state = d["deploy"]["state"].as_str().unwrap_or_default().to_string();
        (!["queued", "running"].contains(&state.as_str())).then_some(d)
    })
    .await
}

fn served(container: &str) -> String {
    docker(&["exec", container, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])
}

/// The running container of `service` in the compose project `name`.
fn service_container(name: &str, service: &str) -> String {
    docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
    ])
}

fn web_container(name: &str) -> String {
    service_container(name, "web")
}

/// The environment the stack's worker runs with, as the engine has it.
fn worker_env(name: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        &service_container(name, "worker"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_from_git_deploys_versions_redeploys_on_a_signed_push_and_rolls_back() {
    assert_engine_running();
    let repos = tempfile::tempdir().unwrap();
    let git = git_http::GitServer::start(repos.path(), "deployer", "repo-password").await;
    git_http::create_repo(repos.path(), "app.git").await;
    let first = git
        .push_files(
            "app.git",
            "main",
            &[
                ("compose.yaml", &compose_file(HEALTHY)),
                ("Dockerfile", &dockerfile()),
                ("index.html", "version one\n"),
            ],
            "first version",
        )
        .await;

    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let name = format!("app{}", std::process::id());
    let _cleanup = Project(name.clone());

    let spec = json!({
        "name": name, "host": "local",
        "source": { "kind": "git", "url": git.url("app.git"), "branch": "main",
                    "credential": { "kind": "token", "user": "deployer" } },
        "git_secret": "repo-password",
        "vars": [
            { "name": "GREETING", "value": "hello" },
            { "name": "API_TOKEN", "value": SECRET_VALUE, "secret": true },
            { "name": "WEB_PORT", "computed": "free_port" },
            { "name": "DATA_DIR", "computed": "volume_path" },
        ],
        "timeout_s": 120, "on_push": true, "keep_versions": 3,
    });
    let r = admin
        .post(server.url("/api/v1/stacks"))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    // Deploy 1, from the API.
    let r = admin
        .post(server.url(&format!("/api/v1/hosts/local/stacks/{name}/deploys")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let queued: Value = r.json().await.unwrap();
    let one = finished(&server, &admin, &name, queued["id"].as_u64().unwrap(), 240).await;
    assert_eq!(
        one["deploy"]["state"],
        "succeeded",
        "{}",
        one["log"].as_str().unwrap_or_default()
    );
    assert_eq!(one["deploy"]["version"], 1);
    assert_eq!(one["deploy"]["commit"], first.as_str());
    let steps: Vec<&str> = one["deploy"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["fetch", "check", "build", "up", "wait"]);
    println!("deploy 1 timeline:");
    for s in one["deploy"]["steps"].as_array().unwrap() {
        let ms = (s["finished_ns"].as_i64().unwrap() - s["started_ns"].as_i64().unwrap()) / 1_000_000;
        println!(
            "  {:<6} {:>6} ms  {}",
            s["name"].as_str().unwrap(),
            ms,
            s["note"].as_str().unwrap()
        );
    }
    let d = &one["deploy"];
    let total = (d["finished_ns"].as_i64().unwrap() - d["queued_ns"].as_i64().unwrap()) / 1_000_000;
    let steps: i64 = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["finished_ns"].as_i64().unwrap() - s["started_ns"].as_i64().unwrap()) / 1_000_000)
        .sum();
    println!(
        "  queued to finished {total} ms, of which {} ms between the steps",
        total - steps
    );
    let images = one["deploy"]["images"].as_array().unwrap();
    let web_image = images.iter().find(|i| i["service"] == "web").unwrap();
    assert_eq!(web_image["reference"], format!("berth/{name}-web:1"));
    assert!(web_image["id"].as_str().unwrap().starts_with("sha256:"));
    // Tagged by version and by commit, labelled with where it came from.
    let by_commit = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        &format!("berth/{name}-web:{}", &first[..7]),
    ]);
    assert_eq!(by_commit, web_image["id"].as_str().unwrap());
    let revision = docker(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"org.opencontainers.image.revision\"}}",
        &format!("berth/{name}-web:1"),
    ]);
    assert_eq!(revision, first);
    let web = web_container(&name);
    assert_eq!(served(&web), "version one");
    // The secret reached the worker's environment, and nothing else.
    let env = worker_env(&name);
    assert!(env.contains(&format!("API_TOKEN={SECRET_VALUE}")), "{env}");
    assert!(env.contains("GREETING=hello"), "{env}");
    assert!(
        env.contains(&format!("DATA=/var/lib/berth-stacks/{name}/data_dir")),
        "{env}"
    );
    let port = |env: &str| -> u16 {
        let at = env.find("PORT=").expect("a PORT") + 5;
        env[at..].split('"').next().unwrap().parse().unwrap()
    };
    let first_port = port(&env);
    assert!((20000..=29999).contains(&first_port), "{env}");
    assert!(
        one["log"].as_str().unwrap().contains("building"),
        "the build's output is kept"
    );
    assert!(!one.to_string().contains(SECRET_VALUE), "the deploy shows the secret");
    assert!(
        !one.to_string().contains("repo-password"),
        "the deploy shows the git password"
    );
    let page = admin
        .get(server.url(&format!("/hosts/local/stacks/{name}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(SECRET_VALUE), "the stack's page shows the secret");

    // A webhook, a second commit, a signed push.
    let hook: Value = admin
        .put(server.url(&format!("/api/v1/hosts/local/stacks/{name}/webhook")))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = hook["secret"].as_str().unwrap().to_string();
    let path = hook["path"].as_str().unwrap().to_string();
    let second = git
        .push_files("app.git", "main", &[("index.html", "version two\n")], "second version")
        .await;
    let body = push_body(&second, "second version");
    let headers = |sig: String, delivery: &str, event: &str| {
        vec![
            ("x-hub-signature-256", sig),
            ("x-github-event", event.to_string()),
            ("x-github-delivery", delivery.to_string()),
        ]
    };
    let (status, answer) = deliver(&server, &path, &headers(sign(&secret, &body), "d-1", "push"), &body).await;
    assert_eq!(status, 202, "{answer}");
    let two = finished(&server, &admin, &name, answer["deploy"].as_u64().unwrap(), 240).await;
    assert_eq!(two["deploy"]["state"], "succeeded", "{}", two["log"]);
    assert_eq!(two["deploy"]["version"], 2);
    assert_eq!(two["deploy"]["trigger"]["kind"], "webhook");
    assert_eq!(served(&web_container(&name)), "version two");
    let env = worker_env(&name);
    assert_eq!(
        port(&env),
        first_port,
        "a free_port variable keeps its port across deploys"
    );

    let forged = sign("not the secret", &body);
    let (status, _) = deliver(&server, &path, &headers(forged, "d-2", "push"), &body).await;
    assert_eq!(status, 403, "a forged signature");
    let (status, _) = deliver(&server, &path, &headers(String::new(), "d-3", "push"), &body).await;
    assert_eq!(status, 401, "an empty signature");
    let (status, answer) = deliver(&server, &path, &headers(sign(&secret, &body), "d-1", "push"), &body).await;
    assert_eq!(
        (status, answer["verdict"].as_str()),
        (200, Some("duplicate")),
        "a replay"
    );
    let ping = br#"{"zen":"Keep it logically awesome."}"#;
    let (status, answer) = deliver(&server, &path, &headers(sign(&secret, ping), "d-4", "ping"), ping).await;
    assert_eq!((status, answer["verdict"].as_str()), (200, Some("pong")));
    let deliveries = get_json(
        &server,
        &admin,
        &format!("/api/v1/hosts/local/stacks/{name}/deliveries"),
    )
    .await;
    let verdicts: Vec<&str> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["pong", "duplicate", "refused", "refused", "deploy"]);
    println!("webhook verdicts, newest first:");
    for d in deliveries.as_array().unwrap() {
        println!(
            "  {:<10} {:<6} {:<5} {:<12} {}",
            d["verdict"].as_str().unwrap(),
            d["event"].as_str().unwrap_or("-"),
            d["delivery_id"].as_str().unwrap_or("-"),
            d["deploy"].as_u64().map_or("-".into(), |d| format!("deploy {d}")),
            d["reason"].as_str().unwrap_or(""),
        );
    }
    let recorded = events(&server, &admin, "kind=webhook.delivery&limit=100").await;
    assert_eq!(
        recorded["events"].as_array().unwrap().len(),
        5,
        "each delivery is one event"
    );

    // A commit whose healthcheck never passes: failed at the timeout, rolled back.
    let mut shorter = spec.clone();
    shorter["timeout_s"] = json!(25);
    shorter.as_object_mut().unwrap().remove("git_secret");
    shorter["vars"][1] = json!({ "name": "API_TOKEN", "secret": true });
    let r = admin
        .put(server.url(&format!("/api/v1/hosts/local/stacks/{name}")))
        .json(&shorter)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let third = git
        .push_files(
            "app.git",
            "main",
            &[
                ("compose.yaml", &compose_file(NEVER_HEALTHY)),
                ("index.html", "version three\n"),
            ],
            "a broken healthcheck",
        )
        .await;
    let body = push_body(&third, "a broken healthcheck");
    let (status, answer) = deliver(&server, &path, &headers(sign(&secret, &body), "d-5", "push"), &body).await;
    assert_eq!(status, 202, "{answer}");
    let three = finished(&server, &admin, &name, answer["deploy"].as_u64().unwrap(), 240).await;
    assert_eq!(three["deploy"]["state"], "rolled_back", "{}", three["log"]);
    assert!(
        three["deploy"]["error"].as_str().unwrap().contains("not settled"),
        "{three}"
    );
    assert!(three["log"].as_str().unwrap().contains("rolling back to version 2"));
    assert_eq!(
        served(&web_container(&name)),
        "version two",
        "the old version runs again"
    );
    let rollback = events(&server, &admin, "kind=deploy.rollback").await;
    assert_eq!(rollback["events"][0]["details"]["version"], 2, "{rollback}");

    // Every event berth recorded about this stack is free of the secret.
    let all = events(&server, &admin, "limit=1000").await;
    assert!(!all.to_string().contains(SECRET_VALUE), "an event holds the secret");
    assert!(
        !all.to_string().contains("repo-password"),
        "an event holds the git password"
    );
    let finish = events(&server, &admin, "kind=deploy.finish").await;
    let f = &finish["events"][0]["details"];
    assert!(f["log_sha256"].as_str().unwrap().len() == 64, "{f}");
    server.stop().await.unwrap();
}

/// A repository holding the two-service app (one built, a healthcheck),
/// its page saying `page`, served with basic auth.
async fn app_repository(repo: &str, page: &str) -> (tempfile::TempDir, git_http::GitServer) {
    let repos = tempfile::tempdir().unwrap();
    let git = git_http::GitServer::start(repos.path(), "deployer", "repo-password").await;
    git_http::create_repo(repos.path(), repo).await;
    let files = [
        ("compose.yaml", compose_file(HEALTHY)),
        ("Dockerfile", dockerfile()),
        ("index.html", format!("{page}\n")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    git.push_files(repo, "main", &files, "first").await;
    (repos, git)
}

/// Defines the app's stack `name` on `host` from `url`, deploys it and
/// waits for the end; the deploy's detail.
async fn define_and_deploy(server: &Server, admin: &reqwest::Client, host: &str, name: &str, url: String) -> Value {
    let spec = json!({
        "name": name, "host": host,
        "source": { "kind": "git", "url": url, "branch": "main",
                    "credential": { "kind": "token", "user": "deployer" } },
        "git_secret": "repo-password",
        "vars": [{ "name": "API_TOKEN", "value": SECRET_VALUE, "secret": true }],
        "timeout_s": 120,
    });
    let r = admin
        .post(server.url("/api/v1/stacks"))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let stack = format!("/api/v1/hosts/{host}/stacks/{name}");
    let r = admin
        .post(server.url(&format!("{stack}/deploys")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let done = until(&format!("the deploy on {host} ends"), 240, async || {
        let d = get_json(server, admin, &format!("{stack}/deploys/{id}")).await;
        let state = d["deploy"]["state"].as_str().unwrap_or_default().to_string();
        (!["queued", "running"].contains(&state.as_str())).then_some(d)
    })
    .await;
    let log = done["log"].as_str().unwrap();
    assert_eq!(done["deploy"]["state"], "succeeded", "{log}");
    assert!(!log.contains(SECRET_VALUE));
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_deploys_to_a_host_reached_through_berth_agent() {
    use common::agent::{AgentDir, berth_with, reachable};
    assert_engine_running();
    let (_repos, git) = app_repository("edge.git", "served by the agent's engine").await;
    // The agent fronts this machine's engine: a host of its own to berth.
    let agent_dir = AgentDir::init(&[]);
    let _agent = agent_dir.start(None, &[]);
    let (_dir, server, admin) = berth_with(vec![agent_dir.host("edge")]).await;
    reachable(&server, &admin, "edge", 30).await;
    let name = format!("edge{}", std::process::id());
    let _cleanup = Project(name.clone());
    let done = define_and_deploy(&server, &admin, "edge", &name, git.url("edge.git")).await;
    let log = done["log"].as_str().unwrap();
    assert!(log.contains("edge's agent runs docker"), "{log}");
    assert_eq!(served(&web_container(&name)), "served by the agent's engine");
    // The agent keeps the files for compose's relative paths, never the environment.
    let kept = std::env::temp_dir().join("berth-agent-stacks").join(&name).join("v1");
    assert!(kept.join("compose.yaml").is_file(), "{}", kept.display());
    assert!(!kept.join(".env").exists(), "the agent kept the run's .env");
    let stacks = get_json(&server, &admin, "/api/v1/stacks").await;
    let found = stacks
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == "edge" && s["name"] == name.as_str())
        .cloned()
        .unwrap();
    assert_eq!(found["managed"], true);
    assert_eq!(found["last_deploy"]["state"], "succeeded");
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("berth-agent-stacks").join(&name));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts a second dockerd: needs root, run with --ignored (./dev.sh test does as root)"]
async fn a_stack_deploys_to_a_remote_engine_over_tls() {
    use common::second_engine::SecondEngine;
    let engine = SecondEngine::start();
    let (_repos, git) = app_repository("far.git", "built and run on the TLS engine").await;
    let files = engine.client.clone();
    let (_dir, server, admin) = stats_server(|c| {
        c.hosts = vec![berth_server::HostConfig::tls_engine(
            "far",
            &engine.tls_url,
            files.ca.clone(),
            files.cert.clone(),
            files.key.clone(),
        )];
    })
    .await;
    common::agent::reachable(&server, &admin, "far", 30).await;
    let name = "tlsapp";
    define_and_deploy(&server, &admin, "far", name, git.url("far.git")).await;
    // Built and run on the second engine, not on this machine's.
    let web = engine.docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--filter",
        "label=com.docker.compose.service=web",
    ]);
    let page = engine.docker(&["exec", &web, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"]);
    assert_eq!(page.trim(), "built and run on the TLS engine");
    let here = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
    ]);
    assert!(here.is_empty(), "the stack ran on the local engine: {here}");
    server.stop().await.unwrap();
}

/// A deploy of `name` that ends; its detail.
async fn deploy_once(server: &Server, c: &reqwest::Client, name: &str, body: Value) -> Value {
    let r = c
        .post(server.url(&format!("/api/v1/hosts/local/stacks/{name}/deploys")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    finished(server, c, name, id, 240).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_in_words_and_leaves_the_running_version_alone() {
    assert_engine_running();
    let repos = tempfile::tempdir().unwrap();
    let git = git_http::GitServer::start(repos.path(), "deployer", "repo-password").await;
    git_http::create_repo(repos.path(), "bad.git").await;
    let good = format!("services:\n  worker:\n    image: {IMAGE}\n    command: [\"sleep\", \"600\"]\n");
    git.push_files("bad.git", "main", &[("compose.yaml", &good)], "good")
        .await;
    let (_dir, server, admin) = stats_server(|_| {}).await;
    let name = format!("bad{}", std::process::id());
    let _cleanup = Project(name.clone());
    let spec = |url: String, secret: &str| {
        json!({
            "name": name, "host": "local",
            "source": { "kind": "git", "url": url, "branch": "main",
                        "credential": { "kind": "token", "user": "deployer" } },
            "git_secret": secret, "timeout_s": 60, "rollback_on_failure": false,
        })
    };
    let r = admin
        .post(server.url("/api/v1/stacks"))
        .json(&spec(git.url("bad.git"), "repo-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let ok = deploy_once(&server, &admin, &name, json!({})).await;
    assert_eq!(ok["deploy"]["state"], "succeeded", "{}", ok["log"]);
    let running = || {
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={name}"),
        ])
    };
    let before = running();
    assert!(!before.is_empty());

    let mut failures = Vec::new();
    let mut expect = async |what: &str, step: &str, words: &str, body: Value| {
        let d = deploy_once(&server, &admin, &name, body).await;
        let error = d["deploy"]["error"].as_str().unwrap_or_default().to_string();
        let failed_step = d["deploy"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["state"] == "failed")
            .map(|s| s["name"].as_str().unwrap().to_string());
        assert_eq!(d["deploy"]["state"], "failed", "{what}: {}", d["log"]);
        assert_eq!(failed_step.as_deref(), Some(step), "{what}: {error}");
        assert!(error.contains(words), "{what}: {error}");
        assert!(
            !d.to_string().contains("repo-password"),
            "{what} shows the git password"
        );
        assert_eq!(running(), before, "{what} changed the running version");
        failures.push(format!("{what:<28} {step:<6} {error}"));
    };

    git.push_files(
        "bad.git",
        "main",
        &[("compose.yaml", "services:\n  worker: [\n")],
        "malformed",
    )
    .await;
    expect(
        "a malformed compose file",
        "check",
        "compose refused the files",
        json!({}),
    )
    .await;
    let outside = format!("services:\n  worker:\n    image: {IMAGE}\n    volumes:\n      - /etc:/host-etc\n");
    git.push_files("bad.git", "main", &[("compose.yaml", &outside)], "outside")
        .await;
    expect(
        "a path outside the checkout",
        "check",
        "outside the checkout",
        json!({}),
    )
    .await;
    let broken_build = "services:\n  web:\n    build: .\n";
    let dockerfile = format!("FROM {IMAGE}\nRUN echo about to fail && false\n");
    git.push_files(
        "bad.git",
        "main",
        &[("compose.yaml", broken_build), ("Dockerfile", &dockerfile)],
        "broken build",
    )
    .await;
    expect("a build that fails", "build", "failed", json!({})).await;
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    expect(
        "a commit not on the branch",
        "fetch",
        "not",
        json!({ "commit": unknown }),
    )
    .await;

    let edit = |url: String, secret: &str| {
        let mut s = spec(url, secret);
        s.as_object_mut().unwrap();
        s
    };
    for (what, url, secret, words) in [
        (
            "a repository that is not there",
            git.url("nothing.git"),
            "repo-password",
            "does not exist",
        ),
        (
            "credentials refused",
            git.url("bad.git"),
            "wrong-password",
            "refused the credentials",
        ),
    ] {
        let r = admin
            .put(server.url(&format!("/api/v1/hosts/local/stacks/{name}")))
            .json(&edit(url, secret))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        expect(what, "fetch", words, json!({})).await;
    }
    println!("refused deploys (what, step, error):");
    for f in &failures {
        println!("  {f}");
    }
    assert!(!failures.join("\n").contains("wrong-password"));

    // Requests refused before anything is stored.
    let mut unknown_host = spec(git.url("bad.git"), "repo-password");
    unknown_host["host"] = json!("nowhere");
    unknown_host["name"] = json!("other");
    let r = admin
        .post(server.url("/api/v1/stacks"))
        .json(&unknown_host)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "an unknown host");
    let r = admin
        .post(server.url("/api/v1/stacks"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a malformed JSON body");
    let hook: Value = admin
        .put(server.url(&format!("/api/v1/hosts/local/stacks/{name}/webhook")))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let huge = vec![b'x'; 25 * 1024 * 1024];
    let (status, answer) = deliver(&server, hook["path"].as_str().unwrap(), &[], &huge).await;
    assert_eq!(status, 413, "{answer}");
    let deliveries = get_json(
        &server,
        &admin,
        &format!("/api/v1/hosts/local/stacks/{name}/deliveries"),
    )
    .await;
    assert!(
        deliveries[0]["reason"].as_str().unwrap().contains("over 5 MiB"),
        "{deliveries}"
    );
    let stored = stack(&server, &admin, &name).await;
    assert_eq!(
        stored["definition"]["name"],
        name.as_str(),
        "the definition is still there"
    );
    server.stop().await.unwrap();
}
