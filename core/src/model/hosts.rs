//! Hosts as an admin manages them: each host with where it came from, how
//! berth reaches it and whether it is enabled (`HostEntry`), and what adding
//! a host through an agent takes (`NewAgentHost`). Plain serde types; the
//! operations themselves are `hosts::HostAdmin`'s, on the server.

use super::{HostId, HostStatus, Transport};
use serde::{Deserialize, Serialize};

/// Where a host is defined, which decides what an admin may change of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HostOrigin {
    /// The engine beside berth: always there, never renamed or removed.
    Local,
    /// A `[[hosts]]` entry of the configuration file: changed there.
    Config,
    /// Added while berth runs (page, REST, `berth host add`) and kept in
    /// berth's database: renamed, disabled, enabled and removed from berth.
    Added,
}

impl HostOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            HostOrigin::Local => "local",
            HostOrigin::Config => "config",
            HostOrigin::Added => "added",
        }
    }
}

/// One host in the admin's list. Holds no secret: an agent's token never
/// leaves the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostEntry {
    pub id: HostId,
    pub transport: Transport,
    /// The agent's or remote engine's address (`https://10.0.0.6:7443`);
    /// none for the local engine.
    pub address: Option<String>,
    /// The pinned fingerprint of an agent's certificate (`sha256:…`).
    pub fingerprint: Option<String>,
    /// A disabled host is kept but not connected to (its status says
    /// `disabled`); only hosts added at run time can be disabled.
    pub enabled: bool,
    pub origin: HostOrigin,
    pub status: HostStatus,
    /// When it was added (unix ns), for hosts added at run time.
    #[serde(default)]
    pub added_ns: Option<i64>,
    /// Who added it (`user:alice`, `apikey:alice/ci`), likewise.
    #[serde(default)]
    pub added_by: Option<String>,
}

/// A host reached through `berth agent`, as an admin adds it: what
/// `berth agent init` printed on that machine.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAgentHost {
    /// The host's name in berth: 1 to 64 of a-z, 0-9, '.', '_', '-'; not `local`.
    pub name: String,
    /// The agent's address: `https://HOST` or `https://HOST:PORT` (7443 by default).
    pub url: String,
    /// The agent's token (16 to 512 printable characters), sent only to the agent.
    pub token: String,
    /// The fingerprint of the agent's certificate: `sha256:` and 64 hex digits.
    pub fingerprint: String,
}

impl std::fmt::Debug for NewAgentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAgentHost")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// Checks an agent's token as a person pasted it: 16 to 512 printable
/// ASCII characters, no spaces (what `berth agent init` makes fits).
pub fn validate_agent_token(token: &str) -> Result<(), String> {
    if token.len() < 16 || token.len() > 512 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "the token is not an agent token: use the 16 to 512 printable characters (no spaces) that \
             `berth agent init` printed on the agent's machine"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_host_never_shows_its_token() {
        let new = NewAgentHost {
            name: "db-1".into(),
            url: "https://10.0.0.6".into(),
            token: "s3cret-token-0123456789".into(),
            fingerprint: "sha256:00".into(),
        };
        assert!(!format!("{new:?}").contains("s3cret"));
    }

    #[test]
    fn tokens_are_checked() {
        assert!(validate_agent_token("0123456789abcdef").is_ok());
        assert!(validate_agent_token("short").is_err());
        assert!(validate_agent_token("0123456789 abcdef").is_err());
        assert!(validate_agent_token(&"x".repeat(513)).is_err());
        assert!(validate_agent_token("0123456789abcdeé").is_err());
    }
}
