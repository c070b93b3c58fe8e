//! Point-in-time restore: the target and the backup it needs (pure), the checks on the data
//! directory, and the `pgbackrest restore` child process (its progress, its errors, and whether
//! the store refused the credentials).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::unistd::{Gid, Uid, User};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::provider::Backup;

// --- the target ------------------------------------------------------------------------------

/// Where recovery stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A point in time (`--type=time`).
    Time(OffsetDateTime),
    /// The end of the archived WAL (`--type=default`).
    Latest,
}

/// What PostgreSQL does when it reaches the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetAction {
    /// End recovery and accept writes.
    Promote,
    /// Stay in recovery, read-only, so the state can be inspected first.
    Pause,
    /// Stop PostgreSQL.
    Shutdown,
}

impl TargetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetAction::Promote => "promote",
            TargetAction::Pause => "pause",
            TargetAction::Shutdown => "shutdown",
        }
    }
}

/// Parses a target: `latest`, RFC 3339 (`2026-11-21T09:14:00Z`), or pgBackRest's
/// `YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]` (UTC when no zone is given).
pub fn parse_target(text: &str) -> Result<Target, String> {
    if text.trim().eq_ignore_ascii_case("latest") {
        return Ok(Target::Latest);
    }
    parse_time(text).map(Target::Time)
}

/// Parses a target time (see [`parse_target`]).
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    let t = text.trim();
    let bad = || {
        format!("\"{text}\" is not a time: use RFC 3339 (2026-11-21T09:14:00Z) or \"2026-11-21 09:14:00+00\"")
    };
    if let Ok(v) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(v);
    }
    if t.len() < 19 || !t.is_char_boundary(19) {
        return Err(bad());
    }
    let (head, mut rest) = t.split_at(19);
    let head = head.replacen('T', " ", 1);
    let dt = PrimitiveDateTime::parse(
        &head,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .map_err(|_| bad())?;
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || digits.len() > 9 {
            return Err(bad());
        }
        nanos = format!("{digits:0<9}").parse().map_err(|_| bad())?;
        rest = &frac[digits.len()..];
    }
    let offset = parse_offset(rest.trim()).ok_or_else(bad)?;
    dt.replace_nanosecond(nanos)
        .map(|d| d.assume_offset(offset))
        .map_err(|_| bad())
}

/// `""`/`Z` (UTC), `+HH`, `+HHMM`, `+HH:MM` and the same with `-`.
fn parse_offset(s: &str) -> Option<UtcOffset> {
    if s.is_empty() || s == "Z" || s == "z" {
        return Some(UtcOffset::UTC);
    }
    let sign: i8 = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let h: i8 = digits[..2].parse().ok()?;
    let m: i8 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// The target as pgBackRest's `--target` wants it, in UTC: `2026-11-21 09:14:00.5+00`.
pub fn pgbackrest_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.microsecond() {
        0 => format!("{base}+00"),
        us => format!("{base}.{us:06}+00"),
    }
}

/// A time for people: RFC 3339 in UTC, whole seconds.
pub fn show_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The pgBackRest backup label in a backup's name (`2020/20200913-195337F` → `20200913-195337F`).
pub fn set_label(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Which backup pgBackRest restores, after checking the API's choice against the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetChoice {
    /// `--set LABEL`: the API's backup is in the repository and stopped before the target, or
    /// the user named it.
    Set(String),
    /// No `--set`: pgBackRest picks (`why` the API's backup was not used; `pick` is what the
    /// repository's own list says pgBackRest will use).
    Own { why: String, pick: String },
}

/// Checks `label` (the API's choice, or the user's `--set` when `user_set`) against the
/// repository's backups (`repo`, oldest first). Bridge's backup names are `YYYY/<label>`: that
/// the part after `/` is pgBackRest's label is an inference, so the repository decides.
pub fn reconcile(
    label: &str,
    user_set: bool,
    target: Target,
    repo: &[crate::pgbackrest::RepoBackup],
) -> Result<SetChoice, String> {
    let before = |stop: i64| match target {
        Target::Latest => true,
        Target::Time(t) => stop < t.unix_timestamp(),
    };
    let found = repo.iter().find(|b| b.label == label);
    if user_set {
        return match found {
            Some(_) => Ok(SetChoice::Set(label.to_string())),
            None => Err(format!(
                "--set {label}: no such backup in the repository; it has {}",
                repo.iter()
                    .map(|b| b.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    let why = match found {
        Some(b) if before(b.stop) => return Ok(SetChoice::Set(label.to_string())),
        Some(b) => format!(
            "the API's backup {label} stopped at {} in the repository, not before the target",
            show_time(
                OffsetDateTime::from_unix_timestamp(b.stop).unwrap_or(OffsetDateTime::UNIX_EPOCH)
            )
        ),
        None => format!("the API's backup {label} is not in the repository"),
    };
    match repo.iter().rev().find(|b| before(b.stop)) {
        Some(b) => Ok(SetChoice::Own {
            why,
            pick: format!(
                "{} (stopped {})",
                b.label,
                show_time(OffsetDateTime::from_unix_timestamp(b.stop).unwrap_or(OffsetDateTime::UNIX_EPOCH))
            ),
        }),
        None => Err(format!(
            "{why}, and no backup in the repository stopped before the target: pgBackRest would fail with error 75; choose a later target"
        )),
    }
}

/// Why a target cannot be restored. Each names the valid window.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("cluster {cluster} has no finished backup yet: there is nothing to restore from")]
    NoBackups { cluster: String },
    #[error("target {target} is before {start}, the earliest time the cluster can be restored to (its oldest backup is from {oldest}): choose a time from {start} to now ({now})")]
    BeforeOldest {
        target: String,
        oldest: String,
        start: String,
        now: String,
    },
    #[error("target {target} is in the future: choose a time from {start} to now ({now})")]
    InFuture {
        target: String,
        start: String,
        now: String,
    },
    #[error("no backup finished before target {target} (the first, {first}, finished at {finished}; pgBackRest needs one that finished in an earlier second): choose a time from {start} to now ({now})")]
    BeforeFirstFinished {
        target: String,
        first: String,
        finished: String,
        start: String,
        now: String,
    },
}

/// The earliest restorable instant: a second after the first backup's stop second (pgBackRest
/// compares whole seconds), and not before `oldest_backup_at`.
pub fn window_start(oldest: OffsetDateTime, first_stop: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(first_stop.unix_timestamp() + 1)
        .map(|s| s.max(oldest))
        .unwrap_or(oldest)
}

/// Picks the backup to restore: for a time, the newest that finished in a second before the
/// target's (pgBackRest compares whole seconds and wants a stop time strictly before the
/// target), after checking the target lies between `oldest_backup_at` and `now`; for `latest`,
/// the newest.
pub fn choose<'a>(
    cluster: &str,
    target: Target,
    oldest_backup_at: Option<OffsetDateTime>,
    backups: &'a [Backup],
    now: OffsetDateTime,
) -> Result<&'a Backup, TargetError> {
    // A backup still running (no finished_at) cannot be restored from.
    let mut finished: Vec<(OffsetDateTime, &Backup)> = backups
        .iter()
        .filter_map(|b| Some((b.finished_at?, b)))
        .collect();
    finished.sort_by_key(|(at, _)| *at);
    let no_backups = || TargetError::NoBackups {
        cluster: cluster.to_string(),
    };
    let (Some(oldest), Some(&(first_at, first))) = (oldest_backup_at, finished.first()) else {
        return Err(no_backups());
    };
    let start = window_start(oldest, first_at);
    let (start_s, now_s) = (show_time(start), show_time(now));
    let t = match target {
        Target::Latest => return finished.last().map(|(_, b)| *b).ok_or_else(no_backups),
        Target::Time(t) => t,
    };
    let target_s = pgbackrest_time(t);
    if t < oldest {
        return Err(TargetError::BeforeOldest {
            target: target_s,
            oldest: show_time(oldest),
            start: start_s,
            now: now_s,
        });
    }
    if t > now {
        return Err(TargetError::InFuture {
            target: target_s,
            start: start_s,
            now: now_s,
        });
    }
    finished
        .iter()
        .rev()
        .find(|(at, _)| at.unix_timestamp() < t.unix_timestamp())
        .map(|(_, b)| *b)
        .ok_or_else(|| TargetError::BeforeFirstFinished {
            target: target_s,
            first: crate::provider::excerpt(&first.name, 80),
            finished: show_time(first_at),
            start: start_s,
            now: now_s,
        })
}

// --- who runs pgBackRest, and the data directory -----------------------------------------------

/// The environment of every program bridgerest starts (pgBackRest, PostgreSQL, psql): a fixed
/// PATH, the user's HOME/USER/LOGNAME, the locale, TZ and TERM, and `PGBACKREST_*` (options the
/// operator set for pgBackRest on purpose). Nothing else of bridgerest's: not
/// `BRIDGEREST_API_KEY`, not `CREDENTIALS_DIRECTORY`, not `NOTIFY_SOCKET`. PostgreSQL started by
/// `--start` outlives bridgerest and hands its environment to every `archive-get`.
pub fn child_env(user: Option<&RunAs>) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = vec![(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    )];
    if let Some(u) = user {
        env.push(("HOME".into(), u.home.clone().into_os_string()));
        env.push(("USER".into(), u.name.clone().into()));
        env.push(("LOGNAME".into(), u.name.clone().into()));
    }
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        let keep = matches!(name.as_ref(), "LANG" | "LANGUAGE" | "TZ" | "TERM")
            || name.starts_with("LC_")
            || name.starts_with("PGBACKREST_");
        if keep {
            env.push((k, v));
        }
    }
    env
}

/// The user pgBackRest and PostgreSQL run as.
#[derive(Debug, Clone)]
pub struct RunAs {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
    pub home: PathBuf,
}

impl RunAs {
    pub fn lookup(name: &str) -> Result<RunAs> {
        let user = User::from_name(name)
            .with_context(|| format!("looking up user {name}"))?
            .with_context(|| format!("no user named {name} on this host: pass --user with the user that owns PostgreSQL's files (usually postgres)"))?;
        let cname = std::ffi::CString::new(name).context("user name with a NUL byte")?;
        let groups = nix::unistd::getgrouplist(&cname, user.gid)
            .with_context(|| format!("reading the groups of {name}"))?;
        Ok(RunAs {
            name: name.to_string(),
            uid: user.uid,
            gid: user.gid,
            groups,
            home: user.dir,
        })
    }

    /// The user this process runs as.
    pub fn current() -> Result<RunAs> {
        let uid = Uid::effective();
        let user = User::from_uid(uid)
            .context("looking up the current user")?
            .with_context(|| format!("uid {uid} has no passwd entry"))?;
        RunAs::lookup(&user.name)
    }

    /// Makes `cmd` run as this user (from root: groups, gid, uid, set in the child before
    /// exec), and with `new_session` in a session of its own (so it outlives bridgerest), with
    /// [`child_env`] for its environment, not bridgerest's.
    pub fn apply(&self, cmd: &mut tokio::process::Command, new_session: bool) {
        cmd.env_clear().envs(child_env(Some(self)));
        let switch = Uid::effective() != self.uid;
        if !switch && !new_session {
            return;
        }
        let (uid, gid, groups) = (self.uid, self.gid, self.groups.clone());
        if switch {
            cmd.current_dir("/");
        }
        // SAFETY: only async-signal-safe system calls run between fork and exec; the group
        // list was built before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if new_session {
                    nix::unistd::setsid()?;
                }
                if switch {
                    nix::unistd::setgroups(&groups)?;
                    nix::unistd::setgid(gid)?;
                    nix::unistd::setuid(uid)?;
                }
                Ok(())
            });
        }
    }

    /// Whether this user may do `bits` (0o2 write, 0o1 search) on a file with `meta`.
    fn may(&self, meta: &std::fs::Metadata, bits: u32) -> bool {
        if self.uid.is_root() {
            return true;
        }
        let mode = meta.mode();
        let shift = if meta.uid() == self.uid.as_raw() {
            6
        } else if meta.gid() == self.gid.as_raw()
            || self.groups.iter().any(|g| g.as_raw() == meta.gid())
        {
            3
        } else {
            0
        };
        mode & (bits << shift) == bits << shift
    }
}

/// The data directory before the restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirState {
    Missing,
    Empty,
    NonEmpty(usize),
}

impl std::fmt::Display for DirState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirState::Missing => write!(f, "does not exist; will be created"),
            DirState::Empty => write!(f, "empty"),
            DirState::NonEmpty(n) => write!(f, "{n} entries; restored over with --delta/--force"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("PostgreSQL is running in {path} (postmaster.pid names live process {pid}): stop it first (pg_ctl -D {path} stop) or restore into another directory")]
    Running { path: String, pid: i32 },
    #[error("{path} is not empty ({entries} entries): pass --delta to restore over it (files that match the backup are kept), --force to overwrite it, or choose an empty directory")]
    NotEmpty { path: String, entries: usize },
    #[error("{user} cannot {what} {path}, so pgBackRest (run as {user}) could not restore into it: {fix}")]
    Denied {
        user: String,
        what: &'static str,
        path: String,
        fix: String,
    },
    #[error("{path} exists and is not a directory: choose a directory for --pg1-path")]
    NotADir { path: String },
    #[error("{path} does not exist: create it, or choose another --pg1-path")]
    NoParent { path: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The process a `postmaster.pid` names, if it is alive.
pub fn live_postmaster(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    if pid <= 0 {
        return None;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => Some(pid),
        Err(_) => None,
    }
}

/// Refuses, before anything is touched, a data directory pgBackRest must not or cannot restore
/// into: PostgreSQL running in it, not empty without `overwrite`, not writable by `user`.
pub fn check_data_dir(path: &Path, user: &RunAs, overwrite: bool) -> Result<DirState, DirError> {
    let shown = path.display().to_string();
    let io = |source| DirError::Io {
        path: shown.clone(),
        source,
    };
    let denied = |what: &'static str, at: &Path| DirError::Denied {
        user: user.name.clone(),
        what,
        path: at.display().to_string(),
        fix: format!(
            "give {} access (chown {} {}), or choose a directory it can write",
            user.name,
            user.name,
            at.display()
        ),
    };
    // Every ancestor must be searchable by the user.
    let mut ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
    ancestors.reverse();
    for a in ancestors {
        match std::fs::metadata(a) {
            Ok(m) if !user.may(&m, 0o1) => return Err(denied("enter", a)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DirError::NoParent {
                    path: a.display().to_string(),
                })
            }
            Err(e) => return Err(io(e)),
        }
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirState::Missing),
        Err(e) => return Err(io(e)),
    };
    if !meta.is_dir() {
        return Err(DirError::NotADir { path: shown });
    }
    if let Some(pid) = live_postmaster(path) {
        return Err(DirError::Running { path: shown, pid });
    }
    if !user.may(&meta, 0o3) {
        return Err(denied("write", path));
    }
    let entries = std::fs::read_dir(path).map_err(io)?.count();
    match entries {
        0 => Ok(DirState::Empty),
        n if overwrite => Ok(DirState::NonEmpty(n)),
        n => Err(DirError::NotEmpty {
            path: shown,
            entries: n,
        }),
    }
}

// --- the pgbackrest command -------------------------------------------------------------------

/// Everything the `pgbackrest restore` command line is made of.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub bin: PathBuf,
    /// `--config` / `--config-include-path`, when the config sets them (else pgBackRest's own).
    pub main_config: Option<PathBuf>,
    pub include_path: Option<PathBuf>,
    pub stanza: String,
    pub pg1_path: PathBuf,
    /// `--set`: the backup to restore; `None` lets pgBackRest choose.
    pub set: Option<String>,
    pub target: Target,
    pub action: TargetAction,
    pub process_max: usize,
    pub delta: bool,
    pub force: bool,
}

impl Invocation {
    /// `pgbackrest info --output=json` for the same stanza and config files.
    pub fn info_argv(&self) -> Vec<String> {
        let mut a = vec![self.bin.to_string_lossy().into_owned()];
        if let Some(c) = &self.main_config {
            a.push(format!("--config={}", c.display()));
        }
        if let Some(i) = &self.include_path {
            a.push(format!("--config-include-path={}", i.display()));
        }
        a.extend([
            format!("--stanza={}", self.stanza),
            "--output=json".into(),
            "info".into(),
        ]);
        a
    }

    /// `pgbackrest archive-get SEGMENT DEST` for the same stanza and config files.
    pub fn archive_get_argv(&self, segment: &str, dest: &Path) -> Vec<String> {
        let mut a = self.info_argv();
        a.truncate(a.len() - 2); // without --output=json info
        a.extend([
            "archive-get".into(),
            segment.to_string(),
            dest.to_string_lossy().into_owned(),
        ]);
        a
    }

    /// The argument vector (no secrets: those stay in the config file).
    pub fn argv(&self) -> Vec<String> {
        let mut a = vec![self.bin.to_string_lossy().into_owned()];
        if let Some(c) = &self.main_config {
            a.push(format!("--config={}", c.display()));
        }
        if let Some(i) = &self.include_path {
            a.push(format!("--config-include-path={}", i.display()));
        }
        a.extend([
            format!("--stanza={}", self.stanza),
            format!("--pg1-path={}", self.pg1_path.display()),
        ]);
        if let Some(set) = &self.set {
            a.push(format!("--set={set}"));
        }
        match self.target {
            Target::Time(t) => {
                a.push("--type=time".into());
                a.push(format!("--target={}", pgbackrest_time(t)));
                a.push(format!("--target-action={}", self.action.as_str()));
            }
            Target::Latest => {
                a.push("--type=default".into());
                // PostgreSQL's default at the end of WAL is to promote; other actions apply to
                // a target only, so pgBackRest takes them with --type=default too (2.45 refuses
                // --target-action there).
            }
        }
        a.push(format!("--process-max={}", self.process_max));
        a.push("--log-level-console=detail".into());
        if self.delta {
            a.push("--delta".into());
        }
        if self.force {
            a.push("--force".into());
        }
        a.push("restore".into());
        a
    }

    /// The command line as a user would type it (shell-quoted where needed).
    pub fn shown(&self) -> String {
        shell_line(&self.argv())
    }
}

/// Joins arguments for display, quoting those a shell would split.
pub fn shell_line(argv: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-/.,:=+@%".contains(c);
    argv.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(plain) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What in pgBackRest's output says the object store refused the credentials: the store's error
/// codes (most telling first), then the HTTP statuses pgBackRest reports them with.
const REFUSALS: &[&str] = &[
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "AccessDenied",
    "SignatureDoesNotMatch",
    "AuthorizationFailure",
    "AuthenticationFailed",
    "AuthorizationPermissionMismatch",
    "failed with 401",
    "failed with 403",
    "failed with 400",
];

/// Whether a refusal is only an HTTP status (a store's error code says more).
fn is_status(refusal: &str) -> bool {
    refusal.starts_with("failed with")
}

/// The refusal a line of pgBackRest output reports, if any.
pub fn refusal(line: &str) -> Option<&'static str> {
    let lower = line.to_ascii_lowercase();
    REFUSALS
        .iter()
        .find(|r| lower.contains(&r.to_ascii_lowercase()))
        .copied()
}

/// The running percentage in a `restore file ... (8KB, 45.12%)` detail line.
pub fn progress_percent(line: &str) -> Option<f64> {
    if !line.contains("restore file ") {
        return None;
    }
    let end = line.find("%)")?;
    let start = line[..end].rfind([' ', '('])? + 1;
    line[start..end].parse().ok()
}

/// pgBackRest's error code in an `ERROR: [075]: ...` line.
pub fn error_code(line: &str) -> Option<u32> {
    let rest = &line[line.find("ERROR: [")? + 8..];
    rest[..rest.find(']')?].parse().ok()
}

/// Hides credentials that may appear in pgBackRest's output (an Azure SAS `sig=`, or any value
/// the caller knows to be secret).
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        let encoded: Vec<String> = secrets
            .iter()
            .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
            .collect();
        secrets.extend(encoded);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn apply(&self, line: &str) -> String {
        let mut out = line.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), crate::render::REDACTED);
            }
        }
        if let Some(i) = out.find("sig=") {
            let end = out[i + 4..]
                .find(|c: char| c == '&' || c.is_whitespace())
                .map_or(out.len(), |e| i + 4 + e);
            out.replace_range(i + 4..end, crate::render::REDACTED);
        }
        out
    }
}

/// How progress is shown: a bar on a terminal, a log line now and then otherwise.
pub enum Progress {
    Bar(indicatif::ProgressBar),
    Log {
        last: Option<Instant>,
        every: Duration,
        /// 100% has been logged (this run).
        done: bool,
    },
}

impl Progress {
    pub fn new(terminal: bool) -> Progress {
        if terminal {
            let bar = indicatif::ProgressBar::new(10_000);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "restore [{bar:40}] {percent:>3}% {elapsed_precise} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            Progress::Bar(bar)
        } else {
            Progress::Log {
                last: None,
                every: Duration::from_secs(5),
                done: false,
            }
        }
    }

    fn update(&mut self, pct: f64) {
        match self {
            Progress::Bar(b) => b.set_position((pct * 100.0) as u64),
            Progress::Log { last, every, done } => {
                let finished = pct >= 100.0;
                if !*done && (finished || last.is_none_or(|l| l.elapsed() >= *every)) {
                    tracing::info!("restore {pct:.1}% done");
                    *last = Some(Instant::now());
                    *done = finished;
                }
            }
        }
    }

    fn message(&self, line: &str) {
        match self {
            Progress::Bar(b) => b.println(line),
            Progress::Log { .. } => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

/// How one `pgbackrest restore` run ended.
#[derive(Debug, Default)]
pub struct RunResult {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// The first refusal of the credentials seen in its output.
    pub refusal: Option<&'static str>,
    /// Its `ERROR:` lines, redacted.
    pub errors: Vec<String>,
    /// The last progress percentage it reported.
    pub percent: f64,
}

impl RunResult {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// One line for the user: pgBackRest's error (with its code), or the exit status.
    pub fn describe(&self) -> String {
        let status = match self.code {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".into(),
        };
        match self.errors.first() {
            Some(e) => format!("{status}: {}", e.trim()),
            None => status,
        }
    }
}

/// The repository's own list of the stanza's backups and WAL (`pgbackrest info` as `user`).
pub async fn repo_info(inv: &Invocation, user: &RunAs) -> Result<crate::pgbackrest::RepoInfo> {
    let argv = inv.info_argv();
    let (bin, args) = argv.split_first().context("empty pgbackrest command")?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    user.apply(&mut cmd, false);
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .context("pgbackrest info took over 2 minutes")?
        .with_context(|| format!("cannot run {bin}"))?;
    if !out.status.success() {
        bail!(
            "pgbackrest info failed ({}): {}",
            out.status,
            crate::provider::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 300)
        );
    }
    crate::pgbackrest::parse_info(&String::from_utf8_lossy(&out.stdout), &inv.stanza)
}

/// Runs `argv` (never through a shell) as `user`, shows its progress, forwards its warnings and
/// errors (redacted), and reports how it ended.
pub async fn run_pgbackrest(
    argv: &[String],
    user: &RunAs,
    progress: &mut Progress,
    redactor: &Redactor,
) -> Result<RunResult> {
    let (bin, args) = argv.split_first().context("empty pgbackrest command")?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    user.apply(&mut cmd, false);
    let mut child = cmd.spawn().with_context(|| {
        format!(
            "cannot run {bin}: install pgBackRest (apt-get install pgbackrest) or set pgbackrest.bin"
        )
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_lines(BufReader::new(out), tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_lines(BufReader::new(err), tx.clone()));
    }
    drop(tx);
    if let Progress::Log { done, .. } = progress {
        *done = false;
    }
    let mut res = RunResult::default();
    while let Some(line) = rx.recv().await {
        if let Some(p) = progress_percent(&line) {
            res.percent = p;
            progress.update(p);
            continue;
        }
        // Keep the store's error code over the bare HTTP status that precedes it.
        if res.refusal.is_none_or(is_status) {
            if let Some(r) = refusal(&line) {
                if res.refusal.is_none() || !is_status(r) {
                    res.refusal = Some(r);
                }
            }
        }
        let shown = redactor.apply(&line);
        if line.contains("ERROR:") {
            res.errors.push(shown.clone());
            progress.message(&format!("pgbackrest: {}", shown.trim()));
        } else if line.contains("WARN:") {
            progress.message(&format!("pgbackrest: {}", shown.trim()));
        } else {
            tracing::debug!("pgbackrest: {}", shown.trim());
        }
    }
    let status = child.wait().await.context("waiting for pgbackrest")?;
    res.code = status.code();
    Ok(res)
}

async fn forward_lines<R: tokio::io::AsyncBufRead + Unpin>(
    reader: R,
    tx: tokio::sync::mpsc::Sender<String>,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_decides_which_backup_is_restored() {
        use crate::pgbackrest::RepoBackup;
        let repo = [
            RepoBackup {
                label: "20261120-010000F".into(),
                stop: 1_763_600_500,
            },
            RepoBackup {
                label: "20261121-010000F".into(),
                stop: 1_763_686_900,
            },
        ];
        let t = Target::Time(OffsetDateTime::from_unix_timestamp(1_763_690_000).unwrap());
        assert_eq!(
            reconcile("20261121-010000F", false, t, &repo),
            Ok(SetChoice::Set("20261121-010000F".into()))
        );
        // A name that matches no label: pgBackRest's own choice, named from its list.
        match reconcile("20990101-000000F", false, t, &repo) {
            Ok(SetChoice::Own { why, pick }) => {
                assert!(why.contains("is not in the repository"), "{why}");
                assert!(pick.starts_with("20261121-010000F (stopped "), "{pick}");
            }
            other => panic!("{other:?}"),
        }
        // In the repository but stopped after the target (the API's times disagree).
        let early = Target::Time(OffsetDateTime::from_unix_timestamp(1_763_686_900).unwrap());
        match reconcile("20261121-010000F", false, early, &repo) {
            Ok(SetChoice::Own { why, pick }) => {
                assert!(why.contains("not before the target"), "{why}");
                assert!(pick.starts_with("20261120-010000F"), "{pick}");
            }
            other => panic!("{other:?}"),
        }
        // The user's --set must exist; nothing before the target is an error 75 ahead.
        assert!(reconcile("nope", true, t, &repo)
            .unwrap_err()
            .contains("no such backup"));
        let before_all = Target::Time(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        assert!(reconcile("x", false, before_all, &repo)
            .unwrap_err()
            .contains("error 75"));
    }
    use time::macros::datetime;

    fn backup(name: &str, started: OffsetDateTime, finished: OffsetDateTime) -> Backup {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "started_at": started.format(&Rfc3339).unwrap(),
            "finished_at": finished.format(&Rfc3339).unwrap(),
            "size_bytes": 1000,
        }))
        .unwrap()
    }

    #[test]
    fn target_formats() {
        let want = datetime!(2026-11-21 09:14:00 UTC);
        for text in [
            "2026-11-21T09:14:00Z",
            "2026-11-21T10:14:00+01:00",
            "2026-11-21 09:14:00",
            "2026-11-21 09:14:00+00",
            "2026-11-21 04:14:00-05",
            "2026-11-21 14:44:00+0530",
            "2026-11-21 14:44:00+05:30",
        ] {
            assert_eq!(parse_time(text), Ok(want), "{text}");
        }
        assert_eq!(
            parse_time("2026-11-21 09:14:00.25+00").map(pgbackrest_time),
            Ok("2026-11-21 09:14:00.250000+00".to_string())
        );
        assert_eq!(pgbackrest_time(want), "2026-11-21 09:14:00+00");
        assert_eq!(parse_target("latest"), Ok(Target::Latest));
        for bad in [
            "yesterday",
            "2026-11-21",
            "2026-13-01 00:00:00",
            "2026-11-21 09:14:00 CET",
            "2026-11-21 09:14:00+5",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn choose_checks_the_window_and_the_whole_second_rule() {
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let b = vec![
            backup(
                "20261121-010000F",
                datetime!(2026-11-21 01:00:00 UTC),
                datetime!(2026-11-21 01:05:13.4 UTC),
            ),
            backup(
                "2026/20261120-010000F",
                datetime!(2026-11-20 01:00:00 UTC),
                datetime!(2026-11-20 01:04:00 UTC),
            ),
        ];
        let oldest = Some(datetime!(2026-11-20 01:00:00 UTC));
        let pick = |t| choose("c", Target::Time(t), oldest, &b, now).map(|b| b.name.as_str());
        assert_eq!(
            pick(datetime!(2026-11-21 09:14:00 UTC)),
            Ok("20261121-010000F")
        );
        assert_eq!(
            pick(datetime!(2026-11-21 01:05:14 UTC)),
            Ok("20261121-010000F")
        );
        // In the backup's own last second: pgBackRest would not take it; the one before is used.
        assert_eq!(
            pick(datetime!(2026-11-21 01:05:13.9 UTC)),
            Ok("2026/20261120-010000F")
        );
        assert_eq!(set_label("2026/20261120-010000F"), "20261120-010000F");
        let e = pick(datetime!(2026-11-19 00:00:00 UTC)).unwrap_err();
        assert!(matches!(e, TargetError::BeforeOldest { .. }));
        assert!(
            e.to_string()
                .contains("choose a time from 2026-11-20T01:04:01Z to now (2026-11-22T12:00:00Z)"),
            "{e}"
        );
        let e = pick(datetime!(2026-11-22 12:00:01 UTC)).unwrap_err();
        assert!(matches!(e, TargetError::InFuture { .. }), "{e}");
        let e = pick(datetime!(2026-11-20 01:02:00 UTC)).unwrap_err();
        assert!(
            e.to_string()
                .contains("the first, 2026/20261120-010000F, finished at 2026-11-20T01:04:00Z"),
            "{e}"
        );
        assert_eq!(
            choose("c", Target::Latest, oldest, &b, now).map(|b| b.name.as_str()),
            Ok("20261121-010000F")
        );
        assert!(matches!(
            choose("c", Target::Latest, None, &[], now),
            Err(TargetError::NoBackups { .. })
        ));
    }

    #[test]
    fn reads_pgbackrest_output() {
        assert_eq!(
            progress_percent(
                "P01 DETAIL: restore file /r/base/5/1249 (440KB, 12.34%) checksum 0d2f5c"
            ),
            Some(12.34)
        );
        assert_eq!(
            progress_percent(
                "P00 DETAIL: restore file /r/global/pg_control (8KB, 100.00%) checksum a"
            ),
            Some(100.0)
        );
        assert_eq!(
            progress_percent("P00 INFO: restore size = 22.2MB, file total = 970"),
            None
        );
        assert_eq!(
            error_code("P00  ERROR: [075]: unable to find backup set with stop time less than '2026-11-21 09:14:00+00'"),
            Some(75)
        );
        for line in [
            "P00   WARN: repo1: [FileReadError] HTTP request failed with 403 (Forbidden):",
            "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>",
            "P01  ERROR: [039]: HTTP request failed with 400 (Bad Request):",
            "<Code>AuthorizationFailure</Code>",
        ] {
            assert!(refusal(line).is_some(), "{line}");
        }
        assert_eq!(
            refusal("P00  ERROR: [040]: unable to restore to path '/x' because it contains files"),
            None
        );
    }

    #[test]
    fn redacts_known_secrets_and_sas_signatures() {
        let r = Redactor::new(["s3cr/et+key".to_string()]);
        assert_eq!(
            r.apply("key s3cr/et+key and s3cr%2Fet%2Bkey"),
            "key [redacted] and [redacted]"
        );
        assert_eq!(
            r.apply("/c/x?sv=2018-11-09&sig=abc%2Fdef&se=2026"),
            "/c/x?sv=2018-11-09&sig=[redacted]&se=2026"
        );
    }

    #[test]
    fn command_line_has_the_set_and_no_shell() {
        let inv = Invocation {
            bin: "/usr/bin/pgbackrest".into(),
            main_config: Some("/etc/pgbackrest/pgbackrest.conf".into()),
            include_path: Some("/etc/pgbackrest/conf.d".into()),
            stanza: "main".into(),
            pg1_path: "/var/lib/postgresql/15/restore".into(),
            set: Some("20261121-010000F".into()),
            target: Target::Time(datetime!(2026-11-21 09:14:00 UTC)),
            action: TargetAction::Promote,
            process_max: 2,
            delta: true,
            force: false,
        };
        assert_eq!(inv.shown(), "/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=main --pg1-path=/var/lib/postgresql/15/restore --set=20261121-010000F --type=time '--target=2026-11-21 09:14:00+00' --target-action=promote --process-max=2 --log-level-console=detail --delta restore");
        assert_eq!(inv.argv()[7], "--target=2026-11-21 09:14:00+00");
    }
}
