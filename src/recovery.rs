//! After a restore: start the restored PostgreSQL (as the data directory's user, in its own
//! session so it outlives bridgerest), keep the stanza's credentials fresh while it replays WAL
//! (each `archive-get` reads the config file afresh), and wait until recovery ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::fsutil::Doing;
use crate::provider::Client;
use crate::refresh;
use crate::runas::RunAs;
use crate::when::TargetAction;

/// Where PostgreSQL's programs are: `--pg-bin`, else Debian's directory for the data
/// directory's major version (`PG_VERSION`), else the `PATH`.
pub fn bin_dir(data: &Path, flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(f) = flag {
        return Some(f.to_path_buf());
    }
    // The data directory is the restoring user's: PG_VERSION is read bounded, never through
    // a link, and must be a major version number before it names a directory.
    let major = crate::fsutil::read_small(&data.join("PG_VERSION"), 64)?;
    let major = major.trim();
    if major.is_empty() || major.len() > 4 || !major.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let dir = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    dir.join("postgres").exists().then_some(dir)
}

fn program(dir: Option<&Path>, name: &str) -> PathBuf {
    dir.map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

/// The name of the log file PostgreSQL's output goes to when bridgerest starts it, in its
/// data directory.
const LOG_NAME: &str = "bridgerest-postgres.log";

/// The log file PostgreSQL's output goes to when bridgerest starts it (for messages and the
/// start command shown to the user; bridgerest itself never opens it by this path).
pub fn log_path(data: &Path) -> PathBuf {
    data.join(LOG_NAME)
}

/// How much of the end of PostgreSQL's log is read back.
const LOG_TAIL: u64 = 1 << 20;

/// PostgreSQL's log of a server bridgerest started. The data directory is the run-as user's
/// to write, so bridgerest never works in it by path: the directory is reached from `/`
/// without following a link ([`crate::fsutil::Dir`]), the log is created anew in it through
/// that handle (`O_CREAT|O_EXCL|O_NOFOLLOW`, whatever held the name moved aside, never
/// adopted), given to the user through its descriptor, and read back through the same
/// descriptor. A data directory swapped for a link to somewhere else is refused; one swapped
/// for another of the user's directories gets the log there, which is the user's own.
#[derive(Debug)]
pub struct Log {
    file: std::fs::File,
    path: PathBuf,
}

impl Log {
    /// Creates the log in `data` for `user` (see [`Log`]).
    pub fn create(data: &Path, user: &RunAs) -> Result<Log> {
        let dir = crate::fsutil::Dir::open(data, user.uid, None)?;
        let file = dir.create_fresh(LOG_NAME, 0o600, user.owner())?;
        Ok(Log {
            file,
            path: log_path(data),
        })
    }

    /// Where it is (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The end of the log (at most `LOG_TAIL` bytes), through the descriptor bridgerest
    /// created it with; empty when it cannot be read.
    pub fn tail(&self) -> String {
        use std::os::unix::fs::FileExt;
        let len = self.file.metadata().map_or(0, |m| m.len());
        let from = len.saturating_sub(LOG_TAIL);
        let mut bytes = vec![0u8; (len - from) as usize];
        let mut got = 0;
        while got < bytes.len() {
            match self.file.read_at(&mut bytes[got..], from + got as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        bytes.truncate(got);
        // archive-get's errors (pgBackRest's, with the store's URLs) land in this log.
        crate::redact::apply(&String::from_utf8_lossy(&bytes))
    }
}

/// The command a user runs to start the restored cluster by hand.
pub fn start_command(data: &Path, user: &RunAs, bin: Option<&Path>) -> Vec<String> {
    let mut argv = user.command_prefix();
    argv.extend([
        program(bin, "pg_ctl").to_string_lossy().into_owned(),
        "-D".into(),
        data.to_string_lossy().into_owned(),
        "-l".into(),
        log_path(data).to_string_lossy().into_owned(),
        "-o".into(),
        "-c archive_mode=off".into(),
        "start".into(),
    ]);
    argv
}

/// Where recovery ended, as the server said (or, shut down, its log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryEnd {
    /// Out of recovery: the server accepts writes.
    Promoted,
    /// Paused at the target, read-only.
    Paused,
    /// Stopped at the target (`--target-action shutdown`).
    ShutDown,
}

impl std::fmt::Display for RecoveryEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecoveryEnd::Promoted => "promoted",
            RecoveryEnd::Paused => "paused at the target",
            RecoveryEnd::ShutDown => "shut down at the target",
        })
    }
}

/// How recovery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub state: RecoveryEnd,
    /// The commit time of the last replayed transaction (read as an epoch: no DateStyle).
    pub replayed_to: Option<time::OffsetDateTime>,
    /// The last replayed WAL location.
    pub lsn: Option<crate::wal::Lsn>,
    /// How to reach the server, as its `postmaster.pid` said when recovery was seen to end
    /// (`None`: shut down).
    pub server: Option<Reach>,
}

/// Where a running server listens, from its `postmaster.pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub pid: u32,
    pub port: u16,
    /// The socket directory (or the listen address, where it has no socket).
    pub host: String,
}

/// Why the restored PostgreSQL did not start or did not finish its recovery. Each message is
/// whole (the cause included).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Its log file cannot be used (another user's, a FIFO, a second name of another file).
    #[error(transparent)]
    Log(#[from] crate::fsutil::Error),
    /// `postgres` could not be started or watched.
    #[error(transparent)]
    Child(#[from] crate::pgbackrest::Error),
    /// It exited before recovery ended; `tail`: the end of its log.
    #[error("PostgreSQL exited during recovery ({status}); the end of {}:\n{tail}", .log.display())]
    Exited {
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    /// It answered with an error that waiting does not change.
    #[error("asking PostgreSQL about its recovery failed: {0}")]
    Refused(String),
    /// The refresh that keeps the stanza's credentials fresh cannot run at all.
    #[error(transparent)]
    Refresh(#[from] refresh::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub struct Follow<'a> {
    pub data: &'a Path,
    pub user: &'a RunAs,
    pub bin: Option<&'a Path>,
    /// `NAME=VALUE` settings for the restored server (after `archive_mode=off`).
    pub options: &'a [String],
    pub action: TargetAction,
    pub cfg: &'a Config,
    pub client: &'a Client,
    pub cluster: &'a str,
}

/// Starts PostgreSQL on the restored data directory and follows its recovery.
pub async fn start_and_follow(f: Follow<'_>) -> Result<Recovered> {
    let (child, log) = start(&f)?;
    follow(&f, child, &log).await
}

/// Starts PostgreSQL on the restored data directory (in a session of its own: it outlives
/// bridgerest), its output going to a [`Log`] made for it.
pub fn start(f: &Follow<'_>) -> Result<(tokio::process::Child, Log)> {
    let log = Log::create(f.data, f.user)?;
    let file = log
        .file
        .try_clone()
        .doing(|| "duplicating the log file handle".into())?;
    let mut cmd = f
        .user
        .server(program(f.bin, "postgres"), file)
        .doing(|| "duplicating the log file handle".into())?;
    cmd.arg("-D").arg(f.data).args(["-c", "archive_mode=off"]);
    for o in f.options {
        cmd.arg("-c").arg(o);
    }
    let child = cmd.spawn().map_err(|err| crate::pgbackrest::Error::Spawn {
        program: program(f.bin, "postgres").display().to_string(),
        hint: ": install PostgreSQL's server package or pass --pg-bin",
        err,
    })?;
    tracing::info!(log = %log.path().display(), pid = child.id().unwrap_or(0), "PostgreSQL started; following its recovery");
    Ok((child, log))
}

/// Follows the recovery of the PostgreSQL [`start`] started until it ends.
pub async fn follow(
    f: &Follow<'_>,
    mut child: tokio::process::Child,
    log: &Log,
) -> Result<Recovered> {
    let every = (f.cfg.api.token_lifetime / 2).max(Duration::from_secs(1));
    let mut next_refresh = tokio::time::Instant::now() + every;
    let scope = refresh::Scope::cluster(f.cfg, f.cluster)?;
    loop {
        let exited = child
            .try_wait()
            .map_err(|err| crate::pgbackrest::Error::Wait {
                program: "PostgreSQL".into(),
                err,
            })?;
        if let Some(status) = exited {
            let text = log.tail();
            if f.action == TargetAction::Shutdown && text.contains("shutdown at recovery target") {
                return Ok(Recovered {
                    state: RecoveryEnd::ShutDown,
                    replayed_to: None,
                    lsn: None,
                    server: None,
                });
            }
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            return Err(Error::Exited {
                status,
                log: log.path().to_path_buf(),
                tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        if f.client.capabilities().repo_credentials && tokio::time::Instant::now() >= next_refresh {
            match refresh::run(f.cfg, Some(f.client), &scope).await {
                Ok(plan) => match plan.outcomes.iter().find_map(|o| o.error.as_ref()) {
                    None => {
                        tracing::info!(cluster = f.cluster, "credentials refreshed during recovery")
                    }
                    Some(e) => {
                        tracing::warn!(cluster = f.cluster, error = %e, "refresh during recovery failed; the last good stanza stays")
                    }
                },
                Err(e) => {
                    tracing::warn!(cluster = f.cluster, error = %format!("{e:#}"), "refresh during recovery failed")
                }
            }
            next_refresh = tokio::time::Instant::now() + every;
        }
        if let Some(r) = poll(f.data, f.user, f.bin).await {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A time PostgreSQL gave as seconds since the epoch (`extract(epoch from ...)`: microseconds
/// after the point); `None` for one out of [`crate::when::YEARS`].
pub fn epoch(text: &str) -> Option<time::OffsetDateTime> {
    let (secs, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let secs: i64 = secs.parse().ok()?;
    let mut micros = 0i64;
    for (i, c) in frac.bytes().take(6).enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        micros += i64::from(c - b'0') * 10i64.pow(5 - i as u32);
    }
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    let t = t.checked_add(time::Duration::microseconds(if secs < 0 {
        -micros
    } else {
        micros
    }))?;
    crate::when::in_range("epoch", t).ok()
}

/// Asks the server where recovery is; `Some` once it has ended (promoted or paused), or when
/// the question itself fails (not merely because the server does not accept connections yet).
async fn poll(data: &Path, user: &RunAs, bin: Option<&Path>) -> Option<Result<Recovered>> {
    let pid = crate::fsutil::read_small(&data.join("postmaster.pid"), 4096)?;
    let lines: Vec<&str> = pid.lines().collect();
    let port = lines.get(3)?.trim();
    let host = match lines.get(4).map(|s| s.trim()) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => lines.get(5)?.trim().to_string(),
    };
    // pg_get_wal_replay_pause_state() is an error once recovery has ended.
    let sql = "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END, pg_last_wal_replay_lsn(), extract(epoch from pg_last_xact_replay_timestamp())";
    let mut cmd = user.command(program(bin, "psql"));
    cmd.args([
        "-X", "-A", "-t", "-q", "-h", &host, "-p", port, "-d", "postgres", "-c", sql,
    ]);
    let out = crate::pgbackrest::child::capped_output(
        cmd,
        "psql",
        "",
        None,
        Some(Duration::from_secs(10)),
    )
    .await
    .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return refused(&err).map(|why| Err(Error::Refused(why)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.trim().split('|').collect();
    let field = |i: usize| {
        f.get(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let state = match (f.first().copied(), f.get(1).copied()) {
        (Some("f"), _) => RecoveryEnd::Promoted,
        (Some("t"), Some("paused")) => RecoveryEnd::Paused,
        _ => return None,
    };
    Some(Ok(Recovered {
        state,
        replayed_to: field(3).and_then(|e| epoch(&e)),
        lsn: field(2).and_then(|l| l.parse().ok()),
        server: lines
            .first()
            .and_then(|p| p.trim().parse().ok())
            .zip(port.parse().ok())
            .map(|(pid, port)| Reach { pid, port, host }),
    }))
}

/// Whether psql's `stderr` is an answer that waiting does not change (an `ERROR`, or a `FATAL`
/// such as a role or database that does not exist, or no `pg_hba.conf` entry): `Some(what it
/// said)`. A server that is starting up, not yet consistent, or not listening yet: `None`.
pub fn refused(stderr: &str) -> Option<String> {
    const WAIT: &[&str] = &[
        "the database system is starting up",
        "the database system is not yet accepting connections",
        // hot_standby=off: no connections until recovery ends (PostgreSQL 14+).
        "the database system is not accepting connections",
        "hot standby mode is disabled",
        "the database system is in recovery mode",
        "consistent recovery state has not been yet reached",
        "the database system is shutting down",
        "sorry, too many clients already",
        "remaining connection slots are reserved",
    ];
    let lower = stderr.to_ascii_lowercase();
    let said = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.contains("ERROR:") || l.contains("FATAL:"))?;
    if WAIT.iter().any(|w| lower.contains(w)) {
        return None;
    }
    Some(crate::text::excerpt(said, 300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// postgres where the test runs as root (as CI does), else the test's own user.
    fn user() -> RunAs {
        match nix::unistd::Uid::effective().is_root() {
            true => RunAs::lookup("postgres").expect("a postgres user"),
            false => RunAs::lookup(&std::env::var("USER").unwrap()).unwrap(),
        }
    }

    #[test]
    fn the_log_is_never_made_through_a_swapped_data_directory() {
        let d = tempfile::tempdir().unwrap();
        // A root-owned canary stands for /etc/bash_completion.d.
        let canary = d.path().join("canary");
        std::fs::create_dir(&canary).unwrap();
        let data = d.path().join("main");
        std::os::unix::fs::symlink(&canary, &data).unwrap();
        let e = Log::create(&data, &user()).unwrap_err().to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_dir(&canary).unwrap().count(), 0);
    }

    #[test]
    fn a_planted_log_is_moved_aside_never_adopted_and_the_tail_is_read_through_the_handle() {
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("main");
        std::fs::create_dir(&data).unwrap();
        let u = user();
        nix::unistd::chown(&data, Some(u.uid), Some(u.gid)).unwrap();
        // A second name of a file that is not the user's to have (as /etc/shadow would be).
        let victim = d.path().join("victim");
        std::fs::write(&victim, "secret\n").unwrap();
        std::fs::hard_link(&victim, data.join(LOG_NAME)).unwrap();
        let before = std::fs::metadata(&victim).unwrap();

        let log = Log::create(&data, &u).unwrap();
        use std::io::Write;
        (&log.file).write_all(b"LOG:  redo done\n").unwrap();
        assert_eq!(log.tail(), "LOG:  redo done\n");
        let after = std::fs::metadata(&victim).unwrap();
        assert_eq!(
            (after.uid(), after.mode(), after.len()),
            (before.uid(), before.mode(), before.len())
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
        let made = std::fs::symlink_metadata(data.join(LOG_NAME)).unwrap();
        assert!(made.is_file() && made.nlink() == 1, "{made:?}");
        assert_eq!((made.uid(), made.mode() & 0o7777), (u.uid.as_raw(), 0o600));
        assert_eq!(
            std::fs::metadata(data.join("bridgerest-postgres.log.old"))
                .unwrap()
                .ino(),
            before.ino()
        );
    }
}
