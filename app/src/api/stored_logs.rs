//! Stored container logs for the pages: a search through them, and the
//! form that switches a key's collection. Listing the keys and switching a
//! key's collection are generated (`api::ops`: `stored_log_keys`,
//! `collect_logs`); the search stays here, taking the fields as the page's
//! form and URL carry them.

use crate::error::AppError;
use berth_core::model::{StoredKey, StoredPage, StoredQueryFields};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

/// The newest stored lines the search's fields match (as the page's form
/// and URL carry them).
#[server(endpoint = "search_stored_logs")]
pub async fn search_stored_logs(fields: StoredQueryFields) -> Result<StoredPage, AppError> {
    let (berth, caller) = caller().await?;
    let query = fields.parse().map_err(|e| fail(AppError::invalid(e)))?;
    berth.stored_logs.search(&caller, &query).await.map_err(failure)
}

/// A key's collection form: `budget_mib` is the key's own budget in MiB
/// (empty: the default).
#[server(endpoint = "collect_logs_form")]
pub async fn collect_logs_form(
    host: String,
    key: String,
    collect: bool,
    budget_mib: String,
) -> Result<StoredKey, AppError> {
    let budget = budget_mib.trim();
    let budget_bytes = if budget.is_empty() {
        None
    } else {
        let mib: f64 = budget
            .parse()
            .ok()
            .filter(|m: &f64| m.is_finite() && *m > 0.0)
            .ok_or_else(|| {
                fail(AppError::invalid(format!(
                    "a budget is a number of MiB (e.g. 64 or 0.5), not '{}'",
                    budget.chars().take(20).collect::<String>()
                )))
            })?;
        Some((mib * 1048576.0).round() as u64)
    };
    super::ssr::resolve(berth_core::model::ops::CollectLogs {
        host: berth_core::model::HostId(host),
        change: berth_core::model::CollectRequest {
            key,
            collect,
            budget_bytes,
        },
    })
    .await
}
