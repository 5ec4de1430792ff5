//! A person's API keys as a table, with a Revoke button each: the account
//! page shows one's own, an admin's user page someone else's.

use crate::api::ops::revoke_key;
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops::RevokeKey;
use berth_core::model::{ApiKeyInfo, Grant, format_ts};
use leptos::prelude::*;

/// API keys with a Revoke button each; a revoked key stays listed, marked.
/// Never shows a token: the list holds none.
#[component]
pub fn KeysTable(keys: RwSignal<Vec<ApiKeyInfo>>) -> impl IntoView {
    let revoke = Action::new(move |id: &String| {
        let id = id.clone();
        async move {
            let revoked = revoke_key(RevokeKey { id }).await?;
            keys.update(|list| {
                if let Some(k) = list.iter_mut().find(|k| k.id == revoked.id) {
                    *k = revoked;
                }
            });
            Ok::<(), AppError>(())
        }
    });
    let error = move || {
        revoke
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <div id="key-revoke-error"><ErrorBox error=e/></div> })
    };
    let table = move || {
        if keys.with(|list| list.is_empty()) {
            return view! { <p class="empty">"No API keys."</p> }.into_any();
        }
        view! {
            <div class="table-wrap">
                <table class="table keys" aria-label="API keys">
                    <thead><tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Id"</th>
                        <th scope="col" class="hide-sm">"Created (UTC)"</th>
                        <th scope="col">"Expires (UTC)"</th>
                        <th scope="col">"Last used (UTC)"</th>
                        <th scope="col" class="hide-sm">"Grants"</th>
                        <th scope="col">"Revoked (UTC)"</th>
                        <th scope="col"></th>
                    </tr></thead>
                    <tbody>{keys.get().into_iter().map(|k| key_row(k, revoke)).collect_view()}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! { {error}{table} }
}

fn key_row(k: ApiKeyInfo, revoke: Action<String, Result<(), AppError>>) -> impl IntoView {
    let used = match (k.last_used_ns, &k.last_used_from) {
        (Some(at), Some(from)) => format!("{} from {from}", format_ts(at)),
        (Some(at), None) => format_ts(at),
        (None, _) => "never".into(),
    };
    let grants = match &k.grants {
        None => "the owner's".to_string(),
        Some(g) if g.is_empty() => "none".to_string(),
        Some(g) => g.iter().map(describe).collect::<Vec<_>>().join("; "),
    };
    let action = match k.revoked_ns {
        Some(_) => None,
        None => {
            let (id, question) = (
                k.id.clone(),
                format!("Revoke key {}? Programs that use it stop working at once.", k.name),
            );
            Some(view! {
                <button type="button" class="btn btn-small" data-action="revoke" disabled=move || revoke.pending().get()
                    on:click=move |_| {
                        if confirmed(&question) {
                            revoke.dispatch(id.clone());
                        }
                    }>
                    "Revoke"
                </button>
            })
        }
    };
    view! {
        <tr data-key=k.id.clone() data-name=k.name.clone() data-revoked=k.revoked_ns.is_some().to_string()>
            <td><strong>{k.name.clone()}</strong></td>
            <td><code>{k.id.clone()}</code></td>
            <td class="hide-sm time">{format_ts(k.created_ns)}</td>
            <td class="time">{k.expires_ns.map(format_ts).unwrap_or_else(|| "never".into())}</td>
            <td class="time">{used}</td>
            <td class="hide-sm key-grants-cell">{grants}</td>
            <td>{match k.revoked_ns {
                Some(at) => view! { <span class="badge badge-error">"revoked"</span>" "<span class="time">{format_ts(at)}</span> }.into_any(),
                None => view! { <span class="muted">"–"</span> }.into_any(),
            }}</td>
            <td class="actions">{action}</td>
        </tr>
    }
}

/// `web: operate + logs, terminal`
fn describe(g: &Grant) -> String {
    let rights: Vec<&str> = [("logs", g.logs), ("terminal", g.terminal), ("secrets", g.secrets)]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
    if rights.is_empty() {
        format!("{}: {}", g.host, g.level.as_str())
    } else {
        format!("{}: {} + {}", g.host, g.level.as_str(), rights.join(", "))
    }
}
