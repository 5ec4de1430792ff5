//! The browser's clipboard (`navigator.clipboard`), which exists only in a
//! secure context (https or localhost); elsewhere copying fails and the
//! caller tells the person to copy by hand.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
        pub fn write_text(text: &str) -> Result<JsValue, JsValue>;
    }
}

/// Whether the copy was handed to the browser.
pub fn copy(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        js::write_text(text).is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
