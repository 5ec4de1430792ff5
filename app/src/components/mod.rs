//! Pieces the pages share.

pub mod event_table;
pub mod layout;
pub mod status;
