//! `Engine::exec` over the Docker API: create an exec with a TTY, start it
//! attached, resize it, and end it for sure.
//!
//! Closing the attached connection does not end a process on a TTY (the
//! engine keeps the terminal open), so berth learns the process's id to
//! hang it up: the command runs through `/bin/sh -c`, which first writes
//! `ESC ] berth;PID;SHELL BEL` (an OSC sequence a terminal would ignore;
//! berth takes it out of the output) and then `exec`s the command under the
//! same id. `finish` then hangs it up for sure (`hangup`). A container without
//! /bin/sh runs an explicit command directly; it cannot be hung up, and the
//! record says so (`ExecEnd::LeftRunning` if it outlives its terminal).

use super::hangup::{self, Process};
use super::map_error;
use crate::engine::EngineError;
use crate::engine::{ExecControl, ExecSession};
use crate::model::{ExecExit, ExecSpec, TERM};
use async_trait::async_trait;
use bollard::Docker;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The start of what the wrapper writes first.
const MARK: &[u8] = b"\x1b]berth;";
/// The longest a mark may be (pid, shell path), end included.
const MARK_MAX: usize = 96;
/// How long the first output may take to bring the mark.
const MARK_WITHIN: Duration = Duration::from_secs(10);

/// The container's shell, found by the wrapper: bash where there is one.
const SHELL_SCRIPT: &str = "if [ -x /bin/bash ]; then s=/bin/bash; else s=/bin/sh; fi; \
                            printf '\\033]berth;%s;%s\\007' \"$$\" \"$s\"; exec \"$s\"";
/// An asked-for command: `"$@"`, once the pid is out.
const COMMAND_SCRIPT: &str = "printf '\\033]berth;%s;\\007' \"$$\"; exec \"$@\"";

pub(super) async fn exec(docker: &Docker, host: &str, id: &str, spec: &ExecSpec) -> Result<ExecSession, EngineError> {
    spec.validate().map_err(EngineError::Rejected)?;
    let wrapped = match &spec.command {
        None => vec!["/bin/sh".into(), "-c".into(), SHELL_SCRIPT.into()],
        Some(words) => {
            let mut argv = vec!["/bin/sh".into(), "-c".into(), COMMAND_SCRIPT.into(), "berth".into()];
            argv.extend(words.iter().cloned());
            argv
        }
    };
    let started = start(docker, host, id, spec, wrapped).await?;
    let Started { exec_id, output, input } = started;
    let (mark, output) = read_mark(output).await;
    match mark {
        Mark::Found { pid, shell } => {
            let command = match (&spec.command, shell) {
                (Some(words), _) => words.clone(),
                (None, Some(shell)) => vec![shell],
                (None, None) => vec!["/bin/sh".into()],
            };
            Ok(session(
                docker,
                host,
                id,
                spec,
                exec_id,
                Some(pid),
                command,
                output,
                input,
            ))
        }
        Mark::Missing(seen) => {
            let no_sh = seen.windows(7).any(|w| w == b"/bin/sh") || seen.is_empty();
            let code = hangup::inspect(docker, host, &exec_id).await.ok().and_then(|s| s.1);
            let failed = matches!(code, Some(126 | 127));
            match (&spec.command, no_sh && failed) {
                // No /bin/sh: an asked-for command runs on its own.
                (Some(words), true) => {
                    drop((input, output));
                    let direct = start(docker, host, id, spec, words.clone()).await?;
                    Ok(session(
                        docker,
                        host,
                        id,
                        spec,
                        direct.exec_id,
                        None,
                        words.clone(),
                        direct.output,
                        direct.input,
                    ))
                }
                (None, true) => Err(EngineError::Rejected(format!(
                    "the container '{id}' has no /bin/sh, so berth cannot find its shell: name the command to run"
                ))),
                // Something else came first (a very slow start...): go on
                // without a pid, showing everything.
                _ => {
                    let command = spec.command.clone().unwrap_or_else(|| vec!["/bin/sh".into()]);
                    let output = stream::iter([Ok(Bytes::from(seen))]).chain(output).boxed();
                    Ok(session(docker, host, id, spec, exec_id, None, command, output, input))
                }
            }
        }
    }
}

type Output = BoxStream<'static, Result<Bytes, EngineError>>;

struct Started {
    exec_id: String,
    output: Output,
    input: Pin<Box<dyn AsyncWrite + Send>>,
}

/// Creates and starts `argv` attached, with a TTY of the spec's size.
async fn start(
    docker: &Docker,
    host: &str,
    id: &str,
    spec: &ExecSpec,
    argv: Vec<String>,
) -> Result<Started, EngineError> {
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        // Honoured from API 1.42; older engines get the resize below.
        console_size: Some(vec![usize::from(spec.rows), usize::from(spec.cols)]),
        env: Some(vec![format!("TERM={TERM}")]),
        cmd: Some(argv),
        user: spec.user.clone(),
        ..Default::default()
    };
    let created = docker
        .create_exec(id, config)
        .await
        .map_err(|e| not_running(map_error(host, id, e), id))?;
    let options = StartExecOptions {
        detach: false,
        tty: true,
        output_capacity: Some(64 * 1024),
    };
    let started = docker
        .start_exec(&created.id, Some(options))
        .await
        .map_err(|e| map_error(host, id, e))?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(EngineError::Engine("the engine started the exec detached".into()));
    };
    let size = ResizeExecOptions {
        width: spec.cols,
        height: spec.rows,
    };
    // Before API 1.42 the size comes only this way; a process that ended
    // at once has no terminal to resize, which is no failure.
    let _ = docker.resize_exec(&created.id, size).await;
    let host = host.to_string();
    let output = output
        .map_ok(|chunk| chunk.into_bytes())
        .map_err(move |e| EngineError::Unreachable {
            host: host.clone(),
            reason: format!("the terminal's connection to the engine failed: {e}"),
        })
        .boxed();
    Ok(Started {
        exec_id: created.id,
        output,
        input,
    })
}

/// The engine's "is not running" (409) in words for the person.
fn not_running(e: EngineError, id: &str) -> EngineError {
    match e {
        EngineError::Engine(m) if m.contains("is not running") || m.contains("is paused") => EngineError::Engine(
            format!("container '{id}' is not running: start it to open a terminal ({m})"),
        ),
        other => other,
    }
}

#[allow(clippy::too_many_arguments)]
fn session(
    docker: &Docker,
    host: &str,
    id: &str,
    spec: &ExecSpec,
    exec_id: String,
    pid: Option<u32>,
    command: Vec<String>,
    output: Output,
    input: Pin<Box<dyn AsyncWrite + Send>>,
) -> ExecSession {
    ExecSession {
        command,
        output,
        control: Box::new(DockerExec {
            process: Process {
                docker: docker.clone(),
                host: host.to_string(),
                container: id.to_string(),
                user: spec.user.clone(),
                exec_id,
                pid,
            },
            input: Some(input),
        }),
    }
}

enum Mark {
    Found {
        pid: u32,
        shell: Option<String>,
    },
    /// What came instead (at most a mark's length), or nothing.
    Missing(Vec<u8>),
}

/// Reads the wrapper's mark off the start of `output`; returns it and the
/// output from just after it.
async fn read_mark(mut output: Output) -> (Mark, Output) {
    let mut seen = BytesMut::new();
    let deadline = tokio::time::Instant::now() + MARK_WITHIN;
    loop {
        if let Some(parsed) = parse_mark(&seen) {
            return match parsed {
                Some((mark, used)) => {
                    let rest = seen.split_off(used).freeze();
                    let output = if rest.is_empty() {
                        output
                    } else {
                        stream::iter([Ok(rest)]).chain(output).boxed()
                    };
                    (mark, output)
                }
                None => (Mark::Missing(seen.to_vec()), output),
            };
        }
        match tokio::time::timeout_at(deadline, output.next()).await {
            Ok(Some(Ok(chunk))) => seen.extend_from_slice(&chunk),
            // Ended, failed or slow: whatever came is output.
            Ok(Some(Err(_)) | None) | Err(_) => return (Mark::Missing(seen.to_vec()), output),
        }
    }
}

/// `None`: too little to tell yet; `Some(None)`: not a mark; `Some(Some)`:
/// the mark and how many bytes it took.
fn parse_mark(seen: &[u8]) -> Option<Option<(Mark, usize)>> {
    let n = seen.len().min(MARK.len());
    if seen[..n] != MARK[..n] {
        return Some(None);
    }
    if n < MARK.len() {
        return None;
    }
    let Some(end) = seen.iter().take(MARK_MAX).position(|b| *b == 0x07) else {
        return if seen.len() >= MARK_MAX { Some(None) } else { None };
    };
    let body = std::str::from_utf8(&seen[MARK.len()..end]).ok()?;
    let (pid, shell) = body.split_once(';').unwrap_or((body, ""));
    let Ok(pid) = pid.parse::<u32>() else {
        return Some(None);
    };
    let shell = (!shell.is_empty()).then(|| shell.to_string());
    Some(Some((Mark::Found { pid, shell }, end + 1)))
}

/// A started exec: its input, and its process to end.
struct DockerExec {
    process: Process,
    input: Option<Pin<Box<dyn AsyncWrite + Send>>>,
}

#[async_trait]
impl ExecControl for DockerExec {
    async fn input(&mut self, data: Bytes) -> Result<(), EngineError> {
        let Some(input) = self.input.as_mut() else {
            return Ok(());
        };
        let written = async {
            input.write_all(&data).await?;
            input.flush().await
        };
        written.await.map_err(|e| EngineError::Unreachable {
            host: self.process.host.clone(),
            reason: format!("cannot type into the terminal: {e}"),
        })
    }

    async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), EngineError> {
        let size = ResizeExecOptions {
            width: cols,
            height: rows,
        };
        let p = &self.process;
        p.docker
            .resize_exec(&p.exec_id, size)
            .await
            .map_err(|e| map_error(&p.host, &p.exec_id, e))
    }

    async fn finish(self: Box<Self>) -> ExecExit {
        let DockerExec { process, input } = *self;
        if let Some(mut input) = input {
            let _ = input.shutdown().await;
        }
        process.end().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_read_off_the_output_whole_or_in_pieces() {
        let full = b"\x1b]berth;42;/bin/bash\x07$ prompt";
        for cut in 0..full.len() {
            let parsed = parse_mark(&full[..cut]);
            if cut < b"\x1b]berth;42;/bin/bash\x07".len() {
                assert!(parsed.is_none(), "decided after {cut} bytes");
            }
        }
        match parse_mark(full) {
            Some(Some((Mark::Found { pid, shell }, used))) => {
                assert_eq!((pid, shell.as_deref()), (42, Some("/bin/bash")));
                assert_eq!(&full[used..], b"$ prompt");
            }
            _ => panic!("no mark"),
        }
        assert!(matches!(
            parse_mark(b"\x1b]berth;7;\x07"),
            Some(Some((Mark::Found { pid: 7, shell: None }, 11)))
        ));
        assert!(matches!(parse_mark(b"OCI runtime exec failed"), Some(None)));
        assert!(matches!(parse_mark(b"\x1b]berth;x;\x07"), Some(None)));
        let endless = [MARK, &[b'1'; MARK_MAX][..]].concat();
        assert!(matches!(parse_mark(&endless), Some(None)));
    }
}
