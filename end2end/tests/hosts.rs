//! Every host in one view, in a real Chromium against a real server: the
//! local engine, and a second, real Docker engine on this machine served
//! through a real `berth agent` process (host `web-2`) and through a second,
//! read-only agent (host `ro-3`). /containers lists the containers of all
//! three with their host; filtering to `web-2` shows only its; a person
//! stops a container there from the page and sees it exited; the event log
//! filtered by that host has the stop; the read-only host shows no action
//! anywhere; the dashboard shows how each host is reached; the images page
//! follows the host select. Needs root (the second engine's bridge), so it
//! is `#[ignore]`d (`./dev.sh test` runs it as root), the first engine and
//! the `berth-test/busybox:1` image (`./dev.sh test`).
//! With `BERTH_E2E_SHOTS=DIR`, it saves screenshots of each page there.

mod common;
// Shared with the server's tests, which use its TLS port and certificates too.
#[allow(dead_code)]
#[path = "../../server/tests/common/second_engine.rs"]
mod second_engine;

use common::agent::Agent;
use common::*;
use fantoccini::{Client, Locator};
use second_engine::SecondEngine;
use std::sync::Arc;
use std::time::Duration;

/// What `second_engine` takes from the server tests' common module.
mod docker {
    pub const IMAGE: &str = "berth-test/busybox:1";
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_engine_running() {
    let info = std::process::Command::new("docker")
        .arg("info")
        .output()
        .expect("the docker CLI is installed");
    assert!(info.status.success(), "no Docker engine is running: start dockerd");
}

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
/// On the first engine (host `local`).
const HERE: &str = "berth-e2e-hosts-here";
/// On the second engine (hosts `web-2` and `ro-3`).
const THERE: &str = "berth-e2e-hosts-there";
const AGENT_HOST: &str = "web-2";
const READ_ONLY_HOST: &str = "ro-3";
/// A host's first connection, and a heartbeat or two.
const CONNECTING: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts a second dockerd: needs root, run with --ignored (./dev.sh test does as root)"]
async fn every_host_in_one_list_filtered_by_host_and_acted_on_through_an_agent() {
    let engine = tokio::task::spawn_blocking(SecondEngine::start).await.unwrap();
    let _here = TestContainers::run(HERE, &["sleep", "3600"], &[]);
    engine.docker(&["run", "-d", "--name", THERE, docker::IMAGE, "sleep", "3600"]);
    let agent = Agent::start(&engine.socket, &[]).await.expect("the agent starts");
    let read_only = Agent::start(&engine.socket, &["--read-only"])
        .await
        .expect("the read-only agent starts");
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("berth.toml");
    // Heartbeats every second: a host that goes away is marked within two.
    let settings = format!(
        "stats_interval_secs = 1\n\n{}\n{}",
        agent.host_entry(AGENT_HOST).unwrap(),
        read_only.host_entry(READ_ONLY_HOST).unwrap()
    );
    std::fs::write(&config, settings).unwrap();
    let berth = Arc::new(Berth::start_with_config(&config).await.expect("berth starts"));
    let socket = engine.socket.clone();
    run_in_browser("hosts", berth, |client, berth| async move {
        walk(&client, &berth, &socket, read_only).await
    })
    .await;
}

/// The row of container `name` on `host`.
fn row(host: &str, name: &str) -> String {
    format!("table.containers tr[data-host='{host}'][data-name='{name}']")
}

async fn state_of(client: &Client, row: &str) -> Result<Option<String>> {
    match client.find(Locator::Css(row)).await {
        Ok(tr) => Ok(tr.attr("data-state").await?),
        Err(_) => Ok(None),
    }
}

async fn wait_for_state(client: &Client, row: &str, wanted: &str, patience: Duration) -> Result {
    wait_until(&format!("{row} to be {wanted}"), patience, || async {
        Ok(match state_of(client, row).await? {
            Some(s) if s == wanted => Check::Done(()),
            other => Check::NotYet(format!("state {other:?}")),
        })
    })
    .await
}

/// The host of every container row on the page, top to bottom.
async fn row_hosts(client: &Client) -> Result<Vec<String>> {
    let v = client
        .execute(
            "return [...document.querySelectorAll('table.containers tbody tr[data-host]')].map((tr) => tr.dataset.host);",
            vec![],
        )
        .await?;
    Ok(v.as_array()
        .ok_or("the row script returns an array")?
        .iter()
        .map(|h| h.as_str().unwrap_or_default().to_string())
        .collect())
}

async fn count(client: &Client, css: &str) -> Result<usize> {
    Ok(client.find_all(Locator::Css(css)).await?.len())
}

async fn selected_host(client: &Client) -> Result<String> {
    let v = client
        .execute("return document.querySelector('#host-select')?.value ?? null;", vec![])
        .await?;
    Ok(v.as_str().unwrap_or("(no host select)").to_string())
}

/// `read_only` is the read-only agent, which the walk stops near its end.
async fn walk(client: &Client, berth: &Berth, second_engine: &str, read_only: Agent) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;

    // One list: the containers of every host, each with its host.
    open(client, &berth.url("/containers")).await?;
    wait_for_text(client, "main h1", "Containers").await?;
    let (here, there) = (row("local", HERE), row(AGENT_HOST, THERE));
    let there_read_only = row(READ_ONLY_HOST, THERE);
    wait_for_state(client, &here, "running", CONNECTING).await?;
    wait_for_state(client, &there, "running", CONNECTING).await?;
    wait_for_state(client, &there_read_only, "running", CONNECTING).await?;
    let cell = text_of(client, &format!("{there} td.host-cell")).await?;
    assert_eq!(
        cell.as_deref(),
        Some(AGENT_HOST),
        "the Host column names the agent's host"
    );
    assert_eq!(
        text_of(client, &format!("{here} td.host-cell")).await?.as_deref(),
        Some("local")
    );
    assert_eq!(selected_host(client).await?, "", "the select starts at all hosts");

    // What each host allows: the admin may do everything, the read-only
    // agent refuses changes, so its rows have no buttons and it says so.
    assert_eq!(
        count(client, &format!("{there} button[data-action='stop']")).await?,
        1,
        "web-2's running container can be stopped"
    );
    assert_eq!(
        count(client, &format!("{there_read_only} button[data-action]")).await?,
        0,
        "a read-only host's row offers actions"
    );
    let note = wait_for_text(
        client,
        &format!(".read-only-note[data-host='{READ_ONLY_HOST}']"),
        "read-only agent",
    )
    .await?;
    assert!(note.contains(READ_ONLY_HOST), "the note names the host: {note}");
    let create_hosts = client
        .execute(
            "return [...document.querySelectorAll('#create-host option')].map((o) => o.value);",
            vec![],
        )
        .await?;
    assert_eq!(
        create_hosts,
        serde_json::json!(["local", AGENT_HOST]),
        "the create form offers the hosts that allow changes"
    );
    screenshots(client, "containers-all").await?;

    // Filtered to the agent's host: only its containers, and the URL says so.
    client
        .find(Locator::Css("#host-select"))
        .await?
        .select_by_value(AGENT_HOST)
        .await?;
    wait_until("the list shows only web-2", PATIENCE, || async {
        let hosts = row_hosts(client).await?;
        let url = client.current_url().await?;
        Ok(
            if url.query() == Some("host=web-2") && !hosts.is_empty() && hosts.iter().all(|h| h == AGENT_HOST) {
                Check::Done(())
            } else {
                Check::NotYet(format!("{url}: rows on {hosts:?}"))
            },
        )
    })
    .await?;
    assert_eq!(state_of(client, &there).await?.as_deref(), Some("running"));
    assert_eq!(
        state_of(client, &here).await?,
        None,
        "a local container shows under web-2"
    );
    // The create form picks the host the list is filtered to.
    client
        .find(Locator::Css("details.create-form summary"))
        .await?
        .click()
        .await?;
    let create_host = client
        .execute("return document.querySelector('#create-host').value;", vec![])
        .await?;
    assert_eq!(create_host, AGENT_HOST, "the create form's host");
    screenshots(client, "containers-web-2").await?;

    // Stopped from the page (1 s timeout, the confirmation answered yes),
    // on the second engine; the row follows without a reload.
    fill(client, "#stop-timeout", "1").await?;
    client.execute("window.confirm = () => true;", vec![]).await?;
    client
        .find(Locator::Css(&format!("{there} button[data-action='stop']")))
        .await?
        .click()
        .await?;
    wait_for_state(client, &there, "exited", Duration::from_secs(30)).await?;
    let on_engine = std::process::Command::new("docker")
        .env("DOCKER_HOST", second_engine)
        .args(["inspect", "-f", "{{.State.Status}}", THERE])
        .output()?;
    assert_eq!(
        text(&on_engine.stdout).trim(),
        "exited",
        "the second engine's container stopped"
    );

    // A shared link opens the same view.
    open(client, &berth.url("/containers?host=web-2")).await?;
    wait_for_state(client, &there, "exited", PATIENCE).await?;
    assert_eq!(selected_host(client).await?, AGENT_HOST);
    let hosts = row_hosts(client).await?;
    assert!(hosts.iter().all(|h| h == AGENT_HOST), "rows on {hosts:?}");

    // Its page: the container, and how its host is reached.
    client
        .find(Locator::Css(&format!("{there} td a")))
        .await?
        .click()
        .await?;
    let host_line = wait_for_text(client, "#container-host", AGENT_HOST).await?;
    assert!(host_line.contains("agent"), "the container's host line: {host_line}");
    assert!(client.current_url().await?.path().starts_with("/containers/web-2/"));
    screenshots(client, "container-web-2").await?;

    // The event log, filtered by that host, has the person's stop there.
    open(client, &berth.url("/events?host=web-2&kind=container.stop")).await?;
    wait_until("the stop on web-2 is in the log", PATIENCE, || async {
        let kinds: Vec<String> = event_rows(client).await?.into_iter().map(|r| r.kind).collect();
        Ok(if kinds.iter().any(|k| k == "container.stop") {
            Check::Done(())
        } else {
            Check::NotYet(format!("kinds {kinds:?}"))
        })
    })
    .await?;
    let table = text_of(client, "table.events").await?.unwrap_or_default();
    for wanted in [AGENT_HOST, &format!("container:{THERE}"), "user:admin"] {
        assert!(table.contains(wanted), "the stop's row lacks {wanted}: {table}");
    }

    // The dashboard: each host's state and how berth reaches it.
    open(client, &berth.url("/")).await?;
    let card = |host: &str| format!(".host-card[data-host='{host}']");
    let version = env!("CARGO_PKG_VERSION");
    wait_until("web-2's card shows the agent and a round trip", CONNECTING, || async {
        let text = text_of(client, &card(AGENT_HOST)).await?.unwrap_or_default();
        Ok(
            if text.contains("connected") && text.contains(&format!("agent {version}")) && text.contains(" ms") {
                Check::Done(())
            } else {
                Check::NotYet(text)
            },
        )
    })
    .await?;
    wait_for_text(client, &card(READ_ONLY_HOST), "read-only").await?;
    wait_for_text(client, &card("local"), "local engine").await?;
    screenshots(client, "dashboard").await?;

    // Images follow the host select; the read-only host offers no removal.
    let image_row = |host: &str| format!("table.images[data-host='{host}'] tr[data-name='{}']", docker::IMAGE);
    open(client, &berth.url("/images?host=web-2")).await?;
    wait_for(client, &image_row(AGENT_HOST)).await?;
    assert_eq!(selected_host(client).await?, AGENT_HOST);
    assert_eq!(
        count(client, "button[data-action='prune']").await?,
        1,
        "web-2 can be pruned"
    );
    client
        .find(Locator::Css("#host-select"))
        .await?
        .select_by_value(READ_ONLY_HOST)
        .await?;
    wait_for(client, &image_row(READ_ONLY_HOST)).await?;
    assert_eq!(client.current_url().await?.query(), Some("host=ro-3"));
    wait_for_text(client, ".read-only-note", "read-only").await?;
    assert_eq!(
        count(client, "button[data-action]").await?,
        0,
        "a read-only host offers removal or prune"
    );
    screenshots(client, "images-ro-3").await?;
    // Networks of web-2's engine; volumes of the first host by default.
    open(client, &berth.url("/networks?host=web-2")).await?;
    wait_for(client, "table.networks[data-host='web-2'] tr[data-name='bridge']").await?;
    screenshots(client, "networks-web-2").await?;
    open(client, &berth.url("/volumes")).await?;
    wait_until("the volumes page shows host local", PATIENCE, || async {
        Ok(match selected_host(client).await?.as_str() {
            "local" => Check::Done(()),
            other => Check::NotYet(other.to_string()),
        })
    })
    .await?;
    // The host's own page.
    open(client, &berth.url("/hosts/web-2")).await?;
    wait_for_text(client, &card(AGENT_HOST), "connected").await?;
    screenshots(client, "host-web-2").await?;

    // The read-only agent stops: the open list says the host is unreachable,
    // since when and why, without a reload; its rows stay as last seen.
    open(client, &berth.url("/containers")).await?;
    // Stopped above through web-2: the same engine.
    wait_for_state(client, &there_read_only, "exited", PATIENCE).await?;
    drop(read_only);
    let down = format!(".host-down[data-host='{READ_ONLY_HOST}']");
    let banner = wait_for_text(client, &down, "is unreachable since").await?;
    assert!(
        banner.starts_with(&format!("Host {READ_ONLY_HOST} ")),
        "the banner names the host: {banner}"
    );
    assert_eq!(count(client, ".host-down").await?, 1, "only ro-3 is down");
    assert!(state_of(client, &there_read_only).await?.is_some(), "ro-3's rows stay");
    screenshots(client, "containers-unreachable").await?;
    open(client, &berth.url("/")).await?;
    wait_for_text(client, &card(READ_ONLY_HOST), "unreachable").await?;
    let since = text_of(client, &format!("{} .host-since", card(READ_ONLY_HOST))).await?;
    assert!(
        since.as_deref().is_some_and(|s| s.starts_with("Unreachable since")),
        "ro-3's card: {since:?}"
    );
    screenshots(client, "dashboard-unreachable").await?;
    Ok(())
}
