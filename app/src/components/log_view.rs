//! Log lines on the page: each line's time, its container (in a merged
//! view, in the container's colour), a mark for stderr, and its text as
//! styled runs with the search's matches highlighted, all as text nodes
//! (never markup). `LogLines` is the live scrolling area: rows keyed by the
//! line's stable id (only new rows are drawn), kept at the bottom while the
//! reader is there and left alone once they scroll up; scrolled to the
//! top, it asks for older lines and keeps the lines in sight where they
//! are as those go in above. `StaticLines` shows a fixed list (the
//! server's search results).

use super::ansi::Style;
use super::log_buffer::{LineKind, LogBuffer, Row};
use super::log_search::pieces;
use berth_core::model::{LogStream, format_ts};
use leptos::either::Either;
use leptos::html::Div;
use leptos::prelude::*;

/// How the lines look: what to show beside each, and how long ones break.
#[derive(Clone, Copy)]
pub struct LineLook {
    /// Container names by source index, for the merged view's labels.
    pub names: StoredValue<Vec<String>>,
    pub merged: bool,
    pub timestamps: Signal<bool>,
    pub wrap: Signal<bool>,
}

impl LineLook {
    fn area_class(self, base: &'static str) -> impl Fn() -> String {
        move || {
            let mut class = base.to_string();
            if !self.timestamps.get() {
                class.push_str(" no-ts");
            }
            if !self.wrap.get() {
                class.push_str(" nowrap");
            }
            class
        }
    }
}

/// `11-22` and `09:05:01.123`: the line's day and time (UTC, as the page
/// says); phones show the time only.
fn short_ts(ts_ns: i64) -> (String, String) {
    let full = format_ts(ts_ns);
    match (full.get(5..10), full.get(11..23)) {
        (Some(day), Some(time)) => (format!("{day} "), time.to_string()),
        _ => (String::new(), full),
    }
}

/// One piece of a line's text: bare text, or a span with its style's
/// classes and exact colours; a match wrapped in `<mark>`.
fn piece(text: String, style: Style, marked: bool) -> AnyView {
    let inner = if style.is_plain() {
        text.into_any()
    } else {
        view! { <span class=style.class() style=style.css()>{text}</span> }.into_any()
    };
    if marked {
        view! { <mark>{inner}</mark> }.into_any()
    } else {
        inner
    }
}

/// One row.
fn line_view(row: Row, look: LineLook) -> impl IntoView {
    let line = row.line;
    let class = match line.kind {
        LineKind::Log(LogStream::Stdout) => "log-line",
        LineKind::Log(LogStream::Stderr) => "log-line stderr",
        LineKind::Gap => "log-line log-marker log-gap",
        LineKind::End => "log-line log-marker log-end",
        LineKind::Error => "log-line log-marker log-error",
    };
    // As few nodes as will do: a burst draws thousands of rows at once.
    let ts = (line.ts_ns > 0).then(|| {
        let (day, time) = short_ts(line.ts_ns);
        view! { <span class="log-ts"><span class="log-day">{day}</span>{time}</span> }
    });
    let source = look.merged.then(|| {
        let name = look
            .names
            .with_value(|n| n.get(line.source).cloned())
            .unwrap_or_default();
        view! { <span class=format!("log-src s{}", line.source % 8)>{name}</span> }
    });
    let stderr = (line.stream() == Some(LogStream::Stderr))
        .then(|| view! { <span class="log-err" title="written to stderr">"err"</span> });
    let plain = row.marks.is_empty() && line.styled.runs.iter().all(|(_, style)| style.is_plain());
    let text = if plain {
        Either::Left(line.styled.text.clone())
    } else {
        Either::Right(
            pieces(&line.styled.runs, &row.marks)
                .into_iter()
                .map(|(range, style, marked)| piece(line.styled.text[range].to_string(), style, marked))
                .collect_view(),
        )
    };
    view! { <div class=class>{ts}{source}{stderr}<span class="log-text">{text}</span></div> }
}

/// Whether the area is scrolled to (within a few pixels of) its bottom.
fn at_bottom(area: NodeRef<Div>) -> bool {
    #[cfg(feature = "hydrate")]
    if let Some(el) = area.get_untracked() {
        return el.scroll_top() + el.client_height() >= el.scroll_height() - 8;
    }
    let _ = area;
    true
}

fn scroll_to_bottom(area: NodeRef<Div>) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = area.get_untracked() {
        el.set_scroll_top(el.scroll_height());
    }
    let _ = area;
}

/// Whether the area is scrolled to (within a couple of rows of) its top.
fn at_top(area: NodeRef<Div>) -> bool {
    #[cfg(feature = "hydrate")]
    if let Some(el) = area.get_untracked() {
        return el.scroll_top() <= 48 && el.scroll_height() > el.client_height();
    }
    let _ = area;
    false
}

/// The first row and how far below the area's top edge it is, so that it
/// can be put back there once rows go in above it (browsers' own scroll
/// anchoring cannot be counted on for this: Safari has none).
#[cfg(feature = "hydrate")]
mod anchor {
    use leptos::html::Div;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::HtmlElement;

    pub type Anchor = Option<(HtmlElement, i32)>;

    pub fn take(area: NodeRef<Div>) -> Anchor {
        let el = area.get_untracked()?;
        let first: HtmlElement = el.first_element_child()?.dyn_into().ok()?;
        Some((first.clone(), first.offset_top() - el.scroll_top()))
    }

    pub fn restore(area: NodeRef<Div>, anchor: Anchor) {
        if let (Some(el), Some((row, offset))) = (area.get_untracked(), anchor)
            && row.is_connected()
        {
            el.set_scroll_top(row.offset_top() - offset);
        }
    }
}

/// The live area. `stick` is whether it follows the newest line: set while
/// the reader is at the bottom, cleared when they scroll up. `on_top` is
/// called when the reader scrolls to the top, and says whether it went for
/// older lines (the next rows drawn are then those).
#[component]
pub fn LogLines(
    buffer: RwSignal<LogBuffer>,
    look: LineLook,
    stick: RwSignal<bool>,
    #[prop(optional, into)] on_top: Option<Callback<(), bool>>,
) -> impl IntoView {
    let area = NodeRef::<Div>::new();
    #[cfg(feature = "hydrate")]
    let anchor = StoredValue::new_local(None::<anchor::Anchor>);
    // After the rows are drawn (the next tick), follow the newest line, or
    // keep the rows in sight still when older ones went in above.
    Effect::new(move |_| {
        buffer.track();
        #[cfg(feature = "hydrate")]
        if let Some(kept) = anchor.try_update_value(Option::take).flatten() {
            leptos::task::spawn_local(async move {
                leptos::task::tick().await;
                anchor::restore(area, kept);
            });
            return;
        }
        if stick.get_untracked() {
            leptos::task::spawn_local(async move {
                leptos::task::tick().await;
                scroll_to_bottom(area);
            });
        }
    });
    let on_scroll = move |_| {
        let bottom = at_bottom(area);
        if stick.get_untracked() != bottom {
            stick.set(bottom);
        }
        if let Some(on_top) = on_top
            && !bottom
            && at_top(area)
        {
            #[cfg(feature = "hydrate")]
            let kept = anchor::take(area);
            if on_top.run(()) {
                #[cfg(feature = "hydrate")]
                anchor.set_value(Some(kept));
            }
        }
    };
    let jump = move |_| {
        stick.set(true);
        scroll_to_bottom(area);
    };
    view! {
        <div class="log-frame">
            <div class=look.area_class("log-area") node_ref=area on:scroll=on_scroll
                role="log" aria-live="off" aria-label="Log lines" tabindex="0">
                <For each=move || buffer.with(LogBuffer::rows) key=Row::key let:row>
                    {line_view(row, look)}
                </For>
            </div>
            <Show when=move || buffer.with(|b| b.shown() == 0)>
                <p class="log-none muted">{move || if buffer.with(LogBuffer::filter_active) {
                    "No line kept here matches. Search the server to look further back."
                } else {
                    "No lines yet."
                }}</p>
            </Show>
            <Show when=move || !stick.get()>
                <button type="button" class="btn btn-small log-jump" on:click=jump>"↓ Newest"</button>
            </Show>
        </div>
    }
}

/// A fixed list of rows (no following, no keys needed).
#[component]
pub fn StaticLines(rows: Vec<Row>, look: LineLook) -> impl IntoView {
    view! {
        <div class=look.area_class("log-area log-results") role="log" aria-live="off" tabindex="0">
            {rows.into_iter().map(|row| line_view(row, look)).collect_view()}
        </div>
    }
}
