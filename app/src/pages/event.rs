//! `/events/{seq}`: one event with every field, its details and its links in
//! the hash chain.

use crate::api::events::get_event;
use crate::components::status::{ErrorBox, OutcomeBadge};
use berth_core::model::format_ts;
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
                Some(s) => get_event(s).await,
                None => Err(crate::error::AppError::new(
                    berth_core::model::ErrorKind::NotFound,
                    "an event number is a positive whole number",
                )),
            }
        },
    );
    view! {
        <Title text=move || format!("Event {}", seq.get().unwrap_or_default())/>
        <p><a href="/events">"← Event log"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match event.await {
                    Err(e) => view! { <h1>"Event not found"</h1><ErrorBox error=e/> }.into_any(),
                    Ok(e) => {
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
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
