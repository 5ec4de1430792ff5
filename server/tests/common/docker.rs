//! Containers of the test image for tests that need a Docker engine, and the
//! docker CLI to look at them the way an operator would.

use super::{assert_engine_running, text};
use std::process::Command;

pub const IMAGE: &str = "berth-test/busybox:1";

/// A container made for one test, removed when the test ends.
pub struct TestContainer(pub String);

impl TestContainer {
    /// `docker run -d --name NAME OPTIONS... IMAGE COMMAND...`
    pub fn run(name: &str, options: &[&str], command: &[&str]) -> TestContainer {
        assert_engine_running();
        let _ = Command::new("docker").args(["rm", "-f", name]).output();
        let out = Command::new("docker")
            .args(["run", "-d", "--name", name])
            .args(options)
            .arg(IMAGE)
            .args(command)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker run failed: {}", text(&out.stderr));
        TestContainer(name.to_string())
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

/// Runs the docker CLI and returns its trimmed output, failing on an error.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?} failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}
