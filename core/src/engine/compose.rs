//! Compose run by the engine's own machine: what a host reached through
//! `berth agent` does for a deploy, since compose there talks to its
//! engine directly. The project's files go with each run (an agent keeps
//! them for the stack's next runs, as compose's relative paths need), and
//! its environment, secrets included, for that run only: written nowhere
//! but a `.env` removed after the run. Output comes back line by line; the
//! core masks it as it does its own.

use serde::{Deserialize, Serialize};

/// The most bytes of project files one run may carry (they travel in one
/// frame of the agent protocol, base64-encoded).
pub const MAX_PROJECT_BYTES: usize = 8 * 1024 * 1024;
/// The most files.
pub const MAX_PROJECT_FILES: usize = 4096;
/// The compose commands a run may be: those a deploy uses.
pub const COMPOSE_VERBS: [&str; 5] = ["up", "build", "pull", "down", "config"];

/// One file of a project: its path relative to the project's root, its
/// mode bits, its bytes (base64).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectFile {
    pub path: String,
    pub mode: u32,
    pub data: String,
}

impl std::fmt::Debug for ProjectFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProjectFile({}, {} bytes b64)", self.path, self.data.len())
    }
}

/// One run of compose on the engine's machine.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ComposeJob {
    /// The compose project's name.
    pub project: String,
    /// Which of the stack's versions the files are (`v3`): kept apart.
    pub version: String,
    pub files: Vec<ProjectFile>,
    /// The project directory, relative to the files' root ("" for the root).
    pub dir: String,
    /// The compose files, relative to `dir`.
    pub compose_files: Vec<String>,
    /// berth's override file (JSON), given last; empty for none.
    pub override_json: String,
    /// The environment for this run (may hold secrets).
    pub env: Vec<(String, String)>,
    /// `up -d --remove-orphans --no-build`, `build web`...
    pub args: Vec<String>,
    /// Seconds the run may take.
    pub timeout_s: u32,
}

impl std::fmt::Debug for ComposeJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComposeJob")
            .field("project", &self.project)
            .field("version", &self.version)
            .field("files", &self.files.len())
            .field("args", &self.args)
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .finish()
    }
}

impl ComposeJob {
    /// Checks what an agent is asked to write and run: names, paths inside
    /// the project, sizes, the verb. The error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        crate::model::validate_stack_name(&self.project)?;
        let version_ok = self.version.len() <= 16
            && self.version.starts_with('v')
            && self.version[1..].bytes().all(|b| b.is_ascii_digit());
        if !version_ok {
            return Err(format!("'{}' is not a version (v1, v2...)", self.version));
        }
        if self.files.len() > MAX_PROJECT_FILES {
            return Err(format!("at most {MAX_PROJECT_FILES} files"));
        }
        let bytes: usize = self.files.iter().map(|f| f.data.len() / 4 * 3).sum();
        if bytes > MAX_PROJECT_BYTES {
            return Err(format!(
                "the project's files are over {} MiB; a host reached through berth agent takes at most that",
                MAX_PROJECT_BYTES / 1024 / 1024
            ));
        }
        for path in self
            .files
            .iter()
            .map(|f| f.path.as_str())
            .chain(self.compose_files.iter().map(String::as_str))
            .chain((!self.dir.is_empty()).then_some(self.dir.as_str()))
        {
            relative(path)?;
        }
        match self.args.first().map(String::as_str) {
            Some(verb) if COMPOSE_VERBS.contains(&verb) => {}
            other => return Err(format!("compose {other:?} is not run by an agent")),
        }
        if self.args.iter().any(|a| a.contains('\0')) {
            return Err("an argument holds a NUL byte".into());
        }
        Ok(())
    }
}

fn relative(path: &str) -> Result<(), String> {
    let ok = !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('/')
        && !path.contains('\0')
        && !path.contains('\\')
        && path.split('/').all(|p| !p.is_empty() && p != ".." && p != ".");
    if ok {
        Ok(())
    } else {
        Err(format!("'{path}' is not a path inside the project"))
    }
}

/// What a run sends back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComposeItem {
    /// Which compose runs it ("docker-compose 1.29.2"); first.
    Started {
        compose: String,
    },
    Line {
        stderr: bool,
        text: String,
    },
    /// The run ended; last.
    Exit {
        success: bool,
        status: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> ComposeJob {
        ComposeJob {
            project: "shop".into(),
            version: "v3".into(),
            files: vec![ProjectFile {
                path: "deploy/compose.yaml".into(),
                mode: 0o644,
                data: String::new(),
            }],
            dir: "deploy".into(),
            compose_files: vec!["compose.yaml".into()],
            override_json: "{}".into(),
            env: vec![("TOKEN".into(), "secret-value".into())],
            args: vec!["up".into(), "-d".into()],
            timeout_s: 60,
        }
    }

    #[test]
    fn a_job_names_only_paths_inside_its_project_and_a_deploy_verb() {
        assert_eq!(job().validate(), Ok(()));
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", ""] {
            let mut j = job();
            j.files[0].path = bad.into();
            assert!(j.validate().is_err(), "{bad}");
        }
        let mut j = job();
        j.args = vec!["exec".into(), "web".into(), "sh".into()];
        assert!(j.validate().is_err());
        let mut j = job();
        j.version = "../x".into();
        assert!(j.validate().is_err());
        assert!(!format!("{:?}", job()).contains("secret-value"), "Debug shows no value");
    }
}
