//! Alerts for the pages: what fires now, the rules and the notification
//! channels, changing them, and sending a channel a test. Core decides and
//! records every call; channels come back masked, and a secret sent back
//! masked keeps the stored one.

use crate::error::AppError;
use berth_core::model::{AlertList, AlertRule, Channel, ChannelSpec, DeliveryReport, RuleSpec};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};
#[cfg(feature = "ssr")]
use berth_core::model::{ChannelId, RuleId};

/// The alerts firing and pending now, on the hosts the caller may see.
#[server(endpoint = "list_alerts")]
pub async fn list_alerts() -> Result<AlertList, AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.alerts_for(&caller).await.map_err(failure)
}

/// The rules about hosts the caller may see (and those about all hosts).
#[server(endpoint = "list_alert_rules")]
pub async fn list_rules() -> Result<Vec<AlertRule>, AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.rules_for(&caller).await.map_err(failure)
}

/// One rule, for its edit form.
#[server(endpoint = "get_alert_rule")]
pub async fn get_rule(id: u64) -> Result<AlertRule, AppError> {
    let (berth, caller) = caller().await?;
    find_rule(&berth, &caller, RuleId(id)).await
}

#[cfg(feature = "ssr")]
async fn find_rule(
    berth: &berth_core::Berth,
    caller: &berth_core::access::Caller,
    id: RuleId,
) -> Result<AlertRule, AppError> {
    let rules = berth.alerts.rules_for(caller).await.map_err(failure)?;
    rules.into_iter().find(|r| r.id == id).ok_or_else(|| {
        fail(AppError::new(
            berth_core::model::ErrorKind::NotFound,
            format!("there is no alert rule {id}; it may have been deleted"),
        ))
    })
}

#[server(endpoint = "create_alert_rule", input = leptos::server_fn::codec::Json)]
pub async fn create_rule(spec: RuleSpec) -> Result<AlertRule, AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.create_rule(&caller, spec).await.map_err(failure)
}

#[server(endpoint = "update_alert_rule", input = leptos::server_fn::codec::Json)]
pub async fn update_rule(id: u64, spec: RuleSpec) -> Result<AlertRule, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .alerts
        .update_rule(&caller, RuleId(id), spec)
        .await
        .map_err(failure)
}

/// Switches a rule on or off, as stored now (the rest of it unchanged).
#[server(endpoint = "set_alert_rule_enabled")]
pub async fn set_rule_enabled(id: u64, enabled: bool) -> Result<AlertRule, AppError> {
    let (berth, caller) = caller().await?;
    let rule = find_rule(&berth, &caller, RuleId(id)).await?;
    let spec = RuleSpec { enabled, ..rule.spec };
    berth.alerts.update_rule(&caller, rule.id, spec).await.map_err(failure)
}

#[server(endpoint = "delete_alert_rule")]
pub async fn delete_rule(id: u64) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.delete_rule(&caller, RuleId(id)).await.map_err(failure)
}

/// Every channel, masked.
#[server(endpoint = "list_alert_channels")]
pub async fn list_channels() -> Result<Vec<Channel>, AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.channels_for(&caller).await.map_err(failure)
}

/// One channel, masked, for its edit form.
#[server(endpoint = "get_alert_channel")]
pub async fn get_channel(id: u64) -> Result<Channel, AppError> {
    let (berth, caller) = caller().await?;
    let channels = berth.alerts.channels_for(&caller).await.map_err(failure)?;
    channels.into_iter().find(|c| c.id == ChannelId(id)).ok_or_else(|| {
        fail(AppError::new(
            berth_core::model::ErrorKind::NotFound,
            format!("there is no channel {id}; it may have been deleted"),
        ))
    })
}

#[server(endpoint = "create_alert_channel", input = leptos::server_fn::codec::Json)]
pub async fn create_channel(spec: ChannelSpec) -> Result<Channel, AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.create_channel(&caller, spec).await.map_err(failure)
}

#[server(endpoint = "update_alert_channel", input = leptos::server_fn::codec::Json)]
pub async fn update_channel(id: u64, spec: ChannelSpec) -> Result<Channel, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .alerts
        .update_channel(&caller, ChannelId(id), spec)
        .await
        .map_err(failure)
}

#[server(endpoint = "delete_alert_channel")]
pub async fn delete_channel(id: u64) -> Result<(), AppError> {
    let (berth, caller) = caller().await?;
    berth
        .alerts
        .delete_channel(&caller, ChannelId(id))
        .await
        .map_err(failure)
}

/// Sends channel `id` a test notification now, with its stored settings.
#[server(endpoint = "test_alert_channel")]
pub async fn test_channel(id: u64) -> Result<DeliveryReport, AppError> {
    let (berth, caller) = caller().await?;
    berth.alerts.test_channel(&caller, ChannelId(id)).await.map_err(failure)
}
