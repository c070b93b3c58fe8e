//! File-system helpers: atomic writes with mode and owner set before the rename, and the
//! advisory lock that keeps two writers from interleaving.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Group, Uid, User};

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

/// Writes `bytes` to `path` atomically: a temp file in the same directory gets the mode and
/// owner first, then the bytes, is fsynced, renamed over `path`, and the directory is fsynced.
/// Readers see the old file or the new one, never a mix; a crash leaves at most a temp file.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, owner: Owner) -> Result<()> {
    let dir = parent(path);
    check_dir_writable(dir)?;
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

impl FileLock {
    /// Blocks (off the async runtime) until the lock is ours.
    pub async fn acquire(target: &Path) -> Result<FileLock> {
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = parent(target).join(name);
        let p = path.clone();
        tokio::task::spawn_blocking(move || -> Result<FileLock> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
                .with_context(|| format!("opening lock file {}", p.display()))?;
            let lock = Flock::lock(file, FlockArg::LockExclusive)
                .map_err(|(_, e)| e)
                .with_context(|| format!("locking {}", p.display()))?;
            Ok(FileLock {
                _lock: lock,
                path: p,
            })
        })
        .await
        .context("lock task failed")?
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

    #[tokio::test]
    async fn lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.conf");
        let held = FileLock::acquire(&target).await.unwrap();
        let t2 = target.clone();
        let waiter = tokio::spawn(async move { FileLock::acquire(&t2).await.map(|_| ()) });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            !waiter.is_finished(),
            "second lock taken while the first is held"
        );
        drop(held);
        waiter.await.unwrap().unwrap();
    }
}
