//! What each HTTP channel is sent: the signed webhook, Slack, Discord,
//! ntfy and Gotify, each as its receiver documents it. Mail is `mail`.
//! Not here: sending, or what an answer means (`attempt`).

use super::text::{self, Tone};
use crate::model::{ChannelTarget, Notification, Secret};
use crate::outbound::{OutboundError, Request};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The header that carries a webhook's signature, and the one with the
/// notification's id (the same over retries, so a receiver can drop repeats).
pub const SIGNATURE_HEADER: &str = "X-Berth-Signature-256";
pub const DELIVERY_HEADER: &str = "X-Berth-Delivery";

/// The request for an HTTP channel; None for mail.
pub(super) fn request(target: &ChannelTarget, n: &Notification) -> Option<Result<Request, OutboundError>> {
    Some(match target {
        ChannelTarget::Webhook { url, secret } => webhook(url, secret, n),
        ChannelTarget::Slack { url } => Ok(slack(url.expose(), n)),
        ChannelTarget::Discord { url } => Ok(discord(url.expose(), n)),
        ChannelTarget::Ntfy { server, topic, token } => ntfy(server, topic, token.as_ref(), n),
        ChannelTarget::Gotify { server, token } => gotify(server, token, n),
        ChannelTarget::Email { .. } => return None,
    })
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, as GitHub signs its webhooks.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes a key of any length; this is never reached.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The notification as JSON, signed with the channel's secret.
fn webhook(url: &str, secret: &Secret, n: &Notification) -> Result<Request, OutboundError> {
    let body = serde_json::to_vec(n).map_err(|e| OutboundError::BadUrl(e.to_string()))?;
    let signed = signature(secret.expose().as_bytes(), &body);
    Request::post(url)
        .header(SIGNATURE_HEADER, &signed)?
        .header(DELIVERY_HEADER, &n.id)
        .map(|r| r.body("application/json", body))
}

fn hex_colour(tone: Tone) -> String {
    format!("#{:06x}", text::colour(tone))
}

/// Slack's text needs only `&`, `<` and `>` escaped.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Slack incoming webhook: the title as text, the rest in an attachment
/// coloured by severity.
fn slack(url: &str, n: &Notification) -> Request {
    let title = slack_escape(&text::one_line(&n.title(), 250));
    let mut attachment = json!({
        "color": hex_colour(text::tone(n)),
        "title": title,
        "text": slack_escape(&text::body(n)),
        "footer": "berth",
        "ts": n.at_ms.div_euclid(1000),
    });
    if let Some(link) = &n.url {
        attachment["title_link"] = Value::String(link.clone());
    }
    let payload = json!({ "text": title, "attachments": [attachment] });
    Request::post(url).body("application/json", payload.to_string())
}

/// A Discord webhook: one embed coloured by severity; mentions off, so
/// nothing in a container's name or log pings anyone.
fn discord(url: &str, n: &Notification) -> Request {
    let mut embed = json!({
        "title": text::one_line(&n.title(), 256),
        "description": text::clip(&text::body(n), 4096),
        "color": text::colour(text::tone(n)),
        "timestamp": text::iso(n.at_ms),
        "footer": { "text": "berth" },
    });
    if let Some(link) = &n.url {
        embed["url"] = Value::String(link.clone());
    }
    let payload = json!({
        "username": "berth",
        "embeds": [embed],
        "allowed_mentions": { "parse": [] },
    });
    Request::post(url).body("application/json", payload.to_string())
}

/// A header value: ASCII as it is, anything else as an RFC 2047 encoded
/// word (which ntfy decodes).
fn header_text(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        s.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(s))
    }
}

/// ntfy's priority: 5 (max) for critical down to 3 (default).
fn ntfy_priority(tone: Tone) -> u8 {
    match tone {
        Tone::Critical => 5,
        Tone::Warning => 4,
        Tone::Info | Tone::Resolved | Tone::Test => 3,
    }
}

fn ntfy_tags(n: &Notification) -> String {
    let emoji = match text::tone(n) {
        Tone::Critical => "rotating_light",
        Tone::Warning => "warning",
        Tone::Info => "information_source",
        Tone::Resolved => "white_check_mark",
        Tone::Test => "test_tube",
    };
    format!("{emoji},berth,{}", n.severity.as_str())
}

/// An ntfy topic: the text as the body, the rest in headers.
fn ntfy(server: &str, topic: &str, token: Option<&Secret>, n: &Notification) -> Result<Request, OutboundError> {
    let url = format!("{}/{topic}", server.trim_end_matches('/'));
    let mut request = Request::post(url)
        .header("Title", &header_text(&text::one_line(&n.title(), 250)))?
        .header("Priority", &ntfy_priority(text::tone(n)).to_string())?
        .header("Tags", &ntfy_tags(n))?;
    if let Some(link) = n.url.as_deref().filter(|l| l.is_ascii()) {
        request = request.header("Click", link)?;
    }
    if let Some(token) = token.filter(|t| !t.expose().is_empty()) {
        request = request.bearer(token.expose())?;
    }
    Ok(request.body("text/plain; charset=utf-8", text::body(n)))
}

/// Gotify's priority: 8 (pops up) for critical, quieter below.
fn gotify_priority(tone: Tone) -> u8 {
    match tone {
        Tone::Critical => 8,
        Tone::Warning => 5,
        Tone::Resolved | Tone::Test => 4,
        Tone::Info => 2,
    }
}

/// A Gotify application message.
fn gotify(server: &str, token: &Secret, n: &Notification) -> Result<Request, OutboundError> {
    let url = format!("{}/message", server.trim_end_matches('/'));
    let mut payload = json!({
        "title": text::one_line(&n.title(), 250),
        "message": text::body(n),
        "priority": gotify_priority(text::tone(n)),
        "extras": { "client::display": { "contentType": "text/plain" } },
    });
    if let Some(link) = &n.url {
        payload["extras"]["client::notification"] = json!({ "click": { "url": link } });
    }
    Ok(Request::post(url)
        .header("X-Gotify-Key", token.expose())?
        .body("application/json", payload.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::deliver::text::tests::sample;
    use crate::model::AlertState;

    fn json_of(r: &Request) -> Value {
        assert_eq!(r.headers()["content-type"], "application/json");
        serde_json::from_slice(r.body_bytes()).unwrap()
    }

    fn build(target: ChannelTarget, n: &Notification) -> Request {
        request(&target, n).unwrap().unwrap()
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_webhook_posts_the_notification_signed() {
        let n = sample();
        let secret = "0123456789abcdef";
        let r = build(
            ChannelTarget::Webhook {
                url: "https://example.com/hook".into(),
                secret: Secret(secret.into()),
            },
            &n,
        );
        assert_eq!((r.method().as_str(), r.url()), ("POST", "https://example.com/hook"));
        assert_eq!(serde_json::from_value::<Notification>(json_of(&r)).unwrap(), n);
        assert_eq!(
            r.headers()["x-berth-signature-256"],
            signature(secret.as_bytes(), r.body_bytes())
        );
        assert_eq!(r.headers()["x-berth-delivery"], "n-42");
    }

    #[test]
    fn slack_gets_text_and_a_coloured_attachment() {
        let mut n = sample();
        n.subject = "<b>&".into();
        let r = build(
            ChannelTarget::Slack {
                url: Secret("https://hooks.slack.com/services/T/B/x".into()),
            },
            &n,
        );
        let body = json_of(&r);
        assert_eq!(body["text"], "[FIRING] web down: &lt;b&gt;&amp; on local");
        assert_eq!(body["attachments"][0]["color"], "#d7263d");
        assert_eq!(
            body["attachments"][0]["title_link"],
            "https://berth.example.com/alerts/7"
        );
        n.state = AlertState::Resolved;
        let r = build(
            ChannelTarget::Slack {
                url: Secret("https://h/x".into()),
            },
            &n,
        );
        assert_eq!(json_of(&r)["attachments"][0]["color"], "#2eb67d");
    }

    #[test]
    fn discord_gets_an_embed_and_pings_nobody() {
        let r = build(
            ChannelTarget::Discord {
                url: Secret("https://discord.com/api/webhooks/1/x".into()),
            },
            &sample(),
        );
        let body = json_of(&r);
        assert_eq!(body["embeds"][0]["title"], "[FIRING] web down: shop-web-1 on local");
        assert_eq!(body["embeds"][0]["color"], 0xd7263d);
        assert_eq!(body["embeds"][0]["timestamp"], "2025-11-24T16:01:00.000Z");
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        assert!(
            body["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .contains("exited with code 137")
        );
    }

    #[test]
    fn ntfy_gets_headers_and_the_text() {
        let mut n = sample();
        let target = |token: Option<&str>| ChannelTarget::Ntfy {
            server: "https://ntfy.sh/".into(),
            topic: "ops".into(),
            token: token.map(|t| Secret(t.into())),
        };
        let r = build(target(Some("tk_secret")), &n);
        assert_eq!(r.url(), "https://ntfy.sh/ops");
        let h = r.headers();
        assert_eq!(h["title"], "[FIRING] web down: shop-web-1 on local");
        assert_eq!(
            (h["priority"].to_str().unwrap(), h["tags"].to_str().unwrap()),
            ("5", "rotating_light,berth,critical")
        );
        assert_eq!(h["authorization"], "Bearer tk_secret");
        assert_eq!(h["click"], "https://berth.example.com/alerts/7");
        assert!(String::from_utf8_lossy(r.body_bytes()).starts_with("shop-web-1 exited with code 137"));
        n.subject = "café".into();
        let r = build(target(None), &n);
        assert!(r.headers()["title"].to_str().unwrap().starts_with("=?UTF-8?B?"));
        assert!(r.headers().get("authorization").is_none());
    }

    #[test]
    fn gotify_gets_a_message_with_its_key() {
        let r = build(
            ChannelTarget::Gotify {
                server: "https://push.example.com".into(),
                token: Secret("AbC.123".into()),
            },
            &sample(),
        );
        assert_eq!(r.url(), "https://push.example.com/message");
        assert_eq!(r.headers()["x-gotify-key"], "AbC.123");
        let body = json_of(&r);
        assert_eq!(
            (body["title"].as_str().unwrap(), body["priority"].as_u64()),
            ("[FIRING] web down: shop-web-1 on local", Some(8))
        );
        assert_eq!(
            body["extras"]["client::notification"]["click"]["url"],
            "https://berth.example.com/alerts/7"
        );
    }
}
