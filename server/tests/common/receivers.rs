//! Receivers for alert deliveries, on loopback ports: an HTTP one that
//! records every request and answers as told (a status, a delay, no
//! answer until released, an echo of what it got), and a small SMTP server (EHLO, AUTH PLAIN and LOGIN,
//! MAIL, RCPT, DATA with dot-unstuffing, QUIT) that records each mail.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot, watch};

/// One request as the receiver got it; header names in lowercase.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

struct Log<T> {
    items: Mutex<Vec<T>>,
    arrived: Notify,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log {
            items: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        }
    }
}

impl<T: Clone> Log<T> {
    fn push(&self, item: T) {
        self.items.lock().unwrap().push(item);
        self.arrived.notify_waiters();
    }

    fn all(&self) -> Vec<T> {
        self.items.lock().unwrap().clone()
    }

    /// Waits until at least `n` have arrived (panics after 10 s).
    async fn wait_for(&self, n: usize) -> Vec<T> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let waiting = self.arrived.notified();
            let all = self.all();
            if all.len() >= n {
                return all;
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                panic!("{n} expected within 10 s, {} arrived", self.all().len());
            }
        }
    }
}

struct HttpState {
    log: Log<Received>,
    status: AtomicU16,
    delay_ms: AtomicU64,
    /// While true, requests wait for their answer.
    held: watch::Sender<bool>,
    echo: AtomicBool,
}

/// An HTTP receiver on 127.0.0.1 that records every request.
pub struct HttpReceiver {
    pub addr: SocketAddr,
    state: Arc<HttpState>,
    stop: Option<oneshot::Sender<()>>,
}

impl HttpReceiver {
    pub async fn start() -> HttpReceiver {
        HttpReceiver::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// On a given address (one that was down until now).
    pub async fn start_on(addr: SocketAddr) -> HttpReceiver {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(HttpState {
            log: Log::default(),
            status: AtomicU16::new(200),
            delay_ms: AtomicU64::new(0),
            held: watch::Sender::new(false),
            echo: AtomicBool::new(false),
        });
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { answer(state, method, uri, headers, body).await }
        });
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        HttpReceiver {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// An address where nothing listens (yet): a receiver that is down.
    pub async fn down_address() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers every request with `status` from now on.
    pub fn answer(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Waits this long before answering.
    pub fn delay(&self, delay: Duration) {
        self.state.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Answers no request until `release`: they wait, unrecorded.
    pub fn hold(&self) {
        self.state.held.send_replace(true);
    }

    /// Answers the requests held, and those that come later, as usual.
    pub fn release(&self) {
        self.state.held.send_replace(false);
    }

    /// Answers with everything it got (path, headers, body) on one line,
    /// as a careless receiver might in its error pages.
    pub fn echo(&self) {
        self.state.echo.store(true, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.log.all()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        self.state.log.wait_for(n).await
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(state: Arc<HttpState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let received = Received {
        method: method.to_string(),
        path: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let _ = state.held.subscribe().wait_for(|held| !held).await;
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let text = if state.echo.load(Ordering::SeqCst) {
        format!(
            "{} {} {:?} {}",
            received.method,
            received.path,
            received.headers,
            received.text()
        )
        .replace('\n', " ")
    } else {
        "ok".to_string()
    };
    state.log.push(received);
    let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
    (status, text)
}

/// One mail as the SMTP server got it.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// (mechanism, user, password) when the client logged in.
    pub auth: Option<(String, String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// The message, dot-unstuffed, lines joined with "\n".
    pub data: String,
}

impl Mail {
    /// A header's value (the first with that name, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\n\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.lines() {
            match &mut value {
                Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
                Some(_) => break,
                None => {
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case(name)
                    {
                        value = Some(v.trim().to_string());
                    }
                }
            }
        }
        value
    }
}

/// What the SMTP server expects and offers.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Offered after AUTH in the EHLO answer: "PLAIN LOGIN", "LOGIN"...
    pub mechanisms: &'static str,
    pub user: String,
    pub password: String,
    /// Refuse every login, quoting what was sent (a careless server).
    pub refuse_login: bool,
}

/// A small SMTP server on 127.0.0.1 that records each mail.
pub struct SmtpServer {
    pub addr: SocketAddr,
    log: Arc<Log<Mail>>,
}

impl SmtpServer {
    pub async fn start(settings: SmtpSettings) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Log::default());
        let shared = log.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (log, settings) = (shared.clone(), settings.clone());
                tokio::spawn(async move {
                    let _ = session(socket, &settings, &log).await;
                });
            }
        });
        SmtpServer { addr, log }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.log.all()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        self.log.wait_for(n).await
    }
}

fn unb64(text: &str) -> String {
    String::from_utf8_lossy(&B64.decode(text.trim()).unwrap_or_default()).into_owned()
}

/// The address in `FROM:<a@b>` / `TO:<a@b>`.
fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.find('>').unwrap_or(arg.len());
    arg[start..end].to_string()
}

async fn session(socket: TcpStream, settings: &SmtpSettings, log: &Log<Mail>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 test.invalid ESMTP\r\n").await?;
    let mut mail = Mail::default();
    let mut auth = None;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            format!("250-test.invalid\r\n250-AUTH {}\r\n250 8BITMIME", settings.mechanisms)
        } else if upper.starts_with("HELO") || upper.starts_with("RSET") || upper.starts_with("NOOP") {
            "250 OK".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = line.get(10..).unwrap_or("").trim().to_string();
            let initial = if initial.is_empty() {
                write.write_all(b"334 \r\n").await?;
                lines.next_line().await?.unwrap_or_default()
            } else {
                initial
            };
            let decoded = unb64(&initial);
            let mut parts = decoded.split('\0').skip(1);
            let (user, pass) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            login(settings, &mut auth, "PLAIN", user, pass)
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let user = unb64(&lines.next_line().await?.unwrap_or_default());
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let pass = unb64(&lines.next_line().await?.unwrap_or_default());
            login(settings, &mut auth, "LOGIN", user, pass)
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                auth: auth.clone(),
                from: address(&line),
                ..Mail::default()
            };
            "250 OK".into()
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&line));
            "250 OK".into()
        } else if upper == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            let mut data = Vec::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
            }
            mail.data = data.join("\n");
            log.push(std::mem::take(&mut mail));
            "250 queued".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            "502 not implemented".into()
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

fn login(
    settings: &SmtpSettings,
    auth: &mut Option<(String, String, String)>,
    mechanism: &str,
    user: String,
    pass: String,
) -> String {
    if settings.refuse_login {
        return format!("535 5.7.8 no such login: {user} / {pass}");
    }
    if user == settings.user && pass == settings.password {
        *auth = Some((mechanism.to_string(), user, pass));
        "235 2.7.0 accepted".into()
    } else {
        "535 5.7.8 bad credentials".into()
    }
}
