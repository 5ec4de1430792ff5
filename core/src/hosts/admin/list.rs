//! The admin's list of hosts: every running host with where it comes
//! from (`local`, the configuration file, or added at run time), and the
//! added hosts that do not run (disabled), each as the caller may see it.
//! Never a token.

use super::{HostAdmin, Result};
use crate::access::Caller;
use crate::model::{HostEntry, HostId, HostOrigin, HostStatus, Transport};
use crate::store::hosts::StoredHost;

impl HostAdmin {
    /// Every host with its origin, address and state: admins see all of
    /// them, disabled ones too; others see the hosts their grants cover.
    /// Never a token.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<HostEntry>> {
        let added = self.stored_all().await?;
        let p = caller.permissions();
        let mut out = Vec::new();
        for host in self.inner.hosts.all().iter() {
            let name = &host.id().0;
            let status = host.status();
            let entry = if let Some(c) = self.inner.configured.iter().find(|c| &c.name == name) {
                HostEntry {
                    id: host.id().clone(),
                    transport: host.transport(),
                    address: c.address.clone(),
                    fingerprint: c.fingerprint.clone(),
                    enabled: true,
                    origin: HostOrigin::Config,
                    status,
                    added_ns: None,
                    added_by: None,
                }
            } else if let Some(a) = added.iter().find(|a| &a.name == name) {
                entry_of(a, status)
            } else {
                // The engine beside berth (or a host a test added directly).
                HostEntry {
                    id: host.id().clone(),
                    transport: host.transport(),
                    address: None,
                    fingerprint: None,
                    enabled: true,
                    origin: HostOrigin::Local,
                    status,
                    added_ns: None,
                    added_by: None,
                }
            };
            out.push(entry);
        }
        // Added hosts that do not run: disabled, or could not be started.
        for a in &added {
            if out.iter().any(|e| e.id.0 == a.name) || self.is_configured(&a.name) {
                continue;
            }
            let error = if a.enabled {
                "not running: berth could not start it (see the server's log)"
            } else {
                "disabled"
            };
            let status = HostStatus {
                id: HostId(a.name.clone()),
                reachable: false,
                since_ns: a.changed_ns,
                error: Some(error.into()),
                engine_version: None,
                api_version: None,
                transport: Transport::Agent,
                agent_version: None,
                limits: Default::default(),
                rtt_us: None,
            };
            out.push(entry_of(a, status));
        }
        out.retain(|e| p.sees(&e.id.0));
        Ok(out)
    }
}

fn entry_of(a: &StoredHost, status: HostStatus) -> HostEntry {
    HostEntry {
        id: HostId(a.name.clone()),
        transport: Transport::Agent,
        address: Some(a.url.clone()),
        fingerprint: Some(a.fingerprint.clone()),
        enabled: a.enabled,
        origin: HostOrigin::Added,
        status,
        added_ns: Some(a.added_ns),
        added_by: Some(a.added_by.clone()),
    }
}
