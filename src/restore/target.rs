//! The restore's target and the backup it needs (pure): parsing target times, the window
//! (first restorable instant .. now), the backup chosen for a target, and checking that choice
//! against the repository's own list.

use time::OffsetDateTime;

use crate::pgbackrest::RepoBackup;
use crate::provider::Backup;

pub use crate::when::*;

/// The pgBackRest backup label in a backup's name (`2020/20200913-195337F` → `20200913-195337F`).
pub fn set_label(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Which backup pgBackRest restores, after checking the API's choice against the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetChoice {
    /// `--set LABEL`: the API's backup is in the repository and stopped before the target, or
    /// the user named it.
    Set(String),
    /// No `--set`: pgBackRest picks (`why` the API's backup was not used; `pick` is the
    /// backup the repository's own list says pgBackRest will use).
    Own { why: NotUsed, pick: RepoBackup },
}

/// Why the API's backup is not the one restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotUsed {
    #[error("the API's backup {label} stopped at {} in the repository, not before the target", show_time(epoch(*.stop)))]
    StoppedAfter { label: String, stop: i64 },
    #[error("the API's backup {label} is not in the repository")]
    Missing { label: String },
}

/// Why no backup of the repository fits the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreconciled {
    #[error("--set {label}: no such backup in the repository; it has {}", .have.join(", "))]
    NoSuchSet { label: String, have: Vec<String> },
    #[error("{0}, and no backup in the repository stopped before the target: pgBackRest would fail with error 75; choose a later target")]
    NoneBefore(NotUsed),
}

/// A repository backup as the plan names it: `LABEL (stopped TIME)`.
pub fn stopped(b: &RepoBackup) -> String {
    format!("{} (stopped {})", b.label, show_time(epoch(b.stop)))
}

fn epoch(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Checks `label` (the API's choice, or the user's `--set` when `user_set`) against the
/// repository's backups (`repo`, oldest first). Bridge's backup names are `YYYY/<label>`: that
/// the part after `/` is pgBackRest's label is an inference, so the repository decides.
pub fn reconcile(
    label: &str,
    user_set: bool,
    target: Stop,
    repo: &[RepoBackup],
) -> Result<SetChoice, Unreconciled> {
    let found = repo.iter().find(|b| b.label == label);
    if user_set {
        return match found {
            Some(_) => Ok(SetChoice::Set(label.to_string())),
            None => Err(Unreconciled::NoSuchSet {
                label: label.to_string(),
                have: repo.iter().map(|b| b.label.clone()).collect(),
            }),
        };
    }
    let label = label.to_string();
    let why = match found {
        Some(b) if repo_pick(target, std::slice::from_ref(b)).is_some() => {
            return Ok(SetChoice::Set(label))
        }
        Some(b) => NotUsed::StoppedAfter {
            label,
            stop: b.stop,
        },
        None => NotUsed::Missing { label },
    };
    match repo_pick(target, repo) {
        Some(b) => Ok(SetChoice::Own {
            why,
            pick: b.clone(),
        }),
        None => Err(Unreconciled::NoneBefore(why)),
    }
}

/// The backup pgBackRest itself picks for `target` without `--set`: the newest that stopped
/// before it (any for `latest`).
pub fn repo_pick(target: Stop, repo: &[RepoBackup]) -> Option<&RepoBackup> {
    repo.iter().rev().find(|b| match target {
        Stop::Latest => true,
        Stop::Time(t) => b.stop < t.unix_timestamp(),
    })
}

/// Why a target cannot be restored. Each names the valid window.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("cluster {cluster} has no finished backup yet: there is nothing to restore from")]
    NoBackups { cluster: String },
    #[error("target {target} is before {start}, the earliest time the cluster can be restored to (its oldest backup is from {oldest}): choose a time from {start} to now ({now})")]
    BeforeOldest {
        target: String,
        oldest: String,
        start: String,
        now: String,
    },
    #[error("target {target} is in the future: choose a time from {start} to now ({now})")]
    InFuture {
        target: String,
        start: String,
        now: String,
    },
    #[error("no backup finished before target {target} (the first, {first}, finished at {finished}; pgBackRest needs one that finished in an earlier second): choose a time from {start} to now ({now})")]
    BeforeFirstFinished {
        target: String,
        first: String,
        finished: String,
        start: String,
        now: String,
    },
}

/// The earliest restorable instant: a second after the first backup's stop second (pgBackRest
/// compares whole seconds), and not before `oldest_backup_at`.
pub fn window_start(oldest: OffsetDateTime, first_stop: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(first_stop.unix_timestamp() + 1)
        .map(|s| s.max(oldest))
        .unwrap_or(oldest)
}

/// Picks the backup to restore: for a time, the newest that finished in a second before the
/// target's (pgBackRest compares whole seconds and wants a stop time strictly before the
/// target), after checking the target lies between `oldest_backup_at` and `now`; for `latest`,
/// the newest.
pub fn choose<'a>(
    cluster: &str,
    target: Stop,
    oldest_backup_at: Option<OffsetDateTime>,
    backups: &'a [Backup],
    now: OffsetDateTime,
) -> Result<&'a Backup, TargetError> {
    // A backup still running (no finished_at) cannot be restored from.
    let mut finished: Vec<(OffsetDateTime, &Backup)> = backups
        .iter()
        .filter_map(|b| Some((b.finished_at?, b)))
        .collect();
    finished.sort_by_key(|(at, _)| *at);
    let no_backups = || TargetError::NoBackups {
        cluster: cluster.to_string(),
    };
    let (Some(oldest), Some(&(first_at, first))) = (oldest_backup_at, finished.first()) else {
        return Err(no_backups());
    };
    let start = window_start(oldest, first_at);
    let (start_s, now_s) = (show_time(start), show_time(now));
    let t = match target {
        Stop::Latest => return finished.last().map(|(_, b)| *b).ok_or_else(no_backups),
        Stop::Time(t) => t,
    };
    let target_s = pgbackrest_time(t);
    if t < oldest {
        return Err(TargetError::BeforeOldest {
            target: target_s,
            oldest: show_time(oldest),
            start: start_s,
            now: now_s,
        });
    }
    if t > now {
        return Err(TargetError::InFuture {
            target: target_s,
            start: start_s,
            now: now_s,
        });
    }
    finished
        .iter()
        .rev()
        .find(|(at, _)| at.unix_timestamp() < t.unix_timestamp())
        .map(|(_, b)| *b)
        .ok_or_else(|| TargetError::BeforeFirstFinished {
            target: target_s,
            first: crate::text::excerpt(&first.name, 80),
            finished: show_time(first_at),
            start: start_s,
            now: now_s,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    #[test]
    fn the_repository_decides_which_backup_is_restored() {
        use crate::pgbackrest::RepoBackup;
        let repo = [
            RepoBackup {
                label: "20261120-010000F".into(),
                stop: 1_763_600_500,
                ..RepoBackup::default()
            },
            RepoBackup {
                label: "20261121-010000F".into(),
                stop: 1_763_686_900,
                ..RepoBackup::default()
            },
        ];
        let t = Stop::Time(OffsetDateTime::from_unix_timestamp(1_763_690_000).unwrap());
        assert_eq!(
            reconcile("20261121-010000F", false, t, &repo),
            Ok(SetChoice::Set("20261121-010000F".into()))
        );
        // A name that matches no label: pgBackRest's own choice, named from its list.
        match reconcile("20990101-000000F", false, t, &repo) {
            Ok(SetChoice::Own { why, pick }) => {
                let (why, pick) = (why.to_string(), stopped(&pick));
                assert!(why.contains("is not in the repository"), "{why}");
                assert!(pick.starts_with("20261121-010000F (stopped "), "{pick}");
            }
            other => panic!("{other:?}"),
        }
        // In the repository but stopped after the target (the API's times disagree).
        let early = Stop::Time(OffsetDateTime::from_unix_timestamp(1_763_686_900).unwrap());
        match reconcile("20261121-010000F", false, early, &repo) {
            Ok(SetChoice::Own { why, pick }) => {
                let (why, pick) = (why.to_string(), stopped(&pick));
                assert!(why.contains("not before the target"), "{why}");
                assert!(pick.starts_with("20261120-010000F"), "{pick}");
            }
            other => panic!("{other:?}"),
        }
        // The user's --set must exist; nothing before the target is an error 75 ahead.
        assert!(reconcile("nope", true, t, &repo)
            .unwrap_err()
            .to_string()
            .contains("no such backup"));
        let before_all = Stop::Time(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        assert!(reconcile("x", false, before_all, &repo)
            .unwrap_err()
            .to_string()
            .contains("error 75"));
    }
    use time::macros::datetime;

    fn backup(name: &str, started: OffsetDateTime, finished: OffsetDateTime) -> Backup {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "started_at": started.format(&Rfc3339).unwrap(),
            "finished_at": finished.format(&Rfc3339).unwrap(),
            "size_bytes": 1000,
        }))
        .unwrap()
    }

    #[test]
    fn target_formats() {
        let want = datetime!(2026-11-21 09:14:00 UTC);
        for text in [
            "2026-11-21T09:14:00Z",
            "2026-11-21T10:14:00+01:00",
            "2026-11-21 09:14:00",
            "2026-11-21 09:14:00+00",
            "2026-11-21 04:14:00-05",
            "2026-11-21 14:44:00+0530",
            "2026-11-21 14:44:00+05:30",
        ] {
            assert_eq!(parse_time(text), Ok(want), "{text}");
        }
        assert_eq!(
            parse_time("2026-11-21 09:14:00.25+00").map(pgbackrest_time),
            Ok("2026-11-21 09:14:00.250000+00".to_string())
        );
        assert_eq!(pgbackrest_time(want), "2026-11-21 09:14:00+00");
        assert_eq!(parse_target("latest"), Ok(crate::when::Target::Latest));
        for bad in [
            "yesterday",
            "2026-11-21",
            "2026-13-01 00:00:00",
            "2026-11-21 09:14:00 CET",
            "2026-11-21 09:14:00+5",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn choose_checks_the_window_and_the_whole_second_rule() {
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let b = vec![
            backup(
                "20261121-010000F",
                datetime!(2026-11-21 01:00:00 UTC),
                datetime!(2026-11-21 01:05:13.4 UTC),
            ),
            backup(
                "2026/20261120-010000F",
                datetime!(2026-11-20 01:00:00 UTC),
                datetime!(2026-11-20 01:04:00 UTC),
            ),
        ];
        let oldest = Some(datetime!(2026-11-20 01:00:00 UTC));
        let pick = |t| choose("c", Stop::Time(t), oldest, &b, now).map(|b| b.name.as_str());
        assert_eq!(
            pick(datetime!(2026-11-21 09:14:00 UTC)),
            Ok("20261121-010000F")
        );
        assert_eq!(
            pick(datetime!(2026-11-21 01:05:14 UTC)),
            Ok("20261121-010000F")
        );
        // In the backup's own last second: pgBackRest would not take it; the one before is used.
        assert_eq!(
            pick(datetime!(2026-11-21 01:05:13.9 UTC)),
            Ok("2026/20261120-010000F")
        );
        assert_eq!(set_label("2026/20261120-010000F"), "20261120-010000F");
        let e = pick(datetime!(2026-11-19 00:00:00 UTC)).unwrap_err();
        assert!(matches!(e, TargetError::BeforeOldest { .. }));
        assert!(
            e.to_string()
                .contains("choose a time from 2026-11-20T01:04:01Z to now (2026-11-22T12:00:00Z)"),
            "{e}"
        );
        let e = pick(datetime!(2026-11-22 12:00:01 UTC)).unwrap_err();
        assert!(matches!(e, TargetError::InFuture { .. }), "{e}");
        let e = pick(datetime!(2026-11-20 01:02:00 UTC)).unwrap_err();
        assert!(
            e.to_string()
                .contains("the first, 2026/20261120-010000F, finished at 2026-11-20T01:04:00Z"),
            "{e}"
        );
        assert_eq!(
            choose("c", Stop::Latest, oldest, &b, now).map(|b| b.name.as_str()),
            Ok("20261121-010000F")
        );
        assert!(matches!(
            choose("c", Stop::Latest, None, &[], now),
            Err(TargetError::NoBackups { .. })
        ));
    }
}
