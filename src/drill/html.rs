//! The restore-test evidence as one self-contained HTML page (`bridgerest drills --html`): per
//! cluster, its drill history with each verdict and the failing checks spelled out, and
//! inline SVG charts of the time per phase and of the recovery lag. No scripts, fonts,
//! styles or images from elsewhere: it opens offline and prints. Every text from a report
//! (the reports directory is the drilling user's) is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use super::report::Report;
use crate::text::{human_size, seconds as secs};
use crate::when::show_time;

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

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td{white-space:nowrap}td.v{white-space:normal;max-width:28em}.ok{color:#176f2c;font-weight:bold}.failed{color:#b00020;font-weight:bold}.summary{margin:.5em 0}\
svg{display:block;margin:.5em 0}svg text{font-size:11px;fill:#333}@media print{body{margin:0}h2{page-break-before:auto}}";

/// The page for `reports` (oldest first), made at `now`.
pub fn page(reports: &[Report], now: OffsetDateTime) -> String {
    let mut by: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for r in reports {
        by.entry(r.cluster.as_str()).or_default().push(r);
    }
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bridgerest restore drills</title><style>{STYLE}</style></head><body>\n<h1>Restore drills</h1>\n<p class=\"summary\">{} drills of {} clusters, made {} by bridgerest {}.</p>\n",
        reports.len(),
        by.len(),
        show_time(now),
        env!("CARGO_PKG_VERSION")
    );
    if reports.is_empty() {
        h.push_str("<p>No drill reports were found.</p>\n");
    }
    for (cluster, drills) in &by {
        let passed = drills.iter().filter(|r| r.ok).count();
        let _ = write!(
            h,
            "<h2>Cluster {}</h2>\n<p class=\"summary\">{} drills, {} passed, {} failed; the last {} ({}).</p>\n",
            escape(cluster),
            drills.len(),
            passed,
            drills.len() - passed,
            drills
                .last()
                .map_or_else(String::new, |r| show_time(r.started_at)),
            match drills.last().is_some_and(|r| r.ok) {
                true => "<span class=\"ok\">passed</span>",
                false => "<span class=\"failed\">failed</span>",
            }
        );
        h.push_str(&phase_chart(drills));
        h.push_str(&lag_chart(drills));
        h.push_str("<table><tr><th>Started</th><th>Target</th><th>Backup</th><th>Verdict</th><th>Restore</th><th>Recovery</th><th>Checks</th><th>Lag</th><th>Fetched</th></tr>\n");
        for r in drills {
            let failing: Vec<String> = r
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", escape(&c.name.as_str()), escape(&c.detail)))
                .collect();
            let verdict = match (r.ok, failing.is_empty()) {
                (true, _) => "<span class=\"ok\">ok</span>".to_string(),
                (false, true) => "<span class=\"failed\">failed</span>".to_string(),
                (false, false) => format!(
                    "<span class=\"failed\">failed</span><br>{}",
                    failing.join("<br>")
                ),
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td class=\"v\">{verdict}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                show_time(r.started_at),
                escape(&r.target),
                escape(&r.target_kind),
                match &r.at_provider {
                    Some(c) => format!(
                        "at the provider ({}): copy {}{}",
                        escape(&c.provider),
                        escape(c.id.as_deref().unwrap_or(&c.name)),
                        if c.deleted { ", deleted" } else { ", <span class=\"failed\">not deleted</span>" }
                    ),
                    None => escape(r.backup.as_deref().unwrap_or("-")),
                },
                secs(r.restore_seconds),
                secs(r.recovery_seconds),
                secs(r.checks_seconds),
                secs(r.lag_seconds),
                r.bytes_fetched.map_or_else(|| "-".into(), human_size),
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

const W: f64 = 720.0;
const H: f64 = 160.0;
const PAD: f64 = 40.0;

/// Stacked bars per drill: restore, recovery, checks (seconds).
fn phase_chart(drills: &[&Report]) -> String {
    let parts = |r: &Report| {
        [
            r.restore_seconds.unwrap_or(0.0),
            r.recovery_seconds.unwrap_or(0.0),
            r.checks_seconds.unwrap_or(0.0),
        ]
    };
    let max = drills
        .iter()
        .map(|r| parts(r).iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1.0);
    let n = drills.len().max(1) as f64;
    let bw = ((W - 2.0 * PAD) / n * 0.7).clamp(2.0, 40.0);
    let mut s = format!(
        "<svg width=\"{W}\" height=\"{}\" viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"time per phase\"><text x=\"{PAD}\" y=\"14\">Time per phase (s): restore, recovery, checks; top {max:.0} s</text>",
        H + 20.0,
        H + 20.0
    );
    let _ = write!(
        s,
        "<line x1=\"{PAD}\" y1=\"{H}\" x2=\"{}\" y2=\"{H}\" stroke=\"#999\"/>",
        W - PAD
    );
    const COLORS: [&str; 3] = ["#3b6fb6", "#e39b2d", "#6aa84f"];
    for (i, r) in drills.iter().enumerate() {
        let x = PAD + (i as f64 + 0.15) * (W - 2.0 * PAD) / n;
        let mut y = H;
        for (k, v) in parts(r).iter().enumerate() {
            let h = v / max * (H - 30.0);
            y -= h;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                COLORS[k]
            );
        }
        if !r.ok {
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" fill=\"#b00020\">✗</text>",
                H + 14.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The recovery lag per drill, as a line (seconds).
fn lag_chart(drills: &[&Report]) -> String {
    let lags: Vec<(usize, f64)> = drills
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.lag_seconds?)))
        .collect();
    if lags.is_empty() {
        return String::new();
    }
    let max = lags.iter().map(|(_, l)| *l).fold(0.0, f64::max).max(1.0);
    let n = drills.len().max(2) as f64 - 1.0;
    let point = |i: usize, l: f64| {
        (
            PAD + i as f64 / n * (W - 2.0 * PAD),
            H - l / max * (H - 30.0),
        )
    };
    let path: Vec<String> = lags
        .iter()
        .map(|(i, l)| {
            let (x, y) = point(*i, *l);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let mut s = format!(
        "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"recovery lag\"><text x=\"{PAD}\" y=\"14\">Recovery lag (s): how far each drill fell short of its target; top {max:.1} s</text><line x1=\"{PAD}\" y1=\"{H}\" x2=\"{}\" y2=\"{H}\" stroke=\"#999\"/><polyline fill=\"none\" stroke=\"#7a3db8\" stroke-width=\"2\" points=\"{}\"/>",
        W - PAD,
        path.join(" ")
    );
    for (i, l) in &lags {
        let (x, y) = point(*i, *l);
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#7a3db8\"/>"
        );
    }
    s.push_str("</svg>\n");
    s
}
