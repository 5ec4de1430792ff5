//! The alert requests, each to its `Alerts` method (which decides access
//! and records the change).

use super::{OpError, Resolve};
use crate::Berth;
use crate::access::Caller;
use crate::model::ops as req;
use crate::model::{AlertList, AlertRule, Channel, DeliveryReport};

impl Resolve for req::ListAlerts {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<AlertList, OpError> {
        Ok(berth.alerts.alerts_for(caller).await?)
    }
}

impl Resolve for req::ListRules {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<AlertRule>, OpError> {
        Ok(berth.alerts.rules_for(caller).await?)
    }
}

impl Resolve for req::CreateRule {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<AlertRule, OpError> {
        Ok(berth.alerts.create_rule(caller, self.spec).await?)
    }
}

impl Resolve for req::UpdateRule {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<AlertRule, OpError> {
        Ok(berth.alerts.update_rule(caller, self.id, self.spec).await?)
    }
}

impl Resolve for req::DeleteRule {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        Ok(berth.alerts.delete_rule(caller, self.id).await?)
    }
}

impl Resolve for req::ListChannels {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<Channel>, OpError> {
        Ok(berth.alerts.channels_for(caller).await?)
    }
}

impl Resolve for req::CreateChannel {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Channel, OpError> {
        Ok(berth.alerts.create_channel(caller, self.spec).await?)
    }
}

impl Resolve for req::UpdateChannel {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Channel, OpError> {
        Ok(berth.alerts.update_channel(caller, self.id, self.spec).await?)
    }
}

impl Resolve for req::DeleteChannel {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        Ok(berth.alerts.delete_channel(caller, self.id).await?)
    }
}

impl Resolve for req::TestChannel {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<DeliveryReport, OpError> {
        Ok(berth.alerts.test_channel(caller, self.id).await?)
    }
}
