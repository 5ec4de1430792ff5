//! `stacks::compose` against the real compose command line and engine:
//! validating files, `up -d` and `down`, secrets masked in a service's
//! output, and cancelling a long `up`. Needs a Docker engine at
//! /var/run/docker.sock, `docker-compose` or `docker compose`, and
//! /bin/busybox (Debian's busybox-static) for the image the tests make.

use berth_core::stacks::compose::{
    Compose, ComposeError, Flavor, OutputLine, Project, ProjectName, Stop, Stream, Target,
};
use berth_core::stacks::mask::Masker;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The tests' own image, so they disturb no one else's.
const IMAGE: &str = "berth-test/compose:1";

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI is installed");
    assert!(
        out.status.success(),
        "docker {args:?} failed (is the engine running?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// busybox-static in an empty root, imported once (tried again by the next
/// test if it failed, so each failing test says why).
fn ensure_image() {
    static IMPORTED: Mutex<bool> = Mutex::new(false);
    let mut imported = IMPORTED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *imported {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.path().join("bin/busybox")).expect("/bin/busybox (busybox-static)");
    for applet in ["sh", "sleep", "echo", "true"] {
        std::os::unix::fs::symlink("busybox", root.path().join("bin").join(applet)).unwrap();
    }
    let import = format!("tar -C {} -c . | docker import - {IMAGE}", root.path().display());
    let out = Command::new("sh").args(["-c", &import]).output().unwrap();
    assert!(
        out.status.success(),
        "docker import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    *imported = true;
}

/// A project's containers and networks, removed when the test ends,
/// passed or not.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let label = format!("label=com.docker.compose.project={}", self.0);
        for (list, remove) in [(["ps", "-aq"], ["rm", "-f"]), (["network", "ls"], ["network", "rm"])] {
            let ids = Command::new("docker")
                .args(list)
                .args(["-q", "--filter", &label])
                .output();
            if let Ok(ids) = ids {
                let ids = String::from_utf8_lossy(&ids.stdout).into_owned();
                for id in ids.split_whitespace() {
                    let _ = Command::new("docker").args(remove).arg(id).output();
                }
            }
        }
    }
}

/// A project `name` in a fresh directory holding `compose.yaml`.
fn project(name: &str, yaml: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, Project, Cleanup) {
    ensure_image();
    let name = format!("berth-h1-{name}-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    let project = Project {
        name: ProjectName::parse(&name).unwrap(),
        dir: dir.path().to_path_buf(),
        files: vec!["compose.yaml".into()],
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    (dir, project, Cleanup(name))
}

fn local() -> Target {
    Target {
        docker_host: "unix:///var/run/docker.sock".into(),
        tls: None,
    }
}

fn never() -> Stop<std::future::Pending<()>> {
    Stop {
        deadline: None,
        cancel: std::future::pending(),
    }
}

async fn run(compose: &Compose, project: &Project, args: &[&str], masker: &Masker) -> (bool, Vec<OutputLine>) {
    let mut lines = Vec::new();
    let status = compose
        .run(&local(), project, args, &mut |l| lines.push(l), masker, never())
        .await
        .unwrap();
    (status.success(), lines)
}

fn text(lines: &[OutputLine]) -> String {
    lines.iter().map(|l| format!("{:?}: {}\n", l.stream, l.text)).collect()
}

#[tokio::test]
async fn detect_on_this_hosts_path_prefers_v2_and_names_the_version() {
    let compose = Compose::detect(None)
        .await
        .expect("docker compose or docker-compose is installed");
    let v2 = Command::new("docker").args(["compose", "version", "--short"]).output();
    let has_v2 = v2.is_ok_and(|o| o.status.success());
    let (flavor, program) = if has_v2 {
        (Flavor::V2, "docker compose ")
    } else {
        (Flavor::V1, "docker-compose ")
    };
    assert_eq!(compose.flavor(), flavor);
    assert_eq!(compose.describe(), format!("{program}{}", compose.version()));
    assert!(compose.version().starts_with(['1', '2', '3']), "{}", compose.describe());
}

#[tokio::test]
async fn validate_reads_services_and_reports_where_a_file_is_broken() {
    let compose = Compose::detect(None).await.unwrap();
    let checkout = tempfile::tempdir().unwrap();
    std::fs::create_dir(checkout.path().join("app")).unwrap();
    std::fs::write(checkout.path().join("web.env"), "A=1\n").unwrap();
    let good = "services:\n  web:\n    build: ./app\n    env_file: ./web.env\n    volumes:\n      - ./data:/data\n      - ../outside:/o\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n  cache:\n    image: berth-test/compose:1\n    command: sleep 300\n";
    let files = [("compose.yaml".to_string(), good.to_string())];
    let model = compose.validate(&files, Some(checkout.path())).await.unwrap();
    let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["cache", "web"]);
    let (cache, web) = (&model.services[0], &model.services[1]);
    assert_eq!(cache.image.as_deref(), Some("berth-test/compose:1"));
    assert!(web.healthcheck && !cache.healthcheck);
    let build = web.build.as_ref().expect("web builds");
    assert_eq!(build.context, checkout.path().join("app"));
    assert_eq!(web.env_files, [checkout.path().join("./web.env")]);
    let outside = model.paths_outside(checkout.path());
    assert_eq!(outside.len(), 1, "{outside:?}");
    assert!(
        outside[0].starts_with("web: bind mount ") && outside[0].ends_with("outside"),
        "{outside:?}"
    );

    let broken = "services:\n  web:\n    image: x\n   bad: [\n";
    let files = [
        ("compose.yaml".to_string(), good.to_string()),
        ("broken.yaml".to_string(), broken.to_string()),
    ];
    let error = compose.validate(&files, Some(checkout.path())).await.unwrap_err();
    let ComposeError::Config(error) = error else {
        panic!("not a config error: {error}")
    };
    assert_eq!(error.file.as_deref(), Some("broken.yaml"), "{error}");
    assert_eq!(error.line, Some(4), "{error}");
    assert!(
        !error.message.contains("berth-compose-"),
        "the temporary directory leaks: {error}"
    );
}

#[tokio::test]
async fn up_starts_the_project_on_the_engine_and_down_removes_it() {
    let compose = Compose::detect(None).await.unwrap();
    let yaml = format!("services:\n  sleeper:\n    image: {IMAGE}\n    command: [\"sleep\", \"300\"]\n");
    let (_dir, project, _cleanup) = project("up", &yaml, &[]);
    let label = format!("label=com.docker.compose.project={}", project.name);
    let (ok, lines) = run(
        &compose,
        &project,
        &["up", "-d", "--remove-orphans"],
        &Masker::new(Vec::<String>::new()),
    )
    .await;
    assert!(ok, "up failed:\n{}", text(&lines));
    let running = docker(&["ps", "--filter", &label, "--format", "{{.Names}} {{.Status}}"]);
    assert!(running.contains("sleeper") && running.contains("Up"), "{running:?}");

    let (ok, lines) = run(&compose, &project, &["down"], &Masker::new(Vec::<String>::new())).await;
    assert!(ok, "down failed:\n{}", text(&lines));
    assert_eq!(
        docker(&["ps", "-a", "--filter", &label, "-q"]),
        "",
        "down left containers"
    );
}

#[tokio::test]
async fn a_secret_a_service_prints_is_masked() {
    let compose = Compose::detect(None).await.unwrap();
    let secret = "s3cr3t-tok3n-9876";
    let yaml = format!("services:\n  talker:\n    image: {IMAGE}\n    command: [\"echo\", \"token=${{API_TOKEN}}\"]\n");
    let (_dir, project, _cleanup) = project("mask", &yaml, &[("API_TOKEN", secret)]);
    let (ok, lines) = run(&compose, &project, &["up", "--no-color"], &Masker::new([secret])).await;
    let all = text(&lines);
    assert!(ok, "up failed:\n{all}");
    assert!(
        all.contains("token=[masked]"),
        "the service's output is not there:\n{all}"
    );
    assert!(!all.contains(secret), "the secret shows:\n{all}");
}

#[tokio::test]
async fn cancelling_a_long_up_stops_compose() {
    let compose = Compose::detect(None).await.unwrap();
    let yaml =
        format!("services:\n  long:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"echo ready; sleep 300\"]\n");
    let (_dir, project, _cleanup) = project("cancel", &yaml, &[]);
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let cancel = async move {
        let _ = rx.wait_for(|c| *c).await;
    };
    let mut lines = Vec::new();
    let mut on_line = |l: OutputLine| {
        // Attached `up` shows the service's output: compose is running it.
        if l.stream == Stream::Stdout && l.text.contains("ready") {
            let _ = tx.send(true);
        }
        lines.push(l);
    };
    let stop = Stop {
        deadline: Some(Instant::now() + Duration::from_secs(120)),
        cancel,
    };
    let (target, masker) = (local(), Masker::new(Vec::<String>::new()));
    let result = compose.run(&target, &project, &["up", "--no-color"], &mut on_line, &masker, stop);
    let result = tokio::time::timeout(Duration::from_secs(100), result)
        .await
        .expect("cancelling stops compose");
    assert!(
        matches!(result, Err(ComposeError::Cancelled)),
        "{result:?}\n{}",
        text(&lines)
    );
    assert!(
        !compose_processes_of(project.name.as_str()),
        "a compose process of the project still runs"
    );
}

/// Whether a process whose command line names the project still runs.
fn compose_processes_of(project: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|s| s.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmdline).split('\0').any(|a| a == project)
    })
}
