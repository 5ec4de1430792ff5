//! Footprint of `berth agent` and of a core with several hosts: prints
//! figures, asserts nothing about time.
//!
//! Real processes of this build's `berth` binary (the bench profile: release
//! settings, without the embedded site), the real local engine:
//! 1. agent: `BENCH_CONTAINERS` (50) containers running `sleep`, one
//!    `berth agent` serving the engine and one `berth serve` with that
//!    agent as a host, collecting every `BENCH_INTERVAL` (5) s, so the
//!    agent streams every container's stats and reads its machine. The
//!    agents run a copy of the binary, as on servers of their own. After
//!    `BENCH_WARMUP` s, over `BENCH_SECS` s: the agent's CPU time
//!    (utime + stime from /proc) as a share of one core, and its RSS
//!    (VmRSS sampled each second: mean and max; VmHWM); the core's too.
//! 2. core with five hosts: five agents on the engine (five hosts to
//!    berth, the same containers under each), one `berth serve` with all
//!    five (and the local engine), idle, then with one viewer on the
//!    dashboard (signed in, its live websocket open and read): the core's
//!    RSS and CPU.
//! 3. the binary's size as built, and stripped (`strip`, when installed).
//!
//! CPU is read in clock ticks (10 ms): ±0.02% of a core over 60 s. The
//! containers are removed and every process started is killed at the end,
//! also when the bench fails.
//!
//! Needs a running engine and the test image (`./dev.sh test` provides both).
//! Run: `cargo bench -p berth-server --bench agent`
//! (`BENCH_SECS=120 BENCH_WARMUP=75 BENCH_CONTAINERS=50 BENCH_INTERVAL=5`).

mod support;

use support::{ADMIN, PASSWORD, add_admin, clock_ticks, env_or, stat_ticks, status_mib};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptionsBuilder;
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "berth-test/busybox:1";
const PREFIX: &str = "berth-bench-agent-";
const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// utime + stime of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    stat_ticks(&format!("/proc/{pid}/stat"))
}

/// A `kB` line of /proc/PID/status, in MiB.
fn mib(pid: u32, field: &str) -> f64 {
    status_mib(&format!("/proc/{pid}/status"), field)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Processes killed when dropped (at the end, and when the bench panics).
#[derive(Default)]
struct Procs(Vec<Child>);

impl Procs {
    fn spawn(&mut self, cmd: &mut Command) -> u32 {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start berth");
        let pid = child.id();
        self.0.push(child);
        pid
    }

    fn stop(&mut self) {
        for mut c in self.0.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One agent, set up in `dir` and listening on `port`.
struct Agent {
    url: String,
    token_file: PathBuf,
    fingerprint: String,
}

fn init_agent(dir: &Path, port: u16) -> Agent {
    let out = Command::new(BERTH)
        .args(["agent", "init", "--dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .output()
        .expect("berth agent init");
    assert!(
        out.status.success(),
        "agent init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("agent init printed no {name}"))
    };
    let token_file = dir.join("token");
    std::fs::write(&token_file, field("token")).unwrap();
    Agent {
        url: format!("https://127.0.0.1:{port}"),
        token_file,
        fingerprint: field("fingerprint"),
    }
}

/// Writes berth's configuration with these agent hosts.
fn berth_config(dir: &Path, interval: u64, agents: &[(String, &Agent)]) -> PathBuf {
    let mut toml = format!("stats_interval_secs = {interval}\nlog = \"warn\"\n");
    for (name, a) in agents {
        toml.push_str(&format!(
            "[[hosts]]\nname = \"{name}\"\nagent = \"{}\"\ntoken_file = \"{}\"\nfingerprint = \"{}\"\n",
            a.url,
            a.token_file.display(),
            a.fingerprint
        ));
    }
    let path = dir.join("berth.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Waits until every host berth reports is reachable.
async fn until_reachable(client: &reqwest::Client, base: &str, hosts: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/api/v1/hosts")).send().await
            && let Ok(page) = r.json::<serde_json::Value>().await
        {
            let items = page["items"].as_array().cloned().unwrap_or_default();
            let up = items.iter().filter(|h| h["reachable"] == true).count();
            if items.len() == hosts && up == hosts {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the hosts did not all connect within 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn sign_in(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers({
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("origin", base.parse().unwrap());
            h
        })
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
            .send()
            .await;
        if matches!(&r, Ok(r) if r.status().is_success()) {
            return client;
        }
        assert!(Instant::now() < deadline, "cannot sign in to berth");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `berth serve` in `dir` with `agents` as hosts beside the local engine,
/// an admin signed in, every host connected: its pid, its base URL and
/// the admin's client.
async fn start_core(
    procs: &mut Procs,
    dir: &Path,
    interval: u64,
    agents: &[(String, &Agent)],
) -> (u32, String, reqwest::Client) {
    let data = dir.join("data");
    add_admin(Path::new(BERTH), &data);
    let config = berth_config(dir, interval, agents);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let pid = procs.spawn(
        Command::new(BERTH)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen", &format!("127.0.0.1:{port}")]),
    );
    let client = sign_in(&base).await;
    until_reachable(&client, &base, agents.len() + 1).await;
    (pid, base, client)
}

/// CPU share of one core and RSS of `pids` over `secs`, sampled each second.
struct Usage {
    cpu_percent: f64,
    rss_mean: f64,
    rss_max: f64,
    hwm: f64,
    /// At the end: the process's own memory, and the pages of the binary
    /// (and libraries) it has touched, which every process of the same
    /// file shares and the kernel can drop and read again.
    anon: f64,
    file: f64,
}

async fn measure(pids: &[u32], secs: u64, tick: f64) -> Vec<Usage> {
    let before: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    let started = Instant::now();
    let mut rss: Vec<Vec<f64>> = vec![Vec::new(); pids.len()];
    while started.elapsed() < Duration::from_secs(secs) {
        for (i, p) in pids.iter().enumerate() {
            rss[i].push(mib(*p, "VmRSS:"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    pids.iter()
        .enumerate()
        .map(|(i, p)| {
            let used = cpu_ticks(*p).saturating_sub(before[i]) as f64 / tick;
            let samples = &rss[i];
            Usage {
                cpu_percent: used / wall * 100.0,
                rss_mean: samples.iter().sum::<f64>() / samples.len().max(1) as f64,
                rss_max: samples.iter().copied().fold(0.0, f64::max),
                hwm: mib(*p, "VmHWM:"),
                anon: mib(*p, "RssAnon:"),
                file: mib(*p, "RssFile:"),
            }
        })
        .collect()
}

fn print(label: &str, u: &Usage) {
    println!(
        "  {label:<34} CPU {:>6.3}% of a core   RSS mean {:>6.1} MiB  max {:>6.1} MiB  (peak VmHWM {:>6.1} MiB; \
         at the end {:.1} MiB its own, {:.1} MiB the binary's pages)",
        u.cpu_percent, u.rss_mean, u.rss_max, u.hwm, u.anon, u.file
    );
}

async fn create_one(docker: &Docker, i: usize) -> Result<(), bollard::errors::Error> {
    let name = format!("{PREFIX}{i:02}");
    let body = ContainerCreateBody {
        image: Some(IMAGE.to_string()),
        cmd: Some(vec!["sleep".to_string(), "3600".to_string()]),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker.create_container(Some(options), body).await?;
    docker.start_container(&name, None).await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let secs = env_or("BENCH_SECS", 120);
    // Past the minute after which berth gives back its start-up code.
    let warmup = env_or("BENCH_WARMUP", 75);
    let count = env_or("BENCH_CONTAINERS", 50) as usize;
    let interval = env_or("BENCH_INTERVAL", 5);
    let tick = clock_ticks();
    let docker = Docker::connect_with_local_defaults().expect("the engine");
    support::remove_containers(PREFIX);
    let _cleanup = support::Cleanup(PREFIX);
    support::create_all(count, 8, |i| create_one(&docker, i)).await;
    let running = docker
        .list_containers(None::<bollard::query_parameters::ListContainersOptions>)
        .await
        .map(|l| l.len())
        .unwrap_or(0);
    println!(
        "berth agent footprint: {count} bench containers ({running} running on the engine), stats every {interval} s, \
         {warmup} s warm-up, {secs} s measured"
    );

    // 1. One agent, one core. The agents run a copy of the binary, as on
    // servers of their own: on the core's file, the pages both touched
    // would be shared, and neither could give them back (see code_pages.rs).
    let bin_dir = tempfile::tempdir().unwrap();
    let agent_bin = bin_dir.path().join("berth");
    std::fs::copy(BERTH, &agent_bin).expect("a copy of berth for the agents");
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Procs::default();
    let agent = init_agent(&dir.path().join("agent"), free_port());
    let agent_pid = procs.spawn(
        Command::new(&agent_bin)
            .args(["agent", "--dir"])
            .arg(dir.path().join("agent")),
    );
    let (core_pid, _, _) = start_core(&mut procs, dir.path(), interval, &[("edge".into(), &agent)]).await;
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let usage = measure(&[agent_pid, core_pid], secs, tick).await;
    println!("1. one agent serving {count} containers to one core:");
    print("agent", &usage[0]);
    print("core (local engine + the agent)", &usage[1]);
    procs.stop();

    // 2. Five agents, one core.
    let dir = tempfile::tempdir().unwrap();
    let mut agents = Vec::new();
    for i in 0..5 {
        let d = dir.path().join(format!("agent-{i}"));
        let a = init_agent(&d, free_port());
        procs.spawn(Command::new(&agent_bin).args(["agent", "--dir"]).arg(&d));
        agents.push((format!("edge-{i}"), a));
    }
    let named: Vec<(String, &Agent)> = agents.iter().map(|(n, a)| (n.clone(), a)).collect();
    let (core_pid, base, client) = start_core(&mut procs, dir.path(), interval, &named).await;
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let idle = measure(&[core_pid], secs, tick).await;
    // One viewer: the dashboard page, then its live feed, read as it arrives.
    let page = client.get(format!("{base}/")).send().await.expect("the dashboard");
    assert!(page.status().is_success(), "the dashboard: {}", page.status());
    let ticket: String = support::json(client.post(format!("{base}/api/stats_ticket"))).await;
    let url = format!("{}/ws/stats?ticket={ticket}", base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the dashboard's feed");
    let viewer = tokio::spawn(async move {
        let mut frames = 0u64;
        while let Some(Ok(_)) = socket.next().await {
            frames += 1;
        }
        frames
    });
    let watched = measure(&[core_pid], secs, tick).await;
    viewer.abort();
    println!("2. one core with five agent hosts (and the local engine), {count} containers under each:");
    print("core, idle", &idle[0]);
    print("core, one viewer on the dashboard", &watched[0]);
    procs.stop();

    // 3. The binary.
    let size = std::fs::metadata(BERTH).map(|m| m.len()).unwrap_or(0);
    let stripped = dir.path().join("berth-stripped");
    let strip_ok = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(BERTH)
        .status()
        .is_ok_and(|s| s.success());
    println!(
        "3. the berth binary (bench profile, no embedded site): {:.1} MB",
        size as f64 / 1e6
    );
    if strip_ok {
        let s = std::fs::metadata(&stripped).map(|m| m.len()).unwrap_or(0);
        println!("   stripped: {:.1} MB", s as f64 / 1e6);
    } else {
        println!("   stripped: `strip` is not installed");
    }
}
