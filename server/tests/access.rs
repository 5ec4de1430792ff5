//! Access for a team, against a real server and the real engine:
//! - the permission matrix: every operation in core's own list, for every
//!   level and right (and a grant on another host, and one on every host),
//!   through every entry point (REST with the session cookie, REST with an
//!   API key, the page's server function, and the websocket ticket where
//!   the operation has a live feed), allowed or refused as the grants say,
//!   each refusal recorded exactly once under the operation's kind;
//! - revoked and expired keys and disabled users refused at their next
//!   call, their open websockets closed;
//! - sign-in throttling under a burst of parallel guesses.

mod common;

use berth_core::model::ops::{Body, Route};
use berth_core::model::{Grant, Level, Operation, Permissions, Right};
use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const HOST: &str = "local";
/// A container, image, network, volume and user that do not exist: an
/// allowed call reaches the engine (or the store) and finds nothing, so the
/// matrix changes nothing on the machine.
const NONE: &str = "berth-matrix-none";
const NO_USER: u64 = 999_999;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    RestCookie,
    RestKey,
    ServerFn,
    Websocket,
}

/// How one operation is called through REST: method, path, JSON body.
fn rest(op: Operation, tag: &str, rule: u64) -> (reqwest::Method, String, Option<Value>) {
    use Operation as O;
    use reqwest::Method as M;
    if let Some((route, request)) = defined(op, tag, rule) {
        return derived_rest(route, request);
    }
    match op {
        O::ReadEvents => (M::GET, "/api/v1/events?limit=1".into(), None),
        O::ExportEvents => (M::GET, "/api/v1/events/export?kind=nothing.matches".into(), None),
        O::ProveEvent => (M::GET, "/api/v1/log/proof/event/1".into(), None),
        O::SignCheckpoint => (M::POST, "/api/v1/log/checkpoint".into(), None),
        O::ViewDashboard => (M::GET, "/api/v1/stats".into(), None),
        O::ListUsers => (M::GET, "/api/v1/users".into(), None),
        O::ReadLogs => (
            M::GET,
            format!("/api/v1/hosts/{HOST}/containers/{NONE}/logs?tail=1"),
            None,
        ),
        O::DownloadLogs => (
            M::GET,
            format!("/api/v1/hosts/{HOST}/containers/{NONE}/logs/download"),
            None,
        ),
        O::OpenTerminal => (
            M::POST,
            format!("/api/v1/hosts/{HOST}/containers/{NONE}/terminal"),
            None,
        ),
        O::ReplayTerminal => (M::GET, format!("/api/v1/events/{}/recording", local_event()), None),
        _ => unreachable!("{op} is defined in model::ops"),
    }
}

/// The request an operation is called with, for the operations defined once
/// in `model::ops`: its REST route and its server function both follow from
/// the definition (`derived_rest`, `derived_server_fn`), as in the server.
/// `rule` is the fresh rule a rule's update or delete is called on.
fn defined(op: Operation, tag: &str, rule: u64) -> Option<(Route, Value)> {
    use Operation as O;
    use berth_core::model::ops::*;
    let act = |verb: &str| Some((ContainerAct::ROUTE, json!({ "host": HOST, "id": NONE, "action": verb })));
    let stack_act = |verb: &str| Some((StackAct::ROUTE, json!({ "host": HOST, "name": NONE, "action": verb })));
    let on_host = |route: Route, fields: Value| {
        let mut v = fields;
        v["host"] = json!(HOST);
        Some((route, v))
    };
    match op {
        O::ViewHost => on_host(GetHost::ROUTE, json!({})),
        O::InspectContainer => on_host(InspectContainer::ROUTE, json!({ "id": NONE })),
        O::ViewResources => on_host(ListImages::ROUTE, json!({})),
        O::StartContainer => act("start"),
        O::StopContainer => act("stop"),
        O::RestartContainer => act("restart"),
        O::KillContainer => act("kill"),
        O::PauseContainer => act("pause"),
        O::UnpauseContainer => act("unpause"),
        O::RemoveContainer => act("remove"),
        O::CreateContainer => on_host(
            CreateContainer::ROUTE,
            json!({ "container": { "image": format!("{NONE}:1"), "name": format!("{NONE}-{tag}") } }),
        ),
        O::RevealSecret => on_host(RevealEnv::ROUTE, json!({ "id": NONE, "name": "HOME" })),
        O::RemoveImage => on_host(RemoveImage::ROUTE, json!({ "reference": format!("{NONE}:1") })),
        O::PruneImages => on_host(PruneImages::ROUTE, json!({ "label": NONE })),
        O::RemoveNetwork => on_host(RemoveNetwork::ROUTE, json!({ "id": NONE })),
        O::PruneNetworks => on_host(PruneNetworks::ROUTE, json!({ "label": NONE })),
        O::RemoveVolume => on_host(RemoveVolume::ROUTE, json!({ "name": NONE })),
        O::PruneVolumes => on_host(PruneVolumes::ROUTE, json!({ "label": NONE })),
        O::CreateUser => Some((
            AddUser::ROUTE,
            json!({ "name": format!("new-{tag}"), "password": "a long password", "role": "user" }),
        )),
        O::DisableUser => Some((ChangeUser::ROUTE, json!({ "id": NO_USER, "disabled": true }))),
        O::EnableUser => Some((ChangeUser::ROUTE, json!({ "id": NO_USER, "disabled": false }))),
        O::SetRole => Some((ChangeUser::ROUTE, json!({ "id": NO_USER, "role": "admin" }))),
        O::ResetPassword => Some((
            ResetPassword::ROUTE,
            json!({ "id": NO_USER, "password": "another long one" }),
        )),
        O::DeleteUser => Some((DeleteUser::ROUTE, json!({ "id": NO_USER }))),
        O::SetGrants => Some((SetGrants::ROUTE, json!({ "id": NO_USER, "grants": [] }))),
        O::ChangeOwnPassword => Some((
            ChangePassword::ROUTE,
            json!({ "current": "not the password", "password": "a new long password" }),
        )),
        O::ListOwnSessions => Some((MySessions::ROUTE, json!({}))),
        O::EndOwnSession => Some((EndSession::ROUTE, json!({ "handle": "0000000000000000" }))),
        O::ListOwnKeys => Some((MyKeys::ROUTE, json!({}))),
        O::CreateKey => Some((CreateKey::ROUTE, json!({ "key": { "name": format!("k-{tag}") } }))),
        O::RevokeKey => Some((RevokeKey::ROUTE, json!({ "id": "000000000000" }))),
        O::ViewStats => on_host(HostCharts::ROUTE, json!({ "range": "1h" })),
        O::SetExpectedState => on_host(
            SetExpected::ROUTE,
            json!({ "key": format!("name:{NONE}"), "state": null }),
        ),
        O::ViewAlerts => Some((ListAlerts::ROUTE, json!({}))),
        // Allowed, a rule or channel without a name is refused after the decision: nothing is made.
        O::CreateAlertRule => Some((CreateRule::ROUTE, json!({ "spec": bad_rule() }))),
        O::UpdateAlertRule => Some((UpdateRule::ROUTE, json!({ "id": rule, "spec": bad_rule() }))),
        O::DeleteAlertRule => Some((DeleteRule::ROUTE, json!({ "id": rule }))),
        O::CreateChannel => Some((CreateChannel::ROUTE, json!({ "spec": bad_channel() }))),
        O::UpdateChannel => Some((UpdateChannel::ROUTE, json!({ "id": NO_USER, "spec": bad_channel() }))),
        O::DeleteChannel => Some((DeleteChannel::ROUTE, json!({ "id": NO_USER }))),
        O::TestChannel => Some((TestChannel::ROUTE, json!({ "id": NO_USER }))),
        O::VerifyEvents => Some((VerifyChain::ROUTE, json!({}))),
        O::ProbeHost => Some((ProbeAgent::ROUTE, json!({ "url": NO_AGENT }))),
        O::AddHost => Some((AddHost::ROUTE, bad_new_host())),
        O::RenameHost => Some((
            ChangeHost::ROUTE,
            json!({ "host": NONE, "name": format!("{NONE}-renamed") }),
        )),
        O::DisableHost => Some((ChangeHost::ROUTE, json!({ "host": NONE, "enabled": false }))),
        O::EnableHost => Some((ChangeHost::ROUTE, json!({ "host": NONE, "enabled": true }))),
        O::RemoveHost => Some((RemoveHost::ROUTE, json!({ "host": NONE }))),
        O::AcceptFingerprint => Some((
            AcceptFingerprint::ROUTE,
            json!({ "host": NONE, "fingerprint": FINGERPRINT }),
        )),
        O::CollectLogs => on_host(
            CollectLogs::ROUTE,
            json!({ "change": { "key": format!("name:{NONE}"), "collect": false } }),
        ),
        O::ListStacks => Some((ListStacks::ROUTE, json!({}))),
        O::ViewStack => on_host(GetStack::ROUTE, json!({ "name": NONE })),
        O::StackUp => stack_act("up"),
        O::StackStop => stack_act("stop"),
        O::StackStart => stack_act("start"),
        O::StackRestart => stack_act("restart"),
        O::StackPull => stack_act("pull"),
        O::StackDown => stack_act("down"),
        // Allowed, a spec without a name is refused after the decision: nothing is made.
        O::CreateStack => Some((CreateStack::ROUTE, json!({ "spec": bad_stack() }))),
        O::UpdateStack => on_host(UpdateStack::ROUTE, json!({ "name": NONE, "spec": bad_stack() })),
        O::DeleteStack => on_host(DeleteStack::ROUTE, json!({ "name": NONE })),
        O::ValidateCompose => on_host(ValidateCompose::ROUTE, json!({ "compose": "services: [" })),
        O::DeployStack => on_host(DeployStack::ROUTE, json!({ "name": NONE })),
        O::CancelDeploy => on_host(CancelDeploy::ROUTE, json!({ "name": NONE, "id": NO_USER })),
        O::RollbackStack => on_host(RollbackStack::ROUTE, json!({ "name": NONE, "to": NO_USER })),
        O::SetStackWebhook => on_host(SetStackWebhook::ROUTE, json!({ "name": NONE, "enabled": true })),
        O::RevealStackSecret => on_host(RevealStackSecret::ROUTE, json!({ "name": NONE, "var": "TOKEN" })),
        _ => None,
    }
}

/// A defined request as REST takes it: path fields in the path, the others
/// in the query or the JSON body, as its route says.
fn derived_rest(route: Route, request: Value) -> (reqwest::Method, String, Option<Value>) {
    let mut fields = request.as_object().unwrap().clone();
    let mut path = format!("/api/v1{}", route.path);
    for name in route.path_fields() {
        let value = fields.remove(name).unwrap_or_else(|| panic!("{}: no {name}", route.id));
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        path = path
            .replace(&format!("{{*{name}}}"), &text)
            .replace(&format!("{{{name}}}"), &text);
    }
    let query = |fields: &serde_json::Map<String, Value>| -> String {
        fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let body = match route.body {
        Body::Fields => Some(Value::Object(std::mem::take(&mut fields))),
        Body::Whole(name) => fields.remove(name),
        Body::None => None,
    };
    if !fields.is_empty() {
        path = format!("{path}?{}", query(&fields));
    }
    let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
    (method, path, body)
}

/// A stack on the host that is refused once allowed (it has no name).
fn bad_stack() -> Value {
    json!({ "name": "", "host": HOST, "source": { "kind": "inline", "compose": "services: {}" } })
}

/// A rule about the host that is refused once allowed (it has no name).
fn bad_rule() -> Value {
    json!({ "name": "", "condition": { "kind": "container_down" }, "scope": { "host": HOST } })
}

/// A channel that is refused once allowed (it has no name).
fn bad_channel() -> Value {
    json!({ "name": "", "target": { "kind": "slack", "url": "https://hooks.example.com/x" } })
}

/// The admin's client, to make what an operation needs before it is called.
static ADMIN_CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();

/// A new rule about the host, for one call to change or delete (a delete
/// allowed takes it away, so each call has its own).
async fn fresh_rule(server: &Server) -> u64 {
    let admin = ADMIN_CLIENT.get().expect("the admin signed in first");
    let resp = admin
        .post(server.url("/api/v1/alerts/rules"))
        .json(
            &json!({ "name": "matrix", "enabled": false, "condition": { "kind": "container_down" },
                       "scope": { "host": HOST, "key": format!("name:{NONE}") } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "a rule for the matrix");
    resp.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
}

/// An event about the host that is no terminal session: replaying it is
/// decided on its host, and once allowed finds no recording.
static LOCAL_EVENT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn local_event() -> u64 {
    *LOCAL_EVENT
        .get()
        .expect("the matrix found an event about the host first")
}

/// Where no agent listens: a probe allowed finds nothing there.
const NO_AGENT: &str = "https://127.0.0.1:1";
const FINGERPRINT: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A host to add that is refused once allowed (its token is too short),
/// so the matrix adds no host.
fn bad_new_host() -> Value {
    json!({ "name": NONE, "url": NO_AGENT, "token": "short", "fingerprint": FINGERPRINT })
}

/// How one operation is called through the pages' server function:
/// endpoint and form (or JSON, for the two that take structured input).
fn server_fn(op: Operation, tag: &str, rule: u64) -> (String, Value) {
    use Operation as O;
    if let Some((route, request)) = defined(op, tag, rule) {
        return (route.id.to_string(), request);
    }
    let (endpoint, args) = match op {
        O::ReadEvents => (
            "list_events",
            json!({ "filter[kind]": "nothing.matches", "filter[actor]": "", "filter[host]": "", "filter[target]": "",
                    "filter[outcome]": "", "filter[since]": "", "filter[until]": "" }),
        ),
        O::ExportEvents => return ("/api/v1/events/export".into(), Value::Null),
        O::ProveEvent => ("event_proof", json!({ "seq": 1 })),
        O::SignCheckpoint => ("sign_checkpoint", json!({})),
        O::ViewDashboard => ("dashboard", json!({})),
        O::ListUsers => ("list_users", json!({})),
        O::ReadLogs => ("logs_ticket", json!({ "host": HOST })),
        // A download is a file: REST only.
        O::DownloadLogs => return ("".into(), Value::Null),
        O::OpenTerminal => ("terminal_ticket", json!({ "host": HOST, "id": NONE })),
        O::ReplayTerminal => ("terminal_recording", json!({ "seq": local_event() })),
        _ => unreachable!("{op} is defined in model::ops"),
    };
    (endpoint.to_string(), args)
}

/// The server function that issues a websocket ticket for an operation's
/// live feed, if it has one.
fn ticket_fn(op: Operation) -> Option<(&'static str, Value, &'static str)> {
    match op {
        Operation::ReadEvents => Some(("live_ticket", json!({}), "/ws/events?after=0&")),
        Operation::ViewHost => Some(("containers_ticket", json!({ "host": HOST }), "/ws/containers?")),
        Operation::ViewDashboard => Some(("stats_ticket", json!({}), "/ws/stats?")),
        Operation::ReadLogs => Some((
            "logs_ticket",
            json!({ "host": HOST }),
            "/ws/logs?containers=berth-matrix-none&tail=1&",
        )),
        Operation::OpenTerminal => Some((
            "terminal_ticket",
            json!({ "host": HOST, "id": NONE }),
            "/ws/terminal?cols=80&rows=24&",
        )),
        Operation::ViewStack => Some((
            "deploy_ticket",
            json!({ "host": HOST }),
            "/ws/deploy?stack=berth-matrix-none&deploy=1&",
        )),
        _ => None,
    }
}

/// Flattens `{"filter[kind]": …}` and plain fields into a form.
fn form(args: &Value) -> Vec<(String, String)> {
    args.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect()
}

/// One caller of the matrix: what they are granted and how they call.
struct Subject {
    label: String,
    grants: Option<Vec<Grant>>,
    cookie: reqwest::Client,
    key: String,
    actor: String,
}

impl Subject {
    fn permissions(&self) -> Permissions {
        match &self.grants {
            None => Permissions::admin(),
            Some(g) => Permissions::of(g.clone()),
        }
    }
}

async fn call(server: &Server, s: &Subject, entry: Entry, op: Operation, tag: &str) -> Option<u16> {
    let rule = match op {
        Operation::UpdateAlertRule | Operation::DeleteAlertRule => fresh_rule(server).await,
        _ => 0,
    };
    let resp = match entry {
        Entry::RestCookie | Entry::RestKey => {
            let (method, path, body) = rest(op, tag, rule);
            let mut req = s.cookie.request(method.clone(), server.url(&path));
            if entry == Entry::RestKey {
                // A fresh client: the key alone speaks for the caller.
                req = reqwest::Client::new()
                    .request(method, server.url(&path))
                    .bearer_auth(&s.key);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            req.send().await.unwrap()
        }
        Entry::ServerFn => {
            let (endpoint, args) = server_fn(op, tag, rule);
            if endpoint.is_empty() {
                return None;
            }
            if endpoint.starts_with("/api/v1") {
                return None;
            }
            let req = s.cookie.post(server.url(&format!("/api/{endpoint}")));
            let req = if defined(op, tag, rule).is_some() {
                req.json(&args)
            } else {
                req.form(&form(&args))
            };
            req.send().await.unwrap()
        }
        Entry::Websocket => {
            let (endpoint, args, path) = ticket_fn(op)?;
            let resp = s
                .cookie
                .post(server.url(&format!("/api/{endpoint}")))
                .form(&form(&args))
                .send()
                .await
                .unwrap();
            if resp.status() != 200 {
                return Some(resp.status().as_u16());
            }
            let ticket: String = resp.json().await.unwrap();
            let url = format!("{}{path}ticket={ticket}", server.base.replace("http://", "ws://"));
            // The handshake is the decision: a refused ticket never upgrades.
            return Some(match tokio_tungstenite::connect_async(url).await {
                Ok(_) => 200,
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
                Err(e) => panic!("{}: {op}: {e}", s.label),
            });
        }
    };
    Some(resp.status().as_u16())
}

async fn seq_head(server: &Server, admin: &reqwest::Client) -> u64 {
    get_json(server, admin, "/api/v1/events?limit=1").await["head"]
        .as_u64()
        .unwrap()
}

/// The events after `after`, oldest first (as the admin sees them).
async fn events_after(server: &Server, admin: &reqwest::Client, after: u64) -> Vec<Value> {
    let page = get_json(server, admin, "/api/v1/events?limit=1000").await;
    let mut found: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() > after)
        .cloned()
        .collect();
    found.reverse();
    found
}

async fn subject(server: &Server, admin: &reqwest::Client, label: &str, grants: Option<Vec<Grant>>) -> Subject {
    let (cookie, actor) = match &grants {
        None => (admin.clone(), format!("user:{ADMIN}")),
        Some(g) => {
            let name = format!("m-{label}");
            let cookie = plain_user(server, admin, &name, PASSWORD).await;
            let id = get_json(server, &cookie, "/api/v1/me").await["user"]["id"]
                .as_u64()
                .unwrap();
            let resp = admin
                .put(server.url(&format!("/api/v1/users/{id}/grants")))
                .json(g)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "grants for {label}: {}", resp.text().await.unwrap());
            (cookie, format!("user:{name}"))
        }
    };
    let created = cookie
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": "matrix" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let key = created.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    Subject {
        label: label.to_string(),
        grants,
        cookie,
        key,
        actor,
    }
}

/// What an allowed call answers. Reads and what the matrix may really do
/// succeed (2xx). Calls the matrix aims at nothing on purpose, so that it
/// changes nothing on the machine (a container, image, user or host that
/// does not exist, a rule or channel without a name, an agent nowhere),
/// get exactly the answer of that miss, given after the decision: 404,
/// 400, or 503 for the agent no one runs. Anything else (a 500, a 409, a
/// 401) is a wrong cell.
fn when_allowed(op: Operation) -> &'static [u16] {
    use Operation as O;
    match op {
        O::InspectContainer
        | O::StartContainer
        | O::StopContainer
        | O::RestartContainer
        | O::KillContainer
        | O::PauseContainer
        | O::UnpauseContainer
        | O::RemoveContainer
        | O::CreateContainer
        | O::RevealSecret
        | O::RemoveImage
        | O::RemoveNetwork
        | O::RemoveVolume
        | O::DownloadLogs
        | O::OpenTerminal
        | O::ReplayTerminal
        | O::DisableUser
        | O::EnableUser
        | O::SetRole
        | O::ResetPassword
        | O::DeleteUser
        | O::SetGrants
        | O::EndOwnSession
        | O::RevokeKey
        | O::RenameHost
        | O::DisableHost
        | O::EnableHost
        | O::RemoveHost
        | O::AcceptFingerprint
        | O::UpdateChannel
        | O::DeleteChannel
        | O::TestChannel
        | O::StackStop
        | O::StackStart
        | O::StackRestart
        | O::StackDown
        | O::DeleteStack
        | O::DeployStack
        | O::CancelDeploy
        | O::RollbackStack
        | O::SetStackWebhook
        | O::RevealStackSecret => &[404],
        // No such stack over REST; the ticket to follow one of its deploys is issued.
        O::ViewStack => &[200, 404],
        // Up and pull need the compose files, which a stack berth does not deploy has not given it.
        O::StackUp | O::StackPull => &[400],
        O::CreateStack | O::UpdateStack => &[400],
        // The REST read of a missing container's lines is a 404; its ticket is issued.
        O::ReadLogs => &[200, 404],
        // Event 1 has a proof over REST; the page's proof of it, once issued, too.
        O::ProveEvent => &[200, 404],
        O::AddHost | O::CreateAlertRule | O::UpdateAlertRule | O::CreateChannel | O::ChangeOwnPassword => &[400],
        O::ProbeHost => &[503],
        _ => &[200, 201, 204],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_decided_once_the_same_way_at_every_entry_point() {
    assert_engine_running();
    let (_dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);

    ADMIN_CLIENT.get_or_init(|| admin.clone());
    let connected = common::agent::recorded(&server, &admin, &format!("kind=host.connect&host={HOST}")).await;
    LOCAL_EVENT.get_or_init(|| connected["seq"].as_u64().unwrap());
    let mut subjects = vec![subject(&server, &admin, "admin", None).await];
    let mut grant_sets: Vec<(String, Vec<Grant>)> = Level::ALL
        .iter()
        .map(|l| (l.as_str().to_string(), vec![Grant::new(HOST, *l)]))
        .collect();
    for r in Right::ALL {
        grant_sets.push((
            format!("view-{}", r.as_str()),
            vec![Grant::new(HOST, Level::View).with(r)],
        ));
    }
    grant_sets.push(("manage-elsewhere".into(), vec![Grant::new("elsewhere", Level::Manage)]));
    grant_sets.push(("view-everywhere".into(), vec![Grant::new("*", Level::View)]));
    for (label, grants) in grant_sets {
        subjects.push(subject(&server, &admin, &label, Some(grants)).await);
    }

    let entries = [Entry::RestCookie, Entry::RestKey, Entry::ServerFn, Entry::Websocket];
    let mut cells = 0;
    let mut per_entry: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        for &op in Operation::ALL {
            // No operation may be left without a way in: REST has them all.
            let reached = &mut false;
            for entry in entries {
                let tag = format!("{i}-{}-{entry:?}", op.kind().replace('.', "-")).to_lowercase();
                let before = seq_head(&server, &admin).await;
                let Some(status) = call(&server, s, entry, op, &tag).await else {
                    continue;
                };
                *reached = true;
                cells += 1;
                *per_entry.entry(format!("{entry:?}")).or_default() += 1;
                let allowed = s.permissions().allows(op, Some(HOST));
                let actor = if entry == Entry::RestKey {
                    s.actor.replace("user:", "apikey:") + "/matrix"
                } else {
                    s.actor.clone()
                };
                let denied: Vec<Value> = events_after(&server, &admin, before)
                    .await
                    .into_iter()
                    .filter(|e| e["outcome"]["status"] == "denied")
                    .collect();
                let what = format!("{} {op} via {entry:?}", s.label);
                if allowed {
                    let expected = when_allowed(op);
                    if !expected.contains(&status) || !denied.is_empty() {
                        let got: Vec<String> = denied
                            .iter()
                            .map(|e| format!("{} {}", e["kind"], e["outcome"]["message"]))
                            .collect();
                        failures.push(format!(
                            "{what}: should be allowed and answer {expected:?}, got {status} and {got:?}"
                        ));
                    }
                } else {
                    let who = |e: &Value| {
                        format!(
                            "{}:{}",
                            e["actor"]["kind"].as_str().unwrap(),
                            e["actor"]["name"].as_str().unwrap()
                        )
                    };
                    let once = denied.len() == 1 && denied[0]["kind"] == op.kind() && who(&denied[0]) == actor;
                    if status != 403 || !once {
                        let got: Vec<String> = denied.iter().map(|e| format!("{} by {}", e["kind"], who(e))).collect();
                        failures.push(format!(
                            "{what}: should be refused once as {} by {actor}, got {status} and {got:?}",
                            op.kind()
                        ));
                    }
                }
            }
            assert!(*reached, "{op} has no entry point in the matrix");
        }
    }
    println!(
        "permission matrix: {} operations x {} callers, {cells} cells checked ({per_entry:?})",
        Operation::ALL.len(),
        subjects.len()
    );
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_expired_and_disabled_callers_are_refused_at_once_and_their_sockets_close() {
    let dir = tempfile::tempdir().unwrap();
    add_admin(dir.path());
    let server = Server::start(dir.path()).await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let bob = plain_user(&server, &admin, "bob", PASSWORD).await;
    let bob_id = get_json(&server, &bob, "/api/v1/me").await["user"]["id"]
        .as_u64()
        .unwrap();
    let grants = admin
        .put(server.url(&format!("/api/v1/users/{bob_id}/grants")))
        .json(&json!([{ "host": HOST, "level": "view" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(grants.status(), 200);
    let new_key = |name: &str, days: Option<u32>| {
        let bob = bob.clone();
        let url = server.url("/api/v1/me/keys");
        let body = json!({ "name": name, "expires_days": days });
        async move {
            let r = bob.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    };

    // A key works, shows its last use, and the secret is never listed.
    let revoked = new_key("to-revoke", None).await;
    let token = revoked["token"].as_str().unwrap().to_string();
    assert_eq!(with_key(&server, &token, "/api/v1/hosts/local").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let listed = get_json(&server, &bob, "/api/v1/me/keys").await;
    assert!(!listed.to_string().contains(&token[20..]), "a key's secret was listed");
    assert!(listed["items"][0]["last_used_ns"].is_i64(), "{listed}");
    let id = revoked["key"]["id"].as_str().unwrap();
    let r = bob
        .delete(server.url(&format!("/api/v1/me/keys/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let refused = with_key(&server, &token, "/api/v1/hosts/local").await;
    assert_eq!(refused.status(), 401, "a revoked key");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["kind"], "unauthenticated", "{body}");

    // Expiry: a key whose time has passed (set in the store while stopped).
    let expiring = new_key("expiring", Some(1)).await;
    let expiring_token = expiring["token"].as_str().unwrap().to_string();
    let expiring_id = expiring["key"]["id"].as_str().unwrap().to_string();
    assert_eq!(with_key(&server, &expiring_token, "/api/v1/me").await.status(), 200);
    server.stop().await.unwrap();
    {
        use redb::{ReadableTable, TableDefinition};
        let keys: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");
        let db = redb::Database::open(dir.path().join("berth.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(keys).unwrap();
            let mut record: Value =
                serde_json::from_slice(t.get(expiring_id.as_str()).unwrap().unwrap().value()).unwrap();
            record["info"]["expires_ns"] = json!(1_000_000_000i64);
            t.insert(expiring_id.as_str(), serde_json::to_vec(&record).unwrap().as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let server = Server::start(dir.path()).await;
    assert_eq!(
        with_key(&server, &expiring_token, "/api/v1/me").await.status(),
        401,
        "an expired key"
    );

    // Disabling: the session, the keys and an open websocket all stop.
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let bob = client();
    assert_eq!(sign_in(&server, &bob, "bob", PASSWORD).await.status(), 200);
    let live = new_key_on(&server, &bob, "live").await;
    let ticket: String = bob
        .post(server.url("/api/stats_ticket"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}/ws/stats?ticket={ticket}", server.base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(matches!(socket.next().await, Some(Ok(_))), "the dashboard arrives");
    let r = admin
        .patch(server.url(&format!("/api/v1/users/{bob_id}")))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(msg) = socket.next().await {
            match msg {
                Ok(tokio_tungstenite::tungstenite::Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the socket closes within 10 s");
    assert_eq!(closed, Some(1008), "closed as a policy refusal");
    assert_eq!(
        bob.get(server.url("/api/v1/me")).send().await.unwrap().status(),
        401,
        "a disabled user's session"
    );
    let key_refused = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .bearer_auth(&live)
        .send()
        .await
        .unwrap();
    assert_eq!(key_refused.status(), 401, "a disabled user's key");
    assert_eq!(
        sign_in(&server, &bob, "bob", PASSWORD).await.status(),
        401,
        "a disabled user signing in"
    );

    // The admin cannot lock berth out of itself.
    let me = get_json(&server, &admin, "/api/v1/me").await["user"]["id"]
        .as_u64()
        .unwrap();
    let r = admin
        .patch(server.url(&format!("/api/v1/users/{me}")))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let refusals = events(&server, &admin, "kind=auth.apikey.refused").await;
    assert!(kinds(&refusals).len() >= 3, "every refused key is recorded: {refusals}");
    assert!(
        !refusals.to_string().contains(&token[20..]),
        "a key's secret reached the log"
    );
    server.stop().await.unwrap();
}

async fn with_key(server: &Server, key: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn new_key_on(server: &Server, client: &reqwest::Client, name: &str) -> String {
    let r = client
        .post(server.url("/api/v1/me/keys"))
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_checks_few_passwords_and_never_locks_the_owner_out() {
    let (_dir, server) = Server::with_admin().await;
    let attacker = reqwest::Client::builder()
        .local_address(Some("127.0.0.1".parse().unwrap()))
        .build()
        .unwrap();
    let guesses = (0..50).map(|i| {
        let attacker = attacker.clone();
        let url = server.url("/api/v1/session");
        async move {
            attacker
                .post(url)
                .json(&json!({ "name": ADMIN, "password": format!("guess {i}") }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let refused_early = statuses.iter().filter(|&&s| s == 429).count();
    let wrong = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(refused_early + wrong, 50, "{statuses:?}");

    // The owner, from another address, right after.
    let owner = reqwest::Client::builder()
        .cookie_store(true)
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let status = sign_in(&server, &owner, ADMIN, PASSWORD).await.status();
    let took = started.elapsed();
    assert_eq!(status, 200, "the owner is not locked out");

    // Every password check is one auth.login.failed or .ok event.
    let failed = events(&server, &owner, "kind=auth.login.failed&limit=1000").await;
    let throttled = events(&server, &owner, "kind=auth.login.throttled&limit=1000").await;
    let checks = kinds(&failed).len();
    println!(
        "throttle: 50 parallel wrong guesses -> {checks} password checks, {} refused unchecked; \
         the owner from another address signed in in {took:?}",
        kinds(&throttled).len()
    );
    assert!(checks <= 5, "{checks} password checks for 50 guesses");
    assert_eq!(checks, wrong);
    assert_eq!(
        kinds(&throttled).len(),
        refused_early,
        "every throttled attempt is recorded"
    );
    server.stop().await.unwrap();
}
