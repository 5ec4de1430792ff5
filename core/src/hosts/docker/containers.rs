//! Containers over the Docker engine API: the list, inspect, actions,
//! create, one environment value, restart counts; bollard's shapes turned
//! into core's model here.

use super::map_error;
use crate::engine::{EngineError, Object};
use crate::model::{Container, ContainerAction, ContainerState, Port};
use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    KillContainerOptions, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

pub(super) async fn list(docker: &Docker, host: &str) -> Result<Vec<Container>, EngineError> {
    let options = ListContainersOptionsBuilder::default().all(true).build();
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    let mut out: Vec<Container> = list.into_iter().map(container).collect();
    out.sort_by(crate::model::container_order);
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
        state: c.state.map(|s| ContainerState::parse(s.as_ref())).unwrap_or_default(),
        health,
        status,
        ports,
        created: c.created.unwrap_or_default(),
        project: labels.get("com.docker.compose.project").cloned(),
        service: labels.get("com.docker.compose.service").cloned(),
        compose_files: labels.get("com.docker.compose.project.config_files").cloned(),
        compose_dir: labels.get("com.docker.compose.project.working_dir").cloned(),
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
        state: state
            .status
            .map(|s| ContainerState::parse(s.as_ref()))
            .unwrap_or_default(),
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
                what: Object::Image,
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
