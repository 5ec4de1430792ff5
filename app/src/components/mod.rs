//! Pieces the pages share.

pub mod ansi;
pub mod chart;
pub mod charts;
pub mod clipboard;
pub mod confirm;
pub mod dashboard;
pub mod event_table;
pub mod firing;
pub mod grants;
pub mod hosts;
pub mod keys;
pub mod layout;
pub mod log_api;
pub mod log_buffer;
pub mod log_controls;
pub mod log_feed;
pub mod log_search;
pub mod log_view;
pub mod socket;
pub mod status;
pub mod xterm;
pub mod yaml_editor;
