//! `bridgerest refresh`: one refresh of every configured cluster, a line per cluster.

use anyhow::Result;

use crate::config::Config;
use crate::exit::Exit;
use crate::refresh::{self, Outcome};

pub async fn run(cfg: &Config, json: bool) -> Result<Exit> {
    let client = super::token_client(cfg)?;
    let plan = refresh::run(cfg, client.as_ref(), &refresh::Scope::all(cfg)?).await?;
    if json {
        println!("{}", outcome_json(&plan.outcomes)?);
    } else {
        print!("{}", outcome_lines(&plan.outcomes));
    }
    print_errors(&plan.outcomes);
    // A timer's or cron's refresh is what `status` and the alerts see, where no daemon runs;
    // the refresh itself stands whether or not this can be written.
    if let Err(e) = crate::schedule::record_refresh(cfg, &plan.outcomes) {
        tracing::warn!("cannot write the status file: {e}");
    }
    Ok(match (plan.failed(), plan.outcomes.len()) {
        (0, _) => Exit::Success,
        (f, n) if f < n => Exit::Partial,
        _ => Exit::Failure,
    })
}

/// One line per cluster: stanza, store type, ok or the error.
pub fn outcome_lines(outcomes: &[Outcome]) -> String {
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let status = match (&o.error, o.kept) {
                (None, _) => "ok",
                (Some(_), true) => "error (previous stanza kept)",
                (Some(_), false) => "error",
            }
            .to_string();
            vec![
                o.stanza.clone().unwrap_or_else(|| "-".into()),
                o.kind.unwrap_or("-").to_string(),
                o.cluster_id.clone(),
                status,
            ]
        })
        .collect();
    crate::text::table(&["STANZA", "TYPE", "CLUSTER", "RESULT"], &rows)
}

/// `refresh --json`: a "clusters" list, one object per cluster (no secret: the error texts
/// are redacted as the table's are).
pub fn outcome_json(outcomes: &[Outcome]) -> Result<String> {
    let clusters: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "cluster": o.cluster_id,
                "stanza": o.stanza,
                "type": o.kind,
                "ok": o.error.is_none(),
                "error": o.error.as_ref().map(|e| e.to_string()),
                "failure": o.error.as_ref().map(|e| e.kind()),
                "previous_kept": o.error.is_some() && o.kept,
                "expires_at": o.expires_at.map(crate::when::show_time),
            })
        })
        .collect();
    Ok(serde_json::to_string_pretty(
        &serde_json::json!({ "clusters": clusters }),
    )?)
}

/// Each failed cluster's error, one line each on stderr.
pub fn print_errors(outcomes: &[Outcome]) {
    for o in outcomes {
        if let Some(e) = &o.error {
            eprintln!("error: cluster {}: {e}", o.cluster_id);
        }
    }
}
