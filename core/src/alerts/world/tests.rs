use super::*;
use crate::model::{Actor, Event, EventSeq, Hash32, HostId, Outcome, RuleId, Transport, test_rule};

const NOW: i64 = 1_800_000_000_000;

fn rule(condition: Condition) -> AlertRule {
    AlertRule {
        id: RuleId(1),
        spec: test_rule(condition),
    }
}

fn ctr(name: &str, state: &str, status: &str) -> Container {
    Container {
        id: format!("id-{name}"),
        name: name.into(),
        image: "i".into(),
        state: state.into(),
        status: status.into(),
        ..Container::default()
    }
}

fn host(reachable: bool, list: Vec<Container>) -> HostFacts {
    let status = HostStatus {
        id: HostId("local".into()),
        reachable,
        since_ns: (NOW - 60_000) * 1_000_000,
        error: (!reachable).then(|| "connection refused".to_string()),
        engine_version: Some("28".into()),
        api_version: None,
        transport: Transport::default(),
        agent_version: None,
        limits: Default::default(),
        rtt_us: None,
    };
    HostFacts::new("local".into(), status, Arc::new(list))
}

fn stop_event(name: &str) -> Event {
    Event {
        seq: EventSeq(1),
        ts_ns: NOW * 1_000_000,
        kind: "container.stop".into(),
        actor: Actor {
            kind: crate::model::ActorKind::System,
            name: "engine".into(),
        },
        source: None,
        host: Some("local".into()),
        target: Some(format!("container:{name}")),
        outcome: Outcome::Ok,
        duration_us: None,
        details: serde_json::Value::Null,
        prev_hash: Hash32::default(),
        hash: Hash32::default(),
    }
}

/// `rule`'s readings at `now_ms`.
fn read(
    rule: &AlertRule,
    hosts: &[HostFacts],
    drifts: &[Drift],
    windows: &Windows,
    now_ms: i64,
) -> Vec<(Subject, Reading)> {
    let stats = StatsSnapshot::default();
    let world = World {
        now_ms,
        stats: &stats,
        stat_keys: &[],
        fresh_ms: 15_000,
        hosts,
        drifts,
        windows,
        counting_since_ms: NOW - 5_000,
    };
    world.readings(rule)
}

fn holds(r: &[(Subject, Reading)]) -> Vec<String> {
    r.iter()
        .filter_map(|(_, r)| match r {
            Reading::Holds { what, .. } => Some(what.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_crash_is_down_once_its_engine_had_time_to_say_it_was_a_stop() {
    let down = rule(Condition::ContainerDown);
    let hosts = [host(true, vec![ctr("web", "exited", "Exited (137) 1 second ago")])];
    let mut w = Windows::default();
    w.observe_containers("local", &hosts[0].containers, NOW);
    assert!(read(&down, &hosts, &[], &w, NOW + 500).is_empty(), "too fresh to tell");
    let r = read(&down, &hosts, &[], &w, NOW + 2500);
    assert_eq!(holds(&r), ["web exited (137) 1 second ago"]);
    // A `docker stop` ends with the engine's stop event: not down.
    w.observe_event(&stop_event("web"));
    let r = read(&down, &hosts, &[], &w, NOW + 2500);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, Reading::Clear);
}

#[test]
fn expected_running_but_stopped_or_missing_is_down_and_a_drift() {
    let mut stopped = ctr("db", "exited", "Exited (0) 5 minutes ago");
    stopped.expected = Some(ExpectedState::Running);
    let hosts = [host(true, vec![stopped])];
    let w = Windows::default();
    let gone = Drift {
        host: HostId("local".into()),
        key: "name:cache".into(),
        expected: ExpectedState::Running,
        actual: None,
        since_ns: (NOW - 10_000) * 1_000_000,
    };
    let r = read(
        &rule(Condition::ContainerDown),
        &hosts,
        std::slice::from_ref(&gone),
        &w,
        NOW,
    );
    let mut what = holds(&r);
    what.sort();
    assert_eq!(what, ["db is exited, expected running", "missing, expected running"]);
    let r = read(&rule(Condition::Drift), &hosts, &[gone], &w, NOW);
    let cache = r.iter().find(|(s, _)| s.label() == "container name:cache").unwrap();
    assert_eq!(
        cache.1,
        Reading::Holds {
            since_ms: Some(NOW - 10_000),
            what: "expected running, is missing".into()
        }
    );
}

#[test]
fn a_window_not_yet_counted_whole_says_only_what_holds() {
    let looping = rule(Condition::RestartLoop {
        restarts: 2,
        within_secs: 60,
    });
    let hosts = [host(true, vec![ctr("job", "running", "Up 1 second")])];
    let w = Windows::default();
    assert!(read(&looping, &hosts, &[], &w, NOW).is_empty(), "5 s of 60 counted");
    let r = read(&looping, &hosts, &[], &w, NOW + 60_000);
    assert_eq!(r[0].1, Reading::Clear);
}

#[test]
fn a_host_away_holds_since_it_went_and_an_answering_one_is_not_gone() {
    let away = rule(Condition::HostUnreachable);
    let hosts = [host(false, vec![])];
    let w = Windows::default();
    let r = read(&away, &hosts, &[], &w, NOW);
    match &r[0].1 {
        Reading::Holds { since_ms, what } => {
            assert_eq!(*since_ms, Some(NOW - 60_000));
            assert!(what.contains("connection refused"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    let stats = StatsSnapshot::default();
    let world = World {
        now_ms: NOW,
        stats: &stats,
        stat_keys: &[],
        fresh_ms: 15_000,
        hosts: &hosts,
        drifts: &[],
        windows: &w,
        counting_since_ms: NOW,
    };
    let web = Subject::Container {
        host: "local".into(),
        key: "name:web".into(),
    };
    assert!(
        !world.gone(&web),
        "a host that does not answer says nothing of its containers"
    );
    let other = Subject::Host { host: "removed".into() };
    assert!(world.gone(&other), "a host berth no longer has");
}
