//! `bridgerest clusters`: every cluster the API key can see, in every team (the API lists only
//! the personal team's clusters unless asked for another team).

use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::provider::excerpt;

pub async fn run(cfg: &Config, args: ListArgs) -> Result<Exit> {
    let clusters = super::client(cfg)?.list_all_clusters().await?;
    if args.json {
        let list: Vec<_> = clusters.iter().map(|(c, _)| c).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Exit::Success);
    }
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|(c, team)| {
            vec![
                excerpt(&c.id, 40),
                excerpt(&c.name, 80),
                team.as_ref().map(|t| t.shown()).unwrap_or_default(),
                excerpt(c.provider_id.as_deref().unwrap_or_default(), 40),
                excerpt(c.region_id.as_deref().unwrap_or_default(), 40),
                c.major_version.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        super::table(
            &["ID", "NAME", "TEAM", "PROVIDER", "REGION", "POSTGRES"],
            &rows
        )
    );
    Ok(Exit::Success)
}
