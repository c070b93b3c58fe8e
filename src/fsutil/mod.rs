//! File-system helpers for a process that runs as root in directories other users may write:
//! atomic writes with mode and owner set before the rename, reads that never follow a symlink
//! or open a device, and the advisory lock that keeps two writers from interleaving.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use error::refuse;
use nix::fcntl::OFlag;
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
                    .doing(|| format!("looking up user {u}"))?
                    .map(|u| u.uid)
                    .ok_or_else(|| Error::NoSuchOwner {
                        kind: "user",
                        name: u.to_string(),
                    }),
            })
            .transpose()?;
        let gid = group
            .map(|g| match g.parse::<u32>() {
                Ok(n) => Ok(Gid::from_raw(n)),
                Err(_) => Group::from_name(g)
                    .doing(|| format!("looking up group {g}"))?
                    .map(|g| g.gid)
                    .ok_or_else(|| Error::NoSuchOwner {
                        kind: "group",
                        name: g.to_string(),
                    }),
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
        refuse!(
            "{} is {}: bridgerest reads and replaces only regular files (it never follows a link); remove it, or use another path",
            path.display(),
            kind_of(ft)
        );
    }
    // Another name of a file elsewhere (/etc/shadow, say): what bridgerest chowns or rewrites
    // through this name would change that file.
    if meta.nlink() > 1 {
        refuse!(
            "{} has {} hard links: bridgerest reads, replaces and chowns only files with one name; remove it",
            path.display(),
            meta.nlink()
        );
    }
    if !owner.trusts(meta.uid()) {
        return Err(Error::Untrusted {
            path: path.to_path_buf(),
            owner: user_name(meta.uid()),
            dir: false,
        });
    }
    Ok(())
}

/// The file at `path` if it exists, opened without following a symlink and without blocking on
/// a FIFO, after checking it is a regular file owned by root, this user or `owner`.
pub fn open_trusted(path: &Path, owner: Owner) -> Result<Option<File>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).doing(|| format!("reading {}", path.display())),
    };
    check_regular(path, &meta, owner)?;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).doing(|| format!("opening {}", path.display())),
    };
    let now = file
        .metadata()
        .doing(|| format!("reading {}", path.display()))?;
    check_regular(path, &now, owner)?;
    if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
        refuse!(
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
        .doing(|| format!("reading {}", path.display()))?;
    if text.len() as u64 > MAX_READ {
        refuse!(
            "{} is larger than {} MiB, more than bridgerest reads: move it away",
            path.display(),
            MAX_READ >> 20
        );
    }
    Ok(Some(text))
}

/// The regular file at `path` (whoever owns it), at most `max` bytes, opened without following
/// a link or blocking on a FIFO, then checked with `fstat`: for files in directories another
/// user can write (the status file, conf.d files, the credential cache). `None` if it does
/// not exist; an error naming the file if it is a link, a FIFO, a device or too large.
pub fn read_regular(path: &Path, max: u64) -> Result<Option<String>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => refuse!(
            "{} is a symbolic link: bridgerest reads it only as a regular file; remove the link",
            path.display()
        ),
        Err(e) => return Err(e).doing(|| format!("opening {}", path.display())),
    };
    let meta = file
        .metadata()
        .doing(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        refuse!(
            "{} is {}: bridgerest reads only regular files there; remove it",
            path.display(),
            kind_of(meta.file_type())
        );
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .doing(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > max {
        refuse!(
            "{} is larger than {} KiB: that is not a file bridgerest wrote; move it away",
            path.display(),
            max >> 10
        );
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// At most `max` bytes of the regular file at `path` (whoever owns it), opened without following
/// a link or blocking on a FIFO: for small files a server writes in a directory its user owns
/// (`postmaster.pid`). `None` if it is absent, not a regular file, or unreadable.
pub fn read_small(path: &Path, max: u64) -> Option<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Checks that `dir` exists, is a directory, and that this process may create files in it.
pub fn check_dir_writable(dir: &Path) -> Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoDir {
                dir: dir.to_path_buf(),
                exists: false,
            })
        }
        Err(e) => refuse!("cannot use directory {}: {e}", dir.display()),
    };
    if !meta.is_dir() {
        return Err(Error::NoDir {
            dir: dir.to_path_buf(),
            exists: true,
        });
    }
    if nix::unistd::access(
        dir,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .is_err()
    {
        refuse!(
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
    let meta = std::fs::metadata(dir).doing(|| format!("reading {}", dir.display()))?;
    if !owner.trusts(meta.uid()) {
        return Err(Error::Untrusted {
            path: dir.to_path_buf(),
            owner: user_name(meta.uid()),
            dir: true,
        });
    }
    let mode = meta.mode();
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        refuse!(
            "directory {} is writable by every user (mode {:04o}), who could replace what bridgerest writes there: chmod o-w {}",
            dir.display(),
            mode & 0o7777,
            dir.display()
        );
    }
    Ok(())
}

/// Why a user other than root could swap `dir` for another directory, if one could: a
/// directory above it (not `dir` itself, which [`check_dir_safe`] looks at) that is a link, is
/// owned by another user than root, or is writable by a group other than root's or by every
/// user (a sticky directory, as /tmp, excepted: there, only root moves root's entries).
pub fn writable_ancestor(dir: &Path) -> Option<String> {
    let mut cur = dir.parent();
    while let Some(a) = cur {
        cur = a.parent();
        if a.as_os_str().is_empty() {
            continue;
        }
        let Ok(st) = nix::sys::stat::lstat(a) else {
            continue;
        };
        if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFLNK {
            return Some(format!(
                "{} is a symbolic link: whoever may change it decides where {} is",
                a.display(),
                dir.display()
            ));
        }
        // The rule of fsutil::Dir, with root the only user trusted.
        let why = anchor::swappable(&st, None, &[0]);
        if let Some(why) = why {
            return Some(format!(
                "{} {why}, so that user can swap {} (and what bridgerest writes there as root) for a directory of its own: give it to root and make it writable by root only (chown root:root, chmod go-w), or use a directory elsewhere",
                a.display(),
                dir.display()
            ));
        }
    }
    None
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
    let real = resolved(dir);
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

/// `path` made absolute, with `.`/`..` folded and its longest existing prefix resolved
/// (links followed), plus the rest as written: what two paths are compared as when one must
/// not hold the other.
pub fn resolved(path: &Path) -> std::path::PathBuf {
    let mut real = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
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
    for n in rest.iter().rev() {
        match n.to_str() {
            Some("..") => {
                real.pop();
            }
            Some(".") => {}
            _ => real.push(n),
        }
    }
    real
}

pub fn current_user_name() -> String {
    let uid = Uid::effective();
    User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

pub fn parent(path: &Path) -> &Path {
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
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Refused(format!("{}: not a file name", path.display())))?;
    // Through the directory reached from / without following a link (#29): a directory on
    // the way that another user could swap is refused, and what is written lands in the
    // directory that was checked, whatever is renamed meanwhile.
    let absolute = std::path::absolute(dir).doing(|| format!("resolving {}", dir.display()))?;
    let trust = owner.uid.unwrap_or_else(Uid::effective);
    let held = Dir::open(&absolute, trust, None)?;
    let (prefix, suffix) = temp_affixes(name);
    let tmp = format!("{prefix}{:08x}{suffix}", fastrand::u32(..));
    held.write_file_via(name, &tmp, bytes, mode, owner)
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

/// A temporary directory bridgerest owns, whose files the members of `group` may read (as
/// root: root:`group`, 0750): for a file that a child run as another user reads, with no other
/// user able to put anything in its place. `group` is `None` when the child runs as this user.
pub fn shared_tempdir(prefix: &str, group: Option<Gid>) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .doing(|| format!("creating a temporary directory {prefix}*"))?;
    if let Some(gid) = group {
        nix::unistd::chown(dir.path(), None, Some(gid))
            .doing(|| format!("giving {} to group {gid}", dir.path().display()))?;
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o750),
        )
        .doing(|| format!("setting the mode of {}", dir.path().display()))?;
    }
    Ok(dir)
}

/// Creates `name` (new, 0640, of `group` when given) in a [`shared_tempdir`] with `bytes`.
pub fn create_shared(
    dir: &tempfile::TempDir,
    name: &str,
    bytes: &[u8],
    group: Option<Gid>,
) -> Result<std::path::PathBuf> {
    let path = dir.path().join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(&path)
        .doing(|| format!("creating {}", path.display()))?;
    if let Some(gid) = group {
        nix::unistd::fchown(&f, None, Some(gid))
            .doing(|| format!("giving {} to group {gid}", path.display()))?;
    }
    f.write_all(bytes)
        .doing(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub mod anchor;
mod error;
mod lock;
pub use anchor::Dir;
pub use error::{Doing, Error, Result};
pub use lock::{FileLock, Holder};

#[cfg(test)]
mod tests;
