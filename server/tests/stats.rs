//! The statistics collector as a user meets it: the latest readings of the
//! host and its containers checked against what the kernel counted
//! (/proc/PID/stat, /proc/stat, /proc/meminfo) and `docker stats`, and the
//! chart history. Needs a running engine and the test image
//! `berth-test/busybox:1` (`./dev.sh test` provides both).

mod common;

use common::docker::{TestContainer, docker};
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: f64 = 1024.0 * 1024.0;

/// The latest sample of container `name` in `snapshot`, if it has one.
fn sample_of<'a>(snapshot: &'a Value, name: &str) -> Option<&'a Value> {
    snapshot["containers"].as_array()?.iter().find(|c| c["name"] == name)
}

fn local_host(snapshot: &Value) -> Option<&Value> {
    snapshot["hosts"].as_array()?.iter().find(|h| h["host"] == "local")
}

/// Polls `/api/v1/stats` until `check` holds for it (or `secs` pass), and returns it.
async fn wait_for_stats(
    server: &Server,
    client: &reqwest::Client,
    secs: u64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let resp = client.get(server.url("/api/v1/stats")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let snapshot: Value = resp.json().await.unwrap();
        if check(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "{what} within {secs} s; the last snapshot: {snapshot}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// "100.6MiB" (as `docker stats` prints sizes) in bytes.
fn docker_size(text: &str) -> f64 {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or_else(|e| panic!("'{text}': {e}"));
    let scale = match unit {
        "B" => 1.0,
        "KiB" | "kB" => 1024.0,
        "MiB" | "MB" => MIB,
        "GiB" | "GB" => 1024.0 * MIB,
        other => panic!("unknown unit '{other}' in '{text}'"),
    };
    number * scale
}

/// CPU seconds process `pid` has used (utime + stime of /proc/PID/stat).
fn process_cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After "pid (comm) ": field 3 (state) onwards; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let per_second = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| text(&o.stdout).trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    ticks / per_second
}

/// The host's busy and total CPU ticks so far, from the first line of /proc/stat.
fn host_cpu_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let v: Vec<f64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|n| n.parse().unwrap())
        .collect();
    // user nice system idle iowait irq softirq steal
    let total: f64 = v.iter().sum();
    (total - v[3] - v[4], total)
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_container_shows_its_cpu_use_and_an_idle_one_does_not() {
    let (burn, idle) = ("berth-stats-burn", "berth-stats-idle");
    let _burn = TestContainer::run(burn, &[], &["sh", "-c", "while :; do :; done"]);
    let _idle = TestContainer::run(idle, &["--memory", "64m"], &["sleep", "3600"]);
    let (_dir, server, client) = stats_server(|_| {}).await;
    let cores = std::thread::available_parallelism().unwrap().get();

    let snapshot = wait_for_stats(&server, &client, 20, "readings of both containers and the host", |s| {
        sample_of(s, burn).is_some() && sample_of(s, idle).is_some() && local_host(s).is_some()
    })
    .await;
    let busy = sample_of(&snapshot, burn).unwrap();
    assert_eq!(busy["host"], "local");
    assert_eq!(busy["id"], docker(&["inspect", "-f", "{{.Id}}", burn]));
    assert!(busy["pids"].as_u64().unwrap() >= 1, "{busy}");
    assert!(busy["project"].is_null() && busy["service"].is_null(), "{busy}");
    let mem_total = local_host(&snapshot).unwrap()["mem_total"].as_u64().unwrap();
    assert!(
        busy["mem_limit"].as_u64().unwrap() <= mem_total,
        "no limit: the host's memory: {busy}"
    );
    let limited = sample_of(&snapshot, idle).unwrap();
    assert_eq!(limited["mem_limit"], 64 << 20, "its --memory limit: {limited}");
    assert!(limited["mem_used"].as_u64().unwrap() < 64 << 20, "{limited}");

    // Over a few seconds, berth's readings against what the kernel counted.
    // The machine may be busy with other work, so the busy loop gets what
    // it gets: compare with its real CPU time rather than a fixed 100%.
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", burn]);
    let (cpu_before, host_before, wall_before) = (process_cpu_secs(&pid), host_cpu_ticks(), Instant::now());
    let window_start_ms = unix_ms() + 2000;
    let (mut busy_seen, mut idle_seen, mut host_seen) = (Vec::new(), Vec::new(), Vec::new());
    let mut last_at = 0;
    while wall_before.elapsed() < Duration::from_secs(8) {
        let snapshot: Value = get_json(&server, &client, "/api/v1/stats").await;
        let at = snapshot["at_ms"].as_i64().unwrap();
        if at > last_at && at >= window_start_ms {
            last_at = at;
            let cpu = |name| sample_of(&snapshot, name).map(|c| c["cpu_percent"].as_f64().unwrap());
            busy_seen.push(cpu(burn).expect("the busy container in every reading"));
            idle_seen.push(cpu(idle).expect("the idle container in every reading"));
            let host = local_host(&snapshot).unwrap();
            host_seen.push(host["cpu_percent"].as_f64().unwrap());
            let per_core = host["cores"].as_array().unwrap();
            assert_eq!(per_core.len(), cores, "{host}");
            assert!(
                per_core.iter().all(|c| (0.0..=100.0).contains(&c.as_f64().unwrap())),
                "{host}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = wall_before.elapsed().as_secs_f64();
    let used = (process_cpu_secs(&pid) - cpu_before) / elapsed * 100.0;
    let (host_busy, host_all) = {
        let (b1, t1) = host_cpu_ticks();
        (b1 - host_before.0, t1 - host_before.1)
    };
    let host_used = host_busy / host_all * 100.0;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(busy_seen.len() >= 4, "too few readings in 8 s: {busy_seen:?}");
    assert!(
        used > 15.0,
        "the busy loop got only {used:.0}% of a core: the machine is too loaded for this test"
    );
    let tolerance = (used * 0.25).max(12.0);
    assert!(
        (mean(&busy_seen) - used).abs() <= tolerance,
        "busy container: berth {busy_seen:.1?}, the kernel counted {used:.1}%"
    );
    assert!(
        busy_seen.iter().all(|v| *v <= 100.0 * cores as f64 + 5.0),
        "{busy_seen:?}"
    );
    assert!(
        idle_seen.iter().all(|v| (0.0..10.0).contains(v)),
        "idle CPU: {idle_seen:?}"
    );
    assert!(
        (mean(&host_seen) - host_used).abs() <= 15.0,
        "host CPU: berth {host_seen:.1?}, /proc/stat {host_used:.1}%"
    );
    assert!(host_seen.iter().all(|v| (0.0..=100.0).contains(v)), "{host_seen:?}");

    // A stopped container drops out of the readings.
    docker(&["stop", "-t", "0", burn]);
    wait_for_stats(
        &server,
        &client,
        15,
        "the stopped container gone from the readings",
        |s| sample_of(s, burn).is_none(),
    )
    .await;
    server.stop().await.unwrap();
}

/// From a 2 s interval on, each container's reading is asked for once per
/// interval (one-shot) instead of streamed each second: the first reading
/// is only a baseline, and CPU use is measured between two of berth's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_asked_for_each_interval_measure_cpu_between_them() {
    let (burn, idle) = ("berth-stats-burn-polled", "berth-stats-idle-polled");
    let _burn = TestContainer::run(burn, &[], &["sh", "-c", "while :; do :; done"]);
    let _idle = TestContainer::run(idle, &[], &["sleep", "3600"]);
    let (_dir, server, client) = stats_server(|c| c.stats_interval_secs = 2).await;
    wait_for_stats(&server, &client, 30, "readings of both containers", |s| {
        sample_of(s, burn).is_some() && sample_of(s, idle).is_some()
    })
    .await;
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", burn]);
    let (cpu_before, wall_before) = (process_cpu_secs(&pid), Instant::now());
    let (mut busy_seen, mut idle_seen, mut last_at) = (Vec::new(), Vec::new(), 0);
    while wall_before.elapsed() < Duration::from_secs(12) {
        let snapshot: Value = get_json(&server, &client, "/api/v1/stats").await;
        let at = snapshot["at_ms"].as_i64().unwrap();
        if at > last_at {
            last_at = at;
            let cpu = |name| sample_of(&snapshot, name).map(|c| c["cpu_percent"].as_f64().unwrap());
            busy_seen.push(cpu(burn).expect("the busy container in every reading"));
            idle_seen.push(cpu(idle).expect("the idle container in every reading"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let used = (process_cpu_secs(&pid) - cpu_before) / wall_before.elapsed().as_secs_f64() * 100.0;
    assert!(busy_seen.len() >= 4, "too few readings in 12 s at 2 s: {busy_seen:?}");
    assert!(
        used > 15.0,
        "the busy loop got only {used:.0}% of a core: the machine is too loaded"
    );
    let mean = busy_seen.iter().sum::<f64>() / busy_seen.len() as f64;
    assert!(
        (mean - used).abs() <= (used * 0.25).max(12.0),
        "busy container: berth {busy_seen:.1?}, the kernel counted {used:.1}%"
    );
    assert!(
        idle_seen.iter().all(|v| (0.0..10.0).contains(v)),
        "idle CPU: {idle_seen:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_agrees_with_docker_stats_and_proc_meminfo_and_is_charted() {
    let name = "berth-stats-mem";
    let _mem = TestContainer::run(
        name,
        &["--shm-size", "256m"],
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/fill bs=1M count=100; sleep 3600",
        ],
    );
    let (_dir, server, client) = stats_server(|_| {}).await;

    let snapshot = wait_for_stats(&server, &client, 20, "the container using 100 MiB", |s| {
        sample_of(s, name).is_some_and(|c| c["mem_used"].as_f64().unwrap() >= 100.0 * MIB)
    })
    .await;
    let sample = sample_of(&snapshot, name).unwrap();
    assert!(sample["mem_used"].as_f64().unwrap() < 140.0 * MIB, "{sample}");

    // The same number `docker stats` shows (it rounds to 4 digits). The
    // memory is steady once dd is done, so one comparison is enough.
    let berth_used = sample["mem_used"].as_f64().unwrap();
    let shown = docker(&["stats", "--no-stream", "--format", "{{.MemUsage}}", name]);
    let (used, limit) = shown.split_once(" / ").unwrap_or_else(|| panic!("'{shown}'"));
    let docker_used = docker_size(used);
    let tolerance = (2.0 * MIB).max(docker_used * 0.02);
    assert!(
        (berth_used - docker_used).abs() <= tolerance,
        "berth {:.1} MiB, docker stats {shown}",
        berth_used / MIB
    );
    let berth_limit = sample["mem_limit"].as_f64().unwrap();
    let docker_limit = docker_size(limit);
    assert!(
        (berth_limit - docker_limit).abs() <= docker_limit * 0.01,
        "limit: berth {berth_limit}, docker stats {shown}"
    );

    // The host: total - MemAvailable, as `free` counts it. Memory moves
    // (builds run alongside), so compare readings taken close together.
    let mut tries = Vec::new();
    for _ in 0..10 {
        let snapshot = wait_for_stats(&server, &client, 10, "a host reading", |s| local_host(s).is_some()).await;
        let (total, available) = (meminfo("MemTotal"), meminfo("MemAvailable"));
        let host = local_host(&snapshot).unwrap();
        assert_eq!(host["mem_total"].as_u64().unwrap(), total, "{host}");
        let used = host["mem_used"].as_u64().unwrap();
        let expected = total - available;
        if used.abs_diff(expected) < 64 << 20 {
            tries.clear();
            break;
        }
        tries.push((used, expected));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(tries.is_empty(), "host mem_used (berth, /proc/meminfo): {tries:?}");

    // History: the container's Memory chart reaches 100 MiB.
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = format!("/api/v1/hosts/local/containers/{name}/charts?range=1h");
    let charts = loop {
        let resp = client.get(server.url(&url)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let charts: Value = resp.json().await.unwrap();
        let memory = charts["charts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == "Memory");
        let points = memory.and_then(|m| m["series"][0]["points"].as_array());
        let peak = points
            .into_iter()
            .flatten()
            .filter_map(|p| p["max"].as_f64())
            .fold(0.0, f64::max);
        if peak >= 100.0 * MIB && points.is_some_and(|p| p.len() >= 2) {
            break charts;
        }
        assert!(Instant::now() < deadline, "no 100 MiB in the Memory chart: {charts}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let (from, to, step) = (
        charts["from"].as_i64().unwrap(),
        charts["to"].as_i64().unwrap(),
        charts["step"].as_i64().unwrap(),
    );
    assert_eq!(to - from, 3600);
    assert!(step > 0 && step <= 60, "{step}");
    let titles: Vec<&str> = charts["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["CPU", "Memory", "Network", "Block I/O", "Processes"]);
    let memory = &charts["charts"][1];
    assert_eq!(memory["unit"], "bytes");
    assert_eq!(memory["series"][0]["label"], "used");
    for p in memory["series"][0]["points"].as_array().unwrap() {
        let t = p["t"].as_i64().unwrap();
        assert!((from..=to).contains(&t), "{p} outside {from}..{to}");
        let (min, avg, max) = (
            p["min"].as_f64().unwrap(),
            p["avg"].as_f64().unwrap(),
            p["max"].as_f64().unwrap(),
        );
        assert!(min <= avg && avg <= max, "{p}");
    }

    // The host's charts, and the longer ranges.
    let host: Value = get_json(&server, &client, "/api/v1/hosts/local/charts").await;
    let memory = host["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == "Memory");
    let memory = memory.unwrap_or_else(|| panic!("no host Memory chart: {host}"));
    let used = memory["series"][0]["points"].as_array().unwrap();
    assert!(!used.is_empty(), "{memory}");
    assert!(
        used.iter().all(|p| p["max"].as_f64().unwrap() >= 100.0 * MIB),
        "{memory}"
    );
    for (range, span) in [("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400)] {
        let resp = client
            .get(server.url(&format!("/api/v1/hosts/local/charts?range={range}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{range}");
        let set: Value = resp.json().await.unwrap();
        let (from, to) = (set["from"].as_i64().unwrap(), set["to"].as_i64().unwrap());
        assert_eq!(to - from, span, "{range}");
    }

    // Bad requests say what is wrong.
    let resp = client
        .get(server.url(&format!("/api/v1/hosts/local/containers/{name}/charts?range=bad")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "range must be 1h, 24h, 7d or 30d, not 'bad'");
    let resp = client
        .get(server.url("/api/v1/hosts/mars/charts"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Statistics are for signed-in admins.
    let resp = reqwest::get(server.url("/api/v1/stats")).await.unwrap();
    assert_eq!(resp.status(), 401);
    server.stop().await.unwrap();
}
