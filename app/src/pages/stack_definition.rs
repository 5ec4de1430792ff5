//! A managed stack's definition on its page: where its compose files come
//! from, its variables (secrets masked, a Reveal button for those with the
//! secrets right, recorded by core), its deploy settings, and Edit and
//! Delete.

use super::stack::Here;
use crate::api::ops::{delete_stack, reveal_stack_secret};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops as req;
use berth_core::model::{GitCredentialKind, Operation, Permissions, StackDefinition, StackSource, StackVar};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use std::collections::HashMap;

#[component]
pub(crate) fn Definition(
    here: Here,
    def: StackDefinition,
    perms: Permissions,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let host = def.host.0.clone();
    let may_edit = perms.allows(Operation::UpdateStack, Some(&host));
    let may_delete = perms.allows(Operation::DeleteStack, Some(&host));
    let may_reveal = perms.allows(Operation::RevealStackSecret, Some(&host));
    let failed = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let delete = move |_| {
        let name = here.name.get_untracked();
        if !confirmed(&format!(
            "Delete berth's definition of {name}? Its secrets and deploy records go; its containers stay."
        )) {
            return;
        }
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match delete_stack(req::DeleteStack {
                host: here.host_id(),
                name,
            })
            .await
            {
                Ok(()) => {
                    changed.update(|n| *n += 1);
                    navigate("/stacks", Default::default());
                }
                Err(e) => failed.set(Some(e)),
            }
        });
    };
    let edit_href = format!("/hosts/{host}/stacks/{}/edit", def.name);
    view! {
        <section class="card definition" id="definition">
            <div class="section-head">
                <h2>"Definition"</h2>
                <div class="actions">
                    {may_edit.then(|| view! { <a class="btn btn-small" id="edit-stack" href=edit_href>"Edit"</a> })}
                    {may_delete.then(|| view! {
                        <button type="button" class="btn btn-small btn-danger" id="delete-stack" on:click=delete>"Delete"</button>
                    })}
                </div>
            </div>
            {move || failed.get().map(|e| view! { <ErrorBox error=e/> })}
            <dl class="fields">{source_fields(&def.source)}{settings(&def)}</dl>
            <h3>"Variables"</h3>
            {variables(here, def.vars.clone(), may_reveal)}
        </section>
    }
}

fn source_fields(source: &StackSource) -> AnyView {
    match source {
        StackSource::Git {
            url,
            branch,
            path,
            files,
            credential,
        } => {
            let cred = match credential {
                GitCredentialKind::None => "none".to_string(),
                GitCredentialKind::Token { user } => {
                    format!("token (user {})", user.as_deref().unwrap_or("x-access-token"))
                }
                GitCredentialKind::Ssh => "SSH key".to_string(),
            };
            let files = if files.is_empty() {
                "compose.yaml".to_string()
            } else {
                files.join(", ")
            };
            view! {
                <dt>"Source"</dt><dd>"git "<code>{url.clone()}</code></dd>
                <dt>"Branch"</dt><dd><code>{branch.clone()}</code></dd>
                <dt>"Path"</dt><dd><code>{if path.is_empty() { "/".to_string() } else { path.clone() }}</code></dd>
                <dt>"Compose files"</dt><dd>{files}</dd>
                <dt>"Credential"</dt><dd>{cred}</dd>
            }
            .into_any()
        }
        StackSource::Inline { compose } => view! {
            <dt>"Source"</dt>
            <dd>
                <details class="compose-file">
                    <summary>{format!("compose file written in berth ({} lines)", compose.lines().count())}</summary>
                    <pre>{compose.clone()}</pre>
                </details>
            </dd>
        }
        .into_any(),
    }
}

fn settings(def: &StackDefinition) -> impl IntoView {
    let yes = |b: bool| if b { "yes" } else { "no" };
    view! {
        <dt>"Deploy timeout"</dt><dd>{format!("{} s", def.timeout_s)}</dd>
        <dt>"Deploy on push"</dt><dd>{yes(def.on_push)}</dd>
        <dt>"Versions kept"</dt><dd>{def.keep_versions}</dd>
        <dt>"Roll back on failure"</dt><dd>{yes(def.rollback_on_failure)}</dd>
        <dt>"Created"</dt><dd>{format!("by {}, {}", def.created_by, super::stacks::when(def.created_ns))}</dd>
    }
}

fn variables(here: Here, vars: Vec<StackVar>, may_reveal: bool) -> impl IntoView {
    if vars.is_empty() {
        return view! { <p class="muted">"No variables."</p> }.into_any();
    }
    let revealed = RwSignal::new(HashMap::<String, String>::new());
    let failed = RwSignal::new(None::<AppError>);
    let reveal = move |var: String| {
        leptos::task::spawn_local(async move {
            let request = req::RevealStackSecret {
                host: here.host_id(),
                name: here.name.get_untracked(),
                var,
            };
            match reveal_stack_secret(request).await {
                Ok(v) => revealed.update(|m| {
                    m.insert(v.name, v.value);
                }),
                Err(e) => failed.set(Some(e)),
            }
        });
    };
    view! {
        {move || failed.get().map(|e| view! { <ErrorBox error=e/> })}
        <div class="table-wrap">
            <table class="table stack vars" aria-label="Variables">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Value"</th><th scope="col"></th></tr></thead>
                <tbody>
                    {vars.into_iter().map(|v| {
                        let name = v.name.clone();
                        let shown = name.clone();
                        let (secret, plain, computed) = (v.secret, v.value.clone(), v.computed);
                        let value = move || match &plain {
                            _ if computed.is_some() => {
                                format!("worked out at each deploy ({})", computed.map(|c| c.as_str()).unwrap_or_default())
                            }
                            Some(plain) => plain.clone(),
                            None => revealed.with(|m| m.get(&shown).cloned()).unwrap_or_else(|| "••••••".into()),
                        };
                        let button = (secret && may_reveal).then(|| {
                            let name = name.clone();
                            view! {
                                <button type="button" class="btn btn-small reveal" title="Show this secret (recorded in the event log)"
                                    on:click=move |_| reveal(name.clone())>"Reveal"</button>
                            }
                        });
                        view! {
                            <tr data-var=name.clone()>
                                <td data-label="Name"><code>{name.clone()}</code>{secret.then(|| view! { " "<span class="badge badge-limit">"secret"</span> })}</td>
                                <td data-label="Value"><code class="var-value">{value}</code></td>
                                <td class="actions">{button}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
