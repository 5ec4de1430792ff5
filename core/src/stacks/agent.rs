//! The agent's side of a deploy: compose run on this machine against its
//! own engine for a core (`engine::compose`). The project's files are
//! written under `BERTH_AGENT_STACKS` (default: the temporary directory's
//! `berth-agent-stacks`), one directory per stack and version, of which
//! the newest few are kept for compose's relative paths; the environment
//! reaches compose for this run only (a `.env` written with mode 0600 when
//! the project has none, removed after). Dropping the stream stops compose.

use super::compose::{Compose, OutputLine, Project, ProjectName, Stop, Stream, Target};
use super::mask::Masker;
use super::run::DotEnv;
use crate::engine::{ComposeItem, ComposeJob, EngineError};
use base64::Engine as _;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Versions of a stack's files kept on the agent.
const KEEP_VERSIONS: usize = 5;

/// Runs `job`, streaming what compose prints; ends with `Exit`.
pub fn run(job: ComposeJob) -> BoxStream<'static, Result<ComposeItem, EngineError>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let work = async move {
        if let Err(e) = drive(job, &tx).await {
            let _ = tx.send(Err(e));
        }
    };
    let items = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) });
    let driver = futures_util::stream::once(work).filter_map(|()| async { None });
    futures_util::stream::select(items, driver).boxed()
}

fn base() -> PathBuf {
    std::env::var_os("BERTH_AGENT_STACKS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("berth-agent-stacks"))
}

type Tx = mpsc::UnboundedSender<Result<ComposeItem, EngineError>>;

async fn drive(job: ComposeJob, tx: &Tx) -> Result<(), EngineError> {
    job.validate().map_err(EngineError::Rejected)?;
    let stack = base().join(&job.project);
    let root = stack.join(&job.version);
    let io = |what: &str, e: std::io::Error| EngineError::Engine(format!("the agent could not {what}: {e}"));
    if job.args[0] != "down" {
        write_files(&job, &root).map_err(|e| io("write the project's files", e))?;
    }
    let override_path = stack.join(format!("{}.override.json", job.version));
    std::fs::create_dir_all(&stack).map_err(|e| io("make the stack's directory", e))?;
    if !job.override_json.is_empty() {
        std::fs::write(&override_path, &job.override_json).map_err(|e| io("write the override file", e))?;
    }
    let compose = Compose::detect(None)
        .await
        .map_err(|e| EngineError::Engine(e.to_string()))?;
    let _ = tx.send(Ok(ComposeItem::Started {
        compose: compose.describe(),
    }));
    let dir = if job.dir.is_empty() {
        root.clone()
    } else {
        root.join(&job.dir)
    };
    let mut files: Vec<PathBuf> = job.compose_files.iter().map(|f| dir.join(f)).collect();
    if !job.override_json.is_empty() {
        files.push(override_path);
    }
    let project = Project {
        name: ProjectName::parse(&job.project).map_err(|e| EngineError::Rejected(e.to_string()))?,
        dir: dir.clone(),
        files,
        env: job.env.clone(),
    };
    let _dotenv = DotEnv::write(&dir, &job.env).map_err(|e| EngineError::Engine(e.to_string()))?;
    let target = Target {
        docker_host: std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into()),
        tls: None,
    };
    let out = tx.clone();
    let mut sink = move |line: OutputLine| {
        let _ = out.send(Ok(ComposeItem::Line {
            stderr: line.stream == Stream::Stderr,
            text: line.text,
        }));
    };
    let args: Vec<&str> = job.args.iter().map(String::as_str).collect();
    let stop = Stop {
        deadline: Some(tokio::time::Instant::now() + Duration::from_secs(u64::from(job.timeout_s.max(1)))),
        cancel: std::future::pending::<()>(),
    };
    let status = compose
        .run(
            &target,
            &project,
            &args,
            &mut sink,
            &Masker::new(Vec::<String>::new()),
            stop,
        )
        .await
        .map_err(|e| EngineError::Engine(e.to_string()))?;
    let _ = tx.send(Ok(ComposeItem::Exit {
        success: status.success(),
        status: status.to_string(),
    }));
    prune(&stack);
    Ok(())
}

fn write_files(job: &ComposeJob, root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    std::fs::create_dir_all(root)?;
    for f in &job.files {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&f.data)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", f.path)))?;
        let path = root.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode & 0o755))?;
    }
    Ok(())
}

/// Keeps the newest `KEEP_VERSIONS` versions of a stack's files.
fn prune(stack: &Path) {
    let Ok(entries) = std::fs::read_dir(stack) else { return };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name.strip_prefix('v')?.parse().ok()?, e.path()))
        })
        .collect();
    versions.sort_unstable_by_key(|v| std::cmp::Reverse(v.0));
    for (v, path) in versions.into_iter().skip(KEEP_VERSIONS) {
        let _ = std::fs::remove_dir_all(path);
        let _ = std::fs::remove_file(stack.join(format!("v{v}.override.json")));
    }
}
