//! The restore-test evidence as one self-contained HTML page for an auditor (`bridgerest
//! drills --html`), for a period: the scope (every configured cluster, drilled or not, and
//! where its copies were restored), who made the page where, what each check proves, per
//! cluster its drills with each verdict, failure and restore time against its objective
//! (inline SVG charts on a log scale), the signatures checked, and what that evidences for
//! ISO 27001:2022 A.8.13, SOC 2 A1.2 and DORA Art. 12(2)/(3). No scripts, fonts, styles or
//! images from elsewhere: it opens offline, fits 1280 px and prints on A4. Every text from a
//! report (the reports directory is the drilling user's) is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use super::report::{CheckName, Report};
use crate::config::Config;
use crate::text::{duration_secs, human_size};
use crate::when::show_time;

/// What the page says beside the reports: the period, the configured clusters, the queries,
/// and the signatures' check.
#[derive(Debug, Clone)]
pub struct Context {
    /// The period's start (none: since the oldest report kept).
    pub since: Option<OffsetDateTime>,
    /// The period's end (excluded).
    pub until: Option<OffsetDateTime>,
    /// Every configured cluster: its id, its provider's name, its restore-time objective.
    pub clusters: Vec<(String, String, Option<f64>)>,
    /// `drill.queries`, as configured.
    pub queries: Vec<String>,
    /// The host that made the page.
    pub host: String,
    /// The signatures' check.
    pub verification: Verification,
    /// The follow-ups (`drills --note`) that checked out, by the name of the report each
    /// follows up.
    pub followups: BTreeMap<String, Vec<super::report::Note>>,
}

/// What the page says of the reports' signatures.
#[derive(Debug, Clone)]
pub enum Verification {
    /// `drills --verify`'s check of drill.reports with the key whose fingerprint is given.
    Checked {
        verified: usize,
        clusters: usize,
        problems: Vec<String>,
        fingerprint: String,
    },
    /// Not checked, and why.
    Unchecked(String),
}

impl Context {
    /// The context of a page of `cfg`'s reports from `since` to `until`; `bucket`: they were
    /// read from a bucket, whose signatures this page does not check.
    pub fn new(
        cfg: &Config,
        since: Option<OffsetDateTime>,
        until: OffsetDateTime,
        bucket: bool,
    ) -> Context {
        let mut followups: BTreeMap<String, Vec<super::report::Note>> = BTreeMap::new();
        let verification = if bucket {
            Verification::Unchecked(
                "the reports were read from a bucket: check them with drills --verify where they are kept".into(),
            )
        } else {
            // The public half only: making the page never makes a key.
            let (dir, _, public) = super::seal::key_files(cfg);
            match super::seal::read_public(&dir.join(public)) {
                Ok(key) => {
                    let v = super::seal::verify(cfg, &key);
                    for n in v.followups {
                        followups.entry(n.report.clone()).or_default().push(n);
                    }
                    Verification::Checked {
                        verified: v.verified,
                        clusters: v.clusters,
                        problems: v.problems,
                        fingerprint: super::seal::fingerprint(&key),
                    }
                }
                Err(e) => Verification::Unchecked(format!("no public key to check against ({e})")),
            }
        };
        Context {
            since,
            until: Some(until),
            clusters: cfg
                .all_clusters()
                .into_iter()
                .map(|(p, id)| {
                    let rto = cfg.drill.rto.of(&id).map(|d| d.as_secs_f64());
                    (id, p.title().to_string(), rto)
                })
                .collect(),
            queries: cfg.drill.queries.clone(),
            host: super::report::hostname(),
            verification,
            followups,
        }
    }
}

/// Text made safe for HTML (element content and quoted attributes).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// What a passed check proves, in one sentence.
pub fn proves(name: &CheckName) -> String {
    match name {
        CheckName::Plan => "The backup to restore and its WAL could be found in the repository for the target chosen.",
        CheckName::Space => "The copy fitted where it was restored, so a real restore there has the room it needs.",
        CheckName::Restore => "pgBackRest restored the backup set from the repository, checking each file against its recorded checksum.",
        CheckName::Verify => "pgbackrest verify read the repository's backups and WAL and found them complete and intact.",
        CheckName::Isolation => "The copy ran cut off (a private socket, no TCP, no archiving), so the drill could not touch the source or its repository.",
        CheckName::Recovery => "PostgreSQL replayed the archived WAL on the copy and was promoted: the copy is a working database.",
        CheckName::RecoveredTo => "Recovery reached the target time and stopped there: the recovery point (RPO) achieved is the one shown.",
        CheckName::Amcheck => "pg_amcheck found every table and B-tree index of every database consistent (the depth is in the detail).",
        CheckName::Query(_) => "The operator's query (text below) ran on the copy and returned what it must.",
        CheckName::Queries => "The role the operator's queries run as could be made on the copy.",
        CheckName::Timeout => "The drill finished within drill.timeout (when it fails, the drill proved nothing either way).",
        CheckName::Preempted => "No real restore of the cluster stopped the drill (when it fails, the drill proved nothing either way).",
        CheckName::Drill => "The drill ran to its end outside any single check (its copy, its lock, its PostgreSQL).",
        CheckName::Cleanup => "The copy was removed after the drill, leaving no restored data behind.",
        CheckName::Copy => "The provider made a new copy from its backups and the copy became ready.",
        CheckName::Connect => "The provider's copy took a TLS connection with the provider's credentials.",
        CheckName::CopyLeft => "The provider's copy was deleted after the drill.",
        CheckName::Checksums => "pg_checksums read every page of the stopped copy and found each page's data checksum correct.",
        CheckName::Command => "The operator's own validation (drill.command) ran against the copy and exited 0 within its deadline.",
        CheckName::Rto => "Restore and recovery together took no longer than the cluster's restore-time objective (RTO).",
        CheckName::Other(_) => "A check another bridgerest version wrote; its detail is as the report has it.",
    }
    .to_string()
}

/// Where a report's copy was restored.
fn place(r: &Report) -> String {
    match &r.at_provider {
        Some(c) => format!("at the provider ({})", c.provider),
        None => "this host".into(),
    }
}

/// The restore time a drill measured: restore and recovery here, the copy becoming ready at
/// a provider (the figure its `rto` check compares).
pub fn restore_time(r: &Report) -> Option<f64> {
    match &r.at_provider {
        Some(c) => c.ready_seconds,
        None => match (r.restore_seconds, r.recovery_seconds) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        },
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1240px;box-sizing:border-box}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}\
.box{max-width:100%;overflow-x:auto}\
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td{overflow-wrap:anywhere}td.n{white-space:nowrap}td.v{min-width:16em;max-width:40em}\
.ok{color:#176f2c;font-weight:bold}.failed,.never{color:#b00020;font-weight:bold}tr.never td{background:#fde7ea}\
.summary{margin:.5em 0}.followup{margin-top:.4em;padding:.3em;border-left:3px solid #176f2c;background:#eef6ef}.verify{padding:.5em;border:1px solid #999;background:#f7f7f7}.note{font-size:.85em;color:#555}\
code,pre{font-size:.9em;white-space:pre-wrap;overflow-wrap:anywhere}\
svg{display:block;margin:.5em 0;max-width:100%;height:auto}svg text{font-size:11px;fill:#333}\
@page{size:A4;margin:12mm}\
@media print{body{margin:0;max-width:none;font-size:9pt}.box{overflow:visible}table{font-size:7.5pt}tr,svg{break-inside:avoid}h2{break-after:avoid}}";

/// The page for `reports` (oldest first) in `ctx`, made at `now`.
pub fn page(ctx: &Context, reports: &[Report], now: OffsetDateTime) -> String {
    let mut by: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for (id, _, _) in &ctx.clusters {
        by.entry(id.as_str()).or_default();
    }
    for r in reports {
        by.entry(r.cluster.as_str()).or_default().push(r);
    }
    let never: Vec<&str> = by
        .iter()
        .filter(|(_, d)| d.is_empty())
        .map(|(c, _)| *c)
        .collect();
    let period = format!(
        "{} to {}",
        ctx.since
            .map_or_else(|| "the oldest report kept".into(), show_time),
        ctx.until.map_or_else(|| show_time(now), show_time)
    );
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>bridgerest restore drills</title><style>{STYLE}</style></head><body>\n<h1>Restore drills</h1>\n<p class=\"summary\">Period: <b>{}</b>. {} drills of {} clusters ({} configured{}). Made {} on host {} by bridgerest {}.</p>\n",
        escape(&period),
        reports.len(),
        by.len() - never.len(),
        ctx.clusters.len(),
        match never.len() {
            0 => String::new(),
            n => format!(", <span class=\"never\">{n} never drilled in the period</span>"),
        },
        show_time(now),
        escape(&ctx.host),
        env!("CARGO_PKG_VERSION")
    );
    h.push_str(&verification(ctx));
    h.push_str(&summary(ctx, &by, &never));
    h.push_str(&scope(ctx, &by));
    h.push_str(&who_and_where(reports));
    h.push_str(&criteria(ctx, reports));
    for (cluster, drills) in &by {
        h.push_str(&results(ctx, cluster, drills));
    }
    h.push_str("</body></html>\n");
    h
}

fn verification(ctx: &Context) -> String {
    match &ctx.verification {
        Verification::Checked {
            verified,
            clusters,
            problems,
            fingerprint,
        } => format!(
            "<p class=\"verify\">Verification: {verified} signed report(s) of {clusters} cluster(s) in the reports directory (every one kept, not only this period's) checked for signature and chain against the public key with fingerprint <code>{}</code>: {}</p>\n",
            escape(fingerprint),
            match problems.len() {
                0 => "<span class=\"ok\">all verified</span>.".to_string(),
                n => format!(
                    "<span class=\"failed\">{n} problem(s)</span>: {}.",
                    problems.iter().map(|p| escape(p)).collect::<Vec<_>>().join("; ")
                ),
            }
        ),
        Verification::Unchecked(why) => format!(
            "<p class=\"verify\">Verification: <span class=\"failed\">signatures not checked</span>: {}.</p>\n",
            escape(why)
        ),
    }
}

fn summary(ctx: &Context, by: &BTreeMap<&str, Vec<&Report>>, never: &[&str]) -> String {
    let failing: Vec<&str> = by
        .iter()
        .filter(|(_, d)| d.last().is_some_and(|r| !r.ok))
        .map(|(c, _)| *c)
        .collect();
    let provider = by
        .values()
        .flatten()
        .filter(|r| r.at_provider.is_some())
        .count();
    let total: usize = by.values().map(Vec::len).sum();
    let covered = match never.len() {
        0 => "<span class=\"ok\">met</span>: every configured cluster was drilled in the period"
            .to_string(),
        _ => format!(
            "<span class=\"failed\">not met</span>: never drilled in the period: {}",
            escape(&never.join(", "))
        ),
    };
    let last = match failing.len() {
        0 => String::new(),
        _ => format!(
            "; the last drill failed for {} (see its follow-up below)",
            escape(&failing.join(", "))
        ),
    };
    let signed = match &ctx.verification {
        Verification::Checked { problems, .. } if problems.is_empty() => {
            "signed and verified (the verification line above)"
        }
        Verification::Checked { .. } => {
            "<span class=\"failed\">not all verified</span> (the verification line above)"
        }
        Verification::Unchecked(_) => "<span class=\"failed\">not verified here</span>",
    };
    let mut s = String::from("<h2>Summary</h2>\n<div class=\"box\"><table><tr><th>Control</th><th>What it asks</th><th>Evidence on this page</th><th>Status</th></tr>\n");
    let rows = [
        (
            "ISO/IEC 27001:2022 A.8.13",
            "Backup copies regularly tested.",
            format!("Scope and Results: each cluster's drills in the period, each a restore of a backup checked as Criteria says; reports {signed}."),
            format!("{covered}{last}."),
        ),
        (
            "SOC 2 A1.2",
            "Backup processes and recovery infrastructure in place and monitored.",
            format!("Results: {total} drills with verdicts, restore times against each cluster's objective (RTO) and the recovery point reached (RPO); failures with their follow-up."),
            format!("{covered}{last}."),
        ),
        (
            "SOC 2 A1.3",
            "Recovery plan procedures supporting system recovery tested.",
            "Results and Criteria: each drill a recovery of the cluster to a point in time, with what each check proves.".to_string(),
            format!("{covered}{last}."),
        ),
        (
            "DORA Art. 12(2)",
            "Backup and restoration procedures tested periodically.",
            "Results: the dates of each cluster's drills in the period.".to_string(),
            format!("{covered}."),
        ),
        (
            "DORA Art. 12(3)",
            "Restoring on ICT systems segregated from the source.",
            format!("Scope, Restored: every copy was a new database, restored on this host ({}) or made at the provider ({provider}), never the source cluster. Whether this host is segregated from the source's systems is the operator's to show.", total - provider),
            match total {
                0 => "<span class=\"failed\">not met</span>: no drill in the period".to_string(),
                _ => "Evidenced for the drills shown.".to_string(),
            },
        ),
    ];
    for (c, asks, ev, st) in rows {
        let _ = writeln!(
            s,
            "<tr><td class=\"n\">{c}</td><td>{asks}</td><td>{ev}</td><td>{st}</td></tr>"
        );
    }
    s.push_str("</table></div>\n");
    s
}

/// Each host and set of versions the period's drills ran with, as their reports say.
fn who_and_where(reports: &[Report]) -> String {
    let mut seen: BTreeMap<
        Option<&super::report::Ran>,
        (Vec<&str>, usize, OffsetDateTime, OffsetDateTime),
    > = BTreeMap::new();
    for r in reports {
        let e = seen
            .entry(r.ran.as_ref())
            .or_insert((vec![], 0, r.started_at, r.started_at));
        if !e.0.contains(&r.cluster.as_str()) {
            e.0.push(&r.cluster);
        }
        e.1 += 1;
        e.2 = e.2.min(r.started_at);
        e.3 = e.3.max(r.started_at);
    }
    let mut s = String::from("<h2>Who and where</h2>\n<p class=\"note\">The host each drill ran on and the versions it ran with, as each report recorded them (a drill at the provider runs no pgBackRest here; its PostgreSQL is the copy's, as it answered).</p>\n<div class=\"box\"><table><tr><th>Host</th><th>bridgerest</th><th>pgBackRest</th><th>PostgreSQL</th><th>Clusters</th><th>Drills</th><th>First</th><th>Last</th></tr>\n");
    let dash = |v: Option<&String>| v.map_or_else(|| "—".to_string(), |v| escape(v));
    for (ran, (clusters, n, first, last)) in &seen {
        let cells = match ran {
            Some(r) => format!(
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                escape(&r.host),
                escape(&r.bridgerest),
                dash(r.pgbackrest.as_ref()),
                dash(r.postgresql.as_ref())
            ),
            None => "<td colspan=\"4\">not recorded (reports written before bridgerest recorded it)</td>".into(),
        };
        let _ = writeln!(
            s,
            "<tr>{cells}<td>{}</td><td class=\"n\">{n}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&clusters.join(", ")),
            show_time(*first),
            show_time(*last)
        );
    }
    if seen.is_empty() {
        s.push_str("<tr><td colspan=\"8\">no drill in the period</td></tr>\n");
    }
    s.push_str("</table></div>\n");
    s
}

fn scope(ctx: &Context, by: &BTreeMap<&str, Vec<&Report>>) -> String {
    let mut s = String::from("<h2>Scope</h2>\n<div class=\"box\"><table><tr><th>Cluster</th><th>Provider</th><th>Restored</th><th>Drills</th><th>Passed</th><th>Failed</th><th>Last drill</th><th>RTO objective</th></tr>\n");
    for (cluster, drills) in by {
        let conf = ctx.clusters.iter().find(|(id, _, _)| id == cluster);
        let mut places: Vec<String> = drills.iter().map(|r| place(r)).collect();
        places.sort();
        places.dedup();
        let passed = drills.iter().filter(|r| r.ok).count();
        let _ = writeln!(
            s,
            "<tr{}><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{passed}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            if drills.is_empty() { " class=\"never\"" } else { "" },
            escape(cluster),
            conf.map_or_else(|| "not configured here".into(), |c| escape(&c.1)),
            if drills.is_empty() { "<span class=\"never\">never drilled in the period</span>".to_string() } else { escape(&places.join(", ")) },
            drills.len(),
            drills.len() - passed,
            drills.last().map_or_else(|| "-".into(), |r| format!("{} ({})", show_time(r.started_at), if r.ok { "<span class=\"ok\">passed</span>" } else { "<span class=\"failed\">failed</span>" })),
            conf.and_then(|c| c.2).map_or_else(|| "none".into(), duration_secs),
        );
    }
    s.push_str("</table></div>\n");
    s
}

fn criteria(ctx: &Context, reports: &[Report]) -> String {
    let mut names: Vec<CheckName> = Vec::new();
    for c in reports.iter().flat_map(|r| &r.checks) {
        if !names.contains(&c.name) {
            names.push(c.name.clone());
        }
    }
    let mut s = String::from("<h2>Criteria</h2>\n<p>A drill passes when every one of its checks passes. What each check in these reports proves when it passes:</p>\n<div class=\"box\"><table><tr><th>Check</th><th>Proves</th></tr>\n");
    for n in &names {
        let _ = writeln!(
            s,
            "<tr><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&n.as_str()),
            escape(&proves(n))
        );
    }
    s.push_str("</table></div>\n");
    if !ctx.queries.is_empty() {
        s.push_str("<p>The operator's queries (drill.queries as configured now; query N is the Nth):</p>\n<ol>");
        for q in &ctx.queries {
            let _ = write!(s, "<li><pre>{}</pre></li>", escape(q));
        }
        s.push_str("</ol>\n");
    }
    s
}

fn results(ctx: &Context, cluster: &str, drills: &[&Report]) -> String {
    let rto = ctx
        .clusters
        .iter()
        .find(|(id, _, _)| id == cluster)
        .and_then(|c| c.2)
        .or_else(|| drills.iter().rev().find_map(|r| r.rto_seconds));
    let mut h = String::new();
    let _ = writeln!(h, "<h2>Cluster {}</h2>", escape(cluster));
    if drills.is_empty() {
        h.push_str("<p class=\"never\">Never drilled in the period: no evidence that its backups restore.</p>\n");
        return h;
    }
    let passed = drills.iter().filter(|r| r.ok).count();
    let times: Vec<f64> = drills.iter().filter_map(|r| restore_time(r)).collect();
    let over = rto.map_or(0, |o| times.iter().filter(|t| **t > o).count());
    let _ = writeln!(
        h,
        "<p class=\"summary\">{} drills, {} passed, {} failed; restore time {}{}.</p>",
        drills.len(),
        passed,
        drills.len() - passed,
        match (
            times.iter().copied().reduce(f64::min),
            times.iter().copied().reduce(f64::max)
        ) {
            (Some(a), Some(b)) => format!("{} to {}", duration_secs(a), duration_secs(b)),
            _ => "not measured".into(),
        },
        match rto {
            Some(o) => format!(
                " against an objective of {}: {}",
                duration_secs(o),
                match over {
                    0 => "<span class=\"ok\">all within it</span>".to_string(),
                    n => format!("<span class=\"failed\">{n} over it</span>"),
                }
            ),
            None => ", no objective set".into(),
        }
    );
    let points: Vec<Point> = drills
        .iter()
        .map(|r| Point {
            at: r.started_at,
            value: restore_time(r),
            ok: r.ok,
        })
        .collect();
    h.push_str(&chart(
        "Restore time (restore + recovery; at a provider: the copy becoming ready)",
        &points,
        rto,
        "RTO objective",
    ));
    let lags: Vec<Point> = drills
        .iter()
        .map(|r| Point {
            at: r.started_at,
            value: r.lag_seconds,
            ok: r.ok,
        })
        .collect();
    if lags.iter().any(|p| p.value.is_some()) {
        h.push_str(&chart(
            "Recovery lag (how far short of the target the recovery point fell: RPO)",
            &lags,
            None,
            "",
        ));
    }
    h.push_str("<div class=\"box\"><table><tr><th>Started</th><th>Restored</th><th>Target</th><th>Backup</th><th>Verdict</th><th>Restore time</th><th>Checks</th><th>Recovered to</th><th>Lag</th><th>Fetched</th></tr>\n");
    for r in drills {
        let failing: Vec<String> = r
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", escape(&c.name.as_str()), escape(&c.detail)))
            .collect();
        let mut verdict = match (r.ok, failing.is_empty()) {
            (true, _) => "<span class=\"ok\">passed</span>".to_string(),
            (false, true) => "<span class=\"failed\">failed</span>".to_string(),
            (false, false) => format!(
                "<span class=\"failed\">failed</span><br>{}",
                failing.join("<br>")
            ),
        };
        for n in ctx
            .followups
            .get(&super::report::report_name(r))
            .into_iter()
            .flatten()
        {
            let _ = write!(
                verdict,
                "<div class=\"followup\"><b>Follow-up</b> ({}, {}; signed): {}</div>",
                escape(&n.by),
                show_time(n.at),
                escape(&n.text).replace('\n', "<br>")
            );
        }
        let _ = writeln!(
            h,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td class=\"v\">{verdict}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            show_time(r.started_at),
            escape(&place(r)),
            escape(&r.target),
            escape(&r.target_kind),
            match &r.at_provider {
                Some(c) => format!(
                    "copy {}{}",
                    escape(c.id.as_deref().unwrap_or(&c.name)),
                    if c.deleted { ", deleted" } else { ", <span class=\"failed\">not deleted</span>" }
                ),
                None => escape(r.backup.as_deref().unwrap_or("-")),
            },
            restore_time(r).map_or_else(|| "-".into(), duration_secs),
            r.checks_seconds.map_or_else(|| "-".into(), duration_secs),
            r.recovered_to.map_or_else(|| "-".into(), show_time),
            r.lag_seconds.map_or_else(|| "-".into(), duration_secs),
            r.bytes_fetched.map_or_else(|| "-".into(), human_size),
        );
    }
    h.push_str("</table></div>\n");
    h
}

/// One drill on a chart.
struct Point {
    at: OffsetDateTime,
    value: Option<f64>,
    ok: bool,
}

/// The lowest value a log-scale chart draws (seconds): smaller ones are drawn there.
const FLOOR: f64 = 0.1;

/// The log scale from `lo` to `hi` (seconds): where `v` falls, 0 at `lo`, 1 at `hi`,
/// values outside drawn at the ends.
pub fn log_scale(v: f64, lo: f64, hi: f64) -> f64 {
    let (lo, hi) = (lo.max(FLOOR), hi.max(lo.max(FLOOR) * 10.0));
    ((v.max(lo).ln() - lo.ln()) / (hi.ln() - lo.ln())).clamp(0.0, 1.0)
}

/// The ticks of a log axis from `lo` to `hi` seconds, each with its label.
pub fn ticks(lo: f64, hi: f64) -> Vec<(f64, &'static str)> {
    const ALL: [(f64, &str); 10] = [
        (0.1, "0.1 s"),
        (1.0, "1 s"),
        (10.0, "10 s"),
        (60.0, "1 min"),
        (600.0, "10 min"),
        (3600.0, "1 h"),
        (6.0 * 3600.0, "6 h"),
        (24.0 * 3600.0, "1 d"),
        (7.0 * 24.0 * 3600.0, "7 d"),
        (30.0 * 24.0 * 3600.0, "30 d"),
    ];
    ALL.into_iter()
        .filter(|(t, _)| *t >= lo && *t <= hi)
        .collect()
}

const W: f64 = 1000.0;
const H: f64 = 200.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 40.0;

/// A bar per drill on a log scale of seconds, dated along the x axis, with the objective as a
/// dashed line and a legend.
fn chart(title: &str, points: &[Point], objective: Option<f64>, objective_name: &str) -> String {
    let values = points.iter().filter_map(|p| p.value).chain(objective);
    let (lo, hi) = values.fold((f64::MAX, 0.0_f64), |(a, b), v| (a.min(v), b.max(v)));
    // Whole decades around the values: an hour among minutes keeps the minutes readable.
    let lo = 10f64.powf(lo.max(FLOOR).log10().floor()).max(FLOOR);
    let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
    let plot_h = H - TOP - BOTTOM;
    let plot_w = W - LEFT - 20.0;
    let y = |v: f64| TOP + plot_h * (1.0 - log_scale(v, lo, hi));
    let n = points.len().max(1) as f64;
    let bw = (plot_w / n * 0.7).clamp(2.0, 40.0);
    let mut s = format!(
        "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\"><text x=\"{LEFT}\" y=\"14\">{t} — log scale</text>",
        t = escape(title)
    );
    // The axes and the y ticks.
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#666\"/><line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#666\"/>",
        b = TOP + plot_h,
        r = LEFT + plot_w
    );
    for (t, label) in ticks(lo, hi) {
        let ty = y(t);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\" stroke=\"#e4e4e4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
            LEFT + plot_w,
            LEFT - 4.0,
            ty + 4.0
        );
    }
    let step = (points.len() / 6).max(1);
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + (i as f64 + 0.15) * plot_w / n;
        if let Some(v) = p.value {
            let top = y(v);
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
                (TOP + plot_h - top).max(1.0),
                if p.ok { "#3b6fb6" } else { "#b00020" },
                show_time(p.at),
                duration_secs(v)
            );
        }
        if i % step == 0 || i + 1 == points.len() {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                TOP + plot_h + 14.0,
                p.at.date()
            );
        }
    }
    if let Some(o) = objective {
        let oy = y(o);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{oy:.1}\" x2=\"{:.1}\" y2=\"{oy:.1}\" stroke=\"#d9822b\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
            LEFT + plot_w
        );
    }
    // The legend.
    let ly = H - 8.0;
    let _ = write!(
        s,
        "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"#3b6fb6\"/><text x=\"{:.1}\" y=\"{ly}\">passed drill</text><rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"#b00020\"/><text x=\"{:.1}\" y=\"{ly}\">failed drill</text>",
        ly - 9.0,
        LEFT + 14.0,
        LEFT + 110.0,
        ly - 9.0,
        LEFT + 124.0
    );
    if let Some(o) = objective {
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d9822b\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"{:.1}\" y=\"{ly}\">{} ({})</text>",
            LEFT + 220.0,
            ly - 4.0,
            LEFT + 250.0,
            ly - 4.0,
            LEFT + 256.0,
            escape(objective_name),
            duration_secs(o)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{ly}\" text-anchor=\"end\">below {} drawn at {}</text>",
        LEFT + plot_w,
        duration_secs(lo),
        duration_secs(lo)
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_scale_keeps_minutes_readable_beside_an_outlier_of_hours() {
        // Five minutes against six hours: on a linear scale 1.4 % of the height.
        let five = log_scale(300.0, 1.0, 100_000.0);
        assert!(five > 0.45 && five < 0.55, "{five}");
        assert_eq!(log_scale(0.0, 1.0, 1000.0), 0.0);
        assert_eq!(log_scale(1e9, 1.0, 1000.0), 1.0);
        assert!((log_scale(10.0, 1.0, 100.0) - 0.5).abs() < 1e-9);
        let t: Vec<&str> = ticks(10.0, 100_000.0).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["10 s", "1 min", "10 min", "1 h", "6 h", "1 d"]);
    }

    #[test]
    fn a_report_string_is_escaped() {
        assert_eq!(
            escape("<script>a('x')&\"</script>\u{7}"),
            "&lt;script&gt;a(&#39;x&#39;)&amp;&quot;&lt;/script&gt;\u{fffd}"
        );
    }

    #[test]
    fn every_check_says_what_it_proves() {
        for n in [
            "plan",
            "space",
            "restore",
            "verify",
            "isolation",
            "recovery",
            "recovered_to",
            "amcheck",
            "query 1",
            "queries",
            "timeout",
            "preempted",
            "drill",
            "cleanup",
            "copy",
            "connect",
            "copy_left",
            "rto",
            "future",
        ] {
            let p = proves(&CheckName::parse(n));
            assert!(p.ends_with('.') && p.len() > 30, "{n}: {p}");
        }
    }

    #[test]
    fn a_page_flags_a_configured_cluster_never_drilled_and_shows_the_period() {
        let ctx = Context {
            since: Some(time::macros::datetime!(2026-10-01 00:00 UTC)),
            until: Some(time::macros::datetime!(2026-12-01 00:00 UTC)),
            clusters: vec![("quiet".into(), "Crunchy Bridge".into(), Some(3600.0))],
            queries: vec!["select count(*) from t".into()],
            host: "h".into(),
            verification: Verification::Unchecked("test".into()),
            followups: BTreeMap::new(),
        };
        let p = page(&ctx, &[], time::macros::datetime!(2026-12-02 00:00 UTC));
        assert!(p.contains("Period: <b>2026-10-01"), "{p}");
        assert!(
            p.contains("class=\"never\"><td class=\"n\">quiet</td>"),
            "{p}"
        );
        assert!(p.contains("never drilled in the period: quiet"), "{p}");
        assert!(p.contains("select count(*) from t"), "{p}");
    }

    #[test]
    fn who_and_where_names_each_host_and_versions_the_reports_recorded() {
        use super::super::report::Ran;
        let at =
            |h: u8| time::macros::datetime!(2026-11-02 03:00 UTC) + time::Duration::hours(h.into());
        let mut a = Report::new(
            "a",
            "main",
            crate::drill::Target::Latest,
            at(0),
            std::path::Path::new("/s"),
        );
        a.ran = Some(Ran {
            host: "dr-1".into(),
            bridgerest: "0.9.0".into(),
            pgbackrest: Some("2.45".into()),
            postgresql: Some("15.14 (Debian 15.14-0+deb12u1)".into()),
        });
        let mut b = a.clone();
        b.cluster = "b".into();
        b.started_at = at(5);
        let mut c = a.clone();
        c.started_at = at(9);
        c.ran = None;
        let mut d = a.clone();
        d.cluster = "<x>".into();
        d.ran.as_mut().unwrap().pgbackrest = None;
        let w = who_and_where(&[a, b, c, d]);
        assert!(
            w.contains("<tr><td>dr-1</td><td>0.9.0</td><td>2.45</td><td>15.14 (Debian 15.14-0+deb12u1)</td><td>a, b</td><td class=\"n\">2</td><td class=\"n\">2026-11-02T03:00:00Z</td><td class=\"n\">2026-11-02T08:00:00Z</td></tr>"),
            "{w}"
        );
        assert!(w.contains("<td>dr-1</td><td>0.9.0</td><td>—</td><td>15.14 (Debian 15.14-0+deb12u1)</td><td>&lt;x&gt;</td>"), "{w}");
        assert!(w.contains("<td colspan=\"4\">not recorded (reports written before bridgerest recorded it)</td><td>a</td><td class=\"n\">1</td>"), "{w}");
        assert!(who_and_where(&[]).contains("no drill in the period"));
    }
}
