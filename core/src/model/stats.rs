//! Resource usage as berth shows it: the latest reading of every host and
//! container (dashboard, /metrics) and chart series read from history.

use super::{ContainerState, HostId};
use serde::{Deserialize, Serialize};

/// One filesystem of a host, as `df` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FsUsage {
    pub mount: String,
    pub device: String,
    pub fs_type: String,
    pub total: u64,
    /// total − available (what `df` calls used, reserved blocks included).
    pub used: u64,
}

/// A host's resources at one moment. Rates are averaged since the previous reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostSample {
    pub host: HostId,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Busy share of all cores, 0–100.
    pub cpu_percent: f64,
    /// Busy share of each core, 0–100.
    pub cores: Vec<f64>,
    pub load: [f64; 3],
    pub mem_total: u64,
    /// total − MemAvailable: memory in use without the page cache the kernel can drop.
    pub mem_used: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub filesystems: Vec<FsUsage>,
    pub disk_read_bps: f64,
    pub disk_write_bps: f64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
}

/// A running container's resources at one moment, computed as `docker stats` does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerSample {
    pub host: HostId,
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    pub service: Option<String>,
    pub at_ms: i64,
    /// Share of one core × 100: 200 means two cores busy (as `docker stats`).
    pub cpu_percent: f64,
    /// Usage without the inactive file cache.
    pub mem_used: u64,
    /// The container's limit, or the host's memory when it has none.
    pub mem_limit: u64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub blk_read_bps: f64,
    pub blk_write_bps: f64,
    pub pids: u64,
    /// Counters since the container started (for /metrics).
    pub net_rx_total: u64,
    pub net_tx_total: u64,
    pub blk_read_total: u64,
    pub blk_write_total: u64,
}

/// Everything the collector read in one tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsSnapshot {
    pub at_ms: i64,
    pub hosts: Vec<HostSample>,
    pub containers: Vec<ContainerSample>,
}

/// What the dashboard shows: every host with its containers, the latest
/// readings, and drifts (including those of containers that are gone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub hosts: Vec<super::HostView>,
    pub stats: StatsSnapshot,
    pub drifts: Vec<Drift>,
    /// The alerts firing and pending now.
    #[serde(default)]
    pub alerts: Vec<super::Alert>,
}

/// The spans a chart can show.
/// Written as the buttons and the URLs say it: "1h", "24h", "7d", "30d".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChartRange {
    #[default]
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
}

impl ChartRange {
    pub const ALL: [ChartRange; 4] = [ChartRange::Hour, ChartRange::Day, ChartRange::Week, ChartRange::Month];

    pub fn seconds(self) -> i64 {
        match self {
            ChartRange::Hour => 3600,
            ChartRange::Day => 86_400,
            ChartRange::Week => 7 * 86_400,
            ChartRange::Month => 30 * 86_400,
        }
    }

    /// "1h", "24h", "7d", "30d": the button labels and the URL values.
    pub fn label(self) -> &'static str {
        match self {
            ChartRange::Hour => "1h",
            ChartRange::Day => "24h",
            ChartRange::Week => "7d",
            ChartRange::Month => "30d",
        }
    }

    pub fn parse(text: &str) -> Option<ChartRange> {
        ChartRange::ALL.into_iter().find(|r| r.label() == text)
    }
}

/// How a chart's numbers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSec,
    Count,
    Load,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{v:.1}%"),
            Unit::Bytes => human_size(v),
            Unit::BytesPerSec => format!("{}/s", human_size(v)),
            Unit::Count => format!("{v:.0}"),
            Unit::Load => format!("{v:.2}"),
        }
    }
}

/// 1536 -> "1.5 KiB", with one decimal below 100 of a unit.
pub fn human_size(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = v.max(0.0);
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// One bucket of a series: unix seconds of its start, and the values in it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    pub t: i64,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chart {
    pub title: String,
    pub unit: Unit,
    pub series: Vec<Series>,
}

/// The charts of one host or container over one range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartSet {
    pub range: ChartRange,
    /// Unix seconds: the span shown.
    pub from: i64,
    pub to: i64,
    /// Seconds per point.
    pub step: i64,
    pub charts: Vec<Chart>,
}

/// What an operator says a container should be doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExpectedState {
    Running,
    Exited,
    Paused,
}

impl ExpectedState {
    pub const ALL: [ExpectedState; 3] = [ExpectedState::Running, ExpectedState::Exited, ExpectedState::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedState::Running => "running",
            ExpectedState::Exited => "exited",
            ExpectedState::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<ExpectedState> {
        ExpectedState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a container in engine state `actual` (None: it does not exist) meets this.
    pub fn is_met_by(self, actual: Option<&ContainerState>) -> bool {
        use ContainerState as S;
        match self {
            ExpectedState::Running => actual == Some(&S::Running),
            ExpectedState::Paused => actual == Some(&S::Paused),
            // Stopped in any way; a removed container is not running either.
            ExpectedState::Exited => matches!(actual, None | Some(S::Exited | S::Created | S::Dead)),
        }
    }
}

/// The key an expectation is kept under, so it survives re-creation:
/// `compose:{project}/{service}` for compose services, `name:{name}` otherwise.
pub fn expectation_key(name: &str, project: Option<&str>, service: Option<&str>) -> String {
    match (project, service) {
        (Some(p), Some(s)) => format!("compose:{p}/{s}"),
        _ => format!("name:{name}"),
    }
}

/// An expected state, who set it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Expectation {
    pub host: HostId,
    pub key: String,
    pub state: ExpectedState,
    pub set_by: String,
    /// Unix ns.
    pub set_at_ns: i64,
}

/// Checks an expectation key as a person or API client may send it.
pub fn validate_expectation_key(key: &str) -> Result<(), String> {
    let ok_part = |p: &str| !p.is_empty() && p.len() <= 128 && !p.chars().any(|c| c.is_control() || c == '/');
    let valid = match key.split_once(':') {
        Some(("compose", rest)) => rest.split_once('/').is_some_and(|(p, s)| ok_part(p) && ok_part(s)),
        Some(("name", name)) => ok_part(name),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not an expectation key: use compose:PROJECT/SERVICE or name:CONTAINER",
            key.chars().take(80).collect::<String>()
        ))
    }
}

/// A container whose actual state is not what an operator expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drift {
    pub host: HostId,
    pub key: String,
    pub expected: ExpectedState,
    /// The engine's state, or None when no such container exists.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub actual: Option<ContainerState>,
    /// Unix ns when the drift began.
    pub since_ns: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_are_met_only_by_matching_states() {
        assert!(ExpectedState::Running.is_met_by(Some(&ContainerState::Running)));
        assert!(!ExpectedState::Running.is_met_by(Some(&ContainerState::Restarting)));
        assert!(!ExpectedState::Running.is_met_by(None));
        assert!(ExpectedState::Exited.is_met_by(None));
        assert!(ExpectedState::Exited.is_met_by(Some(&ContainerState::Created)));
        assert!(!ExpectedState::Exited.is_met_by(Some(&ContainerState::Paused)));
        assert_eq!(expectation_key("web-1", Some("shop"), Some("web")), "compose:shop/web");
        assert_eq!(expectation_key("db", None, None), "name:db");
        assert!(validate_expectation_key("compose:shop/web").is_ok());
        assert!(validate_expectation_key("name:db").is_ok());
        for bad in [
            "db",
            "name:",
            "compose:shop",
            "compose:/web",
            "name:a/b",
            "other:x",
            "name:a\nb",
        ] {
            assert!(validate_expectation_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_read_like_docker_stats() {
        assert_eq!(human_size(512.0), "512 B");
        assert_eq!(human_size(1536.0), "1.5 KiB");
        assert_eq!(human_size(300.0 * 1024.0 * 1024.0), "300 MiB");
        assert_eq!(Unit::Percent.format(12.345), "12.3%");
        assert_eq!(ChartRange::parse("7d"), Some(ChartRange::Week));
        assert_eq!(ChartRange::parse("2d"), None);
        assert_eq!(serde_json::to_string(&ChartRange::Week).unwrap(), "\"7d\"");
    }
}
