//! `bridgerest restore` (also `bridgerest --restore`): the workflow is [`crate::restore::run`].

use std::path::Path;

use anyhow::Result;

use crate::cli::RestoreArgs;
use crate::exit::Exit;

pub async fn run(path: &Path, args: RestoreArgs) -> Result<Exit> {
    Ok(crate::restore::run(path, args.into()).await?)
}
