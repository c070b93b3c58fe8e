//! `bridgerest drill`: one restore drill ([`crate::drill`]), its report printed and recorded.

use anyhow::Result;

use crate::cli::DrillArgs;
use crate::config::Config;
use crate::drill::{self, Request};
use crate::exit::Exit;

pub async fn run(cfg: &Config, args: DrillArgs) -> Result<Exit> {
    let req = Request {
        cluster: args.cluster,
        target: args.target.unwrap_or(cfg.drill.target),
        keep: args.keep,
        at_provider: args.at_provider,
        user: args.user,
        pg_bin: args.pg_bin,
        narrate: Some(super::Terminal::narrate(!args.json)),
    };
    // Ctrl-C or SIGTERM end it, its copy removed (exit 130).
    let shutdown = crate::shutdown::Shutdown::on_signals()?;
    let rep = drill::run(cfg, &req, &shutdown).await?;
    // The report file, then the status and Prometheus files (merged into as they are).
    let sinks: drill::sink::Sinks = vec![
        Box::new(drill::sink::ReportFile::new(cfg)),
        Box::new(crate::schedule::StatusFile::new(cfg)),
    ];
    let written = drill::sink::publish(&sinks, &rep).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        // The plan was printed when it was made.
        print!("{}", rep.table());
        for at in &written {
            println!("report:    {at}");
        }
    }
    Ok(if rep.ok { Exit::Success } else { Exit::Failure })
}
