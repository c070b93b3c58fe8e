//! What the repository's archived WAL says about a drill's recovery: a segment missing in the
//! middle of the chain, the bytes fetched, where redo ended.

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
        .or_else(|| missing_wal(log));
    (listing, gap)
}

/// What `archive-get` said it could not find, from PostgreSQL's log of the copy: the WAL
/// segment missing from the repository.
pub fn missing_wal(text: &str) -> Option<String> {
    let line = text.lines().find(|l| {
        l.contains("unable to find") || (l.contains("ERROR: [") && l.contains("archive"))
    })?;
    let at = line
        .find("ERROR:")
        .or_else(|| line.find("unable"))
        .unwrap_or(0);
    Some(format!(
        "WAL missing or unreadable in the repository: {}",
        crate::text::excerpt(line[at..].trim(), 300)
    ))
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
    wal_files(&String::from_utf8_lossy(&out.stdout))
}

/// The WAL segments in `repo-ls --recurse --output=json` output: (name, bytes), sorted.
pub fn wal_files(json: &str) -> Option<Vec<(String, u64)>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut out: Vec<(String, u64)> = v
        .as_object()?
        .iter()
        .filter(|(_, f)| f["type"] == "file")
        .filter_map(|(name, f)| {
            let seg = name.rsplit('/').next()?.get(..24)?;
            seg.bytes()
                .all(|c| c.is_ascii_hexdigit())
                .then(|| (seg.to_ascii_uppercase(), f["size"].as_u64().unwrap_or(0)))
        })
        .collect();
    out.sort();
    Some(out)
}

/// Why recovery stopped after the segment of `lsn`: the next segment is missing from the
/// repository (with later ones there: a broken chain), or it is there and could not be used.
pub(super) fn gap_after(
    p: &Prepared,
    listing: Option<&[(String, u64)]>,
    lsn: Lsn,
) -> Option<String> {
    let listing = listing?;
    let tli = p.repo_backup.as_ref()?.archive_start.as_deref()?.get(..8)?;
    let at = lsn.segment_before(tli);
    let next = crate::wal::next_segment(&at)?;
    let later = listing.iter().filter(|(s, _)| *s > next).count();
    if listing.iter().any(|(s, _)| *s == next) {
        Some(format!("WAL segment {next} is in the repository, but recovery stopped before it (replay ended in {at} at {lsn}): it may be corrupt (drill.verify checks every file)"))
    } else if later > 0 {
        Some(format!("WAL segment {next} is missing from the repository ({later} later segments are there: the WAL chain is broken after {at}, so recovery cannot pass {lsn})"))
    } else {
        None
    }
}

/// The LSN PostgreSQL's log says replay ended at ("redo done at 0/5000060").
pub(super) fn redo_done_at(text: &str) -> Option<Lsn> {
    let line = text.lines().rev().find(|l| l.contains("redo done at "))?;
    let rest = line.split("redo done at ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}
