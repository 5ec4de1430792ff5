//! Pieces the pages share.

pub mod confirm;
pub mod event_table;
pub mod layout;
pub mod status;
