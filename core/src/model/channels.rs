//! Notification channels as the API sees them: where an alert is sent
//! (a webhook, Slack, Discord, ntfy, Gotify, mail) and what is sent. A
//! channel's secrets (tokens, passwords, the webhook URLs that are
//! themselves keys) are never shown again once stored: every view masks
//! them, and an edit that sends the mask back keeps the stored value.

use super::{AlertState, HostId, RuleId, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A channel's permanent number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ChannelId(pub u64);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The most channels berth keeps, and the most recipients of one mail channel.
pub const MAX_CHANNELS: usize = 100;
pub const MAX_RECIPIENTS: usize = 20;
/// What every view shows in place of a secret; sent back, it keeps the stored one.
pub const MASK: &str = "••••••••";

/// A secret value: shown nowhere (its `Debug` is redacted too).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret(…)"
        })
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn is_mask(&self) -> bool {
        self.0 == MASK
    }
}

/// How a mail channel talks to its SMTP server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain at first, then STARTTLS, which must succeed (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or in tests.
    None,
}

/// Where a channel sends, with its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelTarget {
    /// A JSON `Notification` POSTed to `url`, signed in
    /// `X-Berth-Signature-256: sha256=<hex HMAC-SHA256 of the body with secret>`.
    Webhook { url: String, secret: Secret },
    /// A Slack incoming webhook (its URL is its key).
    Slack { url: Secret },
    /// A Discord webhook (its URL is its key).
    Discord { url: Secret },
    /// An ntfy topic on `server` (https://ntfy.sh or your own), with an optional access token.
    Ntfy {
        server: String,
        topic: String,
        #[serde(default)]
        token: Option<Secret>,
    },
    /// A Gotify server and an application token.
    Gotify { server: String, token: Secret },
    /// Mail over SMTP.
    Email {
        host: String,
        port: u16,
        #[serde(default)]
        security: MailSecurity,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<Secret>,
        from: String,
        to: Vec<String>,
    },
}

impl ChannelTarget {
    /// The snake_case name of its kind, as in the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelTarget::Webhook { .. } => "webhook",
            ChannelTarget::Slack { .. } => "slack",
            ChannelTarget::Discord { .. } => "discord",
            ChannelTarget::Ntfy { .. } => "ntfy",
            ChannelTarget::Gotify { .. } => "gotify",
            ChannelTarget::Email { .. } => "email",
        }
    }

    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        match self {
            ChannelTarget::Webhook { secret, .. } => vec![secret],
            ChannelTarget::Slack { url } | ChannelTarget::Discord { url } => vec![url],
            ChannelTarget::Ntfy { token, .. } => token.iter_mut().collect(),
            ChannelTarget::Gotify { token, .. } => vec![token],
            ChannelTarget::Email { password, .. } => password.iter_mut().collect(),
        }
    }

    /// The same with every secret replaced by `MASK`.
    pub fn masked(&self) -> ChannelTarget {
        let mut copy = self.clone();
        for s in copy.secrets_mut() {
            if !s.0.is_empty() {
                s.0 = MASK.into();
            }
        }
        copy
    }

    /// Where a secret was sent back masked, takes the one stored in
    /// `old` (same kind only: a new kind needs its secrets typed again).
    pub fn keep_secrets_from(&mut self, old: &ChannelTarget) {
        if self.kind() != old.kind() {
            return;
        }
        let mut old = old.clone();
        let olds = old.secrets_mut();
        for (new, old) in self.secrets_mut().into_iter().zip(olds) {
            if new.is_mask() {
                *new = old.clone();
            }
        }
        // An optional secret left out entirely while one is stored stays cleared.
    }

    /// The URLs it will call (for checking they do not point at berth).
    pub fn urls(&self) -> Vec<&str> {
        match self {
            ChannelTarget::Webhook { url, .. } => vec![url],
            ChannelTarget::Slack { url } | ChannelTarget::Discord { url } => vec![url.expose()],
            ChannelTarget::Ntfy { server, .. } | ChannelTarget::Gotify { server, .. } => vec![server],
            ChannelTarget::Email { .. } => vec![],
        }
    }

    /// Checks what a person sent (core also checks that no URL points at berth).
    pub fn validate(&self) -> Result<(), String> {
        for s in self.clone().secrets_mut() {
            if s.is_mask() {
                return Err(
                    "a secret was sent masked; type it again (a new channel, or a new kind, has none stored)".into(),
                );
            }
            if s.0.len() > 4096 || s.0.chars().any(char::is_control) {
                return Err("a secret has at most 4096 characters, none of them control characters".into());
            }
        }
        match self {
            ChannelTarget::Webhook { url, secret } => {
                validate_url(url)?;
                if secret.0.len() < 16 {
                    return Err("a webhook's signing secret has at least 16 characters".into());
                }
                Ok(())
            }
            ChannelTarget::Slack { url } | ChannelTarget::Discord { url } => validate_url(url.expose()),
            ChannelTarget::Ntfy { server, topic, .. } => {
                validate_url(server)?;
                if topic.is_empty()
                    || topic.len() > 64
                    || !topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err("an ntfy topic has 1 to 64 letters, digits, - or _".into());
                }
                Ok(())
            }
            ChannelTarget::Gotify { server, token } => {
                validate_url(server)?;
                if token.0.is_empty() {
                    return Err("a Gotify channel needs an application token".into());
                }
                Ok(())
            }
            ChannelTarget::Email {
                host,
                port,
                username,
                password,
                from,
                to,
                ..
            } => {
                if host.is_empty()
                    || host.len() > 253
                    || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                {
                    return Err("the SMTP server is a host name or an address".into());
                }
                if *port == 0 {
                    return Err("the SMTP port goes from 1 to 65535".into());
                }
                if username.is_some() != password.is_some() {
                    return Err("an SMTP login needs both a user name and a password".into());
                }
                if let Some(u) = username
                    && (u.is_empty() || u.len() > 256 || u.chars().any(char::is_control))
                {
                    return Err("an SMTP user name has 1 to 256 characters".into());
                }
                validate_address(from)?;
                if to.is_empty() || to.len() > MAX_RECIPIENTS {
                    return Err(format!("a mail channel has 1 to {MAX_RECIPIENTS} recipients"));
                }
                to.iter().try_for_each(|a| validate_address(a))
            }
        }
    }
}

/// An http or https URL with a host, of a sane length.
pub fn validate_url(url: &str) -> Result<(), String> {
    if url.len() > 2000 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("a URL has at most 2000 characters and no spaces".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{} is not an http:// or https:// URL", clip(url)))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("a URL may not carry a user name or password; use the channel's token".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(format!("{} has no host", clip(url)));
    }
    Ok(())
}

/// A mail address as `name@domain`, without anything a header could be split on.
pub fn validate_address(address: &str) -> Result<(), String> {
    let ok = address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"".contains(c))
        && address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(format!("{} is not a mail address (name@example.com)", clip(address)))
    }
}

fn clip(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// A channel as a person writes it (to create or replace one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub target: ChannelTarget,
}

fn yes() -> bool {
    true
}

impl ChannelSpec {
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err("a channel's name has 1 to 100 characters, none of them control characters".into());
        }
        self.target.validate()
    }
}

/// A channel with its number; from the API, always masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: ChannelId,
    #[serde(flatten)]
    pub spec: ChannelSpec,
}

impl Channel {
    pub fn masked(&self) -> Channel {
        Channel {
            id: self.id,
            spec: ChannelSpec {
                target: self.spec.target.masked(),
                ..self.spec.clone()
            },
        }
    }
}

/// What a channel is sent when an alert fires, repeats or resolves (and,
/// marked `test`, from a channel's "send a test" button). The webhook
/// channel POSTs exactly this as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// Unique per notification (the same across its channels and retries),
    /// so a receiver can drop a repeated delivery.
    pub id: String,
    pub rule: RuleId,
    pub rule_name: String,
    pub severity: Severity,
    /// Firing (also when repeated) or resolved.
    pub state: AlertState,
    #[serde(default)]
    pub repeat: bool,
    #[serde(default)]
    pub test: bool,
    pub host: Option<HostId>,
    pub subject: String,
    pub summary: String,
    pub value: Option<f64>,
    /// Unix ms when the condition began to hold.
    pub since_ms: i64,
    /// Unix ms of this notification.
    pub at_ms: i64,
    /// A link to the alert in berth, when berth knows its public URL.
    #[serde(default)]
    pub url: Option<String>,
}

impl Notification {
    /// "[FIRING] web down on local" / "[RESOLVED] …": a title for chat and mail.
    pub fn title(&self) -> String {
        let state = match (self.test, self.state) {
            (true, _) => "TEST",
            (_, AlertState::Resolved) => "RESOLVED",
            _ => "FIRING",
        };
        let on = self.host.as_ref().map(|h| format!(" on {h}")).unwrap_or_default();
        format!("[{state}] {}: {}{on}", self.rule_name, self.subject)
    }
}

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryReport {
    pub channel: ChannelId,
    pub ok: bool,
    /// What the receiver answered, or why it could not be reached (no secret in it).
    pub detail: String,
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook() -> ChannelTarget {
        ChannelTarget::Webhook {
            url: "https://example.com/hook".into(),
            secret: Secret("0123456789abcdef".into()),
        }
    }

    #[test]
    fn secrets_are_masked_and_a_masked_edit_keeps_the_stored_one() {
        let stored = hook();
        let shown = stored.masked();
        assert!(!serde_json::to_string(&shown).unwrap().contains("0123456789abcdef"));
        assert!(!format!("{stored:?}").contains("0123456789abcdef"));
        let mut edit = shown.clone();
        assert!(edit.validate().unwrap_err().contains("masked"));
        edit.keep_secrets_from(&stored);
        assert_eq!(edit, stored);
        // Another kind does not inherit the secret.
        let mut slack = ChannelTarget::Slack {
            url: Secret(MASK.into()),
        };
        slack.keep_secrets_from(&stored);
        assert!(slack.validate().is_err());
    }

    #[test]
    fn urls_and_addresses_are_checked() {
        assert!(validate_url("https://hooks.slack.com/services/x").is_ok());
        assert!(validate_url("http://[::1]:8080/x").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@host/",
            "https://a b",
            "javascript:alert(1)",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
        assert!(validate_address("ops@example.com").is_ok());
        for bad in ["ops", "ops@local", "a@b.c\r\nBcc: x@y.z", "<a@b.c>", "a,b@c.d"] {
            assert!(validate_address(bad).is_err(), "{bad}");
        }
        let mut short = hook();
        if let ChannelTarget::Webhook { secret, .. } = &mut short {
            secret.0 = "short".into();
        }
        assert!(short.validate().unwrap_err().contains("16"));
    }
}
