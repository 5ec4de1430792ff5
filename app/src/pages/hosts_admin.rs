//! The admin's part of `/hosts`: every host entry (how berth reaches it,
//! its state, pinned fingerprint and origin), adding a host that runs
//! `berth agent` (check the certificate it presents, then add), and, for
//! hosts added here, renaming, disabling and enabling, removing, and
//! accepting a new certificate fingerprint. Core decides and records each
//! change; the page leaves this part out for everyone but admins.
//!
//! Every form posts to its server function, so it also works before the
//! page is hydrated (the page reloads); once hydrated the list refreshes in
//! place after each change, and adding takes two steps: check, then add.
//!
//! Here: the list and the changes it offers (one action of each for every
//! entry). `entry`: one host entry with its forms. `add`: adding a host.

mod add;
mod entry;

use crate::api::hosts::{AcceptFingerprintForm, AddHostForm, RemoveHostForm, RenameHostForm, SetHostEnabledForm};
use crate::api::ops::host_entries;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use add::AddHost;
use berth_core::model::Dashboard;
use berth_core::model::ops::HostEntries;
use entry::{Entry, entry_key};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The changes an entry offers, one action of each for the whole list, so
/// that the list refreshes after any of them and says how the last went.
#[derive(Clone, Copy)]
struct Changes {
    rename: ServerAction<RenameHostForm>,
    enable: ServerAction<SetHostEnabledForm>,
    remove: ServerAction<RemoveHostForm>,
    accept: ServerAction<AcceptFingerprintForm>,
    /// The change asked for last (an action forgets its input once done).
    last: RwSignal<Option<Change>>,
}

#[derive(Clone)]
enum Change {
    Rename(RenameHostForm),
    Enable(SetHostEnabledForm),
    Remove(RemoveHostForm),
    Accept(AcceptFingerprintForm),
}

impl Change {
    /// What was asked, for the message about it: "Renaming web-2 to web-3".
    fn asked(&self) -> String {
        match self {
            Change::Rename(c) => format!("Renaming {} to {}", c.host, c.new_name),
            Change::Enable(c) if c.enabled => format!("Enabling {}", c.host),
            Change::Enable(c) => format!("Disabling {}", c.host),
            Change::Remove(c) => format!("Removing {}", c.host),
            Change::Accept(c) => format!("Pinning a new fingerprint for {}", c.host),
        }
    }

    /// What changed, once it did.
    fn done(&self) -> String {
        match self {
            Change::Rename(c) => format!("Renamed {} to {}.", c.host, c.new_name),
            Change::Enable(c) if c.enabled => format!("Enabled {}: berth connects to it again.", c.host),
            Change::Enable(c) => format!(
                "Disabled {}: berth keeps it but no longer connects to it. Enable it to connect again.",
                c.host
            ),
            Change::Remove(c) => format!("Removed {}. What happened on it stays in the event log.", c.host),
            Change::Accept(c) => format!("Pinned the new fingerprint of {}; berth connects to it again.", c.host),
        }
    }
}

impl Changes {
    fn new(refresh: RwSignal<usize>) -> Changes {
        let changes = Changes {
            rename: ServerAction::new(),
            enable: ServerAction::new(),
            remove: ServerAction::new(),
            accept: ServerAction::new(),
            last: RwSignal::new(None),
        };
        let last = changes.last;
        remember(changes.rename, move |c| last.set(Some(Change::Rename(c))));
        remember(changes.enable, move |c| last.set(Some(Change::Enable(c))));
        remember(changes.remove, move |c| last.set(Some(Change::Remove(c))));
        remember(changes.accept, move |c| last.set(Some(Change::Accept(c))));
        refresh_after(changes.rename, refresh);
        refresh_after(changes.enable, refresh);
        refresh_after(changes.remove, refresh);
        refresh_after(changes.accept, refresh);
        changes
    }

    fn pending(&self) -> bool {
        self.rename.pending().get()
            || self.enable.pending().get()
            || self.remove.pending().get()
            || self.accept.pending().get()
    }

    /// The last change and how it went, once it is done.
    fn outcome(&self) -> Option<(Change, Result<(), AppError>)> {
        if self.pending() {
            return None;
        }
        let change = self.last.get()?;
        let result = match &change {
            Change::Rename(_) => self.rename.value().get()?,
            Change::Enable(_) => self.enable.value().get()?,
            Change::Remove(_) => self.remove.value().get()?,
            Change::Accept(_) => self.accept.value().get()?,
        };
        Some((change, result))
    }

    /// The error of a change posted before the page ran: the server sent
    /// the browser back with it in the URL, and no change was asked here.
    fn posted_error(&self) -> Option<AppError> {
        if self.last.read().is_some() {
            return None;
        }
        let failed = |r: Option<Result<(), AppError>>| r.and_then(Result::err);
        failed(self.rename.value().get())
            .or_else(|| failed(self.enable.value().get()))
            .or_else(|| failed(self.remove.value().get()))
            .or_else(|| failed(self.accept.value().get()))
    }
}

/// Calls `keep` with each input `action` is dispatched with.
fn remember<S>(action: ServerAction<S>, keep: impl Fn(S) + 'static)
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(input) = action.input().get() {
            keep(input);
        }
    });
}

/// Bumps `refresh` each time `action` succeeds. A failed change left
/// everything as it was, so the list (and any half-typed form) stays.
fn refresh_after<S>(action: ServerAction<S>, refresh: RwSignal<usize>)
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            refresh.update(|n| *n += 1);
        }
    });
}

/// Whether the page runs (hydrated): false on the server and while hydrating.
fn hydrated() -> RwSignal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated
}

/// The list of host entries with their controls, and the form that adds a
/// host. `live` is the page's dashboard feed: it keeps each entry's state
/// current and brings hosts that appear or go.
#[component]
pub fn HostsAdmin(live: RwSignal<Option<Dashboard>>) -> impl IntoView {
    let refresh = RwSignal::new(0usize);
    let changes = Changes::new(refresh);
    let add = ServerAction::<AddHostForm>::new();
    refresh_after(add, refresh);
    // A host that starts or stops running (added elsewhere, connecting,
    // removed): the list is fetched again. Not on the feed's first tick.
    Effect::new(move |before: Option<Option<Vec<String>>>| {
        let running = live.with(|d| {
            d.as_ref().map(|d| {
                let mut ids: Vec<String> = d.hosts.iter().map(|h| h.status.id.0.clone()).collect();
                ids.sort();
                ids
            })
        });
        if let (Some(Some(before)), Some(now)) = (&before, &running)
            && before != now
        {
            refresh.update(|n| *n += 1);
        }
        running
    });
    let entries = Resource::new(move || refresh.get(), |_| host_entries(HostEntries {}));
    let hydrated = hydrated();
    let outcome = move || {
        let failed = |error: AppError| view! { <div id="host-change-error"><ErrorBox error/></div> }.into_any();
        match changes.outcome() {
            Some((change, Ok(()))) => Some(
                view! { <div class="alert alert-ok" role="status" id="host-change-ok">{change.done()}</div> }
                    .into_any(),
            ),
            Some((change, Err(e))) => Some(failed(AppError::new(
                e.kind,
                format!("{} failed: {}", change.asked(), e.message),
            ))),
            None => changes
                .posted_error()
                .map(|e| failed(AppError::new(e.kind, format!("The change failed: {}", e.message)))),
        }
    };
    view! {
        <section class="hosts-admin" id="hosts-admin" aria-labelledby="hosts-admin-title">
            <h2 id="hosts-admin-title">"Manage hosts"</h2>
            <p class="muted small">
                "Hosts added here can be renamed, disabled and removed; the engine beside berth and the hosts of the "
                "configuration file are changed in that file."
            </p>
            {outcome}
            <Transition fallback=|| view! { <p class="muted">"Loading hosts…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        // Keyed by what a change alters, so a changed entry is drawn
                        // afresh (its open forms closed) and the others stay as they are.
                        Ok(list) => view! {
                            <ul class="host-entries" aria-label="Host entries">
                                <For each=move || list.clone() key=entry_key let(entry)>
                                    <Entry entry live changes hydrated/>
                                </For>
                            </ul>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
            <AddHost add hydrated/>
        </section>
    }
}
