//! The engine's event stream over the Docker engine API, each event
//! turned into what berth records (`EngineEvent`).

use super::map_error;
use crate::engine::EngineError;
use crate::model::EngineEvent;
use bollard::Docker;
use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// The engine's events from `since_ns` on (inclusive): first those it
/// still remembers, then, without a gap, the new ones as they happen. With
/// `until_ns`, only those up to then (inclusive), and the stream ends.
///
/// The engine remembers its last 256 events (moby's `eventsLimit`), and
/// none from before it started.
pub(super) fn events(
    docker: &Docker,
    host: &str,
    since_ns: i64,
    until_ns: Option<i64>,
) -> BoxStream<'static, Result<EngineEvent, EngineError>> {
    let mut options = EventsOptionsBuilder::default().since(&engine_time(since_ns));
    if let Some(until) = until_ns {
        options = options.until(&engine_time(until));
    }
    let host = host.to_string();
    docker
        .events(Some(options.build()))
        .map(move |m| m.map(engine_event).map_err(|e| map_error(&host, "", e)))
        .boxed()
}

/// A time as the engine's `since` and `until` take it: `seconds.nanoseconds`,
/// nine digits after the point (fewer would be read as a fraction).
fn engine_time(ns: i64) -> String {
    format!("{}.{:09}", ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
}

/// Attributes worth keeping; labels and the rest may be large or private.
const KEPT: [&str; 8] = [
    "exitCode",
    "signal",
    "image",
    "name",
    "type",
    "container",
    "driver",
    "execID",
];

fn engine_event(m: EventMessage) -> EngineEvent {
    let typ = m.typ.map(|t| t.to_string()).unwrap_or_else(|| "engine".into());
    let action = m.action.unwrap_or_default();
    // "health_status: healthy", "exec_start: sh -c ...": the part before ':' is the action.
    let (verb, rest) = match action.split_once(':') {
        Some((v, r)) => (v.trim().to_string(), Some(r.trim().to_string())),
        None => (action.clone(), None),
    };
    let actor = m.actor.unwrap_or_default();
    let attrs = actor.attributes.unwrap_or_default();
    let id = actor.id.unwrap_or_default();
    let name = attrs.get("name").cloned();
    let target = match typ.as_str() {
        "container" | "network" | "volume" | "service" | "node" => {
            Some(format!("{typ}:{}", name.clone().unwrap_or(id.clone())))
        }
        "image" => Some(format!("image:{}", name.clone().unwrap_or(id.clone()))),
        _ => None,
    };
    let mut details = serde_json::Map::new();
    if !id.is_empty() {
        details.insert("id".into(), id.into());
    }
    if let Some(rest) = rest.filter(|_| verb != "exec_start" && verb != "exec_create") {
        details.insert("status".into(), rest.into());
    }
    for key in KEPT {
        if let Some(v) = attrs.get(key) {
            details.insert(key.into(), v.clone().into());
        }
    }
    if let Some(t) = m.time_nano {
        details.insert("engine_time_ns".into(), t.into());
    }
    EngineEvent {
        kind: format!("{typ}.{verb}"),
        target,
        details: serde_json::Value::Object(details),
        is_container: typ == "container",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_keep_every_nanosecond() {
        assert_eq!(engine_time(1_700_000_000_000_000_001), "1700000000.000000001");
        assert_eq!(engine_time(1_700_000_000_123_456_789), "1700000000.123456789");
        assert_eq!(engine_time(0), "0.000000000");
    }
}
