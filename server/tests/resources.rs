//! Images, networks and volumes of the local engine through berth's REST
//! API: listed, inspected, removed and pruned, each removal on record with
//! the engine's own events beside it, clear errors and recorded refusals.
//! Needs a running engine and the test image (`./dev.sh test` provides
//! both). Every test makes its own names and labels, and prunes only what
//! carries its label: other tests share the engine, and
//! `berth-test/busybox:1` must survive.

mod common;

use common::docker::{IMAGE, docker};
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Removes what a test made, whatever happened to the test.
struct Cleanup(Vec<Vec<String>>);

impl Cleanup {
    fn new() -> Cleanup {
        assert_engine_running();
        Cleanup(Vec::new())
    }

    fn later(&mut self, args: &[&str]) {
        self.0.push(args.iter().map(|a| a.to_string()).collect());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let _ = Command::new("docker").args(args).output();
        }
    }
}

/// Percent-encodes a query value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get(server: &Server, client: &reqwest::Client, path: &str) -> (u16, serde_json::Value) {
    let resp = client.get(server.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or_default())
}

async fn delete(server: &Server, client: &reqwest::Client, path: &str) -> (u16, serde_json::Value) {
    let resp = client.delete(server.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or_default())
}

async fn post(server: &Server, client: &reqwest::Client, path: &str) -> (u16, serde_json::Value) {
    let resp = client.post(server.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or_default())
}

/// The newest event of `kind` on `target`, waiting for the engine's (they
/// arrive through the watcher, a moment after the call returns).
async fn event_on(server: &Server, client: &reqwest::Client, kind: &str, target: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = events(server, client, &format!("kind={kind}&target={}", enc(target))).await;
        if let Some(e) = page["events"].as_array().unwrap().first() {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no {kind} event on {target}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn find<'a>(list: &'a serde_json::Value, key: &str, value: &str) -> Option<&'a serde_json::Value> {
    list["items"].as_array().unwrap().iter().find(|x| x[key] == value)
}

/// A container that ran `true` and exited, to commit images from.
fn exited_container(cleanup: &mut Cleanup) -> String {
    let name = unique("commit");
    docker(&["run", "--name", &name, IMAGE, "true"]);
    cleanup.later(&["rm", "-f", &name]);
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_listed_removed_and_pruned_with_an_audit_trail() {
    let mut cleanup = Cleanup::new();
    let run = unique("run");
    let label = format!("berth-test-run={run}");
    // A second name for the test image: removing it only untags.
    let extra = format!("berth-test/extra-{run}:1");
    docker(&["tag", IMAGE, &extra]);
    cleanup.later(&["rmi", &extra]);
    // An image of its own under one name: removing it deletes it.
    let from = exited_container(&mut cleanup);
    let solo = format!("berth-test/solo-{run}:1");
    let solo_id = docker(&["commit", "--change", &format!("LABEL {label}"), &from, &solo]);
    cleanup.later(&["rmi", "-f", &solo_id]);
    // And a dangling one (no name) carrying the test's label, for the prune.
    let dangling_id = docker(&["commit", "--change", &format!("LABEL {label}"), &from]);
    cleanup.later(&["rmi", "-f", &dangling_id]);

    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);

    let (status, images) = get(&server, &client, "/api/v1/hosts/local/images?limit=1000").await;
    assert_eq!(status, 200, "{images}");
    let base = images["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tags"].as_array().unwrap().iter().any(|t| t == IMAGE))
        .unwrap_or_else(|| panic!("{IMAGE} is not listed: {images}"));
    assert!(
        base["tags"].as_array().unwrap().iter().any(|t| t == extra.as_str()),
        "{base}"
    );
    assert!(base["size"].as_u64().unwrap() > 1_000_000, "{base}");
    assert_eq!(base["dangling"], false);
    let dangling = find(&images, "id", &dangling_id).unwrap_or_else(|| panic!("no dangling image: {images}"));
    assert_eq!(dangling["dangling"], true);
    assert_eq!(dangling["tags"], serde_json::json!([]));
    assert_eq!(
        find(&images, "id", &solo_id).unwrap()["containers"],
        0,
        "nothing runs the committed image"
    );

    // Inspect by name (slashes and all) or by id.
    let (status, detail) = get(&server, &client, &format!("/api/v1/hosts/local/images/{solo}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["image"]["id"], solo_id.as_str());
    assert_eq!(detail["labels"]["berth-test-run"], run.as_str());
    assert!(detail["layers"].as_u64().unwrap() >= 1, "{detail}");

    // Removing the extra name leaves the image: only an untag.
    let (status, removal) = delete(&server, &client, &format!("/api/v1/hosts/local/images/{extra}")).await;
    assert_eq!(status, 200, "{removal}");
    assert_eq!(removal["untagged"], serde_json::json!([extra]));
    assert_eq!(removal["deleted"], serde_json::json!([]));
    assert!(docker(&["images", "-q", IMAGE]).len() >= 12, "{IMAGE} must survive");
    let remove = event_on(&server, &client, "image.remove", &format!("image:{extra}")).await;
    assert_eq!(remove["actor"]["name"], ADMIN);
    assert_eq!(remove["host"], "local");
    assert_eq!(remove["outcome"]["status"], "ok");
    assert_eq!(remove["details"]["untagged"], serde_json::json!([extra]));
    assert!(remove["duration_us"].as_u64().unwrap() > 0);

    // Removing the only name of an image deletes it; the engine says so too.
    let (status, removal) = delete(&server, &client, &format!("/api/v1/hosts/local/images/{solo}")).await;
    assert_eq!(status, 200, "{removal}");
    assert_eq!(removal["untagged"], serde_json::json!([solo]));
    assert!(
        removal["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == solo_id.as_str()),
        "{removal}"
    );
    let untag = event_on(&server, &client, "image.untag", &format!("image:{solo_id}")).await;
    assert_eq!(untag["actor"]["name"], "engine");
    let delete_event = event_on(&server, &client, "image.delete", &format!("image:{solo_id}")).await;
    assert_eq!(delete_event["actor"]["name"], "engine");
    let (_, images) = get(&server, &client, "/api/v1/hosts/local/images?limit=1000").await;
    assert!(find(&images, "id", &solo_id).is_none(), "still listed: {images}");

    // Unknown images: 404 naming the image, recorded as a failed removal.
    let (status, body) = delete(
        &server,
        &client,
        "/api/v1/hosts/local/images/berth-test/no-such-image:9",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "there is no image 'berth-test/no-such-image:9' on host local"
    );
    let failed = event_on(&server, &client, "image.remove", "image:berth-test/no-such-image:9").await;
    assert_eq!(failed["outcome"]["status"], "error");
    let (status, body) = get(&server, &client, "/api/v1/hosts/local/images/sha256:0000000000").await;
    assert_eq!(status, 404, "{body}");

    // Prune: the dangling image goes, the named ones stay, and the report
    // says what went and how much space came back.
    let (status, report) = post(
        &server,
        &client,
        &format!("/api/v1/hosts/local/images/prune?label={}", enc(&label)),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["deleted"], serde_json::json!([dangling_id]), "{report}");
    assert!(report["space_reclaimed"].is_u64(), "{report}");
    assert!(
        docker(&["images", "-q", IMAGE]).len() >= 12,
        "{IMAGE} must survive a prune"
    );
    let prune = events(&server, &client, "kind=image.prune&actor=admin").await;
    let prune = &prune["events"][0];
    assert_eq!(prune["outcome"]["status"], "ok");
    assert_eq!(prune["details"]["deleted"], 1);
    assert_eq!(prune["details"]["label"], label.as_str());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_and_volumes_are_listed_removed_and_pruned() {
    let mut cleanup = Cleanup::new();
    let run = unique("run");
    let label = format!("berth-test-run={run}");
    let (net, spare_net) = (format!("berth-test-net-{run}"), format!("berth-test-spare-{run}"));
    let (vol, spare_vol) = (format!("berth-test-vol-{run}"), format!("berth-test-spare-{run}"));
    for n in [&net, &spare_net] {
        docker(&["network", "create", "--label", &label, n]);
        cleanup.later(&["network", "rm", n]);
    }
    for v in [&vol, &spare_vol] {
        docker(&["volume", "create", "--label", &label, v]);
        cleanup.later(&["volume", "rm", "-f", v]);
    }
    // A container holds the first network and volume.
    let holder = unique("holder");
    docker(&[
        "create",
        "--name",
        &holder,
        "--network",
        &net,
        "-v",
        &format!("{vol}:/data"),
        IMAGE,
        "true",
    ]);
    cleanup.later(&["rm", "-f", &holder]);

    let (_dir, server) = Server::with_admin().await;
    let client = client();
    assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);

    let (status, networks) = get(&server, &client, "/api/v1/hosts/local/networks?limit=1000").await;
    assert_eq!(status, 200, "{networks}");
    let n = find(&networks, "name", &net).unwrap_or_else(|| panic!("{net} not listed: {networks}"));
    assert_eq!(n["driver"], "bridge");
    assert_eq!(n["containers"], 1, "{n}");
    assert_eq!(find(&networks, "name", &spare_net).unwrap()["containers"], 0);
    let (status, detail) = get(&server, &client, &format!("/api/v1/hosts/local/networks/{net}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["used_by"], serde_json::json!([holder]));
    assert_eq!(detail["labels"]["berth-test-run"], run.as_str());
    assert!(!detail["subnets"].as_array().unwrap().is_empty(), "{detail}");

    let (status, volumes) = get(&server, &client, "/api/v1/hosts/local/volumes?limit=1000").await;
    assert_eq!(status, 200, "{volumes}");
    let v = find(&volumes, "name", &vol).unwrap_or_else(|| panic!("{vol} not listed: {volumes}"));
    assert_eq!(v["driver"], "local");
    assert_eq!(v["in_use"], 1, "{v}");
    assert!(v["created"].as_i64().unwrap() > 1_600_000_000, "{v}");
    let (status, detail) = get(&server, &client, &format!("/api/v1/hosts/local/volumes/{vol}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["used_by"], serde_json::json!([holder]));

    // In use: the engine refuses, berth says why, and the attempt is on record.
    let (status, body) = delete(&server, &client, &format!("/api/v1/hosts/local/volumes/{vol}")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("in use"), "{body}");
    let failed = event_on(&server, &client, "volume.remove", &format!("volume:{vol}")).await;
    assert_eq!(failed["outcome"]["status"], "error");
    let (status, body) = delete(&server, &client, "/api/v1/hosts/local/networks/bridge").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("pre-defined"), "{body}");
    docker(&["rm", &holder]);

    // Free now: removed by name, recorded, and the engine's events follow.
    let (status, body) = delete(&server, &client, &format!("/api/v1/hosts/local/networks/{net}")).await;
    assert_eq!(status, 204, "{body}");
    let remove = event_on(&server, &client, "network.remove", &format!("network:{net}")).await;
    assert_eq!(remove["actor"]["name"], ADMIN);
    assert_eq!(remove["outcome"]["status"], "ok");
    event_on(&server, &client, "network.destroy", &format!("network:{net}")).await;
    let (status, body) = delete(&server, &client, &format!("/api/v1/hosts/local/volumes/{vol}")).await;
    assert_eq!(status, 204, "{body}");
    let remove = event_on(&server, &client, "volume.remove", &format!("volume:{vol}")).await;
    assert_eq!(remove["outcome"]["status"], "ok");
    event_on(&server, &client, "volume.destroy", &format!("volume:{vol}")).await;
    let (_, networks) = get(&server, &client, "/api/v1/hosts/local/networks?limit=1000").await;
    assert!(find(&networks, "name", &net).is_none());
    let (_, volumes) = get(&server, &client, "/api/v1/hosts/local/volumes?limit=1000").await;
    assert!(find(&volumes, "name", &vol).is_none());

    // Unknown names: 404 with the kind of thing that is missing.
    let (status, body) = delete(&server, &client, &format!("/api/v1/hosts/local/networks/{net}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], format!("there is no network '{net}' on host local"));
    let (status, body) = delete(&server, &client, &format!("/api/v1/hosts/local/volumes/{vol}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], format!("there is no volume '{vol}' on host local"));
    let (status, _) = get(&server, &client, "/api/v1/hosts/mars/volumes").await;
    assert_eq!(status, 404);

    // Prune what carries the label: the spares go, with a report.
    let prune = format!("prune?label={}", enc(&label));
    let (status, report) = post(&server, &client, &format!("/api/v1/hosts/local/networks/{prune}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["deleted"], serde_json::json!([spare_net]));
    assert_eq!(report["space_reclaimed"], 0);
    let (status, report) = post(&server, &client, &format!("/api/v1/hosts/local/volumes/{prune}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["deleted"], serde_json::json!([spare_vol]));
    assert!(report["space_reclaimed"].is_u64(), "{report}");
    for kind in ["network.prune", "volume.prune"] {
        let page = events(&server, &client, &format!("kind={kind}&actor=admin")).await;
        assert_eq!(page["events"][0]["details"]["deleted"], 1, "{page}");
    }
    let (status, body) = post(&server, &client, "/api/v1/hosts/local/volumes/prune?label=").await;
    assert_eq!(status, 400, "{body}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_see_or_remove_resources_and_refusals_are_recorded() {
    let mut cleanup = Cleanup::new();
    let vol = unique("kept");
    docker(&["volume", "create", &vol]);
    cleanup.later(&["volume", "rm", "-f", &vol]);
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let dora = plain_user(&server, &admin, "dora", "dora's password").await;

    let (status, body) = get(&server, &dora, "/api/v1/hosts/local/volumes").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = delete(&server, &dora, &format!("/api/v1/hosts/local/volumes/{vol}")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        "dora may not remove volumes on host local: that needs the manage level on host local"
    );
    let (status, _) = post(&server, &dora, "/api/v1/hosts/local/images/prune").await;
    assert_eq!(status, 403);
    assert_eq!(
        docker(&["volume", "ls", "-q", "--filter", &format!("name=^{vol}$")]),
        vol,
        "still there"
    );

    let denied = events(&server, &admin, "actor=dora&outcome=denied").await;
    assert_eq!(kinds(&denied), ["image.prune", "volume.remove", "resources.view"]);
    assert_eq!(denied["events"][1]["target"], format!("volume:{vol}"));
    // Signed out: asked to sign in, nothing to record about whom.
    let (status, _) = delete(&server, &client(), &format!("/api/v1/hosts/local/volumes/{vol}")).await;
    assert_eq!(status, 401);
    server.stop().await.unwrap();
}
