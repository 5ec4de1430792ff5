//! Talking to one Docker engine through bollard. Bollard's types stop here:
//! everything leaving this module is core's own model.

use crate::model::{Container, ContainerAction, Port};
use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerSummary, EventMessage};
use bollard::query_parameters::{
    EventsOptionsBuilder, KillContainerOptions, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    #[error("the engine on host {host} is unreachable: {reason}")]
    Unreachable { host: String, reason: String },
    /// `what`: container, image, network, volume.
    #[error("there is no {what} '{id}' on host {host}")]
    NotFound {
        what: &'static str,
        host: String,
        id: String,
    },
    /// The engine refused because of the state of things (in use,
    /// already started...); its own message.
    #[error("the engine said: {0}")]
    Engine(String),
    /// The engine found the request itself malformed (a bad reference...);
    /// its own message.
    #[error("the engine refused the request: {0}")]
    Rejected(String),
}

pub(super) fn map_error(host: &str, id: &str, e: BollardError) -> EngineError {
    match e {
        BollardError::DockerResponseServerError { status_code: 404, .. } => EngineError::NotFound {
            what: "container",
            host: host.to_string(),
            id: id.to_string(),
        },
        BollardError::DockerResponseServerError {
            status_code: 400,
            message,
        } => EngineError::Rejected(message),
        BollardError::DockerResponseServerError { message, .. } => EngineError::Engine(message),
        other => EngineError::Unreachable {
            host: host.to_string(),
            reason: other.to_string(),
        },
    }
}

/// Connects to the local engine (the unix socket, or `DOCKER_HOST`).
pub(super) fn local() -> Result<Docker, EngineError> {
    Docker::connect_with_local_defaults().map_err(|e| EngineError::Unreachable {
        host: "local".into(),
        reason: e.to_string(),
    })
}

pub(super) async fn list(docker: &Docker, host: &str) -> Result<Vec<Container>, EngineError> {
    let options = ListContainersOptionsBuilder::default().all(true).build();
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    let mut out: Vec<Container> = list.into_iter().map(container).collect();
    out.sort_by(|a, b| a.project.cmp(&b.project).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

fn container(c: ContainerSummary) -> Container {
    let labels = c.labels.unwrap_or_default();
    let status = c.status.unwrap_or_default();
    // Engines before API 1.52 carry health only in the status text.
    let health = c
        .health
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty() && s != "none")
        .or_else(|| {
            ["(healthy)", "(unhealthy)", "(health: starting)"]
                .iter()
                .find(|m| status.contains(*m))
                .map(|m| m.trim_matches(['(', ')']).trim_start_matches("health: ").to_string())
        });
    let mut ports: Vec<Port> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| Port {
            ip: p.ip,
            private: p.private_port,
            public: p.public_port,
            protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
        })
        .collect();
    ports.sort_by_key(|p| (p.private, p.public));
    ports.dedup_by_key(|p| (p.private, p.public, p.protocol.clone()));
    Container {
        id: c.id.unwrap_or_default(),
        name: c
            .names
            .unwrap_or_default()
            .first()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        image: c.image.unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        health,
        status,
        ports,
        created: c.created.unwrap_or_default(),
        project: labels.get("com.docker.compose.project").cloned(),
        service: labels.get("com.docker.compose.service").cloned(),
        restarts: 0,
        oom_kills: 0,
        expected: None,
    }
}

/// How often the engine restarted the container.
pub(super) async fn restart_count(docker: &Docker, host: &str, id: &str) -> Result<u32, EngineError> {
    let c = docker
        .inspect_container(id, None)
        .await
        .map_err(|e| map_error(host, id, e))?;
    Ok(c.restart_count.unwrap_or_default().max(0) as u32)
}

pub(super) async fn act(docker: &Docker, host: &str, id: &str, action: ContainerAction) -> Result<(), EngineError> {
    let timeout = |t: Option<u32>| t.map(|t| t as i32);
    let result = match action {
        ContainerAction::Start => docker.start_container(id, None).await,
        ContainerAction::Stop { timeout_s } => {
            let mut o = StopContainerOptionsBuilder::default();
            if let Some(t) = timeout(timeout_s) {
                o = o.t(t);
            }
            docker.stop_container(id, Some(o.build())).await
        }
        ContainerAction::Restart { timeout_s } => {
            let mut o = RestartContainerOptionsBuilder::default();
            if let Some(t) = timeout(timeout_s) {
                o = o.t(t);
            }
            docker.restart_container(id, Some(o.build())).await
        }
        ContainerAction::Kill => docker.kill_container(id, None::<KillContainerOptions>).await,
        ContainerAction::Pause => docker.pause_container(id).await,
        ContainerAction::Unpause => docker.unpause_container(id).await,
        ContainerAction::Remove { force, volumes } => {
            let o = RemoveContainerOptionsBuilder::default().force(force).v(volumes).build();
            docker.remove_container(id, Some(o)).await
        }
    };
    match result {
        Ok(()) => Ok(()),
        // 304: already in the asked-for state; nothing to do is not a failure.
        Err(BollardError::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
        Err(e) => Err(map_error(host, id, e)),
    }
}

/// The engine's events from `since_ns` on (inclusive): first those it
/// still remembers, then, without a gap, the new ones as they happen. With
/// `until_ns`, only those up to then (inclusive), and the stream ends.
///
/// The engine remembers its last 256 events (moby's `eventsLimit`), and
/// none from before it started.
pub(super) fn events(
    docker: &Docker,
    host: &str,
    since_ns: i64,
    until_ns: Option<i64>,
) -> BoxStream<'static, Result<EngineEvent, EngineError>> {
    let mut options = EventsOptionsBuilder::default().since(&engine_time(since_ns));
    if let Some(until) = until_ns {
        options = options.until(&engine_time(until));
    }
    let host = host.to_string();
    docker
        .events(Some(options.build()))
        .map(move |m| m.map(engine_event).map_err(|e| map_error(&host, "", e)))
        .boxed()
}

/// A time as the engine's `since` and `until` take it: `seconds.nanoseconds`,
/// nine digits after the point (fewer would be read as a fraction).
fn engine_time(ns: i64) -> String {
    format!("{}.{:09}", ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
}

/// An engine event as berth records it: kind, target and a few details.
pub(super) struct EngineEvent {
    pub kind: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    pub is_container: bool,
}

/// Attributes worth keeping; labels and the rest may be large or private.
const KEPT: [&str; 8] = [
    "exitCode",
    "signal",
    "image",
    "name",
    "type",
    "container",
    "driver",
    "execID",
];

fn engine_event(m: EventMessage) -> EngineEvent {
    let typ = m.typ.map(|t| t.to_string()).unwrap_or_else(|| "engine".into());
    let action = m.action.unwrap_or_default();
    // "health_status: healthy", "exec_start: sh -c ...": the part before ':' is the action.
    let (verb, rest) = match action.split_once(':') {
        Some((v, r)) => (v.trim().to_string(), Some(r.trim().to_string())),
        None => (action.clone(), None),
    };
    let actor = m.actor.unwrap_or_default();
    let attrs = actor.attributes.unwrap_or_default();
    let id = actor.id.unwrap_or_default();
    let name = attrs.get("name").cloned();
    let target = match typ.as_str() {
        "container" | "network" | "volume" | "service" | "node" => {
            Some(format!("{typ}:{}", name.clone().unwrap_or(id.clone())))
        }
        "image" => Some(format!("image:{}", name.clone().unwrap_or(id.clone()))),
        _ => None,
    };
    let mut details = serde_json::Map::new();
    if !id.is_empty() {
        details.insert("id".into(), id.into());
    }
    if let Some(rest) = rest.filter(|_| verb != "exec_start" && verb != "exec_create") {
        details.insert("status".into(), rest.into());
    }
    for key in KEPT {
        if let Some(v) = attrs.get(key) {
            details.insert(key.into(), v.clone().into());
        }
    }
    if let Some(t) = m.time_nano {
        details.insert("engine_time_ns".into(), t.into());
    }
    EngineEvent {
        kind: format!("{typ}.{verb}"),
        target,
        details: serde_json::Value::Object(details),
        is_container: typ == "container",
    }
}

/// `docker inspect`, as core's model; environment values are left out
/// (`reveal` fetches one on purpose).
pub(super) async fn inspect(
    docker: &Docker,
    host: &str,
    id: &str,
) -> Result<crate::model::ContainerDetail, EngineError> {
    use crate::model::{ContainerDetail, EnvVar, HealthInfo, HealthRun, Mount, NetworkAttachment};
    let c = docker
        .inspect_container(id, None)
        .await
        .map_err(|e| map_error(host, id, e))?;
    let config = c.config.unwrap_or_default();
    let state = c.state.unwrap_or_default();
    let mut env: Vec<EnvVar> = config
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|kv| EnvVar {
            name: kv.split_once('=').map_or(kv.clone(), |(k, _)| k.to_string()),
            value: None,
        })
        .collect();
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let mut labels: Vec<(String, String)> = config.labels.unwrap_or_default().into_iter().collect();
    labels.sort();
    let settings = c.network_settings.unwrap_or_default();
    let mut ports = Vec::new();
    for (spec, bindings) in settings.ports.unwrap_or_default() {
        let (private, protocol) = spec.split_once('/').unwrap_or((&spec, "tcp"));
        let private = private.parse().unwrap_or(0);
        match bindings.filter(|b| !b.is_empty()) {
            None => ports.push(Port {
                ip: None,
                private,
                public: None,
                protocol: protocol.to_string(),
            }),
            Some(list) => ports.extend(list.into_iter().map(|b| Port {
                ip: b.host_ip,
                private,
                public: b.host_port.and_then(|p| p.parse().ok()),
                protocol: protocol.to_string(),
            })),
        }
    }
    ports.sort_by_key(|p| (p.private, p.public));
    let mut networks: Vec<NetworkAttachment> = settings
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(network, e)| NetworkAttachment {
            network,
            ip: e.ip_address.filter(|s| !s.is_empty()),
            gateway: e.gateway.filter(|s| !s.is_empty()),
            mac: e.mac_address.filter(|s| !s.is_empty()),
        })
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    let policy = c.host_config.and_then(|h| h.restart_policy);
    let restart_policy = match policy {
        Some(p) => {
            let name = p
                .name
                .map(|n| n.to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "no".into());
            match p.maximum_retry_count {
                Some(n) if n > 0 => format!("{name} (at most {n} retries)"),
                _ => name,
            }
        }
        None => "no".into(),
    };
    let health = state.health.map(|h| HealthInfo {
        status: h.status.map(|s| s.to_string()).unwrap_or_default(),
        failing_streak: h.failing_streak.unwrap_or_default(),
        log: h
            .log
            .unwrap_or_default()
            .into_iter()
            .map(|r| HealthRun {
                start: r.start.map(|d| d.to_string()).unwrap_or_default(),
                end: r.end.map(|d| d.to_string()).unwrap_or_default(),
                exit_code: r.exit_code.unwrap_or_default(),
                output: r.output.unwrap_or_default(),
            })
            .collect(),
    });
    let not_zero = |t: Option<String>| t.filter(|t| !t.starts_with("0001-01-01"));
    Ok(ContainerDetail {
        id: c.id.unwrap_or_default(),
        name: c.name.unwrap_or_default().trim_start_matches('/').to_string(),
        image: config.image.unwrap_or_default(),
        state: state.status.map(|s| s.to_string()).unwrap_or_default(),
        exit_code: state.exit_code,
        error: state.error.filter(|e| !e.is_empty()),
        oom_killed: state.oom_killed.unwrap_or_default(),
        created: c.created.map(|d| d.to_string()).unwrap_or_default(),
        started_at: not_zero(state.started_at),
        finished_at: not_zero(state.finished_at),
        restart_count: c.restart_count.unwrap_or_default(),
        restart_policy,
        command: config
            .entrypoint
            .unwrap_or_default()
            .into_iter()
            .chain(config.cmd.unwrap_or_default())
            .collect(),
        working_dir: config.working_dir.filter(|s| !s.is_empty()),
        user: config.user.filter(|s| !s.is_empty()),
        env,
        ports,
        mounts: c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| Mount {
                kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
                source: m.name.filter(|n| !n.is_empty()).or(m.source).unwrap_or_default(),
                destination: m.destination.unwrap_or_default(),
                read_write: m.rw.unwrap_or(true),
            })
            .collect(),
        networks,
        labels,
        health,
    })
}

/// The value of one environment variable, or `None` when there is none by that name.
pub(super) async fn env_value(
    docker: &Docker,
    host: &str,
    id: &str,
    name: &str,
) -> Result<Option<String>, EngineError> {
    let c = docker
        .inspect_container(id, None)
        .await
        .map_err(|e| map_error(host, id, e))?;
    let env = c.config.and_then(|c| c.env).unwrap_or_default();
    Ok(env.into_iter().find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }))
}

/// Creates (and optionally starts) a container from a checked request;
/// returns its id.
pub(super) async fn create(
    docker: &Docker,
    host: &str,
    new: &crate::model::NewContainer,
) -> Result<String, EngineError> {
    use bollard::models::{ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum};
    use bollard::query_parameters::CreateContainerOptionsBuilder;
    let mut exposed = Vec::new();
    let mut bindings = std::collections::HashMap::new();
    for p in &new.ports {
        let (host_port, container_port, proto) = crate::model::parse_port(p).map_err(EngineError::Engine)?;
        let key = format!("{container_port}/{proto}");
        exposed.push(key.clone());
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: None,
                host_port: Some(host_port.to_string()),
            });
    }
    let mut binds = Vec::new();
    for v in &new.volumes {
        let (source, dest, ro) = crate::model::parse_volume(v).map_err(EngineError::Engine)?;
        binds.push(format!("{source}:{dest}{}", if ro { ":ro" } else { "" }));
    }
    let restart = match new.restart.as_str() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    let body = ContainerCreateBody {
        image: Some(new.image.clone()),
        cmd: (!new.command.is_empty()).then(|| new.command.clone()),
        env: (!new.env.is_empty()).then(|| new.env.clone()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            binds: (!binds.is_empty()).then_some(binds),
            restart_policy: Some(RestartPolicy {
                name: Some(restart),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut options = CreateContainerOptionsBuilder::default();
    if !new.name.is_empty() {
        options = options.name(&new.name);
    }
    let created = docker
        .create_container(Some(options.build()), body)
        .await
        .map_err(|e| match e {
            BollardError::DockerResponseServerError { status_code: 404, .. } => EngineError::NotFound {
                what: "image",
                host: host.to_string(),
                id: new.image.clone(),
            },
            other => map_error(host, &new.image, other),
        })?;
    if new.start {
        docker
            .start_container(&created.id, None)
            .await
            .map_err(|e| map_error(host, &created.id, e))?;
    }
    Ok(created.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_keep_every_nanosecond() {
        assert_eq!(engine_time(1_700_000_000_000_000_001), "1700000000.000000001");
        assert_eq!(engine_time(1_700_000_000_123_456_789), "1700000000.123456789");
        assert_eq!(engine_time(0), "0.000000000");
    }
}
