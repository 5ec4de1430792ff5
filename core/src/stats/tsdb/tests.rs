use super::*;
use crate::store::Store;
use redb::ReadableTableMetadata;

fn open(dir: &tempfile::TempDir) -> (Store, Tsdb) {
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    let tsdb = Tsdb::open(store.clone(), Retention::default()).unwrap();
    (store, tsdb)
}

fn now() -> u32 {
    (crate::events::now_ns() / 1_000_000_000) as u32
}

/// `n` samples of series `name` every `every` seconds from `start`, value = index.
fn samples(name: &str, start: u32, every: u32, n: u32) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            series: name.into(),
            t: start + i * every,
            value: f64::from(i),
        })
        .collect()
}

fn rows(store: &Store, def: redb::TableDefinition<(u32, u32), impl redb::Value + 'static>) -> u64 {
    let tx = store.db().begin_read().unwrap();
    tx.open_table(def).unwrap().len().unwrap()
}

#[test]
fn steps_keep_every_range_under_the_point_limit() {
    assert_eq!(Tsdb::step_for(0, 3600), 10);
    assert_eq!(Tsdb::step_for(0, 86_400), 180);
    assert_eq!(Tsdb::step_for(0, 7 * 86_400), 1800);
    assert_eq!(Tsdb::step_for(0, 30 * 86_400), 7200);
}

#[test]
fn an_hour_reads_raw_samples_two_per_point() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, tsdb) = open(&dir);
    let start = now() - 3600;
    let start = start - start % 10;
    // One tick per batch, as the collector writes them.
    for s in samples("host/a/cpu", start, 5, 720) {
        tsdb.ingest(&[s], now()).unwrap();
    }
    let (step, series) = tsdb
        .query(
            &["host/a/cpu".into(), "nope".into()],
            i64::from(start),
            i64::from(start) + 3600,
        )
        .unwrap();
    assert_eq!(step, 10);
    assert!(series[1].is_empty());
    let points = &series[0];
    assert_eq!(points.len(), 360);
    // Values i and i+1 share a point.
    assert_eq!((points[3].min, points[3].avg, points[3].max), (6.0, 6.5, 7.0));
    assert_eq!(points[3].t, i64::from(start) + 30);
}

#[test]
fn a_day_reads_the_minute_rollup_with_exact_min_avg_max() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tsdb) = open(&dir);
    let start = now() - 86_400;
    let start = start - start % 3600;
    // A day of 5 s samples in hour-sized batches.
    for hour in 0..24 {
        tsdb.ingest(&samples("ctr/a/web/mem", start + hour * 3600, 5, 720), now())
            .unwrap();
    }
    // Raw rows older than raw retention were never written.
    assert!(rows(&store, STAT_RAW) <= 3 * 720);
    assert_eq!(rows(&store, STAT_ROLLUPS[0]), 24 * 60);
    let (step, series) = tsdb
        .query(&["ctr/a/web/mem".into()], i64::from(start), i64::from(start) + 86_400)
        .unwrap();
    assert_eq!(step, 180);
    let points = &series[0];
    assert_eq!(points.len(), 480);
    // Each hour restarts the value at 0; the first 3 min hold values 0..=35.
    assert_eq!((points[0].min, points[0].max), (0.0, 35.0));
    assert!((points[0].avg - 17.5).abs() < 1e-9);
}

#[test]
fn retention_drops_old_raw_samples_and_keeps_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tsdb) = open(&dir);
    let start = now() - 600;
    tsdb.ingest(&samples("host/a/cpu", start, 5, 120), now()).unwrap();
    assert_eq!(rows(&store, STAT_RAW), 120);
    // Four hours later, raw (kept 3 h) is past retention; rollups are not.
    let later = now() + 4 * 3600;
    let removed = tsdb.prune(later).unwrap();
    assert_eq!(removed, 120);
    assert_eq!(rows(&store, STAT_RAW), 0);
    assert!(rows(&store, STAT_ROLLUPS[0]) >= 10);
    assert!(rows(&store, STAT_ROLLUPS[2]) >= 1);
    // And a year later only the hourly tier remains... until it too expires.
    tsdb.prune(later + 100 * 86_400).unwrap();
    assert_eq!(rows(&store, STAT_ROLLUPS[0]) + rows(&store, STAT_ROLLUPS[1]), 0);
    assert!(rows(&store, STAT_ROLLUPS[2]) >= 1);
    tsdb.prune(later + 401 * 86_400).unwrap();
    assert_eq!(rows(&store, STAT_ROLLUPS[2]), 0);
}

#[test]
fn a_bucket_open_across_a_restart_keeps_its_earlier_samples() {
    let dir = tempfile::tempdir().unwrap();
    // Aligned to an hour, so all 13 samples share every rollup bucket above 1 min.
    let start = now() - now() % 3600 - 3600;
    {
        let (_store, tsdb) = open(&dir);
        tsdb.ingest(&samples("host/a/cpu", start, 5, 6), now()).unwrap();
        tsdb.prune(now()).unwrap(); // a durable commit, as the collector makes every minute
    }
    let (_store, tsdb) = open(&dir);
    let rest: Vec<Sample> = samples("host/a/cpu", start, 5, 12).into_iter().skip(6).collect();
    tsdb.ingest(&rest, now()).unwrap();
    tsdb.ingest(&samples("host/a/cpu", start + 60, 5, 1), now()).unwrap();
    // Ask for a week, so the 15 min tier answers; its bucket holds all 13.
    let (_, series) = tsdb
        .query(&["host/a/cpu".into()], i64::from(start) - 6 * 86_400, i64::from(now()))
        .unwrap();
    let total: f64 = series[0].iter().map(|p| p.avg).sum();
    assert_eq!(series[0].len(), 1, "{series:?}");
    assert!((total - (66.0 / 13.0)).abs() < 1e-9, "{series:?}");
    assert_eq!(tsdb.series_with_prefix("host/a/"), vec!["host/a/cpu".to_string()]);
}

#[test]
fn retention_settings_must_be_positive_and_grow_with_the_tier() {
    assert!(Retention::default().validate().is_ok());
    let zero = Retention {
        raw_hours: 0,
        ..Retention::default()
    };
    assert!(zero.validate().unwrap_err().contains("at least 1"));
    let shrinking = Retention {
        hour_days: 1,
        ..Retention::default()
    };
    assert!(shrinking.validate().unwrap_err().contains("shrink"));
}
