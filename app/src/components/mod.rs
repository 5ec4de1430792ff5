//! Pieces the pages share.

pub mod chart;
pub mod charts;
pub mod clipboard;
pub mod confirm;
pub mod event_table;
pub mod hosts;
pub mod layout;
pub mod socket;
pub mod status;
