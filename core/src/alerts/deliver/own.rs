//! Whether a channel leads back to berth itself, by a URL or a mail
//! channel's SMTP server: a loop that would have berth notify itself (and,
//! for a webhook, call its own API). Checked when a channel is saved and
//! again before each send.
//!
//! It is a guard against mistakes, not against a hostile DNS: the name is
//! resolved here and again by the client.

use super::receiver::{host_port, receiver};
use crate::model::ChannelTarget;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long resolving a name may take before it counts as not ours.
const RESOLVE_TIME: Duration = Duration::from_secs(5);

/// Whether `url` resolves to one of `own`, berth's listening sockets: the
/// same port and an address that reaches it (the same address; a loopback
/// or unspecified one for a socket on loopback; any address of this
/// machine for a socket on every address). A URL that does not parse or
/// resolve is not berth's (sending it fails on its own).
pub async fn points_at(url: &str, own: &[SocketAddr]) -> bool {
    match host_port(url) {
        Some((host, port)) => server_is_own(&host, port, own).await,
        None => false,
    }
}

/// Where `target` would connect that is berth itself, as messages name it
/// (`127.0.0.1:8080`): a URL it calls, or a mail channel's SMTP server.
/// `None` when it leads elsewhere.
pub async fn loop_in(target: &ChannelTarget, own: &[SocketAddr]) -> Option<String> {
    if let ChannelTarget::Email { host, port, .. } = target {
        return server_is_own(host, *port, own)
            .await
            .then(|| format!("the SMTP server {host}:{port}"));
    }
    for url in target.urls() {
        if points_at(url, own).await {
            return Some(receiver(url));
        }
    }
    None
}

/// Whether `host:port` (a name or an address, IPv6 with or without its
/// brackets) resolves to one of `own`, as `points_at` decides for a URL.
pub(super) async fn server_is_own(host: &str, port: u16, own: &[SocketAddr]) -> bool {
    if !own.iter().any(|o| o.port() == port) {
        return false;
    }
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return false;
    }
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::time::timeout(RESOLVE_TIME, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.collect(),
            _ => return false,
        },
    };
    addrs
        .iter()
        .any(|a| own.iter().any(|o| o.port() == a.port() && reaches(a.ip(), o.ip())))
}

/// Whether a connection to `dest` arrives at a socket listening on `own`.
fn reaches(dest: IpAddr, own: IpAddr) -> bool {
    let (dest, own) = (dest.to_canonical(), own.to_canonical());
    if dest == own {
        return true;
    }
    if own.is_unspecified() {
        dest.is_loopback() || dest.is_unspecified() || is_local(dest)
    } else if own.is_loopback() {
        dest.is_loopback() || dest.is_unspecified()
    } else {
        false
    }
}

/// An address of this machine: one a socket can be bound to.
fn is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn berths_own_sockets_are_recognised() {
        let loopback = [at("127.0.0.1:8080")];
        assert!(points_at("http://127.0.0.1:8080/api", &loopback).await);
        assert!(points_at("http://localhost:8080/", &loopback).await);
        assert!(points_at("http://[::1]:8080/", &loopback).await);
        assert!(points_at("http://0.0.0.0:8080/", &loopback).await);
        assert!(!points_at("http://127.0.0.1:8081/", &loopback).await, "another port");
        assert!(!points_at("http://127.0.0.1/", &loopback).await, "port 80");
        assert!(!points_at("http://127.0.0.1:8080/", &[]).await);

        let everywhere = [at("0.0.0.0:443")];
        assert!(points_at("https://127.0.0.1/", &everywhere).await);
        assert!(points_at("https://[::ffff:127.0.0.1]/", &everywhere).await);
        // 192.0.2.1 (TEST-NET-1) is no address of this machine.
        assert!(!points_at("https://192.0.2.1/", &everywhere).await);

        let one = [at("192.0.2.1:8080")];
        assert!(points_at("http://192.0.2.1:8080/", &one).await);
        assert!(!points_at("http://127.0.0.1:8080/", &one).await);
    }

    fn mail(host: &str, port: u16) -> ChannelTarget {
        ChannelTarget::Email {
            host: host.into(),
            port,
            security: Default::default(),
            username: None,
            password: None,
            from: "berth@example.com".into(),
            to: vec!["ops@example.com".into()],
        }
    }

    #[tokio::test]
    async fn an_smtp_server_at_berths_own_port_is_a_loop() {
        let loopback = [at("127.0.0.1:8080")];
        let found = loop_in(&mail("127.0.0.1", 8080), &loopback).await;
        assert_eq!(found.as_deref(), Some("the SMTP server 127.0.0.1:8080"));
        assert!(loop_in(&mail("localhost", 8080), &loopback).await.is_some());
        assert!(loop_in(&mail("[::1]", 8080), &loopback).await.is_some());
        assert!(loop_in(&mail("::1", 8080), &loopback).await.is_some());
        assert!(
            loop_in(&mail("127.0.0.1", 25), &loopback).await.is_none(),
            "another port"
        );
        assert!(
            loop_in(&mail("192.0.2.1", 8080), &loopback).await.is_none(),
            "another machine"
        );
        assert!(loop_in(&mail("127.0.0.1", 8080), &[]).await.is_none());
    }
}
