//! A stack's life in a real Chromium against a real server, the machine's
//! Docker engine and its docker-compose: a person defines a stack from a
//! compose file on `/stacks/new` (a variable in its command, a secret in
//! its environment), has compose check it, saves it, deploys it from the
//! stack's page, watches the deploy's steps come on its page until it
//! succeeds (its output followed live), and takes the stack down (asked twice): its container is
//! gone. The secret's value is on none of the pages. Needs the engine,
//! docker-compose and the `berth-test/busybox:1` image (`./dev.sh test`).

mod common;

use common::*;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const STACK: &str = "berth-e2e-stack";
const SECRET: &str = "e2e-Secret-Value-7731";
/// `version` given: docker-compose 1.29 refuses berth's override file
/// (versionless, so "version 1" to it) beside a compose file without one
/// when the override pins no image (nothing built); see the report.
const COMPOSE: &str = "version: \"3.9\"\nservices:\n  app:\n    image: berth-test/busybox:1\n    # NAP comes from the stack's variables\n    command: sleep ${NAP}\n    environment:\n      API_TOKEN: \"${API_TOKEN}\"\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 8s\n";
/// Not YAML: an unclosed flow sequence.
const BROKEN: &str = "services:\n  app:\n    image: [berth-test/busybox:1\n";

/// Removes the stack's containers and network before the test and after
/// it, whatever happened.
struct StackGuard;

impl StackGuard {
    fn new() -> StackGuard {
        StackGuard::clean();
        StackGuard
    }

    fn containers() -> Vec<String> {
        let out = std::process::Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=com.docker.compose.project={STACK}"),
            ])
            .output()
            .expect("the docker CLI is installed");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    fn clean() {
        let ids = StackGuard::containers();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .output();
        }
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &format!("{STACK}_default")])
            .output();
    }
}

impl Drop for StackGuard {
    fn drop(&mut self) {
        StackGuard::clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_defined_in_the_browser_deploys_live_and_comes_down() {
    let _guard = StackGuard::new();
    let berth = Arc::new(Berth::start().await.expect("berth starts"));
    run_in_browser(
        "stacks",
        berth,
        |client, berth| async move { walk(&client, &berth).await },
    )
    .await;
}

/// Puts `text` in the compose editor as a person's typing would (the
/// textarea's input event).
async fn set_compose(client: &Client, text: &str) -> Result {
    wait_for(client, "#compose-text").await?;
    client
        .execute(
            "const t = document.querySelector('#compose-text'); t.value = arguments[0];\
             t.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(text)],
        )
        .await?;
    Ok(())
}

async fn page_html(client: &Client) -> Result<String> {
    let v = client
        .execute("return document.documentElement.outerHTML", vec![])
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

async fn assert_no_secret(client: &Client, page: &str) -> Result {
    let html = page_html(client).await?;
    assert!(!html.contains(SECRET), "the secret's value is on the {page} page");
    Ok(())
}

async fn walk(client: &Client, berth: &Berth) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;

    // The list offers a new stack.
    open(client, &berth.url("/stacks")).await?;
    wait_for_text(client, "main h1", "Stacks").await?;
    screenshots(client, "stacks-list-empty").await?;
    wait_for(client, "#new-stack").await?.click().await?;
    wait_for_path(client, "/stacks/new").await?;
    wait_hydrated(client).await?;

    fill(client, "#stack-name", STACK).await?;
    wait_for(client, "#stack-host option[value='local']").await?;

    // Compose finds the broken file's error, then the good file's service.
    set_compose(client, BROKEN).await?;
    wait_for(client, "#compose-check").await?.click().await?;
    wait_for(client, "#compose-problem").await?;
    screenshots(client, "stacks-new-error").await?;
    set_compose(client, COMPOSE).await?;
    wait_for(client, "#compose-check").await?.click().await?;
    let ok = wait_for_text(client, "#compose-ok", "app").await?;
    assert!(ok.contains("Services"), "the check lists the services: {ok}");
    assert!(
        text_of(client, "#compose-problem").await?.is_none(),
        "the old problem is gone"
    );

    // A plain variable used in the command, and a secret.
    for _ in 0..2 {
        wait_for(client, "#var-add").await?.click().await?;
    }
    fill(client, ".var-row:nth-child(1) .var-name", "NAP").await?;
    fill(client, ".var-row:nth-child(1) .var-value", "600").await?;
    fill(client, ".var-row:nth-child(2) .var-name", "API_TOKEN").await?;
    wait_for(client, ".var-row:nth-child(2) .var-secret")
        .await?
        .click()
        .await?;
    fill(client, ".var-row:nth-child(2) .var-value", SECRET).await?;
    let kind = wait_for(client, ".var-row:nth-child(2) .var-value")
        .await?
        .attr("type")
        .await?;
    assert_eq!(
        kind.as_deref(),
        Some("password"),
        "a secret's value is masked while typed"
    );
    screenshots(client, "stacks-new").await?;

    wait_for(client, "#stack-save").await?.click().await?;
    let page = format!("/hosts/local/stacks/{STACK}");
    wait_for_path_unless_error(client, &page, "#stack-error .alert").await?;
    wait_hydrated(client).await?;

    // The stack's page: berth's definition, the secret masked, and Deploy.
    wait_for_text(client, "#definition", "API_TOKEN").await?;
    let masked = text_of(client, "tr[data-var='API_TOKEN'] .var-value").await?;
    assert_eq!(masked.as_deref(), Some("••••••"), "the secret shows masked");
    let plain = text_of(client, "tr[data-var='NAP'] .var-value").await?;
    assert_eq!(plain.as_deref(), Some("600"));
    assert_no_secret(client, "stack").await?;
    wait_for(client, "#deploy").await?.click().await?;

    // The deploy's page: its steps come, and it succeeds.
    let prefix = format!("{page}/deploys/");
    let deploy_url = wait_until("the deploy's page", PATIENCE, || async {
        let url = client.current_url().await?;
        Ok(if url.path().starts_with(&prefix) {
            Check::Done(url)
        } else {
            Check::NotYet(url.to_string())
        })
    })
    .await?;
    wait_hydrated(client).await?;
    // Followed live while it runs (its healthcheck keeps the wait step
    // going for seconds): the output pane says so and fills.
    let live = wait_until("the page to follow the deploy live", PATIENCE, || async {
        let live = text_of(client, "#deploy-live").await?.unwrap_or_default();
        Ok(if live.contains("following") {
            Check::Done(true)
        } else if live.contains("as kept") {
            Check::Done(false)
        } else {
            Check::NotYet(live)
        })
    })
    .await?;
    assert!(live, "the deploy was over before its page followed it");
    wait_for_text(client, "#deploy-log", "==> up").await?;
    screenshots(client, "stacks-deploy-running").await?;

    // Ended: its state, and the output when it did not succeed.
    let ended = wait_until("the deploy to end", Duration::from_secs(120), || async {
        let state = client
            .execute(
                "const b = document.querySelector('#deploy-state .badge'); return b ? b.dataset.state : null;",
                vec![],
            )
            .await?;
        Ok(match state.as_str() {
            Some(s @ ("succeeded" | "failed" | "rolled_back" | "cancelled")) => Check::Done(s.to_string()),
            other => Check::NotYet(format!("state {other:?}")),
        })
    })
    .await?;
    if ended != "succeeded" {
        let log = text_of(client, "#deploy-log").await?.unwrap_or_default();
        return Err(format!("the deploy ended {ended}:\n{log}").into());
    }
    let log = wait_for_text(client, "#deploy-log", "==> wait").await?;
    let mut at = 0;
    for step in ["fetch", "check", "build", "up", "wait"] {
        let line = format!("==> {step}");
        let found = log[at..].find(&line).map(|i| at + i);
        assert!(
            found.is_some(),
            "the output has {line:?} after the steps before it:\n{log}"
        );
        at = found.unwrap_or(at);
        let item = client
            .find(Locator::Css(&format!("ol.timeline li[data-step='{step}']")))
            .await
            .map_err(|e| format!("no step {step} in the timeline: {e}"))?;
        let class = item.attr("class").await?.unwrap_or_default();
        assert!(class.contains("step-succeeded"), "step {step} succeeded: {class}");
    }
    wait_for_text(client, "table.deploy-images", "berth-test/busybox:1").await?;
    assert_no_secret(client, "deploy").await?;
    screenshots(client, "stacks-deploy").await?;

    // The container runs the command with the variable filled in.
    let ids = StackGuard::containers();
    assert_eq!(ids.len(), 1, "one container of the stack: {ids:?}");
    let out = std::process::Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{.State.Running}} {{join .Config.Cmd \" \"}}",
            &ids[0],
        ])
        .output()?;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "true sleep 600");

    // Back on the stack's page: the deploy in the history, then Down, asked twice.
    open(client, &berth.url(&page)).await?;
    let id = deploy_url.path().rsplit('/').next().unwrap_or_default().to_string();
    wait_for_text(client, &format!("table.deploys tr[data-deploy='{id}']"), "succeeded").await?;
    wait_for(client, "tr[data-service='app']").await?;
    wait_for_text(client, "table.services", "running").await?;
    assert_no_secret(client, "stack").await?;
    screenshots(client, "stacks-stack").await?;
    client
        .execute(
            "window.__asked = []; window.confirm = (q) => { window.__asked.push(q); return true; };",
            vec![],
        )
        .await?;
    wait_for(client, ".stack-actions button[data-action='down']")
        .await?
        .click()
        .await?;
    let asked = client.execute("return window.__asked.length", vec![]).await?;
    assert_eq!(asked.as_u64(), Some(2), "Down asks twice");
    wait_for(client, "#stack-acted").await?;
    wait_until("the stack's container to be gone", PATIENCE, || async {
        let left = StackGuard::containers();
        Ok(if left.is_empty() {
            Check::Done(())
        } else {
            Check::NotYet(format!("containers {left:?}"))
        })
    })
    .await?;

    // The list shows the managed stack with its last deploy.
    open(client, &berth.url("/stacks")).await?;
    wait_for_text(client, &format!("tr[data-stack='{STACK}']"), "berth deploys it").await?;
    screenshots(client, "stacks-list").await?;
    Ok(())
}
