//! `/alerts/channels/new` and `/alerts/channels/{id}` (admins): a
//! channel's kind and its settings. Stored secrets show as the mask in
//! password fields: left as they are, they keep what is stored. A saved
//! channel can be sent a test from here.

use super::channel_fields::{ChannelFields, KINDS};
use super::channels::{test_action, test_report};
use super::saving::Saving;
use crate::api::alerts::get_channel;
use crate::api::ops::{create_alert_channel, update_alert_channel};
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{CreateChannel, UpdateChannel};
use berth_core::model::{Channel, ChannelSpec, ErrorKind, MailSecurity, Operation};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ChannelPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let channel = Resource::new(
        move || id.get(),
        |id| async move {
            match id.as_str() {
                "new" => Ok(None),
                n => match n.parse::<u64>() {
                    Ok(n) => get_channel(n).await.map(Some),
                    Err(_) => Err(AppError::new(ErrorKind::NotFound, format!("there is no channel '{n}'"))),
                },
            }
        },
    );
    let perms = crate::pages::permissions();
    view! {
        <Title text=move || if id.get() == "new" { "New channel".to_string() } else { format!("Channel {}", id.get()) }/>
        <p><a href="/alerts#channels">"← Alerts"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = perms.await.allows(Operation::UpdateChannel, None);
                match channel.await {
                    Err(e) => view! { <h1>"Cannot show this channel"</h1><ErrorBox error=e/> }.into_any(),
                    Ok(_) if !admin => view! {
                        <h1>"Channel"</h1>
                        <div class="note">"Only admins add and change notification channels."</div>
                    }
                    .into_any(),
                    Ok(channel) => view! { <ChannelForm channel/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

type Field = fn(&ChannelFields) -> &String;
type FieldSet = fn(&mut ChannelFields, String);

/// A text input bound to one field, with its label and hint.
fn text(
    fields: RwSignal<ChannelFields>,
    id: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    get: Field,
    set: FieldSet,
) -> impl IntoView {
    view! {
        <label for=id>{label}
            <input id=id autocomplete="off" spellcheck="false" prop:value=move || fields.with(|f| get(f).clone())
                on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev)))/>
            {hint.map(|h| view! { <span class="hint">{h}</span> })}
        </label>
    }
}

/// A password input for a secret: the mask while the stored one is kept.
fn secret(
    fields: RwSignal<ChannelFields>,
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    get: Field,
    set: FieldSet,
) -> impl IntoView {
    let kept = move || fields.with(|f| f.keeps(get(f)));
    view! {
        <label for=id>{label}
            <input id=id type="password" autocomplete="new-password" prop:value=move || fields.with(|f| get(f).clone())
                on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev)))/>
            <span class="hint">{move || if kept() { "Stored: leave it as it is to keep it, or type a new one." } else { hint }}</span>
        </label>
    }
}

/// The settings of the kind picked.
fn target_fields(fields: RwSignal<ChannelFields>, kind: &str) -> AnyView {
    match kind {
        "webhook" => view! {
            {text(fields, "channel-url", "URL", Some("berth POSTs each notification here as JSON"), |f| &f.url, |f, v| f.url = v)}
            {secret(fields, "channel-secret", "Signing secret", "At least 16 characters: the receiver checks X-Berth-Signature-256 (HMAC-SHA256 of the body) with it.", |f| &f.secret, |f, v| f.secret = v)}
        }
        .into_any(),
        "slack" | "discord" => view! {
            {secret(fields, "channel-chat-url", "Webhook URL", "The incoming webhook's URL; it is its key, so berth keeps it secret.", |f| &f.chat_url, |f, v| f.chat_url = v)}
        }
        .into_any(),
        "ntfy" => view! {
            {text(fields, "channel-server", "Server", Some("https://ntfy.sh or your own"), |f| &f.server, |f, v| f.server = v)}
            {text(fields, "channel-topic", "Topic", Some("letters, digits, - or _"), |f| &f.topic, |f, v| f.topic = v)}
            {secret(fields, "channel-token", "Access token", "Optional: for a protected topic.", |f| &f.token, |f, v| f.token = v)}
        }
        .into_any(),
        "gotify" => view! {
            {text(fields, "channel-server", "Server", Some("your Gotify server's URL"), |f| &f.server, |f, v| f.server = v)}
            {secret(fields, "channel-token", "Application token", "The token of a Gotify application.", |f| &f.token, |f, v| f.token = v)}
        }
        .into_any(),
        "email" => view! {
            {text(fields, "channel-smtp-host", "SMTP server", None, |f| &f.smtp_host, |f, v| f.smtp_host = v)}
            {text(fields, "channel-smtp-port", "Port", Some("587 with STARTTLS, 465 with TLS"), |f| &f.smtp_port, |f, v| f.smtp_port = v)}
            <label for="channel-security">"Security"
                <select id="channel-security" on:change=move |ev| {
                    let s = match event_target_value(&ev).as_str() {
                        "tls" => MailSecurity::Tls,
                        "none" => MailSecurity::None,
                        _ => MailSecurity::StartTls,
                    };
                    fields.update(|f| f.security = s);
                }>
                    {[(MailSecurity::StartTls, "starttls", "STARTTLS (required)"), (MailSecurity::Tls, "tls", "TLS from the start"),
                      (MailSecurity::None, "none", "None (a relay on this machine only)")].map(|(s, value, label)| view! {
                        <option value=value selected=move || fields.with(|f| f.security == s)>{label}</option>
                    })}
                </select>
            </label>
            {text(fields, "channel-username", "User name", Some("empty: no login"), |f| &f.username, |f, v| f.username = v)}
            {secret(fields, "channel-password", "Password", "With a user name only.", |f| &f.password, |f, v| f.password = v)}
            {text(fields, "channel-from", "From", Some("berth@example.com"), |f| &f.from, |f, v| f.from = v)}
            {text(fields, "channel-to", "To", Some("one or more addresses, separated by commas"), |f| &f.to, |f, v| f.to = v)}
        }
        .into_any(),
        _ => ().into_any(),
    }
}

#[component]
fn ChannelForm(channel: Option<Channel>) -> impl IntoView {
    let id = channel.as_ref().map(|c| c.id);
    let title = channel
        .as_ref()
        .map_or_else(|| "New channel".to_string(), |c| format!("Channel: {}", c.spec.name));
    let saved_name = channel.as_ref().map(|c| c.spec.name.clone()).unwrap_or_default();
    let fields = RwSignal::new(
        channel
            .as_ref()
            .map_or_else(ChannelFields::new, ChannelFields::from_channel),
    );
    let saving = Saving::new("/alerts#channels", move |spec: ChannelSpec| async move {
        match id {
            Some(id) => update_alert_channel(UpdateChannel { id, spec }).await,
            None => create_alert_channel(CreateChannel { spec }).await,
        }
    });
    let save = saving.save;
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saving.submit(fields.with_untracked(ChannelFields::to_spec));
    };
    let error = saving.error("channel-error");
    let kind = Memo::new(move |_| fields.with(|f| f.kind.clone()));
    let test = test_action();
    view! {
        <h1>{title}</h1>
        <form class="rule-form channel-form" id="channel-form" on:submit=submit>
            <fieldset class="rule-group">
                <legend>"Channel"</legend>
                <div class="field-row">
                    {text(fields, "channel-name", "Name", None, |f| &f.name, |f, v| f.name = v)}
                    <label for="channel-kind">"Kind"
                        <select id="channel-kind" on:change=move |ev| fields.update(|f| f.kind = event_target_value(&ev))>
                            {KINDS.map(|(k, label)| view! { <option value=k selected=move || kind.get() == k>{label}</option> })}
                        </select>
                    </label>
                </div>
                <label class="toggle" for="channel-enabled">
                    <input type="checkbox" id="channel-enabled" prop:checked=move || fields.with(|f| f.enabled)
                        on:change=move |ev| fields.update(|f| f.enabled = event_target_checked(&ev))/>
                    "Enabled"
                </label>
            </fieldset>
            <fieldset class="rule-group">
                <legend>"Settings"</legend>
                <div class="field-stack">{move || target_fields(fields, &kind.get())}</div>
            </fieldset>
            {error}
            <div class="form-buttons">
                <button type="submit" class="btn btn-primary" id="channel-save" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save channel" }}
                </button>
                <a class="btn btn-quiet" href="/alerts#channels">"Cancel"</a>
            </div>
        </form>
        {id.map(|id| view! {
            <section class="card channel-test">
                <h2>"Send a test"</h2>
                <p class="hint">"Sends a test notification with the saved settings (save changes first); the receiver's answer shows here."</p>
                {test_report(test)}
                <button type="button" class="btn" id="channel-test" disabled=move || test.pending().get()
                    on:click=move |_| { test.dispatch((id.0, saved_name.clone())); }>
                    "Send a test"
                </button>
            </section>
        })}
    }
}
