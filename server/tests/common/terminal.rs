//! A terminal's socket as a browser holds it, and what the terminal tests
//! look at: tickets, the processes left in a container, the events about a
//! session, a recording's output and hash.

use super::docker::docker;
use super::{Server, events, until};
use berth_core::model::TermControl;
use berth_core::model::asciicast::{self, CastEvent};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http};

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal's socket as a browser holds it, and everything it received.
pub struct Term {
    pub ws: Socket,
    /// Output so far, as received.
    pub out: Vec<u8>,
    pub controls: Vec<TermControl>,
    pub close: Option<u16>,
}

impl Term {
    pub async fn open(server: &Server, ticket: &str, cols: u16, rows: u16) -> Term {
        let url = format!(
            "{}/ws/terminal?ticket={ticket}&cols={cols}&rows={rows}",
            server.base.replace("http://", "ws://")
        );
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("the terminal opens");
        Term {
            ws,
            out: Vec::new(),
            controls: Vec::new(),
            close: None,
        }
    }

    pub async fn keys(&mut self, text: &str) {
        self.ws
            .send(Message::Binary(text.as_bytes().to_vec().into()))
            .await
            .unwrap();
    }

    pub async fn resize(&mut self, cols: u16, rows: u16) {
        let text = json!({ "type": "resize", "cols": cols, "rows": rows }).to_string();
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    /// Reads one frame (or the end); false once the socket is closed.
    pub async fn read(&mut self, within: Duration) -> bool {
        match tokio::time::timeout(within, self.ws.next()).await {
            Err(_) => true,
            Ok(None) | Ok(Some(Err(_))) => false,
            Ok(Some(Ok(Message::Binary(b)))) => {
                self.out.extend_from_slice(&b);
                true
            }
            Ok(Some(Ok(Message::Text(t)))) => {
                self.controls.push(serde_json::from_str(&t).expect("a control message"));
                true
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                self.close = Some(frame.map_or(1005, |f| f.code.into()));
                false
            }
            Ok(Some(Ok(_))) => true,
        }
    }

    /// Reads until the output (after `from`) matches `found`; returns it.
    pub async fn until<T>(&mut self, what: &str, from: usize, found: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(t) = found(&String::from_utf8_lossy(&self.out[from..])) {
                return t;
            }
            assert!(
                Instant::now() < deadline && self.read(Duration::from_millis(200)).await,
                "no {what} in the terminal: {:?} (controls {:?})",
                self.text(),
                self.controls
            );
        }
    }

    /// Reads until the server closes the socket.
    pub async fn until_closed(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.read(Duration::from_millis(200)).await {
            assert!(
                Instant::now() < deadline,
                "the terminal never closed: {:?}",
                self.text()
            );
        }
    }

    pub fn closed(&self) -> Option<(Option<i64>, String)> {
        self.controls.iter().find_map(|c| match c {
            TermControl::Closed { exit_code, reason } => Some((*exit_code, reason.clone())),
            _ => None,
        })
    }
}

/// `POST /api/v1/hosts/{host}/containers/{id}/terminal` with `body`.
pub async fn ask(server: &Server, client: &reqwest::Client, host: &str, id: &str, body: Value) -> reqwest::Response {
    client
        .post(server.url(&format!("/api/v1/hosts/{host}/containers/{id}/terminal")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn ticket(server: &Server, client: &reqwest::Client, host: &str, id: &str) -> String {
    let resp = ask(server, client, host, id, json!({})).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["path"].as_str().unwrap().starts_with("/ws/terminal?ticket="),
        "{body}"
    );
    body["ticket"].as_str().unwrap().to_string()
}

/// The processes alive in container `name` other than its own (PID 1)
/// and `ps`. A killed child whose shell died first stays a zombie
/// (`[sleep]`: dead, not reaped, since the container's PID 1 is `sleep`,
/// not an init); it runs nothing and is not counted.
pub fn strays(name: &str) -> Vec<String> {
    docker(&["exec", name, "ps", "-o", "pid,args"])
        .lines()
        .skip(1)
        .filter(|l| {
            let mut words = l.split_whitespace();
            let pid = words.next().unwrap_or_default();
            let zombie = words.next().is_some_and(|w| w.starts_with('['));
            pid != "1" && !zombie && !l.contains("ps -o pid,args")
        })
        .map(str::to_string)
        .collect()
}

/// Waits until nothing of a terminal is left in container `name`.
pub async fn gone(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = strays(name);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the terminal's processes outlive it: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The newest event of `kind` about `target`, once there is one.
pub async fn newest(server: &Server, client: &reqwest::Client, kind: &str, extra: &str) -> Value {
    until(&format!("a {kind} event ({extra})"), 20, async || {
        let page = events(server, client, &format!("kind={kind}&{extra}")).await;
        page["events"].as_array().unwrap().first().cloned()
    })
    .await
}

/// `GET /api/v1/events/{seq}/recording`: the recording of session `seq`.
pub async fn recording(server: &Server, client: &reqwest::Client, seq: u64) -> reqwest::Response {
    client
        .get(server.url(&format!("/api/v1/events/{seq}/recording")))
        .send()
        .await
        .unwrap()
}

/// The events after `seq`, oldest first.
pub async fn after(server: &Server, client: &reqwest::Client, seq: u64) -> Vec<Value> {
    let page = events(server, client, "limit=500").await;
    let mut found: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() > seq)
        .cloned()
        .collect();
    found.reverse();
    found
}

pub async fn head(server: &Server, client: &reqwest::Client) -> u64 {
    events(server, client, "limit=1").await["head"].as_u64().unwrap()
}

/// The output events of a recording, joined.
pub fn replayed(text: &str) -> String {
    asciicast::parse(text)
        .unwrap()
        .events
        .into_iter()
        .filter_map(|(_, e)| match e {
            CastEvent::Output(o) => Some(o),
            _ => None,
        })
        .collect()
}

pub fn hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A ws request to the terminal with `origin`.
pub async fn with_origin(server: &Server, ticket: &str, origin: &str) -> u16 {
    let url = format!(
        "{}/ws/terminal?ticket={ticket}&cols=80&rows=24",
        server.base.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert(http::header::ORIGIN, origin.parse().unwrap());
    status(tokio_tungstenite::connect_async(request).await)
}

pub fn status<T>(r: Result<T, tokio_tungstenite::tungstenite::Error>) -> u16 {
    match r {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("the handshake failed: {e}"),
    }
}

pub async fn handshake(server: &Server, query: &str) -> u16 {
    let url = format!("{}/ws/terminal?{query}", server.base.replace("http://", "ws://"));
    status(tokio_tungstenite::connect_async(url).await)
}
