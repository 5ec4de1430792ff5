//! What every browser test needs: a berth server of its own, a Chromium of
//! its own (through chromedriver), and small helpers that wait for what a
//! person would wait for.
//!
//! Everything started here is a child process behind a guard that kills it
//! when dropped, also when a test panics. The browser session itself is closed
//! by [`run_in_browser`], which runs a test's steps and closes the session
//! whatever happened.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod agent;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Errors of the helpers; assertions in the tests panic instead.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T = ()> = std::result::Result<T, Error>;

/// How long a page may take to show what a step expects.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A port nobody listens on right now (bind to port 0, read it, let it go).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a local port");
    listener.local_addr().expect("a bound listener has an address").port()
}

/// A child process that is killed, with its whole process group, on drop.
/// Chromedriver's Chromium lives in the same group, so nothing is orphaned.
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    fn spawn(name: &'static str, mut command: Command) -> Result<ChildGuard> {
        command.process_group(0).kill_on_drop(true);
        let child = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(ChildGuard { child })
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The group id is the child's pid (process_group(0) above).
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
    }
}

/// Copies a child's output into `log` line by line (and keeps the pipe
/// drained, so the child never blocks on a full pipe).
fn collect<R: AsyncRead + Unpin + Send + 'static>(stream: R, log: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
}

/// A berth server started for one test, on a free port, with fresh data.
pub struct Berth {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The one-time link printed on start-up, while there are no users.
    pub setup_url: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _process: ChildGuard,
    _data: tempfile::TempDir,
    _cwd: tempfile::TempDir,
}

/// The berth binary under test: `$BERTH_BIN`, else `target/debug/berth`.
pub fn berth_bin() -> PathBuf {
    match std::env::var_os("BERTH_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/berth"),
    }
}

impl Berth {
    /// Starts `berth serve` in an empty directory (the site is embedded in
    /// the binary, so it must not need its source tree) and waits for the
    /// setup link on its console.
    pub async fn start() -> Result<Berth> {
        Berth::start_with_env(&[]).await
    }

    /// As `start`, with these `BERTH_*` settings (`("BERTH_STATS_INTERVAL_SECS", "1")`).
    pub async fn start_with_env(settings: &[(&str, &str)]) -> Result<Berth> {
        Berth::start_with(settings, None).await
    }

    /// As `start`, reading this TOML configuration file (`--config`).
    pub async fn start_with_config(config: &std::path::Path) -> Result<Berth> {
        Berth::start_with(&[], Some(config)).await
    }

    async fn start_with(settings: &[(&str, &str)], config: Option<&std::path::Path>) -> Result<Berth> {
        let bin = berth_bin();
        if !bin.is_file() {
            return Err(format!(
                "no berth binary at {}: build it (cargo build -p berth-server) or set BERTH_BIN",
                bin.display()
            )
            .into());
        }
        let data = tempfile::tempdir()?;
        let cwd = tempfile::tempdir()?;
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .args(["--listen", &listen])
            .arg("--data-dir")
            .arg(data.path())
            .current_dir(cwd.path())
            .args(
                config
                    .iter()
                    .flat_map(|c| [std::ffi::OsStr::new("--config"), c.as_os_str()]),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // No configuration from the environment: in particular no site
        // directory, so the pages must come from the copy in the binary.
        for (key, _) in std::env::vars_os() {
            if key
                .to_str()
                .is_some_and(|k| k.starts_with("BERTH_") || k.starts_with("LEPTOS_"))
            {
                command.env_remove(key);
            }
        }
        command.envs(settings.iter().copied());
        let mut process = ChildGuard::spawn("berth", command)?;
        let (stdout, stderr) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
        collect(process.child.stdout.take().expect("stdout is piped"), stdout.clone());
        collect(process.child.stderr.take().expect("stderr is piped"), stderr.clone());

        // The link is a line `    http://127.0.0.1:PORT/setup?token=<64 hex>`.
        let started = Instant::now();
        let setup_url = loop {
            let found = stdout.lock().unwrap().lines().find_map(|l| {
                let l = l.trim();
                let token = l.split_once("/setup?token=")?.1;
                (l.starts_with("http://") && token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| l.to_string())
            });
            if let Some(url) = found {
                break url;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!(
                    "berth exited ({status}) before printing its setup link.\nstdout:\n{}\nstderr:\n{}",
                    stdout.lock().unwrap(),
                    stderr.lock().unwrap()
                )
                .into());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "no setup link on berth's stdout within 30 s.\nstdout:\n{}\nstderr:\n{}",
                    stdout.lock().unwrap(),
                    stderr.lock().unwrap()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let base = format!("http://{listen}");
        assert!(
            setup_url.starts_with(&format!("{base}/setup?token=")),
            "the setup link {setup_url} should point at the address berth listens on ({base})"
        );
        eprintln!("[end2end] berth is up at {base} (data in {})", data.path().display());
        Ok(Berth {
            base,
            setup_url,
            stdout,
            stderr,
            _process: process,
            _data: data,
            _cwd: cwd,
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server wrote to stderr (its log) so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// What the server wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// An HTTP client that keeps cookies and does not follow redirects (so
    /// tests see them), like a script using the REST API.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a reqwest client builds")
    }

    /// `POST /api/v1/session {name, password}` on `http`; returns the status.
    pub async fn rest_sign_in(&self, http: &reqwest::Client, name: &str, password: &str) -> Result<u16> {
        let resp = http
            .post(self.url("/api/v1/session"))
            .json(&json!({ "name": name, "password": password }))
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }
}

/// A chromedriver of our own; Chromium sessions are opened through it.
pub struct Driver {
    pub url: String,
    _process: ChildGuard,
    _profile: tempfile::TempDir,
    profile: PathBuf,
}

impl Driver {
    pub async fn start() -> Result<Driver> {
        let port = free_port();
        let mut command = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()));
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = ChildGuard::spawn("chromedriver", command)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if started.elapsed() > Duration::from_secs(15) {
                return Err(format!("chromedriver does not answer on port {port}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir()?;
        Ok(Driver {
            url: format!("http://127.0.0.1:{port}"),
            profile: profile.path().to_path_buf(),
            _process: process,
            _profile: profile,
        })
    }

    /// Opens headless Chromium with the flags that work on these machines
    /// (without the networking flags it tries to reach the internet).
    pub async fn open(&self) -> Result<Client> {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let args = [
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
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", self.profile.display())])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": binary, "args": args }));
        // Keep the console (wasm panics, failed requests) for failure reports.
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await?;
        Ok(client)
    }
}

/// Chromedriver's "get log" command (not in the W3C standard, so not in
/// fantoccini): the browser console's messages since the last call.
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> std::result::Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

/// The browser console's messages, one a line (empty if they cannot be read).
pub async fn console_log(client: &Client) -> String {
    let Ok(Value::Array(entries)) = client.issue_cmd(ConsoleLog).await else {
        return String::new();
    };
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["level"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `steps` with a fresh browser session and closes the session whatever
/// happens (an error, a failed assertion, a panic), so no Chromium is left
/// behind. On failure it saves a screenshot to `/tmp/e2e-<name>.png` and
/// prints where the browser was and the server's log, then fails the test.
pub async fn run_in_browser<F, Fut>(name: &str, berth: Arc<Berth>, steps: F)
where
    F: FnOnce(Client, Arc<Berth>) -> Fut,
    Fut: Future<Output = Result> + Send + 'static,
{
    let driver = Driver::start().await.expect("chromedriver starts");
    let client = driver.open().await.expect("chromedriver opens a Chromium session");
    // A spawned task turns a panic into a JoinError, so the session can still be closed.
    let outcome = tokio::spawn(steps(client.clone(), berth.clone())).await;
    // A page whose wasm panicked (a hydration mismatch, say) is dead even
    // where plain HTML forms still work: that fails the test too.
    let console = console_log(&client).await;
    let panicked = console
        .lines()
        .find(|l| l.contains("panicked at") || l.contains("hydration error"))
        .map(|l| l.chars().take(600).collect::<String>());
    let failed = !matches!(outcome, Ok(Ok(()))) || panicked.is_some();
    if failed {
        let url = client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("unknown ({e})"));
        let shot = format!("/tmp/e2e-{name}.png");
        let saved = match client.screenshot().await {
            Ok(png) => std::fs::write(&shot, png)
                .map(|_| shot)
                .unwrap_or_else(|e| format!("not saved: {e}")),
            Err(e) => format!("not taken: {e}"),
        };
        let body = client
            .execute("return document.body ? document.body.innerText : ''", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        eprintln!(
            "\n[end2end] {name} FAILED\n  browser at: {url}\n  screenshot: {saved}\n--- page text ---\n{body}\n--- browser console ---\n{console}\n--- berth stderr ---\n{}\n---",
            berth.stderr()
        );
    }
    if let Err(e) = client.close().await {
        eprintln!("[end2end] closing the browser session failed: {e}");
    }
    drop(driver);
    match outcome {
        Ok(Ok(())) => {
            if let Some(line) = panicked {
                panic!("{name}: the page's wasm failed: {line}");
            }
        }
        Ok(Err(e)) => panic!("{name}: {e}"),
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => panic!("{name}: the test task was cancelled: {join}"),
    }
}

/// What a check in [`wait_until`] found.
pub enum Check<T> {
    /// The awaited state, with what the caller wants from it.
    Done(T),
    /// Not yet; says what the page shows instead, for the timeout message.
    NotYet(String),
}

/// Runs `check` every 100 ms until it returns [`Check::Done`], for at most
/// `timeout`. `what` names what is awaited, for the error message.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<T>>>,
{
    let started = Instant::now();
    loop {
        let seen = match check().await {
            Ok(Check::Done(v)) => return Ok(v),
            Ok(Check::NotYet(seen)) => seen,
            // A page in the middle of a navigation can fail a script; try again.
            Err(e) => format!("an error: {e}"),
        };
        if started.elapsed() > timeout {
            return Err(format!("timed out after {timeout:?} waiting for {what}; last seen: {seen}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until an element matching `css` is on the page and returns it.
pub async fn wait_for(client: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("no element `{css}` within {PATIENCE:?}: {e}").into())
}

/// The text content of the first element matching `css`, trimmed; `None`
/// when there is no such element.
pub async fn text_of(client: &Client, css: &str) -> Result<Option<String>> {
    let v = client
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
            vec![json!(css)],
        )
        .await?;
    Ok(v.as_str().map(str::to_string))
}

/// Waits until the element matching `css` exists and its text contains
/// `wanted`; returns the whole text.
pub async fn wait_for_text(client: &Client, css: &str, wanted: &str) -> Result<String> {
    wait_until(
        &format!("`{css}` to contain {wanted:?}"),
        PATIENCE,
        move || async move {
            Ok(match text_of(client, css).await? {
                Some(text) if text.contains(wanted) => Check::Done(text),
                other => Check::NotYet(format!("{other:?}")),
            })
        },
    )
    .await
}

/// Waits until the browser's location has this path (client-side navigation
/// included).
pub async fn wait_for_path(client: &Client, path: &str) -> Result<url::Url> {
    wait_until(&format!("the page {path}"), PATIENCE, move || async move {
        let url = client.current_url().await?;
        Ok(if url.path() == path {
            Check::Done(url)
        } else {
            Check::NotYet(format!("the browser at {url}"))
        })
    })
    .await
}

/// After submitting a form: waits until the browser is at `path`, and fails
/// at once, with the message, if the form shows an error (`error_css`).
pub async fn wait_for_path_unless_error(client: &Client, path: &str, error_css: &str) -> Result<url::Url> {
    let outcome = wait_until(&format!("the page {path}"), PATIENCE, move || async move {
        if let Some(error) = text_of(client, error_css).await? {
            return Ok(Check::Done(Err(error)));
        }
        let url = client.current_url().await?;
        Ok(if url.path() == path {
            Check::Done(Ok(url))
        } else {
            Check::NotYet(format!("the browser at {url}"))
        })
    })
    .await?;
    outcome.map_err(|error| format!("expected the page {path}, but the form says: {error}").into())
}

/// Waits until the page's WebAssembly is running, i.e. the page is hydrated
/// and its buttons and forms work without reloading the page.
///
/// Leptos loads the app's js (`/pkg/berth.js`, `/pkg/<hash>/berth.js` when
/// embedded: the page's modulepreload link names it) and calls `hydrate()` right after the wasm is
/// initialised, in the same chain of promise callbacks. The probe imports the
/// same module (the browser returns the already-loaded instance) and calls
/// its `initSync()`, which returns at once when the wasm is initialised and
/// throws, doing nothing, when it is not. A `setTimeout` then lets the
/// pending callbacks (hydration's effects) run before the probe answers.
pub async fn wait_hydrated(client: &Client) -> Result {
    const PROBE: &str = r#"
        const done = arguments[arguments.length - 1];
        const app = document.querySelector('link[rel=modulepreload]');
        import(new URL(app ? app.getAttribute('href') : '/pkg/berth.js', location.href).href).then(
            (m) => {
                let ready = false;
                try { m.initSync(); ready = true; } catch (_) {}
                // Each page's own code is a piece of wasm of its own,
                // loaded after the app's: it marks the page when it runs.
                ready = ready && document.documentElement.hasAttribute('data-hydrated');
                setTimeout(() => done(ready), 0);
            },
            () => done(false));
    "#;
    wait_until(
        "the page to hydrate (its wasm to run)",
        Duration::from_secs(20),
        move || async move {
            Ok(match client.execute_async(PROBE, vec![]).await? {
                Value::Bool(true) => Check::Done(()),
                _ => Check::NotYet(format!("no wasm yet at {}", client.current_url().await?)),
            })
        },
    )
    .await
}

/// Opens `url` and waits until the page is hydrated.
pub async fn open(client: &Client, url: &str) -> Result {
    client.goto(url).await?;
    wait_hydrated(client).await
}

/// Types `text` into the (emptied) field matching `css`.
pub async fn fill(client: &Client, css: &str, text: &str) -> Result {
    let field = wait_for(client, css).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Clicks the button whose visible text is `label`.
pub async fn click_button(client: &Client, label: &str) -> Result {
    let xpath = format!("//button[normalize-space()='{label}']");
    let button = client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(&xpath))
        .await
        .map_err(|e| format!("no button {label:?}: {e}"))?;
    button.click().await?;
    Ok(())
}

/// One row of an event table, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row's `data-seq`.
    pub seq: u64,
    /// The text of the Kind cell.
    pub kind: String,
    /// Marked `fresh`: it arrived live, after the page loaded.
    pub fresh: bool,
}

/// The rows of the page's event table, top to bottom.
pub async fn event_rows(client: &Client) -> Result<Vec<Row>> {
    let v = client
        .execute(
            r#"return [...document.querySelectorAll('table.events tbody tr')].map((tr) => ({
                seq: Number(tr.dataset.seq),
                kind: (tr.querySelector('td.kind')?.textContent ?? '').trim(),
                fresh: tr.classList.contains('fresh'),
            }));"#,
            vec![],
        )
        .await?;
    let rows = v.as_array().ok_or("the row script returns an array")?;
    rows.iter()
        .map(|r| {
            Ok(Row {
                seq: r["seq"]
                    .as_u64()
                    .ok_or_else(|| format!("a row without a numeric data-seq: {r}"))?,
                kind: r["kind"].as_str().unwrap_or_default().to_string(),
                fresh: r["fresh"].as_bool().unwrap_or_default(),
            })
        })
        .collect()
}

/// Creates the first admin through the console's setup link, which also signs
/// them in and lands on the dashboard (or shows the setup page's error).
pub async fn create_first_admin(client: &Client, berth: &Berth, name: &str, password: &str) -> Result {
    open(client, &berth.setup_url).await?;
    wait_for_text(client, "h1", "Welcome to berth").await?;
    fill(client, "#setup-name", name).await?;
    fill(client, "#setup-password", password).await?;
    fill(client, "#setup-confirm", password).await?;
    click_button(client, "Create admin and sign in").await?;
    wait_for_path_unless_error(client, "/", "#setup-error").await?;
    Ok(())
}

/// Signs `name` in through the sign-in page (after dropping any session)
/// and waits for the dashboard, or fails with the page's error.
pub async fn sign_in(client: &Client, berth: &Berth, name: &str, password: &str) -> Result {
    client.delete_all_cookies().await?;
    open(client, &berth.url("/login")).await?;
    fill(client, "#login-name", name).await?;
    fill(client, "#login-password", password).await?;
    click_button(client, "Sign in").await?;
    wait_for_path_unless_error(client, "/", "#login-error").await?;
    Ok(())
}

/// Containers of the test image made for one test; removed (with any other
/// names it lists in `also`) before it runs and when it ends.
pub struct TestContainers(Vec<String>);

impl TestContainers {
    /// `docker run -d --name NAME berth-test/busybox:1 COMMAND...`, after removing `also`.
    pub fn run(name: &str, command: &[&str], also: &[&str]) -> TestContainers {
        let names: Vec<String> = std::iter::once(name)
            .chain(also.iter().copied())
            .map(String::from)
            .collect();
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f"])
            .args(&names)
            .output();
        let out = std::process::Command::new("docker")
            .args(["run", "-d", "--name", name, "berth-test/busybox:1"])
            .args(command)
            .output()
            .expect("the docker CLI is installed");
        assert!(
            out.status.success(),
            "docker run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestContainers(names)
    }
}

impl Drop for TestContainers {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f"])
            .args(&self.0)
            .output();
    }
}

/// When `BERTH_E2E_SHOTS=DIR` is set, saves what the browser shows as
/// `DIR/NAME-1280.png` (desktop) and `DIR/NAME-390.png` (phone), for people
/// who check the pages by eye; the window is desktop-sized again after.
/// Does nothing otherwise.
pub async fn screenshots(client: &Client, name: &str) -> Result {
    let Some(dir) = std::env::var_os("BERTH_E2E_SHOTS") else {
        return Ok(());
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    for (width, height) in [(1280, 1100), (390, 1500)] {
        client.set_window_size(width, height).await?;
        // Let the layout settle at the new width before the picture.
        client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await?;
        let png = client.screenshot().await?;
        std::fs::write(dir.join(format!("{name}-{width}.png")), png)?;
    }
    client.set_window_size(1280, 900).await?;
    Ok(())
}
