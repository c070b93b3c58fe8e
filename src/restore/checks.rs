//! Checks against the source cluster and the repository before a restore: the PostgreSQL
//! version this host has, and the end of the archived WAL (the window's upper bound).

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::pgbackrest::child::Invocation;
use crate::restore::{self, RunAs};

/// Why the PostgreSQL programs here may not run the restored cluster (a major version other
/// than the source's, or none installed), if so: said before anything is downloaded.
pub(super) fn version_warning(source: Option<u32>, pg_bin: Option<&Path>) -> Option<String> {
    let major = source?;
    let local = match pg_bin {
        Some(dir) => {
            let out = std::process::Command::new(dir.join("postgres"))
                .arg("--version")
                .env_clear()
                .envs(restore::child_env(None))
                .output()
                .ok()?;
            // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse::<u32>().ok())
        }
        None => Path::new(&format!("/usr/lib/postgresql/{major}/bin/postgres"))
            .exists()
            .then_some(major),
    };
    match (local, pg_bin) {
        (Some(l), _) if l == major => None,
        (Some(l), dir) => Some(format!(
            "the cluster runs PostgreSQL {major}, but {}/postgres is PostgreSQL {l}: the restored data directory needs PostgreSQL {major}'s programs (--pg-bin)",
            dir.map(|d| d.display().to_string()).unwrap_or_default()
        )),
        (None, Some(dir)) => Some(format!(
            "the cluster runs PostgreSQL {major}, and {}/postgres --version does not say which version it is: check --pg-bin",
            dir.display()
        )),
        (None, None) => Some(format!(
            "the cluster runs PostgreSQL {major}, which is not installed here (/usr/lib/postgresql/{major}/bin): the restore works, but starting it needs apt-get install postgresql-{major} (or --pg-bin)"
        )),
    }
}

/// The last transaction in the archived WAL and the segment it is in (the window's upper
/// bound: a target after it cannot be reached). `None` when it cannot be read (said in a
/// warning; the restore goes ahead).
pub(super) async fn archive_end(
    inv: &Invocation,
    user: &RunAs,
    repo: &crate::pgbackrest::RepoInfo,
    detail: &crate::provider::Cluster,
    pg_bin: Option<&Path>,
) -> Option<(OffsetDateTime, String)> {
    let (Some(newest), Some(archive_id)) = (&repo.archive_max, &repo.archive_id) else {
        tracing::warn!("the repository lists no archived WAL: recovery ends with the backup");
        return None;
    };
    let bin = pg_bin.map(Path::to_path_buf).unwrap_or_else(|| {
        PathBuf::from(format!(
            "/usr/lib/postgresql/{}/bin",
            detail.major_version.unwrap_or(15)
        ))
    });
    match crate::wal::last_archived_commit(inv, user, &bin, archive_id, newest).await {
        Ok(Some(found)) => Some(found),
        Ok(None) => {
            tracing::warn!(
                "no transaction found in the newest archived WAL segments (from {newest} back)"
            );
            None
        }
        Err(e) => {
            tracing::warn!("cannot read the end of the archived WAL ({e:#}); the target is not checked against it");
            None
        }
    }
}
