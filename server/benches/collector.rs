//! Statistics collector benchmark: prints figures, asserts nothing about time.
//!
//! Runs berth's real services as `serve::run` builds them (store on a
//! temporary file, event log, the local host and its watcher, the stats
//! collector every 5 s) on a current-thread tokio runtime, so the async
//! work is one core; `spawn_blocking` work (ingest, the sysinfo read) runs
//! on tokio's blocking threads and is counted too. Measures, over a window
//! after a warm-up, the whole process's CPU time (utime + stime from
//! /proc/self/stat) as a share of one core, split into the runtime thread
//! and the blocking threads, dockerd's CPU over the same window, and RSS
//! (VmRSS, VmHWM), in these phases:
//! 1. idle: watcher + collector, none of the bench containers running;
//! 2. collector: watcher + collector with 50 running containers
//!    (`berth-bench-collector-00` to `-49`, `sleep 3600` in the test image);
//! 3. watcher only, same 50 containers, no collector;
//! 4. streams only: watcher + one engine stats stream per container
//!    (`Host::container_stats`, read and dropped), no collector;
//!
//! so that 2 − 3 is the collector's cost and 4 − 3 that of its streams.
//! Other containers running on the engine are collected too and counted.
//! CPU is read in clock ticks (10 ms): ±0.02% over 60 s. dockerd's figure
//! also counts whatever else uses the engine meanwhile.
//! The bench containers are removed at the end, also when the bench fails.
//!
//! Needs a running engine and the test image (`./dev.sh test` provides both).
//! Run: `cargo bench -p berth-server --bench collector`
//! (`BENCH_SECS=60` measured and `BENCH_WARMUP=15` s of warm-up per phase,
//! `BENCH_CONTAINERS=50`).

mod support;

use support::{clock_ticks, env_or, stat_ticks, status_mib};

use berth_core::events::EventLog;
use berth_core::hosts::{Host, Hosts};
use berth_core::model::ContainerState;
use berth_core::stats::{Stats, StatsConfig};
use berth_core::store::Store;
use berth_core::tasks::Tasks;
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptionsBuilder;
use futures_util::StreamExt;
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "berth-test/busybox:1";
const PREFIX: &str = "berth-bench-collector-";
const CONCURRENCY: usize = 8;
/// The collector's interval, and the pace of each container's stats stream.
const INTERVAL: Duration = Duration::from_secs(5);

fn dockerd_pid() -> Option<String> {
    Command::new("pidof")
        .arg("dockerd")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
}

/// CPU clock ticks so far: the whole process, its runtime (main) thread, dockerd.
#[derive(Clone, Copy)]
struct Cpu {
    process: u64,
    main: u64,
    dockerd: u64,
}

impl Cpu {
    fn now(dockerd: Option<&str>) -> Cpu {
        let pid = std::process::id();
        Cpu {
            process: stat_ticks("/proc/self/stat"),
            main: stat_ticks(&format!("/proc/self/task/{pid}/stat")),
            dockerd: dockerd.map_or(0, |p| stat_ticks(&format!("/proc/{p}/stat"))),
        }
    }
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

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Collector,
    WatcherOnly,
    StreamsOnly,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Idle => "idle: collector, no bench containers",
            Phase::Collector => "collector, bench containers running",
            Phase::WatcherOnly => "watcher only, no collector",
            Phase::StreamsOnly => "watcher + stats streams, no collector",
        }
    }
}

struct Services {
    events: EventLog,
    stats: Stats,
    dockerd: Option<String>,
    warmup: Duration,
    window: Duration,
    tick: f64,
    bench_containers: usize,
}

/// One phase's figures.
struct Figures {
    wall: f64,
    cpu: f64,
    main: f64,
    dockerd: f64,
    rss: f64,
    /// Container samples in the last snapshot: ours, all.
    ours: usize,
    all: usize,
}

impl Services {
    fn running(host: &Host) -> Vec<String> {
        host.containers()
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.id.clone())
            .collect()
    }

    /// Starts what `phase` runs, warms up, measures, stops it again.
    async fn run(&self, phase: Phase) -> Figures {
        let host = Host::local(self.events.clone()).expect("local host");
        let hosts = Hosts::new();
        hosts.add(host.clone()).expect("add the local host");
        let mut tasks = Tasks::new();
        if matches!(phase, Phase::Idle | Phase::Collector) {
            let (stats, hosts) = (self.stats.clone(), hosts.clone());
            tasks.spawn("stats-collector", |stop| stats.run(hosts, stop));
        }
        let mut streams = Vec::new();
        if phase == Phase::StreamsOnly {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Self::running(&host).len() < self.bench_containers && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for id in Self::running(&host) {
                let stream = host.container_stats(&id, INTERVAL);
                streams.push(tokio::spawn(async move {
                    futures_util::pin_mut!(stream);
                    while let Some(Ok(reading)) = stream.next().await {
                        std::hint::black_box(reading);
                    }
                }));
            }
        }
        tokio::time::sleep(self.warmup).await;
        let before = Cpu::now(self.dockerd.as_deref());
        let started = Instant::now();
        tokio::time::sleep(self.window).await;
        let after = Cpu::now(self.dockerd.as_deref());
        let wall = started.elapsed().as_secs_f64();
        let latest = self.stats.latest();
        let ours = latest.containers.iter().filter(|c| c.name.starts_with(PREFIX)).count();
        let all = latest.containers.len();
        let share = |a: u64, b: u64| (a - b) as f64 / self.tick / wall * 100.0;
        let figures = Figures {
            wall,
            cpu: share(after.process, before.process),
            main: share(after.main, before.main),
            dockerd: share(after.dockerd, before.dockerd),
            rss: status_mib("/proc/self/status", "VmRSS:"),
            ours,
            all,
        };
        for s in &streams {
            s.abort();
        }
        tokio::join!(tasks.stop(), hosts.shutdown());
        figures
    }
}

fn print(phase: Phase, f: &Figures) {
    let samples = match phase {
        Phase::Idle | Phase::Collector => {
            format!(
                "; last snapshot: {} bench + {} other containers",
                f.ours,
                f.all - f.ours
            )
        }
        _ => String::new(),
    };
    println!(
        "  {:<40} CPU {:>5.2}% of one core (runtime thread {:.2}%, blocking threads {:.2}%), \
         dockerd {:>5.2}%, VmRSS {:.1} MiB, over {:.0} s{samples}",
        phase.label(),
        f.cpu,
        f.main,
        // Both read in whole clock ticks: ±1 tick each.
        (f.cpu - f.main).max(0.0),
        f.dockerd,
        f.rss,
        f.wall,
    );
}

async fn run() {
    let count = env_or("BENCH_CONTAINERS", 50) as usize;
    let window = Duration::from_secs(env_or("BENCH_SECS", 60));
    let warmup = Duration::from_secs(env_or("BENCH_WARMUP", 15));
    let engine = Command::new("docker")
        .arg("info")
        .output()
        .expect("the docker CLI is installed");
    assert!(engine.status.success(), "no Docker engine is running");
    let stale = support::remove_containers(PREFIX);
    if stale > 0 {
        println!("removed {stale} stale {PREFIX}* containers first");
    }
    let _cleanup = support::Cleanup(PREFIX);

    // The services, as serve::run builds them.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("berth.redb");
    let store = tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .expect("task")
        .expect("open store");
    let events = EventLog::open(&store).expect("open event log");
    let config = StatsConfig {
        interval: INTERVAL,
        ..StatsConfig::default()
    };
    let stats = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || Stats::open(store, config))
            .await
            .expect("task")
            .expect("open stats")
    };
    let services = Services {
        events,
        stats,
        dockerd: dockerd_pid(),
        warmup,
        window,
        tick: clock_ticks(),
        bench_containers: count,
    };
    println!(
        "berth collector benchmark: {count} containers, every 5 s, current-thread runtime; \
         {:.0} s warm-up + {:.0} s measured per phase (dockerd pid {})",
        warmup.as_secs_f64(),
        window.as_secs_f64(),
        services.dockerd.as_deref().unwrap_or("not found"),
    );
    let mut results = Vec::new();

    let idle = services.run(Phase::Idle).await;
    print(Phase::Idle, &idle);
    results.push((Phase::Idle, idle));

    let docker = Docker::connect_with_local_defaults()
        .expect("connect to the engine")
        .negotiate_version()
        .await
        .expect("negotiate the API version");
    let t = Instant::now();
    support::create_all(count, CONCURRENCY, |i| create_one(&docker, i)).await;
    println!(
        "  started {count} containers in {:.1} s, {CONCURRENCY} at a time",
        t.elapsed().as_secs_f64()
    );

    for phase in [Phase::Collector, Phase::WatcherOnly, Phase::StreamsOnly] {
        let f = services.run(phase).await;
        print(phase, &f);
        results.push((phase, f));
    }
    let get = |p: Phase| &results.iter().find(|(q, _)| *q == p).expect("phase ran").1;
    let (collector, watcher, streams) = (get(Phase::Collector), get(Phase::WatcherOnly), get(Phase::StreamsOnly));
    println!("summary, {count} containers:");
    println!(
        "  collector CPU {:.2}% of one core ({:.2}% above the watcher alone; its {} stats streams alone {:.2}%); \
         dockerd {:.2}% ({:.2}% above the watcher alone)",
        collector.cpu,
        collector.cpu - watcher.cpu,
        count,
        streams.cpu - watcher.cpu,
        collector.dockerd,
        collector.dockerd - watcher.dockerd,
    );
    println!(
        "  VmRSS {:.1} MiB after the collector phase, VmHWM {:.1} MiB; last snapshot held {} of {count} bench containers",
        collector.rss,
        status_mib("/proc/self/status", "VmHWM:"),
        collector.ours,
    );
    services.events.close().await.expect("close event log");
}

fn main() {
    // RUST_LOG=debug shows the services' log when a figure needs explaining.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}
