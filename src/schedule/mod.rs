//! The daemon's refresh loop: every cluster is refreshed on the cron tick and, on its own,
//! at a fraction of its credentials' lifetime (the configured `api.token_lifetime`, or the
//! expiry an Azure SAS token states in `se=`, whichever is sooner). Each refresh runs on a task
//! of its own with a deadline ([`attempt_budget`]); a failed one is retried with backoff and
//! jitter within the credentials' remaining life ([`next_attempt`]), and logged once per change
//! of state. On each tick (and at start and reload) it also looks, on a task of its own with
//! [`WATCH_DEADLINE`], at every cluster's backups, of every provider, and flags one whose
//! newest backup is older than `daemon.max_backup_age`. The loop takes its events (cron ticks,
//! reloads, shutdown) from a channel, so tests drive it under paused time.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::Config;
use crate::drill::report::{DrillSummary, Report};
use crate::drill::sink::{ReportSink, SinkError};
use crate::provider::{BoxFut, FailureKind};

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
/// `retry_max`, with jitter (`rand` in [0, 1)) taking it down to half; while the credentials
/// work (`left` until they expire), never later than half of what is left of them (but at
/// least `retry_base`), so retries come well before expiry and none long after. Once they have
/// expired, the plain backoff applies.
pub fn retry_delay(t: &Timing, failures: u32, rand: f64, left: Option<Duration>) -> Duration {
    let jittered = crate::backoff::delay(t.retry_base, failures, t.retry_max, rand);
    match left.filter(|l| !l.is_zero()) {
        Some(l) => jittered.min((l / 2).max(t.retry_base)),
        None => jittered,
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
/// - transient (network, 5xx, 429, no answer by the attempt's deadline): [`retry_delay`],
///   hurrying while the file's credentials still work;
/// - a refused key or a cluster the key cannot see: `retry_max` (a 401 is not a 503: asking
///   again soon only hammers the API; a rotated key takes effect on SIGHUP at once), but while
///   the file's credentials work, by half of what is left of them (a 401 may be the API's
///   passing fault);
/// - anything else (an expired or unusable credential, a malformed answer, a local problem):
///   the backoff, never sooner than [`Timing::floor`]; but while the file's credentials work,
///   within a third of what is left of them, so that several attempts come before they expire
///   and none after.
pub fn next_attempt(
    t: &Timing,
    kind: FailureKind,
    failures: u32,
    rand: f64,
    left: Option<Duration>,
) -> Duration {
    let rand = rand.clamp(0.0, 1.0);
    // What is left of the credentials in the file, if they still work.
    let left = left.filter(|l| !l.is_zero());
    match kind {
        FailureKind::Transient => retry_delay(t, failures, rand, left),
        FailureKind::Auth | FailureKind::NotFound => {
            let slow = t.retry_max.mul_f64(0.75 + 0.25 * rand);
            match left {
                Some(l) => slow.min((l / 2).max(t.retry_base)),
                None => slow,
            }
        }
        FailureKind::Expired | FailureKind::Malformed | FailureKind::Local => {
            let slow =
                retry_delay(t, failures, rand, None).max(t.floor().mul_f64(1.0 + 0.25 * rand));
            match left {
                Some(l) => slow.min((l / 3).max(t.retry_base)),
                None => slow,
            }
        }
    }
}

/// The shortest time one attempt to refresh is given before it counts as failed.
pub const MIN_ATTEMPT: Duration = Duration::from_secs(15);

/// How long one attempt to refresh a cluster may take (`left`: until the credentials in the
/// file expire): a third of what is left of them, so that a slow or silent API leaves time for
/// more attempts before they expire; with none that work, the regular interval. Never less
/// than [`MIN_ATTEMPT`].
pub fn attempt_budget(t: &Timing, left: Option<Duration>) -> Duration {
    match left.filter(|l| !l.is_zero()) {
        Some(l) => l / 3,
        None => t.lifetime.mul_f64(t.fraction),
    }
    .max(MIN_ATTEMPT)
}

/// How long one look at every cluster's backups may take; a cluster that has not answered by
/// then is reported as not answering (its credentials are refreshed on their own, meanwhile).
pub const WATCH_DEADLINE: Duration = Duration::from_secs(120);

/// One cluster's backups as the daemon last saw them, or why it could not look.
pub type Watched = (String, Result<crate::provider::BackupWatch, Failed>);

/// Does the refreshes: the real one writes the pgBackRest config; tests count calls. The loop
/// runs each refresh and each look at the backups on a task of its own (on a clone), so that
/// none waits for another: a slow backup listing or a slow cluster never holds up a refresh
/// that is due.
pub trait Refresher: Clone + Send + 'static {
    /// Looks at every configured cluster's backups, of every provider (none by default); a
    /// cluster with no answer by `deadline` is reported as such.
    fn watch(
        self,
        _cfg: Arc<Config>,
        _deadline: Instant,
    ) -> impl Future<Output = Vec<Watched>> + Send {
        std::future::ready(Vec::new())
    }

    /// Each cluster's last drill as the record on disk says, for what the loop was not told
    /// (none by default): read when it starts (its state after a restart), on a reload, and on
    /// each tick (a one-shot `bridgerest drill` while the daemon runs). Never to learn of a
    /// drill it was told of: those come as [`Event::Drilled`].
    fn recorded_drills(&self, _cfg: &Config) -> Vec<(String, DrillSummary)> {
        Vec::new()
    }

    /// Refreshes `only` these clusters (every configured one when `None`); a cluster with no
    /// token by `deadline` fails (transient), the others are written.
    fn refresh(
        self,
        cfg: Arc<Config>,
        only: Option<Vec<String>>,
        deadline: Instant,
    ) -> impl Future<Output = Vec<Refreshed>> + Send;
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
    /// A drill has ended, with its report: the status file shows it, from what the event
    /// carries (this loop is the status file's only writer while the daemon runs).
    Drilled(Box<Report>),
}

/// The status file and the Prometheus text as the daemon's drills publish to them: the loop,
/// their writer, told through its events ([`Event::Drilled`]).
pub struct ToLoop(pub mpsc::Sender<Event>);

impl ReportSink for ToLoop {
    fn name(&self) -> &'static str {
        "the daemon's status file"
    }

    fn publish<'a>(&'a self, rep: &'a Report) -> BoxFut<'a, Result<Option<String>, SinkError>> {
        Box::pin(async move {
            self.0
                .send(Event::Drilled(Box::new(rep.clone())))
                .await
                .map_err(|_| "the daemon is stopping")?;
            Ok(None)
        })
    }
}

pub mod daemon;
pub mod push;
mod status;

/// The sinks where a fleet's workers' results add up, each where the config sets it: the
/// Pushgateway (`drill.push_url`), then the reports bucket (`drill.reports_url`).
pub fn fleet_sinks(cfg: &Config) -> crate::drill::sink::Sinks {
    let mut sinks: crate::drill::sink::Sinks = Vec::new();
    if let Some(p) = push::Pushgateway::new(cfg) {
        sinks.push(Box::new(p));
    }
    if let Some(b) = crate::drill::bucket::BucketSink::new(cfg) {
        sinks.push(Box::new(b));
    }
    sinks
}
pub use status::{
    fill_drills, publish_drill, record_refresh, recorded_drills, ClusterStatus, DrillPolicy,
    Status, StatusFile, WriteError, Writer, WrittenBy,
};

struct Slot {
    status: ClusterStatus,
    next: Instant,
    failures: u32,
    /// A refresh of it is running.
    busy: bool,
    /// The config was reloaded while that refresh ran (with the old config and key): whatever
    /// it brings back, the cluster is refreshed again at once, with the new one.
    stale: bool,
    /// When the credentials in the file expire (on the monotonic clock: the wall clock may
    /// jump), if any were fetched.
    expires: Option<Instant>,
}

/// What a task of the loop's brings back.
enum Done {
    Refreshed {
        batch: Vec<String>,
        results: Vec<Refreshed>,
        /// When the refresh started: the credentials it got are counted from then (they
        /// cannot be older), on both clocks.
        started: (Instant, OffsetDateTime),
    },
    Watched(Vec<Watched>),
}

/// The refreshes and the look at the backups in progress.
struct Tasks<R> {
    refresher: R,
    set: tokio::task::JoinSet<Done>,
    /// The look at the backups in progress (never two at once).
    watching: Option<tokio::task::AbortHandle>,
}

impl<R: Refresher> Tasks<R> {
    /// Starts a refresh of the clusters `only` names (every one when `None`) that are not being
    /// refreshed already, given the time the most pressed of them can spare.
    fn refresh(
        &mut self,
        cfg: &Arc<Config>,
        t: &Timing,
        slots: &mut BTreeMap<String, Slot>,
        only: Option<Vec<String>>,
    ) {
        let now = Instant::now();
        let batch: Vec<String> = slots
            .iter()
            .filter(|(id, s)| {
                !s.busy && !s.status.watch_only && only.as_ref().is_none_or(|o| o.contains(id))
            })
            .map(|(id, _)| id.clone())
            .collect();
        if batch.is_empty() {
            return;
        }
        let mut budget = NEVER;
        for id in &batch {
            if let Some(s) = slots.get_mut(id) {
                s.busy = true;
                budget = budget.min(attempt_budget(t, left(s, now)));
            }
        }
        let deadline = Instant::now() + budget;
        let (refresher, cfg) = (self.refresher.clone(), cfg.clone());
        let only = Some(batch.clone());
        let started = (now, OffsetDateTime::now_utc());
        self.set.spawn(async move {
            let results = refresher.refresh(cfg, only, deadline).await;
            Done::Refreshed {
                batch,
                results,
                started,
            }
        });
    }

    /// Starts a look at every cluster's backups with the config just reloaded: one still
    /// running with the old config (and key) is dropped, as on shutdown (it only reads).
    fn rewatch(&mut self, cfg: &Arc<Config>) {
        if let Some(w) = self.watching.take() {
            w.abort();
        }
        self.watch(cfg);
    }

    /// Starts a look at every cluster's backups, unless one is running.
    fn watch(&mut self, cfg: &Arc<Config>) {
        if self.watching.as_ref().is_some_and(|w| !w.is_finished()) {
            tracing::debug!("the last look at the backups is still running: not started again");
            return;
        }
        let (refresher, cfg) = (self.refresher.clone(), cfg.clone());
        let deadline = Instant::now() + WATCH_DEADLINE;
        self.watching = Some(
            self.set
                .spawn(async move { Done::Watched(refresher.watch(cfg, deadline).await) }),
        );
    }

    fn refreshing(&self) -> bool {
        self.set.len() > usize::from(self.watching.as_ref().is_some_and(|w| !w.is_finished()))
    }
}

/// What is left at `now` of the credentials in the file, if there are any.
fn left(slot: &Slot, now: Instant) -> Option<Duration> {
    slot.expires.map(|x| x.saturating_duration_since(now))
}

/// Runs until [`Event::Shutdown`] or the channel closes. Each refresh and each look at the
/// backups runs on its own task; after each refresh, each drill, and each look at the backups
/// that ends while no refresh runs, `report` gets the config in force and the status (to write the status file and tell systemd); `ready` is
/// called once, after the first refresh (or at once if no cluster is refreshed). On shutdown
/// the refreshes in progress are waited for (they stop at their next wait, never inside a
/// write), the look at the backups is dropped.
pub async fn run<R: Refresher>(
    cfg: Config,
    timing: impl Fn(&Config) -> Timing,
    refresher: R,
    mut events: mpsc::Receiver<Event>,
    mut report: impl FnMut(&Config, &Status),
    mut ready: impl FnMut(&Config, &Status),
) {
    let mut cfg = Arc::new(cfg);
    let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
    let mut tasks = Tasks {
        refresher,
        set: tokio::task::JoinSet::new(),
        watching: None,
    };
    sync_slots(&cfg, &mut slots);
    recorded(&tasks.refresher, &cfg, &mut slots);
    tasks.refresh(&cfg, &timing(&cfg), &mut slots, None);
    tasks.watch(&cfg);
    let mut starting = true;
    if !tasks.refreshing() {
        let st = status(&slots);
        report(&cfg, &st);
        ready(&cfg, &st);
        starting = false;
    }
    loop {
        let due = slots
            .values()
            .filter(|s| !s.busy)
            .map(|s| s.next)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        // Reported when something is learnt: a refresh's results, a drill, or what the backups
        // look like once no refresh runs (a refresh that ends reports it too): never a state
        // half way through a reload's refresh.
        let mut learnt = false;
        tokio::select! {
            ev = events.recv() => match ev {
                None | Some(Event::Shutdown) => break,
                Some(Event::Tick) => {
                    tracing::debug!("scheduled refresh of every cluster");
                    learnt = recorded(&tasks.refresher, &cfg, &mut slots);
                    tasks.refresh(&cfg, &timing(&cfg), &mut slots, None);
                    tasks.watch(&cfg);
                }
                Some(Event::Drilled(rep)) => {
                    if let Some(slot) = slots.get_mut(&rep.cluster) {
                        tracing::debug!(cluster = %rep.cluster, "drill told; the status file shows it");
                        slot.status.drill = Some(DrillSummary::after(slot.status.drill.as_ref(), &rep));
                        learnt = true;
                    }
                }
                Some(Event::Reload(new)) => {
                    cfg = Arc::new(*new);
                    sync_slots(&cfg, &mut slots);
                    recorded(&tasks.refresher, &cfg, &mut slots);
                    tracing::debug!(clusters = cfg.clusters.len() + cfg.remote.len(), "config reloaded");
                    for s in slots.values_mut().filter(|s| s.busy) {
                        s.stale = true;
                    }
                    tasks.refresh(&cfg, &timing(&cfg), &mut slots, None);
                    tasks.rewatch(&cfg);
                }
            },
            Some(joined) = tasks.set.join_next(), if !tasks.set.is_empty() => {
                match joined {
                    Ok(Done::Refreshed { batch, results, started }) => {
                        settle(&timing(&cfg), &mut slots, batch, results, started);
                        learnt = true;
                        if starting {
                            starting = false;
                            let st = status(&slots);
                            report(&cfg, &st);
                            ready(&cfg, &st);
                            continue;
                        }
                    }
                    Ok(Done::Watched(seen)) => {
                        watched(&cfg, &mut slots, seen);
                        learnt = !tasks.refreshing();
                    }
                    // A look at the backups dropped for a reload's.
                    Err(e) if e.is_cancelled() => {}
                    Err(e) if tasks.watching.as_ref().is_some_and(|w| w.id() == e.id()) => {
                        tracing::error!(error = %e, "internal error: the look at the backups failed");
                    }
                    Err(e) => {
                        // A refresh that panicked: its clusters are tried again (settle
                        // never sees them, so free them all).
                        tracing::error!(error = %e, "internal error: a refresh task failed");
                        for s in slots.values_mut().filter(|s| s.busy) {
                            s.busy = false;
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(due) => {
                let now = Instant::now();
                let only: Vec<String> = slots.iter().filter(|(_, s)| !s.busy && s.next <= now).map(|(id, _)| id.clone()).collect();
                tasks.refresh(&cfg, &timing(&cfg), &mut slots, Some(only));
            }
        }
        if learnt {
            report(&cfg, &status(&slots));
        }
    }
    if let Some(w) = tasks.watching.take() {
        w.abort();
    }
    // The refreshes in progress end at their next wait; what they did is recorded.
    let mut any = false;
    while let Some(joined) = tasks.set.join_next().await {
        if let Ok(Done::Refreshed {
            batch,
            results,
            started,
        }) = joined
        {
            settle(&timing(&cfg), &mut slots, batch, results, started);
            any = true;
        }
    }
    if any {
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
                    .local_clusters()
                    .find(|c| c.id == id)
                    .and_then(|c| c.stanza.clone()),
                id,
                provider: (provider != crate::provider::ProviderKind::DEFAULT).then_some(provider),
                watch_only,
                ..Default::default()
            },
            next: match watch_only {
                true => Instant::now() + NEVER,
                false => Instant::now(),
            },
            failures: 0,
            busy: false,
            stale: false,
            expires: None,
        });
    }
}

/// Takes each cluster's last drill from the record on disk where it is newer than the one the
/// loop holds (or the loop holds none): a drill another process ran. Whether any was taken.
fn recorded<R: Refresher>(r: &R, cfg: &Config, slots: &mut BTreeMap<String, Slot>) -> bool {
    let mut any = false;
    for (id, d) in r.recorded_drills(cfg) {
        let Some(slot) = slots.get_mut(&id) else {
            continue;
        };
        if slot.status.drill.as_ref().is_none_or(|held| d.at > held.at) {
            slot.status.drill = Some(d);
            any = true;
        }
    }
    any
}

/// "Not before the next reload": when a slot that is never refreshed is due.
const NEVER: Duration = Duration::from_secs(10 * 365 * 86400);

/// Records what a look at every cluster's backups saw; flags a newest backup older than
/// `daemon.max_backup_age`, and logs each change.
fn watched(cfg: &Config, slots: &mut BTreeMap<String, Slot>, seen: Vec<Watched>) {
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

/// Records a refresh's results: the next refresh of each cluster, or its next attempt. A
/// cluster's change of state (ok → failing, failing → ok) is logged once; a failure while it
/// fails already only at debug level.
fn settle(
    t: &Timing,
    slots: &mut BTreeMap<String, Slot>,
    batch: Vec<String>,
    results: Vec<Refreshed>,
    (since, since_wall): (Instant, OffsetDateTime),
) {
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    for r in results {
        let Some(slot) = slots.get_mut(&r.cluster) else {
            continue;
        };
        slot.busy = false;
        let st = &mut slot.status;
        if r.stanza.is_some() {
            st.stanza = r.stanza;
        }
        match r.result {
            Ok(stated) => {
                if let Some(was) = &st.last_error {
                    tracing::info!(cluster = %r.cluster, failures = slot.failures, last_error = %was, "refresh works again");
                }
                // Counted from the request (the token cannot be older), not from its answer.
                let stated = stated.map(|e| Duration::try_from(e - since_wall).unwrap_or_default());
                let valid = valid_for(t, stated).min(NEVER);
                slot.failures = 0;
                slot.expires = Some(since + valid);
                slot.next = (since + valid.mul_f64(t.fraction)).max(now + t.floor());
                st.last_success = Some(wall);
                st.last_error = None;
                st.last_error_at = None;
                st.last_error_kind = None;
                st.expires_at = Some(crate::when::later(since_wall, valid));
            }
            Err(Failed { message, kind }) => {
                // It goes to the log and the status file.
                let message = crate::redact::apply(&message);
                slot.failures += 1;
                let left = slot.expires.map(|x| x.saturating_duration_since(now));
                let delay = next_attempt(t, kind, slot.failures, fastrand::f64(), left);
                let expires_in_s = left.map(|l| l.as_secs());
                match st.last_error.is_none() {
                    true => {
                        tracing::error!(cluster = %r.cluster, error = %message, kind = kind.as_str(), retry_in_s = delay.as_secs(), expires_in_s, "refresh failed; the last good stanza stays")
                    }
                    false => {
                        tracing::debug!(cluster = %r.cluster, error = %message, kind = kind.as_str(), failures = slot.failures, retry_in_s = delay.as_secs(), expires_in_s, "refresh failed again")
                    }
                }
                slot.next = now + delay.min(NEVER);
                st.last_error = Some(message);
                st.last_error_at = Some(wall);
                st.last_error_kind = Some(kind);
            }
        }
        if std::mem::take(&mut slot.stale) {
            // Begun before a reload: the new config (and key) is tried at once.
            slot.next = now;
        }
        st.next_refresh = Some(crate::when::later(wall, slot.next - now));
    }
    // One the refresher said nothing of (cancelled): tried again after a short wait.
    for id in batch {
        if let Some(slot) = slots.get_mut(&id).filter(|s| s.busy) {
            slot.busy = false;
            slot.next = match std::mem::take(&mut slot.stale) {
                true => now,
                false => slot.next.max(now + t.retry_base),
            };
        }
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
