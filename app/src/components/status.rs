//! Small status displays: error boxes, outcome badges, the chain's state.

use crate::error::AppError;
use berth_core::model::{ChainStatus, Outcome, format_ts};
use leptos::prelude::*;

/// An error as a person should see it, with a way forward when there is one.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    use berth_core::model::ErrorKind;
    let hint = match error.kind {
        ErrorKind::Unauthenticated => Some(view! { <a href="/login">"Sign in"</a> }.into_any()),
        ErrorKind::Denied => Some(view! { <span>"Ask an admin for access."</span> }.into_any()),
        _ => None,
    };
    view! {
        <div class="alert alert-error" role="alert">
            <strong>{error.to_string()}</strong>
            " "
            {hint}
        </div>
    }
}

/// "1 event", "2 events".
pub fn event_count(n: u64) -> String {
    match n {
        1 => "1 event".to_string(),
        n => format!("{n} events"),
    }
}

#[component]
pub fn OutcomeBadge(outcome: Outcome) -> impl IntoView {
    let label = outcome.label();
    let title = outcome.message().to_string();
    view! { <span class=format!("badge badge-{label}") title=title>{label}</span> }
}

#[component]
pub fn ChainBadge(status: ChainStatus) -> impl IntoView {
    match (status.verified_at_ns, status.broken_at) {
        (None, _) => view! { <span class="chain chain-pending">"Chain not verified yet"</span> }.into_any(),
        (Some(at), None) => view! {
            <span class="chain chain-ok" title=format!("Last walked at {}", format_ts(at))>
                {match status.checked {
                    0 => "✓ Hash chain intact (it was empty)".to_string(),
                    n => format!("✓ Hash chain intact: events 1–{n} verified"),
                }}
            </span>
        }
        .into_any(),
        (Some(_), Some(seq)) => view! {
            <span class="chain chain-broken" role="alert">
                {format!("✗ Chain broken at event {}: {}", seq.0, status.problem.unwrap_or_default())}
            </span>
        }
        .into_any(),
    }
}
