//! The event log's transparency calls: its public key and latest signed
//! checkpoint, signing one now, and an event's proof file. Checking a proof
//! is the browser's business (`crate::proof`), not the server's.

use crate::error::AppError;
use berth_core::model::{CheckpointInfo, LogStatus};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{caller, failure};

/// The log's key and latest checkpoint, for those who may read the log.
/// (Its server function type is `GetLogStatus`: `LogStatus` is the model's.)
#[server(name = GetLogStatus, endpoint = "log_status")]
pub async fn log_status() -> Result<LogStatus, AppError> {
    let (berth, caller) = caller().await?;
    berth
        .check(&caller, berth_core::model::Operation::ReadEvents)
        .await
        .map_err(failure)?;
    Ok(berth.log_status())
}

/// Signs a checkpoint of the log as it is now (admins); recorded as
/// `log.checkpoint`.
#[server(endpoint = "sign_checkpoint")]
pub async fn sign_checkpoint() -> Result<CheckpointInfo, AppError> {
    let (berth, caller) = caller().await?;
    berth.sign_checkpoint(&caller).await.map_err(failure)
}

/// Event `seq`'s proof file (c2sp.org/tlog-proof), as text: the event's
/// bytes, its inclusion proof and the signed checkpoint it leads to.
#[server(endpoint = "event_proof")]
pub async fn event_proof(seq: u64) -> Result<String, AppError> {
    let (berth, caller) = caller().await?;
    let proof = berth
        .prove_event(&caller, berth_core::model::EventSeq(seq))
        .await
        .map_err(failure)?;
    Ok(proof.to_string())
}
