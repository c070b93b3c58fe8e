//! The daemon's refresh loop: every cluster is refreshed on the cron tick and, on its own,
//! at a fraction of its credentials' lifetime (the configured `api.token_lifetime`, or the
//! expiry an Azure SAS token states in `se=`, whichever is sooner). A failed refresh is retried
//! with backoff and jitter, and logged once per change of state. The loop takes its events
//! (cron ticks, reloads, shutdown) from a channel, so tests drive it under paused time.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::Config;
use crate::provider::FailureKind;

/// When and how often to refresh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub lifetime: Duration,
    /// Refresh at this fraction of the lifetime (0 < f < 1).
    pub fraction: f64,
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Timing {
    /// The shortest wait between two refreshes of one cluster: a minute, or the regular interval
    /// if that is shorter. A token that expires at once (a hostile API, a skewed clock) must not
    /// make the daemon ask again and again.
    pub fn floor(&self) -> Duration {
        Duration::from_secs(60).min(self.lifetime.mul_f64(self.fraction))
    }
}

/// How long after a successful fetch the credentials stop working.
pub fn valid_for(t: &Timing, stated: Option<Duration>) -> Duration {
    stated.map_or(t.lifetime, |s| s.min(t.lifetime))
}

/// The delay before retry number `failures` (1, 2, ...): `retry_base` doubling up to
/// `retry_max`, with jitter (`rand` in [0, 1)) taking it down to half; never later than
/// half of what is left of `left` (the time until the credentials expire), so retries come
/// well before expiry. Once less than `retry_base` is left (or the credentials have expired),
/// hurrying helps no one: the plain backoff applies.
pub fn retry_delay(t: &Timing, failures: u32, rand: f64, left: Option<Duration>) -> Duration {
    let jittered = crate::backoff::delay(t.retry_base, failures, t.retry_max, rand);
    match left {
        Some(l) if l / 2 >= t.retry_base && l / 2 < jittered => l / 2,
        _ => jittered,
    }
}

/// What the refresher reports for one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub cluster: String,
    /// `Ok(stated expiry)` or the failure.
    pub result: Result<Option<OffsetDateTime>, Failed>,
}

/// A failed refresh of one cluster, and what kind of failure: it decides the next attempt
/// ([`next_attempt`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub message: String,
    pub kind: FailureKind,
}

impl From<&str> for Failed {
    /// A transient failure (retried with backoff).
    fn from(message: &str) -> Self {
        Failed {
            message: message.to_string(),
            kind: FailureKind::Transient,
        }
    }
}

/// The delay before the next attempt after failure number `failures` of `kind` (`rand` in
/// [0, 1) for jitter; `left` until the credentials in the file expire):
/// - transient (network, 5xx, 429): [`retry_delay`], hurrying while the file's credentials
///   still work;
/// - a refused key or a cluster the key cannot see: `retry_max` (a 401 is not a 503: asking
///   again soon only hammers the API; a rotated key takes effect on SIGHUP at once);
/// - anything else (an expired or unusable credential, a local problem): the backoff, never
///   sooner than [`Timing::floor`].
pub fn next_attempt(
    t: &Timing,
    kind: FailureKind,
    failures: u32,
    rand: f64,
    left: Option<Duration>,
) -> Duration {
    let rand = rand.clamp(0.0, 1.0);
    match kind {
        FailureKind::Transient => retry_delay(t, failures, rand, left),
        FailureKind::Auth | FailureKind::NotFound => t.retry_max.mul_f64(0.75 + 0.25 * rand),
        FailureKind::Expired | FailureKind::Malformed | FailureKind::Local => {
            retry_delay(t, failures, rand, None).max(t.floor().mul_f64(1.0 + 0.25 * rand))
        }
    }
}

/// Does the refreshes: the real one writes the pgBackRest config; tests count calls.
pub trait Refresher {
    /// Refreshes `only` these clusters (every configured one when `None`).
    fn refresh(
        &mut self,
        cfg: &Config,
        only: Option<Vec<String>>,
    ) -> impl Future<Output = Vec<Refreshed>>;
}

/// What the loop is told from outside.
#[derive(Debug)]
pub enum Event {
    /// The cron schedule fired: refresh every cluster.
    Tick,
    /// A new, already validated config (SIGHUP).
    Reload(Box<Config>),
    /// Stop after the refresh in progress (SIGTERM/SIGINT).
    Shutdown,
}

/// One cluster's state, as the status file shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterStatus {
    pub id: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_success: Option<OffsetDateTime>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_error_at: Option<OffsetDateTime>,
    /// What kind of failure the last error is (`auth`, `transient`, ...).
    #[serde(default)]
    pub last_error_kind: Option<FailureKind>,
    /// When the credentials in the file are expected to stop working.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub next_refresh: Option<OffsetDateTime>,
}

/// The daemon's status file (no secrets).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub pid: u32,
    pub clusters: Vec<ClusterStatus>,
}

impl Status {
    pub fn failing(&self) -> usize {
        self.clusters
            .iter()
            .filter(|c| c.last_error.is_some())
            .count()
    }

    /// One line for systemd's STATUS=.
    pub fn summary(&self) -> String {
        let next = self
            .clusters
            .iter()
            .filter_map(|c| c.next_refresh)
            .min()
            .map(crate::restore::show_time)
            .unwrap_or_else(|| "none".into());
        format!(
            "{} clusters: {} ok, {} failing; next refresh {next}",
            self.clusters.len(),
            self.clusters.len() - self.failing(),
            self.failing()
        )
    }

    /// The same figures in Prometheus' text format, for node_exporter's textfile collector.
    pub fn prometheus(&self) -> String {
        fn secs(t: Option<OffsetDateTime>) -> Option<i64> {
            t.map(OffsetDateTime::unix_timestamp)
        }
        fn label(id: &str) -> String {
            id.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        }
        type Metric = (
            &'static str,
            &'static str,
            fn(&ClusterStatus) -> Option<i64>,
        );
        let metrics: [Metric; 4] = [
            (
                "bridgerest_refresh_ok",
                "1 if the cluster's last refresh succeeded, 0 if it failed.",
                |c| {
                    Some(i64::from(
                        c.last_error.is_none() && c.last_success.is_some(),
                    ))
                },
            ),
            (
                "bridgerest_last_success_timestamp_seconds",
                "When the cluster's credentials were last refreshed.",
                |c| secs(c.last_success),
            ),
            (
                "bridgerest_credentials_expiry_timestamp_seconds",
                "When the credentials in the pgBackRest config are expected to stop working.",
                |c| secs(c.expires_at),
            ),
            (
                "bridgerest_next_refresh_timestamp_seconds",
                "When the daemon next refreshes the cluster.",
                |c| secs(c.next_refresh),
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in metrics {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for c in &self.clusters {
                if let Some(v) = value(c) {
                    out.push_str(&format!("{name}{{cluster=\"{}\"}} {v}\n", label(&c.id)));
                }
            }
        }
        out.push_str("# HELP bridgerest_refresh_failing 1 for a failing cluster, labelled with the kind of failure (auth, not_found, transient, malformed, expired, local).\n# TYPE bridgerest_refresh_failing gauge\n");
        for c in &self.clusters {
            if let Some(k) = c.last_error_kind {
                out.push_str(&format!(
                    "bridgerest_refresh_failing{{cluster=\"{}\",kind=\"{}\"}} 1\n",
                    label(&c.id),
                    k.as_str()
                ));
            }
        }
        out.push_str(&format!(
            "# HELP bridgerest_status_updated_timestamp_seconds When the daemon last wrote its status.\n# TYPE bridgerest_status_updated_timestamp_seconds gauge\nbridgerest_status_updated_timestamp_seconds {}\n",
            self.updated_at.unix_timestamp()
        ));
        out
    }
}

struct Slot {
    status: ClusterStatus,
    next: Instant,
    failures: u32,
}

/// Runs until [`Event::Shutdown`] or the channel closes. After each round of refreshes,
/// `report` gets the config in force and the status (to write the status file and tell
/// systemd); `ready` is called once, after the first round.
pub async fn run<R: Refresher>(
    mut cfg: Config,
    timing: impl Fn(&Config) -> Timing,
    refresher: &mut R,
    mut events: mpsc::Receiver<Event>,
    mut report: impl FnMut(&Config, &Status),
    mut ready: impl FnMut(&Config, &Status),
) {
    let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
    sync_slots(&cfg, &mut slots);
    round(&cfg, &timing(&cfg), refresher, &mut slots, None).await;
    let st = status(&slots);
    report(&cfg, &st);
    ready(&cfg, &st);
    loop {
        let due = slots
            .values()
            .map(|s| s.next)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            ev = events.recv() => match ev {
                None | Some(Event::Shutdown) => break,
                Some(Event::Tick) => {
                    tracing::info!("scheduled refresh of every cluster");
                    round(&cfg, &timing(&cfg), refresher, &mut slots, None).await;
                }
                Some(Event::Reload(new)) => {
                    cfg = *new;
                    sync_slots(&cfg, &mut slots);
                    tracing::info!(clusters = cfg.clusters.len(), "config reloaded");
                    round(&cfg, &timing(&cfg), refresher, &mut slots, None).await;
                }
            },
            _ = tokio::time::sleep_until(due) => {
                let now = Instant::now();
                let only: Vec<String> = slots.iter().filter(|(_, s)| s.next <= now).map(|(id, _)| id.clone()).collect();
                round(&cfg, &timing(&cfg), refresher, &mut slots, Some(only)).await;
            }
        }
        report(&cfg, &status(&slots));
    }
}

/// Keeps a slot per configured cluster (new ones due now, removed ones dropped).
fn sync_slots(cfg: &Config, slots: &mut BTreeMap<String, Slot>) {
    slots.retain(|id, _| cfg.clusters.iter().any(|c| &c.id == id));
    for c in &cfg.clusters {
        slots.entry(c.id.clone()).or_insert_with(|| Slot {
            status: ClusterStatus {
                id: c.id.clone(),
                ..Default::default()
            },
            next: Instant::now(),
            failures: 0,
        });
    }
}

async fn round<R: Refresher>(
    cfg: &Config,
    t: &Timing,
    refresher: &mut R,
    slots: &mut BTreeMap<String, Slot>,
    only: Option<Vec<String>>,
) {
    if only.as_ref().is_some_and(|o| o.is_empty()) {
        return;
    }
    let results = refresher.refresh(cfg, only).await;
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    for r in results {
        let Some(slot) = slots.get_mut(&r.cluster) else {
            continue;
        };
        let st = &mut slot.status;
        match r.result {
            Ok(stated) => {
                if st.last_error.is_some() {
                    tracing::info!(cluster = %r.cluster, "refresh works again");
                }
                let stated = stated.map(|e| Duration::try_from(e - wall).unwrap_or_default());
                let valid = valid_for(t, stated);
                slot.failures = 0;
                slot.next = now + valid.mul_f64(t.fraction).max(t.floor());
                st.last_success = Some(wall);
                st.last_error = None;
                st.last_error_at = None;
                st.last_error_kind = None;
                st.expires_at = Some(wall + valid);
            }
            Err(Failed { message, kind }) => {
                // Logged once per change; an expired credential's message names the times, so
                // compare only what stays the same from one round to the next.
                let same = |m: &str| match kind {
                    FailureKind::Expired => m.starts_with(crate::refresh::ALREADY_EXPIRED),
                    _ => m == message,
                };
                slot.failures += 1;
                let left = st
                    .expires_at
                    .map(|x| Duration::try_from(x - wall).unwrap_or_default());
                let delay = next_attempt(t, kind, slot.failures, fastrand::f64(), left);
                if !st.last_error.as_deref().is_some_and(same) {
                    tracing::error!(cluster = %r.cluster, error = %message, kind = kind.as_str(), retry_in_s = delay.as_secs(), "refresh failed; the last good stanza stays");
                }
                slot.next = now + delay;
                st.last_error = Some(message);
                st.last_error_at = Some(wall);
                st.last_error_kind = Some(kind);
            }
        }
        st.next_refresh = Some(wall + (slot.next - now));
    }
}

fn status(slots: &BTreeMap<String, Slot>) -> Status {
    Status {
        updated_at: OffsetDateTime::now_utc(),
        pid: std::process::id(),
        clusters: slots.values().map(|s| s.status.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
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
}
