//! `/metrics`: the latest readings in Prometheus text format (version
//! 0.0.4), with `host`, `container`, `project` and `service` labels. When a
//! token is configured the scraper must send `Authorization: Bearer TOKEN`.

use super::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_core::model::{Container, ContainerState, HostStatus, StatsSnapshot};
use std::fmt::Write;

pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme's name is case-insensitive (RFC 9110).
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        if !constant_time_eq(sent.as_bytes(), token.0.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "send the configured metrics_token as Authorization: Bearer TOKEN\n",
            )
                .into_response();
        }
    }
    let hosts: Vec<(HostStatus, std::sync::Arc<Vec<Container>>)> = state
        .berth
        .hosts
        .all()
        .iter()
        .map(|h| (h.status(), h.containers()))
        .collect();
    let body = render(&state.berth.stats.latest(), &hosts);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Writes metric families: each with its HELP and TYPE once, then samples.
struct Families {
    out: String,
}

struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Families {
    fn family(&mut self, name: &'static str, kind: &str, help: &str) -> Family<'_> {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family {
            out: &mut self.out,
            name,
        }
    }
}

impl Family<'_> {
    fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        let _ = writeln!(self.out, "{}{{{}}} {}", self.name, labels.join(","), value);
        self
    }
}

pub(crate) fn render(snapshot: &StatsSnapshot, hosts: &[(HostStatus, std::sync::Arc<Vec<Container>>)]) -> String {
    let mut f = Families { out: String::new() };
    {
        let mut up = f.family("berth_host_up", "gauge", "1 when berth can reach the host's engine.");
        for (status, _) in hosts {
            up.sample(&[("host", &status.id.0)], if status.reachable { 1.0 } else { 0.0 });
        }
    }
    {
        let mut rtt = f.family(
            "berth_host_rtt_seconds",
            "gauge",
            "The last round trip to the host's engine (or its agent), measured each heartbeat.",
        );
        for (status, _) in hosts {
            if let Some(us) = status.rtt_us {
                rtt.sample(&[("host", &status.id.0)], us as f64 / 1e6);
            }
        }
    }
    type HostGauge = (&'static str, &'static str, fn(&berth_core::model::HostSample) -> f64);
    let host_gauges: [HostGauge; 12] = [
        ("berth_host_cpu_usage_percent", "Busy share of all cores, 0-100.", |h| {
            h.cpu_percent
        }),
        ("berth_host_load1", "Load average over 1 minute.", |h| h.load[0]),
        ("berth_host_load5", "Load average over 5 minutes.", |h| h.load[1]),
        ("berth_host_load15", "Load average over 15 minutes.", |h| h.load[2]),
        ("berth_host_memory_total_bytes", "Physical memory.", |h| {
            h.mem_total as f64
        }),
        (
            "berth_host_memory_used_bytes",
            "Memory in use without reclaimable page cache (total - MemAvailable).",
            |h| h.mem_used as f64,
        ),
        ("berth_host_swap_total_bytes", "Swap space.", |h| h.swap_total as f64),
        ("berth_host_swap_used_bytes", "Swap in use.", |h| h.swap_used as f64),
        (
            "berth_host_disk_read_bytes_per_second",
            "Bytes read from disks per second.",
            |h| h.disk_read_bps,
        ),
        (
            "berth_host_disk_write_bytes_per_second",
            "Bytes written to disks per second.",
            |h| h.disk_write_bps,
        ),
        (
            "berth_host_network_receive_bytes_per_second",
            "Bytes received per second on physical interfaces.",
            |h| h.net_rx_bps,
        ),
        (
            "berth_host_network_transmit_bytes_per_second",
            "Bytes sent per second on physical interfaces.",
            |h| h.net_tx_bps,
        ),
    ];
    for (name, help, value) in host_gauges {
        let mut fam = f.family(name, "gauge", help);
        for h in &snapshot.hosts {
            fam.sample(&[("host", &h.host.0)], value(h));
        }
    }
    {
        let mut fam = f.family(
            "berth_host_cpu_core_usage_percent",
            "gauge",
            "Busy share of one core, 0-100.",
        );
        for h in &snapshot.hosts {
            for (i, v) in h.cores.iter().enumerate() {
                fam.sample(&[("host", &h.host.0), ("core", &i.to_string())], *v);
            }
        }
    }
    for (name, help, used) in [
        ("berth_host_filesystem_size_bytes", "Size of a filesystem.", false),
        (
            "berth_host_filesystem_used_bytes",
            "Used space of a filesystem (size - available).",
            true,
        ),
    ] {
        let mut fam = f.family(name, "gauge", help);
        for h in &snapshot.hosts {
            for fs in &h.filesystems {
                let labels = [
                    ("host", h.host.0.as_str()),
                    ("mount", &fs.mount),
                    ("device", &fs.device),
                    ("fstype", &fs.fs_type),
                ];
                fam.sample(&labels, if used { fs.used as f64 } else { fs.total as f64 });
            }
        }
    }

    type CtrMetric = (
        &'static str,
        &'static str,
        &'static str,
        fn(&berth_core::model::ContainerSample) -> f64,
    );
    let container_metrics: [CtrMetric; 9] = [
        (
            "berth_container_cpu_usage_percent",
            "gauge",
            "CPU use as docker stats shows it (100 = one core).",
            |c| c.cpu_percent,
        ),
        (
            "berth_container_memory_used_bytes",
            "gauge",
            "Memory use without inactive file cache, as docker stats shows it.",
            |c| c.mem_used as f64,
        ),
        (
            "berth_container_memory_limit_bytes",
            "gauge",
            "Memory limit (the host's memory when unlimited).",
            |c| c.mem_limit as f64,
        ),
        (
            "berth_container_network_receive_bytes_total",
            "counter",
            "Bytes received since the container started.",
            |c| c.net_rx_total as f64,
        ),
        (
            "berth_container_network_transmit_bytes_total",
            "counter",
            "Bytes sent since the container started.",
            |c| c.net_tx_total as f64,
        ),
        (
            "berth_container_block_read_bytes_total",
            "counter",
            "Bytes read from block devices since the container started.",
            |c| c.blk_read_total as f64,
        ),
        (
            "berth_container_block_write_bytes_total",
            "counter",
            "Bytes written to block devices since the container started.",
            |c| c.blk_write_total as f64,
        ),
        (
            "berth_container_pids",
            "gauge",
            "Processes and threads in the container.",
            |c| c.pids as f64,
        ),
        (
            "berth_container_memory_usage_ratio",
            "gauge",
            "Memory used over the limit, 0-1.",
            |c| {
                if c.mem_limit > 0 {
                    c.mem_used as f64 / c.mem_limit as f64
                } else {
                    0.0
                }
            },
        ),
    ];
    for (name, kind, help, value) in container_metrics {
        let mut fam = f.family(name, kind, help);
        for c in &snapshot.containers {
            let labels = container_labels(&c.host.0, &c.name, c.project.as_deref(), c.service.as_deref());
            fam.sample(&labels, value(c));
        }
    }

    // Facts about every container, running or not, from the engine's list.
    type ListMetric = (&'static str, &'static str, &'static str, fn(&Container) -> Option<f64>);
    let list_metrics: [ListMetric; 4] = [
        (
            "berth_container_running",
            "gauge",
            "1 when the container is running.",
            |c| Some(if c.state == ContainerState::Running { 1.0 } else { 0.0 }),
        ),
        (
            "berth_container_restarts_total",
            "counter",
            "Restarts by the engine's restart policy.",
            |c| Some(f64::from(c.restarts)),
        ),
        (
            "berth_container_oom_kills_total",
            "counter",
            "Kills by the kernel's OOM killer that berth has seen.",
            |c| Some(f64::from(c.oom_kills)),
        ),
        (
            "berth_container_drift",
            "gauge",
            "1 when the container is not in its expected state (only containers with one).",
            |c| c.expected.map(|_| if c.drifts() { 1.0 } else { 0.0 }),
        ),
    ];
    for (name, kind, help, value) in list_metrics {
        let mut fam = f.family(name, kind, help);
        for (status, list) in hosts {
            for c in list.iter() {
                if let Some(v) = value(c) {
                    fam.sample(
                        &container_labels(&status.id.0, &c.name, c.project.as_deref(), c.service.as_deref()),
                        v,
                    );
                }
            }
        }
    }
    {
        let mut fam = f.family(
            "berth_container_healthy",
            "gauge",
            "Health check: 1 healthy, 0 unhealthy or starting (only containers with a check).",
        );
        for (status, list) in hosts {
            for c in list.iter() {
                if let Some(h) = &c.health {
                    let mut labels =
                        container_labels(&status.id.0, &c.name, c.project.as_deref(), c.service.as_deref()).to_vec();
                    labels.push(("status", h));
                    fam.sample(&labels, if h == "healthy" { 1.0 } else { 0.0 });
                }
            }
        }
    }
    f.out
}

fn container_labels<'a>(
    host: &'a str,
    name: &'a str,
    project: Option<&'a str>,
    service: Option<&'a str>,
) -> [(&'static str, &'a str); 4] {
    [
        ("host", host),
        ("container", name),
        ("project", project.unwrap_or("")),
        ("service", service.unwrap_or("")),
    ]
}
