//! A container's log lines on the agent's connection: the agent sends the
//! lines that are ready together as one `Item` (a busy container's lines
//! in a few frames, not one each), every batch far under `wire::MAX_FRAME`
//! even when each line is the longest the engine hands over and escapes
//! to six bytes a byte in JSON; the core takes them one by one again.

use crate::engine::EngineError;
use crate::model::LogLine;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// Lines in one batch at most.
const BATCH_LINES: usize = 512;
/// Bytes of text in one batch at most (a line more may pass it): 512 KiB,
/// at most about 3.5 MiB of JSON.
const BATCH_BYTES: usize = 512 << 10;

/// `lines` in batches of those ready together; an error ends the stream
/// after the lines before it.
pub(super) fn batches(
    lines: BoxStream<'static, Result<LogLine, EngineError>>,
) -> BoxStream<'static, Result<Vec<LogLine>, EngineError>> {
    lines
        .ready_chunks(BATCH_LINES)
        .flat_map(|chunk| {
            let mut out: Vec<Result<Vec<LogLine>, EngineError>> = Vec::new();
            let (mut batch, mut bytes) = (Vec::new(), 0);
            for item in chunk {
                match item {
                    Ok(line) => {
                        bytes += line.text.len();
                        batch.push(line);
                        if bytes >= BATCH_BYTES {
                            out.push(Ok(std::mem::take(&mut batch)));
                            bytes = 0;
                        }
                    }
                    Err(e) => {
                        if !batch.is_empty() {
                            out.push(Ok(std::mem::take(&mut batch)));
                        }
                        out.push(Err(e));
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                out.push(Ok(batch));
            }
            futures_util::stream::iter(out)
        })
        .scan(false, |failed, item| {
            // Nothing after an error.
            let next = (!*failed).then_some(item);
            *failed = next.as_ref().is_some_and(Result::is_err);
            std::future::ready(next)
        })
        .boxed()
}

/// The core's side: the batches one line at a time again.
pub(super) fn lines(
    batches: BoxStream<'static, Result<Vec<LogLine>, EngineError>>,
) -> BoxStream<'static, Result<LogLine, EngineError>> {
    batches
        .flat_map(|batch| match batch {
            Ok(lines) => futures_util::stream::iter(lines.into_iter().map(Ok).collect::<Vec<_>>()),
            Err(e) => futures_util::stream::iter(vec![Err(e)]),
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn line(i: usize, len: usize) -> Result<LogLine, EngineError> {
        Ok(LogLine {
            container: "c".into(),
            stream: LogStream::Stdout,
            ts_ns: i as i64,
            text: "x".repeat(len),
        })
    }

    #[tokio::test]
    async fn lines_travel_in_bounded_batches_and_an_error_ends_them() {
        let mut input: Vec<_> = (0..1200).map(|i| line(i, 10)).collect();
        input.extend((0..20).map(|i| line(1200 + i, 64 << 10)));
        input.push(Err(EngineError::Engine("gone".into())));
        input.push(line(9999, 1));
        let out: Vec<_> = batches(futures_util::stream::iter(input).boxed()).collect().await;
        let sizes: Vec<usize> = out.iter().filter_map(|b| b.as_ref().ok()).map(Vec::len).collect();
        assert!(sizes.iter().all(|n| *n <= BATCH_LINES), "{sizes:?}");
        for b in out.iter().filter_map(|b| b.as_ref().ok()) {
            let text: usize = b.iter().map(|l| l.text.len()).sum();
            assert!(text < BATCH_BYTES + (64 << 10));
        }
        assert!(matches!(out.last(), Some(Err(EngineError::Engine(_)))));
        let back: Vec<_> = lines(futures_util::stream::iter(out).boxed()).collect().await;
        assert_eq!(back.len(), 1221, "every line before the error, then the error");
        let order: Vec<i64> = back.iter().filter_map(|l| l.as_ref().ok()).map(|l| l.ts_ns).collect();
        assert_eq!(order, (0..1220).collect::<Vec<i64>>());
    }
}
