//! Stored container logs benchmark: prints figures, asserts nothing about time.
//!
//! On a real redb file in a temporary directory on the disk of the current
//! directory (or under `$BENCH_DIR`), through the service as the collectors
//! use it (`StoredLogs::store_lines` into the one writer, which commits in
//! rounds without fsync and durably once a minute), with lines of 100 to
//! 200 bytes as services write them:
//! 1. ingest: lines/s from 4 producers (4 containers) in batches of 512,
//!    into an empty file, and again with a small total budget so that each
//!    round also drops the oldest lines;
//! 2. search: 1 GiB of log text stored (`STORED_LOGS_MIB` to fill another size,
//!    e.g. 64 for a quick run) under 8 keys of one host, filled once, then
//!    the time to find the newest 100 matches of a regex across all keys
//!    (`ERROR .*code=5\d\d`, about 1 line in 1,000), of a text (1 in 1,000,
//!    ignoring case), of one key only, and of a needle (1 line in 100,000:
//!    close to a scan of everything, within the search's 10 s limit).
//!
//! Run: `cargo bench -p berth-core --bench stored_logs`
//! (`STORED_LOGS_MIB=64` for a quick run; `BENCH_ONLY=ingest|search`;
//! `BENCH_DB_CACHE_MIB` for another redb cache than berth's default).

mod support;

use berth_core::access::Caller;
use berth_core::events::EventLog;
use berth_core::hosts::{Host, Hosts};
use berth_core::logs::stored::{Budgets, Line, StoredLogs};
use berth_core::model::{CollectRequest, LogSearch, LogStream, StoredPage, StoredQuery};
use berth_core::store::Store;
use berth_core::tasks::Tasks;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HOST: &str = "bench";
const BATCH: usize = 512;
const PRODUCERS: usize = 4;
const KEYS: usize = 8;
const RUNS: usize = 5;

/// xorshift64*: deterministic variety without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// 4,096 lines of 100 to 200 bytes, as a web service logs: mostly
/// requests, some warnings, four in 4,096 `ERROR ... code=5xx`, four with
/// "Timeout".
fn pool() -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let paths = [
        "/api/v1/orders",
        "/api/v1/users",
        "/healthz",
        "/static/app.js",
        "/api/v1/cart/items",
    ];
    let users = ["alice", "bob", "carol", "dave", "-"];
    (0..4096)
        .map(|i| {
            let r = rng.next();
            let path = paths[(r % 5) as usize];
            let user = users[((r >> 8) % 5) as usize];
            let ms = (r >> 16) % 900;
            let id = r >> 20;
            let mut line = match i % 1024 {
                7 => format!("ERROR [worker-{}] upstream failed path={path} code=5{:02} request_id={id:016x}", r % 8, r % 4),
                300 => format!("WARN  [worker-{}] upstream Timeout after {ms} ms path={path} request_id={id:016x}", r % 8),
                n if n % 50 == 0 => format!("WARN  [worker-{}] slow request path={path} duration_ms={ms} user={user}", r % 8),
                _ => format!(
                    "INFO  [worker-{}] request id={id:016x} method=GET path={path}/{} status=200 duration_ms={ms}.{} user={user}",
                    r % 8,
                    (r >> 24) % 100_000,
                    (r >> 40) % 10
                ),
            };
            // Padding up to a length between 100 and 200 bytes.
            let want = 100 + (r >> 48) as usize % 101;
            if line.len() < want {
                line.push_str(" trace=");
                while line.len() < want {
                    line.push(char::from(b'a' + (rng.next() % 26) as u8));
                }
            }
            line
        })
        .collect()
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as i64
}

/// redb's cache: berth's default, or `BENCH_DB_CACHE_MIB` (as
/// `db_cache_mib` sets it for berth).
fn cache_bytes() -> usize {
    std::env::var("BENCH_DB_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(berth_core::store::DEFAULT_CACHE_BYTES, |mib| mib << 20)
}

/// A service over `path` with `keys` keys of host `bench` collected, its
/// writer running.
async fn service(path: &Path, budgets: Budgets, keys: usize) -> (StoredLogs, EventLog, Hosts, Tasks) {
    let store = Store::open_with_cache(path, cache_bytes()).expect("open store");
    let events = EventLog::open(&store).expect("open log");
    let hosts = Hosts::new();
    // A host over the local engine; nothing is collected from it here.
    hosts
        .add(Host::local_named(HOST, events.clone()).expect("host"))
        .expect("add host");
    let logs = StoredLogs::open(store, events.clone(), hosts.clone(), budgets).expect("open stored logs");
    let mut tasks = Tasks::new();
    let writer = logs.clone();
    tasks.spawn("stored-logs-writer", |stop| writer.run(stop));
    let caller = Caller::system("bench");
    for k in 0..keys {
        let req = CollectRequest {
            key: format!("compose:shop/svc-{k}"),
            collect: true,
            budget_bytes: Some(budgets.total),
        };
        logs.set_collect(&caller, HOST, &req).await.expect("collect");
    }
    (logs, events, hosts, tasks)
}

async fn close(logs: StoredLogs, events: EventLog, hosts: Hosts, tasks: Tasks) {
    logs.flush().await;
    tasks.stop().await;
    hosts.shutdown().await;
    events.close().await.expect("close log");
}

/// Sends `lines` lines from `PRODUCERS` producers (one key each, of `keys`
/// in turn), a batch of 512 at a time, times 1 µs apart per producer from
/// `t0`; a line in 100,000 carries a needle. Returns the seconds taken
/// until all were committed.
async fn produce(logs: &StoredLogs, pool: &[String], lines: u64, keys: usize, t0: i64) -> f64 {
    let started = Instant::now();
    let per = lines / PRODUCERS as u64;
    let mut all = Vec::new();
    for p in 0..PRODUCERS {
        let (logs, pool) = (logs.clone(), pool.to_vec());
        all.push(tokio::spawn(async move {
            let mut sent = 0u64;
            let mut batch_no = 0usize;
            while sent < per {
                let key = format!("compose:shop/svc-{}", (p + batch_no * PRODUCERS) % keys);
                let n = (per - sent).min(BATCH as u64);
                let batch: Vec<Line> = (0..n)
                    .map(|i| {
                        let seq = sent + i;
                        let global = seq * PRODUCERS as u64 + p as u64;
                        let text = if global % 100_000 == 99_999 {
                            format!(
                                "INFO  [worker-{p}] needle-{global} found in the haystack, nothing to see here at all"
                            )
                        } else {
                            pool[(global as usize) % pool.len()].clone()
                        };
                        Line {
                            ts_ns: t0 + global as i64 * 250,
                            stream: if global.is_multiple_of(97) {
                                LogStream::Stderr
                            } else {
                                LogStream::Stdout
                            },
                            text,
                        }
                    })
                    .collect();
                let container = format!("{:064x}", p + 1);
                assert!(
                    logs.store_lines(HOST, &key, &container, &format!("shop-svc-{p}"), batch)
                        .await
                );
                sent += n;
                batch_no += 1;
            }
        }));
    }
    for p in all {
        p.await.expect("producer");
    }
    logs.flush().await;
    started.elapsed().as_secs_f64()
}

fn avg_text(pool: &[String]) -> f64 {
    pool.iter().map(String::len).sum::<usize>() as f64 / pool.len() as f64
}

fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1048576.0)
}

async fn ingest(dir: &Path, pool: &[String]) {
    let lines: u64 = 400_000;
    for (label, budgets) in [
        (
            "empty file, under budget",
            Budgets {
                total: 8 << 30,
                per_key: 8 << 30,
            },
        ),
        (
            "total budget 16 MiB, each round also drops",
            Budgets {
                total: 16 << 20,
                per_key: 16 << 20,
            },
        ),
    ] {
        let path = dir.join(format!("ingest-{}.redb", budgets.total));
        let (logs, events, hosts, tasks) = service(&path, budgets, KEYS).await;
        let secs = produce(&logs, pool, lines, KEYS, now_ns() - 3_600_000_000_000).await;
        let keys = logs.keys(&Caller::system("bench"), Some(HOST)).await.expect("keys");
        let kept: u64 = keys.keys.iter().map(|k| k.lines).sum();
        let text_mib = lines as f64 * avg_text(pool) / 1048576.0;
        println!(
            "  {label}: {} lines in {secs:.2} s = {} lines/s ({:.1} MiB/s of text); {} kept, file {:.0} MiB",
            support::group(lines),
            support::group((lines as f64 / secs) as u64),
            text_mib / secs,
            support::group(kept),
            mib(&path)
        );
        close(logs, events, hosts, tasks).await;
    }
}

async fn timed(logs: &StoredLogs, label: &str, query: StoredQuery) {
    let caller = Caller::system("bench");
    let mut times = Vec::new();
    let mut last = StoredPage::default();
    for _ in 0..RUNS {
        let t = Instant::now();
        last = logs.search(&caller, &query).await.expect("search");
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  {label}: median {:.1} ms (min {:.1}, max {:.1}) for {} matches, {} lines looked at{}",
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1]),
        last.matches.len(),
        support::group(last.scanned),
        if last.cut_short {
            ", cut short by the time limit"
        } else {
            ""
        }
    );
}

async fn search(dir: &Path, pool: &[String]) {
    let target_mib: u64 = std::env::var("STORED_LOGS_MIB").map_or(1024, |v| v.parse().expect("STORED_LOGS_MIB"));
    let path = dir.join("search.redb");
    let budgets = Budgets {
        total: 1 << 40,
        per_key: 1 << 40,
    };
    let (logs, events, hosts, tasks) = service(&path, budgets, KEYS).await;
    // `target_mib` of log text, about 150 bytes a line.
    let avg: u64 = pool.iter().map(|l| l.len() as u64).sum::<u64>() / pool.len() as u64;
    let lines = (target_mib << 20) / avg;
    let t0 = now_ns() - lines as i64 * 250;
    let secs = produce(&logs, pool, lines, KEYS, t0).await;
    let keys = logs.keys(&Caller::system("bench"), Some(HOST)).await.expect("keys");
    let stored: u64 = keys.keys.iter().map(|k| k.lines).sum();
    println!(
        "search: stored {target_mib} MiB of log text ({} lines of 100–200 bytes under {KEYS} keys), {:.0} MiB against the budget, in {secs:.1} s = {} lines/s; file {:.0} MiB",
        support::group(stored),
        keys.total_bytes as f64 / 1048576.0,
        support::group((stored as f64 / secs) as u64),
        mib(&path)
    );
    let query = |pattern: &str, regex: bool, key: Option<&str>| StoredQuery {
        host: Some(HOST.into()),
        key: key.map(str::to_string),
        search: LogSearch {
            pattern: pattern.into(),
            regex,
            ..Default::default()
        },
        limit: Some(100),
        ..Default::default()
    };
    println!("  newest 100 matches, {RUNS} runs each:");
    timed(
        &logs,
        r"regex `ERROR .*code=5\d\d`, all keys",
        query(r"ERROR .*code=5\d\d", true, None),
    )
    .await;
    timed(
        &logs,
        "text `timeout` (any case), all keys",
        query("timeout", false, None),
    )
    .await;
    timed(
        &logs,
        r"regex `ERROR .*code=5\d\d`, one key",
        query(r"ERROR .*code=5\d\d", true, Some("compose:shop/svc-3")),
    )
    .await;
    timed(
        &logs,
        r"regex `needle-\d+` (1 in 100,000), all keys",
        query(r"needle-\d+", true, None),
    )
    .await;
    timed(&logs, "every line (no pattern), all keys", query("", false, None)).await;
    close(logs, events, hosts, tasks).await;
    space(&path);
}

/// What the file holds once closed (the last commit durable): the lines'
/// bytes, redb's own, and space freed for reuse.
fn space(path: &Path) {
    let store = Store::open(path).expect("reopen");
    let tx = store.db().begin_write().expect("write");
    let s = tx.stats().expect("stats");
    let m = |b: u64| b as f64 / 1048576.0;
    println!(
        "  file {:.0} MiB once closed: {:.0} MiB stored in {} leaf pages of {} bytes, {:.0} MiB metadata, {:.0} MiB free for reuse",
        mib(path),
        m(s.stored_bytes()),
        support::group(s.leaf_pages()),
        s.page_size(),
        m(s.metadata_bytes()),
        m(s.fragmented_bytes())
    );
    tx.abort().expect("abort");
}

fn main() {
    let only = std::env::var("BENCH_ONLY").ok();
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    println!("berth stored-logs benchmark in {}", dir.path().display());
    let pool = pool();
    println!(
        "lines: {} distinct, {:.0} bytes on average",
        pool.len(),
        avg_text(&pool)
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if only.as_deref() != Some("search") {
            println!("ingest: {PRODUCERS} producers, batches of {BATCH}, through the writer:");
            ingest(dir.path(), &pool).await;
        }
        if only.as_deref() != Some("ingest") {
            search(dir.path(), &pool).await;
        }
    });
}
