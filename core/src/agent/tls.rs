//! TLS between the core and an agent (rustls on ring). The agent presents
//! a self-signed certificate made by `berth agent init`; the core trusts
//! exactly the certificate whose SHA-256 fingerprint it pinned when the
//! host was added, not a CA. The handshake's signatures are still checked,
//! so only the holder of that certificate's key gets through.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// The SHA-256 of a certificate (its DER bytes), written `sha256:` and 64
/// hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Reads a fingerprint as berth prints it, also in capitals, with
    /// colons between the bytes, or without `sha256:`.
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let t = text.trim();
        let t = t
            .strip_prefix("sha256:")
            .or_else(|| t.strip_prefix("SHA256:"))
            .unwrap_or(t);
        let hex: String = t.chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        if hex.len() != 64 || hex::decode_to_slice(&hex, &mut out).is_err() {
            return Err(format!(
                "'{}' is not a certificate fingerprint: expected sha256: and 64 hex digits, as `berth agent init` prints",
                text.chars().take(80).collect::<String>()
            ));
        }
        Ok(Fingerprint(out))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A new self-signed certificate for an agent, valid for `names` (DNS
/// names or IP addresses; `localhost` when empty): the certificate and its
/// key, in PEM.
pub fn self_signed(names: &[String]) -> Result<(String, String), String> {
    let mut names = names.to_vec();
    if names.is_empty() {
        names.push("localhost".into());
    }
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| format!("cannot make a certificate: {e}"))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "berth agent");
    // Pinned, not checked against a clock: long enough never to lapse.
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot sign the certificate: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The fingerprint of the first certificate in `pem`.
pub fn fingerprint_of_pem(pem: &str) -> Result<Fingerprint, String> {
    let cert = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("not a PEM certificate: {e}"))?;
    Ok(Fingerprint::of(&cert))
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The agent's side: its certificate chain and key, in PEM.
pub fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the certificate file is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("the certificate file holds no certificate".into());
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("the key file is not a PEM key: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the key does not fit the certificate: {e}"))?;
    Ok(Arc::new(config))
}

/// The core's side: trusts the certificate with fingerprint `pin` only
/// (any, with `None`: to learn the fingerprint, and then send nothing).
/// `seen` gets the fingerprint presented, also when it is refused.
pub fn client_config(pin: Option<Fingerprint>, seen: Arc<Mutex<Option<Fingerprint>>>) -> Arc<rustls::ClientConfig> {
    let provider = provider();
    let verifier = Pinned {
        pin,
        seen,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Arc::new(config)
}

#[derive(Debug)]
struct Pinned {
    pin: Option<Fingerprint>,
    seen: Arc<Mutex<Option<Fingerprint>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity);
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(presented);
        match self.pin {
            Some(pin) if pin != presented => Err(rustls::Error::General(format!(
                "the agent's certificate is {presented}, not the pinned {pin}"
            ))),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_back_in_every_usual_spelling() {
        let (cert, key) = self_signed(&["agent.example".into(), "127.0.0.1".into()]).unwrap();
        let fp = fingerprint_of_pem(&cert).unwrap();
        let text = fp.to_string();
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64, "{text}");
        assert_eq!(Fingerprint::parse(&text).unwrap(), fp);
        assert_eq!(Fingerprint::parse(&text[7..].to_uppercase()).unwrap(), fp);
        let colons: Vec<String> = fp.0.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(Fingerprint::parse(&format!("SHA256:{}", colons.join(":"))).unwrap(), fp);
        for bad in ["", "sha256:", "sha256:12", &format!("{text}00"), "sha256:zz"] {
            assert!(Fingerprint::parse(bad).is_err(), "{bad}");
        }
        // A second certificate is another fingerprint; the pair is usable.
        let (other, _) = self_signed(&[]).unwrap();
        assert_ne!(fingerprint_of_pem(&other).unwrap(), fp);
        server_config(&cert, &key).unwrap();
        assert!(server_config(&other, &key).unwrap_err().contains("does not fit"));
    }
}
