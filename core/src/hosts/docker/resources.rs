//! Images, networks and volumes over the Docker engine API: listed,
//! inspected, removed and pruned, and converted into core's model here,
//! so bollard's types go no further. The engine's list endpoints do not
//! say which containers use what: one container listing per call does.

use super::map_error;
use crate::engine::{EngineError, Object};
use crate::model::{
    Image, ImageDetail, ImageRemoval, Network, NetworkDetail, PruneReport, Volume, VolumeDetail, parse_ts,
};
use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::ImageSummary;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListVolumesOptions, PruneImagesOptionsBuilder,
    PruneNetworksOptionsBuilder, PruneVolumesOptionsBuilder, RemoveImageOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use std::collections::{BTreeMap, HashMap};

/// The engine's error, with a 404 naming `what` was missing.
pub(super) fn engine_error(host: &str, what: Object, id: &str, e: BollardError) -> EngineError {
    match map_error(host, id, e) {
        EngineError::NotFound { host, id, .. } => EngineError::NotFound { what, host, id },
        other => other,
    }
}

/// Which containers (by name) use which image, network and volume, from one
/// list of every container: the engine's list endpoints do not count them.
#[derive(Default)]
struct Usage {
    /// By image id.
    images: HashMap<String, Vec<String>>,
    /// By network name.
    networks: HashMap<String, Vec<String>>,
    /// By volume name.
    volumes: HashMap<String, Vec<String>>,
}

impl Usage {
    fn count(map: &HashMap<String, Vec<String>>, key: &str) -> u32 {
        map.get(key).map_or(0, |v| v.len() as u32)
    }

    fn names(map: &HashMap<String, Vec<String>>, key: &str) -> Vec<String> {
        let mut names = map.get(key).cloned().unwrap_or_default();
        names.sort();
        names
    }
}

async fn usage(docker: &Docker, host: &str) -> Result<Usage, EngineError> {
    let options = ListContainersOptionsBuilder::default().all(true).build();
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    let mut usage = Usage::default();
    for c in list {
        let name = c.names.unwrap_or_default().first().map_or_else(
            || c.id.clone().unwrap_or_default(),
            |n| n.trim_start_matches('/').to_string(),
        );
        if let Some(image) = c.image_id {
            usage.images.entry(image).or_default().push(name.clone());
        }
        for network in c
            .network_settings
            .and_then(|s| s.networks)
            .unwrap_or_default()
            .into_keys()
        {
            usage.networks.entry(network).or_default().push(name.clone());
        }
        for mount in c.mounts.unwrap_or_default() {
            if let (Some("volume"), Some(volume)) = (mount.typ.as_deref(), mount.name) {
                usage.volumes.entry(volume).or_default().push(name.clone());
            }
        }
    }
    Ok(usage)
}

/// Unix seconds from the engine's RFC 3339 times (`2026-11-22T02:19:28Z`,
/// with or without fractions, `Z` or an offset).
fn unix_secs(text: &str) -> Option<i64> {
    let local = parse_ts(text.get(..19)?).ok()? / 1_000_000_000;
    let zone = text[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "" | "Z" => 0,
        _ => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    Some(local - offset)
}

fn image(i: ImageSummary, usage: &Usage) -> Image {
    let tags: Vec<String> = i.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect();
    Image {
        containers: Usage::count(&usage.images, &i.id),
        dangling: tags.is_empty(),
        id: i.id,
        tags,
        size: i.size.max(0) as u64,
        created: i.created,
    }
}

pub(super) async fn list_images(docker: &Docker, host: &str) -> Result<Vec<Image>, EngineError> {
    let options = ListImagesOptionsBuilder::default().all(false).build();
    let list = docker
        .list_images(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    let usage = usage(docker, host).await?;
    let mut out: Vec<Image> = list.into_iter().map(|i| image(i, &usage)).collect();
    // Tagged first, by name; dangling ones last, newest first.
    out.sort_by(|a, b| (a.dangling, a.tags.first(), -a.created).cmp(&(b.dangling, b.tags.first(), -b.created)));
    Ok(out)
}

pub(super) async fn inspect_image(docker: &Docker, host: &str, reference: &str) -> Result<ImageDetail, EngineError> {
    let i = docker
        .inspect_image(reference)
        .await
        .map_err(|e| engine_error(host, Object::Image, reference, e))?;
    let id = i.id.clone().unwrap_or_default();
    let usage = usage(docker, host).await?;
    let tags: Vec<String> = i.repo_tags.unwrap_or_default();
    let config = i.config.unwrap_or_default();
    Ok(ImageDetail {
        image: Image {
            containers: Usage::count(&usage.images, &id),
            dangling: tags.is_empty(),
            id: id.clone(),
            tags,
            size: i.size.unwrap_or_default().max(0) as u64,
            created: i.created.as_deref().and_then(unix_secs).unwrap_or_default(),
        },
        architecture: i.architecture,
        os: i.os,
        author: i.author.filter(|a| !a.is_empty()),
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        working_dir: config.working_dir.filter(|w| !w.is_empty()),
        exposed_ports: config.exposed_ports.unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        layers: i.root_fs.and_then(|r| r.layers).map_or(0, |l| l.len()),
        used_by: Usage::names(&usage.images, &id),
    })
}

pub(super) async fn remove_image(
    docker: &Docker,
    host: &str,
    reference: &str,
    force: bool,
) -> Result<ImageRemoval, EngineError> {
    let options = RemoveImageOptionsBuilder::default().force(force).build();
    let items = docker
        .remove_image(reference, Some(options), None)
        .await
        .map_err(|e| engine_error(host, Object::Image, reference, e))?;
    let mut removal = ImageRemoval::default();
    for item in items {
        removal.untagged.extend(item.untagged);
        removal.deleted.extend(item.deleted);
    }
    Ok(removal)
}

/// The `label` filter of a prune (`key` or `key=value`), plus `extra`.
fn filters(label: Option<&str>, extra: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(label) = label {
        filters.insert("label".into(), vec![label.to_string()]);
    }
    for (k, v) in extra {
        filters.insert(k.to_string(), vec![v.to_string()]);
    }
    filters
}

/// Dangling images only: never one that has a name.
pub(super) async fn prune_images(docker: &Docker, host: &str, label: Option<&str>) -> Result<PruneReport, EngineError> {
    let options = PruneImagesOptionsBuilder::default()
        .filters(&filters(label, &[("dangling", "true")]))
        .build();
    let r = docker
        .prune_images(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    Ok(PruneReport {
        deleted: r
            .images_deleted
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| i.deleted)
            .collect(),
        space_reclaimed: r.space_reclaimed.unwrap_or_default().max(0) as u64,
    })
}

pub(super) async fn list_networks(docker: &Docker, host: &str) -> Result<Vec<Network>, EngineError> {
    let list = docker.list_networks(None).await.map_err(|e| map_error(host, "", e))?;
    let usage = usage(docker, host).await?;
    let mut out: Vec<Network> = list
        .into_iter()
        .map(|n| {
            let name = n.name.unwrap_or_default();
            Network {
                id: n.id.unwrap_or_default(),
                containers: Usage::count(&usage.networks, &name),
                name,
                driver: n.driver.unwrap_or_default(),
                scope: n.scope.unwrap_or_default(),
                internal: n.internal.unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by(|a, b| crate::model::natural_cmp(&a.name, &b.name));
    Ok(out)
}

pub(super) async fn inspect_network(docker: &Docker, host: &str, id: &str) -> Result<NetworkDetail, EngineError> {
    let n = docker
        .inspect_network(id, None)
        .await
        .map_err(|e| engine_error(host, Object::Network, id, e))?;
    let usage = usage(docker, host).await?;
    let name = n.name.unwrap_or_default();
    let ipam = n.ipam.and_then(|i| i.config).unwrap_or_default();
    Ok(NetworkDetail {
        network: Network {
            id: n.id.unwrap_or_default(),
            containers: Usage::count(&usage.networks, &name),
            driver: n.driver.unwrap_or_default(),
            scope: n.scope.unwrap_or_default(),
            internal: n.internal.unwrap_or_default(),
            name: name.clone(),
        },
        subnets: ipam.iter().filter_map(|c| c.subnet.clone()).collect(),
        gateways: ipam.iter().filter_map(|c| c.gateway.clone()).collect(),
        attachable: n.attachable.unwrap_or_default(),
        labels: n.labels.unwrap_or_default().into_iter().collect(),
        used_by: Usage::names(&usage.networks, &name),
    })
}

pub(super) async fn remove_network(docker: &Docker, host: &str, id: &str) -> Result<(), EngineError> {
    docker
        .remove_network(id)
        .await
        .map_err(|e| engine_error(host, Object::Network, id, e))
}

pub(super) async fn prune_networks(
    docker: &Docker,
    host: &str,
    label: Option<&str>,
) -> Result<PruneReport, EngineError> {
    let options = PruneNetworksOptionsBuilder::default()
        .filters(&filters(label, &[]))
        .build();
    let r = docker
        .prune_networks(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    Ok(PruneReport {
        deleted: r.networks_deleted.unwrap_or_default(),
        space_reclaimed: 0,
    })
}

fn volume(v: bollard::models::Volume, usage: &Usage) -> (Volume, VolumeDetail) {
    let summary = Volume {
        in_use: Usage::count(&usage.volumes, &v.name),
        created: v.created_at.as_deref().and_then(unix_secs),
        driver: v.driver,
        mountpoint: v.mountpoint,
        name: v.name.clone(),
    };
    let detail = VolumeDetail {
        volume: summary.clone(),
        scope: v.scope.map(|s| s.to_string()),
        labels: v.labels.into_iter().collect::<BTreeMap<_, _>>(),
        options: v.options.into_iter().collect(),
        used_by: Usage::names(&usage.volumes, &v.name),
    };
    (summary, detail)
}

pub(super) async fn list_volumes(docker: &Docker, host: &str) -> Result<Vec<Volume>, EngineError> {
    let list = docker
        .list_volumes(None::<ListVolumesOptions>)
        .await
        .map_err(|e| map_error(host, "", e))?;
    let usage = usage(docker, host).await?;
    let mut out: Vec<Volume> = list
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| volume(v, &usage).0)
        .collect();
    out.sort_by(|a, b| crate::model::natural_cmp(&a.name, &b.name));
    Ok(out)
}

pub(super) async fn inspect_volume(docker: &Docker, host: &str, name: &str) -> Result<VolumeDetail, EngineError> {
    let v = docker
        .inspect_volume(name)
        .await
        .map_err(|e| engine_error(host, Object::Volume, name, e))?;
    Ok(volume(v, &usage(docker, host).await?).1)
}

pub(super) async fn remove_volume(docker: &Docker, host: &str, name: &str, force: bool) -> Result<(), EngineError> {
    let options = RemoveVolumeOptionsBuilder::default().force(force).build();
    docker
        .remove_volume(name, Some(options))
        .await
        .map_err(|e| engine_error(host, Object::Volume, name, e))
}

/// Unused volumes; the engine decides which: before API 1.42 every unused
/// one, since then only anonymous ones.
pub(super) async fn prune_volumes(
    docker: &Docker,
    host: &str,
    label: Option<&str>,
) -> Result<PruneReport, EngineError> {
    let options = PruneVolumesOptionsBuilder::default()
        .filters(&filters(label, &[]))
        .build();
    let r = docker
        .prune_volumes(Some(options))
        .await
        .map_err(|e| map_error(host, "", e))?;
    Ok(PruneReport {
        deleted: r.volumes_deleted.unwrap_or_default(),
        space_reclaimed: r.space_reclaimed.unwrap_or_default().max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_become_unix_seconds() {
        assert_eq!(unix_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_secs("2026-11-22T02:19:28Z"), Some(1_795_313_968));
        assert_eq!(unix_secs("2026-11-22T02:02:05.855397219Z"), Some(1_795_312_925));
        assert_eq!(unix_secs("2026-11-22T04:19:28+02:00"), Some(1_795_313_968));
        assert_eq!(unix_secs("2026-11-21T21:19:28-05:00"), Some(1_795_313_968));
        assert_eq!(unix_secs("yesterday"), None);
        assert_eq!(unix_secs(""), None);
    }
}
