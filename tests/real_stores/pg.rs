//! A PostgreSQL 15 cluster run as the postgres user, stopped when dropped; and [`World`]: one
//! test's store, simulator, bridgerest config, pgBackRest config and database, for one Bridge
//! cluster or a fleet of them ([`Member`], tests/real_stores/fleet.rs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bridgerest::sim::{Sim, SimCluster, SimHandle, SimState};

use super::stores::{Azure, Gcs, Store, S3};
use super::{as_user, free_port, tool, wait_until, TestDir, Tls, Transcript};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
pub const CLUSTER: &str = "rvf73a77ozfsvcttryebfrnlem";
pub const STANZA: &str = "main";
pub const API_KEY: &str = "cbkey_e2e_test_key_4f2e6760";

pub struct Pg {
    pub data: PathBuf,
    pub port: u16,
    pub sock: PathBuf,
    log: PathBuf,
    running: bool,
    /// Restored copies start without archiving (their WAL must not go to the source's repo).
    archive: bool,
    /// Who runs it: the source as [`super::SOURCE_USER`], restored copies as postgres.
    owner: (nix::unistd::Uid, nix::unistd::Gid),
}

impl Pg {
    fn bin(name: &str) -> PathBuf {
        tool(
            Path::new(PG_BIN).join(name),
            "apt-get install postgresql-15",
        )
    }

    /// `initdb` a new cluster, run by `owner`, that archives through pgBackRest with
    /// `archive_command`.
    pub fn init(
        data: &Path,
        sock: &Path,
        log: &Path,
        archive_command: &str,
        owner: (nix::unistd::Uid, nix::unistd::Gid),
    ) -> Pg {
        let (ok, out, err) = as_user(
            Command::new(Pg::bin("initdb"))
                .args(["-D"])
                .arg(data)
                .args(["-U", "postgres", "--auth=trust", "--no-sync"])
                // As Crunchy Bridge's clusters: a drill's pg_checksums has pages to check.
                .arg("--data-checksums"),
            owner,
        );
        assert!(ok, "initdb failed: {out}{err}");
        let port = free_port();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = ''\nunix_socket_directories = '{}'\nwal_level = replica\narchive_mode = on\narchive_command = '{}'\nmax_wal_size = 64MB\nshared_buffers = 16MB\nfsync = off\nshared_preload_libraries = 'pg_stat_statements,pg_prewarm'\n",
            sock.display(),
            archive_command.replace('\'', "''")
        );
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap()
            .write_all(conf.as_bytes())
            .unwrap();
        Pg {
            data: data.to_path_buf(),
            port,
            sock: sock.to_path_buf(),
            log: log.to_path_buf(),
            running: false,
            archive: true,
            owner,
        }
    }

    /// A restored data directory, to be started on its own port without archiving.
    pub fn restored(data: &Path, sock: &Path, log: &Path) -> Pg {
        Pg {
            data: data.to_path_buf(),
            port: free_port(),
            sock: sock.to_path_buf(),
            log: log.to_path_buf(),
            running: false,
            archive: false,
            owner: super::postgres_ids(),
        }
    }

    /// A cluster started by someone else (bridgerest restore --start); stopped when dropped.
    pub fn adopt(data: &Path, sock: &Path, port: u16, log: &Path) -> Pg {
        Pg {
            data: data.to_path_buf(),
            port,
            sock: sock.to_path_buf(),
            log: log.to_path_buf(),
            running: true,
            archive: false,
            owner: super::postgres_ids(),
        }
    }

    pub fn start(&mut self) {
        let mut opts = format!(
            "-p {} -c unix_socket_directories={}",
            self.port,
            self.sock.display()
        );
        if !self.archive {
            opts.push_str(" -c archive_mode=off");
        }
        let (ok, out, err) = as_user(
            Command::new(Pg::bin("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&self.log)
                .args(["-w", "-t", "120", "-o", &opts, "start"]),
            self.owner,
        );
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(ok, "pg_ctl start failed: {out}{err}\n{log}");
        self.running = true;
    }

    pub fn psql(&self, sql: &str) -> String {
        let (ok, out, err) = as_user(
            Command::new(Pg::bin("psql"))
                .arg("-h")
                .arg(&self.sock)
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-XAtq",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    sql,
                ]),
            self.owner,
        );
        assert!(ok, "psql {sql:?} failed: {err}");
        out.trim().to_string()
    }

    pub fn stop(&mut self) {
        if self.running {
            let _ = as_user(
                Command::new(Pg::bin("pg_ctl"))
                    .arg("-D")
                    .arg(&self.data)
                    .args(["-m", "immediate", "-w", "stop"]),
                self.owner,
            );
            self.running = false;
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    S3,
    /// Azure with a container SAS per token.
    Azure,
    /// Azure with the account's shared key.
    AzureShared,
    /// GCS with a credential in the token (an OAuth token: a form Bridge does not document).
    Gcs,
    /// GCS as Bridge documents it: no credential in the token; the user's service-account key,
    /// exchanged by pgBackRest for an access token at the key's `token_uri`.
    GcsServiceKey,
}

/// One Bridge cluster of a [`World`]: the simulator's cluster, a stanza and repository path of
/// its own on the world's store (fed by the world's one source), and a `[[cluster]]` of the
/// bridgerest config.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub stanza: String,
    pub repo_path: String,
    /// Its `pg1_path` on this host: never held a cluster.
    pub pg1_path: PathBuf,
}

pub struct World {
    // Drop order matters: the database stops before the stores and the simulator.
    pub pg: Pg,
    pub sim: SimHandle,
    pub store: Box<dyn Store>,
    pub tls: Tls,
    pub config: PathBuf,
    pub main_config: PathBuf,
    pub confd: PathBuf,
    /// pgBackRest's options for the source: its config and bridgerest's conf.d (the stanza is
    /// a member's; its data directory goes in `PGBACKREST_PG1_PATH`: not every command takes it).
    pub source_args: Vec<String>,
    /// The socket directory for clusters restored on this host (postgres's).
    pub sock: PathBuf,
    /// The stanza's `pg1_path` on this host: never held a cluster (the first member's).
    pub pg1_path: PathBuf,
    /// The Bridge clusters: [`CLUSTER`] alone, or a fleet's ([`World::fleet`]).
    pub members: Vec<Member>,
    /// Whether drills go to bridgerest's default scratch root (a fleet's): the lock files
    /// they leave there, named after this world's stanzas, are removed when it is dropped, and
    /// so are the directories of that root which did not exist before it (the host is left as
    /// it was: a package installed later makes /var/lib/bridgerest its own way).
    default_scratch: bool,
    made_dirs: Vec<PathBuf>,
    pub transcript: Transcript,
    pub dir: TestDir,
}

impl Drop for World {
    fn drop(&mut self) {
        if self.default_scratch {
            let root = Path::new(bridgerest::config::DEFAULT_DRILL_ROOT);
            for m in &self.members {
                let _ = std::fs::remove_file(root.join(format!("{}.lock", m.stanza)));
            }
            // Deepest first; a directory something else has put files in stays.
            for d in &self.made_dirs {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

impl World {
    pub fn new(kind: Kind, lifetime_secs: u64) -> World {
        World::with_latency(kind, lifetime_secs, std::time::Duration::ZERO)
    }

    /// Like [`World::new`], with every request to an S3 store `latency` slower.
    pub fn with_latency(kind: Kind, lifetime_secs: u64, latency: std::time::Duration) -> World {
        let one = Member {
            id: CLUSTER.into(),
            name: "production".into(),
            stanza: STANZA.into(),
            repo_path: "/pgbackrest/production".into(),
            pg1_path: PathBuf::from("restore/15/main"),
        };
        World::build(kind, lifetime_secs, latency, vec![one], true)
    }

    /// `members` on one store and one source; with `scratch`, `drill.scratch` names one
    /// directory of the test's (else each drill's copy goes to bridgerest's default,
    /// `/var/lib/bridgerest/drill/<stanza>`: one per cluster, as concurrent workers need).
    /// Each member's `pg1_path` is relative to the test's directory until made absolute here.
    pub(super) fn build(
        kind: Kind,
        lifetime_secs: u64,
        latency: std::time::Duration,
        mut members: Vec<Member>,
        scratch: bool,
    ) -> World {
        super::require_root();
        bridgerest::init_tls();
        let pgbackrest = tool("/usr/bin/pgbackrest", "apt-get install pgbackrest");
        let dir = TestDir::new();
        let tls = Tls::new(&dir.path("tls"));
        let store: Box<dyn Store> = match kind {
            Kind::S3 => Box::new(S3::start_with_latency(&dir, &tls, latency)),
            Kind::Azure => Box::new(Azure::start(&dir, &tls, "sas")),
            Kind::AzureShared => Box::new(Azure::start(&dir, &tls, "shared")),
            Kind::Gcs => Box::new(Gcs::start(&dir, &tls, false)),
            Kind::GcsServiceKey => Box::new(Gcs::start(&dir, &tls, true)),
        };
        let state = SimState {
            api_keys: vec![API_KEY.into()],
            clusters: members
                .iter()
                .map(|m| SimCluster {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    team_id: "eaevtjiudzeq7bsqbbpiscund4".into(),
                    provider_id: "aws".into(),
                    region_id: "us-east-1".into(),
                    major_version: 15,
                    stanza: Some(m.stanza.clone()),
                    repo_path: m.repo_path.clone(),
                    backups: vec![],
                    store: store.template(),
                    token_override: None,
                    token_lifetime_secs: lifetime_secs,
                    state: None,
                })
                .collect(),
            faults: vec![],
            teams: bridgerest::sim::account::default_teams(),
            backup_duration_ms: 2000,
            backup_cooldown_ms: 60_000,
            delete_ms: 2000,
            restore_ms: 3000,
            fork_states: None,
            restore_start_ms: 0,
            ionos: None,
            launcher: None,
            latency_ms: 0,
        };
        let sim = SimHandle::start_sim(
            Sim::new(state)
                .with_issuer(store.issuer())
                .with_store_options(store.options()),
        )
        .unwrap();

        // This host, the restore host: the pgBackRest config and directories postgres uses, and
        // bridgerest's conf.d (readable by the source's user through the postgres group).
        // As /etc/pgbackrest is: root's, so that no other user can swap conf.d (check flags
        // a config directory whose parent another user can write).
        let pgbr = dir.mkdir("pgbackrest", 0o755, false);
        let confd = dir.mkdir("pgbackrest/conf.d", 0o750, true);
        for sub in ["log", "lock", "spool"] {
            dir.mkdir(&format!("pgbackrest/{sub}"), 0o700, true);
        }
        let main_config = pgbr.join("pgbackrest.conf");
        std::fs::write(dir.path("api-key"), API_KEY).unwrap();
        std::fs::set_permissions(
            dir.path("api-key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let sock = dir.mkdir("restore/sock", 0o755, true);
        // Where the stanza restores: a path that never held a cluster, in postgres's
        // directory (as /var/lib/postgresql/15 on Debian); bridgerest makes it.
        dir.mkdir("restore/15", 0o755, true);
        for m in members.iter_mut() {
            m.pg1_path = dir.path(&m.pg1_path.display().to_string());
        }
        let pg1_path = members[0].pg1_path.clone();

        // The source cluster: the provider's host, run by another user whose files postgres
        // cannot reach, with its own pgBackRest config, lock and log directories; it reads
        // the repository's credentials from bridgerest's stanza and names its own data
        // directory on the command line or in the environment (the stanza's pg1-path is this host's).
        let src_ids = super::source_ids();
        dir.mkdir_for("src", 0o755, Some(src_ids));
        let data = dir.mkdir_for("src/data", 0o700, Some(src_ids));
        let src_sock = dir.mkdir_for("src/sock", 0o755, Some(src_ids));
        let src_pgbr = dir.mkdir_for("src/pgbackrest", 0o700, Some(src_ids));
        for sub in ["log", "lock", "spool"] {
            dir.mkdir_for(&format!("src/pgbackrest/{sub}"), 0o700, Some(src_ids));
        }
        let source_config = src_pgbr.join("pgbackrest.conf");
        let source_args = vec![
            format!("--config={}", source_config.display()),
            format!("--config-include-path={}", confd.display()),
        ];
        // Every WAL file to every member's repository, one after another: archived only when
        // all have it (a script: PostgreSQL cuts an archive_command at 1024 bytes; its name
        // says pgbackrest, as pgBackRest's backup checks the archive_command does).
        let archive = dir.path("src/pgbackrest-archive-push-all");
        std::fs::write(
            &archive,
            format!(
                "#!/bin/sh\nset -e\nfor stanza in {}; do\n  {} {} --stanza=\"$stanza\" --pg1-path={} archive-push \"$1\"\ndone\n",
                members.iter().map(|m| m.stanza.as_str()).collect::<Vec<_>>().join(" "),
                pgbackrest.display(),
                source_args.join(" "),
                data.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &archive,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let archive = format!("{} %p", archive.display());
        let pg = Pg::init(
            &data,
            &src_sock,
            &dir.path("src/postgres.log"),
            &archive,
            src_ids,
        );
        let mut text = format!(
            "[global]\nlog-path={p}/log\nlock-path={p}/lock\nspool-path={p}/spool\nlog-level-console=warn\nlog-level-file=detail\nio-timeout=10\nstart-fast=y\narchive-timeout=60\n",
            p = src_pgbr.display(),
        );
        for m in &members {
            text.push_str(&format!(
                "\n[{}]\npg1-port={port}\npg1-socket-path={sock}\npg1-user=postgres\n",
                m.stanza,
                port = pg.port,
                sock = src_sock.display()
            ));
        }
        std::fs::write(&source_config, text).unwrap();
        nix::unistd::chown(&source_config, Some(src_ids.0), Some(src_ids.1)).unwrap();
        // The restore host's own settings live in the main config; bridgerest owns
        // conf.d/bridgerest.conf. job-retry=0: a refused file fails the restore at once
        // instead of after pgBackRest's own retries (0 s, then 15 s), which only slow the
        // credential-expiry tests down.
        std::fs::write(
            &main_config,
            format!(
                "[global]\nlog-path={p}/log\nlock-path={p}/lock\nspool-path={p}/spool\nlog-level-console=warn\nlog-level-file=detail\nio-timeout=10\njob-retry=0\n",
                p = pgbr.display(),
            ),
        )
        .unwrap();
        let (u, g) = super::postgres_ids();
        nix::unistd::chown(&main_config, Some(u), Some(g)).unwrap();

        let scratch_line = match scratch {
            true => format!("scratch = \"{}\"\n", dir.path("drill/copy").display()),
            false => String::new(),
        };
        let mut cfg = format!(
            "[api]\nurl = \"{}\"\nkey_file = \"{}\"\nretry_base = \"50ms\"\ntimeout = \"10s\"\n\n[pgbackrest]\nconfig = \"{}\"\nowner = \"postgres\"\ngroup = \"postgres\"\nmode = \"0640\"\nmain_config = \"{}\"\ninclude_path = \"{}\"\n\n[daemon]\nstatus_file = \"{state}/status.json\"\nprometheus_textfile = \"{state}/bridgerest.prom\"\n\n[drill]\n{scratch_line}reports = \"{state}/drills\"\nverify = true\nqueries = [\"SELECT count(*) FROM public.restore_check\", \"SELECT NOT rolsuper AND current_setting('search_path') = 'pg_catalog' FROM pg_roles WHERE rolname = current_user\", \"SELECT current_setting('shared_preload_libraries') = 'pg_stat_statements'\"]\n",
            sim.url(),
            dir.path("api-key").display(),
            confd.join("bridgerest.conf").display(),
            main_config.display(),
            confd.display(),
            state = dir.path("state").display(),
        );
        dir.mkdir("drill", 0o755, false);
        dir.mkdir("state", 0o755, false);
        for m in &members {
            cfg.push_str(&format!(
                "\n[[cluster]]\nid = \"{}\"\npg1_path = \"{}\"\n[cluster.options]\n",
                m.id,
                m.pg1_path.display()
            ));
            for (k, v) in store.options() {
                cfg.push_str(&format!("\"{k}\" = \"{v}\"\n"));
            }
        }
        let config = dir.path("bridgerest.toml");
        std::fs::write(&config, cfg).unwrap();
        World {
            pg,
            sim,
            store,
            tls,
            config,
            main_config,
            confd,
            source_args,
            sock,
            pg1_path,
            members,
            default_scratch: !scratch,
            made_dirs: match scratch {
                true => vec![],
                false => {
                    let root = Path::new(bridgerest::config::DEFAULT_DRILL_ROOT);
                    root.ancestors()
                        .take_while(|d| *d != Path::new("/var/lib"))
                        .filter(|d| !d.exists())
                        .map(Path::to_path_buf)
                        .collect()
                }
            },
            transcript: Transcript::default(),
            dir,
        }
    }

    /// Runs the real bridgerest binary; its output joins the transcript and is checked for secrets.
    pub fn bridgerest(&self, args: &[&str]) -> (i32, String, String) {
        self.finish(self.spawn_bridgerest(args))
    }

    /// Starts the real bridgerest binary with `args`; finish with [`World::finish`].
    pub fn spawn_bridgerest(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_bridgerest"))
            .env_remove("BRIDGEREST_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env("BRIDGEREST_LOG", "info")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for a spawned bridgerest; its output joins the transcript, checked for secrets.
    pub fn finish(&self, child: std::process::Child) -> (i32, String, String) {
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        self.transcript.push(&stdout);
        self.transcript.push(&stderr);
        self.assert_no_secrets();
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    /// Makes the simulator's backup list what the repository holds (as Bridge's API reports
    /// the backups pgBackRest took).
    /// Gives the simulator the repository's backups, named as Bridge documents them:
    /// `YYYY/<label>` (e.g. `2020/20200913-195337F`).
    pub fn sync_backups(&self) {
        self.sync_backups_of(&self.members[0]);
    }

    /// [`World::sync_backups`] for one member of the world.
    pub fn sync_backups_of(&self, m: &Member) {
        let out = self.pgbackrest_ok_in(&m.stanza, &["--output=json", "info"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let rfc = |secs: &serde_json::Value| {
            time::OffsetDateTime::from_unix_timestamp(secs.as_i64().unwrap())
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let backups: Vec<serde_json::Value> = v[0]["backup"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let label = b["label"].as_str().unwrap();
                serde_json::json!({
                    "name": format!("{}/{label}", &label[..4]), "type": b["type"],
                    "started_at": rfc(&b["timestamp"]["start"]), "finished_at": rfc(&b["timestamp"]["stop"]),
                    "lsn_start": b["lsn"]["start"], "lsn_stop": b["lsn"]["stop"], "size_bytes": b["info"]["size"],
                })
            })
            .collect();
        assert!(!backups.is_empty(), "no backup in the repository: {out}");
        self.sim.sim.set_backups(&m.id, backups);
    }

    pub fn refresh(&self) {
        let (code, out, err) = self.bridgerest(&["refresh"]);
        assert_eq!(code, 0, "bridgerest refresh failed:\n{out}{err}");
    }

    /// Every secret the simulator issued is absent from everything bridgerest printed.
    pub fn assert_no_secrets(&self) {
        let text = self.transcript.text();
        let secrets = self.sim.sim.issued_secrets();
        for s in secrets.iter().map(String::as_str).chain([API_KEY]) {
            assert!(
                !text.contains(s),
                "an issued secret appeared in bridgerest's output"
            );
        }
    }

    /// Runs pgBackRest at the source (the provider's side: its user, its config, its data
    /// directory) with bridgerest's stanza for the repository.
    pub fn pgbackrest(&self, args: &[&str]) -> (bool, String, String) {
        self.pgbackrest_in(&self.members[0].stanza, args)
    }

    /// [`World::pgbackrest`] with another member's stanza.
    pub fn pgbackrest_in(&self, stanza: &str, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::new("/usr/bin/pgbackrest");
        cmd.args(&self.source_args)
            .arg(format!("--stanza={stanza}"))
            .args(args)
            .env("PGBACKREST_PG1_PATH", &self.pg.data);
        as_user(&mut cmd, super::source_ids())
    }

    pub fn pgbackrest_ok(&self, args: &[&str]) -> String {
        self.pgbackrest_ok_in(&self.members[0].stanza, args)
    }

    /// [`World::pgbackrest_ok`] with another member's stanza.
    pub fn pgbackrest_ok_in(&self, stanza: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.pgbackrest_in(stanza, args);
        if !ok {
            let log = std::fs::read_dir(self.dir.path("src/pgbackrest/log"))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "pgbackrest {args:?} failed:\n{out}{err}\n--- log tail ---\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        out
    }

    /// `pgbackrest info --output=json`: the stanza's (status code, message).
    pub fn info_status(&self) -> (i64, String) {
        let out = self.pgbackrest_ok(&["--output=json", "info"]);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("info JSON: {e}: {out}"));
        let st = &v[0]["status"];
        let repo_msgs: Vec<String> = v[0]["repo"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| r["status"]["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        (
            st["code"].as_i64().unwrap_or(-1),
            format!(
                "{} {}",
                st["message"].as_str().unwrap_or(""),
                repo_msgs.join(" ")
            ),
        )
    }

    /// Asserts `info` reads the repository: status 2 "no valid backups" (no backup taken yet).
    pub fn assert_repo_readable(&self, what: &str) {
        let (code, msg) = self.info_status();
        assert_eq!(
            (code, msg.contains("no valid backups")),
            (2, true),
            "{what}: {msg}"
        );
    }

    /// Inserts rows 1..=n in one transaction.
    pub fn insert(&self, from: i32, to: i32) {
        self.pg.psql(&format!(
            "INSERT INTO restore_check SELECT g FROM generate_series({from}, {to}) g"
        ));
    }

    /// The current time as pgBackRest's `--target` wants it (UTC, microseconds).
    pub fn now_target(&self) -> String {
        self.pg.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
    }

    /// Waits for the token lifetime to pass and the store to refuse the old credentials.
    pub fn wait_refused(&self, timeout: Duration) -> String {
        let mut last = String::new();
        wait_until(
            "the store to refuse the expired credentials",
            timeout,
            || {
                let (code, msg) = self.info_status();
                last = msg;
                code == 99
            },
        );
        last
    }

    /// The PostgreSQL that `bridgerest restore --start` left running in `dir` on `port`.
    pub fn adopt_restored(&self, dir: &Path, port: u16) -> Pg {
        Pg::adopt(dir, &self.sock, port, &bridgerest::recovery::log_path(dir))
    }

    /// Makes every cluster the simulator creates from here on a real PostgreSQL under this
    /// test's directory (`Sim::with_real_postgres`); a Bridge fork is then restored from the
    /// source's repository. The simulator stops them when it is dropped (before the stores).
    pub fn real_postgres_forks(&self) {
        let root = self.dir.path("sim-pg");
        let _ = self
            .sim
            .sim
            .clone()
            .with_real_postgres(bridgerest::sim::RealPostgres::debian(root))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// A new, empty data directory owned by postgres, on this host.
    pub fn new_data_dir(&self, name: &str) -> PathBuf {
        self.dir.mkdir(&format!("restore/{name}"), 0o700, true)
    }
}
