//! Mail channels: one plain-text message over SMTP with lettre, on
//! STARTTLS (required, never downgraded), TLS from the first byte, or
//! plain for a relay on the same machine; AUTH when the channel has a
//! login. Errors are written here from lettre's kind and reply code,
//! without the password.

use super::text;
use crate::model::{MailSecurity, Notification, Secret};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// A mail channel's settings, borrowed from its target.
pub(super) struct Mail<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: MailSecurity,
    pub login: Option<(&'a str, &'a Secret)>,
    pub from: &'a str,
    pub to: &'a [String],
}

/// Why a mail was not sent.
pub(super) struct MailError {
    pub detail: String,
    /// The SMTP reply code, when the server refused.
    pub code: Option<u16>,
    /// False when the channel's settings cannot work as they are.
    pub retry: bool,
}

impl Mail<'_> {
    /// `host:port`, as messages name the server.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Sends `n`, all within `timeout`.
    pub async fn send(&self, n: &Notification, timeout: Duration) -> Result<u16, MailError> {
        let message = self.message(n)?;
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let builder = match self.security {
            MailSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            MailSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            MailSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)),
        };
        let mut builder = builder
            .map_err(|e| self.failed(&e))?
            .port(self.port)
            .timeout(Some(timeout));
        if let Some((user, password)) = self.login {
            builder = builder.credentials(Credentials::new(user.to_string(), password.expose().to_string()));
        }
        let transport = builder.build();
        match tokio::time::timeout(timeout, transport.send(message)).await {
            Ok(Ok(reply)) => Ok(reply.code().into()),
            Ok(Err(e)) => Err(self.failed(&e)),
            Err(_) => Err(MailError {
                detail: format!(
                    "the SMTP server {} did not finish within {} s",
                    self.server(),
                    timeout.as_secs_f64()
                ),
                code: None,
                retry: true,
            }),
        }
    }

    /// The message: the title as subject, the text as its body.
    fn message(&self, n: &Notification) -> Result<Message, MailError> {
        let invalid = |what: &str| MailError {
            detail: format!("the mail channel's {what} is not a mail address lettre accepts"),
            code: None,
            retry: false,
        };
        let from: Mailbox = self.from.parse().map_err(|_| invalid("sender"))?;
        let (subject, body) = text::mail(n);
        let mut builder = Message::builder().from(from).subject(subject);
        for to in self.to {
            builder = builder.to(to.parse::<Mailbox>().map_err(|_| invalid("recipient"))?);
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError {
                detail: format!("the mail could not be built: {e}"),
                code: None,
                retry: false,
            })
    }

    /// A message from lettre's error: its kind, the reply code and the
    /// server's words, with the password cut out should it appear.
    fn failed(&self, e: &lettre::transport::smtp::Error) -> MailError {
        let server = self.server();
        let code = e.status().map(u16::from);
        let why = if e.is_timeout() {
            "no answer in time".to_string()
        } else if e.is_tls() {
            format!("TLS failed ({})", causes(e))
        } else if e.is_permanent() || e.is_transient() {
            format!("it refused: {}", causes(e))
        } else {
            causes(e)
        };
        let mut detail = format!("the SMTP server {server}: {why}");
        if let Some((_, password)) = self.login
            && !password.expose().is_empty()
        {
            detail = detail.replace(password.expose(), "…");
        }
        MailError {
            detail: crate::outbound::truncate(&detail, 300),
            code,
            retry: true,
        }
    }
}

/// An error with its causes, on one line.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text.replace(['\r', '\n'], " ")
}
