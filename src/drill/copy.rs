//! The drill's copy on disk: its scratch directory, the WAL spool beside it, and the marker
//! that says bridgerest made them. Root works here through directory descriptors
//! ([`crate::fsutil::Dir`]), and empties or stops only what a drill made:
//!
//! - The scratch directory's parent is resolved once, from `/`, without following a link,
//!   each directory on the way checked (`fsutil::anchor`).
//! - Beside the scratch directory `NAME`, the marker `.NAME.bridgerest-drill` (this process's
//!   user's file, in a directory the drilled-as user cannot make such a file in) records the
//!   scratch directory's (device, inode) and, once started, the copy's postmaster (pid and the
//!   start time `/proc/PID/stat` gives it). A scratch directory is emptied only when it is
//!   empty or the marker names it; a process is signalled only when its pid and start time
//!   are the marker's. Nothing the drilled-as user writes (`postmaster.pid`, the data
//!   directory's files) decides what root deletes or signals.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{refuse, Error, Result};
use nix::unistd::Uid;
use serde::{Deserialize, Serialize};

use crate::fsutil::{Dir, FileLock, Owner};
use crate::restore::RunAs;

/// A process as recorded: its pid and its start time (clock ticks after boot), which together
/// name one process for as long as the machine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proc {
    pub pid: i32,
    pub start: u64,
}

impl Proc {
    /// The process `pid` as it is now, if it runs (a zombie has exited).
    pub fn of(pid: i32) -> Option<Proc> {
        let stat = crate::fsutil::read_small(Path::new(&format!("/proc/{pid}/stat")), 4096)?;
        // The fields after the command name in parentheses: state is the 3rd, starttime the
        // 22nd.
        let (_, rest) = stat.rsplit_once(") ")?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.first() == Some(&"Z") {
            return None;
        }
        Some(Proc {
            pid,
            start: f.get(19)?.parse().ok()?,
        })
    }

    /// Whether this very process still runs.
    pub fn running(&self) -> bool {
        Proc::of(self.pid) == Some(*self)
    }

    /// Stops it, if it is still this process: a fast shutdown (SIGINT), then an immediate one
    /// (SIGQUIT) after 60 s, then SIGKILL.
    pub async fn stop(&self) -> Result<()> {
        use nix::sys::signal::{kill, Signal};
        let target = nix::unistd::Pid::from_raw(self.pid);
        for (sig, wait) in [
            (Signal::SIGINT, Duration::from_secs(60)),
            (Signal::SIGQUIT, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(10)),
        ] {
            if !self.running() {
                return Ok(());
            }
            let _ = kill(target, sig);
            let until = Instant::now() + wait;
            while self.running() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        match self.running() {
            true => refuse!(
                "PostgreSQL (pid {}) does not stop, even on SIGKILL",
                self.pid
            ),
            false => Ok(()),
        }
    }
}

/// What the marker holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    dev: u64,
    ino: u64,
    #[serde(default)]
    postmaster: Option<Proc>,
}

/// The largest marker read back.
const MARKER_MAX: u64 = 4096;

/// The scratch directory of one drill, as it is held.
pub struct Copy {
    root: Dir,
    name: String,
    spool: String,
    /// Where the copy's tablespaces are restored (`--tablespace-map-all`), beside it.
    tablespaces: String,
    pub path: PathBuf,
    user: RunAs,
}

impl Copy {
    /// Opens the parent of `scratch` (made for `user` when `make_root`: the default root),
    /// anchored. Nothing in it is touched yet.
    pub fn open(scratch: &Path, user: &RunAs, make_root: bool) -> Result<Copy> {
        let name = scratch
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.starts_with('.'))
            .ok_or_else(|| {
                Error::Copy(format!(
                    "drill scratch directory {}: its last component must be a plain name",
                    scratch.display()
                ))
            })?
            .to_string();
        let parent = crate::fsutil::parent(scratch);
        let root = Dir::open(parent, user.uid, make_root.then(|| user.owner())).map_err(|e| {
            Error::Copy(format!(
                "the drill's scratch directory {}: {e}",
                scratch.display()
            ))
        })?;
        Ok(Copy {
            spool: format!("{name}.wal-spool"),
            tablespaces: format!("{name}.tablespaces"),
            path: root.join(&name),
            name,
            root,
            user: user.clone(),
        })
    }

    fn marker_name(&self) -> String {
        format!(".{}.bridgerest-drill", self.name)
    }

    /// The lock that keeps two drills out of this scratch directory (`NAME.lock` beside it).
    pub fn try_lock(&self) -> Result<std::result::Result<FileLock, crate::fsutil::Holder>> {
        let name = format!("{}.lock", self.name);
        Ok(FileLock::try_acquire_in(
            &self.root,
            &name,
            self.user.owner(),
            0o600,
        )?)
    }

    /// The marker, if it is there, this process's user's (or root's), one name only, and it
    /// names the scratch directory as it is now.
    fn marker(&self, scratch: Option<&nix::sys::stat::FileStat>) -> Result<Option<Marker>> {
        let name = self.marker_name();
        let Some((bytes, st)) = self.root.read_file(&name, MARKER_MAX)? else {
            return Ok(None);
        };
        let me = Uid::effective().as_raw();
        if (st.st_uid != me && st.st_uid != 0) || st.st_nlink != 1 {
            tracing::warn!(marker = %self.root.join(&name).display(), "a drill marker that bridgerest did not write: ignored");
            return Ok(None);
        }
        let Ok(m) = serde_json::from_slice::<Marker>(&bytes) else {
            return Ok(None);
        };
        match scratch {
            Some(s) if (s.st_dev, s.st_ino) == (m.dev, m.ino) => Ok(Some(m)),
            Some(_) => Ok(None),
            // The scratch directory is gone: the marker may still name its postmaster.
            None => Ok(Some(m)),
        }
    }

    fn write_marker(&self, m: &Marker) -> Result<()> {
        let bytes = serde_json::to_vec(m)
            .map_err(|e| Error::Internal(format!("encoding the drill marker: {e}")))?;
        Ok(self
            .root
            .write_file(&self.marker_name(), &bytes, 0o644, Owner::default())?)
    }

    /// Stops the postmaster the marker records, if that very process still runs: one an
    /// earlier drill left (`earlier`: said as such), or this drill's own copy's.
    async fn stop_recorded(&self, m: &Marker, earlier: bool) -> Result<()> {
        if let Some(p) = m.postmaster {
            if p.running() {
                match earlier {
                    true => {
                        tracing::warn!(pid = p.pid, dir = %self.path.display(), "the PostgreSQL an earlier drill started there still runs; stopping it")
                    }
                    false => {
                        tracing::info!(pid = p.pid, dir = %self.path.display(), "stopping the copy's PostgreSQL")
                    }
                }
                p.stop().await?;
            }
        }
        Ok(())
    }

    /// Removes what an earlier drill left (only if the marker says a drill made it, or the
    /// scratch directory is empty), then makes the scratch directory afresh (0700, the
    /// drilled-as user's) and marks it. Returns it, held open.
    pub async fn fresh(&self) -> Result<Dir> {
        self.clear(true).await?;
        // A scratch directory that is a mount point (a file system of its own for drills) was
        // emptied and kept: it is reused, given to the user and closed to others.
        let dir = match self.root.child(&self.name)? {
            Some(d) if d.is_mount_below(&self.root) => {
                let owner = self.user.owner().applicable();
                d.chown(owner.uid, owner.gid)?;
                d.chmod(0o700)?;
                d
            }
            _ => self.root.make_dir(&self.name, 0o700, self.user.owner())?,
        };
        // The spool the restore's archive-get queues WAL in, made here so that it is never one
        // someone else made.
        self.root.make_dir(&self.spool, 0o700, self.user.owner())?;
        // The copy's tablespaces go here, not to the source's paths outside the scratch
        // directory (#29 finding 10); removed with the copy.
        self.root
            .make_dir(&self.tablespaces, 0o700, self.user.owner())?;
        self.write_marker(&Marker {
            dev: dir.stat.st_dev,
            ino: dir.stat.st_ino,
            postmaster: None,
        })?;
        Ok(dir)
    }

    /// Where the copy's tablespaces are restored: `<scratch>.tablespaces`, made with the copy.
    pub fn tablespaces_path(&self) -> PathBuf {
        self.root.join(&self.tablespaces)
    }

    /// The scratch directory, held open, if it is the one the marker names.
    pub fn held(&self) -> Result<Dir> {
        let dir = self
            .root
            .child(&self.name)?
            .ok_or_else(|| Error::Copy(format!("{} is gone", self.path.display())))?;
        match self.marker(Some(&dir.stat))? {
            Some(_) => Ok(dir),
            None => refuse!(
                "{} was replaced during the drill (it is not the directory the drill made)",
                self.path.display()
            ),
        }
    }

    /// Records the copy's postmaster, which the drill has just started.
    pub fn record_postmaster(&self, pid: u32) -> Result<()> {
        let dir = self.held()?;
        let proc = i32::try_from(pid)
            .ok()
            .and_then(Proc::of)
            .ok_or_else(|| Error::Copy("the copy's PostgreSQL exited at once".into()))?;
        self.write_marker(&Marker {
            dev: dir.stat.st_dev,
            ino: dir.stat.st_ino,
            postmaster: Some(proc),
        })
    }

    /// The postmaster recorded for this copy, if it still runs.
    pub fn postmaster(&self) -> Option<Proc> {
        let st = self.root.child(&self.name).ok()??.stat;
        self.marker(Some(&st))
            .ok()??
            .postmaster
            .filter(Proc::running)
    }

    /// Stops the copy's PostgreSQL and removes the copy, its spool and its marker.
    pub async fn remove(&self) -> Result<()> {
        self.clear(false).await
    }

    async fn clear(&self, before: bool) -> Result<()> {
        let dir = match self.root.stat_of(&self.name)? {
            None => None,
            Some(st) if crate::fsutil::anchor::is_dir(&st) => self.root.child(&self.name)?,
            Some(_) => refuse!(
                "{} is not a directory (a link or a file): a drill restores into a directory of its own; remove it or set drill.scratch",
                self.path.display()
            ),
        };
        let marker = self.marker(dir.as_ref().map(|d| &d.stat))?;
        if let Some(m) = &marker {
            self.stop_recorded(m, before).await?;
        }
        if let Some(d) = &dir {
            if marker.is_none() && !d.is_empty()? {
                refuse!(
                    "{} is not empty and no drill of bridgerest made it (there is no marker {} naming it): a drill empties only its own copies; empty it yourself, or set drill.scratch to a directory of its own",
                    self.path.display(),
                    self.root.join(&self.marker_name()).display()
                );
            }
            if let Some(pid) = crate::restore::live_postmaster(&self.path) {
                // Not recorded by a drill, so not signalled: say who it is, and stop.
                if marker.as_ref().and_then(|m| m.postmaster).map(|p| p.pid) != Some(pid)
                    && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c == self.path)
                {
                    refuse!(
                        "a PostgreSQL (pid {pid}) that no drill started runs in {}: bridgerest does not stop it; stop it yourself (pg_ctl -D {} stop)",
                        self.path.display(),
                        self.path.display()
                    );
                }
            }
            d.empty().map_err(|e| {
                Error::Copy(format!(
                    "removing the earlier copy in {}: {e}",
                    self.path.display()
                ))
            })?;
            // A mount point is emptied and kept (it cannot be removed, and is the user's
            // choice of file system for drills).
            if !d.is_mount_below(&self.root) {
                self.root.remove(&self.name)?;
            }
        }
        for (side, holds) in [
            (&self.spool, "WAL that no drill of bridgerest queued"),
            (
                &self.tablespaces,
                "tablespaces that no drill of bridgerest restored",
            ),
        ] {
            let Some(st) = self.root.stat_of(side)? else {
                continue;
            };
            if marker.is_none() && !before {
                continue;
            }
            if marker.is_none() && crate::fsutil::anchor::is_dir(&st) {
                let dir = self.root.child(side)?;
                if !dir.map(|s| s.is_empty()).transpose()?.unwrap_or(true) {
                    refuse!(
                        "{} holds {holds} (there is no marker): remove it yourself",
                        self.root.join(side).display()
                    );
                }
            }
            self.root.remove(side)?;
        }
        if marker.is_some() {
            self.root.remove(&self.marker_name())?;
        }
        Ok(())
    }
}

/// What an interrupted drill (Ctrl-C or SIGTERM during `bridgerest drill`, the daemon's round
/// abandoned on SIGTERM) leaves to clean up: its copy's PostgreSQL runs in a session of its
/// own, so it outlives the drill. Known before the drill starts, without asking the API.
#[derive(Debug, Clone)]
pub struct Leftover {
    pub(super) scratch: PathBuf,
    pub(super) user: RunAs,
}

impl Leftover {
    /// The copy a drill of `id` as `user` (the configured run-as user when `None`) makes,
    /// where its stanza is known without asking the API (the one refresh wrote).
    pub fn of(cfg: &crate::config::Config, id: &str, user: Option<&str>) -> Option<Leftover> {
        let stanza = crate::restore::workflow::written_stanza(cfg, id).ok()??;
        Some(Leftover {
            scratch: super::scratch_for(cfg, &stanza).ok()?,
            user: crate::restore::run_as(cfg, user).ok()?,
        })
    }
}

/// What the cleanup of an interrupted drill did.
#[derive(Debug)]
pub enum Cleaned {
    /// The copy's PostgreSQL is stopped and the copy removed.
    Removed(PathBuf),
    /// Stopping or removing failed: the next drill tries again.
    Failed { scratch: PathBuf, error: Error },
    /// Where the copy is was not known: the next drill cleans up its scratch directory.
    Unknown,
}

impl std::fmt::Display for Cleaned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cleaned::Removed(s) => write!(f, "the copy in {} is removed", s.display()),
            Cleaned::Failed { scratch, error } => write!(
                f,
                "cleaning up {} failed ({error:#}): the next drill tries again",
                scratch.display()
            ),
            Cleaned::Unknown => f.write_str("the next drill cleans up its scratch directory"),
        }
    }
}

/// The one cleanup of an interrupted drill, for `bridgerest drill` and the daemon alike: stops
/// the copy's PostgreSQL (the one the drill recorded, if it still runs) and removes the copy
/// and its WAL spool ([`Copy::remove`]). What it cannot do, the next drill does when it makes
/// its copy afresh ([`Copy::fresh`] clears what an earlier drill left the same way). Logged,
/// and returned for the caller to say.
pub async fn clean_up_interrupted(left: Option<Leftover>) -> Cleaned {
    let Some(Leftover { scratch, user }) = left else {
        tracing::info!("drill interrupted (the next drill cleans up its scratch directory)");
        return Cleaned::Unknown;
    };
    tracing::warn!(dir = %scratch.display(), "drill interrupted: stopping the copy and removing it");
    let removed = match Copy::open(&scratch, &user, false) {
        Ok(copy) => copy.remove().await,
        Err(e) => Err(e),
    };
    match removed {
        Ok(()) => Cleaned::Removed(scratch),
        Err(error) => {
            tracing::warn!(
                "cannot clean up {} ({error:#}): the next drill tries again",
                scratch.display()
            );
            Cleaned::Failed { scratch, error }
        }
    }
}
