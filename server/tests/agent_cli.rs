//! `berth agent`'s help says what the agent does: its own listen default,
//! and none of the server's flags (issue 21).

mod common;

use common::{berth, text};

fn help(args: &[&str]) -> String {
    let out = berth(args, "");
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn agent_init_help_shows_the_agents_own_default_and_no_server_flags() {
    let init = help(&["agent", "init", "--help"]);
    assert!(init.contains("--listen"), "{init}");
    assert!(init.contains("[default: 0.0.0.0:7443]"), "{init}");
    assert!(
        !init.contains("127.0.0.1:8080"),
        "the server's default in the agent's help:\n{init}"
    );
    for flag in ["--data-dir", "--config"] {
        assert!(!init.contains(flag), "{flag} is not the agent's:\n{init}");
    }
    assert!(init.contains("--dir"), "{init}");

    let run = help(&["agent", "--help"]);
    for flag in ["--data-dir", "--config", "127.0.0.1:8080"] {
        assert!(!run.contains(flag), "{flag} is not the agent's:\n{run}");
    }
    assert!(run.contains("--listen") && run.contains("agent.toml"), "{run}");
}

#[test]
fn the_servers_flags_stay_where_the_server_uses_them() {
    let user = help(&["user", "add", "--help"]);
    assert!(user.contains("--data-dir"), "{user}");
    let serve = help(&["serve", "--help"]);
    assert!(
        serve.contains("--listen") && serve.contains("127.0.0.1:8080"),
        "{serve}"
    );
    let top = help(&["--help"]);
    assert!(top.contains("--data-dir") && top.contains("--listen"), "{top}");
}

#[test]
fn agent_init_writes_its_default_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = berth(&["agent", "init", "--dir", dir.path().to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("listens on   0.0.0.0:7443"),
        "{}",
        text(&out.stdout)
    );
    let refused = berth(
        &[
            "--listen",
            "127.0.0.1:9",
            "agent",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("agent --listen"),
        "{}",
        text(&refused.stderr)
    );
}
