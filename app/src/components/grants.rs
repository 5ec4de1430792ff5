//! Editing a set of grants (host, level, rights) as a whole: an admin's
//! user page for someone's grants, the account page for a new key's.

use berth_core::model::{Grant, Level};
use leptos::prelude::*;

/// One grant being edited, with a key that stays put while rows come and go.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: usize,
    grant: Grant,
}

/// The grants an editor shows. Rows keep their DOM nodes while typing (a
/// keyed list), so an input never loses focus to a re-render.
#[derive(Clone, Copy)]
pub struct GrantsDraft {
    rows: RwSignal<Vec<Row>>,
}

impl GrantsDraft {
    pub fn new(grants: &[Grant]) -> GrantsDraft {
        let draft = GrantsDraft {
            rows: RwSignal::new(Vec::new()),
        };
        draft.reset(grants);
        draft
    }

    /// Replaces every row (new keys, so every row is drawn afresh).
    pub fn reset(&self, grants: &[Grant]) {
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
    pub fn grants(&self) -> Vec<Grant> {
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
pub fn grants_editor(draft: GrantsDraft, prefix: &'static str, label: &'static str) -> impl IntoView {
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
