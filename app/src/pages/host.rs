//! `/hosts` and `/hosts/{host}`: each host's state (connected or not and
//! since when, how berth reaches it, versions, round trip, what it refuses)
//! and resources now, and its charts (CPU, per core, load, memory, disk use
//! per filesystem, disk and network throughput) over 1 h, 24 h, 7 d or 30 d.
//! A host's page also lists the alerts firing about it. Admins also
//! manage the hosts on `/hosts` (`hosts_admin`).

use crate::api::ops::host_charts;
use crate::components::charts::ChartPanel;
use crate::components::dashboard::{WithDashboard, follow_dashboard};
use crate::components::firing::FiringBox;
use crate::components::hosts::{LimitBadges, ReachBadge, engine, reach, since};
use crate::pages::hosts_admin::HostsAdmin;
use berth_core::model::ops::HostCharts;
use berth_core::model::{
    ContainerState, Dashboard, HostId, HostLimits, HostSample, HostStatus, Operation, Unit, format_ts, human_size,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// Every host as a card; for admins also the list of host entries with
/// their controls and the form that adds a host (`hosts_admin`).
#[component]
pub fn HostsPage() -> impl IntoView {
    let live = follow_dashboard();
    let perms = super::permissions();
    let admin = move || async move { perms.await.allows(Operation::AddHost, None) };
    view! {
        <Title text="Hosts"/>
        <div class="section-head">
            <h1>"Hosts"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    admin().await.then(|| view! { <a class="btn" href="#add-host">"Add a host"</a> })
                })}
            </Suspense>
        </div>
        <WithDashboard live render=|current| view! { <div class="host-grid"><HostCards current/></div> }/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { admin().await.then(|| view! { <HostsAdmin live/> }) })}
        </Suspense>
    }
}

/// One card per host: its state and the resources now.
#[component]
pub fn HostCards(current: Signal<Dashboard>) -> impl IntoView {
    move || {
        let d = current.get();
        d.hosts
            .iter()
            .map(|h| {
                let sample = d.stats.hosts.iter().find(|s| s.host == h.status.id).cloned();
                let running = h
                    .containers
                    .iter()
                    .filter(|c| c.state == ContainerState::Running)
                    .count();
                view! { <HostCard status=h.status.clone() sample running total=h.containers.len()/> }
            })
            .collect_view()
    }
}

fn meter(label: &'static str, used: f64, total: f64, text: String) -> impl IntoView {
    let pct = if total > 0.0 {
        (used / total * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let level = if pct >= 90.0 {
        "high"
    } else if pct >= 75.0 {
        "mid"
    } else {
        "low"
    };
    view! {
        <div class="meter" data-metric=label>
            <div class="meter-head"><span>{label}</span><b>{text}</b></div>
            <div class="meter-bar" role="meter" aria-label=label aria-valuenow=format!("{pct:.0}") aria-valuemin="0" aria-valuemax="100">
                <span class=format!("fill {level}") style=format!("width:{pct:.1}%")></span>
            </div>
        </div>
    }
}

#[component]
fn HostCard(status: HostStatus, sample: Option<HostSample>, running: usize, total: usize) -> impl IntoView {
    let id = status.id.0.clone();
    let body = match (sample, status.transport.no_host_metrics_reason()) {
        (None, Some(reason)) => view! { <p class="muted no-host-metrics">{reason}</p> }.into_any(),
        (None, None) if !status.reachable => {
            view! { <p class="muted">"No readings while berth cannot reach the host."</p> }.into_any()
        }
        (None, None) => {
            view! { <p class="muted">"No readings yet: the first arrives within one collector interval."</p> }
                .into_any()
        }
        (Some(s), _) => {
            // The fullest filesystem is the one to worry about.
            let fs = s
                .filesystems
                .iter()
                .max_by(|a, b| {
                    (a.used as f64 / a.total.max(1) as f64).total_cmp(&(b.used as f64 / b.total.max(1) as f64))
                })
                .cloned();
            // A host berth cannot reach keeps its last readings, marked as such.
            let stale = (!status.reachable).then(|| {
                let at = format_ts(s.at_ms.saturating_mul(1_000_000));
                view! { <p class="muted small stale-note">{format!("Last readings, from {at}:")}</p> }
            });
            view! {
                {stale}
                {meter("CPU", s.cpu_percent, 100.0, format!("{:.1}% · load {:.2}", s.cpu_percent, s.load[0]))}
                {meter("Memory", s.mem_used as f64, s.mem_total as f64, format!("{} / {}", human_size(s.mem_used as f64), human_size(s.mem_total as f64)))}
                {fs.map(|fs| meter("Disk", fs.used as f64, fs.total as f64, format!("{} {} / {}", fs.mount, human_size(fs.used as f64), human_size(fs.total as f64))))}
                <div class="host-rates">
                    <span title="Network received / sent">"Net ↓ "{Unit::BytesPerSec.format(s.net_rx_bps)}" ↑ "{Unit::BytesPerSec.format(s.net_tx_bps)}</span>
                    <span title="Disk read / written">"Disk r "{Unit::BytesPerSec.format(s.disk_read_bps)}" w "{Unit::BytesPerSec.format(s.disk_write_bps)}</span>
                </div>
            }
            .into_any()
        }
    };
    let reachable = status.reachable;
    view! {
        <section class="card host-card" class:unreachable=!reachable data-host=id.clone() data-reachable=reachable.to_string()>
            <div class="section-head">
                <h2><a href=format!("/hosts/{id}")>{id.clone()}</a></h2>
                <ReachBadge reachable/>
            </div>
            <p class="muted small host-facts">{reach(&status)}<br/>{engine(&status)}</p>
            <p class=if reachable { "small host-since muted" } else { "small host-since down" }>{since(&status)}</p>
            {(status.limits != HostLimits::default()).then(|| view! {
                <p class="host-limits"><LimitBadges limits=status.limits/></p>
            })}
            <p class="small"><a href=format!("/containers?host={id}")>{format!("{running} of {total} containers running")}</a></p>
            {body}
        </section>
    }
}

#[component]
pub fn HostPage() -> impl IntoView {
    let params = use_params_map();
    let host = Memo::new(move |_| params.read().get("host").unwrap_or_default());
    let live = follow_dashboard();
    let tick = Signal::derive(move || live.with(|d| d.as_ref().map(|d| d.stats.at_ms)));
    let this_host = move |current: Signal<Dashboard>| {
        let current = Signal::derive(move || {
            let mut d = current.get();
            let id = host.get();
            d.hosts.retain(|h| h.status.id.0 == id);
            d
        });
        let missing = move || {
            current.with(|d| d.hosts.is_empty()).then(|| {
                view! { <p class="empty">{format!("There is no host '{}' that you may see.", host.get())}</p> }
            })
        };
        let alerts = Signal::derive(move || {
            let id = host.get();
            current.with(|d| {
                d.alerts
                    .iter()
                    .filter(|a| a.host.as_ref().is_some_and(|h| h.0 == id))
                    .cloned()
                    .collect()
            })
        });
        view! { {missing}<FiringBox alerts quiet_when_none=true/><div class="host-now"><HostCards current/></div> }
    };
    view! {
        <Title text=move || format!("Host {}", host.get())/>
        <p><a href="/hosts">"← Hosts"</a></p>
        <h1>{move || format!("Host {}", host.get())}</h1>
        <WithDashboard live render=this_host/>
        <ChartPanel load=move |range| host_charts(HostCharts { host: HostId(host.get_untracked()), range }) tick/>
    }
}
