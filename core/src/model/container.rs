//! Containers and hosts as berth shows them: core's own shapes, so the UI
//! and the wire never depend on the Docker client library's.

use serde::{Deserialize, Serialize};

/// A host's name in berth (`local` for the engine berth runs beside).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostId(pub String);

impl std::fmt::Display for HostId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub ip: Option<String>,
    pub private: u16,
    pub public: Option<u16>,
    pub protocol: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    /// created, running, paused, restarting, removing, exited or dead.
    pub state: String,
    /// healthy, unhealthy or starting, when the image has a health check.
    pub health: Option<String>,
    /// The engine's own words: "Up 3 minutes (healthy)", "Exited (0) 2 hours ago".
    pub status: String,
    pub ports: Vec<Port>,
    /// Unix seconds.
    pub created: i64,
    /// The compose project and service, from the container's labels.
    pub project: Option<String>,
    pub service: Option<String>,
}

/// Whether berth can reach a host's engine right now, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStatus {
    pub id: HostId,
    pub reachable: bool,
    /// When the current state began (unix ns).
    pub since_ns: i64,
    /// Why it is unreachable.
    pub error: Option<String>,
    pub engine_version: Option<String>,
    pub api_version: Option<String>,
}

/// What an operator can do to a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum ContainerAction {
    Start,
    /// Stop, killing after `timeout_s` seconds (the engine's default when None).
    Stop {
        timeout_s: Option<u32>,
    },
    Restart {
        timeout_s: Option<u32>,
    },
    Kill,
    Pause,
    Unpause,
    Remove {
        force: bool,
        volumes: bool,
    },
}

impl ContainerAction {
    /// The event kind that records it: `container.stop`...
    pub fn kind(&self) -> &'static str {
        match self {
            ContainerAction::Start => "container.start",
            ContainerAction::Stop { .. } => "container.stop",
            ContainerAction::Restart { .. } => "container.restart",
            ContainerAction::Kill => "container.kill",
            ContainerAction::Pause => "container.pause",
            ContainerAction::Unpause => "container.unpause",
            ContainerAction::Remove { .. } => "container.remove",
        }
    }

    /// Destructive actions ask for confirmation in the UI.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            ContainerAction::Kill | ContainerAction::Remove { .. } | ContainerAction::Stop { .. }
        )
    }
}

/// A host as its container page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostView {
    pub status: HostStatus,
    pub containers: Vec<Container>,
}

/// One variable of a container's environment. The value travels only when
/// someone revealed it on purpose (and that reveal is an event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_write: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    pub network: String,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub mac: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRun {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthInfo {
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<HealthRun>,
}

/// Everything the container page shows (`docker inspect`, trimmed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDetail {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
    pub oom_killed: bool,
    pub created: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub restart_count: i64,
    pub restart_policy: String,
    pub command: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub env: Vec<EnvVar>,
    pub ports: Vec<Port>,
    pub mounts: Vec<Mount>,
    pub networks: Vec<NetworkAttachment>,
    pub labels: Vec<(String, String)>,
    pub health: Option<HealthInfo>,
}
