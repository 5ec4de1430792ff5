//! The time-series store: named series of (unix second, value) in redb, raw
//! and rolled up into 1 min, 15 min and 1 h buckets (min, max, sum, count),
//! each tier with its own retention. A batch (one collector tick) is one
//! commit. Range queries pick the coarsest tier that still gives the
//! requested resolution and merge rows into at most `MAX_POINTS` buckets.
//!
//! Synchronous: callers run it in `spawn_blocking`. It does not know what a
//! host or a container is; series names are opaque strings.

use crate::model::Point;
use crate::store::tables::{STAT_RAW, STAT_ROLLUPS, STAT_SERIES};
use crate::store::{Store, StoreError};
use redb::{Durability, ReadableDatabase, ReadableTable, TableError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Charts get about this many points at most, whatever the range.
pub const MAX_POINTS: i64 = 500;

/// Bucket widths of the rollup tiers, in seconds (matches `STAT_ROLLUPS`).
pub const TIERS: [u32; 3] = [60, 900, 3600];

/// Point spacings a chart may use; the smallest that keeps it under
/// `MAX_POINTS` wins.
const STEPS: [i64; 17] = [
    5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

/// How long each tier is kept, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub raw_hours: u32,
    pub minute_days: u32,
    pub quarter_days: u32,
    pub hour_days: u32,
}

impl Default for Retention {
    /// Enough for each chart range to read its natural tier: 1 h from raw,
    /// 24 h from 1 min, 7 d from 15 min, 30 d (and a year) from 1 h.
    fn default() -> Self {
        Retention {
            raw_hours: 3,
            minute_days: 2,
            quarter_days: 35,
            hour_days: 400,
        }
    }
}

impl Retention {
    /// Seconds each tier is kept: raw, then the rollups in `TIERS` order.
    fn seconds(&self) -> [u32; 4] {
        let day = 86_400u32;
        [
            self.raw_hours.saturating_mul(3600),
            self.minute_days.saturating_mul(day),
            self.quarter_days.saturating_mul(day),
            self.hour_days.saturating_mul(day),
        ]
    }

    pub fn validate(&self) -> Result<(), String> {
        let s = self.seconds();
        if s.contains(&0) {
            return Err("every stats retention must be at least 1 (hour for raw, day for rollups)".into());
        }
        if s.windows(2).any(|w| w[0] > w[1]) {
            return Err("stats retention must not shrink from raw to 1 min to 15 min to 1 h".into());
        }
        Ok(())
    }
}

/// A value of one series at one second.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub series: String,
    pub t: u32,
    pub value: f64,
}

/// A rollup bucket being filled.
#[derive(Clone, Copy, Debug)]
struct Agg {
    bucket: u32,
    min: f64,
    max: f64,
    sum: f64,
    count: u32,
    dirty: bool,
}

impl Agg {
    fn empty(bucket: u32) -> Agg {
        Agg {
            bucket,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            count: 0,
            dirty: false,
        }
    }

    fn from_row(bucket: u32, (min, max, sum, count): (f64, f64, f64, u32)) -> Agg {
        Agg {
            bucket,
            min,
            max,
            sum,
            count,
            dirty: false,
        }
    }

    fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.count += 1;
        self.dirty = true;
    }

    fn row(&self) -> (f64, f64, f64, u32) {
        (self.min, self.max, self.sum, self.count)
    }
}

struct Inner {
    /// Every series name and its id (a BTreeMap, so prefixes list cheaply).
    series: BTreeMap<String, u32>,
    next_id: u32,
    /// The open bucket of each (series, tier).
    open: HashMap<(u32, u8), Agg>,
}

pub struct Tsdb {
    store: Store,
    retention: Retention,
    inner: Mutex<Inner>,
}

impl Tsdb {
    /// Loads the series names. Blocking.
    pub fn open(store: Store, retention: Retention) -> Result<Tsdb, StoreError> {
        let mut series = BTreeMap::new();
        let tx = store.db().begin_read()?;
        match tx.open_table(STAT_SERIES) {
            Ok(table) => {
                for row in table.iter()? {
                    let (k, v) = row?;
                    series.insert(k.value().to_string(), v.value());
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let next_id = series.values().max().map_or(1, |m| m + 1);
        Ok(Tsdb {
            store,
            retention,
            inner: Mutex::new(Inner {
                series,
                next_id,
                open: HashMap::new(),
            }),
        })
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `samples` (raw and into every rollup) in one commit. Rows that
    /// are already past their tier's retention at `now` are not written.
    /// Blocking.
    pub fn ingest(&self, samples: &[Sample], now: u32) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        let keep = self.retention.seconds();
        let cutoff = |tier: usize| now.saturating_sub(keep[tier]);
        let mut inner = self.lock();
        let Inner { series, next_id, open } = &mut *inner;
        let mut tx = self.store.db().begin_write()?;
        tx.set_durability(Durability::None)
            .map_err(|e| StoreError::Task(e.to_string()))?;
        {
            let mut names = tx.open_table(STAT_SERIES)?;
            let mut raw = tx.open_table(STAT_RAW)?;
            let mut rollups = [
                tx.open_table(STAT_ROLLUPS[0])?,
                tx.open_table(STAT_ROLLUPS[1])?,
                tx.open_table(STAT_ROLLUPS[2])?,
            ];
            for s in samples {
                if !s.value.is_finite() {
                    continue;
                }
                let id = match series.get(&s.series) {
                    Some(id) => *id,
                    None => {
                        let id = *next_id;
                        *next_id += 1;
                        names.insert(s.series.as_str(), id)?;
                        series.insert(s.series.clone(), id);
                        id
                    }
                };
                if s.t >= cutoff(0) {
                    raw.insert((id, s.t), s.value)?;
                }
                for (tier, width) in TIERS.iter().enumerate() {
                    let bucket = s.t - s.t % width;
                    let table = &mut rollups[tier];
                    let key = (id, tier as u8);
                    match open.get(&key).map(|a| a.bucket) {
                        Some(b) if b == bucket => {}
                        Some(b) if b > bucket => {
                            // Late sample (the clock went back): amend its bucket in place.
                            let mut late = match table.get((id, bucket))? {
                                Some(row) => Agg::from_row(bucket, row.value()),
                                None => Agg::empty(bucket),
                            };
                            late.add(s.value);
                            table.insert((id, bucket), late.row())?;
                            continue;
                        }
                        _ => {
                            if let Some(done) = open.get(&key)
                                && done.dirty
                                && done.bucket + width > cutoff(tier + 1)
                            {
                                table.insert((id, done.bucket), done.row())?;
                            }
                            // After a restart the bucket may already hold samples.
                            let seeded = match table.get((id, bucket))? {
                                Some(row) => Agg::from_row(bucket, row.value()),
                                None => Agg::empty(bucket),
                            };
                            open.insert(key, seeded);
                        }
                    }
                    open.get_mut(&key).expect("the open bucket was just set").add(s.value);
                }
            }
            // Open buckets are written as they stand, so a reader (or a
            // crash) sees every sample ingested so far.
            for ((id, tier), agg) in open.iter_mut() {
                let tier = *tier as usize;
                if agg.dirty {
                    if agg.bucket + TIERS[tier] > cutoff(tier + 1) {
                        rollups[tier].insert((*id, agg.bucket), agg.row())?;
                    }
                    agg.dirty = false;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes rows past each tier's retention at `now`, durably. Blocking.
    pub fn prune(&self, now: u32) -> Result<u64, StoreError> {
        let keep = self.retention.seconds();
        let ids: Vec<u32> = {
            let mut inner = self.lock();
            // Open buckets that closed long ago are done.
            let oldest = now.saturating_sub(2 * 3600);
            inner.open.retain(|_, agg| agg.bucket >= oldest || agg.dirty);
            inner.series.values().copied().collect()
        };
        let mut removed = 0u64;
        let tx = self.store.db().begin_write()?;
        {
            let mut raw = tx.open_table(STAT_RAW)?;
            let cut = now.saturating_sub(keep[0]);
            for &id in &ids {
                raw.retain_in((id, 0)..(id, cut), |_, _| {
                    removed += 1;
                    false
                })?;
            }
            for (tier, def) in STAT_ROLLUPS.iter().enumerate() {
                let mut table = tx.open_table(*def)?;
                // A bucket goes when all of it is older than the cutoff.
                let cut = now.saturating_sub(keep[tier + 1]).saturating_sub(TIERS[tier] - 1);
                for &id in &ids {
                    table.retain_in((id, 0)..(id, cut), |_, _| {
                        removed += 1;
                        false
                    })?;
                }
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// The names of the series that start with `prefix`, in order.
    pub fn series_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.lock()
            .series
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The spacing of points for a chart over `from..to`.
    pub fn step_for(from: i64, to: i64) -> i64 {
        let span = (to - from).max(1);
        let wanted = (span + MAX_POINTS - 1) / MAX_POINTS;
        STEPS.iter().copied().find(|s| *s >= wanted).unwrap_or(86_400)
    }

    /// Points of each named series over `from..to` (unix seconds), at most
    /// about `MAX_POINTS` each. Returns the step and the series in the order
    /// asked (empty for unknown names). Blocking.
    pub fn query(&self, names: &[String], from: i64, to: i64) -> Result<(i64, Vec<Vec<Point>>), StoreError> {
        let (from_s, to_s) = (clamp_u32(from), clamp_u32(to));
        let now = clamp_u32(crate::events::now_ns() / 1_000_000_000);
        let keep = self.retention.seconds();
        let mut step = Self::step_for(from, to);
        // The coarsest tier no wider than a step; raw when none is.
        let mut tier = TIERS.iter().rposition(|w| i64::from(*w) <= step).map(|t| t + 1);
        // If that tier no longer reaches back to `from`, take a longer-kept one.
        while from_s < now.saturating_sub(keep[tier.unwrap_or(0)]) && tier != Some(TIERS.len()) {
            tier = Some(tier.map_or(1, |t| t + 1));
        }
        if let Some(t) = tier {
            step = step.max(i64::from(TIERS[t - 1]));
        }
        let ids: Vec<Option<u32>> = {
            let inner = self.lock();
            names.iter().map(|n| inner.series.get(n).copied()).collect()
        };
        let tx = self.store.db().begin_read()?;
        let mut out = Vec::with_capacity(names.len());
        let mut buckets = Bucketer::new(step);
        for id in ids {
            let Some(id) = id else {
                out.push(Vec::new());
                continue;
            };
            let range = (id, from_s)..(id, to_s);
            match tier {
                None => match tx.open_table(STAT_RAW) {
                    Ok(table) => {
                        for row in table.range(range)? {
                            let (k, v) = row?;
                            let v = v.value();
                            buckets.add(k.value().1, v, v, v, 1);
                        }
                    }
                    Err(TableError::TableDoesNotExist(_)) => {}
                    Err(e) => return Err(e.into()),
                },
                Some(t) => match tx.open_table(STAT_ROLLUPS[t - 1]) {
                    Ok(table) => {
                        // The bucket holding `from` starts before it.
                        let start = (id, from_s - from_s % TIERS[t - 1]);
                        for row in table.range(start..range.end)? {
                            let (k, v) = row?;
                            let (min, max, sum, count) = v.value();
                            buckets.add(k.value().1, min, max, sum, count);
                        }
                    }
                    Err(TableError::TableDoesNotExist(_)) => {}
                    Err(e) => return Err(e.into()),
                },
            }
            out.push(buckets.finish());
        }
        Ok((step, out))
    }
}

fn clamp_u32(t: i64) -> u32 {
    t.clamp(0, i64::from(u32::MAX)) as u32
}

/// Merges consecutive rows into `step`-wide points.
struct Bucketer {
    step: u32,
    points: Vec<Point>,
    open: Option<(u32, Agg)>,
}

impl Bucketer {
    fn new(step: i64) -> Bucketer {
        Bucketer {
            step: step.max(1) as u32,
            points: Vec::new(),
            open: None,
        }
    }

    fn add(&mut self, t: u32, min: f64, max: f64, sum: f64, count: u32) {
        let bucket = t - t % self.step;
        match &mut self.open {
            Some((b, agg)) if *b == bucket => {
                agg.min = agg.min.min(min);
                agg.max = agg.max.max(max);
                agg.sum += sum;
                agg.count += count;
            }
            _ => {
                self.flush();
                self.open = Some((bucket, Agg::from_row(bucket, (min, max, sum, count))));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((b, agg)) = self.open.take()
            && agg.count > 0
        {
            self.points.push(Point {
                t: i64::from(b),
                min: agg.min,
                avg: agg.sum / f64::from(agg.count),
                max: agg.max,
            });
        }
    }

    fn finish(&mut self) -> Vec<Point> {
        self.flush();
        std::mem::take(&mut self.points)
    }
}

#[cfg(test)]
mod tests;
