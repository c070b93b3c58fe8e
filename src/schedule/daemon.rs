//! The daemon's runtime: the refresh loop of [`crate::schedule`] with its real inputs: the cron
//! schedule (tokio-cron-scheduler), SIGHUP (re-read the config; a bad one is refused and the old
//! one keeps running), SIGTERM/SIGINT (stop after the write in progress), systemd
//! notifications, the scheduled drills, and the status file ([`super::Writer`]).

use std::sync::{Arc, Mutex};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::config::{Config, Cron};
use crate::exit::Exit;
use crate::notify::{notify, watchdog_interval};
use crate::provider::{Client, FailureKind, ProviderKind};
use crate::refresh::{self, Scope};
use crate::schedule::{self, Event, Failed, Refreshed, Refresher, Timing};

/// Why the daemon did not start. Each message is whole.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A schedule the scheduler does not take (exit 2).
    #[error("{key} = \"{schedule}\" is not a cron expression ({why}): e.g. \"{example}\"")]
    Cron {
        key: &'static str,
        schedule: String,
        why: String,
        example: &'static str,
    },
    #[error("installing the {which} handler: {err}")]
    Signal {
        which: &'static str,
        err: std::io::Error,
    },
    /// The scheduler failed (`what`: doing what).
    #[error("{what}: {err}")]
    Scheduler {
        what: &'static str,
        err: JobSchedulerError,
    },
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Cron { .. } => Exit::Usage,
            Error::Signal { .. } | Error::Scheduler { .. } => Exit::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn scheduler(what: &'static str) -> impl Fn(JobSchedulerError) -> Error {
    move |err| Error::Scheduler { what, err }
}

/// `api.concurrency` permits, and that figure.
type Permits = Option<(usize, Arc<tokio::sync::Semaphore>)>;

/// The config in force and its client (none when the config lists no Bridge cluster): what
/// SIGHUP replaces, whole, once the new one works (API key included). It travels one way, a
/// `watch` channel the SIGHUP handler alone writes ([`Reloads`]); whatever needs the config in
/// force reads it there when it starts a round: the refresher its client, the drill worker
/// its config, and [`follow_reloads`], which reschedules the cron jobs and hands the loop its
/// [`Event::Reload`].
#[derive(Clone)]
struct Loaded {
    cfg: Arc<Config>,
    client: Option<Client>,
}

/// The config in force, as every reader of it holds it.
type Reloads = watch::Receiver<Loaded>;

/// The real refresher; its clones share the client and the API permits.
#[derive(Clone)]
struct Real {
    /// The config in force: its client is taken at the start of each round (a new API key or
    /// URL accepted on SIGHUP is used from the next round on).
    loaded: Reloads,
    /// The `api.concurrency` permits every refresh running at a time shares (made again when
    /// a reload changes the figure).
    permits: Arc<Mutex<Permits>>,
    /// Becomes true on SIGTERM/SIGINT: the round in progress is dropped at its next wait (an
    /// HTTP request, a retry's sleep, the lock), never inside a write, which has no wait.
    stop: watch::Receiver<bool>,
    /// The clusters whose name a look at the backups has already learnt: it is asked for once
    /// (a label of the metrics), not on every look, which would double the requests.
    named: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl Refresher for Real {
    fn recorded_drills(&self, cfg: &Config) -> Vec<(String, crate::drill::report::DrillSummary)> {
        schedule::recorded_drills(cfg)
    }

    async fn watch(
        self,
        cfg: Arc<Config>,
        deadline: tokio::time::Instant,
    ) -> Vec<schedule::Watched> {
        self.watch_all(&cfg, deadline).await
    }

    async fn refresh(
        self,
        cfg: Arc<Config>,
        only: Option<Vec<String>>,
        deadline: tokio::time::Instant,
    ) -> Vec<Refreshed> {
        let (client, permits) = {
            let client = self.loaded.borrow().client.clone();
            let mut permits = self.permits.lock().unwrap_or_else(|p| p.into_inner());
            let n = cfg.api.concurrency;
            let sem = match &*permits {
                Some((had, sem)) if *had == n => sem.clone(),
                _ => {
                    let sem = Arc::new(tokio::sync::Semaphore::new(n));
                    *permits = Some((n, sem.clone()));
                    sem
                }
            };
            (client, sem)
        };
        let wanted: Vec<String> = cfg
            .clusters
            .iter()
            .map(|c| c.id.clone())
            .filter(|id| only.as_ref().is_none_or(|o| o.contains(id)))
            .collect();
        let Some(client) = client.filter(|_| !wanted.is_empty()) else {
            return vec![];
        };
        let run = async {
            let scope = Scope::all(&cfg)?;
            // The clusters whose token it fetches (a stanza from [cluster.options] is written
            // once per config: write_options_stanzas).
            let scope = Scope {
                only: Some(wanted.clone()),
                deadline: Some(deadline),
                permits: Some(permits),
                ..scope
            };
            refresh::run(&cfg, Some(&client), &scope).await
        };
        let mut stop = self.stop.clone();
        let res = tokio::select! {
            res = run => res,
            _ = stop.wait_for(|s| *s) => {
                tracing::info!("refresh in progress cancelled");
                return vec![];
            }
        };
        match res {
            Ok(plan) => plan
                .outcomes
                .iter()
                .map(|o| Refreshed {
                    cluster: o.cluster_id.clone(),
                    result: match &o.error {
                        Some(e) => Err(Failed {
                            message: e.to_string(),
                            kind: e.kind(),
                        }),
                        None => Ok(o.expires_at),
                    },
                    stanza: o.stanza.clone(),
                })
                .collect(),
            Err(e) => {
                let msg = format!("{e:#}");
                wanted
                    .into_iter()
                    .map(|cluster| Refreshed {
                        cluster,
                        result: Err(Failed {
                            message: msg.clone(),
                            kind: FailureKind::Local,
                        }),
                        stanza: None,
                    })
                    .collect()
            }
        }
    }
}

impl Real {
    /// Every configured cluster's backups, with one client per provider for the round; a
    /// cluster that has not answered by `deadline` is reported as not answering.
    async fn watch_all(
        &self,
        cfg: &Config,
        deadline: tokio::time::Instant,
    ) -> Vec<schedule::Watched> {
        let mut clients: std::collections::BTreeMap<ProviderKind, Result<Client, Failed>> =
            Default::default();
        let mut set = tokio::task::JoinSet::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(cfg.api.concurrency));
        let mut pending = std::collections::BTreeSet::new();
        let started = tokio::time::Instant::now();
        for (provider, id) in cfg.all_clusters() {
            let client = clients
                .entry(provider)
                .or_insert_with(|| {
                    crate::clients::client_for(cfg, provider).map_err(|e| Failed {
                        message: format!("{e:#}"),
                        kind: FailureKind::Local,
                    })
                })
                .clone();
            let sem = sem.clone();
            pending.insert(id.clone());
            let named = self.named.clone();
            let known = named.lock().is_ok_and(|n| n.contains(&id));
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let res = match client {
                    Ok(c) => c.watch(&id, !known).await.map_err(|e| Failed {
                        message: e.to_string(),
                        kind: e.kind(),
                    }),
                    Err(e) => Err(e),
                };
                if res.as_ref().is_ok_and(|w| w.name.is_some()) {
                    if let Ok(mut n) = named.lock() {
                        n.insert(id.clone());
                    }
                }
                (id, res)
            });
        }
        let mut stop = self.stop.clone();
        let mut out = Vec::new();
        loop {
            tokio::select! {
                next = set.join_next() => match next {
                    Some(Ok(w)) => {
                        pending.remove(&w.0);
                        out.push(w);
                    }
                    Some(Err(_)) => continue,
                    None => return out,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stop.wait_for(|s| *s) => return out,
            }
        }
        // The rest have not answered in time (their requests are dropped with the set).
        let waited = started.elapsed().as_secs();
        out.extend(pending.into_iter().map(|id| {
            (
                id,
                Err(Failed {
                    message: format!(
                        "no answer within {waited}s (api.timeout {}s)",
                        cfg.api.timeout.as_secs()
                    ),
                    kind: FailureKind::Transient,
                }),
            )
        }));
        out
    }
}

fn timing(cfg: &Config) -> Timing {
    Timing {
        lifetime: cfg.api.token_lifetime,
        fraction: cfg.daemon.refresh_at,
        retry_base: cfg.api.retry_base.max(std::time::Duration::from_secs(1)),
        retry_max: cfg.daemon.retry_max,
    }
}

/// The cron job that sends a tick on every firing of `schedule` (already validated).
fn tick_job(schedule: &Cron, tx: &mpsc::Sender<Event>) -> Result<Job> {
    let tick = tx.clone();
    Job::new_async(schedule.as_str(), move |_, _| {
        let tick = tick.clone();
        Box::pin(async move {
            let _ = tick.send(Event::Tick).await;
        })
    })
    .map_err(|e| Error::Cron {
        key: "daemon.schedule",
        schedule: schedule.to_string(),
        why: e.to_string(),
        example: "0 */20 * * * *",
    })
}

/// The cron job that asks the drill worker for a round of drills (dropped while one runs:
/// never two at once).
fn drill_job(schedule: &Cron, tx: &mpsc::Sender<()>) -> Result<Job> {
    let tick = tx.clone();
    Job::new_async(schedule.as_str(), move |_, _| {
        let tick = tick.clone();
        Box::pin(async move {
            if tick.try_send(()).is_err() {
                tracing::warn!("drill schedule fired while drills are still running: skipped");
            }
        })
    })
    .map_err(|e| Error::Cron {
        key: "drill.schedule",
        schedule: schedule.to_string(),
        why: e.to_string(),
        example: "0 30 3 * * Sun",
    })
}

/// Runs a drill of every Crunchy Bridge cluster, one after another, on each request; the
/// config is the one in force when the round starts. A round is abandoned on SIGTERM: the
/// drill in progress ends as any interrupted drill does ([`crate::drill::run`]).
async fn drill_worker(
    mut rx: mpsc::Receiver<()>,
    loaded: Reloads,
    mut stop: watch::Receiver<bool>,
    events: mpsc::Sender<Event>,
) {
    loop {
        tokio::select! {
            got = rx.recv() => if got.is_none() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
        let cfg = loaded.borrow().cfg.clone();
        // SIGTERM ends the drill in progress, which cleans up after itself as any interrupted
        // drill does, and the round with it.
        let shutdown = crate::shutdown::Shutdown::from_watch(stop.clone());
        // Those restored here, then (drill.at_provider) those restored only at the provider.
        let round: Vec<String> = cfg
            .drillable()
            .into_iter()
            .filter(|(_, there)| !there || cfg.drill.at_provider)
            .map(|(id, _)| id)
            .collect();
        for id in round {
            if *stop.borrow() {
                return;
            }
            let req = crate::drill::Request {
                narrate: None,
                cluster: id.clone(),
                target: cfg.drill.target,
                keep: false,
                at_provider: false,
                user: None,
                pg_bin: None,
            };
            tracing::info!(cluster = %id, target = %req.target, "scheduled drill");
            match crate::drill::run(&cfg, &req, &shutdown).await {
                Ok(mut rep) => {
                    crate::drill::seal::seal(&cfg, &mut rep).await;
                    // The report file is the record; the loop, the status file's writer, is
                    // handed the report.
                    let mut sinks: crate::drill::sink::Sinks = vec![
                        Box::new(crate::drill::sink::ReportFile::new(&cfg)),
                        Box::new(schedule::ToLoop(events.clone())),
                    ];
                    sinks.extend(schedule::fleet_sinks(&cfg));
                    let at = crate::drill::sink::publish(&sinks, &rep).await;
                    let path = at.first();
                    match rep.ok {
                        true => tracing::info!(cluster = %id, report = ?path, "drill passed"),
                        false => {
                            tracing::error!(cluster = %id, problem = rep.problem().unwrap_or_default(), report = ?path, "drill failed")
                        }
                    }
                }
                Err(crate::drill::Error::Interrupted(said)) => {
                    tracing::info!(cluster = %id, "drill {said}");
                    return;
                }
                Err(e) => tracing::warn!(cluster = %id, "drill not run: {e:#}"),
            }
        }
    }
}

/// Writes the stanzas of the repositories configured in `[cluster.options]` (no token: once
/// per config, at start and on SIGHUP; a failure is logged, the last good stanza stays).
async fn write_options_stanzas(cfg: &Config) {
    let ids: Vec<String> = cfg
        .written()
        .into_iter()
        .filter(|(_, from)| *from == crate::config::StanzaFrom::Options)
        .map(|(c, _)| c.id.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    let scope = Scope {
        only: Some(ids),
        s3_process_cmd: None,
        deadline: None,
        permits: None,
    };
    match refresh::run(cfg, None, &scope).await {
        Ok(plan) => {
            for o in &plan.outcomes {
                match &o.error {
                    None => {
                        tracing::info!(cluster = %o.cluster_id, stanza = ?o.stanza, "stanza written from the config's options")
                    }
                    Some(e) => {
                        tracing::error!(cluster = %o.cluster_id, error = %e, "stanza from the config's options not written; the last good one stays")
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "stanzas from the config's options not written")
        }
    }
}

/// How long the first round may take before READY=1 is sent anyway.
const FIRST_ROUND_READY: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the daemon on `cfg` with `client` (the Bridge client, if any) until SIGTERM/SIGINT.
/// On SIGHUP, `reload` reads the config again and makes its client; what it refuses is
/// logged and the old config keeps running.
pub async fn run<E: std::fmt::Display + Send + 'static>(
    cfg: Config,
    client: Option<Client>,
    reload: impl Fn() -> Result<(Config, Option<Client>), E> + Send + 'static,
) -> Result<()> {
    // Signal streams first, so none is missed once the loop runs.
    let handler = |kind, which| signal(kind).map_err(|err| Error::Signal { which, err });
    let mut hup = handler(SignalKind::hangup(), "SIGHUP")?;
    let mut term = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut int = handler(SignalKind::interrupt(), "SIGINT")?;
    let (tx, rx) = mpsc::channel::<Event>(16);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (drill_tx, drill_rx) = mpsc::channel::<()>(1);
    let (loaded_tx, loaded) = watch::channel(Loaded {
        cfg: Arc::new(cfg.clone()),
        client,
    });
    write_options_stanzas(&cfg).await;
    let drills = tokio::spawn(drill_worker(
        drill_rx,
        loaded.clone(),
        stop_rx.clone(),
        tx.clone(),
    ));

    let sched = JobScheduler::new()
        .await
        .map_err(scheduler("starting the scheduler"))?;
    let job_id = sched
        .add(tick_job(&cfg.daemon.schedule, &tx)?)
        .await
        .map_err(scheduler("scheduling the refresh"))?;
    let drill_job_id = match &cfg.drill.schedule {
        Some(s) => Some(
            sched
                .add(drill_job(s, &drill_tx)?)
                .await
                .map_err(scheduler("scheduling the drills"))?,
        ),
        None => None,
    };
    sched
        .start()
        .await
        .map_err(scheduler("starting the scheduler"))?;
    tracing::info!(
        pid = std::process::id(),
        config = %cfg.path.display(),
        refreshed = cfg.clusters.len(),
        watched = cfg.remote.len(),
        schedule = %cfg.daemon.schedule,
        status_file = %cfg.daemon.status_file.display(),
        "daemon started"
    );

    let reloads = tokio::spawn(follow_reloads(
        loaded.clone(),
        sched.clone(),
        Jobs {
            refresh: (job_id, cfg.daemon.schedule.clone()),
            drill: (drill_job_id, cfg.drill.schedule.clone()),
        },
        tx.clone(),
        drill_tx,
    ));
    let signals = {
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    // The whole new config must work, API key included, before it replaces the
                    // old; then it goes one way, to everyone who reads the config in force.
                    _ = hup.recv() => match reload() {
                        Ok((c, client)) => {
                            tracing::info!(path = %c.path.display(), refreshed = c.clusters.len(), watched = c.remote.len(), "SIGHUP: config re-read");
                            loaded_tx.send_replace(Loaded { cfg: Arc::new(c), client });
                        }
                        Err(e) => tracing::error!("SIGHUP: the new config is refused, the old one keeps running: {e}"),
                    },
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                }
            }
            tracing::info!("stopping (a write in progress completes first)");
            let _ = stop_tx.send(true);
            let _ = tx.send(Event::Shutdown).await;
        })
    };
    if let Some(every) = watchdog_interval() {
        tokio::spawn(async move {
            let mut t = tokio::time::interval(every / 2);
            loop {
                t.tick().await;
                notify("WATCHDOG=1");
            }
        });
    }
    drop(tx);
    // systemd waits for READY=1 (TimeoutStartSec=, 90 s by default): a first round held up by
    // a slow or silent API must not get the service killed, so READY=1 comes after it or after
    // FIRST_ROUND_READY, whichever is first; STATUS= says the round is still running.
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let early_ready = {
        let ready = ready.clone();
        tokio::spawn(async move {
            tokio::time::sleep(FIRST_ROUND_READY).await;
            if !ready.swap(true, std::sync::atomic::Ordering::SeqCst) {
                tracing::warn!(
                    "the first refresh is taking long; telling systemd the daemon is ready"
                );
                notify("READY=1\nSTATUS=first refresh still running");
            }
        })
    };

    // What the last write said, as text: a failure is logged once per change.
    let mut status_written: Result<(), String> = Ok(());
    let mut writer = schedule::Writer::default();
    let real = Real {
        loaded,
        permits: Arc::default(),
        stop: stop_rx,
        named: Arc::default(),
    };
    schedule::run(
        cfg,
        timing,
        real,
        rx,
        |cfg, st| {
            let res = writer.write(cfg, st).map_err(|e| e.to_string());
            if res != status_written {
                match &res {
                    Err(e) => tracing::warn!("cannot write the status file: {e}"),
                    Ok(()) => tracing::info!("the status file is written again"),
                }
                status_written = res;
            }
            notify(&format!("STATUS={}", st.summary()));
        },
        |_, st| {
            tracing::info!("{}", st.summary());
            if !ready.swap(true, std::sync::atomic::Ordering::SeqCst) {
                notify("READY=1");
            }
        },
    )
    .await;
    early_ready.abort();
    let _ = drills.await;
    notify("STOPPING=1");
    signals.abort();
    reloads.abort();
    let mut sched = sched;
    let _ = sched.shutdown().await;
    tracing::info!("daemon stopped");
    Ok(())
}

/// The cron jobs in force: the refresh's, the drills' (if `drill.schedule` is set), each with
/// its schedule.
struct Jobs {
    refresh: (uuid::Uuid, Cron),
    drill: (Option<uuid::Uuid>, Option<Cron>),
}

/// Applies each config SIGHUP accepted ([`Loaded`]), in this one place: a cron job whose
/// schedule changed is replaced (a schedule refused leaves the old one running), then the loop
/// is handed the new config ([`Event::Reload`]). The refresher and the drill worker read the
/// config in force from the same channel when they start a round.
async fn follow_reloads(
    mut loaded: Reloads,
    sched: JobScheduler,
    mut jobs: Jobs,
    tx: mpsc::Sender<Event>,
    drill_tx: mpsc::Sender<()>,
) {
    while loaded.changed().await.is_ok() {
        let cfg = loaded.borrow_and_update().cfg.clone();
        write_options_stanzas(&cfg).await;
        if cfg.daemon.schedule != jobs.refresh.1 {
            match reschedule(&sched, jobs.refresh.0, &cfg.daemon.schedule, &tx).await {
                Ok(id) => {
                    tracing::info!(schedule = %cfg.daemon.schedule, "SIGHUP: new refresh schedule");
                    jobs.refresh = (id, cfg.daemon.schedule.clone());
                }
                Err(e) => tracing::error!(
                    "SIGHUP: the new schedule is refused, the old one keeps running: {e:#}"
                ),
            }
        }
        if cfg.drill.schedule != jobs.drill.1 {
            match redrill(&sched, jobs.drill.0, cfg.drill.schedule.as_ref(), &drill_tx).await {
                Ok(id) => {
                    tracing::info!(schedule = ?cfg.drill.schedule, "SIGHUP: new drill schedule");
                    jobs.drill = (id, cfg.drill.schedule.clone());
                }
                Err(e) => tracing::error!(
                    "SIGHUP: the new drill schedule is refused, the old one keeps running: {e:#}"
                ),
            }
        }
        if tx
            .send(Event::Reload(Box::new((*cfg).clone())))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The Bridge client, if the config lists a Bridge cluster (whose credentials are refreshed).
pub fn bridge_client(cfg: &Config) -> Result<Option<Client>, crate::clients::Error> {
    match cfg.clusters.is_empty() {
        true => Ok(None),
        false => crate::clients::client(cfg).map(Some),
    }
}

/// Replaces the drill job `old` (if any) with one for `schedule` (if any).
async fn redrill(
    sched: &JobScheduler,
    old: Option<uuid::Uuid>,
    schedule: Option<&Cron>,
    tx: &mpsc::Sender<()>,
) -> Result<Option<uuid::Uuid>> {
    let id = match schedule {
        Some(s) => Some(
            sched
                .add(drill_job(s, tx)?)
                .await
                .map_err(scheduler("scheduling the drills"))?,
        ),
        None => None,
    };
    if let Some(old) = old {
        sched
            .remove(&old)
            .await
            .map_err(scheduler("removing the old drill schedule"))?;
    }
    Ok(id)
}

/// Replaces the cron job `old` with one for `schedule`; the old one stays if that fails.
async fn reschedule(
    sched: &JobScheduler,
    old: uuid::Uuid,
    schedule: &Cron,
    tx: &mpsc::Sender<Event>,
) -> Result<uuid::Uuid> {
    let id = sched
        .add(tick_job(schedule, tx)?)
        .await
        .map_err(scheduler("scheduling the refresh"))?;
    sched
        .remove(&old)
        .await
        .map_err(scheduler("removing the old schedule"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// #30 item 4: SIGHUP's config goes one way. Written once to the config in force, it is
    /// what the refresher and the drill worker read there, and what the loop is handed (with
    /// the cron jobs rescheduled first); once the handler is gone (SIGTERM), so is the follower.
    #[tokio::test]
    async fn a_reload_travels_one_way() {
        let text = "[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"/x\"\n";
        let cfg = crate::config::parse(text, std::path::Path::new("t.toml")).unwrap();
        let (loaded_tx, loaded) = watch::channel(Loaded {
            cfg: Arc::new(cfg.clone()),
            client: None,
        });
        let sched = JobScheduler::new().await.unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let (drill_tx, _drills) = mpsc::channel(1);
        let job = sched
            .add(tick_job(&cfg.daemon.schedule, &tx).unwrap())
            .await
            .unwrap();
        let follower = tokio::spawn(follow_reloads(
            loaded.clone(),
            sched.clone(),
            Jobs {
                refresh: (job, cfg.daemon.schedule.clone()),
                drill: (None, None),
            },
            tx,
            drill_tx,
        ));
        let mut new = cfg.clone();
        new.daemon.schedule = Cron::parse("0 */5 * * * *").unwrap();
        new.drill.schedule = Some(Cron::parse("0 30 3 * * Sun").unwrap());
        let new = Arc::new(new);
        loaded_tx.send_replace(Loaded {
            cfg: new.clone(),
            client: None,
        });
        match rx.recv().await {
            Some(Event::Reload(c)) => {
                assert_eq!(c.daemon.schedule, new.daemon.schedule);
                assert_eq!(c.drill.schedule, new.drill.schedule);
            }
            other => panic!("the loop was not handed the new config: {other:?}"),
        }
        // The refresher's and the drill worker's reading of the config in force.
        assert!(Arc::ptr_eq(&loaded.borrow().cfg, &new));
        drop(loaded_tx);
        tokio::time::timeout(std::time::Duration::from_secs(5), follower)
            .await
            .unwrap()
            .unwrap();
    }
}
