//! The event log page's "Checkpoints" panel: the key that checks berth's
//! signed checkpoints, the latest checkpoint and the witnesses that cosigned
//! it, and for admins a button that signs one now. What a checkpoint is, and
//! how it is checked, is `berth_core::tlog`'s business.

use crate::api::log::{SignCheckpoint, log_status};
use crate::components::clipboard;
use crate::components::status::{ErrorBox, event_count};
use berth_core::model::{CheckpointInfo, LogStatus, Operation, format_ts};
use leptos::prelude::*;

const NS_PER_SEC: i64 = 1_000_000_000;

/// `signed_live`: the newest `log.checkpoint` event the page saw arrive live
/// (the background signer's work), so the panel follows it without a reload.
#[component]
pub(super) fn CheckpointsPanel(#[prop(into)] signed_live: Signal<Option<u64>>) -> impl IntoView {
    let sign = ServerAction::<SignCheckpoint>::new();
    let status = Resource::new(move || (sign.version().get(), signed_live.get()), |_| log_status());
    let perms = super::permissions();
    let sign_error = move || {
        sign.value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <div id="sign-error"><ErrorBox error=e/></div> })
    };
    view! {
        <section class="card checkpoints" id="checkpoints" aria-labelledby="checkpoints-title">
            <div class="section-head">
                <h2 id="checkpoints-title">"Checkpoints"</h2>
                <div class="actions">
                    <a class="btn btn-small" href="/api/v1/log/checkpoint" id="checkpoint-text">"Latest checkpoint (text)"</a>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            perms.await.allows(Operation::SignCheckpoint, None).then(|| view! {
                                <ActionForm action=sign attr:class="inline">
                                    <button type="submit" class="btn btn-small" id="sign-checkpoint" disabled=move || sign.pending().get()>
                                        {move || if sign.pending().get() { "Signing…" } else { "Sign now" }}
                                    </button>
                                </ActionForm>
                            })
                        })}
                    </Suspense>
                </div>
            </div>
            {sign_error}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(status) => view! { <LogFields status/> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LogFields(status: LogStatus) -> impl IntoView {
    let latest = match status.checkpoint {
        Some(checkpoint) => view! { <Latest checkpoint/> }.into_any(),
        None => view! {
            <dt>"Latest"</dt>
            <dd id="checkpoint">"None signed yet: berth signs one within a minute of new events."</dd>
        }
        .into_any(),
    };
    view! {
        <dl class="fields log-fields">
            <dt>"Public key"</dt>
            <dd>
                <PublicKey key=status.key/>
                <p class="hint">"Auditors check berth's checkpoints and proofs with this key."</p>
            </dd>
            {latest}
        </dl>
    }
}

/// The key in full, selectable in one click, with a copy button.
#[component]
fn PublicKey(key: String) -> impl IntoView {
    let copied: RwSignal<Option<bool>> = RwSignal::new(None);
    let text = key.clone();
    let copy = move |_| copied.set(Some(clipboard::copy(&text)));
    view! {
        <div class="key-row">
            <code class="log-key" id="log-key">{key}</code>
            <button type="button" class="btn btn-small" id="log-key-copy" on:click=copy>"Copy"</button>
            {move || copied.get().map(|ok| match ok {
                true => view! { <span class="small">"Copied."</span> }.into_any(),
                false => view! { <span class="small">"Copying failed here: select the key and copy it by hand."</span> }.into_any(),
            })}
        </div>
    }
}

/// The latest checkpoint: its size, when it was signed, its root (cut
/// short; the whole in its title) and its witnesses.
#[component]
fn Latest(checkpoint: CheckpointInfo) -> impl IntoView {
    let CheckpointInfo {
        size,
        root,
        signed_at_ns,
        cosigned,
        ..
    } = checkpoint;
    let short_root = format!("{}…", root.chars().take(12).collect::<String>());
    let witnesses = if cosigned.is_empty() {
        view! { <span class="muted">"No witness has cosigned the latest checkpoint."</span> }.into_any()
    } else {
        let list = cosigned
            .into_iter()
            .map(|c| {
                let at_ns = i64::try_from(c.at_s).unwrap_or(i64::MAX).saturating_mul(NS_PER_SEC);
                view! { <li>"Cosigned by "<strong>{c.witness}</strong>" at "{format_ts(at_ns)}</li> }
            })
            .collect_view();
        view! { <ul class="witnesses">{list}</ul> }.into_any()
    };
    view! {
        <dt>"Latest"</dt>
        <dd id="checkpoint" data-size=size>
            <strong id="checkpoint-size">{event_count(size)}</strong>
            {format!(", signed {} · root ", format_ts(signed_at_ns))}
            <code class="hash" title=format!("Root hash {root}")>{short_root}</code>
        </dd>
        <dt>"Witnesses"</dt>
        <dd id="witnesses">{witnesses}</dd>
    }
}
