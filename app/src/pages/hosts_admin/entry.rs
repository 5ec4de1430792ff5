//! One host entry of the admin's list: how berth reaches the host, its
//! state now (the live feed's), its pinned fingerprint and origin, and, for
//! a host added here, the forms that rename, disable or enable, remove it
//! and accept a new certificate fingerprint.

use super::Changes;
use crate::components::clipboard;
use crate::components::hosts::{ReachBadge, engine, rtt_label, since, transport_label};
use berth_core::model::{Dashboard, HostEntry, HostOrigin, HostStatus, format_ts};
use leptos::prelude::*;

/// What identifies an entry as drawn: its name and what a change alters.
pub(super) fn entry_key(entry: &HostEntry) -> (String, bool, Option<String>, Option<String>) {
    (
        entry.id.0.clone(),
        entry.enabled,
        entry.fingerprint.clone(),
        entry.address.clone(),
    )
}

/// One host entry: what it is, its state now, and what an admin can change.
#[component]
pub(super) fn Entry(
    entry: HostEntry,
    live: RwSignal<Option<Dashboard>>,
    changes: Changes,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let HostEntry {
        id,
        transport,
        address,
        fingerprint,
        enabled,
        origin,
        status: listed,
        added_ns,
        added_by,
    } = entry;
    let name = id.0;
    // The state now: the live feed's once it has this host, else the list's.
    let status = {
        let name = name.clone();
        Memo::new(move |_| {
            let running = live.with(|d| {
                d.as_ref()
                    .and_then(|d| d.hosts.iter().find(|h| h.status.id.0 == name))
                    .map(|h| h.status.clone())
            });
            match running {
                Some(status) if enabled => status,
                _ => listed.clone(),
            }
        })
    };
    let state = move || {
        if !enabled {
            "disabled"
        } else if status.read().reachable {
            "connected"
        } else {
            "unreachable"
        }
    };
    let presented = Memo::new(move |_| status.read().error.as_deref().and_then(presented_fingerprint));
    let how = match &address {
        Some(address) => format!("{} · {address}", transport_label(transport)),
        None => transport_label(transport).to_string(),
    };
    let origin_text = match origin {
        HostOrigin::Local => "the engine beside berth".to_string(),
        HostOrigin::Config => "the configuration file".to_string(),
        HostOrigin::Added => format!(
            "added by {} on {}",
            added_by.as_deref().unwrap_or("someone"),
            added_ns.map(format_ts).unwrap_or_else(|| "an unknown date".into())
        ),
    };
    let controls = match origin {
        HostOrigin::Added => view! { <Controls name=name.clone() enabled changes/> }.into_any(),
        HostOrigin::Config => view! {
            <p class="muted small entry-fixed">
                "Defined in the configuration file: change or remove its "<code>"[[hosts]]"</code>" entry there, then restart berth."
            </p>
        }
        .into_any(),
        HostOrigin::Local => view! {
            <p class="muted small entry-fixed">"The Docker engine beside berth: always there, nothing to change."</p>
        }
        .into_any(),
    };
    let accept = {
        let name = name.clone();
        let address = address.clone().unwrap_or_default();
        let pinned = fingerprint.clone().unwrap_or_default();
        move || {
            presented.get().filter(|_| origin == HostOrigin::Added).map(|fp| {
                view! { <AcceptForm name=name.clone() address=address.clone() pinned=pinned.clone() presented=fp changes/> }
            })
        }
    };
    view! {
        <li class="host-entry card" data-host=name.clone() data-state=state data-origin=origin.as_str()>
            <div class="entry-head">
                <h3><a href=format!("/hosts/{name}")>{name.clone()}</a></h3>
                <StateBadge state=Signal::derive(state)/>
            </div>
            <dl class="fields entry-fields">
                <dt>"Reached through"</dt>
                <dd class="entry-how">{how}</dd>
                <dt>"State"</dt>
                <dd class="entry-state">{move || state_text(&status.read(), enabled)}</dd>
                <dt>"Fingerprint"</dt>
                <dd class="entry-fingerprint">
                    {match fingerprint {
                        Some(fp) => view! { <Fingerprint fp hydrated/> }.into_any(),
                        None => view! { <span class="muted">"none pinned (not an agent)"</span> }.into_any(),
                    }}
                </dd>
                <dt>"Origin"</dt>
                <dd class="entry-origin">{origin_text}</dd>
            </dl>
            {accept}
            {controls}
        </li>
    }
}

/// "connected", "unreachable" or "disabled", as a badge.
#[component]
fn StateBadge(state: Signal<&'static str>) -> impl IntoView {
    move || match state.get() {
        "disabled" => view! { <span class="badge badge-off reach">"disabled"</span> }.into_any(),
        s => view! { <ReachBadge reachable={s == "connected"}/> }.into_any(),
    }
}

/// The state in words: since when, and how fast or why not. (How berth
/// reaches the host is said beside it.)
fn state_text(status: &HostStatus, enabled: bool) -> String {
    let at = format_ts(status.since_ns);
    if !enabled {
        return format!("Disabled since {at}: berth keeps it but does not connect to it.");
    }
    if !status.reachable {
        return match status.error.as_deref().and_then(presented_fingerprint) {
            Some(_) => format!("Unreachable since {at}: the agent's certificate changed (see below)."),
            None => since(status),
        };
    }
    let mut parts = vec![since(status)];
    parts.extend(status.rtt_us.map(|us| format!("round trip {}", rtt_label(us))));
    parts.push(engine(status));
    parts.extend(status.agent_version.as_ref().map(|v| format!("agent {v}")));
    parts.join(" · ")
}

/// A pinned fingerprint: shortened on screen, whole in its title and when
/// selected or copied.
#[component]
fn Fingerprint(fp: String, hydrated: RwSignal<bool>) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let (title, text) = (fp.clone(), fp.clone());
    view! {
        <code class="fingerprint" title=title>{fp}</code>
        {move || hydrated.get().then(|| {
            let text = text.clone();
            view! {
                <button type="button" class="btn btn-small copy" on:click=move |_| copied.set(Some(clipboard::copy(&text)))>
                    {move || match copied.get() {
                        Some(true) => "Copied",
                        Some(false) => "Select it to copy",
                        None => "Copy",
                    }}
                </button>
            }
        })}
    }
}

/// Rename, disable or enable, and remove, for a host added here. Each is a
/// form of its own; rename and remove open first (a `<details>`), so
/// nothing changes on a single click but disable and enable.
#[component]
fn Controls(name: String, enabled: bool, changes: Changes) -> impl IntoView {
    let pending = move || changes.pending();
    let (toggle_label, toggle_action) = if enabled {
        ("Disable", "disable")
    } else {
        ("Enable", "enable")
    };
    // Each form's children own their copy of the name.
    let (rename_host, rename_value, toggle_host) = (name.clone(), name.clone(), name.clone());
    let (remove_host, question, confirm) = (
        name.clone(),
        format!("Remove host {name}? berth stops managing it and forgets its address and token. "),
        format!("Remove {name}"),
    );
    view! {
        <div class="entry-actions">
            <ActionForm action=changes.enable attr:class="inline">
                <input type="hidden" name="host" value=toggle_host/>
                <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                <button type="submit" class="btn btn-small" data-action=toggle_action disabled=pending>{toggle_label}</button>
            </ActionForm>
            <details class="entry-action rename">
                <summary class="btn btn-small" data-action="rename">"Rename…"</summary>
                <ActionForm action=changes.rename attr:class="entry-form">
                    <input type="hidden" name="host" value=rename_host/>
                    <label>
                        <span>"New name "<span class="muted">"(a-z, 0-9, '.', '_', '-')"</span></span>
                        <input name="new_name" value=rename_value required autocomplete="off" spellcheck="false"/>
                    </label>
                    <p class="muted small">"Grants that name the host follow it; its past events keep the old name."</p>
                    <button type="submit" class="btn btn-small btn-primary" data-action="rename-confirm" disabled=pending>"Rename"</button>
                </ActionForm>
            </details>
            <details class="entry-action remove">
                <summary class="btn btn-small btn-danger" data-action="remove">"Remove…"</summary>
                <ActionForm action=changes.remove attr:class="entry-form">
                    <input type="hidden" name="host" value=remove_host/>
                    <p class="remove-question">{question}"Its history stays in the event log."</p>
                    <button type="submit" class="btn btn-small btn-danger" data-action="remove-confirm" disabled=pending>
                        {confirm}
                    </button>
                </ActionForm>
            </details>
        </div>
    }
}

/// The way back for an agent that presents another certificate than the
/// pinned one: the admin compares what it presents now with what
/// `berth agent init` printed, and pins it.
#[component]
fn AcceptForm(name: String, address: String, pinned: String, presented: String, changes: Changes) -> impl IntoView {
    let shown = presented.clone();
    view! {
        <div class="note fingerprint-changed" role="note">
            <p>
                <strong>"The agent's certificate changed."</strong>
                {format!(" The agent at {address} presents another certificate than the one berth pinned, so berth sends it nothing.")}
            </p>
            <dl class="fields fingerprints">
                <dt>"It presents"</dt><dd><code class="fingerprint-full presented">{shown}</code></dd>
                <dt>"berth pinned"</dt><dd><code class="fingerprint-full">{pinned}</code></dd>
            </dl>
            <p>
                "If its agent was set up again ("<code>"berth agent init"</code>"), compare the fingerprint that printed "
                "with the one it presents; if they are the same, accept it. If not, something else answers at that "
                "address: do not accept."
            </p>
            <details class="entry-action accept">
                <summary class="btn btn-small" data-action="accept">"Accept new fingerprint…"</summary>
                <ActionForm action=changes.accept attr:class="entry-form">
                    <input type="hidden" name="host" value=name.clone()/>
                    <label>
                        "The fingerprint it presents now"
                        <input name="fingerprint" class="fingerprint-input" value=presented required autocomplete="off" spellcheck="false"/>
                    </label>
                    <button type="submit" class="btn btn-small btn-primary" data-action="accept-confirm" disabled=move || changes.pending()>
                        "Pin this fingerprint"
                    </button>
                </ActionForm>
            </details>
        </div>
    }
}

/// The fingerprint an agent presented, from a host's error when its
/// certificate changed ("the agent's certificate changed: it presented
/// sha256:…, but berth pinned sha256:… …"); `None` for any other error.
fn presented_fingerprint(error: &str) -> Option<String> {
    const SAID: &str = "the agent's certificate changed: it presented ";
    let at = error.find(SAID)? + SAID.len();
    let fp = error[at..].split([',', ' ']).next()?;
    let hex = fp.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| fp.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presented_fingerprint_is_read_from_the_error() {
        let new = format!("sha256:{}", "ab".repeat(32));
        let old = format!("sha256:{}", "cd".repeat(32));
        let error = format!(
            "the agent's certificate changed: it presented {new}, but berth pinned {old} for this host. If the agent \
             was set up again, an admin accepts the new fingerprint; if not, something else answers at \
             https://10.0.0.6:7443. Nothing was sent to it."
        );
        assert_eq!(presented_fingerprint(&error), Some(new));
        assert_eq!(
            presented_fingerprint("no TLS handshake with the agent at https://x: reset"),
            None
        );
        assert_eq!(
            presented_fingerprint("the agent's certificate changed: it presented sha256:<b>, but"),
            None,
            "only a well-formed fingerprint is offered"
        );
    }

    #[test]
    fn a_disabled_host_says_so_whatever_its_last_state() {
        let status: HostStatus = serde_json::from_value(serde_json::json!({
            "id": "edge-1", "reachable": false, "since_ns": 1_700_000_000_000_000_000i64, "error": "disabled",
            "engine_version": null, "api_version": null, "transport": "agent",
        }))
        .unwrap();
        assert_eq!(
            state_text(&status, false),
            "Disabled since 2023-11-14 22:13:20.000 UTC: berth keeps it but does not connect to it."
        );
        assert_eq!(
            state_text(&status, true),
            "Unreachable since 2023-11-14 22:13:20.000 UTC: disabled"
        );
    }

    #[test]
    fn a_host_in_words() {
        let mut status: HostStatus = serde_json::from_value(serde_json::json!({
            "id": "edge-1", "reachable": true, "since_ns": 1_700_000_000_000_000_000i64, "error": null,
            "engine_version": "27.1.0", "api_version": "1.46", "transport": "agent", "agent_version": "0.1.0",
            "rtt_us": 1200,
        }))
        .unwrap();
        assert_eq!(
            state_text(&status, true),
            "Connected since 2023-11-14 22:13:20.000 UTC · round trip 1.2 ms · Docker 27.1.0 · API 1.46 · agent 0.1.0"
        );
        status.reachable = false;
        status.error = Some(format!(
            "the agent's certificate changed: it presented sha256:{}, but berth pinned sha256:{} for this host.",
            "ab".repeat(32),
            "cd".repeat(32)
        ));
        assert_eq!(
            state_text(&status, true),
            "Unreachable since 2023-11-14 22:13:20.000 UTC: the agent's certificate changed (see below)."
        );
    }
}
