//! `/users`: who can sign in, each linking to their page (`/users/{id}`),
//! and a form to add someone (admins only).

use crate::api::users::{AddUserForm, list_users};
use crate::components::status::ErrorBox;
use berth_core::model::{Operation, format_ts};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    let add = ServerAction::<AddUserForm>::new();
    let users = Resource::new(move || add.version().get(), |_| list_users());
    let perms = super::permissions();
    let result = move || {
        add.value().get().map(|r| match r {
            Ok(u) => view! { <div class="alert" role="status" id="add-user-ok">{format!("Added {}.", u.name)}</div> }
                .into_any(),
            Err(e) => view! { <div class="alert alert-error" role="alert" id="add-user-error">{e.to_string()}</div> }
                .into_any(),
        })
    };
    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="table" aria-label="Users">
                                <thead><tr>
                                    <th scope="col" class="num">"Id"</th>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"State"</th>
                                    <th scope="col">"Created (UTC)"</th>
                                    <th scope="col">"Activity"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| {
                                        let activity = format!("/events?actor=user:{}", u.name);
                                        let page = format!("/users/{}", u.id);
                                        view! {
                                            <tr data-name=u.name.clone() data-disabled=u.disabled.to_string() class:disabled=u.disabled>
                                                <td class="num">{u.id.0}</td>
                                                <td><a href=page><strong>{u.name.clone()}</strong></a></td>
                                                <td>{u.role.as_str()}</td>
                                                <td>{if u.disabled {
                                                    view! { <span class="badge badge-error" title="Cannot sign in; their sessions and keys do not work">"disabled"</span> }.into_any()
                                                } else {
                                                    view! { <span class="muted">"active"</span> }.into_any()
                                                }}</td>
                                                <td class="time">{format_ts(u.created_ns)}</td>
                                                <td><a href=activity>"Events →"</a></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                perms.await.allows(Operation::CreateUser, None).then(|| view! {
                <section class="card narrow-card">
                    <h2>"Add a user"</h2>
                    {result}
                    <ActionForm action=add attr:class="form">
                        <label for="user-name">"User name"</label>
                        <input id="user-name" name="name" autocomplete="off" required
                            pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" title="Letters, digits, '.', '_' or '-'"/>
                        <label for="user-password">"Password (at least 8 characters)"</label>
                        <input id="user-password" name="password" type="password" autocomplete="new-password" minlength="8" required/>
                        <label class="toggle"><input type="checkbox" name="admin" value="on"/>" Admin (may do everything)"</label>
                        <button type="submit" class="btn btn-primary" disabled=move || add.pending().get()>"Add user"</button>
                    </ActionForm>
                </section>
                })
            })}
        </Suspense>
    }
}
