//! File-system helpers for a process that runs as root in directories other users may write:
//! atomic writes with mode and owner set before the rename, reads that never follow a symlink
//! or open a device, and the advisory lock that keeps two writers from interleaving.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::unistd::{Gid, Group, Uid, User};

/// The largest file bridgerest reads back before replacing it (a pgbackrest.conf is kilobytes).
pub const MAX_READ: u64 = 16 << 20;

/// Who should own a written file (`None`: leave as the writing process makes it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<Uid>,
    pub gid: Option<Gid>,
}

impl Owner {
    /// Looks up user and group names (or numeric ids).
    pub fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Owner> {
        let uid = user
            .map(|u| match u.parse::<u32>() {
                Ok(n) => Ok(Uid::from_raw(n)),
                Err(_) => User::from_name(u)
                    .with_context(|| format!("looking up user {u}"))?
                    .map(|u| u.uid)
                    .with_context(|| format!("pgbackrest.owner: no user named \"{u}\" on this host; create it or change the owner")),
            })
            .transpose()?;
        let gid = group
            .map(|g| match g.parse::<u32>() {
                Ok(n) => Ok(Gid::from_raw(n)),
                Err(_) => Group::from_name(g)
                    .with_context(|| format!("looking up group {g}"))?
                    .map(|g| g.gid)
                    .with_context(|| format!("pgbackrest.group: no group named \"{g}\" on this host; create it or change the group")),
            })
            .transpose()?;
        Ok(Owner { uid, gid })
    }

    /// Whether a file owned by `uid` may be read back and replaced: root's, this process's user's,
    /// or the configured owner's. Anyone else's file may hold what that user wants root to trust.
    pub fn trusts(&self, uid: u32) -> bool {
        uid == 0 || uid == Uid::effective().as_raw() || self.uid.is_some_and(|u| u.as_raw() == uid)
    }

    /// The owner as the caller may apply it: a process that is not root cannot give files away,
    /// so for it `None`/its own ids are the same.
    pub fn applicable(self) -> Owner {
        if Uid::effective().is_root() {
            self
        } else {
            Owner::default()
        }
    }
}

fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| format!("{} (uid {uid})", u.name))
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device node"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks that `meta` (from `lstat` or `fstat`) is a regular file that `owner` trusts.
fn check_regular(path: &Path, meta: &std::fs::Metadata, owner: Owner) -> Result<()> {
    let ft = meta.file_type();
    if !ft.is_file() {
        bail!(
            "{} is {}: bridgerest reads and replaces only regular files (it never follows a link); remove it, or point the config at another path",
            path.display(),
            kind_of(ft)
        );
    }
    if !owner.trusts(meta.uid()) {
        bail!(
            "{} is owned by {}, not by root or the configured owner (pgbackrest.owner): bridgerest will not trust or replace another user's file; remove it or chown it",
            path.display(),
            user_name(meta.uid())
        );
    }
    Ok(())
}

/// The file at `path` if it exists, opened without following a symlink and without blocking on
/// a FIFO, after checking it is a regular file owned by root, this user or `owner`.
pub fn open_trusted(path: &Path, owner: Owner) -> Result<Option<File>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    check_regular(path, &meta, owner)?;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let now = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    check_regular(path, &now, owner)?;
    if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
        bail!(
            "{} changed while bridgerest opened it (another process is replacing it): try again",
            path.display()
        );
    }
    Ok(Some(file))
}

/// Reads `path` as [`open_trusted`] opens it; `None` if it does not exist. At most [`MAX_READ`].
pub fn read_trusted(path: &Path, owner: Owner) -> Result<Option<String>> {
    let Some(file) = open_trusted(path, owner)? else {
        return Ok(None);
    };
    let mut text = String::new();
    file.take(MAX_READ + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    if text.len() as u64 > MAX_READ {
        bail!(
            "{} is larger than {} MiB: that is no pgBackRest config; move it away",
            path.display(),
            MAX_READ >> 20
        );
    }
    Ok(Some(text))
}

/// Checks that `dir` exists, is a directory, and that this process may create files in it.
pub fn check_dir_writable(dir: &Path) -> Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "directory {} does not exist: create it (install -d -m 0750 -o postgres {}) or change pgbackrest.config",
            dir.display(),
            dir.display()
        ),
        Err(e) => bail!("cannot use directory {}: {e}", dir.display()),
    };
    if !meta.is_dir() {
        bail!(
            "{} is not a directory: change pgbackrest.config",
            dir.display()
        );
    }
    if nix::unistd::access(
        dir,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .is_err()
    {
        bail!(
            "directory {} is not writable by user {}: run bridgerest as its owner, or fix its permissions",
            dir.display(),
            current_user_name()
        );
    }
    Ok(())
}

/// Checks that nobody but root, this user and `owner` can swap files in `dir`: it must be owned
/// by one of them and not writable by every user (unless sticky, like /tmp: then only the owner
/// of a file there can replace it, and [`open_trusted`] checks that owner).
pub fn check_dir_safe(dir: &Path, owner: Owner) -> Result<()> {
    check_dir_writable(dir)?;
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if !owner.trusts(meta.uid()) {
        bail!(
            "directory {} is owned by {}, who could replace what bridgerest writes there: give it to root or pgbackrest.owner (chown), or write elsewhere",
            dir.display(),
            user_name(meta.uid())
        );
    }
    let mode = meta.mode();
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        bail!(
            "directory {} is writable by every user (mode {:04o}), who could replace what bridgerest writes there: chmod o-w {}",
            dir.display(),
            mode & 0o7777,
            dir.display()
        );
    }
    Ok(())
}

/// Why `dir` can never be a PostgreSQL data directory to restore into (a system directory, or
/// one inside the kernel's or the system's own trees), if it is one. Symlinks are resolved as
/// far as the path exists.
pub fn system_dir(dir: &Path) -> Option<String> {
    const EXACT: &[&str] = &[
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/usr/local",
        "/var",
        "/var/lib",
        "/var/lib/postgresql",
        "/var/log",
        "/var/tmp",
        "/var/cache",
        "/var/spool",
        "/var/backups",
    ];
    const UNDER: &[&str] = &[
        "/proc", "/sys", "/dev", "/etc", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
        "/run", "/usr",
    ];
    // The longest existing prefix, resolved, plus the rest as written.
    let mut real = dir.to_path_buf();
    let mut rest = Vec::new();
    while !real.exists() {
        match (real.parent(), real.file_name()) {
            (Some(p), Some(n)) => {
                rest.push(n.to_os_string());
                real = p.to_path_buf();
            }
            _ => break,
        }
    }
    let mut real = std::fs::canonicalize(&real).unwrap_or(real);
    real.extend(rest.iter().rev());
    let shown = real.display().to_string();
    let shown = shown.trim_end_matches('/');
    let shown = if shown.is_empty() { "/" } else { shown };
    if EXACT.contains(&shown) {
        return Some(format!("{shown} is a system directory"));
    }
    UNDER
        .iter()
        .find(|u| shown.starts_with(&format!("{u}/")))
        .map(|u| format!("{shown} is inside {u}, a system directory"))
}

pub fn current_user_name() -> String {
    let uid = Uid::effective();
    User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The names of [`write_atomic`]'s temporary files for a file named `name`: `.{name}.XXXXXX.tmp`.
/// The leading '.' and the suffix keep pgBackRest's conf.d glob (`*.conf`) away from them.
fn temp_affixes(name: &str) -> (String, &'static str) {
    (format!(".{name}."), ".tmp")
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory (created with
/// `O_EXCL`, so never through a link) gets the mode and owner first, then the bytes, is fsynced,
/// renamed over `path`, and the directory is fsynced. Readers see the old file or the new one,
/// never a mix; a crash leaves at most a temp file. An existing `path` that is not a regular
/// file owned by root, this user or `owner` (a symlink, a FIFO, a device, another user's file)
/// is refused, not replaced.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, owner: Owner) -> Result<()> {
    let dir = parent(path);
    check_dir_writable(dir)?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        check_regular(path, &meta, owner)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (prefix, suffix) = temp_affixes(&name);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(suffix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let file = tmp.as_file();
    if owner.uid.is_some() || owner.gid.is_some() {
        nix::unistd::fchown(file, owner.uid, owner.gid).with_context(|| {
            format!(
                "setting the owner of {} (bridgerest must run as root to give it to another user)",
                path.display()
            )
        })?;
    }
    nix::sys::stat::fchmod(file, nix::sys::stat::Mode::from_bits_truncate(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))?;
    Ok(())
}

/// Removes the temporary files [`write_atomic`] leaves beside `path` when the writer is killed
/// between creating and renaming one. Call it only under the [`FileLock`] of every writer of
/// `path`, so no write in progress loses its file. Returns how many were removed.
pub fn remove_stale_temps(path: &Path) -> usize {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return 0;
    };
    let (prefix, suffix) = temp_affixes(&name);
    let Ok(entries) = std::fs::read_dir(parent(path)) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix) && n.ends_with(suffix) && n.len() > prefix.len() + suffix.len()
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

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
                Err((_, e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()))
                }
            }
            let waited = started.elapsed();
            if waited >= timeout {
                bail!(
                    "waited {} for the lock on {}, held by {}: another writer of the pgBackRest config is stuck or slow; try again, or stop it (pgbackrest.lock_timeout sets the wait)",
                    humantime::format_duration(Duration::from_secs(waited.as_secs())),
                    path.display(),
                    lock_holder(&file)
                );
            }
            if !said && waited >= LOCK_SAY_AFTER {
                tracing::warn!(lock = %path.display(), holder = %lock_holder(&file), timeout_s = timeout.as_secs(), "waiting for the lock");
                said = true;
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }
}

fn open_lock_file(path: &Path, owner: Owner, mode: u32) -> Result<File> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        check_regular(path, &meta, owner)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(mode & 0o666)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
        .with_context(|| format!("opening lock file {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading lock file {}", path.display()))?;
    check_regular(path, &meta, owner)?;
    // A lock file created (or left) by root gets the guarded file's owner and mode, so the
    // daemon running as that owner can open it later.
    let owner = owner.applicable();
    let uid_differs = owner.uid.is_some_and(|u| u.as_raw() != meta.uid());
    let gid_differs = owner.gid.is_some_and(|g| g.as_raw() != meta.gid());
    if uid_differs || gid_differs {
        nix::unistd::fchown(&file, owner.uid, owner.gid)
            .with_context(|| format!("setting the owner of lock file {}", path.display()))?;
    }
    if meta.uid() == Uid::effective().as_raw() && meta.mode() & 0o777 != mode & 0o666 {
        nix::sys::stat::fchmod(
            &file,
            nix::sys::stat::Mode::from_bits_truncate(mode & 0o666),
        )
        .with_context(|| format!("setting the mode of lock file {}", path.display()))?;
    }
    Ok(file)
}

/// Who holds the flock on `file`, from /proc/locks: "pid N (command line)", or "another process".
fn lock_holder(file: &File) -> String {
    let Ok(meta) = file.metadata() else {
        return "another process".into();
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
            .then(|| f.get(4).map(|p| p.to_string()))
            .flatten()
    });
    match pid {
        Some(pid) => {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    let s: String = String::from_utf8_lossy(&b)
                        .replace('\0', " ")
                        .trim()
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(80)
                        .collect();
                    s
                })
                .unwrap_or_default();
            if cmd.is_empty() {
                format!("pid {pid}")
            } else {
                format!("pid {pid} ({cmd})")
            }
        }
        None => "another process".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.conf");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new", 0o640, Owner::default()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "x.conf")
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn stale_temps_of_that_file_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.conf");
        for n in [
            ".x.conf.a1B2c3.tmp",
            ".x.conf.zz.tmp",
            ".y.conf.a1.tmp",
            "x.conf",
            ".x.conf.tmp",
        ] {
            std::fs::write(dir.path().join(n), "s").unwrap();
        }
        assert_eq!(remove_stale_temps(&p), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".x.conf.tmp", ".y.conf.a1.tmp", "x.conf"]);
    }

    #[test]
    fn missing_dir_is_named() {
        let err = write_atomic(
            Path::new("/nonexistent-bridgerest/x.conf"),
            b"x",
            0o600,
            Owner::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent-bridgerest does not exist"),
            "{err}"
        );
    }

    #[test]
    fn system_directories_are_named() {
        for d in [
            "/",
            "/etc",
            "/proc/1/root",
            "/usr/lib/x",
            "/var/lib",
            "/etc/../etc/ssh",
        ] {
            assert!(system_dir(Path::new(d)).is_some(), "{d}");
        }
        for d in ["/var/lib/postgresql/15/restore", "/srv/pg/restore", "/data"] {
            assert_eq!(system_dir(Path::new(d)), None, "{d}");
        }
    }

    #[tokio::test]
    async fn lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.conf");
        let take = |t: PathBuf| async move {
            FileLock::acquire(&t, Owner::default(), 0o600, Duration::from_secs(30)).await
        };
        let held = take(target.clone()).await.unwrap();
        let waiter = tokio::spawn(take(target.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !waiter.is_finished(),
            "second lock taken while the first is held"
        );
        drop(held);
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_held_lock_times_out_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.conf");
        // Another process holds it: flock(1) from util-linux, or this test's own second open.
        let file = std::fs::File::create(FileLock::path_for(&target)).unwrap();
        let _held = Flock::lock(file, FlockArg::LockExclusive).unwrap();
        let t0 = std::time::Instant::now();
        let err = FileLock::acquire(&target, Owner::default(), 0o600, Duration::from_millis(300))
            .await
            .err()
            .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(5));
        let msg = format!("{err:#}");
        assert!(
            msg.contains("for the lock on") && msg.contains("x.conf.lock"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "the holder is this test process: {msg}"
        );
    }

    #[tokio::test]
    async fn lock_file_gets_the_guarded_files_owner_and_mode() {
        if !Uid::effective().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.conf");
        let lock = FileLock::path_for(&target);
        std::fs::write(&lock, "").unwrap(); // root:root 0644, as an earlier root run left it
        let nobody = Owner {
            uid: Some(Uid::from_raw(65534)),
            gid: Some(Gid::from_raw(65534)),
        };
        drop(
            FileLock::acquire(&target, nobody, 0o640, Duration::from_secs(1))
                .await
                .unwrap(),
        );
        let meta = std::fs::metadata(&lock).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o777),
            (65534, 65534, 0o640)
        );
    }

    #[tokio::test]
    async fn a_symlinked_lock_file_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.conf");
        let victim = dir.path().join("victim");
        std::os::unix::fs::symlink(&victim, FileLock::path_for(&target)).unwrap();
        let err = FileLock::acquire(&target, Owner::default(), 0o600, Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("is a symbolic link"), "{err:#}");
        assert!(!victim.exists(), "the link's target was created");
    }

    #[test]
    fn symlinks_fifos_and_devices_are_neither_read_nor_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("shadow");
        std::fs::write(&secret, "root:$6$hash").unwrap();
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = read_trusted(&link, Owner::default()).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        let err = write_atomic(&link, b"new", 0o600, Owner::default()).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "root:$6$hash");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());

        let fifo = dir.path().join("fifo.conf");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_trusted(&fifo, Owner::default()).unwrap_err(); // and does not hang
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        let err = write_atomic(&fifo, b"x", 0o600, Owner::default()).unwrap_err();
        assert!(err.to_string().contains("is a FIFO"), "{err}");

        let dev = Path::new("/dev/null");
        let err = read_trusted(dev, Owner::default()).unwrap_err();
        assert!(err.to_string().contains("is a device node"), "{err}");
    }

    #[test]
    fn another_users_file_or_directory_is_not_trusted() {
        if !Uid::effective().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.conf");
        std::fs::write(&p, "[s]\nrepo1-storage-host=evil.example\n").unwrap();
        nix::unistd::chown(&p, Some(Uid::from_raw(65534)), None).unwrap();
        let err = read_trusted(&p, Owner::default()).unwrap_err();
        assert!(err.to_string().contains("is owned by"), "{err}");
        let configured = Owner {
            uid: Some(Uid::from_raw(65534)),
            gid: None,
        };
        assert!(read_trusted(&p, configured).unwrap().is_some());

        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_dir_safe(&open, Owner::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("writable by every user (mode 0777)"),
            "{err}"
        );
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        check_dir_safe(&open, Owner::default()).unwrap();
        nix::unistd::chown(&open, Some(Uid::from_raw(65534)), None).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = check_dir_safe(&open, Owner::default()).unwrap_err();
        assert!(err.to_string().contains("is owned by"), "{err}");
    }
}
