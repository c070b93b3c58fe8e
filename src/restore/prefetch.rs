//! WAL fetched ahead during recovery. PostgreSQL's `restore_command` asks for one segment at a
//! time, and pgBackRest's default `archive-get` fetches just that one: on an object store, each
//! segment then waits a round trip or more. With `archive-async`, the first call starts a
//! background process that fetches the following segments in parallel into a spool directory,
//! and the next calls find them there. bridgerest writes such a `restore_command` for every
//! restore, unless the user's own pgBackRest settings say how WAL is fetched (they win).

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::pgbackrest::{self, child::is_plain, Prefetch};

/// How much WAL the background fetch keeps ahead (pgBackRest's default is 128MiB: 8 segments).
pub const QUEUE_MAX: &str = "512MiB";
/// Where the binary is looked for when `pgbackrest.bin` is a bare name (the children's PATH).
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Whether WAL is prefetched for this restore, and the plan's line saying how WAL is fetched.
/// The user's `archive-async` or `restore_command` turns it off; their `spool-path` and
/// `archive-get-queue-max` replace ours.
pub fn choose(
    cfg: &Config,
    cluster: &str,
    stanza: &str,
    pg1: &Path,
    process_max: usize,
) -> (Option<Prefetch>, String) {
    let own = |why: String| (None, format!("one segment per archive-get ({why})"));
    let files = pgbackrest::other_config_files(
        &cfg.pgbackrest.main_config,
        &cfg.pgbackrest.include_path,
        &cfg.pgbackrest.config,
    );
    let mut set = pgbackrest::wal_get_settings(&files, stanza);
    if let Some(c) = cfg.clusters.iter().find(|c| c.id == cluster) {
        for (k, v) in &c.options {
            let key = match k.as_str() {
                "recovery-option" if v.iter().any(|v| v.starts_with("restore_command=")) => {
                    "restore_command"
                }
                k => match pgbackrest::WAL_GET_OPTIONS.iter().find(|o| **o == k) {
                    Some(o) => *o,
                    None => continue,
                },
            };
            set.insert(key, format!("{k} in [cluster.options]"));
        }
    }
    for decisive in ["restore_command", "archive-async"] {
        if let Some(at) = set.get(decisive) {
            return own(format!("{at}: pgBackRest's own restore_command"));
        }
    }
    let Some(bin) = absolute_bin(&cfg.pgbackrest.bin) else {
        return own(format!(
            "{} not found on {PATH}",
            cfg.pgbackrest.bin.display()
        ));
    };
    let spool = match set.contains_key("spool-path") {
        true => None,
        false => match spool_for(pg1) {
            Some(s) => Some(s),
            None => {
                return own(format!(
                    "no spool directory can be made beside {}",
                    pg1.display()
                ))
            }
        },
    };
    let p = Prefetch {
        bin,
        spool,
        process_max: process_max.clamp(2, 8),
        queue_max: (!set.contains_key("archive-get-queue-max")).then_some(QUEUE_MAX),
    };
    let plain = |p: &Path| is_plain(&p.to_string_lossy());
    if !plain(&p.bin) || !p.spool.as_deref().is_none_or(plain) {
        return own("a path with characters a shell would split".into());
    }
    let line = format!(
        "prefetched: up to {} ahead, {} at a time (archive-async, spool {})",
        p.queue_max.map_or_else(
            || set
                .get("archive-get-queue-max")
                .cloned()
                .unwrap_or_default(),
            str::to_string
        ),
        p.process_max,
        p.spool.as_ref().map_or_else(
            || set.get("spool-path").cloned().unwrap_or_default(),
            |s| s.display().to_string()
        )
    );
    (Some(p), line)
}

/// Where the spool of a restore into `pg1` is: `<data dir>.wal-spool`, beside it.
pub fn spool_path(pg1: &Path) -> Option<PathBuf> {
    let parent = pg1.parent().filter(|p| !p.as_os_str().is_empty())?;
    let mut name = pg1.file_name()?.to_os_string();
    name.push(".wal-spool");
    Some(parent.join(name))
}

/// The spool directory of this restore: `<data dir>.wal-spool`, beside the data directory,
/// made for the restoring user after the restore. One per data directory, never pgBackRest's
/// shared `/var/spool/pgbackrest`: two recoveries of the same stanza (a drill beside a restore,
/// two copies of one cluster) must not take each other's queued segments. `None` if it cannot
/// be made (its parent is not ours to write).
pub fn spool_for(pg1: &Path) -> Option<PathBuf> {
    let spool = spool_path(pg1)?;
    let parent = crate::fsutil::parent(&spool);
    let writable = nix::unistd::Uid::effective().is_root()
        || nix::unistd::access(
            parent,
            nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
        )
        .is_ok()
        || spool.is_dir();
    writable.then_some(spool)
}

/// `bin` as an absolute path (PostgreSQL runs `restore_command` with its own PATH).
fn absolute_bin(bin: &Path) -> Option<PathBuf> {
    if bin.is_absolute() {
        return Some(bin.to_path_buf());
    }
    PATH.split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_binary_is_found_on_the_fixed_path() {
        assert_eq!(
            absolute_bin(Path::new("/opt/x/pgbackrest")),
            Some("/opt/x/pgbackrest".into())
        );
        assert_eq!(
            absolute_bin(Path::new("sh")).map(|p| p.is_absolute()),
            Some(true)
        );
        assert_eq!(absolute_bin(Path::new("no-such-binary-here")), None);
    }
}
