//! One delivery attempt to one channel, and the `alert.deliver` event that
//! records it. Every message here is written from what is safe to show
//! (the receiver's host, the status, a short reason) and then cleaned of
//! the channel's secrets, should a receiver or a library echo one.

use super::mail::Mail;
use super::receiver::receiver;
use super::{Inner, formats, own};
use crate::model::{Actor, Channel, ChannelId, ChannelTarget, NewEvent, Notification, Outcome};
use crate::outbound::{OutboundError, first_line};
use serde_json::json;
use std::time::{Duration, Instant};

/// The most of a receiver's answer read (only its first line is shown).
const ANSWER_LIMIT: usize = 64 * 1024;

/// What one attempt came to.
#[derive(Debug)]
pub(super) struct Tried {
    pub ok: bool,
    /// What the receiver answered or why it was not reached; no secret in it.
    pub detail: String,
    /// The HTTP status, or the SMTP reply code.
    pub status: Option<u16>,
    /// Worth trying again (false: the channel's settings cannot work).
    pub retry: bool,
    /// How long the receiver asked us to wait.
    pub retry_after: Option<Duration>,
    pub took: Duration,
}

impl Tried {
    fn failed(detail: String, retry: bool) -> Tried {
        Tried {
            ok: false,
            detail,
            status: None,
            retry,
            retry_after: None,
            took: Duration::ZERO,
        }
    }
}

/// Sends `n` to `channel` once.
pub(super) async fn attempt(inner: &Inner, channel: &Channel, n: &Notification) -> Tried {
    let started = Instant::now();
    let target = &channel.spec.target;
    let mut tried = match target {
        ChannelTarget::Email { .. } => smtp(inner, target, n).await,
        _ => http(inner, target, n).await,
    };
    tried.took = started.elapsed();
    tried.detail = scrub(&tried.detail, target);
    tried
}

/// Sends `n` by mail, unless the SMTP server is berth itself.
async fn smtp(inner: &Inner, target: &ChannelTarget, n: &Notification) -> Tried {
    let ChannelTarget::Email {
        host,
        port,
        security,
        username,
        password,
        from,
        to,
    } = target
    else {
        return Tried::failed("this channel does not send mail".into(), false);
    };
    if own::server_is_own(host, *port, &inner.settings.own).await {
        return Tried::failed(
            format!("the channel's SMTP server {host}:{port} is berth itself; a channel must call another service"),
            false,
        );
    }
    let mail = Mail {
        host,
        port: *port,
        security: *security,
        login: username.as_deref().zip(password.as_ref()),
        from,
        to,
    };
    match mail.send(n, inner.settings.timeout).await {
        Ok(code) => Tried {
            ok: true,
            detail: format!("the SMTP server {} took the mail ({code})", mail.server()),
            status: Some(code),
            retry: false,
            retry_after: None,
            took: Duration::ZERO,
        },
        Err(e) => Tried {
            status: e.code,
            ..Tried::failed(e.detail, e.retry)
        },
    }
}

async fn http(inner: &Inner, target: &ChannelTarget, n: &Notification) -> Tried {
    for url in target.urls() {
        if own::points_at(url, &inner.settings.own).await {
            return Tried::failed(
                format!(
                    "the channel's URL leads back to berth itself ({}); a channel must call another service",
                    receiver(url)
                ),
                false,
            );
        }
    }
    let request = match formats::request(target, n) {
        Some(Ok(request)) => request,
        Some(Err(e)) => return Tried::failed(format!("the channel's settings cannot be sent: {e}"), false),
        None => return Tried::failed("this channel does not send over HTTP".into(), false),
    };
    let client = match &inner.client {
        Ok(client) => client,
        Err(e) => return Tried::failed(e.clone(), true),
    };
    let to = receiver(request.url());
    match client.send(request, ANSWER_LIMIT).await {
        Ok(answer) => {
            let code = answer.status.as_u16();
            let status = format!("HTTP {code}{}", reason(answer.status));
            if answer.status.is_success() {
                return Tried {
                    ok: true,
                    detail: format!("{to} answered {status}"),
                    status: Some(code),
                    retry: false,
                    retry_after: None,
                    took: Duration::ZERO,
                };
            }
            let wait = match code {
                429 | 503 => answer
                    .headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| super::backoff::retry_after(v.to_str().ok())),
                _ => None,
            };
            Tried {
                status: Some(code),
                retry_after: wait,
                // Cleaned before it is cut, so no piece of a secret survives.
                ..Tried::failed(
                    format!("{to} answered {status}: {}", first_line(&scrub(&answer.text(), target))),
                    true,
                )
            }
        }
        Err(OutboundError::Timeout(d)) => {
            Tried::failed(format!("{to} did not answer within {} s", d.as_secs_f64()), true)
        }
        Err(e @ (OutboundError::BadUrl(_) | OutboundError::BadHeader(_))) => {
            Tried::failed(format!("the channel's settings cannot be sent: {e}"), false)
        }
        Err(e) => Tried::failed(format!("cannot reach {to}: {e}"), true),
    }
}

fn reason(status: http::StatusCode) -> String {
    status.canonical_reason().map(|r| format!(" {r}")).unwrap_or_default()
}

/// The strings of `target` that no message may show: its secrets, and of
/// a URL that is a secret its path and each piece of it but the
/// well-known words.
fn secrets(target: &ChannelTarget) -> Vec<String> {
    let mut all = Vec::new();
    match target {
        ChannelTarget::Webhook { secret, .. } => all.push(secret.expose().to_string()),
        ChannelTarget::Slack { url } | ChannelTarget::Discord { url } => {
            let url = url.expose();
            all.push(url.to_string());
            let path = url
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
            if let Some(path) = path {
                all.push(path.to_string());
                let pieces = path.split(['/', '?', '&', '=']);
                let key = |p: &&str| p.len() >= 6 && !["services", "webhooks"].contains(p);
                all.extend(pieces.filter(key).map(str::to_string));
            }
        }
        ChannelTarget::Ntfy { token, .. } => all.extend(token.iter().map(|t| t.expose().to_string())),
        ChannelTarget::Gotify { token, .. } => all.push(token.expose().to_string()),
        ChannelTarget::Email { password, .. } => all.extend(password.iter().map(|p| p.expose().to_string())),
    }
    all.retain(|s| s.len() >= 4);
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all
}

/// `text` with every secret of `target` replaced by `…`.
pub(super) fn scrub(text: &str, target: &ChannelTarget) -> String {
    secrets(target)
        .iter()
        .fold(text.to_string(), |text, secret| text.replace(secret.as_str(), "…"))
}

/// Where an attempt went, for its event.
pub(super) struct Record<'a> {
    pub channel: ChannelId,
    /// None when the channel no longer exists.
    pub found: Option<&'a Channel>,
    pub notification: &'a Notification,
    pub attempt: u32,
    pub test: bool,
}

/// The `alert.deliver` event of one attempt.
pub(super) fn event(r: &Record<'_>, outcome: Outcome, tried: Option<&Tried>, retry_in: Option<Duration>) -> NewEvent {
    let n = r.notification;
    let target = match r.found {
        Some(c) => format!("channel:{}", c.spec.name),
        None => format!("channel:#{}", r.channel),
    };
    let mut details = json!({
        "channel": r.channel.0,
        "channel_kind": r.found.map(|c| c.spec.target.kind()),
        "notification": n.id,
        "rule": n.rule.0,
        "state": n.state.as_str(),
        "attempt": r.attempt,
        "test": r.test,
    });
    if let Some(status) = tried.and_then(|t| t.status) {
        details["status"] = json!(status);
    }
    if let Some(wait) = retry_in {
        details["retry_in_s"] = json!(wait.as_secs_f64().ceil() as u64);
    }
    let mut event = NewEvent::new(crate::model::EventKind::AlertDeliver, Actor::system())
        .target(target)
        .outcome(outcome)
        .details(details);
    if let Some(h) = &n.host {
        event = event.host(h.0.clone());
    }
    if let Some(t) = tried {
        event = event.duration_us(u64::try_from(t.took.as_micros()).unwrap_or(u64::MAX));
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Secret;

    #[test]
    fn secrets_are_scrubbed_from_any_text() {
        let slack = ChannelTarget::Slack {
            url: Secret("https://hooks.slack.com/services/T0001/B0000002/XXXXsecretXXXX".into()),
        };
        let text = "POST https://hooks.slack.com/services/T0001/B0000002/XXXXsecretXXXX failed; \
                    path /services/T0001/B0000002/XXXXsecretXXXX; token XXXXsecretXXXX; B0000002";
        let clean = scrub(text, &slack);
        assert!(
            !clean.contains("XXXXsecretXXXX") && !clean.contains("B0000002"),
            "{clean}"
        );
        assert!(clean.contains("failed"));
        let mail = ChannelTarget::Email {
            host: "smtp.example.com".into(),
            port: 587,
            security: Default::default(),
            username: Some("ops".into()),
            password: Some(Secret("hunter2hunter2".into())),
            from: "a@b.cd".into(),
            to: vec!["c@d.ef".into()],
        };
        assert_eq!(scrub("535 bad password hunter2hunter2", &mail), "535 bad password …");
    }
}
