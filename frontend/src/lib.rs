//! The browser's entry point: hydrates the page the server rendered.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy: each group of pages is a piece of wasm of its own (see
    // berth_app's `page_groups!`), loaded before its page hydrates.
    leptos::mount::hydrate_lazy(berth_app::App);
}
