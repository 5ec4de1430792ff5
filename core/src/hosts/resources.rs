//! Images, networks and volumes of a host, for callers: `access` is asked
//! for every call; removals and prunes are recorded as events, also when
//! refused or failed. Listing and inspecting record only refusals.
//! Not here: talking to the engine (`Engine`, behind the host).

use super::{Host, HostError, record};
use crate::access::Caller;
use crate::engine::EngineError;
use crate::model::{
    Image, ImageDetail, ImageRemoval, Network, NetworkDetail, Operation, PruneReport, Volume, VolumeDetail,
};
use std::future::Future;
use std::time::Instant;

/// What a prune's event records.
fn prune_details(label: Option<&str>, r: &PruneReport) -> serde_json::Value {
    serde_json::json!({
        "label": label,
        "deleted": r.deleted.len(),
        "space_reclaimed": r.space_reclaimed,
    })
}

impl Host {
    /// Runs `work` for `caller` if `access` allows `op`, and records it:
    /// refused, failed or done, with how long it took and what `done` says
    /// about the result.
    async fn audited<T>(
        &self,
        caller: &Caller,
        op: Operation,
        target: Option<String>,
        details: serde_json::Value,
        work: impl Future<Output = Result<T, EngineError>>,
        done: impl FnOnce(&T) -> serde_json::Value,
    ) -> Result<T, HostError> {
        let started = Instant::now();
        let mut event = caller.event(op.kind()).host(self.id.0.clone()).details(details);
        if let Some(t) = &target {
            event = event.target(t.clone());
        }
        let result = async {
            self.check(caller, op, target).await?;
            Ok(work.await?)
        }
        .await;
        if let Ok(value) = &result {
            event = event.details(done(value));
        }
        record(&self.events, event, started, &result).await?;
        result
    }

    /// Every image with a name, and the dangling ones.
    pub async fn images(&self, caller: &Caller) -> Result<Vec<Image>, HostError> {
        self.check(caller, Operation::ViewResources, None).await?;
        Ok(self.engine.images().await?)
    }

    /// One image by id, id prefix or `repo:tag`.
    pub async fn image(&self, caller: &Caller, reference: &str) -> Result<ImageDetail, HostError> {
        self.check(caller, Operation::ViewResources, None).await?;
        Ok(self.engine.image(reference).await?)
    }

    /// Removes a name (`repo:tag`) or, by id, the image; `force` also when
    /// stopped containers use it or it has several names.
    pub async fn remove_image(&self, caller: &Caller, reference: &str, force: bool) -> Result<ImageRemoval, HostError> {
        let work = self.engine.remove_image(reference, force);
        self.audited(
            caller,
            Operation::RemoveImage,
            Some(format!("image:{reference}")),
            serde_json::json!({ "force": force }),
            work,
            |r| serde_json::json!({ "force": force, "untagged": r.untagged, "deleted": r.deleted }),
        )
        .await
    }

    /// Removes dangling images (no name, no tagged child), optionally only
    /// those with `label` (`key` or `key=value`).
    pub async fn prune_images(&self, caller: &Caller, label: Option<&str>) -> Result<PruneReport, HostError> {
        let work = self.engine.prune_images(label);
        let details = serde_json::json!({ "label": label });
        self.audited(caller, Operation::PruneImages, None, details, work, |r| {
            prune_details(label, r)
        })
        .await
    }

    pub async fn networks(&self, caller: &Caller) -> Result<Vec<Network>, HostError> {
        self.check(caller, Operation::ViewResources, None).await?;
        Ok(self.engine.networks().await?)
    }

    /// One network by id, id prefix or name.
    pub async fn network(&self, caller: &Caller, id: &str) -> Result<NetworkDetail, HostError> {
        self.check(caller, Operation::ViewResources, None).await?;
        Ok(self.engine.network(id).await?)
    }

    /// Removes a network (by id or name) that no container is attached to.
    pub async fn remove_network(&self, caller: &Caller, id: &str) -> Result<(), HostError> {
        // Recorded by name, as the engine's own network events are.
        let name = match self.engine.network(id).await {
            Ok(n) => n.network.name,
            Err(_) => id.to_string(),
        };
        let work = self.engine.remove_network(id);
        let details = serde_json::json!({ "id": id });
        self.audited(
            caller,
            Operation::RemoveNetwork,
            Some(format!("network:{name}")),
            details.clone(),
            work,
            |_| details,
        )
        .await
    }

    /// Removes the networks no container uses (optionally only with `label`).
    pub async fn prune_networks(&self, caller: &Caller, label: Option<&str>) -> Result<PruneReport, HostError> {
        let work = self.engine.prune_networks(label);
        let details = serde_json::json!({ "label": label });
        self.audited(caller, Operation::PruneNetworks, None, details, work, |r| {
            prune_details(label, r)
        })
        .await
    }

    pub async fn volumes(&self, caller: &Caller) -> Result<Vec<Volume>, HostError> {
        self.check(caller, Operation::ViewResources, None).await?;
        Ok(self.engine.volumes().await?)
    }

    pub async fn volume(&self, caller: &Caller, name: &str) -> Result<VolumeDetail, HostError> {
        self.check(caller, Operation::ViewResources, None).await?;
        Ok(self.engine.volume(name).await?)
    }

    /// Removes a volume no container uses, and its data.
    pub async fn remove_volume(&self, caller: &Caller, name: &str, force: bool) -> Result<(), HostError> {
        let work = self.engine.remove_volume(name, force);
        let details = serde_json::json!({ "force": force });
        self.audited(
            caller,
            Operation::RemoveVolume,
            Some(format!("volume:{name}")),
            details.clone(),
            work,
            |_| details,
        )
        .await
    }

    /// Removes unused volumes and their data (optionally only with `label`).
    pub async fn prune_volumes(&self, caller: &Caller, label: Option<&str>) -> Result<PruneReport, HostError> {
        let work = self.engine.prune_volumes(label);
        let details = serde_json::json!({ "label": label });
        self.audited(caller, Operation::PruneVolumes, None, details, work, |r| {
            prune_details(label, r)
        })
        .await
    }
}
