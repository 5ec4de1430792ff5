//! Push webhooks from git forges: which forge sent a delivery, whether its
//! signature (GitLab: its token) holds over the raw body, what a push asks
//! for, and the one rule (`decide`) that turns that into a verdict.
//! Not here: the HTTP route, remembering deliveries, or the deploy itself.
//!
//! The caller records every delivery, refused ones too, so `verify` returns
//! the body's SHA-256 beside its result rather than inside it.

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt;

const HUB_SIGNATURE: &str = "X-Hub-Signature-256";
const GITEA_SIGNATURE: &str = "X-Gitea-Signature";
const FORGEJO_SIGNATURE: &str = "X-Forgejo-Signature";
const GITLAB_TOKEN: &str = "X-Gitlab-Token";

/// The longest delivery id kept; forges send UUIDs (36 characters).
pub const MAX_DELIVERY_ID: usize = 128;
const MAX_EVENT: usize = 64;
const MAX_REF: usize = 1024;

/// Who sent a delivery, told apart by its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    /// Gitea and Forgejo, which share their headers and payloads.
    Gitea,
    GitLab,
    /// Anything else that signs like GitHub (`X-Hub-Signature-256`), with
    /// `X-Berth-Event` and `X-Berth-Delivery`.
    Generic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::Gitea => "gitea",
            Self::GitLab => "gitlab",
            Self::Generic => "generic",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::GitHub => "GitHub",
            Self::Gitea => "Gitea or Forgejo",
            Self::GitLab => "GitLab",
            Self::Generic => "the sender",
        }
    }

    fn signature_header(self) -> &'static str {
        match self {
            Self::GitHub | Self::Generic => HUB_SIGNATURE,
            Self::Gitea => GITEA_SIGNATURE,
            Self::GitLab => GITLAB_TOKEN,
        }
    }

    /// Headers only this provider sends. Gitea and Forgejo also send
    /// GitHub's (`X-GitHub-Event`, `X-Hub-Signature-256`), so `detect`
    /// lets theirs win over GitHub's.
    fn markers(self) -> &'static [&'static str] {
        match self {
            Self::GitHub => &["X-GitHub-Event", "X-GitHub-Delivery"],
            Self::Gitea => &[
                "X-Gitea-Event",
                "X-Gitea-Delivery",
                GITEA_SIGNATURE,
                "X-Forgejo-Event",
                "X-Forgejo-Delivery",
                FORGEJO_SIGNATURE,
            ],
            Self::GitLab => &["X-Gitlab-Event", "X-Gitlab-Event-UUID", GITLAB_TOKEN],
            Self::Generic => &["X-Berth-Event", "X-Berth-Delivery"],
        }
    }
}

/// The SHA-256 of a delivery's raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDigest(pub [u8; 32]);

impl BodyDigest {
    pub fn of(body: &[u8]) -> Self {
        Self(Sha256::digest(body).into())
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A forge's id for one delivery (the same over its retries): 1 to 128
/// visible ASCII characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() > MAX_DELIVERY_ID {
            Err("is longer than 128 characters")
        } else if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
            Err("is not 1 to 128 visible ASCII characters")
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A commit's full id: 40 (SHA-1) or 64 (SHA-256) hex digits, lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitId(String);

impl CommitId {
    pub fn parse(s: &str) -> Option<Self> {
        let hex = (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| Self(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventType {
    Push,
    Ping,
    /// Any other event, as the forge named it (`issues`, `Tag Push Hook`).
    Other(String),
}

impl EventType {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Push => "push",
            Self::Ping => "ping",
            Self::Other(name) => name,
        }
    }

    fn parse(provider: Provider, name: &str) -> Self {
        match (provider, name) {
            (Provider::GitLab, "Push Hook") => Self::Push,
            (Provider::GitLab, _) => Self::Other(name.to_owned()),
            (_, "push") => Self::Push,
            (_, "ping") => Self::Ping,
            _ => Self::Other(name.to_owned()),
        }
    }
}

/// A delivery whose signature held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub provider: Provider,
    pub event: EventType,
    /// None when the forge sent none.
    pub delivery_id: Option<DeliveryId>,
    pub body_sha256: BodyDigest,
}

/// Why a delivery was refused. Nothing here echoes what was sent as a
/// signature or token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No signature, or an empty one (None: no forge's headers at all).
    #[error("{}", unsigned_message(*.provider))]
    Unsigned { provider: Option<Provider> },
    #[error(
        "this stack has no webhook secret, so no delivery can be trusted: set one on the stack and the same one in the forge's webhook"
    )]
    NoSecret,
    #[error("{}", bad_signature_message(*.provider))]
    BadSignature { provider: Provider },
    #[error("the {header} header {why}")]
    MalformedSignature { header: &'static str, why: &'static str },
    #[error(
        "the request carries the headers of {}: berth will not guess which forge sent it; send one forge's headers only",
        names(.providers)
    )]
    AmbiguousProvider { providers: Vec<Provider> },
    #[error("the {header} header {why}: a delivery id is 1 to 128 visible ASCII characters")]
    BadDeliveryId { header: &'static str, why: &'static str },
    /// A header repeated, not ASCII, missing or too long.
    #[error("the {header} header {why}")]
    BadHeader { header: &'static str, why: &'static str },
}

impl Refusal {
    /// The HTTP status to answer with: 401 when unsigned, 403 when the
    /// signature does not hold (or cannot), 400 for a malformed request.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unsigned { .. } => 401,
            Self::NoSecret | Self::BadSignature { .. } => 403,
            Self::MalformedSignature { .. }
            | Self::AmbiguousProvider { .. }
            | Self::BadDeliveryId { .. }
            | Self::BadHeader { .. } => 400,
        }
    }

    /// The refusal's name in the event log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unsigned { .. } => "unsigned",
            Self::NoSecret => "no_secret",
            Self::BadSignature { .. } => "bad_signature",
            Self::MalformedSignature { .. } => "malformed_signature",
            Self::AmbiguousProvider { .. } => "ambiguous_provider",
            Self::BadDeliveryId { .. } => "bad_delivery_id",
            Self::BadHeader { .. } => "bad_header",
        }
    }
}

fn unsigned_message(provider: Option<Provider>) -> String {
    let Some(p) = provider else {
        return "the request carries no webhook signature: berth reads X-Hub-Signature-256 (GitHub or a generic sender), \
                X-Gitea-Signature (Gitea, Forgejo) or X-Gitlab-Token (GitLab)"
            .to_owned();
    };
    let what = match p {
        Provider::GitHub => "configure the webhook's secret in GitHub",
        Provider::Gitea => "set the webhook's secret in Gitea or Forgejo",
        Provider::GitLab => "set the webhook's secret token in GitLab",
        Provider::Generic => "sign each delivery with sha256=<hex HMAC-SHA256 of the body> under the stack's secret",
    };
    format!("the {} header is missing or empty: {what}", p.signature_header())
}

fn bad_signature_message(p: Provider) -> String {
    if p == Provider::GitLab {
        return format!(
            "the {GITLAB_TOKEN} header is not this stack's webhook secret: set the stack's secret as the webhook's secret token in GitLab"
        );
    }
    format!(
        "the {} header does not match the body under this stack's webhook secret: make the webhook's secret in {} the stack's secret",
        p.signature_header(),
        p.name()
    )
}

fn names(providers: &[Provider]) -> String {
    let names: Vec<_> = providers.iter().map(|p| p.name()).collect();
    names.join(" and ")
}

/// Checks a delivery: who sent it, its signature over `body` under the
/// stack's `secret`, its event and delivery id. The body's digest comes back
/// whatever the result, for the record.
pub fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> (BodyDigest, Result<Delivery, Refusal>) {
    let digest = BodyDigest::of(body);
    let checked = detect(headers).and_then(|provider| {
        authenticate(provider, headers, body, secret)?;
        Ok(Delivery {
            provider,
            event: event(provider, headers)?,
            delivery_id: delivery_id(provider, headers)?,
            body_sha256: digest,
        })
    });
    (digest, checked)
}

fn detect(headers: &HeaderMap) -> Result<Provider, Refusal> {
    let all = [Provider::GitHub, Provider::Gitea, Provider::GitLab, Provider::Generic];
    let mut found: Vec<Provider> = all
        .into_iter()
        .filter(|p| p.markers().iter().any(|h| headers.contains_key(*h)))
        .collect();
    if found.contains(&Provider::Gitea) {
        found.retain(|p| *p != Provider::GitHub);
    }
    match found[..] {
        [] if headers.contains_key(HUB_SIGNATURE) => Ok(Provider::Generic),
        [] => Err(Refusal::Unsigned { provider: None }),
        [one] => Ok(one),
        _ => Err(Refusal::AmbiguousProvider { providers: found }),
    }
}

/// One header's value, trimmed; None when absent or empty.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<Option<&'h str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(Refusal::BadHeader {
            header: name,
            why: "is sent more than once",
        });
    }
    let value = value
        .to_str()
        .map_err(|_| Refusal::BadHeader {
            header: name,
            why: "is not ASCII",
        })?
        .trim();
    Ok((!value.is_empty()).then_some(value))
}

fn authenticate(provider: Provider, headers: &HeaderMap, body: &[u8], secret: &[u8]) -> Result<(), Refusal> {
    let unsigned = Refusal::Unsigned {
        provider: Some(provider),
    };
    match provider {
        Provider::GitHub | Provider::Generic => {
            let value = header(headers, HUB_SIGNATURE)?.ok_or(unsigned.clone())?;
            let hex = value.strip_prefix("sha256=").ok_or(Refusal::MalformedSignature {
                header: HUB_SIGNATURE,
                why: "does not start with sha256=",
            })?;
            if hex.is_empty() {
                return Err(unsigned);
            }
            check_mac(provider, HUB_SIGNATURE, hex, body, secret)
        }
        Provider::Gitea => {
            // Forgejo sends both; each one sent must hold.
            let gitea = header(headers, GITEA_SIGNATURE)?.map(|s| (GITEA_SIGNATURE, s));
            let forgejo = header(headers, FORGEJO_SIGNATURE)?.map(|s| (FORGEJO_SIGNATURE, s));
            if gitea.is_none() && forgejo.is_none() {
                return Err(unsigned);
            }
            gitea
                .into_iter()
                .chain(forgejo)
                .try_for_each(|(h, hex)| check_mac(provider, h, hex, body, secret))
        }
        Provider::GitLab => {
            let token = header(headers, GITLAB_TOKEN)?.ok_or(unsigned)?;
            if secret.is_empty() {
                return Err(Refusal::NoSecret);
            }
            // HMAC both under one key and compare the tags in constant time:
            // neither the secret's bytes nor its length show in the timing.
            let tag = tag_of(b"berth gitlab token", secret);
            let mut given = new_mac(b"berth gitlab token");
            given.update(token.as_bytes());
            given.verify_slice(&tag).map_err(|_| Refusal::BadSignature { provider })
        }
    }
}

fn check_mac(provider: Provider, header: &'static str, hex: &str, body: &[u8], secret: &[u8]) -> Result<(), Refusal> {
    let mut claimed = [0u8; 32];
    hex::decode_to_slice(hex, &mut claimed).map_err(|_| Refusal::MalformedSignature {
        header,
        why: "is not 64 hex digits (an HMAC-SHA256)",
    })?;
    if secret.is_empty() {
        return Err(Refusal::NoSecret);
    }
    let mut mac = new_mac(secret);
    mac.update(body);
    mac.verify_slice(&claimed)
        .map_err(|_| Refusal::BadSignature { provider })
}

fn new_mac(key: &[u8]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes a key of any length.
        Err(_) => unreachable!("HMAC-SHA256 refused a key"),
    }
}

fn tag_of(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn event(provider: Provider, headers: &HeaderMap) -> Result<EventType, Refusal> {
    let (name, h) = match provider {
        Provider::GitHub => (header(headers, "X-GitHub-Event")?, "X-GitHub-Event"),
        Provider::Gitea => match header(headers, "X-Gitea-Event")? {
            Some(name) => (Some(name), "X-Gitea-Event"),
            None => (header(headers, "X-Forgejo-Event")?, "X-Forgejo-Event"),
        },
        Provider::GitLab => (header(headers, "X-Gitlab-Event")?, "X-Gitlab-Event"),
        Provider::Generic => (
            Some(header(headers, "X-Berth-Event")?.unwrap_or("push")),
            "X-Berth-Event",
        ),
    };
    let name = name.ok_or(Refusal::BadHeader {
        header: h,
        why: "is missing: it names the event delivered",
    })?;
    if name.len() > MAX_EVENT {
        return Err(Refusal::BadHeader {
            header: h,
            why: "is longer than 64 characters",
        });
    }
    Ok(EventType::parse(provider, name))
}

fn delivery_id(provider: Provider, headers: &HeaderMap) -> Result<Option<DeliveryId>, Refusal> {
    // GitLab's Idempotency-Key stays the same over retries; its event UUID
    // may not.
    let candidates: &[&'static str] = match provider {
        Provider::GitHub => &["X-GitHub-Delivery"],
        Provider::Gitea => &["X-Gitea-Delivery", "X-Forgejo-Delivery"],
        Provider::GitLab => &["Idempotency-Key", "X-Gitlab-Event-UUID"],
        Provider::Generic => &["X-Berth-Delivery"],
    };
    for &h in candidates {
        if let Some(id) = header(headers, h)? {
            return DeliveryId::parse(id)
                .map(Some)
                .map_err(|why| Refusal::BadDeliveryId { header: h, why });
        }
    }
    Ok(None)
}

/// What a push asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The full ref pushed (`refs/heads/main`).
    pub git_ref: String,
    /// The branch, for `refs/heads/...`.
    pub branch: Option<String>,
    /// The tag, for `refs/tags/...`.
    pub tag: Option<String>,
    /// The head commit after the push; None when the ref was deleted.
    pub commit: Option<CommitId>,
    /// The head commit's message ("" when the forge sent none).
    pub message: String,
    pub pusher: Option<String>,
    pub deleted: bool,
}

impl Push {
    /// `[skip deploy]` or `[deploy skip]` in the head commit's message, in
    /// any case.
    pub fn skip_requested(&self) -> bool {
        let message = self.message.to_lowercase();
        message.contains("[skip deploy]") || message.contains("[deploy skip]")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("the push body is not a push payload berth can read: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the push body has no \"ref\": only push events name the branch they update")]
    NoRef,
    #[error("the push body's \"ref\" {0}")]
    BadRef(&'static str),
    #[error("the push body's \"{0}\" is not a commit id (40 or 64 hex digits)")]
    BadCommit(&'static str),
    #[error("the push body names no head commit (\"after\", \"checkout_sha\" or \"head_commit\")")]
    NoCommit,
}

impl PushError {
    /// Every push error is the sender's: 400.
    pub fn status(&self) -> u16 {
        400
    }
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    after: Option<String>,
    checkout_sha: Option<String>,
    deleted: Option<bool>,
    head_commit: Option<PayloadCommit>,
    commits: Option<Vec<PayloadCommit>>,
    pusher: Option<Pusher>,
    user_username: Option<String>,
    user_name: Option<String>,
}

#[derive(Deserialize)]
struct PayloadCommit {
    id: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Pusher {
    login: Option<String>,
    username: Option<String>,
    name: Option<String>,
}

/// Reads a push payload (GitHub's shape for a generic sender).
pub fn read_push(provider: Provider, body: &[u8]) -> Result<Push, PushError> {
    let p: Payload = serde_json::from_slice(body)?;
    let git_ref = p.git_ref.ok_or(PushError::NoRef)?;
    if git_ref.len() > MAX_REF || git_ref.chars().any(char::is_control) {
        return Err(PushError::BadRef(
            "is longer than 1024 bytes or holds control characters",
        ));
    }
    let branch = git_ref.strip_prefix("refs/heads/").map(str::to_owned);
    let tag = git_ref.strip_prefix("refs/tags/").map(str::to_owned);
    if branch.as_deref() == Some("") || tag.as_deref() == Some("") {
        return Err(PushError::BadRef("names no branch or tag"));
    }

    let head_id = p.head_commit.as_ref().and_then(|c| c.id.clone());
    let head = match provider {
        Provider::GitLab => [("checkout_sha", p.checkout_sha), ("after", p.after)],
        _ => [("after", p.after), ("head_commit.id", head_id)],
    }
    .into_iter()
    .find_map(|(field, id)| id.filter(|id| !id.is_empty()).map(|id| (field, id)));
    let zeros = head.as_ref().is_some_and(|(_, id)| id.bytes().all(|b| b == b'0'));
    let deleted = zeros || p.deleted == Some(true);
    let commit = match head {
        _ if deleted => None,
        Some((field, id)) => Some(CommitId::parse(&id).ok_or(PushError::BadCommit(field))?),
        None => return Err(PushError::NoCommit),
    };

    let commits = p.commits.unwrap_or_default();
    let from_commits = commit
        .as_ref()
        .and_then(|c| {
            commits
                .iter()
                .rev()
                .find(|x| x.id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(c.as_str())))
        })
        .or(commits.last())
        .and_then(|c| c.message.clone());
    let from_head = p.head_commit.and_then(|c| c.message);
    let message = match provider {
        Provider::GitHub | Provider::Generic => from_head.or(from_commits),
        Provider::Gitea | Provider::GitLab => from_commits.or(from_head),
    };

    let pusher = p
        .pusher
        .and_then(|u| u.login.or(u.username).or(u.name))
        .or(p.user_username)
        .or(p.user_name);
    Ok(Push {
        git_ref,
        branch,
        tag,
        commit,
        message: message.unwrap_or_default(),
        pusher: pusher.filter(|u| !u.is_empty()),
        deleted,
    })
}

/// What berth did with a delivery whose signature held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Deploy {
        commit: CommitId,
    },
    /// A ping answered; nothing deployed.
    Pong,
    OtherBranch {
        branch: String,
    },
    /// The head commit asked not to be deployed.
    Skipped,
    /// This delivery id was handled before.
    Duplicate,
    Ignored {
        why: IgnoreReason,
    },
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Deploy { .. } => "deploy",
            Self::Pong => "pong",
            Self::OtherBranch { .. } => "other_branch",
            Self::Skipped => "skipped",
            Self::Duplicate => "duplicate",
            Self::Ignored { .. } => "ignored",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreReason {
    #[error("a {0:?} event, not a push")]
    NotPush(String),
    #[error("a push of tag {0}")]
    Tag(String),
    #[error("{0} was deleted")]
    Deleted(String),
    #[error("a push to {0}, not to a branch")]
    NotABranch(String),
    #[error("a push event whose body was not read")]
    Unread,
}

/// The decision for a verified delivery. `push` is `read_push`'s result for
/// a push event (None otherwise); `seen_before` is whether this delivery id
/// was recorded already (false when it has none).
pub fn decide(delivery: &Delivery, push: Option<&Push>, stack_branch: &str, seen_before: bool) -> Verdict {
    let ignored = |why| Verdict::Ignored { why };
    if seen_before {
        return Verdict::Duplicate;
    }
    match &delivery.event {
        EventType::Ping => return Verdict::Pong,
        EventType::Other(name) => return ignored(IgnoreReason::NotPush(name.clone())),
        EventType::Push => {}
    }
    let Some(push) = push else {
        return ignored(IgnoreReason::Unread);
    };
    if push.deleted {
        return ignored(IgnoreReason::Deleted(push.git_ref.clone()));
    }
    if let Some(tag) = &push.tag {
        return ignored(IgnoreReason::Tag(tag.clone()));
    }
    let (Some(branch), Some(commit)) = (&push.branch, &push.commit) else {
        return ignored(IgnoreReason::NotABranch(push.git_ref.clone()));
    };
    if branch != stack_branch {
        Verdict::OtherBranch { branch: branch.clone() }
    } else if push.skip_requested() {
        Verdict::Skipped
    } else {
        Verdict::Deploy { commit: commit.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    const SECRET: &[u8] = b"8f3c0b5e9d2a4c7f";
    const HEAD: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

    // Trimmed from GitHub's documented push payload.
    const GITHUB_PUSH: &str = r#"{
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "repository": {"id": 1296269, "full_name": "octocat/Hello-World", "default_branch": "main"},
  "pusher": {"name": "octocat", "email": "octocat@github.com"},
  "sender": {"login": "octocat", "id": 1, "type": "User"},
  "created": false, "deleted": false, "forced": false, "base_ref": null,
  "compare": "https://github.com/octocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
  "commits": [{"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Update README.md",
    "timestamp": "2026-03-02T10:21:17+01:00", "author": {"name": "Mona", "username": "octocat"}}],
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "message": "Update README.md",
    "timestamp": "2026-03-02T10:21:17+01:00", "author": {"name": "Mona", "username": "octocat"}}
}"#;

    const GITHUB_PING: &str = r#"{"zen": "Design for failure.", "hook_id": 501234567,
  "hook": {"type": "Repository", "id": 501234567, "name": "web", "active": true, "events": ["push"],
    "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://berth.example/hooks/stacks/web"}},
  "repository": {"id": 1296269, "full_name": "octocat/Hello-World"}, "sender": {"login": "octocat"}}"#;

    // Gitea lists commits newest first; the head is not the last one.
    const GITEA_PUSH: &str = r#"{
  "ref": "refs/heads/develop",
  "before": "28e1879d029cb852e4844d9c718537df08844e03",
  "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
  "compare_url": "https://git.example/gitea/webhooks/compare/28e1879d029c...bffeb7422404",
  "commits": [
    {"id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "Webhooks Yay!\n",
     "url": "https://git.example/gitea/webhooks/commit/bffeb74224043ba2feb48d137756c8a9331c449a",
     "author": {"name": "Gitea", "email": "someone@gitea.io", "username": "gitea"}},
    {"id": "9a6b7e2c1d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b", "message": "Earlier work\n",
     "author": {"name": "Gitea", "email": "someone@gitea.io", "username": "gitea"}}
  ],
  "repository": {"id": 140, "name": "webhooks", "full_name": "gitea/webhooks", "default_branch": "main"},
  "pusher": {"id": 1, "login": "gitea", "full_name": "Gitea", "email": "someone@gitea.io", "username": "gitea"},
  "sender": {"id": 1, "login": "gitea", "username": "gitea"}
}"#;

    // Trimmed from GitLab's documented "Push Hook" payload.
    const GITLAB_PUSH: &str = r#"{
  "object_kind": "push", "event_name": "push",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "ref": "refs/heads/master", "ref_protected": true,
  "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "user_id": 4, "user_name": "John Smith", "user_username": "jsmith", "user_email": "",
  "project_id": 15, "project": {"id": 15, "name": "Diaspora", "path_with_namespace": "mike/diaspora"},
  "commits": [
    {"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
     "message": "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
     "title": "Update Catalan translation to e38cb41.", "timestamp": "2011-12-12T14:27:31+02:00"},
    {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme", "title": "fixed readme",
     "timestamp": "2012-01-03T23:36:29+02:00"}
  ],
  "total_commits_count": 4
}"#;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn github(event: &str, signature: &str) -> HeaderMap {
        headers(&[
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            ("X-GitHub-Hook-ID", "501234567"),
            ("X-Hub-Signature-256", signature),
            ("User-Agent", "GitHub-Hookshot/044aadd"),
        ])
    }

    fn signed_github(event: &str, body: &str) -> HeaderMap {
        github(event, &format!("sha256={}", sign(SECRET, body.as_bytes())))
    }

    fn gitlab(token: &str) -> HeaderMap {
        headers(&[
            ("X-Gitlab-Event", "Push Hook"),
            ("X-Gitlab-Token", token),
            ("X-Gitlab-Instance", "https://gitlab.example"),
            ("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e"),
            ("Idempotency-Key", "f5a5a1a8-1a8b-4b5e-9f0e-0c1d2e3f4a5b"),
        ])
    }

    fn refused(headers: &HeaderMap, body: &str, secret: &[u8]) -> Refusal {
        verify(headers, body.as_bytes(), secret)
            .1
            .expect_err("the delivery should be refused")
    }

    fn push(provider: Provider, body: &str) -> Push {
        read_push(provider, body.as_bytes()).unwrap()
    }

    fn verdict(event: EventType, push: Option<&Push>, seen_before: bool) -> Verdict {
        let delivery = Delivery {
            provider: Provider::GitHub,
            event,
            delivery_id: None,
            body_sha256: BodyDigest::of(b""),
        };
        decide(&delivery, push, "main", seen_before)
    }

    #[test]
    fn a_signed_github_push_is_read_and_deploys() {
        let (digest, delivery) = verify(&signed_github("push", GITHUB_PUSH), GITHUB_PUSH.as_bytes(), SECRET);
        let delivery = delivery.unwrap();
        assert_eq!(delivery.provider, Provider::GitHub);
        assert_eq!(delivery.event, EventType::Push);
        assert_eq!(
            delivery.delivery_id.as_ref().map(DeliveryId::as_str),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert_eq!(delivery.body_sha256, digest);
        assert_eq!(digest.hex(), hex::encode(Sha256::digest(GITHUB_PUSH.as_bytes())));

        let push = push(Provider::GitHub, GITHUB_PUSH);
        assert_eq!(push.branch.as_deref(), Some("main"));
        assert_eq!(push.tag, None);
        assert_eq!(push.commit.as_ref().map(CommitId::as_str), Some(HEAD));
        assert_eq!(push.message, "Update README.md");
        assert_eq!(push.pusher.as_deref(), Some("octocat"));
        assert!(!push.deleted && !push.skip_requested());
        let commit = CommitId::parse(HEAD).unwrap();
        assert_eq!(
            decide(&delivery, Some(&push), "main", false),
            Verdict::Deploy { commit }
        );
    }

    #[test]
    fn one_changed_byte_is_refused_403_and_its_digest_kept() {
        let headers = signed_github("push", GITHUB_PUSH);
        let changed = GITHUB_PUSH.replacen("refs/heads/main", "refs/heads/mail", 1);
        let (digest, result) = verify(&headers, changed.as_bytes(), SECRET);
        let refusal = result.unwrap_err();
        assert_eq!(
            refusal,
            Refusal::BadSignature {
                provider: Provider::GitHub
            }
        );
        assert_eq!(refusal.status(), 403);
        assert!(refusal.to_string().contains("X-Hub-Signature-256"), "{refusal}");
        assert_eq!(digest, BodyDigest::of(changed.as_bytes()));
        // The right signature under another secret is refused the same way.
        assert_eq!(refused(&headers, GITHUB_PUSH, b"another secret").status(), 403);
    }

    #[test]
    fn an_empty_or_missing_signature_is_401_even_with_an_empty_secret() {
        for signature in ["", "sha256="] {
            let refusal = refused(&github("push", signature), GITHUB_PUSH, b"");
            assert_eq!(
                refusal,
                Refusal::Unsigned {
                    provider: Some(Provider::GitHub)
                },
                "{signature:?}"
            );
            assert_eq!(refusal.status(), 401);
        }
        let mut unsigned = signed_github("push", GITHUB_PUSH);
        unsigned.remove("X-Hub-Signature-256");
        let refusal = refused(&unsigned, GITHUB_PUSH, SECRET);
        assert_eq!(refusal.status(), 401);
        assert_eq!(
            refusal.to_string(),
            "the X-Hub-Signature-256 header is missing or empty: configure the webhook's secret in GitHub"
        );
        let nothing = refused(&headers(&[("Content-Type", "application/json")]), GITHUB_PUSH, SECRET);
        assert_eq!((nothing.status(), nothing), (401, Refusal::Unsigned { provider: None }));
    }

    #[test]
    fn a_stack_without_a_secret_accepts_nothing() {
        // Anyone can compute an HMAC under the empty key.
        let refusal = refused(
            &github("push", &format!("sha256={}", sign(b"", GITHUB_PUSH.as_bytes()))),
            GITHUB_PUSH,
            b"",
        );
        assert_eq!((refusal.status(), refusal), (403, Refusal::NoSecret));
        assert_eq!(refused(&gitlab("anything"), GITLAB_PUSH, b""), Refusal::NoSecret);
    }

    #[test]
    fn a_signature_without_its_prefix_or_not_hex_is_malformed() {
        let good = sign(SECRET, GITHUB_PUSH.as_bytes());
        let short = format!("sha256={}", &good[..62]);
        let not_hex = format!("sha256={}zz", &good[..62]);
        for (signature, why) in [(good.as_str(), "sha256="), (&short, "64 hex"), (&not_hex, "64 hex")] {
            let refusal = refused(&github("push", signature), GITHUB_PUSH, SECRET);
            assert!(
                matches!(refusal, Refusal::MalformedSignature { .. }),
                "{signature}: {refusal:?}"
            );
            assert!(refusal.to_string().contains(why), "{refusal}");
            assert_eq!(refusal.status(), 400);
        }
        let twice = headers(&[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", "sha256=00"),
            ("X-Hub-Signature-256", "sha256=11"),
        ]);
        assert!(matches!(
            refused(&twice, GITHUB_PUSH, SECRET),
            Refusal::BadHeader { .. }
        ));
    }

    #[test]
    fn a_gitea_push_with_its_github_compatible_headers_is_gitea() {
        let signature = sign(SECRET, GITEA_PUSH.as_bytes());
        let delivery_id = "f6266f16-1bf3-46a5-9ea4-602e06ead473";
        let sent = headers(&[
            ("X-Gitea-Delivery", delivery_id),
            ("X-Gitea-Event", "push"),
            ("X-Gitea-Event-Type", "push"),
            ("X-Gitea-Signature", &signature),
            ("X-Gogs-Signature", &signature),
            ("X-Hub-Signature-256", &format!("sha256={signature}")),
            ("X-GitHub-Delivery", delivery_id),
            ("X-GitHub-Event", "push"),
        ]);
        let delivery = verify(&sent, GITEA_PUSH.as_bytes(), SECRET).1.unwrap();
        assert_eq!(
            (delivery.provider, &delivery.event),
            (Provider::Gitea, &EventType::Push)
        );
        assert_eq!(delivery.delivery_id.unwrap().as_str(), delivery_id);

        let push = push(Provider::Gitea, GITEA_PUSH);
        assert_eq!(push.branch.as_deref(), Some("develop"));
        assert_eq!(
            push.commit.unwrap().as_str(),
            "bffeb74224043ba2feb48d137756c8a9331c449a"
        );
        assert_eq!(push.message, "Webhooks Yay!\n");
        assert_eq!(push.pusher.as_deref(), Some("gitea"));

        let changed = GITEA_PUSH.replace("Yay", "Nay");
        assert_eq!(
            refused(&sent, &changed, SECRET),
            Refusal::BadSignature {
                provider: Provider::Gitea
            }
        );
    }

    #[test]
    fn forgejo_signatures_are_checked_each() {
        let good = sign(SECRET, GITEA_PUSH.as_bytes());
        let forgejo = headers(&[("X-Forgejo-Event", "push"), ("X-Forgejo-Signature", &good)]);
        let delivery = verify(&forgejo, GITEA_PUSH.as_bytes(), SECRET).1.unwrap();
        assert_eq!(delivery.provider, Provider::Gitea);

        let wrong = sign(b"not the secret", GITEA_PUSH.as_bytes());
        let mixed = headers(&[
            ("X-Gitea-Event", "push"),
            ("X-Gitea-Signature", &good),
            ("X-Forgejo-Signature", &wrong),
        ]);
        assert_eq!(refused(&mixed, GITEA_PUSH, SECRET).status(), 403);
        let unsigned = refused(&headers(&[("X-Gitea-Event", "push")]), GITEA_PUSH, SECRET);
        assert_eq!(
            unsigned,
            Refusal::Unsigned {
                provider: Some(Provider::Gitea)
            }
        );
    }

    #[test]
    fn a_gitlab_token_must_be_the_secret() {
        let secret = std::str::from_utf8(SECRET).unwrap();
        let delivery = verify(&gitlab(secret), GITLAB_PUSH.as_bytes(), SECRET).1.unwrap();
        assert_eq!(
            (delivery.provider, &delivery.event),
            (Provider::GitLab, &EventType::Push)
        );
        assert_eq!(
            delivery.delivery_id.unwrap().as_str(),
            "f5a5a1a8-1a8b-4b5e-9f0e-0c1d2e3f4a5b"
        );

        for wrong in ["8f3c0b5e9d2a4c7e", "8f3c0b5e9d2a4c7", "8f3c0b5e9d2a4c7f0"] {
            let refusal = refused(&gitlab(wrong), GITLAB_PUSH, SECRET);
            assert_eq!(
                (refusal.status(), &refusal),
                (
                    403,
                    &Refusal::BadSignature {
                        provider: Provider::GitLab
                    }
                )
            );
            assert!(!refusal.to_string().contains(wrong), "the token is not echoed");
        }
        assert_eq!(refused(&gitlab(""), GITLAB_PUSH, SECRET).status(), 401);

        let mut no_key = gitlab(secret);
        no_key.remove("Idempotency-Key");
        let delivery = verify(&no_key, GITLAB_PUSH.as_bytes(), SECRET).1.unwrap();
        assert_eq!(
            delivery.delivery_id.unwrap().as_str(),
            "13792a34-cac6-4fda-95a8-c58e00a3954e"
        );

        let push = push(Provider::GitLab, GITLAB_PUSH);
        assert_eq!(push.branch.as_deref(), Some("master"));
        assert_eq!(
            push.commit.unwrap().as_str(),
            "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        );
        assert_eq!(
            (push.message.as_str(), push.pusher.as_deref()),
            ("fixed readme", Some("jsmith"))
        );
    }

    #[test]
    fn headers_of_two_forges_are_refused_naming_both() {
        let mut both = signed_github("push", GITHUB_PUSH);
        both.insert("X-Gitlab-Event", HeaderValue::from_static("Push Hook"));
        let refusal = refused(&both, GITHUB_PUSH, SECRET);
        assert_eq!(
            refusal,
            Refusal::AmbiguousProvider {
                providers: vec![Provider::GitHub, Provider::GitLab]
            }
        );
        assert_eq!(refusal.status(), 400);
        assert!(refusal.to_string().contains("GitHub and GitLab"), "{refusal}");

        let gitea_and_berth = headers(&[("X-Gitea-Event", "push"), ("X-Berth-Event", "push")]);
        assert!(matches!(
            refused(&gitea_and_berth, GITEA_PUSH, SECRET),
            Refusal::AmbiguousProvider { .. }
        ));
    }

    #[test]
    fn a_delivery_id_is_short_visible_ascii() {
        let long = "a".repeat(129);
        let mut sent = signed_github("push", GITHUB_PUSH);
        for bad in [long.as_str(), "two words"] {
            sent.insert("X-GitHub-Delivery", HeaderValue::from_str(bad).unwrap());
            let refusal = refused(&sent, GITHUB_PUSH, SECRET);
            assert!(
                matches!(
                    refusal,
                    Refusal::BadDeliveryId {
                        header: "X-GitHub-Delivery",
                        ..
                    }
                ),
                "{refusal:?}"
            );
            assert_eq!(refusal.status(), 400);
        }
        sent.insert("X-GitHub-Delivery", HeaderValue::from_str(&long[..128]).unwrap());
        assert!(verify(&sent, GITHUB_PUSH.as_bytes(), SECRET).1.is_ok());
    }

    #[test]
    fn a_generic_sender_signs_like_github_and_pushes_by_default() {
        let signature = format!("sha256={}", sign(SECRET, GITHUB_PUSH.as_bytes()));
        let sent = headers(&[("X-Hub-Signature-256", &signature), ("X-Berth-Delivery", "build-4711")]);
        let delivery = verify(&sent, GITHUB_PUSH.as_bytes(), SECRET).1.unwrap();
        assert_eq!(
            (delivery.provider, &delivery.event),
            (Provider::Generic, &EventType::Push)
        );
        assert_eq!(delivery.delivery_id.unwrap().as_str(), "build-4711");
        let ping = headers(&[("X-Hub-Signature-256", &signature), ("X-Berth-Event", "ping")]);
        assert_eq!(
            verify(&ping, GITHUB_PUSH.as_bytes(), SECRET).1.unwrap().event,
            EventType::Ping
        );
    }

    #[test]
    fn a_github_ping_is_answered_without_a_deploy() {
        let delivery = verify(&signed_github("ping", GITHUB_PING), GITHUB_PING.as_bytes(), SECRET)
            .1
            .unwrap();
        assert_eq!(delivery.event, EventType::Ping);
        let verdict = decide(&delivery, None, "main", false);
        assert_eq!((verdict.as_str(), &verdict), ("pong", &Verdict::Pong));
    }

    #[test]
    fn each_verdict_is_reached() {
        let main = push(Provider::GitHub, GITHUB_PUSH);
        let commit = main.commit.clone().unwrap();
        assert_eq!(verdict(EventType::Push, Some(&main), false), Verdict::Deploy { commit });
        assert_eq!(verdict(EventType::Push, Some(&main), true), Verdict::Duplicate);
        assert_eq!(verdict(EventType::Ping, None, false), Verdict::Pong);

        let feature = push(
            Provider::GitHub,
            &GITHUB_PUSH.replace("refs/heads/main", "refs/heads/feature/x"),
        );
        assert_eq!(
            verdict(EventType::Push, Some(&feature), false),
            Verdict::OtherBranch {
                branch: "feature/x".into()
            }
        );

        for marker in ["[Skip Deploy]", "[deploy skip]"] {
            let skip = push(
                Provider::GitHub,
                &GITHUB_PUSH.replace("Update README.md", &format!("Docs {marker}")),
            );
            assert!(skip.skip_requested());
            assert_eq!(verdict(EventType::Push, Some(&skip), false), Verdict::Skipped);
        }

        let issues = verdict(EventType::Other("issues".into()), None, false);
        assert_eq!(
            issues,
            Verdict::Ignored {
                why: IgnoreReason::NotPush("issues".into())
            }
        );
        assert_eq!(issues.as_str(), "ignored");

        let tag = push(
            Provider::GitHub,
            &GITHUB_PUSH.replace("refs/heads/main", "refs/tags/v1.4.0"),
        );
        assert_eq!((tag.branch.as_deref(), tag.tag.as_deref()), (None, Some("v1.4.0")));
        let verdict_tag = verdict(EventType::Push, Some(&tag), false);
        assert_eq!(
            verdict_tag,
            Verdict::Ignored {
                why: IgnoreReason::Tag("v1.4.0".into())
            }
        );

        let deletion = GITHUB_PUSH.replace(
            &format!("\"after\": \"{HEAD}\""),
            &format!("\"after\": \"{}\"", "0".repeat(40)),
        );
        let deleted = push(
            Provider::GitHub,
            &deletion.replace("\"deleted\": false", "\"deleted\": true"),
        );
        assert!(deleted.deleted && deleted.commit.is_none());
        let why = IgnoreReason::Deleted("refs/heads/main".into());
        assert_eq!(
            verdict(EventType::Push, Some(&deleted), false),
            Verdict::Ignored { why }
        );
    }

    #[test]
    fn a_gitlab_branch_deletion_has_no_commit() {
        let body = GITLAB_PUSH
            .replace(
                "\"checkout_sha\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"",
                "\"checkout_sha\": null",
            )
            .replace(
                "\"after\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"",
                &format!("\"after\": \"{}\"", "0".repeat(40)),
            );
        let push = push(Provider::GitLab, &body);
        assert!(push.deleted);
        assert_eq!(push.commit, None);
    }

    #[test]
    fn a_push_that_cannot_be_read_says_where_and_what() {
        let truncated = &GITHUB_PUSH[..200];
        let err = read_push(Provider::GitHub, truncated.as_bytes()).unwrap_err();
        assert!(matches!(err, PushError::Json(_)));
        assert!(err.to_string().contains("line 5 column"), "{err}");

        let short = GITHUB_PUSH.replace(&format!("\"after\": \"{HEAD}\""), "\"after\": \"0d1a26e\"");
        let err = read_push(Provider::GitHub, short.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the push body's \"after\" is not a commit id (40 or 64 hex digits)"
        );
        assert!(matches!(
            read_push(Provider::GitHub, br#"{"zen": "Keep it simple."}"#),
            Err(PushError::NoRef)
        ));
    }
}
