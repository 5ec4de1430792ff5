//! The alert server functions the pages need beyond the requests of
//! `model::ops` (listing, creating, replacing, deleting and testing rules
//! and channels are generated in `api::ops`): one rule or one channel for
//! its edit form, and switching a rule on or off as it is stored now. REST
//! has no such routes (a script lists, or replaces the whole rule), so these
//! stay page-only. Core decides and records every call; channels come back
//! masked.

use crate::error::AppError;
use berth_core::model::{AlertRule, Channel};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};
#[cfg(feature = "ssr")]
use berth_core::model::{ChannelId, RuleId, RuleSpec};

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

/// Switches a rule on or off, as stored now (the rest of it unchanged, even
/// when the page showing it is stale).
#[server(endpoint = "set_alert_rule_enabled")]
pub async fn set_rule_enabled(id: u64, enabled: bool) -> Result<AlertRule, AppError> {
    let (berth, caller) = caller().await?;
    let rule = find_rule(&berth, &caller, RuleId(id)).await?;
    let spec = RuleSpec { enabled, ..rule.spec };
    berth.alerts.update_rule(&caller, rule.id, spec).await.map_err(failure)
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
