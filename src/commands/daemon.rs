//! `bridgerest daemon`: loads the config (a bad one is a usage error) and its client, then runs
//! the daemon's runtime ([`crate::schedule::daemon`]) until SIGTERM/SIGINT. SIGHUP loads them
//! again the same way (`load`).

use std::path::Path;

use anyhow::Result;

use crate::config::Config;
use crate::exit::Exit;
use crate::provider::Client;
use crate::schedule::daemon::{self, bridge_client};

pub async fn run(path: &Path) -> Result<Exit> {
    let (cfg, client) = load(path)?;
    let path = path.to_path_buf();
    daemon::run(cfg, client, move || {
        load(&path).map_err(|e| format!("{e:#}"))
    })
    .await?;
    Ok(Exit::Success)
}

/// The config at `path` and its client: at start, and on each SIGHUP (where what it refuses
/// leaves the old config running).
fn load(path: &Path) -> Result<(Config, Option<Client>)> {
    let cfg = super::load_with_clusters(path)?;
    let client = bridge_client(&cfg)?;
    Ok((cfg, client))
}
