//! Managing hosts on /hosts, in a real Chromium against a real server and a
//! real `berth agent` on a loopback port (serving the local engine): an
//! admin adds the agent's machine through the form (a bad name is refused
//! with the server's message; "Check" shows the fingerprint of the agent's
//! certificate file; add), sees it connected in the list and on the
//! dashboard, renames it, accepts the new fingerprint after the agent's
//! certificate is replaced, disables and enables it, and removes it; the
//! event log has each change. A user who is not an admin sees the host
//! cards and no controls. The token is never on a page. Needs the Docker
//! engine. With `BERTH_E2E_SHOTS=DIR`, it saves screenshots there.

mod common;

use common::agent::Agent;
use common::*;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const VIEWER: &str = "vera";
const VIEWER_PASSWORD: &str = "vera's long password";
const HOST: &str = "edge-1";
const RENAMED: &str = "edge-2";
/// A host's first connection, and a heartbeat or two.
const CONNECTING: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_renames_repins_disables_enables_and_removes_an_agent_host() {
    let docker_host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let agent = Agent::start(&docker_host, &[]).await.expect("the agent starts");
    // Heartbeats every second: a changed certificate shows within two.
    let berth = Arc::new(
        Berth::start_with_env(&[("BERTH_STATS_INTERVAL_SECS", "1")])
            .await
            .expect("berth starts"),
    );
    run_in_browser("hosts-admin", berth, |client, berth| async move {
        walk(&client, &berth, agent).await
    })
    .await;
}

/// The entry of host `name` in the admin's list.
fn entry(name: &str) -> String {
    format!("li.host-entry[data-host='{name}']")
}

/// The `data-state` of host `name`'s entry; `None` when it is not listed.
async fn entry_state(client: &Client, name: &str) -> Result<Option<String>> {
    match client.find(Locator::Css(&entry(name))).await {
        Ok(li) => Ok(li.attr("data-state").await?),
        Err(_) => Ok(None),
    }
}

async fn wait_for_entry_state(client: &Client, name: &str, wanted: &str, patience: Duration) -> Result {
    wait_until(&format!("host {name} listed as {wanted}"), patience, || async {
        Ok(match entry_state(client, name).await? {
            Some(s) if s == wanted => Check::Done(()),
            other => Check::NotYet(format!(
                "state {other:?}: {:?}",
                text_of(client, &format!("{} .entry-state", entry(name))).await?
            )),
        })
    })
    .await
}

async fn count(client: &Client, css: &str) -> Result<usize> {
    Ok(client.find_all(Locator::Css(css)).await?.len())
}

async fn click(client: &Client, css: &str) -> Result {
    wait_for(client, css).await?.click().await?;
    Ok(())
}

/// The fingerprint of the certificate in `pem`, as berth writes it
/// (`sha256:` and the lowercase hex of the DER's SHA-256), computed by
/// openssl, apart from berth.
fn fingerprint_of(pem: &std::path::Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let hex = printed.trim().rsplit('=').next().unwrap_or_default();
    format!("sha256:{}", hex.replace(':', "").to_lowercase())
}

/// Nowhere in the page's markup or text. (The password field keeps what
/// the admin typed until the host is added, masked.)
async fn assert_not_on_page(client: &Client, secret: &str, when: &str) -> Result {
    let found = client
        .execute(
            "return document.documentElement.outerHTML.includes(arguments[0]);",
            vec![json!(secret)],
        )
        .await?;
    assert_eq!(found, json!(false), "the agent's token is on the page {when}");
    Ok(())
}

async fn walk(client: &Client, berth: &Berth, mut agent: Agent) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;
    open(client, &berth.url("/hosts")).await?;
    wait_for(client, "#hosts-admin").await?;
    wait_for(client, &format!("{}[data-origin='local']", entry("local"))).await?;
    let how = text_of(client, &format!("{} .entry-how", entry("local"))).await?;
    assert_eq!(how.as_deref(), Some("local engine"));
    screenshots(client, "hosts-admin-top").await?;
    click(client, "a[href='#add-host']").await?;
    wait_until("the Add a host button to lead to the form", PATIENCE, || async {
        let seen = client
            .execute(
                "const r = document.querySelector('#add-host').getBoundingClientRect();
                 return location.hash + ' ' + (r.top >= 0 && r.top < innerHeight);",
                vec![],
            )
            .await?;
        Ok(match seen.as_str() {
            Some("#add-host true") => Check::Done(()),
            other => Check::NotYet(format!("{other:?}")),
        })
    })
    .await?;

    // Step 1: a bad name is refused with the server's message.
    fill(client, "#add-host-name", "Edge One").await?;
    fill(client, "#add-host-url", &agent.url).await?;
    fill(client, "#add-host-token", &agent.token).await?;
    click(client, "#add-host-check").await?;
    let shown = wait_for(client, "#add-host-presented").await?.text().await?;
    assert_eq!(shown, agent.fingerprint, "Check shows what `berth agent init` printed");
    assert_eq!(
        shown,
        fingerprint_of(&agent.cert_path()),
        "Check shows the fingerprint of the agent's certificate file"
    );
    screenshots(client, "hosts-admin-checked").await?;
    click(client, "#add-host-submit").await?;
    let error = wait_for_text(client, "#add-host-error", "not a host name").await?;
    assert!(error.contains("Edge One"), "the error names the name: {error}");
    assert_not_on_page(client, &agent.token, "after a refused add").await?;

    // Step 2: a good name; the check still stands, so add.
    fill(client, "#add-host-name", HOST).await?;
    click(client, "#add-host-submit").await?;
    wait_for_text(client, "#add-host-ok", &format!("Added host {HOST}")).await?;
    wait_for_entry_state(client, HOST, "connected", CONNECTING).await?;
    let e = entry(HOST);
    let how = text_of(client, &format!("{e} .entry-how")).await?.unwrap_or_default();
    assert_eq!(how, format!("agent · {}", agent.url));
    // The round trip comes with the live feed, after a heartbeat.
    let state = wait_for_text(client, &format!("{e} .entry-state"), "round trip").await?;
    assert!(
        state.contains("Connected since") && state.contains("agent 0."),
        "{state}"
    );
    let pinned = client
        .execute(
            "return document.querySelector(arguments[0])?.title ?? null;",
            vec![json!(format!("{e} code.fingerprint"))],
        )
        .await?;
    assert_eq!(
        pinned,
        json!(agent.fingerprint),
        "the pinned fingerprint, whole, in the title"
    );
    let origin = text_of(client, &format!("{e} .entry-origin"))
        .await?
        .unwrap_or_default();
    assert!(origin.starts_with("added by user:admin on "), "{origin}");
    assert_eq!(
        client
            .execute(
                "return [...document.querySelectorAll('#add-host-form input')].map((i) => i.value).join('');",
                vec![]
            )
            .await?,
        json!(""),
        "the form is emptied after adding"
    );
    assert_not_on_page(client, &agent.token, "after adding").await?;
    screenshots(client, "hosts-admin-connected").await?;

    // On the dashboard too, connected.
    open(client, &berth.url("/")).await?;
    wait_until("the dashboard shows the new host connected", CONNECTING, || async {
        Ok(
            match text_of(
                client,
                &format!(".host-card[data-host='{HOST}'][data-reachable='true'] h2"),
            )
            .await?
            {
                Some(name) if name == HOST => Check::Done(()),
                other => Check::NotYet(format!("{other:?}")),
            },
        )
    })
    .await?;

    // Rename.
    open(client, &berth.url("/hosts")).await?;
    click(client, &format!("{e} summary[data-action='rename']")).await?;
    fill(client, &format!("{e} input[name='new_name']"), RENAMED).await?;
    click(client, &format!("{e} button[data-action='rename-confirm']")).await?;
    wait_for_text(client, "#host-change-ok", &format!("Renamed {HOST} to {RENAMED}")).await?;
    wait_for_entry_state(client, RENAMED, "connected", CONNECTING).await?;
    assert_eq!(entry_state(client, HOST).await?, None, "the old name is gone");
    let e = entry(RENAMED);

    // The agent's certificate is replaced: berth refuses it, says so, and
    // offers the one it presents; the admin compares and pins it.
    let renewed = agent.renew_certificate().await?;
    assert_eq!(renewed, fingerprint_of(&agent.cert_path()));
    wait_for_entry_state(client, RENAMED, "unreachable", CONNECTING).await?;
    wait_for_text(client, &format!("{e} .entry-state"), "certificate changed").await?;
    let presents = text_of(client, &format!("{e} .fingerprint-changed code.presented")).await?;
    assert_eq!(
        presents.as_deref(),
        Some(renewed.as_str()),
        "the note says what the agent presents"
    );
    click(client, &format!("{e} summary[data-action='accept']")).await?;
    let suggested = client
        .execute(
            "return document.querySelector(arguments[0])?.value ?? null;",
            vec![json!(format!("{e} input[name='fingerprint']"))],
        )
        .await?;
    assert_eq!(suggested, json!(renewed), "the presented fingerprint is suggested");
    screenshots(client, "hosts-admin-certificate-changed").await?;
    click(client, &format!("{e} button[data-action='accept-confirm']")).await?;
    wait_for_text(client, "#host-change-ok", "Pinned the new fingerprint").await?;
    wait_for_entry_state(client, RENAMED, "connected", CONNECTING).await?;
    wait_for_text(client, &format!("{e} code.fingerprint"), &renewed).await?;

    // Disable, then enable.
    click(client, &format!("{e} button[data-action='disable']")).await?;
    wait_for_entry_state(client, RENAMED, "disabled", PATIENCE).await?;
    wait_for_text(client, &format!("{e} .entry-state"), "Disabled since").await?;
    wait_until("the disabled host's card to go", PATIENCE, || async {
        Ok(
            match count(client, &format!(".host-card[data-host='{RENAMED}']")).await? {
                0 => Check::Done(()),
                n => Check::NotYet(format!("{n} card(s)")),
            },
        )
    })
    .await?;
    screenshots(client, "hosts-admin-disabled").await?;
    click(client, &format!("{e} button[data-action='enable']")).await?;
    wait_for_entry_state(client, RENAMED, "connected", CONNECTING).await?;

    // Remove, after a question that says the history stays.
    click(client, &format!("{e} summary[data-action='remove']")).await?;
    let question = wait_for_text(client, &format!("{e} .remove-question"), RENAMED).await?;
    assert!(question.contains("history stays in the event log"), "{question}");
    screenshots(client, "hosts-admin-remove").await?;
    click(client, &format!("{e} button[data-action='remove-confirm']")).await?;
    wait_for_text(client, "#host-change-ok", &format!("Removed {RENAMED}")).await?;
    wait_until("the removed host to leave the list", PATIENCE, || async {
        Ok(match entry_state(client, RENAMED).await? {
            None => Check::Done(()),
            Some(s) => Check::NotYet(format!("still listed, {s}")),
        })
    })
    .await?;

    // The event log has each change, by the admin.
    open(client, &berth.url("/events?kind=host.*")).await?;
    let wanted = [
        "host.add",
        "host.rename",
        "host.fingerprint_accept",
        "host.disable",
        "host.enable",
        "host.remove",
    ];
    wait_until("the host changes in the event log", PATIENCE, || async {
        let kinds: Vec<String> = event_rows(client).await?.into_iter().map(|r| r.kind).collect();
        Ok(if wanted.iter().all(|w| kinds.iter().any(|k| k == w)) {
            Check::Done(())
        } else {
            Check::NotYet(format!("{kinds:?}"))
        })
    })
    .await?;

    // Before the page runs, the forms post to the server functions; the
    // fingerprint is typed in then.
    let admin = berth.http();
    assert_eq!(berth.rest_sign_in(&admin, ADMIN, PASSWORD).await?, 200);
    let html = admin.get(berth.url("/hosts")).send().await?.text().await?;
    for part in ["action=\"/api/add_host_form\"", "id=\"add-host-fingerprint\""] {
        assert!(html.contains(part), "the server-rendered /hosts has no {part}");
    }
    assert!(!html.contains(&agent.token), "the token is in the server-rendered page");
    // A browser without the wasm posts them and is sent back to /hosts.
    let post = |path: &str, fields: &[(&str, &str)]| {
        admin
            .post(berth.url(path))
            .header("accept", "text/html")
            .header("referer", berth.url("/hosts"))
            .form(fields)
            .send()
    };
    let location = |resp: &reqwest::Response| {
        let to = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        let to = to.unwrap_or_else(|| panic!("a form post answers {} without a location", resp.status()));
        assert!(to.starts_with(&berth.url("/hosts")), "a form post leads to {to}");
        to
    };
    let back = |resp: reqwest::Response| {
        assert!(resp.status().is_redirection(), "a form post answers {}", resp.status());
        location(&resp)
    };
    let add_form = |name| {
        [
            ("name", name),
            ("url", agent.url.as_str()),
            ("token", agent.token.as_str()),
            ("fingerprint", agent.fingerprint.as_str()),
        ]
    };
    // A refused one carries the server's message back in the URL, and the
    // page shows it. (Its answer's status is the error's, not a redirect.)
    let refused = location(&post("/api/add_host_form", &add_form("local")).await?);
    let html = admin.get(refused).send().await?.text().await?;
    assert!(
        html.contains("id=\"add-host-error\"") && html.contains("is the engine beside berth"),
        "the refused add's message is not on the page it leads back to"
    );
    let refused = location(&post("/api/rename_host_form", &[("host", "local"), ("new_name", "here")]).await?);
    let html = admin.get(refused).send().await?.text().await?;
    assert!(
        html.contains("id=\"host-change-error\"") && html.contains("cannot be renamed"),
        "the refused rename's message is not on the page it leads back to"
    );
    let to = back(post("/api/add_host_form", &add_form("edge-3")).await?);
    let html = admin.get(to).send().await?.text().await?;
    assert!(
        html.contains("data-host=\"edge-3\""),
        "the host added without the wasm is not listed"
    );
    assert!(!html.contains(&agent.token), "the token is in the server-rendered page");
    let to = back(post("/api/remove_host_form", &[("host", "edge-3")]).await?);
    let html = admin.get(to).send().await?.text().await?;
    assert!(
        !html.contains("data-host=\"edge-3\""),
        "the host removed without the wasm is still listed"
    );

    // A user who is not an admin: the host cards, no controls.
    let resp = admin
        .post(berth.url("/api/v1/users"))
        .json(&json!({ "name": VIEWER, "password": VIEWER_PASSWORD, "role": "user" }))
        .send()
        .await?;
    assert_eq!(resp.status(), 201, "adding {VIEWER}");
    let id = resp.json::<serde_json::Value>().await?["id"].as_u64().unwrap();
    let resp = admin
        .put(berth.url(&format!("/api/v1/users/{id}/grants")))
        .json(&json!([{ "host": "*", "level": "view" }]))
        .send()
        .await?;
    assert_eq!(resp.status(), 200, "granting {VIEWER} view");
    sign_in(client, berth, VIEWER, VIEWER_PASSWORD).await?;
    open(client, &berth.url("/hosts")).await?;
    wait_for(client, ".host-card[data-host='local']").await?;
    for css in ["#hosts-admin", "li.host-entry", "#add-host", "a[href='#add-host']"] {
        assert_eq!(count(client, css).await?, 0, "a user who is not an admin sees `{css}`");
    }
    screenshots(client, "hosts-viewer").await?;
    let viewer = berth.http();
    assert_eq!(berth.rest_sign_in(&viewer, VIEWER, VIEWER_PASSWORD).await?, 200);
    let html = viewer.get(berth.url("/hosts")).send().await?.text().await?;
    assert!(
        html.contains("host-card"),
        "the viewer's server-rendered /hosts has the cards"
    );
    assert!(
        !html.contains("hosts-admin") && !html.contains("add_host_form"),
        "the viewer's server-rendered /hosts has the controls"
    );
    Ok(())
}
