//! `/images`, `/networks` and `/volumes`: what the local engine stores
//! besides containers, with sizes people can read, a Remove button per row
//! and a Prune button for everything unused, both shown only to those who
//! may manage the host. Both ask first; core records each one in the event
//! log. A prune reports what it gave back.

use crate::api::resources::{
    PruneImages, PruneNetworks, PruneVolumes, RemoveImage, RemoveNetwork, RemoveVolume, list_images, list_networks,
    list_volumes,
};
use crate::components::confirm::confirmed;
use crate::components::status::ErrorBox;
use crate::error::AppError;
use berth_core::model::{Image, Network, Operation, Permissions, PruneReport, Volume, format_ts, human_bytes};
use leptos::prelude::*;
use leptos_meta::Title;

const HOST: &str = "local";

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

/// The page's title row with its Prune button, if the caller may `op`.
fn head(
    title: &'static str,
    question: &'static str,
    pending: Signal<bool>,
    perms: Resource<Permissions>,
    op: Operation,
    prune: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <Title text=title/>
        <div class="section-head">
            <h1>{title}</h1>
            <Suspense fallback=|| ()>
                {move || {
                    let prune = prune.clone();
                    Suspend::new(async move {
                        perms.await.allows(op, Some(HOST)).then(|| view! {
                            <button type="button" class="btn" data-action="prune" disabled=move || pending.get()
                                on:click=move |_| {
                                    if confirmed(question) {
                                        prune();
                                    }
                                }>
                                "Prune"
                            </button>
                        })
                    })
                }}
            </Suspense>
        </div>
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
    let remove = ServerAction::<RemoveImage>::new();
    let prune = ServerAction::<PruneImages>::new();
    let perms = super::permissions();
    let list = Resource::new(
        move || (remove.version().get(), prune.version().get()),
        |_| list_images(HOST.to_string()),
    );
    let pending = Signal::derive(move || remove.pending().get() || prune.pending().get());
    view! {
        {head("Images", "Remove every dangling image (no name, not used by any tagged image)?", pending, perms, Operation::PruneImages, move || {
            prune.dispatch(PruneImages { host: HOST.to_string() });
        })}
        <p class="muted">"Prune removes dangling images only; named images stay."</p>
        {prune_notice(Signal::derive(move || prune.value().get()))}
        {remove_notice(Signal::derive(move || remove.value().get().and_then(|r| r.err())))}
        <Transition fallback=|| view! { <p class="muted">"Loading images…"</p> }>
            {move || Suspend::new(async move {
                let (list, may_remove) = (list.await, perms.await.allows(Operation::RemoveImage, Some(HOST)));
                match list {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(images) if images.is_empty() => view! { <p class="empty">"No images on this host."</p> }.into_any(),
                    Ok(images) => view! {
                        <div class="table-wrap">
                            <table class="table images" aria-label="Images">
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
                                    {images.into_iter().map(|i| image_row(i, remove, pending, may_remove)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

fn image_row(i: Image, remove: ServerAction<RemoveImage>, pending: Signal<bool>, may_remove: bool) -> impl IntoView {
    let dispatch = move |reference: String| {
        remove.dispatch(RemoveImage {
            host: HOST.to_string(),
            reference,
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
    let remove = ServerAction::<RemoveNetwork>::new();
    let prune = ServerAction::<PruneNetworks>::new();
    let perms = super::permissions();
    let list = Resource::new(
        move || (remove.version().get(), prune.version().get()),
        |_| list_networks(HOST.to_string()),
    );
    let pending = Signal::derive(move || remove.pending().get() || prune.pending().get());
    view! {
        {head("Networks", "Remove every network no container uses?", pending, perms, Operation::PruneNetworks, move || {
            prune.dispatch(PruneNetworks { host: HOST.to_string() });
        })}
        {prune_notice(Signal::derive(move || prune.value().get()))}
        {remove_notice(Signal::derive(move || remove.value().get().and_then(|r| r.err())))}
        <Transition fallback=|| view! { <p class="muted">"Loading networks…"</p> }>
            {move || Suspend::new(async move {
                let (list, may_remove) = (list.await, perms.await.allows(Operation::RemoveNetwork, Some(HOST)));
                match list {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(networks) => view! {
                        <div class="table-wrap">
                            <table class="table networks" aria-label="Networks">
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
                                    {networks.into_iter().map(|n| network_row(n, remove, pending, may_remove)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

fn network_row(
    n: Network,
    remove: ServerAction<RemoveNetwork>,
    pending: Signal<bool>,
    may_remove: bool,
) -> impl IntoView {
    let short = n.id.chars().take(12).collect::<String>();
    let action = if n.is_predefined() {
        view! { <span class="muted small">"comes with the engine"</span> }.into_any()
    } else if !may_remove {
        ().into_any()
    } else {
        let name = n.name.clone();
        let question = format!("Remove network {name}?");
        remove_button(format!("Remove {name}"), question, pending, move || {
            remove.dispatch(RemoveNetwork {
                host: HOST.to_string(),
                id: name.clone(),
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
    let remove = ServerAction::<RemoveVolume>::new();
    let prune = ServerAction::<PruneVolumes>::new();
    let perms = super::permissions();
    let list = Resource::new(
        move || (remove.version().get(), prune.version().get()),
        |_| list_volumes(HOST.to_string()),
    );
    let pending = Signal::derive(move || remove.pending().get() || prune.pending().get());
    view! {
        {head("Volumes", "Remove every volume no container uses? Their data is lost.", pending, perms, Operation::PruneVolumes, move || {
            prune.dispatch(PruneVolumes { host: HOST.to_string() });
        })}
        {prune_notice(Signal::derive(move || prune.value().get()))}
        {remove_notice(Signal::derive(move || remove.value().get().and_then(|r| r.err())))}
        <Transition fallback=|| view! { <p class="muted">"Loading volumes…"</p> }>
            {move || Suspend::new(async move {
                let (list, may_remove) = (list.await, perms.await.allows(Operation::RemoveVolume, Some(HOST)));
                match list {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(volumes) if volumes.is_empty() => view! { <p class="empty">"No volumes on this host."</p> }.into_any(),
                    Ok(volumes) => view! {
                        <div class="table-wrap">
                            <table class="table volumes" aria-label="Volumes">
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
                                    {volumes.into_iter().map(|v| volume_row(v, remove, pending, may_remove)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

fn volume_row(v: Volume, remove: ServerAction<RemoveVolume>, pending: Signal<bool>, may_remove: bool) -> impl IntoView {
    let name = v.name.clone();
    let question = format!("Remove volume {name} and its data?");
    view! {
        <tr data-name=v.name.clone()>
            <td><strong class="volume-name">{v.name.clone()}</strong></td>
            <td>{v.driver.clone()}</td>
            <td class="hide-sm"><code>{v.mountpoint.clone()}</code></td>
            <td class="hide-sm time">{v.created.map(|c| format_ts(c * 1_000_000_000))}</td>
            <td class="num">{v.in_use}</td>
            <td class="actions">
                {may_remove.then(|| remove_button(format!("Remove {name}"), question, pending, move || {
                    remove.dispatch(RemoveVolume { host: HOST.to_string(), name: name.clone() });
                }))}
            </td>
        </tr>
    }
}
