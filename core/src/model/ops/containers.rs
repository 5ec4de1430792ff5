//! A host's view and its containers: look, act, create, reveal a value.

use super::{Body, Method, Request, Route};
use crate::model::{Container, ContainerAction, ContainerDetail, HostId, HostView, NewContainer, Operation};
use serde::{Deserialize, Serialize};

/// A host's status and its containers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetHost {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
}

impl Request for GetHost {
    type Response = HostView;
    const ROUTE: Route = Route::new(
        "get_host",
        Method::Get,
        "/hosts/{host}",
        "hosts",
        "A host's status and containers",
    );
    fn operation(&self) -> Operation {
        Operation::ViewHost
    }
}

/// A host's containers, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListContainers {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
}

impl Request for ListContainers {
    type Response = Vec<Container>;
    const ROUTE: Route = Route::new(
        "list_containers",
        Method::Get,
        "/hosts/{host}/containers",
        "containers",
        "A host's containers",
    )
    .paged_by("name");
    fn operation(&self) -> Operation {
        Operation::ViewHost
    }
}

/// A container's configuration (environment values masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InspectContainer {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// A container's id, id prefix (6+) or name.
    pub id: String,
}

impl Request for InspectContainer {
    type Response = ContainerDetail;
    const ROUTE: Route = Route::new(
        "inspect_container",
        Method::Get,
        "/hosts/{host}/containers/{id}",
        "containers",
        "A container's configuration (environment values masked)",
    );
    fn operation(&self) -> Operation {
        Operation::InspectContainer
    }
}

/// What can be done to a container, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ContainerVerb {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
    Remove,
}

impl ContainerVerb {
    pub const ALL: [ContainerVerb; 7] = [
        ContainerVerb::Start,
        ContainerVerb::Stop,
        ContainerVerb::Restart,
        ContainerVerb::Kill,
        ContainerVerb::Pause,
        ContainerVerb::Unpause,
        ContainerVerb::Remove,
    ];

    /// The operation it is, for access and the record.
    pub fn operation(self) -> Operation {
        match self {
            ContainerVerb::Start => Operation::StartContainer,
            ContainerVerb::Stop => Operation::StopContainer,
            ContainerVerb::Restart => Operation::RestartContainer,
            ContainerVerb::Kill => Operation::KillContainer,
            ContainerVerb::Pause => Operation::PauseContainer,
            ContainerVerb::Unpause => Operation::UnpauseContainer,
            ContainerVerb::Remove => Operation::RemoveContainer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerVerb::Start => "start",
            ContainerVerb::Stop => "stop",
            ContainerVerb::Restart => "restart",
            ContainerVerb::Kill => "kill",
            ContainerVerb::Pause => "pause",
            ContainerVerb::Unpause => "unpause",
            ContainerVerb::Remove => "remove",
        }
    }
}

/// Start, stop, restart, kill, pause, unpause or remove a container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerAct {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// A container's id, id prefix (6+) or name.
    pub id: String,
    /// What to do.
    pub action: ContainerVerb,
    /// Seconds to wait before killing (stop, restart), at most 3600.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 3600))]
    pub timeout: Option<u32>,
    /// Remove even when running (remove).
    #[serde(default)]
    pub force: bool,
    /// Remove its anonymous volumes too (remove).
    #[serde(default)]
    pub volumes: bool,
}

impl ContainerAct {
    /// The action with its options, checked.
    pub fn action(&self) -> Result<ContainerAction, String> {
        ContainerAction::new(self.action, self.timeout, self.force, self.volumes)
    }
}

impl Request for ContainerAct {
    type Response = ();
    const ROUTE: Route = Route::new(
        "container_action",
        Method::Post,
        "/hosts/{host}/containers/{id}/{action}",
        "containers",
        "Start, stop, restart, kill, pause, unpause or remove a container (recorded)",
    )
    .status(204);
    fn operation(&self) -> Operation {
        self.action.operation()
    }
}

/// Create (and start) a container from a local image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateContainer {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    pub container: NewContainer,
}

/// The id of what was created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    pub id: String,
}

impl Request for CreateContainer {
    type Response = Created;
    const ROUTE: Route = Route::new(
        "create_container",
        Method::Post,
        "/hosts/{host}/containers",
        "containers",
        "Create (and start) a container from a local image (recorded)",
    )
    .status(201)
    .body(Body::Whole("container"));
    fn operation(&self) -> Operation {
        Operation::CreateContainer
    }
}

/// One environment value of a container in clear (recorded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealEnv {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// A container's id, id prefix (6+) or name.
    pub id: String,
    /// The variable's name.
    pub name: String,
}

/// One environment variable in clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealedEnv {
    pub name: String,
    pub value: String,
}

impl Request for RevealEnv {
    type Response = RevealedEnv;
    const ROUTE: Route = Route::new(
        "reveal_env",
        Method::Post,
        "/hosts/{host}/containers/{id}/env/{name}/reveal",
        "containers",
        "One environment value in clear (recorded)",
    );
    fn operation(&self) -> Operation {
        Operation::RevealSecret
    }
}
