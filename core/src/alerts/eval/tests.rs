use super::*;
use crate::model::{RuleSpec, Silence, test_rule};

fn rule(condition: Condition, for_secs: u64, repeat_secs: u64) -> AlertRule {
    AlertRule {
        id: RuleId(7),
        spec: RuleSpec {
            for_secs,
            repeat_secs,
            ..test_rule(condition)
        },
    }
}

fn cpu(for_secs: u64, repeat_secs: u64) -> AlertRule {
    rule(
        Condition::HostCpu {
            above: 90.0,
            recover_below: 80.0,
        },
        for_secs,
        repeat_secs,
    )
}

fn host() -> Subject {
    Subject::Host { host: "local".into() }
}

fn value(v: f64) -> Vec<(Subject, Reading)> {
    vec![(host(), Reading::Value(v))]
}

/// The kinds of change, in order: "fired", "fired-quiet", "remind", "repeat", "resolved", "resolved-quiet".
fn kinds(changes: &[Change]) -> Vec<&'static str> {
    changes
        .iter()
        .map(|c| match c {
            Change::Fired { tell: true, .. } => "fired",
            Change::Fired { tell: false, .. } => "fired-quiet",
            Change::Remind { repeat: false, .. } => "remind",
            Change::Remind { repeat: true, .. } => "repeat",
            Change::Resolved { tell: true, .. } => "resolved",
            Change::Resolved { tell: false, .. } => "resolved-quiet",
        })
        .collect()
}

#[test]
fn it_fires_only_once_the_condition_held_for_the_duration() {
    let (r, mut e) = (cpu(120, 0), Evaluator::default());
    assert!(e.pass(&r, value(95.0), |_| false, 0).is_empty());
    assert!(e.pass(&r, value(96.0), |_| false, 60_000).is_empty());
    assert_eq!(e.all().next().unwrap().1.fired_ms, None, "pending");
    let c = e.pass(&r, value(97.0), |_| false, 120_000);
    assert_eq!(kinds(&c), ["fired"]);
    let Change::Fired { track, .. } = &c[0] else {
        unreachable!()
    };
    assert_eq!((track.since_ms, track.value), (0, Some(97.0)));
    assert!(track.what.contains("97.0%"), "{}", track.what);
    // Held on: nothing new.
    assert!(e.pass(&r, value(98.0), |_| false, 180_000).is_empty());
}

#[test]
fn a_dip_below_the_threshold_while_pending_starts_the_wait_again() {
    let (r, mut e) = (cpu(120, 0), Evaluator::default());
    e.pass(&r, value(95.0), |_| false, 0);
    e.pass(&r, value(85.0), |_| false, 100_000);
    assert_eq!(e.all().count(), 0);
    assert!(e.pass(&r, value(95.0), |_| false, 130_000).is_empty());
    assert!(e.pass(&r, value(95.0), |_| false, 200_000).is_empty());
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 250_000)), ["fired"]);
}

#[test]
fn a_value_flapping_at_the_threshold_fires_once_and_resolves_at_recovery() {
    let (r, mut e) = (cpu(0, 0), Evaluator::default());
    let mut all = Vec::new();
    for (i, v) in [91.0, 89.0, 92.0, 88.5, 90.5, 85.0, 93.0].into_iter().enumerate() {
        all.extend(e.pass(&r, value(v), |_| false, i as i64 * 5000));
    }
    assert_eq!(kinds(&all), ["fired"]);
    let c = e.pass(&r, value(80.0), |_| false, 60_000);
    assert_eq!(kinds(&c), ["resolved"]);
    assert_eq!(e.all().count(), 0);
}

#[test]
fn it_repeats_while_firing_at_the_interval() {
    let (r, mut e) = (cpu(0, 600), Evaluator::default());
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 0)), ["fired"]);
    assert!(e.pass(&r, value(95.0), |_| false, 599_000).is_empty());
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 600_000)), ["repeat"]);
    assert!(e.pass(&r, value(95.0), |_| false, 900_000).is_empty());
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 1_200_000)), ["repeat"]);
}

#[test]
fn a_silence_keeps_it_quiet_and_tells_what_still_fires_when_it_ends() {
    let mut r = cpu(0, 0);
    r.spec.silences = vec![Silence::Once {
        from_ms: 0,
        until_ms: 100_000,
        comment: "upgrade".into(),
    }];
    let mut e = Evaluator::default();
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 10_000)), ["fired-quiet"]);
    assert!(e.pass(&r, value(95.0), |_| false, 50_000).is_empty());
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 100_000)), ["remind"]);
    // Fired and resolved within a silence: nobody hears of it.
    let mut e = Evaluator::default();
    assert_eq!(kinds(&e.pass(&r, value(95.0), |_| false, 10_000)), ["fired-quiet"]);
    assert_eq!(kinds(&e.pass(&r, value(50.0), |_| false, 20_000)), ["resolved-quiet"]);
    assert!(e.pass(&r, value(50.0), |_| false, 200_000).is_empty());
}

#[test]
fn a_subject_without_reading_stays_unless_it_is_gone() {
    let (r, mut e) = (rule(Condition::Unhealthy, 0, 0), Evaluator::default());
    let web = Subject::Container {
        host: "local".into(),
        key: "compose:shop/web".into(),
    };
    let holds = vec![(
        web.clone(),
        Reading::Holds {
            since_ms: Some(-5000),
            what: "unhealthy".into(),
        },
    )];
    let c = e.pass(&r, holds, |_| false, 0);
    assert_eq!(kinds(&c), ["fired"]);
    let Change::Fired { track, .. } = &c[0] else {
        unreachable!()
    };
    assert_eq!(track.since_ms, -5000, "the engine's own start time is kept");
    assert!(
        e.pass(&r, vec![], |_| false, 5000).is_empty(),
        "a silent host changes nothing"
    );
    assert!(
        e.pass(&r, vec![], |s| s == &web, 10_000).is_empty(),
        "a late list is no end"
    );
    let c = e.pass(&r, vec![], |s| s == &web, 10_000 + GONE_AFTER_MS);
    assert_eq!(kinds(&c), ["resolved"]);
    let Change::Resolved { why, .. } = &c[0] else {
        unreachable!()
    };
    assert!(why.contains("gone"), "{why}");
}

#[test]
fn a_resumed_alert_neither_fires_nor_tells_again_and_resolves_as_normal() {
    let (r, mut e) = (cpu(0, 0), Evaluator::default());
    e.resume(
        r.id,
        Track {
            subject: host(),
            since_ms: 0,
            fired_ms: Some(1000),
            told_ms: Some(1000),
            value: Some(95.0),
            what: "CPU".into(),
            missing_ms: None,
        },
    );
    assert!(e.pass(&r, value(96.0), |_| false, 60_000).is_empty());
    assert_eq!(kinds(&e.pass(&r, value(10.0), |_| false, 120_000)), ["resolved"]);
}

#[test]
fn retiring_a_rule_resolves_what_fired_and_drops_what_was_pending() {
    let (r, mut e) = (cpu(0, 0), Evaluator::default());
    let disk = rule(
        Condition::Disk {
            above: 90.0,
            recover_below: 80.0,
            mount: None,
        },
        600,
        0,
    );
    e.pass(&r, value(95.0), |_| false, 0);
    let fs = Subject::Filesystem {
        host: "local".into(),
        mount: "/".into(),
    };
    let mut d = disk.clone();
    d.id = RuleId(8);
    e.pass(&d, vec![(fs, Reading::Value(99.0))], |_| false, 0);
    assert_eq!(kinds(&e.retire(r.id, "rule disabled", 1000)), ["resolved"]);
    assert!(e.retire(d.id, "rule deleted", 1000).is_empty());
    assert_eq!(e.all().count(), 0);
}
