//! `[drill]`: restore drills, and the paths a drill's scratch directory may not take.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::RawDrill;
use super::{positive, ClusterConfig, Cron, DaemonConfig, Invalid, PgbackrestConfig, Result};

/// `[drill]`: restore drills (`bridgerest drill`, and the daemon's on `schedule`).
#[derive(Debug, Clone)]
pub struct DrillConfig {
    /// When the daemon drills every Crunchy Bridge cluster, one after another (cron with
    /// seconds, UTC); none: the daemon runs no drills.
    pub schedule: Option<Cron>,
    /// The directory the copy is restored into (emptied first when a drill made it); `None`:
    /// `/var/lib/bridgerest/drill/<stanza>`.
    pub scratch: Option<PathBuf>,
    /// How deep `pg_amcheck --all --install-missing` checks the copy (`drill.amcheck`).
    pub amcheck: Amcheck,
    /// `pgbackrest verify`: the checksum of every file in the repository, WAL included.
    pub verify: bool,
    /// With a pgBackRest that has no `verify --set` (before 2.55): the whole repository is
    /// verified at most every this many drills of a cluster (1: each drill).
    pub verify_every: u32,
    /// SQL that must succeed on the copy, each with a first value that is not false, 0 or empty.
    pub queries: Vec<String>,
    /// The database the queries run in.
    pub database: String,
    /// The daemon's drills' target: latest, random or a time.
    pub target: crate::when::Target,
    /// Where a JSON report per drill is written.
    pub reports: PathBuf,
    /// How many reports per cluster are kept.
    pub keep_reports: usize,
    /// `status` exits 1 when a cluster's last drill is older than this (or failed).
    pub max_age: Duration,
    /// Libraries of the copy's `shared_preload_libraries` kept beside
    /// the drill's safe ones (their background work runs in the copy).
    pub preload: Vec<String>,
    /// How long one drill may take, from its plan to its last check; past it the drill fails
    /// and its copy is removed.
    pub timeout: Duration,
    /// How many copies drills at the provider may have there at a time (each is billed):
    /// a drill that would make one more fails, naming them.
    pub provider_copies: usize,
    /// Whether the daemon's schedule also drills the clusters whose provider restores only
    /// there (a copy made, checked and deleted there: billed), after those restored here.
    pub at_provider: bool,
    /// A drill copy's plan at Crunchy Bridge (`None`: the source's; the smallest plan a fork
    /// may take is not documented).
    pub copy_plan: Option<String>,
    /// A drill copy's storage in GB (Bridge, IONOS; `None`: the source's, which its data fits).
    pub copy_storage: Option<u32>,
    /// A Prometheus Pushgateway each drill's figures are pushed to (grouped per cluster).
    pub push: Option<Push>,
    /// A bucket each drill's report is also written to (`drill.reports_url`), and read from by
    /// `drills --from` and `drill --all --due`.
    pub bucket: Option<ReportsStore>,
    /// How a bucket is reached (`drill.reports_options`, `reports_secrets_file`,
    /// `reports_ca_file`): for `reports_url`, and for `drills --from` without it.
    pub bucket_reach: BucketReach,
    /// The key that signs each report (`drill.signing_key`; `None`: `drill-signing.key` in
    /// the state directory, beside the status file), made on first use.
    pub signing_key: Option<PathBuf>,
    /// The restore-time objective (`drill.rto`, and each `[[cluster]]`'s `rto`): a drill
    /// whose restore and recovery take longer fails its `rto` check.
    pub rto: Rto,
    /// The operator's own validation of the copy (`drill.command`, and each `[[cluster]]`'s
    /// `command`): an argv run as the run-as user with the copy's connection in `PG*`.
    pub command: DrillCommand,
    /// How long `drill.command` may run before it is killed with its process group.
    pub command_timeout: Duration,
    /// Whether the config has a `[drill]` section (only then does `status` look at drills).
    pub section: bool,
}

/// `drill.push_url` and its basic auth.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// The Pushgateway's base URL (https, or http to a loopback address).
    pub url: url::Url,
    pub user: Option<String>,
    /// The password's file (or $BRIDGEREST_PUSH_PASSWORD, or the credential push-password).
    pub password_file: Option<PathBuf>,
}

impl Push {
    /// Where its password is looked for.
    pub fn password(&self) -> crate::provider::section::SecretSpec<'_> {
        crate::provider::section::SecretSpec {
            what: "the Pushgateway password (drill.push_user's)",
            env: "BRIDGEREST_PUSH_PASSWORD",
            credential: "push-password",
            file: self.password_file.as_deref(),
            file_key: "drill.push_password_file",
            get_one: "the password of drill.push_user at the Pushgateway",
        }
    }
}

/// Restore-time objectives: a default and each cluster's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rto {
    pub default: Option<Duration>,
    pub by_cluster: std::collections::BTreeMap<String, Duration>,
}

impl Rto {
    /// The objective of cluster `id`, if there is one.
    pub fn of(&self, id: &str) -> Option<Duration> {
        self.by_cluster.get(id).copied().or(self.default)
    }
}

/// `drill.command`: a default argv and each cluster's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrillCommand {
    pub default: Option<Vec<String>>,
    pub by_cluster: std::collections::BTreeMap<String, Vec<String>>,
}

impl DrillCommand {
    /// The command of cluster `id`, if there is one.
    pub fn of(&self, id: &str) -> Option<&[String]> {
        self.by_cluster
            .get(id)
            .or(self.default.as_ref())
            .map(Vec::as_slice)
    }
}

/// The default of `drill.command_timeout`.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// `drill.command` (or a cluster's `command`, named by `key`) checked: a non-empty argv whose
/// program is an absolute path, no NUL byte. Never run through a shell by bridgerest: a shell
/// line is `["/bin/sh", "-c", "..."]`, said so.
pub(super) fn command_of(key: &str, raw: super::raw::RawCommand) -> Result<Vec<String>> {
    use super::raw::RawCommand;
    let argv = match raw {
        RawCommand::Line(l) => invalid!(
            "{key} = {:?}: give an argv array, e.g. [\"/usr/local/bin/smoke-test\", \"--quick\"]; bridgerest runs no shell of its own, so for a shell line write [\"/bin/sh\", \"-c\", {:?}]",
            crate::text::excerpt(&l, 80),
            crate::text::excerpt(&l, 80)
        ),
        RawCommand::Argv(a) => a,
    };
    let Some(program) = argv.first() else {
        invalid!("{key} = []: give the program and its arguments, e.g. [\"/usr/local/bin/smoke-test\"], or leave it out");
    };
    if !program.starts_with('/') {
        invalid!(
            "{key}: the program {:?} is not an absolute path: give its full path (e.g. /usr/local/bin/{}), so that what runs does not depend on PATH",
            crate::text::excerpt(program, 80),
            crate::text::excerpt(program.rsplit('/').next().unwrap_or(program), 40)
        );
    }
    if let Some(bad) = argv.iter().find(|a| a.contains('\0')) {
        invalid!(
            "{key}: {:?} holds a NUL byte",
            crate::text::excerpt(bad, 80)
        );
    }
    Ok(argv)
}

/// `drill.amcheck`: how deep pg_amcheck checks a drill's copy. `true` is the default depth,
/// `false` none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amcheck {
    Off,
    /// Every table's heap and every B-tree index's own pages.
    Basic,
    /// And every heap tuple found in its indexes (`--heapallindexed`): the default.
    HeapAllIndexed,
    /// And each index against its parent pages, searched again from the root
    /// (`--heapallindexed --parent-check --rootdescend`): affordable on a private copy,
    /// whose locks block nobody.
    Full,
}

impl Amcheck {
    pub fn on(self) -> bool {
        self != Amcheck::Off
    }

    pub fn name(self) -> &'static str {
        match self {
            Amcheck::Off => "off",
            Amcheck::Basic => "basic",
            Amcheck::HeapAllIndexed => "heapallindexed",
            Amcheck::Full => "full",
        }
    }

    /// pg_amcheck's options for this depth (beside `--all --install-missing`).
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Amcheck::Off | Amcheck::Basic => &[],
            Amcheck::HeapAllIndexed => &["--heapallindexed"],
            Amcheck::Full => &["--heapallindexed", "--parent-check", "--rootdescend"],
        }
    }
}

impl std::fmt::Display for Amcheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn amcheck_of(raw: Option<super::raw::RawAmcheck>) -> Result<Amcheck> {
    use super::raw::RawAmcheck;
    Ok(match raw {
        None | Some(RawAmcheck::On(true)) => Amcheck::HeapAllIndexed,
        Some(RawAmcheck::On(false)) => Amcheck::Off,
        Some(RawAmcheck::Depth(d)) => match d.as_str() {
            "basic" => Amcheck::Basic,
            "heapallindexed" => Amcheck::HeapAllIndexed,
            "full" => Amcheck::Full,
            "off" => Amcheck::Off,
            other => invalid!(
                "drill.amcheck = {:?}: give \"basic\", \"heapallindexed\" (the default), \"full\", or false",
                crate::text::excerpt(other, 40)
            ),
        },
    })
}

/// `drill.reports_url`: the bucket and prefix each drill's report is also written to.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportsStore {
    pub url: url::Url,
}

/// How a bucket is reached besides the environment ([`crate::objstore`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BucketReach {
    /// `drill.reports_options`: the store's settings that are no secret, by object_store's
    /// option names.
    pub options: Vec<(String, String)>,
    /// `drill.reports_secrets_file`: `key = "value"` lines of secret options (or the systemd
    /// credential `reports-store`).
    pub secrets_file: Option<PathBuf>,
    /// `drill.reports_ca_file`: a CA (PEM) trusted beside the system's.
    pub ca_file: Option<PathBuf>,
}

impl BucketReach {
    /// Checks `options` against the store `url` names: each a known option of that store, none
    /// a secret (the config is readable by all; secrets go in the secrets file).
    pub fn check(&self, url: &url::Url, key: &str) -> Result<()> {
        let (kind, _) = crate::objstore::Kind::of(url).map_err(|e| {
            Invalid(format!(
                "{key} = {:?}: {e}",
                crate::text::excerpt(url.as_str(), 100)
            ))
        })?;
        for (k, _) in &self.options {
            match crate::objstore::option(kind, k) {
                Err(e) => invalid!("drill.reports_options: {e}"),
                Ok(crate::objstore::Secret::Yes) => invalid!(
                    "drill.reports_options.{k} is a secret, and the config is no place for one: put `{k} = \"...\"` in drill.reports_secrets_file (0600), or in the environment as the store's tools read it"
                ),
                Ok(crate::objstore::Secret::No) => {}
            }
        }
        Ok(())
    }
}

/// `drill.reports_url` and the keys that say how its store is reached, checked.
fn bucket_of(
    url: Option<String>,
    options: Option<std::collections::BTreeMap<String, String>>,
    secrets_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
) -> Result<(Option<ReportsStore>, BucketReach)> {
    let reach = BucketReach {
        options: options.unwrap_or_default().into_iter().collect(),
        secrets_file,
        ca_file,
    };
    let Some(text) = url else {
        return Ok((None, reach));
    };
    let url = url::Url::parse(&text).map_err(|e| {
        Invalid(format!(
            "drill.reports_url = {:?}: {e}; give the bucket and prefix, e.g. s3://drills/fleet-a",
            crate::text::excerpt(&text, 100)
        ))
    })?;
    reach.check(&url, "drill.reports_url")?;
    Ok((Some(ReportsStore { url }), reach))
}

/// `drill.push_url`, `push_user`, `push_password_file`, checked.
fn push_of(
    url: Option<String>,
    user: Option<String>,
    password_file: Option<PathBuf>,
) -> Result<Option<Push>> {
    let Some(text) = url else {
        if user.is_some() || password_file.is_some() {
            invalid!("drill.push_user and drill.push_password_file need drill.push_url (the Pushgateway's address)");
        }
        return Ok(None);
    };
    let url = url::Url::parse(&text).map_err(|e| {
        Invalid(format!("drill.push_url = {:?}: {e}; give the Pushgateway's base URL, e.g. https://pushgateway.example:9091", crate::text::excerpt(&text, 100)))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        s => invalid!("drill.push_url = {:?}: {s}:// to another host would send the drills' figures{} in the clear; use https://", crate::text::excerpt(&text, 100), if user.is_some() { " and the password" } else { "" }),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        invalid!("drill.push_url holds a user, password or query: give the base URL alone, the user in drill.push_user and the password in drill.push_password_file");
    }
    if password_file.is_some() && user.is_none() {
        invalid!(
            "drill.push_password_file without drill.push_user: give the user the password is for"
        );
    }
    Ok(Some(Push {
        url,
        user,
        password_file,
    }))
}

pub const DEFAULT_DRILL_ROOT: &str = "/var/lib/bridgerest/drill";
pub const DEFAULT_DRILL_REPORTS: &str = "/var/lib/bridgerest/drills";

/// A drill empties its scratch directory (`drill.scratch`, or each stanza's directory in the
/// default root) and restores into it, so it must neither hold nor lie inside a cluster's data
/// directory or a directory of the configuration; nor hold (or be) the status or reports
/// directory, which the default layout puts beside it.
pub(super) fn check_drill_paths(
    file: &Path,
    drill: &DrillConfig,
    clusters: &[ClusterConfig],
    pgbackrest: &PgbackrestConfig,
    daemon: &DaemonConfig,
) -> Result<()> {
    use crate::fsutil::{parent, resolved};
    let (key, scratch) = match &drill.scratch {
        Some(s) => ("drill.scratch", s.clone()),
        None => (
            "the drill root (drill.scratch unset)",
            PathBuf::from(DEFAULT_DRILL_ROOT),
        ),
    };
    let s = resolved(&scratch);
    // A copy inside a data directory would restore into a live cluster's tree.
    let both_ways: Vec<(String, PathBuf)> = clusters
        .iter()
        .map(|c| {
            (
                format!("the data directory of cluster {}", c.id),
                c.pg1_path.clone(),
            )
        })
        .collect();
    // These only must not be emptied: a scratch directory below one of them (the default
    // root is below the status directory) removes nothing of theirs.
    let holds_only = [
        (
            "the directory of this config file".to_string(),
            parent(file).to_path_buf(),
        ),
        (
            "the directory of pgbackrest.config".into(),
            parent(&pgbackrest.config).to_path_buf(),
        ),
        (
            "the directory of pgbackrest.main_config".into(),
            parent(&pgbackrest.main_config).to_path_buf(),
        ),
        (
            "pgbackrest.include_path".into(),
            pgbackrest.include_path.clone(),
        ),
        (
            "the status directory (daemon.status_file's)".into(),
            parent(&daemon.status_file).to_path_buf(),
        ),
        ("drill.reports".into(), drill.reports.clone()),
    ];
    let refuse = |what: &str, other: &Path, how: &str| {
        Invalid(format!(
            "{key} = \"{}\" {how} {what} ({}): a drill empties its scratch directory and restores into it, so it would destroy what is there; give drills a directory of their own (e.g. /var/lib/bridgerest/drill)",
            scratch.display(),
            other.display()
        ))
    };
    for (what, other) in &both_ways {
        let o = resolved(other);
        if s == o {
            return Err(refuse(what, other, "is"));
        }
        if o.starts_with(&s) {
            return Err(refuse(what, other, "contains"));
        }
        if s.starts_with(&o) {
            return Err(refuse(what, other, "is inside"));
        }
    }
    for (what, other) in &holds_only {
        let o = resolved(other);
        if s == o {
            return Err(refuse(what, other, "is"));
        }
        if o.starts_with(&s) {
            return Err(refuse(what, other, "contains"));
        }
    }
    Ok(())
}

pub(super) fn resolve_drill(raw: RawDrill) -> Result<DrillConfig> {
    let schedule = match &raw.schedule {
        None => None,
        Some(text) => match Cron::parse(text) {
            Some(c) => Some(c),
            None => invalid!("drill.schedule = \"{text}\": not a cron expression with seconds (sec min hour day month weekday, UTC), e.g. \"0 30 3 * * Sun\" (Sundays at 03:30)"),
        },
    };
    for (key, p) in [
        ("drill.reports_secrets_file", &raw.reports_secrets_file),
        ("drill.reports_ca_file", &raw.reports_ca_file),
        ("drill.signing_key", &raw.signing_key),
    ] {
        if p.as_ref().is_some_and(|p| !p.is_absolute()) {
            invalid!("{key} must be an absolute path");
        }
    }
    for (key, p) in [
        ("drill.scratch", &raw.scratch),
        ("drill.reports", &raw.reports),
    ] {
        if let Some(p) = p {
            if !p.is_absolute() {
                invalid!("{key} = \"{}\": must be an absolute path", p.display());
            }
            if let Some(why) = crate::fsutil::system_dir(p) {
                invalid!("{key} = \"{}\": {why}; a drill empties it: give a directory of its own (e.g. /var/lib/bridgerest/drill/main)", p.display());
            }
        }
    }
    let queries = raw.queries.unwrap_or_default();
    if let Some((i, _)) = queries
        .iter()
        .enumerate()
        .find(|(_, q)| q.trim().is_empty())
    {
        invalid!("drill.queries[{i}] is empty: give SQL that must succeed, e.g. \"SELECT count(*) FROM orders\"");
    }
    let database = raw.database.unwrap_or_else(|| "postgres".into());
    // psql takes a -d with '=' or a postgres:// URI as a connection string, which could point
    // the drill's queries at another server: only a plain name (at most 63 bytes) is taken.
    if database.is_empty()
        || database.len() > 63
        || database.contains(['\0', '=', '\n', '\r'])
        || database.starts_with("postgres://")
        || database.starts_with("postgresql://")
    {
        invalid!("drill.database = {:?}: give a database name (at most 63 bytes, no '=', not a postgres:// URI): the queries run in that database of the copy, never elsewhere", crate::text::excerpt(&database, 80));
    }
    let target = match raw.target.as_deref() {
        None => crate::when::Target::Random,
        Some(t) => crate::when::parse_target(t)
            .map_err(|e| Invalid(format!("drill.target = \"{t}\": {e}")))?,
    };
    let preload = raw.preload.unwrap_or_default();
    if let Some(bad) = preload.iter().find(|l| !crate::ids::is_library_name(l)) {
        invalid!("drill.preload has {:?}: give library names as shared_preload_libraries has them (letters, digits, _ and -), e.g. [\"timescaledb\"]", crate::text::excerpt(bad, 80));
    }
    let provider_copies = raw.provider_copies.unwrap_or(1);
    if provider_copies == 0 {
        invalid!("drill.provider_copies = 0: allow at least 1 (a drill at the provider makes one copy there)");
    }
    let keep_reports = raw.keep_reports.unwrap_or(100);
    if keep_reports == 0 {
        invalid!("drill.keep_reports = 0: keep at least 1 (status reads the last)");
    }
    let verify_every = raw.verify_every.unwrap_or(1);
    if verify_every == 0 {
        invalid!("drill.verify_every = 0: give 1 (verify the whole repository at each drill) or more (at most every that many drills)");
    }
    let (bucket, bucket_reach) = bucket_of(
        raw.reports_url,
        raw.reports_options,
        raw.reports_secrets_file,
        raw.reports_ca_file,
    )?;
    Ok(DrillConfig {
        schedule,
        scratch: raw.scratch,
        amcheck: amcheck_of(raw.amcheck)?,
        verify: raw.verify.unwrap_or(false),
        verify_every,
        queries,
        database,
        target,
        reports: raw
            .reports
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DRILL_REPORTS)),
        keep_reports,
        max_age: positive(
            "drill.max_age",
            raw.max_age.as_deref(),
            Duration::from_secs(8 * 86400),
        )?,
        preload,
        timeout: positive(
            "drill.timeout",
            raw.timeout.as_deref(),
            Duration::from_secs(6 * 3600),
        )?,
        provider_copies,
        at_provider: raw.at_provider.unwrap_or(false),
        copy_plan: raw.copy_plan.filter(|p| !p.trim().is_empty()),
        push: push_of(raw.push_url, raw.push_user, raw.push_password_file)?,
        bucket,
        bucket_reach,
        signing_key: raw.signing_key,
        rto: Rto {
            default: match raw.rto.as_deref() {
                None => None,
                t => Some(positive("drill.rto", t, Duration::ZERO)?),
            },
            by_cluster: Default::default(),
        },
        command: DrillCommand {
            default: raw
                .command
                .map(|c| command_of("drill.command", c))
                .transpose()?,
            by_cluster: Default::default(),
        },
        command_timeout: positive(
            "drill.command_timeout",
            raw.command_timeout.as_deref(),
            DEFAULT_COMMAND_TIMEOUT,
        )?,
        copy_storage: match raw.copy_storage {
            Some(0) => invalid!("drill.copy_storage = 0: give the copy's storage in GB (at least 1), or leave it out for the source's"),
            s => s,
        },
        section: false,
    })
}
