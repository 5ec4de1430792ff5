//! The event log's signed checkpoints in a real Chromium: the log page shows
//! the key that checks them (the same the REST API hands to auditors) and
//! the latest checkpoint, and an admin's "Sign now" signs a bigger one; an
//! event's page fetches the event's proof and checks it in the browser's
//! wasm, vouching for the event with the server's key and refusing it with
//! a key of another log or no key at all. No Docker engine needed.

mod common;

use common::*;
use fantoccini::Client;
use serde_json::json;
use std::sync::Arc;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
/// A valid key of another log: `SignerKey::from_seed("x/y", 1, [3; 32])
/// .verifier()` in `berth_core::tlog::note`.
const OTHER_LOG_KEY: &str = "x/y+e54872dd+Ae1JKMYo0cLG6ukDOJBZlWEpWSc6XGP5NjbBRhSshzfR";
/// The event whose proof is checked (any: a fresh log has a few).
const SEQ: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_on_the_log_page_and_a_proof_checked_in_the_browser() {
    let berth = Arc::new(Berth::start().await.expect("berth starts"));
    run_in_browser("log_proof", berth, |client, berth| async move {
        walk(&client, &berth).await
    })
    .await;
}

async fn walk(client: &Client, berth: &Berth) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;
    let http = berth.http();
    let key = http.get(berth.url("/api/v1/log/key")).send().await?.text().await?;
    let key = key.trim().to_string();
    assert!(key.contains('+'), "GET /api/v1/log/key answers {key:?}");

    // The log page: the key in full, and the latest checkpoint.
    open(client, &berth.url("/events")).await?;
    let shown = wait_for_text(client, "#log-key", &key).await?;
    assert_eq!(shown, key, "the page's key is the one auditors get over REST");
    wait_for_text(client, "#checkpoints", "Auditors check berth's checkpoints").await?;
    let before = checkpoint_size(client).await?;
    if before.is_some() {
        let witnesses = text_of(client, "#witnesses").await?.unwrap_or_default();
        assert_eq!(witnesses, "No witness has cosigned the latest checkpoint.");
    }

    // The log grows (a sign-in over REST), and "Sign now" signs it.
    assert_eq!(berth.rest_sign_in(&http, ADMIN, PASSWORD).await?, 200);
    wait_for(client, "#sign-checkpoint").await?.click().await?;
    let after = wait_until("a bigger checkpoint on the page", PATIENCE, || async {
        Ok(match checkpoint_size(client).await? {
            Some(size) if Some(size) > before => Check::Done(size),
            other => Check::NotYet(format!("size {other:?}, before {before:?}")),
        })
    })
    .await?;
    let status: serde_json::Value = http.get(berth.url("/api/v1/log")).send().await?.json().await?;
    let latest = status["checkpoint"]["size"].as_u64().unwrap_or_default();
    assert!(
        latest >= after,
        "REST's latest checkpoint ({latest}) is older than the page's ({after})"
    );

    // A checkpoint signed elsewhere (here over REST, as the background
    // signer would) reaches the open page live: the panel follows it.
    let signed = http
        .post(berth.url("/api/v1/log/checkpoint"))
        .header("Origin", berth.url(""))
        .send()
        .await?;
    assert_eq!(signed.status(), 200, "POST /api/v1/log/checkpoint");
    let note = signed.text().await?;
    let elsewhere: u64 = note.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or_default();
    assert!(
        elsewhere > after,
        "the REST checkpoint ({elsewhere}) is not newer than {after}"
    );
    wait_until(
        "the panel to follow a checkpoint signed elsewhere",
        PATIENCE,
        || async {
            Ok(match checkpoint_size(client).await? {
                Some(size) if size >= elsewhere => Check::Done(size),
                other => Check::NotYet(format!("size {other:?}, signed elsewhere {elsewhere}")),
            })
        },
    )
    .await?;

    // An event's page: its proof checks out with the server's key.
    open(client, &berth.url(&format!("/events/{SEQ}"))).await?;
    let field = wait_for(client, "#verify-key").await?;
    assert_eq!(
        field.prop("value").await?.as_deref(),
        Some(key.as_str()),
        "the key field starts with the server's key"
    );
    wait_for(client, "#verify-proof").await?.click().await?;
    let verdict = wait_for_text(client, "#verify-result", "checked in this browser").await?;
    let origin = key.split('+').next().unwrap_or_default();
    assert!(
        verdict.starts_with(&format!("✓ Event {SEQ} is in the log of "))
            && verdict.contains(&format!("events, signed by {origin};")),
        "the verdict: {verdict}"
    );

    // Another log's key: refused, and the reason named.
    fill(client, "#verify-key", OTHER_LOG_KEY).await?;
    assert_eq!(
        text_of(client, "#verify-result").await?,
        None,
        "an edited key drops the old verdict"
    );
    wait_for(client, "#verify-proof").await?.click().await?;
    let refusal = wait_for_text(client, "#verify-result", "✗").await?;
    assert!(
        refusal.contains("the key is for \"x/y\"") && !refusal.contains('✓'),
        "the refusal: {refusal}"
    );
    // Something that is no key at all.
    fill(client, "#verify-key", "berth+00000000+AAAA").await?;
    wait_for(client, "#verify-proof").await?.click().await?;
    wait_for_text(client, "#verify-result", "✗ Not verified: malformed key").await?;

    // The proof file itself downloads with the session of the page.
    let file = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector(arguments[0]).href).then((r) => r.text()).then(done, (e) => done(String(e)));",
            vec![json!("a[download$='.proof']")],
        )
        .await?;
    let file = file.as_str().unwrap_or_default();
    assert!(
        file.starts_with("c2sp.org/tlog-proof@v1\nextra ") && file.contains(&format!("\nindex {}\n", SEQ - 1)),
        "the downloaded proof: {file:?}"
    );
    Ok(())
}

/// The size of the latest checkpoint the log page shows, if it shows one.
async fn checkpoint_size(client: &Client) -> Result<Option<u64>> {
    let size = client
        .execute(
            "const e = document.querySelector('#checkpoint[data-size]'); return e ? e.dataset.size : null;",
            vec![],
        )
        .await?;
    Ok(size.as_str().and_then(|s| s.parse().ok()))
}
