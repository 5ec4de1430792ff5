//! `/account`: what every signed-in person manages for themselves: their
//! password, their sessions and their API keys. A new key's token shows
//! once, right after it is made, and nowhere else: berth keeps only its
//! hash. Also the keys table the admin's user page reuses.

use crate::api::ops::{EndSessionCall, create_key, my_keys, my_sessions};
use crate::api::users::ChangePasswordForm;
use crate::components::clipboard;
use crate::components::grants::{GrantsDraft, grants_editor};
use crate::components::keys::KeysTable;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{CreateKey, EndSession, MyKeys, MySessions};
use berth_core::model::{ApiKeyInfo, Grant, Level, NewApiKey, Permissions, SessionInfo, format_ts};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let password = ServerAction::<ChangePasswordForm>::new();
    view! {
        <Title text="Your account"/>
        <h1>"Your account"</h1>
        <PasswordForm password/>
        <Sessions password/>
        <Keys/>
    }
}

#[component]
fn PasswordForm(password: ServerAction<ChangePasswordForm>) -> impl IntoView {
    let outcome = move || {
        password.value().get().map(|r| match r {
            Ok(()) => view! {
                <div class="alert alert-ok" role="status" id="password-ok">"Password changed. Your other sessions have ended."</div>
            }
            .into_any(),
            Err(e) => view! { <div id="password-error"><ErrorBox error=e/></div> }.into_any(),
        })
    };
    view! {
        <section class="card narrow-card">
            <h2>"Change your password"</h2>
            {outcome}
            <ActionForm action=password attr:class="form" attr:id="password-form">
                <label for="current-password">"Current password"</label>
                <input id="current-password" name="current" type="password" autocomplete="current-password" required/>
                <label for="new-password">"New password (at least 8 characters)"</label>
                <input id="new-password" name="password" type="password" autocomplete="new-password" minlength="8" required/>
                <label for="confirm-password">"New password again"</label>
                <input id="confirm-password" name="confirm" type="password" autocomplete="new-password" minlength="8" required/>
                <button type="submit" class="btn btn-primary" id="password-submit" disabled=move || password.pending().get()>
                    "Change password"
                </button>
            </ActionForm>
        </section>
    }
}

/// Where the person is signed in; a new password ends all but this one.
#[component]
fn Sessions(password: ServerAction<ChangePasswordForm>) -> impl IntoView {
    let end = ServerAction::<EndSessionCall>::new();
    let sessions = Resource::new(
        move || (end.version().get(), password.version().get()),
        |_| my_sessions(MySessions {}),
    );
    let error = move || {
        end.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <div id="session-error"><ErrorBox error=e/></div> })
    };
    view! {
        <h2>"Sessions"</h2>
        <p class="muted">"Where you are signed in. Ending a session signs that browser out; "<em>"Sign out"</em>" ends this one."</p>
        {error}
        <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="table sessions" aria-label="Sessions">
                                <thead><tr>
                                    <th scope="col">"Signed in (UTC)"</th>
                                    <th scope="col">"From"</th>
                                    <th scope="col">"Expires unless used (UTC)"</th>
                                    <th scope="col"></th>
                                </tr></thead>
                                <tbody>{list.into_iter().map(|s| session_row(s, end)).collect_view()}</tbody>
                            </table>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

fn session_row(s: SessionInfo, end: ServerAction<EndSessionCall>) -> impl IntoView {
    let handle = s.handle.clone();
    let action = if s.current {
        view! { <span class="badge badge-ok" id="this-session">"this session"</span> }.into_any()
    } else {
        view! {
            <button type="button" class="btn btn-small" data-action="end" disabled=move || end.pending().get()
                on:click=move |_| { end.dispatch(EndSessionCall {
                    request: EndSession { handle: handle.clone() },
                }); }>
                "End"
            </button>
        }
        .into_any()
    };
    view! {
        <tr data-session=s.handle.clone() data-current=s.current.to_string()>
            <td class="time">{s.signed_in_ns.map(format_ts).unwrap_or_else(|| "–".into())}</td>
            <td>{s.source.unwrap_or_else(|| "unknown".into())}</td>
            <td class="time">{format_ts(s.expires.saturating_mul(1_000_000_000))}</td>
            <td class="actions">{action}</td>
        </tr>
    }
}

#[component]
fn Keys() -> impl IntoView {
    let loaded = Resource::new(|| (), |_| my_keys(MyKeys {}));
    let permissions = crate::pages::permissions();
    view! {
        <h2>"API keys"</h2>
        <p class="muted">
            "A key lets a program use the REST API as you: it sends "<code>"Authorization: Bearer <key>"</code>". "
            "Give a key narrower grants to let it do less than you may; a key that asks for more than you hold is refused."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) => {
                        let keys = RwSignal::new(list);
                        let mine = permissions.await;
                        view! { <KeysTable keys/><CreateKey keys mine/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The form for a new key, and its token, shown once. Narrower grants
/// start as the person's own (`*: view` for an admin): core refuses a key
/// wider than its creator, and the refusal shows above the form.
#[component]
fn CreateKey(keys: RwSignal<Vec<ApiKeyInfo>>, mine: Permissions) -> impl IntoView {
    // Read when submitted, so whatever filled the fields (typing, pasting,
    // autofill) counts.
    let name = NodeRef::<leptos::html::Input>::new();
    let days = NodeRef::<leptos::html::Input>::new();
    let narrow = RwSignal::new(false);
    let draft = match mine.admin {
        true => GrantsDraft::new(&[Grant::new("*", Level::View)]),
        false => GrantsDraft::new(&mine.grants),
    };
    // The only place a token lives; gone when dismissed or on leaving the page.
    let token: RwSignal<Option<String>> = RwSignal::new(None);
    let problem: RwSignal<Option<AppError>> = RwSignal::new(None);
    let create = Action::new(move |new: &NewApiKey| {
        let new = new.clone();
        async move {
            let created = create_key(CreateKey { key: new }).await?;
            keys.update(|list| list.push(created.key));
            token.set(Some(created.token));
            Ok::<(), AppError>(())
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        token.set(None);
        let value =
            |field: NodeRef<leptos::html::Input>| field.get_untracked().map(|el| el.value()).unwrap_or_default();
        let expires_days = match value(days).trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problem.set(Some(AppError::invalid(
                        "the expiry is a whole number of days; leave it empty for a key that does not expire",
                    )));
                    return;
                }
            },
        };
        create.dispatch(NewApiKey {
            name: value(name).trim().to_string(),
            expires_days,
            grants: narrow.get_untracked().then(|| draft.grants()),
        });
    };
    let error = move || {
        problem
            .get()
            .or_else(|| create.value().get().and_then(|r| r.err()))
            .map(|e| view! { <div id="key-create-error"><ErrorBox error=e/></div> })
    };
    view! {
        {move || token.get().map(|t| view! { <NewToken token=t dismiss=move || token.set(None)/> })}
        <section class="card key-form">
            <h3>"Create a key"</h3>
            {error}
            <form class="grid-form" id="key-form" on:submit=submit>
                <label>"Name"
                    <input id="key-name" required autocomplete="off" maxlength="64" placeholder="ci-deploy"
                        pattern="[A-Za-z0-9._\\-]{1,64}" title="Letters, digits, '.', '_' or '-'" node_ref=name/>
                </label>
                <label>"Expires after (days)"
                    <input id="key-expires" type="number" min="1" step="1" placeholder="never" node_ref=days/>
                </label>
                <label class="toggle">
                    <input type="checkbox" id="key-narrow" on:change=move |ev| narrow.set(event_target_checked(&ev))/>
                    " Narrower grants than mine"
                </label>
            </form>
            <div hidden=move || !narrow.get() class="key-grants">
                {grants_editor(draft, "key-grant", "The key's grants")}
            </div>
            <div class="toolbar">
                <button type="submit" form="key-form" class="btn btn-primary" id="key-create" disabled=move || create.pending().get()>
                    "Create key"
                </button>
            </div>
        </section>
    }
}

/// A token just made: shown here once, with a way to copy it.
#[component]
fn NewToken(token: String, dismiss: impl Fn() + Send + 'static) -> impl IntoView {
    let copied: RwSignal<Option<bool>> = RwSignal::new(None);
    let text = token.clone();
    let copy = move |_| copied.set(Some(clipboard::copy(&text)));
    let select_all = |ev: leptos::ev::FocusEvent| event_target::<leptos::web_sys::HtmlInputElement>(&ev).select();
    view! {
        <div class="alert alert-ok token-box" role="status" id="key-created">
            <p><strong>"Store this key now: berth keeps only its hash and cannot show it again."</strong></p>
            <div class="token-row">
                <input id="key-token" class="token" readonly value=token aria-label="The new API key" spellcheck="false"
                    on:focus=select_all/>
                <button type="button" class="btn btn-small" id="key-token-copy" on:click=copy>"Copy"</button>
                {move || copied.get().map(|ok| match ok {
                    true => view! { <span class="small">"Copied."</span> }.into_any(),
                    false => view! { <span class="small">"Copying failed here: select the key and copy it by hand."</span> }.into_any(),
                })}
            </div>
            <button type="button" class="btn btn-small" id="key-token-done" on:click=move |_| dismiss()>"I have stored it"</button>
        </div>
    }
}
