//! `bridgerest clusters`: every cluster the credentials can see: Crunchy Bridge's in every team
//! (the API lists only the personal team's clusters unless asked for another team), IONOS's and
//! Launcher's where the config has their section; with `--created`, the clusters bridgerest
//! created, each as its provider shows it now ([`crate::lifecycle::created_still_there`]).

use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit::Exit;

pub async fn run(cfg: &Config, args: ListArgs) -> Result<Exit> {
    if args.created {
        return created(cfg, args.json).await;
    }
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

/// `--created`: what bridgerest created and is still there.
async fn created(cfg: &Config, json: bool) -> Result<Exit> {
    use crate::text::excerpt;
    let out = super::Terminal::narrate(true);
    let seen = crate::lifecycle::created_still_there(cfg, &out).await?;
    if json {
        let list: Vec<serde_json::Value> = seen
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(&s.created).unwrap_or_default();
                v["state"] = s.state.clone().into();
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Exit::Success);
    }
    if seen.is_empty() {
        eprintln!(
            "no cluster bridgerest created is there ({} lists what `restore --into` made)",
            crate::lifecycle::created::path(cfg).display()
        );
        return Ok(Exit::Success);
    }
    let rows: Vec<Vec<String>> = seen
        .iter()
        .map(|s| {
            let c = &s.created;
            vec![
                c.provider.as_str().to_string(),
                excerpt(&c.id, 40),
                excerpt(&c.name, 80),
                excerpt(&c.source, 40),
                crate::when::show_time(c.created_at),
                excerpt(&s.state, 80),
            ]
        })
        .collect();
    print!(
        "{}",
        crate::text::table(
            &["PROVIDER", "ID", "NAME", "FROM", "CREATED", "STATE"],
            &rows
        )
    );
    Ok(Exit::Success)
}
