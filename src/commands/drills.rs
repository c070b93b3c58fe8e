//! `bridgerest drills`: the kept drill reports, as the restore-test record an operator or an
//! auditor reads: a table, JSON or CSV.

use anyhow::Result;

use crate::cli::DrillsArgs;
use crate::config::Config;
use crate::drill::report::{history, Report};
use crate::exit::Exit;
use crate::text::{excerpt, human_size, table};

pub fn run(cfg: &Config, args: DrillsArgs) -> Result<Exit> {
    let reports = history(&cfg.drill.reports, args.cluster.as_deref(), args.since);
    if let Some(file) = &args.html {
        let page = crate::drill::html::page(&reports, time::OffsetDateTime::now_utc());
        crate::fsutil::write_atomic(
            file,
            page.as_bytes(),
            0o644,
            crate::fsutil::Owner::default(),
        )
        .map_err(|e| super::usage(anyhow::anyhow!("cannot write {}: {e:#}", file.display())))?;
        println!("wrote {} ({} drills)", file.display(), reports.len());
        return Ok(Exit::Success);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(Exit::Success);
    }
    let header = [
        "CLUSTER", "STARTED", "TARGET", "VERDICT", "RESTORE", "RECOVERY", "CHECKS", "LAG",
        "FETCHED",
    ];
    let rows: Vec<Vec<String>> = reports.iter().map(row).collect();
    if args.csv {
        print!("{}", csv(&header, &rows));
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        println!(
            "no drill reports in {}{}: `bridgerest drill --cluster ID` makes one (drill.reports keeps {} per cluster)",
            cfg.drill.reports.display(),
            args.cluster.map(|c| format!(" for cluster {c}")).unwrap_or_default(),
            cfg.drill.keep_reports
        );
        return Ok(Exit::Success);
    }
    print!("{}", table(&header, &rows));
    Ok(Exit::Success)
}

fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), |s| format!("{s:.1}s"))
}

fn row(r: &Report) -> Vec<String> {
    vec![
        excerpt(&r.cluster, 40),
        crate::when::show_time(r.started_at),
        format!("{} ({})", excerpt(&r.target, 40), r.target_kind),
        match r.problem() {
            None if r.ok => "ok".into(),
            None => "failed".into(),
            Some(p) => format!("failed: {}", excerpt(&p, 80)),
        },
        secs(r.restore_seconds),
        secs(r.recovery_seconds),
        secs(r.checks_seconds),
        secs(r.lag_seconds),
        r.bytes_fetched.map_or_else(|| "-".into(), human_size),
    ]
}

/// RFC 4180: every field quoted, quotes doubled, rows ended by CRLF.
fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: Vec<&str>| {
        let mut s = cells
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(",");
        s.push_str("\r\n");
        s
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
