//! The silences of a rule's form: one-off (from, until) and weekly (days,
//! a start and a length), all in UTC, added and removed in place.

use super::rule_fields::{RuleFields, SilenceFields};
use leptos::prelude::*;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[component]
pub(super) fn Silences(fields: RwSignal<RuleFields>) -> impl IntoView {
    let rows = move || fields.with(|f| f.silences.iter().map(|s| (s.key, s.weekly)).collect::<Vec<_>>());
    view! {
        <fieldset class="rule-group silences" id="silences">
            <legend>"Silences"</legend>
            <p class="hint">
                "While a silence holds, the rule's alerts still fire and are recorded, but nobody is told; "
                "when it ends, the channels hear of those still firing. Times are UTC."
            </p>
            <ul class="silence-list">
                <For each=rows key=|row| *row let((key, weekly))>
                    <li class="silence" data-key=key.to_string()>
                        {if weekly { weekly_row(fields, key).into_any() } else { once_row(fields, key).into_any() }}
                        <button type="button" class="btn btn-small btn-quiet silence-remove"
                            on:click=move |_| fields.update(|f| f.silences.retain(|s| s.key != key))>
                            "Remove"
                        </button>
                    </li>
                </For>
            </ul>
            <div class="actions">
                <button type="button" class="btn btn-small" id="add-once" on:click=move |_| fields.update(|f| f.add_silence(false))>
                    "+ One-off silence"
                </button>
                <button type="button" class="btn btn-small" id="add-weekly" on:click=move |_| fields.update(|f| f.add_silence(true))>
                    "+ Weekly silence"
                </button>
            </div>
        </fieldset>
    }
}

/// An input bound to one text field of silence `key`.
fn input(
    fields: RwSignal<RuleFields>,
    key: usize,
    label: &'static str,
    kind: &'static str,
    get: fn(&SilenceFields) -> &String,
    set: fn(&mut SilenceFields, String),
) -> impl IntoView {
    let id = format!("silence-{key}-{}", label.to_lowercase().replace([' ', '(', ')'], ""));
    let value = move || {
        fields.with(|f| {
            f.silences
                .iter()
                .find(|s| s.key == key)
                .map(|s| get(s).clone())
                .unwrap_or_default()
        })
    };
    let label_for = id.clone();
    view! {
        <label for=label_for>{label}
            <input id=id type=kind prop:value=value
                on:input=move |ev| fields.update(|f| if let Some(s) = f.silence(key) { set(s, event_target_value(&ev)) })/>
        </label>
    }
}

fn once_row(fields: RwSignal<RuleFields>, key: usize) -> impl IntoView {
    view! {
        <div class="silence-fields">
            <span class="badge badge-off">"one-off"</span>
            {input(fields, key, "From (UTC)", "datetime-local", |s| &s.from, |s, v| s.from = v)}
            {input(fields, key, "Until (UTC)", "datetime-local", |s| &s.until, |s, v| s.until = v)}
            {input(fields, key, "Comment", "text", |s| &s.comment, |s, v| s.comment = v)}
        </div>
    }
}

fn weekly_row(fields: RwSignal<RuleFields>, key: usize) -> impl IntoView {
    let day = move |d: usize| {
        let checked = move || fields.with(|f| f.silences.iter().find(|s| s.key == key).is_some_and(|s| s.days[d]));
        view! {
            <label class="toggle day">
                <input type="checkbox" prop:checked=checked
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        fields.update(|f| if let Some(s) = f.silence(key) { s.days[d] = on });
                    }/>
                {DAYS[d]}
            </label>
        }
    };
    view! {
        <div class="silence-fields">
            <span class="badge badge-off">"weekly"</span>
            <div class="days" role="group" aria-label="Days">{(0..7).map(day).collect_view()}</div>
            {input(fields, key, "Start (UTC)", "time", |s| &s.start, |s, v| s.start = v)}
            {input(fields, key, "Minutes", "number", |s| &s.minutes, |s, v| s.minutes = v)}
            {input(fields, key, "Comment", "text", |s| &s.comment, |s, v| s.comment = v)}
        </div>
    }
}
