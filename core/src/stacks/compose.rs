//! The compose command line: finding `docker compose` (v2) or else
//! `docker-compose` (v1) on a host, running it against one engine with an
//! environment berth chooses, streaming its output masked, stopping it on
//! cancel or deadline, and validating compose files with `config`.
//! What to deploy, when, and who may is the stacks layer's, not this.

use super::mask::Masker;
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;

/// A line longer than this is cut; the rest of it is dropped.
pub const MAX_LINE: usize = 64 * 1024;
/// How long compose has to stop after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// How long `version` or `config` may take.
const QUICK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// The `docker compose` plugin.
    V2,
    /// The standalone `docker-compose` (Python, end of life).
    V1,
}

/// The compose command line found on a host.
#[derive(Debug, Clone)]
pub struct Compose {
    flavor: Flavor,
    version: String,
    /// `docker` (v2) or `docker-compose` (v1), as found on `path`.
    program: PathBuf,
    path: OsString,
}

/// The engine compose talks to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`...
    pub docker_host: String,
    pub tls: Option<TlsFiles>,
}

/// A directory holding `ca.pem`, `cert.pem` and `key.pem` (the layout of
/// `DOCKER_CERT_PATH`); the engine's certificate is verified.
#[derive(Debug, Clone)]
pub struct TlsFiles(pub PathBuf);

/// A compose project name: lowercase letters, digits, `-` and `_`,
/// starting with a letter or digit (compose's own rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectName(String);

/// One project as compose is run on it.
#[derive(Clone)]
pub struct Project {
    pub name: ProjectName,
    /// The working directory and `--project-directory`: relative paths in
    /// the files resolve against it.
    pub dir: PathBuf,
    /// `-f` each, in order: the stack's files, then berth's override.
    pub files: Vec<PathBuf>,
    /// Added to the environment (variables for interpolation; may hold secrets).
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of compose's output, masked, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: Stream,
    pub text: String,
    /// The line was longer than [`MAX_LINE`] bytes and was cut.
    pub cut: bool,
}

/// Why a run was stopped before compose finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    Cancelled,
    TimedOut,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(
        "this host has neither `docker compose` (v2) nor `docker-compose` (v1) on its PATH ({path}): \
         install Docker's compose plugin (package docker-compose-plugin) or Debian's docker-compose"
    )]
    NotInstalled { path: String },
    #[error(
        "{0:?} is not a compose project name: use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
    )]
    ProjectName(String),
    #[error("{0:?} is not a compose file name: use a relative path without `..`")]
    FileName(String),
    #[error("could not run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("reading compose's output failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("compose was cancelled; its processes were stopped")]
    Cancelled,
    #[error("compose ran past its deadline; its processes were stopped")]
    TimedOut,
    #[error("compose printed a config berth cannot read: {0}")]
    Output(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl crate::Failure for ComposeError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind::*;
        match self {
            ComposeError::NotInstalled { .. } | ComposeError::TimedOut => Unavailable,
            ComposeError::ProjectName(_) | ComposeError::FileName(_) | ComposeError::Config(_) => Invalid,
            ComposeError::Cancelled => Conflict,
            ComposeError::Spawn { .. } | ComposeError::Io(_) | ComposeError::Output(_) => Internal,
        }
    }
}

/// Compose refused the files: where, if it said, and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(file, line))]
pub struct ConfigError {
    /// The file's name as the caller gave it.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub message: String,
}

fn location(file: &Option<String>, line: &Option<u32>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!("{f}, line {l}: "),
        (Some(f), None) => format!("{f}: "),
        (None, Some(l)) => format!("line {l}: "),
        (None, None) => String::new(),
    }
}

impl Compose {
    /// Finds compose on `path` (None: this process's PATH): `docker compose`
    /// if the plugin answers, else `docker-compose`.
    pub async fn detect(path: Option<&OsStr>) -> Result<Compose, ComposeError> {
        let path = path
            .map(OsStr::to_os_string)
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default();
        let tries = [
            (Flavor::V2, "docker", &["compose", "version", "--short"][..]),
            (Flavor::V1, "docker-compose", &["version", "--short"][..]),
        ];
        for (flavor, name, args) in tries {
            let Some(program) = find_program(&path, name) else {
                continue;
            };
            let mut cmd = Command::new(&program);
            cmd.args(args)
                .env_clear()
                .env("PATH", &path)
                .stdin(Stdio::null())
                .kill_on_drop(true);
            if let Some(home) = std::env::var_os("HOME") {
                cmd.env("HOME", home);
            }
            let Ok(Ok(out)) = tokio::time::timeout(QUICK, cmd.output()).await else {
                continue;
            };
            let version = String::from_utf8_lossy(&out.stdout)
                .trim()
                .trim_start_matches('v')
                .to_string();
            if out.status.success() && !version.is_empty() && !version.contains('\n') {
                return Ok(Compose {
                    flavor,
                    version,
                    program,
                    path,
                });
            }
        }
        Err(ComposeError::NotInstalled {
            path: path.to_string_lossy().into_owned(),
        })
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// Which compose and which version, for a deploy's log:
    /// `docker compose 2.29.1` or `docker-compose 1.29.2`.
    pub fn describe(&self) -> String {
        match self.flavor {
            Flavor::V2 => format!("docker compose {}", self.version),
            Flavor::V1 => format!("docker-compose {}", self.version),
        }
    }

    /// The program with an environment of only PATH and HOME, then the
    /// compose subcommand for v2.
    fn base(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.env_clear()
            .env("PATH", &self.path)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(home) = std::env::var_os("HOME") {
            cmd.env("HOME", home);
        }
        if self.flavor == Flavor::V2 {
            cmd.arg("compose");
        }
        cmd
    }

    /// `compose -p NAME --project-directory DIR -f FILE... ARGS...` against
    /// `target`, with the project's variables and nothing else inherited.
    fn command(&self, target: &Target, project: &Project, args: &[&str]) -> Command {
        let mut cmd = self.base();
        cmd.env("DOCKER_HOST", &target.docker_host);
        if let Some(TlsFiles(dir)) = &target.tls {
            cmd.env("DOCKER_CERT_PATH", dir).env("DOCKER_TLS_VERIFY", "1");
        }
        cmd.envs(project.env.iter().map(|(k, v)| (k, v)));
        cmd.arg("-p")
            .arg(&project.name.0)
            .arg("--project-directory")
            .arg(&project.dir);
        for f in &project.files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(args).current_dir(&project.dir);
        cmd
    }

    /// Runs compose with `args` (`["up", "-d", "--remove-orphans"]`) on
    /// `project` against `target`, handing each line of stdout and stderr,
    /// masked, to `out` as it comes. When `stop.cancel` completes or the
    /// deadline passes, compose's whole process group gets SIGTERM, then
    /// SIGKILL after a few seconds, and the error says which happened.
    /// Compose's own failure is an unsuccessful status, not an error. The
    /// run ends when compose has exited and every process it started has
    /// closed its output.
    pub async fn run(
        &self,
        target: &Target,
        project: &Project,
        args: &[&str],
        out: &mut (dyn FnMut(OutputLine) + Send),
        masker: &Masker,
        stop: Stop<impl Future<Output = ()>>,
    ) -> Result<ExitStatus, ComposeError> {
        let mut cmd = self.command(target, project, args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let mut child = cmd.spawn().map_err(|source| ComposeError::Spawn {
            program: self.describe(),
            source,
        })?;
        let mut group = Group(child.id());
        let (mut stdout, mut stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
        let mut lines = [Lines::new(Stream::Stdout, masker), Lines::new(Stream::Stderr, masker)];
        let (mut obuf, mut ebuf) = (vec![0; 16 * 1024], vec![0; 16 * 1024]);
        let (mut out_open, mut err_open, mut status) = (true, true, None);
        let cancel = stop.cancel;
        tokio::pin!(cancel);
        let deadline = tokio::time::sleep_until(stop.deadline.unwrap_or_else(far_future));
        tokio::pin!(deadline);
        let mut stopped: Option<Stopped> = None;
        let kill_at = tokio::time::sleep_until(far_future());
        tokio::pin!(kill_at);
        while out_open || err_open || status.is_none() {
            let mut stop_now = None;
            tokio::select! {
                n = stdout.read(&mut obuf), if out_open => out_open = feed(&mut lines[0], n, &obuf, out)?,
                n = stderr.read(&mut ebuf), if err_open => err_open = feed(&mut lines[1], n, &ebuf, out)?,
                s = child.wait(), if status.is_none() => status = Some(s?),
                () = &mut cancel, if stopped.is_none() => stop_now = Some(Stopped::Cancelled),
                () = &mut deadline, if stopped.is_none() && stop.deadline.is_some() => stop_now = Some(Stopped::TimedOut),
                () = &mut kill_at, if stopped.is_some() => {
                    group.signal("KILL");
                    kill_at.as_mut().reset(far_future());
                }
            }
            if let Some(why) = stop_now {
                tracing::info!(project = %project.name.0, ?why, "stopping compose");
                stopped = Some(why);
                group.signal("TERM");
                kill_at.as_mut().reset(Instant::now() + GRACE);
            }
        }
        group.0 = None; // everything it started has closed its output and exited
        match stopped {
            Some(Stopped::Cancelled) => Err(ComposeError::Cancelled),
            Some(Stopped::TimedOut) => Err(ComposeError::TimedOut),
            None => Ok(status.expect("the loop waits for it")),
        }
    }

    /// Checks compose files with `config`, the files written under `names`
    /// to a temporary directory. Relative paths in them resolve against
    /// `project_dir` (a checkout), else that temporary directory: v1 refuses
    /// a build context that does not exist there. Returns what berth needs
    /// to know of the services, or where compose said the files are wrong.
    pub async fn validate(
        &self,
        files: &[(String, String)],
        project_dir: Option<&Path>,
    ) -> Result<ComposeModel, ComposeError> {
        let temp = TempDir::new()?;
        let mut names = Vec::new();
        for (name, text) in files {
            let rel = Path::new(name);
            if name.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                return Err(ComposeError::FileName(name.clone()));
            }
            let full = temp.0.join(rel);
            std::fs::create_dir_all(full.parent().expect("under the temp dir"))?;
            std::fs::write(&full, text)?;
            names.push(name.clone());
        }
        let dir = project_dir.unwrap_or(&temp.0).to_path_buf();
        let mut cmd = self.base();
        cmd.args(["-p", "berth-validate", "--project-directory"]).arg(&dir);
        for name in &names {
            cmd.arg("-f").arg(name);
        }
        cmd.arg("config").current_dir(&temp.0);
        if self.flavor == Flavor::V2 {
            cmd.args(["--format", "json"]);
        }
        let spawn_error = |source| ComposeError::Spawn {
            program: self.describe(),
            source,
        };
        let output = match tokio::time::timeout(QUICK, cmd.output()).await {
            Ok(output) => output.map_err(spawn_error)?,
            Err(_) => return Err(ComposeError::TimedOut),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(config_error(&stderr, &names, &temp.0).into());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let config: Value = match self.flavor {
            Flavor::V2 => serde_json::from_str(&stdout).map_err(|e| ComposeError::Output(e.to_string()))?,
            Flavor::V1 => serde_norway::from_str(&stdout).map_err(|e| ComposeError::Output(e.to_string()))?,
        };
        let mut model = ComposeModel::from_config(&config);
        // `config` reads env files into `environment` and drops them (v1
        // always), so they come from the files themselves.
        for (_, text) in files {
            env_files_of(text, &dir, &mut model);
        }
        Ok(model)
    }
}

/// When a run gives up: `cancel` completing (a `watch` change, a token's
/// `cancelled()`, `std::future::pending()` for never) or the deadline.
pub struct Stop<C> {
    pub deadline: Option<Instant>,
    pub cancel: C,
}

/// The services of a validated project, as far as berth checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeModel {
    pub services: Vec<ServiceModel>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceModel {
    pub name: String,
    pub image: Option<String>,
    pub build: Option<Build>,
    pub healthcheck: bool,
    /// Host paths of bind mounts, absolute as compose resolved them.
    pub bind_sources: Vec<PathBuf>,
    pub env_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
}

impl ComposeModel {
    fn from_config(config: &Value) -> ComposeModel {
        let mut services = Vec::new();
        for (name, s) in config["services"].as_object().into_iter().flatten() {
            let build = s.get("build").and_then(|b| {
                let context = b.as_str().or_else(|| b["context"].as_str())?;
                // A git URL or a remote context is not a path on this host.
                if !context.starts_with('/') {
                    return None;
                }
                let dockerfile = b["dockerfile"].as_str().unwrap_or("Dockerfile");
                Some(Build {
                    context: context.into(),
                    dockerfile: Path::new(context).join(dockerfile),
                })
            });
            let healthcheck = s.get("healthcheck").is_some_and(|h| h["disable"] != Value::Bool(true));
            let bind_sources = s["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(bind_source)
                .collect();
            let env_files = strings(&s["env_file"]).into_iter().map(PathBuf::from).collect();
            let image = s["image"].as_str().map(str::to_string);
            services.push(ServiceModel {
                name: name.clone(),
                image,
                build,
                healthcheck,
                bind_sources,
                env_files,
            });
        }
        services.sort_by(|a, b| a.name.cmp(&b.name));
        ComposeModel { services }
    }

    /// Every build context, Dockerfile, bind mount source or env file that
    /// resolves (after `..` and symlinks) outside `root`, as
    /// `service: what path`. Files from a git checkout must stay inside it.
    pub fn paths_outside(&self, root: &Path) -> Vec<String> {
        let root = resolve(root);
        let mut outside = Vec::new();
        for s in &self.services {
            let mut check = |what: &str, path: &Path| {
                if !resolve(path).starts_with(&root) {
                    outside.push(format!("{}: {what} {}", s.name, path.display()));
                }
            };
            if let Some(b) = &s.build {
                check("build context", &b.context);
                check("dockerfile", &b.dockerfile);
            }
            s.bind_sources.iter().for_each(|p| check("bind mount", p));
            s.env_files.iter().for_each(|p| check("env_file", p));
        }
        outside
    }
}

/// A volume's host path if it is a bind mount: the long form's `source`
/// or the short form's part before `:` when it is a path.
fn bind_source(volume: &Value) -> Option<PathBuf> {
    if let Some(short) = volume.as_str() {
        let source = short.split(':').next()?;
        return (source.starts_with(['/', '.', '~'])).then(|| source.into());
    }
    (volume["type"] == "bind")
        .then(|| volume["source"].as_str().map(PathBuf::from))
        .flatten()
}

/// A string or a list of strings (or of `{path: ...}`), as env_file is.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().or_else(|| i["path"].as_str()).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Adds the env files named in one compose file, resolved against `dir`.
fn env_files_of(text: &str, dir: &Path, model: &mut ComposeModel) {
    let Ok(mut doc) = serde_norway::from_str::<serde_norway::Value>(text) else {
        return;
    };
    if doc.apply_merge().is_err() {
        return;
    }
    let Ok(doc) = serde_json::to_value(doc) else { return };
    for (name, s) in doc["services"].as_object().into_iter().flatten() {
        let Some(service) = model.services.iter_mut().find(|m| &m.name == name) else {
            continue;
        };
        for file in strings(&s["env_file"]) {
            let path = dir.join(file); // an absolute one replaces `dir`
            if !service.env_files.contains(&path) {
                service.env_files.push(path);
            }
        }
    }
}

/// `path` made absolute with symlinks resolved as far as it exists, the
/// rest with `..` taken lexically.
fn resolve(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = path.as_path();
    let mut base = loop {
        if let Ok(real) = existing.canonicalize() {
            break real;
        }
        match existing.parent() {
            Some(parent) => existing = parent,
            None => break PathBuf::from("/"),
        }
    };
    // What does not exist yet: `..` taken lexically.
    for c in path
        .strip_prefix(existing)
        .map(|r| r.components().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        match c {
            Component::ParentDir => {
                base.pop();
            }
            Component::Normal(n) => base.push(n),
            _ => {}
        }
    }
    base
}

/// Where compose's refusal points: v1 (PyYAML) says `in "./compose.yaml",
/// line 3, column 5` (the last such is the problem), v2 says
/// `parsing /dir/compose.yaml: yaml: line 3: ...`.
fn config_error(stderr: &str, names: &[String], dir: &Path) -> ConfigError {
    let prefix = format!("{}/", dir.display());
    let message = stderr.trim().trim_start_matches("ERROR: ").replace(&prefix, "");
    let v1 = regex::Regex::new(r#"in "([^"]+)", line (\d+)"#).expect("valid");
    let v2_line = regex::Regex::new(r"\byaml: line (\d+)").expect("valid");
    let v2_file = regex::Regex::new(r"(?:parsing|validating|loading) ([^\s:]+):").expect("valid");
    let (file, line) = if let Some(c) = v1.captures_iter(&message).last() {
        (Some(c[1].to_string()), c[2].parse().ok())
    } else {
        let line = v2_line.captures(&message).and_then(|c| c[1].parse().ok());
        let file = v2_file.captures(&message).map(|c| c[1].to_string());
        (
            file.or_else(|| (names.len() == 1 && line.is_some()).then(|| names[0].clone())),
            line,
        )
    };
    let file = file.map(|f| {
        let f = f.strip_prefix("./").unwrap_or(&f);
        names
            .iter()
            .find(|n| n.as_str() == f)
            .cloned()
            .unwrap_or_else(|| f.to_string())
    });
    ConfigError { file, line, message }
}

impl ProjectName {
    pub fn parse(name: &str) -> Result<ProjectName, ComposeError> {
        let ok = name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'-' || b == b'_')));
        if name.is_empty() || !ok {
            return Err(ComposeError::ProjectName(name.to_string()));
        }
        Ok(ProjectName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Project {
    /// Variables' names only: their values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Project")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("files", &self.files)
            .field("env", &env)
            .finish()
    }
}

fn find_program(path: &OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|p| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// Compose's process group, killed when a run is dropped unfinished.
struct Group(Option<u32>);

impl Group {
    fn signal(&self, signal: &str) {
        if let Some(pgid) = self.0 {
            // No libc in core: kill(1) takes a negative id as a group.
            let _ = std::process::Command::new("kill")
                .args(["-s", signal, "--", &format!("-{pgid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("KILL");
    }
}

/// One stream cut into masked lines.
struct Lines {
    stream: Stream,
    masker: Masker,
    line: Vec<u8>,
    /// Dropping the rest of a line that was cut.
    cutting: bool,
}

impl Lines {
    fn new(stream: Stream, masker: &Masker) -> Lines {
        Lines {
            stream,
            masker: masker.clone(),
            line: Vec::new(),
            cutting: false,
        }
    }

    fn push(&mut self, bytes: &[u8], out: &mut dyn FnMut(OutputLine)) {
        for &b in &self.masker.push(bytes) {
            if b == b'\n' {
                if !self.cutting {
                    self.emit(false, out);
                }
                self.cutting = false;
            } else if !self.cutting {
                self.line.push(b);
                if self.line.len() == MAX_LINE {
                    self.emit(true, out);
                    self.cutting = true;
                }
            }
        }
    }

    fn finish(&mut self, out: &mut dyn FnMut(OutputLine)) {
        let rest = self.masker.finish();
        self.push(&rest, out);
        if !self.line.is_empty() {
            self.emit(false, out);
        }
    }

    fn emit(&mut self, cut: bool, out: &mut dyn FnMut(OutputLine)) {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        out(OutputLine {
            stream: self.stream,
            text: String::from_utf8_lossy(&line).into_owned(),
            cut,
        });
    }
}

/// Feeds what one read gave; false once the stream has ended.
fn feed(
    lines: &mut Lines,
    read: std::io::Result<usize>,
    buf: &[u8],
    out: &mut (dyn FnMut(OutputLine) + Send),
) -> Result<bool, ComposeError> {
    match read {
        Ok(0) => {
            lines.finish(out);
            Ok(false)
        }
        Ok(n) => {
            lines.push(&buf[..n], out);
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}

/// A directory removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).expect("the operating system's random source works");
        let dir = std::env::temp_dir().join(format!("berth-compose-{}", hex::encode(id)));
        std::fs::create_dir(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A compose that is a shell script, run as v1 would be.
    fn fake(dir: &Path, body: &str) -> Compose {
        let program = script(dir, "docker-compose", body);
        Compose {
            flavor: Flavor::V1,
            version: "0.0.0".into(),
            program,
            path: "/usr/bin:/bin".into(),
        }
    }

    fn test_project(dir: &Path, env: &[(&str, &str)]) -> Project {
        Project {
            name: ProjectName::parse("shop-1").unwrap(),
            dir: dir.to_path_buf(),
            files: vec!["compose.yaml".into(), "/berth/override.yaml".into()],
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn target() -> Target {
        Target {
            docker_host: "tcp://10.0.0.9:2376".into(),
            tls: Some(TlsFiles("/berth/tls/h1".into())),
        }
    }

    async fn run_collect(
        compose: &Compose,
        project: &Project,
        stop: Stop<impl Future<Output = ()>>,
    ) -> (Result<ExitStatus, ComposeError>, Vec<OutputLine>) {
        let masker = Masker::new(
            project
                .env
                .iter()
                .filter(|(k, _)| k.starts_with("SECRET"))
                .map(|(_, v)| v),
        );
        let mut lines = Vec::new();
        let result = compose
            .run(&target(), project, &["up", "-d"], &mut |l| lines.push(l), &masker, stop)
            .await;
        (result, lines)
    }

    fn never() -> Stop<std::future::Pending<()>> {
        Stop {
            deadline: None,
            cancel: std::future::pending(),
        }
    }

    #[test]
    fn project_names_follow_composes_rule() {
        for good in ["web", "shop-1", "a_b", "9lives"] {
            assert_eq!(ProjectName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "Web", "-x", "_x", "a.b", "a b", "ü"] {
            let e = ProjectName::parse(bad).unwrap_err();
            assert!(e.to_string().contains("lowercase letters"), "{bad}: {e}");
        }
    }

    #[test]
    fn v1_and_v2_messages_say_which_file_and_line() {
        // From Debian's docker-compose 1.29.2 on a mis-indented file.
        let v1 = "yaml.parser.ParserError: while parsing a block mapping\n  in \"./compose.yaml\", line 2, column 3\nexpected <block end>, but found '<block mapping start>'\n  in \"./compose.yaml\", line 4, column 4\n";
        let names = ["compose.yaml".to_string(), "more.yaml".to_string()];
        let e = config_error(v1, &names, Path::new("/tmp/berth-compose-1"));
        assert_eq!((e.file.as_deref(), e.line), (Some("compose.yaml"), Some(4)));
        assert!(e.message.starts_with("yaml.parser.ParserError"), "{}", e.message);
        // Recorded from compose 2.20.2.
        let v2 = "parsing /tmp/berth-compose-1/more.yaml: yaml: line 7: did not find expected key\n";
        let e = config_error(v2, &names, Path::new("/tmp/berth-compose-1"));
        assert_eq!((e.file.as_deref(), e.line), (Some("more.yaml"), Some(7)));
        assert_eq!(
            e.to_string(),
            "more.yaml, line 7: parsing more.yaml: yaml: line 7: did not find expected key"
        );
        // Newer v2 names no file: with one file, it is that one.
        let e = config_error(
            "yaml: line 3: mapping values are not allowed in this context",
            &names[..1],
            Path::new("/x"),
        );
        assert_eq!((e.file.as_deref(), e.line), (Some("compose.yaml"), Some(3)));
    }

    #[tokio::test]
    async fn detect_prefers_the_v2_plugin_and_says_what_to_install_without_either() {
        let dir = tempfile::tempdir().unwrap();
        script(
            dir.path(),
            "docker",
            r#"[ "$1 $2 $3" = "compose version --short" ] && echo 2.29.1 && exit 0; exit 1"#,
        );
        script(dir.path(), "docker-compose", "echo 1.29.2");
        let compose = Compose::detect(Some(dir.path().as_os_str())).await.unwrap();
        assert_eq!(
            (compose.flavor(), compose.describe().as_str()),
            (Flavor::V2, "docker compose 2.29.1")
        );

        let dir = tempfile::tempdir().unwrap();
        script(
            dir.path(),
            "docker",
            "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1",
        );
        let e = Compose::detect(Some(dir.path().as_os_str())).await.unwrap_err();
        assert!(matches!(e, ComposeError::NotInstalled { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("neither `docker compose` (v2) nor `docker-compose` (v1)"),
            "{e}"
        );
        assert!(e.to_string().contains("docker-compose-plugin"), "{e}");
    }

    #[tokio::test]
    async fn runs_with_only_the_chosen_environment_and_streams_masked_lines() {
        let dir = tempfile::tempdir().unwrap();
        let compose = fake(
            dir.path(),
            "echo \"args: $*\"; echo \"pwd: $(pwd)\"; env | sort; echo \"token is $SECRET_TOKEN\" >&2; i=0; while [ $i -lt 9000 ]; do printf 0123456789; i=$((i+1)); done; echo; exit 3",
        );
        let project = test_project(dir.path(), &[("SECRET_TOKEN", "tok-4242-xyz"), ("TAG", "1.2")]);
        let (result, lines) = run_collect(&compose, &project, never()).await;
        assert_eq!(result.unwrap().code(), Some(3), "compose's own status is not an error");
        let stdout: Vec<&str> = lines
            .iter()
            .filter(|l| l.stream == Stream::Stdout)
            .map(|l| l.text.as_str())
            .collect();
        let dir_s = dir.path().display();
        assert_eq!(
            stdout[0],
            format!("args: -p shop-1 --project-directory {dir_s} -f compose.yaml -f /berth/override.yaml up -d")
        );
        assert_eq!(stdout[1], format!("pwd: {dir_s}"));
        for var in [
            "DOCKER_HOST=tcp://10.0.0.9:2376",
            "DOCKER_CERT_PATH=/berth/tls/h1",
            "DOCKER_TLS_VERIFY=1",
            "TAG=1.2",
            "PATH=/usr/bin:/bin",
            "SECRET_TOKEN=[masked]",
        ] {
            assert!(stdout.contains(&var), "{var} missing from {stdout:?}");
        }
        assert!(
            !stdout.iter().any(|l| l.starts_with("CARGO")),
            "the test's environment leaked: {stdout:?}"
        );
        let stderr: Vec<&OutputLine> = lines.iter().filter(|l| l.stream == Stream::Stderr).collect();
        assert_eq!(stderr[0].text, "token is [masked]");
        let long = lines.iter().find(|l| l.cut).expect("the 90,000-byte line is cut");
        assert_eq!(long.text.len(), MAX_LINE);
        assert!(!lines.iter().any(|l| l.text.contains("tok-4242")));
    }

    fn gone(pid: &str) -> bool {
        // Reaped, or a zombie waiting for init: either way not running.
        (0..100).any(|_| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let dead = stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z");
            if !dead {
                std::thread::sleep(Duration::from_millis(50));
            }
            dead
        })
    }

    #[tokio::test]
    async fn cancel_and_deadline_kill_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let compose = fake(dir.path(), "sleep 300 & echo $! > child.pid; echo started; wait");
        let project = test_project(dir.path(), &[]);
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let cancel = async move {
            let _ = rx.wait_for(|c| *c).await;
        };
        let cancelled = tokio::spawn(async move {
            let (result, lines) = run_collect(&compose, &project, Stop { deadline: None, cancel }).await;
            (result, lines)
        });
        while !dir.path().join("child.pid").exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tx.send(true).unwrap();
        let (result, lines) = cancelled.await.unwrap();
        assert!(matches!(result, Err(ComposeError::Cancelled)), "{result:?}");
        assert_eq!(lines[0].text, "started");
        let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
        assert!(gone(pid.trim()), "compose's child {pid} still runs");

        std::fs::remove_file(dir.path().join("child.pid")).unwrap();
        let compose = fake(dir.path(), "sleep 300 & echo $! > child.pid; wait");
        let stop = Stop {
            deadline: Some(Instant::now() + Duration::from_millis(300)),
            cancel: std::future::pending(),
        };
        let (result, _) = run_collect(&compose, &test_project(dir.path(), &[]), stop).await;
        assert!(matches!(result, Err(ComposeError::TimedOut)), "{result:?}");
        assert!(result.unwrap_err().to_string().contains("deadline"));
        let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
        assert!(gone(pid.trim()), "compose's child {pid} still runs");
    }

    #[test]
    fn the_model_reads_v1_yaml_and_v2_json_alike() {
        let v1 = "services:\n  web:\n    build:\n      context: /srv/app\n      dockerfile: ../Dockerfile\n    healthcheck:\n      test: [CMD, 'true']\n    volumes:\n    - /srv/app/data:/data:rw\n    - named:/n:rw\n    - source: /etc\n      target: /host-etc\n      type: bind\n  db:\n    image: postgres:16\n    env_file: /srv/app/db.env\nversion: '3.9'\n";
        let v2 = r#"{"name":"x","services":{"web":{"build":{"context":"/srv/app","dockerfile":"../Dockerfile"},"healthcheck":{"test":["CMD","true"]},"volumes":[{"type":"bind","source":"/srv/app/data","target":"/data"},{"type":"volume","source":"named","target":"/n"},{"type":"bind","source":"/etc","target":"/host-etc"}]},"db":{"image":"postgres:16","env_file":["/srv/app/db.env"]}}}"#;
        let a = ComposeModel::from_config(&serde_norway::from_str(v1).unwrap());
        let b = ComposeModel::from_config(&serde_json::from_str(v2).unwrap());
        assert_eq!(a, b);
        let web = &a.services[1];
        assert_eq!(
            web.build,
            Some(Build {
                context: "/srv/app".into(),
                dockerfile: "/srv/app/../Dockerfile".into()
            })
        );
        assert!(web.healthcheck && !a.services[0].healthcheck);
        assert_eq!(
            web.bind_sources,
            [PathBuf::from("/srv/app/data"), PathBuf::from("/etc")]
        );
        assert_eq!(a.services[0].image.as_deref(), Some("postgres:16"));
        let outside = a.paths_outside(Path::new("/srv/app"));
        assert_eq!(
            outside,
            ["web: dockerfile /srv/app/../Dockerfile", "web: bind mount /etc"]
        );
    }

    #[test]
    fn paths_outside_follows_symlinks_and_dotdot() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
        std::fs::create_dir(root.path().join("app")).unwrap();
        let service = ServiceModel {
            name: "web".into(),
            bind_sources: vec![
                root.path().join("app/../data"),
                root.path().join("escape/data"),
                root.path().join("app/new/../../x"),
            ],
            env_files: vec![root.path().join("app/../../etc.env")],
            ..Default::default()
        };
        let model = ComposeModel {
            services: vec![service],
        };
        let found = model.paths_outside(root.path());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("bind mount") && found[0].contains("escape/data"),
            "{found:?}"
        );
        assert!(found[1].starts_with("web: env_file"), "{found:?}");
    }
}
