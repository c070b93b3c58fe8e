//! The drill reports as JUnit XML (`bridgerest drills --junit FILE`), so that CI dashboards
//! and ticketing systems (Jenkins, GitLab, GitHub's test reporters) show restore drills beside
//! tests: one `<testsuites>` root, a `<testsuite>` per cluster, a `<testcase>` per check of
//! each drill, named by the check and the drill's start time (unique and stable from one run
//! to the next), its classname the cluster.
//!
//! A failed check is a `<failure>` whose message and text are the check's detail; a check that
//! proved nothing either way (the drill timed out, was preempted by a real restore, or failed
//! outside any check) is an `<error>`, as JUnit tells a broken test from a failing one. Times
//! are seconds; a suite's timestamp is its first drill's start (UTC, ISO 8601 without a zone,
//! as Ant writes it). The output validates against the Jenkins xUnit plugin's `junit-10.xsd`
//! (tests/drills_junit.rs).
//!
//! Pure: no I/O. Every string from a report (the reports directory is the drilling user's, a
//! bucket is anyone's with its key) is escaped, and characters XML 1.0 cannot carry at all
//! (most control characters, U+FFFE, U+FFFF) become U+FFFD.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use super::report::{Check, CheckName, Report};
use crate::when::show_time;

/// Text made safe for XML 1.0 element content and double-quoted attributes: markup escaped
/// (so `]]>` cannot end anything either), tabs and line breaks as character references (an
/// attribute keeps them that way, where a parser would turn them into spaces), and the
/// characters XML 1.0 forbids replaced by U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Seconds as the schemas take them (`SUREFIRE_TIME`: digits, a point, digits): anything
/// unknown, negative or not finite is 0.
fn secs(s: Option<f64>) -> String {
    match s {
        Some(s) if s.is_finite() && s > 0.0 => format!("{s:.3}"),
        _ => "0.000".into(),
    }
}

/// A start time as Ant's `timestamp` (ISO 8601, UTC, no zone: the Ant schema's pattern).
fn timestamp(t: OffsetDateTime) -> String {
    show_time(t).trim_end_matches('Z').to_string()
}

/// A check that proved nothing either way: an `<error>`, not a `<failure>`.
fn is_error(name: &CheckName) -> bool {
    matches!(
        name,
        CheckName::Timeout | CheckName::Preempted | CheckName::Drill
    )
}

/// The time a check stands for, where the report measures it: the restore (or the copy made
/// at the provider), the recovery; the other checks share `checks_seconds` and have none of
/// their own.
fn check_time(r: &Report, c: &Check) -> Option<f64> {
    match c.name {
        CheckName::Restore | CheckName::Copy => r.restore_seconds,
        CheckName::Recovery => r.recovery_seconds,
        _ => None,
    }
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    time: f64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.tests += o.tests;
        self.failures += o.failures;
        self.errors += o.errors;
        self.time += o.time;
    }
}

/// The JUnit XML document for `reports` (any order: each cluster's drills are listed oldest
/// first).
pub fn document(reports: &[Report]) -> String {
    let mut by: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for r in reports {
        by.entry(r.cluster.as_str()).or_default().push(r);
    }
    let mut total = Counts::default();
    let mut suites = String::new();
    for (cluster, drills) in &mut by {
        drills.sort_by_key(|r| r.started_at);
        let mut counts = Counts::default();
        let mut cases = String::new();
        for r in drills.iter() {
            counts.time += r
                .total_seconds
                .filter(|s| s.is_finite() && *s > 0.0)
                .unwrap_or(0.0);
            for c in &r.checks {
                counts.tests += 1;
                let _ = write!(
                    cases,
                    "    <testcase name=\"{} @ {}\" classname=\"{}\" time=\"{}\"",
                    escape(&c.name.as_str()),
                    show_time(r.started_at),
                    escape(cluster),
                    secs(check_time(r, c)),
                );
                if c.ok {
                    cases.push_str("/>\n");
                    continue;
                }
                let tag = if is_error(&c.name) {
                    counts.errors += 1;
                    "error"
                } else {
                    counts.failures += 1;
                    "failure"
                };
                let detail = escape(&c.detail);
                let _ = writeln!(
                    cases,
                    ">\n      <{tag} type=\"{}\" message=\"{detail}\">{detail}</{tag}>\n    </testcase>",
                    escape(&c.name.as_str()),
                );
            }
        }
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\" timestamp=\"{}\">\n{cases}  </testsuite>\n",
            escape(cluster),
            counts.tests,
            counts.failures,
            counts.errors,
            secs(Some(counts.time)),
            drills.first().map(|r| timestamp(r.started_at)).unwrap_or_default(),
        );
        total.add(&counts);
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bridgerest restore drills\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">\n{suites}</testsuites>\n",
        total.tests,
        total.failures,
        total.errors,
        secs(Some(total.time)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::Target;
    use time::macros::datetime;

    fn drill(cluster: &str, started: OffsetDateTime, checks: &[(CheckName, bool, &str)]) -> Report {
        let mut r = Report::new(
            cluster,
            "main",
            Target::Latest,
            started,
            std::path::Path::new("/nowhere"),
        );
        for (n, ok, d) in checks {
            r.check(n.clone(), *ok, d.to_string());
        }
        r.restore_seconds = Some(4.25);
        r.recovery_seconds = Some(1.5);
        r.total_seconds = Some(10.0);
        r
    }

    #[test]
    fn a_suite_per_cluster_and_a_case_per_check_with_correct_counts() {
        let t1 = datetime!(2026-11-20 09:00:00 UTC);
        let t2 = datetime!(2026-11-27 09:00:00 UTC);
        let reports = vec![
            drill(
                "beta",
                t2,
                &[
                    (CheckName::Restore, true, "ok"),
                    (CheckName::Timeout, false, "took 2h"),
                ],
            ),
            drill(
                "alpha",
                t2,
                &[
                    (CheckName::Restore, true, "ok"),
                    (CheckName::Amcheck, false, "corrupt"),
                ],
            ),
            drill(
                "alpha",
                t1,
                &[
                    (CheckName::Restore, true, "ok"),
                    (CheckName::Query(1), true, "1 row"),
                ],
            ),
        ];
        let x = document(&reports);
        assert!(
            x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "),
            "{x}"
        );
        assert!(x.contains("<testsuites name=\"bridgerest restore drills\" tests=\"6\" failures=\"1\" errors=\"1\" time=\"30.000\">"), "{x}");
        assert!(x.contains("<testsuite name=\"alpha\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"20.000\" timestamp=\"2026-11-20T09:00:00\">"), "{x}");
        assert!(x.contains("<testsuite name=\"beta\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"10.000\" timestamp=\"2026-11-27T09:00:00\">"), "{x}");
        // Oldest first within a suite, alpha before beta; names unique by check and start.
        let a = x.find("query 1 @ 2026-11-20T09:00:00Z").unwrap();
        let b = x.find("amcheck @ 2026-11-27T09:00:00Z").unwrap();
        let c = x.find("name=\"beta\"").unwrap();
        assert!(a < b && b < c, "{x}");
        assert!(x.contains("<testcase name=\"restore @ 2026-11-20T09:00:00Z\" classname=\"alpha\" time=\"4.250\"/>"), "{x}");
        assert!(
            x.contains("<failure type=\"amcheck\" message=\"corrupt\">corrupt</failure>"),
            "{x}"
        );
        assert!(
            x.contains("<error type=\"timeout\" message=\"took 2h\">took 2h</error>"),
            "{x}"
        );
        assert_eq!(x.matches("<testcase ").count(), 6);
        assert!(x.ends_with("</testsuites>\n"));
    }

    #[test]
    fn no_reports_is_an_empty_valid_root() {
        assert_eq!(
            document(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bridgerest restore drills\" tests=\"0\" failures=\"0\" errors=\"0\" time=\"0.000\">\n</testsuites>\n"
        );
    }

    #[test]
    fn report_strings_are_escaped_and_characters_xml_forbids_replaced() {
        let detail = "a<b & c>d \"q\" 's' ]]> \u{0}\u{1b}[31m\u{7}\tx\ny\r\u{fffe}é";
        let x = document(&[drill(
            "c<\"&",
            datetime!(2026-11-20 09:00:00 UTC),
            &[(CheckName::Other("we<ird".into()), false, detail)],
        )]);
        let escaped = "a&lt;b &amp; c&gt;d &quot;q&quot; &apos;s&apos; ]]&gt; \u{fffd}\u{fffd}[31m\u{fffd}&#9;x&#10;y&#13;\u{fffd}é";
        assert!(
            x.contains(&format!("message=\"{escaped}\">{escaped}</failure>")),
            "{x}"
        );
        assert!(x.contains("classname=\"c&lt;&quot;&amp;\""), "{x}");
        assert!(x.contains("name=\"we&lt;ird @ "), "{x}");
        assert!(!x.contains("]]>"), "{x}");
        for c in x.chars() {
            let n = c as u32;
            assert!(
                n == 0x9 || n == 0xA || n >= 0x20 && c != '\u{fffe}' && c != '\u{ffff}',
                "{n:#x} is not an XML 1.0 character"
            );
        }
    }

    #[test]
    fn times_are_plain_seconds_whatever_a_report_holds() {
        assert_eq!(secs(Some(f64::NAN)), "0.000");
        assert_eq!(secs(Some(-3.0)), "0.000");
        assert_eq!(secs(None), "0.000");
        assert_eq!(secs(Some(12345.6789)), "12345.679");
    }
}
