//! Containers and hosts as berth shows them: core's own shapes, so the UI
//! and the wire never depend on the Docker client library's.

use serde::{Deserialize, Serialize};

/// A host's name in berth (`local` for the engine berth runs beside).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct HostId(pub String);

impl std::fmt::Display for HostId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Port {
    pub ip: Option<String>,
    pub private: u16,
    pub public: Option<u16>,
    pub protocol: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    /// created, running, paused, restarting, removing, exited or dead.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: ContainerState,
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
    /// The compose files and directory compose ran with, from the labels.
    #[serde(default)]
    pub compose_files: Option<String>,
    #[serde(default)]
    pub compose_dir: Option<String>,
    /// How often the engine restarted it (its restart policy at work).
    #[serde(default)]
    pub restarts: u32,
    /// How often the kernel killed it for memory, as berth has seen.
    #[serde(default)]
    pub oom_kills: u32,
    /// The state an operator expects it in, if any.
    #[serde(default)]
    pub expected: Option<super::ExpectedState>,
}

impl Container {
    /// The key its expected state is kept under (see `expectation_key`).
    pub fn expectation_key(&self) -> String {
        super::expectation_key(&self.name, self.project.as_deref(), self.service.as_deref())
    }

    /// Expected in one state, actually in another.
    pub fn drifts(&self) -> bool {
        self.expected.is_some_and(|e| !e.is_met_by(Some(&self.state)))
    }
}

/// The state the engine reports a container in. An engine newer than berth
/// may report one berth does not know: it is kept as `Other`, word for word.
/// On the wire it is the engine's lowercase word (`"running"`), as before.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    /// A state berth has no name for (empty when the engine said none).
    Other(String),
}

impl ContainerState {
    pub const KNOWN: [ContainerState; 7] = [
        ContainerState::Created,
        ContainerState::Running,
        ContainerState::Paused,
        ContainerState::Restarting,
        ContainerState::Removing,
        ContainerState::Exited,
        ContainerState::Dead,
    ];

    /// The engine's word for it.
    pub fn as_str(&self) -> &str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Other(word) => word,
        }
    }

    /// Reads the engine's word; one berth does not know becomes `Other`.
    pub fn parse(word: &str) -> ContainerState {
        ContainerState::KNOWN
            .into_iter()
            .find(|s| s.as_str() == word)
            .unwrap_or_else(|| ContainerState::Other(word.to_string()))
    }
}

/// No state known yet (the engine said none): an empty `Other`.
impl Default for ContainerState {
    fn default() -> Self {
        ContainerState::Other(String::new())
    }
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ContainerState {
    fn from(word: &str) -> Self {
        ContainerState::parse(word)
    }
}

impl Serialize for ContainerState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ContainerState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        Ok(ContainerState::parse(&word))
    }
}

/// Whether berth can reach a host's engine right now, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostStatus {
    pub id: HostId,
    pub reachable: bool,
    /// When the current state began (unix ns).
    pub since_ns: i64,
    /// Why it is unreachable.
    pub error: Option<String>,
    pub engine_version: Option<String>,
    pub api_version: Option<String>,
    /// How berth reaches the engine: `local` or `tls` (a remote engine,
    /// whose machine berth has no readings of).
    #[serde(default)]
    pub transport: super::Transport,
    /// The agent's version, for a host reached through `berth agent`.
    #[serde(default)]
    pub agent_version: Option<String>,
    /// What the host refuses (set on the agent).
    #[serde(default)]
    pub limits: super::HostLimits,
    /// The last round trip to the engine (or agent), in microseconds.
    #[serde(default)]
    pub rtt_us: Option<u64>,
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
    /// The operation it is, for access and the record.
    pub fn operation(&self) -> super::Operation {
        self.verb().operation()
    }

    /// The event kind that records it: `container.stop`...
    pub fn kind(&self) -> &'static str {
        self.operation().kind()
    }

    /// The action a verb names, with its options (`timeout_s` for stop and
    /// restart, `force` and `volumes` for remove), checked.
    pub fn new(
        verb: super::ContainerVerb,
        timeout_s: Option<u32>,
        force: bool,
        volumes: bool,
    ) -> Result<ContainerAction, String> {
        use super::ContainerVerb as V;
        if timeout_s.is_some_and(|t| t > 3600) {
            return Err("the stop timeout is at most 3600 seconds".into());
        }
        Ok(match verb {
            V::Start => ContainerAction::Start,
            V::Stop => ContainerAction::Stop { timeout_s },
            V::Restart => ContainerAction::Restart { timeout_s },
            V::Kill => ContainerAction::Kill,
            V::Pause => ContainerAction::Pause,
            V::Unpause => ContainerAction::Unpause,
            V::Remove => ContainerAction::Remove { force, volumes },
        })
    }

    /// The verb that names it.
    pub fn verb(&self) -> super::ContainerVerb {
        use super::ContainerVerb as V;
        match self {
            ContainerAction::Start => V::Start,
            ContainerAction::Stop { .. } => V::Stop,
            ContainerAction::Restart { .. } => V::Restart,
            ContainerAction::Kill => V::Kill,
            ContainerAction::Pause => V::Pause,
            ContainerAction::Unpause => V::Unpause,
            ContainerAction::Remove { .. } => V::Remove,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostView {
    pub status: HostStatus,
    pub containers: Vec<Container>,
}

/// One variable of a container's environment. The value travels only when
/// someone revealed it on purpose (and that reveal is an event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mount {
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_write: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkAttachment {
    pub network: String,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub mac: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthRun {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthInfo {
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<HealthRun>,
}

/// Everything the container page shows (`docker inspect`, trimmed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerDetail {
    pub id: String,
    pub name: String,
    pub image: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: ContainerState,
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

/// What a person asks for when creating a container. Checked by `validate`
/// before anything reaches the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct NewContainer {
    pub image: String,
    /// Empty: the engine picks one.
    pub name: String,
    /// Words of the command (empty: the image's default).
    pub command: Vec<String>,
    /// `NAME=value` each.
    pub env: Vec<String>,
    /// `HOST:CONTAINER[/tcp|udp]` each.
    pub ports: Vec<String>,
    /// `SOURCE:DESTINATION[:ro]` each; SOURCE is a volume name or an absolute path.
    pub volumes: Vec<String>,
    /// no, always, unless-stopped or on-failure.
    pub restart: String,
    /// Start it once created.
    pub start: bool,
}

impl NewContainer {
    /// The first problem with the request, in words a person can act on.
    pub fn validate(&self) -> Result<(), String> {
        let image_ok = !self.image.is_empty()
            && self.image.len() <= 255
            && self
                .image
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
        if !image_ok {
            return Err(format!(
                "'{}' is not an image reference (e.g. nginx:1.27 or registry/app@sha256:…)",
                self.image
            ));
        }
        let name_ok = self.name.is_empty()
            || (self.name.len() <= 128
                && self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && self
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
        if !name_ok {
            return Err(format!(
                "'{}' is not a container name: letters, digits, '_', '.', '-'",
                self.name
            ));
        }
        for e in &self.env {
            let valid = e.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty()
                    && !k.starts_with(|c: char| c.is_ascii_digit())
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !valid {
                let name = e.split('=').next().unwrap_or_default();
                return Err(format!("environment entry '{name}…' must look like NAME=value"));
            }
        }
        for p in &self.ports {
            parse_port(p)?;
        }
        for v in &self.volumes {
            parse_volume(v)?;
        }
        if !["", "no", "always", "unless-stopped", "on-failure"].contains(&self.restart.as_str()) {
            return Err(format!(
                "restart policy '{}' is not one of no, always, unless-stopped, on-failure",
                self.restart
            ));
        }
        Ok(())
    }
}

/// `8080:80`, `8080:80/udp` -> (host port, container port, protocol).
pub fn parse_port(text: &str) -> Result<(u16, u16, String), String> {
    let bad = || format!("port '{text}' must look like HOST:CONTAINER or HOST:CONTAINER/udp, ports 1 to 65535");
    let (ports, proto) = text.trim().split_once('/').unwrap_or((text.trim(), "tcp"));
    if proto != "tcp" && proto != "udp" {
        return Err(bad());
    }
    let (host, container) = ports.split_once(':').ok_or_else(bad)?;
    let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
    Ok((port(host)?, port(container)?, proto.to_string()))
}

/// `data:/var/lib/app`, `/srv/conf:/etc/app:ro` -> (source, destination, read-only).
pub fn parse_volume(text: &str) -> Result<(String, String, bool), String> {
    let bad = || format!("volume '{text}' must look like NAME:/path, /host/path:/path, optionally ending in :ro");
    let parts: Vec<&str> = text.trim().split(':').collect();
    let (source, dest, ro) = match parts.as_slice() {
        [s, d] => (*s, *d, false),
        [s, d, "ro"] => (*s, *d, true),
        [s, d, "rw"] => (*s, *d, false),
        _ => return Err(bad()),
    };
    if source.is_empty() || !dest.starts_with('/') || source.contains("..") || dest.contains("..") {
        return Err(bad());
    }
    Ok((source.to_string(), dest.to_string(), ro))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_states_keep_the_engines_word_on_the_wire() {
        for state in ContainerState::KNOWN {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<ContainerState>(&json).unwrap(), state);
        }
        let newer: ContainerState = serde_json::from_str("\"hibernating\"").unwrap();
        assert_eq!(newer, ContainerState::Other("hibernating".into()));
        assert_eq!(serde_json::to_string(&newer).unwrap(), "\"hibernating\"");
        assert_eq!(ContainerState::parse("exited"), ContainerState::Exited);
    }
}
