//! The daemon's refresh loop: every cluster is refreshed on the cron tick and, on its own,
//! at a fraction of its credentials' lifetime (the configured `api.token_lifetime`, or the
//! expiry an Azure SAS token states in `se=`, whichever is sooner). A failed refresh is retried
//! with backoff and jitter, and logged once per change of state. On each tick (and at start and
//! reload) it also looks at every cluster's backups, of every provider, and flags one whose
//! newest backup is older than `daemon.max_backup_age`. The loop takes its events (cron ticks,
//! reloads, shutdown) from a channel, so tests drive it under paused time.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

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
    /// Its stanza, where the refresh knows it (fresh, configured, or kept).
    pub stanza: Option<String>,
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

/// One cluster's backups as the daemon last saw them, or why it could not look.
pub type Watched = (String, Result<crate::provider::BackupWatch, Failed>);

/// Does the refreshes: the real one writes the pgBackRest config; tests count calls.
pub trait Refresher {
    /// Looks at every configured cluster's backups, of every provider (none by default).
    fn watch(&mut self, _cfg: &Config) -> impl Future<Output = Vec<Watched>> {
        std::future::ready(Vec::new())
    }

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
    /// A drill of `cluster` has written its report: the status file shows it (this loop is
    /// the status file's only writer while the daemon runs).
    Drilled { cluster: String },
}

pub mod daemon;
mod status;
pub use status::{
    fill_drills, publish_drills, record_refresh, ClusterStatus, DrillPolicy, Status, Writer,
    WrittenBy,
};

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
    watch(&cfg, refresher, &mut slots).await;
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
                    watch(&cfg, refresher, &mut slots).await;
                }
                Some(Event::Drilled { cluster }) => {
                    tracing::debug!(%cluster, "drill recorded; the status file shows it");
                }
                Some(Event::Reload(new)) => {
                    cfg = *new;
                    sync_slots(&cfg, &mut slots);
                    tracing::info!(clusters = cfg.clusters.len() + cfg.remote.len(), "config reloaded");
                    round(&cfg, &timing(&cfg), refresher, &mut slots, None).await;
                    watch(&cfg, refresher, &mut slots).await;
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
    let all = cfg.all_clusters();
    slots.retain(|id, _| all.iter().any(|(_, c)| c == id));
    for (provider, id) in all {
        // A cluster without repository credentials is never due for a refresh.
        let watch_only = !provider.has_repo_credentials();
        slots.entry(id.clone()).or_insert_with(|| Slot {
            status: ClusterStatus {
                stanza: cfg
                    .clusters
                    .iter()
                    .find(|c| c.id == id)
                    .and_then(|c| c.stanza.clone()),
                id,
                provider: (provider != crate::provider::ProviderKind::Bridge).then_some(provider),
                watch_only,
                ..Default::default()
            },
            next: match watch_only {
                true => Instant::now() + NEVER,
                false => Instant::now(),
            },
            failures: 0,
        });
    }
}

/// "Not before the next reload": when a slot that is never refreshed is due.
const NEVER: Duration = Duration::from_secs(10 * 365 * 86400);

/// Looks at every cluster's backups and records what was seen; flags a newest backup older
/// than `daemon.max_backup_age`.
async fn watch<R: Refresher>(cfg: &Config, refresher: &mut R, slots: &mut BTreeMap<String, Slot>) {
    let seen = refresher.watch(cfg).await;
    let wall = OffsetDateTime::now_utc();
    for (id, res) in seen {
        let Some(slot) = slots.get_mut(&id) else {
            continue;
        };
        let st = &mut slot.status;
        st.backups_checked_at = Some(wall);
        let before = st.backup_problem.clone();
        match res {
            Ok(w) => {
                if w.name.is_some() {
                    st.name = w.name;
                }
                st.last_backup = w.last_backup;
                st.window_start = w.window_start;
                st.backup_problem = w
                    .problem
                    .or_else(|| stale(w.last_backup, wall, cfg.daemon.max_backup_age));
            }
            Err(e) => {
                st.backup_problem = Some(format!("cannot look at its backups: {}", e.message))
            }
        }
        if st.backup_problem != before {
            match &st.backup_problem {
                Some(p) => tracing::warn!(cluster = %id, problem = %p, "backups need attention"),
                None => tracing::info!(cluster = %id, "backups are fine again"),
            }
        }
    }
}

/// Why a newest backup finished at `last` is too old, if it is.
pub fn stale(last: Option<OffsetDateTime>, now: OffsetDateTime, max: Duration) -> Option<String> {
    let age = Duration::try_from(now - last?).unwrap_or_default();
    (age > max).then(|| {
        format!(
            "the newest backup is {} old (daemon.max_backup_age {})",
            humantime::format_duration(Duration::from_secs(age.as_secs() / 60 * 60)),
            humantime::format_duration(max)
        )
    })
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
        if r.stanza.is_some() {
            st.stanza = r.stanza;
        }
        match r.result {
            Ok(stated) => {
                if st.last_error.is_some() {
                    tracing::info!(cluster = %r.cluster, "refresh works again");
                }
                let stated = stated.map(|e| Duration::try_from(e - wall).unwrap_or_default());
                let valid = valid_for(t, stated);
                slot.failures = 0;
                slot.next = now + valid.mul_f64(t.fraction).max(t.floor()).min(NEVER);
                st.last_success = Some(wall);
                st.last_error = None;
                st.last_error_at = None;
                st.last_error_kind = None;
                st.expires_at = Some(crate::when::later(wall, valid));
            }
            Err(Failed { message, kind }) => {
                // It goes to the log and the status file.
                let message = crate::redact::apply(&message);
                // Logged once per change; an expired credential's message names the times, so
                // its kind is what stays the same from one round to the next.
                let same = match kind {
                    FailureKind::Expired => st.last_error_kind == Some(FailureKind::Expired),
                    _ => st.last_error.as_deref() == Some(message.as_str()),
                };
                slot.failures += 1;
                let left = st
                    .expires_at
                    .map(|x| Duration::try_from(x - wall).unwrap_or_default());
                let delay = next_attempt(t, kind, slot.failures, fastrand::f64(), left);
                if !same {
                    tracing::error!(cluster = %r.cluster, error = %message, kind = kind.as_str(), retry_in_s = delay.as_secs(), "refresh failed; the last good stanza stays");
                }
                slot.next = now + delay.min(NEVER);
                st.last_error = Some(message);
                st.last_error_at = Some(wall);
                st.last_error_kind = Some(kind);
            }
        }
        st.next_refresh = Some(crate::when::later(wall, slot.next - now));
    }
}

fn status(slots: &BTreeMap<String, Slot>) -> Status {
    Status {
        updated_at: OffsetDateTime::now_utc(),
        pid: std::process::id(),
        clusters: slots.values().map(|s| s.status.clone()).collect(),
        drill_policy: None,
        written_by: WrittenBy::Daemon,
    }
}

#[cfg(test)]
mod tests;
