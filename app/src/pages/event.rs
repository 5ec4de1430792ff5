//! `/events/{seq}`: one event with every field, its details and its links in
//! the hash chain, and a check, run in the browser, that it is in the log's
//! signed tree.

use crate::api::log::{event_proof, log_status};
use crate::api::ops::get_event;
use crate::components::status::{ErrorBox, OutcomeBadge};
use crate::proof::{self, Refusal};
use berth_core::model::ops::GetEvent;
use berth_core::model::{Event, EventSeq, format_ts};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn EventPage() -> impl IntoView {
    let params = use_params_map();
    let seq = Memo::new(move |_| params.read().get("seq").and_then(|s| s.parse::<u64>().ok()));
    let event = Resource::new(
        move || seq.get(),
        |seq| async move {
            match seq {
                Some(s) => get_event(GetEvent { seq: EventSeq(s) }).await,
                None => Err(crate::error::AppError::new(
                    berth_core::model::ErrorKind::NotFound,
                    "an event number is a positive whole number",
                )),
            }
        },
    );
    let log = Resource::new(|| (), |_| log_status());
    view! {
        <Title text=move || format!("Event {}", seq.get().unwrap_or_default())/>
        <p><a href="/events">"← Event log"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match event.await {
                    Err(e) => view! { <h1>"Event not found"</h1><ErrorBox error=e/> }.into_any(),
                    Ok(e) => {
                        let server_key = log.await.ok().map(|status| status.key);
                        let seq = e.seq.0;
                        let details = if e.details.is_null() { "–".to_string() } else { serde_json::to_string_pretty(&e.details).unwrap_or_default() };
                        let dash = || "–".to_string();
                        view! {
                            <h1>{format!("Event {seq}: {}", e.kind)}</h1>
                            <dl class="fields card">
                                <dt>"Time"</dt><dd>{format_ts(e.ts_ns)}</dd>
                                <dt>"Kind"</dt><dd><code>{e.kind.clone()}</code></dd>
                                <dt>"Actor"</dt><dd>{e.actor.to_string()}</dd>
                                <dt>"Source"</dt><dd>{e.source.clone().unwrap_or_else(dash)}</dd>
                                <dt>"Host"</dt><dd>{e.host.clone().unwrap_or_else(dash)}</dd>
                                <dt>"Target"</dt><dd>{e.target.clone().unwrap_or_else(dash)}</dd>
                                <dt>"Outcome"</dt><dd><OutcomeBadge outcome=e.outcome.clone()/>" "{e.outcome.message().to_string()}</dd>
                                <dt>"Duration"</dt><dd>{e.duration_us.map(|d| format!("{:.3} ms", d as f64 / 1000.0)).unwrap_or_else(dash)}</dd>
                                <dt>"Details"</dt><dd><pre>{details}</pre></dd>
                                <dt>"Previous hash"</dt><dd><code class="hash">{e.prev_hash.to_hex()}</code></dd>
                                <dt>"Hash"</dt><dd><code class="hash">{e.hash.to_hex()}</code></dd>
                            </dl>
                            <nav class="pager">
                                {(seq > 1).then(|| view! { <a class="btn" href=format!("/events/{}", seq - 1)>"← Previous"</a> })}
                                <a class="btn" href=format!("/events/{}", seq + 1)>"Next →"</a>
                            </nav>
                            <VerifyInBrowser event=e.clone() server_key/>
                            {(e.kind == "terminal.close").then(|| view! { <super::replay::Replay event=e.clone()/> })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Fetches the event's proof file and checks it here (`crate::proof`),
/// against a key the person may replace with one they got from elsewhere.
#[component]
fn VerifyInBrowser(event: Event, server_key: Option<String>) -> impl IntoView {
    let seq = event.seq;
    // Read when submitted, so whatever filled the field (typing, pasting) counts.
    let key_field = NodeRef::<leptos::html::Input>::new();
    let verify = Action::new(move |key: &String| {
        let (key, event) = (key.clone(), event.clone());
        async move {
            let text = event_proof(event.seq.0).await.map_err(Refusal::Fetch)?;
            proof::check(&text, &key, &event)
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let key = key_field.get_untracked().map(|el| el.value()).unwrap_or_default();
        verify.dispatch(key);
    };
    // A verdict is about the key it was given: editing the key drops it.
    let forget = move |_| verify.value().set(None);
    let verdict = move || {
        verify.value().with(|outcome| {
            outcome.as_ref().map(|outcome| match outcome {
                Ok(included) => view! {
                    <p class="alert alert-ok" role="status" id="verify-result">
                        {format!("✓ {included}; checked in this browser")}
                    </p>
                }
                .into_any(),
                Err(refusal) => view! {
                    <p class="alert alert-error" role="alert" id="verify-result">{format!("✗ Not verified: {refusal}")}</p>
                }
                .into_any(),
            })
        })
    };
    view! {
        <section class="card verify" aria-labelledby="verify-title">
            <h2 id="verify-title">"Verify in the browser"</h2>
            <p class="muted">
                "Fetches this event's proof from berth and checks it here: the checkpoint is signed by the key below, "
                "this event is in the checkpoint's tree, and the proof is about this event."
            </p>
            <form class="verify-form" on:submit=submit>
                <label for="verify-key">"The log's public key"</label>
                <div class="key-row">
                    <input id="verify-key" class="log-key" value=server_key.unwrap_or_default() node_ref=key_field
                        spellcheck="false" autocomplete="off" placeholder="origin+key id+base64 key" on:input=forget/>
                    <button type="submit" class="btn btn-primary" id="verify-proof" disabled=move || verify.pending().get()>
                        {move || if verify.pending().get() { "Verifying…" } else { "Verify" }}
                    </button>
                    <a class="btn" href=format!("/api/v1/log/proof/event/{}", seq.0) download=format!("berth-event-{}.proof", seq.0)>
                        "Download proof"
                    </a>
                </div>
                <p class="hint">"Paste the key you got from the operator to check against it rather than this server's word."</p>
            </form>
            {verdict}
        </section>
    }
}
