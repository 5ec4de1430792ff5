use super::*;
use crate::model::{Actor, ActorKind, Hash32, Outcome};
use crate::store::tables::EVENTS;
use redb::ReadableTable;
use std::collections::HashMap;

fn ev(kind: &str, actor: &str) -> NewEvent {
    NewEvent::new(kind, Actor::parse(actor))
}

fn filter(pairs: &[(&str, &str)]) -> EventFilter {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    EventFilter::from_fields(|k| map.get(k).copied()).unwrap()
}

async fn open_log(dir: &tempfile::TempDir) -> (Store, EventLog) {
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    let log = EventLog::open(&store).unwrap();
    (store, log)
}

#[tokio::test]
async fn appends_are_dense_chained_and_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_store, log) = open_log(&dir).await;
        let a = log.append(ev("server.start", "system")).await.unwrap();
        let b = log.append(ev("auth.login.ok", "alice")).await.unwrap();
        assert_eq!((a.seq.0, b.seq.0), (1, 2));
        assert_eq!(a.prev_hash, Hash32::default());
        assert_eq!(b.prev_hash, a.hash);
        assert!(b.ts_ns >= a.ts_ns);
    }
    // The writer thread has let go once every handle is dropped; give it a
    // moment, but not forever: a file still held after 30 s is a leak.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (_store, log) = loop {
        match Store::open(&dir.path().join("berth.redb")) {
            Ok(store) => break (store.clone(), EventLog::open(&store).unwrap()),
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await
            }
            Err(e) => panic!("the log's file was still held 30 s after every handle was dropped: {e}"),
        }
    };
    let c = log.append(ev("server.start", "system")).await.unwrap();
    assert_eq!(c.seq.0, 3);
    let status = log.verify(None).await.unwrap();
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(status.checked, 3);
}

#[tokio::test]
async fn many_concurrent_appends_are_group_committed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open_log(&dir).await;
    let mut live = log.subscribe();
    for i in 0..2000 {
        log.record(ev("test.tick", &format!("user:u{}", i % 7)));
    }
    log.flush().await.unwrap();
    let page = log.query(EventFilter::default(), None, 10).await.unwrap();
    assert_eq!(page.head, 2000);
    assert_eq!(page.events[0].seq.0, 2000);
    // Live subscribers see every committed event, in order.
    for expected in 1..=2000 {
        assert_eq!(live.recv().await.unwrap().seq.0, expected);
    }
    assert!(log.verify(None).await.unwrap().is_ok());
}

/// Every combination of filters returns exactly what a brute-force scan
/// would, newest first, and paging by cursor visits every match once.
#[tokio::test]
async fn filtered_pages_match_a_brute_force_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open_log(&dir).await;
    let kinds = ["auth.login.ok", "auth.login.failed", "container.stop", "server.start"];
    for i in 0..600u32 {
        let mut e = ev(kinds[(i % 4) as usize], if i % 3 == 0 { "alice" } else { "bob" });
        if i % 5 == 0 {
            e = e.host("web1");
        }
        if i % 2 == 0 {
            e = e.target(format!("container:c{}", i % 6));
        }
        if i % 7 == 0 {
            e = e.outcome(Outcome::Denied("no".into()));
        }
        // The first 400 are indexed; the rest is the unindexed tail readers scan.
        if i < 400 {
            log.record(e);
        } else {
            log.append(e).await.unwrap();
        }
        if i == 399 {
            log.flush().await.unwrap();
        }
    }
    let all = log.query(EventFilter::default(), None, MAX_PAGE).await.unwrap().events;
    assert_eq!(all.len(), 600);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("kind", "auth.login.failed")],
        vec![("kind", "auth.*")],
        vec![("kind", "auth.*"), ("actor", "alice"), ("outcome", "denied")],
        vec![("host", "web1"), ("target", "container:c0")],
        vec![("outcome", "ok"), ("actor", "bob")],
        vec![("kind", "nothing.*")],
        vec![
            ("target", "container:c4"),
            ("outcome", "denied"),
            ("kind", "container.stop"),
        ],
    ];
    for case in cases {
        let f = filter(&case);
        let expected: Vec<u64> = all.iter().filter(|e| f.matches(e)).map(|e| e.seq.0).collect();
        let mut got = Vec::new();
        let mut before = None;
        loop {
            let page = log.query(f.clone(), before, 7).await.unwrap();
            got.extend(page.events.iter().map(|e| e.seq.0));
            match page.next_before {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        assert_eq!(got, expected, "filter {case:?}");
    }
}

#[tokio::test]
async fn a_time_range_selects_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open_log(&dir).await;
    let first = log.append(ev("a.first", "system")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = log.append(ev("a.second", "system")).await.unwrap();
    let f = EventFilter {
        since_ns: Some(second.ts_ns),
        ..Default::default()
    };
    let page = log.query(f, None, 50).await.unwrap();
    assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![second.seq]);
    let f = EventFilter {
        until_ns: Some(second.ts_ns),
        ..Default::default()
    };
    let page = log.query(f, None, 50).await.unwrap();
    assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![first.seq]);
}

#[tokio::test]
async fn verify_names_the_first_altered_missing_or_truncated_event() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open_log(&dir).await;
    for i in 0..10 {
        log.record(ev("test.tick", "system").target(format!("t{i}")));
    }
    log.flush().await.unwrap();
    assert!(log.verify(None).await.unwrap().is_ok());

    // Rewrite event 4's target behind the log's back, keeping its old hash.
    let mut original = Vec::new();
    {
        let tx = store.db().begin_write().unwrap();
        {
            let mut t = tx.open_table(EVENTS).unwrap();
            original.extend_from_slice(t.get(4).unwrap().unwrap().value());
            let mut tampered = original.clone();
            let at = tampered
                .windows(2)
                .position(|w| w == b"t3")
                .expect("target t3 is stored");
            tampered[at + 1] = b'9';
            t.insert(4, tampered.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let status = log.verify(None).await.unwrap();
    assert_eq!(status.broken_at, Some(EventSeq(4)), "{status:?}");
    assert!(status.problem.unwrap().contains("altered"));
    assert_eq!(log.chain_status().broken_at, Some(EventSeq(4)));

    // Put it back, then remove event 6 and the last one.
    let tx = store.db().begin_write().unwrap();
    {
        let mut t = tx.open_table(EVENTS).unwrap();
        t.insert(4, original.as_slice()).unwrap();
        t.remove(10).unwrap();
    }
    tx.commit().unwrap();
    let status = log.verify(None).await.unwrap();
    assert_eq!(status.broken_at, Some(EventSeq(10)), "{status:?}");
    let tx = store.db().begin_write().unwrap();
    tx.open_table(EVENTS).unwrap().remove(6).unwrap();
    tx.commit().unwrap();
    let status = log.verify(None).await.unwrap();
    assert_eq!(status.broken_at, Some(EventSeq(6)), "{status:?}");
}

#[test]
fn csv_quotes_and_defuses_formulas() {
    let e = Event {
        seq: EventSeq(1),
        ts_ns: 0,
        kind: "user.create".into(),
        actor: Actor {
            kind: ActorKind::User,
            name: "a,b".into(),
        },
        source: None,
        host: None,
        target: Some("=cmd()".into()),
        outcome: Outcome::Error("said \"no\"".into()),
        duration_us: None,
        details: serde_json::Value::Null,
        prev_hash: Hash32::default(),
        hash: Hash32::default(),
    };
    let row = csv_row(&e);
    assert!(row.contains("\"user:a,b\""), "{row}");
    assert!(row.contains("\"'=cmd()\""), "{row}");
    assert!(row.contains("\"said \"\"no\"\"\""), "{row}");
}

/// After a crash between an event commit and its index write, the index is
/// rebuilt from the events at the next start.
#[tokio::test]
async fn a_lost_index_is_rebuilt_from_the_events_at_start() {
    use crate::store::tables::{EVENT_INDEX, META};
    use redb::ReadableDatabase;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.redb");
    {
        let (_store, log) = open_log(&dir).await;
        for i in 0..300 {
            log.record(ev(if i % 3 == 0 { "a.one" } else { "b.two" }, "system").target(format!("t{}", i % 10)));
        }
        log.close().await.unwrap();
    }
    {
        let store = Store::open(&path).unwrap();
        let tx = store.db().begin_write().unwrap();
        tx.delete_table(EVENT_INDEX).unwrap();
        tx.open_table(META).unwrap().insert("indexed_head", "0").unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let log = EventLog::open(&store).unwrap();
    let page = log
        .query(filter(&[("kind", "a.one"), ("target", "t3")]), None, 100)
        .await
        .unwrap();
    let seqs: Vec<u64> = page.events.iter().map(|e| e.seq.0).collect();
    let expected: Vec<u64> = (1..=300u64)
        .rev()
        .filter(|s| (s - 1) % 3 == 0 && (s - 1) % 10 == 3)
        .collect();
    assert_eq!(seqs, expected);
    let tx = store.db().begin_read().unwrap();
    assert_eq!(
        crate::store::meta_get(&tx, "indexed_head").unwrap().as_deref(),
        Some("300")
    );
}

#[tokio::test]
async fn a_reader_who_sees_little_gets_short_pages_with_a_cursor_not_a_walk_of_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = open_log(&dir).await;
    log.record(ev("rare.one", "system").host("web"));
    for _ in 0..(query::MAX_SCAN + 500) {
        log.record(ev("test.tick", "system").host("db"));
    }
    log.flush().await.unwrap();
    let web_only: Visible = Arc::new(|e: &Event| e.host.as_deref() == Some("web"));
    let first = log
        .query_visible(EventFilter::default(), None, 50, web_only.clone())
        .await
        .unwrap();
    assert!(
        first.events.is_empty(),
        "nothing visible in the newest {}",
        query::MAX_SCAN
    );
    let next = first.next_before.expect("a cursor to go on from");
    let second = log
        .query_visible(EventFilter::default(), Some(next), 50, web_only)
        .await
        .unwrap();
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.events[0].kind, "rare.one");
    assert_eq!(second.next_before, None, "the start of the log");
}
