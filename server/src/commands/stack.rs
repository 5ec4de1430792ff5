//! `berth stack ...`: lists, shows, acts on, defines and deploys the compose
//! stacks of a *running* berth through its REST API, with an API key. Each
//! call is one request of `berth_core::model::ops`; the server decides and
//! records it, this only asks and prints.
//!
//! Not here: what the operations do (`berth_core::stacks`); the tables
//! (`stack::print`).

mod print;

use super::remote::Api;
use crate::config::Config;
use anyhow::{Context, bail};
use berth_core::model::ops::{
    CancelDeploy, CreateStack, DeleteStack, DeployStack, GetDeploy, GetStack, ListStacks, RollbackStack,
    SetStackWebhook, StackAct, UpdateStack,
};
use berth_core::model::{Deploy, DeployId, DeployState, HostId, StackSpec, StackVerb};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `berth stack`: which berth to ask, with which key, and what to do.
#[derive(Debug, Args)]
pub(crate) struct StackArgs {
    #[command(subcommand)]
    command: StackCommand,
    /// The running berth, as this machine reaches it [default: http://
    /// and the listen address of the configuration, 127.0.0.1:8080]
    #[arg(long, value_name = "URL", global = true)]
    server: Option<String>,
    /// A file whose first line is your API key (berth_…; create one on
    /// your account page). Without it the key is read from the environment
    /// variable BERTH_API_KEY.
    #[arg(long, value_name = "FILE", global = true)]
    api_key_file: Option<PathBuf>,
}

/// Which stack: the host it runs on and its compose project name.
#[derive(Debug, Args)]
struct Target {
    /// The host's name in berth (`local` for the engine beside berth).
    host: String,
    /// The stack's name (its compose project name).
    name: String,
}

impl Target {
    fn host(&self) -> HostId {
        HostId(self.host.clone())
    }
}

/// A stack, and optionally one of its services.
#[derive(Debug, Args)]
struct ActArgs {
    #[command(flatten)]
    target: Target,
    /// Only this service of the stack (default: all of them).
    #[arg(long, value_name = "SERVICE")]
    service: Option<String>,
}

#[derive(Debug, Subcommand)]
enum StackCommand {
    /// List every stack on the hosts you may see: host, name, services,
    /// containers running of all, whether berth deploys it, its last deploy.
    ///
    /// Example: berth stack list --server https://berth.example.com
    List,
    /// Show one stack: its services and their containers, berth's
    /// definition of it (secret values are never shown) and its recent
    /// deploys.
    ///
    /// Example: berth stack show local shop
    Show(Target),
    /// Create and start what is missing (compose up, with the stack's
    /// compose files).
    ///
    /// Example: berth stack up local shop --service web
    Up(ActArgs),
    /// Stop and remove the stack's containers and networks (and its
    /// volumes with --volumes). Asks first unless --yes.
    ///
    /// Example: berth stack down local shop --yes
    Down {
        #[command(flatten)]
        act: ActArgs,
        /// Remove the project's volumes too: their data is lost.
        #[arg(long)]
        volumes: bool,
        /// Do not ask for confirmation (needed when standard input is not
        /// a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Stop the stack's containers, keeping them.
    ///
    /// Example: berth stack stop local shop
    Stop(ActArgs),
    /// Start the stack's stopped containers.
    ///
    /// Example: berth stack start local shop
    Start(ActArgs),
    /// Restart the stack's containers.
    ///
    /// Example: berth stack restart local shop --service worker
    Restart(ActArgs),
    /// Pull the images of the stack's services (compose pull).
    ///
    /// Example: berth stack pull local shop
    Pull(ActArgs),
    /// Define a stack berth deploys, from a JSON file: {"name", "host",
    /// "source": {"kind": "git", "url", "branch", "path", "files"} or
    /// {"kind": "inline", "compose"}, "vars": [{"name", "value",
    /// "secret"}], "timeout_s", "on_push", "keep_versions",
    /// "rollback_on_failure"}. Secrets are stored apart and never shown.
    ///
    /// Example: berth stack create --file shop.json
    Create {
        /// The stack's definition as JSON ('-' for standard input).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Replace a stack's definition with the one in a JSON file (the same
    /// shape as for create; its host and name must stay). A secret
    /// variable sent without a value keeps the stored one.
    ///
    /// Example: berth stack edit local shop --file shop.json
    Edit {
        #[command(flatten)]
        target: Target,
        /// The stack's new definition as JSON ('-' for standard input).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Forget a stack's definition, its secrets and its deploys' records.
    /// Its containers keep running (take it down first to remove them).
    ///
    /// Example: berth stack delete local shop
    Delete(Target),
    /// Deploy a stack berth defines: fetch, build, up, wait. Prints the
    /// deploy's number; with --follow, prints its output as it comes and
    /// exits 0 only when the deploy succeeded.
    ///
    /// Example: berth stack deploy local shop --follow
    Deploy {
        #[command(flatten)]
        target: Target,
        /// The commit to deploy (default: the head of the stack's branch).
        #[arg(long, value_name = "COMMIT")]
        commit: Option<String>,
        /// When another deploy of the stack is running, wait behind it
        /// instead of being refused.
        #[arg(long)]
        queue: bool,
        /// Print the deploy's output until it is done; exit 1 unless it succeeded.
        #[arg(long)]
        follow: bool,
    },
    /// List a stack's recent deploys: number, version, state, commit, times.
    ///
    /// Example: berth stack deploys local shop
    Deploys(Target),
    /// Cancel a queued or running deploy; the previous version stays running.
    ///
    /// Example: berth stack cancel local shop 42
    Cancel {
        #[command(flatten)]
        target: Target,
        /// The deploy's number (see `berth stack deploys`).
        id: u64,
    },
    /// Run the images of an earlier deploy again (no rebuild).
    ///
    /// Example: berth stack rollback local shop --to 41 --follow
    Rollback {
        #[command(flatten)]
        target: Target,
        /// The deploy whose images to run again (see `berth stack deploys`).
        #[arg(long, value_name = "ID")]
        to: u64,
        /// Print the rollback's output until it is done; exit 1 unless it succeeded.
        #[arg(long)]
        follow: bool,
    },
    /// Turn the stack's push webhook on or off. Turning it on makes a new
    /// secret, printed this once: give it and the URL to your forge.
    ///
    /// Example: berth stack webhook local shop on
    Webhook {
        #[command(flatten)]
        target: Target,
        /// on (a new secret) or off.
        state: Switch,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Switch {
    On,
    Off,
}

pub(crate) fn stack(config: Config, args: StackArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(
        &config,
        args.server.as_deref(),
        args.api_key_file.as_deref(),
        "berth stack",
        " (ask an admin for that permission on the stack's host)",
    )?;
    super::runtime()?.block_on(run(&api, args.command))
}

async fn run(api: &Api, command: StackCommand) -> anyhow::Result<ExitCode> {
    match command {
        StackCommand::List => {
            print::list(&api.send(&ListStacks {}).await?);
        }
        StackCommand::Show(t) => {
            print::show(&api.send(&get(&t)).await?);
        }
        StackCommand::Deploys(t) => {
            print::deploys(&api.send(&get(&t)).await?.deploys);
        }
        StackCommand::Up(a) => act(api, StackVerb::Up, a, false).await?,
        StackCommand::Stop(a) => act(api, StackVerb::Stop, a, false).await?,
        StackCommand::Start(a) => act(api, StackVerb::Start, a, false).await?,
        StackCommand::Restart(a) => act(api, StackVerb::Restart, a, false).await?,
        StackCommand::Pull(a) => act(api, StackVerb::Pull, a, false).await?,
        StackCommand::Down { act: a, volumes, yes } => {
            if !yes && !confirm_down(&a, volumes)? {
                bail!("not taken down: nothing was changed");
            }
            act(api, StackVerb::Down, a, volumes).await?;
        }
        StackCommand::Create { file } => {
            let spec = read_spec(&file)?;
            let made = api.send(&CreateStack { spec }).await?;
            println!(
                "created stack {} on {}; deploy it with `berth stack deploy {} {}`",
                made.name, made.host, made.host, made.name
            );
        }
        StackCommand::Edit { target, file } => {
            let spec = read_spec(&file)?;
            if spec.host.0 != target.host || spec.name != target.name {
                bail!(
                    "{} defines the stack {} on {}, not {} on {}: a stack keeps its host and name (create a new \
                     one to move it)",
                    file.display(),
                    spec.name,
                    spec.host,
                    target.name,
                    target.host
                );
            }
            let request = UpdateStack {
                host: target.host(),
                name: target.name.clone(),
                spec,
            };
            api.send(&request).await?;
            println!(
                "changed the definition of {} on {}; it applies from the next deploy",
                target.name, target.host
            );
        }
        StackCommand::Delete(t) => {
            api.send(&DeleteStack {
                host: t.host(),
                name: t.name.clone(),
            })
            .await?;
            println!(
                "berth no longer defines {} on {}; its containers stay (`berth stack down` removes them)",
                t.name, t.host
            );
        }
        StackCommand::Deploy {
            target,
            commit,
            queue,
            follow,
        } => {
            let request = DeployStack {
                host: target.host(),
                name: target.name.clone(),
                commit,
                queue,
            };
            let deploy = api.send(&request).await?;
            println!(
                "deploy {} of {} on {} is {} (version {})",
                deploy.id,
                deploy.stack,
                deploy.host,
                deploy.state.as_str(),
                deploy.version
            );
            return finish(api, &target, deploy, follow).await;
        }
        StackCommand::Cancel { target, id } => {
            api.send(&CancelDeploy {
                host: target.host(),
                name: target.name.clone(),
                id: DeployId(id),
            })
            .await?;
            println!("cancelled deploy {id}; the previous version stays running");
        }
        StackCommand::Rollback { target, to, follow } => {
            let request = RollbackStack {
                host: target.host(),
                name: target.name.clone(),
                to: DeployId(to),
            };
            let deploy = api.send(&request).await?;
            println!(
                "deploy {} puts back the images of deploy {to} ({})",
                deploy.id,
                deploy.state.as_str()
            );
            return finish(api, &target, deploy, follow).await;
        }
        StackCommand::Webhook { target, state } => {
            let request = SetStackWebhook {
                host: target.host(),
                name: target.name.clone(),
                enabled: matches!(state, Switch::On),
            };
            let set = api.send(&request).await?;
            if !set.enabled {
                println!(
                    "the webhook of {} on {} is off: pushes no longer deploy it",
                    target.name, target.host
                );
            } else {
                println!("the webhook of {} on {} is on.", target.name, target.host);
                println!("URL:    {}{}", api.base(), set.path);
                match set.secret {
                    Some(secret) => {
                        println!("secret: {secret}");
                        println!("Give both to your forge now: the secret is not shown again.");
                    }
                    None => println!("(its secret was shown when it was made; turn it off and on for a new one)"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn get(t: &Target) -> GetStack {
    GetStack {
        host: t.host(),
        name: t.name.clone(),
    }
}

async fn act(api: &Api, action: StackVerb, args: ActArgs, volumes: bool) -> anyhow::Result<()> {
    let request = StackAct {
        host: args.target.host(),
        name: args.target.name.clone(),
        action,
        service: args.service.clone(),
        volumes,
    };
    let acted = api.send(&request).await?;
    for line in &acted.output {
        println!("{line}");
    }
    let what = match &args.service {
        Some(s) => format!("service {s} of {}", args.target.name),
        None => args.target.name.clone(),
    };
    println!(
        "{} {what} on {}: {} container{}",
        action.as_str(),
        args.target.host,
        acted.containers,
        if acted.containers == 1 { "" } else { "s" }
    );
    Ok(())
}

/// Asks on the terminal before a down; refuses when there is none to ask on.
fn confirm_down(args: &ActArgs, volumes: bool) -> anyhow::Result<bool> {
    let t = &args.target;
    let what = match &args.service {
        Some(s) => format!("the containers of service {s} of {} on {}", t.name, t.host),
        None => format!("the containers and networks of {} on {}", t.name, t.host),
    };
    let volumes = if volumes {
        ", and its volumes with their data,"
    } else {
        ""
    };
    if !std::io::stdin().is_terminal() {
        bail!("`berth stack down` removes {what}{volumes}: pass --yes to do it without being asked");
    }
    print!("Remove {what}{volumes}? [y/N] ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer")?;
    Ok(matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// A stack's definition from a JSON file (or standard input), checked as
/// the server would check it.
fn read_spec(file: &Path) -> anyhow::Result<StackSpec> {
    let text = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the definition from standard input")?;
        text
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let spec: StackSpec = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a stack definition (`berth stack create --help` shows its shape)",
            file.display()
        )
    })?;
    spec.validate()
        .map_err(|why| anyhow::anyhow!("{}: {why}", file.display()))?;
    Ok(spec)
}

/// After a deploy or rollback was queued: done, or (with `follow`) its
/// output printed as it comes until it ends; 0 only when it succeeded.
async fn finish(api: &Api, target: &Target, deploy: Deploy, follow: bool) -> anyhow::Result<ExitCode> {
    if !follow {
        println!(
            "`berth stack deploys {} {}` shows how it goes (or add --follow)",
            target.host, target.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let request = GetDeploy {
        host: target.host(),
        name: target.name.clone(),
        id: deploy.id,
    };
    let mut printed = 0;
    let mut failures = 0;
    loop {
        let detail = match api.send(&request).await {
            Ok(d) => d,
            // A moment without berth does not stop the deploy: try again
            // a few times before giving up on watching it.
            Err(e) if failures < 5 => {
                failures += 1;
                eprintln!("berth: {e:#}; asking again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                return Err(e.context(format!(
                    "stopped following deploy {}; it goes on in berth (`berth stack deploys {} {}`)",
                    deploy.id, target.host, target.name
                )));
            }
        };
        failures = 0;
        printed = print_new(&detail.log, printed);
        let d = &detail.deploy;
        if d.state.is_done() {
            if !detail.log.is_empty() && !detail.log.ends_with('\n') {
                println!();
            }
            if detail.truncated {
                println!("(output past berth's limit per deploy was not kept)");
            }
            let why = d.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
            println!("deploy {} {}{why}", d.id, d.state.as_str());
            return Ok(if d.state == DeployState::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Prints what `log` holds past the first `printed` bytes; how much is printed now.
fn print_new(log: &str, printed: usize) -> usize {
    let new = log.get(printed..).unwrap_or(log);
    if !new.is_empty() {
        print!("{new}");
        std::io::stdout().flush().ok();
    }
    log.len()
}
