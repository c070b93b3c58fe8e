//! A drill's verdict on where recovery ended: at the target (or, for `latest`, at the last
//! archived transaction), never before the backup, and never on a guess.

use time::OffsetDateTime;

use crate::restore::workflow::Prepared;
use crate::restore::Stop;

/// Whether the copy recovered to the target: the last replayed commit at or before it and not
/// before the backup, and by how much it falls short.
pub(super) fn recovered_check(
    p: &Prepared,
    recovered: Option<OffsetDateTime>,
    replayed: Option<crate::wal::Lsn>,
    gap: Option<String>,
) -> (bool, String) {
    let backup_start = p
        .repo_backup
        .as_ref()
        .and_then(|b| OffsetDateTime::from_unix_timestamp(b.start).ok())
        .filter(|t| t.unix_timestamp() > 0)
        .unwrap_or(p.backup.started_at);
    recovered_verdict(
        p.inv.target == Stop::Latest,
        backup_start,
        recovered,
        replayed.is_some(),
        p.target_time,
        gap,
    )
}

/// The `recovered_to` check: `recovered` is the last replayed commit, `target` the target's
/// time (for `latest`, the last archived commit, if it could be read), `gap` what the
/// repository says of the WAL after where replay stopped. A `latest` drill passes only when
/// it is shown to have reached the end: an unknown end or a gap is no proof. `replayed`: the
/// server reported a last replayed WAL location; with no transaction replayed either, nothing
/// shows that the copy went through recovery at all (a `recovery.signal` not honoured), and
/// the drill proves nothing.
pub fn recovered_verdict(
    latest: bool,
    backup_start: OffsetDateTime,
    recovered: Option<OffsetDateTime>,
    replayed: bool,
    target: Option<OffsetDateTime>,
    gap: Option<String>,
) -> (bool, String) {
    let show = crate::restore::show_time;
    match (recovered, target) {
        (Some(r), Some(t)) => {
            let short = t - r;
            let short_s = short.as_seconds_f64().max(0.0);
            let missing = gap.as_ref().map(|m| format!(": {m}")).unwrap_or_default();
            if r > t + time::Duration::milliseconds(1) {
                (
                    false,
                    format!("recovered to {}, after the target {}", show(r), show(t)),
                )
            } else if r < backup_start {
                (
                    false,
                    format!(
                        "recovered to {}, before the backup started ({})",
                        show(r),
                        show(backup_start)
                    ),
                )
            } else if latest && short_s > 0.001 {
                (
                    false,
                    format!(
                        "recovered to {}, {} short of the last archived transaction ({}){missing}",
                        show(r),
                        crate::text::duration_secs(short_s),
                        show(t)
                    ),
                )
            } else if latest && gap.is_some() {
                (
                    false,
                    format!(
                        "recovered to {}, but the WAL chain has a gap{missing}",
                        show(r)
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "recovered to {} ({} before the target {})",
                        show(r),
                        crate::text::duration_secs(short_s),
                        show(t)
                    ),
                )
            }
        }
        // `latest` with the archive's end unknown (pg_waldump missing, the repository unreadable):
        // that recovery reached the end is not shown, so the drill proves nothing.
        (Some(r), None) => (
            !latest,
            format!(
                "inconclusive: recovered to {}, but the end of the archived WAL could not be read (pg_waldump and the repository's last segment), so whether recovery reached it is unknown{}",
                show(r),
                gap.map(|m| format!("; {m}")).unwrap_or_default()
            ),
        ),
        (None, None) if latest => (
            false,
            format!(
                "inconclusive: no transaction was replayed and the end of the archived WAL could not be read (pg_waldump and the repository's last segment; an idle cluster archives no commit), so that recovery reached it is unknown{}",
                gap.map(|m| format!("; {m}")).unwrap_or_default()
            ),
        ),
        (None, Some(t)) if latest && t >= backup_start => (
            false,
            format!(
                "no transaction replayed, but the archive's last is at {}{}",
                show(t),
                gap.map(|m| format!(": {m}")).unwrap_or_default()
            ),
        ),
        (None, _) if !replayed => (
            false,
            "inconclusive: the server reported neither a replayed transaction nor a replayed WAL location (pg_last_wal_replay_lsn() was null): nothing shows that the copy went through recovery".to_string(),
        ),
        (None, _) => (
            true,
            "no transaction committed between the backup's start and the target: nothing to replay"
                .to_string(),
        ),
    }
}
