//! Alerts in a real Chromium against a real server and the machine's real
//! Docker engine: an admin adds a webhook channel through its form (a
//! refused secret shows beside the form and nothing typed is lost), then a
//! rule for the test's container; the container is killed; `/alerts` shows
//! the rule firing without a reload, the dashboard and the container's
//! page show it too, and the receiver gets the notification. "Send a test"
//! reports the receiver's answer, and the receiver gets the test.
//! Needs the engine and the `berth-test/busybox:1` image (`./dev.sh test`).

mod common;

use common::*;
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const NAME: &str = "berth-e2e-alerted";
const CHANNEL: &str = "e2e hook";
const RULE: &str = "E2E container down";

/// One request the receiver got: its headers (lower-case names) and JSON body.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: Value,
}

/// A webhook receiver on a loopback port that answers every POST with 200
/// and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let keep = got.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let keep = keep.clone();
                tokio::spawn(async move {
                    if let Some(r) = read_request(&mut stream).await {
                        keep.lock().unwrap().push(r);
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nreceived\n")
                        .await;
                });
            }
        });
        Receiver { url, got, task }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one HTTP/1.1 request with a Content-Length body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
    Some(Received { headers, body })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_container_fires_its_rule_and_the_channel_hears_of_it() {
    let _container = TestContainers::run(NAME, &["sleep", "3600"], &[]);
    let receiver = Arc::new(Receiver::start().await);
    let berth = Arc::new(
        Berth::start_with_env(&[("BERTH_STATS_INTERVAL_SECS", "1")])
            .await
            .expect("berth starts"),
    );
    run_in_browser("alerts", berth, move |client, berth| async move {
        walk(&client, &berth, &receiver).await
    })
    .await;
}

/// What berth and the engine say when the rule did not fire: the alerts
/// and the host as the API has them (with the browser's session), and the
/// container as the engine has it.
async fn diagnosis(client: &Client) -> String {
    let script = "const done = arguments[arguments.length - 1];\
        Promise.all(['/api/v1/alerts', '/api/v1/hosts/local', '/api/v1/events?limit=30'].map(u => fetch(u).then(r => r.text())))\
        .then(a => done(a.join('\\n'))).catch(e => done(String(e)));";
    let berth = match client.execute_async(script, vec![]).await {
        Ok(v) => v.as_str().unwrap_or_default().chars().take(6000).collect::<String>(),
        Err(e) => format!("(cannot ask berth: {e})"),
    };
    let engine = std::process::Command::new("docker")
        .args(["inspect", "--format", "{{json .State}}", NAME])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    format!("berth says:\n{berth}\nthe engine says: {engine}")
}

async fn walk(client: &Client, berth: &Berth, receiver: &Receiver) -> Result {
    create_first_admin(client, berth, ADMIN, PASSWORD).await?;

    // A channel through its form. A secret core refuses shows beside the
    // form, and what was typed stays.
    open(client, &berth.url("/alerts/channels/new")).await?;
    fill(client, "#channel-name", CHANNEL).await?;
    fill(client, "#channel-url", &receiver.url).await?;
    fill(client, "#channel-secret", "too short").await?;
    click_button(client, "Save channel").await?;
    let refused = wait_for_text(client, "#channel-error", "16").await?;
    assert!(refused.contains("secret"), "the refusal says what is wrong: {refused}");
    let url_kept = client.find(Locator::Css("#channel-url")).await?.prop("value").await?;
    assert_eq!(
        url_kept.as_deref(),
        Some(receiver.url.as_str()),
        "the URL typed is kept"
    );
    fill(client, "#channel-secret", "an e2e signing secret").await?;
    click_button(client, "Save channel").await?;
    wait_for_path_unless_error(client, "/alerts", "#channel-error").await?;
    wait_for(client, &format!("table.channels tr[data-name='{CHANNEL}']")).await?;

    // A rule for the test's container, telling that channel.
    open(client, &berth.url("/alerts/rules/new")).await?;
    fill(client, "#rule-name", RULE).await?;
    client
        .find(Locator::Css("#rule-kind"))
        .await?
        .select_by_value("container_down")
        .await?;
    client
        .find(Locator::Css("#rule-severity"))
        .await?
        .select_by_value("critical")
        .await?;
    fill(client, "#rule-key", &format!("name:{NAME}")).await?;
    client.find(Locator::Css("input[name=channel]")).await?.click().await?;
    wait_for_text(client, "#rule-described", "container down").await?;
    click_button(client, "Save rule").await?;
    wait_for_path_unless_error(client, "/alerts", "#rule-error").await?;
    let rule_row = format!("table.rules tr[data-name='{RULE}']");
    let listed = wait_for_text(client, &rule_row, CHANNEL).await?;
    assert!(
        listed.contains(&format!("name:{NAME}")),
        "the rule's scope is listed: {listed}"
    );
    let rule_id = wait_for(client, &rule_row)
        .await?
        .attr("data-rule")
        .await?
        .unwrap_or_default();
    assert!(
        text_of(client, &format!("table.alerts tr[data-rule-name='{RULE}']"))
            .await?
            .is_none(),
        "nothing fires while the container runs"
    );

    // The container dies: the open page shows the rule firing, live.
    let killed = std::process::Command::new("docker").args(["kill", NAME]).output()?;
    assert!(
        killed.status.success(),
        "docker kill: {}",
        String::from_utf8_lossy(&killed.stderr)
    );
    let firing = format!("table.alerts tr[data-rule-name='{RULE}'][data-state='firing']");
    let row = wait_until("the rule to fire on /alerts", Duration::from_secs(30), || async {
        Ok(match client.find(Locator::Css(&firing)).await {
            Ok(row) => Check::Done(row),
            Err(_) => Check::NotYet(
                text_of(client, "main")
                    .await?
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect(),
            ),
        })
    })
    .await;
    let row = match row {
        Ok(row) => row,
        Err(e) => return Err(format!("{e}\n{}", diagnosis(client).await).into()),
    };
    assert_eq!(row.attr("data-subject").await?, Some(format!("container name:{NAME}")));
    let host = row.attr("data-host").await?.unwrap_or_default();
    let text = row.text().await?;
    assert!(
        text.contains("critical") && text.contains("firing"),
        "severity and state show: {text}"
    );

    // The channel hears of it, signed.
    let fired = wait_until("the receiver to get the firing", Duration::from_secs(20), || async {
        Ok(
            match receiver
                .got()
                .into_iter()
                .find(|r| r.body["rule_name"] == RULE && r.body["state"] == "firing")
            {
                Some(r) => Check::Done(r),
                None => Check::NotYet(format!("{} requests", receiver.got().len())),
            },
        )
    })
    .await?;
    assert!(
        fired
            .headers
            .iter()
            .any(|(k, v)| k == "x-berth-signature-256" && v.starts_with("sha256=")),
        "the notification is signed: {:?}",
        fired.headers
    );

    // The dashboard and the container's page show it too.
    open(client, &berth.url("/")).await?;
    wait_for(client, &format!("#firing-alerts li[data-rule-name='{RULE}']")).await?;
    open(client, &berth.url(&format!("/containers/{host}/{NAME}"))).await?;
    wait_for(client, &format!("#firing-alerts li[data-rule-name='{RULE}']")).await?;

    // "Send a test" reports the receiver's answer; the receiver got it.
    open(client, &berth.url("/alerts")).await?;
    client
        .find(Locator::Css(&format!(
            "table.channels tr[data-name='{CHANNEL}'] button[data-action='test']"
        )))
        .await?
        .click()
        .await?;
    let report = wait_for_text(client, "#channel-test-report", "Test delivered").await?;
    assert!(report.contains(CHANNEL), "the report names the channel: {report}");
    wait_until("the receiver to get the test", PATIENCE, || async {
        Ok(if receiver.got().iter().any(|r| r.body["test"] == true) {
            Check::Done(())
        } else {
            Check::NotYet(format!("{} requests", receiver.got().len()))
        })
    })
    .await?;

    // Pictures for people who check the pages by eye (BERTH_E2E_SHOTS=DIR).
    shots(client, "alerts").await?;
    open(client, &berth.url(&format!("/alerts/rules/{rule_id}"))).await?;
    wait_for(client, "#rule-form").await?;
    client.find(Locator::Css("#add-once")).await?.click().await?;
    client.find(Locator::Css("#add-weekly")).await?.click().await?;
    shots(client, "alert-rule").await?;
    let channel_id = {
        open(client, &berth.url("/alerts")).await?;
        let row = wait_for(client, &format!("table.channels tr[data-name='{CHANNEL}']")).await?;
        row.attr("data-channel").await?.unwrap_or_default()
    };
    open(client, &berth.url(&format!("/alerts/channels/{channel_id}"))).await?;
    wait_for(client, "#channel-form").await?;
    shots(client, "alert-channel").await?;
    open(client, &berth.url("/")).await?;
    wait_for(client, "#firing-alerts").await?;
    shots(client, "dashboard-alerts").await?;
    Ok(())
}

/// With `BERTH_E2E_SHOTS=DIR`: the whole page as `DIR/NAME-1280.png` and
/// `DIR/NAME-375.png` (a small phone).
async fn shots(client: &Client, name: &str) -> Result {
    let Some(dir) = std::env::var_os("BERTH_E2E_SHOTS") else {
        return Ok(());
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    for width in [1280u32, 375] {
        client.set_window_size(width, 900).await?;
        let height = client
            .execute(
                "return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(document.documentElement.scrollHeight))));",
                vec![],
            )
            .await?
            .as_u64()
            .unwrap_or(900)
            .clamp(600, 6000) as u32;
        client.set_window_size(width, height + 140).await?;
        client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await?;
        std::fs::write(dir.join(format!("{name}-{width}.png")), client.screenshot().await?)?;
    }
    client.set_window_size(1280, 900).await?;
    Ok(())
}
