//! The requests about hosts, each to its `HostAdmin` method (which decides
//! access and records the change) or, for the list every caller sees, to
//! the hosts the caller may see. A change answers with the host's entry as
//! the caller now sees it in the list.

use super::{OpError, Resolve};
use crate::Berth;
use crate::access::Caller;
use crate::model::ops::{self as req};
use crate::model::{ErrorKind, HostEntry, HostStatus};

/// The host named `name` as `caller` now sees it in the list.
async fn entry(berth: &Berth, caller: &Caller, name: &str) -> Result<HostEntry, OpError> {
    let all = berth.host_admin.list(caller).await?;
    all.into_iter()
        .find(|e| e.id.0 == name)
        .ok_or_else(|| OpError::new(ErrorKind::NotFound, format!("there is no host '{name}' any more")))
}

impl Resolve for req::ListHosts {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<HostStatus>, OpError> {
        Ok(berth.hosts.visible(caller).iter().map(|h| h.status()).collect())
    }
}

impl Resolve for req::HostEntries {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<HostEntry>, OpError> {
        Ok(berth.host_admin.list(caller).await?)
    }
}

impl Resolve for req::ProbeAgent {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<req::Probed, OpError> {
        let fingerprint = berth.host_admin.probe_agent(caller, &self.url).await?;
        Ok(req::Probed { fingerprint })
    }
}

impl Resolve for req::AddHost {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<HostEntry, OpError> {
        let name = self.name.clone();
        berth.host_admin.add_agent(caller, self.into()).await?;
        entry(berth, caller, &name).await
    }
}

impl Resolve for req::ChangeHost {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<HostEntry, OpError> {
        self.check().map_err(OpError::invalid)?;
        let admin = &berth.host_admin;
        let mut name = self.host.0;
        if let Some(new_name) = self.name {
            admin.rename(caller, &name, &new_name).await?;
            name = new_name;
        }
        if let Some(enabled) = self.enabled {
            admin.set_enabled(caller, &name, enabled).await?;
        }
        entry(berth, caller, &name).await
    }
}

impl Resolve for req::RemoveHost {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        Ok(berth.host_admin.remove(caller, &self.host.0).await?)
    }
}

impl Resolve for req::AcceptFingerprint {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<HostEntry, OpError> {
        let host = &self.host.0;
        berth
            .host_admin
            .accept_fingerprint(caller, host, &self.fingerprint)
            .await?;
        entry(berth, caller, host).await
    }
}
