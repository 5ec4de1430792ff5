//! How berth reaches a remote Docker engine over TCP with TLS client
//! certificates (`dockerd --tlsverify`), and checking those settings before
//! anything connects: a wrong path or a file that is not PEM is a
//! configuration error that names the field, not a failure at run time.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// Where a remote engine listens and the PEM files berth connects with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// `tcp://HOST:PORT` or `https://HOST:PORT` (dockerd's TLS port is
    /// usually 2376).
    pub url: String,
    /// The CA that signed the engine's certificate.
    pub ca: PathBuf,
    /// berth's client certificate, signed by a CA the engine trusts
    /// (its `--tlscacert`).
    pub cert: PathBuf,
    /// The client certificate's private key. Only its path is kept here.
    pub key: PathBuf,
}

impl TlsSettings {
    /// `tcp://HOST:PORT`, as the client library takes it; or why the url is
    /// not one.
    pub(crate) fn address(&self) -> Result<String, String> {
        let url = self.url.trim();
        let wrong = |why: &str| format!("url '{url}' {why}: write tcp://HOST:PORT or https://HOST:PORT");
        let rest = url
            .strip_prefix("tcp://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| wrong("is not a TLS engine address"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '@', '?', '#', ' ']) {
            return Err(wrong("must be only a host and a port"));
        }
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| wrong("has no port"))?;
        let bracketed = host.starts_with('[') && host.ends_with(']');
        if host.is_empty() || (host.contains(':') && !bracketed) {
            return Err(wrong("has no host (an IPv6 address goes in brackets)"));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => Ok(format!("tcp://{host}:{p}")),
            _ => Err(wrong("has no valid port")),
        }
    }

    /// The url's shape, and that each file can be read and holds what it
    /// should. The message names the field and the file.
    pub fn check(&self) -> Result<(), String> {
        self.address()?;
        certificates("ca", &self.ca)?;
        certificates("cert", &self.cert)?;
        let bytes = read("key", &self.key)?;
        PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
            format!(
                "key {}: there is no PEM private key in it (-----BEGIN PRIVATE KEY-----, or an RSA or EC one)",
                self.key.display()
            )
        })?;
        Ok(())
    }
}

fn read(field: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{field} {}: cannot read it: {e}", path.display()))
}

fn certificates(field: &str, path: &Path) -> Result<(), String> {
    let bytes = read(field, path)?;
    let found: Result<Vec<CertificateDer<'_>>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    match found {
        Ok(certs) if !certs.is_empty() => Ok(()),
        _ => Err(format!(
            "{field} {}: there is no PEM certificate in it (-----BEGIN CERTIFICATE-----)",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, dir: &Path) -> TlsSettings {
        TlsSettings {
            url: url.into(),
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    #[test]
    fn addresses_are_host_and_port_only() {
        let dir = Path::new("/nowhere");
        let address = |url: &str| settings(url, dir).address();
        assert_eq!(address("tcp://10.0.0.5:2376").unwrap(), "tcp://10.0.0.5:2376");
        assert_eq!(
            address("https://docker.example.net:2376/").unwrap(),
            "tcp://docker.example.net:2376"
        );
        assert_eq!(address("tcp://[::1]:2376").unwrap(), "tcp://[::1]:2376");
        for (url, why) in [
            ("http://10.0.0.5:2375", "not a TLS engine address"),
            ("unix:///var/run/docker.sock", "not a TLS engine address"),
            ("10.0.0.5:2376", "not a TLS engine address"),
            ("tcp://10.0.0.5", "no port"),
            ("tcp://10.0.0.5:0", "no valid port"),
            ("tcp://10.0.0.5:http", "no valid port"),
            ("tcp://:2376", "no host"),
            ("tcp://::1:2376", "no host"),
            ("tcp://10.0.0.5:2376/v1.41", "only a host and a port"),
            ("tcp://me@10.0.0.5:2376", "only a host and a port"),
        ] {
            let e = address(url).unwrap_err();
            assert!(e.contains(why) && e.contains(url), "{url}: {e}");
        }
    }

    #[test]
    fn files_must_be_readable_and_pem_and_the_message_names_which() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings("tcp://127.0.0.1:2376", dir.path());
        let e = s.check().unwrap_err();
        assert!(e.starts_with("ca ") && e.contains("cannot read it"), "{e}");

        // Not real certificates: the check is about the files' shape.
        let cert = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
        std::fs::write(&s.ca, cert).unwrap();
        std::fs::write(&s.cert, "not pem at all").unwrap();
        let e = s.check().unwrap_err();
        assert!(e.starts_with("cert ") && e.contains("no PEM certificate"), "{e}");

        std::fs::write(&s.cert, cert).unwrap();
        // A certificate where the key belongs.
        std::fs::write(&s.key, cert).unwrap();
        let e = s.check().unwrap_err();
        assert!(e.starts_with("key ") && e.contains("no PEM private key"), "{e}");

        std::fs::write(
            &s.key,
            "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        s.check().unwrap();
        let e = settings("tcp://127.0.0.1", dir.path()).check().unwrap_err();
        assert!(e.starts_with("url "), "{e}");
    }
}
