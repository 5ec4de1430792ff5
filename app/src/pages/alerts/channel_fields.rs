//! A channel as its form holds it: every field as typed, made from a
//! stored (masked) channel and turned into a `ChannelSpec`. A secret left
//! as the mask keeps the stored one, but only for the kind it was stored
//! with. No Leptos here.

use berth_core::model::{Channel, ChannelSpec, ChannelTarget, MASK, MailSecurity, Secret};

/// Every kind of channel, with how the form names it.
pub(super) const KINDS: [(&str, &str); 6] = [
    ("webhook", "Webhook (JSON, signed)"),
    ("slack", "Slack"),
    ("discord", "Discord"),
    ("ntfy", "ntfy"),
    ("gotify", "Gotify"),
    ("email", "Email (SMTP)"),
];

#[derive(Clone, Debug, PartialEq)]
pub(super) struct ChannelFields {
    pub name: String,
    pub enabled: bool,
    pub kind: String,
    /// The kind as stored: only its secrets may be sent back masked.
    pub stored_kind: Option<String>,
    /// The webhook's URL and signing secret.
    pub url: String,
    pub secret: String,
    /// Slack's or Discord's webhook URL (a secret: it is the key).
    pub chat_url: String,
    /// ntfy's or Gotify's server, ntfy's topic, and their token.
    pub server: String,
    pub topic: String,
    pub token: String,
    pub smtp_host: String,
    pub smtp_port: String,
    pub security: MailSecurity,
    pub username: String,
    pub password: String,
    pub from: String,
    /// Recipients, separated by commas, spaces or lines.
    pub to: String,
}

impl ChannelFields {
    pub fn new() -> ChannelFields {
        ChannelFields {
            name: String::new(),
            enabled: true,
            kind: "webhook".into(),
            stored_kind: None,
            url: String::new(),
            secret: String::new(),
            chat_url: String::new(),
            server: String::new(),
            topic: String::new(),
            token: String::new(),
            smtp_host: String::new(),
            smtp_port: "587".into(),
            security: MailSecurity::StartTls,
            username: String::new(),
            password: String::new(),
            from: String::new(),
            to: String::new(),
        }
    }

    pub fn from_channel(c: &Channel) -> ChannelFields {
        let mut f = ChannelFields {
            name: c.spec.name.clone(),
            enabled: c.spec.enabled,
            kind: c.spec.target.kind().into(),
            stored_kind: Some(c.spec.target.kind().into()),
            ..ChannelFields::new()
        };
        let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.0.clone()).unwrap_or_default();
        match &c.spec.target {
            ChannelTarget::Webhook { url, secret } => (f.url, f.secret) = (url.clone(), secret.0.clone()),
            ChannelTarget::Slack { url } | ChannelTarget::Discord { url } => f.chat_url = url.0.clone(),
            ChannelTarget::Ntfy { server, topic, token } => {
                (f.server, f.topic, f.token) = (server.clone(), topic.clone(), secret(token));
            }
            ChannelTarget::Gotify { server, token } => (f.server, f.token) = (server.clone(), token.0.clone()),
            ChannelTarget::Email {
                host,
                port,
                security,
                username,
                password,
                from,
                to,
            } => {
                f.smtp_host = host.clone();
                f.smtp_port = port.to_string();
                f.security = *security;
                f.username = username.clone().unwrap_or_default();
                f.password = secret(password);
                f.from = from.clone();
                f.to = to.join(", ");
            }
        }
        f
    }

    /// Whether a secret field shows the stored value (masked) for this kind.
    pub fn keeps(&self, value: &str) -> bool {
        value == MASK && self.stored_kind.as_deref() == Some(self.kind.as_str())
    }

    /// The channel to send, or what to correct first. Core checks the rest.
    pub fn to_spec(&self) -> Result<ChannelSpec, String> {
        let secret = |value: &str, what: &str| {
            if value == MASK && !self.keeps(value) {
                Err(format!(
                    "{what}: type it again (a channel changed to another kind keeps none of its old secrets)"
                ))
            } else {
                Ok(Secret(value.trim().to_string()))
            }
        };
        let optional = |value: &str, what: &str| {
            Ok::<_, String>(if value.trim().is_empty() {
                None
            } else {
                Some(secret(value, what)?)
            })
        };
        let target = match self.kind.as_str() {
            "webhook" => ChannelTarget::Webhook {
                url: self.url.trim().into(),
                secret: secret(&self.secret, "The signing secret")?,
            },
            "slack" => ChannelTarget::Slack {
                url: secret(&self.chat_url, "The webhook URL")?,
            },
            "discord" => ChannelTarget::Discord {
                url: secret(&self.chat_url, "The webhook URL")?,
            },
            "ntfy" => ChannelTarget::Ntfy {
                server: self.server.trim().into(),
                topic: self.topic.trim().into(),
                token: optional(&self.token, "The access token")?,
            },
            "gotify" => ChannelTarget::Gotify {
                server: self.server.trim().into(),
                token: secret(&self.token, "The application token")?,
            },
            "email" => ChannelTarget::Email {
                host: self.smtp_host.trim().into(),
                port: self.smtp_port.trim().parse().map_err(|_| {
                    "The SMTP port is a number from 1 to 65535 (587 for STARTTLS, 465 for TLS)".to_string()
                })?,
                security: self.security,
                username: Some(self.username.trim().to_string()).filter(|u| !u.is_empty()),
                password: optional(&self.password, "The SMTP password")?,
                from: self.from.trim().into(),
                to: self
                    .to
                    .split([',', ';', ' ', '\n', '\t'])
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect(),
            },
            other => return Err(format!("'{other}' is not a kind of channel; pick one from the list")),
        };
        Ok(ChannelSpec {
            name: self.name.trim().to_string(),
            enabled: self.enabled,
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::ChannelId;

    fn stored(target: ChannelTarget) -> Channel {
        Channel {
            id: ChannelId(1),
            spec: ChannelSpec {
                name: "ops".into(),
                enabled: true,
                target,
            },
        }
        .masked()
    }

    #[test]
    fn a_masked_channel_comes_back_masked_and_keeps_its_secret() {
        let mail = stored(ChannelTarget::Email {
            host: "smtp.example.com".into(),
            port: 465,
            security: MailSecurity::Tls,
            username: Some("berth".into()),
            password: Some(Secret("hunter2".into())),
            from: "berth@example.com".into(),
            to: vec!["a@example.com".into(), "b@example.com".into()],
        });
        let fields = ChannelFields::from_channel(&mail);
        assert_eq!(fields.password, MASK);
        assert_eq!(fields.to, "a@example.com, b@example.com");
        assert_eq!(fields.to_spec().unwrap(), mail.spec);
    }

    #[test]
    fn another_kind_needs_its_secrets_typed() {
        let hook = stored(ChannelTarget::Ntfy {
            server: "https://ntfy.sh".into(),
            topic: "ops".into(),
            token: Some(Secret("tk_123".into())),
        });
        let mut fields = ChannelFields::from_channel(&hook);
        fields.kind = "gotify".into();
        assert!(fields.to_spec().unwrap_err().contains("type it again"));
        fields.token = "new-token".into();
        assert_eq!(
            fields.to_spec().unwrap().target,
            ChannelTarget::Gotify {
                server: "https://ntfy.sh".into(),
                token: Secret("new-token".into())
            }
        );
    }

    #[test]
    fn a_bad_port_names_itself() {
        let mut fields = ChannelFields::new();
        fields.kind = "email".into();
        fields.smtp_port = "smtp".into();
        assert!(fields.to_spec().unwrap_err().contains("SMTP port"));
    }
}
