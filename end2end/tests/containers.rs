//! The container page in a real Chromium against a real server and the
//! machine's real Docker engine: the test's container is listed; a person
//! stops it; its state changes on the open page without a reload; and the
//! event log shows the stop by that person and the engine's `die` event.
//! Needs the engine and the `berth-test/busybox:1` image (`./dev.sh test`).

mod common;

use common::*;
use fantoccini::{Client, Locator};
use std::sync::Arc;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const NAME: &str = "berth-e2e-web";
/// Created through the page's form.
const MADE: &str = "berth-e2e-made";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_stopped_from_the_page_changes_live_and_is_on_record() {
    let _container = TestContainers::run(NAME, &["sleep", "3600"], &[MADE]);
    let berth = Arc::new(Berth::start().await.expect("berth starts"));
    run_in_browser("containers", berth, |client, berth| async move {
        walk(&client, &berth).await
    })
    .await;
}

async fn state_of(client: &Client) -> Result<Option<String>> {
    let row = client.find(Locator::Css(&format!("tr[data-name='{NAME}']"))).await;
    match row {
        Ok(row) => Ok(row.attr("data-state").await?),
        Err(_) => Ok(None),
    }
}

async fn walk(client: &Client, berth: &Berth) -> Result {
    // Sign up as the first admin (which signs in), then open the page.
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;

    open(client, &berth.url("/containers")).await?;
    wait_for_text(client, "main h1", "Containers").await?;
    wait_until("the test container is listed as running", PATIENCE, || async {
        Ok(match state_of(client).await? {
            Some(s) if s == "running" => Check::Done(()),
            other => Check::NotYet(format!("state {other:?}")),
        })
    })
    .await?;
    let counts = text_of(client, "#container-counts").await?.unwrap_or_default();
    assert!(counts.contains("running"), "state counts: {counts}");

    // Create one from the form; it appears in the list through the engine's events.
    client
        .find(Locator::Css("details.create-form summary"))
        .await?
        .click()
        .await?;
    fill(client, "details.create-form input[name=image]", "berth-test/busybox:1").await?;
    fill(client, "details.create-form input[name=name]", MADE).await?;
    fill(client, "details.create-form input[name=command]", "sleep 3600").await?;
    click_button(client, "Create").await?;
    wait_for_text(client, "#create-ok", "Created").await?;
    wait_until("the created container is listed as running", PATIENCE, || async {
        let row = client.find(Locator::Css(&format!("tr[data-name='{MADE}']"))).await;
        Ok(match row {
            Ok(r) if r.attr("data-state").await?.as_deref() == Some("running") => Check::Done(()),
            _ => Check::NotYet("not listed yet".into()),
        })
    })
    .await?;

    // Stop it with a 1 s timeout; the browser's confirmation is answered yes.
    fill(client, "#stop-timeout", "1").await?;
    client.execute("window.confirm = () => true;", vec![]).await?;
    let stop = client
        .find(Locator::Css(&format!(
            "tr[data-name='{NAME}'] button[data-action='stop']"
        )))
        .await?;
    let url_before = client.current_url().await?;
    stop.click().await?;
    // `sleep` as PID 1 ignores SIGTERM: the engine kills it after the timeout.
    wait_until(
        "the row shows the container exited, without a reload",
        std::time::Duration::from_secs(30),
        || async {
            Ok(match state_of(client).await? {
                Some(s) if s == "exited" => Check::Done(()),
                other => Check::NotYet(format!("state {other:?}")),
            })
        },
    )
    .await?;
    assert_eq!(client.current_url().await?, url_before, "the page did not navigate");

    // The event log has the person's stop and the engine's die.
    open(client, &berth.url(&format!("/events?target=container:{NAME}"))).await?;
    wait_until("the stop and the die are in the log", PATIENCE, || async {
        let kinds: Vec<String> = event_rows(client).await?.into_iter().map(|r| r.kind).collect();
        Ok(
            if kinds.iter().any(|k| k == "container.stop") && kinds.iter().any(|k| k == "container.die") {
                Check::Done(())
            } else {
                Check::NotYet(format!("kinds {kinds:?}"))
            },
        )
    })
    .await?;
    let table = text_of(client, "table.events").await?.unwrap_or_default();
    assert!(table.contains("user:admin"), "the stop names who did it: {table}");
    assert!(
        table.contains("system:engine"),
        "the die comes from the engine: {table}"
    );
    Ok(())
}
