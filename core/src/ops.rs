//! Carrying out the requests of `model::ops`: one `Resolve` per request,
//! called alike by the REST route, the server function and any other edge.
//! A resolver only turns the request into the call of the service that owns
//! it (which asks `access` and records the event); it adds no decision of
//! its own. Not here: how a request reaches berth (HTTP, forms, paging).
//! An area with many requests has its resolvers in a child module.

mod alerts;
mod hosts;
mod stacks;
mod users;

use crate::access::Caller;
use crate::model::ops::{self as req, Request};
use crate::model::{ContainerAction, ErrorKind, HostView};
use crate::{Berth, Failure};
use std::fmt;
use std::future::Future;

/// Why a request failed: its kind (the status every edge answers with) and
/// a message a person can act on.
#[derive(Debug)]
pub struct OpError {
    kind: ErrorKind,
    message: String,
}

impl OpError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> OpError {
        OpError {
            kind,
            message: message.into(),
        }
    }

    /// Input that cannot be carried out as sent.
    pub fn invalid(message: impl Into<String>) -> OpError {
        OpError::new(ErrorKind::Invalid, message)
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

impl Failure for OpError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// Every area's error becomes an `OpError` of the same kind and message.
macro_rules! from_failures {
    ($($e:ty),* $(,)?) => {$(
        impl From<$e> for OpError {
            fn from(e: $e) -> OpError {
                OpError::new(e.kind(), e.to_string())
            }
        }
    )*};
}

from_failures!(
    crate::hosts::HostError,
    crate::access::AccessError,
    crate::events::EventError,
    crate::auth::AuthError,
    crate::services::LogError,
    crate::health::HealthError,
    crate::stats::StatsError,
    crate::alerts::AlertError,
    crate::hosts::HostAdminError,
    crate::logs::stored::StoredLogsError,
    crate::stacks::StackError,
);

/// Carries out a request for a caller. Access is decided, and the request
/// recorded, by the service it reaches, once.
pub trait Resolve: Request {
    fn resolve(self, berth: &Berth, caller: &Caller) -> impl Future<Output = Result<Self::Response, OpError>> + Send;
}

impl Resolve for req::GetHost {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<HostView, OpError> {
        Ok(berth.hosts.get(&self.host.0)?.view_for(caller).await?)
    }
}

impl Resolve for req::ListContainers {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.hosts.get(&self.host.0)?.view_for(caller).await?.containers)
    }
}

impl Resolve for req::InspectContainer {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.hosts.get(&self.host.0)?.inspect(caller, &self.id).await?)
    }
}

impl Resolve for req::ContainerAct {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        let action: ContainerAction = self.action().map_err(OpError::invalid)?;
        Ok(berth.hosts.get(&self.host.0)?.act(caller, &self.id, action).await?)
    }
}

impl Resolve for req::CreateContainer {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<req::Created, OpError> {
        let host = berth.hosts.get(&self.host.0)?;
        Ok(req::Created {
            id: host.create(caller, &self.container).await?,
        })
    }
}

impl Resolve for req::RevealEnv {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<req::RevealedEnv, OpError> {
        let value = berth
            .hosts
            .get(&self.host.0)?
            .reveal_env(caller, &self.id, &self.name)
            .await?;
        Ok(req::RevealedEnv { name: self.name, value })
    }
}

impl Resolve for req::LatestStats {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        berth.check(caller, self.operation()).await?;
        Ok(berth.dashboard(caller).stats)
    }
}

impl Resolve for req::HostCharts {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        berth.hosts.get(&self.host.0)?;
        Ok(berth
            .stats
            .host_charts(&berth.events, caller, &self.host.0, self.range)
            .await?)
    }
}

impl Resolve for req::ContainerCharts {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        berth.hosts.get(&self.host.0)?;
        let (host, name) = (&self.host.0, &self.name);
        Ok(berth
            .stats
            .container_charts(&berth.events, caller, host, name, self.range)
            .await?)
    }
}

impl Resolve for req::ListExpected {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        berth.hosts.get(&self.host.0)?.view_for(caller).await?;
        let all = berth.health.expectations();
        Ok(all.into_iter().filter(|e| e.host == self.host).collect())
    }
}

impl Resolve for req::SetExpected {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        let state = self.state.as_deref();
        Ok(berth.health.set(caller, &self.host.0, &self.key, state).await?)
    }
}

impl Resolve for req::GetEvent {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.event(caller, self.seq).await?)
    }
}

impl Resolve for req::VerifyChain {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.verify_events(caller).await?)
    }
}

impl Resolve for req::ProveInclusion {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<req::InclusionProof, OpError> {
        let (leaf, path) = berth.inclusion_proof(caller, self.seq, self.size).await?;
        Ok(req::InclusionProof {
            seq: self.seq.0,
            index: self.seq.0.saturating_sub(1),
            size: self.size,
            leaf: crate::tlog::encode_base64(&leaf),
            proof: path.iter().map(crate::tlog::encode_hash).collect(),
        })
    }
}

impl Resolve for req::StoredLogKeys {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        let host = self.host.filter(|h| !h.is_empty());
        Ok(berth.stored_logs.keys(caller, host.as_deref()).await?)
    }
}

impl Resolve for req::CollectLogs {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        let host = &self.host.0;
        Ok(berth.stored_logs.set_collect(caller, host, &self.change).await?)
    }
}

/// The four requests of one kind of resource, each to its `Host` method.
macro_rules! resolve_resources {
    ($list:ident: $all:ident, $get:ident: $one:ident($key:ident), $remove:ident: $rm:ident$(($force:ident))?, $prune:ident: $pr:ident) => {
        impl Resolve for req::$list {
            async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
                Ok(berth.hosts.get(&self.host.0)?.$all(caller).await?)
            }
        }

        impl Resolve for req::$get {
            async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
                Ok(berth.hosts.get(&self.host.0)?.$one(caller, &self.$key).await?)
            }
        }

        impl Resolve for req::$remove {
            async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
                let host = berth.hosts.get(&self.host.0)?;
                Ok(host.$rm(caller, &self.$key $(, self.$force)?).await?)
            }
        }

        impl Resolve for req::$prune {
            async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
                let label = self.checked_label().map_err(OpError::invalid)?;
                Ok(berth.hosts.get(&self.host.0)?.$pr(caller, label).await?)
            }
        }
    };
}

resolve_resources!(ListImages: images, GetImage: image(reference), RemoveImage: remove_image(force), PruneImages: prune_images);
resolve_resources!(ListNetworks: networks, GetNetwork: network(id), RemoveNetwork: remove_network, PruneNetworks: prune_networks);
resolve_resources!(ListVolumes: volumes, GetVolume: volume(name), RemoveVolume: remove_volume(force), PruneVolumes: prune_volumes);
