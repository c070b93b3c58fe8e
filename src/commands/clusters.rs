use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::provider::excerpt;

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
                excerpt(&c.id, 40),
                excerpt(&c.name, 80),
                excerpt(c.provider_id.as_deref().unwrap_or_default(), 40),
                excerpt(c.region_id.as_deref().unwrap_or_default(), 40),
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
