//! Stacks as berth shows them: compose projects found from their
//! containers' labels, berth's own definition of the stacks it deploys, and
//! deploys with their steps. Validation of what a person sends lives here
//! too, so the browser refuses what core would.

use super::{Container, ExpectedState, HostId};
use serde::{Deserialize, Serialize};

/// A compose project on one host: what its containers' labels say, joined
/// with berth's definition when berth deploys it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stack {
    pub host: HostId,
    /// The compose project's name.
    pub name: String,
    /// Its services by name, each with its containers.
    pub services: Vec<StackService>,
    /// The compose files' paths on the host, as the labels give them.
    #[serde(default)]
    pub config_files: Option<String>,
    /// The directory compose ran in, as the labels give it.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// berth deploys it: a definition is stored.
    pub managed: bool,
    /// The latest deploy, for a managed stack that has one.
    #[serde(default)]
    pub last_deploy: Option<DeploySummary>,
}

impl Stack {
    /// Containers running, and containers in all.
    pub fn running(&self) -> (usize, usize) {
        let all = self.services.iter().flat_map(|s| &s.containers);
        let (mut up, mut n) = (0, 0);
        for c in all {
            n += 1;
            up += usize::from(c.state == super::ContainerState::Running);
        }
        (up, n)
    }

    /// Whether a service is off its expected state.
    pub fn drifts(&self) -> bool {
        self.services.iter().any(|s| s.containers.iter().any(Container::drifts))
    }
}

/// One service of a stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackService {
    pub name: String,
    pub containers: Vec<Container>,
    /// The state an operator expects it in (the expectation key
    /// `compose:{stack}/{service}`).
    #[serde(default)]
    pub expected: Option<ExpectedState>,
}

/// Groups containers into stacks by their compose labels; containers of no
/// project are left out. Stacks sorted by name, services by name.
pub fn group_stacks(host: &HostId, containers: &[Container]) -> Vec<Stack> {
    let mut stacks: Vec<Stack> = Vec::new();
    for c in containers {
        let Some(project) = c.project.as_deref() else { continue };
        let at = match stacks.binary_search_by(|s| s.name.as_str().cmp(project)) {
            Ok(i) => i,
            Err(i) => {
                stacks.insert(
                    i,
                    Stack {
                        host: host.clone(),
                        name: project.to_string(),
                        services: Vec::new(),
                        config_files: None,
                        working_dir: None,
                        managed: false,
                        last_deploy: None,
                    },
                );
                i
            }
        };
        let stack = &mut stacks[at];
        stack.config_files = stack.config_files.take().or_else(|| c.compose_files.clone());
        stack.working_dir = stack.working_dir.take().or_else(|| c.compose_dir.clone());
        let service = c.service.as_deref().unwrap_or("");
        let i = match stack.services.binary_search_by(|s| s.name.as_str().cmp(service)) {
            Ok(i) => i,
            Err(i) => {
                stack.services.insert(
                    i,
                    StackService {
                        name: service.to_string(),
                        containers: Vec::new(),
                        expected: c.expected,
                    },
                );
                i
            }
        };
        stack.services[i].containers.push(c.clone());
    }
    stacks
}

/// What can be done to a stack as a whole, or to one of its services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StackVerb {
    /// Create and start what is missing (compose up; needs the compose files).
    Up,
    /// Stop and remove the containers and the project's networks (and its
    /// volumes, when asked).
    Down,
    Stop,
    Start,
    Restart,
    /// Pull the services' images (compose pull; needs the compose files).
    Pull,
}

impl StackVerb {
    pub const ALL: [StackVerb; 6] = [
        StackVerb::Up,
        StackVerb::Down,
        StackVerb::Stop,
        StackVerb::Start,
        StackVerb::Restart,
        StackVerb::Pull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StackVerb::Up => "up",
            StackVerb::Down => "down",
            StackVerb::Stop => "stop",
            StackVerb::Start => "start",
            StackVerb::Restart => "restart",
            StackVerb::Pull => "pull",
        }
    }

    pub fn parse(text: &str) -> Option<StackVerb> {
        StackVerb::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The access operation it is decided and recorded under.
    pub fn operation(self) -> super::Operation {
        use super::Operation as O;
        match self {
            StackVerb::Up => O::StackUp,
            StackVerb::Down => O::StackDown,
            StackVerb::Stop => O::StackStop,
            StackVerb::Start => O::StackStart,
            StackVerb::Restart => O::StackRestart,
            StackVerb::Pull => O::StackPull,
        }
    }

    /// Whether compose itself must run (with the stack's files); the others
    /// are done through the engine's API on the project's containers, which
    /// works for any stack on any host.
    pub fn needs_compose(self) -> bool {
        matches!(self, StackVerb::Up | StackVerb::Pull)
    }
}

/// A compose project name: 1 to 63 of `a-z 0-9 - _`, starting with a
/// letter or digit (compose's own rule, and a safe path and tag part).
pub fn validate_stack_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a stack name: use 1 to 63 of a-z, 0-9, '-' or '_', starting with a letter or digit",
            name.chars().take(63).collect::<String>()
        ))
    }
}

/// Where a berth-managed stack's compose files come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StackSource {
    /// A git repository's branch.
    Git {
        /// https://, http://, ssh://, user@host:path or file://.
        url: String,
        branch: String,
        /// A directory inside the repository holding the compose files.
        #[serde(default)]
        path: String,
        /// The compose files, relative to `path` (default `compose.yaml`).
        #[serde(default)]
        files: Vec<String>,
        /// How berth signs in to the repository (the secret itself is
        /// write-only: sent in `StackSpec::git_secret`, never shown).
        #[serde(default)]
        credential: GitCredentialKind,
    },
    /// A compose file written in berth.
    Inline { compose: String },
}

/// The kind of credential a git source uses; its secret is stored apart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum GitCredentialKind {
    #[default]
    None,
    /// HTTP basic auth with a token (the user defaults to `x-access-token`).
    Token {
        #[serde(default)]
        user: Option<String>,
    },
    /// An SSH private key.
    Ssh,
}

/// A variable's value that berth works out at each deploy (NSM's variable
/// types), for the compose file to use as `${NAME}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Computed {
    /// The host's name in berth.
    HostName,
    /// A port no container on the host publishes, chosen at the first
    /// deploy and kept across deploys until the variable is removed.
    FreePort,
    /// A directory on the host that outlives deploys:
    /// `/var/lib/berth-stacks/STACK/NAME` (the engine makes it on first use).
    VolumePath,
    /// A directory on the host for one deploy only:
    /// `/tmp/berth-deploys/STACK/DEPLOY`.
    ScratchDir,
}

impl Computed {
    pub const ALL: [Computed; 4] = [
        Computed::HostName,
        Computed::FreePort,
        Computed::VolumePath,
        Computed::ScratchDir,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Computed::HostName => "host_name",
            Computed::FreePort => "free_port",
            Computed::VolumePath => "volume_path",
            Computed::ScratchDir => "scratch_dir",
        }
    }

    pub fn parse(text: &str) -> Option<Computed> {
        Computed::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// One environment variable of a stack, as shown: a secret's value is
/// never in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackVar {
    pub name: String,
    /// The value of a plain variable; `None` for a secret.
    #[serde(default)]
    pub value: Option<String>,
    pub secret: bool,
    /// Worked out at each deploy instead of given.
    #[serde(default)]
    pub computed: Option<Computed>,
}

/// A variable as a person sends it: a secret sent without a value keeps the
/// one stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackVarInput {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub secret: bool,
    /// Worked out at each deploy instead of given (then no value).
    #[serde(default)]
    pub computed: Option<Computed>,
}

/// The shortest secret value berth accepts: shorter ones cannot be masked
/// in output without masking ordinary text.
pub const MIN_SECRET_LEN: usize = 4;
/// The most variables a stack may have.
pub const MAX_VARS: usize = 200;
/// The longest compose file written in berth.
pub const MAX_COMPOSE_BYTES: usize = 256 * 1024;

/// A stack as a person defines it (create and edit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackSpec {
    /// The compose project's name.
    pub name: String,
    /// The host it runs on.
    pub host: HostId,
    pub source: StackSource,
    /// The git token or SSH key (write-only; on edit, absent keeps the
    /// stored one).
    #[serde(default)]
    pub git_secret: Option<String>,
    #[serde(default)]
    pub vars: Vec<StackVarInput>,
    /// Seconds a deploy may take before it fails (10 to 3600; default 300).
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    /// Deploy when a signed push webhook arrives for its branch.
    #[serde(default)]
    pub on_push: bool,
    /// Old versions kept for rollback (1 to 50; default 5).
    #[serde(default = "default_keep")]
    pub keep_versions: u32,
    /// Roll back to the previous version when a deploy fails.
    #[serde(default = "default_true")]
    pub rollback_on_failure: bool,
}

fn default_timeout() -> u32 {
    300
}
fn default_keep() -> u32 {
    5
}
fn default_true() -> bool {
    true
}

impl StackSpec {
    /// Checks everything that needs no engine and no network: names,
    /// bounds, paths, variables. The compose file itself is checked by
    /// compose (`validate_compose`), the repository by fetching it.
    pub fn validate(&self) -> Result<(), String> {
        validate_stack_name(&self.name)?;
        super::validate_host_name(&self.host.0)?;
        if !(10..=3600).contains(&self.timeout_s) {
            return Err(format!(
                "the deploy timeout must be 10 to 3600 seconds, not {}",
                self.timeout_s
            ));
        }
        if !(1..=50).contains(&self.keep_versions) {
            return Err(format!("keep 1 to 50 old versions, not {}", self.keep_versions));
        }
        match &self.source {
            StackSource::Git {
                url,
                branch,
                path,
                files,
                ..
            } => {
                if url.trim().is_empty() {
                    return Err("the repository's URL is empty".into());
                }
                if branch.trim().is_empty() {
                    return Err("the branch is empty".into());
                }
                validate_relative(path, "the path inside the repository", true)?;
                if files.len() > 8 {
                    return Err("at most 8 compose files".into());
                }
                for f in files {
                    validate_relative(f, "a compose file's name", false)?;
                }
            }
            StackSource::Inline { compose } => {
                if compose.trim().is_empty() {
                    return Err("the compose file is empty".into());
                }
                if compose.len() > MAX_COMPOSE_BYTES {
                    return Err(format!("the compose file is over {} KiB", MAX_COMPOSE_BYTES / 1024));
                }
            }
        }
        if self.vars.len() > MAX_VARS {
            return Err(format!("at most {MAX_VARS} variables"));
        }
        let mut names: Vec<&str> = Vec::new();
        for v in &self.vars {
            validate_var_name(&v.name)?;
            if names.contains(&v.name.as_str()) {
                return Err(format!("the variable {} is given twice", v.name));
            }
            names.push(&v.name);
            if v.computed.is_some() {
                if v.value.is_some() || v.secret {
                    return Err(format!(
                        "{} is worked out at each deploy: give it no value, and it is no secret",
                        v.name
                    ));
                }
                continue;
            }
            if let Some(value) = &v.value {
                if value.len() > 64 * 1024 {
                    return Err(format!("the value of {} is over 64 KiB", v.name));
                }
                if value.contains('\n') || value.contains('\0') {
                    return Err(format!("the value of {} has a line break or a NUL byte", v.name));
                }
                if v.secret && value.len() < MIN_SECRET_LEN {
                    return Err(format!(
                        "the secret {} is shorter than {MIN_SECRET_LEN} characters; so short a value cannot be masked in output",
                        v.name
                    ));
                }
            } else if !v.secret {
                return Err(format!("the variable {} has no value", v.name));
            }
        }
        Ok(())
    }
}

/// An environment variable's name: a letter or `_`, then letters, digits
/// or `_`; at most 128.
pub fn validate_var_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a variable name: a letter or '_', then letters, digits or '_'",
            name.chars().take(64).collect::<String>()
        ))
    }
}

/// A path inside a checkout: relative, no `..`, no NUL; empty allowed only
/// where `empty_ok` (the repository's root).
fn validate_relative(path: &str, what: &str, empty_ok: bool) -> Result<(), String> {
    if path.is_empty() {
        return if empty_ok {
            Ok(())
        } else {
            Err(format!("{what} is empty"))
        };
    }
    if path.len() > 512
        || path.starts_with('/')
        || path.contains('\0')
        || path.contains('\\')
        || path.split('/').any(|p| p == "..")
    {
        return Err(format!(
            "{what} '{path}' must be a relative path inside the repository, without '..'"
        ));
    }
    Ok(())
}

/// berth's stored definition of a stack it deploys (no secret in it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackDefinition {
    pub name: String,
    pub host: HostId,
    pub source: StackSource,
    pub vars: Vec<StackVar>,
    pub timeout_s: u32,
    pub on_push: bool,
    pub keep_versions: u32,
    pub rollback_on_failure: bool,
    /// Whether push webhooks are accepted (a secret has been made).
    #[serde(default)]
    pub webhook: bool,
    /// Who created it, and when (unix ns).
    pub created_by: String,
    pub created_ns: i64,
    /// The version number the next build gets.
    #[serde(default = "first_version")]
    pub next_version: u32,
}

fn first_version() -> u32 {
    1
}

/// A deploy's number, counting up across berth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct DeployId(pub u64);

impl std::fmt::Display for DeployId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a deploy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    Queued,
    Running,
    Succeeded,
    Failed,
    /// Failed, and the previous version was put back.
    RolledBack,
    Cancelled,
}

impl DeployState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::Queued => "queued",
            DeployState::Running => "running",
            DeployState::Succeeded => "succeeded",
            DeployState::Failed => "failed",
            DeployState::RolledBack => "rolled_back",
            DeployState::Cancelled => "cancelled",
        }
    }

    pub fn is_done(self) -> bool {
        !matches!(self, DeployState::Queued | DeployState::Running)
    }
}

/// What started a deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeployTrigger {
    /// A person or an API key, by name.
    User { name: String },
    /// A verified webhook delivery.
    Webhook { provider: String, delivery: Option<String> },
    /// A rollback to an earlier deploy's images.
    Rollback { name: String, to: DeployId },
}

/// One step of a deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployStep {
    /// fetch, build, up, wait, rollback.
    pub name: String,
    pub state: DeployState,
    pub started_ns: i64,
    #[serde(default)]
    pub finished_ns: Option<i64>,
    /// What it found or why it failed, in a line.
    #[serde(default)]
    pub note: String,
}

/// The image a service ran in a deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceImage {
    pub service: String,
    /// The reference compose was given (`berth/web-app:3`, `redis:7`).
    pub reference: String,
    /// The image's id (`sha256:...`).
    pub id: String,
}

/// A deploy: what started it, its steps, the images it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deploy {
    pub id: DeployId,
    pub host: HostId,
    pub stack: String,
    /// The stack's version number this deploy built (or put back).
    pub version: u32,
    /// The commit deployed (git sources).
    #[serde(default)]
    pub commit: Option<String>,
    pub state: DeployState,
    pub trigger: DeployTrigger,
    pub queued_ns: i64,
    #[serde(default)]
    pub finished_ns: Option<i64>,
    pub steps: Vec<DeployStep>,
    #[serde(default)]
    pub images: Vec<ServiceImage>,
    /// Which compose ran it ("docker-compose 1.29.2").
    #[serde(default)]
    pub compose: Option<String>,
    /// Why it failed, in words.
    #[serde(default)]
    pub error: Option<String>,
    /// The SHA-256 of its kept output, once it is done (hex).
    #[serde(default)]
    pub log_sha256: Option<String>,
}

/// A deploy in a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploySummary {
    pub id: DeployId,
    pub version: u32,
    #[serde(default)]
    pub commit: Option<String>,
    pub state: DeployState,
    pub queued_ns: i64,
    #[serde(default)]
    pub finished_ns: Option<i64>,
}

impl From<&Deploy> for DeploySummary {
    fn from(d: &Deploy) -> DeploySummary {
        DeploySummary {
            id: d.id,
            version: d.version,
            commit: d.commit.clone(),
            state: d.state,
            queued_ns: d.queued_ns,
            finished_ns: d.finished_ns,
        }
    }
}

/// A stack's page: the stack, berth's definition of it, its deploys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackView {
    pub stack: Stack,
    #[serde(default)]
    pub definition: Option<StackDefinition>,
    /// Newest first.
    #[serde(default)]
    pub deploys: Vec<DeploySummary>,
}

/// A deploy with its kept output (secrets masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployDetail {
    pub deploy: Deploy,
    /// Its output so far, each line as kept.
    pub log: String,
    /// Output was dropped past the per-deploy cap.
    #[serde(default)]
    pub truncated: bool,
}

/// What compose said of a compose file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComposeCheck {
    /// Which compose checked it.
    pub compose: String,
    /// The services it defines, when it is valid.
    pub services: Vec<String>,
    /// What is wrong, when it is not.
    #[serde(default)]
    pub problem: Option<ComposeProblem>,
}

/// A compose file's error, on its line where compose names one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComposeProblem {
    #[serde(default)]
    pub line: Option<u32>,
    pub message: String,
}

/// One webhook delivery as recorded, accepted or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryRecord {
    pub at_ns: i64,
    /// github, gitea, gitlab, generic; empty when no provider was told.
    pub provider: String,
    /// The forge's event type (push, ping...).
    pub event: String,
    #[serde(default)]
    pub delivery_id: Option<String>,
    /// SHA-256 of the raw body (hex).
    pub body_sha256: String,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
    /// deploy, pong, other_branch, skipped, duplicate, ignored, refused.
    pub verdict: String,
    /// Why, in words, when it was not deployed.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub deploy: Option<DeployId>,
}

/// A stack's webhook: where forges post, and its secret once, when made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSetting {
    pub enabled: bool,
    /// The path under berth's address forges post to.
    pub path: String,
    /// The secret to give the forge: shown this once, when made.
    #[serde(default)]
    pub secret: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ContainerState;

    fn c(name: &str, project: Option<&str>, service: &str, state: ContainerState) -> Container {
        Container {
            name: name.into(),
            project: project.map(String::from),
            service: Some(service.into()),
            state,
            ..Container::default()
        }
    }

    #[test]
    fn containers_group_into_stacks_by_their_labels() {
        let host = HostId("local".into());
        let all = [
            c("web-2", Some("shop"), "web", ContainerState::Running),
            c("lone", None, "x", ContainerState::Running),
            c("db-1", Some("shop"), "db", ContainerState::Exited),
            c("web-1", Some("shop"), "web", ContainerState::Running),
            c("a-1", Some("blog"), "app", ContainerState::Running),
        ];
        let stacks = group_stacks(&host, &all);
        let names: Vec<_> = stacks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["blog", "shop"]);
        let shop = &stacks[1];
        let services: Vec<_> = shop
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.containers.len()))
            .collect();
        assert_eq!(services, [("db", 1), ("web", 2)]);
        assert_eq!(shop.running(), (2, 3));
    }

    #[test]
    fn names_and_specs_are_checked() {
        assert!(validate_stack_name("shop-2_x").is_ok());
        for bad in ["", "Shop", "-x", "a b", "a/b", &"x".repeat(64)] {
            assert!(validate_stack_name(bad).is_err(), "{bad}");
        }
        let mut spec = StackSpec {
            name: "shop".into(),
            host: HostId("local".into()),
            source: StackSource::Git {
                url: "https://example.com/shop.git".into(),
                branch: "main".into(),
                path: "deploy".into(),
                files: vec!["compose.yaml".into()],
                credential: GitCredentialKind::None,
            },
            git_secret: None,
            vars: vec![StackVarInput {
                name: "TOKEN".into(),
                value: Some("s3cret-value".into()),
                secret: true,
                computed: None,
            }],
            timeout_s: 300,
            on_push: false,
            keep_versions: 5,
            rollback_on_failure: true,
        };
        assert_eq!(spec.validate(), Ok(()));
        spec.vars[0].value = Some("abc".into());
        assert!(spec.validate().unwrap_err().contains("shorter"));
        spec.vars[0].value = None;
        assert_eq!(
            spec.validate(),
            Ok(()),
            "a secret sent without a value keeps the stored one"
        );
        if let StackSource::Git { path, .. } = &mut spec.source {
            *path = "../etc".into();
        }
        assert!(spec.validate().unwrap_err().contains(".."));
    }
}
