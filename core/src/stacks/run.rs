//! The work of one deploy, step by step, on berth's machine: the commit
//! checked out under `<data dir>/stacks/HOST/NAME/vN`, compose run there
//! against the host's engine (its unix socket, or its TCP port with TLS
//! files), the images berth built pinned by an override file beside the
//! checkout (`vN.override.json`, the compose files untouched), and what the
//! version needs to run again recorded in `vN.json`.
//!
//! The stack's variables reach compose through its environment, for the
//! length of one run; a `.env` file (mode 0600) is written into the
//! project for that run only when the checkout has none, and removed
//! after it. Every line of output passes through the stack's masker.

use super::compose::{Compose, ComposeError, OutputLine, Project, ProjectName, Stop, Target, TlsFiles};
use super::mask::Masker;
use super::output::Output;
use super::{Result, StackError, Stacks, git, store};
use crate::access::Caller;
use crate::events::now_ns;
use crate::hosts::Host;
use crate::model::{
    Actor, Computed, DeployId, DeployState, ExpectedState, LogQuery, ServiceImage, StackDefinition, StackSource,
    format_rfc3339,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{OnceCell, watch};
use tokio::time::Instant;

/// Where `free_port` variables are chosen from.
const FREE_PORTS: std::ops::RangeInclusive<u16> = 20000..=29999;

/// What a version needs to run again: kept as `vN.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Prepared {
    pub version: u32,
    pub commit: Option<String>,
    /// The project directory (the checkout, or its sub-path).
    pub dir: PathBuf,
    /// The stack's compose files, relative to `dir`.
    pub files: Vec<String>,
    /// The services, and those with a healthcheck.
    pub services: Vec<String>,
    pub healthchecks: Vec<String>,
    /// Services berth built, with the image reference it tagged.
    pub built: Vec<(String, String)>,
    /// The compose files' top-level `version`, which an override must repeat for v1.
    pub file_version: Option<String>,
}

/// A fetched version before it is checked.
pub(super) struct Fetched {
    pub commit: Option<String>,
    version: u32,
    root: PathBuf,
    dir: PathBuf,
    files: Vec<String>,
}

pub(super) struct Runner {
    stacks: Stacks,
    def: StackDefinition,
    out: Arc<Output>,
    cancel: watch::Receiver<bool>,
    deadline: Instant,
    env: OnceCell<(Vec<(String, String)>, Masker)>,
    touched: AtomicBool,
    actor: Actor,
    deploy: DeployId,
}

impl Runner {
    pub fn new(stacks: Stacks, def: StackDefinition, out: Arc<Output>, cancel: watch::Receiver<bool>) -> Runner {
        let deadline = Instant::now() + Duration::from_secs(u64::from(def.timeout_s));
        Runner {
            stacks,
            def,
            out,
            cancel,
            deadline,
            env: OnceCell::new(),
            touched: AtomicBool::new(false),
            actor: Actor::system(),
            deploy: DeployId(0),
        }
    }

    pub fn with_actor(mut self, caller: &Caller, deploy: DeployId) -> Runner {
        self.actor = caller.actor();
        self.deploy = deploy;
        self
    }

    pub fn definition(&self) -> &StackDefinition {
        &self.def
    }

    pub fn out(&self) -> &Output {
        &self.out
    }

    pub fn caller_actor(&self) -> Actor {
        self.actor.clone()
    }

    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Whether compose was started on the stack's containers (so a
    /// failure may have left them changed).
    pub fn touched_services(&self) -> bool {
        self.touched.load(Ordering::SeqCst)
    }

    /// Runs a step until it ends or the deploy is cancelled.
    pub async fn bounded<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let mut cancel = self.cancel.clone();
        tokio::select! {
            r = work => r,
            _ = cancel.wait_for(|c| *c) => Err(StackError::Failed("cancelled".into())),
        }
    }

    fn stack_dir(&self) -> PathBuf {
        self.stacks.inner.dir.join(&self.def.host.0).join(&self.def.name)
    }

    fn host(&self) -> Result<Arc<Host>> {
        Ok(self.stacks.inner.hosts.get(&self.def.host.0)?)
    }

    async fn compose(&self) -> Result<&Compose> {
        self.stacks.compose().await
    }

    /// Which compose runs the deploy ("docker-compose 1.29.2").
    pub async fn compose_name(&self) -> Result<String> {
        Ok(self.compose().await?.describe())
    }

    /// The stack's variables (secrets included) and the masker of its
    /// secret values, read once per deploy.
    async fn env(&self) -> Result<&(Vec<(String, String)>, Masker)> {
        self.env
            .get_or_try_init(|| async {
                let (h, n) = (self.def.host.0.clone(), self.def.name.clone());
                let (secret_vars, git) = self
                    .stacks
                    .inner
                    .store
                    .blocking(move |db| Ok((store::secrets(db, &h, &n, "var:")?, store::secret(db, &h, &n, "git")?)))
                    .await?;
                let mut env: Vec<(String, String)> = Vec::new();
                for v in &self.def.vars {
                    if let Some(c) = v.computed {
                        env.push((v.name.clone(), self.computed_value(c, &v.name).await?));
                        continue;
                    }
                    let value = match &v.value {
                        Some(value) => value.clone(),
                        None => match secret_vars.iter().find(|(k, _)| *k == v.name) {
                            Some((_, value)) => value.clone(),
                            None => continue,
                        },
                    };
                    env.push((v.name.clone(), value));
                }
                let mut secrets: Vec<String> = secret_vars.into_iter().map(|(_, v)| v).collect();
                secrets.extend(git);
                Ok::<_, StackError>((env, Masker::new(secrets)))
            })
            .await
    }

    /// A computed variable's value for this deploy.
    async fn computed_value(&self, c: Computed, var: &str) -> Result<String> {
        let stack = &self.def.name;
        Ok(match c {
            Computed::HostName => self.def.host.0.clone(),
            Computed::VolumePath => format!("/var/lib/berth-stacks/{stack}/{}", var.to_ascii_lowercase()),
            Computed::ScratchDir => format!("/tmp/berth-deploys/{stack}/{}", self.deploy),
            Computed::FreePort => {
                let busy: Vec<u16> = self
                    .host()?
                    .containers()
                    .iter()
                    .flat_map(|c| c.ports.iter().filter_map(|p| p.public))
                    .collect();
                let (h, n, v) = (self.def.host.0.clone(), stack.clone(), var.to_string());
                let port = self
                    .stacks
                    .inner
                    .store
                    .blocking(move |db| store::port_for(db, &h, &n, &v, &busy, FREE_PORTS))
                    .await?
                    .ok_or_else(|| {
                        StackError::Failed(format!(
                            "no free port is left for {var} on {} between {} and {}",
                            self.def.host,
                            FREE_PORTS.start(),
                            FREE_PORTS.end()
                        ))
                    })?;
                port.to_string()
            }
        })
    }

    /// The variables berth computes for every run.
    fn computed(&self, p: &Prepared) -> Vec<(String, String)> {
        vec![
            ("BERTH_STACK".into(), self.def.name.clone()),
            ("BERTH_HOST".into(), self.def.host.0.clone()),
            ("BERTH_VERSION".into(), p.version.to_string()),
            ("BERTH_COMMIT".into(), p.commit.clone().unwrap_or_default()),
        ]
    }

    /// Step `fetch`: the commit checked out (git), or the compose file
    /// written (inline), under `vN`.
    pub async fn fetch(&self, version: u32, commit: Option<&str>) -> Result<(Fetched, String)> {
        let root = self.stack_dir().join(format!("v{version}"));
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(io)?;
        }
        std::fs::create_dir_all(&root).map_err(io)?;
        match &self.def.source {
            StackSource::Inline { compose } => {
                std::fs::write(root.join("compose.yaml"), compose).map_err(io)?;
                let fetched = Fetched {
                    commit: None,
                    version,
                    dir: root.clone(),
                    root,
                    files: vec!["compose.yaml".into()],
                };
                Ok((fetched, "the compose file written in berth".into()))
            }
            StackSource::Git {
                url,
                branch,
                path,
                files,
                credential,
            } => {
                let secret = {
                    let (h, n) = (self.def.host.0.clone(), self.def.name.clone());
                    self.stacks
                        .inner
                        .store
                        .blocking(move |db| store::secret(db, &h, &n, "git"))
                        .await?
                };
                let source = git::Source {
                    url: url.clone(),
                    branch: branch.clone(),
                    credential: git_credential(credential, secret),
                };
                let left = self.deadline.saturating_duration_since(Instant::now());
                let limits = git::Limits {
                    max_bytes: self.stacks.inner.repo_cap,
                    timeout: left.max(Duration::from_secs(1)),
                };
                let cache = self.stack_dir().join("git");
                let (_, masker) = self.env().await?;
                let fetched = git::fetch(&cache, &source, commit, &limits)
                    .await
                    .map_err(|e| failed(masker.mask(&e.to_string())))?;
                git::checkout(&cache, &fetched.commit, &root).await.map_err(failed)?;
                let dir = root.join(path);
                let files = match files.as_slice() {
                    [] => vec![default_file(&dir)?],
                    given => given.to_vec(),
                };
                let note = format!("{} {}: {}", &fetched.commit[..7], branch, fetched.message);
                self.out.line(&note);
                let fetched = Fetched {
                    commit: Some(fetched.commit),
                    version,
                    root,
                    dir,
                    files,
                };
                Ok((fetched, note))
            }
        }
    }

    /// Step `check`: compose reads the files; nothing they name may lie
    /// outside the checkout.
    pub async fn check(&self, f: Fetched) -> Result<(Prepared, String)> {
        let mut texts = Vec::new();
        for name in &f.files {
            let path = f.dir.join(name);
            if !path.starts_with(&f.root) || name.split('/').any(|p| p == "..") {
                return Err(StackError::Invalid(format!(
                    "the compose file {name} is outside the checkout"
                )));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| StackError::Invalid(format!("the compose file {name} cannot be read: {e}")))?;
            texts.push((name.clone(), text));
        }
        let file_version = texts.first().and_then(|(_, t)| top_level_version(t));
        let model = self
            .compose()
            .await?
            .validate(&texts, Some(&f.dir))
            .await
            .map_err(|e| StackError::Invalid(format!("compose refused the files: {e}")))?;
        let outside = model.paths_outside(&f.root);
        if !outside.is_empty() {
            return Err(StackError::Invalid(format!(
                "the compose files name paths outside the checkout: {}",
                outside.join("; ")
            )));
        }
        let services: Vec<String> = model.services.iter().map(|s| s.name.clone()).collect();
        let healthchecks = model
            .services
            .iter()
            .filter(|s| s.healthcheck)
            .map(|s| s.name.clone())
            .collect();
        let to_build: Vec<(String, String)> = model
            .services
            .iter()
            .filter(|s| s.build.is_some())
            .map(|s| (s.name.clone(), self.image_ref(&s.name, f.version)))
            .collect();
        let note = format!(
            "{} services ({}), {} to build",
            services.len(),
            services.join(", "),
            to_build.len()
        );
        let p = Prepared {
            version: f.version,
            commit: f.commit,
            dir: f.dir,
            files: f.files,
            services,
            healthchecks,
            built: to_build,
            file_version,
        };
        Ok((p, note))
    }

    /// `berth/STACK-SERVICE:N`.
    fn image_ref(&self, service: &str, version: u32) -> String {
        let service: String = service
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("berth/{}-{service}:{version}", self.def.name)
    }

    /// Step `build`: every service with a `build:` section, tagged with the
    /// version and the commit, labelled with where it came from.
    pub async fn build(&self, deploy: DeployId, p: &Prepared) -> Result<(Vec<(String, String)>, String)> {
        if p.built.is_empty() {
            return Ok((Vec::new(), "nothing to build".into()));
        }
        let labels = serde_json::json!({
            "org.opencontainers.image.revision": p.commit.clone().unwrap_or_default(),
            "org.opencontainers.image.source": match &self.def.source {
                StackSource::Git { url, .. } => url.clone(),
                StackSource::Inline { .. } => format!("berth:{}/{}", self.def.host, self.def.name),
            },
            "org.opencontainers.image.created": format_rfc3339(now_ns()),
            "io.berth.deploy": deploy.0.to_string(),
            "io.berth.stack": self.def.name,
        });
        self.write_override(p, Some(&labels))?;
        let services: Vec<&str> = p.built.iter().map(|(s, _)| s.as_str()).collect();
        let mut args = vec!["build"];
        args.extend(&services);
        self.compose_run(p, &args, true).await?;
        if let Some(commit) = &p.commit {
            let engine = self.host()?.engine().clone();
            for (_, reference) in &p.built {
                let repo = reference.rsplit_once(':').map_or(reference.as_str(), |(r, _)| r);
                engine.tag_image(reference, repo, &commit[..7]).await?;
            }
        }
        let names: Vec<&str> = p.built.iter().map(|(_, r)| r.as_str()).collect();
        Ok((p.built.clone(), format!("built {}", names.join(", "))))
    }

    /// The override file: berth's images pinned (and, for a build, its labels).
    fn write_override(&self, p: &Prepared, labels: Option<&serde_json::Value>) -> Result<()> {
        let mut services = serde_json::Map::new();
        for (service, reference) in &p.built {
            let mut s = serde_json::json!({ "image": reference });
            if let Some(labels) = labels {
                s["build"] = serde_json::json!({ "labels": labels });
            }
            services.insert(service.clone(), s);
        }
        let mut file = serde_json::json!({ "services": services });
        if let Some(v) = &p.file_version {
            file["version"] = serde_json::Value::String(v.clone());
        }
        let path = self.override_path(p.version);
        std::fs::write(&path, serde_json::to_vec_pretty(&file).expect("json")).map_err(io)
    }

    fn override_path(&self, version: u32) -> PathBuf {
        self.stack_dir().join(format!("v{version}.override.json"))
    }

    /// Keeps what the version needs to run again.
    pub fn write_manifest(&self, p: &Prepared) -> Result<()> {
        let path = self.stack_dir().join(format!("v{}.json", p.version));
        std::fs::write(path, serde_json::to_vec_pretty(p).expect("json")).map_err(io)
    }

    pub fn read_manifest(&self, version: u32) -> Result<Prepared> {
        let path = self.stack_dir().join(format!("v{version}.json"));
        let bytes = std::fs::read(&path).map_err(|_| {
            StackError::NotFound(format!(
                "version {version} of '{}' is no longer kept on berth's disk; only the newest {} are",
                self.def.name, self.def.keep_versions
            ))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| StackError::Failed(format!("version {version}'s record: {e}")))
    }

    /// Step `up`: compose up with berth's images pinned.
    pub async fn up(&self, p: &Prepared) -> Result<((), String)> {
        self.write_override(p, None)?;
        self.touched.store(true, Ordering::SeqCst);
        self.compose_run(p, &["up", "-d", "--remove-orphans", "--no-build"], true)
            .await?;
        Ok(((), format!("version {} started", p.version)))
    }

    /// `up` for a rollback: its own deadline, and not stopped by a cancel.
    pub async fn up_unbounded(&self, p: &Prepared) -> Result<()> {
        self.write_override(p, None)?;
        self.compose_run(p, &["up", "-d", "--remove-orphans", "--no-build"], false)
            .await
    }

    async fn compose_run(&self, p: &Prepared, args: &[&str], cancellable: bool) -> Result<()> {
        let host = self.host()?;
        if host.engine().address().is_none() {
            return self.compose_on_agent(&host, p, args, cancellable).await;
        }
        let compose = self.compose().await?;
        let (vars, masker) = self.env().await?;
        let target = self.target()?;
        let mut env = vars.clone();
        env.extend(self.computed(p));
        let mut files: Vec<PathBuf> = p.files.iter().map(|f| p.dir.join(f)).collect();
        // Nothing built, nothing to pin: no override (compose v1 reads an
        // override without services as a version 1 file and refuses it).
        if !p.built.is_empty() {
            files.push(self.override_path(p.version));
        }
        let project = Project {
            name: ProjectName::parse(&self.def.name).map_err(failed)?,
            dir: p.dir.clone(),
            files,
            env: env.clone(),
        };
        let _dotenv = DotEnv::write(&p.dir, &env)?;
        let out = self.out.clone();
        let mut sink = move |line: OutputLine| out.line(&line.text);
        let deadline = if cancellable {
            self.deadline
        } else {
            Instant::now() + Duration::from_secs(u64::from(self.def.timeout_s))
        };
        let mut cancel = self.cancel.clone();
        let stop_on_cancel = async move {
            if cancellable {
                let _ = cancel.wait_for(|c| *c).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let stop = Stop {
            deadline: Some(deadline),
            cancel: stop_on_cancel,
        };
        let status = compose
            .run(&target, &project, args, &mut sink, masker, stop)
            .await
            .map_err(|e| match e {
                ComposeError::TimedOut => StackError::Failed(format!(
                    "the deploy ran past its {} s timeout during `{}`",
                    self.def.timeout_s, args[0]
                )),
                e => failed(e),
            })?;
        if !status.success() {
            return Err(StackError::Failed(format!(
                "`{} {}` failed ({status}); its output is above",
                compose.describe(),
                args[0]
            )));
        }
        Ok(())
    }

    /// Compose run by the host's agent on its own machine: the version's
    /// files and the override sent along, the environment for this run.
    async fn compose_on_agent(&self, host: &Host, p: &Prepared, args: &[&str], cancellable: bool) -> Result<()> {
        let root = self.stack_dir().join(format!("v{}", p.version));
        let dir = p
            .dir
            .strip_prefix(&root)
            .map_err(|_| StackError::Failed("the project directory is outside its version".into()))?
            .to_string_lossy()
            .into_owned();
        let files = project_files(&root).map_err(io)?;
        let (vars, masker) = self.env().await?;
        let mut env = vars.clone();
        env.extend(self.computed(p));
        let deadline = if cancellable {
            self.deadline
        } else {
            Instant::now() + Duration::from_secs(u64::from(self.def.timeout_s))
        };
        let job = crate::engine::ComposeJob {
            project: self.def.name.clone(),
            version: format!("v{}", p.version),
            files,
            dir,
            compose_files: p.files.clone(),
            override_json: if p.built.is_empty() {
                String::new()
            } else {
                std::fs::read_to_string(self.override_path(p.version)).map_err(io)?
            },
            env,
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout_s: deadline.saturating_duration_since(Instant::now()).as_secs().max(1) as u32,
        };
        job.validate().map_err(StackError::Invalid)?;
        let mut items = host.engine().compose(job);
        let mut cancel = self.cancel.clone();
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);
        loop {
            let item = tokio::select! {
                item = items.next() => item,
                _ = cancel.wait_for(|c| *c), if cancellable => {
                    return Err(StackError::Failed("cancelled".into()));
                }
                () = &mut sleep => {
                    return Err(StackError::Failed(format!(
                        "the deploy ran past its {} s timeout during `{}`",
                        self.def.timeout_s, args[0]
                    )));
                }
            };
            match item {
                Some(Ok(crate::engine::ComposeItem::Started { compose })) => {
                    self.out.note(&format!("{}'s agent runs {compose}", self.def.host));
                }
                Some(Ok(crate::engine::ComposeItem::Line { text, .. })) => self.out.line(&masker.mask(&text)),
                Some(Ok(crate::engine::ComposeItem::Exit { success: true, .. })) => return Ok(()),
                Some(Ok(crate::engine::ComposeItem::Exit { status, .. })) => {
                    return Err(StackError::Failed(format!(
                        "compose {} failed on {}'s agent ({status}); its output is above",
                        args[0], self.def.host
                    )));
                }
                Some(Err(e)) => return Err(StackError::Failed(masker.mask(&e.to_string()))),
                None => {
                    return Err(StackError::Failed(format!(
                        "{}'s agent ended compose {} without saying how it went",
                        self.def.host, args[0]
                    )));
                }
            }
        }
    }

    /// Where compose reaches the host's engine.
    fn target(&self) -> Result<Target> {
        let host = self.host()?;
        let Some(address) = host.engine().address() else {
            return Err(StackError::Failed(format!(
                "{} is reached through berth agent, and deploying through an agent is not built yet: \
                 add the host's engine over TLS, or deploy on another host",
                self.def.host
            )));
        };
        let tls = match address.tls {
            None => None,
            Some(paths) => {
                let dir = self.stacks.inner.dir.join(".tls").join(&self.def.host.0);
                std::fs::create_dir_all(&dir).map_err(io)?;
                for (name, from) in [
                    ("ca.pem", &paths.ca),
                    ("cert.pem", &paths.cert),
                    ("key.pem", &paths.key),
                ] {
                    let link = dir.join(name);
                    let _ = std::fs::remove_file(&link);
                    std::os::unix::fs::symlink(from, &link).map_err(io)?;
                }
                Some(TlsFiles(dir))
            }
        };
        Ok(Target {
            docker_host: address.docker_host,
            tls,
        })
    }

    /// Step `wait`: until every service's containers are in their expected
    /// state (running, and healthy where they have a healthcheck), or the
    /// deploy's deadline; then the services that did not settle, with
    /// their last lines.
    pub async fn wait(&self, p: &Prepared) -> Result<((), String)> {
        self.wait_until(p, self.deadline).await?;
        Ok(((), format!("{} services settled", p.services.len())))
    }

    pub async fn wait_unbounded(&self, p: &Prepared) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(u64::from(self.def.timeout_s));
        self.wait_until(p, deadline).await
    }

    async fn wait_until(&self, p: &Prepared, deadline: Instant) -> Result<()> {
        let host = self.host()?;
        let mut said = String::new();
        loop {
            let containers = host.refresh().await?;
            let mut pending = Vec::new();
            let mut stuck = Vec::new();
            for service in &p.services {
                let mine: Vec<_> = containers
                    .iter()
                    .filter(|c| c.project.as_deref() == Some(&self.def.name) && c.service.as_deref() == Some(service))
                    .collect();
                if mine.is_empty() {
                    pending.push(format!("{service}: no container"));
                }
                for c in mine {
                    let expected = c.expected.unwrap_or(ExpectedState::Running);
                    let wants_health = expected == ExpectedState::Running && p.healthchecks.contains(service);
                    let healthy = !wants_health || c.health.as_deref() == Some("healthy");
                    if !expected.is_met_by(Some(&c.state)) || !healthy {
                        let health = c.health.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
                        pending.push(format!("{service}: {}{health}", c.state.as_str()));
                        stuck.push((service.clone(), c.id.clone()));
                    }
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            let now = pending.join(", ");
            if now != said {
                self.out.note(&format!("waiting for {now}"));
                said = now;
            }
            if Instant::now() >= deadline {
                self.last_lines(&host, &stuck).await;
                return Err(StackError::Failed(format!(
                    "not settled within {} s: {said}",
                    self.def.timeout_s
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The last lines of the containers that did not settle, into the output.
    async fn last_lines(&self, host: &Host, stuck: &[(String, String)]) {
        let Ok((_, masker)) = self.env().await else { return };
        for (service, id) in stuck.iter().take(10) {
            let query = LogQuery {
                tail: Some(20),
                ..LogQuery::default()
            };
            let lines = host.engine().logs(id, &query).take(20).collect::<Vec<_>>();
            let lines = tokio::time::timeout(Duration::from_secs(5), lines)
                .await
                .unwrap_or_default();
            self.out.note(&format!("last lines of {service}"));
            for line in lines.into_iter().flatten() {
                self.out.line(&format!("{service} | {}", masker.mask(&line.text)));
            }
        }
    }

    /// The image id every service runs now.
    pub async fn images(&self, p: &Prepared) -> Result<Vec<ServiceImage>> {
        let host = self.host()?;
        let containers = host.refresh().await?;
        let mut images = Vec::new();
        for service in &p.services {
            let Some(c) = containers
                .iter()
                .find(|c| c.project.as_deref() == Some(&self.def.name) && c.service.as_deref() == Some(service))
            else {
                continue;
            };
            let id = host.engine().image(&c.image).await.map(|d| d.image.id)?;
            images.push(ServiceImage {
                service: service.clone(),
                reference: c.image.clone(),
                id,
            });
        }
        Ok(images)
    }

    /// Drops the versions past the stack's `keep_versions` (the newest
    /// that succeeded, and any newer), their files and berth's images.
    pub async fn prune_versions(&self) -> Result<()> {
        let (h, n) = (self.def.host.0.clone(), self.def.name.clone());
        let history = self
            .stacks
            .inner
            .store
            .blocking(move |db| store::stack_deploys(db, &h, &n, 1000))
            .await?;
        let keep = self.def.keep_versions as usize + 1;
        let mut kept: Vec<u32> = Vec::new();
        for d in history.iter().filter(|d| d.state == DeployState::Succeeded) {
            if !kept.contains(&d.version) && kept.len() < keep {
                kept.push(d.version);
            }
        }
        let Some(&oldest_kept) = kept.iter().min() else {
            return Ok(());
        };
        let dir = self.stack_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let engine = self.host()?.engine().clone();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(v) = name.strip_prefix('v').and_then(|r| r.strip_suffix(".json")) else {
                continue;
            };
            let Ok(v) = v.parse::<u32>() else { continue };
            if v >= oldest_kept || kept.contains(&v) {
                continue;
            }
            if let Ok(p) = self.read_manifest(v) {
                for (_, reference) in &p.built {
                    let _ = engine.remove_image(reference, false).await;
                }
            }
            let _ = std::fs::remove_dir_all(dir.join(format!("v{v}")));
            let _ = std::fs::remove_file(dir.join(format!("v{v}.json")));
            let _ = std::fs::remove_file(self.override_path(v));
            self.out
                .note(&format!("dropped version {v} (keeping {})", self.def.keep_versions));
        }
        Ok(())
    }
}

/// The credential git is given, from the stored secret.
fn git_credential(kind: &crate::model::GitCredentialKind, secret: Option<String>) -> Option<git::Credential> {
    use crate::model::GitCredentialKind as K;
    match (kind, secret) {
        (K::Token { user }, Some(token)) => Some(git::Credential::Token {
            user: user.clone(),
            token,
        }),
        (K::Ssh, Some(private_key)) => Some(git::Credential::SshKey { private_key }),
        _ => None,
    }
}

/// Every regular file under `root`, for an agent (symbolic links are not sent).
fn project_files(root: &Path) -> std::io::Result<Vec<crate::engine::ProjectFile>> {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                let path = entry.path();
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                out.push(crate::engine::ProjectFile {
                    path: rel,
                    mode: entry.metadata()?.permissions().mode(),
                    data: base64::engine::general_purpose::STANDARD.encode(std::fs::read(&path)?),
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The compose file a checkout has, by compose's own default names.
fn default_file(dir: &Path) -> Result<String> {
    const NAMES: [&str; 4] = [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
    ];
    NAMES
        .iter()
        .find(|n| dir.join(n).is_file())
        .map(|n| n.to_string())
        .ok_or_else(|| {
            StackError::Invalid(format!(
                "the checkout has no compose file ({}) in {}; name the files in the stack",
                NAMES.join(", "),
                dir.display()
            ))
        })
}

/// A compose file's top-level `version`, if it has one.
fn top_level_version(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_norway::from_str(text).ok()?;
    match &value["version"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A `.env` written for one run (mode 0600) where the project has none,
/// removed when dropped.
pub(super) struct DotEnv(Option<PathBuf>);

impl DotEnv {
    pub(super) fn write(dir: &Path, env: &[(String, String)]) -> Result<DotEnv> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(".env");
        if path.exists() {
            return Ok(DotEnv(None));
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        for (k, v) in env {
            writeln!(file, "{k}={v}").map_err(io)?;
        }
        Ok(DotEnv(Some(path)))
    }
}

impl Drop for DotEnv {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn io(e: std::io::Error) -> StackError {
    StackError::Failed(format!("berth could not write the stack's files: {e}"))
}

fn failed(e: impl std::fmt::Display) -> StackError {
    StackError::Failed(e.to_string())
}
