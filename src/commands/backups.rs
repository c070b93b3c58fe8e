//! `bridgerest backups CLUSTER`: a cluster's backups, every page (a running one last).

use anyhow::Result;

use crate::cli::BackupsArgs;
use crate::config::{is_eid, Config};
use crate::exit::{usage, Exit};
use crate::provider::excerpt;

pub async fn run(cfg: &Config, args: BackupsArgs) -> Result<Exit> {
    if !is_eid(&args.cluster) {
        return Err(usage(anyhow::anyhow!(
            "\"{}\" is not a Crunchy Bridge cluster ID (26 lowercase letters and digits): see `bridgerest clusters`",
            excerpt(&args.cluster, 80)
        )));
    }
    let mut backups = super::client(cfg)?.list_backups(&args.cluster).await?;
    // Finished ones by finish time; one still running (finished_at null) last.
    backups.sort_by_key(|b| (b.finished_at.is_none(), b.finished_at, b.started_at));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&backups)?);
        return Ok(Exit::Success);
    }
    if backups.is_empty() {
        eprintln!(
            "cluster {} has no backups yet (they are taken daily; the dashboard can start one)",
            args.cluster
        );
    }
    let fmt = crate::restore::show_time;
    let rows: Vec<Vec<String>> = backups
        .iter()
        .map(|b| {
            vec![
                excerpt(&b.name, 80),
                b.kind
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .map_or_else(|| "-".into(), |k| excerpt(k, 20)),
                fmt(b.started_at),
                b.finished_at.map_or_else(|| "(running)".into(), fmt),
                b.size_bytes.map(human_size).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print!(
        "{}",
        super::table(&["NAME", "TYPE", "STARTED", "FINISHED", "SIZE"], &rows)
    );
    Ok(Exit::Success)
}

pub fn human_size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
