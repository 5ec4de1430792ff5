//! The requests about stacks, each to its `Stacks` method (which decides
//! access and records the operation).

use super::{OpError, Resolve};
use crate::Berth;
use crate::access::Caller;
use crate::model::ops::{self as req};

impl Resolve for req::ListStacks {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.list(caller).await?)
    }
}

impl Resolve for req::GetStack {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.get(caller, &self.host.0, &self.name).await?)
    }
}

impl Resolve for req::StackAct {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        let service = self.service.as_deref().filter(|s| !s.is_empty());
        let (host, name) = (&self.host.0, &self.name);
        Ok(berth
            .stacks
            .act(caller, host, name, self.action, service, self.volumes)
            .await?)
    }
}

impl Resolve for req::CreateStack {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.create(caller, self.spec).await?)
    }
}

impl Resolve for req::UpdateStack {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.update(caller, &self.host.0, &self.name, self.spec).await?)
    }
}

impl Resolve for req::DeleteStack {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.delete(caller, &self.host.0, &self.name).await?)
    }
}

impl Resolve for req::ValidateCompose {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.validate(caller, &self.host.0, &self.compose).await?)
    }
}

impl Resolve for req::DeployStack {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        let commit = self.commit.filter(|c| !c.is_empty());
        Ok(berth
            .stacks
            .deploy(caller, &self.host.0, &self.name, commit, self.queue)
            .await?)
    }
}

impl Resolve for req::GetDeploy {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth
            .stacks
            .deploy_detail(caller, &self.host.0, &self.name, self.id)
            .await?)
    }
}

impl Resolve for req::CancelDeploy {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.cancel(caller, &self.host.0, &self.name, self.id).await?)
    }
}

impl Resolve for req::RollbackStack {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.rollback(caller, &self.host.0, &self.name, self.to).await?)
    }
}

impl Resolve for req::SetStackWebhook {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth
            .stacks
            .set_webhook(caller, &self.host.0, &self.name, self.enabled)
            .await?)
    }
}

impl Resolve for req::ListDeliveries {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        Ok(berth.stacks.deliveries(caller, &self.host.0, &self.name).await?)
    }
}

impl Resolve for req::RevealStackSecret {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Self::Response, OpError> {
        let value = berth.stacks.reveal(caller, &self.host.0, &self.name, &self.var).await?;
        Ok(req::RevealedEnv { name: self.var, value })
    }
}
