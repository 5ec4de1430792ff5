//! A second, independent Docker engine on this machine, a real remote host
//! for tests: its own data root, exec root, pidfile, unix socket and bridge
//! (never `--bridge none`: that deletes docker0 from under the first
//! engine), no iptables rules, and a TLS port on 127.0.0.1 that wants a
//! client certificate (`--tlsverify`), with certificates made here (rcgen).
//! It holds the test image. Its Drop removes everything it made, also when
//! the test fails: its containers, the daemon and its containerd (by pid),
//! any mount left, the bridge. Needs root.

use super::docker::IMAGE;
use super::{assert_engine_running, text};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A client certificate and its key, and the CA that signed the engine's
/// certificate (what berth's `[[hosts]]` takes).
#[derive(Clone, Debug)]
pub struct ClientFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct SecondEngine {
    dir: tempfile::TempDir,
    /// `unix://...`, for the docker CLI.
    pub socket: String,
    /// `tcp://127.0.0.1:PORT`, TLS with client certificates.
    pub tls_url: String,
    /// Signed by the CA the engine trusts.
    pub client: ClientFiles,
    /// Signed by another CA: the engine refuses it.
    pub stranger: ClientFiles,
    /// That other CA, which did not sign the engine's certificate.
    pub other_ca: PathBuf,
    bridge: Option<String>,
    daemon: Option<Child>,
}

/// A CA: its certificate in PEM, and what signs with it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// A certificate for `names` (IP addresses become IP names) signed by
/// `issuer`, for `usage`: its PEM and its key's.
fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    common_name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(path: &Path, contents: &str) -> PathBuf {
    std::fs::write(path, contents).unwrap();
    path.to_path_buf()
}

/// Fails the test, saying `why` it needs root, unless it runs as root.
/// Tests that need root are `#[ignore]`d, so that a plain `cargo test`
/// lists them as ignored; `./dev.sh test` runs them as root.
pub fn assert_root(why: &str) {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    assert!(
        root,
        "not root: {why}; run the ignored tests as root (./dev.sh test does)"
    );
}

/// A loopback port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Makes a bridge of its own with a /24 no interface here uses yet.
fn make_bridge() -> (String, String) {
    let name = format!("berth2-{}", std::process::id() % 100_000);
    let used = text(&Command::new("ip").args(["-4", "addr"]).output().unwrap().stdout);
    let third = (1..=254)
        .find(|n| !used.contains(&format!("10.213.{n}.")))
        .expect("a free 10.213.x.0/24");
    let address = format!("10.213.{third}.1/24");
    for (i, args) in [
        vec!["link", "add", &name, "type", "bridge"],
        vec!["addr", "add", &address, "dev", &name],
        vec!["link", "set", &name, "up"],
    ]
    .iter()
    .enumerate()
    {
        let out = Command::new("ip").args(args).output().unwrap();
        if !out.status.success() {
            if i > 0 {
                let _ = Command::new("ip").args(["link", "del", &name]).status();
            }
            panic!("ip {args:?}: {}", text(&out.stderr));
        }
    }
    (name, address)
}

impl SecondEngine {
    /// Starts it and loads the test image into it. Fails the test when not
    /// root, which a second daemon and its bridge need.
    pub fn start() -> SecondEngine {
        assert_root("a second Docker engine needs root (its bridge, its daemon)");
        assert_engine_running();
        // Under /var/tmp: the same kind of filesystem as the first engine's data root.
        let dir = tempfile::Builder::new()
            .prefix("berth-engine2-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let d = dir.path();
        let (ca_pem, issuer) = ca("berth test engine CA");
        let (server_cert, server_key) = leaf(
            &issuer,
            "second engine",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) = leaf(&issuer, "berth", &[], ExtendedKeyUsagePurpose::ClientAuth);
        let (other_ca, other_issuer) = ca("some other CA");
        let (other_cert, other_key) = leaf(&other_issuer, "berth", &[], ExtendedKeyUsagePurpose::ClientAuth);
        let ca_path = write(&d.join("ca.pem"), &ca_pem);
        let client = ClientFiles {
            ca: ca_path.clone(),
            cert: write(&d.join("client-cert.pem"), &client_cert),
            key: write(&d.join("client-key.pem"), &client_key),
        };
        let stranger = ClientFiles {
            ca: ca_path.clone(),
            cert: write(&d.join("stranger-cert.pem"), &other_cert),
            key: write(&d.join("stranger-key.pem"), &other_key),
        };
        write(&d.join("server-cert.pem"), &server_cert);
        write(&d.join("server-key.pem"), &server_key);
        // No /etc/docker/daemon.json: its settings are the first engine's.
        write(&d.join("daemon.json"), "{}");

        let (bridge, address) = make_bridge();
        let port = free_port();
        let socket = format!("unix://{}", d.join("sock").display());
        let mut engine = SecondEngine {
            socket: socket.clone(),
            tls_url: format!("tcp://127.0.0.1:{port}"),
            client,
            stranger,
            other_ca: write(&d.join("other-ca.pem"), &other_ca),
            bridge: Some(bridge.clone()),
            daemon: None,
            dir,
        };
        let d = engine.dir.path();
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let path = |name: &str| d.join(name).display().to_string();
        let daemon = Command::new("dockerd")
            .args(["--config-file", &path("daemon.json")])
            .args(["--data-root", &path("data"), "--exec-root", &path("exec")])
            .args(["--pidfile", &path("pid")])
            .args(["--host", &socket, "--host", &engine.tls_url])
            .args(["--tlsverify", "--tlscacert", &path("ca.pem")])
            .args([
                "--tlscert",
                &path("server-cert.pem"),
                "--tlskey",
                &path("server-key.pem"),
            ])
            .args(["--bridge", &bridge, "--iptables=false", "--ip-masq=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd is installed (apt-get install docker.io)");
        engine.daemon = Some(daemon);
        eprintln!(
            "second engine: pid {}, {socket}, {} on bridge {bridge} ({address})",
            engine.daemon.as_ref().unwrap().id(),
            engine.tls_url
        );

        let deadline = Instant::now() + Duration::from_secs(60);
        while !engine.cli(&["info"]).status.success() {
            if let Some(status) = engine.daemon.as_mut().unwrap().try_wait().unwrap() {
                panic!("the second dockerd exited ({status}):\n{}", engine.log());
            }
            assert!(
                Instant::now() < deadline,
                "the second dockerd never answered:\n{}",
                engine.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut save = Command::new("docker")
            .args(["save", IMAGE])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let load = Command::new("docker")
            .env("DOCKER_HOST", &engine.socket)
            .arg("load")
            .stdin(save.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(save.wait().unwrap().success(), "docker save {IMAGE} failed");
        assert!(load.status.success(), "docker load failed: {}", text(&load.stderr));
        engine
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", &self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs the docker CLI against this engine; its trimmed output, failing on an error.
    pub fn docker(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "docker {args:?} on the second engine: {}",
            text(&out.stderr)
        );
        text(&out.stdout).trim().to_string()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

/// Sends `signal` to `pid` if it is still there.
fn signal(pid: &str, signal: &str) {
    if Path::new(&format!("/proc/{pid}")).exists() {
        let _ = Command::new("kill").args([signal, pid]).status();
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        // Its containers first, while the daemon answers.
        if let Some(daemon) = &self.daemon {
            let ids = self.cli(&["ps", "-aq"]);
            let ids: Vec<String> = text(&ids.stdout).split_whitespace().map(str::to_string).collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.cli(&args);
            }
            signal(&daemon.id().to_string(), "-TERM");
        }
        if let Some(mut daemon) = self.daemon.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match daemon.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = daemon.kill();
                        let _ = daemon.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        let dir = self.dir.path();
        // The containerd it started stops with it; if not, by its pid.
        if let Ok(pid) = std::fs::read_to_string(dir.join("exec/containerd/containerd.pid")) {
            signal(pid.trim(), "-TERM");
        }
        // Mounts a killed daemon may leave, deepest first, before the directory goes.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let prefix = dir.display().to_string();
        let mut left: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        left.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in left {
            let _ = Command::new("umount").args(["-l", mount]).status();
        }
        if let Some(bridge) = self.bridge.take() {
            let _ = Command::new("ip").args(["link", "del", &bridge]).status();
        }
    }
}
