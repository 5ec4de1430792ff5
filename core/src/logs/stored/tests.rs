//! On a real redb file: the budgets (a key over its own budget loses its
//! oldest lines; all keys over the total lose the oldest across keys; each
//! round reports one drop per key; extents and the total stay true), and
//! searching (keys merged newest first, pages that continue without a gap
//! or a repeat, ranges, invert).

use super::search::{self, Target, Window};
use super::state::{Budgets, Extent, KeySettings, KeyState, State};
use super::write::{Batch, Line, write};
use crate::logs::Matcher;
use crate::model::{LogSearch, LogStream};
use crate::store::Store;
use crate::store::tables::{LOG_BLOCKS, LOG_LINES};
use redb::{ReadableDatabase, ReadableTable};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    (dir, store)
}

/// A state with keys 1..=n on host `h`, each collected (stored too).
fn state(store: &Store, n: u32, budgets: Budgets) -> State {
    let mut keys = HashMap::new();
    let mut ids = HashMap::new();
    for id in 1..=n {
        let key = format!("name:c{id}");
        ids.insert(("h".to_string(), key.clone()), id);
        keys.insert(
            id,
            KeyState::new(
                "h",
                &key,
                KeySettings {
                    id,
                    collect: true,
                    budget_bytes: None,
                    since_ns: 0,
                    set_by: "t".into(),
                    set_at_ns: 0,
                },
            ),
        );
    }
    let tx = store.db().begin_write().unwrap();
    {
        let mut t = tx.open_table(crate::store::tables::LOG_KEYS).unwrap();
        for k in keys.values() {
            let json = serde_json::to_vec(&k.settings).unwrap();
            t.insert(("h", k.key.as_str()), json.as_slice()).unwrap();
        }
    }
    tx.commit().unwrap();
    State {
        keys,
        ids,
        next_key: n + 1,
        total_bytes: 0,
        budgets,
        seq: 0,
        block_bytes: super::state::BLOCK_BYTES,
    }
}

/// `n` lines of 68 bytes of text (100 bytes each against the budget) at
/// times `from, from + step, ...`.
fn batch(key_id: u32, from: i64, step: i64, n: usize) -> Batch {
    Batch {
        key_id,
        container: format!("ctr-{key_id}"),
        name: format!("c{key_id}"),
        lines: (0..n)
            .map(|i| Line {
                ts_ns: from + step * i as i64,
                stream: LogStream::Stdout,
                text: format!("{:068}", from + step * i as i64),
            })
            .collect(),
    }
}

/// Every stored line's (key, time), oldest first per key.
fn stored(store: &Store) -> Vec<(u32, i64)> {
    let tx = store.db().begin_read().unwrap();
    let t = tx.open_table(LOG_LINES).unwrap();
    t.iter()
        .unwrap()
        .map(|r| {
            let (k, _) = r.unwrap();
            let (key, ts, _) = k.value();
            (key, ts)
        })
        .collect()
}

/// The same budget for all keys together and for each.
fn both(bytes: u64) -> Budgets {
    Budgets {
        total: bytes,
        per_key: bytes,
    }
}

#[test]
fn lines_are_written_with_their_extent_and_resume_point() {
    let (_dir, store) = store();
    let s = state(&store, 1, both(1 << 20));
    let (s, dropped) = write(store.db(), &s, &[batch(1, 1000, 10, 5)], false).unwrap();
    assert!(dropped.is_empty());
    let ext = s.keys[&1].extent;
    assert_eq!((ext.oldest, ext.newest, ext.bytes, ext.lines), (1000, 1040, 500, 5));
    assert_eq!(s.total_bytes, 500);
    let life = &s.keys[&1].lives[&1];
    assert_eq!((life.id.as_str(), life.last_ts), ("ctr-1", 1040));
    // What a restart reads back is the same.
    let again = State::load(store.db(), s.budgets).unwrap();
    assert_eq!(again.keys[&1].extent, ext);
    assert_eq!(again.keys[&1].lives[&1], *life);
    assert_eq!(again.total_bytes, 500);
}

#[test]
fn lines_at_one_nanosecond_keep_their_order() {
    let (_dir, store) = store();
    let s = state(&store, 1, both(1 << 20));
    let (_, _) = write(store.db(), &s, &[batch(1, 7, 0, 3)], false).unwrap();
    let tx = store.db().begin_read().unwrap();
    let t = tx.open_table(LOG_LINES).unwrap();
    let seqs: Vec<u32> = t.iter().unwrap().map(|r| r.unwrap().0.value().2).collect();
    assert_eq!(seqs.len(), 3, "none overwrote another");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_key_over_its_budget_loses_its_oldest_tenth_and_it_is_reported_once() {
    let (_dir, store) = store();
    // 100 bytes a line; a key may keep 2,000 bytes (20 lines).
    let s = state(
        &store,
        2,
        Budgets {
            total: 1 << 20,
            per_key: 2_000,
        },
    );
    let (s, dropped) = write(store.db(), &s, &[batch(1, 0, 1, 20), batch(2, 0, 1, 5)], false).unwrap();
    assert!(dropped.is_empty(), "at the budget is not over it");
    let (s, dropped) = write(store.db(), &s, &[batch(1, 20, 1, 3)], false).unwrap();
    // 2,300 bytes > 2,000: down to 1,800, the oldest first: lines 0..5.
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let d = &dropped[0];
    assert_eq!(
        (d.key.as_str(), d.lines, d.bytes, d.from_ns, d.to_ns),
        ("name:c1", 5, 500, 0, 4)
    );
    assert!(d.over_key && !d.over_total);
    let ext = s.keys[&1].extent;
    assert_eq!((ext.oldest, ext.newest, ext.bytes, ext.lines), (5, 22, 1_800, 18));
    assert_eq!(s.total_bytes, 1_800 + 500);
    let left: Vec<i64> = stored(&store)
        .into_iter()
        .filter(|(k, _)| *k == 1)
        .map(|(_, t)| t)
        .collect();
    assert_eq!(left, (5..23).collect::<Vec<_>>());
    let reloaded = State::load(store.db(), s.budgets).unwrap();
    assert_eq!(reloaded.keys[&1].extent, ext, "the extent is stored as kept");
}

#[test]
fn over_the_total_the_oldest_lines_of_all_keys_go_first() {
    let (_dir, store) = store();
    let s = state(&store, 3, both(3_000));
    // Key 1: times 0, 3, 6...; key 2: 1, 4, 7...; key 3: 2, 5, 8... (10 lines each).
    let batches = [batch(1, 0, 3, 10), batch(2, 1, 3, 10), batch(3, 2, 3, 10)];
    let (s, dropped) = write(store.db(), &s, &batches, false).unwrap();
    // 3,000 bytes is the budget, not over it: nothing goes.
    assert!(dropped.is_empty());
    let (s, dropped) = write(store.db(), &s, &[batch(1, 30, 1, 1)], false).unwrap();
    // 3,100 > 3,000: down to 2,700, the four oldest lines across keys: times 0, 1, 2, 3.
    let mut got: Vec<(String, u64, i64, i64)> = dropped
        .iter()
        .map(|d| (d.key.clone(), d.lines, d.from_ns, d.to_ns))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("name:c1".to_string(), 2, 0, 3),
            ("name:c2".to_string(), 1, 1, 1),
            ("name:c3".to_string(), 1, 2, 2)
        ]
    );
    assert!(dropped.iter().all(|d| d.over_total && !d.over_key));
    assert_eq!(s.total_bytes, 2_700);
    let oldest: Vec<i64> = (1..=3).map(|k| s.keys[&k].extent.oldest).collect();
    assert_eq!(oldest, [6, 4, 5]);
    assert_eq!(stored(&store).len(), 27);
}

#[test]
fn a_key_can_be_dropped_to_nothing_and_start_again() {
    let (_dir, store) = store();
    let s = state(&store, 2, both(1_000));
    let (s, _) = write(store.db(), &s, &[batch(1, 0, 1, 10)], false).unwrap();
    // Key 2's newer lines push all of key 1 out.
    let (s, dropped) = write(store.db(), &s, &[batch(2, 100, 1, 9)], false).unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].lines, 10);
    assert_eq!(s.keys[&1].extent, Extent::default());
    let (s, _) = write(store.db(), &s, &[batch(1, 200, 1, 1)], true).unwrap();
    let ext = s.keys[&1].extent;
    assert_eq!((ext.oldest, ext.newest, ext.lines), (200, 200, 1));
}

fn targets(s: &State) -> Vec<Target> {
    let mut t: Vec<Target> = s
        .keys
        .values()
        .map(|k| Target {
            key_id: k.settings.id,
            host: k.host.clone(),
            key: k.key.clone(),
            lives: k
                .lives
                .iter()
                .map(|(c, l)| (*c, (l.id.clone(), l.name.clone())))
                .collect(),
        })
        .collect();
    t.sort_by_key(|t| t.key_id);
    t
}

fn find(store: &Store, s: &State, pattern: &str, regex: bool, invert: bool, w: Window) -> search::Found {
    let m = Matcher::new(&LogSearch {
        pattern: pattern.into(),
        regex,
        invert,
        ..Default::default()
    })
    .unwrap();
    search::search(store.db(), &targets(s), &m, &w).unwrap()
}

fn window(limit: usize) -> Window {
    Window {
        since_ns: None,
        until_ns: None,
        before: None,
        limit,
        deadline: Instant::now() + Duration::from_secs(60),
    }
}

#[test]
fn a_search_merges_keys_newest_first_and_pages_on_without_a_gap() {
    let (_dir, store) = store();
    let s = state(&store, 3, both(1 << 20));
    // Times interleave across keys; two lines of key 2 share a nanosecond with key 1's.
    let batches = [batch(1, 0, 3, 10), batch(2, 0, 3, 10), batch(3, 2, 3, 10)];
    let (s, _) = write(store.db(), &s, &batches, false).unwrap();
    let mut seen = Vec::new();
    let mut w = window(7);
    loop {
        let page = find(&store, &s, "", false, false, w);
        assert!(page.matches.len() <= 7);
        seen.extend(page.matches.iter().map(|m| (m.ts_ns, m.key.clone())));
        match page.next_before {
            Some(c) => {
                w = Window {
                    before: Some(c),
                    ..window(7)
                }
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 30, "every line once: {seen:?}");
    assert!(seen.windows(2).all(|p| p[0].0 >= p[1].0), "newest first: {seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 30);

    // A regex, a time range, and the lines that do not match.
    let page = find(&store, &s, "^0+2[0-9]$", true, false, window(100));
    let times: Vec<i64> = page.matches.iter().map(|m| m.ts_ns).collect();
    assert_eq!(times, [29, 27, 27, 26, 24, 24, 23, 21, 21, 20]);
    let ranged = Window {
        since_ns: Some(5),
        until_ns: Some(9),
        ..window(100)
    };
    let page = find(&store, &s, "", false, false, ranged);
    let times: Vec<i64> = page.matches.iter().map(|m| m.ts_ns).collect();
    assert_eq!(times, [9, 9, 8, 6, 6, 5]);
    let page = find(&store, &s, "0", false, true, window(100));
    assert!(page.matches.is_empty(), "every line has a 0");
    assert_eq!(page.scanned, 30);
    assert_eq!(page.matches.first().map(|m| m.container.clone()), None);
    let page = find(&store, &s, "", false, false, window(1));
    assert_eq!(
        (page.matches[0].container.as_str(), page.matches[0].name.as_str()),
        ("ctr-3", "c3")
    );
    assert_eq!(page.matches[0].stream, LogStream::Stdout);
}

#[test]
fn a_search_out_of_time_says_where_it_stopped() {
    let (_dir, store) = store();
    let s = state(&store, 1, both(1 << 30));
    let (s, _) = write(store.db(), &s, &[batch(1, 0, 1, 5_000)], false).unwrap();
    let spent = Window {
        deadline: Instant::now(),
        ..window(10)
    };
    let page = find(&store, &s, "no such line", false, false, spent);
    assert!(page.cut_short);
    let c = page.next_before.expect("where to go on");
    assert_eq!(page.scanned, 1024);
    assert_eq!(c.ts_ns, 5_000 - 1024 + 1, "the last line looked at");
}

/// A store and a state of one key that seals blocks of 10 lines (1,000
/// bytes): sealing starts at 20 lines' worth of rows.
fn sealing() -> (tempfile::TempDir, Store, State) {
    let (dir, store) = store();
    let mut s = state(&store, 1, both(1 << 20));
    s.block_bytes = 1_000;
    (dir, store, s)
}

/// Rows and blocks of key `key_id`: (rows, blocks).
fn tiers(store: &Store, key_id: u32) -> (usize, usize) {
    let tx = store.db().begin_read().unwrap();
    let all = (key_id, i64::MIN, 0u32)..=(key_id, i64::MAX, u32::MAX);
    let rows = tx.open_table(LOG_LINES).unwrap().range(all.clone()).unwrap().count();
    let blocks = tx.open_table(LOG_BLOCKS).unwrap().range(all).unwrap().count();
    (rows, blocks)
}

/// Every line a search of everything finds, newest first, in pages of 7.
fn every_line(store: &Store, s: &State) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    let mut w = window(7);
    loop {
        let page = find(store, s, "", false, false, w);
        seen.extend(page.matches.iter().map(|m| (m.ts_ns, m.text.clone())));
        match page.next_before {
            Some(c) => {
                w = Window {
                    before: Some(c),
                    ..window(7)
                }
            }
            None => return seen,
        }
    }
}

#[test]
fn older_rows_are_sealed_into_blocks_and_read_back_in_order() {
    let (_dir, store, s) = sealing();
    let (s, _) = write(store.db(), &s, &[batch(1, 0, 1, 19)], false).unwrap();
    assert_eq!(tiers(&store, 1), (19, 0), "under two blocks' worth, all rows");
    let (s, _) = write(store.db(), &s, &[batch(1, 19, 1, 16)], false).unwrap();
    // 35 rows: 10 sealed (25 left), 10 more (15 left).
    assert_eq!(tiers(&store, 1), (15, 2));
    let ks = &s.keys[&1];
    assert!(ks.sealed > 0 && ks.sealed < 2_000, "deflated: {}", ks.sealed);
    assert_eq!(ks.extent.lines, 35);
    assert_eq!((ks.extent.oldest, ks.extent.newest), (0, 34));
    assert_eq!(ks.extent.bytes, 1_500 + ks.sealed);
    assert_eq!(s.total_bytes, ks.extent.bytes);
    let again = State::load(store.db(), s.budgets).unwrap();
    assert_eq!(again.keys[&1].sealed, ks.sealed, "a restart sums the blocks");
    assert_eq!(again.keys[&1].extent, ks.extent);

    let seen = every_line(&store, &s);
    let want: Vec<(i64, String)> = (0..35).rev().map(|t| (t, format!("{t:068}"))).collect();
    assert_eq!(seen, want, "every line once, newest first, across blocks and rows");
    // A range across a block's edge, and a regex inside a block.
    let ranged = Window {
        since_ns: Some(8),
        until_ns: Some(12),
        ..window(100)
    };
    let times: Vec<i64> = find(&store, &s, "", false, false, ranged)
        .matches
        .iter()
        .map(|m| m.ts_ns)
        .collect();
    assert_eq!(times, [12, 11, 10, 9, 8]);
    let page = find(&store, &s, "^0+1[3-5]$", true, false, window(100));
    let times: Vec<i64> = page.matches.iter().map(|m| m.ts_ns).collect();
    assert_eq!(times, [15, 14, 13]);
    assert_eq!(page.matches[0].container, "ctr-1");
}

#[test]
fn blocks_that_overlap_in_time_are_merged() {
    let (_dir, store, s) = sealing();
    // Two containers under one key, collected apart: the first's lines
    // (even times) are sealed before the second's (odd times) arrive.
    let evens = Batch {
        container: "a".into(),
        ..batch(1, 0, 2, 30)
    };
    let (s, _) = write(store.db(), &s, &[evens], false).unwrap();
    let odds = Batch {
        container: "b".into(),
        ..batch(1, 1, 2, 30)
    };
    let (s, _) = write(store.db(), &s, &[odds], false).unwrap();
    // 60 lines: sealed while two blocks' worth of rows are left.
    assert_eq!(tiers(&store, 1), (10, 5));
    let times: Vec<i64> = every_line(&store, &s).into_iter().map(|(t, _)| t).collect();
    assert_eq!(times, (0..60).rev().collect::<Vec<_>>());
}

#[test]
fn over_budget_whole_blocks_go_oldest_first() {
    let (_dir, store, s) = sealing();
    let (mut s, _) = write(store.db(), &s, &[batch(1, 0, 1, 60)], false).unwrap();
    assert_eq!(tiers(&store, 1), (10, 5));
    let sealed = s.keys[&1].sealed;
    // A budget that holds the rows and about two blocks.
    s.budgets.per_key = 1_100 + sealed / 2;
    let (s, dropped) = write(store.db(), &s, &[batch(1, 60, 1, 1)], false).unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let d = &dropped[0];
    assert_eq!(d.lines % 10, 0, "whole blocks: {d:?}");
    assert_eq!(d.from_ns, 0);
    assert_eq!(d.to_ns, d.lines as i64 - 1);
    let ks = &s.keys[&1];
    assert_eq!(ks.extent.oldest, d.lines as i64);
    assert_eq!(ks.extent.lines, 61 - d.lines);
    assert!(ks.extent.bytes <= s.budgets.per_key);
    let again = State::load(store.db(), s.budgets).unwrap();
    assert_eq!((again.keys[&1].sealed, again.keys[&1].extent), (ks.sealed, ks.extent));
    let times: Vec<i64> = every_line(&store, &s).into_iter().map(|(t, _)| t).collect();
    assert_eq!(times, (d.lines as i64..61).rev().collect::<Vec<_>>());
}

#[test]
fn a_resume_point_in_a_sealed_block_is_found() {
    let (_dir, store, s) = sealing();
    let first = Batch {
        container: "a".into(),
        ..batch(1, 0, 1, 10)
    };
    let (s, _) = write(store.db(), &s, &[first], false).unwrap();
    // A second life of the key pushes the first's lines into a block.
    let second = Batch {
        container: "b".into(),
        ..batch(1, 100, 1, 20)
    };
    let (s, _) = write(store.db(), &s, &[second], false).unwrap();
    assert_eq!(tiers(&store, 1), (10, 2), "the first life's lines are all in blocks");
    let ctr = s.keys[&1].by_container["a"];
    let seam = super::seam::load(store.db(), 1, ctr, 9).unwrap();
    assert_eq!(
        seam,
        super::seam::Seam::at(9, vec![(LogStream::Stdout, format!("{:068}", 9))])
    );
}

#[test]
fn a_damaged_block_is_skipped_and_the_rest_still_found() {
    let (_dir, store, s) = sealing();
    let (s, _) = write(store.db(), &s, &[batch(1, 0, 1, 30)], false).unwrap();
    assert_eq!(tiers(&store, 1), (10, 2));
    // Damage the older block (lines 0..10) in the file.
    let tx = store.db().begin_write().unwrap();
    {
        let mut data = tx.open_table(crate::store::tables::LOG_BLOCK_DATA).unwrap();
        let at = data.first().unwrap().unwrap().0.value();
        data.insert(at, b"not a block".as_slice()).unwrap();
    }
    tx.commit().unwrap();
    let times: Vec<i64> = every_line(&store, &s).into_iter().map(|(t, _)| t).collect();
    assert_eq!(times, (10..30).rev().collect::<Vec<_>>());
}
