//! Access in a real Chromium: an admin gives a user view on the local host
//! with the grants editor of the user's page; that user signs in, sees the host's containers without any action
//! button, and a stop forced through the server function's URL with their
//! session is refused and shows up in the admin's event log as a denied
//! `container.stop`. Needs the engine and `berth-test/busybox:1`.

mod common;

use common::*;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::sync::Arc;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const VIEWER: &str = "vera";
const VIEWER_PASSWORD: &str = "vera's long password";
const NAME: &str = "berth-e2e-viewed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_containers_without_buttons_and_a_forced_stop_is_refused_on_record() {
    let _container = TestContainers::run(NAME, &["sleep", "3600"], &[]);
    let berth = Arc::new(Berth::start().await.expect("berth starts"));
    run_in_browser(
        "access",
        berth,
        |client, berth| async move { walk(&client, &berth).await },
    )
    .await;
}

async fn walk(client: &Client, berth: &Berth) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;

    // The admin adds the user, and on their page gives them view on local.
    let admin = berth.http();
    assert_eq!(berth.rest_sign_in(&admin, ADMIN, PASSWORD).await?, 200);
    let resp = admin
        .post(berth.url("/api/v1/users"))
        .json(&json!({ "name": VIEWER, "password": VIEWER_PASSWORD, "role": "user" }))
        .send()
        .await?;
    assert_eq!(resp.status(), 201, "adding {VIEWER}");
    let id = resp.json::<serde_json::Value>().await?["id"].as_u64().unwrap();
    open(client, &berth.url(&format!("/users/{id}"))).await?;
    wait_for_text(client, "#user-title", VIEWER).await?;
    wait_for(client, "#grant-add").await?.click().await?;
    fill(client, "#grant-host-0", "local").await?;
    wait_for(client, "#grant-level-0")
        .await?
        .select_by_value("view")
        .await?;
    wait_for(client, "#grants-save").await?.click().await?;
    wait_for_text(client, "#grants-ok", "Saved 1 grant").await?;
    let grants: serde_json::Value = admin
        .get(berth.url(&format!("/api/v1/users/{id}/grants")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(grants[0]["host"], "local", "{grants}");
    assert_eq!(grants[0]["level"], "view", "{grants}");

    // The user signs in in the browser and sees the container, with no buttons.
    client.delete_all_cookies().await?;
    open(client, &berth.url("/login")).await?;
    fill(client, "#login-name", VIEWER).await?;
    fill(client, "#login-password", VIEWER_PASSWORD).await?;
    click_button(client, "Sign in").await?;
    wait_for_path_unless_error(client, "/", "#login-error").await?;
    open(client, &berth.url("/containers")).await?;
    wait_for_text(client, "main h1", "Containers").await?;
    let row = format!("tr[data-name='{NAME}']");
    wait_until("the container is listed", PATIENCE, || async {
        Ok(match client.find(Locator::Css(&row)).await {
            Ok(_) => Check::Done(()),
            Err(_) => Check::NotYet("not listed".into()),
        })
    })
    .await?;
    let buttons = client.find_all(Locator::Css("button[data-action]")).await?;
    assert!(buttons.is_empty(), "a viewer sees {} action buttons", buttons.len());
    let create = client.find_all(Locator::Css("details.create-form")).await?;
    assert!(create.is_empty(), "a viewer sees the create form");

    // A stop forced through the server function with the user's session.
    let viewer = berth.http();
    assert_eq!(berth.rest_sign_in(&viewer, VIEWER, VIEWER_PASSWORD).await?, 200);
    let forced = viewer
        .post(berth.url("/api/container_action"))
        .json(&serde_json::json!({ "host": "local", "id": NAME, "action": "stop" }))
        .send()
        .await?;
    assert_eq!(forced.status(), 403, "a forced stop: {}", forced.text().await?);
    assert_eq!(
        std::process::Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", NAME])
            .output()?
            .stdout,
        b"true\n",
        "the container still runs"
    );

    // The admin sees the refusal in the event log.
    client.delete_all_cookies().await?;
    open(client, &berth.url("/login")).await?;
    fill(client, "#login-name", ADMIN).await?;
    fill(client, "#login-password", PASSWORD).await?;
    click_button(client, "Sign in").await?;
    wait_for_path_unless_error(client, "/", "#login-error").await?;
    open(
        client,
        &berth.url(&format!("/events?target=container:{NAME}&outcome=denied")),
    )
    .await?;
    wait_until("the refused stop is in the log", PATIENCE, || async {
        let rows = event_rows(client).await?;
        Ok(if rows.iter().any(|r| r.kind == "container.stop") {
            Check::Done(())
        } else {
            Check::NotYet(format!("{} rows", rows.len()))
        })
    })
    .await?;
    let table = text_of(client, "table.events").await?.unwrap_or_default();
    assert!(
        table.contains(&format!("user:{VIEWER}")),
        "the refusal names who: {table}"
    );
    Ok(())
}
