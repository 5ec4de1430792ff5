//! The Docker engine API, through bollard: `DockerEngine` answers every
//! `Engine` operation for the local engine (its unix socket, or
//! `DOCKER_HOST`) and for a remote one over TCP with TLS client
//! certificates. Bollard's types stop in this module and its children:
//! what leaves them is core's model or `EngineError`.

mod containers;
mod events;
mod exec;
mod hangup;
mod logs;
mod resources;
mod stats;
mod tls;

pub use tls::TlsSettings;

use crate::engine::{Engine, EngineAddress, EngineError, Object, TlsPaths};
use crate::model::{
    Container, ContainerAction, ContainerDetail, EngineEvent, EngineStats, EngineVersion, Image, ImageDetail,
    ImageRemoval, Network, NetworkDetail, NewContainer, PruneReport, Transport, Volume, VolumeDetail,
};
use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as BollardError;
use futures_util::stream::BoxStream;
use std::sync::RwLock;

/// Seconds a request may take to answer (bollard's default). A stream's
/// long life afterwards is not limited by it.
const TIMEOUT_SECS: u64 = 120;

/// One Docker engine, reached through bollard.
pub struct DockerEngine {
    /// The host's name in berth, for error messages.
    host: String,
    transport: Transport,
    /// Replaced on connect, once the API version is negotiated.
    docker: RwLock<Docker>,
    /// Where a command line reaches the same engine (compose).
    address: Option<EngineAddress>,
}

impl DockerEngine {
    /// The engine beside berth: the unix socket, or `DOCKER_HOST`.
    pub fn local(host: &str) -> Result<DockerEngine, EngineError> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| EngineError::Unreachable {
            host: host.to_string(),
            reason: describe(&e),
        })?;
        let docker_host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        let mut engine = DockerEngine::with(host, Transport::Local, docker);
        engine.address = Some(EngineAddress { docker_host, tls: None });
        Ok(engine)
    }

    /// A remote engine over TCP, proving berth with a client certificate
    /// (rustls on ring). Checks the settings first; the error says which
    /// one is wrong. Nothing connects until `connect`.
    pub fn tls(host: &str, settings: &TlsSettings) -> Result<DockerEngine, String> {
        settings.check()?;
        let docker = Docker::connect_with_ssl(
            &settings.address()?,
            &settings.key,
            &settings.cert,
            &settings.ca,
            TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| describe(&e))?;
        let mut engine = DockerEngine::with(host, Transport::Tls, docker);
        engine.address = Some(EngineAddress {
            docker_host: settings.address()?,
            tls: Some(TlsPaths {
                ca: settings.ca.clone(),
                cert: settings.cert.clone(),
                key: settings.key.clone(),
            }),
        });
        Ok(engine)
    }

    fn with(host: &str, transport: Transport, docker: Docker) -> DockerEngine {
        DockerEngine {
            host: host.to_string(),
            transport,
            docker: RwLock::new(docker),
            address: None,
        }
    }

    fn docker(&self) -> Docker {
        self.docker.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The engine's answer as an `EngineError`: a 404 as `what` missing, a 400
/// as a rejected request, any other answer in the engine's words, and no
/// answer as unreachable, with every cause (a TLS alert hides two levels down).
pub(super) fn map_error(host: &str, id: &str, e: BollardError) -> EngineError {
    match e {
        BollardError::DockerResponseServerError { status_code: 404, .. } => EngineError::NotFound {
            what: Object::Container,
            host: host.to_string(),
            id: id.to_string(),
        },
        BollardError::DockerResponseServerError {
            status_code: 400,
            message,
        } => EngineError::Rejected(message),
        BollardError::DockerResponseServerError { message, .. } => EngineError::Engine(message),
        other => EngineError::Unreachable {
            host: host.to_string(),
            reason: describe(&other),
        },
    }
}

/// An error and its causes, each once: "client error (Connect): received
/// fatal alert: BadCertificate" rather than just "client error (Connect)";
/// a TLS failure says which side's certificate to look at.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut innermost = text.clone();
    let mut source = e.source();
    while let Some(cause) = source {
        innermost = cause.to_string();
        if !text.contains(&innermost) {
            text.push_str(": ");
            text.push_str(&innermost);
        }
        source = cause.source();
    }
    explain_tls(&text, &innermost).unwrap_or(text)
}

/// What rustls's words for a failed handshake mean for the person who set
/// up the host (`text`: the whole chain, `cause`: its last link).
fn explain_tls(text: &str, cause: &str) -> Option<String> {
    const REFUSED: [&str; 4] = [
        "alert: BadCertificate",
        "alert: CertificateRequired",
        "alert: UnknownCA",
        "alert: CertificateUnknown",
    ];
    if REFUSED.iter().any(|alert| text.contains(alert)) {
        return Some(format!(
            "the engine refused berth's TLS client certificate: is `cert` signed by the CA the engine trusts \
             (its --tlscacert), and `key` its key? ({cause})"
        ));
    }
    if text.contains("invalid peer certificate") {
        return Some(format!(
            "berth does not trust the engine's TLS certificate: is `ca` the CA that signed it, and is it \
             issued for the host in `url`? ({cause})"
        ));
    }
    None
}

#[async_trait]
impl Engine for DockerEngine {
    fn transport(&self) -> Transport {
        self.transport
    }

    async fn connect(&self) -> Result<EngineVersion, EngineError> {
        let docker = self.docker();
        let version = docker.version().await.map_err(|e| map_error(&self.host, "", e))?;
        // Settle on the highest API version both sides speak.
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| map_error(&self.host, "", e))?;
        let api_version = docker.client_version().to_string();
        *self.docker.write().unwrap_or_else(|p| p.into_inner()) = docker;
        Ok(EngineVersion {
            version: version.version,
            api_version: Some(api_version),
            agent: None,
        })
    }

    async fn ping(&self) -> Result<std::time::Duration, EngineError> {
        let started = std::time::Instant::now();
        self.docker().ping().await.map_err(|e| map_error(&self.host, "", e))?;
        Ok(started.elapsed())
    }

    async fn containers(&self) -> Result<Vec<Container>, EngineError> {
        containers::list(&self.docker(), &self.host).await
    }

    async fn restart_count(&self, id: &str) -> Result<u32, EngineError> {
        containers::restart_count(&self.docker(), &self.host, id).await
    }

    async fn inspect(&self, id: &str) -> Result<ContainerDetail, EngineError> {
        containers::inspect(&self.docker(), &self.host, id).await
    }

    async fn env_value(&self, id: &str, name: &str) -> Result<Option<String>, EngineError> {
        containers::env_value(&self.docker(), &self.host, id, name).await
    }

    async fn act(&self, id: &str, action: ContainerAction) -> Result<(), EngineError> {
        containers::act(&self.docker(), &self.host, id, action).await
    }

    async fn create(&self, new: &NewContainer) -> Result<String, EngineError> {
        containers::create(&self.docker(), &self.host, new).await
    }

    fn events(&self, since_ns: i64, until_ns: Option<i64>) -> BoxStream<'static, Result<EngineEvent, EngineError>> {
        events::events(&self.docker(), &self.host, since_ns, until_ns)
    }

    fn stats(&self, id: &str, every: std::time::Duration) -> BoxStream<'static, Result<EngineStats, EngineError>> {
        if every < crate::engine::STREAM_BELOW {
            stats::stream(&self.docker(), &self.host, id)
        } else {
            stats::poll(&self.docker(), &self.host, id, every)
        }
    }

    fn logs(
        &self,
        id: &str,
        query: &crate::model::LogQuery,
    ) -> BoxStream<'static, Result<crate::model::LogLine, EngineError>> {
        logs::stream(&self.docker(), &self.host, id, query)
    }

    async fn exec(&self, id: &str, spec: &crate::model::ExecSpec) -> Result<crate::engine::ExecSession, EngineError> {
        exec::exec(&self.docker(), &self.host, id, spec).await
    }

    async fn images(&self) -> Result<Vec<Image>, EngineError> {
        resources::list_images(&self.docker(), &self.host).await
    }

    async fn image(&self, reference: &str) -> Result<ImageDetail, EngineError> {
        resources::inspect_image(&self.docker(), &self.host, reference).await
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<ImageRemoval, EngineError> {
        resources::remove_image(&self.docker(), &self.host, reference, force).await
    }

    async fn prune_images(&self, label: Option<&str>) -> Result<PruneReport, EngineError> {
        resources::prune_images(&self.docker(), &self.host, label).await
    }

    async fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(tag)
            .build();
        self.docker()
            .tag_image(image, Some(options))
            .await
            .map_err(|e| resources::engine_error(&self.host, Object::Image, image, e))
    }

    fn address(&self) -> Option<EngineAddress> {
        self.address.clone()
    }

    async fn networks(&self) -> Result<Vec<Network>, EngineError> {
        resources::list_networks(&self.docker(), &self.host).await
    }

    async fn network(&self, id: &str) -> Result<NetworkDetail, EngineError> {
        resources::inspect_network(&self.docker(), &self.host, id).await
    }

    async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        resources::remove_network(&self.docker(), &self.host, id).await
    }

    async fn prune_networks(&self, label: Option<&str>) -> Result<PruneReport, EngineError> {
        resources::prune_networks(&self.docker(), &self.host, label).await
    }

    async fn volumes(&self) -> Result<Vec<Volume>, EngineError> {
        resources::list_volumes(&self.docker(), &self.host).await
    }

    async fn volume(&self, name: &str) -> Result<VolumeDetail, EngineError> {
        resources::inspect_volume(&self.docker(), &self.host, name).await
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<(), EngineError> {
        resources::remove_volume(&self.docker(), &self.host, name, force).await
    }

    async fn prune_volumes(&self, label: Option<&str>) -> Result<PruneReport, EngineError> {
        resources::prune_volumes(&self.docker(), &self.host, label).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Chain(&'static str, Option<Box<Chain>>);

    impl std::fmt::Display for Chain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Chain {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    fn chain(links: &[&'static str]) -> Chain {
        links
            .iter()
            .rev()
            .fold(None, |inner, link| Some(Chain(link, inner.map(Box::new))))
            .unwrap()
    }

    #[test]
    fn every_cause_is_told_once_and_tls_failures_say_which_certificate() {
        let e = chain(&[
            "client error (Connect)",
            "tcp connect error",
            "Connection refused (os error 111)",
        ]);
        assert_eq!(
            describe(&e),
            "client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
        let e = chain(&[
            "Error in the hyper legacy client: client error (Connect)",
            "client error (Connect)",
        ]);
        assert_eq!(describe(&e), "Error in the hyper legacy client: client error (Connect)");

        // What rustls says when the engine refuses berth's client certificate...
        let e = chain(&[
            "client error (SendRequest)",
            "connection error: received fatal alert: BadCertificate",
        ]);
        let text = describe(&e);
        assert!(
            text.starts_with("the engine refused berth's TLS client certificate"),
            "{text}"
        );
        assert!(
            text.ends_with("(connection error: received fatal alert: BadCertificate)"),
            "{text}"
        );
        // ...and when berth does not trust the engine's.
        let e = chain(&["client error (Connect)", "invalid peer certificate: UnknownIssuer"]);
        let text = describe(&e);
        assert!(
            text.starts_with("berth does not trust the engine's TLS certificate"),
            "{text}"
        );
    }
}
