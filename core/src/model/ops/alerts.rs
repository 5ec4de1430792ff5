//! Alerts: what fires now, the rules (create, replace, delete; enabling and
//! disabling are a replace) and the notification channels (likewise, plus
//! "send a test"). Channels come back masked; a secret sent back masked
//! keeps the stored one. History is the event log (`kind=alert.*`).

use super::{Body, Method, Request, Route};
use crate::model::{
    AlertList, AlertRule, Channel, ChannelId, ChannelSpec, DeliveryReport, Operation, RuleId, RuleSpec,
};
use serde::{Deserialize, Serialize};

/// The alerts firing and pending now on the hosts you may see, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAlerts {}

impl Request for ListAlerts {
    type Response = AlertList;
    const ROUTE: Route = Route::new(
        "list_alerts",
        Method::Get,
        "/alerts",
        "alerts",
        "Alerts firing and pending now",
    );
    fn operation(&self) -> Operation {
        Operation::ViewAlerts
    }
}

/// The rules about the hosts you may see, and those about all hosts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListRules {}

impl Request for ListRules {
    type Response = Vec<AlertRule>;
    const ROUTE: Route = Route::new(
        "list_alert_rules",
        Method::Get,
        "/alerts/rules",
        "alerts",
        "List alert rules",
    );
    fn operation(&self) -> Operation {
        Operation::ViewAlerts
    }
}

/// Creates a rule (manage on its host; a rule on all hosts: admins). Recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRule {
    pub spec: RuleSpec,
}

impl Request for CreateRule {
    type Response = AlertRule;
    const ROUTE: Route = Route::new(
        "create_alert_rule",
        Method::Post,
        "/alerts/rules",
        "alerts",
        "Create an alert rule (recorded)",
    )
    .status(201)
    .body(Body::Whole("spec"));
    fn operation(&self) -> Operation {
        Operation::CreateAlertRule
    }
}

/// Replaces rule `id` (also to enable or disable it). Recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateRule {
    /// The rule's number.
    pub id: RuleId,
    pub spec: RuleSpec,
}

impl Request for UpdateRule {
    type Response = AlertRule;
    const ROUTE: Route = Route::new(
        "update_alert_rule",
        Method::Put,
        "/alerts/rules/{id}",
        "alerts",
        "Replace an alert rule (recorded)",
    )
    .body(Body::Whole("spec"));
    fn operation(&self) -> Operation {
        Operation::UpdateAlertRule
    }
}

/// Deletes rule `id`; what it fired resolves. Recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteRule {
    /// The rule's number.
    pub id: RuleId,
}

impl Request for DeleteRule {
    type Response = ();
    const ROUTE: Route = Route::new(
        "delete_alert_rule",
        Method::Delete,
        "/alerts/rules/{id}",
        "alerts",
        "Delete an alert rule (recorded)",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::DeleteAlertRule
    }
}

/// Every channel, its secrets masked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListChannels {}

impl Request for ListChannels {
    type Response = Vec<Channel>;
    const ROUTE: Route = Route::new(
        "list_alert_channels",
        Method::Get,
        "/alerts/channels",
        "alerts",
        "List notification channels (secrets masked)",
    );
    fn operation(&self) -> Operation {
        Operation::ViewAlerts
    }
}

/// Creates a channel (admins); answers it masked. Recorded without its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateChannel {
    pub spec: ChannelSpec,
}

impl Request for CreateChannel {
    type Response = Channel;
    const ROUTE: Route = Route::new(
        "create_alert_channel",
        Method::Post,
        "/alerts/channels",
        "alerts",
        "Create a notification channel (recorded)",
    )
    .status(201)
    .body(Body::Whole("spec"));
    fn operation(&self) -> Operation {
        Operation::CreateChannel
    }
}

/// Replaces channel `id`, answers it masked; a secret sent back masked
/// keeps the stored one. Recorded without its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateChannel {
    /// The channel's number.
    pub id: ChannelId,
    pub spec: ChannelSpec,
}

impl Request for UpdateChannel {
    type Response = Channel;
    const ROUTE: Route = Route::new(
        "update_alert_channel",
        Method::Put,
        "/alerts/channels/{id}",
        "alerts",
        "Replace a notification channel (recorded)",
    )
    .body(Body::Whole("spec"));
    fn operation(&self) -> Operation {
        Operation::UpdateChannel
    }
}

/// Deletes channel `id` and takes it out of every rule. Recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteChannel {
    /// The channel's number.
    pub id: ChannelId,
}

impl Request for DeleteChannel {
    type Response = ();
    const ROUTE: Route = Route::new(
        "delete_alert_channel",
        Method::Delete,
        "/alerts/channels/{id}",
        "alerts",
        "Delete a notification channel (recorded)",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::DeleteChannel
    }
}

/// Sends channel `id` a test notification now, once, with its stored
/// settings; the attempt is recorded as `alert.deliver`. A receiver that
/// fails is a report with `ok: false`, not an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestChannel {
    /// The channel's number.
    pub id: ChannelId,
}

impl Request for TestChannel {
    type Response = DeliveryReport;
    const ROUTE: Route = Route::new(
        "test_alert_channel",
        Method::Post,
        "/alerts/channels/{id}/test",
        "alerts",
        "Send a test notification to a channel (recorded)",
    );
    fn operation(&self) -> Operation {
        Operation::TestChannel
    }
}
