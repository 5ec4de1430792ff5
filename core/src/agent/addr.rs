//! Addresses: where an agent listens (`https://HOST[:PORT]`, as a user
//! writes it) and whom it lets in (an allowlist of CIDR blocks).

use std::net::IpAddr;

/// The port an agent listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 7443;

/// An agent's address: `https://host:port`, nothing after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentUrl {
    /// A DNS name or an IP address (without brackets).
    pub host: String,
    pub port: u16,
}

impl AgentUrl {
    pub fn parse(url: &str) -> Result<AgentUrl, String> {
        let bad = |why: &str| {
            format!(
                "'{}' is not an agent address: {why} (write https://HOST or https://HOST:PORT)",
                url.chars().take(200).collect::<String>()
            )
        };
        let rest = url
            .trim()
            .strip_prefix("https://")
            .ok_or_else(|| bad("it must start with https://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(bad("there is no host"));
        }
        if rest.contains(['/', '?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("only a host and a port may follow https://"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address needs its closing ]"))?;
            host.parse::<std::net::Ipv6Addr>()
                .map_err(|_| bad("the address in [] is not IPv6"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("a port follows a colon"))?),
            };
            (host.to_string(), port)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        if host.is_empty() || host.len() > 253 {
            return Err(bad("the host name is empty or too long"));
        }
        if !host.contains(':')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        {
            return Err(bad("the host name has characters a host name cannot have"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad("the port is not a number from 1 to 65535")),
            },
        };
        Ok(AgentUrl { host, port })
    }

    /// `host:port`, for connecting (brackets around IPv6).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for AgentUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "https://{}", self.authority())
    }
}

/// One block of addresses: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = |why: &str| {
            format!(
                "'{}' is not an address block: {why}",
                text.chars().take(100).collect::<String>()
            )
        };
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| bad("write an IP address, optionally with /PREFIX"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(bad(&format!("the prefix must be a number from 0 to {max}"))),
            },
        };
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer may arrive on an IPv6 socket as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_addresses_are_read_strictly() {
        assert_eq!(
            AgentUrl::parse("https://web-1.lan").unwrap(),
            AgentUrl {
                host: "web-1.lan".into(),
                port: DEFAULT_PORT
            }
        );
        let v6 = AgentUrl::parse("https://[::1]:9000/").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 9000));
        assert_eq!(v6.to_string(), "https://[::1]:9000");
        assert_eq!(
            AgentUrl::parse("https://10.0.0.5:7443").unwrap().authority(),
            "10.0.0.5:7443"
        );
        for bad in [
            "http://web-1",
            "web-1:7443",
            "https://",
            "https://web-1:0",
            "https://web-1:99999",
            "https://web-1/path",
            "https://user@web-1",
            "https://web 1",
            "https://[::1",
            "https://we<b>",
        ] {
            let e = AgentUrl::parse(bad).unwrap_err();
            assert!(e.contains("not an agent address"), "{bad}: {e}");
        }
    }

    #[test]
    fn allowlists_match_by_prefix() {
        let lan = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(lan.contains("10.1.200.3".parse().unwrap()));
        assert!(!lan.contains("10.2.0.1".parse().unwrap()));
        assert!(lan.contains("::ffff:10.1.0.9".parse().unwrap()));
        let odd = Cidr::parse("192.168.1.128/25").unwrap();
        assert!(odd.contains("192.168.1.200".parse().unwrap()));
        assert!(!odd.contains("192.168.1.127".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8:1::1".parse().unwrap())
        );
        assert!(
            !Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains("10.0.0.1".parse().unwrap())
        );
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "::/129", "any", "10.0.0.0/-1"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
