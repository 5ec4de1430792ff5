//! Stacks: compose projects on every host, and deploys from git.
//!
//! - `compose`: the compose command line (`docker compose`, else
//!   `docker-compose`), run against a host's engine, its output streamed.
//! - `mask`: secret values masked in every stream berth keeps or shows,
//!   including values that span two chunks.
//! - `git`: fetching a repository's commit into a checkout, with
//!   credentials that never reach a command line or a log.
//! - `webhook`: checking a push delivery's signature (GitHub, Gitea,
//!   GitLab) over the raw body, and reading what it asks for.

pub mod compose;
pub mod git;
pub mod mask;
pub mod webhook;
