//! Hosts: the list every caller sees (each host's status), and the hosts
//! as an admin manages them while berth runs: the entries with origin and
//! address, probing an agent for its certificate, and adding, renaming,
//! disabling, enabling and removing hosts reached through `berth agent`.
//!
//! An agent's token is only ever sent, never answered with; `AddHost`
//! prints it as `…` (`Debug`).

use super::{Body, Method, Request, Route};
use crate::model::{HostEntry, HostId, HostStatus, NewAgentHost, Operation};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The hosts the caller may see, with whether berth reaches each now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListHosts {}

impl Request for ListHosts {
    type Response = Vec<HostStatus>;
    const ROUTE: Route =
        Route::new("list_hosts", Method::Get, "/hosts", "hosts", "The hosts you may see").paged_by("id");
    fn operation(&self) -> Operation {
        Operation::ViewHost
    }
}

/// Every host with its origin, address and whether it is enabled; admins
/// also see disabled ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostEntries {}

impl Request for HostEntries {
    type Response = Vec<HostEntry>;
    const ROUTE: Route = Route::new(
        "host_entries",
        Method::Get,
        "/hosts/entries",
        "hosts",
        "Every host with its origin, address and whether it is enabled (admins see disabled ones too)",
    )
    .paged_by("id");
    fn operation(&self) -> Operation {
        Operation::ViewHost
    }
}

/// The fingerprint of the certificate the agent at `url` presents, to
/// compare with what `berth agent init` printed before adding the host.
/// Sends the agent nothing but a TLS handshake.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProbeAgent {
    /// `https://HOST` or `https://HOST:PORT` (7443 by default).
    pub url: String,
}

/// What the agent presented.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Probed {
    /// The SHA-256 of its certificate, `sha256:` and 64 hex digits: compare
    /// it with what `berth agent init` printed on that machine.
    pub fingerprint: String,
}

impl Request for ProbeAgent {
    type Response = Probed;
    const ROUTE: Route = Route::new(
        "probe_agent",
        Method::Post,
        "/hosts/probe",
        "hosts",
        "The fingerprint of the certificate an agent presents (admins; sends it nothing but a TLS handshake)",
    )
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::ProbeHost
    }
}

/// Add a host reached through `berth agent`, with what `berth agent init`
/// printed on that machine (admins); answers with the new host's entry.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddHost {
    /// The host's name in berth: 1 to 64 of a-z, 0-9, '.', '_', '-'; not `local`.
    pub name: String,
    /// The agent's address: `https://HOST` or `https://HOST:PORT` (7443 by default).
    pub url: String,
    /// The agent's token (16 to 512 printable characters), sent only to the agent.
    pub token: String,
    /// The fingerprint of the agent's certificate: `sha256:` and 64 hex digits.
    pub fingerprint: String,
}

impl fmt::Debug for AddHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddHost")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &"…")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl From<AddHost> for NewAgentHost {
    fn from(a: AddHost) -> NewAgentHost {
        NewAgentHost {
            name: a.name,
            url: a.url,
            token: a.token,
            fingerprint: a.fingerprint,
        }
    }
}

impl Request for AddHost {
    type Response = HostEntry;
    const ROUTE: Route = Route::new(
        "add_host",
        Method::Post,
        "/hosts",
        "hosts",
        "Add a host reached through `berth agent` (admins)",
    )
    .status(201)
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::AddHost
    }
}

/// `{"name": "new-name"}`, `{"enabled": false}`, or both (renamed first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeHost {
    /// The host's name.
    pub host: HostId,
    /// A new name; the grants that name the host follow it.
    #[serde(default)]
    pub name: Option<String>,
    /// false stops the host and keeps it; true starts it again.
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl ChangeHost {
    /// Why there is nothing to do, when there is nothing.
    pub fn check(&self) -> Result<(), String> {
        match (&self.name, self.enabled) {
            (None, None) => {
                Err("nothing to change: send {\"name\": \"new-name\"} or {\"enabled\": true | false}".into())
            }
            _ => Ok(()),
        }
    }
}

impl Request for ChangeHost {
    type Response = HostEntry;
    const ROUTE: Route = Route::new(
        "change_host",
        Method::Patch,
        "/hosts/{host}",
        "hosts",
        "Rename, disable or enable a host added at run time (admins)",
    )
    .body(Body::Fields);
    /// A rename when it renames (first); else disabling or enabling.
    fn operation(&self) -> Operation {
        match (&self.name, self.enabled) {
            (None, Some(false)) => Operation::DisableHost,
            (None, Some(true)) => Operation::EnableHost,
            _ => Operation::RenameHost,
        }
    }
}

/// Remove a host added at run time; its history stays in the event log
/// (admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoveHost {
    /// The host's name.
    pub host: HostId,
}

impl Request for RemoveHost {
    type Response = ();
    const ROUTE: Route = Route::new(
        "remove_host",
        Method::Delete,
        "/hosts/{host}",
        "hosts",
        "Remove a host added at run time (admins); its history stays in the log",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::RemoveHost
    }
}

/// Pin the fingerprint an agent's certificate has now (after its agent
/// was set up again) and reconnect (admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptFingerprint {
    /// The host's name.
    pub host: HostId,
    /// `sha256:` and 64 hex digits, as `berth agent init` printed it.
    pub fingerprint: String,
}

impl Request for AcceptFingerprint {
    type Response = HostEntry;
    const ROUTE: Route = Route::new(
        "accept_fingerprint",
        Method::Post,
        "/hosts/{host}/fingerprint",
        "hosts",
        "Pin an agent's new certificate fingerprint and reconnect (admins)",
    )
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::AcceptFingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_named_by_what_it_does_first() {
        let change = |name: Option<&str>, enabled| ChangeHost {
            host: HostId("edge".into()),
            name: name.map(str::to_string),
            enabled,
        };
        assert_eq!(change(None, Some(false)).operation(), Operation::DisableHost);
        assert_eq!(change(None, Some(true)).operation(), Operation::EnableHost);
        assert_eq!(change(Some("edge-2"), Some(true)).operation(), Operation::RenameHost);
        assert!(change(None, None).check().is_err());
        assert!(change(Some("edge-2"), None).check().is_ok());
    }

    #[test]
    fn a_token_is_not_printed() {
        let add = AddHost {
            name: "edge".into(),
            url: "https://edge".into(),
            token: "a-very-secret-token".into(),
            fingerprint: "sha256:00".into(),
        };
        assert!(!format!("{add:?}").contains("secret"), "the token was printed");
    }
}
