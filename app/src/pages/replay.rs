//! The replay player of a `terminal.close` event's page: fetches the
//! session's recording when asked (viewing it is recorded), checks here, in
//! the browser, that its SHA-256 is the one the event holds (and so the
//! hash chain vouches for), and only then plays it in xterm.js with play,
//! pause, speed and seek. A recording that does not match is refused.

use crate::api::terminal::terminal_recording;
use crate::components::xterm;
use berth_core::model::{Event, Hash32, asciicast, human_size};
use leptos::prelude::*;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq)]
enum Verdict {
    Idle,
    Loading,
    /// Checked and playing: its SHA-256.
    Playing(String),
    /// This browser's check refused it.
    Refused(String),
    /// berth did not serve it (no right, altered, dropped to keep the
    /// budget): berth's own words.
    NotServed(String),
}

/// Why `text` is not the recording the event vouches for, if it is not.
fn check(text: &str, vouched: Option<&str>) -> Result<String, String> {
    let found = Hash32(Sha256::digest(text.as_bytes()).into()).to_hex();
    let Some(vouched) = vouched else {
        return Err("the event holds no recording hash, so nothing vouches for a recording".into());
    };
    if found != vouched {
        return Err(format!(
            "the recording's SHA-256 is {found}, but the event holds {vouched}: it is not the recorded session"
        ));
    }
    asciicast::parse(text).map_err(|e| format!("the recording is not asciicast v2: {e}"))?;
    Ok(found)
}

#[component]
pub fn Replay(event: Event) -> impl IntoView {
    let seq = event.seq.0;
    let vouched = event.details["recording_sha256"].as_str().map(str::to_string);
    let size = event.details["recording_size"].as_u64().unwrap_or_default();
    let stopped = event.details["recording_stopped"].as_str().map(str::to_string);
    let verdict = RwSignal::new(Verdict::Idle);
    let screen = NodeRef::<leptos::html::Div>::new();
    let controls = NodeRef::<leptos::html::Div>::new();
    let load = move |_| {
        if matches!(verdict.get_untracked(), Verdict::Loading | Verdict::Playing(_)) {
            return;
        }
        verdict.set(Verdict::Loading);
        let vouched = vouched.clone();
        leptos::task::spawn_local(async move {
            let text = match terminal_recording(seq).await {
                Ok(t) => t,
                Err(e) => return verdict.set(Verdict::NotServed(e.message)),
            };
            let hash = match check(&text, vouched.as_deref()) {
                Ok(h) => h,
                Err(why) => return verdict.set(Verdict::Refused(why)),
            };
            let (Some(screen), Some(controls)) = (screen.get_untracked(), controls.get_untracked()) else {
                return;
            };
            let (screen, controls): (leptos::web_sys::HtmlElement, leptos::web_sys::HtmlElement) =
                ((*screen).clone(), (*controls).clone());
            match xterm::replay(screen, controls, text).await {
                Ok(()) => verdict.set(Verdict::Playing(hash)),
                Err(e) => verdict.set(Verdict::Refused(e)),
            }
        });
    };
    let shown = move || {
        match verdict.get() {
        Verdict::Idle => None,
        Verdict::Loading => Some(view! { <p class="muted" id="replay-result">"Fetching and checking…"</p> }.into_any()),
        Verdict::Playing(hash) => Some(
            view! {
                <p class="alert alert-ok" role="status" id="replay-result">
                    {format!("✓ The recording's SHA-256 ({hash}) is the one this event holds; checked in this browser.")}
                </p>
            }
            .into_any(),
        ),
        Verdict::Refused(why) => Some(
            view! { <p class="alert alert-error" role="alert" id="replay-result">{format!("✗ Refused: {why}")}</p> }
                .into_any(),
        ),
        Verdict::NotServed(why) => Some(
            view! { <p class="alert alert-error" role="alert" id="replay-result">{format!("✗ Not served: {why}")}</p> }
                .into_any(),
        ),
    }
    };
    view! {
        <section class="card replay" aria-labelledby="replay-title">
            <h2 id="replay-title">"Recorded session"</h2>
            <p class="muted">
                {format!("{} of recording.", human_size(size as f64))}
                {stopped.map(|why| format!(" Recording stopped early: {why}."))}
                " Replaying it is recorded in the event log."
            </p>
            <button type="button" class="btn btn-primary" id="replay-load" on:click=load
                disabled=move || matches!(verdict.get(), Verdict::Loading | Verdict::Playing(_))>
                "Replay"
            </button>
            {shown}
            <div id="replay-controls" class="replay-controls" node_ref=controls></div>
            <div id="replay-screen" class="terminal-screen replay-screen" node_ref=screen></div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_vouched_for_recording_plays() {
        let text = "{\"version\":2,\"width\":80,\"height\":24}\n[0.1,\"o\",\"hi\"]\n";
        let hash = Hash32(Sha256::digest(text.as_bytes()).into()).to_hex();
        assert_eq!(check(text, Some(&hash)), Ok(hash.clone()));
        let altered = text.replace("hi", "ho");
        assert!(
            check(&altered, Some(&hash))
                .unwrap_err()
                .contains("not the recorded session")
        );
        assert!(check(text, None).is_err());
    }
}
