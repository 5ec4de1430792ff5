//! Deploys from git: prints figures, asserts nothing about time.
//!
//! A berth server in this process on 127.0.0.1:0 over a temporary database,
//! the real local engine, the real compose (Debian's docker-compose 1.29,
//! or `docker compose` where present) and git repositories served over
//! HTTP with basic auth (`core/tests/support/git_http.rs`, as
//! `tests/stacks.rs` uses it):
//! 1. berth's own overhead on a deploy: a stack of two services from the
//!    test image (nothing to build), deployed `BENCH_ROUNDS` (5) times
//!    through the API, alternating two commits that differ in one
//!    service's command (so every deploy recreates a container), each
//!    timed from the request to the deploy's end (its state polled every
//!    5 ms); beside each, `docker-compose -p X -f compose.yaml up -d` run by
//!    hand on the same files and image, alternating the same way. Mean and
//!    median of both, the difference, and berth's steps (fetch, check,
//!    build, up, wait) from the deploy records.
//! 2. a signed push to deploy started: the same stack with deploy on push
//!    and a webhook secret; a GitHub-signed push delivery, timed from
//!    sending it to its 202 answer and to the deploy's state becoming
//!    `running` (polled every 5 ms), `BENCH_ROUNDS` times, each after the
//!    previous deploy ended.
//! 3. 100 deliveries at once: 10 stacks (one service, image only, a 60 s
//!    timeout), 10 deliveries each (distinct delivery ids, each a push of
//!    one of that stack's 10 commits), all sent together; the 202s, then
//!    whether any delivery was lost (no recorded verdict), deployed twice,
//!    or a stack's deploys ran out of turn (ids not increasing with queue
//!    time, or a deploy's first step starting before the previous one
//!    finished), and the wall time until all ended.
//! 4. memory: this process's VmRSS (/proc/self/status) every 50 ms while
//!    a deploy's build prints 10,000 lines of 100 bytes: before (after a
//!    warm-up deploy of the same stack), the peak during, after; beside the
//!    per-deploy log cap. Measured first, on the fresh process, so that
//!    memory the other parts freed cannot hide what the deploy takes. The
//!    allocator is tuned as `berth` tunes it (one arena, see src/main.rs).
//!
//! Every compose project, network and `berth/bdeploy-*` image the bench
//! makes is removed at the end, also when it fails (and those a crashed
//! run left, at the start). Needs a running engine, compose, git and the
//! test image (`./dev.sh test` provides them).
//!
//! Run: `cargo bench -p berth-server --bench deploy` (`BENCH_ROUNDS=5`).

#[path = "../../core/tests/support/git_http.rs"]
mod git_http;
mod support;

use berth_core::stacks::output::DEPLOY_LOG_CAP;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{ADMIN, PASSWORD, env_or, status_mib};

const IMAGE: &str = "berth-test/busybox:1";
/// Every stack, compose project and image the bench makes starts with it.
const PREFIX: &str = "bdeploy-";
const BERTH: &str = env!("CARGO_BIN_EXE_berth");
const GIT_USER: &str = "deployer";
const GIT_PASSWORD: &str = "repo-password";
const BRANCH: &str = "main";

/// Removes the bench's compose projects (containers, networks) and
/// `berth/bdeploy-*` images when dropped: at the end, and on a panic.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (containers, networks, images) = remove_everything();
        println!(
            "cleanup: removed {containers} containers, {networks} networks, {images} images of {PREFIX}* projects"
        );
    }
}

fn docker(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Removes what the bench makes; how many containers, networks, images.
fn remove_everything() -> (usize, usize, usize) {
    let mine = |out: String| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.split_once(' '))
            .filter(|(_, name)| name.starts_with(PREFIX) || name.starts_with(&format!("berth/{PREFIX}")))
            .map(|(id, _)| id.to_string())
            .collect()
    };
    let label = "{{.ID}} {{.Label \"com.docker.compose.project\"}}";
    let containers = mine(docker(&[
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project",
        "--format",
        label,
    ]));
    let networks = mine(docker(&["network", "ls", "--format", "{{.ID}} {{.Name}}"]));
    let images = mine(docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.Repository}}",
    ]));
    for (what, ids) in [("rm", &containers), ("network", &networks), ("rmi", &images)] {
        if ids.is_empty() {
            continue;
        }
        let mut args: Vec<&str> = match what {
            "rm" => vec!["rm", "-f"],
            "network" => vec!["network", "rm"],
            _ => vec!["rmi", "-f"],
        };
        args.extend(ids.iter().map(String::as_str));
        let ok = Command::new("docker")
            .args(&args)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("cleanup: `docker {what}` failed; remove the {PREFIX}* leftovers by hand");
        }
    }
    (containers.len(), networks.len(), images.len())
}

/// The server in this process, signed in as the admin.
struct Berth {
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Berth {
    async fn start(dir: &Path) -> Berth {
        support::add_admin(Path::new(BERTH), dir);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = berth_server::Config {
            listen: addr,
            data_dir: dir.to_path_buf(),
            log: "warn".into(),
            ..berth_server::Config::default()
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(berth_server::run(listener, config, async move {
            let _ = rx.await;
        }));
        let base = format!("http://{addr}");
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = http
                .post(format!("{base}/api/v1/session"))
                .json(&json!({ "name": ADMIN, "password": PASSWORD }))
                .send()
                .await;
            if matches!(&r, Ok(r) if r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "cannot sign in to berth");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Berth {
            base,
            http,
            stop: Some(tx),
            handle,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> Value {
        support::json(self.http.get(self.url(path))).await
    }

    /// Defines a git stack with deploy on push, and turns its webhook on;
    /// the webhook's path and secret.
    async fn define(&self, name: &str, url: &str, timeout_s: u32) -> (String, String) {
        let spec = json!({
            "name": name, "host": "local",
            "source": { "kind": "git", "url": url, "branch": BRANCH,
                        "credential": { "kind": "token", "user": GIT_USER } },
            "git_secret": GIT_PASSWORD,
            "timeout_s": timeout_s, "on_push": true, "keep_versions": 3,
        });
        let r = self
            .http
            .post(self.url("/api/v1/stacks"))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "defining {name}: {}", r.text().await.unwrap());
        let hook: Value = support::json(
            self.http
                .put(self.url(&format!("/api/v1/hosts/local/stacks/{name}/webhook")))
                .json(&json!({ "enabled": true })),
        )
        .await;
        (
            hook["path"].as_str().unwrap().into(),
            hook["secret"].as_str().unwrap().into(),
        )
    }

    /// Queues a deploy of `commit` through the API; its id.
    async fn deploy(&self, name: &str, commit: &str) -> u64 {
        let path = format!("/api/v1/hosts/local/stacks/{name}/deploys?commit={commit}&queue=true");
        let r = self.http.post(self.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 202, "deploying {name}");
        r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
    }

    /// A deploy with its output.
    async fn detail(&self, name: &str, id: u64) -> Value {
        self.get(&format!("/api/v1/hosts/local/stacks/{name}/deploys/{id}"))
            .await
    }

    /// Polls a deploy every `every` until its state is not one of `from`;
    /// its detail then.
    async fn until_not(&self, name: &str, id: u64, from: &[&str], every: Duration) -> Value {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let d = self.detail(name, id).await;
            if !from.contains(&d["deploy"]["state"].as_str().unwrap_or("queued")) {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "deploy {id} of {name} is still {}",
                d["deploy"]["state"]
            );
            tokio::time::sleep(every).await;
        }
    }

    /// Waits for a deploy's end and checks that it succeeded; its detail.
    async fn succeeded(&self, name: &str, id: u64, every: Duration) -> Value {
        let d = self.until_not(name, id, &["queued", "running"], every).await;
        assert_eq!(d["deploy"]["state"], "succeeded", "deploy {id} of {name}: {}", d["log"]);
        d
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.handle.await.unwrap().unwrap();
    }
}

/// A compose file of `services` from the test image; `n` makes the first
/// one's command differ between commits. sh traps TERM, so that compose
/// stops a container at once rather than after its grace period.
fn compose_file(services: &[&str], n: u32) -> String {
    let mut text = String::from("version: \"3.7\"\nservices:\n");
    for (i, s) in services.iter().enumerate() {
        let secs = if i == 0 { 600 + n } else { 600 };
        text.push_str(&format!(
            "  {s}:\n    image: {IMAGE}\n    stop_grace_period: 2s\n    \
             command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep {secs} & wait\"]\n"
        ));
    }
    text
}

fn push_body(commit: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": format!("refs/heads/{BRANCH}"),
        "after": commit,
        "head_commit": { "id": commit, "message": "a push" },
        "pusher": { "name": "ci" },
    }))
    .unwrap()
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

/// Sends a GitHub-signed push delivery; its status and answer.
async fn deliver(http: &reqwest::Client, url: &str, secret: &str, delivery: String, body: Vec<u8>) -> (u16, Value) {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret, &body))
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .body(body)
        .send()
        .await
        .expect("berth answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Mean and median (or max) of figures.
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

/// Each step's milliseconds in a deploy record, by name.
fn step_ms(deploy: &Value) -> Vec<(String, f64)> {
    deploy["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let took = s["finished_ns"].as_i64().unwrap_or(0) - s["started_ns"].as_i64().unwrap_or(0);
            (s["name"].as_str().unwrap().to_string(), took as f64 / 1e6)
        })
        .collect()
}

/// `docker-compose -p PROJECT -f compose.yaml up -d` in `dir`: how long it
/// took. `recreates`: compose must say it recreated a container.
async fn compose_by_hand(dir: &Path, project: &str, recreates: bool) -> Duration {
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = tokio::process::Command::new(if v2 { "docker" } else { "docker-compose" });
    if v2 {
        cmd.arg("compose");
    }
    cmd.args(["-p", project, "-f", "compose.yaml", "up", "-d"])
        .current_dir(dir);
    let started = Instant::now();
    let out = cmd.output().await.expect("compose runs");
    let took = started.elapsed();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "compose up by hand: {said}");
    assert!(
        !recreates || said.contains("Recreat"),
        "compose changed nothing: {said}"
    );
    took
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tune_malloc();
    let rounds = env_or("BENCH_ROUNDS", 5).max(1) as usize;
    remove_everything();
    let _cleanup = Cleanup;
    let repos = tempfile::tempdir().unwrap();
    let git = git_http::GitServer::start(repos.path(), GIT_USER, GIT_PASSWORD).await;
    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::start(dir.path()).await;
    let compose = String::from_utf8_lossy(
        &Command::new("docker-compose")
            .arg("version")
            .arg("--short")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .trim()
    .to_string();
    println!("deploys on the local engine with docker-compose {compose}, {rounds} rounds; figures in ms");

    memory(&berth, &git).await;
    overhead(&berth, &git, rounds).await;
    webhook_latency(&berth, &git, rounds).await;
    concurrent_deliveries(&berth, &git).await;
    berth.stop().await;
}

/// One arena and a 1 MiB mmap threshold, as `berth` itself sets them.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: no other thread exists yet to allocate meanwhile.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// 1. A deploy by berth against the same `compose up` by hand.
async fn overhead(berth: &Berth, git: &git_http::GitServer, rounds: usize) {
    let name = format!("{PREFIX}two");
    let texts = [0, 1].map(|n| compose_file(&["app", "side"], n));
    let repo = git_http::create_repo(git.root(), "two.git").await;
    let mut commits = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        commits.push(git_http::commit_files(&repo, BRANCH, &[("compose.yaml", text)], &format!("version {i}")).await);
    }
    berth.define(&name, &git.url("two.git"), 120).await;
    let by_hand = tempfile::tempdir().unwrap();
    let project = format!("{PREFIX}hand");
    // Warm-up: both sides create the containers of commit 0 once.
    let id = berth.deploy(&name, &commits[0]).await;
    berth.succeeded(&name, id, Duration::from_millis(5)).await;
    std::fs::write(by_hand.path().join("compose.yaml"), &texts[0]).unwrap();
    compose_by_hand(by_hand.path(), &project, false).await;

    let (mut ours, mut recorded, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    let mut steps: Vec<Vec<(String, f64)>> = Vec::new();
    for round in 0..rounds {
        let v = (round + 1) % 2;
        let started = Instant::now();
        let id = berth.deploy(&name, &commits[v]).await;
        let d = berth.succeeded(&name, id, Duration::from_millis(5)).await;
        ours.push(ms(started.elapsed()));
        let log = d["log"].as_str().unwrap_or_default();
        assert!(log.contains("Recreat"), "berth's deploy changed nothing: {log}");
        let deploy = &d["deploy"];
        let total = deploy["finished_ns"].as_i64().unwrap() - deploy["queued_ns"].as_i64().unwrap();
        recorded.push(total as f64 / 1e6);
        steps.push(step_ms(deploy));
        std::fs::write(by_hand.path().join("compose.yaml"), &texts[v]).unwrap();
        theirs.push(ms(compose_by_hand(by_hand.path(), &project, true).await));
    }
    println!("1. a deploy that recreates one of two containers (no build), {rounds} rounds, alternating two commits:");
    println!(
        "   berth, request to succeeded:      mean {:>7.0}  median {:>7.0}",
        mean(&ours),
        median(&ours)
    );
    println!(
        "   berth, queued to finished (record):  mean {:>4.0}  median {:>7.0}",
        mean(&recorded),
        median(&recorded)
    );
    println!(
        "   compose up -d by hand:            mean {:>7.0}  median {:>7.0}",
        mean(&theirs),
        median(&theirs)
    );
    println!(
        "   berth's overhead:                 mean {:>7.0}  median {:>7.0}   (aim: under 1000)",
        mean(&ours) - mean(&theirs),
        median(&ours) - median(&theirs)
    );
    println!("   berth's steps, from the deploy records:");
    for (i, (step, _)) in steps[0].iter().enumerate() {
        let took: Vec<f64> = steps.iter().map(|s| s[i].1).collect();
        println!(
            "     {step:<6} mean {:>7.0}  median {:>7.0}",
            mean(&took),
            median(&took)
        );
    }
    let outside: Vec<f64> = recorded
        .iter()
        .zip(&steps)
        .map(|(total, s)| total - s.iter().map(|(_, t)| t).sum::<f64>())
        .collect();
    println!(
        "     between the steps (finding compose, reading the images, records): mean {:>5.0}  median {:>7.0}",
        mean(&outside),
        median(&outside)
    );
}

/// 2. A signed push to its 202, and to its deploy running.
async fn webhook_latency(berth: &Berth, git: &git_http::GitServer, rounds: usize) {
    let name = format!("{PREFIX}hook");
    let repo = git_http::create_repo(git.root(), "hook.git").await;
    let mut commits = Vec::new();
    for n in 0..2 {
        let text = compose_file(&["app", "side"], n);
        commits.push(git_http::commit_files(&repo, BRANCH, &[("compose.yaml", &text)], &format!("version {n}")).await);
    }
    let (path, secret) = berth.define(&name, &git.url("hook.git"), 120).await;
    let http = reqwest::Client::new();
    let url = berth.url(&path);
    let (mut answered, mut running) = (Vec::new(), Vec::new());
    // Round 0 is a warm-up: the first deploy creates the containers.
    for round in 0..=rounds {
        let started = Instant::now();
        let body = push_body(&commits[round % 2]);
        let (status, answer) = deliver(&http, &url, &secret, format!("latency-{round}"), body).await;
        let to_answer = started.elapsed();
        assert_eq!(status, 202, "{answer}");
        let id = answer["deploy"].as_u64().unwrap();
        berth.until_not(&name, id, &["queued"], Duration::from_millis(5)).await;
        let to_running = started.elapsed();
        berth.succeeded(&name, id, Duration::from_millis(50)).await;
        if round > 0 {
            answered.push(ms(to_answer));
            running.push(ms(to_running));
        }
    }
    println!("2. a GitHub-signed push delivery, {rounds} rounds (deploy state polled every 5 ms):");
    println!(
        "   to its 202 answer:           mean {:>6.1}  max {:>6.1}",
        mean(&answered),
        max(&answered)
    );
    println!(
        "   to the deploy running:       mean {:>6.1}  max {:>6.1}   (aim: under 100)",
        mean(&running),
        max(&running)
    );
}

/// A stack of part 3: where its webhook is, and its commits.
struct Target {
    name: String,
    url: String,
    secret: String,
    commits: Vec<String>,
}

/// 3. 100 deliveries at once for 10 stacks.
async fn concurrent_deliveries(berth: &Berth, git: &git_http::GitServer) {
    const STACKS: usize = 10;
    const EACH: usize = 10;
    let mut targets = Vec::new();
    for k in 0..STACKS {
        let name = format!("{PREFIX}q{k}");
        let repo = git_http::create_repo(git.root(), &format!("q{k}.git")).await;
        let mut commits = Vec::new();
        for i in 0..EACH {
            let text = compose_file(&["app"], i as u32);
            commits
                .push(git_http::commit_files(&repo, BRANCH, &[("compose.yaml", &text)], &format!("commit {i}")).await);
        }
        let (path, secret) = berth.define(&name, &git.url(&format!("q{k}.git")), 60).await;
        targets.push(Target {
            url: berth.url(&path),
            name,
            secret,
            commits,
        });
    }
    let http = reqwest::Client::new();
    let http = &http;
    let sends = targets.iter().flat_map(move |t| {
        (0..EACH).map(move |i| deliver(http, &t.url, &t.secret, delivery_id(t, i), push_body(&t.commits[i])))
    });
    let started = Instant::now();
    let answers = futures_util::future::join_all(sends).await;
    let to_answers = started.elapsed();
    let mut statuses = BTreeMap::<String, usize>::new();
    for (status, _) in &answers {
        *statuses.entry(status.to_string()).or_default() += 1;
    }
    // Until every stack's deploys have ended.
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let mut pending = 0;
        for t in &targets {
            let view = berth.get(&format!("/api/v1/hosts/local/stacks/{}", t.name)).await;
            let deploys = view["deploys"].as_array().cloned().unwrap_or_default();
            let done = deploys
                .iter()
                .filter(|d| !["queued", "running"].contains(&d["state"].as_str().unwrap_or("queued")))
                .count();
            pending += deploys.len() - done;
        }
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deploys have not ended after 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wall = started.elapsed();

    let mut c = Counts::default();
    for t in &targets {
        c.check(berth, t, EACH).await;
    }
    println!(
        "3. {} signed push deliveries at once, {EACH} for each of {STACKS} stacks (one service each):",
        STACKS * EACH
    );
    println!("   answers: {} within {:.0} ms", listed(&statuses), ms(to_answers));
    println!("   verdicts recorded: {}", listed(&c.verdicts));
    println!(
        "   lost (no recorded verdict): {}; deployed twice: {}; deploys: {} ({})",
        c.lost,
        c.doubled,
        c.deploys,
        listed(&c.states)
    );
    println!(
        "   out of turn: {} with ids not increasing in queue order, {} starting before the previous one finished",
        c.id_order, c.overlapped
    );
    println!(
        "   deliveries whose recorded deploy is another delivery's deploy: {}",
        c.mismatched
    );
    println!("   wall time until every deploy ended: {:.1} s", wall.as_secs_f64());
}

fn delivery_id(t: &Target, i: usize) -> String {
    format!("{}-d{i}", t.name)
}

/// What part 3 found, over all stacks.
#[derive(Default)]
struct Counts {
    lost: usize,
    doubled: usize,
    deploys: usize,
    id_order: usize,
    overlapped: usize,
    mismatched: usize,
    verdicts: BTreeMap<String, usize>,
    states: BTreeMap<String, usize>,
}

impl Counts {
    async fn check(&mut self, berth: &Berth, t: &Target, each: usize) {
        let recorded = berth
            .get(&format!("/api/v1/hosts/local/stacks/{}/deliveries", t.name))
            .await;
        let recorded = recorded.as_array().cloned().unwrap_or_default();
        for i in 0..each {
            let id = delivery_id(t, i);
            if !recorded.iter().any(|r| r["delivery_id"] == id.as_str()) {
                self.lost += 1;
            }
        }
        for r in &recorded {
            *self
                .verdicts
                .entry(r["verdict"].as_str().unwrap_or("?").into())
                .or_default() += 1;
        }
        let view = berth.get(&format!("/api/v1/hosts/local/stacks/{}", t.name)).await;
        let mut deploys = Vec::new();
        for d in view["deploys"].as_array().cloned().unwrap_or_default() {
            let id = d["id"].as_u64().unwrap();
            deploys.push(berth.detail(&t.name, id).await["deploy"].clone());
        }
        self.deploys += deploys.len();
        let mut by_delivery = std::collections::HashMap::<String, usize>::new();
        for d in &deploys {
            *self
                .states
                .entry(d["state"].as_str().unwrap_or("?").into())
                .or_default() += 1;
            let delivery = d["trigger"]["delivery"].as_str().unwrap_or("-").to_string();
            *by_delivery.entry(delivery).or_default() += 1;
        }
        self.doubled += by_delivery.values().filter(|n| **n > 1).map(|n| n - 1).sum::<usize>();
        for r in &recorded {
            let Some(id) = r["deploy"].as_u64() else { continue };
            let started_by = deploys
                .iter()
                .find(|d| d["id"] == id)
                .map(|d| &d["trigger"]["delivery"]);
            if started_by != Some(&r["delivery_id"]) {
                self.mismatched += 1;
            }
        }
        deploys.sort_by_key(|d| d["queued_ns"].as_i64().unwrap_or(0));
        for pair in deploys.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b["id"].as_u64() <= a["id"].as_u64() {
                self.id_order += 1;
            }
            let first_step = b["steps"][0]["started_ns"].as_i64();
            if first_step.is_some_and(|s| s < a["finished_ns"].as_i64().unwrap_or(i64::MAX)) {
                self.overlapped += 1;
            }
        }
    }
}

/// `3 × deploy, 1 × refused`.
fn listed(counts: &BTreeMap<String, usize>) -> String {
    let all: Vec<String> = counts.iter().map(|(what, n)| format!("{n} × {what}")).collect();
    all.join(", ")
}

/// This process's VmRSS every 50 ms, on a thread of its own.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Instant, f64)>>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                samples.push((Instant::now(), status_mib("/proc/self/status", "VmRSS:")));
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        });
        Sampler { stop, thread }
    }

    fn finish(self) -> Vec<(Instant, f64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// A Dockerfile whose build prints `lines` lines of 100 bytes.
fn loud_dockerfile(lines: u32) -> String {
    let pad = "x".repeat(88);
    format!("FROM {IMAGE}\nRUN i=0; while [ $i -lt {lines} ]; do echo \"line $i: {pad}\"; i=$((i+1)); done\n")
}

/// Waits, polling the stack's page (not the deploy, whose output would be
/// read each time), until deploy `id` has ended; its state.
async fn ended(berth: &Berth, name: &str, id: u64) -> String {
    loop {
        let view = berth.get(&format!("/api/v1/hosts/local/stacks/{name}")).await;
        let deploys = view["deploys"].as_array().cloned().unwrap_or_default();
        let state = deploys
            .iter()
            .find(|d| d["id"] == id)
            .and_then(|d| d["state"].as_str())
            .unwrap_or("queued");
        if !["queued", "running"].contains(&state) {
            return state.to_string();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// 4. This process's memory while a deploy's build prints 10,000 lines.
async fn memory(berth: &Berth, git: &git_http::GitServer) {
    let name = format!("{PREFIX}build");
    let repo = git_http::create_repo(git.root(), "build.git").await;
    let compose = "version: \"3.7\"\nservices:\n  web:\n    build: .\n    stop_grace_period: 2s\n    \
                   command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 600 & wait\"]\n";
    let quiet = git_http::commit_files(
        &repo,
        BRANCH,
        &[("compose.yaml", compose), ("Dockerfile", &loud_dockerfile(10))],
        "a quiet build",
    )
    .await;
    let loud = git_http::commit_files(
        &repo,
        BRANCH,
        &[("Dockerfile", &loud_dockerfile(10_000))],
        "a loud build",
    )
    .await;
    berth.define(&name, &git.url("build.git"), 600).await;
    let sampler = Sampler::start();
    // Warm-up: a deploy of the same stack whose build prints 10 lines.
    let id = berth.deploy(&name, &quiet).await;
    assert_eq!(ended(berth, &name, id).await, "succeeded", "the warm-up deploy");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let steady_from = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deploy_from = Instant::now();
    let id = berth.deploy(&name, &loud).await;
    let state = ended(berth, &name, id).await;
    let deploy_to = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let samples = sampler.finish();
    let between = |from: Instant, to: Instant| -> Vec<f64> {
        samples
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, mib)| *mib)
            .collect()
    };
    let steady = between(steady_from, deploy_from);
    let during = between(deploy_from, deploy_to);
    let after = between(deploy_to + Duration::from_secs(2), Instant::now());
    let d = berth.detail(&name, id).await;
    assert_eq!(state, "succeeded", "the loud deploy: {}", d["deploy"]["error"]);
    let build = step_ms(&d["deploy"])
        .into_iter()
        .find(|(s, _)| s == "build")
        .map_or(0.0, |(_, t)| t);
    let log = d["log"].as_str().unwrap_or_default();
    let printed = log.lines().filter(|l| l.starts_with("line ")).count();
    let steady_mib = mean(&steady);
    let peak = max(&during);
    println!("4. this process's memory (VmRSS every 50 ms) while a deploy's build prints 10,000 lines of 100 bytes:");
    println!(
        "   steady before {steady_mib:.1} MiB; peak during {peak:.1} MiB: {:+.1} MiB; after {:.1} MiB ({} samples during)",
        peak - steady_mib,
        mean(&after),
        during.len()
    );
    println!(
        "   the per-deploy log cap: {:.1} MiB; kept {:.2} MiB with {printed} of the build's lines (truncated: {}); \
         the build took {build:.0} ms",
        DEPLOY_LOG_CAP as f64 / 1048576.0,
        log.len() as f64 / 1048576.0,
        d["truncated"]
    );
}
