//! What the daemon reports: each cluster's state, the status file (`bridgerest status` reads
//! it), systemd's STATUS= line, and the Prometheus text file.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::Config;
use crate::drill::report::{summary, DrillSummary, Report};
use crate::drill::sink::{ReportSink, SinkError};
use crate::provider::{BoxFut, FailureKind};

/// A Prometheus label value, escaped as the text format wants (`\\`, `"`, line feed): the one
/// escaper of every label bridgerest writes.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One cluster's state, as the status file shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterStatus {
    pub id: String,
    /// Its pgBackRest stanza (the section refresh writes, or the configured one): the
    /// `stanza` label pgbackrest_exporter's series carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stanza: Option<String>,
    /// Its name at the provider, as the last backup watch saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(with = "crate::when::file_time::option", default)]
    pub last_success: Option<OffsetDateTime>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(with = "crate::when::file_time::option", default)]
    pub last_error_at: Option<OffsetDateTime>,
    /// What kind of failure the last error is (`auth`, `transient`, ...).
    #[serde(default)]
    pub last_error_kind: Option<FailureKind>,
    /// When the credentials in the file are expected to stop working.
    #[serde(with = "crate::when::file_time::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "crate::when::file_time::option", default)]
    pub next_refresh: Option<OffsetDateTime>,
    /// The cluster's provider, where it is not Crunchy Bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<crate::provider::ProviderKind>,
    /// Its provider hands out no credentials: only its backups are watched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub watch_only: bool,
    /// When its newest backup finished (where the provider reports it).
    #[serde(with = "crate::when::file_time::option", default)]
    pub last_backup: Option<OffsetDateTime>,
    /// The start of its recovery window.
    #[serde(with = "crate::when::file_time::option", default)]
    pub window_start: Option<OffsetDateTime>,
    /// What is wrong with its backups (too old, no active chain, cannot be listed).
    #[serde(default)]
    pub backup_problem: Option<String>,
    #[serde(with = "crate::when::file_time::option", default)]
    pub backups_checked_at: Option<OffsetDateTime>,
    /// Its last restore drill: as the drill told the daemon's loop (or a one-shot drill the
    /// file), or as its reports in `drill.reports` say where nobody was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillSummary>,
}

/// The daemon's status file (no secrets).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    #[serde(with = "crate::when::file_time")]
    pub updated_at: OffsetDateTime,
    pub pid: u32,
    pub clusters: Vec<ClusterStatus>,
    /// The config's `[drill]` rules, where it has the section (for the alert rules: how old a
    /// drill may be, and whether drills are scheduled at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_policy: Option<DrillPolicy>,
    /// Who wrote it: the daemon (whose `pid` must be alive while it stands), or a one-shot
    /// `refresh` or `drill` (a timer's or cron's: `pid` has exited). Files older than this
    /// field were the daemon's.
    #[serde(default)]
    pub written_by: WrittenBy,
}

/// Who wrote a status file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WrittenBy {
    #[default]
    Daemon,
    Refresh,
    Drill,
}

impl WrittenBy {
    pub fn as_str(self) -> &'static str {
        match self {
            WrittenBy::Daemon => "daemon",
            WrittenBy::Refresh => "refresh",
            WrittenBy::Drill => "drill",
        }
    }
}

/// What `[drill]` asks of the Crunchy Bridge clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillPolicy {
    /// `drill.max_age`, in seconds.
    pub max_age_seconds: u64,
    /// Whether `drill.schedule` is set (the daemon drills every Bridge cluster).
    pub scheduled: bool,
    /// Whether the schedule also drills the clusters restored only at their provider
    /// (`drill.at_provider`).
    #[serde(default)]
    pub at_provider: bool,
}

impl DrillPolicy {
    /// `cfg`'s, where it has `[drill]`.
    pub fn of(cfg: &Config) -> Option<DrillPolicy> {
        cfg.drill.section.then(|| DrillPolicy {
            max_age_seconds: cfg.drill.max_age.as_secs(),
            scheduled: cfg.drill.schedule.is_some(),
            at_provider: cfg.drill.at_provider,
        })
    }
}

impl Status {
    pub fn failing(&self) -> usize {
        self.clusters
            .iter()
            .filter(|c| c.last_error.is_some())
            .count()
    }

    /// One line for systemd's STATUS=.
    pub fn summary(&self) -> String {
        let next = self
            .clusters
            .iter()
            .filter_map(|c| c.next_refresh)
            .min()
            .map(crate::restore::show_time)
            .unwrap_or_else(|| "none".into());
        let backups = self
            .clusters
            .iter()
            .filter(|c| c.backup_problem.is_some())
            .count();
        format!(
            "{} clusters: {} ok, {} failing; next refresh {next}{}",
            self.clusters.len(),
            self.clusters.len() - self.failing(),
            self.failing(),
            match backups {
                0 => String::new(),
                n => format!("; backups need attention on {n}"),
            }
        )
    }

    /// The same figures in Prometheus' text format, for node_exporter's textfile collector.
    pub fn prometheus(&self) -> String {
        fn secs(t: Option<OffsetDateTime>) -> Option<i64> {
            t.map(OffsetDateTime::unix_timestamp)
        }
        type Metric = (
            &'static str,
            &'static str,
            fn(&ClusterStatus) -> Option<i64>,
        );
        let metrics: [Metric; 7] = [
            (
                "bridgerest_refresh_ok",
                "1 if the cluster's last refresh succeeded, 0 if it failed.",
                |c| {
                    (!c.watch_only).then_some(i64::from(
                        c.last_error.is_none() && c.last_success.is_some(),
                    ))
                },
            ),
            (
                "bridgerest_last_success_timestamp_seconds",
                "When the cluster's credentials were last refreshed.",
                |c| secs(c.last_success),
            ),
            (
                "bridgerest_credentials_expiry_timestamp_seconds",
                "When the credentials in the pgBackRest config are expected to stop working.",
                |c| secs(c.expires_at),
            ),
            (
                "bridgerest_next_refresh_timestamp_seconds",
                "When the daemon next refreshes the cluster.",
                |c| secs(c.next_refresh).filter(|_| !c.watch_only),
            ),
            (
                "bridgerest_last_backup_timestamp_seconds",
                "When the cluster's newest backup finished (absent where the provider does not say: IONOS).",
                |c| secs(c.last_backup),
            ),
            (
                "bridgerest_recovery_window_start_timestamp_seconds",
                "The earliest time the cluster can be restored to.",
                |c| secs(c.window_start),
            ),
            (
                "bridgerest_backup_ok",
                "0 if the cluster's backups need attention (older than daemon.max_backup_age, no active chain, or not listable), else 1.",
                |c| c.backups_checked_at.map(|_| i64::from(c.backup_problem.is_none())),
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in metrics {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for c in &self.clusters {
                if let Some(v) = value(c) {
                    out.push_str(&format!("{name}{{cluster=\"{}\"}} {v}\n", label(&c.id)));
                }
            }
        }
        out.push_str("# HELP bridgerest_refresh_failing 1 for a failing cluster, labelled with the kind of failure (auth, not_found, transient, malformed, expired, local).\n# TYPE bridgerest_refresh_failing gauge\n");
        for c in &self.clusters {
            if let Some(k) = c.last_error_kind {
                out.push_str(&format!(
                    "bridgerest_refresh_failing{{cluster=\"{}\",kind=\"{}\"}} 1\n",
                    label(&c.id),
                    k.as_str()
                ));
            }
        }
        out.push_str("# HELP bridgerest_cluster_info Always 1: the cluster's stanza, its name at the provider and its provider, for joins (`* on (cluster, instance, job) group_left (stanza, name) bridgerest_cluster_info`; pgbackrest_exporter's series carry `stanza`).\n# TYPE bridgerest_cluster_info gauge\n");
        for c in &self.clusters {
            let provider = c.provider.unwrap_or(crate::provider::ProviderKind::DEFAULT);
            out.push_str(&format!(
                "bridgerest_cluster_info{{cluster=\"{}\",stanza=\"{}\",name=\"{}\",provider=\"{}\"}} 1\n",
                label(&c.id),
                label(c.stanza.as_deref().unwrap_or_default()),
                label(c.name.as_deref().unwrap_or_default()),
                provider.as_str()
            ));
        }
        out.push_str(&self.drill_metrics());
        out.push_str(&format!(
            "# HELP bridgerest_status_updated_timestamp_seconds When the daemon last wrote its status.\n# TYPE bridgerest_status_updated_timestamp_seconds gauge\nbridgerest_status_updated_timestamp_seconds {}\n",
            self.updated_at.unix_timestamp()
        ));
        out
    }

    /// The drills' figures (clusters drilled at least once), and the drill policy for every
    /// Crunchy Bridge cluster where the config has `[drill]`.
    fn drill_metrics(&self) -> String {
        let drilled: Vec<(&str, &DrillSummary)> = self
            .clusters
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.drill.as_ref()?)))
            .collect();
        let mut out = String::new();
        if let Some(p) = self.drill_policy {
            // The clusters drills prove: restored here, or at a provider that restores only
            // there (`true`), which the schedule drills with drill.at_provider.
            let bridge: Vec<(&str, bool)> = self
                .clusters
                .iter()
                .filter_map(|c| {
                    let caps = c
                        .provider
                        .unwrap_or(crate::provider::ProviderKind::DEFAULT)
                        .capabilities();
                    match (caps.local_restore, caps.into_new && caps.destroy) {
                        (true, _) => Some((c.id.as_str(), false)),
                        (false, true) => Some((c.id.as_str(), true)),
                        (false, false) => None,
                    }
                })
                .collect();
            // Each figure for a cluster restored here, and for one restored only there.
            let rows = [
                (
                    "bridgerest_drill_max_age_seconds",
                    "drill.max_age: how old the last successful drill may be.",
                    [p.max_age_seconds; 2],
                ),
                (
                    "bridgerest_drill_scheduled",
                    "1 if the daemon drills the cluster on drill.schedule (one restored only at its provider: with drill.at_provider), else 0.",
                    [u64::from(p.scheduled), u64::from(p.scheduled && p.at_provider)],
                ),
            ];
            for (name, help, v) in rows {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
                for (id, there) in &bridge {
                    out.push_str(&format!(
                        "{name}{{cluster=\"{}\"}} {}\n",
                        label(id),
                        v[usize::from(*there)]
                    ));
                }
            }
        }
        if drilled.is_empty() {
            return out;
        }
        let mut gauge = |name: &str, help: &str, rows: Vec<(String, f64)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (labels, v) in rows {
                out.push_str(&format!("{name}{{{labels}}} {v}\n"));
            }
        };
        gauge(
            "bridgerest_drill_success",
            "1 if the cluster's last restore drill passed every check, else 0.",
            drilled
                .iter()
                .map(|(id, d)| {
                    (
                        format!("cluster=\"{}\"", label(id)),
                        f64::from(u8::from(d.ok)),
                    )
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_failed_check",
            "1 for the first check the cluster's last drill failed, by name: preempted (a real restore stopped it), space or timeout (it proved nothing either way), or a check of the backups.",
            drilled
                .iter()
                .filter(|(_, d)| !d.ok)
                .filter_map(|(id, d)| {
                    let check = d.failed_check.as_ref()?;
                    Some((
                        format!("cluster=\"{}\",check=\"{}\"", label(id), label(&check.as_str())),
                        1.0,
                    ))
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_duration_seconds",
            "How long the last drill's restore (pgbackrest restore) and recovery (start to promoted) took.",
            drilled
                .iter()
                .flat_map(|(id, d)| {
                    [("restore", d.restore_seconds), ("recovery", d.recovery_seconds)]
                        .into_iter()
                        .filter_map(move |(phase, s)| {
                            Some((format!("cluster=\"{}\",phase=\"{phase}\"", label(id)), s?))
                        })
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_last_success_timestamp_seconds",
            "When the cluster's last successful drill ended.",
            drilled
                .iter()
                .filter_map(|(id, d)| {
                    Some((
                        format!("cluster=\"{}\"", label(id)),
                        d.last_success?.unix_timestamp() as f64,
                    ))
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_at_provider",
            "1 if the cluster's last drill ran at its provider (a copy made, checked over TLS and deleted there), 0 if on this host.",
            drilled
                .iter()
                .map(|(id, d)| {
                    (
                        format!(
                            "cluster=\"{}\",provider=\"{}\"",
                            label(id),
                            label(d.at_provider.as_deref().unwrap_or(""))
                        ),
                        f64::from(u8::from(d.at_provider.is_some())),
                    )
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_copy_left",
            "1 if the cluster's last drill at the provider could not delete its copy there (billed until deleted; the next drill deletes it first), else 0.",
            drilled
                .iter()
                .filter(|(_, d)| d.at_provider.is_some())
                .map(|(id, d)| {
                    (
                        format!(
                            "cluster=\"{}\",copy=\"{}\"",
                            label(id),
                            label(d.copy_left.as_deref().unwrap_or(""))
                        ),
                        f64::from(u8::from(d.copy_left.is_some())),
                    )
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_copy_lifetime_seconds",
            "How long the last drill's copy at the provider lived there, from the request to gone.",
            drilled
                .iter()
                .filter_map(|(id, d)| {
                    Some((
                        format!("cluster=\"{}\"", label(id)),
                        d.copy_lifetime_seconds?,
                    ))
                })
                .collect(),
        );
        gauge(
            "bridgerest_drill_rto_seconds",
            "The cluster's restore-time objective (drill.rto, its [[cluster]]'s rto) at its last drill: restore and recovery (at a provider: the copy becoming ready) must take no longer.",
            drilled
                .iter()
                .filter_map(|(id, d)| Some((format!("cluster=\"{}\"", label(id)), d.rto_seconds?)))
                .collect(),
        );
        gauge(
            "bridgerest_drill_recovery_lag_seconds",
            "How far the last drill's last replayed transaction fell short of its target.",
            drilled
                .iter()
                .filter_map(|(id, d)| Some((format!("cluster=\"{}\"", label(id)), d.lag_seconds?)))
                .collect(),
        );
        out
    }
}

/// The one writer of the status file (and the Prometheus text file): it writes only while it
/// holds the status file's lock (`status.json.lock`), which the daemon keeps for as long as it
/// runs. A one-shot drill that finds the lock held leaves the file to the daemon, which learns
/// of the drill from its report on its next tick (its own drills it is told of); with no
/// daemon, it takes the lock and merges the drill into the file itself ([`StatusFile`]). So
/// no two processes write it at once, and no write is made from a copy another writer has
/// since replaced.
#[derive(Default)]
pub struct Writer {
    held: Option<(std::path::PathBuf, crate::fsutil::FileLock)>,
}

impl Writer {
    /// Takes the lock of `cfg`'s status file if it is free (again, after a reload names another
    /// file); `Err(holder)` when another process holds it.
    fn lock(&mut self, cfg: &Config) -> crate::fsutil::Result<Result<(), crate::fsutil::Holder>> {
        let path = &cfg.daemon.status_file;
        if self.held.as_ref().is_some_and(|(p, _)| p == path) {
            return Ok(Ok(()));
        }
        self.held = None;
        // Its directory first: a missing one is named as such, not as a lock file.
        crate::fsutil::check_dir_writable(crate::fsutil::parent(path))?;
        let owner = status_owner(cfg);
        Ok(
            crate::fsutil::FileLock::try_acquire(path, owner, 0o644)?.map(|lock| {
                self.held = Some((path.clone(), lock));
            }),
        )
    }

    /// Writes `st` (with `cfg`'s drill policy) to the status file, and the Prometheus text file
    /// if one is configured (both atomic, neither holds a secret). It reads nothing back: the
    /// drills are in `st` as the caller was told of them. Returns what failed, for the caller
    /// to log once per change.
    pub fn write(&mut self, cfg: &Config, st: &Status) -> Result<(), WriteError> {
        match self.lock(cfg) {
            Ok(Ok(())) => {}
            Ok(Err(holder)) => {
                return Err(WriteError::Taken {
                    path: cfg.daemon.status_file.clone(),
                    holder,
                })
            }
            Err(e) => return Err(e.into()),
        }
        let mut st = st.clone();
        // Only the clusters this config names are written (the status file is the daemon's
        // user's to write: what else it held is not carried on).
        let names = cfg.all_clusters();
        st.clusters
            .retain(|c| names.iter().any(|(_, id)| *id == c.id));
        st.drill_policy = DrillPolicy::of(cfg);
        let json = serde_json::to_vec_pretty(&st).map_err(WriteError::Encode)?;
        let files = [
            (Some(&cfg.daemon.status_file), json),
            (
                cfg.daemon.prometheus_textfile.as_ref(),
                st.prometheus().into_bytes(),
            ),
        ];
        let owner = status_owner(cfg).applicable();
        let errors: Vec<crate::fsutil::Error> = files
            .iter()
            .filter_map(|(path, bytes)| {
                let path = (*path)?;
                crate::fsutil::write_atomic(path, bytes, 0o644, owner).err()
            })
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(WriteError::Files(errors)),
        }
    }
}

/// Why the status file (or the Prometheus file) was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another process (a second daemon) holds the file's lock.
    #[error("{} is written by another process ({holder}): give each daemon its own daemon.status_file", .path.display())]
    Taken {
        path: std::path::PathBuf,
        holder: crate::fsutil::Holder,
    },
    /// The lock, or the file as it is, cannot be read or opened.
    #[error(transparent)]
    File(#[from] crate::fsutil::Error),
    /// The file there is not a status file bridgerest wrote.
    #[error("{} is not a bridgerest status file: {source}", .path.display())]
    NotStatus {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("encoding the status: {0}")]
    Encode(serde_json::Error),
    /// Writing one or both files failed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Files(Vec<crate::fsutil::Error>),
}

/// Who the status file, its lock and the Prometheus file belong to: the daemon's user, so
/// that what a root `refresh` or `drill` makes, the daemon can lock and replace later, and root
/// trusts what the daemon made. That is the owner of the status file's directory where it is
/// not root's (the package's /var/lib/bridgerest is postgres's), else `pgbackrest.owner` (the
/// user the units run the daemon as). (An owner that cannot be looked up: as the writing
/// process makes them; the refresh says why.)
fn status_owner(cfg: &Config) -> crate::fsutil::Owner {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(crate::fsutil::parent(&cfg.daemon.status_file)) {
        Ok(m) if m.is_dir() && m.uid() != 0 => crate::fsutil::Owner {
            uid: Some(nix::unistd::Uid::from_raw(m.uid())),
            gid: Some(nix::unistd::Gid::from_raw(m.gid())),
        },
        _ => crate::refresh::owner(cfg).unwrap_or_default(),
    }
}

/// The status file and the Prometheus text as a one-shot `bridgerest drill` publishes to them
/// (no daemon in this process): the drill merged into the file as it was, once, through its
/// typed read ([`publish_drill`]).
pub struct StatusFile(Config);

impl StatusFile {
    pub fn new(cfg: &Config) -> StatusFile {
        StatusFile(cfg.clone())
    }
}

impl ReportSink for StatusFile {
    fn name(&self) -> &'static str {
        "the status file"
    }

    fn publish<'a>(&'a self, rep: &'a Report) -> BoxFut<'a, Result<Option<String>, SinkError>> {
        Box::pin(async move {
            publish_drill(&self.0, rep)?;
            Ok(None)
        })
    }
}

/// Puts a one-shot drill into the status file, so that it shows at once: merged into the file
/// as it was (its cluster's last successful drill carried over a failure, as the file knew
/// it), or into a new one with each configured cluster (a drill run by cron or a timer with no
/// daemon). Where a daemon runs, it holds the file's [`Writer`] lock and the file is left to
/// it (it learns of the drill from the report on its next tick).
pub fn publish_drill(cfg: &Config, rep: &Report) -> Result<(), WriteError> {
    one_shot(cfg, WrittenBy::Drill, |st| {
        if let Some(c) = st.clusters.iter_mut().find(|c| c.id == rep.cluster) {
            c.drill = Some(DrillSummary::after(c.drill.as_ref(), rep));
        }
    })
}

/// A one-shot `refresh` records what it did where no daemon writes the status file (a timer's
/// or cron's refresh): each refreshed cluster's success and expiry, or its error and kind,
/// merged into the file as it was (what the daemon last saw of backups is kept); the
/// Prometheus text file with it.
pub fn record_refresh(
    cfg: &Config,
    outcomes: &[crate::refresh::Outcome],
) -> Result<(), WriteError> {
    let now = OffsetDateTime::now_utc();
    one_shot(cfg, WrittenBy::Refresh, |st| {
        for o in outcomes {
            let Some(c) = st.clusters.iter_mut().find(|c| c.id == o.cluster_id) else {
                continue;
            };
            if o.stanza.is_some() {
                c.stanza = o.stanza.clone();
            }
            match &o.error {
                None => {
                    c.last_success = Some(now);
                    c.last_error = None;
                    c.last_error_at = None;
                    c.last_error_kind = None;
                    c.expires_at = Some(
                        o.expires_at
                            .unwrap_or_else(|| crate::when::later(now, cfg.api.token_lifetime)),
                    );
                }
                Some(e) => {
                    c.last_error = Some(crate::redact::apply(&e.to_string()));
                    c.last_error_at = Some(now);
                    c.last_error_kind = Some(e.kind());
                }
            }
            // A timer's next run is systemd's to know, not this process's.
            c.next_refresh = None;
        }
    })
}

/// Takes the status file's lock if no daemon holds it, reads the file as it is (or starts one
/// with every configured cluster), lets `update` change it, and writes it as `by`'s.
fn one_shot(
    cfg: &Config,
    by: WrittenBy,
    update: impl FnOnce(&mut Status),
) -> Result<(), WriteError> {
    let path = &cfg.daemon.status_file;
    // No directory for it (a host without the package's /var/lib/bridgerest): nothing is made.
    if !crate::fsutil::parent(path).is_dir() {
        tracing::info!(
            "no directory for the status file {}: the {} is not recorded there",
            path.display(),
            by.as_str()
        );
        return Ok(());
    }
    let mut writer = Writer::default();
    match writer.lock(cfg) {
        Ok(Ok(())) => {}
        Ok(Err(holder)) => {
            tracing::info!(
                "the daemon ({holder}) writes {}: it shows this {} {}",
                path.display(),
                by.as_str(),
                match by {
                    // It is not told of a drill of another process: it reads the report.
                    WrittenBy::Drill => "from its report, on its next tick",
                    WrittenBy::Refresh | WrittenBy::Daemon => "on its next write",
                }
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let old: Option<Status> = match crate::fsutil::read_regular(path, crate::fsutil::MAX_READ)? {
        Some(text) => {
            Some(
                serde_json::from_str(&text).map_err(|source| WriteError::NotStatus {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let mut st = Status {
        updated_at: OffsetDateTime::now_utc(),
        pid: std::process::id(),
        clusters: configured(cfg, old.map(|o| o.clusters).unwrap_or_default()),
        drill_policy: None,
        written_by: by,
    };
    update(&mut st);
    writer.write(cfg, &st)
}

/// The configured clusters' entries, in the config's order: each as `old` had it, or new (as
/// the daemon makes them).
fn configured(cfg: &Config, mut old: Vec<ClusterStatus>) -> Vec<ClusterStatus> {
    cfg.all_clusters()
        .into_iter()
        .map(|(provider, id)| match old.iter().position(|c| c.id == id) {
            Some(i) => old.swap_remove(i),
            None => ClusterStatus {
                id,
                provider: (provider != crate::provider::ProviderKind::DEFAULT).then_some(provider),
                watch_only: !provider.has_repo_credentials(),
                ..Default::default()
            },
        })
        .collect()
}

/// Each cluster restored here with a drill report, and its last drill rebuilt from its
/// reports. For whoever was not told of the drills: the daemon's loop when it starts (its state
/// after a restart), on a reload and on each tick (a one-shot drill while it runs), and
/// `bridgerest status`.
pub fn recorded_drills(cfg: &Config) -> Vec<(String, DrillSummary)> {
    cfg.drillable()
        .into_iter()
        .filter_map(|(id, _)| Some((id.clone(), summary(&cfg.drill.reports, &id)?)))
        .collect()
}

/// Sets the drill policy and the `drill` of each cluster restored here in `st` from its
/// reports ([`recorded_drills`]): `bridgerest status`, which reads the file the daemon wrote,
/// counts a drill that ended after that.
pub fn fill_drills(cfg: &Config, st: &mut Status) {
    st.drill_policy = DrillPolicy::of(cfg);
    let recorded = recorded_drills(cfg);
    for c in &mut st.clusters {
        if cfg.drillable().iter().any(|(k, _)| *k == c.id) {
            c.drill = recorded
                .iter()
                .find(|(id, _)| *id == c.id)
                .map(|(_, d)| d.clone());
        }
    }
}
