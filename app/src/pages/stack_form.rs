//! `/stacks/new` and `/hosts/:host/stacks/:name/edit`: one form for berth's
//! definition of a stack: its name and host, where its compose files come
//! from (a git repository, with a write-only credential, or a compose file
//! written here and checked by compose), its variables (a secret left
//! empty on edit keeps the stored one) and its deploy settings. The spec
//! is checked with core's own rules before it is sent.

use super::stack::Here;
use super::stacks::stack_href;
use crate::api::containers::host_statuses;
use crate::api::ops::{create_stack, get_stack, update_stack, validate_compose};
use crate::components::status::ErrorBox;
use crate::components::yaml_editor::YamlEditor;
use crate::error::AppError;
use berth_core::model::ops as req;
use berth_core::model::{
    ComposeCheck, Computed, GitCredentialKind, HostId, Operation, StackDefinition, StackSource, StackSpec,
    StackVarInput,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

const EXAMPLE: &str = "services:\n  app:\n    image: nginx:1.27\n    restart: unless-stopped\n";

/// One row of the variables editor.
#[derive(Clone, Copy)]
pub(super) struct VarRow {
    pub key: u32,
    pub name: RwSignal<String>,
    pub value: RwSignal<String>,
    pub secret: RwSignal<bool>,
    /// Worked out at each deploy (`Computed::as_str`), or "" for a given value.
    pub computed: RwSignal<String>,
    /// A secret stored before this edit: empty keeps it.
    pub stored: bool,
}

/// Every field of the form.
#[derive(Clone, Copy)]
struct Form {
    editing: bool,
    name: RwSignal<String>,
    host: RwSignal<String>,
    git: RwSignal<bool>,
    url: RwSignal<String>,
    branch: RwSignal<String>,
    path: RwSignal<String>,
    files: RwSignal<String>,
    cred: RwSignal<String>,
    token_user: RwSignal<String>,
    git_secret: RwSignal<String>,
    compose: RwSignal<String>,
    vars: RwSignal<Vec<VarRow>>,
    next_key: RwSignal<u32>,
    timeout: RwSignal<String>,
    on_push: RwSignal<bool>,
    keep: RwSignal<String>,
    rollback: RwSignal<bool>,
}

impl Form {
    fn new(def: Option<&StackDefinition>) -> Form {
        let s = |v: &str| RwSignal::new(v.to_string());
        let f = Form {
            editing: def.is_some(),
            name: s(""),
            host: s(""),
            git: RwSignal::new(false),
            url: s(""),
            branch: s("main"),
            path: s(""),
            files: s(""),
            cred: s("none"),
            token_user: s(""),
            git_secret: s(""),
            compose: s(EXAMPLE),
            vars: RwSignal::new(Vec::new()),
            next_key: RwSignal::new(0),
            timeout: s("300"),
            on_push: RwSignal::new(false),
            keep: s("5"),
            rollback: RwSignal::new(true),
        };
        let Some(d) = def else { return f };
        f.name.set(d.name.clone());
        f.host.set(d.host.0.clone());
        match &d.source {
            StackSource::Git {
                url,
                branch,
                path,
                files,
                credential,
            } => {
                f.git.set(true);
                f.url.set(url.clone());
                f.branch.set(branch.clone());
                f.path.set(path.clone());
                f.files.set(files.join(", "));
                f.cred.set(
                    match credential {
                        GitCredentialKind::None => "none",
                        GitCredentialKind::Token { user } => {
                            f.token_user.set(user.clone().unwrap_or_default());
                            "token"
                        }
                        GitCredentialKind::Ssh => "ssh",
                    }
                    .into(),
                );
            }
            StackSource::Inline { compose } => f.compose.set(compose.clone()),
        }
        for v in &d.vars {
            f.add_var(&v.name, v.value.as_deref().unwrap_or(""), v.secret);
            if let (Some(c), Some(row)) = (v.computed, f.vars.get_untracked().last()) {
                row.computed.set(c.as_str().to_string());
            }
        }
        f.timeout.set(d.timeout_s.to_string());
        f.on_push.set(d.on_push);
        f.keep.set(d.keep_versions.to_string());
        f.rollback.set(d.rollback_on_failure);
        f
    }

    fn add_var(self, name: &str, value: &str, secret: bool) {
        let key = self.next_key.get_untracked();
        self.next_key.set(key + 1);
        let row = VarRow {
            key,
            name: RwSignal::new(name.to_string()),
            value: RwSignal::new(value.to_string()),
            secret: RwSignal::new(secret),
            computed: RwSignal::new(String::new()),
            stored: secret && self.editing,
        };
        self.vars.update(|v| v.push(row));
    }

    /// The spec the fields make, checked as core checks it.
    fn spec(self) -> Result<StackSpec, String> {
        let number = |s: RwSignal<String>, what: &str| {
            s.get_untracked()
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} must be a whole number"))
        };
        let source = if self.git.get_untracked() {
            let credential = match self.cred.get_untracked().as_str() {
                "token" => GitCredentialKind::Token {
                    user: Some(self.token_user.get_untracked().trim().to_string()).filter(|u| !u.is_empty()),
                },
                "ssh" => GitCredentialKind::Ssh,
                _ => GitCredentialKind::None,
            };
            StackSource::Git {
                url: self.url.get_untracked().trim().to_string(),
                branch: self.branch.get_untracked().trim().to_string(),
                path: self.path.get_untracked().trim().trim_matches('/').to_string(),
                files: self
                    .files
                    .get_untracked()
                    .split(',')
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect(),
                credential,
            }
        } else {
            StackSource::Inline {
                compose: self.compose.get_untracked(),
            }
        };
        let secret = self.git_secret.get_untracked();
        let uses_secret = self.git.get_untracked() && self.cred.get_untracked() != "none";
        let vars = self
            .vars
            .get_untracked()
            .into_iter()
            .map(|r| {
                let (value, secret) = (r.value.get_untracked(), r.secret.get_untracked());
                let computed = Computed::parse(&r.computed.get_untracked());
                StackVarInput {
                    name: r.name.get_untracked().trim().to_string(),
                    value: (computed.is_none() && !(secret && value.is_empty())).then_some(value),
                    secret: secret && computed.is_none(),
                    computed,
                }
            })
            .filter(|v| !(v.name.is_empty() && v.value.as_deref().unwrap_or("").is_empty()))
            .collect();
        let spec = StackSpec {
            name: self.name.get_untracked().trim().to_string(),
            host: HostId(self.host.get_untracked()),
            source,
            git_secret: (uses_secret && !secret.is_empty()).then_some(secret),
            vars,
            timeout_s: number(self.timeout, "the deploy timeout")?,
            on_push: self.on_push.get_untracked(),
            keep_versions: number(self.keep, "the versions kept")?,
            rollback_on_failure: self.rollback.get_untracked(),
        };
        spec.validate()?;
        Ok(spec)
    }
}

#[component]
pub fn NewStackPage() -> impl IntoView {
    view! {
        <Title text="New stack"/>
        <h1>"New stack"</h1>
        <StackForm def=None/>
    }
}

#[component]
pub fn EditStackPage() -> impl IntoView {
    let here = Here::from_params();
    let stack = Resource::new(
        move || (here.host.get(), here.name.get()),
        |(host, name)| {
            get_stack(req::GetStack {
                host: HostId(host),
                name,
            })
        },
    );
    view! {
        <Title text=move || format!("Edit {}", here.name.get())/>
        <h1>{move || format!("Edit {}", here.name.get())}</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading the definition…"</p> }>
            {move || Suspend::new(async move {
                match stack.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => match v.definition {
                        Some(d) => view! { <StackForm def=Some(d)/> }.into_any(),
                        None => view! { <p class="empty">"berth does not deploy this stack: there is no definition to edit."</p> }.into_any(),
                    },
                }
            })}
        </Suspense>
    }
}

#[component]
fn StackForm(def: Option<StackDefinition>) -> impl IntoView {
    let form = Form::new(def.as_ref());
    let problem = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let save = Action::new(move |spec: &StackSpec| {
        let spec = spec.clone();
        async move {
            if form.editing {
                let (host, name) = (spec.host.clone(), spec.name.clone());
                update_stack(req::UpdateStack { host, name, spec }).await
            } else {
                create_stack(req::CreateStack { spec }).await
            }
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(d)) => navigate(&stack_href(&d.host.0, &d.name), Default::default()),
        Some(Err(e)) => problem.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        match form.spec() {
            Ok(spec) => {
                save.dispatch(spec);
            }
            Err(m) => problem.set(Some(AppError::invalid(m))),
        }
    };
    let back = def
        .as_ref()
        .map_or_else(|| "/stacks".to_string(), |d| stack_href(&d.host.0, &d.name));
    view! {
        <form class="rule-form stack-form" id="stack-form" on:submit=submit>
            <fieldset class="rule-group">
                <legend>"Stack"</legend>
                <div class="field-row">
                    <label for="stack-name">"Name"
                        <input id="stack-name" autocomplete="off" placeholder="shop" disabled=form.editing
                            prop:value=move || form.name.get() on:input=move |ev| form.name.set(event_target_value(&ev))/>
                        <span class="hint">"The compose project's name: a-z, 0-9, - or _."</span>
                    </label>
                    <HostChoice form/>
                </div>
                <div class="field-row checks" role="radiogroup" aria-label="Source">
                    <label class="toggle"><input type="radio" name="source" id="source-compose" prop:checked=move || !form.git.get()
                        on:change=move |_| form.git.set(false)/>"Compose file"</label>
                    <label class="toggle"><input type="radio" name="source" id="source-git" prop:checked=move || form.git.get()
                        on:change=move |_| form.git.set(true)/>"Git repository"</label>
                </div>
            </fieldset>
            <fieldset class="rule-group">
                <legend>{move || if form.git.get() { "Git repository" } else { "Compose file" }}</legend>
                {move || if form.git.get() { git_fields(form).into_any() } else { view! { <ComposeFields form/> }.into_any() }}
            </fieldset>
            <super::stack_vars::Variables rows=form.vars add=move || form.add_var("", "", false)/>
            <fieldset class="rule-group">
                <legend>"Deploys"</legend>
                <div class="field-row">
                    {number_field("stack-timeout", "Deploy timeout (seconds)", "10 to 3600", form.timeout)}
                    {number_field("stack-keep", "Versions kept", "old versions kept for rollback, 1 to 50", form.keep)}
                </div>
                <div class="field-row checks">
                    {check("stack-on-push", "Deploy on push (a signed webhook for the branch)", form.on_push)}
                    {check("stack-rollback", "Roll back when a deploy fails", form.rollback)}
                </div>
            </fieldset>
            <div id="stack-error">{move || problem.get().map(|e| view! { <ErrorBox error=e/> })}</div>
            <div class="form-buttons">
                <button type="submit" class="btn btn-primary" id="stack-save" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save stack" }}
                </button>
                <a class="btn btn-quiet" href=back>"Cancel"</a>
            </div>
        </form>
    }
}

/// The host select: the hosts the caller may create stacks on.
#[component]
fn HostChoice(form: Form) -> impl IntoView {
    let hosts = Resource::new(|| (), |_| host_statuses());
    let perms = super::permissions();
    view! {
        <label for="stack-host">"Host"
            <Suspense fallback=|| view! { <select id="stack-host" disabled=true><option>"Loading…"</option></select> }>
                {move || Suspend::new(async move {
                    let perms = perms.await;
                    let ids: Vec<String> = hosts.await.unwrap_or_default().into_iter().map(|h| h.id.0)
                        .filter(|h| perms.allows(Operation::CreateStack, Some(h)) || form.host.get_untracked() == *h)
                        .collect();
                    if form.host.get_untracked().is_empty() && let Some(first) = ids.first() {
                        form.host.set(first.clone());
                    }
                    view! {
                        <select id="stack-host" disabled=form.editing on:change=move |ev| form.host.set(event_target_value(&ev))>
                            {ids.into_iter().map(|h| {
                                let (v, label) = (h.clone(), h.clone());
                                view! { <option value=h selected=move || form.host.get() == v>{label}</option> }
                            }).collect_view()}
                        </select>
                    }
                })}
            </Suspense>
        </label>
    }
}

fn text_field(id: &'static str, label: &'static str, hint: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label for=id>{label}
            <input id=id autocomplete="off" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            {(!hint.is_empty()).then(|| view! { <span class="hint">{hint}</span> })}
        </label>
    }
}

fn number_field(id: &'static str, label: &'static str, hint: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label for=id>{label}
            <input id=id type="number" inputmode="numeric" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            <span class="hint">{hint}</span>
        </label>
    }
}

fn check(id: &'static str, label: &'static str, value: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="toggle" for=id>
            <input type="checkbox" id=id prop:checked=move || value.get() on:change=move |ev| value.set(event_target_checked(&ev))/>
            {label}
        </label>
    }
}

fn git_fields(form: Form) -> impl IntoView {
    let kept = if form.editing { "empty keeps the stored one" } else { "" };
    view! {
        <div class="field-row">
            {text_field("git-url", "URL", "https://, ssh://, user@host:path or file://", form.url)}
            {text_field("git-branch", "Branch", "", form.branch)}
        </div>
        <div class="field-row">
            {text_field("git-path", "Path", "the directory of the compose files (empty: the root)", form.path)}
            {text_field("git-files", "Compose files", "comma separated (empty: compose.yaml)", form.files)}
        </div>
        <div class="field-row">
            <label for="git-credential">"Credential"
                <select id="git-credential" on:change=move |ev| form.cred.set(event_target_value(&ev))>
                    {[("none", "None (a public repository)"), ("token", "Token (user and token)"), ("ssh", "SSH key")].map(|(v, l)| view! {
                        <option value=v selected=move || form.cred.get() == v>{l}</option>
                    })}
                </select>
            </label>
        </div>
        {move || match form.cred.get().as_str() {
            "token" => view! {
                <div class="field-row">
                    {text_field("git-user", "User", "empty: x-access-token", form.token_user)}
                    <label for="git-secret">"Token"
                        <input id="git-secret" type="password" autocomplete="new-password" placeholder=kept
                            prop:value=move || form.git_secret.get() on:input=move |ev| form.git_secret.set(event_target_value(&ev))/>
                        <span class="hint">"Write-only: berth never shows it again."</span>
                    </label>
                </div>
            }.into_any(),
            "ssh" => view! {
                <label for="git-secret" class="field-stack">"SSH private key"
                    <textarea id="git-secret" class="secret-key" rows="6" spellcheck="false" placeholder=kept
                        prop:value=move || form.git_secret.get() on:input=move |ev| form.git_secret.set(event_target_value(&ev))></textarea>
                    <span class="hint">"Write-only: berth never shows it again."</span>
                </label>
            }.into_any(),
            _ => ().into_any(),
        }}
    }
}

/// The compose file's editor and its check with compose.
#[component]
fn ComposeFields(form: Form) -> impl IntoView {
    let check = Action::new(move |(host, compose): &(String, String)| {
        let request = req::ValidateCompose {
            host: HostId(host.clone()),
            compose: compose.clone(),
        };
        async move { validate_compose(request).await }
    });
    let error_line = Signal::derive(move || {
        check.value().with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(|c| c.problem.as_ref())
                .and_then(|p| p.line)
        })
    });
    view! {
        <label for="compose-text">"compose.yaml"</label>
        <YamlEditor text=form.compose error_line id="compose-text"/>
        <div class="compose-check">
            <button type="button" class="btn" id="compose-check" disabled=move || check.pending().get()
                on:click=move |_| { check.dispatch((form.host.get_untracked(), form.compose.get_untracked())); }>
                {move || if check.pending().get() { "Checking…" } else { "Check with compose" }}
            </button>
            <span class="hint">"Variables are not filled in by the check; the deploy gives them."</span>
        </div>
        {move || check.value().get().map(check_result)}
    }
}

fn check_result(r: Result<ComposeCheck, AppError>) -> AnyView {
    match r {
        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
        Ok(ComposeCheck {
            problem: Some(p),
            compose,
            ..
        }) => view! {
            <div class="alert alert-error" role="alert" id="compose-problem">
                <strong>{p.line.map(|l| format!("Line {l}: ")).unwrap_or_default()}{p.message}</strong>
                <span class="muted small">{format!(" ({compose})")}</span>
            </div>
        }
        .into_any(),
        Ok(ComposeCheck { services, compose, .. }) => view! {
            <div class="alert alert-ok" role="status" id="compose-ok">
                {format!("Valid ({compose}). Services: ")}
                {services.into_iter().map(|s| view! { <code class="compose-service">{s}</code>" " }).collect_view()}
            </div>
        }
        .into_any(),
    }
}
