//! The simulator-only test harness (tests/cli.rs, daemon.rs, restore.rs, security.rs): a temp
//! directory, the Bridge API simulator, a config, and a runner for the real `bridgerest` binary
//! that scans everything it prints for issued secrets. No object store, no PostgreSQL: for
//! those, tests/real_stores (the end-to-end harness).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod pushgateway;

use std::path::{Path, PathBuf};
use std::process::Output;

use bridgerest::sim::{sample_state, Sim, SimHandle, SimState};

pub const KEY: &str = "cbkey_test_0123456789abcdef";
pub const S3_CLUSTER: &str = "rvf73a77ozfsvcttryebfrnlem";
pub const AZURE_CLUSTER: &str = "drsve2t4f5e5znkmef6hmchy2e";
pub const GCS_CLUSTER: &str = "p56biajnfvgjhftvqs7lqymspe";
pub const S3_STANZA: &str = "2qc6yv2ztfcw7a7yoripu4zlsm";
/// The sample IONOS cluster and Launcher database (bridgerest::sim::{ionos, launcher}::sample).
pub const IONOS_CLUSTER: &str = "498ae72f-411f-11eb-9d07-046c59cc737e";
pub const LAUNCHER_DB: &str = "0b7e4a52-8f3c-4d1e-9a2b-5c6d7e8f9a0b";
/// The sample state's IONOS password and token, and Launcher key: scanned for like the rest.
pub const PROVIDER_SECRETS: [&str; 5] = [
    "ionos-simulator-password",
    "ionos-simulator-token",
    "lnchr_simulator_key",
    "db-password-for-restored-clusters",
    bridgerest::sim::LAUNCHER_READER_PASSWORD,
];

pub struct Env {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    pub config: PathBuf,
    pub out: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        Env::with_state(sample_state(KEY, 0))
    }

    pub fn with_state(state: SimState) -> Env {
        Env::with_sim(Sim::new(state))
    }

    /// [`Env::with_state`] for a simulator made beforehand (e.g. with real PostgreSQL).
    pub fn with_sim(sim: Sim) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        for (file, secret) in [
            ("api-key", KEY),
            ("ionos-password", PROVIDER_SECRETS[0]),
            ("ionos-token", PROVIDER_SECRETS[1]),
            ("launcher-key", PROVIDER_SECRETS[2]),
            ("ionos-db-password", PROVIDER_SECRETS[3]),
        ] {
            std::fs::write(dir.path().join(file), format!("{secret}\n")).unwrap();
            set_mode(&dir.path().join(file), 0o600);
        }
        // pgBackRest's main config (pgbackrest.main_config names it: it must exist).
        std::fs::write(dir.path().join("pgbackrest.conf"), "").unwrap();
        let sim = SimHandle::start_sim(sim).unwrap();
        let config = dir.path().join("bridgerest.toml");
        let out = dir.path().join("conf.d/bridgerest.conf");
        Env {
            dir,
            sim,
            config,
            out,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The `[api]` and `[pgbackrest]` tables pointing at this env, plus `extra` TOML.
    pub fn base_config(&self, extra: &str) -> String {
        // The state directory (a restore's lock is beside the status file) is this env's own.
        let daemon = match extra.contains("[daemon]") || extra.contains("status_file") {
            true => String::new(),
            false => format!(
                "\n[daemon]\nstatus_file = \"{}\"\n",
                self.path("state/status.json").display()
            ),
        };
        format!(
            "[api]\nurl = \"{}\"\nkey_file = \"{}\"\nretry_base = \"20ms\"\nretries = 3\ntimeout = \"5s\"\n\n[pgbackrest]\nconfig = \"{}\"\nmain_config = \"{}\"\ninclude_path = \"{}\"\n{extra}{daemon}",
            self.sim.url(),
            self.path("api-key").display(),
            self.out.display(),
            self.path("pgbackrest.conf").display(),
            self.path("conf.d").display(),
        )
    }

    /// [`Env::base_config`] with `pgbackrest.config` pointed at the main `pgbackrest.conf` (a
    /// file shared with the user: merged, not owned), and that file's path.
    pub fn merged_base_config(&self) -> (PathBuf, String) {
        let main = self.path("pgbackrest.conf");
        let cfg = self
            .base_config("")
            .replace(&self.out.display().to_string(), &main.display().to_string());
        (main, cfg)
    }

    /// [`Env::base_config`] with `[ionos]` (Basic auth) and `[launcher]` pointing at the
    /// simulator, and the sample IONOS cluster and Launcher database as `[[cluster]]`s.
    pub fn providers_config(&self, extra: &str) -> String {
        format!(
            "{}\n[ionos]\nurl = \"{url}/ionos\"\nusername = \"ops@example.com\"\npassword_file = \"{}\"\ndb_username = \"restore_admin\"\ndb_password_file = \"{}\"\ndatacenter_id = \"b2d7f7d1-34c1-4bd6-9c36-9b1e5b0c7a11\"\nlan_id = \"2\"\ncidr = \"192.168.1.120/24\"\n\n[launcher]\nurl = \"{url}/launcher/sim-tenant\"\nkey_file = \"{}\"\n\n[[cluster]]\nprovider = \"ionos\"\nid = \"{IONOS_CLUSTER}\"\n\n[[cluster]]\nprovider = \"launcher\"\nid = \"{LAUNCHER_DB}\"\n",
            self.base_config(extra),
            self.path("ionos-password").display(),
            self.path("ionos-db-password").display(),
            self.path("launcher-key").display(),
            url = self.sim.url(),
        )
    }

    /// How many requests matching `what` ("POST /ionos/clusters", ids as `{id}`) were made.
    pub fn requests(&self, what: &str) -> u64 {
        self.sim.sim.stats().by_path.get(what).copied().unwrap_or(0)
    }

    /// How many backup tokens the simulator has handed out.
    pub fn token_requests(&self) -> u64 {
        self.sim
            .sim
            .stats()
            .by_path
            .get("POST /clusters/{id}/backup-tokens")
            .copied()
            .unwrap_or(0)
    }

    pub fn write_config(&self, clusters: &[&str], extra: &str) {
        let mut text = self.base_config(extra);
        for c in clusters {
            text.push_str(&format!(
                "\n[[cluster]]\nid = \"{c}\"\npg1_path = \"/var/lib/postgresql/15/{c}\"\n"
            ));
        }
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest"));
        c.env_remove("BRIDGEREST_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("BRIDGEREST_LOG");
        c.arg("--config").arg(&self.config);
        c
    }

    /// Runs bridgerest with `args`; asserts nothing it printed contains an issued secret.
    pub fn run(&self, args: &[&str]) -> Run {
        let run = self.run_unscanned(args);
        self.assert_no_secrets(&run);
        run
    }

    pub fn run_unscanned(&self, args: &[&str]) -> Run {
        let out = self.cmd().args(args).output().unwrap();
        Run::from(out)
    }

    pub fn assert_no_secrets(&self, run: &Run) {
        let secrets = self.sim.sim.issued_secrets();
        assert!(!KEY.is_empty());
        for s in secrets
            .iter()
            .map(String::as_str)
            .chain([KEY])
            .chain(PROVIDER_SECRETS)
        {
            assert!(
                !run.stdout.contains(s) && !run.stderr.contains(s),
                "secret leaked in output:\n{run:?}"
            );
        }
    }

    pub fn read_out(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap()
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, and that the single `error: ...` line contains `text`.
    pub fn assert_error(&self, code: i32, text: &str) {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.error_line().contains(text), "{self:?}");
    }

    /// The single `error: ...` line on stderr.
    pub fn error_line(&self) -> &str {
        let errs: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errs.len(), 1, "expected exactly one error line:\n{self:?}");
        errs[0]
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}
