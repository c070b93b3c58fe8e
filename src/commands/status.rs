//! `bridgerest status`: the daemon's status file as a table or JSON. Exit code 1 if any
//! cluster's credentials have expired, will expire before its next refresh, or were never
//! fetched, or if its backups need attention (the newest older than `daemon.max_backup_age`,
//! no active IONOS chain, or they could not be listed), or, with a `[drill]` section, if its
//! last drill failed or is older than `drill.max_age`.

use anyhow::{Context, Result};
use time::OffsetDateTime;

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::restore::show_time;
use crate::schedule::{ClusterStatus, Status};

/// Why a cluster's credentials need attention, if they do (none for a watched-only cluster).
pub fn problem(c: &ClusterStatus, now: OffsetDateTime) -> Option<&'static str> {
    if c.watch_only {
        return None;
    }
    match (c.expires_at, c.next_refresh) {
        (None, _) => Some("never refreshed"),
        (Some(e), _) if e <= now => Some("expired"),
        (Some(e), Some(n)) if e <= n => Some("expires before the next refresh"),
        _ => None,
    }
}

/// Why a cluster's backups need attention, if they do: what the daemon saw, or a newest
/// backup that has grown too old since.
pub fn backup_problem(
    c: &ClusterStatus,
    now: OffsetDateTime,
    max_age: std::time::Duration,
) -> Option<String> {
    c.backup_problem
        .clone()
        .or_else(|| crate::schedule::stale(c.last_backup, now, max_age))
}

pub fn run(cfg: &Config, args: StatusArgs) -> Result<Exit> {
    let path = &cfg.daemon.status_file;
    // The daemon's user writes it (postgres): read bounded, and only a regular file.
    let text = crate::fsutil::read_regular(path, crate::fsutil::MAX_READ)?.with_context(|| {
        format!(
            "cannot read the status file {}: is `bridgerest daemon` running with this config?",
            path.display()
        )
    })?;
    let mut st: Status = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bridgerest status file", path.display()))?;
    // The drill reports are the record: a drill that ended after the daemon last wrote counts.
    crate::schedule::fill_drills(cfg, &mut st);
    let now = OffsetDateTime::now_utc();
    let max_age = cfg.daemon.max_backup_age;
    let drill_problem = |c: &ClusterStatus| match cfg.drill.section {
        true => crate::drill::report::drill_problem(c.drill.as_ref(), now, cfg.drill.max_age),
        false => None,
    };
    let bad = st
        .clusters
        .iter()
        .filter(|c| {
            problem(c, now).is_some()
                || backup_problem(c, now, max_age).is_some()
                || drill_problem(c).is_some()
        })
        .count();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        let t = |o: Option<OffsetDateTime>| o.map_or_else(|| "-".to_string(), show_time);
        let rows: Vec<Vec<String>> = st
            .clusters
            .iter()
            .map(|c| {
                let backups = backup_problem(c, now, max_age);
                let drill = drill_problem(c);
                vec![
                    c.id.clone(),
                    match (problem(c, now), &backups, &drill) {
                        (Some(p), _, _) => p,
                        (None, Some(_), _) => "backups",
                        (None, None, Some(_)) => "drill",
                        (None, None, None) => "ok",
                    }
                    .to_string(),
                    c.provider.map_or("bridge", |p| p.as_str()).to_string(),
                    match c.watch_only {
                        true => "(server-side only)".to_string(),
                        false => t(c.last_success),
                    },
                    t(c.expires_at),
                    t(c.next_refresh),
                    t(c.last_backup),
                    t(c.window_start),
                    c.drill.as_ref().map_or_else(
                        || "-".to_string(),
                        |d| format!("{} {}", if d.ok { "ok" } else { "failed" }, show_time(d.at)),
                    ),
                    c.last_error_kind.map_or("-", |k| k.as_str()).to_string(),
                    [c.last_error.clone(), backups, drill]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect();
        print!(
            "{}",
            crate::text::table(
                &[
                    "CLUSTER",
                    "STATE",
                    "PROVIDER",
                    "LAST SUCCESS",
                    "EXPIRES",
                    "NEXT REFRESH",
                    "LAST BACKUP",
                    "WINDOW FROM",
                    "LAST DRILL",
                    "FAILURE",
                    "LAST ERROR"
                ],
                &rows
            )
        );
        println!("(status of pid {} at {})", st.pid, show_time(st.updated_at));
    }
    Ok(if bad == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}
