//! What the engine benchmarks share: removing their containers by name
//! prefix, at the start (leftovers of a crashed run) and at the end.

use std::process::Command;

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
