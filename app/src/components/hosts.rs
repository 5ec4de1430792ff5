//! How a host reads wherever it is shown: connected or unreachable and
//! since when, how berth reaches it (local engine, TLS engine, agent), its
//! versions and round trip, and what it refuses (a read-only agent, no
//! exec); and the host select of the list pages. Every piece of it is
//! data from the host, shown as text.

use berth_core::model::{HostId, HostLimits, HostStatus, Transport, format_ts};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// How berth reaches the host, in the words the pages use.
pub fn transport_label(transport: Transport) -> &'static str {
    match transport {
        Transport::Local => "local engine",
        Transport::Tls => "TLS engine",
        Transport::Agent => "agent",
    }
}

/// A round trip in microseconds, as milliseconds: "0.4 ms".
pub fn rtt_label(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// How berth reaches the host and how fast: "agent 0.1.0 · round trip
/// 0.4 ms", "local engine", "TLS engine · round trip 3.1 ms".
pub fn reach(status: &HostStatus) -> String {
    let how = match status.transport {
        Transport::Agent => format!(
            "agent {}",
            status.agent_version.as_deref().unwrap_or("(version unknown)")
        ),
        other => transport_label(other).to_string(),
    };
    match status.rtt_us {
        Some(us) => format!("{how} · round trip {}", rtt_label(us)),
        None => how,
    }
}

/// The engine behind the host: "Docker 20.10.24 · API 1.41".
pub fn engine(status: &HostStatus) -> String {
    match (&status.engine_version, &status.api_version) {
        (Some(v), Some(api)) => format!("Docker {v} · API {api}"),
        (Some(v), None) => format!("Docker {v}"),
        _ => "Docker engine (version not known yet)".to_string(),
    }
}

/// "Connected since …" or "Unreachable since …: why".
pub fn since(status: &HostStatus) -> String {
    let at = format_ts(status.since_ns);
    if status.reachable {
        format!("Connected since {at}")
    } else {
        format!(
            "Unreachable since {at}: {}",
            status.error.as_deref().unwrap_or("no answer")
        )
    }
}

/// The sentence shown above a page for a host berth cannot reach.
pub fn unreachable_text(status: &HostStatus) -> String {
    format!(
        "Host {} is unreachable since {}: {}. What berth shows of it is as last seen; berth keeps trying to reconnect.",
        status.id,
        format_ts(status.since_ns),
        status.error.as_deref().unwrap_or("no answer")
    )
}

/// A host that refuses changes, and what that means on this page (`what`:
/// "berth shows its containers but cannot start, stop, create or remove
/// them there.").
#[component]
pub fn ReadOnlyNote(host: String, what: &'static str) -> impl IntoView {
    let id = host.clone();
    view! {
        <p class="note read-only-note" data-host=id>
            <strong>{host}</strong>" "<span class="badge badge-limit">"read-only agent"</span>" "{what}
        </p>
    }
}

/// "connected" or "unreachable", as a badge.
#[component]
pub fn ReachBadge(reachable: bool) -> impl IntoView {
    if reachable {
        view! { <span class="badge state-running reach">"connected"</span> }.into_any()
    } else {
        view! { <span class="badge badge-error reach">"unreachable"</span> }.into_any()
    }
}

/// What the host refuses, as badges (nothing when it refuses nothing).
#[component]
pub fn LimitBadges(limits: HostLimits) -> impl IntoView {
    view! {
        {limits.read_only.then(|| view! {
            <span class="badge badge-limit" title="The agent refuses to start, stop, create or remove containers">"read-only"</span>
        })}
        {(!limits.allows_exec()).then(|| view! {
            <span class="badge badge-limit" title="The agent refuses to open a shell in its containers">"no exec"</span>
        })}
    }
}

/// The host a list page shows, kept in the URL (`path?host=NAME`, or
/// `path` for every host when `all` is offered) so a link shares the view.
/// Before the page runs it is a plain GET form with a Show button; once
/// hydrated, choosing a host navigates at once and the button goes.
#[component]
pub fn HostSelect(
    hosts: Signal<Vec<HostId>>,
    selected: Signal<String>,
    path: &'static str,
    #[prop(optional)] all: bool,
) -> impl IntoView {
    let navigate = use_navigate();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let go = move |ev: leptos::ev::Event| {
        let host = event_target_value(&ev);
        let to = if host.is_empty() {
            path.to_string()
        } else {
            format!("{path}?host={host}")
        };
        navigate(&to, Default::default());
    };
    view! {
        <form method="get" action=path class="host-select inline">
            <label for="host-select">"Host"</label>
            <select name="host" id="host-select" on:change=go prop:value=move || selected.get()>
                {all.then(|| view! { <option value="" selected=move || selected.get().is_empty()>"All hosts"</option> })}
                {move || hosts.get().into_iter().map(|h| {
                    let name = h.0;
                    let value = name.clone();
                    let chosen = name.clone();
                    view! { <option value=value selected=move || selected.get() == chosen>{name}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="btn btn-small" hidden=move || hydrated.get()>"Show"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(transport: &str, rtt_us: Option<u64>) -> HostStatus {
        serde_json::from_value(serde_json::json!({
            "id": "web-2", "reachable": true, "since_ns": 0, "error": null,
            "engine_version": "20.10.24", "api_version": "1.41",
            "transport": transport, "agent_version": "0.1.0", "rtt_us": rtt_us,
        }))
        .unwrap()
    }

    #[test]
    fn a_host_says_how_it_is_reached_and_how_fast() {
        assert_eq!(reach(&status("agent", Some(420))), "agent 0.1.0 · round trip 0.4 ms");
        assert_eq!(reach(&status("tls", Some(3100))), "TLS engine · round trip 3.1 ms");
        assert_eq!(reach(&status("local", None)), "local engine");
        assert_eq!(engine(&status("local", None)), "Docker 20.10.24 · API 1.41");
        let mut down = status("agent", None);
        down.reachable = false;
        down.since_ns = 1_700_000_000_000_000_000;
        down.error = Some("the agent closed the connection".into());
        assert_eq!(
            unreachable_text(&down),
            "Host web-2 is unreachable since 2023-11-14 22:13:20.000 UTC: the agent closed the connection. \
             What berth shows of it is as last seen; berth keeps trying to reconnect."
        );
    }
}
