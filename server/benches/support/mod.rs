//! What the engine benchmarks share: making many containers at once, and
//! removing them by name prefix, at the start (leftovers of a crashed run)
//! and at the end.

use futures_util::StreamExt;
use std::future::Future;
use std::process::Command;

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
