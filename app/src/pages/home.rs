//! `/`: the dashboard. The alerts firing now, every host's state and
//! resources now, drifts from expected states, every container's host, CPU
//! and memory (sortable), all live over `/ws/stats`; then the event log's
//! state and latest activity.

use crate::api::events::{FilterForm, chain, list_events};
use crate::components::dashboard::{WithDashboard, follow_dashboard};
use crate::components::event_table::EventTable;
use crate::components::firing::FiringBox;
use crate::components::status::{ChainBadge, ErrorBox};
use crate::pages::host::HostCards;
use berth_core::model::{Container, ContainerSample, Dashboard, Unit, format_ts, human_size, natural_cmp};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <WithDashboard live=follow_dashboard() render=|current| view! {
            <FiringBox alerts=Signal::derive(move || current.with(|d| d.alerts.clone())) quiet_when_none=false/>
            <div class="host-grid"><HostCards current/></div>
            <Drifts current/>
            <ContainerUsage current/>
        }/>
        <Activity/>
    }
}

#[component]
fn Drifts(current: Signal<Dashboard>) -> impl IntoView {
    move || {
        let drifts = current.with(|d| d.drifts.clone());
        (!drifts.is_empty()).then(|| {
            view! {
                <div class="alert alert-error" role="alert" id="drifts">
                    <strong>{format!("{} container(s) not in their expected state", drifts.len())}</strong>
                    <ul class="plain">
                        {drifts.into_iter().map(|d| view! {
                            <li>{format!("{} on {}: expected {}, is {} since {}", d.key, d.host, d.expected.as_str(),
                                d.actual.unwrap_or_else(|| "missing".into()), format_ts(d.since_ns))}</li>
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Name,
    Cpu,
    Memory,
}

/// A container of the dashboard table, with its latest reading if running.
#[derive(Clone)]
struct Row {
    host: String,
    c: Container,
    s: Option<ContainerSample>,
}

#[component]
fn ContainerUsage(current: Signal<Dashboard>) -> impl IntoView {
    let sort = RwSignal::new((SortBy::Cpu, true));
    let rows = move || {
        let d = current.get();
        let mut rows: Vec<Row> = d
            .hosts
            .iter()
            .flat_map(|h| {
                let stats = &d.stats.containers;
                h.containers.iter().map(move |c| Row {
                    host: h.status.id.0.clone(),
                    c: c.clone(),
                    s: stats.iter().find(|s| s.host == h.status.id && s.id == c.id).cloned(),
                })
            })
            .collect();
        let (by, desc) = sort.get();
        let cpu = |r: &Row| r.s.as_ref().map_or(-1.0, |s| s.cpu_percent);
        let mem = |r: &Row| r.s.as_ref().map_or(0, |s| s.mem_used);
        rows.sort_by(|a, b| {
            let order = match by {
                SortBy::Name => natural_cmp(&a.c.name, &b.c.name),
                SortBy::Cpu => cpu(a).total_cmp(&cpu(b)),
                SortBy::Memory => mem(a).cmp(&mem(b)),
            };
            let order = order.then_with(|| natural_cmp(&a.c.name, &b.c.name).reverse());
            if desc { order.reverse() } else { order }
        });
        rows
    };
    let header = move |label: &'static str, by: SortBy| {
        let aria = move || match sort.get() {
            (b, true) if b == by => "descending",
            (b, false) if b == by => "ascending",
            _ => "none",
        };
        view! {
            <th scope="col" aria-sort=aria>
                <button type="button" class="sort" data-sort=label on:click=move |_| sort.update(|(b, d)| {
                    if *b == by { *d = !*d } else { *b = by; *d = by != SortBy::Name }
                })>{label}{move || match aria() { "descending" => " ↓", "ascending" => " ↑", _ => "" }}</button>
            </th>
        }
    };
    view! {
        <section>
            <div class="section-head">
                <h2>"Containers"</h2>
                <a href="/containers">"Manage containers →"</a>
            </div>
            <div class="table-wrap">
                <table class="table usage" aria-label="Container usage">
                    <thead><tr>
                        {header("Name", SortBy::Name)}
                        <th scope="col" class="hide-sm">"Host"</th>
                        <th scope="col">"State"</th>
                        {header("CPU", SortBy::Cpu)}
                        {header("Memory", SortBy::Memory)}
                        <th scope="col" class="hide-sm">"Network ↓ / ↑"</th>
                        <th scope="col" class="hide-sm">"Restarts"</th>
                        <th scope="col" class="hide-sm">"OOM kills"</th>
                    </tr></thead>
                    <tbody>
                        {move || rows().into_iter().map(|r| view! { <UsageRow r/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn UsageRow(r: Row) -> impl IntoView {
    let c = r.c;
    let (cpu, mem, limit, net) = match &r.s {
        Some(s) => {
            let pct = if s.mem_limit > 0 {
                s.mem_used as f64 / s.mem_limit as f64 * 100.0
            } else {
                0.0
            };
            (
                format!("{:.1}%", s.cpu_percent),
                human_size(s.mem_used as f64),
                format!(" / {} ({pct:.1}%)", human_size(s.mem_limit as f64)),
                format!(
                    "{} / {}",
                    Unit::BytesPerSec.format(s.net_rx_bps),
                    Unit::BytesPerSec.format(s.net_tx_bps)
                ),
            )
        }
        None => ("–".into(), "–".into(), String::new(), "–".into()),
    };
    let drift = c.drifts().then(|| {
        let expected = c.expected.map(|e| e.as_str()).unwrap_or_default();
        view! { " "<span class="badge badge-error drift" title="Not in its expected state">{format!("expected {expected}")}</span> }
    });
    view! {
        <tr data-name=c.name.clone() data-host=r.host.clone() data-cpu=r.s.as_ref().map(|s| format!("{:.3}", s.cpu_percent)) data-mem=r.s.as_ref().map(|s| s.mem_used.to_string())>
            <td class="name-cell"><a href=format!("/containers/{}/{}", r.host, c.id)><strong>{c.name.clone()}</strong></a>
                {c.project.clone().map(|p| view! { <span class="muted small">{format!(" {p}")}</span> })}
                <div class="muted small show-sm">{format!("on {}", r.host)}</div></td>
            <td class="hide-sm host-cell"><a href=format!("/containers?host={}", r.host)>{r.host.clone()}</a></td>
            <td>
                <span class=format!("badge state-{}", c.state)>{c.state.to_string()}</span>
                {c.health.clone().map(|h| { let class = format!("badge health-{h}"); view! { " "<span class=class>{h}</span> } })}
                {drift}
            </td>
            <td class="num">{cpu}</td>
            <td class="num">{mem}<span class="hide-sm">{limit}</span></td>
            <td class="num hide-sm">{net}</td>
            <td class="num hide-sm">{c.restarts}</td>
            <td class="num hide-sm">{c.oom_kills}</td>
        </tr>
    }
}

/// The event log's state and its latest entries.
#[component]
fn Activity() -> impl IntoView {
    let recent = Resource::new(|| (), |_| list_events(FilterForm::default(), None));
    let chain = Resource::new(|| (), |_| chain());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (recent.await, chain.await) {
                    (Ok(page), Ok(status)) => view! {
                        <section class="cards">
                            <div class="card stat">
                                <div class="stat-label">"Events recorded"</div>
                                <div class="stat-value" id="event-count">{page.head}</div>
                            </div>
                            <div class="card stat">
                                <div class="stat-label">"Event log integrity"</div>
                                <div class="stat-value small"><ChainBadge status head=page.head/></div>
                            </div>
                        </section>
                        <section>
                            <div class="section-head">
                                <h2>"Latest activity"</h2>
                                <a href="/events">"Open the event log →"</a>
                            </div>
                            <EventTable events=page.events.into_iter().take(10).collect() filter=FilterForm::default()/>
                        </section>
                    }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorBox error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
