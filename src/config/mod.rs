//! The TOML configuration: the raw serde model (unknown keys rejected), and [`load`], which
//! validates it into a resolved [`Config`] that nothing after it needs to re-check.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

/// `return Err(Invalid(format!(...)).into())`: a setting that cannot be used.
macro_rules! invalid {
    ($($t:tt)*) => { return Err($crate::config::Invalid(format!($($t)*)).into()) };
}

mod cron;
mod drill;
mod error;
mod key;
mod raw;

pub use crate::provider::ionos::section::IonosConfig;
pub use crate::provider::launcher::section::LauncherConfig;
use crate::provider::spec::{Section, SectionError, SectionSpec};
use crate::provider::ProviderKind;
pub use cron::Cron;
use drill::{check_drill_paths, resolve_drill};
pub use drill::{
    Amcheck, BucketReach, DrillCommand, DrillConfig, ReportsStore, Rto, DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_DRILL_REPORTS, DEFAULT_DRILL_ROOT,
};
pub use error::{this_user, Error, Invalid, EXAMPLE_CONFIG};
pub use key::{key_file_exposed, load_api_key, load_secret, load_secret_options, KeySource};
use raw::*;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/bridgerest/bridgerest.toml";
pub const DEFAULT_API_URL: &str = "https://api.crunchybridge.com";
pub const DEFAULT_PGBACKREST_CONFIG: &str = "/etc/pgbackrest/conf.d/bridgerest.conf";
pub use crate::provider::bridge::API_KEY_ENV;
pub use crate::provider::ionos::section::DEFAULT_URL as DEFAULT_IONOS_URL;
pub use crate::provider::ionos::section::PASSWORD_ENV as IONOS_PASSWORD_ENV;
pub use crate::provider::launcher::section::KEY_ENV as LAUNCHER_KEY_ENV;
pub use crate::provider::section::SecretSpec;
/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    pub api: ApiConfig,
    pub pgbackrest: PgbackrestConfig,
    pub daemon: DaemonConfig,
    /// The providers' own tables the config has (`[ionos]`, `[launcher]`), each read and
    /// checked by its provider's folder ([`crate::provider::spec::SectionSpec`]), by name.
    pub sections: BTreeMap<&'static str, Section>,
    /// `[drill]` (its defaults when the section is absent; `section` says which).
    pub drill: DrillConfig,
    /// The Crunchy Bridge clusters: their credentials are refreshed and they can be restored
    /// here.
    pub clusters: Vec<ClusterConfig>,
    /// The clusters of providers that restore server-side only (IONOS, Launcher): their
    /// backups are watched.
    pub remote: Vec<RemoteCluster>,
    /// The clusters restored here whose repository the user configured, in pgBackRest itself
    /// or in `[cluster.options]` (a provider that restores locally without handing out
    /// credentials: `pgbackrest`): no token is fetched for them; they are restored, drilled and
    /// watched, and the stanza of those with options is written from them.
    pub repos: Vec<RepoCluster>,
}

/// A cluster restored here from a repository the user configured: in pgBackRest's own config,
/// or in its `[cluster.options]` (then bridgerest writes the stanza).
#[derive(Debug, Clone)]
pub struct RepoCluster {
    pub provider: ProviderKind,
    /// Its id, `pg1_path`, stanza (which defaults to the id) and options.
    pub cluster: ClusterConfig,
}

impl RepoCluster {
    /// Whether bridgerest writes its stanza: its `[cluster.options]` configure the repository.
    pub fn writes_stanza(&self) -> bool {
        !self.cluster.options.is_empty()
    }
}

/// Where the options of a stanza bridgerest writes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StanzaFrom {
    /// A backup token the provider hands out (refreshed before it expires).
    Token,
    /// The cluster's `[cluster.options]` alone (a repository the user configured).
    Options,
}

impl Config {
    /// Whether the config has `provider`'s own section (`[ionos]`, `[launcher]`).
    pub fn has_section(&self, provider: ProviderKind) -> bool {
        self.section(provider.as_str()).is_some()
    }

    /// The section `[name]` of a provider, as its folder's `section.rs` parsed it.
    pub fn section(&self, name: &str) -> Option<&dyn std::any::Any> {
        self.sections
            .get(name)
            .map(|s| s.as_ref() as &dyn std::any::Any)
    }

    /// [`Config::section`] as its folder's type (`Config::section_as::<IonosConfig>("ionos")`).
    pub fn section_as<T: 'static>(&self, name: &str) -> Option<&T> {
        self.section(name).and_then(|s| s.downcast_ref::<T>())
    }

    /// Every configured cluster with its provider, Bridge ones first.
    pub fn all_clusters(&self) -> Vec<(ProviderKind, String)> {
        self.clusters
            .iter()
            .map(|c| (ProviderKind::DEFAULT, c.id.clone()))
            .chain(self.remote.iter().map(|r| (r.provider, r.id.clone())))
            .chain(
                self.repos
                    .iter()
                    .map(|r| (r.provider, r.cluster.id.clone())),
            )
            .collect()
    }

    /// Every cluster restored here (its id, `pg1_path`, stanza): Crunchy Bridge's, then those
    /// of repositories the user configured.
    pub fn local_clusters(&self) -> impl Iterator<Item = &ClusterConfig> {
        self.clusters
            .iter()
            .chain(self.repos.iter().map(|r| &r.cluster))
    }

    /// The clusters whose stanza bridgerest writes, in config order: those whose provider
    /// hands out repository credentials (rendered from a token), then each repository the user
    /// configured in `[cluster.options]` (rendered from those options, no API).
    pub fn written(&self) -> Vec<(&ClusterConfig, StanzaFrom)> {
        self.clusters
            .iter()
            .map(|c| (c, StanzaFrom::Token))
            .chain(
                self.repos
                    .iter()
                    .filter(|r| r.writes_stanza())
                    .map(|r| (&r.cluster, StanzaFrom::Options)),
            )
            .collect()
    }

    /// Whether bridgerest writes the stanza of cluster `id` ([`Config::written`]).
    pub fn writes_stanza(&self, id: &str) -> bool {
        self.written().iter().any(|(c, _)| c.id == id)
    }

    /// The provider a `[[cluster]]` entry names for `id`, if it is listed.
    /// The clusters drills prove, in config order: each restored here (`false`), then each
    /// whose provider restores only there and can delete the copy again (`true`: drilled at
    /// the provider).
    pub fn drillable(&self) -> Vec<(String, bool)> {
        let here: Vec<(String, bool)> = self
            .local_clusters()
            .map(|c| (c.id.clone(), false))
            .collect();
        let there = self.all_clusters().into_iter().filter(|(p, id)| {
            let c = p.capabilities();
            !c.local_restore && c.into_new && c.destroy && !here.iter().any(|(h, _)| h == id)
        });
        let there: Vec<(String, bool)> = there.map(|(_, id)| (id, true)).collect();
        here.into_iter().chain(there).collect()
    }

    pub fn provider_of(&self, id: &str) -> Option<ProviderKind> {
        self.all_clusters()
            .into_iter()
            .find(|(_, c)| c == id)
            .map(|(p, _)| p)
    }
}

/// A cluster of a provider that hands out no repository credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCluster {
    pub provider: ProviderKind,
    pub id: String,
}

/// `[daemon]`: when `bridgerest daemon` refreshes, and where it reports.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Cron expression with seconds (tokio-cron-scheduler), UTC.
    pub schedule: Cron,
    /// Each cluster is also refreshed at this fraction of its credentials' lifetime.
    pub refresh_at: f64,
    /// The longest wait between retries of a failing cluster.
    pub retry_max: Duration,
    /// The status file (`bridgerest status` reads it).
    pub status_file: PathBuf,
    /// The same figures for node_exporter's textfile collector (off unless set).
    pub prometheus_textfile: Option<PathBuf>,
    /// A cluster whose newest backup is older than this is flagged (`status` exits 1).
    pub max_backup_age: Duration,
}

/// `[api]`: the provider's own settings type, parsed here.
pub use crate::provider::ApiSettings as ApiConfig;

#[derive(Debug, Clone)]
pub struct PgbackrestConfig {
    /// The file bridgerest writes.
    pub config: PathBuf,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: u32,
    pub bin: PathBuf,
    /// pgBackRest's own main config file: as configured, or where pgBackRest itself finds it
    /// ([`crate::pgbackrest::default_main_config`]: Debian's package ships the older
    /// `/etc/pgbackrest.conf`).
    pub main_config: PathBuf,
    /// pgBackRest's include directory.
    pub include_path: PathBuf,
    /// Whether `main_config` / `include_path` were set in the config: only then does a
    /// `pgbackrest` command bridgerest runs or prints get `--config` / `--config-include-path`
    /// (otherwise pgBackRest's own defaults apply, which find the same files).
    pub main_config_set: bool,
    pub include_path_set: bool,
    /// How S3 credentials reach pgBackRest.
    pub s3_key_type: S3KeyType,
    /// How long a writer waits for another's `<config>.lock` before giving up.
    pub lock_timeout: Duration,
}

impl PgbackrestConfig {
    /// The directory of the file bridgerest writes (its side files and caches go beside it).
    pub fn dir(&self) -> PathBuf {
        self.config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// Why a `pgbackrest` run with `--config=main_config --config-include-path=include_path`
    /// would not read the file bridgerest writes, or would read it twice, if so.
    pub fn unread_by_pgbackrest(&self) -> Option<String> {
        let in_include = self.config.parent() == Some(self.include_path.as_path())
            && self.config.extension().is_some_and(|e| e == "conf");
        if in_include && self.config == self.main_config {
            return Some(format!(
                "pgbackrest.config = {} is pgbackrest.main_config and also a .conf file in pgbackrest.include_path ({}), so pgBackRest would read it twice and refuse every option in it as set twice (error 31): write a conf.d file of its own (e.g. {}/bridgerest.conf) or move the main config out of the include path",
                self.config.display(),
                self.include_path.display(),
                self.include_path.display()
            ));
        }
        (self.config != self.main_config && !in_include).then(|| {
            format!(
                "pgbackrest.config = {} is neither pgbackrest.main_config ({}) nor a .conf file in pgbackrest.include_path ({}), so pgBackRest would not read its stanzas: move it into {} or set include_path to its directory",
                self.config.display(),
                self.main_config.display(),
                self.include_path.display(),
                self.include_path.display()
            )
        })
    }
}

/// `pgbackrest.s3_key_type`: static keys in the file, or pgBackRest (2.59+) running
/// `bridgerest credential-process` whenever it needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3KeyType {
    /// `repo1-s3-key`, `-key-secret`, `-token` in the file (every pgBackRest version).
    Shared,
    /// `repo1-s3-key-type=process`; refused if the installed pgBackRest is older than 2.59.
    Process,
    /// `process` when the installed pgBackRest is 2.59 or newer, else `shared`.
    Auto,
}

/// A `[[cluster]]`: what its stanza is rendered from (the type is render's).
pub use crate::render::ClusterConfig;

type Result<T, E = Invalid> = std::result::Result<T, E>;

/// Where the config file comes from: `--config`, `BRIDGEREST_CONFIG`, or the default path.
pub fn load(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|err| Error::Read {
        path: path.to_path_buf(),
        err,
    })?;
    parse(&text, path)
}

/// Parses and validates config text; `path` is used only in messages.
pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
    let at = |offset: usize| {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!(":{line}:{col}")
    };
    let syntax = |e: toml::de::Error| Error::Syntax {
        path: path.to_path_buf(),
        at: e.span().map(|s| at(s.start)).unwrap_or_default(),
        message: e.message().trim_end().to_string(),
    };
    let invalid = |why| Error::Invalid {
        path: path.to_path_buf(),
        why,
    };
    let raw: RawConfig = toml::from_str(text).map_err(syntax)?;
    // The providers' tables, each read by its own folder; any other key is a mistake.
    let tables: Vec<&SectionSpec> = ProviderKind::ALL
        .iter()
        .filter_map(|p| p.spec().section.as_ref())
        .collect();
    if let Some(bad) = raw
        .other
        .keys()
        .find(|k| !tables.iter().any(|t| t.name == k.as_str()))
    {
        let expected: Vec<String> = raw::OWN_TABLES
            .iter()
            .copied()
            .chain(tables.iter().map(|t| t.name))
            .map(|n| format!("`{n}`"))
            .collect();
        return Err(Error::Syntax {
            path: path.to_path_buf(),
            at: key_offset(text, bad).map(at).unwrap_or_default(),
            message: format!(
                "unknown field `{}`, expected one of {}",
                crate::text::excerpt(bad, 40),
                expected.join(", ")
            ),
        });
    }
    let mut sections = BTreeMap::new();
    for t in tables {
        match (t.parse)(text) {
            Ok(Some(section)) => {
                sections.insert(t.name, section);
            }
            Ok(None) => {}
            Err(SectionError::Syntax(e)) => return Err(syntax(e)),
            Err(SectionError::Invalid(why)) => return Err(invalid(Invalid(why))),
        }
    }
    resolve(raw, sections, path).map_err(invalid)
}

/// Where the top-level key `name` is first written (`[name]`, `[[name]]`, `name = ...`,
/// `name.key = ...`): the byte offset of its name, for an error's line and column.
fn key_offset(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let (skip, rest) = match body.strip_prefix("[[") {
            Some(r) => (2, r),
            None => match body.strip_prefix('[') {
                Some(r) => (1, r),
                None => (0, body),
            },
        };
        let lead = rest.len() - rest.trim_start().len();
        if let Some(after) = rest.trim_start().strip_prefix(name) {
            let next = after.trim_start().chars().next();
            let fits = match skip {
                0 => matches!(next, Some('=' | '.')),
                _ => matches!(next, Some(']' | '.')),
            };
            if fits {
                return Some(offset + indent + skip + lead);
            }
        }
        offset += line.len();
    }
    None
}

fn resolve(
    raw: RawConfig,
    sections: BTreeMap<&'static str, Section>,
    path: &Path,
) -> Result<Config> {
    let api = resolve_api(raw.api)?;
    let pgbackrest = resolve_pgbackrest(raw.pgbackrest)?;
    let daemon = resolve_daemon(raw.daemon)?;
    let drill_section = raw.drill.is_some();
    let mut drill = resolve_drill(raw.drill.unwrap_or_default())?;
    drill.section = drill_section;
    let mut clusters = Vec::with_capacity(raw.clusters.len());
    let mut remote = Vec::new();
    let mut repos = Vec::new();
    let mut ids = HashSet::new();
    let mut stanzas = HashSet::new();
    for mut c in raw.clusters {
        if let Some(t) = c.rto.take() {
            let key = format!("cluster {}: rto", crate::text::excerpt(&c.id, 80));
            let d = positive(&key, Some(&t), Duration::ZERO)?;
            drill.rto.by_cluster.insert(c.id.clone(), d);
        }
        if let Some(cmd) = c.command.take() {
            let key = format!("cluster {}: command", crate::text::excerpt(&c.id, 80));
            let argv = drill::command_of(&key, cmd)?;
            drill.command.by_cluster.insert(c.id.clone(), argv);
        }
        if !ids.insert(c.id.clone()) {
            invalid!(
                "cluster {} is listed twice; keep one [[cluster]] entry for it",
                crate::text::excerpt(&c.id, 80)
            );
        }
        let provider = match c.provider.as_deref() {
            None => ProviderKind::DEFAULT,
            Some(p) => ProviderKind::parse(p).ok_or_else(|| {
                Invalid(format!(
                    "cluster {}: provider = \"{p}\": use {}",
                    crate::text::excerpt(&c.id, 80),
                    crate::provider::registry::names_quoted(),
                ))
            })?,
        };
        let caps = provider.capabilities();
        if caps.local_restore && !caps.repo_credentials {
            let mut cluster = resolve_repo_cluster(provider, c)?;
            let stanza = cluster.stanza.get_or_insert_with(|| cluster.id.clone());
            if !stanzas.insert(stanza.clone()) {
                invalid!("stanza name \"{stanza}\" is used by two clusters; give each its own");
            }
            repos.push(RepoCluster { provider, cluster });
            continue;
        }
        if !provider.has_repo_credentials() {
            let has = |name: &str| sections.contains_key(name);
            remote.push(resolve_remote(provider, c, has)?);
            continue;
        }
        let cluster = resolve_cluster(c)?;
        if let Some(s) = &cluster.stanza {
            if !stanzas.insert(s.clone()) {
                invalid!("stanza name \"{s}\" is used by two clusters; give each its own");
            }
        }
        clusters.push(cluster);
    }
    let local: Vec<ClusterConfig> = clusters
        .iter()
        .chain(repos.iter().map(|r| &r.cluster))
        .cloned()
        .collect();
    check_drill_paths(path, &drill, &local, &pgbackrest, &daemon)?;
    Ok(Config {
        path: path.to_path_buf(),
        api,
        pgbackrest,
        daemon,
        sections,
        drill,
        clusters,
        remote,
        repos,
    })
}

/// A cluster of a provider whose repository the user configures: its id in the provider's
/// form and a `pg1_path`. Its stanza is pgBackRest's own (bridgerest neither writes nor
/// overrides it), unless `[cluster.options]` names the repository: then bridgerest writes the
/// stanza from those options ([`Config::written`]).
fn resolve_repo_cluster(provider: ProviderKind, c: RawCluster) -> Result<ClusterConfig> {
    provider
        .check_id(&c.id)
        .map_err(|e| Invalid(format!("cluster id {e}")))?;
    resolve_local(c)
}

/// A cluster of IONOS or Launcher: its id in the provider's format, its provider's section
/// present, and none of the keys that only a local restore uses.
fn resolve_remote(
    provider: ProviderKind,
    c: RawCluster,
    has_section: impl Fn(&str) -> bool,
) -> Result<RemoteCluster> {
    provider
        .check_id(&c.id)
        .map_err(|e| Invalid(format!("cluster id {e}")))?;
    let local_only = [
        ("pg1_path", c.pg1_path.is_some()),
        ("stanza", c.stanza.is_some()),
        ("options", !c.options.is_empty()),
    ];
    if let Some((key, _)) = local_only.iter().find(|(_, set)| *set) {
        invalid!(
            "cluster {}: {key} is set, but {} hands out no repository credentials, so there is no local restore (and no stanza) for it: remove {key}; restore it server-side with `bridgerest restore --cluster {} --target-time T --into NAME`",
            c.id,
            provider.title(),
            c.id
        );
    }
    if let Some((section, needs)) = provider.spec().required_section {
        if !has_section(section) {
            invalid!(
                "cluster {} uses provider \"{provider}\", but the config has no [{section}] section: add one with {needs}",
                c.id
            );
        }
    }
    Ok(RemoteCluster { provider, id: c.id })
}

fn resolve_daemon(raw: RawDaemon) -> Result<DaemonConfig> {
    let refresh_at = raw.refresh_at.unwrap_or(0.5);
    if !(0.05..=0.9).contains(&refresh_at) {
        invalid!("daemon.refresh_at = {refresh_at}: must be between 0.05 and 0.9 (a fraction of api.token_lifetime)");
    }
    let text = raw.schedule.unwrap_or_else(|| "0 */20 * * * *".into());
    let Some(schedule) = Cron::parse(&text) else {
        invalid!("daemon.schedule = \"{text}\": not a cron expression with seconds (sec min hour day month weekday, UTC), e.g. \"0 */20 * * * *\" (every 20 minutes)");
    };
    if let Some(p) = &raw.prometheus_textfile {
        if p.extension().and_then(|e| e.to_str()) != Some("prom") {
            invalid!("daemon.prometheus_textfile = \"{}\": node_exporter's textfile collector reads only files ending in .prom", p.display());
        }
    }
    Ok(DaemonConfig {
        schedule,
        refresh_at,
        retry_max: positive(
            "daemon.retry_max",
            raw.retry_max.as_deref(),
            Duration::from_secs(300),
        )?,
        status_file: raw
            .status_file
            .unwrap_or_else(|| PathBuf::from("/var/lib/bridgerest/status.json")),
        prometheus_textfile: raw.prometheus_textfile,
        max_backup_age: positive(
            "daemon.max_backup_age",
            raw.max_backup_age.as_deref(),
            Duration::from_secs(26 * 3600),
        )?,
    })
}

fn resolve_api(raw: RawApi) -> Result<ApiConfig> {
    let url_text = raw.url.unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let url = parse_api_url(&url_text)?;
    let concurrency = raw.concurrency.unwrap_or(8);
    if !(1..=256).contains(&concurrency) {
        invalid!("api.concurrency = {concurrency}: must be between 1 and 256");
    }
    Ok(ApiConfig {
        url,
        key_file: raw.key_file,
        concurrency,
        timeout: positive(
            "api.timeout",
            raw.timeout.as_deref(),
            Duration::from_secs(30),
        )?,
        retries: raw.retries.unwrap_or(5).min(20),
        retry_base: duration(
            "api.retry_base",
            raw.retry_base.as_deref(),
            Duration::from_millis(500),
        )?,
        token_lifetime: token_lifetime(raw.token_lifetime.as_deref())?,
        wait_timeout: positive(
            "api.wait_timeout",
            raw.wait_timeout.as_deref(),
            Duration::from_secs(6 * 3600),
        )?,
    })
}

/// The API must be reached over HTTPS, except on a loopback address (the simulator).
pub fn parse_api_url(text: &str) -> Result<Url> {
    crate::provider::section::parse_url(
        "api.url",
        text,
        "api.key_file, $BRIDGEREST_API_KEY or a systemd credential",
    )
    .map_err(Invalid)
}

fn duration(key: &str, text: Option<&str>, default: Duration) -> Result<Duration> {
    match text {
        None => Ok(default),
        Some(t) => humantime::parse_duration(t).map_err(|e| {
            Invalid(format!(
                "{key} = \"{t}\" is not a duration (e.g. \"30s\", \"2m\"): {e}"
            ))
        }),
    }
}

/// A duration that must not be zero (a zero timeout or wait makes every attempt fail at once).
fn positive(key: &str, text: Option<&str>, default: Duration) -> Result<Duration> {
    let d = duration(key, text, default)?;
    if d.is_zero() {
        invalid!(
            "{key} = \"{}\": must be longer than zero",
            text.unwrap_or_default()
        );
    }
    Ok(d)
}

fn token_lifetime(text: Option<&str>) -> Result<Duration> {
    let d = duration("api.token_lifetime", text, Duration::from_secs(3600))?;
    if d < Duration::from_secs(1) {
        invalid!(
            "api.token_lifetime = \"{}\": must be at least 1s",
            text.unwrap_or_default()
        );
    }
    Ok(d)
}

fn resolve_pgbackrest(raw: RawPgbackrest) -> Result<PgbackrestConfig> {
    let config = raw
        .config
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PGBACKREST_CONFIG));
    if !config.is_absolute() || config.file_name().is_none() {
        invalid!(
            "pgbackrest.config = \"{}\": must be an absolute file path",
            config.display()
        );
    }
    let mode = match raw.mode {
        None => 0o600,
        Some(RawMode::Int(m)) => m,
        Some(RawMode::Str(s)) => {
            u32::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|e| {
                Invalid(format!(
                    "pgbackrest.mode = \"{s}\" is not an octal mode like \"0640\": {e}"
                ))
            })?
        }
    };
    if mode & !0o777 != 0 {
        invalid!("pgbackrest.mode = {mode:#o}: only permission bits (0o777) are allowed");
    }
    if mode & 0o007 != 0 {
        invalid!("pgbackrest.mode = {mode:04o} would let every user read the credentials: use 0600, or 0640 with pgbackrest.group");
    }
    if mode & 0o400 == 0 {
        invalid!(
            "pgbackrest.mode = {mode:04o}: the owner must be able to read the file (0600 or 0640)"
        );
    }
    if mode & 0o070 != 0 && raw.group.is_none() {
        invalid!("pgbackrest.mode = {mode:04o} gives a group access to the credentials, but pgbackrest.group is not set (the file would go to bridgerest's own group): set pgbackrest.group (e.g. \"postgres\"), or use 0600");
    }
    let bin = raw.bin.unwrap_or_else(|| PathBuf::from("pgbackrest"));
    if !bin.is_absolute() && bin.components().count() != 1 {
        invalid!("pgbackrest.bin = \"{}\" is a relative path, which would depend on the directory bridgerest runs in: use an absolute path (e.g. /usr/bin/pgbackrest) or a bare name found in PATH", bin.display());
    }
    let lock_timeout = positive(
        "pgbackrest.lock_timeout",
        raw.lock_timeout.as_deref(),
        Duration::from_secs(60),
    )?;
    let (main_config_set, include_path_set) =
        (raw.main_config.is_some(), raw.include_path.is_some());
    let main_config = raw
        .main_config
        .unwrap_or_else(|| crate::pgbackrest::default_main_config(Path::new("/")));
    let include_path = raw
        .include_path
        .unwrap_or_else(|| PathBuf::from(crate::pgbackrest::DEFAULT_INCLUDE_PATH));
    let s3_key_type = match raw.s3_key_type.as_deref() {
        None | Some("shared") => S3KeyType::Shared,
        Some("process") => S3KeyType::Process,
        Some("auto") => S3KeyType::Auto,
        Some(other) => invalid!(
            "pgbackrest.s3_key_type = \"{other}\": use \"shared\" (keys in the file), \"process\" (pgBackRest 2.59+ runs `bridgerest credential-process`) or \"auto\""
        ),
    };
    Ok(PgbackrestConfig {
        s3_key_type,
        config,
        owner: raw.owner,
        group: raw.group,
        mode,
        bin,
        main_config,
        include_path,
        main_config_set,
        include_path_set,
        lock_timeout,
    })
}

/// The names and ids bridgerest checks (kept here for callers of `config::`).
pub use crate::ids::{is_eid, is_stanza_name};

fn resolve_cluster(raw: RawCluster) -> Result<ClusterConfig> {
    if !is_eid(&raw.id) {
        invalid!(
            "cluster id \"{}\" is not a Crunchy Bridge ID (26 lowercase letters and digits, like rvf73a77ozfsvcttryebfrnlem): copy it from the dashboard or from `bridgerest clusters`{}",
            crate::text::excerpt(&raw.id, 80),
            match crate::ids::is_uuid(&raw.id) {
                true => " (a UUID is an IONOS or Launcher id: add provider = \"ionos\" or \"launcher\")",
                false => "",
            }
        );
    }
    resolve_local(raw)
}

/// What every cluster restored here needs: an absolute `pg1_path`, a valid stanza name,
/// options that are pgBackRest option names.
fn resolve_local(raw: RawCluster) -> Result<ClusterConfig> {
    let Some(pg1_path) = raw.pg1_path else {
        invalid!(
            "cluster {}: pg1_path is missing: set it to the data directory a restore of this cluster goes to (pgBackRest's pg1-path)",
            raw.id
        );
    };
    if !pg1_path.is_absolute() {
        invalid!(
            "cluster {}: pg1_path \"{}\" must be an absolute path",
            raw.id,
            pg1_path.display()
        );
    }
    if pg1_path.to_string_lossy().contains(['\n', '\r']) {
        invalid!("cluster {}: pg1_path contains a line break", raw.id);
    }
    if let Some(s) = &raw.stanza {
        if !is_stanza_name(s) {
            invalid!("cluster {}: stanza \"{}\" is not a valid stanza name (letters, digits, '-', '_', '.'; not \"global\", \".\" or \"..\")", raw.id, crate::text::excerpt(s, 80));
        }
    }
    let mut options = BTreeMap::new();
    for (key, value) in raw.options {
        if key.is_empty()
            || !key
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            invalid!("cluster {}: option \"{key}\" is not a pgBackRest option name (lowercase, digits and '-')", raw.id);
        }
        if key == "pg1-path" {
            invalid!("cluster {}: pg1-path is set both as pg1_path and in [cluster.options]; keep pg1_path", raw.id);
        }
        let values = option_values(&value)
            .map_err(|e| Invalid(format!("cluster {}: option \"{key}\": {e}", raw.id)))?;
        if crate::render::is_secret_key(&key) {
            values.iter().for_each(|v| crate::redact::register(v));
        }
        options.insert(key, values);
    }
    Ok(ClusterConfig {
        id: raw.id,
        pg1_path,
        stanza: raw.stanza,
        options,
    })
}

fn option_values(v: &toml::Value) -> Result<Vec<String>> {
    let one = |v: &toml::Value| -> Result<String> {
        let s = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => if *b { "y" } else { "n" }.to_string(),
            other => invalid!(
                "has a {} value; use a string, integer, boolean or a list of them",
                other.type_str()
            ),
        };
        if s.contains(['\n', '\r']) {
            invalid!("value contains a line break");
        }
        Ok(s)
    };
    match v {
        toml::Value::Array(items) if items.is_empty() => invalid!("is an empty list"),
        toml::Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_top_level_key_is_found_in_each_form() {
        let text = "# nope = 1 in a comment\n[api]\nnopex = 1\n  [[ nope.sub ]]\n";
        let at = key_offset(text, "nope").unwrap();
        assert_eq!(&text[at..at + 4], "nope");
        assert_eq!(
            text[..at].matches('\n').count(),
            3,
            "the [[ nope.sub ]] line"
        );
        assert_eq!(key_offset("nope = 1\n", "nope"), Some(0));
        assert_eq!(key_offset("x = 1\nnope.a = 2\n", "nope"), Some(6));
        assert_eq!(key_offset("[nope]\n", "nope"), Some(1));
        assert_eq!(key_offset("[nopes]\nnopes = 1\n", "nope"), None);
    }

    #[test]
    fn each_providers_table_is_read_by_its_folder_and_errors_keep_their_place() {
        let cfg = parse(
            "[launcher]\nurl = \"https://plane.lnchr.cloud/t1\"\n",
            Path::new("b.toml"),
        )
        .unwrap();
        assert!(cfg.section("ionos").is_none());
        assert_eq!(
            cfg.section_as::<LauncherConfig>("launcher")
                .unwrap()
                .url
                .as_str(),
            "https://plane.lnchr.cloud/t1"
        );
        let e = parse(
            "[api]\nretries = 2\n\n[ionos]\nregion = \"de\"\n",
            Path::new("b.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("b.toml:5:1: unknown field `region`"), "{e}");
        let e = parse("[api]\nretries = 2\n[nope]\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("b.toml:3:2: unknown field `nope`, expected one of `api`,")
                && e.ends_with("`ionos`, `launcher`"),
            "{e}"
        );
    }
}
