//! Who runs pgBackRest and PostgreSQL (the run-as user, the environment their processes get),
//! and the checks on the data directory before anything is touched.

use std::path::{Path, PathBuf};

use super::error::{fail, refuse};
use super::{Error, Result};

use crate::config::{ClusterConfig, Config};

pub use crate::runas::{child_env, RunAs};

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
    let text = crate::fsutil::read_small(&dir.join("postmaster.pid"), 4096)?;
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

/// The data directory (absolute), and the cluster in `cfg` (added for this run if the config
/// does not list it, which needs --pg1-path).
pub(super) fn data_dir(cfg: &mut Config, id: &str, flag: Option<&Path>) -> Result<PathBuf> {
    let configured = cfg
        .local_clusters()
        .find(|c| c.id == id)
        .map(|c| c.pg1_path.clone());
    let dir = match (flag, configured) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(c)) => c,
        (None, None) => {
            refuse!(
                "cluster {id} is not in {}: pass --pg1-path DIR, or add a [[cluster]] for it",
                cfg.path.display()
            )
        }
    };
    let dir = std::path::absolute(&dir)
        .map_err(|e| Error::Failed(format!("resolving {}: {e}", dir.display())))?;
    if let Some(why) = crate::fsutil::system_dir(&dir) {
        refuse!(
            "data directory {}: {why}; a restore would overwrite it: pass --pg1-path with a directory of its own (e.g. /var/lib/postgresql/15/restore)",
            dir.display()
        );
    }
    if !cfg.local_clusters().any(|c| c.id == id) {
        tracing::warn!(cluster = id, "not in the config: its stanza is written for this restore, but `bridgerest refresh` and the daemon will not keep it fresh; add a [[cluster]] for it");
        cfg.clusters.push(ClusterConfig {
            id: id.to_string(),
            pg1_path: dir.clone(),
            stanza: None,
            options: Default::default(),
        });
    }
    Ok(dir)
}

/// Who runs pgBackRest and PostgreSQL.
pub fn run_as(cfg: &Config, flag: Option<&str>) -> Result<RunAs> {
    let root = nix::unistd::Uid::effective().is_root();
    let user = match flag {
        Some(u) => RunAs::lookup(u).map_err(|e| Error::Refused(format!("{e:#}")))?,
        None => RunAs::default_for(cfg.pgbackrest.owner.as_deref())?,
    };
    if !root && user.uid != nix::unistd::Uid::effective() {
        refuse!(
            "--user {}: only root can run pgBackRest as another user; run bridgerest as {} instead",
            user.name,
            user.name
        );
    }
    Ok(user)
}

/// The directory `dir` is in, held open (anchored: see [`crate::fsutil::anchor`]), and the
/// name of `dir` in it.
fn anchored_parent(dir: &Path, user: &RunAs) -> Result<(crate::fsutil::Dir, String)> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            Error::Failed(format!(
                "{}: a directory needs a plain last name",
                dir.display()
            ))
        })?
        .to_string();
    let parent = crate::fsutil::Dir::open(crate::fsutil::parent(dir), user.uid, None)?;
    Ok((parent, name))
}

/// Makes `dir` (0700, for `user`) unless it is a directory already. An existing one must be
/// `user`'s (or root's) and writable by no one else: what is queued in a WAL spool is
/// replayed, so a spool someone else could fill is refused. Worked through its parent's
/// descriptor: never through a link.
pub fn ensure_dir(dir: &Path, user: &RunAs) -> Result<()> {
    let (parent, name) = anchored_parent(dir, user)?;
    match parent.stat_of(&name)? {
        None => Ok(parent.make_dir(&name, 0o700, user.owner()).map(drop)?),
        Some(st) if !crate::fsutil::anchor::is_dir(&st) => {
            fail!("{} exists and is not a directory", dir.display())
        }
        Some(st) if st.st_uid != user.uid.as_raw() && st.st_uid != 0 => fail!(
            "{} exists and belongs to uid {}, not {}: WAL queued there would be replayed; remove it, or restore elsewhere",
            dir.display(),
            st.st_uid,
            user.name
        ),
        Some(st) if st.st_mode & 0o022 != 0 => fail!(
            "{} exists and others may write it (mode {:04o}): WAL queued there would be replayed; remove it, or chmod go-w",
            dir.display(),
            st.st_mode & 0o7777
        ),
        Some(_) => Ok(()),
    }
}

/// Makes the directory `dir` (0700, given to `user` through its descriptor, in its parent
/// held open).
pub(super) fn create_dir(dir: &Path, user: &RunAs) -> Result<()> {
    let (parent, name) = anchored_parent(dir, user)?;
    Ok(parent.make_dir(&name, 0o700, user.owner()).map(drop)?)
}

/// Removes the directory `dir` and what it holds, through its parent's descriptor.
pub fn remove_dir(dir: &Path, user: &RunAs) -> Result<()> {
    let (parent, name) = anchored_parent(dir, user)?;
    Ok(parent.remove(&name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_someone_else_could_fill_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let me = RunAs::current().unwrap();
        let spool = d.path().join("restore.wal-spool");
        ensure_dir(&spool, &me).unwrap();
        ensure_dir(&spool, &me).unwrap(); // ours, 0700: kept
        std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = ensure_dir(&spool, &me).unwrap_err().to_string();
        assert!(e.contains("others may write it (mode 0777)"), "{e}");
        std::fs::remove_dir(&spool).unwrap();
        std::os::unix::fs::symlink(d.path(), &spool).unwrap();
        let e = ensure_dir(&spool, &me).unwrap_err().to_string();
        assert!(e.contains("is not a directory"), "{e}");
    }
}
