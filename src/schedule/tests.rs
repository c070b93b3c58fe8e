//! The refresh loop under paused time: lifetime- and cron-driven refreshes, backoff, kinds.

use super::*;

fn timing() -> Timing {
    Timing {
        lifetime: Duration::from_secs(3600),
        fraction: 0.5,
        retry_base: Duration::from_secs(10),
        retry_max: Duration::from_secs(300),
    }
}

/// (cluster, how many earlier attempts) → fail this one?
type FailWhen = dyn FnMut(&str, usize) -> bool;

/// Records when each cluster was refreshed; fails a cluster while `failing` says so.
struct Fake {
    calls: Vec<(Duration, String)>,
    start: Instant,
    failing: Box<FailWhen>,
}

impl Refresher for Fake {
    async fn refresh(&mut self, cfg: &Config, only: Option<Vec<String>>) -> Vec<Refreshed> {
        let mut out = Vec::new();
        for c in &cfg.clusters {
            if only.as_ref().is_some_and(|o| !o.contains(&c.id)) {
                continue;
            }
            let n = self.calls.iter().filter(|(_, id)| id == &c.id).count();
            self.calls.push((self.start.elapsed(), c.id.clone()));
            let fail = (self.failing)(&c.id, n);
            out.push(Refreshed {
                cluster: c.id.clone(),
                result: if fail {
                    Err("HTTP 503".into())
                } else {
                    Ok(None)
                },
                stanza: Some(format!("{}-stanza", c.id)),
            });
        }
        out
    }
}

fn cfg(ids: &[&str]) -> Config {
    let mut t = String::new();
    for id in ids {
        t.push_str(&format!(
            "[[cluster]]\nid = \"{id}\"\npg1_path = \"/x/{id}\"\n"
        ));
    }
    crate::config::parse(&t, std::path::Path::new("t.toml")).unwrap()
}

const A: &str = "rvf73a77ozfsvcttryebfrnlem";
const B: &str = "drsve2t4f5e5znkmef6hmchy2e";

/// Runs the loop for `span` of (paused) time, feeding it `ticks` cron ticks `every` apart.
async fn drive(
    t: Timing,
    fake: &mut Fake,
    span: Duration,
    tick_every: Option<Duration>,
) -> Vec<Status> {
    let (tx, rx) = mpsc::channel(8);
    let mut reports = Vec::new();
    let driver = async {
        let start = Instant::now();
        loop {
            let step = tick_every.unwrap_or(span);
            tokio::time::sleep(step).await;
            if start.elapsed() >= span {
                break;
            }
            if tick_every.is_some() {
                tx.send(Event::Tick).await.unwrap();
            }
        }
        tx.send(Event::Shutdown).await.unwrap();
    };
    let lp = run(
        cfg(&[A, B]),
        |_| t,
        fake,
        rx,
        |_, s| reports.push(s.clone()),
        |_, _| {},
    );
    tokio::join!(driver, lp);
    reports
}

fn gaps(calls: &[(Duration, String)], id: &str) -> Vec<Duration> {
    let at: Vec<Duration> = calls
        .iter()
        .filter(|(_, c)| c == id)
        .map(|(d, _)| *d)
        .collect();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn lifetime_driven_refresh_comes_before_expiry() {
    let mut fake = Fake {
        calls: vec![],
        start: Instant::now(),
        failing: Box::new(|_, _| false),
    };
    let reports = drive(
        timing(),
        &mut fake,
        Duration::from_secs(5 * 3600 + 60),
        None,
    )
    .await;
    for id in [A, B] {
        let g = gaps(&fake.calls, id);
        assert_eq!(g.len(), 10, "{id}: {g:?}"); // every 30 min for 5 h
        assert!(g.iter().all(|d| *d == Duration::from_secs(1800)), "{g:?}");
    }
    let last = reports.last().unwrap();
    assert_eq!(last.failing(), 0);
    let c = &last.clusters[0];
    assert!(c.next_refresh.unwrap() < c.expires_at.unwrap());
}

#[tokio::test(start_paused = true)]
async fn cron_ticks_refresh_every_cluster() {
    let t = Timing {
        lifetime: Duration::from_secs(36 * 3600),
        ..timing()
    };
    let mut fake = Fake {
        calls: vec![],
        start: Instant::now(),
        failing: Box::new(|_, _| false),
    };
    drive(
        t,
        &mut fake,
        Duration::from_secs(3600),
        Some(Duration::from_secs(1200)),
    )
    .await;
    for id in [A, B] {
        // the first round, then ticks at 20 and 40 min (the 60 min one is the shutdown)
        assert_eq!(
            gaps(&fake.calls, id),
            vec![Duration::from_secs(1200); 2],
            "{id}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_then_recover() {
    // A fails its first four attempts; B never fails.
    let mut fake = Fake {
        calls: vec![],
        start: Instant::now(),
        failing: Box::new(|id, n| id == A && n < 4),
    };
    let reports = drive(timing(), &mut fake, Duration::from_secs(3000), None).await;
    let g = gaps(&fake.calls, A);
    // 3 growing retry delays (10 s doubling, jittered down to half at most), then success
    // and the next refresh at half the lifetime.
    for (i, d) in g.iter().take(4).enumerate() {
        let full = Duration::from_secs(10 << i);
        assert!(*d >= full / 2 && *d <= full, "retry {i}: {d:?}");
    }
    assert_eq!(g[4], Duration::from_secs(1800));
    let of_a = |r: &Status| r.clusters.iter().find(|c| c.id == A).unwrap().clone();
    assert!(reports
        .iter()
        .any(|r| of_a(r).last_error.as_deref() == Some("HTTP 503")));
    let last = reports.last().unwrap();
    assert_eq!(
        last.clusters.iter().find(|c| c.id == A).unwrap().last_error,
        None
    );
    assert_eq!(gaps(&fake.calls, B), vec![Duration::from_secs(1800)]);
}

#[test]
fn a_refused_key_is_not_retried_like_a_503() {
    let t = timing();
    let transient = next_attempt(&t, FailureKind::Transient, 1, 0.0, None);
    let auth = next_attempt(&t, FailureKind::Auth, 1, 0.0, None);
    let expired = next_attempt(&t, FailureKind::Expired, 1, 0.0, None);
    assert_eq!(transient, Duration::from_secs(5));
    assert!(auth >= t.retry_max * 3 / 4, "{auth:?}");
    assert!(expired >= t.floor(), "{expired:?}");
    assert!(transient < expired && expired <= auth);
}

#[test]
fn backoff_doubles_with_jitter_and_stays_before_expiry() {
    let t = timing();
    assert_eq!(retry_delay(&t, 1, 0.999_999, None).as_secs(), 9);
    assert_eq!(retry_delay(&t, 1, 0.0, None), Duration::from_secs(5));
    assert_eq!(retry_delay(&t, 3, 0.0, None), Duration::from_secs(20));
    assert_eq!(retry_delay(&t, 30, 0.0, None), Duration::from_secs(150));
    assert_eq!(
        retry_delay(&t, 5, 0.0, Some(Duration::from_secs(40))),
        Duration::from_secs(20)
    );
    assert_eq!(
        valid_for(&t, Some(Duration::from_secs(600))),
        Duration::from_secs(600)
    );
    assert_eq!(valid_for(&t, Some(Duration::from_secs(7200))), t.lifetime);
}

#[test]
fn prometheus_text_has_a_gauge_per_figure() {
    use time::macros::datetime;
    let st = Status {
        updated_at: datetime!(2026-11-22 10:00:00 UTC),
        pid: 7,
        clusters: vec![
            ClusterStatus {
                id: "ok1".into(),
                stanza: Some("main".into()),
                name: Some("prod \"eu\"".into()),
                last_success: Some(datetime!(2026-11-22 09:40:00 UTC)),
                expires_at: Some(datetime!(2026-11-22 10:40:00 UTC)),
                next_refresh: Some(datetime!(2026-11-22 10:10:00 UTC)),
                ..Default::default()
            },
            ClusterStatus {
                id: "bad\"2".into(),
                last_error: Some("HTTP 500".into()),
                next_refresh: Some(datetime!(2026-11-22 10:00:05 UTC)),
                ..Default::default()
            },
        ],
        drill_policy: None,
        written_by: WrittenBy::Daemon,
    };
    let text = st.prometheus();
    for line in [
        "# TYPE bridgerest_refresh_ok gauge",
        "bridgerest_refresh_ok{cluster=\"ok1\"} 1",
        "bridgerest_refresh_ok{cluster=\"bad\\\"2\"} 0",
        "bridgerest_last_success_timestamp_seconds{cluster=\"ok1\"} 1795340400",
        "bridgerest_credentials_expiry_timestamp_seconds{cluster=\"ok1\"} 1795344000",
        "bridgerest_next_refresh_timestamp_seconds{cluster=\"bad\\\"2\"} 1795341605",
        "bridgerest_status_updated_timestamp_seconds 1795341600",
        // The labels to join with (pgbackrest_exporter's `stanza`), escaped; unknown ones empty.
        "bridgerest_cluster_info{cluster=\"ok1\",stanza=\"main\",name=\"prod \\\"eu\\\"\",provider=\"bridge\"} 1",
        "bridgerest_cluster_info{cluster=\"bad\\\"2\",stanza=\"\",name=\"\",provider=\"bridge\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    // A figure a cluster does not have is left out, not written as 0.
    assert!(!text.contains("bridgerest_last_success_timestamp_seconds{cluster=\"bad"));
    assert!(text.ends_with('\n'));
}

#[test]
fn prometheus_text_has_the_drills() {
    use crate::drill::report::DrillSummary;
    use time::macros::datetime;
    let drilled = |id: &str, ok: bool| ClusterStatus {
        id: id.into(),
        drill: Some(DrillSummary {
            at: datetime!(2026-11-22 03:40:00 UTC),
            ok,
            target: "2026-11-21T17:00:00Z".into(),
            backup: Some("20261121-010000F".into()),
            restore_seconds: Some(6.5),
            recovery_seconds: if ok { Some(1.25) } else { None },
            lag_seconds: if ok { Some(0.5) } else { None },
            problem: (!ok).then(|| "restore: pgbackrest restore failed".into()),
            failed_check: (!ok).then(|| "restore".into()),
            last_success: Some(datetime!(2026-11-15 03:40:00 UTC)),
        }),
        ..Default::default()
    };
    let st = Status {
        updated_at: datetime!(2026-11-22 10:00:00 UTC),
        pid: 7,
        clusters: vec![
            drilled("good", true),
            drilled("broken", false),
            drilled("two\nlines", false),
            ClusterStatus {
                id: "never".into(),
                ..Default::default()
            },
        ],
        drill_policy: None,
        written_by: WrittenBy::Daemon,
    };
    let text = st.prometheus();
    for line in [
        "# TYPE bridgerest_drill_success gauge",
        "bridgerest_drill_success{cluster=\"good\"} 1",
        "bridgerest_drill_success{cluster=\"broken\"} 0",
        "bridgerest_drill_duration_seconds{cluster=\"good\",phase=\"restore\"} 6.5",
        "bridgerest_drill_duration_seconds{cluster=\"good\",phase=\"recovery\"} 1.25",
        "bridgerest_drill_duration_seconds{cluster=\"broken\",phase=\"restore\"} 6.5",
        "bridgerest_drill_last_success_timestamp_seconds{cluster=\"good\"} 1794714000",
        "bridgerest_drill_recovery_lag_seconds{cluster=\"good\"} 0.5",
        // One escaper for every label: a line feed cannot start a forged series.
        "bridgerest_drill_success{cluster=\"two\\nlines\"} 0",
        "bridgerest_drill_failed_check{cluster=\"two\\nlines\",check=\"restore\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("bridgerest_drill") && l.contains("\"never\"")),
        "a cluster never drilled has no drill figures:\n{text}"
    );
    assert!(!text.contains("cluster=\"broken\",phase=\"recovery\""));
    assert!(!text.lines().any(|l| l.starts_with("lines")), "{text}");
    // With [drill] in the config, every Bridge cluster gets the policy, drilled or not: what
    // the alert rules compare against (stale, never run).
    let st = Status {
        drill_policy: Some(super::status::DrillPolicy {
            max_age_seconds: 691_200,
            scheduled: true,
        }),
        ..st
    };
    let text = st.prometheus();
    for line in [
        "bridgerest_drill_max_age_seconds{cluster=\"never\"} 691200",
        "bridgerest_drill_scheduled{cluster=\"never\"} 1",
        "bridgerest_drill_scheduled{cluster=\"good\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
}

/// The status file has one writer at a time: a second daemon is refused while the first holds
/// its lock, a one-shot drill leaves the file to the daemon, and writes it itself once no
/// daemon holds it.
#[test]
fn the_status_file_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = cfg(&[A]);
    cfg.daemon.status_file = dir.path().join("status.json");
    cfg.drill.reports = dir.path().join("drills");
    let st = Status {
        updated_at: time::OffsetDateTime::now_utc(),
        pid: 1,
        clusters: vec![ClusterStatus {
            id: A.into(),
            ..Default::default()
        }],
        drill_policy: None,
        written_by: WrittenBy::Daemon,
    };
    let mut daemon = Writer::default();
    daemon.write(&cfg, &st).unwrap();
    let err = Writer::default().write(&cfg, &st).unwrap_err();
    assert!(err.contains("is written by another process"), "{err}");

    let compact = serde_json::to_vec(&st).unwrap();
    std::fs::write(&cfg.daemon.status_file, &compact).unwrap();
    publish_drills(&cfg).unwrap();
    assert_eq!(std::fs::read(&cfg.daemon.status_file).unwrap(), compact);

    drop(daemon);
    publish_drills(&cfg).unwrap();
    let now = std::fs::read(&cfg.daemon.status_file).unwrap();
    assert_ne!(now, compact);
    let back: Status = serde_json::from_slice(&now).unwrap();
    assert_eq!(back.clusters[0].id, A);
}
