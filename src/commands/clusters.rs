use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit::Exit;

pub async fn run(cfg: &Config, args: ListArgs) -> Result<Exit> {
    let clusters = super::client(cfg)?.list_clusters().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&clusters)?);
        return Ok(Exit::Success);
    }
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.name.clone(),
                c.provider_id.clone().unwrap_or_default(),
                c.region_id.clone().unwrap_or_default(),
                c.major_version.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        super::table(&["ID", "NAME", "PROVIDER", "REGION", "POSTGRES"], &rows)
    );
    Ok(Exit::Success)
}
