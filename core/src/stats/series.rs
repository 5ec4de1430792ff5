//! How samples are named in the time-series store, and which series make
//! up each chart of a host or container page.
//!
//! Host series: `host/{host}/{metric}`; container series:
//! `ctr/{host}/{name}/{metric}`. Containers are keyed by name, so a
//! re-created container (same compose service, same name) keeps its history.

use super::Sample;
use crate::model::{Chart, Series, StatsSnapshot, Unit};

pub(super) fn host_prefix(host: &str) -> String {
    format!("host/{host}/")
}

pub(super) fn container_prefix(host: &str, name: &str) -> String {
    format!("ctr/{host}/{name}/")
}

/// Every value of a snapshot as samples to store.
pub(super) fn samples_of(snapshot: &StatsSnapshot) -> Vec<Sample> {
    let t = (snapshot.at_ms / 1000) as u32;
    let mut out = Vec::new();
    let mut push = |prefix: &str, metric: &str, value: f64| {
        out.push(Sample {
            series: format!("{prefix}{metric}"),
            t,
            value,
        })
    };
    for h in &snapshot.hosts {
        let p = host_prefix(&h.host.0);
        push(&p, "cpu", h.cpu_percent);
        for (i, core) in h.cores.iter().enumerate() {
            push(&p, &format!("core/{i}"), *core);
        }
        push(&p, "load1", h.load[0]);
        push(&p, "load5", h.load[1]);
        push(&p, "load15", h.load[2]);
        push(&p, "mem", h.mem_used as f64);
        push(&p, "swap", h.swap_used as f64);
        push(&p, "disk_read", h.disk_read_bps);
        push(&p, "disk_write", h.disk_write_bps);
        push(&p, "net_rx", h.net_rx_bps);
        push(&p, "net_tx", h.net_tx_bps);
        for fs in &h.filesystems {
            push(&p, &format!("fs/{}", fs.mount), fs.used as f64);
        }
    }
    for c in &snapshot.containers {
        let p = container_prefix(&c.host.0, &c.name);
        push(&p, "cpu", c.cpu_percent);
        push(&p, "mem", c.mem_used as f64);
        push(&p, "net_rx", c.net_rx_bps);
        push(&p, "net_tx", c.net_tx_bps);
        push(&p, "blk_read", c.blk_read_bps);
        push(&p, "blk_write", c.blk_write_bps);
        push(&p, "pids", c.pids as f64);
    }
    out
}

/// A chart to draw: its title, unit, and (label, series name) of each line.
pub(super) struct ChartSpec {
    pub title: String,
    pub unit: Unit,
    pub lines: Vec<(String, String)>,
}

impl ChartSpec {
    fn new(title: &str, unit: Unit, prefix: &str, lines: &[(&str, &str)]) -> ChartSpec {
        ChartSpec {
            title: title.into(),
            unit,
            lines: lines
                .iter()
                .map(|(label, metric)| (label.to_string(), format!("{prefix}{metric}")))
                .collect(),
        }
    }

    /// Fills the chart with the points `read` returns for each series name.
    pub fn fill(self, mut read: impl FnMut(&str) -> Vec<crate::model::Point>) -> Chart {
        Chart {
            title: self.title,
            unit: self.unit,
            series: self
                .lines
                .into_iter()
                .map(|(label, name)| Series {
                    label,
                    points: read(&name),
                })
                .collect(),
        }
    }
}

/// The host page's charts. `known` lists the host's stored series (for
/// cores and filesystems, which vary by machine).
pub(super) fn host_charts(host: &str, known: &[String]) -> Vec<ChartSpec> {
    let p = host_prefix(host);
    let under = |sub: &str| -> Vec<(String, String)> {
        let start = format!("{p}{sub}");
        let mut lines: Vec<(String, String)> = known
            .iter()
            .filter_map(|name| name.strip_prefix(&start).map(|rest| (rest.to_string(), name.clone())))
            .collect();
        // Cores in numeric order (core 10 after core 9).
        lines.sort_by_key(|(label, _)| (label.len(), label.clone()));
        lines
    };
    let cores = under("core/")
        .into_iter()
        .map(|(n, name)| (format!("core {n}"), name))
        .collect();
    vec![
        ChartSpec::new("CPU", Unit::Percent, &p, &[("all cores", "cpu")]),
        ChartSpec {
            title: "CPU per core".into(),
            unit: Unit::Percent,
            lines: cores,
        },
        ChartSpec::new(
            "Load",
            Unit::Load,
            &p,
            &[("1 min", "load1"), ("5 min", "load5"), ("15 min", "load15")],
        ),
        ChartSpec::new("Memory", Unit::Bytes, &p, &[("used", "mem"), ("swap used", "swap")]),
        ChartSpec {
            title: "Disk use".into(),
            unit: Unit::Bytes,
            lines: under("fs/"),
        },
        ChartSpec::new(
            "Disk I/O",
            Unit::BytesPerSec,
            &p,
            &[("read", "disk_read"), ("write", "disk_write")],
        ),
        ChartSpec::new(
            "Network",
            Unit::BytesPerSec,
            &p,
            &[("received", "net_rx"), ("sent", "net_tx")],
        ),
    ]
}

pub(super) fn container_charts(host: &str, name: &str) -> Vec<ChartSpec> {
    let p = container_prefix(host, name);
    vec![
        ChartSpec::new("CPU", Unit::Percent, &p, &[("cpu", "cpu")]),
        ChartSpec::new("Memory", Unit::Bytes, &p, &[("used", "mem")]),
        ChartSpec::new(
            "Network",
            Unit::BytesPerSec,
            &p,
            &[("received", "net_rx"), ("sent", "net_tx")],
        ),
        ChartSpec::new(
            "Block I/O",
            Unit::BytesPerSec,
            &p,
            &[("read", "blk_read"), ("write", "blk_write")],
        ),
        ChartSpec::new("Processes", Unit::Count, &p, &[("pids", "pids")]),
    ]
}
