//! Alert evaluation benchmark: prints figures, asserts nothing about time.
//!
//! The cost of one pass of the `alerts` task (each second; threshold rules
//! only on a new collector tick, here every pass) over made-up hosts:
//! 500 containers on 5 hosts (compose services of 2 replicas, some
//! unhealthy, some exited non-zero, restart counters moving) with a
//! collector tick of all of them, and 1,000 rules of every kind, scoped as
//! people scope them: a third on one container key, a third on one host,
//! a third on everything. Readings wander, so alerts go pending, fire and
//! resolve as they would. Reports the time per pass (p50, p95, max) and
//! the alerts alive.
//!
//! Run: `cargo bench -p berth-core --bench alerts`
//! (`BENCH_RULES=10000 BENCH_CONTAINERS=2000` for other sizes).

use berth_core::alerts::EvalBench;
use berth_core::model::{
    AlertRule, AlertScope, Condition, Container, ContainerSample, FsUsage, HostId, HostSample, HostStatus, RuleId,
    RuleSpec, Severity, StatsSnapshot, Transport,
};
use std::time::Instant;

const HOSTS: usize = 5;
const PASSES: usize = 300;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn status(host: &str) -> HostStatus {
    HostStatus {
        id: HostId(host.into()),
        reachable: true,
        since_ns: 1,
        error: None,
        engine_version: Some("28.0".into()),
        api_version: Some("1.48".into()),
        transport: Transport::default(),
        agent_version: None,
        limits: Default::default(),
        rtt_us: None,
    }
}

fn container(i: usize, pass: usize) -> Container {
    let service = format!("svc{}", i / 2);
    let crashed = i % 50 == 7;
    Container {
        id: format!("{i:064x}"),
        name: format!("shop-{service}-{}", i % 2 + 1),
        image: "shop:1".into(),
        state: if crashed { "exited".into() } else { "running".into() },
        health: Some(if i % 40 == 3 { "unhealthy" } else { "healthy" }.into()),
        status: if crashed {
            "Exited (1) 3 seconds ago".into()
        } else {
            "Up 2 hours".into()
        },
        ports: vec![],
        created: 0,
        project: Some("shop".into()),
        service: Some(service),
        restarts: if i % 60 == 11 { (pass / 3) as u32 } else { 0 },
        oom_kills: 0,
        compose_files: None,
        compose_dir: None,
        expected: None,
    }
}

fn rules(n: usize, containers: usize) -> Vec<AlertRule> {
    let kinds = Condition::examples();
    (0..n)
        .map(|i| {
            let condition = kinds[i % kinds.len()].clone();
            let per_host = matches!(
                condition,
                Condition::HostCpu { .. }
                    | Condition::HostMemory { .. }
                    | Condition::HostLoad { .. }
                    | Condition::Disk { .. }
                    | Condition::HostUnreachable
            );
            let key = format!("compose:shop/svc{}", (i * 7) % (containers / 2));
            let scope = match (i % 3, per_host) {
                (0, false) => AlertScope {
                    host: None,
                    key: Some(key),
                },
                (1, _) => AlertScope {
                    host: Some(HostId(format!("h{}", i % HOSTS))),
                    key: None,
                },
                _ => AlertScope::default(),
            };
            let scope = if matches!(condition, Condition::LogPattern { .. }) {
                AlertScope {
                    host: None,
                    key: Some(format!("compose:shop/svc{}", i % (containers / 2))),
                }
            } else {
                scope
            };
            AlertRule {
                id: RuleId(i as u64 + 1),
                spec: RuleSpec {
                    name: format!("rule {i}"),
                    enabled: true,
                    condition,
                    scope,
                    severity: Severity::Warning,
                    for_secs: (i % 4) as u64 * 30,
                    repeat_secs: 0,
                    channels: vec![],
                    silences: vec![],
                },
            }
        })
        .collect()
}

fn tick(containers: usize, pass: usize, now_ms: i64) -> StatsSnapshot {
    let wave = |i: usize| ((i * 37 + pass * 11) % 100) as f64;
    StatsSnapshot {
        at_ms: now_ms,
        hosts: (0..HOSTS)
            .map(|h| HostSample {
                host: HostId(format!("h{h}")),
                at_ms: now_ms,
                cpu_percent: wave(h),
                cores: vec![wave(h); 8],
                load: [wave(h) / 10.0, 1.0, 1.0],
                mem_total: 64 << 30,
                mem_used: ((wave(h + 1) / 100.0) * (64u64 << 30) as f64) as u64,
                swap_total: 0,
                swap_used: 0,
                filesystems: (0..4)
                    .map(|f| FsUsage {
                        mount: format!("/mnt/{f}"),
                        device: format!("/dev/sd{f}"),
                        fs_type: "ext4".into(),
                        total: 1 << 40,
                        used: ((wave(h + f) / 100.0) * (1u64 << 40) as f64) as u64,
                    })
                    .collect(),
                disk_read_bps: 0.0,
                disk_write_bps: 0.0,
                net_rx_bps: 0.0,
                net_tx_bps: 0.0,
            })
            .collect(),
        containers: (0..containers)
            .map(|i| {
                let c = container(i, pass);
                ContainerSample {
                    host: HostId(format!("h{}", i % HOSTS)),
                    id: c.id,
                    name: c.name,
                    project: c.project,
                    service: c.service,
                    at_ms: now_ms,
                    cpu_percent: wave(i),
                    mem_used: (wave(i + 3) * 1e7) as u64,
                    mem_limit: 1_000_000_000,
                    net_rx_bps: 0.0,
                    net_tx_bps: 0.0,
                    blk_read_bps: 0.0,
                    blk_write_bps: 0.0,
                    pids: 3,
                    net_rx_total: 0,
                    net_tx_total: 0,
                    blk_read_total: 0,
                    blk_write_total: 0,
                }
            })
            .collect(),
    }
}

fn main() {
    let n_rules = env("BENCH_RULES", 1000);
    let n_containers = env("BENCH_CONTAINERS", 500).max(2);
    let hosts = |pass: usize| -> Vec<(HostStatus, Vec<Container>)> {
        (0..HOSTS)
            .map(|h| {
                let list = (0..n_containers)
                    .filter(|i| i % HOSTS == h)
                    .map(|i| container(i, pass))
                    .collect();
                (status(&format!("h{h}")), list)
            })
            .collect()
    };
    let start_ms = 1_800_000_000_000_i64;
    let mut times = Vec::with_capacity(PASSES);
    let mut changes = 0;
    let mut bench = EvalBench::new(rules(n_rules, n_containers), hosts(0));
    for pass in 0..PASSES {
        if pass % 3 == 0 {
            // Restart counters move: new lists, as the registry hands them out.
            bench.set_hosts(hosts(pass));
        }
        let now = start_ms + pass as i64 * 5000;
        let snapshot = tick(n_containers, pass, now);
        let t = Instant::now();
        changes += bench.pass(&snapshot, now);
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "alerts: {n_rules} rules x {n_containers} containers on {HOSTS} hosts, {PASSES} passes with a new tick each"
    );
    println!(
        "  per pass: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; {changes} changes; {} alerts alive at the end",
        ms(times[PASSES / 2]),
        ms(times[PASSES * 95 / 100]),
        ms(times[PASSES - 1]),
        bench.alerts()
    );
    let per_sec = ms(times[PASSES / 2]) / 1000.0 * 100.0;
    println!("  at one pass a second: {per_sec:.2}% of one core");
}
