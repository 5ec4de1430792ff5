//! Event log benchmark: prints figures, asserts nothing about time.
//!
//! Measures, in one run, on a temporary directory on the disk of the current
//! directory (or under `$BENCH_DIR`):
//! 1. batched append throughput: `record()` N varied events, then `flush()`;
//! 2. file size per event after step 1;
//! 3. newest-50 filtered query latency (p50/p99 of 200 runs) for several
//!    filters over that log, and the 10th page of one filter;
//! 4. proofs at that size: a signed checkpoint, inclusion and consistency
//!    proof latency (p50/p99) and size, the offline proof file's size;
//! 5. `verify()` of the whole chain and Merkle tree against the checkpoint;
//! 6. single durable `append()` latency (2,000 in a row, each waiting for its
//!    own commit), next to a bare 200-byte write + fsync on the same disk.
//!
//! Run: `cargo bench -p berth-core --bench event_log`
//! (N = 1,000,000 by default; `BENCH_EVENTS=100000` for a quick run).

mod support;

use berth_core::events::{Checkpointer, EventLog};
use berth_core::model::{Actor, EventFilter, EventSeq, NewEvent, Outcome};
use berth_core::store::{Store, tables};
use berth_core::tlog::merkle;
use redb::{ReadableDatabase, ReadableTableMetadata};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

#[rustfmt::skip]
const KINDS: [&str; 20] = [
    "auth.login.ok", "auth.login.failed", "auth.logout", "auth.session.expired",
    "container.start", "container.stop", "container.die", "container.restart", "container.create",
    "container.remove", "container.exec", "image.pull", "image.remove", "stack.deploy", "stack.update",
    "stack.remove", "user.create", "user.update", "host.connect", "volume.create",
];
const USERS: [&str; 26] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken", "leo", "mallory",
    "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "walter", "xena", "yves", "zed",
];
const RUNS: usize = 200;
const APPENDS: usize = 2000;

/// xorshift64*: deterministic variety without a dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

fn make_event(rng: &mut Rng) -> NewEvent {
    let kind = KINDS[rng.below(KINDS.len())];
    let user = USERS[rng.below(USERS.len())];
    let actor = if rng.below(8) == 0 {
        Actor::system()
    } else {
        Actor::user(user)
    };
    let target = match kind.split('.').next().unwrap_or("") {
        "container" => format!("container:c{}", rng.below(1000)),
        "image" => format!("image:app-{}", rng.below(50)),
        "stack" => format!("stack:s{}", rng.below(30)),
        "volume" => format!("volume:v{}", rng.below(200)),
        _ => format!("user:{user}"),
    };
    let mut e = NewEvent::new(kind, actor)
        .host(format!("host-{}", rng.below(10)))
        .target(target);
    if kind.starts_with("auth.") {
        e = e.source(Some(format!("10.0.{}.{}", rng.below(4), rng.below(250))));
    }
    e = match rng.below(100) {
        0 | 1 => e.outcome(Outcome::Denied("not allowed on this host".into())),
        2..=4 => e.outcome(Outcome::Error("daemon returned 500: conflict".into())),
        _ => e,
    };
    if rng.below(4) == 0 {
        e = e
            .duration_us(rng.below(2_000_000) as u64)
            .details(serde_json::json!({ "exit_code": rng.below(140), "image": "nginx:1.27" }));
    }
    e
}

/// (p50, p99) in microseconds.
fn pct(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (us(v[v.len() / 2]), us(v[(v.len() * 99 / 100).min(v.len() - 1)]))
}

fn filter(pairs: &[(&str, &str)]) -> EventFilter {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    EventFilter::from_fields(|k| map.get(k).copied()).expect("valid filter")
}

/// Runs `query(filter, before, 50)` RUNS times (after a short warm-up).
async fn time_query(log: &EventLog, f: &EventFilter, before: Option<EventSeq>) -> (f64, f64, usize) {
    let mut returned = 0;
    for _ in 0..5 {
        returned = log.query(f.clone(), before, 50).await.expect("query").events.len();
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let page = log.query(f.clone(), before, 50).await.expect("query");
        times.push(t.elapsed());
        returned = page.events.len();
    }
    let (p50, p99) = pct(times);
    (p50, p99, returned)
}

/// Writes 200 bytes to `file` and syncs it: in place + `sync_data` (as redb
/// does), or appended + `sync_all`. Returns how long it took.
fn bare_fsync(file: &File, i: usize, append: bool) -> Duration {
    let buf = [0x5au8; 200];
    let t = Instant::now();
    if append {
        file.write_all_at(&buf, (i * buf.len()) as u64).expect("write");
        file.sync_all().expect("sync_all");
    } else {
        file.write_all_at(&buf, 0).expect("write");
        file.sync_data().expect("sync_data");
    }
    t.elapsed()
}

async fn run() {
    let n: u64 = std::env::var("BENCH_EVENTS").map_or(1_000_000, |v| v.parse().expect("BENCH_EVENTS"));
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    let path = dir.path().join("berth.redb");
    println!(
        "berth event log benchmark: {} events in {}",
        support::group(n),
        path.display()
    );

    // 1. Batched append throughput.
    let store = Store::open(&path).expect("open store");
    let log = EventLog::open(&store).expect("open log");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t = Instant::now();
    for _ in 0..n {
        log.record(make_event(&mut rng));
    }
    let queued = t.elapsed().as_secs_f64();
    log.flush().await.expect("flush");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "batched append: {} events in {secs:.2} s = {} events/s (record() loop alone took {queued:.2} s)",
        support::group(n),
        support::group((n as f64 / secs) as u64)
    );

    // 2. File size per event, and where it goes (redb's own accounting).
    let size = std::fs::metadata(&path).expect("stat").len();
    let per = |bytes: u64| bytes as f64 / n.max(1) as f64;
    println!(
        "file size: {:.1} MiB = {:.0} bytes/event",
        size as f64 / 1048576.0,
        per(size)
    );
    let tx = store.db().begin_read().expect("read transaction");
    let events = tx
        .open_table(tables::EVENTS)
        .expect("events table")
        .stats()
        .expect("stats");
    let index = tx
        .open_table(tables::EVENT_INDEX)
        .expect("index table")
        .stats()
        .expect("stats");
    let tree = tx
        .open_table(tables::EVENT_TREE)
        .expect("tree table")
        .stats()
        .expect("stats");
    for (name, s) in [("events table", events), ("index table", index), ("merkle tree", tree)] {
        let (stored, meta, frag) = (
            per(s.stored_bytes()),
            per(s.metadata_bytes()),
            per(s.fragmented_bytes()),
        );
        println!("  {name:<13} {stored:>5.0} B/event stored + {meta:.0} branch/metadata + {frag:.0} fragmented");
    }
    drop(tx);
    let wtx = store.db().begin_write().expect("write transaction");
    let db = wtx.stats().expect("stats");
    let allocated = db.allocated_pages() * db.page_size() as u64;
    println!(
        "  {:<13} {:>5.0} B/event of allocated pages (the rest of the file is free)",
        "whole db",
        per(allocated)
    );
    wtx.abort().expect("abort");

    // 3. Newest-50 queries.
    let since_seq = EventSeq((n * 9 / 10).max(1));
    let since_ns = log.get(since_seq).await.expect("get").expect("event exists").ts_ns;
    let recent = EventFilter {
        since_ns: Some(since_ns),
        ..Default::default()
    };
    let filters: Vec<(&str, EventFilter)> = vec![
        ("no filter", EventFilter::default()),
        ("kind = container.die", filter(&[("kind", "container.die")])),
        ("kind = auth.*", filter(&[("kind", "auth.*")])),
        ("actor = user:alice", filter(&[("actor", "user:alice")])),
        (
            "host-3 + outcome error",
            filter(&[("host", "host-3"), ("outcome", "error")]),
        ),
        ("target = container:c7 (rare)", filter(&[("target", "container:c7")])),
        (
            "container.die + alice + host-3",
            filter(&[("kind", "container.die"), ("actor", "alice"), ("host", "host-3")]),
        ),
        ("outcome = ok", filter(&[("outcome", "ok")])),
        ("outcome = denied", filter(&[("outcome", "denied")])),
        ("since = last 10%", recent.clone()),
        (
            "since last 10% + kind auth.*",
            EventFilter {
                kind: Some("auth.*".into()),
                ..recent
            },
        ),
        (
            "container.die + image:app-1 (none)",
            filter(&[("kind", "container.die"), ("target", "image:app-1")]),
        ),
    ];
    println!("newest-50 query latency ({RUNS} runs each):");
    for (label, f) in &filters {
        let (p50, p99, got) = time_query(&log, f, None).await;
        println!("  {label:<34} p50 {p50:>9.1} us   p99 {p99:>9.1} us   returned {got}");
    }
    let paged = filter(&[("kind", "container.die")]);
    let mut before = None;
    let t = Instant::now();
    for _ in 0..9 {
        before = log.query(paged.clone(), before, 50).await.expect("query").next_before;
    }
    let walk_ms = t.elapsed().as_secs_f64() * 1e3;
    let (p50, p99, got) = time_query(&log, &paged, before).await;
    println!(
        "  {:<34} p50 {p50:>9.1} us   p99 {p99:>9.1} us   returned {got} (pages 1-9 walked in {walk_ms:.1} ms)",
        "10th page of container.die"
    );

    // 4. Proofs at this size.
    let checkpoints = Checkpointer::open(&log, dir.path()).expect("checkpointer");
    let t = Instant::now();
    let signed = checkpoints.sign(Actor::system()).await.expect("sign");
    let size = signed.checkpoint.size;
    println!(
        "checkpoint: signed at size {} in {:.1} ms (flush, root, signature, kept file)",
        support::group(size),
        t.elapsed().as_secs_f64() * 1e3
    );
    let (mut inclusion, mut consistency) = (Vec::new(), Vec::new());
    let (mut inclusion_len, mut consistency_len) = (0, 0);
    for _ in 0..RUNS {
        let seq = 1 + rng.below(size as usize) as u64;
        let t = Instant::now();
        let (data, path) = log.inclusion_proof(EventSeq(seq), size).await.expect("inclusion");
        inclusion.push(t.elapsed());
        inclusion_len = inclusion_len.max(path.len());
        merkle::verify_inclusion(&merkle::leaf_hash(&data), seq - 1, size, &path, &signed.checkpoint.root)
            .expect("the proof verifies");
        let from = 1 + rng.below(size as usize) as u64;
        let t = Instant::now();
        let proof = log.consistency_proof(from, size).await.expect("consistency");
        consistency.push(t.elapsed());
        consistency_len = consistency_len.max(proof.len());
    }
    let (ip50, ip99) = pct(inclusion);
    let (cp50, cp99) = pct(consistency);
    println!(
        "  inclusion proof   p50 {ip50:>7.1} us   p99 {ip99:>7.1} us   at most {inclusion_len} hashes = {} B",
        inclusion_len * 32
    );
    println!(
        "  consistency proof p50 {cp50:>7.1} us   p99 {cp99:>7.1} us   at most {consistency_len} hashes = {} B",
        consistency_len * 32
    );
    let file = checkpoints
        .prove(EventSeq(size / 2), Actor::system())
        .await
        .expect("prove")
        .to_string();
    println!(
        "  offline proof file (tlog-proof: event, path, signed checkpoint): {} bytes",
        file.len()
    );

    // 5. Verify the whole chain and tree against the checkpoint.
    let t = Instant::now();
    let status = log.verify(Some(&signed)).await.expect("verify");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "verify (chain + Merkle tree + checkpoint): {} events in {secs:.2} s = {} events/s (ok: {})",
        support::group(status.checked),
        support::group((status.checked as f64 / secs) as u64),
        status.is_ok()
    );

    // 6. Durable single appends vs. a bare fsync on the same disk, interleaved
    // so that all three see the same (noisy, on a VM) disk.
    let probe = |name: &str| File::create(dir.path().join(name)).expect("create fsync probe");
    let (over, appended) = (probe("fsync-overwrite"), probe("fsync-append"));
    let mut times: [Vec<Duration>; 3] = Default::default();
    for i in 0..APPENDS {
        let e = make_event(&mut rng);
        let t = Instant::now();
        log.append(e).await.expect("append");
        times[0].push(t.elapsed());
        times[1].push(bare_fsync(&over, i, false));
        times[2].push(bare_fsync(&appended, i, true));
    }
    println!(
        "durable append ({APPENDS} sequential, on the {}-event log), interleaved with bare fsyncs:",
        support::group(n)
    );
    let [a, o, s] = times.map(pct);
    let rows = [
        ("append().await", a),
        ("200 B overwrite + sync_data", o),
        ("200 B file append + sync_all", s),
    ];
    for (label, (p50, p99)) in rows {
        println!(
            "  {label:<34} p50 {p50:>9.1} us   p99 {p99:>9.1} us   append p50 / this = {:.2}x",
            a.0 / p50
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}
