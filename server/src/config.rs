//! One typed configuration: built-in defaults, then a TOML file
//! (`--config`), then `BERTH_*` environment variables, then flags.

use berth_core::agent::{AgentSettings, AgentUrl, Fingerprint};
use berth_core::hosts::TlsSettings;
use berth_core::stats::{Retention, StatsConfig};
use berth_core::tlog::note::{COSIGNATURE_V1, VerifierKey};
mod alerts;
mod stored_logs;
mod terminal;

pub use alerts::AlertSettings;
pub use stored_logs::StoredLogsSettings;
pub use terminal::TerminalSettings;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to serve the UI and API on.
    pub listen: SocketAddr,
    /// Directory holding `berth.redb`.
    pub data_dir: PathBuf,
    /// The address people use to reach berth (`https://berth.example.com`).
    /// Used in printed links and the Origin check; `https` makes cookies Secure.
    pub public_url: Option<String>,
    /// Serve the site files (wasm, js, css) from this directory instead of
    /// the copy embedded in the binary.
    pub site_dir: Option<PathBuf>,
    /// A session ends after this many hours without a request.
    pub session_hours: u32,
    /// Log filter, as RUST_LOG takes it (`info`, `berth_server=debug`...).
    pub log: String,
    /// The most memory the database keeps of its file's pages, in MiB
    /// (1 to 4096, default 8). More speeds up searches that read the same
    /// pages again, and the server stays that much bigger for good.
    pub db_cache_mib: u32,
    /// The largest git repository a stack may fetch, in MiB (1 to 65536).
    pub stacks_repo_max_mib: u32,
    /// Seconds between statistics readings.
    pub stats_interval_secs: u32,
    /// How long each tier of statistics is kept (`[stats_retention]` in TOML).
    pub stats_retention: Retention,
    /// When set, /metrics wants `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// Witnesses that cosign each signed checkpoint (`[[witnesses]]` in TOML).
    pub witnesses: Vec<WitnessConfig>,
    /// Remote Docker engines over TCP with TLS client certificates, managed
    /// beside the local one (`[[hosts]]` in TOML).
    pub hosts: Vec<HostConfig>,
    /// How long a websocket ticket (issued when a page opens a live feed or
    /// a terminal) stays valid, in seconds.
    pub ticket_ttl_secs: u32,
    /// Terminals in containers (`[terminal]` in TOML).
    pub terminal: TerminalSettings,
    /// Containers' live logs: what each followed container keeps for new
    /// followers, and how long its stream outlives its last one (`[logs]`
    /// in TOML: `ring_lines`, `ring_bytes`, `follower_queue`, `linger_secs`).
    pub logs: berth_core::logs::LogHubConfig,
    /// How much of the collected container logs is kept (`[stored_logs]`
    /// in TOML: `budget_mib`, `key_budget_mib`).
    pub stored_logs: StoredLogsSettings,
    /// How alert notifications are delivered and retried (`[alerts]` in
    /// TOML: `timeout_secs`, `retry_first_secs`, `retry_max_secs`, `give_up_hours`).
    pub alerts: AlertSettings,
}

/// A host beside the local one: a remote Docker engine reached over TCP
/// with a TLS client certificate (the engine runs with `--tlsverify`), or a
/// `berth agent` on the host's machine.
///
/// ```toml
/// [[hosts]]
/// name = "web-1"
/// url = "tcp://10.0.0.5:2376"
/// ca = "/etc/berth/web-1/ca.pem"     # signed the engine's certificate
/// cert = "/etc/berth/web-1/cert.pem" # berth's client certificate
/// key = "/etc/berth/web-1/key.pem"
///
/// [[hosts]]
/// name = "db-1"
/// agent = "https://10.0.0.6:7443"
/// token_file = "/etc/berth/db-1.token"   # the token `berth agent init` printed
/// fingerprint = "sha256:5f1c..."         # and the certificate's fingerprint
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// The host's name in berth: 1 to 64 of a-z, 0-9, '.', '_', '-'; not `local`.
    pub name: String,
    /// A remote engine: `tcp://HOST:PORT` or `https://HOST:PORT`, with `ca`, `cert` and `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// An agent: `https://HOST[:PORT]`, with `token_file` and `fingerprint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// How berth reaches a configured host.
pub enum HostKind {
    Tls(TlsSettings),
    Agent(AgentSettings),
}

impl HostConfig {
    /// A remote engine over TLS.
    pub fn tls_engine(name: &str, url: &str, ca: PathBuf, cert: PathBuf, key: PathBuf) -> HostConfig {
        HostConfig {
            name: name.into(),
            url: Some(url.into()),
            ca: Some(ca),
            cert: Some(cert),
            key: Some(key),
            ..HostConfig::default()
        }
    }

    /// An agent, its token kept in `token_file`.
    pub fn agent(name: &str, url: &str, token_file: PathBuf, fingerprint: &str) -> HostConfig {
        HostConfig {
            name: name.into(),
            agent: Some(url.into()),
            token_file: Some(token_file),
            fingerprint: Some(fingerprint.into()),
            ..HostConfig::default()
        }
    }

    /// The settings, checked (and the token read); the error names what is wrong.
    pub fn kind(&self) -> Result<HostKind, String> {
        let name = &self.name;
        match (&self.url, &self.agent) {
            (Some(url), None) => {
                if self.token_file.is_some() || self.fingerprint.is_some() {
                    return Err(format!(
                        "host '{name}': token_file and fingerprint go with agent, not url"
                    ));
                }
                let (Some(ca), Some(cert), Some(key)) = (&self.ca, &self.cert, &self.key) else {
                    return Err(format!("host '{name}': a remote engine (url) needs ca, cert and key"));
                };
                let tls = TlsSettings {
                    url: url.clone(),
                    ca: ca.clone(),
                    cert: cert.clone(),
                    key: key.clone(),
                };
                tls.check().map_err(|e| format!("host '{name}': {e}"))?;
                Ok(HostKind::Tls(tls))
            }
            (None, Some(agent)) => {
                if self.ca.is_some() || self.cert.is_some() || self.key.is_some() {
                    return Err(format!("host '{name}': ca, cert and key go with url, not agent"));
                }
                let url = AgentUrl::parse(agent).map_err(|e| format!("host '{name}': {e}"))?;
                let (Some(token_file), Some(fingerprint)) = (&self.token_file, &self.fingerprint) else {
                    return Err(format!(
                        "host '{name}': an agent needs token_file and fingerprint (both printed by `berth agent init`)"
                    ));
                };
                let fingerprint = Fingerprint::parse(fingerprint).map_err(|e| format!("host '{name}': {e}"))?;
                let token = read_token(token_file).map_err(|e| format!("host '{name}': {e}"))?;
                Ok(HostKind::Agent(AgentSettings {
                    url,
                    token,
                    fingerprint,
                }))
            }
            (Some(_), Some(_)) => Err(format!(
                "host '{name}' has both url (a remote engine) and agent: it is one or the other"
            )),
            (None, None) => Err(format!(
                "host '{name}' needs url (a remote engine over TLS) or agent (a berth agent)"
            )),
        }
    }

    fn validate(&self) -> Result<(), String> {
        berth_core::model::validate_host_name(&self.name).map_err(|e| format!("[[hosts]] name: {e}"))?;
        if self.name == "local" {
            return Err("[[hosts]] name 'local' is the engine beside berth: give the remote one another name".into());
        }
        self.kind().map(|_| ())
    }
}

/// An agent's token from its file: the first line, which must be there.
pub fn read_token(path: &std::path::Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.len() < 16 || token.len() > 512 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "the token file {} does not hold a token (16 to 512 printable characters on its first line)",
            path.display()
        ));
    }
    Ok(token)
}

/// A witness berth sends its checkpoints to (c2sp.org/tlog-witness), for
/// example a `berth monitor --serve` on another machine:
///
/// ```toml
/// [[witnesses]]
/// url = "https://witness.example.net"
/// key = "witness-alpha+1a2b3c4d+BH..."
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's submission prefix: berth POSTs to `{url}/add-checkpoint`.
    pub url: String,
    /// Its public key: `<name>+<hex id>+<base64>`, of type 0x04 (cosignature/v1).
    pub key: WitnessKey,
}

impl WitnessConfig {
    /// Where berth sends checkpoints.
    pub fn add_checkpoint_url(&self) -> String {
        format!("{}/add-checkpoint", self.url.trim_end_matches('/'))
    }

    fn validate(&self) -> Result<(), String> {
        let url: axum::http::Uri = self
            .url
            .parse()
            .map_err(|e| format!("witness url '{}' is not a URL ({e})", self.url))?;
        let Some(authority) = url.authority() else {
            return Err(format!("witness url '{}' is not a URL (no host)", self.url));
        };
        if !matches!(url.scheme_str(), Some("http" | "https")) {
            return Err(format!(
                "witness url '{}' must be http(s)://host[:port][/prefix]",
                self.url
            ));
        }
        if authority.as_str().contains('@') {
            // It would end up in the event log's details.
            return Err(format!("witness url '{}' must not carry credentials", self.url));
        }
        if url.query().is_some() {
            return Err(format!("witness url '{}' must not have a query", self.url));
        }
        Ok(())
    }
}

/// A witness's public key, parsed when the configuration is read, so a
/// wrong key is a configuration error rather than a failure at run time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WitnessKey(pub VerifierKey);

impl TryFrom<String> for WitnessKey {
    type Error = String;

    fn try_from(text: String) -> Result<WitnessKey, String> {
        let key: VerifierKey = text.parse().map_err(|e| format!("witness key '{text}': {e}"))?;
        if key.kind() != COSIGNATURE_V1 {
            return Err(format!(
                "witness key '{text}' is not a witness's key: it must be of type 0x04 (cosignature/v1), \
                 as `berth monitor --serve` prints"
            ));
        }
        Ok(WitnessKey(key))
    }
}

impl From<WitnessKey> for String {
    fn from(key: WitnessKey) -> String {
        key.0.to_string()
    }
}

/// A configured secret: compared, never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            site_dir: None,
            session_hours: 12,
            log: "info".to_string(),
            db_cache_mib: (berth_core::store::DEFAULT_CACHE_BYTES >> 20) as u32,
            stacks_repo_max_mib: (berth_core::stacks::DEFAULT_REPO_MAX_BYTES >> 20) as u32,
            stats_interval_secs: 5,
            stats_retention: Retention::default(),
            metrics_token: None,
            witnesses: Vec::new(),
            hosts: Vec::new(),
            ticket_ttl_secs: berth_core::auth::DEFAULT_TICKET_TTL.as_secs() as u32,
            terminal: TerminalSettings::default(),
            logs: berth_core::logs::LogHubConfig::default(),
            stored_logs: StoredLogsSettings::default(),
            alerts: AlertSettings::default(),
        }
    }
}

/// Values given as flags; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

const ENV_KEYS: [&str; 11] = [
    "listen",
    "data_dir",
    "public_url",
    "site_dir",
    "session_hours",
    "log",
    "db_cache_mib",
    "stacks_repo_max_mib",
    "stats_interval_secs",
    "metrics_token",
    "ticket_ttl_secs",
];

impl Config {
    pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Config, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(format!("config file {} does not exist", file.display()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let config: Config = figment
            .merge(Env::prefixed("BERTH_").only(&ENV_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.public_url {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.trim_end_matches('/').contains('/') => {}
                _ => {
                    return Err(format!(
                        "public_url '{url}' must look like https://host[:port], without a path"
                    ));
                }
            }
        }
        if !(1..=24 * 365).contains(&self.session_hours) {
            return Err(format!(
                "session_hours must be between 1 and 8760, not {}",
                self.session_hours
            ));
        }
        if !(1..=4096).contains(&self.db_cache_mib) {
            return Err(format!(
                "db_cache_mib must be between 1 and 4096, not {}",
                self.db_cache_mib
            ));
        }
        if !(1..=65536).contains(&self.stacks_repo_max_mib) {
            return Err(format!(
                "stacks_repo_max_mib must be between 1 and 65536, not {}",
                self.stacks_repo_max_mib
            ));
        }
        if !(1..=3600).contains(&self.stats_interval_secs) {
            return Err(format!(
                "stats_interval_secs must be between 1 and 3600, not {}",
                self.stats_interval_secs
            ));
        }
        self.stats_retention.validate()?;
        if !(1..=600).contains(&self.ticket_ttl_secs) {
            return Err(format!(
                "ticket_ttl_secs must be between 1 and 600, not {}",
                self.ticket_ttl_secs
            ));
        }
        self.terminal.validate()?;
        self.stored_logs.validate()?;
        self.alerts.validate()?;
        self.logs.check()?;
        if let Some(token) = &self.metrics_token
            && token.0.trim().len() < 16
        {
            return Err("metrics_token must be at least 16 characters (or left unset)".into());
        }
        for (i, witness) in self.witnesses.iter().enumerate() {
            witness.validate()?;
            let name = witness.key.0.name();
            if self.witnesses[..i].iter().any(|w| w.key.0.name() == name) {
                return Err(format!("two witnesses are named '{name}': each needs its own key name"));
            }
        }
        for (i, host) in self.hosts.iter().enumerate() {
            host.validate()?;
            if self.hosts[..i].iter().any(|h| h.name == host.name) {
                return Err(format!(
                    "two [[hosts]] are named '{}': each needs its own name",
                    host.name
                ));
            }
        }
        Ok(())
    }

    pub fn stats(&self) -> StatsConfig {
        StatsConfig {
            interval: std::time::Duration::from_secs(u64::from(self.stats_interval_secs)),
            retention: self.stats_retention,
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("berth.redb")
    }

    /// `db_cache_mib` in bytes, as the store takes it.
    pub fn db_cache_bytes(&self) -> usize {
        (self.db_cache_mib as usize) << 20
    }

    /// `https://host` or `http://host:port`: where people reach berth.
    pub fn public_origin(&self) -> Option<String> {
        self.public_url.as_ref().map(|u| u.trim_end_matches('/').to_string())
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

#[cfg(test)]
// figment's Jail fixes the closure's error type; it is only for tests.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_defaults_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "berth.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\nsession_hours = 3",
            )?;
            jail.set_env("BERTH_DATA_DIR", "/from/env");
            let flags = Overrides {
                listen: Some("127.0.0.1:9999".parse().unwrap()),
                data_dir: None,
            };
            let c = Config::load(Some(Path::new("berth.toml")), &flags).unwrap();
            assert_eq!(c.listen.port(), 9999);
            assert_eq!(c.data_dir, PathBuf::from("/from/env"));
            assert_eq!(c.session_hours, 3);
            assert_eq!(c.log, "info");
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listen = \"not an address\"")?;
            let e = Config::load(Some(Path::new("bad.toml")), &Overrides::default()).unwrap_err();
            assert!(e.contains("listen"), "{e}");
            jail.create_file("typo.toml", "lisen = \"127.0.0.1:1\"")?;
            let e = Config::load(Some(Path::new("typo.toml")), &Overrides::default()).unwrap_err();
            assert!(e.contains("lisen"), "{e}");
            jail.create_file("url.toml", "public_url = \"berth.example.com/x\"")?;
            assert!(Config::load(Some(Path::new("url.toml")), &Overrides::default()).is_err());
            jail.create_file("stats.toml", "stats_interval_secs = 0")?;
            let e = Config::load(Some(Path::new("stats.toml")), &Overrides::default()).unwrap_err();
            assert!(e.contains("stats_interval_secs"), "{e}");
            jail.create_file("cache.toml", "db_cache_mib = 0")?;
            let e = Config::load(Some(Path::new("cache.toml")), &Overrides::default()).unwrap_err();
            assert!(e.contains("db_cache_mib must be between 1 and 4096"), "{e}");
            jail.create_file("keep.toml", "[stats_retention]\nraw_hours = 1\nhour_days = 1")?;
            let e = Config::load(Some(Path::new("keep.toml")), &Overrides::default()).unwrap_err();
            assert!(e.contains("shrink"), "{e}");
            jail.set_env("BERTH_METRICS_TOKEN", "short");
            let e = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(e.contains("metrics_token"), "{e}");
            jail.set_env("BERTH_METRICS_TOKEN", "a-long-enough-metrics-token");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert!(!format!("{c:?}").contains("a-long-enough"), "the token reached Debug");
            let e = Config::load(Some(Path::new("missing.toml")), &Overrides::default()).unwrap_err();
            assert!(e.contains("does not exist"), "{e}");
            Ok(())
        });
    }

    fn key(name: &str, kind: u8) -> String {
        berth_core::tlog::note::SignerKey::from_seed(name, kind, [7; 32])
            .unwrap()
            .verifier()
            .to_string()
    }

    #[test]
    fn witnesses_are_read_and_checked() {
        use berth_core::tlog::note::ED25519;
        figment::Jail::expect_with(|jail| {
            let alpha = key("witness-alpha", COSIGNATURE_V1);
            let beta = key("witness-beta", COSIGNATURE_V1);
            jail.create_file(
                "two.toml",
                &format!(
                    "[[witnesses]]\nurl = \"http://127.0.0.1:9000/\"\nkey = \"{alpha}\"\n\
                     [[witnesses]]\nurl = \"https://w.example.net/prefix\"\nkey = \"{beta}\"\n"
                ),
            )?;
            let c = Config::load(Some(Path::new("two.toml")), &Overrides::default()).unwrap();
            assert_eq!(c.witnesses.len(), 2);
            assert_eq!(c.witnesses[0].key.0.to_string(), alpha);
            assert_eq!(
                c.witnesses[0].add_checkpoint_url(),
                "http://127.0.0.1:9000/add-checkpoint"
            );
            assert_eq!(
                c.witnesses[1].add_checkpoint_url(),
                "https://w.example.net/prefix/add-checkpoint"
            );

            let one = |url: &str, key: &str| format!("[[witnesses]]\nurl = \"{url}\"\nkey = \"{key}\"\n");
            let refused = |name: &str, toml: String, word: &str| {
                jail.create_file(name, &toml).unwrap();
                let e = Config::load(Some(Path::new(name)), &Overrides::default()).unwrap_err();
                assert!(e.contains(word), "{name}: {e}");
            };
            // A log's key (type 0x01) where a witness's belongs.
            refused("log-key.toml", one("http://w", &key("w", ED25519)), "0x04");
            refused("garbled.toml", one("http://w", "w+1234+notbase64"), "witness key");
            refused("ftp.toml", one("ftp://w", &alpha), "http(s)");
            refused("no-url.toml", one("w.example.net", &alpha), "http(s)://host");
            refused("spaces.toml", one("http://w example", &alpha), "not a URL");
            refused("creds.toml", one("https://u:p@w.example.net", &alpha), "credentials");
            refused("query.toml", one("https://w.example.net/?x=1", &alpha), "query");
            refused(
                "twice.toml",
                format!("{}{}", one("http://a", &alpha), one("http://b", &alpha)),
                "two witnesses",
            );
            refused(
                "extra.toml",
                format!("{}token = \"x\"\n", one("http://a", &alpha)),
                "token",
            );
            Ok(())
        });
    }

    #[test]
    fn remote_hosts_are_read_and_checked_naming_the_host_and_the_field() {
        figment::Jail::expect_with(|jail| {
            // The shape of PEM files; the engine test uses real ones.
            let cert = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
            jail.create_file("ca.pem", cert)?;
            jail.create_file("cert.pem", cert)?;
            jail.create_file(
                "key.pem",
                "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n",
            )?;
            let host = |name: &str, url: &str, key: &str| {
                format!(
                    "[[hosts]]\nname = \"{name}\"\nurl = \"{url}\"\nca = \"ca.pem\"\ncert = \"cert.pem\"\nkey = \"{key}\"\n"
                )
            };
            jail.create_file(
                "two.toml",
                &format!(
                    "{}{}",
                    host("web-1", "tcp://10.0.0.5:2376", "key.pem"),
                    host("web-2", "https://web-2.example.net:2376", "key.pem")
                ),
            )?;
            let c = Config::load(Some(Path::new("two.toml")), &Overrides::default()).unwrap();
            assert_eq!(c.hosts.len(), 2);
            assert_eq!(c.hosts[1].url.as_deref(), Some("https://web-2.example.net:2376"));
            assert_eq!(c.hosts[0].key, Some(PathBuf::from("key.pem")));

            let refused = |name: &str, toml: String, words: &[&str]| {
                jail.create_file(name, &toml).unwrap();
                let e = Config::load(Some(Path::new(name)), &Overrides::default()).unwrap_err();
                for word in words {
                    assert!(e.contains(word), "{name}: {e}");
                }
            };
            refused("local.toml", host("local", "tcp://h:2376", "key.pem"), &["'local'"]);
            refused(
                "upper.toml",
                host("Web", "tcp://h:2376", "key.pem"),
                &["name", "not a host name"],
            );
            refused(
                "twice.toml",
                format!(
                    "{}{}",
                    host("a", "tcp://h:2376", "key.pem"),
                    host("a", "tcp://g:2376", "key.pem")
                ),
                &["two [[hosts]]", "'a'"],
            );
            refused(
                "plain.toml",
                host("a", "http://h:2375", "key.pem"),
                &["host 'a'", "url", "tcp://HOST:PORT"],
            );
            refused(
                "gone.toml",
                host("a", "tcp://h:2376", "gone.pem"),
                &["host 'a'", "key gone.pem", "cannot read"],
            );
            refused(
                "swapped.toml",
                host("a", "tcp://h:2376", "cert.pem"),
                &["host 'a'", "key cert.pem", "private key"],
            );
            refused(
                "extra.toml",
                format!("{}password = \"x\"\n", host("a", "tcp://h:2376", "key.pem")),
                &["password"],
            );

            // Agents: an address, a token file and the pinned fingerprint.
            let fp = format!("sha256:{}", "ab".repeat(32));
            jail.create_file("web-3.token", &format!("{}\n", "t".repeat(64)))?;
            jail.create_file("short.token", "abc\n")?;
            let agent = |name: &str, url: &str, token: &str, fingerprint: &str| {
                format!(
                    "[[hosts]]\nname = \"{name}\"\nagent = \"{url}\"\ntoken_file = \"{token}\"\nfingerprint = \"{fingerprint}\"\n"
                )
            };
            jail.create_file("agent.toml", &agent("web-3", "https://10.0.0.7", "web-3.token", &fp))?;
            let c = Config::load(Some(Path::new("agent.toml")), &Overrides::default()).unwrap();
            match c.hosts[0].kind().unwrap() {
                HostKind::Agent(a) => {
                    assert_eq!(a.url.to_string(), "https://10.0.0.7:7443");
                    assert_eq!(a.token, "t".repeat(64));
                    assert_eq!(a.fingerprint.to_string(), fp);
                    assert!(!format!("{a:?}").contains("tttt"), "the token is not printed");
                }
                HostKind::Tls(_) => panic!("an agent read as a TLS engine"),
            }
            refused(
                "a1.toml",
                agent("a", "http://10.0.0.7", "web-3.token", &fp),
                &["host 'a'", "https://"],
            );
            refused(
                "a2.toml",
                agent("a", "https://10.0.0.7", "short.token", &fp),
                &["short.token", "does not hold a token"],
            );
            refused(
                "a3.toml",
                agent("a", "https://10.0.0.7", "none.token", &fp),
                &["cannot read the token file"],
            );
            refused(
                "a4.toml",
                agent("a", "https://10.0.0.7", "web-3.token", "sha256:12"),
                &["fingerprint"],
            );
            refused(
                "a5.toml",
                "[[hosts]]\nname = \"a\"\nagent = \"https://h\"\ntoken_file = \"web-3.token\"\n".into(),
                &["needs token_file and fingerprint"],
            );
            refused(
                "a6.toml",
                format!(
                    "{}url = \"tcp://h:2376\"\n",
                    agent("a", "https://h", "web-3.token", &fp)
                ),
                &["one or the other"],
            );
            refused(
                "a7.toml",
                "[[hosts]]\nname = \"a\"\n".into(),
                &["needs url", "or agent"],
            );
            Ok(())
        });
    }
}
