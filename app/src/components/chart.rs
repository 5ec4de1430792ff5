//! A time-series chart drawn as SVG by the app itself: one line per series
//! (the bucket averages), a min–max band when there is one series, gaps
//! where no samples were taken, and a crosshair with the values and time
//! under the pointer. Server-rendered; hover works once hydrated.

use berth_core::model::{Chart, Point, Unit, format_ts};
use leptos::prelude::*;

// The SVG draws only the plot, stretched to the box; the axis labels are
// HTML around it, so text stays crisp and unsquashed at any width.
const W: f64 = 640.0;
const H: f64 = 140.0;
const LEFT: f64 = 0.0;
const RIGHT: f64 = 0.0;
const TOP: f64 = 4.0;
const BOTTOM: f64 = 0.0;

/// The chart's geometry: maps times and values to SVG coordinates.
#[derive(Clone, Copy)]
struct Frame {
    from: i64,
    to: i64,
    ymax: f64,
}

impl Frame {
    fn x(&self, t: i64) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        LEFT + (t - self.from) as f64 / span * (W - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (1.0 - (v / self.ymax).clamp(0.0, 1.0)) * (H - TOP - BOTTOM)
    }
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

/// Runs of points with no gap wider than two steps.
fn segments(points: &[Point], step: i64) -> Vec<&[Point]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if points[i].t - points[i - 1].t > 2 * step {
            out.push(&points[start..i]);
            start = i;
        }
    }
    if !points.is_empty() {
        out.push(&points[start..]);
    }
    out
}

fn line_path(frame: Frame, points: &[Point], step: i64) -> String {
    let mut d = String::new();
    for seg in segments(points, step) {
        for (i, p) in seg.iter().enumerate() {
            let cmd = if i == 0 { 'M' } else { 'L' };
            d.push_str(&format!("{cmd}{:.1} {:.1}", frame.x(p.t), frame.y(p.avg)));
        }
        if seg.len() == 1 {
            // A lone point still shows, as a short dash.
            d.push_str("h2");
        }
    }
    d
}

fn band_path(frame: Frame, points: &[Point], step: i64) -> String {
    let mut d = String::new();
    for seg in segments(points, step) {
        for (i, p) in seg.iter().enumerate() {
            let cmd = if i == 0 { 'M' } else { 'L' };
            d.push_str(&format!("{cmd}{:.1} {:.1}", frame.x(p.t), frame.y(p.max)));
        }
        for p in seg.iter().rev() {
            d.push_str(&format!("L{:.1} {:.1}", frame.x(p.t), frame.y(p.min)));
        }
        d.push('Z');
    }
    d
}

/// `MM-DD HH:MM` (UTC) for ranges over a day, `HH:MM` otherwise.
fn time_label(t: i64, span: i64) -> String {
    let full = format_ts(t * 1_000_000_000);
    if span > 86_400 {
        full[5..16].to_string()
    } else {
        full[11..16].to_string()
    }
}

/// The point of `points` nearest to `t`, if within `reach` seconds.
fn nearest(points: &[Point], t: i64, reach: i64) -> Option<&Point> {
    let i = points.partition_point(|p| p.t < t);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|i| points.get(i))
        .min_by_key(|p| (p.t - t).abs())
        .filter(|p| (p.t - t).abs() <= reach)
}

#[component]
pub fn LineChart(chart: Chart, from: i64, to: i64, step: i64) -> impl IntoView {
    let unit = chart.unit;
    let data_max = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.max))
        .fold(0.0f64, f64::max);
    let ymax = match unit {
        Unit::Percent if data_max <= 100.0 => 100.0,
        // Byte scales step in powers of 1024, so the labels read 2 GiB, not 2.1 GiB.
        Unit::Bytes | Unit::BytesPerSec => {
            let v = (data_max * 1.05).max(1024.0);
            let base = 1024f64.powi((v.log2() / 10.0).floor() as i32);
            nice_ceiling(v / base) * base
        }
        Unit::Count => nice_ceiling(data_max * 1.05).max(2.0),
        _ => nice_ceiling(data_max * 1.05),
    };
    let frame = Frame { from, to, ymax };
    let empty = chart.series.iter().all(|s| s.points.is_empty());
    let latest: Vec<(usize, String, String)> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let now = s.points.last().map_or_else(|| "—".to_string(), |p| unit.format(p.avg));
            (i, s.label.clone(), now)
        })
        .collect();
    let band = (chart.series.len() == 1).then(|| band_path(frame, &chart.series[0].points, step));
    let lines: Vec<(usize, String)> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| (i, line_path(frame, &s.points, step)))
        .collect();
    let grid: Vec<(f64, String)> = [0.0, 0.5, 1.0]
        .iter()
        .map(|f| (frame.y(ymax * f), unit.format(ymax * f)))
        .collect();
    let span = to - from;
    let ticks: Vec<(f64, String)> = (0..=4)
        .map(|i| {
            let t = from + span * i / 4;
            (frame.x(t), time_label(t, span))
        })
        .collect();

    let total_points: usize = chart.series.iter().map(|s| s.points.len()).sum();
    let hover: RwSignal<Option<i64>> = RwSignal::new(None);
    let series = StoredValue::new(chart.series.clone());
    let crosshair = move || {
        hover.get().map(|t| {
            let x = frame.x(t);
            view! { <line class="crosshair" x1=x x2=x y1=TOP y2=H - BOTTOM/> }
        })
    };
    let tooltip = move || {
        hover.get().map(|t| {
            // Across the plot (right of the y-axis gutter), kept inside the box.
            let across = (frame.x(t) / W).clamp(0.15, 0.85);
            let rows = series.with_value(|all| {
                all.iter()
                    .enumerate()
                    .filter_map(|(i, s)| nearest(&s.points, t, step).map(|p| (i, s.label.clone(), *p)))
                    .map(|(i, label, p)| {
                        let text = if p.min == p.max {
                            unit.format(p.avg)
                        } else {
                            format!("{} (min {}, max {})", unit.format(p.avg), unit.format(p.min), unit.format(p.max))
                        };
                        view! { <div><span class=format!("swatch s{}", i % 8)></span>{format!("{label}: {text}")}</div> }
                    })
                    .collect_view()
            });
            view! {
                <div class="chart-tip" style=format!("left:calc(3.75rem + (100% - 3.75rem) * {across:.3})")>
                    <div class="muted">{format_ts(t * 1_000_000_000)[..19].to_string()}" UTC"</div>
                    {rows}
                </div>
            }
        })
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        if let Some(fraction) = pointer_fraction(&ev) {
            // Back from the SVG's x to a time, snapped to the nearest point of any series.
            let x = fraction * W;
            let t = from + ((x - LEFT) / (W - LEFT - RIGHT) * span as f64) as i64;
            let t = t.clamp(from, to);
            let reach = (2 * step).max(span / 50);
            let snapped = series.with_value(|all| {
                all.iter()
                    .filter_map(|s| nearest(&s.points, t, reach))
                    .min_by_key(|p| (p.t - t).abs())
                    .map(|p| p.t)
            });
            hover.set(snapped);
        }
    };

    view! {
        <figure class="chart card" data-title=chart.title.clone() data-points=total_points>
            <figcaption>
                <strong>{chart.title.clone()}</strong>
                <span class="legend">
                    {latest.into_iter().map(|(i, label, now)| view! {
                        <span class="legend-item"><span class=format!("swatch s{}", i % 8)></span>{label}" "<b>{now}</b></span>
                    }).collect_view()}
                </span>
            </figcaption>
            <div class="chart-box">
                <div class="y-axis" aria-hidden="true">
                    {grid.iter().map(|(y, label)| view! {
                        <span style=format!("top:{:.2}%", y / H * 100.0)>{label.clone()}</span>
                    }).collect_view()}
                </div>
                <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img"
                    aria-label=format!("{} over time", chart.title)
                    on:pointermove=on_move on:pointerleave=move |_| hover.set(None)>
                    {grid.into_iter().map(|(y, _)| view! {
                        <line class="grid" x1=LEFT x2=W - RIGHT y1=y y2=y/>
                    }).collect_view()}
                    {band.map(|d| view! { <path class="band s0" d=d/> })}
                    {lines.into_iter().map(|(i, d)| view! { <path class=format!("line s{}", i % 8) d=d/> }).collect_view()}
                    {crosshair}
                </svg>
                <div class="x-axis" aria-hidden="true">
                    {ticks.into_iter().map(|(x, label)| view! {
                        <span style=format!("left:{:.2}%", x / W * 100.0)>{label}</span>
                    }).collect_view()}
                </div>
                {tooltip}
                {empty.then(|| view! { <div class="chart-empty muted">"No samples in this range yet"</div> })}
            </div>
        </figure>
    }
}

/// Where the pointer is across the chart, 0 (left edge) to 1 (right edge).
#[cfg(feature = "hydrate")]
fn pointer_fraction(ev: &leptos::ev::PointerEvent) -> Option<f64> {
    use wasm_bindgen::JsCast;
    // Leptos delegates events to the document, so find the chart's <svg> from the target.
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let svg = target.closest("svg").ok()??;
    let rect = svg.get_bounding_client_rect();
    (rect.width() > 0.0).then(|| ((f64::from(ev.client_x()) - rect.left()) / rect.width()).clamp(0.0, 1.0))
}

#[cfg(not(feature = "hydrate"))]
fn pointer_fraction(_: &leptos::ev::PointerEvent) -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: i64, v: f64) -> Point {
        Point {
            t,
            min: v,
            avg: v,
            max: v,
        }
    }

    #[test]
    fn gaps_split_the_line_and_scales_are_round() {
        let points = [p(0, 1.0), p(10, 2.0), p(100, 3.0)];
        assert_eq!(segments(&points, 10).len(), 2);
        let frame = Frame {
            from: 0,
            to: 100,
            ymax: 4.0,
        };
        assert_eq!(line_path(frame, &points, 10).matches('M').count(), 2);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4.2e9), 5e9);
        assert_eq!(nearest(&points, 12, 10).map(|p| p.t), Some(10));
        assert_eq!(nearest(&points, 50, 10), None);
    }
}
