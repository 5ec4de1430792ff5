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

/// The chain badge's words: what the last walk vouched for and when, and
/// how many events came after it (the log does not stop while the badge
/// shows). `head` is the newest seq in the log now.
#[derive(Clone, Debug, PartialEq)]
struct ChainSummary {
    /// `chain-ok`, `chain-pending` or `chain-broken`.
    class: &'static str,
    /// What the walk found, e.g. "✓ Hash chain intact: events 1–2 verified".
    found: String,
    /// When it ran, and what it has not seen.
    since: Option<String>,
}

fn chain_summary(status: &ChainStatus, head: u64) -> ChainSummary {
    let Some(at) = status.verified_at_ns else {
        return ChainSummary {
            class: "chain-pending",
            found: "Chain not verified yet".into(),
            since: (head > 0).then(|| format!("{} in the log, none verified yet", event_count(head))),
        };
    };
    if let Some(seq) = status.broken_at {
        return ChainSummary {
            class: "chain-broken",
            found: format!(
                "✗ Chain broken at event {}: {}",
                seq.0,
                status.problem.clone().unwrap_or_default()
            ),
            since: Some(format!("found by the check at {}", format_ts(at))),
        };
    }
    let found = match status.checked {
        0 => "✓ Hash chain intact (it was empty)".to_string(),
        n => format!("✓ Hash chain intact: events 1–{n} verified"),
    };
    let later = head.saturating_sub(status.checked);
    let since = match later {
        0 => format!("checked at {}", format_ts(at)),
        n => format!(
            "checked at {}; {} recorded since, not verified yet",
            format_ts(at),
            event_count(n)
        ),
    };
    ChainSummary {
        class: "chain-ok",
        found,
        since: Some(since),
    }
}

/// The chain's state as of its last walk, with when that was and how far
/// the log has grown since (`head`: the newest seq in the log now).
#[component]
pub fn ChainBadge(status: ChainStatus, #[prop(into)] head: Signal<u64>) -> impl IntoView {
    let summary = Memo::new(move |_| chain_summary(&status, head.get()));
    let class = move || summary.with(|s| s.class);
    let role = move || (class() == "chain-broken").then_some("alert");
    view! {
        <span class=move || format!("chain {}", class()) role=role>{move || summary.with(|s| s.found.clone())}</span>
        {move || summary.with(|s| s.since.clone()).map(|since| view! { " "<span class="chain-since muted small">{since}</span> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::EventSeq;

    fn walked(checked: u64) -> ChainStatus {
        ChainStatus {
            checked,
            broken_at: None,
            problem: None,
            verified_at_ns: Some(1_700_000_000_123_000_000),
        }
    }

    #[test]
    fn a_check_behind_the_log_says_when_it_ran_and_how_many_came_after() {
        let s = chain_summary(&walked(2), 313);
        assert_eq!(s.class, "chain-ok");
        assert_eq!(s.found, "✓ Hash chain intact: events 1–2 verified");
        assert_eq!(
            s.since.as_deref(),
            Some("checked at 2023-11-14 22:13:20.123 UTC; 311 events recorded since, not verified yet")
        );
        let current = chain_summary(&walked(313), 313);
        assert_eq!(current.since.as_deref(), Some("checked at 2023-11-14 22:13:20.123 UTC"));
        assert_eq!(
            chain_summary(&walked(2), 3).since.as_deref(),
            Some("checked at 2023-11-14 22:13:20.123 UTC; 1 event recorded since, not verified yet")
        );
    }

    #[test]
    fn no_check_yet_and_a_broken_chain_say_so() {
        let none = ChainStatus {
            verified_at_ns: None,
            ..walked(0)
        };
        let s = chain_summary(&none, 5);
        assert_eq!((s.class, s.found.as_str()), ("chain-pending", "Chain not verified yet"));
        assert_eq!(s.since.as_deref(), Some("5 events in the log, none verified yet"));
        let broken = ChainStatus {
            broken_at: Some(EventSeq(7)),
            problem: Some("its hash does not match".into()),
            ..walked(6)
        };
        let s = chain_summary(&broken, 9);
        assert_eq!(s.class, "chain-broken");
        assert_eq!(s.found, "✗ Chain broken at event 7: its hash does not match");
    }
}
