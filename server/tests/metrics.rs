//! /metrics as a Prometheus server scrapes it: the text format read by a
//! Prometheus parser, host and container readings with their compose labels,
//! and the bearer token it asks for once one is configured. Needs a running
//! engine and the test image `berth-test/busybox:1` (`./dev.sh test`
//! provides both).

mod common;

use berth_server::config::Secret;
use common::docker::TestContainer;
use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_with_compose_labels() {
    let name = "berth-stats-web";
    let _web = TestContainer::run(
        name,
        &[
            "-l",
            "com.docker.compose.project=shop",
            "-l",
            "com.docker.compose.service=web",
        ],
        &["sleep", "3600"],
    );
    let (_dir, server, _client) = stats_server(|_| {}).await;

    // No token configured: a scraper needs no session and no header.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (scrape, body) = loop {
        let resp = get_metrics(&server, None).await;
        assert_eq!(resp.status(), 200);
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        let body = resp.text().await.unwrap();
        let scrape = parse_metrics(&body);
        if container_sample(&scrape, "berth_container_cpu_usage_percent", name).is_some() {
            break (scrape, body);
        }
        assert!(Instant::now() < deadline, "{name} never appeared in /metrics:\n{body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    for family in [
        "berth_host_up",
        "berth_host_rtt_seconds",
        "berth_host_cpu_usage_percent",
        "berth_host_memory_total_bytes",
        "berth_host_memory_used_bytes",
        "berth_host_filesystem_used_bytes",
        "berth_container_cpu_usage_percent",
        "berth_container_memory_used_bytes",
        "berth_container_network_receive_bytes_total",
        "berth_container_running",
    ] {
        assert!(scrape.docs.contains_key(family), "no HELP for {family}:\n{body}");
    }
    let host_metric = |metric: &str| {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get("host") == Some("local"))
            .unwrap_or_else(|| panic!("no {metric}{{host=\"local\"}}:\n{body}"));
        value(s)
    };
    assert_eq!(host_metric("berth_host_up"), 1.0);
    // Measured by the heartbeat, which pings when the watcher starts following.
    let rtt = host_metric("berth_host_rtt_seconds");
    assert!(rtt > 0.0 && rtt < 5.0, "round trip {rtt} s");
    let (used, total) = (
        host_metric("berth_host_memory_used_bytes"),
        host_metric("berth_host_memory_total_bytes"),
    );
    assert!(used > 0.0 && used < total, "used {used} of {total}");
    assert_eq!(total, meminfo("MemTotal") as f64);

    for metric in [
        "berth_container_cpu_usage_percent",
        "berth_container_memory_used_bytes",
        "berth_container_pids",
        "berth_container_running",
        "berth_container_restarts_total",
    ] {
        let s = container_sample(&scrape, metric, name).unwrap_or_else(|| panic!("no {metric} of {name}:\n{body}"));
        assert_eq!(s.labels.get("host"), Some("local"), "{metric}");
        assert_eq!(s.labels.get("project"), Some("shop"), "{metric}");
        assert_eq!(s.labels.get("service"), Some("web"), "{metric}");
    }
    let running = container_sample(&scrape, "berth_container_running", name).unwrap();
    assert_eq!(value(running), 1.0);
    let memory = container_sample(&scrape, "berth_container_memory_used_bytes", name).unwrap();
    assert!(value(memory) > 0.0, "{memory:?}");
    let received = container_sample(&scrape, "berth_container_network_receive_bytes_total", name).unwrap();
    assert!(
        matches!(received.value, prometheus_parse::Value::Counter(_)),
        "{received:?}"
    );
    // A container outside compose has the labels, empty.
    let plain = TestContainer::run("berth-stats-plain", &[], &["sleep", "3600"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scrape = parse_metrics(&get_metrics(&server, None).await.text().await.unwrap());
        if let Some(s) = container_sample(&scrape, "berth_container_cpu_usage_percent", &plain.0) {
            assert_eq!(s.labels.get("project"), Some(""), "{s:?}");
            assert_eq!(s.labels.get("service"), Some(""), "{s:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "berth-stats-plain never appeared in /metrics"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_metrics_token_is_required() {
    let token = "berth-metrics-token-0123456789";
    let (_dir, server, admin) = stats_server(|c| c.metrics_token = Some(Secret(token.to_string()))).await;

    let resp = get_metrics(&server, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert!(resp.text().await.unwrap().contains("metrics_token"));
    for wrong in ["berth-metrics-token-012345678", "berth-metrics-token-0123456789x", ""] {
        assert_eq!(get_metrics(&server, Some(wrong)).await.status(), 401, "'{wrong}'");
    }
    let basic = reqwest::Client::new()
        .get(server.url("/metrics"))
        .basic_auth("admin", Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "the token only as a bearer token");
    // A signed-in session is not a scraper's credential.
    let resp = admin.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = get_metrics(&server, Some(token)).await;
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.unwrap();
        let scrape = parse_metrics(&body);
        if scrape
            .samples
            .iter()
            .any(|s| s.metric == "berth_host_memory_used_bytes" && value(s) > 0.0)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no host reading in /metrics:\n{body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.stop().await.unwrap();
}
