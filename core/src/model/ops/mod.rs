//! One definition per operation. Each operation a caller can do is one
//! request type here: what it takes (its fields), what it answers
//! (`Request::Response`), where it lives in the REST API (`Request::ROUTE`:
//! verb, path, operation id, tag, summary, success status, paging) and which
//! access `Operation` decides it. From that one definition the server derives
//! the REST route and its OpenAPI entry, the app derives the server function
//! its pages call, and the tests derive the permission matrix's row; core
//! carries it out once (`berth_core::ops::Resolve`).
//!
//! Adding an operation: its request type (here), one line in
//! `for_each_request!`, its resolver in core, and its page.
//!
//! Plain serde types only: this compiles to wasm with the rest of `model`.

mod alerts;
mod containers;
mod events;
mod hosts;
mod log;
mod resources;
mod stacks;
mod stats;
mod stored_logs;
mod users;

pub use alerts::{
    CreateChannel, CreateRule, DeleteChannel, DeleteRule, ListAlerts, ListChannels, ListRules, TestChannel,
    UpdateChannel, UpdateRule,
};
pub use containers::{
    ContainerAct, ContainerVerb, CreateContainer, Created, GetHost, InspectContainer, ListContainers, RevealEnv,
    RevealedEnv,
};
pub use events::{GetEvent, VerifyChain};
pub use hosts::{AcceptFingerprint, AddHost, ChangeHost, HostEntries, ListHosts, ProbeAgent, Probed, RemoveHost};
pub use log::{InclusionProof, ProveInclusion};
pub use resources::{
    GetImage, GetNetwork, GetVolume, ListImages, ListNetworks, ListVolumes, PruneImages, PruneNetworks, PruneVolumes,
    RemoveImage, RemoveNetwork, RemoveVolume,
};
pub use stacks::{
    CancelDeploy, CreateStack, DeleteStack, DeployStack, GetDeploy, GetStack, ListDeliveries, ListStacks,
    RevealStackSecret, RollbackStack, SetStackWebhook, StackAct, StackActed, UpdateStack, ValidateCompose,
};
pub use stats::{ContainerCharts, HostCharts, LatestStats, ListExpected, SetExpected};
pub use stored_logs::{CollectLogs, StoredLogKeys};
pub use users::{
    AddUser, ChangePassword, ChangeUser, CreateKey, DeleteUser, EndSession, GetGrants, GetUser, MyKeys, MySessions,
    ResetPassword, RevokeKey, SetGrants, UserChange,
};

use super::Operation;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The HTTP verb of an operation's REST route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Where the fields that are not in the path come from, in REST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// The query string (`?force=true`); no body.
    None,
    /// A JSON object whose members are the fields.
    Fields,
    /// The whole JSON body is this one field; the others come from the query.
    Whole(&'static str),
}

/// An operation's place in the REST API under `/api/v1`.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The OpenAPI operation id and the server function's endpoint
    /// (`/api/{id}`): unique, as `for_each_request!` is checked to be.
    pub id: &'static str,
    pub method: Method,
    /// axum's form: `{name}` is a field, `{*name}` a field that takes the
    /// rest of the path (names with slashes).
    pub path: &'static str,
    /// The OpenAPI tag (the group it is listed under).
    pub tag: &'static str,
    pub summary: &'static str,
    /// 200, 201 or 204 (then the answer has no body).
    pub status: u16,
    pub body: Body,
    /// A list answered in pages (`?limit=&cursor=`), sorted and cursored by
    /// this member of each item.
    pub page_by: Option<&'static str>,
}

impl Route {
    /// A route answering 200, its fields in the path and the query.
    pub const fn new(
        id: &'static str,
        method: Method,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
    ) -> Route {
        Route {
            id,
            method,
            path,
            tag,
            summary,
            status: 200,
            body: Body::None,
            page_by: None,
        }
    }

    pub const fn status(mut self, status: u16) -> Route {
        self.status = status;
        self
    }

    pub const fn body(mut self, body: Body) -> Route {
        self.body = body;
        self
    }

    pub const fn paged_by(mut self, member: &'static str) -> Route {
        self.page_by = Some(member);
        self
    }

    /// The names of the fields the path carries, in order.
    pub fn path_fields(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|s| s.trim_start_matches('*'))
    }

    /// The path as OpenAPI writes it (`{*name}` is `{name}` there).
    pub fn openapi_path(&self) -> String {
        format!("/api/v1{}", self.path.replace("{*", "{"))
    }
}

/// One operation a caller can ask for: its input is the value itself.
pub trait Request: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// What it answers with.
    type Response: Serialize + DeserializeOwned + Send + 'static;
    const ROUTE: Route;
    /// The access decision it is made under, and the kind it is recorded as.
    fn operation(&self) -> Operation;
}

/// Calls `$m! { fn_name "fn_name" = Type, ... }` with every request type:
/// the one list the REST router, the OpenAPI document, the server functions
/// and the tests all read. `fn_name` is the server function's name and its
/// endpoint, the route's id (written twice as an attribute needs the text;
/// `routes` checks that the three agree).
#[macro_export]
macro_rules! for_each_request {
    ($m:ident) => {
        $m! {
            list_alerts "list_alerts" = ListAlerts,
            list_alert_rules "list_alert_rules" = ListRules,
            create_alert_rule "create_alert_rule" = CreateRule,
            update_alert_rule "update_alert_rule" = UpdateRule,
            delete_alert_rule "delete_alert_rule" = DeleteRule,
            list_alert_channels "list_alert_channels" = ListChannels,
            create_alert_channel "create_alert_channel" = CreateChannel,
            update_alert_channel "update_alert_channel" = UpdateChannel,
            delete_alert_channel "delete_alert_channel" = DeleteChannel,
            test_alert_channel "test_alert_channel" = TestChannel,
            list_images "list_images" = ListImages,
            get_image "get_image" = GetImage,
            remove_image "remove_image" = RemoveImage,
            prune_images "prune_images" = PruneImages,
            list_networks "list_networks" = ListNetworks,
            get_network "get_network" = GetNetwork,
            remove_network "remove_network" = RemoveNetwork,
            prune_networks "prune_networks" = PruneNetworks,
            list_volumes "list_volumes" = ListVolumes,
            get_volume "get_volume" = GetVolume,
            remove_volume "remove_volume" = RemoveVolume,
            prune_volumes "prune_volumes" = PruneVolumes,
            get_host "get_host" = GetHost,
            list_containers "list_containers" = ListContainers,
            inspect_container "inspect_container" = InspectContainer,
            container_action "container_action" = ContainerAct,
            create_container "create_container" = CreateContainer,
            reveal_env "reveal_env" = RevealEnv,
            add_user "add_user" = AddUser,
            get_user "get_user" = GetUser,
            change_user "change_user" = ChangeUser,
            delete_user "delete_user" = DeleteUser,
            reset_password "reset_password" = ResetPassword,
            get_grants "get_grants" = GetGrants,
            set_grants "set_grants" = SetGrants,
            change_password "change_password" = ChangePassword,
            my_sessions "my_sessions" = MySessions,
            end_session "end_session" = EndSession,
            my_keys "my_keys" = MyKeys,
            create_key "create_key" = CreateKey,
            revoke_key "revoke_key" = RevokeKey,
            latest_stats "latest_stats" = LatestStats,
            host_charts "host_charts" = HostCharts,
            container_charts "container_charts" = ContainerCharts,
            list_expected "list_expected" = ListExpected,
            set_expected "set_expected" = SetExpected,
            list_hosts "list_hosts" = ListHosts,
            host_entries "host_entries" = HostEntries,
            probe_agent "probe_agent" = ProbeAgent,
            add_host "add_host" = AddHost,
            change_host "change_host" = ChangeHost,
            remove_host "remove_host" = RemoveHost,
            accept_fingerprint "accept_fingerprint" = AcceptFingerprint,
            get_event "get_event" = GetEvent,
            verify_chain "verify_chain" = VerifyChain,
            prove_inclusion "prove_inclusion" = ProveInclusion,
            stored_log_keys "stored_log_keys" = StoredLogKeys,
            collect_logs "collect_logs" = CollectLogs,
            list_stacks "list_stacks" = ListStacks,
            get_stack "get_stack" = GetStack,
            stack_action "stack_action" = StackAct,
            create_stack "create_stack" = CreateStack,
            update_stack "update_stack" = UpdateStack,
            delete_stack "delete_stack" = DeleteStack,
            validate_compose "validate_compose" = ValidateCompose,
            deploy_stack "deploy_stack" = DeployStack,
            get_deploy "get_deploy" = GetDeploy,
            cancel_deploy "cancel_deploy" = CancelDeploy,
            rollback_stack "rollback_stack" = RollbackStack,
            set_stack_webhook "set_stack_webhook" = SetStackWebhook,
            list_deliveries "list_deliveries" = ListDeliveries,
            reveal_stack_secret "reveal_stack_secret" = RevealStackSecret,
        }
    };
}

/// Every route, for checks over the whole list.
pub fn routes() -> Vec<Route> {
    macro_rules! collect {
        ($($name:ident $id:literal = $ty:ident),* $(,)?) => {
            vec![$(($ty::ROUTE, stringify!($name), $id)),*]
        };
    }
    let all: Vec<(Route, &str, &str)> = for_each_request!(collect);
    for (route, name, id) in &all {
        assert!(
            route.id == *name && route.id == *id,
            "{name} is listed as {id}, its route's id is {}",
            route.id
        );
    }
    all.into_iter().map(|(r, _, _)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_routes_are_unique_and_named_alike() {
        let routes = routes();
        let mut ids: Vec<&str> = routes.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len(), "operation ids are unique");
        let mut places: Vec<(String, &str)> = routes.iter().map(|r| (r.openapi_path(), r.method.as_str())).collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(n, places.len(), "no two requests share a verb and a path");
    }

    #[test]
    fn path_fields_are_read_from_the_template() {
        let r = RemoveImage::ROUTE;
        assert_eq!(r.path_fields().collect::<Vec<_>>(), ["host", "reference"]);
        assert_eq!(r.openapi_path(), "/api/v1/hosts/{host}/images/{reference}");
    }
}
