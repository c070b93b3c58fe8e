//! Whether a drill's copy fits: the backup's size, the WAL recovery keeps, the prefetch spool
//! and a margin, against the free space where the copy goes.

use std::path::Path;

use crate::fsutil::{Doing, Result};

use crate::text::human_size;

/// A WAL segment (PostgreSQL's default size, Bridge's).
pub(super) const WAL_SEGMENT: u64 = 16 << 20;
/// The most WAL recovery keeps in pg_wal at once (restartpoints recycle the rest): the
/// default max_wal_size.
pub(super) const WAL_ON_DISK_MAX: u64 = 1 << 30;
/// The spool's queue beside the copy (`archive-get-queue-max`, [`crate::restore::prefetch`]).
pub(super) const SPOOL_BYTES: u64 = 512 << 20;

/// What a drill's copy takes on disk, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The database's size (the repository's, else the API's); `None`: stated by neither.
    pub backup: Option<u64>,
    /// The archived WAL recovery keeps in pg_wal (segments after the backup's start, at most
    /// `WAL_ON_DISK_MAX`); `None`: the repository could not be listed.
    pub wal: Option<u64>,
    /// The prefetch spool's queue beside the copy (0: none there).
    pub spool: u64,
}

impl Need {
    /// The total with a tenth more for what no one states (the server's logs, temp files).
    pub fn total(&self) -> Option<u64> {
        let sum = self.backup? + self.wal.unwrap_or(0) + self.spool;
        Some(sum + sum / 10)
    }

    fn shown(&self) -> String {
        format!(
            "backup {} + WAL {} + spool {} + 10% margin",
            self.backup.map_or_else(|| "?".into(), human_size),
            self.wal.map_or_else(|| "? (not listed)".into(), human_size),
            human_size(self.spool)
        )
    }
}

/// Whether a copy needing `need` fits in the `free` bytes of `dir`, and what was counted.
pub fn space_check(need: &Need, free: u64, dir: &Path) -> (bool, String) {
    match need.total() {
        Some(n) if n > free => (
            false,
            format!(
                "the copy needs {} ({}) but {} has {} free: free space, or set drill.scratch to a larger file system",
                human_size(n),
                need.shown(),
                dir.display(),
                human_size(free)
            ),
        ),
        Some(n) => (
            true,
            format!(
                "{} needed ({}), {} free",
                human_size(n),
                need.shown(),
                human_size(free)
            ),
        ),
        None => (
            true,
            format!(
                "size not stated by the repository or the API; {} free",
                human_size(free)
            ),
        ),
    }
}

/// The free bytes of the file system `dir` is on (for an unprivileged writer).
pub fn free_bytes(dir: &Path) -> Result<u64> {
    let st = nix::sys::statvfs::statvfs(dir)
        .doing(|| format!("reading the free space of {}", dir.display()))?;
    #[allow(clippy::unnecessary_cast)]
    Ok(st.blocks_available() as u64 * st.fragment_size() as u64)
}
