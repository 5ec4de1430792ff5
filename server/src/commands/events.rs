//! `berth events verify|export|prove|check-proof`.

use crate::cli::{EventsCommand, FilterArgs};
use crate::config::Config;
use anyhow::{Context, bail};
use berth_core::events::{self, ExportFormat};
use berth_core::model::{Event, EventFilter, format_ts};
use berth_core::store::Store;
use berth_core::tlog::checkpoint::verify_cosignature;
use berth_core::tlog::note::Note;
use berth_core::tlog::proof::{MAX_PROOF_BYTES, ProofFile};
use std::io::{Read, Write};
use std::path::Path;
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

fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.db_path();
    if !path.exists() {
        anyhow::bail!("there is no database at {} (use --data-dir)", path.display());
    }
    Ok(Store::open(&path)?)
}

pub(crate) fn events(config: Config, cmd: EventsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EventsCommand::Verify => {
            let store = open_store(&config)?;
            let status = events::verify_store(&store, &config.data_dir)?;
            match (status.broken_at, status.problem) {
                (None, None) => {
                    let kept = match events::kept_checkpoint(&config.data_dir)? {
                        Some(signed) => format!(
                            "; they hold the kept signed checkpoint (size {})",
                            signed.checkpoint.size
                        ),
                        None => "; no signed checkpoint is kept yet".into(),
                    };
                    println!(
                        "OK: {} events, hash chain intact, Merkle tree matches{kept}",
                        status.checked
                    );
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
            let store = open_store(&config)?;
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
        EventsCommand::Prove { seq, out } => super::prove::prove(&config, seq, out),
        // Runs on an auditor's machine: no database, no configuration used.
        EventsCommand::CheckProof { file, key, witnesses } => check_proof(&file, &key, &witnesses),
    }
}

/// `berth events check-proof FILE --key VKEY`: checks a c2sp.org/tlog-proof
/// file with only the log's public key, and prints the event it proves.
/// Any failure is an error (exit 1) that says what did not hold.
fn check_proof(file: &Path, key: &str, witnesses: &[String]) -> anyhow::Result<ExitCode> {
    let key = super::monitor::read_key(key).context("--key")?;
    let witnesses = witnesses
        .iter()
        .map(|w| super::monitor::read_key(w).context("--witness"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let text = read_proof(file)?;
    let proof = ProofFile::parse(&text).with_context(|| format!("{} is not a proof file", file.display()))?;
    let (checkpoint, leaf) = proof
        .check(&key)
        .with_context(|| format!("the proof in {} does not hold", file.display()))?;
    let event = events::decode_canonical(leaf).context("the proof holds, but its data is not a berth event")?;
    if event.seq.0 != proof.index.saturating_add(1) {
        bail!(
            "the proof is for leaf {}, which is event {}, but its data is event {}",
            proof.index,
            proof.index.saturating_add(1),
            event.seq.0
        );
    }
    print_event(&event);
    let note = Note::parse(&proof.checkpoint).context("the checkpoint's note")?;
    for witness in &witnesses {
        let time = verify_cosignature(&note, witness)
            .with_context(|| format!("the checkpoint is not cosigned by witness {}", witness.name()))?;
        let time = i64::try_from(time).unwrap_or(i64::MAX).saturating_mul(1_000_000_000);
        println!("OK: cosigned by witness {} at {}", witness.name(), format_ts(time));
    }
    println!(
        "OK: event {} is in the log of size {} signed by {}",
        event.seq.0, checkpoint.size, checkpoint.origin
    );
    Ok(ExitCode::SUCCESS)
}

/// The proof file's text ('-' is standard input), refusing a huge one.
fn read_proof(file: &Path) -> anyhow::Result<String> {
    let limit = MAX_PROOF_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    let read = if file == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.with_context(|| format!("cannot read {}", file.display()))?;
    if bytes.len() > MAX_PROOF_BYTES {
        bail!("{} is larger than a proof file can be (256 KiB)", file.display());
    }
    String::from_utf8(bytes).with_context(|| format!("{} is not a proof file (not UTF-8 text)", file.display()))
}

fn print_event(e: &Event) {
    println!("event {}", e.seq.0);
    println!("  time     {}", format_ts(e.ts_ns));
    println!("  kind     {}", e.kind);
    println!("  actor    {}", e.actor);
    if let Some(source) = &e.source {
        println!("  source   {source}");
    }
    if let Some(host) = &e.host {
        println!("  host     {host}");
    }
    if let Some(target) = &e.target {
        println!("  target   {target}");
    }
    match e.outcome.message() {
        "" => println!("  outcome  {}", e.outcome.label()),
        message => println!("  outcome  {}: {message}", e.outcome.label()),
    }
    if !e.details.is_null() {
        println!("  details  {}", e.details);
    }
}
