//! Stacks: every compose project on every host, acting on one, berth's
//! definitions of the stacks it deploys, deploys and rollbacks, webhooks.
//! Not here: the webhook receiver itself (`POST /api/v1/hooks/...`), which
//! no caller signs in to: a forge signs each delivery instead.

use super::{Body, Method, Request, Route};
use crate::model::{
    ComposeCheck, DeliveryRecord, Deploy, DeployDetail, DeployId, HostId, Operation, Stack, StackDefinition, StackSpec,
    StackVerb, StackView, WebhookSetting,
};
use serde::{Deserialize, Serialize};

/// Every compose project on the hosts the caller may see.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListStacks {}

impl Request for ListStacks {
    type Response = Vec<Stack>;
    const ROUTE: Route = Route::new(
        "list_stacks",
        Method::Get,
        "/stacks",
        "stacks",
        "Every compose project on every host you may see",
    );
    fn operation(&self) -> Operation {
        Operation::ListStacks
    }
}

/// One stack: its services and containers, berth's definition, its deploys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetStack {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
}

impl Request for GetStack {
    type Response = StackView;
    const ROUTE: Route = Route::new(
        "get_stack",
        Method::Get,
        "/hosts/{host}/stacks/{name}",
        "stacks",
        "A stack's services, definition and deploys",
    );
    fn operation(&self) -> Operation {
        Operation::ViewStack
    }
}

/// Up, down, stop, start, restart or pull a stack, or one of its services.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackAct {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    /// What to do.
    pub action: StackVerb,
    /// One service only (absent: the whole stack).
    #[serde(default)]
    pub service: Option<String>,
    /// Down: remove the project's volumes too.
    #[serde(default)]
    pub volumes: bool,
}

/// What an action did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackActed {
    /// The containers it acted on.
    pub containers: u32,
    /// Compose's output (up, pull), secrets masked.
    #[serde(default)]
    pub output: Vec<String>,
}

impl Request for StackAct {
    type Response = StackActed;
    const ROUTE: Route = Route::new(
        "stack_action",
        Method::Post,
        "/hosts/{host}/stacks/{name}/{action}",
        "stacks",
        "Up, down, stop, start, restart or pull a stack or one service (recorded)",
    );
    fn operation(&self) -> Operation {
        self.action.operation()
    }
}

/// Define a stack berth deploys, from a git repository or a compose file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateStack {
    pub spec: StackSpec,
}

impl Request for CreateStack {
    type Response = StackDefinition;
    const ROUTE: Route = Route::new(
        "create_stack",
        Method::Post,
        "/stacks",
        "stacks",
        "Define a stack berth deploys (recorded; secrets stored apart, never shown)",
    )
    .status(201)
    .body(Body::Whole("spec"));
    fn operation(&self) -> Operation {
        Operation::CreateStack
    }
}

/// Change a stack's definition (the host and name stay).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateStack {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    pub spec: StackSpec,
}

impl Request for UpdateStack {
    type Response = StackDefinition;
    const ROUTE: Route = Route::new(
        "update_stack",
        Method::Put,
        "/hosts/{host}/stacks/{name}",
        "stacks",
        "Change a stack's definition (recorded)",
    )
    .body(Body::Whole("spec"));
    fn operation(&self) -> Operation {
        Operation::UpdateStack
    }
}

/// Forget a stack's definition, its secrets and its deploys' records; its
/// containers stay (take it down first to remove them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteStack {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
}

impl Request for DeleteStack {
    type Response = ();
    const ROUTE: Route = Route::new(
        "delete_stack",
        Method::Delete,
        "/hosts/{host}/stacks/{name}",
        "stacks",
        "Forget a stack's definition (recorded; its containers stay)",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::DeleteStack
    }
}

/// Check a compose file with compose itself, before it is saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateCompose {
    /// The host it is meant for.
    pub host: HostId,
    /// The compose file's text.
    pub compose: String,
}

impl Request for ValidateCompose {
    type Response = ComposeCheck;
    const ROUTE: Route = Route::new(
        "validate_compose",
        Method::Post,
        "/compose/validate",
        "stacks",
        "Check a compose file with compose itself; its error on its line",
    )
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::ValidateCompose
    }
}

/// Deploy a stack: fetch, build, up, wait; one deploy per stack at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployStack {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    /// A commit to deploy (absent: the branch's head).
    #[serde(default)]
    pub commit: Option<String>,
    /// While another deploy of the stack runs: wait behind it (true) or be
    /// refused (false).
    #[serde(default)]
    pub queue: bool,
}

impl Request for DeployStack {
    type Response = Deploy;
    const ROUTE: Route = Route::new(
        "deploy_stack",
        Method::Post,
        "/hosts/{host}/stacks/{name}/deploys",
        "stacks",
        "Deploy a stack (recorded; answered once the deploy is queued)",
    )
    .status(202)
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::DeployStack
    }
}

/// One deploy with its output so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetDeploy {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    pub id: DeployId,
}

impl Request for GetDeploy {
    type Response = DeployDetail;
    const ROUTE: Route = Route::new(
        "get_deploy",
        Method::Get,
        "/hosts/{host}/stacks/{name}/deploys/{id}",
        "stacks",
        "A deploy: its steps, images and output",
    );
    fn operation(&self) -> Operation {
        Operation::ViewStack
    }
}

/// Cancel a queued or running deploy; the previous version stays running.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelDeploy {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    pub id: DeployId,
}

impl Request for CancelDeploy {
    type Response = ();
    const ROUTE: Route = Route::new(
        "cancel_deploy",
        Method::Post,
        "/hosts/{host}/stacks/{name}/deploys/{id}/cancel",
        "stacks",
        "Cancel a deploy (recorded)",
    )
    .status(204);
    fn operation(&self) -> Operation {
        Operation::CancelDeploy
    }
}

/// Put back the images an earlier deploy ran (no rebuild).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollbackStack {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    /// The deploy whose images to run again.
    pub to: DeployId,
}

impl Request for RollbackStack {
    type Response = Deploy;
    const ROUTE: Route = Route::new(
        "rollback_stack",
        Method::Post,
        "/hosts/{host}/stacks/{name}/rollback",
        "stacks",
        "Run an earlier deploy's images again (recorded)",
    )
    .status(202)
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::RollbackStack
    }
}

/// Turn a stack's push webhook on (a new secret, shown once) or off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetStackWebhook {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    pub enabled: bool,
}

impl Request for SetStackWebhook {
    type Response = WebhookSetting;
    const ROUTE: Route = Route::new(
        "set_stack_webhook",
        Method::Put,
        "/hosts/{host}/stacks/{name}/webhook",
        "stacks",
        "Turn a stack's webhook on (new secret, shown once) or off (recorded)",
    )
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::SetStackWebhook
    }
}

/// The webhook deliveries a stack received, newest first, with verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListDeliveries {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
}

impl Request for ListDeliveries {
    type Response = Vec<DeliveryRecord>;
    const ROUTE: Route = Route::new(
        "list_deliveries",
        Method::Get,
        "/hosts/{host}/stacks/{name}/deliveries",
        "stacks",
        "A stack's webhook deliveries and their verdicts",
    );
    fn operation(&self) -> Operation {
        Operation::ViewStack
    }
}

/// One secret variable of a stack in clear (recorded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealStackSecret {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    /// The variable's name.
    pub var: String,
}

impl Request for RevealStackSecret {
    type Response = super::RevealedEnv;
    const ROUTE: Route = Route::new(
        "reveal_stack_secret",
        Method::Post,
        "/hosts/{host}/stacks/{name}/vars/{var}/reveal",
        "stacks",
        "One of a stack's secret variables in clear (recorded)",
    );
    fn operation(&self) -> Operation {
        Operation::RevealStackSecret
    }
}
