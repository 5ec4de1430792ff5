//! Every redb table berth uses, in one place. Changing a key or value type
//! here is a schema change: bump `SCHEMA_VERSION` and migrate.

use redb::TableDefinition;

/// Stored in `META["schema_version"]`; a file with a larger one is refused.
pub const SCHEMA_VERSION: u64 = 1;
/// Stored in `META["format"]`; a redb file without it is not berth's.
pub const FORMAT: &str = "berth";

/// Small named facts about the file: format, schema version, log head.
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// The event log: seq -> encoded event (see `events::codec`).
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Secondary index of the log: (field, value, first seq) -> a block of seqs
/// (see `events::index`).
pub const EVENT_INDEX: TableDefinition<(u8, &str, u64), &[u8]> = TableDefinition::new("event_index");
/// Every kind ever logged, with its count: feeds the viewer and prefix filters.
pub const EVENT_KINDS: TableDefinition<&str, u64> = TableDefinition::new("event_kinds");

/// user id -> JSON of `auth::StoredUser`.
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");
/// lowercase user name -> user id.
pub const USERS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("users_by_name");

/// session id -> (expiry unix seconds, JSON of the session record).
pub const SESSIONS: TableDefinition<i128, (i64, &[u8])> = TableDefinition::new("sessions");
