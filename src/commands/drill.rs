//! `bridgerest drill`: one restore drill ([`crate::drill`]), its report printed and recorded;
//! or, with `--all`, every configured cluster's (or one fleet worker's share of them).

use anyhow::Result;

use crate::cli::DrillArgs;
use crate::config::Config;
use crate::drill::shard::{self, Shard};
use crate::drill::{self, Report, Request};
use crate::exit::Exit;

pub async fn run(cfg: &Config, args: DrillArgs) -> Result<Exit> {
    if args.all {
        return run_all(cfg, args).await;
    }
    let Some(cluster) = args.cluster.clone() else {
        anyhow::bail!("give --cluster ID, or --all");
    };
    // Ctrl-C or SIGTERM end it, its copy removed (exit 130).
    let shutdown = crate::shutdown::Shutdown::on_signals()?;
    let mut rep = drill::run(cfg, &request(cfg, &args, cluster), &shutdown).await?;
    let written = publish(cfg, &mut rep).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        show(&rep, &written);
    }
    Ok(if rep.ok { Exit::Success } else { Exit::Failure })
}

fn request(cfg: &Config, args: &DrillArgs, cluster: String) -> Request {
    Request {
        cluster,
        target: args.target.unwrap_or(cfg.drill.target),
        keep: args.keep,
        at_provider: args.at_provider,
        user: args.user.clone(),
        pg_bin: args.pg_bin.clone(),
        narrate: Some(super::Terminal::narrate(!args.json)),
    }
}

/// Sealed (signed, chained), then to the report file, the status and Prometheus files (merged
/// into as they are) and the fleet's sinks.
async fn publish(cfg: &Config, rep: &mut Report) -> Vec<String> {
    drill::seal::seal(cfg, rep).await;
    let mut sinks: drill::sink::Sinks = vec![
        Box::new(drill::sink::ReportFile::new(cfg)),
        Box::new(crate::schedule::StatusFile::new(cfg)),
    ];
    sinks.extend(crate::schedule::fleet_sinks(cfg));
    drill::sink::publish(&sinks, rep).await
}

fn show(rep: &Report, written: &[String]) {
    // The plan was printed when it was made.
    print!("{}", rep.table());
    for at in written {
        println!("report:    {at}");
    }
}

/// This worker's share: every cluster drills prove (those restored only at their provider
/// with `drill.at_provider`), cut to the shard, then to those due.
async fn share(cfg: &Config, args: &DrillArgs) -> Result<(Option<Shard>, Vec<String>)> {
    let all: Vec<String> = cfg
        .drillable()
        .into_iter()
        .filter(|(_, there)| !there || cfg.drill.at_provider)
        .map(|(id, _)| id)
        .collect();
    let shard = match args.shard {
        Some(s) => Some(s),
        None => shard::from_engine(|k| std::env::var(k).ok(), args.shard_count)
            .map_err(|e| super::usage(anyhow::anyhow!(e)))?,
    };
    let mine: Vec<String> = match shard {
        Some(s) => shard::share(&all, s).into_iter().cloned().collect(),
        None => all,
    };
    if !args.due {
        return Ok((shard, mine));
    }
    // The last success is this host's, or the fleet's where drill.reports_url is set (every
    // worker writes there); a bucket that cannot be read leaves this host's alone, said.
    let bucket = match &cfg.drill.bucket {
        Some(b) => match drill::bucket::Bucket::open(cfg, &b.url) {
            Ok(bucket) => Some(bucket),
            Err(e) => {
                eprintln!("drill:     --due goes by this host's reports alone: {e}");
                None
            }
        },
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let mut due = Vec::new();
    for id in mine {
        let mut last = drill::report::summary(&cfg.drill.reports, &id).and_then(|s| s.last_success);
        if let Some(b) = &bucket {
            match b.last_success(&id).await {
                Ok(t) => last = last.max(t),
                Err(e) => {
                    eprintln!("drill:     --due: cluster {id} by this host's reports alone: {e}")
                }
            }
        }
        if last.is_none_or(|t| (now - t).unsigned_abs() > cfg.drill.max_age) {
            due.push(id);
        }
    }
    Ok((shard, due))
}

async fn run_all(cfg: &Config, args: DrillArgs) -> Result<Exit> {
    let (shard, ids) = share(cfg, &args).await?;
    let which = match shard {
        Some(s) => format!("shard {s}"),
        None => "every cluster (no --shard, no engine index)".into(),
    };
    if args.list {
        println!(
            "{which}: {} cluster(s){}",
            ids.len(),
            if args.due { " due" } else { "" }
        );
        for id in &ids {
            println!("{id}");
        }
        return Ok(Exit::Success);
    }
    eprintln!("drill:     {which}: {} cluster(s)", ids.len());
    let shutdown = crate::shutdown::Shutdown::on_signals()?;
    let (mut reports, mut failed) = (Vec::new(), Vec::new());
    for id in ids {
        match drill::run(cfg, &request(cfg, &args, id.clone()), &shutdown).await {
            Ok(mut rep) => {
                let written = publish(cfg, &mut rep).await;
                if !args.json {
                    show(&rep, &written);
                }
                if !rep.ok {
                    failed.push(id);
                }
                reports.push(rep);
            }
            Err(e @ drill::Error::Interrupted(_)) => return Err(e.into()),
            // One cluster that cannot be drilled never stops the others: said, and counted.
            Err(e) => {
                eprintln!("drill:     cluster {id} not drilled: {e:#}");
                failed.push(id);
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    if !failed.is_empty() {
        eprintln!(
            "drill:     {} of the {} failed or were not drilled: {}",
            failed.len(),
            reports.len().max(failed.len()),
            failed.join(", ")
        );
    }
    Ok(if failed.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}
