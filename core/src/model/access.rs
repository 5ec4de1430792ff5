//! The permission model as data: levels, rights, grants, the list of every
//! operation and what each needs. Pure types and rules (no recording), so
//! the browser hides exactly what core would refuse; `crate::access` is
//! where a refusal is decided and recorded.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How much a grant allows on its hosts, each level including the ones below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    None,
    /// See containers, images, networks, volumes, statistics and the events about the host.
    View,
    /// Also start, stop, restart, kill, pause and unpause containers.
    Operate,
    /// Also create and remove containers, images, networks and volumes, set expected states.
    Manage,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::None, Level::View, Level::Operate, Level::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::View => "view",
            Level::Operate => "operate",
            Level::Manage => "manage",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

/// Capabilities beside the level; each also needs at least view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Right {
    /// Read container logs.
    Logs,
    /// Open a shell in a container.
    Terminal,
    /// See environment values and other secrets in clear.
    Secrets,
}

impl Right {
    pub const ALL: [Right; 3] = [Right::Logs, Right::Terminal, Right::Secrets];

    pub fn as_str(self) -> &'static str {
        match self {
            Right::Logs => "logs",
            Right::Terminal => "terminal",
            Right::Secrets => "secrets",
        }
    }
}

/// The host name a grant uses to mean every host, present and future.
pub const ALL_HOSTS: &str = "*";

/// What one user (or key) may do on one host, or on every host (`"*"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    /// A host's name, or `"*"` for every host.
    pub host: String,
    pub level: Level,
    #[serde(default)]
    pub logs: bool,
    #[serde(default)]
    pub terminal: bool,
    #[serde(default)]
    pub secrets: bool,
}

impl Grant {
    pub fn new(host: impl Into<String>, level: Level) -> Grant {
        Grant {
            host: host.into(),
            level,
            logs: false,
            terminal: false,
            secrets: false,
        }
    }

    pub fn with(mut self, right: Right) -> Grant {
        match right {
            Right::Logs => self.logs = true,
            Right::Terminal => self.terminal = true,
            Right::Secrets => self.secrets = true,
        }
        self
    }

    pub fn has(&self, right: Right) -> bool {
        match right {
            Right::Logs => self.logs,
            Right::Terminal => self.terminal,
            Right::Secrets => self.secrets,
        }
    }

    fn covers(&self, host: &str) -> bool {
        self.host == ALL_HOSTS || self.host == host
    }
}

/// The most grants one user or key may hold.
pub const MAX_GRANTS: usize = 256;

/// Checks a set of grants as a person sent it: host names well-formed, no
/// host twice. Returns the grants sorted by host.
pub fn validate_grants(mut grants: Vec<Grant>) -> Result<Vec<Grant>, String> {
    if grants.len() > MAX_GRANTS {
        return Err(format!("at most {MAX_GRANTS} grants"));
    }
    for g in &grants {
        if g.host != ALL_HOSTS {
            validate_host_name(&g.host)?;
        }
    }
    grants.sort_by(|a, b| a.host.cmp(&b.host));
    if let Some(w) = grants.windows(2).find(|w| w[0].host == w[1].host) {
        return Err(format!("host '{}' is granted twice; give it one grant", w[0].host));
    }
    Ok(grants)
}

/// A host name: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn validate_host_name(name: &str) -> Result<(), String> {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if name.len() > 64 || !first_ok || !rest_ok {
        return Err(format!(
            "'{}' is not a host name: use 1 to 64 of a-z, 0-9, '.', '_' or '-' (or '*' for every host)",
            name.chars().take(64).collect::<String>()
        ));
    }
    Ok(())
}

/// What a caller may do: everything (an admin), or what its grants say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Permissions {
    pub admin: bool,
    pub grants: Vec<Grant>,
}

impl Permissions {
    pub fn admin() -> Permissions {
        Permissions {
            admin: true,
            grants: Vec::new(),
        }
    }

    pub fn of(grants: Vec<Grant>) -> Permissions {
        Permissions { admin: false, grants }
    }

    /// The level on `host`: the highest of the grants that cover it.
    pub fn level(&self, host: &str) -> Level {
        if self.admin {
            return Level::Manage;
        }
        self.grants
            .iter()
            .filter(|g| g.covers(host))
            .map(|g| g.level)
            .max()
            .unwrap_or_default()
    }

    /// Whether a right is held on `host` (it also needs view there).
    pub fn has(&self, host: &str, right: Right) -> bool {
        self.admin || (self.level(host) >= Level::View && self.grants.iter().any(|g| g.covers(host) && g.has(right)))
    }

    /// Whether the caller may see `host` at all.
    pub fn sees(&self, host: &str) -> bool {
        self.level(host) >= Level::View
    }

    /// Whether every host, present and future, is visible: an auditor.
    pub fn sees_all(&self) -> bool {
        self.admin
            || self
                .grants
                .iter()
                .any(|g| g.host == ALL_HOSTS && g.level >= Level::View)
    }

    /// Whether some host is visible.
    pub fn sees_any(&self) -> bool {
        self.admin || self.grants.iter().any(|g| g.level >= Level::View)
    }

    /// These permissions cut down to `narrow` (an API key's own grants):
    /// never more than either. An admin's narrowed key is no admin.
    pub fn narrowed(&self, narrow: &[Grant]) -> Permissions {
        let mut hosts: Vec<&str> = narrow.iter().map(|g| g.host.as_str()).collect();
        hosts.extend(self.grants.iter().map(|g| g.host.as_str()));
        hosts.sort_unstable();
        hosts.dedup();
        let key = Permissions::of(narrow.to_vec());
        let grants = hosts
            .into_iter()
            .map(|h| {
                let level = self.level(h).min(key.level(h));
                let mut g = Grant::new(h, level);
                for r in Right::ALL {
                    if self.has(h, r) && key.has(h, r) {
                        g = g.with(r);
                    }
                }
                g
            })
            .filter(|g| g.level > Level::None)
            .collect();
        Permissions::of(grants)
    }

    /// Whether `op` is allowed on `host` (ignored by operations that are not
    /// about one host).
    pub fn allows(&self, op: Operation, host: Option<&str>) -> bool {
        match (op.need(), host) {
            (Need::SignedIn, _) => true,
            (Need::Admin, _) => self.admin,
            (Need::SeeAny, _) => self.sees_any(),
            (Need::SeeAll, _) => self.sees_all(),
            (Need::Level(level), Some(h)) => self.level(h) >= level,
            (Need::Right(right), Some(h)) => self.has(h, right),
            (Need::Level(_) | Need::Right(_), None) => self.admin,
        }
    }
}

/// What an operation needs of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone signed in (their own password, sessions and keys).
    SignedIn,
    /// The admin role.
    Admin,
    /// View on at least one host (the event log, filtered to what is visible).
    SeeAny,
    /// View on every host (verifying the whole log).
    SeeAll,
    /// At least this level on the operation's host.
    Level(Level),
    /// This right on the operation's host.
    Right(Right),
}

macro_rules! operations {
    ($($variant:ident = $kind:literal, $need:expr, $what:literal;)*) => {
        /// Every operation berth does for a caller. A refusal is recorded
        /// under the operation's kind, whatever the entry point.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation { $($variant,)* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)*];

            /// The event kind it is recorded under (`container.stop`).
            pub fn kind(self) -> &'static str {
                match self { $(Operation::$variant => $kind,)* }
            }

            pub fn need(self) -> Need {
                match self { $(Operation::$variant => $need,)* }
            }

            /// For refusals: "may not {what}".
            pub fn describe(self) -> &'static str {
                match self { $(Operation::$variant => $what,)* }
            }
        }
    };
}

operations! {
    ReadEvents = "events.read", Need::SeeAny, "read the event log";
    ExportEvents = "events.export", Need::SeeAny, "export the event log";
    VerifyEvents = "events.verify", Need::SeeAll, "verify the whole event log";
    ProveEvent = "log.prove", Need::SeeAny, "get proofs that events are in the log";
    SignCheckpoint = "log.checkpoint", Need::Admin, "sign a checkpoint of the event log now";
    ViewDashboard = "dashboard.view", Need::SeeAny, "see the dashboard";
    ListUsers = "user.list", Need::Admin, "list users";
    CreateUser = "user.create", Need::Admin, "create users";
    DisableUser = "user.disable", Need::Admin, "disable users";
    EnableUser = "user.enable", Need::Admin, "enable users";
    SetRole = "user.role", Need::Admin, "change users' roles";
    ResetPassword = "user.password_reset", Need::Admin, "reset other users' passwords";
    DeleteUser = "user.delete", Need::Admin, "delete users";
    SetGrants = "grant.set", Need::Admin, "change grants";
    ChangeOwnPassword = "user.password_change", Need::SignedIn, "change their password";
    ListOwnSessions = "session.list", Need::SignedIn, "list their sessions";
    EndOwnSession = "session.end", Need::SignedIn, "end their sessions";
    ListOwnKeys = "apikey.list", Need::SignedIn, "list their API keys";
    CreateKey = "apikey.create", Need::SignedIn, "create API keys";
    RevokeKey = "apikey.revoke", Need::SignedIn, "revoke API keys";
    ViewHost = "host.view", Need::Level(Level::View), "see this host";
    InspectContainer = "container.inspect", Need::Level(Level::View), "inspect containers";
    ViewStats = "stats.view", Need::Level(Level::View), "see statistics";
    ViewResources = "resources.view", Need::Level(Level::View), "see images, networks and volumes";
    StartContainer = "container.start", Need::Level(Level::Operate), "start containers";
    StopContainer = "container.stop", Need::Level(Level::Operate), "stop containers";
    RestartContainer = "container.restart", Need::Level(Level::Operate), "restart containers";
    KillContainer = "container.kill", Need::Level(Level::Operate), "kill containers";
    PauseContainer = "container.pause", Need::Level(Level::Operate), "pause containers";
    UnpauseContainer = "container.unpause", Need::Level(Level::Operate), "unpause containers";
    CreateContainer = "container.create", Need::Level(Level::Manage), "create containers";
    RemoveContainer = "container.remove", Need::Level(Level::Manage), "remove containers";
    RevealSecret = "container.env_reveal", Need::Right(Right::Secrets), "reveal environment values";
    RemoveImage = "image.remove", Need::Level(Level::Manage), "remove images";
    PruneImages = "image.prune", Need::Level(Level::Manage), "prune images";
    RemoveNetwork = "network.remove", Need::Level(Level::Manage), "remove networks";
    PruneNetworks = "network.prune", Need::Level(Level::Manage), "prune networks";
    RemoveVolume = "volume.remove", Need::Level(Level::Manage), "remove volumes";
    PruneVolumes = "volume.prune", Need::Level(Level::Manage), "prune volumes";
    SetExpectedState = "container.expect", Need::Level(Level::Manage), "set expected container states";
    ProbeHost = "host.probe", Need::Admin, "probe an agent for its certificate";
    AddHost = "host.add", Need::Admin, "add hosts";
    RenameHost = "host.rename", Need::Admin, "rename hosts";
    DisableHost = "host.disable", Need::Admin, "disable hosts";
    EnableHost = "host.enable", Need::Admin, "enable hosts";
    RemoveHost = "host.remove", Need::Admin, "remove hosts";
    AcceptFingerprint = "host.fingerprint_accept", Need::Admin, "accept a host's new certificate fingerprint";
    ReadLogs = "container.logs", Need::Right(Right::Logs), "read container logs";
    DownloadLogs = "logs.download", Need::Right(Right::Logs), "download container logs";
    OpenTerminal = "terminal.open", Need::Right(Right::Terminal), "open a terminal in containers";
    ReplayTerminal = "terminal.replay", Need::Right(Right::Terminal), "replay recorded terminal sessions";
    CollectLogs = "logs.collect", Need::Level(Level::Manage), "switch the collection of container logs";
    ViewAlerts = "alert.view", Need::SeeAny, "see alerts and their rules";
    CreateAlertRule = "alert.rule_create", Need::Level(Level::Manage), "create alert rules";
    UpdateAlertRule = "alert.rule_update", Need::Level(Level::Manage), "change alert rules";
    DeleteAlertRule = "alert.rule_delete", Need::Level(Level::Manage), "delete alert rules";
    CreateChannel = "alert.channel_create", Need::Admin, "create notification channels";
    UpdateChannel = "alert.channel_update", Need::Admin, "change notification channels";
    DeleteChannel = "alert.channel_delete", Need::Admin, "delete notification channels";
    TestChannel = "alert.channel_test", Need::Admin, "send test notifications";
    ListStacks = "stack.list", Need::SeeAny, "list stacks";
    ViewStack = "stack.view", Need::Level(Level::View), "see stacks and their deploys";
    StackUp = "stack.up", Need::Level(Level::Operate), "bring stacks up";
    StackStop = "stack.stop", Need::Level(Level::Operate), "stop stacks";
    StackStart = "stack.start", Need::Level(Level::Operate), "start stacks";
    StackRestart = "stack.restart", Need::Level(Level::Operate), "restart stacks";
    StackPull = "stack.pull", Need::Level(Level::Operate), "pull stacks' images";
    StackDown = "stack.down", Need::Level(Level::Manage), "take stacks down (their containers removed)";
    CreateStack = "stack.create", Need::Level(Level::Manage), "create stacks";
    UpdateStack = "stack.update", Need::Level(Level::Manage), "change stacks";
    DeleteStack = "stack.delete", Need::Level(Level::Manage), "delete stacks' definitions";
    ValidateCompose = "stack.validate", Need::Level(Level::Manage), "check compose files";
    DeployStack = "stack.deploy", Need::Level(Level::Operate), "deploy stacks";
    CancelDeploy = "stack.deploy_cancel", Need::Level(Level::Operate), "cancel deploys";
    RollbackStack = "stack.rollback", Need::Level(Level::Operate), "roll stacks back";
    SetStackWebhook = "stack.webhook_set", Need::Level(Level::Manage), "set stacks' webhooks";
    RevealStackSecret = "stack.secret_reveal", Need::Right(Right::Secrets), "reveal stacks' secrets";
}

impl Operation {
    /// Whether the operation is about one host (its scope names it).
    pub fn on_host(self) -> bool {
        matches!(self.need(), Need::Level(_) | Need::Right(_))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_include_the_ones_below_and_grants_cover_their_host() {
        let p = Permissions::of(vec![Grant::new("web", Level::Operate), Grant::new("*", Level::View)]);
        assert_eq!(p.level("web"), Level::Operate);
        assert_eq!(p.level("db"), Level::View);
        assert!(p.allows(Operation::StopContainer, Some("web")));
        assert!(!p.allows(Operation::StopContainer, Some("db")));
        assert!(!p.allows(Operation::RemoveContainer, Some("web")));
        assert!(p.allows(Operation::VerifyEvents, None));
        assert!(!p.allows(Operation::ListUsers, None));
        assert!(!p.allows(Operation::RevealSecret, Some("web")));
    }

    #[test]
    fn a_right_needs_view_on_the_same_host() {
        let p = Permissions::of(vec![Grant::new("web", Level::None).with(Right::Secrets)]);
        assert!(!p.has("web", Right::Secrets));
        let p = Permissions::of(vec![Grant::new("web", Level::View).with(Right::Secrets)]);
        assert!(p.has("web", Right::Secrets));
        assert!(!p.has("db", Right::Secrets));
    }

    #[test]
    fn a_narrowed_key_never_exceeds_its_owner_or_itself() {
        let owner = Permissions::of(vec![Grant::new("*", Level::Operate).with(Right::Logs)]);
        let key = owner.narrowed(&[Grant::new("web", Level::Manage).with(Right::Logs).with(Right::Secrets)]);
        assert_eq!(key.level("web"), Level::Operate);
        assert_eq!(key.level("db"), Level::None);
        assert!(key.has("web", Right::Logs));
        assert!(!key.has("web", Right::Secrets));
        let admin_key = Permissions::admin().narrowed(&[Grant::new("web", Level::View)]);
        assert!(!admin_key.admin);
        assert_eq!(admin_key.level("web"), Level::View);
    }

    #[test]
    fn grants_are_validated() {
        assert!(validate_grants(vec![Grant::new("web", Level::View), Grant::new("web", Level::Manage)]).is_err());
        assert!(validate_grants(vec![Grant::new("Web Server", Level::View)]).is_err());
        assert!(validate_grants(vec![Grant::new("*", Level::View), Grant::new("web-1", Level::View)]).is_ok());
    }

    #[test]
    fn operation_kinds_are_unique() {
        let mut kinds: Vec<&str> = Operation::ALL.iter().map(|o| o.kind()).collect();
        kinds.sort_unstable();
        let before = kinds.len();
        kinds.dedup();
        assert_eq!(before, kinds.len());
    }
}
