//! Alerts over REST: what fires now, the rules (create, replace, delete;
//! enable and disable are a replace) and the notification channels
//! (likewise, plus "send a test"). Channels come back masked; a secret
//! sent back masked keeps the stored one. History is the event log
//! (`GET /api/v1/events?kind=alert.*`).

use super::{ApiError, AppState, Authed, Failures, Path, body};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use berth_core::model::{AlertList, AlertRule, Channel, ChannelId, ChannelSpec, DeliveryReport, RuleId, RuleSpec};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(alerts))
        .route("/alerts/rules", get(rules).post(create_rule))
        .route("/alerts/rules/{id}", put(update_rule).delete(delete_rule))
        .route("/alerts/channels", get(channels).post(create_channel))
        .route("/alerts/channels/{id}", put(update_channel).delete(delete_channel))
        .route("/alerts/channels/{id}/test", post(test_channel))
}

const RULE: &str = "{\"name\", \"condition\": {\"kind\", ...}, \"scope\", \"for_secs\", \"repeat_secs\", \"channels\", \"silences\", \"severity\", \"enabled\"}";
const CHANNEL: &str = "{\"name\", \"enabled\", \"target\": {\"kind\", ...}}";

/// The alerts firing and pending now on the hosts you may see, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    summary = "Alerts firing and pending now",
    responses((status = 200, description = "the alerts", body = AlertList), Failures)
)]
pub(crate) async fn alerts(State(state): State<AppState>, Authed(caller): Authed) -> Result<Json<AlertList>, ApiError> {
    Ok(Json(state.berth.alerts.alerts_for(&caller).await?))
}

/// The rules about the hosts you may see, and those about all hosts.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/rules",
    tag = "alerts",
    summary = "List alert rules",
    responses((status = 200, description = "the rules", body = Vec<AlertRule>), Failures)
)]
pub(crate) async fn rules(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<AlertRule>>, ApiError> {
    Ok(Json(state.berth.alerts.rules_for(&caller).await?))
}

/// Creates a rule (manage on its host; a rule on all hosts: admins). Recorded.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/rules",
    tag = "alerts",
    summary = "Create an alert rule (recorded)",
    request_body = RuleSpec,
    responses((status = 201, description = "the rule", body = AlertRule), Failures)
)]
pub(crate) async fn create_rule(
    State(state): State<AppState>,
    Authed(caller): Authed,
    req: Result<Json<RuleSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let spec = body(req, RULE)?;
    let rule = state.berth.alerts.create_rule(&caller, spec).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Replaces rule `id` (also to enable or disable it). Recorded.
#[utoipa::path(
    put,
    path = "/api/v1/alerts/rules/{id}",
    tag = "alerts",
    summary = "Replace an alert rule (recorded)",
    params(("id" = u64, Path, description = "the rule's number")),
    request_body = RuleSpec,
    responses((status = 200, description = "the rule", body = AlertRule), Failures)
)]
pub(crate) async fn update_rule(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<u64>,
    req: Result<Json<RuleSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<AlertRule>, ApiError> {
    let spec = body(req, RULE)?;
    Ok(Json(state.berth.alerts.update_rule(&caller, RuleId(id), spec).await?))
}

/// Deletes rule `id`; what it fired resolves. Recorded.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/rules/{id}",
    tag = "alerts",
    summary = "Delete an alert rule (recorded)",
    params(("id" = u64, Path, description = "the rule's number")),
    responses((status = 204, description = "deleted"), Failures)
)]
pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    state.berth.alerts.delete_rule(&caller, RuleId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every channel, its secrets masked.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/channels",
    tag = "alerts",
    summary = "List notification channels (secrets masked)",
    responses((status = 200, description = "the channels", body = Vec<Channel>), Failures)
)]
pub(crate) async fn channels(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<Channel>>, ApiError> {
    Ok(Json(state.berth.alerts.channels_for(&caller).await?))
}

/// Creates a channel (admins). Recorded without its settings.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/channels",
    tag = "alerts",
    summary = "Create a notification channel (recorded)",
    request_body = ChannelSpec,
    responses((status = 201, description = "the channel, masked", body = Channel), Failures)
)]
pub(crate) async fn create_channel(
    State(state): State<AppState>,
    Authed(caller): Authed,
    req: Result<Json<ChannelSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let spec = body(req, CHANNEL)?;
    let channel = state.berth.alerts.create_channel(&caller, spec).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Replaces channel `id`; a secret sent back masked keeps the stored one.
#[utoipa::path(
    put,
    path = "/api/v1/alerts/channels/{id}",
    tag = "alerts",
    summary = "Replace a notification channel (recorded)",
    params(("id" = u64, Path, description = "the channel's number")),
    request_body = ChannelSpec,
    responses((status = 200, description = "the channel, masked", body = Channel), Failures)
)]
pub(crate) async fn update_channel(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<u64>,
    req: Result<Json<ChannelSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Channel>, ApiError> {
    let spec = body(req, CHANNEL)?;
    Ok(Json(
        state.berth.alerts.update_channel(&caller, ChannelId(id), spec).await?,
    ))
}

/// Deletes channel `id` and takes it out of every rule. Recorded.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/channels/{id}",
    tag = "alerts",
    summary = "Delete a notification channel (recorded)",
    params(("id" = u64, Path, description = "the channel's number")),
    responses((status = 204, description = "deleted"), Failures)
)]
pub(crate) async fn delete_channel(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    state.berth.alerts.delete_channel(&caller, ChannelId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test notification now, once; the attempt is recorded as
/// `alert.deliver`. A receiver that fails is a report with `ok: false`, not an error.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/channels/{id}/test",
    tag = "alerts",
    summary = "Send a test notification to a channel (recorded)",
    params(("id" = u64, Path, description = "the channel's number")),
    responses((status = 200, description = "what the receiver answered", body = DeliveryReport), Failures)
)]
pub(crate) async fn test_channel(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<u64>,
) -> Result<Json<DeliveryReport>, ApiError> {
    Ok(Json(state.berth.alerts.test_channel(&caller, ChannelId(id)).await?))
}
