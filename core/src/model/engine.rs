//! What a host's engine answers, whatever the transport: its version, its
//! events and a container's resource counters, and how berth reaches it.
//! `engine::Engine` speaks these (and the container, image, network and
//! volume types beside them), so the local engine, a remote one over TLS
//! and berth's agent all answer alike. Plain serde types: ready for the
//! agent's wire, where every field added later is `#[serde(default)]`.

use serde::{Deserialize, Serialize};

/// How berth reaches a host's engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The engine beside berth (its unix socket, or `DOCKER_HOST`).
    #[default]
    Local,
    /// A remote engine's TCP port, with TLS client certificates.
    Tls,
    /// `berth agent` on the remote machine, over its TLS protocol: the
    /// engine there and the machine's own readings.
    Agent,
}

impl Transport {
    /// Whether berth has the machine's own readings for the host (CPU,
    /// memory, disks, network): only where berth itself runs. A remote
    /// engine's API reports its containers, not its machine.
    pub fn host_metrics(self) -> bool {
        matches!(self, Transport::Local | Transport::Agent)
    }

    /// Why a host has no machine readings, for the UI; `None` when it has them.
    pub fn no_host_metrics_reason(self) -> Option<&'static str> {
        match self {
            Transport::Local | Transport::Agent => None,
            Transport::Tls => Some(
                "No host metrics over a TLS engine: the engine's API reports containers, not the machine. \
                 Container statistics are collected as usual.",
            ),
        }
    }
}

/// The engine's version, as it answered on connect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersion {
    /// The engine's release (`20.10.24`).
    pub version: Option<String>,
    /// The API version berth settled on with it: the highest both speak.
    pub api_version: Option<String>,
    /// The agent in between, when the host is reached through one.
    #[serde(default)]
    pub agent: Option<AgentInfo>,
}

/// A `berth agent` as it introduced itself on connect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentInfo {
    /// berth's version on that machine (`0.1.0`).
    pub version: String,
    /// The protocol version the two settled on.
    pub protocol: u32,
    /// What the agent refuses to do, whatever berth asks.
    #[serde(default)]
    pub limits: HostLimits,
}

/// What a host refuses, set where the host runs (`berth agent --read-only`,
/// `--no-exec`) and enforced there: the UI hides what it would refuse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostLimits {
    /// No lifecycle action (start, stop, create, remove, prune) and no exec.
    #[serde(default)]
    pub read_only: bool,
    /// No exec into containers (no terminal).
    #[serde(default)]
    pub no_exec: bool,
}

impl HostLimits {
    /// Whether containers may be started, stopped, created or removed there.
    pub fn allows_changes(self) -> bool {
        !self.read_only
    }

    /// Whether a shell may be opened in its containers.
    pub fn allows_exec(self) -> bool {
        !self.read_only && !self.no_exec
    }
}

/// An engine event as berth records it: kind (`container.die`), target
/// (`container:web`) and a few details (the actor's id, exit code, the
/// engine's own time in `engine_time_ns`...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineEvent {
    pub kind: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    /// About a container (its list needs re-reading).
    pub is_container: bool,
}

/// One reading of a container's counters. The stats collector turns two
/// readings into rates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Nanoseconds of CPU the container used, since it started.
    pub cpu_total: u64,
    /// Nanoseconds of CPU the whole host used (all cores), since boot.
    pub system_cpu: u64,
    pub online_cpus: u32,
    /// The engine's previous reading of the same two counters.
    pub pre_cpu_total: u64,
    pub pre_system_cpu: u64,
    /// Usage without the inactive file cache, as `docker stats` shows it.
    pub mem_used: u64,
    pub mem_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub blk_read: u64,
    pub blk_write: u64,
    pub pids: u64,
}

impl EngineStats {
    /// CPU use between `earlier` and this reading, as `docker stats`
    /// computes it: the container's share of the host's CPU time times the
    /// number of cores, in percent (200 = two cores busy).
    pub fn cpu_percent_since(&self, earlier_total: u64, earlier_system: u64) -> f64 {
        let cpu = self.cpu_total.saturating_sub(earlier_total) as f64;
        let system = self.system_cpu.saturating_sub(earlier_system) as f64;
        if system <= 0.0 || self.online_cpus == 0 {
            return 0.0;
        }
        cpu / system * f64::from(self.online_cpus) * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_without_a_transport_is_a_local_one() {
        // What an older berth (or agent) sent: no `transport` field.
        let status: super::super::HostStatus = serde_json::from_value(serde_json::json!({
            "id": "local", "reachable": true, "since_ns": 1, "error": null,
            "engine_version": "20.10.24", "api_version": "1.41",
        }))
        .unwrap();
        assert_eq!(status.transport, Transport::Local);
        assert!(status.transport.host_metrics());
        assert_eq!(serde_json::to_value(Transport::Tls).unwrap(), "tls");
        assert!(!Transport::Tls.host_metrics());
        assert!(Transport::Tls.no_host_metrics_reason().unwrap().contains("TLS"));
    }
}
