//! `bridgerest daemon`: loads the config (a bad one is a usage error) and its client, then runs
//! the daemon's runtime ([`crate::schedule::daemon`]) until SIGTERM/SIGINT.

use std::path::Path;

use anyhow::Result;

use crate::exit::Exit;
use crate::schedule::daemon::{self, bridge_client};

pub async fn run(path: &Path) -> Result<Exit> {
    let cfg = super::load_with_clusters(path)?;
    let client = bridge_client(&cfg)?;
    let path = path.to_path_buf();
    let reload = move || -> Result<_> {
        let c = super::load_with_clusters(&path)?;
        let client = bridge_client(&c)?;
        Ok((c, client))
    };
    daemon::run(cfg, client, move || reload().map_err(|e| format!("{e:#}"))).await?;
    Ok(Exit::Success)
}
