//! A git server over HTTP for tests: `git http-backend` run as CGI behind a
//! small HTTP/1.1 loop on 127.0.0.1, port 0, with basic auth; plus helpers
//! that make bare repositories and commit files to them.
//!
//! One request per connection (`Connection: close`); request bodies with
//! `Content-Length` or `Transfer-Encoding: chunked`. Fetches and pushes
//! both work. Include it with `#[path = ".../support/git_http.rs"] mod git_http;`.

#![allow(dead_code)] // Each test binary uses its own part of it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::task::JoinHandle;

/// The identity of every test commit.
const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "Test Author"),
    ("GIT_AUTHOR_EMAIL", "author@example.test"),
    ("GIT_COMMITTER_NAME", "Test Author"),
    ("GIT_COMMITTER_EMAIL", "author@example.test"),
];

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    pub status: u16,
}

pub struct GitServer {
    port: u16,
    root: PathBuf,
    user: String,
    password: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

struct Shared {
    root: PathBuf,
    backend: PathBuf,
    expected: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl GitServer {
    /// Serves the bare repositories under `root`, to `user`:`password` only.
    pub async fn start(root: &Path, user: &str, password: &str) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let shared = Arc::new(Shared {
            root: root.to_owned(),
            backend: backend().await,
            expected: format!("Basic {basic}"),
            seen: seen.clone(),
        });
        // Aborting the loop drops its JoinSet, which aborts every connection,
        // whose CGI child is killed on drop.
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let shared = shared.clone();
                        connections.spawn(async move {
                            if let Err(e) = serve(stream, &shared).await {
                                eprintln!("git_http: {e}");
                            }
                        });
                    }
                    Some(_) = connections.join_next() => {}
                }
            }
        });
        GitServer {
            port,
            root: root.to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            seen,
            task,
        }
    }

    /// The URL of `repo` (a directory name under the root, e.g. `app.git`).
    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.port)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every request answered so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Commits `files` on `branch` of `repo` through this server: a clone
    /// over HTTP, a commit, a push over HTTP (receive-pack). The commit id.
    pub async fn push_files(&self, repo: &str, branch: &str, files: &[(&str, &str)], message: &str) -> String {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password));
        let auth = [
            ("GIT_CONFIG_COUNT", "1".to_owned()),
            ("GIT_CONFIG_KEY_0", "http.extraHeader".to_owned()),
            ("GIT_CONFIG_VALUE_0", format!("Authorization: Basic {basic}")),
        ];
        commit_via(&self.url(repo), &auth, branch, files, message).await
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Makes an empty bare repository `root/name` that accepts pushes over HTTP.
pub async fn create_repo(root: &Path, name: &str) -> PathBuf {
    let path = root.join(name);
    git(
        root,
        &[],
        &["init", "--quiet", "--bare", "--initial-branch=main"],
        Some(&path),
    )
    .await;
    git(&path, &[], &["config", "http.receivepack", "true"], None).await;
    path
}

/// Commits `files` (path, contents) on `branch` of the bare repository
/// `repo`, from a scratch working copy; the branch is made if missing.
/// Returns the commit id.
pub async fn commit_files(repo: &Path, branch: &str, files: &[(&str, &str)], message: &str) -> String {
    commit_via(repo.to_str().expect("a UTF-8 path"), &[], branch, files, message).await
}

/// Deletes `branch` from the bare repository `repo`.
pub async fn delete_branch(repo: &Path, branch: &str) {
    let name = format!("refs/heads/{branch}");
    git(repo, &[], &["update-ref", "-d", &name], None).await;
}

async fn commit_via(
    remote: &str,
    env: &[(&str, String)],
    branch: &str,
    files: &[(&str, &str)],
    message: &str,
) -> String {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let work = scratch.path();
    git(work, env, &["init", "--quiet"], None).await;
    let fetch = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
    let exists = try_git(work, env, &["fetch", "--quiet", remote, &fetch]).await.is_ok();
    if exists {
        let start = format!("origin/{branch}");
        git(work, env, &["checkout", "--quiet", "-B", branch, &start], None).await;
    } else {
        git(work, env, &["checkout", "--quiet", "-b", branch], None).await;
    }
    for (path, contents) in files {
        let path = work.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    git(work, env, &["add", "--all"], None).await;
    git(work, env, &["commit", "--quiet", "--allow-empty", "-m", message], None).await;
    let push = format!("HEAD:refs/heads/{branch}");
    git(work, env, &["push", "--quiet", remote, &push], None).await;
    git(work, env, &["rev-parse", "HEAD"], None).await.trim().to_owned()
}

/// Runs git in `dir` (with `target` appended as the last argument), panics
/// with its stderr on failure, returns its stdout.
async fn git(dir: &Path, env: &[(&str, String)], args: &[&str], target: Option<&Path>) -> String {
    let mut all: Vec<&str> = args.to_vec();
    let target = target.map(|t| t.to_str().expect("a UTF-8 path").to_owned());
    if let Some(target) = &target {
        all.push(target);
    }
    match try_git(dir, env, &all).await {
        Ok(out) => out,
        Err(stderr) => panic!("git {all:?} in {}: {stderr}", dir.display()),
    }
}

async fn try_git(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .envs(IDENTITY)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .await
        .expect("git runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `git-http-backend`, from `git --exec-path`.
async fn backend() -> PathBuf {
    let out = Command::new("git").arg("--exec-path").output().await.expect("git runs");
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("git-http-backend");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let request = read_request(&mut stream).await?;
    let authorization = request.header("authorization").map(str::to_owned);
    let (status, head, body) = if authorization.as_deref() != Some(shared.expected.as_str()) {
        let head = "WWW-Authenticate: Basic realm=\"git\"\r\nContent-Type: text/plain\r\n";
        (401, head.to_owned(), b"authentication required\n".to_vec())
    } else {
        cgi(&request, shared).await?
    };
    shared.seen.lock().unwrap().push(Seen {
        method: request.method.clone(),
        target: request.target.clone(),
        authorization,
        chunked: request.header("transfer-encoding").is_some(),
        status,
    });
    let reply = format!(
        "HTTP/1.1 {status} {}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let stream = stream.get_mut();
    stream.write_all(reply.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

async fn read_request(stream: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(bad("no request line"));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Err(bad("the headers end early"));
        }
        let text = line.trim_end();
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':').ok_or_else(|| bad("a header without ':'"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        stream.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16).map_err(|_| bad("a bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    line.clear();
                    if stream.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = request.body.len();
            request.body.resize(start + size, 0);
            stream.read_exact(&mut request.body[start..]).await?;
            line.clear();
            stream.read_line(&mut line).await?; // the chunk's CRLF
        }
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().map_err(|_| bad("a bad Content-Length"))?;
        request.body.resize(length, 0);
        stream.read_exact(&mut request.body).await?;
    }
    Ok(request)
}

/// Runs `git http-backend` for the request: (status, header lines, body).
async fn cgi(request: &Request, shared: &Shared) -> std::io::Result<(u16, String, Vec<u8>)> {
    let (path, query) = request.target.split_once('?').unwrap_or((&request.target, ""));
    let mut cmd = Command::new(&shared.backend);
    cmd.env_clear()
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", request.header("content-type").unwrap_or(""))
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_USER", "tester")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    if let Some(protocol) = request.header("git-protocol") {
        cmd.env("HTTP_GIT_PROTOCOL", protocol);
    }
    if let Some(encoding) = request.header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let body = request.body.clone();
    let feed = async move {
        let _ = stdin.write_all(&body).await;
        drop(stdin);
    };
    let (_, out) = tokio::join!(feed, child.wait_with_output());
    let out = out?;
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.stdout.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, gap)) = split else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Ok((500, String::new(), format!("http-backend: {stderr}").into_bytes()));
    };
    let mut status = 200;
    let mut head = String::new();
    for line in String::from_utf8_lossy(&out.stdout[..end]).lines() {
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => {
                status = value
                    .trim()
                    .split(' ')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(500);
            }
            Some(_) => {
                head.push_str(line.trim_end());
                head.push_str("\r\n");
            }
            None => {}
        }
    }
    Ok((status, head, out.stdout[end + gap..].to_vec()))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    }
}
