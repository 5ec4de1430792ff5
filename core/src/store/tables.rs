//! Every redb table berth uses, in one place. Changing a key or value type
//! here is a schema change: bump `SCHEMA_VERSION` and migrate. A new table
//! is not: an older file simply lacks it until the first write creates it,
//! so readers take a missing table as an empty one.

use redb::TableDefinition;

/// Stored in `META["schema_version"]`; a file with a larger one is refused.
pub const SCHEMA_VERSION: u64 = 1;
/// Stored in `META["format"]`; a redb file without it is not berth's.
pub const FORMAT: &str = "berth";

/// Small named facts about the file: format, schema version, log head.
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// The event log: seq -> encoded event (see `model::codec`).
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Secondary index of the log: (field, value, first seq) -> a block of seqs
/// (see `events::index`).
pub const EVENT_INDEX: TableDefinition<(u8, &str, u64), &[u8]> = TableDefinition::new("event_index");
/// The log's Merkle tree above its leaves: place in completion order
/// (`events::tree::stored_index(level, index)`) -> the hash of the complete
/// subtree over leaves `index << level .. (index + 1) << level`.
pub const EVENT_TREE: TableDefinition<u64, [u8; 32]> = TableDefinition::new("event_tree");
/// Every kind ever logged, with its count: feeds the viewer and prefix filters.
pub const EVENT_KINDS: TableDefinition<&str, u64> = TableDefinition::new("event_kinds");

/// user id -> JSON of `auth::StoredUser`.
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");
/// lowercase user name -> user id.
pub const USERS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("users_by_name");

/// session id -> (expiry unix seconds, JSON of the session record).
pub const SESSIONS: TableDefinition<i128, (i64, &[u8])> = TableDefinition::new("sessions");

/// Time-series name (`host/local/cpu`, `ctr/local/web-1/mem`) -> its series id.
pub const STAT_SERIES: TableDefinition<&str, u32> = TableDefinition::new("stat_series");
/// Raw samples: (series id, unix seconds) -> value.
pub const STAT_RAW: TableDefinition<(u32, u32), f64> = TableDefinition::new("stat_raw");
/// Rollups, one table per tier (1 min, 15 min, 1 h): (series id, bucket
/// start in unix seconds) -> (min, max, sum, count).
pub type RollupTable = TableDefinition<'static, (u32, u32), (f64, f64, f64, u32)>;
pub const STAT_ROLLUPS: [RollupTable; 3] = [
    TableDefinition::new("stat_1m"),
    TableDefinition::new("stat_15m"),
    TableDefinition::new("stat_1h"),
];

/// Expected container states: expectation key (`compose:shop/web`,
/// `name:db`) on a host -> JSON of `health::Expectation`.
pub const EXPECTED: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("expected");

/// user id -> JSON list of `model::Grant` (what a non-admin may do per host).
pub const GRANTS: TableDefinition<u64, &[u8]> = TableDefinition::new("grants");
/// API key id -> JSON of `auth::keys::StoredKey` (its secret only as a hash).
pub const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");

/// Hosts added while berth runs (not those of the configuration file):
/// host name -> JSON of `store::hosts::StoredHost`, agent token included
/// (the database file is private to berth; the token only goes to the agent).
pub const HOSTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hosts");

/// Terminal sessions as asciicast v2, in the pieces they were written in:
/// (seq of the session's `terminal.open` event, piece number) -> bytes. The
/// pieces in order are the recording whose SHA-256 the session's
/// `terminal.close` event holds.
pub const TERMINAL_RECORDINGS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("terminal_recordings");
/// Each recording's size, for the budget of all of them
/// (`terminal::retention`): seq of the session's `terminal.open` event ->
/// (bytes stored, Unix ns it was dropped to keep the budget; 0 while kept).
pub const TERMINAL_RECORDING_SIZES: TableDefinition<u64, (u64, i64)> = TableDefinition::new("terminal_recording_sizes");

/// Stored container logs (`logs::stored`). Each collected (host, container
/// key) has a number: (host, key) -> JSON of its settings
/// (`logs::stored::state::KeySettings`, number included).
pub const LOG_KEYS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("log_keys");
/// Per key number: (oldest line ns, newest line ns, bytes, lines), kept with
/// every write and every drop.
pub const LOG_EXTENTS: TableDefinition<u32, (i64, i64, u64, u64)> = TableDefinition::new("log_extents");
/// The containers (lives) of a key: (key number, container number) ->
/// (full container id, name, newest stored line ns: where its collection
/// resumes).
pub const LOG_CONTAINERS: TableDefinition<(u32, u32), (&str, &str, i64)> = TableDefinition::new("log_containers");
/// The newest lines of each key, a row each: (key number, engine time ns,
/// line number) -> (container number, stream: 0 stdout / 1 stderr, text).
pub const LOG_LINES: TableDefinition<(u32, i64, u32), (u32, u8, &str)> = TableDefinition::new("log_lines");
/// The older lines, sealed in deflated blocks (`logs::stored::blocks`):
/// (key number, time ns and line number of the block's newest line) ->
/// (its oldest line's time ns, lines, bytes counted against the budgets).
pub const LOG_BLOCKS: TableDefinition<(u32, i64, u32), (i64, u32, u64)> = TableDefinition::new("log_blocks");
/// Each block's lines, encoded and deflated; keyed as in `LOG_BLOCKS`.
pub const LOG_BLOCK_DATA: TableDefinition<(u32, i64, u32), &[u8]> = TableDefinition::new("log_block_data");

/// Alert rules: rule id -> JSON of `model::AlertRule`.
pub const ALERT_RULES: TableDefinition<u64, &[u8]> = TableDefinition::new("alert_rules");
/// Notification channels: channel id -> JSON of `model::Channel`, secrets
/// included (the database file is private to berth; views mask them).
pub const ALERT_CHANNELS: TableDefinition<u64, &[u8]> = TableDefinition::new("alert_channels");
/// Alerts firing (or resolved but not yet told): (rule id, subject) ->
/// JSON of `alerts::state::Stored`, so a restart neither fires again nor forgets.
pub const ALERT_STATE: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("alert_state");
/// Notifications not yet delivered: delivery id -> JSON of
/// `alerts::deliver::Pending` (the notification, its channel, its attempts).
pub const ALERT_OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("alert_outbox");
/// Drifts under way: (host, expectation key) -> JSON of `model::Drift`, so
/// a restart keeps each drift's start.
pub const DRIFTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("drifts");
/// Stacks berth deploys: (host, name) -> JSON of `model::StackDefinition`.
pub const STACKS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("stacks");
/// Their secrets, apart from the definitions: (host, name, key) -> the
/// value. Keys: `git` (token or SSH key), `webhook`, `var:NAME`.
pub const STACK_SECRETS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("stack_secrets");
/// Deploys: id -> JSON of `model::Deploy`.
pub const DEPLOYS: TableDefinition<u64, &[u8]> = TableDefinition::new("deploys");
/// A stack's deploys: (host, name, id), for its history newest first.
pub const STACK_DEPLOYS: TableDefinition<(&str, &str, u64), ()> = TableDefinition::new("stack_deploys");
/// A deploy's kept output, masked: (id, chunk) -> bytes.
pub const DEPLOY_LOGS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("deploy_logs");
/// Webhook deliveries: (host, name, at ns) -> JSON of `model::DeliveryRecord`.
pub const DELIVERIES: TableDefinition<(&str, &str, i64), &[u8]> = TableDefinition::new("deliveries");
/// Delivery ids seen per stack, so a replay never deploys twice:
/// (host, name, delivery id) -> when it was first seen (ns).
pub const DELIVERY_IDS: TableDefinition<(&str, &str, &str), i64> = TableDefinition::new("delivery_ids");
/// Ports berth chose for stacks' `free_port` variables, kept across
/// deploys: (host, stack, variable) -> port.
pub const STACK_PORTS: TableDefinition<(&str, &str, &str), u16> = TableDefinition::new("stack_ports");
