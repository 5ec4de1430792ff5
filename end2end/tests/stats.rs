//! Statistics in a real Chromium against a real server and the machine's
//! real Docker engine: a CPU-burning container tops the dashboard's CPU
//! column live; its page draws charts with data that grow without a reload
//! and show a value and time under the pointer; setting an expected state
//! it does not meet shows a drift and records it.
//! Needs the engine and the `berth-test/busybox:1` image (`./dev.sh test`).

mod common;

use common::*;
use fantoccini::{Client, Locator};
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const BURNER: &str = "berth-e2e-burn";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_fill_and_move_live_and_drift_shows_on_the_page() {
    let _container = TestContainers::run(BURNER, &["sh", "-c", "while :; do :; done"], &[]);
    let berth = Arc::new(
        Berth::start_with_env(&[("BERTH_STATS_INTERVAL_SECS", "1")])
            .await
            .expect("berth starts"),
    );
    run_in_browser(
        "stats",
        berth,
        |client, berth| async move { walk(&client, &berth).await },
    )
    .await;
}

/// A number from an attribute of the first element matching `css`.
async fn attr_number(client: &Client, css: &str, attr: &str) -> Result<Option<f64>> {
    match client.find(Locator::Css(css)).await {
        Ok(e) => Ok(e.attr(attr).await?.and_then(|v| v.parse().ok())),
        Err(_) => Ok(None),
    }
}

async fn walk(client: &Client, berth: &Berth) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;

    // The dashboard: the burner's CPU climbs in the live table.
    open(client, &berth.url("/")).await?;
    let row = format!("table.usage tr[data-name='{BURNER}']");
    let cpu = wait_until(
        "the burner to show CPU use on the dashboard",
        Duration::from_secs(30),
        || async {
            Ok(match attr_number(client, &row, "data-cpu").await? {
                Some(cpu) if cpu > 20.0 => Check::Done(cpu),
                other => Check::NotYet(format!("data-cpu {other:?}")),
            })
        },
    )
    .await?;
    eprintln!("[stats] dashboard shows the burner at {cpu:.1}% CPU");
    // Sorted by CPU, highest first: the burner is the top row.
    let first = client
        .execute(
            "return document.querySelector('table.usage tbody tr')?.dataset.name",
            vec![],
        )
        .await?;
    assert_eq!(first.as_str(), Some(BURNER), "the busiest container heads the table");

    // Its page: a CPU chart with points, which grows without a reload.
    client.find(Locator::Css(&format!("{row} a"))).await?.click().await?;
    wait_hydrated(client).await?;
    let chart = ".chart[data-title='CPU']";
    let before = wait_until("the CPU chart to have points", Duration::from_secs(30), || async {
        Ok(match attr_number(client, chart, "data-points").await? {
            Some(n) if n >= 2.0 => Check::Done(n),
            other => Check::NotYet(format!("data-points {other:?}")),
        })
    })
    .await?;
    let after = wait_until("the CPU chart to update live", Duration::from_secs(30), || async {
        Ok(match attr_number(client, chart, "data-points").await? {
            Some(n) if n > before => Check::Done(n),
            other => Check::NotYet(format!("data-points {other:?}, was {before}")),
        })
    })
    .await?;
    eprintln!("[stats] the CPU chart went from {before} to {after} points live");
    let path = client
        .execute(
            &format!("return document.querySelector(\"{chart} path.line\")?.getAttribute('d') ?? ''"),
            vec![],
        )
        .await?;
    assert!(
        path.as_str().is_some_and(|d| d.contains('L')),
        "the CPU line is drawn: {path}"
    );

    // Hovering the right end of the chart shows the value and time there.
    let tip = wait_until("the chart's hover readout", Duration::from_secs(10), || async {
        client
            .execute(
                &format!(
                    r#"const svg = document.querySelector("{chart} svg");
                    const r = svg.getBoundingClientRect();
                    svg.dispatchEvent(new PointerEvent('pointermove', {{
                        clientX: r.left + r.width * 0.995, clientY: r.top + r.height / 2, bubbles: true }}));"#
                ),
                vec![],
            )
            .await?;
        Ok(match text_of(client, &format!("{chart} .chart-tip")).await? {
            Some(t) if t.contains('%') && t.contains("UTC") => Check::Done(t),
            other => Check::NotYet(format!("tip {other:?}")),
        })
    })
    .await?;
    eprintln!("[stats] hover readout: {tip}");

    // Expect it exited: it is running, so the page shows a drift, and the log has it.
    let select = wait_for(client, "#expected-state").await?;
    select.select_by_value("exited").await?;
    click_button(client, "Save").await?;
    wait_for_text(client, "#drift", "expected exited").await?;
    let http = berth.http();
    berth.rest_sign_in(&http, ADMIN, PASSWORD).await?;
    let found = wait_until("a container.drift event", PATIENCE, || async {
        let page: serde_json::Value = http
            .get(berth.url("/api/v1/events?kind=container.drift"))
            .send()
            .await?
            .json()
            .await?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        Ok(
            match events.iter().find(|e| e["target"] == format!("container:{BURNER}")) {
                Some(e) => Check::Done(e.clone()),
                None => Check::NotYet(format!("{} drift events", events.len())),
            },
        )
    })
    .await?;
    assert_eq!(found["details"]["expected"], "exited", "{found}");
    Ok(())
}
