//! `/users/{id}`: one user for an admin: role and state with the buttons
//! that change them, deletion, a password reset, their grants per host and
//! their API keys. Also the grants editor that the account page reuses for
//! a key's narrower grants. Core checks and records every change.

use crate::api::ops::{change_user, delete_user, get_user, set_grants};
use crate::api::users::ResetPasswordForm;
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use crate::pages::account::KeysTable;
use berth_core::model::ops::{ChangeUser, DeleteUser, GetUser, SetGrants, UserChange};
use berth_core::model::{ErrorKind, Grant, Level, Role, User, UserDetail, UserId, format_ts};
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
    if user.is_admin() { "admin" } else { "user" }
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

/// One grant being edited, with a key that stays put while rows come and go.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: usize,
    grant: Grant,
}

/// The grants an editor shows. Rows keep their DOM nodes while typing (a
/// keyed list), so an input never loses focus to a re-render.
#[derive(Clone, Copy)]
pub(super) struct GrantsDraft {
    rows: RwSignal<Vec<Row>>,
}

impl GrantsDraft {
    pub(super) fn new(grants: &[Grant]) -> GrantsDraft {
        let draft = GrantsDraft {
            rows: RwSignal::new(Vec::new()),
        };
        draft.reset(grants);
        draft
    }

    /// Replaces every row (new keys, so every row is drawn afresh).
    pub(super) fn reset(&self, grants: &[Grant]) {
        let start = self.next_key();
        self.rows.set(
            grants
                .iter()
                .enumerate()
                .map(|(i, g)| Row {
                    key: start + i,
                    grant: g.clone(),
                })
                .collect(),
        );
    }

    /// The grants as typed, host names trimmed.
    pub(super) fn grants(&self) -> Vec<Grant> {
        self.rows.with_untracked(|rows| {
            rows.iter()
                .map(|r| Grant {
                    host: r.grant.host.trim().to_string(),
                    ..r.grant.clone()
                })
                .collect()
        })
    }

    fn next_key(&self) -> usize {
        self.rows
            .with_untracked(|rows| rows.iter().map(|r| r.key + 1).max().unwrap_or(0))
    }

    fn add(&self) {
        let key = self.next_key();
        self.rows.update(|rows| {
            rows.push(Row {
                key,
                grant: Grant::new("", Level::View),
            })
        });
    }

    fn remove(&self, key: usize) {
        self.rows.update(|rows| rows.retain(|r| r.key != key));
    }

    fn edit(&self, key: usize, change: impl FnOnce(&mut Grant)) {
        self.rows.update(|rows| {
            if let Some(row) = rows.iter_mut().find(|r| r.key == key) {
                change(&mut row.grant);
            }
        });
    }
}

/// A table of grants: host (or `*`), level and the three rights, with rows
/// to add and remove. Element ids are `{prefix}-host-{i}`, `{prefix}-level-{i}`,
/// `{prefix}-logs-{i}`, `{prefix}-terminal-{i}`, `{prefix}-secrets-{i}`,
/// `{prefix}-remove-{i}` (i counts rows from 0) and `{prefix}-add`.
pub(super) fn grants_editor(draft: GrantsDraft, prefix: &'static str, label: &'static str) -> impl IntoView {
    let empty = move || draft.rows.with(|rows| rows.is_empty());
    let row = move |index: ReadSignal<usize>, row: Row| {
        let Row { key, grant } = row;
        let id = move |part: &'static str| move || format!("{prefix}-{part}-{}", index.get());
        let name = move |what: &'static str| move || format!("{what} of grant {}", index.get() + 1);
        let right = move |part: &'static str, on: bool, set: fn(&mut Grant, bool)| {
            view! {
                <td class="check">
                    <input type="checkbox" id=id(part) aria-label=name(part) checked=on
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            draft.edit(key, |g| set(g, on));
                        }/>
                </td>
            }
        };
        view! {
            <tr data-key=key.to_string()>
                <td>
                    <input id=id("host") class="host" value=grant.host.clone() aria-label=name("Host")
                        placeholder="host name, or * for every host" autocomplete="off" spellcheck="false"
                        on:input=move |ev| {
                            let host = event_target_value(&ev);
                            draft.edit(key, |g| g.host = host);
                        }/>
                </td>
                <td>
                    <select id=id("level") aria-label=name("Level")
                        on:change=move |ev| {
                            if let Some(level) = Level::parse(&event_target_value(&ev)) {
                                draft.edit(key, |g| g.level = level);
                            }
                        }>
                        {Level::ALL.into_iter().map(|l| view! {
                            <option value=l.as_str() selected={l == grant.level}>{l.as_str()}</option>
                        }).collect_view()}
                    </select>
                </td>
                {right("logs", grant.logs, |g, on| g.logs = on)}
                {right("terminal", grant.terminal, |g, on| g.terminal = on)}
                {right("secrets", grant.secrets, |g, on| g.secrets = on)}
                <td class="actions">
                    <button type="button" class="btn btn-small" id=id("remove") aria-label=name("Remove")
                        on:click=move |_| draft.remove(key)>
                        "Remove"
                    </button>
                </td>
            </tr>
        }
    };
    view! {
        <div class="table-wrap">
            <table class="table grants" aria-label=label>
                <thead><tr>
                    <th scope="col">"Host"</th>
                    <th scope="col">"Level"</th>
                    <th scope="col" class="check">"Logs"</th>
                    <th scope="col" class="check">"Terminal"</th>
                    <th scope="col" class="check">"Secrets"</th>
                    <th scope="col"></th>
                </tr></thead>
                <tbody>
                    <ForEnumerate each=move || draft.rows.get() key=|r: &Row| r.key children=row/>
                </tbody>
            </table>
        </div>
        {move || empty().then(|| view! { <p class="empty">"No grants: no host is visible."</p> })}
        <p class="muted small grants-help">
            "view: see containers, images, networks, volumes, statistics and events · "
            "operate: also start, stop, restart, kill and pause · "
            "manage: also create, remove, prune and set expected states. "
            "Logs, terminal and secrets each need view on the same host. "
            <code>"*"</code>" is every host, present and future."
        </p>
        <button type="button" class="btn btn-small grants-add" id=format!("{prefix}-add") on:click=move |_| draft.add()>
            "Add a grant"
        </button>
    }
}
