//! `bridgerest restore` (also `bridgerest --restore`): the workflow is [`crate::restore::run`];
//! this prints what it ends with (the plan as JSON for `--dry-run --json`).

use anyhow::Result;

use crate::cli::RestoreArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::restore::workflow::Outcome;

pub async fn run(cfg: &Config, args: RestoreArgs) -> Result<Exit> {
    let out = super::Terminal::narrate(true);
    let shutdown = crate::shutdown::Shutdown::on_signals()?;
    match crate::restore::run(cfg, args.request, &out, &shutdown).await? {
        Outcome::Planned(p) if args.json => println!("{}", p.json()?),
        done => print!("{done}"),
    }
    Ok(Exit::Success)
}
