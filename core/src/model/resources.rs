//! Images, networks and volumes of a host as berth shows them, and what
//! removing or pruning them reports. Plain serde types: the UI and the wire
//! never see the Docker client library's shapes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An image in the engine's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Image {
    /// `sha256:...`
    pub id: String,
    /// `repo:tag` names; empty for a dangling image.
    pub tags: Vec<String>,
    /// Bytes on disk, shared layers included.
    pub size: u64,
    /// Unix seconds.
    pub created: i64,
    /// How many containers (running or not) use it.
    pub containers: u32,
    /// Untagged and used by no tagged image: what an image prune removes.
    pub dangling: bool,
}

impl Image {
    /// The id as `docker images` shows it: 12 hex digits.
    pub fn short_id(&self) -> &str {
        let hex = self.id.strip_prefix("sha256:").unwrap_or(&self.id);
        &hex[..hex.len().min(12)]
    }
}

/// An image with what its inspection adds. The environment is left out on
/// purpose: images carry secrets there more often than they should.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageDetail {
    pub image: Image,
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub author: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Layers of the root filesystem.
    pub layers: usize,
    /// Names of the containers that use it.
    pub used_by: Vec<String>,
}

/// A network of the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Network {
    pub id: String,
    pub name: String,
    /// bridge, host, null, overlay, macvlan...
    pub driver: String,
    /// local, global or swarm.
    pub scope: String,
    /// No route to the outside.
    pub internal: bool,
    /// How many containers (running or not) are attached.
    pub containers: u32,
}

impl Network {
    /// `bridge`, `host` and `none` come with the engine and cannot be removed.
    pub fn is_predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
}

/// A network with what its inspection adds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkDetail {
    pub network: Network,
    pub subnets: Vec<String>,
    pub gateways: Vec<String>,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    /// Names of the attached containers.
    pub used_by: Vec<String>,
}

/// A volume of the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    /// Unix seconds, when the engine says.
    pub created: Option<i64>,
    /// How many containers (running or not) mount it.
    pub in_use: u32,
}

/// A volume with what its inspection adds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VolumeDetail {
    pub volume: Volume,
    pub scope: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Names of the containers that mount it.
    pub used_by: Vec<String>,
}

/// What removing one image did: a name can go while the image stays (it
/// has other tags), or the image and its unused parents go with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageRemoval {
    pub untagged: Vec<String>,
    pub deleted: Vec<String>,
}

/// What a prune removed and how much disk space that gave back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PruneReport {
    /// Ids (images) or names (networks, volumes).
    pub deleted: Vec<String>,
    /// Bytes; always 0 for networks.
    pub space_reclaimed: u64,
}

/// Bytes as `docker` shows them, in decimal units: `1.98 MB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_dockers() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1.00 kB");
        assert_eq!(human_bytes(1_982_340), "1.98 MB");
        assert_eq!(human_bytes(45_300_000), "45.3 MB");
        assert_eq!(human_bytes(734_000_000), "734 MB");
        assert_eq!(human_bytes(2_500_000_000_000), "2.50 TB");
    }

    #[test]
    fn short_ids_drop_the_algorithm() {
        let image = Image {
            id: "sha256:aaddbb2867dbecc4fb478e6c2cd1d5737851f1077131b04a0dd062fa4cf0b177".into(),
            tags: vec![],
            size: 0,
            created: 0,
            containers: 0,
            dangling: true,
        };
        assert_eq!(image.short_id(), "aaddbb2867db");
    }
}
