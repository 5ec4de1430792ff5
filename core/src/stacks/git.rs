//! Fetching a stack's repository and writing one commit's files out for a
//! deploy, through the `git` command line.
//!
//! Credentials never reach a command line, a URL or a log: a token goes to
//! git as an `http.extraHeader` through the environment, an SSH key as a
//! 0600 file in a private directory removed afterwards, and every message
//! git prints passes through a mask before it becomes an error. Git runs
//! with a clean environment (no user or system config, no prompts, only the
//! http, https, ssh and file transports) and under a timeout.
//!
//! Not here: when to fetch (webhooks, polling), compose, or locking: the
//! caller runs one fetch or checkout per stack at a time.
//!
//! The cache directory of a stack holds `repo.git`, a bare repository kept
//! between deploys, and `known_hosts`, the SSH host keys berth has seen for
//! it (accepted on first use, then pinned).

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tokio::process::Command;

use crate::ErrorKind;

/// The setting that raises [`Limits::max_bytes`], named in the refusal.
const MAX_BYTES_SETTING: &str = "stacks_repo_max_mib";
/// Writing files out of the local repository; no network involved.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the repository's size is measured while a fetch runs.
const SIZE_POLL: Duration = Duration::from_millis(250);
const DEFAULT_TOKEN_USER: &str = "x-access-token";

/// Where a stack's files come from.
#[derive(Clone)]
pub struct Source {
    /// https://, http://, ssh://, `user@host:path`, file:// or an absolute path.
    pub url: String,
    pub branch: String,
    pub credential: Option<Credential>,
}

#[derive(Clone)]
pub enum Credential {
    /// HTTP basic auth; `user` defaults to `x-access-token` (what GitHub,
    /// Gitea and GitLab accept with a token).
    Token { user: Option<String>, token: String },
    /// An OpenSSH private key, without a passphrase.
    SshKey { private_key: String },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("url", &self.url)
            .field("branch", &self.branch)
            .field("credential", &self.credential)
            .finish()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token { user, .. } => f
                .debug_struct("Token")
                .field("user", user)
                .field("token", &"<redacted>")
                .finish(),
            Credential::SshKey { .. } => f.debug_struct("SshKey").field("private_key", &"<redacted>").finish(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most the repository may take on disk; a fetch that passes it
    /// removes the repository.
    pub max_bytes: u64,
    /// For the whole fetch, network included.
    pub timeout: Duration,
}

/// The commit a fetch resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// 40 hex digits.
    pub commit: String,
    /// The first 7 of them.
    pub short: String,
    /// The first line of the commit message.
    pub message: String,
    /// `Name <email>`.
    pub author: String,
    /// When it was committed, in seconds since the Unix epoch.
    pub time: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("the repository URL is not accepted: {0}")]
    InvalidUrl(String),
    #[error("the branch name {name:?} is not accepted: {reason}")]
    InvalidBranch { name: String, reason: &'static str },
    #[error("{0:?} is not a commit id: give the full 40 hex digits, or at least the first 7")]
    InvalidCommit(String),
    #[error("the repository {url} does not exist, or the credentials given cannot see it: check the URL")]
    RepositoryNotFound { url: String },
    #[error(
        "{url} refused the credentials: check the token or key in the stack's credential, and that it may read this repository"
    )]
    CredentialsRefused { url: String },
    #[error("the branch {branch:?} does not exist in {url} (deleted or renamed?)")]
    BranchGone { url: String, branch: String },
    #[error(
        "the commit {commit} is not on the branch {branch:?} and was never deployed: push it to the branch, or pick another"
    )]
    CommitNotOnBranch { commit: String, branch: String },
    #[error("the commit {0} is not in this stack's repository: fetch it first")]
    CommitNotFetched(String),
    #[error("cannot reach the git host of {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error(
        "the SSH host key of {url} differs from the one berth saw before: if the host's key really changed, remove it from {known_hosts}"
    )]
    HostKeyChanged { url: String, known_hosts: PathBuf },
    #[error("git did not finish within {0:?}")]
    TimedOut(Duration),
    #[error(
        "the repository takes {size} bytes on disk, more than the {cap} allowed; it was removed (raise `{setting}` to allow more)"
    )]
    TooLarge { size: u64, cap: u64, setting: &'static str },
    #[error("git failed: {0}")]
    Git(String),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = GitError> = std::result::Result<T, E>;

impl crate::Failure for GitError {
    fn kind(&self) -> ErrorKind {
        match self {
            GitError::InvalidUrl(_)
            | GitError::InvalidBranch { .. }
            | GitError::InvalidCommit(_)
            | GitError::CredentialsRefused { .. }
            | GitError::HostKeyChanged { .. }
            | GitError::TooLarge { .. } => ErrorKind::Invalid,
            GitError::RepositoryNotFound { .. }
            | GitError::BranchGone { .. }
            | GitError::CommitNotOnBranch { .. }
            | GitError::CommitNotFetched(_) => ErrorKind::NotFound,
            GitError::Unreachable { .. } | GitError::TimedOut(_) => ErrorKind::Unavailable,
            GitError::Git(_) | GitError::Io { .. } => ErrorKind::Internal,
        }
    }
}

fn io_error(action: impl Into<String>) -> impl FnOnce(io::Error) -> GitError {
    let action = action.into();
    move |source| GitError::Io { action, source }
}

/// The bare repository inside a stack's cache directory.
pub fn repository(cache: &Path) -> PathBuf {
    cache.join("repo.git")
}

/// Fetches `source.branch` into the stack's cache and resolves its head, or
/// `commit` (a full id or a prefix of at least 7 hex digits, on the branch
/// or deployed before).
///
/// History is fetched in full and never pruned, and every commit returned
/// here is kept under `refs/berth/deployed/<id>`, so a rollback to an
/// earlier deploy still works after the branch was force-pushed past it.
/// A cache that was filled from another URL is started over.
pub async fn fetch(cache: &Path, source: &Source, commit: Option<&str>, limits: &Limits) -> Result<Fetched> {
    validate_url(&source.url)?;
    validate_branch(&source.branch)?;
    let commit = commit.map(validate_commit).transpose()?;
    tokio::fs::create_dir_all(cache)
        .await
        .map_err(io_error(format!("creating {}", cache.display())))?;
    let git = Git::new(cache, source.credential.as_ref(), &source.url).await?;
    match tokio::time::timeout(limits.timeout, fetch_in(&git, cache, source, commit, limits)).await {
        Ok(result) => result,
        Err(_) => Err(GitError::TimedOut(limits.timeout)),
    }
}

async fn fetch_in(
    git: &Git,
    cache: &Path,
    source: &Source,
    commit: Option<String>,
    limits: &Limits,
) -> Result<Fetched> {
    let repo = repository(cache);
    let ctx = Context {
        url: &source.url,
        branch: &source.branch,
        known_hosts: cache.join("known_hosts"),
    };
    let same_url = git
        .run(&repo, ["config", "--get", "berth.url"])
        .await
        .is_ok_and(|url| url.trim_end() == source.url);
    if !same_url {
        remove_dir(&repo).await?;
        let mut init = git.command(None);
        init.args(["init", "--quiet", "--bare", "--template="]).arg(&repo);
        git.output(init).await.map_err(|e| e.into_error(&ctx))?;
        git.run(&repo, ["config", "berth.url", &source.url])
            .await
            .map_err(|e| e.into_error(&ctx))?;
    }

    let refspec = format!("+refs/heads/{0}:refs/heads/{0}", source.branch);
    // A stalled transfer ends itself too: the timeout below kills git, but
    // not its remote helper, which these settings stop.
    let stall = format!("http.lowSpeedTime={}", limits.timeout.as_secs().max(1));
    let mut cmd = git.command(Some(&repo));
    cmd.args(["-c", "http.lowSpeedLimit=1", "-c", &stall])
        .args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"])
        .args(["--no-recurse-submodules", "--update-head-ok", "--"])
        .args([&source.url, &refspec]);
    git.output_capped(cmd, &repo, limits.max_bytes)
        .await
        .map_err(|e| e.into_error(&ctx))?;
    let size = dir_size(repo.clone()).await?;
    if size > limits.max_bytes {
        remove_dir(&repo).await?;
        return Err(too_large(size, limits.max_bytes));
    }

    let branch_ref = format!("refs/heads/{}", source.branch);
    let full = match &commit {
        None => resolve(git, &repo, &branch_ref).await.map_err(|e| e.into_error(&ctx))?,
        Some(prefix) => {
            let full = resolve(git, &repo, prefix)
                .await
                .map_err(|_| not_on_branch(prefix, &ctx))?;
            let on_branch = git
                .run(&repo, ["merge-base", "--is-ancestor", &full, &branch_ref])
                .await
                .is_ok();
            let tag = deployed_ref(&full);
            let deployed = git.run(&repo, ["rev-parse", "--verify", "--quiet", &tag]);
            if !on_branch && deployed.await.is_err() {
                return Err(not_on_branch(&full, &ctx));
            }
            full
        }
    };
    git.run(&repo, ["update-ref", &deployed_ref(&full), &full])
        .await
        .map_err(|e| e.into_error(&ctx))?;
    let log = git
        .run(&repo, ["log", "-1", "--format=%an <%ae>%x00%ct%x00%B", &full])
        .await
        .map_err(|e| e.into_error(&ctx))?;
    let mut parts = log.splitn(3, '\0');
    let author = parts.next().unwrap_or_default().to_owned();
    let time = parts.next().and_then(|t| t.parse().ok()).unwrap_or_default();
    let message = parts.next().and_then(|m| m.lines().next()).unwrap_or_default();
    Ok(Fetched {
        short: full[..7].to_owned(),
        commit: full,
        message: message.to_owned(),
        author,
        time,
    })
}

/// Writes the files of `commit` (already fetched) into `dest`, created if
/// missing; files already there that the commit lacks are left alone, and
/// no `.git` is written. Submodules are not supported: a submodule's
/// directory stays empty.
pub async fn checkout(cache: &Path, commit: &str, dest: &Path) -> Result<()> {
    let commit = validate_commit(commit)?;
    let repo = repository(cache);
    if !tokio::fs::try_exists(&repo).await.unwrap_or(false) {
        return Err(GitError::CommitNotFetched(commit));
    }
    let git = Git::new(cache, None, "").await?;
    let full = resolve(&git, &repo, &commit)
        .await
        .map_err(|_| GitError::CommitNotFetched(commit.clone()))?;
    tokio::fs::create_dir_all(dest)
        .await
        .map_err(io_error(format!("creating {}", dest.display())))?;
    let mut cmd = git.command(Some(&repo));
    cmd.env("GIT_INDEX_FILE", git.home.path.join("index"))
        .arg("--work-tree")
        .arg(dest)
        .args(["checkout", "--quiet", "--force", &full, "--", "."]);
    match tokio::time::timeout(CHECKOUT_TIMEOUT, git.output(cmd)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(Failed::Stderr(stderr))) => Err(GitError::Git(last_lines(&stderr))),
        Ok(Err(Failed::Error(e))) => Err(e),
        Err(_) => Err(GitError::TimedOut(CHECKOUT_TIMEOUT)),
    }
}

async fn resolve(git: &Git, repo: &Path, rev: &str) -> Result<String, Failed> {
    let out = git
        .run(repo, ["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .await?;
    Ok(out.trim().to_owned())
}

fn deployed_ref(commit: &str) -> String {
    format!("refs/berth/deployed/{commit}")
}

fn not_on_branch(commit: &str, ctx: &Context) -> GitError {
    GitError::CommitNotOnBranch {
        commit: commit.to_owned(),
        branch: ctx.branch.to_owned(),
    }
}

fn too_large(size: u64, cap: u64) -> GitError {
    GitError::TooLarge {
        size,
        cap,
        setting: MAX_BYTES_SETTING,
    }
}

/// What a failed git run is about, to put its stderr into words.
struct Context<'a> {
    url: &'a str,
    branch: &'a str,
    known_hosts: PathBuf,
}

/// A git run that failed: its (masked) stderr, or berth's own error.
#[derive(Debug)]
enum Failed {
    Stderr(String),
    Error(GitError),
}

impl Failed {
    fn into_error(self, ctx: &Context) -> GitError {
        match self {
            Failed::Stderr(stderr) => classify(&stderr, ctx),
            Failed::Error(e) => e,
        }
    }
}

/// Puts git's stderr into words. `stderr` is already masked.
fn classify(stderr: &str, ctx: &Context) -> GitError {
    let lower = stderr.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let url = ctx.url.to_owned();
    if has(&["host key verification failed", "remote host identification has changed"]) {
        GitError::HostKeyChanged {
            url,
            known_hosts: ctx.known_hosts.clone(),
        }
    } else if has(&[
        "authentication failed",
        "permission denied (publickey",
        "returned error: 401",
        "returned error: 403",
        "could not read username",
        "could not read password",
        "invalid username or password",
        "access denied",
    ]) {
        GitError::CredentialsRefused { url }
    } else if has(&["couldn't find remote ref"]) {
        GitError::BranchGone {
            url,
            branch: ctx.branch.to_owned(),
        }
    } else if has(&[
        "not found",
        "does not appear to be a git repository",
        "does not exist",
        "returned error: 404",
    ]) {
        GitError::RepositoryNotFound { url }
    } else if has(&[
        "could not resolve host",
        "could not resolve hostname",
        "failed to connect",
        "couldn't connect",
        "connection refused",
        "connection timed out",
        "no route to host",
        "network is unreachable",
        "connection reset",
        "ssl certificate problem",
        "could not read from remote repository",
    ]) {
        GitError::Unreachable {
            url,
            detail: last_lines(stderr),
        }
    } else {
        GitError::Git(last_lines(stderr))
    }
}

/// The last few lines git printed, where it says what went wrong, without
/// the advice it adds to every failed connection.
fn last_lines(stderr: &str) -> String {
    const BOILERPLATE: [&str; 2] = [
        "Please make sure you have the correct access rights",
        "and the repository exists.",
    ];
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !BOILERPLATE.contains(l))
        .collect();
    let text = lines[lines.len().saturating_sub(3)..].join(" / ");
    if text.is_empty() {
        "git exited without saying why".to_owned()
    } else {
        text
    }
}

/// Replaces every secret (a token, its Basic header) in git's output.
#[derive(Default)]
struct Mask(Vec<String>);

impl Mask {
    fn apply(&self, text: &str) -> String {
        self.0
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text.to_owned(), |text, secret| {
                text.replace(secret.as_str(), "********")
            })
    }
}

/// One git invocation's environment: clean, with the credential and a
/// private HOME, removed when dropped.
struct Git {
    env: Vec<(&'static str, OsString)>,
    mask: Mask,
    home: TempDir,
}

impl Git {
    async fn new(cache: &Path, credential: Option<&Credential>, url: &str) -> Result<Git> {
        let home = TempDir::new(cache).await?;
        let mut env: Vec<(&'static str, OsString)> = vec![
            ("HOME", home.path.clone().into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
            ("GIT_TERMINAL_PROMPT", "0".into()),
            ("GIT_ALLOW_PROTOCOL", "http:https:ssh:file".into()),
            ("LC_ALL", "C".into()),
        ];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH", path));
        }
        let mut mask = Mask::default();
        let mut ssh = format!(
            "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 \
             -o StrictHostKeyChecking=accept-new -o {}",
            shell_quote(&format!("UserKnownHostsFile={}", ssh_quote(&cache.join("known_hosts"))))
        );
        match credential {
            Some(Credential::Token { user, token }) => {
                let user = user.as_deref().unwrap_or(DEFAULT_TOKEN_USER);
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
                env.push(("GIT_CONFIG_COUNT", "1".into()));
                env.push(("GIT_CONFIG_KEY_0", "http.extraHeader".into()));
                env.push(("GIT_CONFIG_VALUE_0", format!("Authorization: Basic {basic}").into()));
                mask.0 = vec![token.clone(), basic];
            }
            Some(Credential::SshKey { private_key }) => {
                let key = home.path.join("key");
                let mut text = private_key.trim_end().to_owned();
                text.push('\n');
                write_private(&key, text.as_bytes()).await?;
                let key = key.display().to_string().replace('%', "%%");
                ssh = format!("{ssh} -o IdentitiesOnly=yes -i {}", shell_quote(&key));
            }
            None => {}
        }
        if url.starts_with("ssh://") || is_scp_like(url) {
            env.push(("GIT_SSH_COMMAND", ssh.into()));
        }
        Ok(Git { env, mask, home })
    }

    fn command(&self, repo: Option<&Path>) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.home.path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .args(["-c", "protocol.file.allow=always", "-c", "core.hooksPath=/dev/null"]);
        if let Some(repo) = repo {
            cmd.arg("--git-dir").arg(repo);
        }
        cmd
    }

    async fn run<const N: usize>(&self, repo: &Path, args: [&str; N]) -> Result<String, Failed> {
        let mut cmd = self.command(Some(repo));
        cmd.args(args);
        self.output(cmd).await
    }

    async fn output(&self, mut cmd: Command) -> Result<String, Failed> {
        let child = cmd.spawn().map_err(|e| Failed::Error(spawn_error(e)))?;
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| Failed::Error(io_error("waiting for git")(e)))?;
        self.finish(out)
    }

    /// Like `output`, but stops git and removes `repo` once it grows past `cap`.
    async fn output_capped(&self, mut cmd: Command, repo: &Path, cap: u64) -> Result<String, Failed> {
        let child = cmd.spawn().map_err(|e| Failed::Error(spawn_error(e)))?;
        // Boxed, so that dropping it drops the child, which kills git.
        let mut wait = Box::pin(child.wait_with_output());
        let mut tick = tokio::time::interval(SIZE_POLL);
        loop {
            tokio::select! {
                out = &mut wait => {
                    let out = out.map_err(|e| Failed::Error(io_error("waiting for git")(e)))?;
                    return self.finish(out);
                }
                _ = tick.tick() => {
                    let size = dir_size(repo.to_owned()).await.map_err(Failed::Error)?;
                    if size > cap {
                        drop(wait);
                        remove_dir(repo).await.map_err(Failed::Error)?;
                        return Err(Failed::Error(too_large(size, cap)));
                    }
                }
            }
        }
    }

    fn finish(&self, out: std::process::Output) -> Result<String, Failed> {
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Failed::Stderr(self.mask.apply(&String::from_utf8_lossy(&out.stderr))))
        }
    }
}

fn spawn_error(e: io::Error) -> GitError {
    GitError::Io {
        action: "running git (is it installed and on PATH?)".to_owned(),
        source: e,
    }
}

/// One word for the shell that runs `GIT_SSH_COMMAND`.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A path as an `ssh -o` value: ssh splits option values on spaces, reads
/// quotes and backslashes, and expands `%` tokens.
fn ssh_quote(path: &Path) -> String {
    let mut quoted = String::from('"');
    for c in path.display().to_string().chars() {
        match c {
            '\\' | '"' | '\'' => quoted.extend(['\\', c]),
            '%' => quoted.push_str("%%"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

async fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .await
        .map_err(io_error("writing the SSH key"))?;
    file.write_all(contents)
        .await
        .map_err(io_error("writing the SSH key"))?;
    file.flush().await.map_err(io_error("writing the SSH key"))
}

/// A private (0700) directory in the cache, removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    async fn new(cache: &Path) -> Result<TempDir> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).expect("the operating system's random source works");
        let path = cache.join(format!(".tmp-{}", hex::encode(id)));
        let mut builder = tokio::fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder
            .create(&path)
            .await
            .map_err(io_error(format!("creating {}", path.display())))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

async fn remove_dir(path: &Path) -> Result<()> {
    match tokio::fs::remove_dir_all(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(format!("removing {}", path.display()))(e)),
        _ => Ok(()),
    }
}

/// Bytes taken by the files under `path` (0 if it does not exist).
async fn dir_size(path: PathBuf) -> Result<u64> {
    fn walk(path: &Path) -> io::Result<u64> {
        let mut total = 0;
        for entry in std::fs::read_dir(path)? {
            let Ok(entry) = entry else { continue };
            // Files come and go while git runs: what vanished takes no room.
            let Ok(meta) = entry.metadata() else { continue };
            total += if meta.is_dir() {
                walk(&entry.path()).unwrap_or(0)
            } else {
                meta.len()
            };
        }
        Ok(total)
    }
    tokio::task::spawn_blocking(move || match walk(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        other => other,
    })
    .await
    .expect("measuring a directory does not panic")
    .map_err(io_error("measuring the repository"))
}

fn invalid(reason: &str) -> GitError {
    GitError::InvalidUrl(reason.to_owned())
}

/// Accepts https://, http://, ssh://, `user@host:path`, file:// and absolute
/// paths, without credentials in them.
pub fn validate_url(url: &str) -> Result<()> {
    if url.is_empty() {
        return Err(invalid("it is empty"));
    }
    if url.starts_with('-') {
        return Err(invalid("it may not start with '-'"));
    }
    if url.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    if url.starts_with('/') {
        return Ok(());
    }
    if url.contains("::") {
        return Err(invalid(
            "git transport helpers (like ext::) are not allowed; use https://, ssh:// or user@host:path",
        ));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(invalid("it contains spaces (percent-encode them as %20)"));
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        return match scheme.to_ascii_lowercase().as_str() {
            "file" if authority.is_empty() => Ok(()),
            "file" => Err(invalid("a file:// URL names a local path, as file:///path")),
            "https" | "http" if authority.contains('@') => Err(invalid(
                "it contains credentials; put the token in the stack's credential instead",
            )),
            "ssh" if authority.split('@').next().is_some_and(|user| user.contains(':')) && authority.contains('@') => {
                Err(invalid(
                    "it contains a password; use an SSH key in the stack's credential instead",
                ))
            }
            "https" | "http" | "ssh" => check_host(authority.rsplit('@').next().unwrap_or(""), path),
            other => Err(invalid(&format!(
                "the scheme {other}:// is not supported; use https://, http://, ssh://, user@host:path or file://"
            ))),
        };
    }
    if is_scp_like(url) {
        let (host, path) = url.split_once(':').unwrap_or((url, ""));
        return check_host(host.rsplit('@').next().unwrap_or(""), path);
    }
    Err(invalid(
        "use https://host/path, http://host/path, ssh://host/path, user@host:path, file:///path or an absolute path",
    ))
}

fn check_host(host: &str, path: &str) -> Result<()> {
    if host.is_empty() || host.starts_with(['-', ':']) {
        return Err(invalid("it names no host, or a host starting with '-'"));
    }
    if path.is_empty() {
        return Err(invalid("it names no repository path after the host"));
    }
    Ok(())
}

/// `[user@]host:path`: a colon before any slash, as git reads it.
fn is_scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(colon), slash) => !url.contains("://") && slash.is_none_or(|s| colon < s),
        _ => false,
    }
}

/// The rules of `git check-ref-format --branch`, written out.
pub fn validate_branch(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 255 {
        Some("it is longer than 255 bytes")
    } else if name.starts_with('-') {
        Some("it may not start with '-'")
    } else if name == "HEAD" || name == "@" {
        Some("it names no branch")
    } else if name.contains("..") || name.contains("@{") || name.contains("//") {
        Some("it may not contain '..', '@{' or '//'")
    } else if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
    {
        Some("it may not contain spaces, control characters or any of ~ ^ : ? * [ \\")
    } else if name.starts_with('/') || name.ends_with('/') || name.ends_with('.') {
        Some("it may not start or end with '/' or end with '.'")
    } else if name
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        Some("no part of it may start with '.' or end with '.lock'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(GitError::InvalidBranch {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A full commit id or a prefix of at least 7 hex digits, lowercased.
fn validate_commit(commit: &str) -> Result<String> {
    if (7..=40).contains(&commit.len()) && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(commit.to_ascii_lowercase())
    } else {
        Err(GitError::InvalidCommit(commit.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_that_git_may_fetch() {
        for url in [
            "https://github.com/acme/app.git",
            "http://127.0.0.1:8080/app.git",
            "ssh://git@github.com/acme/app.git",
            "ssh://github.com:2222/acme/app.git",
            "git@github.com:acme/app.git",
            "host:app.git",
            "file:///srv/git/app.git",
            "/srv/git/app.git",
        ] {
            assert!(validate_url(url).is_ok(), "{url} refused");
        }
    }

    fn refusal(url: &str) -> String {
        match validate_url(url) {
            Err(GitError::InvalidUrl(reason)) => reason,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn urls_refused_with_a_reason() {
        assert!(refusal("https://me:hunter2@github.com/a/b").contains("credential"));
        assert!(refusal("https://me@github.com/a/b").contains("credential"));
        assert!(refusal("ssh://me:hunter2@github.com/a/b").contains("password"));
        assert!(refusal("-uhttps://x/y").contains("'-'"));
        assert!(refusal("--upload-pack=touch /tmp/x").contains("'-'"));
        assert!(refusal("ext::sh -c touch% /tmp/pwned").contains("ext::"));
        assert!(refusal("fd::17").contains("helpers"));
        assert!(refusal("git://github.com/a/b").contains("not supported"));
        assert!(refusal("ftp://host/a").contains("not supported"));
        assert!(refusal("file://host/srv/a").contains("file:///path"));
        assert!(refusal("ssh://-oProxyCommand=x/a").contains("'-'"));
        assert!(refusal("-oProxyCommand=x:a").contains("'-'"));
        assert!(refusal("https://github.com").contains("path"));
        assert!(refusal("relative/path").contains("absolute"));
        assert!(refusal("https://host/a\nb").contains("control"));
        assert!(refusal("https://host/a b").contains("spaces"));
        assert!(refusal("").contains("empty"));
    }

    #[test]
    fn branch_names_as_check_ref_format() {
        for ok in ["main", "release/1.2", "feature/x-y_z", "v1.0", "a.b/c"] {
            assert!(validate_branch(ok).is_ok(), "{ok} refused");
        }
        for bad in [
            "",
            "-main",
            "a..b",
            "a b",
            "a\tb",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "/a",
            "a/",
            "a//b",
            "a.",
            ".a",
            "a/.b",
            "a.lock",
            "a/b.lock/c",
            "a@{1}",
            "@",
            "HEAD",
            "a\u{7f}",
        ] {
            assert!(
                matches!(validate_branch(bad), Err(GitError::InvalidBranch { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn commit_ids() {
        assert_eq!(validate_commit("ABCDEF1").unwrap(), "abcdef1");
        assert!(validate_commit(&"a".repeat(40)).is_ok());
        for bad in ["abcdef", "-abcdef1", "abcdefg", "HEAD~1", &"a".repeat(41)] {
            assert!(validate_commit(bad).is_err(), "{bad} accepted");
        }
    }

    fn classified(stderr: &str) -> GitError {
        let ctx = Context {
            url: "https://git.example/app.git",
            branch: "main",
            known_hosts: PathBuf::from("/cache/known_hosts"),
        };
        classify(stderr, &ctx)
    }

    #[test]
    fn stderr_in_words() {
        use GitError::*;
        type Check = fn(&GitError) -> bool;
        let cases: &[(&str, Check)] = &[
            (
                "remote: Invalid username or password.\nfatal: Authentication failed for 'https://git.example/app.git/'",
                |e| matches!(e, CredentialsRefused { .. }),
            ),
            (
                "fatal: unable to access 'https://git.example/app.git/': The requested URL returned error: 403",
                |e| matches!(e, CredentialsRefused { .. }),
            ),
            (
                "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
                |e| matches!(e, CredentialsRefused { .. }),
            ),
            (
                "fatal: could not read Username for 'https://git.example': terminal prompts disabled",
                |e| matches!(e, CredentialsRefused { .. }),
            ),
            (
                "remote: Repository not found.\nfatal: repository 'https://git.example/app.git/' not found",
                |e| matches!(e, RepositoryNotFound { .. }),
            ),
            ("fatal: '/srv/app.git' does not appear to be a git repository", |e| {
                matches!(e, RepositoryNotFound { .. })
            }),
            (
                "fatal: couldn't find remote ref refs/heads/main",
                |e| matches!(e, BranchGone { branch, .. } if branch == "main"),
            ),
            (
                "fatal: unable to access 'https://git.example/': Could not resolve host: git.example",
                |e| matches!(e, Unreachable { .. }),
            ),
            (
                "fatal: unable to access 'http://127.0.0.1:9/': Failed to connect to 127.0.0.1 port 9",
                |e| matches!(e, Unreachable { .. }),
            ),
            (
                "ssh: connect to host git.example port 22: Connection refused\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
                |e| matches!(e, Unreachable { detail, .. } if detail.starts_with("ssh: connect to host git.example port 22: Connection refused")),
            ),
            (
                "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.",
                |e| matches!(e, HostKeyChanged { .. }),
            ),
            (
                "error: something odd\nfatal: the end",
                |e| matches!(e, Git(text) if text == "error: something odd / fatal: the end"),
            ),
        ];
        for (stderr, expected) in cases {
            let error = classified(stderr);
            assert!(expected(&error), "{stderr:?} -> {error:?}");
        }
    }

    #[test]
    fn secrets_masked_and_redacted() {
        let mask = Mask(vec!["s3cret".into(), "eC1hY2Nlc3M=".into()]);
        let text = mask.apply("Authorization: Basic eC1hY2Nlc3M= token s3cret");
        assert_eq!(text, "Authorization: Basic ******** token ********");
        let source = Source {
            url: "https://git.example/app.git".into(),
            branch: "main".into(),
            credential: Some(Credential::Token {
                user: None,
                token: "s3cret".into(),
            }),
        };
        let key = Credential::SshKey {
            private_key: "-----BEGIN OPENSSH PRIVATE KEY-----".into(),
        };
        let shown = format!("{source:?} {key:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("BEGIN"), "{shown}");
    }
}
