//! Part 3 of the logs bench: the logs page in headless Chromium while a
//! container writes `BURST_LINES` lines at once (the burst of the browser
//! test `end2end/tests/logs.rs`): how long the page's slowest frame took,
//! beside the aim of `AIM`, and when the last line was shown. A figure, not
//! a limit: a loaded machine draws slower without being wrong (it took
//! 3.4 s on one), so the browser test only asserts that the page keeps
//! answering and that every line arrives.
//!
//! Chromium is driven through chromedriver's plain WebDriver HTTP, with
//! the flags that work on these machines. Needs berth built with the site
//! embedded, chromium and chromedriver; without them it says what is
//! missing and measures nothing.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BURST_LINES: u32 = 10_000;
/// What the slowest frame should take at most on a quiet machine.
pub const AIM: Duration = Duration::from_secs(2);

/// Says it is ready, waits for /go, then writes `BURST_LINES` numbered
/// lines as fast as it can.
pub const BURST_SCRIPT: &str = r#"echo ready
while [ ! -e /go ]; do sleep 0.1; done
i=1; while [ $i -le 10000 ]; do echo "burst $i"; i=$((i+1)); done
sleep 3600"#;

/// How long the page waits for anything (berth answering, the line "ready").
const PATIENCE: Duration = Duration::from_secs(60);

/// What the burst did to the page.
pub struct Burst {
    /// The longest wait for a frame while the lines poured in.
    pub slowest_frame: Duration,
    pub frames: u32,
    /// From the go to the last line shown.
    pub last_line_after: Duration,
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

/// Why this part cannot run here, if it cannot.
pub fn why_not() -> Option<String> {
    if option_env!("BERTH_EMBED_SITE").is_none() {
        return Some(
            "this bench's berth has no site embedded: after ./dev.sh build, run it with \
             BERTH_EMBED_SITE=<target dir>/site"
                .into(),
        );
    }
    let found = Command::new(chromedriver())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!found).then(|| "no chromedriver: apt-get install chromium chromium-driver".into())
}

/// chromedriver on a free port, and one Chromium session through it; both
/// end when dropped.
struct Browser {
    driver: Child,
    url: String,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session closes Chromium; chromedriver goes by its pid.
        let url = format!("{}/session/{}", self.url, self.session);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(reqwest::Client::new().delete(url).send());
            }
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn open() -> Result<Browser, String> {
        let port = super::free_port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting chromedriver: {e}"))?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while http.get(format!("{url}/status")).send().await.is_err() {
            if Instant::now() > deadline {
                return Err(format!("chromedriver does not answer on port {port}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let args = json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": binary, "args": args },
        }}});
        let mut browser = Browser {
            driver,
            url,
            http,
            session: String::new(),
            _profile: profile,
        };
        let session = browser.call(reqwest::Method::POST, "/session", capabilities).await?;
        browser.session = session["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {session}"))?
            .to_string();
        Ok(browser)
    }

    /// A WebDriver command: its `value`, or its error.
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, String> {
        let answer: Value = self
            .http
            .request(method, format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        match answer["value"]["error"].as_str() {
            Some(error) => Err(format!("{path}: {error}: {}", answer["value"]["message"])),
            None => Ok(answer["value"].clone()),
        }
    }

    async fn go(&self, url: &str) -> Result<(), String> {
        let path = format!("/session/{}/url", self.session);
        self.call(reqwest::Method::POST, &path, json!({ "url": url }))
            .await
            .map(drop)
    }

    /// Runs `script` in the page (`execute/sync` or `execute/async`).
    async fn script(&self, how: &str, script: &str, args: Value) -> Result<Value, String> {
        let path = format!("/session/{}/execute/{how}", self.session);
        self.call(reqwest::Method::POST, &path, json!({ "script": script, "args": args }))
            .await
    }

    /// The text of the first element matching `css` ("" while there is none).
    async fn text(&self, css: &str) -> Result<String, String> {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';";
        let text = self.script("sync", script, json!([css])).await?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// Waits until the text of `css` contains `wanted`.
    async fn wait_for_text(&self, css: &str, wanted: &str) -> Result<(), String> {
        let deadline = Instant::now() + PATIENCE;
        while !self.text(css).await?.contains(wanted) {
            if Instant::now() > deadline {
                return Err(format!("{css} never showed {wanted:?} within {PATIENCE:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Waits for the page's next frame; how long that took.
    async fn frame(&self) -> Result<Duration, String> {
        let asked = Instant::now();
        let script = "const done = arguments[0]; requestAnimationFrame(() => done(1));";
        self.script("async", script, json!([])).await?;
        Ok(asked.elapsed())
    }
}

/// Opens the logs page of `container` (running `BURST_SCRIPT`) on the berth
/// at `base` as `name`, lets the burst go, and asks for frames until the
/// last line is shown.
pub async fn burst(base: &str, name: &str, password: &str, container: &str) -> Result<Burst, String> {
    let browser = Browser::open().await?;
    browser.go(&format!("{base}/login")).await?;
    let sign_in = "const done = arguments[2]; \
        fetch('/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, \
          body: JSON.stringify({ name: arguments[0], password: arguments[1] }) }) \
        .then(r => done(r.status), e => done(String(e)));";
    let status = browser.script("async", sign_in, json!([name, password])).await?;
    if status != json!(200) {
        return Err(format!("signing in from the page answered {status}"));
    }
    browser.go(&format!("{base}/containers/local/{container}/logs")).await?;
    browser.wait_for_text(".log-frame .log-area", "ready").await?;
    browser.wait_for_text("#log-status", "Live").await?;

    let go = Command::new("docker")
        .args(["exec", container, "sh", "-c", ": > /go"])
        .output()
        .map_err(|e| e.to_string())?;
    if !go.status.success() {
        return Err(format!("docker exec: {}", String::from_utf8_lossy(&go.stderr)));
    }
    let started = Instant::now();
    let last = format!("burst {BURST_LINES}");
    let (mut slowest_frame, mut frames) = (Duration::ZERO, 0);
    loop {
        slowest_frame = slowest_frame.max(browser.frame().await?);
        frames += 1;
        if browser.text(".log-frame .log-area").await?.contains(&last) {
            break;
        }
        if started.elapsed() > 2 * PATIENCE {
            return Err(format!("the last line was not shown within {:?}", 2 * PATIENCE));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Burst {
        slowest_frame,
        frames,
        last_line_after: started.elapsed(),
    })
}
