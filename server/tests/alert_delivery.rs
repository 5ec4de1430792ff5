//! Alert delivery with real parts: `Deliveries` on a temporary database
//! and event log, sending to an HTTP receiver and an SMTP server on
//! loopback ports (`common::receivers`). What a receiver gets, what the
//! event log says about each attempt, and what survives a restart.

mod common;

use berth_core::alerts::deliver::{DeliverySettings, points_at};
use berth_core::model::{
    AlertState, ChannelId, ChannelTarget, HostId, MailSecurity, Notification, Outcome, RuleId, Secret, Severity,
};
use common::deliveries::{World, channels, hmac_sha256, quick};
use common::receivers::{HttpReceiver, SmtpServer, SmtpSettings};
use std::net::SocketAddr;
use std::time::Duration;

const HOOK_SECRET: &str = "whsec-Zx9-0123456789abcdef";
/// In every secret of `failed_deliveries_record_no_secret`, so a piece of
/// one is caught too.
const MARK: &str = "Zx9";

fn notification(id: &str) -> Notification {
    Notification {
        id: id.into(),
        rule: RuleId(3),
        rule_name: "web down".into(),
        severity: Severity::Critical,
        state: AlertState::Firing,
        repeat: false,
        test: false,
        host: Some(HostId("local".into())),
        subject: "shop-web-1".into(),
        summary: "shop-web-1 exited with code 137".into(),
        value: None,
        since_ms: 1_764_000_000_000,
        at_ms: 1_764_000_060_000,
        url: Some("https://berth.example.com/alerts/3".into()),
    }
}

fn webhook(url: String) -> ChannelTarget {
    ChannelTarget::Webhook {
        url,
        secret: Secret(HOOK_SECRET.into()),
    }
}

#[tokio::test]
async fn a_webhook_is_delivered_signed_with_the_channels_secret() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = HttpReceiver::start().await;
    let world = World::open(dir.path(), quick(), channels(), true);
    let hook = world.add(1, "ops hook", webhook(receiver.url("/hook")));
    let n = notification("n-1");

    world.deliveries.enqueue(&n, &[hook, hook]).await.unwrap();
    let got = receiver.wait_for(1).await;
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
    assert_eq!(r.header("content-type"), "application/json");
    let expected = format!("sha256={}", hmac_sha256(HOOK_SECRET.as_bytes(), &r.body));
    assert_eq!(
        r.header("x-berth-signature-256"),
        expected,
        "the receiver can check the signature"
    );
    assert_eq!(r.header("x-berth-delivery"), "n-1");
    assert_eq!(serde_json::from_slice::<Notification>(&r.body).unwrap(), n);

    let events = world.wait_events("one delivery", |e| !e.is_empty()).await;
    let e = &events[0];
    assert_eq!(
        (e.outcome.clone(), e.target.as_deref(), e.host.as_deref()),
        (Outcome::Ok, Some("channel:ops hook"), Some("local"))
    );
    let d = &e.details;
    assert_eq!(
        (d["channel"].as_u64(), d["channel_kind"].as_str()),
        (Some(1), Some("webhook"))
    );
    assert_eq!(
        (d["notification"].as_str(), d["rule"].as_u64(), d["state"].as_str()),
        (Some("n-1"), Some(3), Some("firing"))
    );
    assert_eq!(
        (d["attempt"].as_u64(), d["test"].as_bool(), d["status"].as_u64()),
        (Some(1), Some(false), Some(200))
    );
    world.wait_outbox_empty().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), 1, "a channel named twice gets it once");
    world.close().await;
}

#[tokio::test]
async fn chat_and_push_channels_get_their_own_formats() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = HttpReceiver::start().await;
    let world = World::open(dir.path(), quick(), channels(), true);
    let slack = world.add(
        1,
        "slack",
        ChannelTarget::Slack {
            url: Secret(receiver.url("/services/T0/B0/slk")),
        },
    );
    let discord = world.add(
        2,
        "discord",
        ChannelTarget::Discord {
            url: Secret(receiver.url("/api/webhooks/9/dsc")),
        },
    );
    let ntfy = world.add(
        3,
        "ntfy",
        ChannelTarget::Ntfy {
            server: receiver.url(""),
            topic: "ops".into(),
            token: Some(Secret("tk_ntfy".into())),
        },
    );
    let gotify = world.add(
        4,
        "gotify",
        ChannelTarget::Gotify {
            server: receiver.url("/gotify/"),
            token: Secret("gotify-app-token".into()),
        },
    );
    world
        .deliveries
        .enqueue(&notification("n-2"), &[slack, discord, ntfy, gotify])
        .await
        .unwrap();
    let got = receiver.wait_for(4).await;
    let at = |path: &str| {
        got.iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("nothing at {path}: {got:#?}"))
    };
    let title = "[FIRING] web down: shop-web-1 on local";

    let s = at("/services/T0/B0/slk").json();
    assert_eq!(s["text"], title);
    assert_eq!(s["attachments"][0]["color"], "#d7263d");
    assert!(
        s["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .contains("exited with code 137")
    );

    let d = at("/api/webhooks/9/dsc").json();
    assert_eq!(d["embeds"][0]["title"], title);
    assert_eq!(d["embeds"][0]["color"], 0xd7263d);
    assert_eq!(d["allowed_mentions"]["parse"], serde_json::json!([]));

    let n = at("/ops");
    assert_eq!((n.method.as_str(), n.header("title")), ("POST", title));
    assert_eq!(
        (n.header("priority"), n.header("tags")),
        ("5", "rotating_light,berth,critical")
    );
    assert_eq!(n.header("authorization"), "Bearer tk_ntfy");
    assert!(n.text().starts_with("shop-web-1 exited with code 137"), "{}", n.text());

    let g = at("/gotify/message");
    assert_eq!(g.header("x-gotify-key"), "gotify-app-token");
    let body = g.json();
    assert_eq!(
        (body["title"].as_str(), body["priority"].as_u64()),
        (Some(title), Some(8))
    );
    assert!(body["message"].as_str().unwrap().contains("Host: local"));

    world
        .wait_events("four deliveries", |e| {
            e.len() == 4 && e.iter().all(|e| e.outcome == Outcome::Ok)
        })
        .await;
    world.close().await;
}

fn smtp_settings(mechanisms: &'static str) -> SmtpSettings {
    SmtpSettings {
        mechanisms,
        user: "berth".into(),
        password: "mail-pass-123".into(),
        refuse_login: false,
    }
}

fn mail_target(addr: SocketAddr, password: &str) -> ChannelTarget {
    ChannelTarget::Email {
        host: addr.ip().to_string(),
        port: addr.port(),
        security: MailSecurity::None,
        username: Some("berth".into()),
        password: Some(Secret(password.into())),
        from: "berth@example.com".into(),
        to: vec!["ops@example.com".into(), "oncall@example.com".into()],
    }
}

#[tokio::test]
async fn a_mail_arrives_with_its_headers_after_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(smtp_settings("PLAIN LOGIN")).await;
    let world = World::open(dir.path(), quick(), channels(), true);
    let mail = world.add(1, "mail", mail_target(smtp.addr, "mail-pass-123"));
    let mut n = notification("n-3");
    n.summary = "line one\n.leading dot stays\nline three".into();

    world.deliveries.enqueue(&n, &[mail]).await.unwrap();
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m.auth, Some(("PLAIN".into(), "berth".into(), "mail-pass-123".into())));
    assert_eq!(m.from, "berth@example.com");
    assert_eq!(m.to, ["ops@example.com", "oncall@example.com"]);
    assert_eq!(m.header("from").as_deref(), Some("berth@example.com"));
    assert_eq!(m.header("to").as_deref(), Some("ops@example.com, oncall@example.com"));
    assert_eq!(
        m.header("subject").as_deref(),
        Some("[FIRING] web down: shop-web-1 on local")
    );
    for part in [
        ".leading dot stays",
        "Subject: shop-web-1",
        "Host: local",
        "Since: 2025-11-24 16:00:00.000 UTC",
        "Link: https://berth.example.com/alerts/3",
    ] {
        assert!(m.data.contains(part), "{part} missing from {}", m.data);
    }
    let events = world.wait_events("the mail", |e| !e.is_empty()).await;
    assert_eq!(events[0].outcome, Outcome::Ok);
    assert_eq!(events[0].details["channel_kind"], "email");

    // A server that offers LOGIN only gets LOGIN; a test is one attempt, recorded.
    let login_only = SmtpServer::start(smtp_settings("LOGIN")).await;
    let other = world.add(2, "mail 2", mail_target(login_only.addr, "mail-pass-123"));
    let report = world
        .deliveries
        .send_now(&notification("test-1"), &world.channel(other))
        .await;
    assert!(report.ok, "{report:?}");
    assert_eq!(login_only.mails()[0].auth.as_ref().map(|a| a.0.as_str()), Some("LOGIN"));
    let events = world.deliveries_recorded().await;
    let test = events.last().unwrap();
    assert_eq!(
        (test.details["test"].as_bool(), test.details["attempt"].as_u64()),
        (Some(true), Some(1))
    );
    world.close().await;
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_retries_then_the_notification_once() {
    let dir = tempfile::tempdir().unwrap();
    let addr = HttpReceiver::down_address().await;
    let world = World::open(dir.path(), quick(), channels(), true);
    let hook = world.add(1, "hook", webhook(format!("http://{addr}/hook")));

    world.deliveries.enqueue(&notification("n-4"), &[hook]).await.unwrap();
    let failed = world.wait_events("three failed attempts", |e| e.len() >= 3).await;
    for (i, e) in failed.iter().take(3).enumerate() {
        let Outcome::Error(why) = &e.outcome else {
            panic!("{e:?}")
        };
        assert!(why.contains(&format!("cannot reach {addr}")), "{why}");
        assert_eq!(e.details["attempt"].as_u64(), Some(i as u64 + 1));
        assert!(e.details["retry_in_s"].as_u64().is_some(), "{}", e.details);
    }
    assert_eq!(world.deliveries.waiting(), 1);

    let receiver = HttpReceiver::start_on(addr).await;
    receiver.wait_for(1).await;
    world
        .wait_events("the delivery", |e| e.last().is_some_and(|e| e.outcome == Outcome::Ok))
        .await;
    world.wait_outbox_empty().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receiver.requests().len(), 1, "delivered exactly once");
    let oks = world
        .deliveries_recorded()
        .await
        .iter()
        .filter(|e| e.outcome == Outcome::Ok)
        .count();
    assert_eq!(oks, 1);
    world.close().await;
}

#[tokio::test]
async fn a_delivery_is_given_up_when_its_time_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let addr = HttpReceiver::down_address().await;
    let settings = DeliverySettings {
        give_up_after: Duration::from_millis(700),
        ..quick()
    };
    let world = World::open(dir.path(), settings, channels(), true);
    let hook = world.add(1, "hook", webhook(format!("http://{addr}/hook")));
    world.deliveries.enqueue(&notification("n-10"), &[hook]).await.unwrap();
    let events = world
        .wait_events("giving up", |e| e.last().is_some_and(|e| e.details["gave_up"] == true))
        .await;
    let last = events.last().unwrap();
    assert!(last.outcome.message().contains("gave up after"), "{:?}", last.outcome);
    assert!(last.details.get("retry_in_s").is_none(), "{}", last.details);
    assert!(events.len() >= 3, "it was retried first: {events:#?}");
    world.wait_outbox_empty().await;
    world.close().await;
}

#[tokio::test]
async fn a_queued_delivery_is_made_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = HttpReceiver::start().await;
    let list = channels();
    let world = World::open(dir.path(), quick(), list.clone(), false);
    let hook = world.add(1, "hook", webhook(receiver.url("/hook")));
    world.deliveries.enqueue(&notification("n-5"), &[hook]).await.unwrap();
    world.close().await;
    assert!(receiver.requests().is_empty());

    let world = World::open(dir.path(), quick(), list, true);
    assert_eq!(world.deliveries.waiting(), 1, "the outbox survived the restart");
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].header("x-berth-delivery"), "n-5");
    world.wait_outbox_empty().await;
    world.close().await;
    let world = World::open(dir.path(), quick(), channels(), false);
    assert_eq!(
        world.deliveries.waiting(),
        0,
        "a delivered row is gone from the file too"
    );
    world.close().await;
}

#[tokio::test]
async fn a_url_that_leads_back_to_berth_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let berth = HttpReceiver::start().await;
    let settings = DeliverySettings {
        own: vec![SocketAddr::from(([0, 0, 0, 0], berth.addr.port()))],
        ..quick()
    };
    assert!(points_at(&berth.url("/api/v1/hosts"), &settings.own).await);
    assert!(points_at(&format!("http://localhost:{}/x", berth.addr.port()), &settings.own).await);
    let world = World::open(dir.path(), settings, channels(), true);
    let hook = world.add(1, "loop", webhook(berth.url("/api/v1/hosts")));

    let report = world
        .deliveries
        .send_now(&notification("t-6"), &world.channel(hook))
        .await;
    assert!(!report.ok && report.detail.contains("berth itself"), "{report:?}");
    world.deliveries.enqueue(&notification("n-6"), &[hook]).await.unwrap();
    let events = world.wait_events("the refusal", |e| e.len() == 2).await;
    assert!(
        events[1].outcome.message().contains("not retried"),
        "{:?}",
        events[1].outcome
    );
    world.wait_outbox_empty().await;
    assert!(berth.requests().is_empty(), "berth was never called");
    world.close().await;
}

#[tokio::test]
async fn a_deleted_or_disabled_channel_ends_its_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = HttpReceiver::start().await;
    let world = World::open(dir.path(), quick(), channels(), true);
    let off = world.add(1, "off", webhook(receiver.url("/off")));
    world.channels.write().unwrap().get_mut(&off).unwrap().spec.enabled = false;
    world
        .deliveries
        .enqueue(&notification("n-7"), &[off, ChannelId(99)])
        .await
        .unwrap();
    let events = world.wait_events("two refusals", |e| e.len() == 2).await;
    let messages: Vec<&str> = events.iter().map(|e| e.outcome.message()).collect();
    assert!(messages.iter().any(|m| m.contains("disabled")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("no longer exists")), "{messages:?}");
    assert!(events.iter().any(|e| e.target.as_deref() == Some("channel:#99")));
    world.wait_outbox_empty().await;
    assert!(receiver.requests().is_empty());
    world.close().await;
}

#[tokio::test]
async fn a_slow_receiver_does_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (slow, fast) = (HttpReceiver::start().await, HttpReceiver::start().await);
    // The slow one answers nothing until the fast one has its delivery, and
    // berth waits for an answer longer than the fast one is waited for: a
    // delivery queued behind a slow one would never arrive in time.
    slow.hold();
    let patient = DeliverySettings {
        timeout: Duration::from_secs(60),
        ..quick()
    };
    let world = World::open(dir.path(), patient, channels(), true);
    let mut list: Vec<ChannelId> = (1..=4)
        .map(|i| world.add(i, &format!("slow {i}"), webhook(slow.url("/"))))
        .collect();
    list.push(world.add(9, "fast", webhook(fast.url("/"))));
    world.deliveries.enqueue(&notification("n-8"), &list).await.unwrap();
    fast.wait_for(1).await;
    slow.release();
    slow.wait_for(4).await;
    world.close().await;
}

/// A receiver that echoes what it got, and an SMTP server that quotes the
/// password back: no secret may reach an event or a report all the same.
#[tokio::test]
async fn failed_deliveries_record_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let echo = HttpReceiver::start().await;
    echo.answer(500);
    echo.echo();
    let smtp = SmtpServer::start(SmtpSettings {
        refuse_login: true,
        ..smtp_settings("PLAIN")
    })
    .await;
    let world = World::open(dir.path(), quick(), channels(), true);
    let slack_path = "/services/T0Zx9a1/B0Zx9b2/slackZx9Token3";
    let secrets = [
        HOOK_SECRET,
        "T0Zx9a1",
        "B0Zx9b2",
        "slackZx9Token3",
        "discordZx9Token4",
        "ntfyZx9Token5",
        "gotifyZx9Token6",
        "mailZx9Password7",
    ];
    let targets = vec![
        webhook(echo.url("/hook")),
        ChannelTarget::Slack {
            url: Secret(echo.url(slack_path)),
        },
        ChannelTarget::Discord {
            url: Secret(echo.url("/api/webhooks/1/discordZx9Token4")),
        },
        ChannelTarget::Ntfy {
            server: echo.url(""),
            topic: "ops".into(),
            token: Some(Secret("ntfyZx9Token5".into())),
        },
        ChannelTarget::Gotify {
            server: echo.url(""),
            token: Secret("gotifyZx9Token6".into()),
        },
        mail_target(smtp.addr, "mailZx9Password7"),
    ];
    let ids: Vec<ChannelId> = targets
        .into_iter()
        .enumerate()
        .map(|(i, t)| world.add(i as u64 + 1, &format!("c{i}"), t))
        .collect();
    let mut reports = Vec::new();
    for id in &ids {
        reports.push(
            world
                .deliveries
                .send_now(&notification("t-9"), &world.channel(*id))
                .await,
        );
    }
    world.deliveries.enqueue(&notification("n-9"), &ids).await.unwrap();
    let events = world
        .wait_events("two rounds of failures", |e| e.len() >= 2 * ids.len() + ids.len())
        .await;
    assert!(events.iter().all(|e| matches!(e.outcome, Outcome::Error(_))));
    assert!(events.iter().any(|e| e.outcome.message().contains("HTTP 500")));
    assert!(
        events.iter().any(|e| e.outcome.message().contains("535")),
        "the SMTP refusal is told"
    );
    let recorded = serde_json::to_string(&events).unwrap() + &format!("{reports:?}");
    for secret in secrets {
        assert!(!recorded.contains(secret), "{secret} was recorded: {recorded}");
    }
    assert!(!recorded.contains(MARK), "a piece of a secret was recorded: {recorded}");
    // The echo did see them: the test would catch a leak.
    assert!(echo.requests().iter().any(|r| r.path == slack_path));
    world.close().await;
}
