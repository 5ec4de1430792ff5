//! `berth events prove SEQ`: writes an offline proof file (C2SP tlog-proof)
//! that event SEQ is in the log, against the latest signed checkpoint, for
//! an auditor to check with `berth events check-proof` and the log's key.
//!
//! It reads the database, so berth must be stopped; while it runs, the same
//! file comes from `GET /api/v1/log/proof/event/SEQ`.

use crate::config::Config;
use berth_core::events::{Checkpointer, EventLog};
use berth_core::model::{Actor, EventSeq};
use berth_core::store::{Store, StoreError};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) fn prove(config: &Config, seq: u64, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = config.db_path();
    if !path.exists() {
        anyhow::bail!("there is no database at {} (use --data-dir)", path.display());
    }
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(StoreError::Locked { .. }) => anyhow::bail!(
            "berth is running and holds {}: stop it, or fetch the same file from the running server:\n  \
             curl -H 'Authorization: Bearer <API key>' <berth URL>/api/v1/log/proof/event/{seq}",
            path.display()
        ),
        Err(e) => return Err(e.into()),
    };
    if seq == 0 {
        anyhow::bail!("events are numbered from 1");
    }
    super::runtime()?.block_on(async move {
        let log = EventLog::open(&store)?;
        let result = async {
            if log.get(EventSeq(seq)).await?.is_none() {
                anyhow::bail!("there is no event {seq}");
            }
            let checkpoints = Checkpointer::open(&log, &config.data_dir)?;
            // A checkpoint made here is recorded as made by this command.
            let actor = Actor::system();
            let file = checkpoints.prove(EventSeq(seq), actor).await?;
            let text = file.to_string();
            match &out {
                Some(out) => {
                    std::fs::write(out, &text)?;
                    eprintln!(
                        "wrote {} ({} bytes): event {seq} in the log of {} events.\n\
                         Check it anywhere with: berth events check-proof {} --key '{}'",
                        out.display(),
                        text.len(),
                        checkpoints.latest().map_or(0, |s| s.checkpoint.size),
                        out.display(),
                        checkpoints.verifier()
                    );
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        .await;
        log.close().await?;
        result
    })
}
