//! `bridgerest clusters`: every cluster the credentials can see: Crunchy Bridge's in every team
//! (the API lists only the personal team's clusters unless asked for another team), IONOS's and
//! Launcher's where the config has their section.

use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit::Exit;

pub async fn run(cfg: &Config, args: ListArgs) -> Result<Exit> {
    let providers = super::providers_listed(cfg, args.provider);
    let several = providers.len() > 1;
    let mut json = serde_json::Map::new();
    for (i, p) in providers.iter().enumerate() {
        let clusters = super::client_for(cfg, *p)?.list_all_clusters().await?;
        if args.json {
            let list: Vec<_> = clusters.iter().map(|(c, _)| c.json()).collect();
            json.insert(p.as_str().into(), list.into());
            continue;
        }
        if several {
            println!("{}# {}", if i > 0 { "\n" } else { "" }, p.title());
        }
        let (header, rows) = (p.spec().clusters_table)(&clusters);
        print!("{}", crate::text::table(header, &rows));
    }
    if args.json {
        let out = match several {
            true => serde_json::Value::Object(json),
            false => json.into_iter().next().map(|(_, v)| v).unwrap_or_default(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(Exit::Success)
}
