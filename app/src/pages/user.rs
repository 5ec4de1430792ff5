//! `/users/{id}`: one user for an admin: role and state with the buttons
//! that change them, deletion, a password reset, their grants per host and
//! their API keys. Also the grants editor that the account page reuses for
//! a key's narrower grants. Core checks and records every change.

use crate::api::ops::{change_user, delete_user, get_user, set_grants};
use crate::api::users::ResetPasswordForm;
use crate::components::confirm::confirmed;
use crate::components::grants::{GrantsDraft, grants_editor};
use crate::components::keys::KeysTable;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::{ChangeUser, DeleteUser, GetUser, SetGrants, UserChange};
use berth_core::model::{ErrorKind, Grant, Role, User, UserDetail, UserId, format_ts};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<u64>().ok()));
    let detail = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_user(GetUser { id: UserId(id) }).await,
                None => Err(AppError::new(
                    ErrorKind::NotFound,
                    "there is no such user; pick one from the list",
                )),
            }
        },
    );
    view! {
        <Title text="User"/>
        <p><a href="/users">"← Users"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"User not found"</h1><ErrorBox error=e/> }.into_any(),
                    Ok(d) => view! { <Detail d/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The page once loaded. Each change answers with the new state, which
/// replaces the shown one; nothing is fetched again, so unsaved grant edits
/// survive a role or state change.
#[component]
fn Detail(d: UserDetail) -> impl IntoView {
    let UserDetail { user, grants, keys } = d;
    let id = user.id;
    let name = user.name.clone();
    let user = RwSignal::new(user);
    let change = Action::new(move |change: &UserChange| {
        let (disabled, role) = match *change {
            UserChange::Disabled(d) => (Some(d), None),
            UserChange::Role(r) => (None, Some(r)),
        };
        async move {
            let changed = change_user(ChangeUser { id, disabled, role }).await?;
            user.set(changed);
            Ok::<(), AppError>(())
        }
    });
    let delete = Action::new(move |_: &()| delete_user(DeleteUser { id }));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            navigate("/users", Default::default());
        }
    });
    let pending = Signal::derive(move || change.pending().get() || delete.pending().get());
    let button = move |label: &'static str, action: &'static str, elem_id: &'static str, to: UserChange| {
        view! {
            <button type="button" class="btn" id=elem_id data-action=action disabled=move || pending.get()
                on:click=move |_| { change.dispatch(to); }>
                {label}
            </button>
        }
    };
    let question = format!("Delete user {name}? Their sessions and API keys end; the event log keeps what they did.");
    let errors = move || {
        let failed = change
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| delete.value().get().and_then(|r| r.err()));
        failed.map(|e| view! { <div id="user-change-error"><ErrorBox error=e/></div> })
    };
    let keys = RwSignal::new(keys);
    view! {
        <div class="section-head">
            <h1 id="user-title">{name.clone()}</h1>
            <a class="btn" href=format!("/events?actor=user:{name}")>"Their events →"</a>
        </div>
        <dl class="fields card">
            <dt>"Id"</dt><dd class="num">{id.0}</dd>
            <dt>"Role"</dt><dd id="user-role">{move || role(&user.read())}</dd>
            <dt>"State"</dt>
            <dd id="user-state">{move || if user.read().disabled {
                view! { <span class="badge badge-error">"disabled"</span>" "<span class="muted small">"cannot sign in; their sessions and keys do not work"</span> }.into_any()
            } else {
                view! { <span class="badge badge-ok">"active"</span> }.into_any()
            }}</dd>
            <dt>"Created"</dt><dd class="time">{move || format_ts(user.read().created_ns)}</dd>
        </dl>
        {errors}
        <div class="toolbar user-actions">
            {move || if user.read().disabled {
                button("Enable", "enable", "user-enable", UserChange::Disabled(false))
            } else {
                button("Disable", "disable", "user-disable", UserChange::Disabled(true))
            }}
            {move || if user.read().is_admin() {
                button("Make user", "user", "user-make-user", UserChange::Role(Role::User))
            } else {
                button("Make admin", "admin", "user-make-admin", UserChange::Role(Role::Admin))
            }}
            <button type="button" class="btn btn-danger" id="user-delete" data-action="delete" disabled=move || pending.get()
                on:click=move |_| {
                    if confirmed(&question) {
                        delete.dispatch(());
                    }
                }>
                "Delete"
            </button>
        </div>

        <h2>"Grants"</h2>
        {move || user.read().is_admin().then(|| view! {
            <p class="alert" role="note">"An admin may do everything on every host; these grants apply once they are a plain user again."</p>
        })}
        <UserGrants id grants/>

        <h2>"API keys"</h2>
        <KeysTable keys/>

        <ResetForm id/>
    }
}

fn role(user: &User) -> &'static str {
    user.role.as_str()
}

/// The user's grants, edited as a whole and saved in one call.
#[component]
fn UserGrants(id: UserId, grants: Vec<Grant>) -> impl IntoView {
    let draft = GrantsDraft::new(&grants);
    let save = Action::new(move |grants: &Vec<Grant>| {
        let grants = grants.clone();
        async move {
            let saved = set_grants(SetGrants { id, grants }).await?;
            // As core stored them: sorted by host.
            draft.reset(&saved);
            Ok::<usize, AppError>(saved.len())
        }
    });
    let outcome = move || {
        save.value().get().map(|r| match r {
            Ok(n) => {
                view! { <div class="alert alert-ok" role="status" id="grants-ok">{format!("Saved {n} grant{}.", if n == 1 { "" } else { "s" })}</div> }
                    .into_any()
            }
            Err(e) => view! { <div id="grants-error"><ErrorBox error=e/></div> }.into_any(),
        })
    };
    view! {
        {outcome}
        {grants_editor(draft, "grant", "Grants")}
        <div class="toolbar">
            <button type="button" class="btn btn-primary" id="grants-save" disabled=move || save.pending().get()
                on:click=move |_| { save.dispatch(draft.grants()); }>
                "Save grants"
            </button>
        </div>
    }
}

/// An admin sets a new password for the user.
#[component]
fn ResetForm(id: UserId) -> impl IntoView {
    let reset = ServerAction::<ResetPasswordForm>::new();
    let outcome = move || {
        reset.value().get().map(|r| match r {
            Ok(()) => view! {
                <div class="alert alert-ok" role="status" id="reset-ok">"Password changed. Tell them the new one over a channel you trust."</div>
            }
            .into_any(),
            Err(e) => view! { <div id="reset-error"><ErrorBox error=e/></div> }.into_any(),
        })
    };
    view! {
        <section class="card narrow-card">
            <h2>"Reset password"</h2>
            {outcome}
            <ActionForm action=reset attr:class="form" attr:id="reset-form">
                <input type="hidden" name="id" value=id.0.to_string()/>
                <label for="reset-password">"New password (at least 8 characters)"</label>
                <input id="reset-password" name="password" type="password" autocomplete="new-password" minlength="8" required/>
                <button type="submit" class="btn btn-primary" id="reset-submit" disabled=move || reset.pending().get()>
                    "Reset password"
                </button>
            </ActionForm>
        </section>
    }
}
