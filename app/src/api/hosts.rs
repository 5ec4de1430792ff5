//! The form adapters of the hosts admin's `ActionForm`s, each turning its
//! form into the request of `model::ops` and resolving it, so that the
//! forms also work before the page is hydrated. The list, probing an agent
//! and the requests themselves are generated (`api::ops`: `host_entries`,
//! `probe_agent`, `add_host`, `change_host`, `remove_host`,
//! `accept_fingerprint`). A token is only ever sent here, never returned.

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::resolve;
#[cfg(feature = "ssr")]
use berth_core::model::{HostId, ops as req};

/// The add-host form: what `berth agent init` printed on that machine.
#[server(endpoint = "add_host_form")]
pub async fn add_host_form(name: String, url: String, token: String, fingerprint: String) -> Result<(), AppError> {
    let add = req::AddHost {
        name,
        url,
        token,
        fingerprint,
    };
    resolve(add).await.map(drop)
}

/// An entry's rename form; the grants that name the host follow.
#[server(endpoint = "rename_host_form")]
pub async fn rename_host_form(host: String, new_name: String) -> Result<(), AppError> {
    let change = req::ChangeHost {
        host: HostId(host),
        name: Some(new_name),
        enabled: None,
    };
    resolve(change).await.map(drop)
}

/// An entry's disable or enable button.
#[server(endpoint = "set_host_enabled_form")]
pub async fn set_host_enabled_form(host: String, enabled: bool) -> Result<(), AppError> {
    let change = req::ChangeHost {
        host: HostId(host),
        name: None,
        enabled: Some(enabled),
    };
    resolve(change).await.map(drop)
}

/// An entry's remove form; the host's history stays in the event log.
#[server(endpoint = "remove_host_form")]
pub async fn remove_host_form(host: String) -> Result<(), AppError> {
    resolve(req::RemoveHost { host: HostId(host) }).await
}

/// An entry's form pinning the fingerprint its agent presents now.
#[server(endpoint = "accept_fingerprint_form")]
pub async fn accept_fingerprint_form(host: String, fingerprint: String) -> Result<(), AppError> {
    let accept = req::AcceptFingerprint {
        host: HostId(host),
        fingerprint,
    };
    resolve(accept).await.map(drop)
}
