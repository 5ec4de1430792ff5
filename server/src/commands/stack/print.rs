//! The tables `berth stack list|show|deploys` print. A stack's secret
//! values never reach here: berth's answers carry none, and a secret
//! variable is printed by name only.

use berth_core::model::{DeploySummary, Stack, StackSource, StackView, format_ts};
use std::fmt::Write;

/// `berth stack list`.
pub(super) fn list(stacks: &[Stack]) {
    print!("{}", list_text(stacks));
}

fn list_text(stacks: &[Stack]) -> String {
    if stacks.is_empty() {
        return "no stacks on the hosts you may see (`berth stack create` defines one berth deploys)\n".into();
    }
    let host_w = width(stacks.iter().map(|s| s.host.0.len()), "HOST");
    let name_w = width(stacks.iter().map(|s| s.name.len()), "NAME");
    let mut out = format!(
        "{:<host_w$}  {:<name_w$}  {:>8}  {:>7}  {:<7}  LAST DEPLOY\n",
        "HOST", "NAME", "SERVICES", "RUNNING", "MANAGED"
    );
    for s in stacks {
        let (up, all) = s.running();
        let last = match &s.last_deploy {
            Some(d) => format!(
                "{} {} {}",
                d.id,
                d.state.as_str(),
                when(d.finished_ns.unwrap_or(d.queued_ns))
            ),
            None => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<host_w$}  {:<name_w$}  {:>8}  {:>7}  {:<7}  {last}",
            s.host.0,
            s.name,
            s.services.len(),
            format!("{up}/{all}"),
            if s.managed { "yes" } else { "no" },
        );
    }
    out
}

/// `berth stack show`.
pub(super) fn show(view: &StackView) {
    print!("{}", show_text(view));
}

fn show_text(view: &StackView) -> String {
    let s = &view.stack;
    let (up, all) = s.running();
    let mut out = format!("stack {} on {}: {up} of {all} containers running\n", s.name, s.host);
    if let Some(files) = &s.config_files {
        let _ = writeln!(out, "compose files: {files}");
    }
    if let Some(dir) = &s.working_dir {
        let _ = writeln!(out, "directory:     {dir}");
    }

    out.push_str("\nSERVICES\n");
    if s.services.is_empty() {
        out.push_str("  (no containers)\n");
    }
    for service in &s.services {
        let expected = service
            .expected
            .map(|e| format!(" (expected {})", e.as_str()))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}{expected}", service.name);
        for c in &service.containers {
            let _ = writeln!(
                out,
                "    {:<30}  {:<10}  {:<28}  {}",
                c.name,
                c.state.as_str(),
                c.status,
                c.image
            );
        }
    }

    out.push_str("\nDEFINITION\n");
    match &view.definition {
        None => out.push_str("  none: berth did not deploy this stack, it only sees its containers\n"),
        Some(d) => {
            match &d.source {
                StackSource::Git {
                    url,
                    branch,
                    path,
                    files,
                    ..
                } => {
                    let _ = writeln!(out, "  source:   git {url} branch {branch}");
                    if !path.is_empty() {
                        let _ = writeln!(out, "  path:     {path}");
                    }
                    if !files.is_empty() {
                        let _ = writeln!(out, "  files:    {}", files.join(", "));
                    }
                }
                StackSource::Inline { compose } => {
                    let _ = writeln!(
                        out,
                        "  source:   compose file written in berth ({} lines)",
                        compose.lines().count()
                    );
                }
            }
            for v in &d.vars {
                match (&v.value, v.secret) {
                    _ if v.computed.is_some() => {
                        let kind = v.computed.map(|c| c.as_str()).unwrap_or_default();
                        let _ = writeln!(out, "  var:      {} (worked out at each deploy: {kind})", v.name);
                    }
                    (Some(value), false) => {
                        let _ = writeln!(out, "  var:      {}={value}", v.name);
                    }
                    _ => {
                        let _ = writeln!(out, "  var:      {} (secret, not shown)", v.name);
                    }
                }
            }
            let _ = writeln!(
                out,
                "  deploys:  time out after {} s, keep {} versions, roll back on failure: {}",
                d.timeout_s,
                d.keep_versions,
                yes_no(d.rollback_on_failure)
            );
            let _ = writeln!(
                out,
                "  webhook:  {}, deploy on push: {}",
                if d.webhook { "on" } else { "off" },
                yes_no(d.on_push)
            );
            let _ = writeln!(out, "  created:  by {} at {}", d.created_by, when(d.created_ns));
        }
    }

    out.push_str("\nRECENT DEPLOYS\n");
    out.push_str(&deploys_text(&view.deploys[..view.deploys.len().min(10)]));
    out
}

/// `berth stack deploys`.
pub(super) fn deploys(deploys: &[DeploySummary]) {
    print!("{}", deploys_text(deploys));
}

fn deploys_text(deploys: &[DeploySummary]) -> String {
    if deploys.is_empty() {
        return "  none yet\n".into();
    }
    let mut out = format!(
        "  {:>6}  {:>7}  {:<11}  {:<12}  {:<19}  FINISHED\n",
        "ID", "VERSION", "STATE", "COMMIT", "QUEUED"
    );
    for d in deploys {
        let commit: String = d.commit.as_deref().unwrap_or("-").chars().take(12).collect();
        let _ = writeln!(
            out,
            "  {:>6}  {:>7}  {:<11}  {:<12}  {:<19}  {}",
            d.id.0,
            d.version,
            d.state.as_str(),
            commit,
            when(d.queued_ns),
            d.finished_ns.map(when).unwrap_or_else(|| "-".into())
        );
    }
    out
}

/// A column's width: its widest cell or its heading.
fn width(cells: impl Iterator<Item = usize>, heading: &str) -> usize {
    cells.max().unwrap_or(0).max(heading.len())
}

/// `2026-11-22 09:05:01` (UTC), short enough for a table.
fn when(ns: i64) -> String {
    let full = format_ts(ns);
    full.get(..19).unwrap_or(&full).to_string()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::{
        Container, ContainerState, DeployId, DeployState, HostId, StackDefinition, StackService, StackVar,
    };

    fn shop() -> Stack {
        let c = |name: &str, state| Container {
            name: name.into(),
            image: "shop/web:3".into(),
            state,
            ..Container::default()
        };
        Stack {
            host: HostId("web-1".into()),
            name: "shop".into(),
            services: vec![StackService {
                name: "web".into(),
                containers: vec![
                    c("shop-web-1", ContainerState::Running),
                    c("shop-web-2", ContainerState::Exited),
                ],
                expected: None,
            }],
            config_files: None,
            working_dir: None,
            managed: true,
            last_deploy: Some(DeploySummary {
                id: DeployId(7),
                version: 3,
                commit: Some("0123456789abcdef".into()),
                state: DeployState::Succeeded,
                queued_ns: 0,
                finished_ns: Some(1_000_000_000),
            }),
        }
    }

    #[test]
    fn the_list_has_a_row_per_stack_and_says_when_there_is_none() {
        assert!(list_text(&[]).starts_with("no stacks"));
        let text = list_text(&[shop()]);
        let row = text.lines().nth(1).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[..5], ["web-1", "shop", "1", "1/2", "yes"], "{text}");
        assert!(row.contains("7 succeeded 1970-01-01 00:00:01"), "{text}");
    }

    #[test]
    fn show_names_secrets_without_their_values() {
        let view = StackView {
            stack: shop(),
            definition: Some(StackDefinition {
                name: "shop".into(),
                host: HostId("web-1".into()),
                source: StackSource::Inline {
                    compose: "services:\n  web:\n    image: shop/web:3\n".into(),
                },
                vars: vec![
                    StackVar {
                        name: "MODE".into(),
                        value: Some("prod".into()),
                        secret: false,
                        computed: None,
                    },
                    StackVar {
                        name: "TOKEN".into(),
                        value: Some("must-not-show".into()),
                        secret: true,
                        computed: None,
                    },
                ],
                timeout_s: 300,
                on_push: false,
                keep_versions: 5,
                rollback_on_failure: true,
                webhook: false,
                created_by: "admin".into(),
                created_ns: 0,
                next_version: 4,
            }),
            deploys: vec![shop().last_deploy.unwrap()],
        };
        let text = show_text(&view);
        assert!(
            text.contains("MODE=prod") && text.contains("TOKEN (secret, not shown)"),
            "{text}"
        );
        assert!(!text.contains("must-not-show"), "{text}");
        assert!(text.contains("shop-web-2") && text.contains("exited"), "{text}");
        assert!(text.contains("0123456789ab "), "{text}");
    }
}
