//! Images, networks and volumes of a host: list, inspect, remove, prune.
//! The three kinds take the same four requests; `resource_requests!` writes
//! them once per kind, each with its own route and answer.

use super::{Method, Request, Route};
use crate::model::{
    HostId, Image, ImageDetail, ImageRemoval, Network, NetworkDetail, Operation, PruneReport, Volume, VolumeDetail,
};
use serde::{Deserialize, Serialize};

macro_rules! resource_requests {
    (
        kind: $kind:literal, tag: $tag:literal, plural: $plural:literal,
        list: $list:ident => $item:ty, by: $by:literal,
        get: $get:ident => $detail:ty,
        key: $key:ident in $key_path:literal, $key_doc:literal,
        remove: $remove:ident => $removed:ty, $remove_status:literal, $remove_op:ident, $remove_summary:literal,
        $(force: $force_doc:literal,)?
        prune: $prune:ident, $prune_op:ident, $prune_summary:literal,
    ) => {
        #[doc = concat!("A host's ", $plural, ".")]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $list {
            /// The host's name, `local` for the engine beside berth.
            pub host: HostId,
        }

        impl Request for $list {
            type Response = Vec<$item>;
            const ROUTE: Route = Route::new(
                concat!("list_", $plural),
                Method::Get,
                concat!("/hosts/{host}/", $plural),
                $tag,
                concat!("A host's ", $plural),
            )
            .paged_by($by);
            fn operation(&self) -> Operation {
                Operation::ViewResources
            }
        }

        #[doc = concat!("One ", $kind, ".")]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $get {
            /// The host's name, `local` for the engine beside berth.
            pub host: HostId,
            #[doc = $key_doc]
            pub $key: String,
        }

        impl Request for $get {
            type Response = $detail;
            const ROUTE: Route = Route::new(
                concat!("get_", $kind),
                Method::Get,
                concat!("/hosts/{host}/", $plural, "/", $key_path),
                $tag,
                concat!("One ", $kind),
            );
            fn operation(&self) -> Operation {
                Operation::ViewResources
            }
        }

        #[doc = concat!("Removes a ", $kind, " (recorded).")]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $remove {
            /// The host's name, `local` for the engine beside berth.
            pub host: HostId,
            #[doc = $key_doc]
            pub $key: String,
            $(
            #[doc = $force_doc]
            #[serde(default)]
            pub force: bool,
            )?
        }

        impl Request for $remove {
            type Response = $removed;
            const ROUTE: Route = Route::new(
                concat!("remove_", $kind),
                Method::Delete,
                concat!("/hosts/{host}/", $plural, "/", $key_path),
                $tag,
                $remove_summary,
            )
            .status($remove_status);
            fn operation(&self) -> Operation {
                Operation::$remove_op
            }
        }

        #[doc = concat!("Removes the unused ", $plural, " (recorded).")]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $prune {
            /// The host's name, `local` for the engine beside berth.
            pub host: HostId,
            /// Only what carries this label: `key` or `key=value`.
            #[serde(default)]
            pub label: Option<String>,
        }

        impl Request for $prune {
            type Response = PruneReport;
            const ROUTE: Route = Route::new(
                concat!("prune_", $plural),
                Method::Post,
                concat!("/hosts/{host}/", $plural, "/prune"),
                $tag,
                $prune_summary,
            );
            fn operation(&self) -> Operation {
                Operation::$prune_op
            }
        }

        impl $prune {
            /// The label filter, checked: `key` or `key=value`.
            pub fn checked_label(&self) -> Result<Option<&str>, String> {
                checked_label(self.label.as_deref())
            }
        }
    };
}

resource_requests! {
    kind: "image", tag: "images", plural: "images",
    list: ListImages => Image, by: "id",
    get: GetImage => ImageDetail,
    // Names hold slashes (`berth-test/busybox:1`): the rest of the path.
    key: reference in "{*reference}", "An id, id prefix or `repo:tag` (removes that name only).",
    remove: RemoveImage => ImageRemoval, 200, RemoveImage, "Remove an image or one of its names (recorded)",
    force: "Also when stopped containers use it or it has several names.",
    prune: PruneImages, PruneImages, "Remove dangling images (recorded)",
}

resource_requests! {
    kind: "network", tag: "networks", plural: "networks",
    list: ListNetworks => Network, by: "id",
    get: GetNetwork => NetworkDetail,
    key: id in "{id}", "An id, id prefix or name.",
    remove: RemoveNetwork => (), 204, RemoveNetwork, "Remove a network (recorded)",
    prune: PruneNetworks, PruneNetworks, "Remove unused networks (recorded)",
}

resource_requests! {
    kind: "volume", tag: "volumes", plural: "volumes",
    list: ListVolumes => Volume, by: "name",
    get: GetVolume => VolumeDetail,
    key: name in "{name}", "The volume's name.",
    remove: RemoveVolume => (), 204, RemoveVolume, "Remove a volume and its data (recorded)",
    force: "Also when it is in use.",
    prune: PruneVolumes, PruneVolumes, "Remove unused volumes and their data (recorded)",
}

/// `key` or `key=value`, as the engine's label filter takes it.
fn checked_label(label: Option<&str>) -> Result<Option<&str>, String> {
    match label {
        Some(l) if l.trim().is_empty() || l.starts_with('=') => Err("label must be key or key=value".into()),
        other => Ok(other),
    }
}
