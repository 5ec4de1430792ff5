//! What people using berth found wrong (issue 21), each checked the way
//! they met it: through the REST API, the pages' server functions, or the
//! binary itself.

mod common;

use common::{ADMIN, PASSWORD, Server, client, get_json, plain_user, sign_in};
use serde_json::{Value, json};

/// A user with view on one host asks for a key with every right on every
/// host: refused, saying which grant is wider, and nothing is stored; the
/// same through the account page's server function; an admin may make it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_wider_than_its_creator_is_refused_at_creation() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let vic = plain_user(&server, &admin, "vic", PASSWORD).await;
    let vic_id = get_json(&server, &vic, "/api/v1/me").await["user"]["id"]
        .as_u64()
        .unwrap();
    let resp = admin
        .put(server.url(&format!("/api/v1/users/{vic_id}/grants")))
        .json(&json!([{ "host": "local", "level": "view" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let widest = json!([{ "host": "*", "level": "manage", "logs": true, "terminal": true, "secrets": true }]);
    let resp = vic
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": "wide", "grants": widest }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "a wider key was accepted");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "invalid", "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("every host ('*')"), "{body}");

    // The account page's form calls the server function: same refusal.
    let resp = vic
        .post(server.url("/api/create_key"))
        .json(&json!({ "key": { "name": "wide", "grants": [{ "host": "local", "level": "view", "terminal": true }] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(body.contains("terminal right"), "{body}");

    let keys = get_json(&server, &vic, "/api/v1/me/keys").await;
    assert_eq!(keys["items"], json!([]), "a refused key was stored: {keys}");

    let narrow = json!([{ "host": "local", "level": "view" }]);
    let resp = vic
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": "narrow", "grants": narrow }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = admin
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": "wide", "grants": widest }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "admins may make any key");
    server.stop().await.unwrap();
}

/// A mail channel whose SMTP server is berth's own listening port is
/// refused like a webhook at berth; another port is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_at_berths_own_port_is_refused() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let mail = |host: &str, port: u16| {
        json!({ "name": "mail", "target": { "kind": "email", "host": host, "port": port, "security": "none",
                "from": "berth@example.com", "to": ["ops@example.com"] } })
    };
    for host in ["127.0.0.1", "localhost"] {
        let resp = admin
            .post(server.url("/api/v1/alerts/channels"))
            .json(&mail(host, port))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            400,
            "an SMTP server at berth's own port ({host}) was accepted"
        );
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap_or_default().contains("berth itself"),
            "{body}"
        );
    }
    let channels = get_json(&server, &admin, "/api/v1/alerts/channels").await;
    assert!(
        !channels.to_string().contains("berth@example.com"),
        "a refused channel was stored: {channels}"
    );
    let other = if port == 2525 { 2526 } else { 2525 };
    let resp = admin
        .post(server.url("/api/v1/alerts/channels"))
        .json(&mail("127.0.0.1", other))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    server.stop().await.unwrap();
}
