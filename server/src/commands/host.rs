//! `berth host add|list|rename|disable|enable|remove|accept-fingerprint`:
//! manages the hosts of a *running* berth through its REST API, with an
//! admin's API key, so it works while the server holds the database. The
//! server decides and records each call; this only asks and prints.
//!
//! Not here: what the operations do (`berth_core::hosts::HostAdmin`).

use super::remote::Api;
use crate::cli::{HostArgs, HostCommand};
use crate::config::{Config, read_token};
use anyhow::{Context, anyhow, bail};
use axum::http::Method;
use berth_core::model::{HostEntry, HostOrigin};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn host(config: Config, args: HostArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(
        &config,
        args.server.as_deref(),
        args.api_key_file.as_deref(),
        "berth host",
        " (`berth host` needs an admin's API key)",
    )?;
    super::runtime()?.block_on(async move {
        match args.command {
            HostCommand::Add {
                name,
                agent,
                token_file,
                fingerprint,
            } => add(&api, &name, &agent, &token_file, fingerprint).await,
            HostCommand::List => list(&api).await,
            HostCommand::Rename { name, new_name } => {
                api.call(Method::PATCH, &host_path(&name), Some(json!({ "name": new_name })))
                    .await?;
                println!("renamed host {name} to {new_name}; the grants that named it follow it");
                Ok(ExitCode::SUCCESS)
            }
            HostCommand::Disable { name } => {
                api.call(Method::PATCH, &host_path(&name), Some(json!({ "enabled": false })))
                    .await?;
                println!("disabled host {name}: berth no longer connects to it (`berth host enable {name}` undoes it)");
                Ok(ExitCode::SUCCESS)
            }
            HostCommand::Enable { name } => {
                api.call(Method::PATCH, &host_path(&name), Some(json!({ "enabled": true })))
                    .await?;
                println!("enabled host {name}: berth connects to it again");
                Ok(ExitCode::SUCCESS)
            }
            HostCommand::Remove { name } => {
                api.call(Method::DELETE, &host_path(&name), None).await?;
                println!("removed host {name}; its history stays in the event log");
                Ok(ExitCode::SUCCESS)
            }
            HostCommand::AcceptFingerprint { name, fingerprint } => {
                let path = format!("{}/fingerprint", host_path(&name));
                api.call(Method::POST, &path, Some(json!({ "fingerprint": fingerprint })))
                    .await?;
                println!("host {name} now pins {fingerprint}; berth reconnects to it");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// `/api/v1/hosts/NAME`; a name that is no host name is refused by the
/// server, so it only needs to stay inside its path segment here.
fn host_path(name: &str) -> String {
    let safe: String = name
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("/api/v1/hosts/{safe}")
}

async fn add(
    api: &Api,
    name: &str,
    agent: &str,
    token_file: &Path,
    fingerprint: Option<String>,
) -> anyhow::Result<ExitCode> {
    let token = read_token(token_file).map_err(anyhow::Error::msg)?;
    let fingerprint = match fingerprint {
        Some(f) => f,
        None => {
            let probed = api
                .call(Method::POST, "/api/v1/hosts/probe", Some(json!({ "url": agent })))
                .await?;
            let seen = probed["fingerprint"]
                .as_str()
                .ok_or_else(|| anyhow!("berth answered the probe without a fingerprint"))?
                .to_string();
            println!("The agent at {agent} presents the certificate\n  {seen}");
            if !confirm()? {
                bail!(
                    "not added. Compare that fingerprint with the one `berth agent init` printed on the agent's \
                     machine (or `berth agent --dir DIR` logs at start), then pass it with --fingerprint"
                );
            }
            seen
        }
    };
    let body = json!({ "name": name, "url": agent, "token": token, "fingerprint": fingerprint });
    let added: HostEntry = serde_json::from_value(api.call(Method::POST, "/api/v1/hosts", Some(body)).await?)
        .context("berth answered with something that is not a host")?;
    println!(
        "added host {} ({}, {})",
        added.id,
        added.address.as_deref().unwrap_or(agent),
        added.fingerprint.as_deref().unwrap_or(&fingerprint)
    );
    println!("berth is connecting to it; `berth host list` shows whether it is reachable.");
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal whether the probed fingerprint is the right one;
/// refuses when there is no terminal to ask on.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not added: without --fingerprint berth asks you to confirm the fingerprint above, and standard \
             input is not a terminal. Check it against what `berth agent init` printed on the agent's machine \
             and pass it with --fingerprint"
        );
    }
    print!("Is this the fingerprint `berth agent init` printed on that machine? [y/N] ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer")?;
    Ok(matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}

async fn list(api: &Api) -> anyhow::Result<ExitCode> {
    let page = api.call(Method::GET, "/api/v1/hosts/entries?limit=1000", None).await?;
    let entries: Vec<HostEntry> = serde_json::from_value(page["items"].clone())
        .context("berth answered with something that is not a list of hosts")?;
    if entries.is_empty() {
        println!("no hosts you may see");
        return Ok(ExitCode::SUCCESS);
    }
    let width = entries.iter().map(|e| e.id.0.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<6}  {:<9}  {:<11}  {:<28}  FINGERPRINT",
        "NAME", "ORIGIN", "TRANSPORT", "STATE", "ADDRESS"
    );
    for e in &entries {
        let state = if !e.enabled {
            "disabled"
        } else if e.status.reachable {
            "reachable"
        } else {
            "unreachable"
        };
        let transport = serde_json::to_value(e.transport)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!(
            "{:<width$}  {:<6}  {:<9}  {:<11}  {:<28}  {}",
            e.id.0,
            e.origin.as_str(),
            transport,
            state,
            e.address.as_deref().unwrap_or("-"),
            e.fingerprint.as_deref().unwrap_or("-"),
        );
        if e.enabled
            && !e.status.reachable
            && let Some(why) = &e.status.error
        {
            println!("{:<width$}  why: {why}", "");
        }
    }
    if entries.iter().any(|e| e.origin == HostOrigin::Config) {
        println!("\nHosts from the configuration file ([[hosts]]) are changed there, not with `berth host`.");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_stays_in_its_path_segment() {
        assert_eq!(host_path("db-1"), "/api/v1/hosts/db-1");
        assert_eq!(host_path("a/../b"), "/api/v1/hosts/a%2F..%2Fb");
        assert_eq!(host_path("x?y"), "/api/v1/hosts/x%3Fy");
    }
}
