//! A container's stats stream over the Docker engine API, each reading
//! converted into core's `EngineStats`.

use super::map_error;
use crate::engine::EngineError;
use crate::model::EngineStats;
use bollard::Docker;
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// The engine's stats stream of one container.
pub(super) fn stream(docker: &Docker, host: &str, id: &str) -> BoxStream<'static, Result<EngineStats, EngineError>> {
    let host = host.to_string();
    let id = id.to_string();
    let options = StatsOptionsBuilder::default().stream(true).one_shot(false).build();
    docker
        .stats(&id, Some(options))
        .map(move |r| r.map(convert).map_err(|e| map_error(&host, &id, e)))
        .boxed()
}

/// One reading of a container each `every`, each asked for on its own
/// (`stream=false`, `one-shot=true`: the engine answers at once, without
/// the previous reading, which the collector keeps itself). Ends after an
/// error (the container is gone, or the engine).
pub(super) fn poll(
    docker: &Docker,
    host: &str,
    id: &str,
    every: std::time::Duration,
) -> BoxStream<'static, Result<EngineStats, EngineError>> {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = (docker.clone(), host.to_string(), id.to_string(), ticker);
    futures_util::stream::unfold(Some(state), |state| async move {
        let (docker, host, id, mut ticker) = state?;
        ticker.tick().await;
        let options = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
        let mut answer = docker.stats(&id, Some(options));
        let reading = answer.next().await?;
        // Read the answer to its end, so the connection to the engine is
        // kept for the next reading rather than closed and made again.
        while answer.next().await.is_some() {}
        match reading {
            Ok(s) => Some((Ok(convert(s)), Some((docker, host, id, ticker)))),
            Err(e) => Some((Err(map_error(&host, &id, e)), None)),
        }
    })
    .boxed()
}

/// Converts one engine reading. Memory follows the docker CLI: usage minus
/// `total_inactive_file` (cgroup v1) or `inactive_file` (cgroup v2), when
/// smaller than usage.
fn convert(s: ContainerStatsResponse) -> EngineStats {
    let cpu = s.cpu_stats.unwrap_or_default();
    let pre = s.precpu_stats.unwrap_or_default();
    let usage = |c: &bollard::models::ContainerCpuStats| c.cpu_usage.as_ref().and_then(|u| u.total_usage).unwrap_or(0);
    let online_cpus = cpu.online_cpus.filter(|n| *n > 0).unwrap_or_else(|| {
        cpu.cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map_or(0, |p| p.len() as u32)
    });
    let mem = s.memory_stats.unwrap_or_default();
    let usage_bytes = mem.usage.unwrap_or(0);
    let stats = mem.stats.unwrap_or_default();
    let inactive = stats
        .get("total_inactive_file")
        .or_else(|| stats.get("inactive_file"))
        .copied()
        .filter(|v| *v < usage_bytes)
        .unwrap_or(0);
    let (mut net_rx, mut net_tx) = (0, 0);
    for n in s.networks.unwrap_or_default().values() {
        net_rx += n.rx_bytes.unwrap_or(0);
        net_tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut blk_read, mut blk_write) = (0, 0);
    let io = s
        .blkio_stats
        .and_then(|b| b.io_service_bytes_recursive)
        .unwrap_or_default();
    for entry in io {
        let value = entry.value.unwrap_or(0);
        match entry.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => blk_read += value,
            Some("write") => blk_write += value,
            _ => {}
        }
    }
    EngineStats {
        cpu_total: usage(&cpu),
        system_cpu: cpu.system_cpu_usage.unwrap_or(0),
        online_cpus,
        pre_cpu_total: usage(&pre),
        pre_system_cpu: pre.system_cpu_usage.unwrap_or(0),
        mem_used: usage_bytes - inactive,
        mem_limit: mem.limit.unwrap_or(0),
        net_rx,
        net_tx,
        blk_read,
        blk_write,
        pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};

    #[test]
    fn memory_leaves_out_the_inactive_file_cache_on_either_cgroup_version() {
        for key in ["total_inactive_file", "inactive_file"] {
            let s = ContainerStatsResponse {
                memory_stats: Some(ContainerMemoryStats {
                    usage: Some(100 << 20),
                    limit: Some(1 << 30),
                    stats: Some([(key.to_string(), 30 << 20)].into()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            assert_eq!(convert(s).mem_used, 70 << 20, "{key}");
        }
    }

    #[test]
    fn cpu_percent_counts_cores_like_docker_stats() {
        let s = convert(ContainerStatsResponse {
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(3_000_000_000),
                    percpu_usage: Some(vec![0, 0]),
                    ..Default::default()
                }),
                system_cpu_usage: Some(20_000_000_000),
                online_cpus: None,
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(s.online_cpus, 2);
        // 1 s of CPU while the host's two cores ran 2 s: one core of two busy = 100%.
        assert!((s.cpu_percent_since(2_000_000_000, 18_000_000_000) - 100.0).abs() < 1e-9);
    }
}
