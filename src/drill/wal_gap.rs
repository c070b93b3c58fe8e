//! What the repository's archived WAL says about a drill's recovery, from the drill's plan:
//! the listing (`repo-ls`), a segment missing in the middle of the chain, the bytes fetched.
//! The analysis itself (reading the listing and the log, finding the gap) is [`crate::wal`]'s.

use crate::restore::workflow::Prepared;
use crate::wal::Lsn;

/// Why replay stopped after `lsn` (its last position), as far as the repository (listed
/// here, and returned) or PostgreSQL's `log` of the copy say.
pub(super) async fn wal_gap(
    p: &Prepared,
    lsn: Option<Lsn>,
    log: &str,
) -> (Option<Vec<(String, u64)>>, Option<String>) {
    let listing = archived_wal(p).await;
    let gap = lsn
        .and_then(|lsn| gap_after(p, listing.as_deref(), lsn))
        .or_else(|| crate::wal::missing_wal(log));
    (listing, gap)
}

/// The repository's bytes of the backup set, plus the archived WAL from the backup's start to
/// the segment of `lsn`, the last replayed (what a restore from nothing fetches; WAL fetched
/// ahead and not replayed is not counted).
pub(super) fn bytes_fetched(
    p: &Prepared,
    listing: Option<&[(String, u64)]>,
    lsn: Option<Lsn>,
) -> Option<u64> {
    let b = p.repo_backup.as_ref()?;
    let set = b.repo_size?;
    let wal = (|| {
        let from = b.archive_start.as_deref()?;
        let to = lsn?.segment_before(from.get(..8)?);
        Some(
            listing?
                .iter()
                .filter(|(seg, _)| seg.as_str() >= from && seg.as_str() <= to.as_str())
                .map(|(_, n)| n)
                .sum::<u64>(),
        )
    })();
    Some(set + wal.unwrap_or(0))
}

/// The stanza's archived WAL segments (name, bytes in the repository), sorted, from
/// `pgbackrest repo-ls` of the archive id the repository's info names.
pub(super) async fn archived_wal(p: &Prepared) -> Option<Vec<(String, u64)>> {
    let id = p.repo.as_ref()?.archive_id.as_deref()?;
    let path = format!("archive/{}/{id}", p.inv.stanza);
    let argv = p
        .inv
        .command_argv(&["--output=json", "--recurse", "repo-ls", &path]);
    let out = crate::pgbackrest::child::output_as(&argv, &p.user, &[])
        .await
        .ok()?;
    if !out.status.success() {
        tracing::warn!(
            "cannot list the archived WAL: {}",
            crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 200)
        );
        return None;
    }
    crate::wal::wal_files(&String::from_utf8_lossy(&out.stdout))
}

/// [`crate::wal::gap_after`] on the timeline of the restored backup.
pub(super) fn gap_after(
    p: &Prepared,
    listing: Option<&[(String, u64)]>,
    lsn: Lsn,
) -> Option<String> {
    let tli = p.repo_backup.as_ref()?.archive_start.as_deref()?.get(..8)?;
    crate::wal::gap_after(tli, listing?, lsn)
}
