//! The REST API and the session layer, against a real server on a loopback
//! port with a temporary database.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_checked_recorded_and_survives_a_restart() {
    let (dir, server) = Server::with_admin().await;
    let client = client();

    // Wrong password and unknown user: the same clear refusal.
    for (name, password) in [(ADMIN, "not it at all"), ("nobody", PASSWORD)] {
        let resp = sign_in(&server, &client, name, password).await;
        assert_eq!(resp.status(), 401);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "wrong user name or password");
    }
    assert_eq!(client.get(server.url("/api/v1/me")).send().await.unwrap().status(), 401);

    let resp = sign_in(&server, &client, ADMIN, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP must not set Secure: {cookie}");
    let me: serde_json::Value = get_json(&server, &client, "/api/v1/me").await;
    assert_eq!(me["user"]["name"], ADMIN);
    assert_eq!(me["permissions"]["admin"], true);

    let page = events(&server, &client, "kind=auth.*").await;
    assert_eq!(
        kinds(&page),
        ["auth.login.ok", "auth.login.failed", "auth.login.failed"]
    );
    let failed = &page["events"][1];
    assert_eq!(failed["source"], "127.0.0.1");
    assert_eq!(failed["outcome"]["status"], "error");
    let all = serde_json::to_string(&events(&server, &client, "").await).unwrap();
    assert!(
        !all.contains(PASSWORD) && !all.contains("not it at all"),
        "a password reached the event log"
    );

    // Restart: the session is still valid, the log goes on.
    server.stop().await.unwrap();
    let server = Server::start(dir.path()).await;
    let me = client.get(server.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the session did not survive the restart");
    let page = events(&server, &client, "kind=server.*").await;
    assert_eq!(kinds(&page), ["server.start", "server.stop", "server.start"]);

    // Sign out ends the session.
    let resp = client.delete(server.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(client.get(server.url("/api/v1/me")).send().await.unwrap().status(), 401);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_slowed_down() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    // Five wrong guesses are checked; from then on each attempt waits.
    for _ in 0..5 {
        assert_eq!(sign_in(&server, &client, ADMIN, "guessing wrong").await.status(), 401);
    }
    let resp = sign_in(&server, &client, ADMIN, PASSWORD).await;
    assert_eq!(resp.status(), 429, "even the right password waits");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("try again in"), "{body}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_writes_are_refused_and_recorded() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    let resp = client
        .post(server.url("/api/v1/session"))
        .header("origin", "http://evil.example")
        .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());
    // A same-origin request (as the pages send it) goes through.
    let host = server.base.trim_start_matches("http://").to_string();
    let resp = client
        .post(server.url("/api/v1/session"))
        .header("origin", format!("http://{host}"))
        .json(&serde_json::json!({ "name": ADMIN, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = events(&server, &client, "kind=http.origin_denied").await;
    assert_eq!(page["events"][0]["details"]["origin"], "http://evil.example");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_api_validates_filters_pages_and_exports() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    for _ in 0..3 {
        sign_in(&server, &client, "ghost", "not a password").await;
    }
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);

    for (query, needle) in [
        ("outcome=maybe", "outcome 'maybe'"),
        ("since=yesterday", "'yesterday' is not a time"),
        ("limit=0", "limit must be between"),
        ("before=-1", "before must be a whole number"),
    ] {
        let resp = client
            .get(server.url(&format!("/api/v1/events?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{query}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(needle), "{query}: {body}");
    }

    // Paging by cursor visits each failed sign-in once, newest first.
    let first = events(&server, &client, "kind=auth.login.failed&limit=2").await;
    let before = first["next_before"].as_u64().expect("a second page");
    let second = events(
        &server,
        &client,
        &format!("kind=auth.login.failed&limit=2&before={before}"),
    )
    .await;
    let seqs: Vec<u64> = [&first, &second]
        .iter()
        .flat_map(|p| {
            p["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    assert_eq!(second["next_before"], serde_json::Value::Null);

    let csv = client
        .get(server.url("/api/v1/events/export?format=csv&actor=ghost"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("seq,time,kind,actor"), "{}", lines[0]);
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1..].iter().all(|l| l.contains(",auth.login.failed,user:ghost,")),
        "{csv}"
    );
    // The export is in the log with the hash of exactly what was sent, so
    // the log's proofs vouch for the file.
    let recorded: serde_json::Value = client
        .get(server.url("/api/v1/events?kind=events.export&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let details = &recorded["events"][0]["details"];
    let mut digest = berth_core::events::ExportDigest::default();
    digest.update(csv.as_bytes());
    let (sha256, bytes) = digest.finish();
    assert_eq!(details["sha256"], sha256.as_str(), "{details}");
    assert_eq!(details["bytes"], bytes);
    assert_eq!(details["complete"], true);

    let jsonl = client
        .get(server.url("/api/v1/events/export?format=jsonl&kind=auth.*"))
        .send()
        .await
        .unwrap();
    let jsonl = jsonl.text().await.unwrap();
    let parsed: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed.len(), 4);
    let resp = client
        .get(server.url("/api/v1/events/export?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let one = client.get(server.url("/api/v1/events/1")).send().await.unwrap();
    let one: serde_json::Value = one.json().await.unwrap();
    assert_eq!(one["kind"], "user.create");
    assert_eq!(one["hash"].as_str().unwrap().len(), 64);
    assert_eq!(
        client
            .get(server.url("/api/v1/events/999999"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let status: serde_json::Value = client
        .post(server.url("/api/v1/events/verify"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["broken_at"], serde_json::Value::Null);
    assert!(status["checked"].as_u64().unwrap() >= 6);

    // The export itself is recorded (after the stream ends).
    let exports = events(&server, &client, "kind=events.export").await;
    assert!(kinds(&exports).len() >= 2);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_pages_redirect_and_not_found_is_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let client = client();
    let resp = client.get(server.url("/events")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/setup", "no users yet: go to setup");
    server.stop().await.unwrap();

    add_admin(dir.path());
    let server = Server::start(dir.path()).await;
    let resp = client.get(server.url("/events?kind=auth.*")).send().await.unwrap();
    assert_eq!(resp.headers()["location"], "/login?next=%2Fevents%3Fkind%3Dauth.*");
    sign_in(&server, &client, ADMIN, PASSWORD).await;
    let resp = client.get(server.url("/no/such/page")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("Page not found"));
    server.stop().await.unwrap();
}

/// The site's files go out compressed as the browser asks, the app's under
/// fingerprinted names that browsers keep, the others revalidated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the site embedded at build time (BERTH_EMBED_SITE): run with --ignored after build_site, as ./dev.sh test does"]
async fn site_files_are_compressed_fingerprinted_and_cached() {
    assert!(
        option_env!("BERTH_EMBED_SITE").is_some(),
        "this build has no site embedded: build the site and set BERTH_EMBED_SITE (./dev.sh test does both)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let client = client();
    // Built by ./dev.sh, the binary carries the site: the wasm is served from it.
    let wasm = client.get(server.url("/pkg/berth_bg.wasm")).send().await.unwrap();
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(&wasm.bytes().await.unwrap()[..4], b"\0asm");
    let page = client
        .get(server.url("/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let named = |pattern: &str| {
        let at = page
            .find(pattern)
            .unwrap_or_else(|| panic!("{pattern} in the page:\n{page}"));
        let start = page[..at].rfind('"').unwrap() + 1;
        page[start..at + pattern.len()].to_string()
    };
    let (js, wasm, css) = (named(".js"), named("_bg.wasm"), named(".css"));
    for url in [&js, &wasm, &css] {
        let hash = url.strip_prefix("/pkg/").and_then(|rest| rest.split_once("/berth"));
        assert!(
            hash.is_some_and(|(h, _)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())),
            "fingerprinted (/pkg/<hash>/berth…): {url}"
        );
    }
    let get = |url: String, accept: &'static str| {
        let req = client.get(server.url(&url));
        async move {
            let resp = req.header("accept-encoding", accept).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            let encoding = header("content-encoding");
            let cache = header("cache-control").unwrap();
            let etag = header("etag");
            (encoding, cache, etag, resp.bytes().await.unwrap())
        }
    };
    let (none, cache, _, raw) = get(wasm.clone(), "identity").await;
    assert_eq!((none, cache.as_str()), (None, "public, max-age=31536000, immutable"));
    assert_eq!(&raw[..4], b"\0asm");
    let (gz, _, _, gzipped) = get(wasm.clone(), "gzip, deflate").await;
    assert_eq!(gz.as_deref(), Some("gzip"));
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut unzipped).unwrap();
    assert!(unzipped == raw, "the gzip form is the wasm");
    let (br, _, _, brotli) = get(wasm.clone(), "gzip, deflate, br, zstd").await;
    assert_eq!(br.as_deref(), Some("br"));
    assert!(brotli.len() < gzipped.len() && gzipped.len() < raw.len());
    println!(
        "wasm: {} KiB raw, {} KiB gzip, {} KiB brotli",
        raw.len() / 1024,
        gzipped.len() / 1024,
        brotli.len() / 1024
    );

    // The plain names still answer (tools, older pages), revalidated by tag.
    let (_, cache, etag, _) = get("/favicon.svg".into(), "gzip").await;
    assert_eq!(cache, "no-cache");
    let etag = etag.expect("an ETag");
    let again = client
        .get(server.url("/favicon.svg"))
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "unchanged: not sent again");
    server.stop().await.unwrap();
}

/// Pages, API answers and exports go out gzipped when asked for, with the
/// same content; clients that do not ask get them plain. (Answers to POST
/// stay plain: `compress.rs` tests that.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_api_answers_are_gzipped_when_asked() {
    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
    let fetch = |path: &'static str, accept: &'static str| {
        let req = client.get(server.url(path)).header("accept-encoding", accept);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            let encoding = resp
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string());
            let vary = resp
                .headers()
                .get_all("vary")
                .iter()
                .any(|v| v.to_str().unwrap().contains("accept-encoding"));
            (encoding, vary, resp.bytes().await.unwrap())
        }
    };
    for (path, needle) in [
        ("/events", "Event log"),
        ("/api/v1/events?limit=50", "auth.login.ok"),
        ("/api/v1/events/export?format=jsonl", "auth.login.ok"),
        ("/api/v1/openapi.json", "\"openapi\""),
    ] {
        let (plain_enc, _, plain) = fetch(path, "identity").await;
        assert_eq!(plain_enc, None, "{path}");
        let (enc, vary, zipped) = fetch(path, "br;q=1, gzip;q=0.8").await;
        assert_eq!(enc.as_deref(), Some("gzip"), "{path}");
        assert!(vary, "{path}: caches must tell the two apart");
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut unzipped).unwrap();
        // Pages and the log move between two requests (each read of the
        // log is itself recorded); the document does not.
        assert!(unzipped.contains(needle), "{path}: {unzipped}");
        if path.ends_with("openapi.json") {
            assert!(unzipped.as_bytes() == plain, "{path}: the same document");
        }
        assert!(
            zipped.len() < unzipped.len(),
            "{path}: {} -> {}",
            unzipped.len(),
            zipped.len()
        );
        println!("{path}: {} B, gzipped {} B", unzipped.len(), zipped.len());
    }
    let (enc, _, _) = fetch("/api/v1/openapi.json", "gzip;q=0, identity").await;
    assert_eq!(enc, None, "q=0 refuses gzip");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_add_users_who_then_are_denied_the_event_log() {
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let add = |body: serde_json::Value| admin.post(server.url("/api/v1/users")).json(&body).send();
    let resp = add(serde_json::json!({ "name": "dora", "password": "short" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = add(serde_json::json!({ "name": "dora", "password": "dora's password" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = add(serde_json::json!({ "name": "DORA", "password": "dora's password" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 409, "names are unique, whatever their case");
    let list: serde_json::Value = get_json(&server, &admin, "/api/v1/users").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // A plain user may sign in, but not read the log or add users; both
    // refusals are themselves recorded.
    let dora = client();
    assert_eq!(sign_in(&server, &dora, "dora", "dora's password").await.status(), 200);
    let resp = dora.get(server.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let resp = dora
        .post(server.url("/api/v1/users"))
        .json(&serde_json::json!({"name": "eve", "password": "eve's password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let denied = events(&server, &admin, "outcome=denied&actor=dora").await;
    assert_eq!(kinds(&denied), ["user.create", "events.read"]);
    let created = events(&server, &admin, "kind=user.create").await;
    let outcomes: Vec<&str> = created["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["denied", "error", "ok", "error", "ok"],
        "failed attempts are recorded too"
    );
    server.stop().await.unwrap();
}
