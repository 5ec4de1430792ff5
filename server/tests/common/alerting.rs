//! What the alert tests share: a server whose deliveries retry within a
//! second, a webhook channel signed with `SECRET` to a receiver, rules
//! made over REST, and the receiver's side (its signature check, waiting
//! for deliveries).

use super::deliveries::hmac_sha256;
use super::receivers::{HttpReceiver, Received};
use super::*;
use serde_json::{Value, json};

pub const SECRET: &str = "a shared secret of the receiver";

/// The notification a receiver got, after checking its signature.
pub fn signed(r: &Received) -> Value {
    let expected = format!("sha256={}", hmac_sha256(SECRET.as_bytes(), &r.body));
    assert_eq!(r.header("x-berth-signature-256"), expected, "the signature");
    r.json()
}

pub async fn server() -> (tempfile::TempDir, Server, reqwest::Client) {
    stats_server(|c| c.alerts.retry_first_secs = 1).await
}

pub async fn post(server: &Server, client: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let resp = client.post(server.url(path)).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn webhook(server: &Server, admin: &reqwest::Client, url: &str) -> u64 {
    let (status, body) = post(
        server,
        admin,
        "/api/v1/alerts/channels",
        json!({ "name": "hook", "target": { "kind": "webhook", "url": url, "secret": SECRET } }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_u64().unwrap()
}

pub async fn rule(server: &Server, admin: &reqwest::Client, spec: Value) -> u64 {
    let (status, body) = post(server, admin, "/api/v1/alerts/rules", spec).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_u64().unwrap()
}

/// Waits until the receiver has `n` requests (or `secs` pass).
pub async fn received(receiver: &HttpReceiver, n: usize, secs: u64) -> Vec<Received> {
    until(&format!("{n} deliveries"), secs, async || {
        let all = receiver.requests();
        (all.len() >= n).then_some(all)
    })
    .await
}

pub async fn alerts_now(server: &Server, client: &reqwest::Client) -> Vec<Value> {
    get_json(server, client, "/api/v1/alerts").await["alerts"]
        .as_array()
        .unwrap()
        .clone()
}
