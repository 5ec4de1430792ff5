//! The browser's terminals: `/terminal.js` (berth's glue around xterm.js,
//! served by berth) is loaded on first use, so only a page that shows a
//! terminal loads it, and then called to connect a terminal to
//! `/ws/terminal` or to replay a checked recording. The server renders
//! without it: these do nothing there.

/// An open terminal; `close` ends it (the session is recorded as closed
/// by the browser).
pub struct Connection {
    #[cfg(feature = "hydrate")]
    handle: wasm_bindgen::JsValue,
}

impl Connection {
    pub fn close(&self) {
        #[cfg(feature = "hydrate")]
        js::call(&self.handle, "close", &[]).ok();
    }
}

/// Opens `path` (a `/ws/terminal?ticket=…` URL) in a terminal inside the
/// element `screen`; `on_status(kind, message)` hears "open",
/// "recording_stopped" and "closed" (with the reason).
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
pub async fn connect(
    screen: leptos::web_sys::HtmlElement,
    path: String,
    on_status: impl FnMut(String, String) + 'static,
) -> Result<Connection, String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        let api = js::loaded().await?;
        let on_status = Closure::<dyn FnMut(String, String)>::new(on_status).into_js_value();
        let handle = js::call_async(&api, "connect", &[screen.into(), path.into(), on_status]).await?;
        Ok(Connection { handle })
    }
    #[cfg(not(feature = "hydrate"))]
    Err("terminals run in the browser".into())
}

/// Plays `text` (an asciicast the caller has checked) in `screen`, with
/// its controls (play, pause, speed, seek) in `controls`.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
pub async fn replay(
    screen: leptos::web_sys::HtmlElement,
    controls: leptos::web_sys::HtmlElement,
    text: String,
) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        let api = js::loaded().await?;
        js::call_async(&api, "replay", &[screen.into(), controls.into(), text.into()]).await?;
        Ok(())
    }
    #[cfg(not(feature = "hydrate"))]
    Err("recordings play in the browser".into())
}

#[cfg(feature = "hydrate")]
mod js {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    const SCRIPT: &str = "/terminal.js";

    fn text(e: JsValue) -> String {
        Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "the terminal script failed".into())
    }

    fn api() -> Option<JsValue> {
        let window: JsValue = web_sys::window()?.into();
        let api = Reflect::get(&window, &"berthTerminal".into()).ok()?;
        (!api.is_undefined()).then_some(api)
    }

    async fn sleep(ms: i32) {
        let wait = Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = JsFuture::from(wait).await;
    }

    /// `window.berthTerminal`, once `/terminal.js` and xterm.js are loaded.
    pub(super) async fn loaded() -> Result<JsValue, String> {
        if api().is_none() {
            let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
            let selector = format!("script[src=\"{SCRIPT}\"]");
            if document.query_selector(&selector).ok().flatten().is_none() {
                let script = document.create_element("script").map_err(text)?;
                script.set_attribute("src", SCRIPT).map_err(text)?;
                let head = document.query_selector("head").ok().flatten().ok_or("no <head>")?;
                head.append_child(&script).map_err(text)?;
            }
            for _ in 0..200 {
                if api().is_some() {
                    break;
                }
                sleep(50).await;
            }
        }
        let api = api().ok_or("the terminal script (/terminal.js) did not load: reload the page")?;
        let ready: Promise = Reflect::get(&api, &"ready".into())
            .map_err(text)?
            .dyn_into()
            .map_err(text)?;
        JsFuture::from(ready).await.map_err(text)?;
        Ok(api)
    }

    /// `api[name](...args)`.
    pub(super) fn call(api: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let f: Function = Reflect::get(api, &name.into())
            .map_err(text)?
            .dyn_into()
            .map_err(|_| format!("the terminal script has no {name}"))?;
        let args: js_sys::Array = args.iter().collect();
        f.apply(api, &args).map_err(text)
    }

    /// `await api[name](...args)`.
    pub(super) async fn call_async(api: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let promise: Promise = call(api, name, args)?.dyn_into().map_err(text)?;
        JsFuture::from(promise).await.map_err(text)
    }
}
