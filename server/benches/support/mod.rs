//! What the engine benchmarks share: their settings from the environment,
//! reading a process's CPU time and memory from /proc, making many
//! containers at once, and removing them by name prefix, at the start
//! (leftovers of a crashed run) and at the end, and the admin they sign in as.

// Each bench uses what it needs of these.
#![allow(dead_code)]

use futures_util::StreamExt;
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The admin the benches sign in as.
pub const ADMIN: &str = "bench";
pub const PASSWORD: &str = "bench-password-1234";

/// Sends `request` and reads its answer as JSON; the bench stops on any
/// failure.
pub async fn json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    let answer = request.send().await.expect("berth answers");
    answer.json().await.expect("a JSON answer")
}

/// Adds [`ADMIN`] to the database in `data` with `berth` (the binary at
/// `bin`), its password on standard input.
pub fn add_admin(bin: &Path, data: &Path) {
    let mut add = Command::new(bin)
        .args(["user", "add", "--admin", ADMIN, "--data-dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success(), "berth user add");
}

/// Runs `make(0..count)`, `concurrency` at a time; panics with every failure.
pub async fn create_all<F, Fut, E>(count: usize, concurrency: usize, make: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let make = &make;
    let failures: Vec<String> = futures_util::stream::iter(0..count)
        .map(|i| async move { make(i).await.err().map(|e| format!("container {i}: {e}")) })
        .buffer_unordered(concurrency)
        .filter_map(|r| async move { r })
        .collect()
        .await;
    assert!(failures.is_empty(), "creating containers failed: {failures:?}");
}

/// Removes every container whose name starts with the prefix when dropped:
/// at the end, and when the bench panics midway.
pub struct Cleanup(pub &'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let removed = remove_containers(self.0);
        println!("cleanup: removed {removed} {}* containers", self.0);
    }
}

/// `docker rm -f` of every container named `prefix*`; returns how many.
pub fn remove_containers(prefix: &str) -> usize {
    let Ok(out) = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("name={prefix}"),
            "--format",
            "{{.ID}} {{.Names}}",
        ])
        .output()
    else {
        return 0;
    };
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, name)| name.starts_with(prefix))
        .map(|(id, _)| id.to_string())
        .collect();
    if ids.is_empty() {
        return 0;
    }
    let ok = Command::new("docker")
        .args(["rm", "-f"])
        .args(&ids)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("cleanup: docker rm -f failed; remove the {prefix}* containers by hand");
    }
    ids.len()
}

/// A whole number from the environment, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
}

/// Clock ticks per second, for /proc/*/stat (`getconf CLK_TCK`, 100 nearly everywhere).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime, in clock ticks, of a /proc `stat` file (process or thread).
pub fn stat_ticks(path: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    // The fields after the command name, which may hold spaces: state is field 3.
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    get(14) + get(15)
}

/// A `kB` line (`VmRSS:`, `RssAnon:`...) of a /proc `status` file, in MiB.
pub fn status_mib(path: &str, field: &str) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
