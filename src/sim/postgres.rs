//! Real PostgreSQL behind the clusters the simulator creates, when asked to
//! ([`super::Sim::with_real_postgres`]; off by default, so the simulator needs no PostgreSQL).
//!
//! Each created cluster (a Bridge fork, an IONOS cluster `fromBackup` or restored in place, a
//! Launcher `pitr-clone`, `pitr` or restore) gets a PostgreSQL 15 of its own, as the providers'
//! clusters have: on its own loopback address (drawn at random from 127.64.0.0/10, one whose
//! port 5432 is free), PostgreSQL's own port 5432, TLS on (one self-signed certificate per
//! simulator, made with the `openssl` CLI), `hostssl ... scram-sha-256` the only network line of
//! its `pg_hba.conf`, its socket in its own directory, the roles with the passwords the provider
//! hands out or the client chose ([`Contents`]). It holds sample data that depends on the
//! restore's target time: `bridgerest_sim.ticks(at)`, one row every 10 minutes from the source's
//! oldest backup (or the target minus 7 days) up to the target, and
//! `bridgerest_sim.restored(target, source)`; no data of the source cluster (which has none).
//! Except a Bridge fork whose source's backups are in a real repository ([`Repository`]: the
//! simulator has an issuer): it is restored from that repository with `pgbackrest restore` (a
//! pgbackrest.conf of its own, 0600, the OS user's) to the fork's target, started without
//! archiving, and ready once promoted and its roles have the handed-out passwords.
//!
//! The work (initdb, start, roles, data; stop and removal) runs on one worker thread, never in
//! an HTTP handler; the providers' staged states wait for it (`Fleet::holds`): a cluster is
//! not ready before its PostgreSQL accepts TLS connections, and not gone before it has stopped
//! and its files are removed. Dropping the simulator stops every PostgreSQL it started and
//! removes their files.
//!
//! Layout: `root` (root-owned, 0755) holds one directory per simulator (root-owned, 0755) with
//! `pg_hba.conf` (root-owned, 0644), `tls/` (the OS user's, 0700: the certificate and its 0600
//! key) and one directory per cluster (the OS user's, 0700: `data/`, the socket, the log).
//! PostgreSQL, initdb, pg_ctl, psql and openssl run as the OS user (`runuser` from root);
//! passwords go to psql on its stdin, never in an argument, and are cut out of its errors.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::runas::{child_env, RunAs};

/// The port every cluster's PostgreSQL listens on, on its own address.
pub const PORT: u16 = 5432;

/// Where the simulator's PostgreSQL comes from and where its clusters live.
#[derive(Debug, Clone)]
pub struct RealPostgres {
    /// PostgreSQL 15's programs (`initdb`, `pg_ctl`, `postgres`, `psql`).
    pub bin_dir: PathBuf,
    /// A directory of this process's user that no one else can write (made 0755 if missing).
    pub root: PathBuf,
    /// Who runs PostgreSQL (not root: initdb refuses it).
    pub os_user: String,
}

impl RealPostgres {
    /// Debian's PostgreSQL 15 (`/usr/lib/postgresql/15/bin`) run by `postgres`, the clusters
    /// under `root`.
    pub fn debian(root: impl Into<PathBuf>) -> RealPostgres {
        RealPostgres {
            bin_dir: "/usr/lib/postgresql/15/bin".into(),
            root: root.into(),
            os_user: "postgres".into(),
        }
    }
}

/// A login role and its password, as a provider hands it out or a client set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimRole {
    pub name: String,
    pub password: String,
}

/// What one cluster's PostgreSQL is made with.
#[derive(Debug, Clone)]
pub struct Contents {
    /// What it was restored from, for `bridgerest_sim.restored.source`.
    pub source: String,
    /// The first row of `ticks`: the source's oldest backup, or the target minus 7 days.
    pub from: OffsetDateTime,
    /// The restore's target (its time of request for a "latest" restore): the last row of
    /// `ticks` is at most this, and less than 10 minutes before it.
    pub target: OffsetDateTime,
    /// The bootstrap superuser `postgres`'s password (Bridge's `postgres` role); none: it has
    /// none and logs in only over the socket.
    pub superuser_password: Option<String>,
    /// Login roles besides `postgres`.
    pub roles: Vec<SimRole>,
    /// Whether those roles may create databases (IONOS's user).
    pub createdb: bool,
    /// The role owning the sample data (the others may read it); none: `postgres` owns it.
    pub owner: Option<String>,
    /// The source's pgBackRest repository: if given, the PostgreSQL is restored from it
    /// instead of made with sample data (`source`, `from` and `owner` then go unused).
    pub repository: Option<Box<Repository>>,
}

/// A source's real pgBackRest repository, as a Bridge fork is restored from it: a backup
/// token with fresh credentials, the options that reach its store from this host, the target.
#[derive(Debug, Clone)]
pub struct Repository {
    pub token: crate::provider::BackupToken,
    /// Options besides the token's (`repo1-s3-endpoint`, `repo1-storage-ca-file`, ...).
    pub options: Vec<(String, String)>,
    /// The point in time to recover to; none: the end of the archive.
    pub target: Option<OffsetDateTime>,
}

impl Contents {
    /// The start of `ticks` for a restore to `target` of a source whose oldest backup began at
    /// `oldest` (an RFC 3339 time, if known).
    pub fn from_of(oldest: Option<&str>, target: OffsetDateTime) -> OffsetDateTime {
        oldest
            .and_then(|o| OffsetDateTime::parse(o, &Rfc3339).ok())
            .filter(|o| *o <= target)
            .unwrap_or(target - time::Duration::days(7))
    }
}

/// Why the simulator cannot run real PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("real PostgreSQL for the simulator: {0}")]
    Setup(String),
    #[error("no loopback address 127.0.0.2 to 127.0.0.254 has port 5432 free for a new cluster")]
    NoAddress,
}

/// Where one cluster's PostgreSQL is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Life {
    Starting,
    Ready,
    /// It did not start (why, passwords cut out).
    Failed(String),
    Stopping,
}

/// A created cluster's PostgreSQL as it is now (for tests and drills).
#[derive(Debug, Clone)]
pub struct Running {
    /// Its loopback address (in 127.64.0.0/10); the port is [`PORT`].
    pub address: Ipv4Addr,
    /// Its directory (data, socket, log): gone once it is deleted.
    pub dir: PathBuf,
    pub life: Life,
}

/// The addresses this process's simulators hold (another process's PostgreSQL shows when its
/// port is bound).
static TAKEN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

fn taken() -> MutexGuard<'static, BTreeSet<u32>> {
    TAKEN.lock().unwrap_or_else(|p| p.into_inner())
}

struct Instance {
    address: Ipv4Addr,
    life: Life,
    /// Its postmaster, once started.
    server: Option<Server>,
}

/// A postmaster as recorded when it started: its pid and its start time (field 22 of
/// `/proc/PID/stat`), so that a pid another process has since taken is never signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Server {
    pid: i32,
    started: u64,
}

impl Server {
    /// The postmaster `data/postmaster.pid` names (a file of the OS user's: read without
    /// following a link), if it runs.
    fn of(data: &Path) -> Option<Server> {
        let text = crate::fsutil::read_regular(&data.join("postmaster.pid"), 4096).ok()??;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        Some(Server {
            pid,
            started: start_time(pid)?,
        })
    }

    fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.started)
    }

    /// Ends it if `pg_ctl stop` could not (its data directory gone, say): SIGINT (a fast
    /// shutdown), then SIGKILL after 30 s.
    fn end(&self) {
        use nix::sys::signal::{kill, Signal};
        let pid = nix::unistd::Pid::from_raw(self.pid);
        if !self.alive() || kill(pid, Signal::SIGINT).is_err() {
            return;
        }
        for _ in 0..300 {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = kill(pid, Signal::SIGKILL);
    }
}

/// A process's start time, in clock ticks since boot (`/proc/PID/stat`, field 22).
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command's closing parenthesis start at field 3.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

enum Job {
    Start {
        id: String,
        contents: Contents,
    },
    /// Stops the cluster's PostgreSQL and removes its directory; `forget`: it is deleted (its
    /// address is free again), else a new start follows (an in-place restore).
    Stop {
        id: String,
        forget: bool,
    },
}

struct Shared {
    cfg: RealPostgres,
    user: RunAs,
    /// This simulator's directory under `root`.
    base: PathBuf,
    instances: Mutex<HashMap<String, Instance>>,
    closing: AtomicBool,
}

/// The PostgreSQL servers of one simulator; dropping it stops them all and removes their files.
pub(crate) struct Fleet {
    shared: Arc<Shared>,
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fleet({})", self.shared.base.display())
    }
}

impl Fleet {
    /// Checks PostgreSQL 15, the OS user and `root`; makes this simulator's directory, its
    /// `pg_hba.conf` and its certificate.
    pub(crate) fn new(cfg: RealPostgres) -> Result<Fleet, Error> {
        let bad = |m: String| Error::Setup(m);
        let user = RunAs::lookup(&cfg.os_user).map_err(|e| bad(e.to_string()))?;
        let me = nix::unistd::Uid::effective();
        if !me.is_root() && me != user.uid {
            return Err(bad(format!(
                "run as root or as {} to run PostgreSQL as {}",
                cfg.os_user, cfg.os_user
            )));
        }
        let postgres = cfg.bin_dir.join("postgres");
        let version = Command::new(&postgres)
            .arg("--version")
            .env_clear()
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        match version {
            Some(v) if v.contains(") 15.") => {}
            found => {
                return Err(bad(format!(
                    "PostgreSQL 15 is needed at {} ({}): install postgresql-15",
                    postgres.display(),
                    found.unwrap_or_else(|| "not found".into())
                )))
            }
        }
        let root = &cfg.root;
        // Every path goes into pg_ctl's -o, a shell word, and the socket's path has ~107 bytes.
        let shown = root.display().to_string();
        if !root.is_absolute() || !crate::pgbackrest::child::is_plain(&shown) || shown.len() > 48 {
            return Err(bad(format!(
                "root {shown}: give an absolute path of at most 48 letters, digits and _-/.,:=+@"
            )));
        }
        if !root.exists() {
            std::fs::DirBuilder::new()
                .mode(0o755)
                .create(root)
                .map_err(|e| bad(format!("making {shown}: {e}")))?;
        }
        let meta = std::fs::symlink_metadata(root).map_err(|e| bad(format!("{shown}: {e}")))?;
        if !meta.is_dir() || meta.uid() != me.as_raw() || meta.mode() & 0o022 != 0 {
            return Err(bad(format!(
                "root {shown} must be a directory of this process's user that no one else can write"
            )));
        }
        for dir in root.ancestors() {
            let searchable = std::fs::metadata(dir).is_ok_and(|m| user.may(&m, 0o1));
            if !searchable {
                return Err(bad(format!(
                    "{} cannot reach {} (it may not search it): make it 0755",
                    cfg.os_user,
                    dir.display()
                )));
            }
        }
        let base = root.join(format!(
            "sim-{}",
            super::rand_str(8, b"abcdefghijkmnpqrstuvwxyz23456789")
        ));
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&base)
            .map_err(|e| bad(format!("making {}: {e}", base.display())))?;
        let shared = Arc::new(Shared {
            cfg,
            user,
            base,
            instances: Mutex::new(HashMap::new()),
            closing: AtomicBool::new(false),
        });
        // From here on, dropping the fleet removes what was made.
        let (tx, rx) = mpsc::channel();
        let s = shared.clone();
        let worker = std::thread::Builder::new()
            .name("sim-postgres".into())
            .spawn(move || work(&s, rx))
            .map_err(|e| bad(format!("starting its worker: {e}")))?;
        let fleet = Fleet {
            shared,
            jobs: Some(tx),
            worker: Some(worker),
        };
        fleet.shared.prepare().map_err(bad)?;
        Ok(fleet)
    }

    fn instances(&self) -> MutexGuard<'_, HashMap<String, Instance>> {
        self.shared.instances()
    }

    fn send(&self, job: Job) {
        if let Some(tx) = &self.jobs {
            let _ = tx.send(job);
        }
    }

    /// Starts a PostgreSQL for the new cluster `id` on a free address (returned at once; it
    /// starts in the background).
    pub(crate) fn create(&self, id: &str, contents: Contents) -> Result<Ipv4Addr, Error> {
        let address = reserve()?;
        self.instances().insert(
            id.to_string(),
            Instance {
                address,
                life: Life::Starting,
                server: None,
            },
        );
        self.send(Job::Start {
            id: id.to_string(),
            contents,
        });
        Ok(address)
    }

    /// An in-place restore of `id`: its PostgreSQL (if it has one) is stopped and removed, and
    /// a new one made with `contents` on the same address.
    pub(crate) fn replace(&self, id: &str, contents: Contents) -> Result<Ipv4Addr, Error> {
        let address = {
            let mut all = self.instances();
            let Some(i) = all.get_mut(id) else {
                drop(all);
                return self.create(id, contents);
            };
            i.life = Life::Starting;
            i.address
        };
        self.send(Job::Stop {
            id: id.to_string(),
            forget: false,
        });
        self.send(Job::Start {
            id: id.to_string(),
            contents,
        });
        Ok(address)
    }

    /// Stops and removes `id`'s PostgreSQL (in the background), if it has one.
    pub(crate) fn remove(&self, id: &str) {
        if let Some(i) = self.instances().get_mut(id) {
            i.life = Life::Stopping;
        } else {
            return;
        }
        self.send(Job::Stop {
            id: id.to_string(),
            forget: true,
        });
    }

    /// `id`'s address, if it has a PostgreSQL.
    pub(crate) fn address(&self, id: &str) -> Option<Ipv4Addr> {
        self.instances().get(id).map(|i| i.address)
    }

    pub(crate) fn running(&self, id: &str) -> Option<Running> {
        self.instances().get(id).map(|i| Running {
            address: i.address,
            dir: self.shared.base.join(id),
            life: i.life.clone(),
        })
    }

    /// Whether cluster `id` must wait before it takes `state`: the provider's `ready` state
    /// while its PostgreSQL starts, its `gone` state while it stops.
    pub(crate) fn holds(&self, id: &str, state: &str, ready: &str, gone: &str) -> bool {
        let all = self.instances();
        match all.get(id) {
            None => false,
            Some(_) if state == gone => true,
            Some(i) => state == ready && i.life == Life::Starting,
        }
    }

    /// Why `id`'s PostgreSQL did not start, if it did not.
    pub(crate) fn failed(&self, id: &str) -> Option<String> {
        match &self.instances().get(id)?.life {
            Life::Failed(why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// [`Fleet::holds`] for a simulator with or without real PostgreSQL.
pub(crate) fn holds(real: Option<&Fleet>, id: &str, state: &str, ready: &str, gone: &str) -> bool {
    real.is_some_and(|f| f.holds(id, state, ready, gone))
}

/// `ready`, or `failed` if `id`'s PostgreSQL did not start (with why).
pub(crate) fn outcome(
    real: Option<&Fleet>,
    id: &str,
    ready: &str,
    failed: &str,
) -> (String, Option<String>) {
    match real.and_then(|f| f.failed(id)) {
        Some(why) => (
            failed.to_string(),
            Some(format!("PostgreSQL did not start: {why}")),
        ),
        None => (ready.to_string(), None),
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        drop(self.jobs.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        let ids: Vec<String> = self.instances().keys().cloned().collect();
        for id in ids {
            self.shared.stop(&id, true);
        }
        let _ = std::fs::remove_dir_all(&self.shared.base);
    }
}

/// An address of 127.64.0.0/10 drawn at random that no simulator of this process holds and
/// whose port 5432 can be bound: random, so that simulators in two processes (a test run beside
/// another) almost never reach for the same one, and the binding settles the rest.
fn reserve() -> Result<Ipv4Addr, Error> {
    let mut held = taken();
    for _ in 0..256 {
        let n = (127u32 << 24) | (1 << 22) | fastrand::u32(1..(1 << 22) - 1);
        let addr = Ipv4Addr::from(n);
        if !held.contains(&n) && TcpListener::bind((addr, PORT)).is_ok() {
            held.insert(n);
            return Ok(addr);
        }
    }
    Err(Error::NoAddress)
}

fn work(s: &Shared, jobs: mpsc::Receiver<Job>) {
    for job in jobs {
        match job {
            Job::Start { id, contents } => {
                if s.closing.load(Ordering::SeqCst) {
                    continue;
                }
                let Some(address) = s.instances().get(&id).map(|i| i.address) else {
                    continue;
                };
                let life = match s.start(&id, address, &contents) {
                    Ok(()) => Life::Ready,
                    Err(why) => {
                        tracing::warn!(cluster = %id, "simulated cluster's PostgreSQL: {why}");
                        Life::Failed(why)
                    }
                };
                if let Some(i) = s.instances().get_mut(&id) {
                    if i.life == Life::Starting {
                        i.life = life;
                    }
                }
            }
            Job::Stop { id, forget } => s.stop(&id, forget),
        }
    }
}

impl Shared {
    fn instances(&self) -> MutexGuard<'_, HashMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tls(&self) -> PathBuf {
        self.base.join("tls")
    }

    /// `pg_hba.conf` (root's, read by all its clusters) and the certificate (the OS user's).
    fn prepare(&self) -> Result<(), String> {
        let hba =
            "# bridgerest-sim: the socket for its own setup, TLS with a password otherwise.\n\
                   local all postgres peer\n\
                   hostssl all all 127.0.0.0/8 scram-sha-256\n";
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(self.base.join("pg_hba.conf"))
            .and_then(|mut f| f.write_all(hba.as_bytes()))
            .map_err(|e| format!("writing pg_hba.conf: {e}"))?;
        let tls = self.tls();
        self.own_dir(&tls)?;
        let (key, crt) = (tls.join("server.key"), tls.join("server.crt"));
        let mut openssl = vec!["req", "-x509", "-newkey", "ec", "-pkeyopt"];
        openssl.extend(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"]);
        openssl.extend(["-subj", "/CN=bridgerest-sim", "-addext"]);
        openssl.extend(["subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout"]);
        let mut args: Vec<String> = openssl.into_iter().map(String::from).collect();
        args.extend([path(&key), "-out".into(), path(&crt)]);
        self.run(Path::new("/usr/bin/openssl"), &args, None, &[])?;
        let mode = std::fs::symlink_metadata(&key).map(|m| (m.mode() & 0o777, m.uid()));
        if mode.as_ref().ok() != Some(&(0o600, self.user.uid.as_raw())) {
            return Err(format!(
                "{} is not 0600 and {}'s: {mode:?}",
                key.display(),
                self.cfg.os_user
            ));
        }
        Ok(())
    }

    /// A directory of the OS user's, 0700, made in a directory of root's.
    fn own_dir(&self, dir: &Path) -> Result<(), String> {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .and_then(|()| {
                std::os::unix::fs::lchown(
                    dir,
                    Some(self.user.uid.as_raw()),
                    Some(self.user.gid.as_raw()),
                )
            })
            .map_err(|e| format!("making {}: {e}", dir.display()))
    }

    /// Runs `program` with `args` as the OS user, with `stdin` fed to it; its stdout, or why it
    /// failed (with `secrets` cut out).
    fn run(
        &self,
        program: &Path,
        args: &[String],
        stdin: Option<&str>,
        secrets: &[&str],
    ) -> Result<String, String> {
        let prefix = self.user.command_prefix();
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .env_clear()
            .envs(child_env(Some(&self.user)))
            .current_dir("/")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut child = cmd.spawn().map_err(|e| format!("running {name}: {e}"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .map_err(|e| format!("feeding {name}: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("running {name}: {e}"))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let mut err = crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 600);
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            err = err.replace(s, "[redacted]");
        }
        Err(format!("{name} failed ({}): {err}", out.status))
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.cfg.bin_dir.join(name)
    }

    /// initdb (or a restore from the source's repository), start, roles and data (or wait
    /// for the restored server's promotion, then roles), then a TLS handshake's first step.
    fn start(&self, id: &str, address: Ipv4Addr, c: &Contents) -> Result<(), String> {
        let dir = self.base.join(id);
        self.own_dir(&dir)?;
        let data = dir.join("data");
        let mut secrets: Vec<String> = c.roles.iter().map(|r| r.password.clone()).collect();
        secrets.extend(c.superuser_password.clone());
        match &c.repository {
            Some(r) => secrets.extend(self.restore(id, &dir, &data, r)?),
            None => self.initdb(&data)?,
        }
        let tls = self.tls();
        let mut settings = vec![
            format!("listen_addresses={address}"),
            format!("port={PORT}"),
            format!("unix_socket_directories={}", dir.display()),
            format!("hba_file={}", self.base.join("pg_hba.conf").display()),
            "ssl=on".into(),
            format!("ssl_cert_file={}", tls.join("server.crt").display()),
            format!("ssl_key_file={}", tls.join("server.key").display()),
            // A copy never archives: a restored one would push into its source's repository.
            "archive_mode=off".into(),
            "shared_buffers=16MB".into(),
            "fsync=off".into(),
            "full_page_writes=off".into(),
            // A failed statement's text may hold a password: not into the log.
            "log_min_error_statement=panic".into(),
        ];
        // Recovery needs at least the source's max_connections: a restored one keeps its own.
        if c.repository.is_none() {
            settings.push("max_connections=20".into());
        }
        let opts: Vec<String> = settings.iter().map(|s| format!("-c {s}")).collect();
        let log = dir.join("postgres.log");
        let args: Vec<String> = ["start", "-w", "-t", "60", "-D", &path(&data), "-l"]
            .iter()
            .map(|s| s.to_string())
            .chain([path(&log), "-o".into(), opts.join(" ")])
            .collect();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let started = self.run(&self.bin("pg_ctl"), &args, None, &secrets);
        let server = Server::of(&data);
        if let Some(i) = self.instances().get_mut(id) {
            i.server = server;
        }
        if let Err(e) = started {
            return Err(format!("{e}{}", self.fatal_lines(&log, &secrets)));
        }
        let sql = match &c.repository {
            Some(_) => {
                self.promoted(&dir, &log, server, &secrets)?;
                roles_sql(c)
            }
            None => setup_sql(c),
        };
        self.run(&self.bin("psql"), &psql_args(&dir), Some(&sql), &secrets)?;
        if !accepts_tls(address) {
            return Err(format!("{address}:{PORT} does not accept TLS"));
        }
        Ok(())
    }

    fn initdb(&self, data: &Path) -> Result<(), String> {
        let initdb = ["-D", &path(data), "-U", "postgres", "--auth-local=peer"];
        let more = [
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-locale",
        ];
        let args: Vec<String> = initdb.iter().chain(&more).map(|s| s.to_string()).collect();
        self.run(&self.bin("initdb"), &args, None, &[])?;
        Ok(())
    }

    /// `pgbackrest restore` of the source's repository into `data` (made here, empty), run as
    /// the OS user with a pgbackrest.conf of its own in `dir` (0600, the OS user's: the
    /// repository's stanza rendered from the token as bridgerest renders it, the store's
    /// options, and lock, log and spool paths in `dir`), to `r.target` (promoting there) or
    /// to the end of the archive. The secrets the file holds, to cut out of errors.
    fn restore(
        &self,
        id: &str,
        dir: &Path,
        data: &Path,
        r: &Repository,
    ) -> Result<Vec<String>, String> {
        if !Path::new(PGBACKREST).exists() {
            return Err(format!(
                "restoring from the source's repository needs {PGBACKREST}: apt-get install pgbackrest"
            ));
        }
        let own = dir.join("pgbackrest");
        let mkdir = ["-m".to_string(), "0700".into(), path(data), path(&own)];
        self.run(Path::new("/bin/mkdir"), &mkdir, None, &[])?;
        let mut options: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (k, v) in &r.options {
            options.entry(k.clone()).or_default().push(v.clone());
        }
        let cluster = crate::render::ClusterConfig {
            id: id.to_string(),
            pg1_path: data.to_path_buf(),
            stanza: None,
            options,
        };
        let stanza = crate::render::stanza(&cluster, &r.token, dir, None)
            .map_err(|e| format!("rendering the source's stanza: {e}"))?;
        let secrets: Vec<String> = stanza.secret_values().collect();
        for f in &stanza.files {
            self.write_private(&f.path, secrecy::ExposeSecret::expose_secret(&f.contents))?;
        }
        let mut conf = crate::render::owned_file(
            std::slice::from_ref(&stanza),
            Path::new("bridgerest-sim"),
            false,
        );
        conf += &format!(
            "\n[global]\nlock-path={p}\nlog-path={p}\nspool-path={p}\nlog-level-console=off\nlog-level-stderr=error\nlog-level-file=off\nio-timeout=10\n",
            p = own.display()
        );
        let config = dir.join("pgbackrest.conf");
        self.write_private(&config, &conf)?;
        let mut args = vec![
            format!("--config={}", config.display()),
            // Its own (empty) include path: no /etc/pgbackrest/conf.d file joins this one.
            format!("--config-include-path={}", own.display()),
            format!("--stanza={}", stanza.name),
            format!("--pg1-path={}", data.display()),
        ];
        match r.target {
            Some(t) => args.extend([
                "--type=time".to_string(),
                format!("--target={}", pgbackrest_time(t)),
                "--target-action=promote".into(),
            ]),
            None => args.push("--type=default".into()),
        }
        args.push("restore".into());
        let hidden: Vec<&str> = secrets.iter().map(String::as_str).collect();
        self.run(Path::new(PGBACKREST), &args, None, &hidden)?;
        Ok(secrets)
    }

    /// Writes `text` to a new file `file` (refused if it exists) as the OS user, 0600, in a
    /// directory of the OS user's: the text goes on the writer's stdin.
    fn write_private(&self, file: &Path, text: &str) -> Result<(), String> {
        let script = "set -C; umask 077; exec cat > \"$1\"";
        let args = ["-c".to_string(), script.into(), "sh".into(), path(file)];
        self.run(Path::new("/bin/sh"), &args, Some(text), &[])
            .map(|_| ())
            .map_err(|e| format!("writing {}: {e}", file.display()))
    }

    /// Waits until the restored server has left recovery (promoted at its target); fails when
    /// it stops (a recovery FATAL, named from its log) or after [`PROMOTION`].
    fn promoted(
        &self,
        dir: &Path,
        log: &Path,
        server: Option<Server>,
        secrets: &[&str],
    ) -> Result<(), String> {
        let t0 = std::time::Instant::now();
        let mut last = String::new();
        while t0.elapsed() < PROMOTION {
            if !server.is_some_and(|s| s.alive()) {
                return Err(format!(
                    "the restored PostgreSQL stopped during recovery{}",
                    self.fatal_lines(log, secrets)
                ));
            }
            let sql = "SELECT pg_is_in_recovery()";
            let mut args = psql_args(dir);
            args.extend(["-A", "-t", "-c", sql].map(String::from));
            match self.run(&self.bin("psql"), &args, None, secrets) {
                Ok(out) if out.trim() == "f" => return Ok(()),
                Ok(out) => last = format!("pg_is_in_recovery() is {}", out.trim()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "the restored PostgreSQL was not promoted within {} s ({last}){}",
            PROMOTION.as_secs(),
            self.fatal_lines(log, secrets)
        ))
    }

    /// `: ` and the FATAL/PANIC lines of a server's log (its last 200 lines, read as the OS
    /// user), `secrets` cut out; empty if there are none.
    fn fatal_lines(&self, log: &Path, secrets: &[&str]) -> String {
        let args = ["-n".to_string(), "200".into(), path(log)];
        let Ok(text) = self.run(Path::new("/usr/bin/tail"), &args, None, &[]) else {
            return String::new();
        };
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("FATAL:") || l.contains("PANIC:"))
            .collect();
        if lines.is_empty() {
            return String::new();
        }
        let mut out = crate::text::excerpt(&lines.join(" | "), 600);
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            out = out.replace(s, "[redacted]");
        }
        format!(": {out}")
    }

    /// `pg_ctl stop -m fast`, then its directory goes; `forget`: its address too.
    fn stop(&self, id: &str, forget: bool) {
        let dir = self.base.join(id);
        let data = dir.join("data");
        if data.join("postmaster.pid").exists() {
            let args: Vec<String> = ["stop", "-m", "fast", "-w", "-t", "60", "-D", &path(&data)]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if let Err(e) = self.run(&self.bin("pg_ctl"), &args, None, &[]) {
                tracing::warn!(cluster = %id, "stopping a simulated cluster's PostgreSQL: {e}");
            }
        }
        // Whatever happened to its files, the postmaster it started does not outlive it.
        let server = self.instances().get_mut(id).and_then(|i| i.server.take());
        if let Some(server) = server {
            server.end();
        }
        // std's remove_dir_all works through directory fds and follows no symlink (the OS
        // user could have planted one); the directory's name is in root's directory.
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(cluster = %id, "removing {}: {e}", dir.display());
            }
        }
        if forget {
            if let Some(i) = self.instances().remove(id) {
                taken().remove(&u32::from(i.address));
            }
        }
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// pgBackRest's own program.
const PGBACKREST: &str = "/usr/bin/pgbackrest";

/// How long a restored PostgreSQL may take from its start to its promotion.
const PROMOTION: Duration = Duration::from_secs(300);

/// psql as `postgres` over the cluster's own socket in `dir` (peer authentication).
fn psql_args(dir: &Path) -> Vec<String> {
    let psql = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &path(dir)];
    psql.iter()
        .chain(&["-p", "5432", "-U", "postgres", "-d", "postgres"])
        .map(|s| s.to_string())
        .collect()
}

/// A time as pgBackRest's `--target` takes it: `YYYY-MM-DD HH:MM:SS.ffffff+00`.
fn pgbackrest_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]+00"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// Whether PostgreSQL at `address` answers an SSLRequest with `S` (it will do TLS).
fn accepts_tls(address: Ipv4Addr) -> bool {
    let at = SocketAddr::from((address, PORT));
    let Ok(mut s) = TcpStream::connect_timeout(&at, Duration::from_secs(5)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    // Length 8, then the SSLRequest code 80877103.
    let mut answer = [0u8; 1];
    s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).is_ok()
        && s.read_exact(&mut answer).is_ok()
        && answer[0] == b'S'
}

/// A restored cluster's roles: the source's keep their privileges and get the passwords
/// handed out; those the source lacks are made, able to read all data (`pg_read_all_data`).
fn roles_sql(c: &Contents) -> String {
    let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut sql = String::from("\\set VERBOSITY terse\n");
    if let Some(pw) = &c.superuser_password {
        sql += &format!("ALTER ROLE postgres LOGIN PASSWORD {};\n", lit(pw));
    }
    let createdb = if c.createdb { " CREATEDB" } else { "" };
    for r in c.roles.iter().filter(|r| r.name != "postgres") {
        sql += &format!(
            "SELECT format('CREATE ROLE %I', n), format('GRANT pg_read_all_data TO %I', n) FROM (VALUES ({0})) v(n) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = n) \\gexec\n\
             ALTER ROLE {1} LOGIN{createdb} PASSWORD {2};\n",
            lit(&r.name),
            ident(&r.name),
            lit(&r.password)
        );
    }
    sql
}

/// The roles, their passwords and the sample data, fed to psql on its stdin.
fn setup_sql(c: &Contents) -> String {
    let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let time = |t: OffsetDateTime| lit(&t.format(&Rfc3339).unwrap_or_default());
    let mut sql = String::from("\\set VERBOSITY terse\n");
    if let Some(pw) = &c.superuser_password {
        sql += &format!("ALTER ROLE postgres PASSWORD {};\n", lit(pw));
    }
    let createdb = if c.createdb { " CREATEDB" } else { "" };
    for r in c.roles.iter().filter(|r| r.name != "postgres") {
        sql += &format!(
            "CREATE ROLE {} LOGIN{createdb} PASSWORD {};\n",
            ident(&r.name),
            lit(&r.password)
        );
    }
    let owner = ident(c.owner.as_deref().unwrap_or("postgres"));
    sql += &format!(
        "CREATE SCHEMA bridgerest_sim AUTHORIZATION {owner};\n\
         SET ROLE {owner};\n\
         CREATE TABLE bridgerest_sim.ticks (at timestamptz PRIMARY KEY);\n\
         INSERT INTO bridgerest_sim.ticks SELECT generate_series({}::timestamptz, {}::timestamptz, interval '10 minutes');\n\
         CREATE TABLE bridgerest_sim.restored (target timestamptz, source text);\n\
         INSERT INTO bridgerest_sim.restored VALUES ({}, {});\n\
         RESET ROLE;\n",
        time(c.from),
        time(c.target),
        time(c.target),
        lit(&c.source),
    );
    for r in c
        .roles
        .iter()
        .filter(|r| Some(r.name.as_str()) != c.owner.as_deref())
    {
        sql += &format!(
            "GRANT USAGE ON SCHEMA bridgerest_sim TO {0};\nGRANT SELECT ON ALL TABLES IN SCHEMA bridgerest_sim TO {0};\n",
            ident(&r.name)
        );
    }
    // A source prepared for drills at the provider, as docs/restore.md tells users to prepare
    // theirs: amcheck in every database pg_amcheck --all visits, its functions granted to the
    // roles (amcheck is no trusted extension: a provider's role could not create it), which a
    // copy keeps.
    let grants: String = c
        .roles
        .iter()
        .filter(|r| r.name != "postgres")
        .map(|r| {
            format!(
                "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {};\n",
                ident(&r.name)
            )
        })
        .collect();
    for db in ["postgres", "template1"] {
        sql += &format!("\\connect {db}\nCREATE EXTENSION IF NOT EXISTS amcheck;\n{grants}");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_quotes_what_clients_chose_and_ticks_end_at_the_target() {
        let t = time::macros::datetime!(2026-12-03 10:05:30 UTC);
        let sql = setup_sql(&Contents {
            source: "it's".into(),
            from: Contents::from_of(None, t),
            target: t,
            superuser_password: Some("p'w".into()),
            roles: vec![SimRole {
                name: "a\"b".into(),
                password: "x".into(),
            }],
            createdb: true,
            owner: Some("a\"b".into()),
            repository: None,
        });
        assert!(
            sql.contains("ALTER ROLE postgres PASSWORD 'p''w';"),
            "{sql}"
        );
        assert!(
            sql.contains("CREATE ROLE \"a\"\"b\" LOGIN CREATEDB PASSWORD 'x';"),
            "{sql}"
        );
        assert!(sql.contains("generate_series('2026-11-26T10:05:30Z'::timestamptz, '2026-12-03T10:05:30Z'::timestamptz"), "{sql}");
        assert!(
            sql.contains("VALUES ('2026-12-03T10:05:30Z', 'it''s')"),
            "{sql}"
        );
        assert!(
            !sql.contains("ON SCHEMA bridgerest_sim TO"),
            "the owner needs no grant: {sql}"
        );
        assert_eq!(
            sql.matches("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO \"a\"\"b\";")
                .count(),
            2,
            "amcheck for the role in postgres and template1: {sql}"
        );
        // The oldest backup starts the ticks, unless it is after the target.
        let oldest = "2026-12-01T00:00:00Z";
        assert_eq!(
            Contents::from_of(Some(oldest), t),
            time::macros::datetime!(2026-12-01 0:00 UTC)
        );
        assert_eq!(
            Contents::from_of(Some("2026-12-04T00:00:00Z"), t),
            t - time::Duration::days(7)
        );
    }
}
