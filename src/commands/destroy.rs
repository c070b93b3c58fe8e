//! `bridgerest destroy --cluster ID --confirm ID|NAME`: the checks, the delete and the wait
//! are [`crate::lifecycle::destroy::run`]; this prints how it ended.

use anyhow::Result;

use crate::cli::DestroyArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::lifecycle::destroy::{run as delete, Request};

pub async fn run(cfg: &Config, args: DestroyArgs) -> Result<Exit> {
    let out = super::Terminal::narrate(true);
    let shutdown = crate::shutdown::Shutdown::on_signals()?;
    let req = Request {
        cluster: args.cluster,
        provider: args.provider,
        confirm: args.confirm,
        force: args.force,
        no_wait: args.no_wait,
        wait_timeout: args.wait_timeout,
    };
    print!("{}", delete(cfg, &req, &out, &shutdown).await?);
    Ok(Exit::Success)
}
