//! `bridgerest drills`: the kept drill reports, as the restore-test record an operator or an
//! auditor reads: a table, JSON, CSV, an HTML page or JUnit XML.

use anyhow::Result;

use crate::cli::DrillsArgs;
use crate::config::Config;
use crate::drill::report::{history, Report};
use crate::exit::Exit;
use crate::text::{excerpt, human_size, table};

pub async fn run(cfg: &Config, args: DrillsArgs) -> Result<Exit> {
    if let Some([report, text]) = args.note.as_deref() {
        return note(cfg, report, text);
    }
    if args.verify && args.from.is_none() {
        return verify(cfg, args.public_key.as_deref().map(std::path::Path::new));
    }
    if let (Some(file), false) = (&args.public_key, args.verify) {
        if args.from.is_some() {
            return Err(super::usage(anyhow::anyhow!(
                "--public-key with --from checks the bucket's reports against FILE: add --verify"
            )));
        }
        if !file.is_empty() {
            return Err(super::usage(anyhow::anyhow!(
                "--public-key FILE names the key to check against with --verify; alone, --public-key prints this host's"
            )));
        }
        let key = crate::drill::seal::public_key(cfg).map_err(|e| anyhow::anyhow!(e))?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        println!("ed25519 {hex} {}", crate::drill::seal::fingerprint(&key));
        return Ok(Exit::Success);
    }
    let from = match &args.from {
        None => None,
        Some(u) if u.is_empty() => match &cfg.drill.bucket {
            Some(b) => Some(b.url.clone()),
            None => return Err(super::usage(anyhow::anyhow!(
                "--from without a URL reads drill.reports_url, which the config does not set: give the bucket, e.g. --from s3://drills/fleet-a"
            ))),
        },
        Some(u) => Some(url::Url::parse(u).map_err(|e| {
            super::usage(anyhow::anyhow!(
                "--from {:?}: {e}; give the bucket and prefix, e.g. s3://drills/fleet-a",
                excerpt(u, 100)
            ))
        })?),
    };
    if let Some(id) = &args.cluster {
        // A bucket holds every worker's clusters, configured here or not: only the id's form
        // is checked then.
        match from {
            Some(_) if crate::ids::is_stanza_name(id) => {}
            Some(_) => {
                return Err(super::usage(anyhow::anyhow!(
                    "--cluster {:?} is not a cluster id",
                    excerpt(id, 60)
                )))
            }
            None => check_cluster(cfg, id)?,
        }
    }
    if let (Some(since), Some(until)) = (args.since, args.until) {
        if until <= since {
            return Err(super::usage(anyhow::anyhow!(
                "--until {} is not after --since {}: give a period that ends after it starts",
                crate::when::show_time(until),
                crate::when::show_time(since)
            )));
        }
    }
    if let (true, Some(url)) = (args.verify, &from) {
        return verify_bucket(
            cfg,
            url,
            args.cluster.as_deref(),
            args.public_key.as_deref(),
        )
        .await;
    }
    let mut reports = match &from {
        None => history(&cfg.drill.reports, args.cluster.as_deref(), args.since),
        Some(url) => {
            let bucket = crate::drill::bucket::Bucket::open(cfg, url)
                .map_err(|e| super::usage(anyhow::anyhow!("--from: {e}")))?;
            bucket
                .history(args.cluster.as_deref(), args.since)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read the drill reports: {e}"))?
        }
    };
    if let Some(until) = args.until {
        reports.retain(|r| r.started_at < until);
    }
    if let Some(file) = &args.html {
        let now = time::OffsetDateTime::now_utc();
        let page = crate::drill::html::page(
            &crate::drill::html::Context::new(
                cfg,
                args.since,
                args.until.unwrap_or(now),
                from.is_some(),
            ),
            &reports,
            now,
        );
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
    if let Some(file) = &args.junit {
        let xml = crate::drill::junit::document(&reports);
        crate::fsutil::write_atomic(file, xml.as_bytes(), 0o644, crate::fsutil::Owner::default())
            .map_err(|e| super::usage(anyhow::anyhow!("cannot write {}: {e:#}", file.display())))?;
        let checks: usize = reports.iter().map(|r| r.checks.len()).sum();
        println!(
            "wrote {} ({} drills, {} checks as JUnit test cases)",
            file.display(),
            reports.len(),
            checks
        );
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
    if args.csv {
        let rows: Vec<Vec<String>> = reports.iter().map(csv_row).collect();
        print!("{}", csv(&CSV_HEADER, &rows));
        return Ok(Exit::Success);
    }
    let rows: Vec<Vec<String>> = reports.iter().map(row).collect();
    if rows.is_empty() {
        println!(
            "no drill reports in {}{}: `bridgerest drill --cluster ID` makes one (drill.reports keeps {} per cluster)",
            from.as_ref().map_or_else(|| cfg.drill.reports.display().to_string(), |u| u.to_string()),
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

/// `--cluster` names a configured cluster: a typo is a usage error, not an empty record.
fn check_cluster(cfg: &Config, id: &str) -> Result<()> {
    if cfg.provider_of(id).is_some() {
        return Ok(());
    }
    let listed: Vec<String> = cfg.all_clusters().into_iter().map(|(_, c)| c).collect();
    let shown = excerpt(id, 80);
    let well_formed = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let what = if well_formed {
        format!("no [[cluster]] in {} has id {shown}", cfg.path.display())
    } else {
        format!("{shown:?} is not a cluster id (letters, digits and dashes)")
    };
    Err(super::usage(anyhow::anyhow!(
        "drills --cluster: {what}: give one of the configured ids ({})",
        if listed.is_empty() {
            "none is configured".to_string()
        } else {
            listed.join(", ")
        }
    )))
}

/// The columns of `--csv`: one per figure, for a spreadsheet or a script.
const CSV_HEADER: [&str; 14] = [
    "CLUSTER",
    "STARTED",
    "FINISHED",
    "TARGET",
    "TARGET_KIND",
    "BACKUP",
    "VERDICT",
    "PROBLEM",
    "RESTORE_SECONDS",
    "RECOVERY_SECONDS",
    "CHECKS_SECONDS",
    "TOTAL_SECONDS",
    "LAG_SECONDS",
    "BYTES_FETCHED",
];

/// One drill for `--csv`: RFC 3339 times, plain numbers (seconds, bytes), the whole verdict
/// and first problem, empty cells where a figure is unknown.
fn csv_row(r: &Report) -> Vec<String> {
    let num = |s: Option<f64>| s.map(|s| s.to_string()).unwrap_or_default();
    vec![
        defuse(&r.cluster),
        crate::when::show_time(r.started_at),
        r.finished_at
            .map(crate::when::show_time)
            .unwrap_or_default(),
        defuse(&r.target),
        defuse(&r.target_kind),
        defuse(r.backup.as_deref().unwrap_or_default()),
        if r.ok { "ok" } else { "failed" }.into(),
        defuse(&r.problem().unwrap_or_default()),
        num(r.restore_seconds),
        num(r.recovery_seconds),
        num(r.checks_seconds),
        num(r.total_seconds),
        num(r.lag_seconds),
        r.bytes_fetched.map(|b| b.to_string()).unwrap_or_default(),
    ]
}

/// A text cell a spreadsheet would take for a formula (`= + - @`, tab, CR first) gets a `'`
/// in front (OWASP's CSV injection advice; [`csv`] quotes every cell). Numbers are ours and
/// stay numbers.
fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
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

/// The key `--verify` checks against: FILE, or this host's.
fn verify_key(cfg: &Config, file: Option<&std::path::Path>) -> Result<Vec<u8>> {
    use crate::drill::seal;
    match file.filter(|f| !f.as_os_str().is_empty()) {
        Some(f) => seal::read_public(f),
        None => seal::public_key(cfg),
    }
    .map_err(|e| super::usage(anyhow::anyhow!("--verify: {e}")))
}

/// `drills --verify --from [URL] [--public-key FILE]`: every object of the bucket checked as
/// the local reports are. The bucket keeps no chain head: deleting a cluster's newest reports
/// there is not seen (a gap in the middle is).
async fn verify_bucket(
    cfg: &Config,
    url: &url::Url,
    cluster: Option<&str>,
    file: Option<&str>,
) -> Result<Exit> {
    use crate::drill::seal;
    let public = verify_key(cfg, file.map(std::path::Path::new))?;
    let bucket = crate::drill::bucket::Bucket::open(cfg, url)
        .map_err(|e| super::usage(anyhow::anyhow!("--from: {e}")))?;
    let objects = bucket
        .objects(cluster)
        .await
        .map_err(|e| anyhow::anyhow!("cannot verify the drill reports: {e}"))?;
    let v = seal::check(objects, &public, |_| None, cfg.drill.keep_reports);
    Ok(said(&v, url.as_ref(), &public))
}

/// `drills --verify [--public-key FILE]`.
fn verify(cfg: &Config, file: Option<&std::path::Path>) -> Result<Exit> {
    let public = verify_key(cfg, file)?;
    let v = crate::drill::seal::verify(cfg, &public);
    Ok(said(&v, &cfg.drill.reports.display().to_string(), &public))
}

/// Prints what `--verify` found in `place`; failure if anything failed.
fn said(v: &crate::drill::seal::Verdict, place: &str, public: &[u8]) -> Exit {
    use crate::drill::seal;
    for n in &v.notes {
        println!("note:   {n}");
    }
    for p in &v.problems {
        println!("FAILED  {p}");
    }
    println!(
        "{}: {} report(s) of {} cluster(s) in {} verified with key {}{}",
        if v.problems.is_empty() {
            "ok"
        } else {
            "FAILED"
        },
        v.verified,
        v.clusters,
        place,
        seal::fingerprint(public),
        match v.problems.len() {
            0 => String::new(),
            n => format!("; {n} problem(s)"),
        }
    );
    if v.problems.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    }
}

/// `drills --note REPORT TEXT`: a signed follow-up beside the report.
fn note(cfg: &Config, report: &str, text: &str) -> Result<Exit> {
    let name = std::path::Path::new(report)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".json"))
        .ok_or_else(|| {
            super::usage(anyhow::anyhow!(
                "--note {}: give a drill report's file name or path (<cluster>-<started>.json)",
                excerpt(report, 120)
            ))
        })?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(super::usage(anyhow::anyhow!(
            "--note TEXT: give the follow-up as 1 to 4000 characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(super::usage(anyhow::anyhow!(
            "--note TEXT holds a control character: give plain text (line breaks and tabs are kept)"
        )));
    }
    let by = std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty() && u.len() <= 64 && u.chars().all(|c| c.is_ascii_graphic()))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()));
    let (note, file) = crate::drill::seal::note(cfg, name, text, &by)
        .map_err(|e| super::usage(anyhow::anyhow!("--note: {e}")))?;
    let written = crate::drill::report::write_note(&cfg.drill.reports, &file, &note)?;
    println!(
        "note:      {} (follows up {name}, signed with key {})",
        written.display(),
        note.key
    );
    Ok(Exit::Success)
}
