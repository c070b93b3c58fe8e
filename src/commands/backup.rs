//! `bridgerest backup --cluster ID [--wait]`: the request and the wait are
//! [`crate::lifecycle::backup::run`]; this prints how it ended.

use anyhow::Result;

use crate::cli::BackupNowArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::lifecycle::backup::{run as request, Request};

pub async fn run(cfg: &Config, args: BackupNowArgs) -> Result<Exit> {
    let out = super::Terminal::narrate(true);
    let shutdown = crate::shutdown::Shutdown::on_signals()?;
    let req = Request {
        cluster: args.cluster,
        provider: args.provider,
        wait: args.wait,
        wait_timeout: args.wait_timeout,
    };
    print!("{}", request(cfg, &req, &out, &shutdown).await?);
    Ok(Exit::Success)
}
