//! `bridgerest status`: the daemon's status file as a table or JSON. Exit code 1 if any
//! cluster's credentials have expired, will expire before its next refresh, or were never
//! fetched.

use anyhow::{Context, Result};
use time::OffsetDateTime;

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::restore::show_time;
use crate::schedule::{ClusterStatus, Status};

/// Why a cluster needs attention, if it does.
pub fn problem(c: &ClusterStatus, now: OffsetDateTime) -> Option<&'static str> {
    match (c.expires_at, c.next_refresh) {
        (None, _) => Some("never refreshed"),
        (Some(e), _) if e <= now => Some("expired"),
        (Some(e), Some(n)) if e <= n => Some("expires before the next refresh"),
        _ => None,
    }
}

pub fn run(cfg: &Config, args: StatusArgs) -> Result<Exit> {
    let path = &cfg.daemon.status_file;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the status file {}: is `bridgerest daemon` running with this config?",
            path.display()
        )
    })?;
    let st: Status = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bridgerest status file", path.display()))?;
    let now = OffsetDateTime::now_utc();
    let bad = st
        .clusters
        .iter()
        .filter(|c| problem(c, now).is_some())
        .count();
    if args.json {
        println!("{}", text.trim_end());
    } else {
        let t = |o: Option<OffsetDateTime>| o.map_or_else(|| "-".to_string(), show_time);
        let rows: Vec<Vec<String>> = st
            .clusters
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    problem(c, now).unwrap_or("ok").to_string(),
                    t(c.last_success),
                    t(c.expires_at),
                    t(c.next_refresh),
                    c.last_error_kind.map_or("-", |k| k.as_str()).to_string(),
                    c.last_error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            super::table(
                &[
                    "CLUSTER",
                    "STATE",
                    "LAST SUCCESS",
                    "EXPIRES",
                    "NEXT REFRESH",
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
