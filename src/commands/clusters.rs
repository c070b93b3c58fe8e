//! `bridgerest clusters`: every cluster the credentials can see: Crunchy Bridge's in every team
//! (the API lists only the personal team's clusters unless asked for another team), IONOS's and
//! Launcher's where the config has their section.

use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::provider::ProviderKind;
use crate::text::excerpt;

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
        let rows: Vec<Vec<String>> = clusters
            .iter()
            .map(|(c, team)| {
                let mut row = vec![excerpt(&c.id, 40), excerpt(&c.name, 80)];
                match p {
                    ProviderKind::Bridge => row.extend([
                        team.as_ref().map(|t| t.shown()).unwrap_or_default(),
                        excerpt(c.provider_id.as_deref().unwrap_or_default(), 40),
                    ]),
                    _ => row.push(excerpt(c.state.as_deref().unwrap_or("-"), 20)),
                }
                row.extend([
                    excerpt(c.region_id.as_deref().unwrap_or_default(), 40),
                    c.major_version.map(|v| v.to_string()).unwrap_or_default(),
                ]);
                row
            })
            .collect();
        let header: &[&str] = match p {
            ProviderKind::Bridge => &["ID", "NAME", "TEAM", "PROVIDER", "REGION", "POSTGRES"],
            _ => &["ID", "NAME", "STATE", "LOCATION", "POSTGRES"],
        };
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
