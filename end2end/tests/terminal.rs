//! The web terminal in a real Chromium against a real server and engine: an
//! admin opens the container's page, follows its Terminal link, connects
//! (xterm.js, loaded only there), types `echo` and sees the shell's answer,
//! resizes nothing by hand (the fit addon does), disconnects; then opens the
//! session's `terminal.close` event, whose player fetches the recording,
//! checks its SHA-256 in the browser and replays it: the replayed screen
//! shows the echo. The event page of another kind loads no terminal script.
//! Needs the Docker engine and the test image. With `BERTH_E2E_SHOTS=DIR`,
//! it saves screenshots there.

mod common;

use common::*;
use fantoccini::{Client, Locator};
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_types_into_a_terminal_and_an_auditor_replays_it() {
    let name = format!("berth-e2e-term-{}", std::process::id());
    let _containers = TestContainers::run(&name, &["sleep", "3600"], &[]);
    let berth = Arc::new(Berth::start().await.expect("berth starts"));
    run_in_browser("terminal", berth, move |client, berth| async move {
        walk(&client, &berth, &name).await
    })
    .await;
}

/// What the terminal in `css` shows, row by row, looked at as a person
/// would: scrolled into view first (xterm.js draws nothing while its
/// element is off screen, and the replay's screen is below the fold).
async fn screen(client: &Client, css: &str) -> Result<String> {
    let v = client
        .execute(
            "const term = document.querySelector(arguments[0]); \
             if (!term) return ''; \
             term.scrollIntoView({ block: 'nearest' }); \
             const rows = term.querySelector('.xterm-rows'); \
             return rows ? [...rows.children].map((r) => r.textContent).join('\\n') : '';",
            vec![serde_json::json!(css)],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

async fn wait_for_screen(client: &Client, css: &str, wanted: &str, patience: Duration) -> Result<String> {
    wait_until(&format!("{wanted:?} on the terminal"), patience, || async {
        let shown = screen(client, css).await?;
        Ok(if shown.contains(wanted) {
            Check::Done(shown)
        } else {
            Check::NotYet(format!("{shown:?}"))
        })
    })
    .await
}

async fn scripts(client: &Client) -> Result<Vec<String>> {
    let v = client
        .execute(
            "return [...document.scripts].map((s) => s.src).filter((s) => s);",
            vec![],
        )
        .await?;
    Ok(v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}

async fn walk(client: &Client, berth: &Berth, name: &str) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;
    open(client, &berth.url(&format!("/containers/local/{name}"))).await?;
    assert!(
        !scripts(client)
            .await?
            .iter()
            .any(|s| s.contains("terminal.js") || s.contains("xterm")),
        "a page without a terminal loaded its script"
    );
    wait_for(client, "#container-terminal").await?.click().await?;
    wait_for_path(client, &format!("/containers/local/{name}/terminal")).await?;
    wait_for_text(client, "h1", &format!("Terminal · {name}")).await?;
    wait_for_text(client, "#terminal-status", "Not connected").await?;

    click_button(client, "Connect").await?;
    wait_for_text(client, "#terminal-status", "Connected").await?;
    wait_for_screen(client, "#terminal-screen", "#", Duration::from_secs(10)).await?;
    let loaded = scripts(client).await?;
    assert!(
        loaded.iter().any(|s| s.ends_with("/terminal.js")) && loaded.iter().any(|s| s.ends_with("/xterm/xterm.js")),
        "the terminal page loaded {loaded:?}"
    );
    // Keys go where a person's would: xterm.js's own input.
    let input = wait_for(client, "#terminal-screen .xterm-helper-textarea").await?;
    input.send_keys("echo browser-$((6*7))-typed\n").await?;
    let shown = wait_for_screen(client, "#terminal-screen", "browser-42-typed", PATIENCE).await?;
    assert!(shown.contains("echo browser-$((6*7))-typed"), "{shown}");
    screenshots(client, "terminal").await?;

    click_button(client, "Disconnect").await?;
    wait_for_text(client, "#terminal-status", "Closed").await?;

    // The session's end, in the event log, with its replay.
    let http = berth.http();
    berth.rest_sign_in(&http, ADMIN, PASSWORD).await?;
    let seq = wait_until("terminal.close is recorded", PATIENCE, || async {
        let page: serde_json::Value = http
            .get(berth.url(&format!("/api/v1/events?kind=terminal.close&target=container:{name}")))
            .send()
            .await?
            .json()
            .await?;
        // The session typed into (one closed before it, with no keys, is not it).
        let typed = page["events"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["details"]["bytes_in"].as_u64().unwrap_or(0) > 0))
            .and_then(|e| e["seq"].as_u64());
        Ok(match typed {
            Some(seq) => Check::Done(seq),
            None => Check::NotYet(page.to_string()),
        })
    })
    .await?;
    open(client, &berth.url(&format!("/events/{seq}"))).await?;
    wait_for_text(client, "h1", "terminal.close").await?;
    click_button(client, "Replay").await?;
    wait_for_text(client, "#replay-result", "is the one this event holds").await?;
    // Straight to the end: the whole session on the screen.
    wait_for(client, "#replay-end").await?.click().await?;
    let replayed = wait_for_screen(client, "#replay-screen", "browser-42-typed", PATIENCE).await?;
    assert!(replayed.contains("echo browser-$((6*7))-typed"), "{replayed}");
    // And played from the start, fast.
    let speed = wait_for(client, "#replay-speed").await?;
    speed.select_by_value("16").await?;
    client.find(Locator::Css("#replay-seek")).await?;
    wait_for(client, "#replay-play").await?.click().await?;
    wait_for_text(client, "#replay-time", "/").await?;
    screenshots(client, "terminal-replay").await?;

    // Watching it is on record.
    let page: serde_json::Value = http
        .get(berth.url("/api/v1/events?kind=terminal.replay"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page["events"][0]["details"]["event"], seq, "{page}");
    Ok(())
}
