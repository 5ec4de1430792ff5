//! Nothing here: the browser tests live in `tests/` (see `tests/browser.rs`).
