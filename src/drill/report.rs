//! A drill's report: what it restored, how long each phase took, each check; printed as a
//! table or JSON, written as one JSON file per drill (the last `drill.keep_reports` kept per
//! cluster), and summed up in the status file and the Prometheus file.

use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Target;
use crate::fsutil::{self, Owner};
use crate::restore::show_time;

/// One check of a drill.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Check {
    pub name: CheckName,
    pub ok: bool,
    pub detail: String,
}

/// What a drill checks, by name. The report files, the status file and the
/// `bridgerest_drill_failed_check` metric carry each as the string [`CheckName::as_str`] gives
/// (`recovered_to`, `query 2`, ...), the strings they have always carried.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckName {
    /// The restore could be planned (the window, the backup, the repository).
    Plan,
    /// The copy fits where it is restored.
    Space,
    /// `pgbackrest restore` into the scratch directory.
    Restore,
    /// `pgbackrest verify` of the repository.
    Verify,
    /// The copy was started cut off (private socket, no archiving, no TCP).
    Isolation,
    /// The copy's PostgreSQL recovered and was promoted.
    Recovery,
    /// Recovery reached the target, and no further.
    RecoveredTo,
    /// `pg_amcheck` of every database.
    Amcheck,
    /// The user's query number `n` (from 1) of `drill.queries`.
    Query(usize),
    /// The role the user's queries run as could not be made.
    Queries,
    /// The drill took longer than `drill.timeout`: it proved nothing either way.
    Timeout,
    /// A real restore of the cluster stopped the drill: it proved nothing either way.
    Preempted,
    /// The drill failed outside any check (its copy, its lock, its PostgreSQL).
    Drill,
    /// The copy could not be removed.
    Cleanup,
    /// At the provider: the copy was made there and became ready.
    Copy,
    /// At the provider: the copy took a TLS connection with the provider's credentials.
    Connect,
    /// At the provider: the copy could not be deleted (it is named, and deleted at the next
    /// drill of the cluster).
    CopyLeft,
    /// The restore and recovery took no longer than the cluster's restore-time objective
    /// (`drill.rto`, a `[[cluster]]`'s `rto`).
    Rto,
    /// The operator's own validation (`drill.command`) exited 0 within its deadline.
    Command,
    /// `pg_checksums --check` of the stopped copy found no bad page.
    Checksums,
    /// A name this bridgerest does not write, read back from a report or status file another
    /// version wrote: kept as it is, so that such a file still reads.
    Other(String),
}

impl CheckName {
    /// The name as the files and the metric carry it.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow::Borrowed;
        Borrowed(match self {
            CheckName::Plan => "plan",
            CheckName::Space => "space",
            CheckName::Restore => "restore",
            CheckName::Verify => "verify",
            CheckName::Isolation => "isolation",
            CheckName::Recovery => "recovery",
            CheckName::RecoveredTo => "recovered_to",
            CheckName::Amcheck => "amcheck",
            CheckName::Query(n) => return format!("query {n}").into(),
            CheckName::Queries => "queries",
            CheckName::Timeout => "timeout",
            CheckName::Preempted => "preempted",
            CheckName::Drill => "drill",
            CheckName::Cleanup => "cleanup",
            CheckName::Copy => "copy",
            CheckName::Connect => "connect",
            CheckName::CopyLeft => "copy_left",
            CheckName::Rto => "rto",
            CheckName::Command => "command",
            CheckName::Checksums => "checksums",
            CheckName::Other(s) => s,
        })
    }

    /// The check named `s` as [`CheckName::as_str`] names it; any other name is
    /// [`CheckName::Other`] (never an error: a report of another version still reads).
    pub fn parse(s: &str) -> CheckName {
        const FIXED: [CheckName; 19] = [
            CheckName::Plan,
            CheckName::Space,
            CheckName::Restore,
            CheckName::Verify,
            CheckName::Isolation,
            CheckName::Recovery,
            CheckName::RecoveredTo,
            CheckName::Amcheck,
            CheckName::Queries,
            CheckName::Timeout,
            CheckName::Preempted,
            CheckName::Drill,
            CheckName::Cleanup,
            CheckName::Copy,
            CheckName::Connect,
            CheckName::CopyLeft,
            CheckName::Rto,
            CheckName::Command,
            CheckName::Checksums,
        ];
        if let Some(c) = FIXED.iter().find(|c| c.as_str() == s) {
            return c.clone();
        }
        match s
            .strip_prefix("query ")
            .and_then(|n| n.parse::<usize>().ok())
        {
            // Only as this version writes it ("query 01" stays as it was).
            Some(n) if format!("query {n}") == s => CheckName::Query(n),
            _ => CheckName::Other(s.to_string()),
        }
    }
}

impl std::fmt::Display for CheckName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl Serialize for CheckName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(CheckName::parse(&s))
    }
}

/// What one drill did and found (no secrets: the plan's command line holds none either).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub cluster: String,
    pub stanza: String,
    /// The time recovered to (RFC 3339): the one given, the one drawn, or for `latest` the
    /// last archived transaction; the kind as asked where it was never resolved.
    pub target: String,
    /// `latest`, `random` or `time`.
    pub target_kind: String,
    /// The backup restored (its pgBackRest label).
    pub backup: Option<String>,
    /// Every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
    #[serde(with = "crate::when::file_time")]
    pub started_at: OffsetDateTime,
    #[serde(with = "crate::when::file_time::option", default)]
    pub finished_at: Option<OffsetDateTime>,
    pub restore_seconds: Option<f64>,
    pub recovery_seconds: Option<f64>,
    pub checks_seconds: Option<f64>,
    pub total_seconds: Option<f64>,
    /// The commit time of the last transaction replayed.
    #[serde(with = "crate::when::file_time::option", default)]
    pub recovered_to: Option<OffsetDateTime>,
    /// How far `recovered_to` falls short of the target.
    pub lag_seconds: Option<f64>,
    /// The backup set's bytes in the repository plus the archived WAL replayed.
    pub bytes_fetched: Option<u64>,
    pub scratch: String,
    /// Where the copy was left (`--keep`).
    #[serde(default)]
    pub kept: Option<String>,
    /// A drill at the provider: the copy it made there (`None`: a drill on this host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_provider: Option<ProviderCopy>,
    /// The cluster's restore-time objective when it was drilled, in seconds (none: no
    /// objective; the `rto` check holds the figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    /// Its place in the cluster's chain and its signature ([`super::seal`]); none in reports
    /// bridgerest wrote before it signed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Seal>,
    /// Checks of a drill on this host that did not run on this copy, and why (no pass, no
    /// failure): data checksums off, a kept copy, `drill.amcheck = false`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
    /// Where and with what the drill ran (none in reports written before bridgerest said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran: Option<Ran>,
    /// The restore's plan as `restore` prints it (for the table; not in the JSON).
    #[serde(skip)]
    pub plan: String,
    #[serde(skip)]
    pub target_time: Option<OffsetDateTime>,
    /// Who drilled: the report files and their directory are that user's.
    #[serde(skip)]
    pub owner: Option<crate::restore::RunAs>,
    /// Where each phase and check is said as the drill goes (`bridgerest drill`: the
    /// terminal's stderr; the daemon's drills have their log and no narrator).
    #[serde(skip)]
    pub narrate: crate::narrate::Along,
}

/// A report's seal: its place in its cluster's chain and its signature (made and checked
/// by [`super::seal`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Seal {
    /// 1 for a cluster's first sealed report, then one more each.
    pub seq: u64,
    /// SHA-256 (hex) of the cluster's previous report as sealed; none for the first.
    pub prev: Option<String>,
    /// The signing key's fingerprint ([`super::seal::fingerprint`]).
    pub key: String,
    /// Ed25519 (hex) of the report's canonical JSON with this field empty.
    pub signature: String,
}

/// Where and with what a drill ran: the auditor's "who and where".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ran {
    /// The drilling host's name.
    pub host: String,
    /// bridgerest's version.
    pub bridgerest: String,
    /// `pgbackrest version`'s (none: a drill at the provider, or not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgbackrest: Option<String>,
    /// The copy's `server_version` (none: not recovered, or a provider's copy not asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgresql: Option<String>,
}

impl Ran {
    /// This host and this bridgerest; the rest as the drill learns it.
    pub fn here() -> Ran {
        Ran {
            host: hostname(),
            bridgerest: env!("CARGO_PKG_VERSION").to_string(),
            pgbackrest: None,
            postgresql: None,
        }
    }

    /// The copy's `server_version` as it answered: kept when it reads as one (short, no
    /// control characters), since the copy's data is the backup's.
    pub fn set_postgresql(&mut self, answered: &str) {
        let v = answered.trim();
        if !v.is_empty() && v.len() <= 64 && !v.chars().any(char::is_control) {
            self.postgresql = Some(v.to_string());
        }
    }
}

/// This host's name (the kernel's), "unknown" where it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// A follow-up to a drill (`drills --note`): signed with the reports' key, in a file beside
/// the report it annotates ([`note_name`]), bound to that report as it was sealed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    /// The report's file name.
    pub report: String,
    /// SHA-256 (hex) of the report as it was when annotated (`super::seal::hash`).
    pub report_hash: String,
    pub text: String,
    /// Who wrote it: `SUDO_USER`, else the user running bridgerest.
    pub by: String,
    #[serde(with = "crate::when::file_time")]
    pub at: OffsetDateTime,
    /// The signing key's fingerprint.
    pub key: String,
    /// Ed25519 (hex) of the note's canonical JSON with this field empty.
    pub signature: String,
}

/// A note's file name: the report's name without `.json`, the note's time, `.note` (never a
/// report's name, so that nothing reading reports reads it).
pub fn note_name(report: &str, at: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "{}.{}.note",
        report.trim_end_matches(".json"),
        at.format(&fmt).unwrap_or_default()
    )
}

/// The copy a drill at the provider made there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProviderCopy {
    /// The provider's name (`bridge`, `ionos`, `launcher`).
    pub provider: String,
    /// The copy's id, once the provider named it.
    pub id: Option<String>,
    /// The name it was made with.
    pub name: String,
    /// From the create request to the copy being ready: the provider's restore time.
    pub ready_seconds: Option<f64>,
    /// From the create request to the copy being gone (`None`: not seen gone).
    pub lifetime_seconds: Option<f64>,
    /// The provider no longer knows the copy.
    pub deleted: bool,
    /// Checks of a drill here that could not run on this copy, and why (no pass, no failure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
}

impl Report {
    pub fn new(
        cluster: &str,
        stanza: &str,
        target: Target,
        started_at: OffsetDateTime,
        scratch: &Path,
    ) -> Report {
        Report {
            cluster: cluster.into(),
            stanza: stanza.into(),
            target: target.to_string(),
            target_kind: match target {
                Target::Latest => "latest",
                Target::Random => "random",
                Target::Time(_) => "time",
            }
            .into(),
            backup: None,
            ok: false,
            checks: vec![],
            started_at,
            finished_at: None,
            restore_seconds: None,
            recovery_seconds: None,
            checks_seconds: None,
            total_seconds: None,
            recovered_to: None,
            lag_seconds: None,
            bytes_fetched: None,
            scratch: scratch.display().to_string(),
            kept: None,
            at_provider: None,
            seal: None,
            not_checked: Vec::new(),
            ran: None,
            rto_seconds: None,
            plan: String::new(),
            target_time: None,
            owner: None,
            narrate: crate::narrate::Along::default(),
        }
    }

    /// The `rto` check: `took` (restore and recovery, or a provider's copy becoming ready)
    /// against `objective`, both named.
    pub fn check_rto(&mut self, objective: Option<std::time::Duration>, took: f64, what: &str) {
        let Some(obj) = objective else {
            return;
        };
        let secs = obj.as_secs_f64();
        self.rto_seconds = Some(secs);
        let shown = crate::text::duration_secs;
        let ok = took <= secs;
        self.check(
            CheckName::Rto,
            ok,
            format!(
                "{what} {} {} the restore-time objective of {}",
                shown(took),
                if ok { "within" } else { "over" },
                shown(secs)
            ),
        );
    }

    /// One line beside the account, as the drill goes, when it narrates.
    pub fn say(&self, what: &str) {
        self.narrate.note(&format!("drill:     {what}"));
    }

    pub fn check(&mut self, name: CheckName, ok: bool, detail: String) {
        // Details quote pgBackRest, PostgreSQL and the API.
        let detail = crate::redact::apply(&detail);
        self.say(&format!(
            "{name} {}: {detail}",
            if ok { "ok" } else { "FAILED" }
        ));
        match ok {
            true => tracing::info!(check = %name, %detail, "drill check passed"),
            false => tracing::error!(check = %name, %detail, "drill check failed"),
        }
        self.checks.push(Check { name, ok, detail });
    }

    pub fn fail(&mut self, name: CheckName, detail: String) {
        self.check(name, false, detail);
    }

    /// Every check passed (and there was at least the restore).
    pub fn ok(&self) -> bool {
        let has = |n: CheckName| self.checks.iter().any(|c| c.name == n);
        // A drill proves something only once it restored (here) or made and reached its copy
        // (at the provider).
        let got_there = match self.at_provider {
            None => has(CheckName::Restore),
            Some(_) => has(CheckName::Copy) && has(CheckName::Connect),
        };
        got_there && self.checks.iter().all(|c| c.ok)
    }

    pub fn target_shown(&self) -> String {
        match self.target_time {
            Some(t) => format!("{} ({})", show_time(t), self.target_kind),
            None => self.target.clone(),
        }
    }

    /// Closes the report: the verdict, the end time, the resolved target.
    pub fn finish(&mut self) {
        let now = OffsetDateTime::now_utc();
        self.ok = self.ok();
        self.finished_at = Some(now);
        self.total_seconds = Some((now - self.started_at).as_seconds_f64());
        if let Some(t) = self.target_time {
            self.target = crate::when::rfc3339(t);
        }
    }

    /// The first failed check, as one line.
    pub fn problem(&self) -> Option<String> {
        self.checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
    }

    /// The report as a table for a terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let secs = crate::text::seconds;
        out.push_str(&format!(
            "drill:     cluster {} ({}): {}\n",
            self.cluster,
            match &self.at_provider {
                Some(c) => format!("at the provider, {}", c.provider),
                None => format!("stanza {}", self.stanza),
            },
            if self.ok { "ok" } else { "FAILED" }
        ));
        out.push_str(&format!("target:    {}\n", self.target_shown()));
        out.push_str(&format!(
            "backup:    {}\n",
            self.backup.as_deref().unwrap_or("-")
        ));
        out.push_str(&format!(
            "recovered: {}\n",
            match (self.recovered_to, self.lag_seconds) {
                (Some(r), Some(l)) => format!("{} ({l:.1} s before the target)", show_time(r)),
                (Some(r), None) => show_time(r),
                (None, _) => "-".into(),
            }
        ));
        out.push_str(&format!(
            "fetched:   {}\n",
            self.bytes_fetched
                .map_or_else(|| "-".into(), crate::text::human_size)
        ));
        out.push_str(&format!(
            "time:      restore {}, recovery {}, checks {}, total {}\n",
            secs(self.restore_seconds),
            secs(self.recovery_seconds),
            secs(self.checks_seconds),
            secs(self.total_seconds)
        ));
        if let Some(k) = &self.kept {
            out.push_str(&format!("kept:      {k}\n"));
        }
        if let Some(c) = self
            .at_provider
            .as_ref()
            .filter(|c| c.id.is_none() && c.name.is_empty())
        {
            out.push_str(&format!("copy:      none made at {}\n", c.provider));
        } else if let Some(c) = &self.at_provider {
            out.push_str(&format!(
                "copy:      {} at {} \"{}\": ready after {}, {}\n",
                c.id.as_deref().unwrap_or("(never named)"),
                c.provider,
                crate::text::excerpt(&c.name, 80),
                secs(c.ready_seconds),
                match (c.deleted, c.lifetime_seconds) {
                    (true, l) => format!("deleted, alive {}", secs(l)),
                    (false, _) => "NOT deleted (see the copy_left check)".into(),
                }
            ));
            for n in &c.not_checked {
                out.push_str(&format!("unproven: {n}\n"));
            }
        }
        for n in &self.not_checked {
            out.push_str(&format!("unproven: {n}\n"));
        }
        let rows: Vec<Vec<String>> = self
            .checks
            .iter()
            .map(|c| {
                vec![
                    c.name.to_string(),
                    if c.ok { "ok" } else { "FAILED" }.into(),
                    c.detail.replace('\n', " | "),
                ]
            })
            .collect();
        out.push_str(&crate::text::table(&["CHECK", "RESULT", "DETAIL"], &rows));
        out
    }
}

/// The file a report is written to: `<reports>/<cluster>-<started, UTC, to the second>.json`.
pub fn report_path(dir: &Path, r: &Report) -> PathBuf {
    dir.join(report_name(r))
}

/// A report's file name (in a bucket too): `<cluster>-<started, UTC, to the second>.json`.
pub fn report_name(r: &Report) -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "{}-{}.json",
        r.cluster,
        r.started_at.format(&fmt).unwrap_or_default()
    )
}

/// Why a report read back (from a directory or a bucket another user can write) does not
/// count by its times: one dated in the future would stand as the last drill for good.
pub fn times_refused(r: &Report, now: OffsetDateTime) -> Option<&'static str> {
    (r.started_at > now + FUTURE
        || r.finished_at
            .is_some_and(|f| f > now + FUTURE || f < r.started_at))
    .then_some("its times lie in the future (or it ends before it starts)")
}

/// Writes the report (atomically, 0644: it holds no secret), then removes the cluster's
/// oldest beyond `keep`. The directory is made (for the drilling user) and written through
/// its descriptor: it is that user's, so no path through it is trusted.
pub fn write(dir: &Path, r: &Report, keep: usize) -> Result<PathBuf> {
    let owner = r.owner.as_ref().map_or_else(Owner::default, |u| u.owner());
    let trust = r
        .owner
        .as_ref()
        .map_or_else(nix::unistd::Uid::effective, |u| u.uid);
    let held = fsutil::Dir::open(dir, trust, Some(owner)).map_err(|err| Error::Reports {
        dir: dir.to_path_buf(),
        err,
    })?;
    let path = report_path(dir, r);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Internal("a report file name".into()))?;
    let json = serde_json::to_vec_pretty(r)
        .map_err(|e| Error::Internal(format!("encoding the drill report: {e}")))?;
    held.write_file(name, &json, 0o644, owner)?;
    let mut mine = reports_of(dir, &r.cluster);
    while mine.len() > keep {
        let old = mine.remove(0);
        let Some(n) = old.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Err(e) = held.remove(n) {
            tracing::warn!(
                "cannot remove the old drill report {}: {e:#}",
                old.display()
            );
        }
        // Its notes go with it.
        let stem = format!("{}.", n.trim_end_matches(".json"));
        for note in held.names().unwrap_or_default() {
            if note.starts_with(&stem) && note.ends_with(".note") {
                let _ = held.remove(&note);
            }
        }
    }
    Ok(path)
}

/// Writes a note ([`Note`]) as `name` in the reports directory, through a handle on it, owned
/// as the directory is (its owner can read and prune it, not sign one), 0644.
pub fn write_note(dir: &Path, name: &str, note: &Note) -> Result<PathBuf> {
    let (held, owner) = open_reports(dir).map_err(|err| Error::Reports {
        dir: dir.to_path_buf(),
        err,
    })?;
    let json = serde_json::to_vec_pretty(note)
        .map_err(|e| Error::Internal(format!("encoding the note: {e}")))?;
    held.write_file(name, &json, 0o644, owner)?;
    Ok(dir.join(name))
}

/// The reports directory held by its descriptor, reached from / without following a link (so
/// a directory swapped meanwhile changes nothing of what is read or written there), trusting
/// its owner, the drilling user; and that owner, as what is written there is owned.
pub(super) fn open_reports(dir: &Path) -> fsutil::Result<(fsutil::Dir, Owner)> {
    use std::os::unix::fs::MetadataExt;
    let io = |what: &str, err| fsutil::Error::Io {
        what: format!("{what} {}", dir.display()),
        err,
    };
    let abs = std::path::absolute(dir).map_err(|e| io("resolving", e))?;
    let meta = std::fs::symlink_metadata(&abs).map_err(|e| io("reading", e))?;
    let uid = nix::unistd::Uid::from_raw(meta.uid());
    let held = fsutil::Dir::open(&abs, uid, None)?;
    let owner = Owner {
        uid: Some(uid),
        gid: Some(nix::unistd::Gid::from_raw(meta.gid())),
    };
    Ok((held, owner))
}

/// The most names looked at in the report directory, the most bytes read of its reports in
/// all, and of one: the directory is the drilling user's to write, so what is in it is
/// bounded before it is read.
pub const MAX_FILES: usize = 20_000;
pub const MAX_BYTES: u64 = 64 << 20;
pub const MAX_REPORT: u64 = 1 << 20;
/// How far past now a report's times may be (one host writes and reads them).
const FUTURE: time::Duration = time::Duration::minutes(5);

/// The reports in `dir` that count (of `cluster`, or of every cluster), oldest first by
/// `started_at`, each with its path. A file counts only if bridgerest could have written it
/// there: a regular file with one name (not a link, nor a second name of another file), owned
/// by root or by the directory's owner, named as [`report_path`] names its own cluster's report
/// started at its own time, at most 1 MiB, and with no time in the future (a report dated 2099
/// would stand as the last drill for good). Files that do not count are logged and skipped.
fn load(dir: &Path, cluster: Option<&str>) -> Vec<(PathBuf, Report)> {
    // Its files are read through its descriptor (fsutil::Dir::read_file: no link followed, no
    // FIFO waited on, regular files only, bounded).
    let held = match open_reports(dir) {
        Ok((d, _)) => d,
        // No directory yet: no drill.
        Err(crate::fsutil::Error::Io { err, .. }) if err.kind() == std::io::ErrorKind::NotFound => {
            return vec![]
        }
        Err(e) => {
            tracing::warn!("no drill report is read from {}: {e}", dir.display());
            return vec![];
        }
    };
    let Ok(names) = held.names() else {
        return vec![];
    };
    let now = OffsetDateTime::now_utc();
    let (mut out, mut read) = (Vec::new(), 0u64);
    for name in names.into_iter().take(MAX_FILES) {
        let path = dir.join(&name);
        if !name.ends_with(".json") || cluster.is_some_and(|c| !is_report_of(&path, c)) {
            continue;
        }
        if read >= MAX_BYTES {
            tracing::warn!(
                "{} holds over {} of reports: the rest are not read",
                dir.display(),
                crate::text::human_size(MAX_BYTES)
            );
            break;
        }
        let skip = |why: &str| {
            tracing::warn!("{} is not counted as a drill report: {why}", path.display())
        };
        let (bytes, st) = match held.read_file(&name, MAX_REPORT) {
            Ok(Some(got)) => got,
            Ok(None) => continue,
            Err(e) => {
                skip(&format!("{e} (a link, a FIFO, or larger than 1 MiB)"));
                continue;
            }
        };
        if st.st_nlink != 1 {
            skip("not a regular file with one name (a hard link)");
            continue;
        }
        if st.st_uid != 0 && st.st_uid != held.stat.st_uid {
            skip("owned by another user than the directory's");
            continue;
        }
        read += bytes.len() as u64;
        let r: Report = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                skip(&format!("{e}"));
                continue;
            }
        };
        if report_path(dir, &r) != path || cluster.is_some_and(|c| r.cluster != c) {
            skip("its name is not its own cluster's and start time's");
            continue;
        }
        if let Some(why) = times_refused(&r, now) {
            skip(why);
            continue;
        }
        out.push((path, r));
    }
    out.sort_by(|(_, a), (_, b)| (a.started_at, &a.cluster).cmp(&(b.started_at, &b.cluster)));
    out
}

/// The cluster's report files that count, oldest first ([`load`]).
fn reports_of(dir: &Path, cluster: &str) -> Vec<PathBuf> {
    load(dir, Some(cluster))
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// Every kept report that counts (of `cluster`, or of all clusters), oldest first, started at
/// or after `since` (see `load`).
pub fn history(dir: &Path, cluster: Option<&str>, since: Option<OffsetDateTime>) -> Vec<Report> {
    load(dir, cluster)
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| since.is_none_or(|s| r.started_at >= s))
        .collect()
}

/// Whether `path` is named as a report of `cluster` is (`<cluster>-<time>.json`, as
/// [`report_path`] names it).
fn is_report_of(path: &Path, cluster: &str) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(cluster)?.strip_prefix('-'))
        .is_some_and(|rest| rest.ends_with(".json") && rest.len() == 21)
}

/// The cluster's last report that counts, if there is one.
pub fn latest(dir: &Path, cluster: &str) -> Option<Report> {
    load(dir, Some(cluster)).pop().map(|(_, r)| r)
}

/// A cluster's last drill as the status file keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrillSummary {
    #[serde(with = "crate::when::file_time")]
    pub at: OffsetDateTime,
    pub ok: bool,
    pub target: String,
    pub backup: Option<String>,
    pub restore_seconds: Option<f64>,
    pub recovery_seconds: Option<f64>,
    pub lag_seconds: Option<f64>,
    /// The first failed check.
    pub problem: Option<String>,
    /// The first failed check (`preempted`, `space`, `timeout`: the drill proved nothing
    /// either way; any other: a failure).
    #[serde(default)]
    pub failed_check: Option<CheckName>,
    /// When the cluster's last successful drill ended (from the reports kept).
    #[serde(with = "crate::when::file_time::option", default)]
    pub last_success: Option<OffsetDateTime>,
    /// A drill at the provider: the provider's name (`None`: a drill on this host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_provider: Option<String>,
    /// The copy that drill made and could not delete (its id, else its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_left: Option<String>,
    /// How long that copy lived at the provider (request to gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_lifetime_seconds: Option<f64>,
    /// The cluster's restore-time objective then, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
}

impl DrillSummary {
    /// The summary once `rep` has ended, given the cluster's summary before it: the last
    /// successful drill is `rep` if it passed, else the one `before` knew of.
    pub fn after(before: Option<&DrillSummary>, rep: &Report) -> DrillSummary {
        DrillSummary {
            at: rep.finished_at.unwrap_or(rep.started_at),
            ok: rep.ok,
            target: rep.target.clone(),
            backup: rep.backup.clone(),
            restore_seconds: rep.restore_seconds,
            recovery_seconds: rep.recovery_seconds,
            lag_seconds: rep.lag_seconds,
            problem: rep.problem(),
            failed_check: rep.checks.iter().find(|c| !c.ok).map(|c| c.name.clone()),
            at_provider: rep.at_provider.as_ref().map(|c| c.provider.clone()),
            copy_left: rep
                .at_provider
                .as_ref()
                .filter(|c| !c.deleted)
                .map(|c| c.id.clone().unwrap_or_else(|| c.name.clone())),
            copy_lifetime_seconds: rep.at_provider.as_ref().and_then(|c| c.lifetime_seconds),
            rto_seconds: rep.rto_seconds,
            last_success: match rep.ok {
                true => rep.finished_at,
                // Drills of a cluster hold its lock, so the last success ended before this
                // one started; a later one (a status file edited) is not carried.
                false => before
                    .and_then(|b| b.last_success)
                    .filter(|t| *t <= rep.started_at),
            },
        }
    }
}

/// The cluster's last drill, rebuilt from its reports on disk (each, oldest first, through
/// [`DrillSummary::after`]): for a process that was not told of the drills (a daemon just
/// started, `bridgerest status`).
pub fn summary(dir: &Path, cluster: &str) -> Option<DrillSummary> {
    load(dir, Some(cluster))
        .into_iter()
        .fold(None, |s, (_, r)| Some(DrillSummary::after(s.as_ref(), &r)))
}

/// Why a cluster's drills need attention, if they do: the last failed, or is older than
/// `drill.max_age`.
pub fn drill_problem(
    d: Option<&DrillSummary>,
    now: OffsetDateTime,
    max_age: std::time::Duration,
) -> Option<String> {
    let d = d?;
    // A drill a real restore stopped proves nothing: its age is the last successful one's.
    let preempted = d.failed_check == Some(CheckName::Preempted);
    if !d.ok && !preempted {
        return Some(format!(
            "the last drill ({}) failed: {}",
            show_time(d.at),
            // Read back from a file the drilling user could write: shown as an excerpt.
            d.problem
                .as_deref()
                .map_or_else(|| "see its report".into(), |p| crate::text::excerpt(p, 600))
        ));
    }
    let at = match preempted {
        true => d.last_success?,
        false => d.at,
    };
    let age = std::time::Duration::try_from(now - at).unwrap_or_default();
    (age > max_age).then(|| {
        format!(
            "the last drill is {} old (drill.max_age {})",
            humantime::format_duration(std::time::Duration::from_secs(age.as_secs() / 60 * 60)),
            humantime::format_duration(max_age)
        )
    })
}
