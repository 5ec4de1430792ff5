//! The stack form's variables editor: rows of name, value and a secret
//! checkbox. A secret's value is a password field; a secret stored before
//! this edit shows empty, and sent empty it keeps the stored value.

use super::stack_form::VarRow;
use berth_core::model::Computed;
use leptos::prelude::*;

/// What a computed variable becomes, in the kind list.
fn describe(c: Computed) -> &'static str {
    match c {
        Computed::HostName => "the host's name",
        Computed::FreePort => "a free port (kept)",
        Computed::VolumePath => "a lasting directory",
        Computed::ScratchDir => "a directory for one deploy",
    }
}

#[component]
pub(super) fn Variables(rows: RwSignal<Vec<VarRow>>, add: impl Fn() + 'static) -> impl IntoView {
    view! {
        <fieldset class="rule-group vars-editor">
            <legend>"Variables"</legend>
            <p class="hint">"Given to compose as the environment of the deploy (use them as ${NAME} in the compose file). "
                "A secret is stored apart, masked in output and never shown again; left empty on edit, it keeps its value. "
                "Other kinds are worked out at each deploy: a free port stays the stack's until the variable is removed."</p>
            <div class="var-rows">
                <For each=move || rows.get() key=|r| r.key let:row>
                    <div class="var-row" data-row=row.key>
                        <label>"Name"
                            <input class="var-name" autocomplete="off" placeholder="NAME" prop:value=move || row.name.get()
                                on:input=move |ev| row.name.set(event_target_value(&ev))/>
                        </label>
                        <label>"Kind"
                            <select class="var-kind" prop:value=move || row.computed.get()
                                on:change=move |ev| row.computed.set(event_target_value(&ev))>
                                <option value="">"a value"</option>
                                {Computed::ALL.into_iter().map(|c| view! {
                                    <option value=c.as_str()>{describe(c)}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class:hidden=move || !row.computed.get().is_empty()>"Value"
                            <input class="var-value" autocomplete="off"
                                type=move || if row.secret.get() { "password" } else { "text" }
                                placeholder=if row.stored { "stored: empty keeps it" } else { "" }
                                prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))/>
                        </label>
                        <label class="toggle" class:hidden=move || !row.computed.get().is_empty()>
                            <input type="checkbox" class="var-secret" prop:checked=move || row.secret.get()
                                on:change=move |ev| row.secret.set(event_target_checked(&ev))/>
                            "secret"
                        </label>
                        <button type="button" class="btn btn-small btn-quiet var-remove" aria-label="Remove this variable"
                            on:click=move |_| rows.update(|v| v.retain(|r| r.key != row.key))>"Remove"</button>
                    </div>
                </For>
            </div>
            <button type="button" class="btn btn-small" id="var-add" on:click=move |_| add()>"Add variable"</button>
        </fieldset>
    }
}
