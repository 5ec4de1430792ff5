//! `/login`: name and password. Errors (wrong password, throttled) show
//! above the form; success goes to the page the person came for.

use crate::api::auth::Login;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_string());
    let error = move || login.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    view! {
        <Title text="Sign in"/>
        <main class="auth-page">
            <div class="card auth-card">
                <h1 class="auth-title"><span aria-hidden="true">"⚓ "</span>"Sign in to berth"</h1>
                {move || error().map(|e| view! { <div class="alert alert-error" role="alert" id="login-error">{e}</div> })}
                <ActionForm action=login attr:class="form">
                    <input type="hidden" name="next" value=next/>
                    <label for="login-name">"User name"</label>
                    <input id="login-name" name="name" autocomplete="username" required autofocus/>
                    <label for="login-password">"Password"</label>
                    <input id="login-password" name="password" type="password" autocomplete="current-password" required/>
                    <button type="submit" class="btn btn-primary" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
