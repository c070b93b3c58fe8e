//! `bridgerest status`: the status file (the daemon's, or a one-shot refresh's or drill's) as
//! a table or JSON, and whether the daemon that wrote it is gone. Exit code 1 if any
//! cluster's credentials have expired, its last refresh failed, they will expire before its
//! next refresh, or were never fetched, or if its backups need attention (the newest older than `daemon.max_backup_age`,
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
        (Some(e), _) if e <= now => Some("expired"),
        // Its last refresh failed: the credentials in the file still work, for now.
        _ if c.last_error.is_some() => Some("failing"),
        (None, _) => Some("never refreshed"),
        (Some(e), Some(n)) if e <= n => Some("expires before the next refresh"),
        _ => None,
    }
}

/// What is wrong with the daemon that wrote `st`, if it did: its process is gone, or it has
/// not written the file for twice the time to its next refresh (at least two minutes). A
/// file a one-shot `refresh` or `drill` wrote has no daemon to be gone.
pub fn daemon_problem(st: &Status, now: OffsetDateTime) -> Option<String> {
    if st.written_by != crate::schedule::WrittenBy::Daemon {
        return None;
    }
    let at = show_time(st.updated_at);
    if !is_bridgerest(st.pid) {
        return Some(format!(
            "the daemon that wrote this file at {at} (pid {}) is not running: its credentials are no longer refreshed (systemctl start bridgerest, or use bridgerest-refresh.timer)",
            st.pid
        ));
    }
    let next = st
        .clusters
        .iter()
        .filter(|c| !c.watch_only)
        .filter_map(|c| c.next_refresh)
        .min()?;
    let interval = (next - st.updated_at).max(time::Duration::minutes(1));
    (now - st.updated_at > interval * 2).then(|| {
        format!(
            "the daemon (pid {}) has not written this file since {at}, though a refresh was due at {}: it is stuck or cannot write it",
            st.pid,
            show_time(next)
        )
    })
}

/// Whether `pid` is a running bridgerest (not a process that took its number since).
fn is_bridgerest(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Err(nix::errno::Errno::ESRCH) => false,
        _ => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map_or(true, |comm| comm.trim_end().starts_with("bridgerest")),
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

/// How much of a cluster's last error the table shows (the JSON has all of it).
const LAST_ERROR_MAX: usize = 400;

pub fn run(cfg: &Config, args: StatusArgs) -> Result<Exit> {
    let path = &cfg.daemon.status_file;
    // The daemon's user writes it (postgres): read bounded, and only a regular file.
    let text = crate::fsutil::read_regular(path, crate::fsutil::MAX_READ)?.with_context(|| {
        format!(
            "cannot read the status file {}: is `bridgerest daemon` running with this config (or a `bridgerest refresh` from a timer, which writes it too)?",
            path.display()
        )
    })?;
    let mut st: Status = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bridgerest status file", path.display()))?;
    // The file is the daemon's user's to write: only the clusters this config names are shown
    // (an id from the file is never printed unless it is one of them), and its text is shown
    // as any foreign text is (escaped, cut).
    let configured = cfg.all_clusters();
    st.clusters
        .retain(|c| configured.iter().any(|(_, id)| *id == c.id));
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
    let daemon = daemon_problem(&st, now);
    if args.json {
        let mut v = serde_json::to_value(&st)?;
        if let (Some(d), Some(o)) = (&daemon, v.as_object_mut()) {
            o.insert("daemon_problem".into(), d.clone().into());
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
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
                    c.provider
                        .map_or(crate::provider::ProviderKind::DEFAULT.as_str(), |p| {
                            p.as_str()
                        })
                        .to_string(),
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
                    crate::text::excerpt(
                        &[c.last_error.clone(), backups, drill]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join("; "),
                        LAST_ERROR_MAX,
                    ),
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
        println!(
            "(written by {} pid {} at {})",
            st.written_by.as_str(),
            st.pid,
            show_time(st.updated_at)
        );
        if let Some(d) = &daemon {
            println!("daemon: {d}");
        }
    }
    Ok(if bad == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}
