//! `/images`, `/networks` and `/volumes`: what a host's engine stores
//! besides containers, for one host at a time (a host select, kept in the
//! URL as `?host=NAME`; the first host the caller may see by default), with
//! sizes people can read, a Remove button per row and a Prune button for
//! everything unused, both shown only to those who may manage that host and
//! only where the host allows changes (a read-only agent refuses them).
//! Both ask first; core records each one in the event log. A prune reports
//! what it gave back.

use crate::api::containers::host_statuses;
use crate::api::ops::{
    PruneImagesCall, PruneNetworksCall, PruneVolumesCall, RemoveImageCall, RemoveNetworkCall, RemoveVolumeCall,
    list_images, list_networks, list_volumes,
};
use crate::components::confirm::confirmed;
use crate::components::hosts::{HostSelect, ReadOnlyNote};
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::ops as req;
use berth_core::model::{
    ErrorKind, HostId, HostStatus, Image, Network, Operation, Permissions, PruneReport, Volume, format_ts, human_bytes,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

type Statuses = Resource<Result<Vec<HostStatus>, AppError>>;

/// The host a page shows: the one named in `?host=`, else the first of
/// `statuses` (the hosts the caller may see, in berth's order).
fn pick(asked: &str, statuses: &[HostStatus]) -> Option<String> {
    if asked.is_empty() {
        statuses.first().map(|s| s.id.0.clone())
    } else {
        Some(asked.to_string())
    }
}

/// `pick`, asking the server for the hosts when none was named.
async fn pick_host(asked: String) -> Result<String, AppError> {
    let statuses = if asked.is_empty() {
        host_statuses().await?
    } else {
        Vec::new()
    };
    pick(&asked, &statuses).ok_or_else(|| {
        AppError::new(
            ErrorKind::NotFound,
            "there is no host you may see yet; ask an admin for access",
        )
    })
}

/// The host shown and what the caller may change there.
#[derive(Clone)]
struct OnHost {
    host: String,
    status: Option<HostStatus>,
    perms: Permissions,
}

impl OnHost {
    /// Allowed by the caller's grants on the host, and by the host itself.
    fn may(&self, op: Operation) -> bool {
        self.perms.allows(op, Some(&self.host)) && self.status.as_ref().is_none_or(|s| s.limits.allows_changes())
    }
}

/// The page's state that every part reads: the `?host=` asked for, the
/// hosts the caller may see, and their permissions.
#[derive(Clone, Copy)]
struct Shown {
    asked: Memo<String>,
    statuses: Statuses,
    perms: Resource<Permissions>,
}

impl Shown {
    fn new() -> Shown {
        let query = use_query_map();
        Shown {
            asked: Memo::new(move |_| query.read().get("host").unwrap_or_default()),
            statuses: Resource::new(|| (), |_| host_statuses()),
            perms: super::permissions(),
        }
    }

    /// The host the page shows now (read inside `<Suspense/>`).
    async fn on_host(self, host: String) -> OnHost {
        let statuses = self.statuses.await.unwrap_or_default();
        OnHost {
            status: statuses.into_iter().find(|s| s.id.0 == host),
            host,
            perms: self.perms.await,
        }
    }
}

/// What the last prune did, or why it failed.
fn prune_notice(result: Signal<Option<Result<PruneReport, AppError>>>) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(r) => view! {
                <div class="alert alert-ok" role="status" id="prune-report">
                    {format!("Reclaimed {}, removed {}.", human_bytes(r.space_reclaimed), r.deleted.len())}
                </div>
            }
            .into_any(),
            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
        })
    }
}

/// The failure of the last removal, if it failed.
fn remove_notice(error: Signal<Option<AppError>>) -> impl IntoView {
    move || error.get().map(|e| view! { <ErrorBox error=e/> })
}

/// The page's title row: the host select, and the Prune button (pruning
/// the host shown) if the caller may `op` there; then a note when the
/// host refuses changes.
fn head(
    title: &'static str,
    path: &'static str,
    question: &'static str,
    pending: Signal<bool>,
    shown: Shown,
    op: Operation,
    prune: impl Fn(String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let bare = move || view! { <div class="section-head"><h1>{title}</h1></div> };
    view! {
        <Title text=title/>
        <Suspense fallback=bare>
            {move || {
                let prune = prune.clone();
                Suspend::new(async move {
                    let statuses = shown.statuses.await.unwrap_or_default();
                    let host = pick(&shown.asked.get(), &statuses).unwrap_or_default();
                    let hosts: Vec<_> = statuses.iter().map(|s| s.id.clone()).collect();
                    let on = shown.on_host(host.clone()).await;
                    let read_only = on.status.as_ref().is_some_and(|s| s.limits.read_only);
                    view! {
                        <div class="section-head">
                            <h1>{title}</h1>
                            <div class="actions">
                                <HostSelect hosts=Signal::stored(hosts) selected=Signal::stored(host.clone()) path/>
                                {on.may(op).then(|| view! {
                                    <button type="button" class="btn" data-action="prune" disabled=move || pending.get()
                                        on:click=move |_| {
                                            if confirmed(&format!("{question} (host {host})")) {
                                                prune(host.clone());
                                            }
                                        }>
                                        "Prune"
                                    </button>
                                })}
                            </div>
                        </div>
                        {read_only.then(|| view! {
                            <ReadOnlyNote host=on.host.clone() what="berth shows what its engine stores but cannot remove or prune anything there."/>
                        })}
                    }
                })
            }}
        </Suspense>
    }
}

/// A row's Remove button: asks `question`, then runs `remove`. Callers
/// leave it out when the caller may not remove.
fn remove_button(label: String, question: String, pending: Signal<bool>, remove: impl Fn() + 'static) -> impl IntoView {
    view! {
        <button type="button" class="btn btn-small" data-action="remove" aria-label=label disabled=move || pending.get()
            on:click=move |_| {
                if confirmed(&question) {
                    remove();
                }
            }>
            "Remove"
        </button>
    }
}

#[component]
pub fn ImagesPage() -> impl IntoView {
    let remove = ServerAction::<RemoveImageCall>::new();
    let prune = ServerAction::<PruneImagesCall>::new();
    let shown = Shown::new();
    let asked = shown.asked;
    let list = Resource::new(
        move || (asked.get(), remove.version().get(), prune.version().get()),
        |(asked, _, _)| async move {
            let host = pick_host(asked).await?;
            Ok::<_, AppError>((host.clone(), list_images(req::ListImages { host: HostId(host) }).await?))
        },
    );
    let pending = Signal::derive(move || remove.pending().get() || prune.pending().get());
    view! {
        {head("Images", "/images", "Remove every dangling image (no name, not used by any tagged image)?", pending, shown, Operation::PruneImages, move |host| {
            prune.dispatch(PruneImagesCall {
                request: req::PruneImages { host: HostId(host), label: None },
            });
        })}
        <p class="muted">"Prune removes dangling images only; named images stay."</p>
        {prune_notice(Signal::derive(move || prune.value().get()))}
        {remove_notice(Signal::derive(move || remove.value().get().and_then(|r| r.err())))}
        <Transition fallback=|| view! { <p class="muted">"Loading images…"</p> }>
            {move || Suspend::new(async move {
                let (host, images) = match list.await {
                    Err(e) => return view! { <ErrorBox error=e/> }.into_any(),
                    Ok(listed) => listed,
                };
                let may_remove = shown.on_host(host.clone()).await.may(Operation::RemoveImage);
                if images.is_empty() {
                    return view! { <p class="empty">"No images on this host."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="table images" aria-label="Images" data-host=host.clone()>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col" class="hide-sm">"ID"</th>
                                    <th scope="col" class="num">"Size"</th>
                                    <th scope="col" class="hide-sm">"Created (UTC)"</th>
                                    <th scope="col" class="num">"Containers"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {images.into_iter().map(|i| image_row(i, &host, remove, pending, may_remove)).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
        </Transition>
    }
}

fn image_row(
    i: Image,
    host: &str,
    remove: ServerAction<RemoveImageCall>,
    pending: Signal<bool>,
    may_remove: bool,
) -> impl IntoView {
    // Copy, for the buttons of each name.
    let host = StoredValue::new(host.to_string());
    let dispatch = move |reference: String| {
        remove.dispatch(RemoveImageCall {
            request: req::RemoveImage {
                host: HostId(host.get_value()),
                reference,
                force: false,
            },
        });
    };
    // One name: remove it (and with it the image). Several: each name goes on
    // its own. None: remove the image by id.
    let names = if i.dangling {
        view! { <span class="muted">"<none>"</span>" "<span class="badge">"dangling"</span> }.into_any()
    } else if i.tags.len() == 1 {
        view! { <code>{i.tags[0].clone()}</code> }.into_any()
    } else {
        i.tags
            .iter()
            .map(|t| {
                let tag = t.clone();
                view! {
                    <div class="image-name">
                        <code>{t.clone()}</code>" "
                        {may_remove.then(|| remove_button(format!("Remove the name {t}"), format!("Remove the name {t}? The image keeps its other names."), pending, move || dispatch(tag.clone())))}
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    let whole = match i.tags.len() {
        _ if !may_remove => None,
        0 => Some((i.id.clone(), format!("Remove the dangling image {}?", i.short_id()))),
        1 => Some((i.tags[0].clone(), format!("Remove image {}?", i.tags[0]))),
        _ => None,
    };
    view! {
        <tr data-name=i.tags.first().cloned().unwrap_or_else(|| i.id.clone()) data-dangling=i.dangling.to_string()>
            <td>{names}</td>
            <td class="hide-sm"><code>{i.short_id().to_string()}</code></td>
            <td class="num">{human_bytes(i.size)}</td>
            <td class="hide-sm time">{format_ts(i.created * 1_000_000_000)}</td>
            <td class="num">{i.containers}</td>
            <td class="actions">
                {whole.map(|(reference, question)| {
                    let label = format!("Remove {reference}");
                    remove_button(label, question, pending, move || dispatch(reference.clone()))
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn NetworksPage() -> impl IntoView {
    let remove = ServerAction::<RemoveNetworkCall>::new();
    let prune = ServerAction::<PruneNetworksCall>::new();
    let shown = Shown::new();
    let asked = shown.asked;
    let list = Resource::new(
        move || (asked.get(), remove.version().get(), prune.version().get()),
        |(asked, _, _)| async move {
            let host = pick_host(asked).await?;
            Ok::<_, AppError>((
                host.clone(),
                list_networks(req::ListNetworks { host: HostId(host) }).await?,
            ))
        },
    );
    let pending = Signal::derive(move || remove.pending().get() || prune.pending().get());
    view! {
        {head("Networks", "/networks", "Remove every network no container uses?", pending, shown, Operation::PruneNetworks, move |host| {
            prune.dispatch(PruneNetworksCall {
                request: req::PruneNetworks { host: HostId(host), label: None },
            });
        })}
        {prune_notice(Signal::derive(move || prune.value().get()))}
        {remove_notice(Signal::derive(move || remove.value().get().and_then(|r| r.err())))}
        <Transition fallback=|| view! { <p class="muted">"Loading networks…"</p> }>
            {move || Suspend::new(async move {
                let (host, networks) = match list.await {
                    Err(e) => return view! { <ErrorBox error=e/> }.into_any(),
                    Ok(listed) => listed,
                };
                let may_remove = shown.on_host(host.clone()).await.may(Operation::RemoveNetwork);
                view! {
                    <div class="table-wrap">
                        <table class="table networks" aria-label="Networks" data-host=host.clone()>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Driver"</th>
                                    <th scope="col" class="hide-sm">"Scope"</th>
                                    <th scope="col" class="hide-sm">"ID"</th>
                                    <th scope="col" class="num">"Containers"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {networks.into_iter().map(|n| network_row(n, &host, remove, pending, may_remove)).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
        </Transition>
    }
}

fn network_row(
    n: Network,
    host: &str,
    remove: ServerAction<RemoveNetworkCall>,
    pending: Signal<bool>,
    may_remove: bool,
) -> impl IntoView {
    let short = n.id.chars().take(12).collect::<String>();
    let action = if n.is_predefined() {
        view! { <span class="muted small">"comes with the engine"</span> }.into_any()
    } else if !may_remove {
        ().into_any()
    } else {
        let (name, host) = (n.name.clone(), host.to_string());
        let question = format!("Remove network {name} on host {host}?");
        remove_button(format!("Remove {name}"), question, pending, move || {
            remove.dispatch(RemoveNetworkCall {
                request: req::RemoveNetwork {
                    host: HostId(host.clone()),
                    id: name.clone(),
                },
            });
        })
        .into_any()
    };
    view! {
        <tr data-name=n.name.clone()>
            <td>
                <strong>{n.name.clone()}</strong>
                {n.internal.then(|| view! { " "<span class="badge">"internal"</span> })}
            </td>
            <td>{n.driver.clone()}</td>
            <td class="hide-sm">{n.scope.clone()}</td>
            <td class="hide-sm"><code>{short}</code></td>
            <td class="num">{n.containers}</td>
            <td class="actions">{action}</td>
        </tr>
    }
}

#[component]
pub fn VolumesPage() -> impl IntoView {
    let remove = ServerAction::<RemoveVolumeCall>::new();
    let prune = ServerAction::<PruneVolumesCall>::new();
    let shown = Shown::new();
    let asked = shown.asked;
    let list = Resource::new(
        move || (asked.get(), remove.version().get(), prune.version().get()),
        |(asked, _, _)| async move {
            let host = pick_host(asked).await?;
            Ok::<_, AppError>((
                host.clone(),
                list_volumes(req::ListVolumes { host: HostId(host) }).await?,
            ))
        },
    );
    let pending = Signal::derive(move || remove.pending().get() || prune.pending().get());
    view! {
        {head("Volumes", "/volumes", "Remove every volume no container uses? Their data is lost.", pending, shown, Operation::PruneVolumes, move |host| {
            prune.dispatch(PruneVolumesCall {
                request: req::PruneVolumes { host: HostId(host), label: None },
            });
        })}
        {prune_notice(Signal::derive(move || prune.value().get()))}
        {remove_notice(Signal::derive(move || remove.value().get().and_then(|r| r.err())))}
        <Transition fallback=|| view! { <p class="muted">"Loading volumes…"</p> }>
            {move || Suspend::new(async move {
                let (host, volumes) = match list.await {
                    Err(e) => return view! { <ErrorBox error=e/> }.into_any(),
                    Ok(listed) => listed,
                };
                let may_remove = shown.on_host(host.clone()).await.may(Operation::RemoveVolume);
                if volumes.is_empty() {
                    return view! { <p class="empty">"No volumes on this host."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="table volumes" aria-label="Volumes" data-host=host.clone()>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Driver"</th>
                                    <th scope="col" class="hide-sm">"Mount point"</th>
                                    <th scope="col" class="hide-sm">"Created (UTC)"</th>
                                    <th scope="col" class="num">"Containers"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {volumes.into_iter().map(|v| volume_row(v, &host, remove, pending, may_remove)).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
        </Transition>
    }
}

fn volume_row(
    v: Volume,
    host: &str,
    remove: ServerAction<RemoveVolumeCall>,
    pending: Signal<bool>,
    may_remove: bool,
) -> impl IntoView {
    let (name, host) = (v.name.clone(), host.to_string());
    let question = format!("Remove volume {name} and its data on host {host}?");
    view! {
        <tr data-name=v.name.clone()>
            <td><strong class="volume-name">{v.name.clone()}</strong></td>
            <td>{v.driver.clone()}</td>
            <td class="hide-sm"><code>{v.mountpoint.clone()}</code></td>
            <td class="hide-sm time">{v.created.map(|c| format_ts(c * 1_000_000_000))}</td>
            <td class="num">{v.in_use}</td>
            <td class="actions">
                {may_remove.then(|| remove_button(format!("Remove {name}"), question, pending, move || {
                    remove.dispatch(RemoveVolumeCall {
                        request: req::RemoveVolume { host: HostId(host.clone()), name: name.clone(), force: false },
                    });
                }))}
            </td>
        </tr>
    }
}
