//! Stored container logs for the pages: the keys (collected or not, how far
//! back each reaches), a search through them, and switching a key's
//! collection.

use crate::error::AppError;
use berth_core::model::{StoredKey, StoredKeys, StoredPage, StoredQueryFields};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, fail, failure};

/// The keys of the hosts the caller may read logs on (or of `host`).
#[server(endpoint = "stored_log_keys")]
pub async fn stored_log_keys(host: Option<String>) -> Result<StoredKeys, AppError> {
    let (berth, caller) = caller().await?;
    let host = host.filter(|h| !h.is_empty());
    berth.stored_logs.keys(&caller, host.as_deref()).await.map_err(failure)
}

/// The newest stored lines the search's fields match (as the page's form
/// and URL carry them).
#[server(endpoint = "search_stored_logs")]
pub async fn search_stored_logs(fields: StoredQueryFields) -> Result<StoredPage, AppError> {
    let (berth, caller) = caller().await?;
    let query = fields.parse().map_err(|e| fail(AppError::invalid(e)))?;
    berth.stored_logs.search(&caller, &query).await.map_err(failure)
}

/// Switches the collection of `key` on `host`; `budget_mib` is the key's
/// own budget in MiB (empty: the default).
#[server(endpoint = "collect_logs")]
pub async fn collect_logs(host: String, key: String, collect: bool, budget_mib: String) -> Result<StoredKey, AppError> {
    let (berth, caller) = caller().await?;
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
    let req = berth_core::model::CollectRequest {
        key,
        collect,
        budget_bytes,
    };
    berth
        .stored_logs
        .set_collect(&caller, &host, &req)
        .await
        .map_err(failure)
}
