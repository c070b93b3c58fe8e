//! `bridgerest backups CLUSTER`: a cluster's backups, every page, in its provider's terms:
//! Crunchy Bridge's and Launcher's backups (a running one last), IONOS's backup chains.

use anyhow::Result;

use crate::cli::BackupsArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::provider::{Backup, ProviderKind};
use crate::text::excerpt;

pub async fn run(cfg: &Config, args: BackupsArgs) -> Result<Exit> {
    let provider = super::provider_for(cfg, &args.cluster, args.provider)?;
    let mut backups = super::client_for(cfg, provider)?
        .list_backups(&args.cluster)
        .await?;
    // Finished ones by finish time; one still running (finished_at null) last.
    backups.sort_by_key(|b| (b.finished_at.is_none(), b.finished_at, b.started_at));
    if args.json {
        let list: Vec<_> = backups.iter().map(Backup::json).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Exit::Success);
    }
    if backups.is_empty() {
        eprintln!(
            "cluster {} has no backups yet ({})",
            args.cluster,
            match provider {
                ProviderKind::Bridge => "they are taken daily; the dashboard can start one",
                ProviderKind::Ionos => "IONOS starts a backup chain when the cluster is created",
                ProviderKind::Launcher => "a backup schedule or a manual backup makes them",
            }
        );
    }
    let fmt = crate::restore::show_time;
    let opt = |t: Option<time::OffsetDateTime>, none: &str| t.map_or_else(|| none.to_string(), fmt);
    let (header, rows): (&[&str], Vec<Vec<String>>) = match provider {
        ProviderKind::Ionos => (
            &[
                "CHAIN",
                "ACTIVE",
                "STATE",
                "RECOVERABLE FROM",
                "CREATED",
                "SIZE",
                "POSTGRES",
                "LOCATION",
            ],
            backups
                .iter()
                .filter_map(|b| b.chain.as_ref().map(|c| (b, c)))
                .map(|(b, c)| {
                    vec![
                        excerpt(&b.name, 80),
                        if c.active { "yes" } else { "no" }.into(),
                        excerpt(&c.state, 20),
                        opt(c.earliest, "-"),
                        fmt(b.started_at),
                        c.size_mb.map_or_else(|| "-".into(), |m| format!("{m} MB")),
                        excerpt(c.version.as_deref().unwrap_or("-"), 10),
                        excerpt(c.location.as_deref().unwrap_or("-"), 30),
                    ]
                })
                .collect(),
        ),
        _ => (
            &["NAME", "TYPE", "STARTED", "FINISHED", "SIZE"],
            backups
                .iter()
                .map(|b| {
                    vec![
                        excerpt(&b.name, 80),
                        b.kind
                            .as_deref()
                            .filter(|k| !k.is_empty())
                            .map_or_else(|| "-".into(), |k| excerpt(k, 20)),
                        fmt(b.started_at),
                        opt(b.finished_at, "(running)"),
                        b.size_bytes
                            .map(crate::text::human_size)
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
        ),
    };
    print!("{}", crate::text::table(header, &rows));
    Ok(Exit::Success)
}
