//! Terminal recordings in asciicast v2 (docs.asciinema.org, "asciicast
//! v2"): a header line of JSON, then one JSON array a line, `[seconds,
//! code, data]`, with `o` for output, `r` for a resize (`"COLSxROWS"`) and
//! `m` for a marker. berth writes them (`terminal`) and its replay player
//! reads them in the browser, so both halves live here.

use serde::{Deserialize, Serialize};

/// The first line of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CastHeader {
    pub version: u32,
    pub width: u16,
    pub height: u16,
    /// When it started, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<std::collections::BTreeMap<String, String>>,
}

/// One event of a recording.
#[derive(Clone, Debug, PartialEq)]
pub enum CastEvent {
    /// What the terminal showed.
    Output(String),
    /// The terminal's new size.
    Resize { cols: u16, rows: u16 },
    /// A note in the recording (where it stopped, and why).
    Marker(String),
}

/// The header line, with its newline.
pub fn header_line(header: &CastHeader) -> String {
    let mut line = serde_json::to_string(header).unwrap_or_default();
    line.push('\n');
    line
}

/// One event's line, with its newline; `at` in seconds since the start.
pub fn event_line(at: f64, event: &CastEvent) -> String {
    let (code, data) = match event {
        CastEvent::Output(text) => ("o", text.clone()),
        CastEvent::Resize { cols, rows } => ("r", format!("{cols}x{rows}")),
        CastEvent::Marker(text) => ("m", text.clone()),
    };
    let data = serde_json::to_string(&data).unwrap_or_else(|_| "\"\"".into());
    format!("[{at:.6},\"{code}\",{data}]\n")
}

/// A whole recording, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Cast {
    pub header: CastHeader,
    /// In order, each with its time in seconds since the start.
    pub events: Vec<(f64, CastEvent)>,
}

impl Cast {
    /// How long it lasts, in seconds.
    pub fn duration(&self) -> f64 {
        self.events.last().map_or(0.0, |(t, _)| *t)
    }
}

/// Reads a recording; codes it does not know (`i`, input) are skipped.
/// The error names the line that is wrong.
pub fn parse(text: &str) -> Result<Cast, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or("the recording is empty")?;
    let header: CastHeader =
        serde_json::from_str(first).map_err(|e| format!("line 1 is not an asciicast header: {e}"))?;
    if header.version != 2 {
        return Err(format!("asciicast version {} is not 2", header.version));
    }
    let mut events = Vec::new();
    let mut last = 0.0;
    for (i, line) in lines {
        let (at, code, data): (f64, String, String) =
            serde_json::from_str(line).map_err(|e| format!("line {} is not an event: {e}", i + 1))?;
        if !at.is_finite() || at < last {
            return Err(format!("line {}: time {at} goes backwards", i + 1));
        }
        last = at;
        let event = match code.as_str() {
            "o" => CastEvent::Output(data),
            "m" => CastEvent::Marker(data),
            "r" => {
                let size = data
                    .split_once('x')
                    .and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)));
                match size {
                    Some((cols, rows)) => CastEvent::Resize { cols, rows },
                    None => return Err(format!("line {}: '{data}' is not a size COLSxROWS", i + 1)),
                }
            }
            _ => continue,
        };
        events.push((at, event));
    }
    Ok(Cast { header, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let header = CastHeader {
            version: 2,
            width: 80,
            height: 24,
            timestamp: Some(1_700_000_000),
            title: Some("web-1: /bin/sh".into()),
            env: Some([("TERM".to_string(), "xterm-256color".to_string())].into()),
        };
        let mut text = header_line(&header);
        let events = vec![
            (0.25, CastEvent::Output("$ echo \"hi\"\r\nhi\r\n\u{1b}[31m".into())),
            (1.5, CastEvent::Resize { cols: 100, rows: 30 }),
            (2.0, CastEvent::Marker("recording stopped".into())),
        ];
        for (at, e) in &events {
            text.push_str(&event_line(*at, e));
        }
        assert!(text.contains("[0.250000,\"o\",\"$ echo \\\"hi\\\"\\r\\nhi\\r\\n\\u001b[31m\"]\n"));
        let cast = parse(&text).unwrap();
        assert_eq!(cast.header, header);
        assert_eq!(cast.events, events);
        assert_eq!(cast.duration(), 2.0);
        // Input events (recorded by other tools) are skipped.
        let with_input = format!("{text}[2.5,\"i\",\"secret\"]\n");
        assert_eq!(parse(&with_input).unwrap().events.len(), 3);
        assert!(parse("").is_err());
        assert!(
            parse("{\"version\":1,\"width\":1,\"height\":1}")
                .unwrap_err()
                .contains("version")
        );
        let backwards = format!("{}[1.0,\"o\",\"a\"]\n[0.5,\"o\",\"b\"]\n", header_line(&header));
        assert!(parse(&backwards).unwrap_err().contains("backwards"));
    }
}
