//! The real-stores test harness (tests/e2e.rs, tests/fleet.rs, bench/restore.rs, bench/fleet.rs; for simulator-only tests,
//! tests/sim_only): per test, on 127.0.0.1 with its own ports and directories, a
//! throwaway CA, real object stores (moto behind nginx for S3, Azurite over HTTPS, the GCS
//! emulator behind nginx), a PostgreSQL 15 cluster archiving through pgBackRest, and the
//! Bridge API simulator handing out credentials those stores really accept and really revoke.
//! Everything started is stopped when its guard drops, whether the test passed or not.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod fleet;
pub mod monitoring;
pub mod oauth;
pub mod pg;
pub mod sign;
pub mod stores;

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where `.ci/run` installs the tools that are not Debian packages.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("BRIDGEREST_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/bridgerest-test-tools"))
}

/// A tool's path, or a failure that says how to install it (never a silent skip).
pub fn tool(path: impl AsRef<Path>, install: &str) -> PathBuf {
    let p = path.as_ref().to_path_buf();
    if !p.exists() {
        panic!(
            "{} not found: {install} (or run `bash .ci/run`, which installs every test tool)",
            p.display()
        );
    }
    p
}

pub fn require_root() {
    if !nix::unistd::Uid::effective().is_root() {
        panic!("the end-to-end tests run PostgreSQL and pgBackRest as the postgres user and must start as root (CI does): sudo cargo test");
    }
}

pub fn postgres_ids() -> (nix::unistd::Uid, nix::unistd::Gid) {
    let u = nix::unistd::User::from_name("postgres")
        .unwrap()
        .expect("no postgres user: apt-get install postgresql-15");
    (u.uid, u.gid)
}

/// The user the source cluster runs as. The source stands for the provider's host: its data
/// directory (0700) is out of reach of postgres, who restores on this host, as on a real
/// restore host that never held the cluster. Its primary group is postgres, so that it reads
/// the repository credentials bridgerest renders (0640, group postgres); made when missing.
pub const SOURCE_USER: &str = "bridgerest-src";

pub fn source_ids() -> (nix::unistd::Uid, nix::unistd::Gid) {
    if let Some(u) = nix::unistd::User::from_name(SOURCE_USER).unwrap() {
        return (u.uid, u.gid);
    }
    // Parallel tests may race to make it: the loser's useradd fails, and the user is there.
    let _ = Command::new("useradd")
        .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
        .args([
            "--gid",
            "postgres",
            "--shell",
            "/usr/sbin/nologin",
            SOURCE_USER,
        ])
        .status();
    let u = nix::unistd::User::from_name(SOURCE_USER)
        .unwrap()
        .unwrap_or_else(|| panic!("cannot make the user {SOURCE_USER} (useradd)"));
    (u.uid, u.gid)
}

/// A free TCP port on 127.0.0.1 (the OS picks it; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ready` until it is true or `timeout` passes (then fails naming `what`).
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The bytes of every file under `dir` (0 if it does not exist).
pub fn tree_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => tree_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A started server, killed (its whole process group) when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Proc {
        let out = File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({:?}): {e}", cmd.get_program()));
        Proc {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// Fails with the tail of its log if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!("{} exited ({status}):\n{tail}", self.name);
        }
    }

    pub fn wait_port(&mut self, port: u16) {
        let start = Instant::now();
        while !port_open(port) {
            self.assert_running();
            if start.elapsed() > Duration::from_secs(60) {
                panic!("{} did not open port {port} within 60 s", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        let pgid = self.pid();
        let _ = killpg(pgid, Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = killpg(pgid, Signal::SIGKILL); // stragglers in the group
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A per-test directory that other users (postgres, nginx workers) can traverse.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        let dir = tempfile::Builder::new()
            .prefix("bridgerest-e2e-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        TestDir { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn mkdir(&self, rel: &str, mode: u32, postgres: bool) -> PathBuf {
        self.mkdir_for(rel, mode, postgres.then(postgres_ids))
    }

    /// `rel` made with `mode`, owned by `owner` (else root).
    pub fn mkdir_for(
        &self,
        rel: &str,
        mode: u32,
        owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    ) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        if let Some((u, g)) = owner {
            nix::unistd::chown(&p, Some(u), Some(g)).unwrap();
        }
        p
    }
}

/// A throwaway CA and a server certificate for 127.0.0.1/localhost (openssl CLI).
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Tls {
    pub fn new(dir: &Path) -> Tls {
        std::fs::create_dir_all(dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl not found: apt-get install openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=bridgerest test CA",
            ],
        ]
        .concat());
        run(&[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat());
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        for f in ["ca.crt", "server.crt", "server.key"] {
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        Tls {
            ca: dir.join("ca.crt"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }

    /// An HTTP client that trusts only this CA.
    pub fn client(&self) -> reqwest::Client {
        bridgerest::init_tls();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca).unwrap()).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }
}

/// Everything bridgerest printed in this test, to scan for secrets.
#[derive(Default, Clone)]
pub struct Transcript(pub Arc<Mutex<String>>);

impl Transcript {
    pub fn push(&self, s: &str) {
        self.0.lock().unwrap().push_str(s);
    }
    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

/// Runs a command as the postgres user; returns (success, stdout, stderr).
pub fn as_postgres(cmd: &mut Command) -> (bool, String, String) {
    as_user(cmd, postgres_ids())
}

/// Runs a command as the user `ids` (postgres, or [`SOURCE_USER`]); returns (success,
/// stdout, stderr).
pub fn as_user(
    cmd: &mut Command,
    (u, g): (nix::unistd::Uid, nix::unistd::Gid),
) -> (bool, String, String) {
    let home = nix::unistd::User::from_uid(u)
        .ok()
        .flatten()
        .map(|u| u.dir)
        .unwrap_or_else(|| PathBuf::from("/"));
    cmd.uid(u.as_raw())
        .gid(g.as_raw())
        .env("HOME", home)
        .current_dir("/");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
