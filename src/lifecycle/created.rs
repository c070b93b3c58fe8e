//! The record of the clusters bridgerest created at a provider (`restore --into`): the ones
//! `destroy` deletes without `--force`, and `clusters --created` lists.
//!
//! One JSON file, [`FILE`], in the state directory (`daemon.status_file`'s), written 0600 and
//! owned by the writing user (root, as bridgerest runs to restore), atomically through the
//! directory's handle reached from `/` without following a link ([`crate::fsutil::Dir`]), under
//! its own lock (`created.json.lock`). The state directory is the daemon's user's: that user
//! could put a file of its own there, and the record decides what root deletes, so it is read
//! back only when it is a regular file with one name owned by the reading user; anything else
//! is refused, naming it (`destroy --force` does without the record).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::Uid;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::Config;
use crate::fsutil::{self, Dir, FileLock, Owner};
use crate::provider::ProviderKind;
use crate::text::excerpt;

/// The record's file name in the state directory.
pub const FILE: &str = "created.json";
/// Its lock's name beside it.
const LOCK: &str = "created.json.lock";
/// The largest record read (a line per cluster: thousands fit in a few hundred KiB).
const MAX_READ: u64 = 4 << 20;
/// How long a change of the record waits for another bridgerest changing it.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// One cluster bridgerest created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub provider: ProviderKind,
    pub id: String,
    pub name: String,
    /// The cluster it was restored from.
    pub source: String,
    #[serde(with = "crate::when::file_time")]
    pub created_at: OffsetDateTime,
}

/// The file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Book {
    #[serde(default)]
    clusters: Vec<Created>,
}

/// Why the record cannot be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory on the way cannot be used (a link, another user's directory, ...).
    #[error("the record of clusters bridgerest created: {0}")]
    Fs(#[from] fsutil::Error),
    /// The file is not one this user wrote: never trusted.
    #[error("the record of clusters bridgerest created, {}, is {why}: bridgerest trusts only a record it wrote itself (a regular file with one name, owned by {user}); move it away (`destroy --force` does without it)", .path.display())]
    Untrusted {
        path: PathBuf,
        why: String,
        user: String,
    },
    /// The file is not a record bridgerest wrote.
    #[error("the record of clusters bridgerest created, {}, cannot be read: {detail}; move it away (`destroy --force` does without it)", .path.display())]
    Unreadable { path: PathBuf, detail: String },
    /// Another process held the record's lock for all of the wait.
    #[error("another process ({holder}) is changing the record of clusters bridgerest created ({}) and held its lock for {}: try again", .path.display(), humantime::format_duration(LOCK_WAIT))]
    Busy { path: PathBuf, holder: String },
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// The state directory: the status file's (`/var/lib/bridgerest`), made absolute.
pub fn state_dir(cfg: &Config) -> PathBuf {
    let dir = fsutil::parent(&cfg.daemon.status_file);
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Where the record is, for messages.
pub fn path(cfg: &Config) -> PathBuf {
    state_dir(cfg).join(FILE)
}

/// The user whose directories on the way are trusted: the state directory's owner where it is
/// not root's (the package's /var/lib/bridgerest is postgres's), as the status file's writer
/// decides; else this process's.
fn trusted(dir: &Path) -> Uid {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Uid::from_raw(m.uid()),
        _ => Uid::effective(),
    }
}

/// The state directory held open; `None` when it does not exist and `create` is false.
fn open(cfg: &Config, create: bool) -> Result<Option<Dir>> {
    let dir = state_dir(cfg);
    if !create && !dir.exists() {
        return Ok(None);
    }
    let made = create.then(Owner::default);
    Ok(Some(Dir::open(&dir, trusted(&dir), made)?))
}

/// Reads the record through `dir`: empty when there is none.
fn read(dir: &Dir) -> Result<Vec<Created>> {
    let path = dir.join(FILE);
    let Some((bytes, st)) = dir.read_file(FILE, MAX_READ)? else {
        return Ok(Vec::new());
    };
    let me = Uid::effective();
    let why = if st.st_uid != me.as_raw() {
        Some(format!("owned by uid {}", st.st_uid))
    } else if st.st_nlink > 1 {
        Some(format!("a file with {} names (hard links)", st.st_nlink))
    } else {
        None
    };
    if let Some(why) = why {
        return Err(Error::Untrusted {
            path,
            why,
            user: fsutil::current_user_name(),
        });
    }
    let book: Book = serde_json::from_slice(&bytes).map_err(|e| Error::Unreadable {
        path: path.clone(),
        detail: excerpt(&e.to_string(), 200),
    })?;
    Ok(book.clusters)
}

/// Every cluster recorded, oldest first (none when there is no record yet).
pub fn load(cfg: &Config) -> Result<Vec<Created>> {
    match open(cfg, false)? {
        Some(dir) => read(&dir),
        None => Ok(Vec::new()),
    }
}

/// Whether `provider`'s cluster `id` is recorded; the entry if so.
pub fn find(cfg: &Config, provider: ProviderKind, id: &str) -> Result<Option<Created>> {
    Ok(load(cfg)?
        .into_iter()
        .find(|c| c.provider == provider && c.id == id))
}

/// Adds `c` to the record (replacing an entry of the same provider and id).
pub async fn add(cfg: &Config, c: Created) -> Result<()> {
    change(cfg, move |list| {
        list.retain(|o| !(o.provider == c.provider && o.id == c.id));
        list.push(c);
    })
    .await
}

/// Drops `provider`'s clusters `ids` from the record.
pub async fn drop_ids(cfg: &Config, provider: ProviderKind, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    change(cfg, |list| {
        list.retain(|o| !(o.provider == provider && ids.contains(&o.id)))
    })
    .await
}

/// Reads the record under its lock, lets `f` change it, and writes it back (0600, this
/// process's user's) through the directory's handle.
async fn change(cfg: &Config, f: impl FnOnce(&mut Vec<Created>)) -> Result<()> {
    let dir = open(cfg, true)?.ok_or_else(|| {
        Error::Fs(fsutil::Error::NoDir {
            dir: state_dir(cfg),
            exists: false,
        })
    })?;
    let until = tokio::time::Instant::now() + LOCK_WAIT;
    let _lock = loop {
        match FileLock::try_acquire_in(&dir, LOCK, Owner::default(), 0o600)? {
            Ok(lock) => break lock,
            Err(holder) if tokio::time::Instant::now() >= until => {
                return Err(Error::Busy {
                    path: dir.join(FILE),
                    holder: holder.to_string(),
                })
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let mut list = read(&dir)?;
    f(&mut list);
    let text =
        serde_json::to_vec_pretty(&Book { clusters: list }).map_err(|e| Error::Unreadable {
            path: dir.join(FILE),
            detail: e.to_string(),
        })?;
    dir.write_file(FILE, &text, 0o600, Owner::default())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path) -> Config {
        let mut c = crate::config::parse("", Path::new("/nonexistent/bridgerest.toml")).unwrap();
        c.daemon.status_file = dir.join("state/status.json");
        c
    }

    fn entry(id: &str) -> Created {
        Created {
            provider: crate::provider::bridge::KIND,
            id: id.into(),
            name: format!("{id}-name"),
            source: "rvf73a77ozfsvcttryebfrnlem".into(),
            created_at: time::macros::datetime!(2026-12-01 10:00 UTC),
        }
    }

    #[tokio::test]
    async fn entries_are_added_found_and_dropped_in_a_0600_file_of_this_user() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        assert!(load(&cfg).unwrap().is_empty(), "no record yet: none");
        add(&cfg, entry("a")).await.unwrap();
        add(&cfg, entry("b")).await.unwrap();
        add(&cfg, entry("a")).await.unwrap();
        let ids: Vec<String> = load(&cfg).unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["b", "a"]);
        let file = path(&cfg);
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.uid(), Uid::effective().as_raw());
        let bridge = crate::provider::bridge::KIND;
        assert!(find(&cfg, bridge, "b").unwrap().is_some());
        assert!(find(&cfg, crate::provider::ionos::KIND, "b")
            .unwrap()
            .is_none());
        drop_ids(&cfg, bridge, &["b".into()]).await.unwrap();
        assert!(find(&cfg, bridge, "b").unwrap().is_none());
    }

    #[tokio::test]
    async fn a_link_or_a_second_name_is_never_read() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        add(&cfg, entry("a")).await.unwrap();
        let file = path(&cfg);
        std::fs::hard_link(&file, d.path().join("other")).unwrap();
        let e = load(&cfg).unwrap_err().to_string();
        assert!(e.contains("a file with 2 names"), "{e}");
        std::fs::remove_file(d.path().join("other")).unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(d.path().join("elsewhere"), &file).unwrap();
        let e = load(&cfg).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        // A change does not write through the link either.
        assert!(add(&cfg, entry("b")).await.is_err());
        assert!(!d.path().join("elsewhere").exists());
    }
}
