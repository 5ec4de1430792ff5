//! The logs pages in a real Chromium against a real server and the
//! machine's real Docker engine: hostile lines (markup, a window title, a
//! screen clear) show as text and run nothing, colours render; the search
//! highlights, bad input is refused in words; through a burst of 10,000
//! lines the page keeps drawing and answering, ends with the last line and
//! keeps a bounded number (how slow its slowest frame is, the logs bench
//! measures); the server's search, "load older" and scrolling back reach
//! further back (the view stays bounded and still where it was); the
//! merged view shows each container in its colour and pauses without
//! losing lines. Needs the engine and the `berth-test/busybox:1` image
//! (`./dev.sh test`).

mod common;

use common::*;
use fantoccini::Client;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";
const HOSTILE: &str = "berth-e2e-logs-hostile";
const BURST: &str = "berth-e2e-logs-burst";
const TICKER: &str = "berth-e2e-logs-ticker";
const BURST_LINES: u32 = 10_000;

/// Prints markup, a window title, a screen clear, a red word and a line on
/// stderr, then waits.
const HOSTILE_SCRIPT: &str = r#"printf '%s\n' 'first line' '<script>window.__pwned=1</script>' '<img src=x onerror="window.__pwned=2">'
printf '\033]0;pwned\007osc-done\n'
printf '\033[2J\033[Hcleared\n'
printf 'a \033[31mred\033[0m word\n'
echo to-stderr >&2
echo last-hostile
sleep 3600"#;

/// Says it is ready, waits for /go, then writes 10,000 numbered lines
/// as fast as it can.
const BURST_SCRIPT: &str = r#"echo ready
while [ ! -e /go ]; do sleep 0.1; done
i=1; while [ $i -le 10000 ]; do echo "burst $i"; i=$((i+1)); done
sleep 3600"#;

/// A compose project's name, and its two services' containers.
const PROJECT: &str = "berth-e2e-logs-shop";
const SERVICES: [&str; 2] = ["web", "db"];

/// Two containers labelled as the services of one compose project (as
/// `docker compose` labels them), removed before and after.
struct Project;

impl Project {
    fn container(service: &str) -> String {
        format!("{PROJECT}-{service}-1")
    }

    fn run() -> Project {
        Project.remove();
        for service in SERVICES {
            let out = std::process::Command::new("docker")
                .args(["run", "-d", "--name", &Project::container(service)])
                .args(["--label", &format!("com.docker.compose.project={PROJECT}")])
                .args(["--label", &format!("com.docker.compose.service={service}")])
                .args([
                    "berth-test/busybox:1",
                    "sh",
                    "-c",
                    &format!("echo {service} says hi; sleep 3600"),
                ])
                .output()
                .expect("the docker CLI is installed");
            assert!(
                out.status.success(),
                "docker run: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Project
    }

    fn remove(&self) {
        let names: Vec<String> = SERVICES.iter().map(|s| Project::container(s)).collect();
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f"])
            .args(&names)
            .output();
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.remove();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_show_hostile_lines_inert_survive_a_burst_and_merge() {
    let _hostile = TestContainers::run(HOSTILE, &["sh", "-c", HOSTILE_SCRIPT], &[]);
    let _burst = TestContainers::run(BURST, &["sh", "-c", BURST_SCRIPT], &[]);
    let ticker = r#"i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.2; done"#;
    let _ticker = TestContainers::run(TICKER, &["sh", "-c", ticker], &[]);
    let _project = Project::run();
    let berth = Arc::new(Berth::start().await.expect("berth starts"));
    run_in_browser("logs", berth, |client, berth| async move {
        create_first_admin(&client, &berth, ADMIN, PASSWORD).await?;
        hostile(&client, &berth).await?;
        burst(&client, &berth).await?;
        project(&client, &berth).await?;
        merged(&client, &berth).await?;
        without_the_right(&client, &berth).await
    })
    .await;
}

/// Runs `script` (its `arguments[0]` is `arg`) and returns its value.
async fn js(client: &Client, script: &str, arg: Value) -> Result<Value> {
    Ok(client.execute(script, vec![arg]).await?)
}

/// The text of the live log area.
async fn area_text(client: &Client) -> Result<String> {
    Ok(text_of(client, ".log-frame .log-area").await?.unwrap_or_default())
}

/// Waits until the log area's text contains `wanted`.
async fn wait_for_line(client: &Client, wanted: &str, patience: Duration) -> Result {
    wait_until(&format!("the line {wanted:?}"), patience, || async {
        let text = area_text(client).await?;
        Ok(if text.contains(wanted) {
            Check::Done(())
        } else {
            Check::NotYet(format!("{} characters of log, ending {:?}", text.len(), tail(&text)))
        })
    })
    .await
}

/// Empties a field the way typing would (an `input` event follows).
async fn clear_field(client: &Client, css: &str) -> Result {
    js(
        client,
        "const e = document.querySelector(arguments[0]); e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true }));",
        json!(css),
    )
    .await?;
    Ok(())
}

/// When `BERTH_E2E_SHOTS=DIR` is set, saves the page at 1280×900 and
/// 390×844 (CSS pixels of the viewport) as `DIR/NAME-1280x900.png` and
/// `DIR/NAME-390x844.png`; the window is desktop-sized again after.
async fn shots(client: &Client, name: &str) -> Result {
    let Some(dir) = std::env::var_os("BERTH_E2E_SHOTS") else {
        return Ok(());
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    for (width, height) in [(1280u32, 900u32), (390, 844)] {
        // The window is the viewport plus the browser's frame.
        client.set_window_size(width, height).await?;
        let inner = js(client, "return [innerWidth, innerHeight]", Value::Null).await?;
        let (iw, ih) = (
            inner[0].as_u64().unwrap_or(0) as u32,
            inner[1].as_u64().unwrap_or(0) as u32,
        );
        client
            .set_window_size(2 * width - iw.min(width), 2 * height - ih.min(height))
            .await?;
        client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await?;
        let png = client.screenshot().await?;
        std::fs::write(dir.join(format!("{name}-{width}x{height}.png")), png)?;
    }
    client.set_window_size(1280, 900).await?;
    Ok(())
}

fn tail(text: &str) -> &str {
    let start = text.char_indices().rev().nth(120).map_or(0, |(i, _)| i);
    &text[start..]
}

async fn hostile(client: &Client, berth: &Berth) -> Result {
    // The container page links to its logs.
    open(client, &berth.url(&format!("/containers/local/{HOSTILE}"))).await?;
    let link = wait_for(client, "#container-logs").await?;
    let href = link.attr("href").await?.unwrap_or_default();
    assert!(href.ends_with("/logs"), "the Logs link: {href}");
    link.click().await?;
    wait_for_text(client, "main h1", "Logs: ").await?;
    wait_hydrated(client).await?;
    wait_for_line(client, "last-hostile", PATIENCE).await?;
    let title = client.title().await?;
    assert_eq!(title, format!("Logs: {HOSTILE} · berth"), "the page's title is its own");

    // Markup is text: shown literally, nothing created, nothing run.
    let text = area_text(client).await?;
    for literal in [
        "<script>window.__pwned=1</script>",
        r#"<img src=x onerror="window.__pwned=2">"#,
    ] {
        assert!(text.contains(literal), "{literal} shows as written in: {text}");
    }
    let made = js(
        client,
        "return document.querySelectorAll('.log-area script, .log-area img, .log-area [onerror]').length",
        Value::Null,
    )
    .await?;
    assert_eq!(made, json!(0), "no element was made from a log line");
    // Give an onerror a moment to fire if an image had been made.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pwned = js(client, "return typeof window.__pwned", Value::Null).await?;
    assert_eq!(pwned, json!("undefined"), "no script from the log ran");
    // The title sequence neither changed the title nor shows; the clear
    // cleared nothing.
    assert_eq!(client.title().await?, title);
    assert!(!text.contains("pwned\u{7}") && !text.contains("]0;pwned"), "{text}");
    assert!(text.contains("osc-done") && text.contains("cleared"), "{text}");
    assert!(
        text.contains("first line"),
        "the clear sequence cleared nothing: {text}"
    );

    // The red word is red (the palette's red), the rest is not.
    let red = js(
        client,
        r#"const s = document.querySelector('.log-area span.ansi-fg-1');
           return s ? [s.textContent, getComputedStyle(s).color,
                       getComputedStyle(s.closest('.log-text')).color] : null;"#,
        Value::Null,
    )
    .await?;
    assert_eq!(red[0], json!("red"), "the red segment: {red}");
    assert_ne!(red[1], red[2], "red differs from the line's colour: {red}");
    assert_eq!(red[1], json!("rgb(207, 34, 46)"), "{red}");
    // stderr is marked.
    // (stdout and stderr are two streams: its line may come after the last stdout one.)
    wait_for_text(client, ".log-area .log-line.stderr", "to-stderr").await?;

    // Search: matches are highlighted; a bad regex is refused in words.
    fill(client, "#log-search", "red").await?;
    wait_for_text(client, ".log-area mark", "red").await?;
    wait_for_text(client, "#log-counts", "shown").await?;
    client
        .find(fantoccini::Locator::Css("#log-regex"))
        .await?
        .click()
        .await?;
    fill(client, "#log-search", "(red").await?;
    wait_for_text(client, "#log-search-error", "not a regular expression").await?;
    clear_field(client, "#log-search").await?;
    // A bad number of lines is refused in words, and nothing is lost.
    fill(client, "#log-tail", "lots").await?;
    click_button(client, "Apply").await?;
    wait_for_text(client, "#log-query-error", "whole number").await?;
    assert!(area_text(client).await?.contains("last-hostile"));

    // The download link names the range; the server sends the lines.
    let download = wait_for(client, ".log-download")
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    assert!(
        download.contains("/logs/download?tail=500&timestamps=true"),
        "{download}"
    );
    let body = client
        .execute_async(
            "const done = arguments[1]; fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t])), e => done([0, String(e)]));",
            vec![json!(download)],
        )
        .await?;
    assert_eq!(body[0], json!(200), "the download answers: {body}");
    assert!(body[1].as_str().unwrap_or_default().contains("last-hostile"), "{body}");
    shots(client, "logs-hostile").await?;
    Ok(())
}

async fn burst(client: &Client, berth: &Berth) -> Result {
    open(client, &berth.url(&format!("/containers/local/{BURST}/logs"))).await?;
    wait_for_line(client, "ready", PATIENCE).await?;
    wait_for_text(client, "#log-status", "Live").await?;
    let go = std::process::Command::new("docker")
        .args(["exec", BURST, "sh", "-c", ": > /go"])
        .output()?;
    assert!(
        go.status.success(),
        "docker exec: {}",
        String::from_utf8_lossy(&go.stderr)
    );

    // While the lines pour in, the page keeps drawing frames and answering
    // (a frame it never draws fails the script after WebDriver's script
    // timeout), until the last line is shown. How long its slowest frame
    // takes is a figure of the logs bench (server/benches/logs.rs), not a
    // limit here: a loaded machine is slower, not wrong.
    let started = Instant::now();
    let last = format!("burst {BURST_LINES}");
    loop {
        client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => done(1));",
                vec![],
            )
            .await?;
        if area_text(client).await?.contains(&last) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the last line did not arrive within 60 s; the page shows {:?}",
            tail(&area_text(client).await?)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("[logs] {BURST_LINES} lines shown in {:?}", started.elapsed());

    // Bounded: at most 5,000 lines kept and drawn; still at the bottom.
    let rows = js(
        client,
        "return document.querySelectorAll('.log-frame .log-line').length",
        Value::Null,
    )
    .await?;
    let rows = rows.as_u64().unwrap_or_default();
    assert!((4_000..=5_000).contains(&rows), "{rows} rows drawn");
    // Every line arrived: the rows drawn are the newest lines, one after
    // another, none missing or twice.
    let drawn = js(
        client,
        "return [...document.querySelectorAll('.log-frame .log-line .log-text')].map(e => e.textContent)",
        Value::Null,
    )
    .await?;
    let numbers: Vec<u32> = drawn
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.as_str()?.strip_prefix("burst ")?.trim().parse().ok())
        .collect();
    let first = BURST_LINES + 1 - numbers.len() as u32;
    assert!(
        numbers.len() as u64 == rows && numbers.iter().copied().eq(first..=BURST_LINES),
        "the rows drawn are not burst {first} to {BURST_LINES} in order: {} rows, {:?} … {:?}",
        numbers.len(),
        numbers.first(),
        numbers.last()
    );
    wait_for_text(client, "#log-counts", "5,000 lines kept").await?;
    let at_bottom = js(
        client,
        "const a = document.querySelector('.log-frame .log-area'); return a.scrollTop + a.clientHeight >= a.scrollHeight - 10;",
        Value::Null,
    )
    .await?;
    assert_eq!(at_bottom, json!(true), "the view followed the newest line");

    // The server's search reaches lines no longer kept here.
    fill(client, "#log-search", "burst 12").await?;
    client
        .find(fantoccini::Locator::Css("#log-server-search"))
        .await?
        .click()
        .await?;
    // burst 12, 120–129, 1200–1299.
    wait_for_text(client, "#log-found-count", "111 matching lines").await?;
    let found = text_of(client, ".log-found .log-area").await?.unwrap_or_default();
    assert!(
        found.contains("burst 1299") && !found.contains("burst 1300"),
        "{}",
        tail(&found)
    );
    shots(client, "logs-burst-search").await?;
    click_button(client, "Close").await?;
    clear_field(client, "#log-search").await?;

    // "Load older" puts earlier lines first and pauses.
    client
        .find(fantoccini::Locator::Css("#log-older"))
        .await?
        .click()
        .await?;
    wait_for_text(client, "#log-older-note", "older lines").await?;
    let text = area_text(client).await?;
    assert!(
        text.contains("burst 4600") && text.contains(&last),
        "older lines before the newest"
    );
    wait_for_text(client, "#log-pause", "Resume").await?;

    scroll_back(client, &last).await
}

/// Scrolling to the top fetches older lines again, keeping the lines in
/// sight where they were; scrolled all the way back, the view still keeps
/// at most 10,000 lines (the newest go), and resuming brings the newest
/// back.
async fn scroll_back(client: &Client, last: &str) -> Result {
    const TOP_ROW: &str = "const a = document.querySelector('.log-frame .log-area'); \
        const rows = [...a.querySelectorAll('.log-line')]; \
        const top = a.getBoundingClientRect().top; \
        const r = rows.find(r => r.getBoundingClientRect().top >= top); \
        return r ? [r.querySelector('.log-text').textContent, Math.round(r.getBoundingClientRect().top - top), a.scrollTop] : null;";
    let kept = || async {
        let text = text_of(client, "#log-counts").await?.unwrap_or_default();
        Ok::<_, common::Error>(text)
    };
    let mut previous = kept().await?;
    let mut loads = 0;
    loop {
        js(
            client,
            "document.querySelector('.log-frame .log-area').scrollTop = 0",
            Value::Null,
        )
        .await?;
        let in_sight = js(client, TOP_ROW, Value::Null).await?;
        let now = wait_until("older lines, or none left", PATIENCE, || async {
            let note = text_of(client, "#log-older-note").await?.unwrap_or_default();
            let counts = kept().await?;
            Ok(if counts != previous || note.contains("No older") {
                Check::Done(counts)
            } else {
                Check::NotYet(format!("{counts}; {note}"))
            })
        })
        .await?;
        if now == previous {
            break;
        }
        loads += 1;
        if loads == 1 {
            // The row at the top before is still there, no longer at the top.
            let after = wait_until("the view to settle", PATIENCE, || async {
                let row = js(client, TOP_ROW, Value::Null).await?;
                Ok(if row[2].as_i64().unwrap_or_default() > 0 {
                    Check::Done(row)
                } else {
                    Check::NotYet(row.to_string())
                })
            })
            .await?;
            assert_eq!(
                after[0], in_sight[0],
                "the line in sight stays in sight: {in_sight} then {after}"
            );
            assert!(
                (after[1].as_i64().unwrap_or_default() - in_sight[1].as_i64().unwrap_or_default()).abs() <= 2,
                "and where it was: {in_sight} then {after}"
            );
        }
        previous = now;
        assert!(loads <= 20, "older lines kept coming: {previous}");
    }
    eprintln!("[logs] scrolled back {loads} times; the view says {previous:?}");
    let first = text_of(client, ".log-frame .log-line .log-text")
        .await?
        .unwrap_or_default();
    assert_eq!(first, "ready", "scrolled back to the container's first line");
    let rows = js(
        client,
        "return document.querySelectorAll('.log-frame .log-line').length",
        Value::Null,
    )
    .await?;
    assert!(rows.as_u64().unwrap_or_default() <= 10_000, "{rows} rows drawn");
    assert!(!area_text(client).await?.contains(last), "the newest went");
    wait_for_text(client, "#log-held", "resuming loads them again").await?;
    shots(client, "logs-scrolled-back").await?;

    // Resume: the newest lines again, bounded as before.
    client
        .find(fantoccini::Locator::Css("#log-pause"))
        .await?
        .click()
        .await?;
    wait_for_line(client, last, PATIENCE).await?;
    wait_for_text(client, "#log-counts", "lines kept").await?;
    wait_for_text(client, "#log-pause", "Pause").await?;
    Ok(())
}

/// The containers list links each compose project to its merged logs.
async fn project(client: &Client, berth: &Berth) -> Result {
    open(client, &berth.url("/containers")).await?;
    let link = wait_for(client, &format!("a.group-logs[href='/logs/local?project={PROJECT}']")).await?;
    link.click().await?;
    wait_for_path(client, "/logs/local").await?;
    wait_for_text(client, "main h1", &format!("Logs: project {PROJECT}")).await?;
    wait_hydrated(client).await?;
    for service in SERVICES {
        wait_for_line(client, &format!("{service} says hi"), PATIENCE).await?;
    }
    let legend = text_of(client, ".log-legend").await?.unwrap_or_default();
    // By service: db before web.
    let (db, web) = (Project::container("db"), Project::container("web"));
    assert!(
        legend.find(&db).zip(legend.find(&web)).is_some_and(|(d, w)| d < w),
        "the legend names both, by service: {legend}"
    );
    Ok(())
}

async fn merged(client: &Client, berth: &Berth) -> Result {
    open(client, &berth.url(&format!("/logs/local?c={TICKER},{HOSTILE}"))).await?;
    wait_for_line(client, "last-hostile", PATIENCE).await?;
    wait_for_line(client, "tick ", PATIENCE).await?;
    // Each container has its own colour, named beside each line.
    let colours = js(
        client,
        r#"const c = (s) => { const e = document.querySelector('.log-area .log-src.' + s);
                              return e ? [e.textContent, getComputedStyle(e).color] : null; };
           return [c('s0'), c('s1')];"#,
        Value::Null,
    )
    .await?;
    assert_eq!(colours[0][0], json!(TICKER), "{colours}");
    assert_eq!(colours[1][0], json!(HOSTILE), "{colours}");
    assert_ne!(colours[0][1], colours[1][1], "two colours: {colours}");

    // Paused: the view stands still while lines are held and counted;
    // resumed: they are all there.
    let count = || async {
        let n = js(
            client,
            "return document.querySelectorAll('.log-frame .log-line').length",
            Value::Null,
        )
        .await?;
        Ok::<u64, Error>(n.as_u64().unwrap_or_default())
    };
    client
        .find(fantoccini::Locator::Css("#log-pause"))
        .await?
        .click()
        .await?;
    let before = count().await?;
    let held = wait_for_text(client, "#log-held", "new lines").await?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(count().await?, before, "nothing moves while paused ({held})");
    let held = text_of(client, "#log-held").await?.unwrap_or_default();
    let waiting: u64 = held
        .split_whitespace()
        .find_map(|w| w.replace(',', "").parse().ok())
        .unwrap_or_default();
    assert!(waiting >= 3, "ticks held while paused: {held}");
    click_button(client, "Resume").await?;
    wait_until("the held lines to show", PATIENCE, || async {
        let now = count().await?;
        Ok(if now >= before + waiting {
            Check::Done(())
        } else {
            Check::NotYet(format!("{now} rows, {before} before, {waiting} held"))
        })
    })
    .await?;
    shots(client, "logs-merged").await?;

    // A container that stops ends its part of the view, visibly; when the
    // last one stops the view says so.
    for name in [TICKER, HOSTILE] {
        let out = std::process::Command::new("docker").args(["kill", name]).output()?;
        assert!(
            out.status.success(),
            "docker kill: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        wait_until(&format!("the end of {name}'s log"), PATIENCE, || async {
            let ends = js(
                client,
                "return [...document.querySelectorAll('.log-area .log-end')].map(e => e.textContent)",
                Value::Null,
            )
            .await?;
            let ends = ends.as_array().cloned().unwrap_or_default();
            Ok(if ends.iter().any(|e| e.as_str().unwrap_or_default().contains(name)) {
                Check::Done(())
            } else {
                Check::NotYet(format!("end markers {ends:?}"))
            })
        })
        .await?;
    }
    wait_for_text(client, "#log-ended", "Every container's log ended").await?;
    wait_for_text(client, "#log-status", "Ended").await?;
    Ok(())
}

/// Someone who may see the host but not read its logs is told so once (no
/// retrying in a loop), in words.
async fn without_the_right(client: &Client, berth: &Berth) -> Result {
    const VIEWER: &str = "vera";
    const VIEWER_PASSWORD: &str = "vera's long password";
    let admin = berth.http();
    assert_eq!(berth.rest_sign_in(&admin, ADMIN, PASSWORD).await?, 200);
    let resp = admin
        .post(berth.url("/api/v1/users"))
        .json(&json!({ "name": VIEWER, "password": VIEWER_PASSWORD, "role": "user" }))
        .send()
        .await?;
    assert_eq!(resp.status(), 201, "adding {VIEWER}");
    let id = resp.json::<Value>().await?["id"].as_u64().unwrap_or_default();
    let resp = admin
        .put(berth.url(&format!("/api/v1/users/{id}/grants")))
        .json(&json!([{ "host": "local", "level": "view" }]))
        .send()
        .await?;
    assert_eq!(resp.status(), 200, "granting view");
    sign_in(client, berth, VIEWER, VIEWER_PASSWORD).await?;
    open(client, &berth.url(&format!("/containers/local/{BURST}/logs"))).await?;
    let refused = wait_for_text(client, "#log-failed", "log").await?;
    eprintln!("[logs] without the right: {refused}");
    wait_for_text(client, "#log-status", "Stopped").await?;
    assert!(!area_text(client).await?.contains("burst"), "no line shows");
    Ok(())
}
