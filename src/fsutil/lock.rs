//! The advisory lock on `<file>.lock` that every writer of a pgBackRest config takes: opened
//! without following a link, owned like the file it guards, waited for with a limit, and its
//! holder named from /proc/locks.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fsutil::error::{refuse, Doing, Error, Result};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::Uid;

use super::{check_regular, parent, Owner};

/// An exclusive advisory lock on `<path>.lock`, held until dropped.
pub struct FileLock {
    _lock: Flock<File>,
    pub path: PathBuf,
}

/// How often a waiting [`FileLock::acquire`] tries again, and when it first says it waits.
const LOCK_POLL: Duration = Duration::from_millis(20);
const LOCK_SAY_AFTER: Duration = Duration::from_secs(1);

impl FileLock {
    /// The lock file of `target`.
    pub fn path_for(target: &Path) -> PathBuf {
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        parent(target).join(name)
    }

    /// Takes the lock if it is free; `Err(holder)` when another process holds it. The lock file is opened as [`FileLock::acquire`] opens it.
    pub fn try_acquire(target: &Path, owner: Owner, mode: u32) -> Result<Result<FileLock, Holder>> {
        let path = Self::path_for(target);
        let file = open_lock_file(&path, owner, mode)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Ok(FileLock { _lock: lock, path })),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => Ok(Err(lock_holder(&f))),
            Err((_, e)) => Err(e).doing(|| format!("locking {}", path.display())),
        }
    }

    /// [`FileLock::try_acquire`] of the lock file `name` in the directory held open as `dir`.
    pub fn try_acquire_in(
        dir: &super::Dir,
        name: &str,
        owner: Owner,
        mode: u32,
    ) -> Result<Result<FileLock, Holder>> {
        let path = dir.join(name);
        if let Some(st) = dir.stat_of(name)? {
            if !super::anchor::is_regular(&st) {
                refuse!(
                    "{} is not a regular file (a link, a FIFO or a directory): bridgerest opens only its own lock files; remove it",
                    path.display()
                );
            }
        }
        let file = adopt_lock_file(&path, dir.open_for_lock(name, mode)?, owner, mode)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Ok(FileLock { _lock: lock, path })),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => Ok(Err(lock_holder(&f))),
            Err((_, e)) => Err(e).doing(|| format!("locking {}", path.display())),
        }
    }

    /// Takes the lock, waiting at most `timeout` for another holder (and saying who it is after
    /// a second). The lock file is opened without following a link and must be a regular file
    /// owned by root, this user or `owner`; it gets `owner` and `mode` (those of the file it
    /// guards), so a root `refresh` and a daemon running as `owner` can both open it. Dropping
    /// the future stops the wait at once (the daemon's SIGTERM).
    pub async fn acquire(
        target: &Path,
        owner: Owner,
        mode: u32,
        timeout: Duration,
    ) -> Result<FileLock> {
        let path = Self::path_for(target);
        let file = open_lock_file(&path, owner, mode)?;
        let started = tokio::time::Instant::now();
        let mut said = false;
        let mut file = file;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    if said {
                        tracing::info!(lock = %path.display(), "lock taken");
                    }
                    return Ok(FileLock { _lock: lock, path });
                }
                Err((f, nix::errno::Errno::EWOULDBLOCK)) => file = f,
                Err((_, e)) => return Err(e).doing(|| format!("locking {}", path.display())),
            }
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(Error::LockTimeout {
                    waited,
                    lock: path,
                    holder: lock_holder(&file).to_string(),
                });
            }
            if !said && waited >= LOCK_SAY_AFTER {
                tracing::warn!(lock = %path.display(), holder = %lock_holder(&file), timeout_s = timeout.as_secs(), "waiting for the lock");
                said = true;
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }
}

impl FileLock {
    /// Takes the lock on `target` from whoever holds it: a new lock file (created with
    /// `O_EXCL` through the directory reached from / without following a link, given `owner`
    /// and `mode`) is locked first and then renamed over the old one, so from that instant
    /// every new taker meets this process's lock; the old holder keeps a lock on a file that is
    /// no longer there. Only for a holder known not to be bridgerest (`restore --break-lock`).
    pub fn take_over(target: &Path, owner: Owner, mode: u32) -> Result<FileLock> {
        let path = Self::path_for(target);
        let (held, name) = lock_dir(&path, owner)?;
        let tmp = format!(".{name}.{:08x}.tmp", fastrand::u32(..));
        let file = held.create_fresh(&tmp, mode & 0o666, owner)?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| e)
            .doing(|| format!("locking a new {}", path.display()));
        let lock = match lock {
            Ok(l) => l,
            Err(e) => {
                let _ = held.remove(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = held.rename(&tmp, &name) {
            let _ = held.remove(&tmp);
            return Err(e);
        }
        Ok(FileLock { _lock: lock, path })
    }
}

/// The directory of the lock file `path` held open (reached from / without following a link;
/// a directory on the way another user could swap is refused), with the file's name.
fn lock_dir(path: &Path, owner: Owner) -> Result<(super::Dir, String)> {
    let dir = super::parent(path);
    let absolute = std::path::absolute(dir).doing(|| format!("resolving {}", dir.display()))?;
    let trust = owner.uid.unwrap_or_else(Uid::effective);
    let held = super::Dir::open(&absolute, trust, None)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| super::Error::Refused(format!("{}: not a file name", path.display())))?;
    Ok((held, name.to_string()))
}

fn open_lock_file(path: &Path, owner: Owner, mode: u32) -> Result<File> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        check_regular(path, &meta, owner)?;
    }
    // Through its directory reached from / without following a link (#29): a directory on
    // the way another user could swap is refused.
    let (held, name) = lock_dir(path, owner)?;
    let file = held.open_for_lock(&name, mode)?;
    adopt_lock_file(path, file, owner, mode)
}

/// Checks an opened lock file (a regular file of one name, owned by root, this user or
/// `owner`) and gives it `owner` and `mode`.
fn adopt_lock_file(path: &Path, file: File, owner: Owner, mode: u32) -> Result<File> {
    let meta = file
        .metadata()
        .doing(|| format!("reading lock file {}", path.display()))?;
    check_regular(path, &meta, owner)?;
    // A lock file created (or left) by root gets the guarded file's owner and mode, so the
    // daemon running as that owner can open it later.
    let owner = owner.applicable();
    let uid_differs = owner.uid.is_some_and(|u| u.as_raw() != meta.uid());
    let gid_differs = owner.gid.is_some_and(|g| g.as_raw() != meta.gid());
    if uid_differs || gid_differs {
        nix::unistd::fchown(&file, owner.uid, owner.gid)
            .doing(|| format!("setting the owner of lock file {}", path.display()))?;
    }
    if meta.uid() == Uid::effective().as_raw() && meta.mode() & 0o777 != mode & 0o666 {
        nix::sys::stat::fchmod(
            &file,
            nix::sys::stat::Mode::from_bits_truncate(mode & 0o666),
        )
        .doing(|| format!("setting the mode of lock file {}", path.display()))?;
    }
    Ok(file)
}

/// Who holds the flock on `file`, from /proc/locks: "pid N (program)", or "another process".
fn lock_holder(file: &File) -> Holder {
    let Ok(meta) = file.metadata() else {
        return Holder::Unknown;
    };
    let dev = meta.dev();
    let want = format!(
        "{:02x}:{:02x}:{}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev),
        meta.ino()
    );
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    let pid = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (a waiter's line has "->" first)
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&want.as_str()))
            .then(|| f.get(4).and_then(|p| p.parse::<u32>().ok()))
            .flatten()
    });
    match pid {
        Some(pid) => {
            // The program's name only: another process's arguments may hold its secrets.
            let program = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| crate::text::excerpt(c.trim(), 32))
                .ok()
                .filter(|c| !c.is_empty());
            Holder::Process { pid, program }
        }
        None => Holder::Unknown,
    }
}

/// Who holds a lock, as far as /proc/locks tells; shown as "pid N (program)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Process {
        pid: u32,
        program: Option<String>,
    },
    /// Held, but /proc/locks does not say by whom (another mount namespace, no /proc).
    Unknown,
}

impl Holder {
    /// Whether the holder runs this very program: its executable is this process's (the same
    /// file), or the file this process's path named before an upgrade replaced it ("`<path>
    /// (deleted)`", which only whoever can write that path could have made). `None` when that
    /// cannot be told (the holder is not named, or its executable cannot be looked at).
    pub fn is_this_program(&self) -> Option<bool> {
        let Holder::Process { pid, .. } = self else {
            return None;
        };
        let theirs = format!("/proc/{pid}/exe");
        let ours = std::fs::metadata("/proc/self/exe").ok()?;
        if let Ok(m) = std::fs::metadata(&theirs) {
            if m.dev() == ours.dev() && m.ino() == ours.ino() {
                return Some(true);
            }
        }
        let link = std::fs::read_link(&theirs).ok()?;
        let own = std::fs::read_link("/proc/self/exe").ok()?;
        let mut replaced = own.into_os_string();
        replaced.push(" (deleted)");
        Some(link.as_os_str() == replaced)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Process {
                pid,
                program: Some(p),
            } => write!(f, "pid {pid} ({p})"),
            Holder::Process { pid, program: None } => write!(f, "pid {pid}"),
            Holder::Unknown => f.write_str("another process"),
        }
    }
}
