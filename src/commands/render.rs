//! `bridgerest render`: what `refresh` would write, redacted unless `--show-secrets`.

use anyhow::Result;

use crate::cli::RenderArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::refresh;

pub async fn run(cfg: &Config, args: RenderArgs) -> Result<Exit> {
    let client = super::token_client(cfg)?;
    let mut fetched = refresh::fetch(cfg, client.as_ref(), &refresh::Scope::all(cfg)?).await;
    refresh::refuse_clashes_elsewhere(cfg, &mut fetched);
    let plan = refresh::compose(cfg, fetched, refresh::read_existing(cfg)?)?;
    let text = if args.show_secrets {
        plan.text()
    } else {
        plan.redacted.as_deref()
    };
    if let Some(t) = text {
        print!("{t}");
    }
    super::refresh::print_errors(&plan.outcomes);
    Ok(match (plan.failed(), plan.outcomes.len()) {
        (0, _) => Exit::Success,
        (f, n) if f < n => Exit::Partial,
        _ => Exit::Failure,
    })
}
