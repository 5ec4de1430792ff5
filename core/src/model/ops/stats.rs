//! Statistics and expected states: the latest readings, a host's or a
//! container's charts, and the states containers are expected in.

use super::{Body, Method, Request, Route};
use crate::model::{ChartRange, ChartSet, Expectation, HostId, Operation, StatsSnapshot};
use serde::{Deserialize, Serialize};

/// The latest readings of the hosts you may see.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestStats {}

impl Request for LatestStats {
    type Response = StatsSnapshot;
    const ROUTE: Route = Route::new(
        "latest_stats",
        Method::Get,
        "/stats",
        "statistics",
        "The latest readings of the hosts you may see",
    );
    fn operation(&self) -> Operation {
        Operation::ViewDashboard
    }
}

/// A host's charts over a span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostCharts {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// 1h (the default), 24h, 7d or 30d.
    #[serde(default)]
    pub range: ChartRange,
}

impl Request for HostCharts {
    type Response = ChartSet;
    const ROUTE: Route = Route::new(
        "host_charts",
        Method::Get,
        "/hosts/{host}/charts",
        "statistics",
        "A host's charts",
    );
    fn operation(&self) -> Operation {
        Operation::ViewStats
    }
}

/// A container's charts over a span, by name: its history follows the
/// name across re-creation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerCharts {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// The container's name.
    pub name: String,
    /// 1h (the default), 24h, 7d or 30d.
    #[serde(default)]
    pub range: ChartRange,
}

impl Request for ContainerCharts {
    type Response = ChartSet;
    const ROUTE: Route = Route::new(
        "container_charts",
        Method::Get,
        "/hosts/{host}/containers/{name}/charts",
        "statistics",
        "A container's charts, by name",
    );
    fn operation(&self) -> Operation {
        Operation::ViewStats
    }
}

/// The expected states on a host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListExpected {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
}

impl Request for ListExpected {
    type Response = Vec<Expectation>;
    const ROUTE: Route = Route::new(
        "list_expected",
        Method::Get,
        "/hosts/{host}/expected",
        "health",
        "The expected states on a host",
    )
    .paged_by("key");
    fn operation(&self) -> Operation {
        Operation::ViewHost
    }
}

/// Sets or clears the state the container under `key` is expected in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetExpected {
    /// The host's name, `local` for the engine beside berth.
    pub host: HostId,
    /// `compose:PROJECT/SERVICE` or `name:CONTAINER`.
    pub key: String,
    /// running, exited, paused…; none clears it.
    #[serde(default)]
    pub state: Option<String>,
}

impl Request for SetExpected {
    type Response = ();
    const ROUTE: Route = Route::new(
        "set_expected",
        Method::Put,
        "/hosts/{host}/expected",
        "health",
        "Set or clear the state a container is expected in (recorded)",
    )
    .status(204)
    .body(Body::Fields);
    fn operation(&self) -> Operation {
        Operation::SetExpectedState
    }
}
