//! A person's own sessions and password, through REST and the account
//! page's server functions: the session asking is the one marked current
//! in the list and the one a password change keeps.

mod common;

use common::{ADMIN, PASSWORD, Server, client, get_json, plain_user, sign_in};
use serde_json::{Value, json};

/// The sessions listed to `who`, and which of them is current.
async fn sessions(server: &Server, who: &reqwest::Client) -> (usize, Vec<String>) {
    let page = get_json(server, who, "/api/v1/me/sessions").await;
    let items = page["items"].as_array().unwrap_or_else(|| panic!("{page}"));
    let current = items
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["handle"].as_str().unwrap().to_string())
        .collect();
    (items.len(), current)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_asking_is_marked_current_and_kept_by_a_password_change() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    plain_user(&server, &admin, "ada", PASSWORD).await;
    let laptop = client();
    let phone = client();
    assert_eq!(sign_in(&server, &laptop, "ada", PASSWORD).await.status(), 200);
    assert_eq!(sign_in(&server, &phone, "ada", PASSWORD).await.status(), 200);

    let (n, on_laptop) = sessions(&server, &laptop).await;
    assert!(n >= 2, "both sessions are listed");
    let (_, on_phone) = sessions(&server, &phone).await;
    assert_eq!(on_laptop.len(), 1, "exactly the asking session is current");
    assert_eq!(on_phone.len(), 1);
    assert_ne!(on_laptop, on_phone, "each browser sees its own session as current");

    // The account page's server function marks the same one.
    let listed: Value = laptop
        .post(server.url("/api/my_sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let current: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["handle"].as_str().unwrap())
        .collect();
    assert_eq!(current, [on_laptop[0].as_str()], "{listed}");

    // A new password from the laptop ends the phone's session only.
    let changed = laptop
        .put(server.url("/api/v1/me/password"))
        .json(&json!({ "current": PASSWORD, "password": "ada's new password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    assert_eq!(laptop.get(server.url("/api/v1/me")).send().await.unwrap().status(), 200);
    assert_eq!(phone.get(server.url("/api/v1/me")).send().await.unwrap().status(), 401);
    assert_eq!(sessions(&server, &laptop).await, (1, on_laptop.clone()));

    // The same through the page's form, which asks for the new one twice.
    assert_eq!(
        sign_in(&server, &phone, "ada", "ada's new password").await.status(),
        200
    );
    let form = |confirm: &str| {
        [
            ("current", "ada's new password"),
            ("password", "ada's third password"),
            ("confirm", confirm),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    };
    let differ = laptop
        .post(server.url("/api/change_password_form"))
        .form(&form("a typo"))
        .send()
        .await
        .unwrap();
    assert_eq!(differ.status(), 400, "two different new passwords");
    assert_eq!(phone.get(server.url("/api/v1/me")).send().await.unwrap().status(), 200);
    let done = laptop
        .post(server.url("/api/change_password_form"))
        .form(&form("ada's third password"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
    assert_eq!(laptop.get(server.url("/api/v1/me")).send().await.unwrap().status(), 200);
    assert_eq!(phone.get(server.url("/api/v1/me")).send().await.unwrap().status(), 401);
    server.stop().await.unwrap();
}
