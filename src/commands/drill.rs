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
        user: args.user,
        pg_bin: args.pg_bin,
        narrate: Some(super::Terminal::narrate(!args.json)),
    };
    // Ctrl-C or SIGTERM: the drill's children are killed with it, but its PostgreSQL runs in
    // a session of its own: stop it and remove the copy (else the next drill does).
    let left = drill::Leftover::of(cfg, &req.cluster, req.user.as_deref());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let rep = tokio::select! {
        r = drill::run(cfg, &req) => r?,
        _ = tokio::signal::ctrl_c() => return interrupted(left).await,
        _ = term.recv() => return interrupted(left).await,
    };
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

async fn interrupted(left: Option<drill::Leftover>) -> Result<Exit> {
    let cleaned = drill::clean_up_interrupted(left).await;
    Err(super::ExitError {
        code: Exit::Interrupted,
        inner: anyhow::anyhow!("interrupted; {cleaned}"),
    }
    .into())
}
