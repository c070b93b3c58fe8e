//! `bridgerest backups CLUSTER`: a cluster's backups, every page, in its provider's terms:
//! Crunchy Bridge's and Launcher's backups (a running one last), IONOS's backup chains.

use anyhow::Result;

use crate::cli::BackupsArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::provider::Backup;

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
            provider.spec().no_backups
        );
    }
    let (header, rows) = (provider.spec().backups_table)(&backups);
    print!("{}", crate::text::table(header, &rows));
    Ok(Exit::Success)
}
