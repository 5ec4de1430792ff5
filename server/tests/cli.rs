//! The `berth` binary as an operator uses it: help, users, verify, export,
//! and refusing databases it must not touch.

mod common;

use common::*;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

#[test]
fn help_lists_the_commands() {
    let out = berth(&["--help"], "");
    let help = text(&out.stdout);
    for word in ["serve", "user", "events", "--data-dir", "--listen", "--config"] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_after_real_use_and_names_an_altered_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    add_admin(dir.path());
    for _ in 0..2 {
        let server = Server::start(dir.path()).await;
        let client = client();
        sign_in(&server, &client, ADMIN, "wrong password!").await;
        assert_eq!(sign_in(&server, &client, ADMIN, PASSWORD).await.status(), 200);
        server.stop().await.unwrap();
    }
    let out = berth(&["events", "verify", "--data-dir", data], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // At least user.create, then twice: server.start, two sign-ins and
    // server.stop (host and engine events may come on top).
    let said = text(&out.stdout);
    let count: u64 = said
        .trim()
        .strip_prefix("OK: ")
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        said.contains("events, hash chain intact, Merkle tree matches; they hold the kept signed checkpoint")
            && count >= 9,
        "{said}"
    );

    // Alter event 5 behind berth's back: flip one byte of its stored record.
    {
        let db = redb::Database::open(dir.path().join("berth.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(EVENTS).unwrap();
            let mut record = t.get(5).unwrap().unwrap().value().to_vec();
            record[20] ^= 0x01;
            t.insert(5, record.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let out = berth(&["events", "verify", "--data-dir", data], "");
    assert!(!out.status.success());
    let said = text(&out.stdout);
    assert!(said.starts_with("BROKEN at seq 5:"), "{said}");
    // The rest of the log is still readable.
    let db = redb::Database::open(dir.path().join("berth.redb")).unwrap();
    assert_eq!(
        db.begin_read().unwrap().open_table(EVENTS).unwrap().len().unwrap(),
        count
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_database_says_so_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    // Wait until the first server has the file open.
    reqwest::get(server.url("/login")).await.unwrap();
    let out = berth(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        "",
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("in use by another berth process"), "{err}");
    // The user commands say how to do the same while the server runs.
    let out = berth(&["user", "list", "--data-dir", dir.path().to_str().unwrap()], "");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("berth is running"), "{err}");
    assert!(
        err.contains("/api/v1/users") && err.contains("Authorization: Bearer"),
        "{err}"
    );
    server.stop().await.unwrap();
}

#[test]
fn a_foreign_database_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.redb");
    std::fs::write(&file, "not a database, but precious").unwrap();
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0"],
        vec!["events", "verify"],
        vec!["user", "list"],
    ] {
        let mut args = args.clone();
        args.extend(["--data-dir", dir.path().to_str().unwrap()]);
        let out = berth(&args, "");
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out.stderr).contains("is not a berth database"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a database, but precious");
}

#[test]
fn user_add_validates_and_keeps_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    add_admin(dir.path());
    let cases = [
        (vec!["user", "add", "bad name"], "x-long-enough\n", "user name"),
        (vec!["user", "add", "bob"], "short\n", "too short"),
        (vec!["user", "add", ADMIN], "another password\n", "already exists"),
        (vec!["user", "add", "bob"], "", "no password on standard input"),
    ];
    for (mut args, stdin, needle) in cases {
        args.extend(["--data-dir", data]);
        let out = berth(&args, stdin);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out.stderr).contains(needle), "{args:?}: {}", text(&out.stderr));
    }
    let out = berth(&["user", "add", "bob", "--data-dir", data], "bob's password\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&berth(&["user", "list", "--data-dir", data], "").stdout);
    assert!(list.contains("admin") && list.contains("bob"), "{list}");
    let out = berth(&["user", "add", "--help"], "");
    assert!(text(&out.stdout).contains("standard input"));
}

#[test]
fn export_writes_the_filtered_log_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    add_admin(dir.path());
    let out = berth(&["user", "add", "carol", "--data-dir", data], "carol's password\n");
    assert!(out.status.success());
    let jsonl = text(&berth(&["events", "export", "--kind", "user.*", "--data-dir", data], "").stdout);
    let targets: Vec<String> = jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["target"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(targets, ["user:carol", "user:admin"]);
    let csv = text(&berth(&["events", "export", "--format", "csv", "--data-dir", data], "").stdout);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let out = berth(&["events", "export", "--outcome", "maybe", "--data-dir", data], "");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("outcome 'maybe' is not valid"));
}

#[test]
fn a_killed_server_restarts_on_its_repaired_database() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    add_admin(dir.path());
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = start();
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("berth is serving")),
        "the server did not come up"
    );
    first.kill().unwrap(); // SIGKILL: no clean shutdown
    first.wait().unwrap();

    let mut second = start();
    let lines = BufReader::new(second.stderr.take().unwrap()).lines();
    let log: Vec<String> = lines
        .map_while(Result::ok)
        .take_while(|l| !l.contains("berth is serving"))
        .collect();
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(
        !log.iter().any(|l| l.contains("berth: ")),
        "the restart failed: {log:?}"
    );
    let out = berth(&["events", "verify", "--data-dir", data], "");
    assert!(text(&out.stdout).starts_with("OK: "), "{}", text(&out.stdout));
}

#[test]
fn stack_help_lists_its_subcommands() {
    let out = berth(&["stack", "--help"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let words = "list show up down stop start restart pull create edit delete deploy deploys cancel rollback \
                 webhook --server --api-key-file";
    for word in words.split_whitespace() {
        assert!(
            help.lines().any(|l| l.split_whitespace().next() == Some(word)),
            "`berth stack --help` lacks {word}:\n{help}"
        );
    }
    let out = berth(&["stack", "deploy", "--help"], "");
    let help = text(&out.stdout);
    assert!(
        help.contains("--follow") && help.contains("Example: berth stack deploy"),
        "{help}"
    );
}

/// A new API key of the signed-in `client`, narrowed to `grants` when given,
/// in a file for `--api-key-file`.
async fn key_file(
    server: &Server,
    client: &reqwest::Client,
    dir: &std::path::Path,
    grants: Option<serde_json::Value>,
) -> String {
    let name = format!("cli-{}", grants.is_some());
    let made = client
        .post(server.url("/api/v1/me/keys"))
        .json(&serde_json::json!({ "name": name, "grants": grants }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let key: serde_json::Value = made.json().await.unwrap();
    let file = dir.join(name);
    std::fs::write(&file, format!("{}\n", key["token"].as_str().unwrap())).unwrap();
    file.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_list_and_deploy_against_a_running_berth() {
    let (dir, server) = Server::with_admin().await;
    let admin = client();
    assert_eq!(sign_in(&server, &admin, ADMIN, PASSWORD).await.status(), 200);
    let all = key_file(&server, &admin, dir.path(), None).await;
    // The engine beside berth is this machine's, where other tests run
    // compose projects: a key that sees only a host without any (one that
    // is not there) is how a list of no stacks is sure to look.
    let none = serde_json::json!([{ "host": "elsewhere", "level": "manage" }]);
    let nothing = key_file(&server, &admin, dir.path(), Some(none)).await;
    let stack = |key: &str, args: &[&str]| {
        let remote = ["--server", &server.base, "--api-key-file", key];
        berth(&[&["stack"], args, &remote[..]].concat(), "")
    };

    let out = stack(&nothing, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "no stacks on the hosts you may see (`berth stack create` defines one berth deploys)\n"
    );

    let out = stack(&all, &["deploy", "local", "nothing-here", "--follow"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("berth does not deploy a stack 'nothing-here' on local: define it first"),
        "{err}"
    );
    assert_eq!(text(&out.stdout), "", "nothing was deployed, so nothing is said to be");

    // A key the server refuses: its message, not a table.
    std::fs::write(&all, "berth_not-a-key\n").unwrap();
    let out = stack(&all, &["list"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the API key was refused"),
        "{}",
        text(&out.stderr)
    );
    server.stop().await.unwrap();
}
