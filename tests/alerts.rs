//! The alert rules in contrib/prometheus: valid for Prometheus (`promtool check rules`), every
//! alert unit-tested (`promtool test rules`), the alert names the contract lists, and every
//! metric they read one that bridgerest writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use bridgerest::drill::report::DrillSummary;
use bridgerest::schedule::{ClusterStatus, DrillPolicy, Status};
use time::macros::datetime;

/// The alert names scripts and routes rely on.
const ALERTS: [&str; 13] = [
    "BridgerestCredentialsExpiringSoon",
    "BridgerestRefreshFailing",
    "BridgerestBackupTooOld",
    "BridgerestDrillFailed",
    "BridgerestDrillInconclusive",
    "BridgerestDrillCopyLeft",
    "BridgerestDrillRtoMissed",
    "BridgerestDrillRtoTrend",
    "BridgerestDrillStale",
    "BridgerestDrillNeverRun",
    "BridgerestStatusStale",
    "BridgerestMetricsStale",
    "BridgerestMetricsAbsent",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus")
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): apt-get install prometheus (or run `bash .ci/run`)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_rules_are_valid_and_every_alert_is_unit_tested() {
    let (ok, out) = promtool(&["check", "rules", "bridgerest-rules.yml"]);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 13 rules found"), "{out}");
    let mut tests = String::new();
    for file in [
        "bridgerest-rules.test.yml",
        "bridgerest-rules.trend.test.yml",
    ] {
        let (ok, out) = promtool(&["test", "rules", file]);
        assert!(ok, "{file}: {out}");
        tests.push_str(&std::fs::read_to_string(dir().join(file)).unwrap());
    }
    let rules = std::fs::read_to_string(dir().join("bridgerest-rules.yml")).unwrap();
    for a in ALERTS {
        assert!(
            rules.contains(&format!("- alert: {a}\n")),
            "{a} is not a rule"
        );
        // Fired with labels in some test, and each rule carries a severity.
        assert!(
            tests.contains(&format!("alertname: {a}\n        exp_alerts:")),
            "no test where {a} fires"
        );
    }
    assert_eq!(rules.matches("- alert: ").count(), ALERTS.len());
    assert_eq!(rules.matches("severity: ").count(), ALERTS.len());
}

/// Every Prometheus file line bridgerest writes for a status with every figure set.
fn written() -> String {
    let summary = DrillSummary {
        at: datetime!(2026-11-22 03:30:00 UTC),
        ok: true,
        target: "latest".into(),
        backup: None,
        restore_seconds: Some(6.0),
        recovery_seconds: Some(2.0),
        lag_seconds: Some(0.0),
        problem: None,
        failed_check: None,
        last_success: Some(datetime!(2026-11-22 03:31:00 UTC)),
        at_provider: Some("ionos".into()),
        copy_left: Some("3f21f694-42dd-4867-a2f5-8139b03b06bb".into()),
        copy_lifetime_seconds: Some(310.0),
        rto_seconds: Some(3600.0),
    };
    let st = Status {
        updated_at: datetime!(2026-11-22 10:00:00 UTC),
        pid: 1,
        clusters: vec![
            ClusterStatus {
                id: "good".into(),
                last_success: Some(datetime!(2026-11-22 09:40:00 UTC)),
                expires_at: Some(datetime!(2026-11-22 10:40:00 UTC)),
                backups_checked_at: Some(datetime!(2026-11-22 09:40:00 UTC)),
                drill: Some(summary),
                ..Default::default()
            },
            ClusterStatus {
                id: "bad".into(),
                last_error: Some("HTTP 500".into()),
                last_error_kind: Some(bridgerest::provider::FailureKind::Transient),
                ..Default::default()
            },
        ],
        written_by: Default::default(),
        drill_policy: Some(DrillPolicy {
            max_age_seconds: 691_200,
            scheduled: true,
            at_provider: false,
        }),
    };
    st.prometheus()
}

/// The `bridgerest_` metric names in `text`.
fn metrics_in(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("bridgerest_"))
        .collect()
}

#[test]
fn the_rules_read_only_metrics_bridgerest_writes() {
    let written = written();
    let rules = std::fs::read_to_string(dir().join("bridgerest-rules.yml")).unwrap();
    let used = metrics_in(&rules);
    assert!(used.len() >= 9, "{used:?}");
    for m in used {
        assert!(
            written.contains(&format!("# TYPE {m} gauge")),
            "the rules read {m}, which bridgerest does not write:\n{written}"
        );
    }
}

/// contrib/grafana/bridgerest.json: Grafana's dashboard model with a Prometheus data-source
/// variable; every panel's query parses as PromQL (promtool, as a recording rule) and reads
/// only metrics bridgerest writes.
#[test]
fn the_dashboard_is_grafana_json_whose_queries_parse_and_read_bridgerest_metrics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/grafana/bridgerest.json");
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(d["uid"], "bridgerest");
    assert!(d["schemaVersion"].as_u64().unwrap() >= 30);
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter().any(|v| v["type"] == "datasource"
            && v["query"] == "prometheus"
            && v["name"] == "datasource"),
        "no Prometheus data-source variable"
    );
    assert!(
        vars.iter()
            .any(|v| v["name"] == "instance" && v["type"] == "query"),
        "no host (instance) selector"
    );
    let panels = d["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    let written = written();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut ids = std::collections::HashSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "panel ids repeat");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{p}");
        assert!(p["gridPos"]["w"].as_u64().unwrap() > 0);
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", p["title"]);
        let defaults = &p["fieldConfig"]["defaults"];
        let steps = defaults["thresholds"]["steps"].as_array();
        let step = |i: usize| steps.and_then(|s| s.get(i)).cloned().unwrap_or_default();
        if p["type"] == "stat" {
            // 1 is good, 0 is bad: Grafana's default thresholds show both green.
            assert_eq!(
                (
                    step(0)["color"].as_str(),
                    step(1)["color"].as_str(),
                    step(1)["value"].as_f64()
                ),
                (Some("red"), Some("green"), Some(1.0)),
                "panel {}: 0 must show red",
                p["title"]
            );
        }
        if p["title"] == "Credentials: time left" {
            assert_eq!(step(1)["value"].as_f64(), Some(900.0), "{p}");
            assert_eq!(defaults["custom"]["thresholdsStyle"]["mode"], "line", "{p}");
        }
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            assert!(
                expr.contains("instance=~\"$instance\""),
                "panel {}: {expr} ignores the host selector",
                p["title"]
            );
            for m in metrics_in(expr) {
                assert!(
                    written.contains(&format!("# TYPE {m} gauge")),
                    "panel {} reads {m}, which bridgerest does not write",
                    p["title"]
                );
            }
            rules.push_str(&format!(
                "      - record: dashboard:panel_{}_{}\n        expr: {}\n",
                p["id"],
                t["refId"].as_str().unwrap(),
                serde_json::to_string(&expr.replace("$cluster", ".*").replace("$instance", ".*"))
                    .unwrap()
            ));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("dashboard-rules.yml");
    std::fs::write(&file, rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(ok, "a panel's query is not PromQL: {out}");
}
