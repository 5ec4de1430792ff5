//! `/containers/{host}/{id}/terminal`: a shell (or a command) in a running
//! container, in xterm.js, recorded. The command and user are asked here
//! and fixed in the ticket; the terminal itself is `components::xterm`.

use crate::api::ops::inspect_container;
use crate::api::terminal::terminal_ticket;
use crate::components::status::ErrorBox;
use crate::components::xterm::{self, Connection};
use berth_core::model::ops::InspectContainer;
use berth_core::model::{ContainerDetail, ContainerState, HostId, Operation};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// Where the terminal is.
#[derive(Clone, Debug, PartialEq)]
enum Status {
    Idle,
    Connecting,
    Open,
    /// Open, but no longer recorded (`recording = "continue"`).
    Unrecorded(String),
    Closed(String),
    Failed(String),
}

#[component]
pub fn TerminalPage() -> impl IntoView {
    let params = use_params_map();
    let key = Memo::new(move |_| {
        let p = params.read();
        (p.get("host").unwrap_or_default(), p.get("id").unwrap_or_default())
    });
    let detail = Resource::new(
        move || key.get(),
        |(host, id)| inspect_container(InspectContainer { host: HostId(host), id }),
    );
    let perms = super::permissions();
    view! {
        <Title text=move || format!("Terminal · {}", key.get().1)/>
        <p><a href=move || { let (h, i) = key.get(); format!("/containers/{h}/{i}") }>"← Container"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (detail, perms) = (detail.await, perms.await);
                let host = key.get_untracked().0;
                match detail {
                    Err(e) => view! { <h1>"No terminal"</h1><ErrorBox error=e/> }.into_any(),
                    Ok(_) if !perms.allows(Operation::OpenTerminal, Some(&host)) => view! {
                        <h1>"Terminal"</h1>
                        <p class="alert alert-error" role="alert">
                            {format!("Opening a terminal needs the terminal right on host {host}; ask an admin for it.")}
                        </p>
                    }.into_any(),
                    Ok(d) => view! { <Console host d/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Console(host: String, d: ContainerDetail) -> impl IntoView {
    let status = RwSignal::new(Status::Idle);
    let command = NodeRef::<leptos::html::Input>::new();
    let user = NodeRef::<leptos::html::Input>::new();
    let screen = NodeRef::<leptos::html::Div>::new();
    let connection = StoredValue::new_local(None::<Connection>);
    let running = d.state == ContainerState::Running;
    let (id, name) = (d.id.clone(), d.name.clone());
    let connect = move |ev: SubmitEvent| {
        ev.prevent_default();
        if matches!(
            status.get_untracked(),
            Status::Connecting | Status::Open | Status::Unrecorded(_)
        ) {
            return;
        }
        let field =
            |r: NodeRef<leptos::html::Input>| r.get_untracked().map(|el| el.value()).filter(|v| !v.trim().is_empty());
        let (command, user) = (field(command), field(user));
        let (host, id) = (host.clone(), id.clone());
        status.set(Status::Connecting);
        leptos::task::spawn_local(async move {
            let ticket = match terminal_ticket(host, id, command, user).await {
                Ok(t) => t,
                Err(e) => return status.set(Status::Failed(e.message)),
            };
            let Some(el) = screen.get_untracked() else { return };
            let el: leptos::web_sys::HtmlElement = (*el).clone();
            let on_status = move |kind: String, message: String| {
                status.set(match kind.as_str() {
                    "open" => Status::Open,
                    "recording_stopped" => Status::Unrecorded(message),
                    _ => Status::Closed(message),
                });
            };
            match xterm::connect(el, format!("/ws/terminal?ticket={ticket}"), on_status).await {
                Ok(c) => connection.set_value(Some(c)),
                Err(e) => status.set(Status::Failed(e)),
            }
        });
    };
    let disconnect = move |_| {
        connection.with_value(|c| {
            if let Some(c) = c {
                c.close()
            }
        })
    };
    on_cleanup(move || {
        connection.try_with_value(|c| {
            if let Some(c) = c {
                c.close()
            }
        });
    });
    let busy = move || matches!(status.get(), Status::Connecting | Status::Open | Status::Unrecorded(_));
    let line = move || {
        match status.get() {
        Status::Idle => view! { <p class="muted" id="terminal-status">"Not connected."</p> }.into_any(),
        Status::Connecting => view! { <p class="muted" id="terminal-status" role="status">"Connecting…"</p> }.into_any(),
        Status::Open => view! { <p class="alert alert-ok" id="terminal-status" role="status">"Connected · recorded"</p> }.into_any(),
        Status::Unrecorded(why) => view! {
            <p class="alert alert-warn" id="terminal-status" role="status">{format!("Connected · no longer recorded: {why}")}</p>
        }.into_any(),
        Status::Closed(why) => view! { <p class="muted" id="terminal-status" role="status">{format!("Closed: {why}")}</p> }.into_any(),
        Status::Failed(why) => view! { <p class="alert alert-error" id="terminal-status" role="alert">{why}</p> }.into_any(),
    }
    };
    view! {
        <div class="section-head">
            <h1>{format!("Terminal · {name}")}</h1>
            <a class="btn" href=format!("/events?kind=terminal.*&target=container:{name}")>"Its sessions →"</a>
        </div>
        {(!running).then(|| view! {
            <p class="alert alert-error" role="alert">{format!("The container is {}: start it to open a terminal.", d.state)}</p>
        })}
        <form class="terminal-form card" on:submit=connect>
            <label for="terminal-command">"Command"</label>
            <input id="terminal-command" name="command" node_ref=command autocomplete="off" spellcheck="false"
                placeholder="blank: its shell (bash, else sh)"/>
            <label for="terminal-user">"User"</label>
            <input id="terminal-user" name="user" node_ref=user autocomplete="off" spellcheck="false"
                placeholder="blank: its own user"/>
            <div class="terminal-buttons">
                <button type="submit" id="terminal-connect" class="btn btn-primary" disabled=move || busy() || !running>"Connect"</button>
                <button type="button" id="terminal-disconnect" class="btn" disabled=move || !busy() on:click=disconnect>"Disconnect"</button>
            </div>
        </form>
        <p class="hint">
            "Recorded: who opened it, when, the command and how it ended go into the event log, and what the terminal "
            "shows (not your keystrokes) is kept for replay. It closes after a while without a keystroke."
        </p>
        {line}
        <div id="terminal-screen" class="terminal-screen" node_ref=screen></div>
    }
}
