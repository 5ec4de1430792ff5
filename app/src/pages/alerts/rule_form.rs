//! `/alerts/rules/new` and `/alerts/rules/{id}`: the form that makes or
//! changes a rule. Switching the kind of condition fills that kind's
//! defaults; what does not parse, and what core refuses, shows beside the
//! buttons with everything typed kept.

use super::rule_fields::RuleFields;
use super::saving::Saving;
use super::silences::Silences;
use crate::api::alerts::get_rule;
use crate::api::containers::host_statuses;
use crate::api::ops::{create_alert_rule, list_alert_channels, update_alert_rule};
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{CreateRule, ListChannels, UpdateRule};
use berth_core::model::{AlertRule, Channel, Condition, ErrorKind, Level, Operation, Permissions, RuleSpec, Severity};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// How the kind select names each kind.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "host_cpu" => "Host CPU",
        "host_memory" => "Host memory",
        "host_load" => "Host load per core",
        "disk" => "Filesystem full",
        "container_cpu" => "Container CPU",
        "container_memory" => "Container memory",
        "container_down" => "Container down",
        "unhealthy" => "Container unhealthy",
        "restart_loop" => "Restart loop",
        "oom_killed" => "Killed out of memory",
        "drift" => "Not in its expected state",
        "host_unreachable" => "Host unreachable",
        "log_pattern" => "Log lines matching",
        _ => "Other",
    }
}

/// The unit of a threshold kind's numbers.
fn unit(kind: &str) -> &'static str {
    match kind {
        "host_load" => "load ÷ cores",
        "disk" => "% full",
        "container_cpu" => "% of one core",
        "container_memory" => "% of its limit",
        _ => "%",
    }
}

#[component]
pub fn RulePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let rule = Resource::new(
        move || id.get(),
        |id| async move {
            match id.as_str() {
                "new" => Ok(None),
                n => match n.parse::<u64>() {
                    Ok(n) => get_rule(n).await.map(Some),
                    Err(_) => Err(AppError::new(
                        ErrorKind::NotFound,
                        format!("there is no alert rule '{n}'"),
                    )),
                },
            }
        },
    );
    let channels = Resource::new(|| (), |_| list_alert_channels(ListChannels {}));
    let hosts = Resource::new(|| (), |_| host_statuses());
    let perms = crate::pages::permissions();
    view! {
        <Title text=move || if id.get() == "new" { "New alert rule".to_string() } else { format!("Alert rule {}", id.get()) }/>
        <p><a href="/alerts">"← Alerts"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (rule.await, channels.await) {
                    (Err(e), _) | (_, Err(e)) => view! { <h1>"Cannot show this rule"</h1><ErrorBox error=e/> }.into_any(),
                    (Ok(rule), Ok(channels)) => {
                        let hosts: Vec<String> = hosts.await.unwrap_or_default().into_iter().map(|h| h.id.0).collect();
                        view! { <RuleForm rule channels hosts perms=perms.await/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// An input bound to one text field of the form, with its label and hint.
fn field(
    fields: RwSignal<RuleFields>,
    id: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    get: fn(&RuleFields) -> &String,
    set: fn(&mut RuleFields, String),
) -> impl IntoView {
    view! {
        <label for=id>{label}
            <input id=id prop:value=move || fields.with(|f| get(f).clone()) autocomplete="off"
                on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev)))/>
            {hint.map(|h| view! { <span class="hint">{h}</span> })}
        </label>
    }
}

/// A checkbox bound to one flag of the form.
fn flag(
    fields: RwSignal<RuleFields>,
    id: &'static str,
    label: &'static str,
    get: fn(&RuleFields) -> bool,
    set: fn(&mut RuleFields, bool),
) -> impl IntoView {
    view! {
        <label class="toggle" for=id>
            <input type="checkbox" id=id prop:checked=move || fields.with(get)
                on:change=move |ev| fields.update(|f| set(f, event_target_checked(&ev)))/>
            {label}
        </label>
    }
}

/// The fields of the kind of condition picked.
fn condition_fields(fields: RwSignal<RuleFields>, kind: &str) -> AnyView {
    let within = || {
        field(
            fields,
            "rule-within",
            "Window",
            Some("e.g. 10 min, 1 h, 900"),
            |f| &f.within,
            |f, v| f.within = v,
        )
    };
    match kind {
        "host_cpu" | "host_memory" | "host_load" | "disk" | "container_cpu" | "container_memory" => {
            let unit = unit(kind);
            view! {
                <div class="field-row">
                    <label for="rule-above">{format!("Fires above ({unit})")}
                        <input id="rule-above" inputmode="decimal" prop:value=move || fields.with(|f| f.above.clone())
                            on:input=move |ev| fields.update(|f| f.above = event_target_value(&ev))/>
                    </label>
                    <label for="rule-recover">{format!("Resolves at or below ({unit})")}
                        <input id="rule-recover" inputmode="decimal" prop:value=move || fields.with(|f| f.recover.clone())
                            on:input=move |ev| fields.update(|f| f.recover = event_target_value(&ev))/>
                    </label>
                    {(kind == "disk").then(|| field(fields, "rule-mount", "Mount point", Some("empty: every filesystem"), |f| &f.mount, |f, v| f.mount = v))}
                </div>
            }
            .into_any()
        }
        "restart_loop" => view! {
            <div class="field-row">
                {field(fields, "rule-restarts", "Restarts", None, |f| &f.restarts, |f, v| f.restarts = v)}
                {within()}
            </div>
        }
        .into_any(),
        "oom_killed" => view! { <div class="field-row">{within()}</div> }.into_any(),
        "log_pattern" => view! {
            <div class="field-row">
                {field(fields, "rule-pattern", "Pattern", Some("text to find in a line, or a regular expression"), |f| &f.pattern, |f, v| f.pattern = v)}
                {field(fields, "rule-count", "Lines", Some("at least this many within the window"), |f| &f.count, |f, v| f.count = v)}
                {within()}
            </div>
            <div class="field-row checks">
                {flag(fields, "rule-regex", "Regular expression", |f| f.regex, |f, on| f.regex = on)}
                {flag(fields, "rule-case", "Case sensitive", |f| f.case_sensitive, |f, on| f.case_sensitive = on)}
            </div>
        }
        .into_any(),
        _ => view! { <p class="hint">"This kind has no settings of its own."</p> }.into_any(),
    }
}

#[component]
fn RuleForm(rule: Option<AlertRule>, channels: Vec<Channel>, hosts: Vec<String>, perms: Permissions) -> impl IntoView {
    let id = rule.as_ref().map(|r| r.id);
    let stored_host = rule.as_ref().and_then(|r| r.spec.scope.host.clone());
    let fields = RwSignal::new(rule.as_ref().map_or_else(
        || {
            RuleFields {
                // Rules on all hosts are for admins: others start on a host they manage.
                host: match perms.admin {
                    true => String::new(),
                    false => hosts
                        .iter()
                        .find(|h| perms.allows(Operation::CreateAlertRule, Some(h)))
                        .cloned()
                        .unwrap_or_default(),
                },
                ..RuleFields::new()
            }
        },
        |r| RuleFields::from_spec(&r.spec),
    ));
    let title = rule
        .as_ref()
        .map_or_else(|| "New alert rule".to_string(), |r| format!("Rule: {}", r.spec.name));
    // May change it: on its host now (new: on some host); core decides regardless.
    let may = match &rule {
        Some(r) => perms.allows(
            Operation::UpdateAlertRule,
            r.spec.scope.host.as_ref().map(|h| h.0.as_str()),
        ),
        None => perms.admin || perms.grants.iter().any(|g| g.level >= Level::Manage),
    };
    let saving = Saving::new("/alerts", move |spec: RuleSpec| async move {
        match id {
            Some(id) => update_alert_rule(UpdateRule { id, spec }).await,
            None => create_alert_rule(CreateRule { spec }).await,
        }
    });
    let save = saving.save;
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saving.submit(fields.with_untracked(RuleFields::to_spec));
    };
    let error = saving.error("rule-error");
    let kind = Memo::new(move |_| fields.with(|f| f.kind.clone()));
    let about_hosts = Memo::new(move |_| fields.with(RuleFields::about_hosts));
    let described = move || match fields.with(RuleFields::condition) {
        Ok(c) => view! { <p class="described" id="rule-described">"Fires on: "{c.describe()}</p> }.into_any(),
        Err(e) => view! { <p class="described muted">{e}</p> }.into_any(),
    };
    // The hosts to pick from: those the caller sees, and the rule's own.
    let mut host_options = hosts;
    if let Some(h) = stored_host
        && !host_options.contains(&h.0)
    {
        host_options.push(h.0);
    }
    let host_options = host_options.into_iter().map(|h| {
        let (value, selected) = (h.clone(), h.clone());
        view! { <option value=value selected=move || fields.with(|f| f.host == selected)>{h}</option> }
    });
    let channel_boxes = if channels.is_empty() {
        view! {
            <p class="hint">"There are no channels yet: the rule's alerts are recorded, and nobody is told. "
                {perms.admin.then(|| view! { <a href="/alerts/channels/new">"Add a channel"</a> })}</p>
        }
        .into_any()
    } else {
        channels
            .into_iter()
            .map(|c| {
                let cid = c.id;
                view! {
                    <label class="toggle channel-choice">
                        <input type="checkbox" name="channel" value=cid.0.to_string()
                            prop:checked=move || fields.with(|f| f.channels.contains(&cid))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                fields.update(|f| {
                                    f.channels.retain(|x| *x != cid);
                                    if on { f.channels.push(cid) }
                                });
                            }/>
                        {c.spec.name.clone()}
                        <span class="muted small">{format!(" {}{}", c.spec.target.kind(), if c.spec.enabled { "" } else { ", off" })}</span>
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <h1>{title}</h1>
        {(!may).then(|| view! {
            <div class="note">"You may read this rule but not change it: that needs the manage level on its host (rules on all hosts: an admin)."</div>
        })}
        <form class="rule-form" id="rule-form" on:submit=submit>
            <fieldset class="rule-group">
                <legend>"Rule"</legend>
                <div class="field-row">
                    {field(fields, "rule-name", "Name", None, |f| &f.name, |f, v| f.name = v)}
                    <label for="rule-severity">"Severity"
                        <select id="rule-severity" on:change=move |ev| {
                            let s = match event_target_value(&ev).as_str() {
                                "info" => Severity::Info,
                                "critical" => Severity::Critical,
                                _ => Severity::Warning,
                            };
                            fields.update(|f| f.severity = s);
                        }>
                            {[Severity::Info, Severity::Warning, Severity::Critical].map(|s| view! {
                                <option value=s.as_str() selected=move || fields.with(|f| f.severity == s)>{s.as_str()}</option>
                            })}
                        </select>
                    </label>
                </div>
                {flag(fields, "rule-enabled", "Enabled", |f| f.enabled, |f, on| f.enabled = on)}
            </fieldset>
            <fieldset class="rule-group">
                <legend>"Condition"</legend>
                <label for="rule-kind">"Kind"
                    <select id="rule-kind" on:change=move |ev| fields.update(|f| f.set_kind(&event_target_value(&ev)))>
                        {Condition::examples().into_iter().map(|c| {
                            let k = c.kind();
                            view! { <option value=k selected=move || kind.get() == k>{kind_label(k)}</option> }
                        }).collect_view()}
                    </select>
                </label>
                {move || condition_fields(fields, &kind.get())}
                {described}
            </fieldset>
            <fieldset class="rule-group">
                <legend>"Where"</legend>
                <div class="field-row">
                    <label for="rule-host">"Host"
                        <select id="rule-host" on:change=move |ev| fields.update(|f| f.host = event_target_value(&ev))>
                            <option value="" selected=move || fields.with(|f| f.host.is_empty())>"All hosts"</option>
                            {host_options.collect_view()}
                        </select>
                    </label>
                    <div hidden=move || about_hosts.get()>
                        {field(fields, "rule-key", "Container key", Some("compose:PROJECT/SERVICE or name:CONTAINER; empty: every container"), |f| &f.key, |f, v| f.key = v)}
                    </div>
                </div>
            </fieldset>
            <fieldset class="rule-group">
                <legend>"Timing"</legend>
                <div class="field-row">
                    {field(fields, "rule-for", "For", Some("how long it must hold before it fires: 0, 90 s, 5 min"), |f| &f.for_span, |f, v| f.for_span = v)}
                    {field(fields, "rule-repeat", "Repeat", Some("tell again this often while firing; 0: once"), |f| &f.repeat, |f, v| f.repeat = v)}
                </div>
            </fieldset>
            <fieldset class="rule-group">
                <legend>"Channels"</legend>
                <div class="channel-choices">{channel_boxes}</div>
            </fieldset>
            <Silences fields/>
            {error}
            <div class="form-buttons">
                {may.then(|| view! {
                    <button type="submit" class="btn btn-primary" id="rule-save" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save rule" }}
                    </button>
                })}
                <a class="btn btn-quiet" href="/alerts">"Cancel"</a>
            </div>
        </form>
    }
}
