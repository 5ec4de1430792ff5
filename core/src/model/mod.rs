//! Data shared by the server and the browser: ids, events, users, filters.
//! Plain serde types only, so this module also compiles to wasm.

mod access;
mod alerts;
pub mod asciicast;
mod channels;
pub(crate) mod codec;
mod container;
mod engine;
mod error;
mod event;
mod event_kind;
mod filter;
mod hosts;
mod ids;
mod logs;
mod natural;
pub mod ops;
mod resources;
mod stacks;
mod stats;
mod stored_logs;
mod terminal;
mod time;
mod user;

pub use access::{
    ALL_HOSTS, Grant, Level, MAX_GRANTS, Need, Operation, Permissions, Right, validate_grants, validate_host_name,
};
#[cfg(test)]
pub(crate) use alerts::test_rule;
pub use alerts::{
    Alert, AlertList, AlertRule, AlertScope, AlertState, Condition, MAX_RULE_CHANNELS, MAX_RULES, MAX_SILENCES,
    MAX_SPAN_SECS, MIN_REPEAT_SECS, RuleId, RuleSpec, Severity, Silence, SubjectKind, span,
};
pub use channels::{
    Channel, ChannelId, ChannelSpec, ChannelTarget, DeliveryReport, MASK, MAX_CHANNELS, MAX_RECIPIENTS, MailSecurity,
    Notification, Secret, validate_address, validate_url,
};
pub use codec::{canonical_bytes, decode_canonical};
pub use container::{
    Container, ContainerAction, ContainerDetail, ContainerState, EnvVar, HealthInfo, HealthRun, HostId, HostStatus,
    HostView, Mount, NetworkAttachment, NewContainer, Port, parse_port, parse_volume,
};
pub use engine::{AgentInfo, EngineEvent, EngineStats, EngineVersion, HostLimits, Transport};
pub use error::ErrorKind;
pub use event::{
    Actor, ActorKind, ChainStatus, CheckpointInfo, Cosigned, Event, EventPage, Hash32, LogStatus, NewEvent, Outcome,
};
pub use event_kind::EventKind;
pub use filter::{EventFilter, FilterError, OutcomeFilter};
pub use hosts::{HostEntry, HostOrigin, NewAgentHost, validate_agent_token};
pub use ids::{EventSeq, UserId};
pub use logs::{
    DEFAULT_TAIL, LogFeed, LogLine, LogQuery, LogSearch, LogStream, MAX_MERGED, MAX_PATTERN, MAX_TAIL, TERM_MAX,
    TERM_MIN, TermControl, parse_log_time, validate_term_size,
};
pub use natural::{container_order, natural_cmp};
pub use ops::ContainerVerb;
pub use resources::{
    Image, ImageDetail, ImageRemoval, Network, NetworkDetail, PruneReport, Volume, VolumeDetail, human_bytes,
};
pub use stacks::{
    ComposeCheck, ComposeProblem, Computed, DeliveryRecord, Deploy, DeployDetail, DeployId, DeployState, DeployStep,
    DeploySummary, DeployTrigger, GitCredentialKind, MAX_COMPOSE_BYTES, MAX_VARS, MIN_SECRET_LEN, ServiceImage, Stack,
    StackDefinition, StackService, StackSource, StackSpec, StackVar, StackVarInput, StackVerb, StackView,
    WebhookSetting, group_stacks, validate_stack_name, validate_var_name,
};
pub use stats::{
    Chart, ChartRange, ChartSet, ContainerSample, Dashboard, Drift, Expectation, ExpectedState, FsUsage, HostSample,
    Point, Series, StatsSnapshot, Unit, expectation_key, human_size, validate_expectation_key,
};
pub use stored_logs::{
    CollectRequest, DEFAULT_MATCHES, MAX_MATCHES, MIN_KEY_BUDGET, SearchCursor, StoredHost, StoredKey, StoredKeys,
    StoredMatch, StoredPage, StoredQuery, StoredQueryFields,
};
pub use terminal::{
    ExecEnd, ExecExit, ExecSpec, MAX_ARGS, MAX_COMMAND, MAX_USER, TERM, TerminalRequest, TerminalTarget,
    TerminalTicket, join_command, split_command, validate_command, validate_user,
};
pub use time::{TsParseError, format_rfc3339, format_ts, parse_rfc3339, parse_ts};
pub use user::{Account, ApiKeyInfo, CreatedApiKey, NewApiKey, Role, SessionInfo, User, UserDetail};
