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
type FailWhen = dyn FnMut(&str, usize) -> bool + Send;

/// Records when each cluster was refreshed; fails a cluster while `failing` says so. Each
/// refresh takes `refresh_takes`, each look at the backups `watch_takes` (paused time).
#[derive(Clone)]
struct Fake {
    calls: Arc<std::sync::Mutex<Vec<(Duration, String)>>>,
    start: Instant,
    failing: Arc<std::sync::Mutex<Box<FailWhen>>>,
    refresh_takes: Duration,
    /// How a failing refresh fails.
    fail_kind: FailureKind,
    watch_takes: Option<Duration>,
    /// When each look at the backups ended.
    watched: Arc<std::sync::Mutex<Vec<Duration>>>,
    /// The drills "on disk" ([`Refresher::recorded_drills`]), and how often they were read.
    recorded: Arc<std::sync::Mutex<Vec<(String, DrillSummary)>>>,
    recorded_reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl Fake {
    fn new(failing: impl FnMut(&str, usize) -> bool + Send + 'static) -> Fake {
        Fake {
            calls: Arc::default(),
            start: Instant::now(),
            failing: Arc::new(std::sync::Mutex::new(Box::new(failing))),
            refresh_takes: Duration::ZERO,
            fail_kind: FailureKind::Transient,
            watch_takes: None,
            watched: Arc::default(),
            recorded: Arc::default(),
            recorded_reads: Arc::default(),
        }
    }

    fn calls(&self) -> Vec<(Duration, String)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Refresher for Fake {
    fn recorded_drills(&self, _cfg: &Config) -> Vec<(String, DrillSummary)> {
        self.recorded_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.recorded.lock().unwrap().clone()
    }

    async fn watch(self, cfg: Arc<Config>, deadline: Instant) -> Vec<Watched> {
        let Some(takes) = self.watch_takes else {
            return vec![];
        };
        let timed_out = tokio::time::timeout_at(deadline, tokio::time::sleep(takes))
            .await
            .is_err();
        self.watched.lock().unwrap().push(self.start.elapsed());
        cfg.clusters
            .iter()
            .map(|c| {
                let res = match timed_out {
                    true => Err(Failed::from("no answer")),
                    false => Ok(crate::provider::BackupWatch::default()),
                };
                (c.id.clone(), res)
            })
            .collect()
    }

    async fn refresh(
        self,
        cfg: Arc<Config>,
        only: Option<Vec<String>>,
        _deadline: Instant,
    ) -> Vec<Refreshed> {
        let mut out = Vec::new();
        for c in &cfg.clusters {
            if only.as_ref().is_some_and(|o| !o.contains(&c.id)) {
                continue;
            }
            let fail = {
                let mut calls = self.calls.lock().unwrap();
                let n = calls.iter().filter(|(_, id)| id == &c.id).count();
                calls.push((self.start.elapsed(), c.id.clone()));
                (self.failing.lock().unwrap())(&c.id, n)
            };
            out.push(Refreshed {
                cluster: c.id.clone(),
                result: if fail {
                    Err(Failed {
                        message: format!("HTTP 503 ({})", self.fail_kind.as_str()),
                        kind: self.fail_kind,
                    })
                } else {
                    Ok(None)
                },
                stanza: Some(format!("{}-stanza", c.id)),
            });
        }
        tokio::time::sleep(self.refresh_takes).await;
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
    fake: &Fake,
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
        fake.clone(),
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
    let fake = Fake::new(|_, _| false);
    let reports = drive(timing(), &fake, Duration::from_secs(5 * 3600 + 60), None).await;
    for id in [A, B] {
        let g = gaps(&fake.calls(), id);
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
    let fake = Fake::new(|_, _| false);
    drive(
        t,
        &fake,
        Duration::from_secs(3600),
        Some(Duration::from_secs(1200)),
    )
    .await;
    for id in [A, B] {
        // the first round, then ticks at 20 and 40 min (the 60 min one is the shutdown)
        assert_eq!(
            gaps(&fake.calls(), id),
            vec![Duration::from_secs(1200); 2],
            "{id}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_then_recover() {
    // A fails its first four attempts; B never fails.
    let fake = Fake::new(|id, n| id == A && n < 4);
    let reports = drive(timing(), &fake, Duration::from_secs(3000), None).await;
    let g = gaps(&fake.calls(), A);
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
        .any(|r| of_a(r).last_error.as_deref() == Some("HTTP 503 (transient)")));
    let last = reports.last().unwrap();
    assert_eq!(
        last.clusters.iter().find(|c| c.id == A).unwrap().last_error,
        None
    );
    assert_eq!(gaps(&fake.calls(), B), vec![Duration::from_secs(1800)]);
}

/// Three-minute credentials refreshed at half-life, as in `cargo bench --bench soak`.
fn short() -> Timing {
    Timing {
        lifetime: Duration::from_secs(180),
        fraction: 0.5,
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(300),
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_look_at_the_backups_does_not_delay_a_refresh() {
    // Every cluster's backups take 110 s to list (a provider's /backups answering slowly):
    // the refresh due at 90 s comes at 90 s, not once the listing is done.
    let mut fake = Fake::new(|_, _| false);
    fake.watch_takes = Some(Duration::from_secs(110));
    drive(short(), &fake, Duration::from_secs(400), None).await;
    assert_eq!(
        *fake.watched.lock().unwrap(),
        vec![Duration::from_secs(110)],
        "the look at the backups ran, alongside"
    );
    for id in [A, B] {
        let g = gaps(&fake.calls(), id);
        assert_eq!(g, vec![Duration::from_secs(90); 4], "{id}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_look_at_the_backups_has_its_own_deadline() {
    // A listing that never ends is given up at WATCH_DEADLINE, flagged, and tried again on
    // the next tick; the refreshes keep their times meanwhile.
    let mut fake = Fake::new(|_, _| false);
    fake.watch_takes = Some(Duration::from_secs(3600));
    let reports = drive(
        short(),
        &fake,
        Duration::from_secs(400),
        Some(Duration::from_secs(200)),
    )
    .await;
    assert_eq!(
        *fake.watched.lock().unwrap(),
        vec![WATCH_DEADLINE, Duration::from_secs(200) + WATCH_DEADLINE],
    );
    let last = reports.last().unwrap();
    assert!(last.clusters.iter().all(|c| c
        .backup_problem
        .as_deref()
        .is_some_and(|p| p.starts_with("cannot look at its backups"))));
    // 0, 90, 180, the tick at 200, then 290 and 380.
    let at: Vec<u64> = fake
        .calls()
        .iter()
        .filter(|(_, c)| c == A)
        .map(|(d, _)| d.as_secs())
        .collect();
    assert_eq!(at, vec![0, 90, 180, 200, 290, 380]);
}

/// After a failure at half-life, the next attempts all come before the credentials expire,
/// several of them, the first well before, for each kind of failure the API can cause.
#[tokio::test(start_paused = true)]
async fn after_a_failure_retries_fit_in_the_credentials_life() {
    for kind in [
        FailureKind::Transient,
        FailureKind::Malformed,
        FailureKind::Expired,
        FailureKind::Auth,
    ] {
        // A's first refresh works, every one after fails; the credentials expire at 180 s.
        let mut fake = Fake::new(|id, n| id == A && n > 0);
        fake.fail_kind = kind;
        drive(short(), &fake, Duration::from_secs(200), None).await;
        let at: Vec<Duration> = fake
            .calls()
            .iter()
            .filter(|(_, c)| c == A)
            .map(|(d, _)| *d)
            .collect();
        let k = kind.as_str();
        let expiry = Duration::from_secs(180);
        assert_eq!(at[1], Duration::from_secs(90), "{k}: {at:?}");
        assert!(
            at[2] <= Duration::from_secs(135),
            "{k}: the first retry at {:?}, 90 s of life left: {at:?}",
            at[2]
        );
        let before = at.iter().filter(|a| **a < expiry).count();
        assert!(
            before >= 6,
            "{k}: only {} retries before expiry: {at:?}",
            before - 2
        );
        // Never a wait past expiry: each attempt before it is followed by one by then (or a
        // retry_base after).
        for w in at.windows(2).filter(|w| w[0] < expiry) {
            assert!(
                w[1] <= expiry + short().retry_base,
                "{k}: from {:?} to {:?}: {at:?}",
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn no_retry_waits_past_expiry() {
    let t = short();
    for kind in [
        FailureKind::Transient,
        FailureKind::Malformed,
        FailureKind::Expired,
        FailureKind::Local,
        FailureKind::Auth,
        FailureKind::NotFound,
    ] {
        for left in [90, 60, 30, 10, 3] {
            let left = Duration::from_secs(left);
            for n in 1..12 {
                for rand in [0.0, 0.5, 0.999] {
                    let d = next_attempt(&t, kind, n, rand, Some(left));
                    assert!(
                        d <= left / 2 + Duration::from_millis(1) || d <= left / 3 * 2,
                        "{kind:?} failure {n} with {left:?} left: next in {d:?}"
                    );
                }
            }
        }
    }
    // With 90 s left, a malformed answer is tried again within 30 s (not a minute later).
    let d = next_attempt(
        &t,
        FailureKind::Malformed,
        1,
        0.999,
        Some(Duration::from_secs(90)),
    );
    assert!(d <= Duration::from_secs(30), "{d:?}");
    // A budget per attempt that leaves room for more.
    assert_eq!(
        attempt_budget(&t, Some(Duration::from_secs(90))),
        Duration::from_secs(30)
    );
    assert_eq!(
        attempt_budget(&t, Some(Duration::from_secs(3))),
        MIN_ATTEMPT
    );
    assert_eq!(attempt_budget(&t, None), Duration::from_secs(90));
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
            failed_check: (!ok).then_some(crate::drill::CheckName::Restore),
            last_success: Some(datetime!(2026-11-15 03:40:00 UTC)),
            at_provider: None,
            copy_left: None,
            copy_lifetime_seconds: None,
            rto_seconds: ok.then_some(3600.0),
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
        "bridgerest_drill_rto_seconds{cluster=\"good\"} 3600",
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
    assert!(!text.contains("bridgerest_drill_rto_seconds{cluster=\"broken\"}"));
    assert!(!text.lines().any(|l| l.starts_with("lines")), "{text}");
    // With [drill] in the config, every Bridge cluster gets the policy, drilled or not: what
    // the alert rules compare against (stale, never run).
    let st = Status {
        drill_policy: Some(super::status::DrillPolicy {
            max_age_seconds: 691_200,
            scheduled: true,
            at_provider: false,
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
    let err = Writer::default().write(&cfg, &st).unwrap_err().to_string();
    assert!(err.contains("is written by another process"), "{err}");

    let compact = serde_json::to_vec(&st).unwrap();
    std::fs::write(&cfg.daemon.status_file, &compact).unwrap();
    publish_drill(&cfg, &drilled()).unwrap();
    assert_eq!(std::fs::read(&cfg.daemon.status_file).unwrap(), compact);

    drop(daemon);
    publish_drill(&cfg, &drilled()).unwrap();
    let now = std::fs::read(&cfg.daemon.status_file).unwrap();
    assert_ne!(now, compact);
    let back: Status = serde_json::from_slice(&now).unwrap();
    assert_eq!(back.clusters[0].id, A);
}

/// A drill's report as the tests make them: `ok` or not, started at `started`, five minutes
/// long.
fn drill_report(id: &str, started: time::OffsetDateTime, ok: bool) -> crate::drill::Report {
    let mut r = crate::drill::Report::new(
        id,
        "main",
        crate::drill::Target::Latest,
        started,
        std::path::Path::new("/nowhere/drill"),
    );
    r.check(
        crate::drill::CheckName::Restore,
        ok,
        format!("restored: {ok}"),
    );
    r.finish();
    r.finished_at = Some(started + time::Duration::minutes(5));
    r
}

fn drilled() -> crate::drill::Report {
    drill_report(A, time::OffsetDateTime::now_utc(), true)
}

/// #30 item 4: the loop shows a drill from what the event carries (no report file exists,
/// and the record on disk is read once, at the start): the verdict, the figures, the failed
/// check, and the last success carried over a failure.
#[tokio::test(start_paused = true)]
async fn a_drill_event_updates_the_status_with_no_report_on_disk() {
    use time::macros::datetime;
    let mut cfg = cfg(&[A]);
    let dir = tempfile::tempdir().unwrap();
    cfg.drill.reports = dir.path().join("no-reports-here");
    let fake = Fake::new(|_, _| false);
    let (tx, rx) = mpsc::channel(8);
    let mut reports = Vec::new();
    let passed = drill_report(A, datetime!(2026-11-22 03:00:00 UTC), true);
    let failed = drill_report(A, datetime!(2026-11-29 03:00:00 UTC), false);
    let driver = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Drilled(Box::new(passed.clone())))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Drilled(Box::new(failed.clone())))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Shutdown).await.unwrap();
    };
    let lp = run(
        cfg,
        |_| timing(),
        fake.clone(),
        rx,
        |_, s| reports.push(s.clone()),
        |_, _| {},
    );
    tokio::join!(driver, lp);
    let drills: Vec<Option<DrillSummary>> = reports
        .iter()
        .map(|r| r.clusters[0].drill.clone())
        .collect();
    assert_eq!(drills.first(), Some(&None), "nothing drilled yet");
    let ok = drills
        .iter()
        .flatten()
        .find(|d| d.ok)
        .expect("the passed drill is shown");
    assert_eq!(ok.at, datetime!(2026-11-22 03:05:00 UTC));
    assert_eq!(ok.last_success, Some(datetime!(2026-11-22 03:05:00 UTC)));
    let last = drills.last().unwrap().clone().unwrap();
    assert!(!last.ok);
    assert_eq!(last.failed_check, Some(crate::drill::CheckName::Restore));
    assert_eq!(last.problem.as_deref(), Some("restore: restored: false"));
    assert_eq!(last.last_success, Some(datetime!(2026-11-22 03:05:00 UTC)));
    assert!(!dir.path().join("no-reports-here").exists());
    assert_eq!(
        fake.recorded_reads
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the record is read at the start only (no tick, no reload)"
    );
}

/// The record on disk rebuilds the loop's state when it starts, and a drill another process
/// ran is taken on a tick; an older record never replaces what the loop was told.
#[tokio::test(start_paused = true)]
async fn the_record_on_disk_rebuilds_the_drills_and_never_undoes_an_event() {
    use time::macros::datetime;
    let fake = Fake::new(|_, _| false);
    let before = DrillSummary::after(
        None,
        &drill_report(A, datetime!(2026-11-01 03:00:00 UTC), true),
    );
    *fake.recorded.lock().unwrap() = vec![(A.to_string(), before.clone())];
    let (tx, rx) = mpsc::channel(8);
    let mut reports = Vec::new();
    let told = drill_report(A, datetime!(2026-11-08 03:00:00 UTC), false);
    let elsewhere = DrillSummary::after(
        None,
        &drill_report(A, datetime!(2026-11-09 03:00:00 UTC), true),
    );
    let driver = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Drilled(Box::new(told.clone())))
            .await
            .unwrap();
        // The record still says the first drill: a tick does not undo the event.
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Tick).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        // A one-shot drill elsewhere, newer: the next tick takes it.
        *fake.recorded.lock().unwrap() = vec![(A.to_string(), elsewhere.clone())];
        tx.send(Event::Tick).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Shutdown).await.unwrap();
    };
    let lp = run(
        cfg(&[A, B]),
        |_| timing(),
        fake.clone(),
        rx,
        |_, s| reports.push(s.clone()),
        |_, _| {},
    );
    tokio::join!(driver, lp);
    let of_a = |r: &Status| r.clusters.iter().find(|c| c.id == A).unwrap().drill.clone();
    assert_eq!(
        of_a(&reports[0]),
        Some(before.clone()),
        "rebuilt at the start"
    );
    let told_shown = DrillSummary::after(Some(&before), &told);
    let seen: Vec<Option<DrillSummary>> = reports.iter().map(of_a).collect();
    let told_at = seen.iter().position(|d| d.as_ref() == Some(&told_shown));
    let told_at = told_at.expect("the told drill is shown");
    let elsewhere_at = seen
        .iter()
        .position(|d| d.as_ref() == Some(&elsewhere))
        .expect("the newer recorded drill is taken on a tick");
    assert!(
        seen[told_at..elsewhere_at]
            .iter()
            .all(|d| d.as_ref() == Some(&told_shown)),
        "{seen:?}"
    );
    assert_eq!(seen.last().unwrap().as_ref(), Some(&elsewhere));
}

/// #30 item 4: a one-shot drill merges into the status file through its typed read, once:
/// the last success the file knew is carried over a failure, with no report on disk; the
/// report file sink writes the report and says where.
#[tokio::test]
async fn a_one_shot_drill_merges_into_the_status_file_through_its_sinks() {
    use crate::drill::sink::{publish, ReportFile, ReportSink};
    use time::macros::datetime;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = cfg(&[A, B]);
    cfg.daemon.status_file = dir.path().join("status.json");
    cfg.daemon.prometheus_textfile = Some(dir.path().join("bridgerest.prom"));
    cfg.drill.reports = dir.path().join("drills");
    let first = drill_report(A, datetime!(2026-11-22 03:00:00 UTC), true);
    // The file as a daemon left it, with A's last drill; no report of it on disk.
    let st = Status {
        updated_at: datetime!(2026-11-22 04:00:00 UTC),
        pid: 1,
        clusters: vec![
            ClusterStatus {
                id: A.into(),
                drill: Some(DrillSummary::after(None, &first)),
                ..Default::default()
            },
            ClusterStatus {
                id: B.into(),
                last_success: Some(datetime!(2026-11-22 03:59:00 UTC)),
                ..Default::default()
            },
        ],
        drill_policy: None,
        written_by: WrittenBy::Daemon,
    };
    std::fs::write(&cfg.daemon.status_file, serde_json::to_vec(&st).unwrap()).unwrap();
    let failed = drill_report(A, datetime!(2026-11-29 03:00:00 UTC), false);
    StatusFile::new(&cfg).publish(&failed).await.unwrap();
    assert!(!cfg.drill.reports.exists(), "no report was read or written");
    let back: Status =
        serde_json::from_slice(&std::fs::read(&cfg.daemon.status_file).unwrap()).unwrap();
    assert_eq!(back.written_by, WrittenBy::Drill);
    let d = back.clusters[0].drill.clone().unwrap();
    assert!(!d.ok);
    assert_eq!(d.at, datetime!(2026-11-29 03:05:00 UTC));
    assert_eq!(d.last_success, Some(datetime!(2026-11-22 03:05:00 UTC)));
    assert_eq!(back.clusters[1], st.clusters[1], "the rest is as it was");
    let prom = std::fs::read_to_string(cfg.daemon.prometheus_textfile.as_ref().unwrap()).unwrap();
    assert!(
        prom.contains(&format!(
            "bridgerest_drill_failed_check{{cluster=\"{A}\",check=\"restore\"}} 1"
        )),
        "{prom}"
    );

    // Through the list: the report file, then the status file; where the report is, said.
    let sinks: crate::drill::sink::Sinks = vec![
        Box::new(ReportFile::new(&cfg)),
        Box::new(StatusFile::new(&cfg)),
    ];
    let again = drill_report(A, datetime!(2026-11-30 03:00:00 UTC), true);
    let at = publish(&sinks, &again).await;
    let path = crate::drill::report::report_path(&cfg.drill.reports, &again);
    assert_eq!(at, [path.display().to_string()]);
    assert_eq!(
        crate::drill::report::latest(&cfg.drill.reports, A),
        Some(again)
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_during_a_refresh_and_a_look_at_the_backups_tries_the_new_config_at_once() {
    // The first refresh (20 s long) fails as a refused key would; the operator puts a new key
    // in place and reloads 5 s into it. The refresh begun with the old key is not the last
    // word: its clusters are refreshed again as soon as it ends, not after the refused key's
    // long backoff; and the look at the backups begun with the old key is dropped for one
    // with the new.
    let mut fake = Fake::new(|_, n| n == 0);
    fake.refresh_takes = Duration::from_secs(20);
    fake.fail_kind = FailureKind::Auth;
    fake.watch_takes = Some(Duration::from_secs(30));
    let (tx, rx) = mpsc::channel(8);
    let driver = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::Reload(Box::new(cfg(&[A, B]))))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(95)).await;
        tx.send(Event::Shutdown).await.unwrap();
    };
    let mut reports = Vec::new();
    let lp = run(
        cfg(&[A, B]),
        |_| short(),
        fake.clone(),
        rx,
        |_, s| reports.push(s.clone()),
        |_, _| {},
    );
    tokio::join!(driver, lp);
    for id in [A, B] {
        let at: Vec<u64> = fake
            .calls()
            .iter()
            .filter(|(_, c)| c == id)
            .map(|(d, _)| d.as_secs())
            .collect();
        assert_eq!(at, vec![0, 20], "{id}");
    }
    assert_eq!(
        *fake.watched.lock().unwrap(),
        vec![Duration::from_secs(35)],
        "the old look dropped, the new one ran to its end"
    );
    let last = reports.last().unwrap();
    assert!(
        last.clusters
            .iter()
            .all(|c| c.last_error.is_none() && c.last_success.is_some()),
        "{last:?}"
    );
}
