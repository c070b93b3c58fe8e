//! The per-cluster lock every restore and drill holds, and how a real restore makes a drill
//! of its cluster give way.

use std::path::Path;
use std::time::Duration;

use super::error::fail;
use super::{Error, Result};

use crate::config::Config;
use crate::runas::RunAs;

/// The lock a restore (or drill) of a cluster holds while it runs, so a drill never starts
/// while a `restore` of the same cluster (hence stanza) runs, nor two of either: an exclusive
/// flock on `restore-<id>.lock` beside the status file. A drill also holds `drill-<id>.lock`
/// (so a restore can tell it is one) and gives way to a real restore: a `restore` that finds
/// a drill holding the cluster takes `restore-<id>.want.lock`, which the drill looks at
/// ([`preempted`]), and waits until the drill has stopped and removed its copy. Anything
/// else holding it refuses the restore or drill at once. A user other than root who cannot
/// write that directory restores without it (said in a warning): drills run as root or as the
/// daemon's user, who can.
///
/// The lock files belong to the run-as user, so that user's daemon can drill; that user can
/// therefore also hold them with any program (#29 finding 11). A restore refuses a holder
/// that is not bridgerest by saying so; with `break_lock` (`restore --break-lock`) it takes
/// the lock over from such a holder ([`crate::fsutil::FileLock::take_over`]), never from a
/// running bridgerest nor from a holder it cannot identify.
pub async fn restore_lock(
    cfg: &Config,
    id: &str,
    what: &str,
    user: &RunAs,
    break_lock: bool,
) -> Result<Option<ClusterLock>> {
    let dir = crate::fsutil::parent(&cfg.daemon.status_file).to_path_buf();
    let root = nix::unistd::Uid::effective().is_root();
    if !dir.exists() {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            if !root {
                tracing::warn!("cannot create {} ({e}): restoring without the lock that keeps drills of cluster {id} away", dir.display());
                return Ok(None);
            }
            return Err(Error::Failed(format!(
                "creating {} (the daemon's state directory, daemon.status_file): {e}",
                dir.display()
            )));
        }
    }
    if !root && nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_err() {
        tracing::warn!(
            "{} is not writable: restoring without the lock that keeps drills of cluster {id} away",
            dir.display()
        );
        return Ok(None);
    }
    let lock_of = |name: String| dir.join(name);
    let main = lock_of(format!("restore-{id}"));
    let drill = lock_of(format!("drill-{id}"));
    // The lock files are the restoring user's, so a daemon running as that user can take
    // them after a root restore made them.
    let take = |target: &Path| crate::fsutil::FileLock::try_acquire(target, user.owner(), 0o600);
    let held = |holder: crate::fsutil::Holder| {
        Error::Failed(format!(
            "a restore or drill of cluster {id} is running ({holder} holds {}): this {what} does not start; try again when it has finished",
            crate::fsutil::FileLock::path_for(&main).display()
        ))
    };
    match take(&main)? {
        Ok(lock) if what == "drill" => {
            // Only a holder of the cluster's lock takes the drill's: free, unless a process
            // left from an earlier drill still has it open.
            let d = take(&drill)?.map_err(held)?;
            Ok(Some(ClusterLock {
                _main: lock,
                _drill: Some(d),
                want: None,
            }))
        }
        Ok(lock) => Ok(Some(ClusterLock {
            _main: lock,
            _drill: None,
            want: None,
        })),
        Err(holder) if what == "restore" && holder.is_this_program() != Some(true) => {
            let path = crate::fsutil::FileLock::path_for(&main);
            match (holder.is_this_program(), break_lock) {
                (Some(false), true) => {
                    tracing::warn!(cluster = id, %holder, lock = %path.display(), "--break-lock: taking the cluster's lock from a process that is not bridgerest");
                    let lock = crate::fsutil::FileLock::take_over(&main, user.owner(), 0o600)?;
                    Ok(Some(ClusterLock {
                        _main: lock,
                        _drill: None,
                        want: None,
                    }))
                }
                (Some(false), false) => fail!(
                    "{holder} holds the lock of cluster {id} ({}) and is not bridgerest (no restore or drill): this restore does not start; stop that process, or pass --break-lock to take the lock from it",
                    path.display()
                ),
                _ => fail!(
                    "a restore or drill of cluster {id} may be running ({holder} holds {}, and who it is cannot be told from /proc): this restore does not start, and --break-lock does not take a lock from a holder it cannot see; try again when it has finished",
                    path.display()
                ),
            }
        }
        Err(holder) if what == "restore" => {
            // A drill holds its own lock as well; a restore holds only the cluster's.
            let drill_holder = match take(&drill)? {
                Ok(free) => {
                    // A drill takes its own lock an instant after the cluster's: look again.
                    drop(free);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if let Ok(lock) = take(&main)? {
                        return Ok(Some(ClusterLock {
                            _main: lock,
                            _drill: None,
                            want: None,
                        }));
                    }
                    match take(&drill)? {
                        Ok(_free) => return Err(held(holder)),
                        Err(h) => h,
                    }
                }
                Err(h) => h,
            };
            let want = lock_of(format!("restore-{id}.want"));
            // The drill holds the want lock an instant each time it looks; another restore
            // that waits for the drill holds it all along.
            let started = tokio::time::Instant::now();
            let want = loop {
                match take(&want)? {
                    Ok(w) => break w,
                    Err(h) if break_lock && h.is_this_program() == Some(false) => {
                        tracing::warn!(cluster = id, holder = %h, "--break-lock: taking the want lock from a process that is not bridgerest");
                        break crate::fsutil::FileLock::take_over(&want, user.owner(), 0o600)?;
                    }
                    Err(h) if started.elapsed() >= Duration::from_secs(3) => fail!(
                        "another restore of cluster {id} ({h}) is waiting for a drill of it to stop: this restore does not start; try again when that one has finished"
                    ),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            tracing::warn!(cluster = id, drill = %drill_holder, "a drill of this cluster is running: it stops and removes its copy, and this restore starts when it has");
            let started = tokio::time::Instant::now();
            loop {
                if let Ok(lock) = take(&main)? {
                    return Ok(Some(ClusterLock {
                        _main: lock,
                        _drill: None,
                        want: Some(want),
                    }));
                }
                if started.elapsed() >= PREEMPT_WAIT {
                    fail!(
                        "the drill of cluster {id} ({drill_holder}) did not stop within {}: this restore does not start; stop that drill (or the daemon running it), then try again",
                        humantime::format_duration(PREEMPT_WAIT)
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Err(holder) => Err(held(holder)),
    }
}

/// How long a restore waits for a drill it preempts to stop and remove its copy.
const PREEMPT_WAIT: Duration = Duration::from_secs(600);

/// What [`restore_lock`] holds.
pub struct ClusterLock {
    _main: crate::fsutil::FileLock,
    _drill: Option<crate::fsutil::FileLock>,
    /// A restore that preempted a drill holds this until it has the cluster's lock.
    want: Option<crate::fsutil::FileLock>,
}

impl ClusterLock {
    /// Whether this restore made a drill of the cluster stop.
    pub fn preempted_a_drill(&self) -> bool {
        self.want.is_some()
    }
}

/// Resolves when a `restore` of cluster `id` asks the drill holding its lock to give way
/// (it holds `restore-<id>.want.lock`), with who asked; never when the lock directory is
/// not there for this user.
pub async fn preempted(cfg: &Config, id: &str, user: &RunAs) -> crate::fsutil::Holder {
    let want = crate::fsutil::parent(&cfg.daemon.status_file).join(format!("restore-{id}.want"));
    let mut warned = false;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match crate::fsutil::FileLock::try_acquire(&want, user.owner(), 0o600) {
            Ok(Ok(free)) => drop(free),
            Ok(Err(holder)) => return holder,
            Err(e) => {
                if !warned {
                    tracing::warn!("cannot look at {}: a restore of cluster {id} cannot stop this drill ({e:#})", want.display());
                    warned = true;
                }
            }
        }
    }
}
