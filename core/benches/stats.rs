//! Time-series store benchmark: prints figures, asserts nothing about time.
//!
//! On a real redb file in a temporary directory on the disk of the current
//! directory (or under `$BENCH_DIR`), with the default retention, measures:
//! 1. ingest throughput on one thread, as the collector writes: one
//!    `Tsdb::ingest` (one commit) per tick, one sample of every series per
//!    tick, timestamps 5 s apart; for 1,000 series (125 containers × 8
//!    metrics) on a file already holding 3 h of them, without and with a
//!    `Tsdb::prune` (a durable commit) every 12 ticks as the collector
//!    prunes every minute; and for 10,000 series on an empty file;
//! 2. chart queries: 30 days of 5 s data for 50 series (ingested an hour
//!    per call, ending now), then `Tsdb::query` of all 50 over the last 1 h,
//!    24 h, 7 d and 30 d (p50/p95 of many runs), and the file size.
//!
//! Run: `cargo bench -p berth-core --bench stats`
//! (`BENCH_SECS=2` for a shorter ingest run than 5 s per case;
//! `BENCH_ONLY=ingest` or `BENCH_ONLY=query` for one part, e.g. under `perf`).

mod support;

use berth_core::stats::{Retention, Sample, Tsdb};
use berth_core::store::Store;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds between collector ticks.
const TICK: u32 = 5;
const METRICS: [&str; 8] = [
    "cpu",
    "mem",
    "net_rx",
    "net_tx",
    "blk_read",
    "blk_write",
    "pids",
    "mem_limit",
];
const QUERY_SERIES: usize = 50;
const QUERY_DAYS: u32 = 30;
const RUNS: usize = 200;

/// xorshift64*: deterministic variety without a dependency.
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// (p50, p95) in milliseconds.
fn pct(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 95 / 100).min(v.len() - 1)]))
}

fn now_s() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as u32
}

/// Series names as the collector makes them: `ctr/{host}/{name}/{metric}`.
fn series_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("ctr/local/app-{:04}/{}", i / METRICS.len(), METRICS[i % METRICS.len()]))
        .collect()
}

fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).expect("stat").len() as f64 / 1048576.0
}

/// One ingest case: `series` series, `preload_hours` of history first.
struct Case {
    label: &'static str,
    series: usize,
    preload_hours: u32,
    /// Prune (a durable commit) after every this many ticks, as the collector
    /// does every minute; 0 for never.
    prune_every: usize,
}

/// Ingests one sample of each series per tick, one commit per tick, for
/// `secs` seconds of wall time, after `preload_hours` of history loaded an
/// hour per call and a first prune (so the raw tier holds its 3 h, as on a
/// server that has run for a while, and the file has had a durable commit).
fn ingest_ticks(dir: &Path, case: &Case, secs: f64) {
    let path = dir.join(format!("ingest-{}-{}.redb", case.series, case.prune_every));
    let store = Store::open(&path).expect("open store");
    let tsdb = Tsdb::open(store.clone(), Retention::default()).expect("open tsdb");
    let names = series_names(case.series);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tick = |t: u32| -> Vec<Sample> {
        names
            .iter()
            .map(|n| Sample {
                series: n.clone(),
                t,
                value: rng.unit() * 100.0,
            })
            .collect()
    };
    // Simulated time: the timed ticks start now, history ends now.
    let mut t = now_s() - case.preload_hours * 3600;
    let started = Instant::now();
    for _ in 0..case.preload_hours {
        let mut batch = Vec::new();
        for _ in 0..3600 / TICK {
            t += TICK;
            batch.extend(tick(t));
        }
        tsdb.ingest(&batch, t).expect("ingest");
    }
    let first = tick(t + TICK);
    tsdb.ingest(&first, t + TICK).expect("ingest");
    t += TICK;
    tsdb.prune(t).expect("prune");
    let preload = started.elapsed().as_secs_f64();
    let size_before = mib(&path);

    let mut times = Vec::new();
    let mut prunes = Vec::new();
    let mut removed = 0;
    let mut building = Duration::ZERO;
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < secs {
        t += TICK;
        let b = Instant::now();
        let samples = tick(t);
        building += b.elapsed();
        let i = Instant::now();
        tsdb.ingest(&samples, t).expect("ingest");
        times.push(i.elapsed());
        if case.prune_every > 0 && times.len().is_multiple_of(case.prune_every) {
            let p = Instant::now();
            removed += tsdb.prune(t).expect("prune");
            prunes.push(p.elapsed());
        }
    }
    let ticks = times.len();
    let in_ingest: f64 = times.iter().chain(&prunes).map(Duration::as_secs_f64).sum();
    let (p50, p95) = pct(times);
    let n = (ticks * case.series) as u64;
    println!(
        "  {} ({} series, {} h preloaded in {preload:.1} s, file then {size_before:.1} MiB):",
        case.label,
        support::group(case.series as u64),
        case.preload_hours,
    );
    println!(
        "    {} ticks = {} samples in {in_ingest:.2} s = {} samples/s; tick p50 {p50:.2} ms, p95 {p95:.2} ms \
         ({:.2} s more building the samples); file now {:.1} MiB",
        support::group(ticks as u64),
        support::group(n),
        support::group((n as f64 / in_ingest) as u64),
        building.as_secs_f64(),
        mib(&path),
    );
    if !prunes.is_empty() {
        let count = prunes.len();
        let (p50, p95) = pct(prunes);
        println!(
            "    {count} prunes (every {} ticks, durable, {} rows removed in all): p50 {p50:.2} ms, p95 {p95:.2} ms",
            case.prune_every,
            support::group(removed),
        );
    }
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS").map_or(5.0, |v| v.parse().expect("BENCH_SECS"));
    let only = std::env::var("BENCH_ONLY").ok();
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    println!("berth time-series benchmark in {}", dir.path().display());

    // 1. Ingest throughput, one tick (= one commit) per call.
    let cases = [
        Case {
            label: "ingest only",
            series: 1_000,
            preload_hours: 3,
            prune_every: 0,
        },
        Case {
            label: "as the collector, with a prune every minute",
            series: 1_000,
            preload_hours: 3,
            prune_every: 12,
        },
        Case {
            label: "big ticks, ingest only, empty file",
            series: 10_000,
            preload_hours: 0,
            prune_every: 0,
        },
    ];
    if only.as_deref() != Some("query") {
        println!("ingest, one commit per 5 s tick, about {secs} s of ticks per case:");
        for case in &cases {
            ingest_ticks(dir.path(), case, secs);
        }
    }
    if only.as_deref() == Some("ingest") {
        return;
    }

    // 2. Chart queries over 30 days of data.
    let path = dir.path().join("query.redb");
    let store = Store::open(&path).expect("open store");
    let tsdb = Tsdb::open(store.clone(), Retention::default()).expect("open tsdb");
    let names = series_names(QUERY_SERIES);
    let now = now_s();
    let start = now - QUERY_DAYS * 86_400;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let per_hour = 3600 / TICK;
    let mut batch = Vec::with_capacity(QUERY_SERIES * per_hour as usize);
    let started = Instant::now();
    let mut loaded = 0u64;
    for hour in 0..QUERY_DAYS * 24 {
        batch.clear();
        for k in 1..=per_hour {
            let t = start + hour * 3600 + k * TICK;
            for n in &names {
                batch.push(Sample {
                    series: n.clone(),
                    t,
                    value: rng.unit() * 100.0,
                });
            }
        }
        tsdb.ingest(&batch, now).expect("ingest");
        loaded += batch.len() as u64;
    }
    let load = started.elapsed().as_secs_f64();
    println!(
        "chart queries: loaded {QUERY_DAYS} days of 5 s data for {QUERY_SERIES} series ({} samples, an hour per \
         ingest) in {load:.1} s = {} samples/s; file {:.1} MiB",
        support::group(loaded),
        support::group((loaded as f64 / load) as u64),
        mib(&path),
    );
    println!("  query of all {QUERY_SERIES} series, ending now ({RUNS} runs after 5 warm-up):");
    for (label, range) in [
        ("1 h", 3600i64),
        ("24 h", 86_400),
        ("7 d", 7 * 86_400),
        ("30 d", 30 * 86_400),
    ] {
        // As `Stats::charts` asks.
        let to = i64::from(now_s()) + 1;
        let from = to - range;
        let mut points = 0;
        let mut step = 0;
        for _ in 0..5 {
            tsdb.query(&names, from, to).expect("query");
        }
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let (s, series) = tsdb.query(&names, from, to).expect("query");
            times.push(t.elapsed());
            step = s;
            points = series.iter().map(Vec::len).sum::<usize>();
        }
        let (p50, p95) = pct(times);
        println!(
            "    {label:>4}: p50 {p50:>7.2} ms   p95 {p95:>7.2} ms   step {step} s, {} points ({} per series)",
            support::group(points as u64),
            points / QUERY_SERIES
        );
    }
    println!("  database file: {:.1} MiB", mib(&path));
}
