//! `stacks::git` against real git and a real HTTP git server on 127.0.0.1.

#[path = "support/git_http.rs"]
mod git_http;

use std::path::Path;
use std::time::Duration;

use berth_core::stacks::git::{self, Credential, GitError, Limits, Source};
use git_http::GitServer;

const USER: &str = "deployer";
const TOKEN: &str = "tok-3f9a1c77e2d54b08";

const LIMITS: Limits = Limits {
    max_bytes: 64 << 20,
    timeout: Duration::from_secs(60),
};

struct Fixture {
    dir: tempfile::TempDir,
    server: GitServer,
}

impl Fixture {
    /// A server with `app.git`, whose `main` holds one commit.
    async fn new() -> (Fixture, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("served");
        std::fs::create_dir(&root).unwrap();
        let repo = git_http::create_repo(&root, "app.git").await;
        let files = [
            ("compose.yaml", "services:\n  web:\n    image: nginx\n"),
            ("conf/site.conf", "listen 80;\n"),
        ];
        let first = git_http::commit_files(&repo, "main", &files, "First deploy\n\nWith a body.").await;
        let server = GitServer::start(&root, USER, TOKEN).await;
        (Fixture { dir, server }, first)
    }

    fn source(&self, repo: &str, branch: &str, token: &str) -> Source {
        Source {
            url: self.server.url(repo),
            branch: branch.to_owned(),
            credential: Some(Credential::Token {
                user: Some(USER.to_owned()),
                token: token.to_owned(),
            }),
        }
    }

    fn cache(&self) -> std::path::PathBuf {
        self.dir.path().join("cache/stack-1")
    }

    fn repo(&self) -> std::path::PathBuf {
        self.server.root().join("app.git")
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn fetch_checkout_and_roll_back() {
    let (fx, first) = Fixture::new().await;
    let source = fx.source("app.git", "main", TOKEN);

    let fetched = git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap();
    assert_eq!(fetched.commit, first);
    assert_eq!(fetched.short, first[..7]);
    assert_eq!(fetched.message, "First deploy");
    assert_eq!(fetched.author, "Test Author <author@example.test>");
    assert!(fetched.time > 1_600_000_000, "{}", fetched.time);

    let out = fx.dir.path().join("out-1");
    git::checkout(&fx.cache(), &fetched.commit, &out).await.unwrap();
    assert_eq!(read(&out.join("compose.yaml")), "services:\n  web:\n    image: nginx\n");
    assert_eq!(read(&out.join("conf/site.conf")), "listen 80;\n");
    assert!(!out.join(".git").exists());

    // A second commit, pushed over HTTP.
    let files = [("compose.yaml", "services:\n  web:\n    image: caddy\n")];
    let second = fx.server.push_files("app.git", "main", &files, "Switch to caddy").await;
    assert!(fx.server.seen().iter().any(|s| s.target.contains("git-receive-pack")));
    let fetched = git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap();
    assert_eq!(fetched.commit, second);
    assert_eq!(fetched.message, "Switch to caddy");
    let out = fx.dir.path().join("out-2");
    git::checkout(&fx.cache(), &second, &out).await.unwrap();
    assert!(read(&out.join("compose.yaml")).contains("caddy"));

    // Rollback: the first commit, by a short prefix, fetched and checked out.
    let again = git::fetch(&fx.cache(), &source, Some(&first[..8]), &LIMITS)
        .await
        .unwrap();
    assert_eq!(again.commit, first);
    let out = fx.dir.path().join("out-3");
    git::checkout(&fx.cache(), &first, &out).await.unwrap();
    assert!(read(&out.join("compose.yaml")).contains("nginx"));

    // The token went in a header, never in a URL.
    let seen = fx.server.seen();
    assert!(seen.iter().all(|s| !s.target.contains(TOKEN)));
    assert!(seen.iter().any(|s| s.authorization.is_some() && s.status == 200));
    // Nothing of berth's private directories is left behind.
    let left: Vec<_> = std::fs::read_dir(fx.cache())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().starts_with(".tmp")),
        "{left:?}"
    );
}

#[tokio::test]
async fn a_commit_off_the_branch_is_refused() {
    let (fx, _) = Fixture::new().await;
    let other = git_http::commit_files(&fx.repo(), "other", &[("x", "y")], "elsewhere").await;
    let source = fx.source("app.git", "main", TOKEN);
    // `other` is never fetched: only `main` is.
    let error = git::fetch(&fx.cache(), &source, Some(&other), &LIMITS)
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::CommitNotOnBranch { .. }), "{error:?}");
    let error = git::checkout(&fx.cache(), &other, &fx.dir.path().join("out"))
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::CommitNotFetched(_)), "{error:?}");
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_never_shown() {
    let (fx, _) = Fixture::new().await;
    let wrong = "wrong-7c1e0f5d9ab2";
    let source = fx.source("app.git", "main", wrong);
    let error = git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap_err();
    assert!(matches!(error, GitError::CredentialsRefused { .. }), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(TOKEN), "{text}");
    // The server saw the wrong header, and turned it away.
    assert!(fx.server.seen().iter().all(|s| s.status == 401));
}

#[tokio::test]
async fn a_missing_repository_is_named() {
    let (fx, _) = Fixture::new().await;
    let source = fx.source("nothing-here.git", "main", TOKEN);
    let error = git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap_err();
    assert!(matches!(error, GitError::RepositoryNotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("does not exist"), "{error}");
}

#[tokio::test]
async fn a_deleted_branch_is_named() {
    let (fx, _) = Fixture::new().await;
    let _ = git_http::commit_files(&fx.repo(), "feature", &[("f", "1")], "feature").await;
    let source = fx.source("app.git", "feature", TOKEN);
    git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap();
    git_http::delete_branch(&fx.repo(), "feature").await;

    let error = git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap_err();
    assert!(
        matches!(&error, GitError::BranchGone { branch, .. } if branch == "feature"),
        "{error:?}"
    );
    let unknown = fx.source("app.git", "never-was", TOKEN);
    let error = git::fetch(&fx.cache(), &unknown, None, &LIMITS).await.unwrap_err();
    assert!(matches!(error, GitError::BranchGone { .. }), "{error:?}");
}

#[tokio::test]
async fn a_repository_over_the_cap_is_removed() {
    let (fx, _) = Fixture::new().await;
    // Random letters, pushed over HTTP: a pack over git's 1 MiB post
    // buffer, so the push comes chunked.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: String = (0..2_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    let files = [("noise.txt", noise.as_str())];
    let _ = fx.server.push_files("app.git", "main", &files, "noise").await;
    assert!(fx.server.seen().iter().any(|s| s.chunked && s.status == 200));
    let source = fx.source("app.git", "main", TOKEN);
    let limits = Limits {
        max_bytes: 20_000,
        ..LIMITS
    };
    let error = git::fetch(&fx.cache(), &source, None, &limits).await.unwrap_err();
    let GitError::TooLarge { size, cap, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(*size > 20_000 && *cap == 20_000, "{error:?}");
    assert!(error.to_string().contains("stacks_repo_max_mib"), "{error}");
    assert!(!git::repository(&fx.cache()).exists());
}

#[tokio::test]
async fn bad_urls_are_refused_before_git_runs() {
    let (fx, _) = Fixture::new().await;
    let embedded = fx
        .server
        .url("app.git")
        .replace("http://", &format!("http://{USER}:{TOKEN}@"));
    for (url, words) in [
        (embedded.as_str(), "put the token in the stack's credential"),
        ("-uhttp://127.0.0.1/app.git", "may not start with '-'"),
        ("--upload-pack=touch /tmp/berth-pwned", "may not start with '-'"),
        ("ext::sh -c touch% /tmp/berth-pwned", "ext::"),
    ] {
        let mut source = fx.source("app.git", "main", TOKEN);
        source.url = url.to_owned();
        let error = git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap_err();
        assert!(matches!(error, GitError::InvalidUrl(_)), "{url}: {error:?}");
        assert!(error.to_string().contains(words), "{url}: {error}");
        assert!(!error.to_string().contains(TOKEN), "{error}");
    }
    assert!(fx.server.seen().is_empty(), "git talked to the server");
    assert!(!fx.cache().exists(), "the cache was touched");
    assert!(!Path::new("/tmp/berth-pwned").exists());
}

#[tokio::test]
async fn a_host_that_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    // Connections complete in the kernel's backlog; nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let source = Source {
        url: format!("http://{}/app.git", silent.local_addr().unwrap()),
        branch: "main".to_owned(),
        credential: None,
    };
    let limits = Limits {
        timeout: Duration::from_secs(2),
        ..LIMITS
    };
    let cache = dir.path().join("stack");
    let error = git::fetch(&cache, &source, None, &limits).await.unwrap_err();
    assert!(matches!(error, GitError::TimedOut(_)), "{error:?}");
    assert!(error.to_string().contains("did not finish"), "{error}");
}

#[tokio::test]
async fn a_local_path_and_a_change_of_url() {
    let (fx, first) = Fixture::new().await;
    let source = fx.source("app.git", "main", TOKEN);
    git::fetch(&fx.cache(), &source, None, &LIMITS).await.unwrap();
    // The same stack moved to another repository: its cache starts over.
    let elsewhere = fx.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let other = git_http::create_repo(&elsewhere, "other.git").await;
    let moved = git_http::commit_files(&other, "main", &[("moved", "yes")], "Moved").await;
    let local = Source {
        url: other.to_str().unwrap().to_owned(),
        branch: "main".to_owned(),
        credential: None,
    };
    let fetched = git::fetch(&fx.cache(), &local, None, &LIMITS).await.unwrap();
    assert_eq!(fetched.commit, moved);
    let error = git::checkout(&fx.cache(), &first, &fx.dir.path().join("out"))
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::CommitNotFetched(_)), "{error:?}");

    let file_url = Source {
        url: format!("file://{}", other.display()),
        ..local
    };
    assert_eq!(
        git::fetch(&fx.cache(), &file_url, None, &LIMITS).await.unwrap().commit,
        moved
    );
}

#[tokio::test]
async fn ssh_runs_with_the_key_and_says_when_the_host_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let source = Source {
        url: format!("ssh://git@127.0.0.1:{port}/app.git"),
        branch: "main".to_owned(),
        credential: Some(Credential::SshKey {
            private_key: std::fs::read_to_string(&key).unwrap(),
        }),
    };
    // A quote, spaces, a backslash and a %, for the shell and for ssh.
    let cache = dir.path().join("it's a \\ 100% \"cache\"");
    let error = git::fetch(&cache, &source, None, &LIMITS).await.unwrap_err();
    assert!(
        matches!(&error, GitError::Unreachable { detail, .. } if detail.contains("refused")),
        "{error:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().starts_with(".tmp")),
        "the key is left: {left:?}"
    );
}
