//! `berth events verify|export`.

use crate::cli::{EventsCommand, FilterArgs};
use crate::config::Config;
use berth_core::events::{self, ExportFormat};
use berth_core::model::EventFilter;
use berth_core::store::Store;
use std::io::Write;
use std::process::ExitCode;

fn filter(args: &FilterArgs) -> anyhow::Result<EventFilter> {
    let get = |name: &str| -> Option<&str> {
        match name {
            "kind" => args.kind.as_deref(),
            "actor" => args.actor.as_deref(),
            "host" => args.host.as_deref(),
            "target" => args.target.as_deref(),
            "outcome" => args.outcome.as_deref(),
            "since" => args.since.as_deref(),
            "until" => args.until.as_deref(),
            _ => None,
        }
    };
    Ok(EventFilter::from_fields(get)?)
}

pub(crate) fn events(config: Config, cmd: EventsCommand) -> anyhow::Result<ExitCode> {
    let path = config.db_path();
    if !path.exists() {
        anyhow::bail!("there is no database at {} (use --data-dir)", path.display());
    }
    let store = Store::open(&path)?;
    match cmd {
        EventsCommand::Verify => {
            let status = events::verify_store(&store)?;
            match (status.broken_at, status.problem) {
                (None, None) => {
                    println!("OK: {} events, hash chain intact", status.checked);
                    Ok(ExitCode::SUCCESS)
                }
                (seq, problem) => {
                    let seq = seq.map(|s| s.0.to_string()).unwrap_or_else(|| "?".into());
                    println!("BROKEN at seq {seq}: {}", problem.unwrap_or_default());
                    println!("({} events before it verified)", status.checked);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        EventsCommand::Export { format, filter: args } => {
            let format = ExportFormat::parse(&format).unwrap_or(ExportFormat::Jsonl);
            let filter = filter(&args)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut failed = None;
            if let Some(header) = format.header() {
                out.write_all(header.as_bytes())?;
            }
            events::export_store(&store, &filter, |e| match out.write_all(format.line(e).as_bytes()) {
                Ok(()) => true,
                Err(err) => {
                    failed = Some(err);
                    false
                }
            })?;
            match failed.map_or_else(|| out.flush(), Err) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
                Err(e) => Err(e.into()),
            }
        }
    }
}
