//! Export formats: JSON lines (one `Event` per line, as the API returns it)
//! and CSV with one column per field.

use crate::model::{Event, format_ts};
use sha2::{Digest, Sha256};

/// The SHA-256 and length of what an export sent, for its `events.export`
/// event: the log (and so its checkpoints and proofs) then vouches for the
/// exported file, which anyone can hash and compare.
#[derive(Default)]
pub struct ExportDigest {
    hash: Sha256,
    bytes: u64,
}

impl ExportDigest {
    pub fn update(&mut self, chunk: &[u8]) {
        self.hash.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// (hex SHA-256, byte count).
    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hash.finalize()), self.bytes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Option<ExportFormat> {
        match text {
            "jsonl" | "json" => Some(ExportFormat::Jsonl),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }

    /// The file's first line, if the format has one.
    pub fn header(self) -> Option<String> {
        match self {
            ExportFormat::Jsonl => None,
            ExportFormat::Csv => Some(csv_header()),
        }
    }

    /// One event as one line, ending in a newline.
    pub fn line(self, e: &Event) -> String {
        match self {
            ExportFormat::Jsonl => {
                let mut s = serde_json::to_string(e).unwrap_or_default();
                s.push('\n');
                s
            }
            ExportFormat::Csv => csv_row(e),
        }
    }
}

pub fn csv_header() -> String {
    "seq,time,kind,actor,source,host,target,outcome,message,duration_us,details,prev_hash,hash\n".to_string()
}

/// Quotes a field when it needs it, and defuses spreadsheet formulas.
fn csv_field(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
        if formula {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

pub fn csv_row(e: &Event) -> String {
    let details = if e.details.is_null() {
        String::new()
    } else {
        e.details.to_string()
    };
    let fields = [
        e.seq.0.to_string(),
        format_ts(e.ts_ns),
        e.kind.clone(),
        e.actor.to_string(),
        e.source.clone().unwrap_or_default(),
        e.host.clone().unwrap_or_default(),
        e.target.clone().unwrap_or_default(),
        e.outcome.label().to_string(),
        e.outcome.message().to_string(),
        e.duration_us.map(|d| d.to_string()).unwrap_or_default(),
        details,
        e.prev_hash.to_hex(),
        e.hash.to_hex(),
    ];
    let mut out = String::with_capacity(256);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, f);
    }
    out.push('\n');
    out
}
