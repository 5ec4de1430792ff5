//! The hub's sharing, without an engine: channels fed by hand, followers
//! and feeds reading them as a websocket would.

use super::batch::MAX_FRAME;
use super::channel::{Channel, Event, Follower};
use super::feed::Feed;
use crate::events::EventLog;
use crate::hosts::Host;
use crate::model::{LogFeed, LogLine, LogStream};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

fn line(container: &str, n: u64, ts: i64) -> LogLine {
    LogLine {
        container: container.into(),
        stream: if n.is_multiple_of(7) {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        },
        ts_ns: ts,
        text: format!("line {n}"),
    }
}

/// Publishes lines `from..to` of `container` in batches of `per`, line n at time n.
fn publish(channel: &Channel, container: &str, from: u64, to: u64, per: u64) {
    let mut n = from;
    while n < to {
        let end = (n + per).min(to);
        let lines: Vec<LogLine> = (n..end).map(|i| line(container, i, i as i64 * 10)).collect();
        channel.publish(&lines);
        n = end;
    }
}

async fn follower(channel: &Arc<Channel>) -> Follower {
    channel.attach().expect("open").start().await.expect("ready")
}

/// A host that is never asked anything: every ring here reaches back far enough.
async fn host() -> (tempfile::TempDir, EventLog, Arc<Host>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    let events = EventLog::open(&store).unwrap();
    let host = Host::local(events.clone()).unwrap();
    (dir, events, host)
}

/// Every frame until `live` (exclusive), then `then` more, as feed messages.
async fn read(feed: &mut Feed, then: usize) -> (Vec<LogFeed>, Vec<LogFeed>) {
    let mut before = Vec::new();
    loop {
        let frame = feed.next().await.expect("a frame");
        assert!(frame.len() <= MAX_FRAME + 1024);
        match serde_json::from_slice::<LogFeed>(&frame).unwrap() {
            LogFeed::Live => break,
            other => before.push(other),
        }
    }
    let mut after = Vec::new();
    for _ in 0..then {
        let frame = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("the frame in time")
            .expect("a frame");
        after.push(serde_json::from_slice::<LogFeed>(&frame).unwrap());
    }
    (before, after)
}

fn texts(messages: &[LogFeed]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| match m {
            LogFeed::Lines { lines } => lines.iter().map(|l| l.text.clone()).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn numbered(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|n| format!("line {n}")).collect()
}

#[tokio::test]
async fn a_new_follower_gets_the_ring_then_live_lines_without_a_gap_or_a_line_twice() {
    let (_dir, events, host) = host().await;
    let channel = Channel::new("aaa", 100, 1 << 20, 64);
    publish(&channel, "aaa", 0, 250, 10);
    channel.loaded(false);
    let f = follower(&channel).await;
    // Published between the follower's start and its first read.
    publish(&channel, "aaa", 250, 300, 7);
    let mut feed = Feed::open(&host, vec![f], 50, None).await;
    let (backfill, live) = read(&mut feed, 1).await;
    assert_eq!(texts(&backfill), numbered(200..250), "the last 50 of the ring");
    let mut got = texts(&live);
    while got.len() < 50 {
        let frame = feed.next().await.unwrap();
        got.extend(texts(&[serde_json::from_slice(&frame).unwrap()]));
    }
    assert_eq!(got, numbered(250..300), "then every later line once, in order");
    let stderr = serde_json::to_string(&live).unwrap();
    assert!(stderr.contains(r#""stream":"stderr""#), "streams are told apart");

    // A since that the ring reaches back to: only what is at or after it.
    let f = follower(&channel).await;
    let mut feed = Feed::open(&host, vec![f], 1000, Some(2_955)).await;
    let (backfill, _) = read(&mut feed, 0).await;
    assert_eq!(texts(&backfill), numbered(296..300));
    events.close().await.unwrap();
}

#[tokio::test]
async fn a_slow_follower_skips_what_it_missed_is_told_how_much_and_slows_nobody() {
    let channel = Channel::new("aaa", 100, 1 << 20, 4);
    channel.loaded(true);
    let mut fast = follower(&channel).await;
    let mut slow = follower(&channel).await;
    let mut fast_got = Vec::new();
    for b in 0..100u64 {
        publish(&channel, "aaa", b * 10, b * 10 + 10, 10);
        // The fast one reads as it comes; the slow one reads nothing.
        while let Some(event) = fast.try_recv() {
            match event {
                Event::Lines(batch) => fast_got.push(batch.first_seq),
                other => panic!("the fast follower got {other:?}"),
            }
        }
    }
    assert_eq!(fast_got, (0..100).map(|b| b * 10).collect::<Vec<_>>());
    // The slow one: what it missed, counted in lines, then the 4 batches kept for it.
    assert!(matches!(slow.recv().await, Event::Gap(960)));
    let mut rest = Vec::new();
    while let Some(Event::Lines(b)) = slow.try_recv() {
        rest.push(b.first_seq);
    }
    assert_eq!(rest, [960, 970, 980, 990]);
    // And it follows on from there.
    publish(&channel, "aaa", 1000, 1010, 10);
    assert!(matches!(slow.recv().await, Event::Lines(b) if b.first_seq == 1000));
}

#[tokio::test]
async fn memory_stays_bounded_however_much_is_written_and_whoever_lags() {
    let channel = Channel::new("aaa", 2_000, 256 << 10, 16);
    channel.loaded(true);
    // Followers that never read.
    let idle: Vec<Follower> = futures_util::future::join_all((0..50).map(|_| follower(&channel))).await;
    let text = "x".repeat(1000);
    for b in 0..2_000u64 {
        let lines: Vec<LogLine> = (0..10)
            .map(|i| LogLine {
                text: text.clone(),
                ..line("aaa", b * 10 + i, (b * 10 + i) as i64)
            })
            .collect();
        channel.publish(&lines);
        let (lines, bytes) = channel.held();
        assert!(bytes <= (256 << 10) + 12_000, "the ring holds {bytes} bytes");
        assert!(lines <= 2_000 + 10);
    }
    drop(idle);
    assert_eq!(*channel.followers().borrow(), 0);
}

#[tokio::test]
async fn containers_merge_by_time_and_ends_are_told() {
    let (_dir, events, host) = host().await;
    let a = Channel::new("aaa", 100, 1 << 20, 64);
    let b = Channel::new("bbb", 100, 1 << 20, 64);
    // a at even times, b at odd ones.
    a.publish(&(0..5).map(|i| line("aaa", i, i as i64 * 2)).collect::<Vec<_>>());
    b.publish(&(0..5).map(|i| line("bbb", i, i as i64 * 2 + 1)).collect::<Vec<_>>());
    a.loaded(true);
    b.loaded(true);
    let followers = vec![follower(&a).await, follower(&b).await];
    let mut feed = Feed::open(&host, followers, 8, None).await;
    assert_eq!(feed.containers(), ["aaa", "bbb"]);
    let (backfill, _) = read(&mut feed, 0).await;
    let order: Vec<(String, i64)> = backfill
        .iter()
        .flat_map(|m| match m {
            LogFeed::Lines { lines } => lines.iter().map(|l| (l.container.clone(), l.ts_ns)).collect(),
            _ => Vec::new(),
        })
        .collect();
    let times: Vec<i64> = order.iter().map(|(_, t)| *t).collect();
    assert_eq!(times, (2..10).collect::<Vec<_>>(), "the last 8 over both, by time");

    // Live lines of both, arriving together, in time order.
    b.publish(&[line("bbb", 10, 21)]);
    a.publish(&[line("aaa", 10, 20)]);
    let frame: LogFeed = serde_json::from_slice(&feed.next().await.unwrap()).unwrap();
    let LogFeed::Lines { lines } = frame else {
        panic!("{frame:?}")
    };
    assert_eq!(lines.iter().map(|l| l.ts_ns).collect::<Vec<_>>(), [20, 21]);

    a.end("the container stopped (exit code 0)");
    let frame: LogFeed = serde_json::from_slice(&feed.next().await.unwrap()).unwrap();
    assert_eq!(
        frame,
        LogFeed::End {
            container: "aaa".into(),
            reason: "the container stopped (exit code 0)".into()
        }
    );
    a.close("the container was removed", false);
    b.close("the host was removed, or berth is stopping", false);
    let mut ends = 0;
    while let Some(frame) = feed.next().await {
        assert!(matches!(serde_json::from_slice(&frame).unwrap(), LogFeed::End { .. }));
        ends += 1;
    }
    assert_eq!(ends, 2, "one end each, then the feed is over");
    assert!(a.attach().is_none(), "a closed channel takes no follower");
    events.close().await.unwrap();
}
