//! Adding a host that runs `berth agent`, in two steps once the page runs:
//! check the certificate the agent presents, then add with that fingerprint.

use super::remember;
use crate::api::hosts::AddHostForm;
use crate::api::ops::ProbeAgentCall;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{ProbeAgent, Probed};
use leptos::html;
use leptos::prelude::*;

/// Adding a host that runs `berth agent`: name, address and token, then
/// the certificate's fingerprint. Once the page runs, "Check" asks the
/// agent for it and shows it to compare with what `berth agent init`
/// printed; before that, the admin pastes it. The token goes to the server
/// only and is never shown back.
#[component]
pub(super) fn AddHost(add: ServerAction<AddHostForm>, hydrated: RwSignal<bool>) -> impl IntoView {
    let probe = ServerAction::<ProbeAgentCall>::new();
    let form = NodeRef::<html::Form>::new();
    let url_field = NodeRef::<html::Input>::new();
    // The address that was checked, and the host last asked to be added.
    let checked_url = RwSignal::new(String::new());
    let added = RwSignal::new(None::<String>);
    remember(add, move |a| added.set(Some(a.name)));
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(()))) {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
            probe.value().set(None);
        }
    });
    let check = move |_| {
        let url = url_field.get_untracked().map(|f| f.value()).unwrap_or_default();
        if url.trim().is_empty() {
            probe.value().set(Some(Err(AppError::invalid(
                "enter the agent's address first: https://HOST or https://HOST:PORT",
            ))));
            return;
        }
        checked_url.set(url.clone());
        probe.dispatch(ProbeAgentCall {
            request: ProbeAgent { url },
        });
    };
    let outcome = move || {
        if add.pending().get() {
            return None;
        }
        add.value().get().map(|r| match r {
            Ok(()) => view! {
                <div class="alert alert-ok" role="status" id="add-host-ok">
                    {format!(
                        "Added host {}. berth is connecting to it; the list above shows when it is connected.",
                        added.get().unwrap_or_default()
                    )}
                </div>
            }
            .into_any(),
            Err(e) => view! { <div id="add-host-error"><ErrorBox error=e/></div> }.into_any(),
        })
    };
    let check_button = move |label: &'static str| {
        view! {
            <button type="button" class="btn" id="add-host-check" on:click=check disabled=move || probe.pending().get()>
                {move || if probe.pending().get() { "Checking…" } else { label }}
            </button>
        }
    };
    // Once hydrated: check first, then add with the fingerprint the agent showed.
    let two_steps = move || {
        match probe.value().get() {
        None => view! {
            {check_button("Check the agent")}
            <p class="hint">"berth connects to the address and shows the fingerprint of the certificate the agent presents. It sends nothing, not the token."</p>
        }
        .into_any(),
        Some(Err(e)) => view! {
            <div id="add-host-check-error"><ErrorBox error=e/></div>
            {check_button("Check again")}
        }
        .into_any(),
        Some(Ok(Probed { fingerprint: fp })) => view! {
            <div class="fingerprint-check" id="add-host-checked">
                <p>{format!("The agent at {} presents the certificate", checked_url.get())}</p>
                <code class="fingerprint-full" id="add-host-presented">{fp.clone()}</code>
                <p>
                    "Compare it with the fingerprint that "<code>"berth agent init"</code>" printed on that machine. "
                    <strong>"Add the host only if both are the same"</strong>"; if not, something else answers at this address."
                </p>
                <input type="hidden" name="fingerprint" value=fp/>
                <button type="submit" class="btn btn-primary" id="add-host-submit" disabled=move || add.pending().get()>
                    "Same fingerprint: add the host"
                </button>
            </div>
        }
        .into_any(),
    }
    };
    // Before then: the fingerprint typed in, and one submit.
    let one_step = move || {
        view! {
            <label for="add-host-fingerprint">"Fingerprint "<span class="muted">"(as "<code>"berth agent init"</code>" printed it)"</span></label>
            <input id="add-host-fingerprint" name="fingerprint" required placeholder="sha256:…" autocomplete="off" spellcheck="false"/>
            <button type="submit" class="btn btn-primary">"Add the host"</button>
        }
    };
    view! {
        <section class="card add-host" id="add-host" aria-labelledby="add-host-title">
            <h3 id="add-host-title">"Add a host"</h3>
            <p class="muted small">
                "A machine running "<code>"berth agent"</code>". On it, "<code>"berth agent init --dir DIR --listen ADDRESS:7443"</code>
                " prints the token and the certificate's fingerprint; "<code>"berth agent --dir DIR"</code>" serves."
            </p>
            {outcome}
            <ActionForm action=add node_ref=form attr:class="form" attr:id="add-host-form">
                <label for="add-host-name">"Name "<span class="muted">"(a-z, 0-9, '.', '_', '-'; how berth shows it)"</span></label>
                <input id="add-host-name" name="name" required autocomplete="off" spellcheck="false" placeholder="web-2"/>
                <label for="add-host-url">"Address"</label>
                <input id="add-host-url" name="url" node_ref=url_field required autocomplete="off" spellcheck="false"
                    placeholder="https://10.0.0.6:7443" on:input=move |_| probe.value().set(None)/>
                <label for="add-host-token">"Token"</label>
                <input id="add-host-token" name="token" type="password" required autocomplete="off"
                    placeholder="as berth agent init printed it"/>
                {move || if hydrated.get() { two_steps().into_any() } else { one_step().into_any() }}
            </ActionForm>
        </section>
    }
}
