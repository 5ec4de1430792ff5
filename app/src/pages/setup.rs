//! `/setup`: creates the first admin, once, through the one-time link the
//! server prints on its console while there are no users.

use crate::api::auth::{Setup, setup_info};
use crate::components::status::ErrorBox;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SetupPage() -> impl IntoView {
    let state = Resource::new(|| (), |_| setup_info());
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let setup = ServerAction::<Setup>::new();
    let error = move || setup.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    view! {
        <Title text="Set up"/>
        <main class="auth-page">
            <div class="card auth-card">
                <h1 class="auth-title">"Welcome to berth"</h1>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match state.await {
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                            Ok(s) if !s.open => view! {
                                <p>"Setup is done: an admin account exists."</p>
                                <p><a class="btn btn-primary" href="/login">"Sign in"</a></p>
                            }.into_any(),
                            Ok(_) if token().is_empty() => view! {
                                <p>"Create the first admin account with the one-time setup link that berth printed on its console when it started."</p>
                                <p class="muted">"Or, on the server: "<code>"berth user add --admin NAME"</code></p>
                            }.into_any(),
                            Ok(_) => view! {
                                <p>"Create the first admin account. It can add everyone else."</p>
                                {move || error().map(|e| view! { <div class="alert alert-error" role="alert" id="setup-error">{e}</div> })}
                                <ActionForm action=setup attr:class="form">
                                    <input type="hidden" name="token" value=token/>
                                    <label for="setup-name">"User name"</label>
                                    <input id="setup-name" name="name" autocomplete="username" required
                                        pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" title="Letters, digits, '.', '_' or '-'"/>
                                    <label for="setup-password">"Password (at least 8 characters)"</label>
                                    <input id="setup-password" name="password" type="password" autocomplete="new-password" minlength="8" required/>
                                    <label for="setup-confirm">"Password again"</label>
                                    <input id="setup-confirm" name="confirm" type="password" autocomplete="new-password" minlength="8" required/>
                                    <button type="submit" class="btn btn-primary" disabled=move || setup.pending().get()>
                                        "Create admin and sign in"
                                    </button>
                                </ActionForm>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
