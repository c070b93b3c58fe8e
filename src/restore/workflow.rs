//! The restore workflow: check the target, choose the backup, check the data directory; refresh
//! the credentials and let the repository confirm the backup and the window's end; print the
//! plan; run pgbackrest (again with --delta when the store refuses expired credentials), and
//! optionally start PostgreSQL and follow its recovery.

use std::path::{Path, PathBuf};

use super::error::{fail, refuse};
use super::{Error, Result};
use time::OffsetDateTime;

use crate::config::{self, Config};
use crate::narrate::Narrate;
use crate::pgbackrest::child::{self, Invocation, Progress, Redactor};
use crate::pgbackrest::{RepoBackup, RepoInfo};
use crate::provider::{Backup, Client, Cluster, ClusterStatus, ProviderKind};
use crate::recovery::{self, Follow};
use crate::refresh::{self, Scope};
use crate::render;
use crate::restore::checks::{archive_end, version_warning};
use crate::restore::datadir::{create_dir, data_dir, ensure_dir, run_as};
use crate::restore::Plan;
use crate::restore::Request;
use crate::restore::{
    self, restore_lock, ClusterLock, DirState, RunAs, Stop, Target, TargetAction,
};
use crate::shutdown::Shutdown;
use crate::text::excerpt;

/// A restore here, checked and planned, nothing written yet but the refreshed stanza.
pub struct Prepared {
    pub cfg: Config,
    pub id: String,
    pub client: Client,
    pub user: RunAs,
    pub pg1: PathBuf,
    pub state: DirState,
    pub inv: Invocation,
    pub redactor: Redactor,
    /// The plan, as printed (one `name: value` line each).
    pub plan: Plan,
    /// The target's time: the one given (or drawn), or for `latest` the last archived
    /// transaction where the repository could be read.
    pub target_time: Option<OffsetDateTime>,
    /// The API's backup the target needs.
    pub backup: Backup,
    /// The repository's entry for the set restored, where it could be read.
    pub repo_backup: Option<RepoBackup>,
    pub repo: Option<RepoInfo>,
}

/// What a restore did, for the command to show ([`std::fmt::Display`]: its closing lines).
#[derive(Debug)]
pub enum Outcome {
    /// `--dry-run` here: the plan, nothing changed.
    Planned(Box<Planned>),
    /// Restored here.
    Restored(Box<Restored>),
    /// At the provider.
    AtProvider(Box<super::server::Outcome>),
}

/// A restore here planned and not run (`--dry-run`).
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    /// As [`Prepared::target_time`].
    pub target_time: Option<OffsetDateTime>,
    /// The pgBackRest set it would restore (`None`: pgBackRest chooses).
    pub set: Option<String>,
}

impl Planned {
    /// The plan as one JSON object: its lines as fields (as printed, under their names), the
    /// target time and backup label as values; no secret is in it.
    pub fn json(&self) -> Result<String> {
        let mut v = serde_json::to_value(&self.plan)
            .map_err(|e| Error::Failed(format!("cannot show the plan as JSON: {e}")))?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "target_time".into(),
                self.target_time.map(restore::show_time).into(),
            );
            o.insert("set".into(), self.set.clone().into());
            o.insert("dry_run".into(), true.into());
        }
        serde_json::to_string_pretty(&v)
            .map_err(|e| Error::Failed(format!("cannot show the plan as JSON: {e}")))
    }
}

/// A restore here that ran: the files, and (`--start`) the recovery that followed.
#[derive(Debug)]
pub struct Restored {
    /// The set restored (`None`: the one pgBackRest chose).
    pub set: Option<String>,
    pub pg1: PathBuf,
    pub user: RunAs,
    /// PostgreSQL's programs, where known.
    pub bin: Option<PathBuf>,
    /// `--start`: how recovery ended.
    pub recovered: Option<recovery::Recovered>,
}

impl Restored {
    /// A PostgreSQL program run as the restore's user (from root: through runuser), quoted for
    /// a shell.
    fn as_user(&self, program: &str, args: &[&str]) -> String {
        let mut argv = self.user.command_prefix();
        argv.push(self.bin.as_deref().map_or_else(
            || program.to_string(),
            |b| b.join(program).display().to_string(),
        ));
        argv.extend(args.iter().map(|a| a.to_string()));
        child::shell_line(&argv)
    }
}

impl std::fmt::Display for Restored {
    /// What follows the `restored:` line (said when the files were in place): the command
    /// that starts the server, or how its recovery ended and how to reach it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(done) = &self.recovered else {
            let cmd = recovery::start_command(&self.pg1, &self.user, self.bin.as_deref());
            return writeln!(
                f,
                "next:      check port and other settings in {}/postgresql.conf, then start it (or run again with --start):\n  {}",
                self.pg1.display(),
                child::shell_line(&cmd)
            );
        };
        writeln!(f, "recovery:  {}", done.state)?;
        if let Some(t) = done.replayed_to {
            writeln!(
                f,
                "recovered to: {} (last replayed transaction)",
                restore::show_time(t)
            )?;
        }
        if let Some(lsn) = &done.lsn {
            writeln!(f, "last replayed LSN: {lsn}")?;
        }
        if let Some(r) = &done.server {
            writeln!(
                f,
                "server:    running (pid {}), port {}, socket directory {}; it keeps running after bridgerest exits",
                r.pid, r.port, r.host
            )?;
            let port = r.port.to_string();
            writeln!(
                f,
                "connect:   {}",
                self.as_user("psql", &["-h", &r.host, "-p", &port, "-d", "postgres"])
            )?;
            let data = self.pg1.display().to_string();
            writeln!(
                f,
                "stop:      {}",
                self.as_user("pg_ctl", &["-D", &data, "stop"])
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Planned(p) => write!(f, "{}", p.plan),
            Outcome::Restored(r) => write!(f, "{r}"),
            Outcome::AtProvider(o) => write!(f, "{o}"),
        }
    }
}

/// A restore, here or at the provider, as `req` asks: its plan and steps said through `out`
/// as it goes, its end returned. `shutdown` (Ctrl-C, SIGTERM) stops it: here, its
/// `pgbackrest` children with it (a started PostgreSQL runs on); at the provider, the
/// watching (the provider goes on).
pub async fn run(
    cfg: &Config,
    req: Request,
    out: &Narrate,
    shutdown: &Shutdown,
) -> Result<Outcome> {
    let provider = crate::clients::provider_for(cfg, &req.cluster, req.provider)?;
    if req.at_provider() {
        return Ok(Outcome::AtProvider(Box::new(
            super::server::run(cfg, &req, provider, out, shutdown).await?,
        )));
    }
    if !provider.capabilities().local_restore {
        refuse!(
            "{} hands out no repository credentials, so cluster {} cannot be restored here (--pg1-path): restore it at the provider into a new cluster with --into NAME, or over itself with --in-place --confirm {}",
            provider.title(), req.cluster, req.cluster
        );
    }
    let id = req.cluster.clone();
    tokio::select! {
        biased;
        () = shutdown.wait() => Err(Error::Stopped { id }),
        r = here(cfg, req, out) => r,
    }
}

/// A restore here: plan, files, and (`--start`) recovery.
async fn here(cfg: &Config, req: Request, out: &Narrate) -> Result<Outcome> {
    let mut p = prepare(cfg.clone(), &req).await?;
    if req.dry_run {
        return Ok(Outcome::Planned(Box::new(Planned {
            set: p.inv.set.clone(),
            target_time: p.target_time,
            plan: p.plan,
        })));
    }
    out.say(p.plan.to_string().trim_end());
    let lock = restore_lock(&p.cfg, &p.id, "restore", &p.user, req.here.break_lock).await?;
    if lock.as_ref().is_some_and(ClusterLock::preempted_a_drill) {
        out.say(&format!(
            "drill:     the drill of cluster {} that was running stopped and removed its copy",
            p.id
        ));
    }
    let mut progress = Progress::new(out.live());
    restore_files(&mut p, req.here.attempts, &mut progress).await?;
    let bin = recovery::bin_dir(&p.pg1, req.here.pg_bin.as_deref());
    let mut done = Restored {
        set: p.inv.set.clone(),
        pg1: p.pg1.clone(),
        user: p.user.clone(),
        bin,
        recovered: None,
    };
    out.say(&format!(
        "restored:  {} into {}",
        done.set.as_deref().unwrap_or("the backup pgBackRest chose"),
        done.pg1.display()
    ));
    if req.here.start {
        let recovered = recovery::start_and_follow(Follow {
            data: &p.pg1,
            user: &p.user,
            bin: done.bin.as_deref(),
            options: &req.here.pg_options,
            action: req.when.action,
            cfg: &p.cfg,
            client: &p.client,
            cluster: &p.id,
        })
        .await?;
        if recovered.state == recovery::RecoveryEnd::Promoted {
            remove_spool(&p);
        }
        done.recovered = Some(recovered);
    }
    Ok(Outcome::Restored(Box::new(done)))
}

/// Removes the restore's own WAL spool: a promoted server asks for no more WAL (a paused one
/// still may).
pub fn remove_spool(p: &Prepared) {
    if let Some(spool) = p.inv.prefetch.as_ref().and_then(|f| f.spool.as_ref()) {
        if let Err(e) = crate::restore::datadir::remove_dir(spool, &p.user) {
            tracing::warn!("cannot remove the WAL spool {}: {e:#}", spool.display());
        }
    }
}

/// What the provider says of the source cluster: its state, backups and details.
struct Source {
    status: ClusterStatus,
    backups: Vec<Backup>,
    detail: Cluster,
}

/// Checks everything that can be checked before the restore: the target, the backup it needs,
/// the data directory, the stanza's credentials (refreshed, unless a dry run), the backup and
/// the window's end in the repository; and writes the plan.
pub async fn prepare(mut cfg: Config, req: &Request) -> Result<Prepared> {
    let id = req.cluster.clone();
    let (provider, target) = checked(&cfg, req)?;
    let pg1 = data_dir(&mut cfg, &id, req.here.pg1_path.as_deref())?;
    pgbackrest_reads_its_config(&cfg)?;
    let user = run_as(&cfg, req.here.user.as_deref())?;
    let client = crate::clients::client_for(&cfg, provider)?;

    // Check the target against the cluster's backups before anything is touched.
    let (status, backups, detail) = tokio::try_join!(
        client.cluster_status(&id),
        client.list_backups(&id),
        client.get_cluster(&id)
    )?;
    let src = Source {
        status,
        backups,
        detail,
    };
    let now = OffsetDateTime::now_utc();
    // A given target is checked at once; a drawn one once the window's end is known (the
    // window itself must have a backup either way).
    let early = src.choose(&id, target.stop().unwrap_or(Stop::Latest), now)?;
    let state = restore::check_data_dir(&pg1, &user, req.here.delta || req.here.force)?;

    // A stanza bridgerest writes (from a token, or from [cluster.options]) is written fresh; a
    // repository the user configured in pgBackRest is read as it is.
    let (stanza, redactor) = if req.dry_run || !cfg.writes_stanza(&id) {
        (planned_stanza(&cfg, &client, &id).await?, Redactor)
    } else {
        refresh_cluster(&cfg, &client, &id).await?
    };
    let (mut inv, wal_line) = invocation(&cfg, req, &id, &stanza, &pg1);
    let (repo, archive_last) = read_repository(&cfg, req, &inv, &user, &src, &id).await?;
    let start = src
        .backups
        .iter()
        .filter_map(|b| b.finished_at)
        .min()
        .zip(src.status.oldest_backup_at)
        .map(|(first, oldest)| restore::window_start(oldest, first));
    let stop = resolve(target, start, archive_last.as_ref(), now)?;
    inv.target = stop;
    let backup = match target {
        Target::Random => src.choose(&id, stop, now)?,
        Target::Latest | Target::Time(_) => early,
    };
    let chosen = choose_set(req.here.set.as_deref(), &backup, stop, repo.as_ref())?;
    inv.set = chosen.set.clone();
    let window_end = archive_last
        .as_ref()
        .map(|(t, _)| format!("{} (the last archived transaction)", restore::show_time(*t)));
    let warning = version_warning(src.detail.major_version, req.here.pg_bin.as_deref());
    if let Some(w) = &warning {
        tracing::warn!("{w}");
    }
    let plan = Plan {
        cluster: id.clone(),
        stanza: stanza.clone(),
        source: src.shown(),
        warning,
        target: target_shown(target, stop, req.when.action, window_end.as_deref()),
        backup: match req.here.set.is_some() {
            true => format!("{} (--set)", chosen.label),
            false => backup_shown(&backup),
        },
        note: chosen.note,
        window: format!(
            "{} .. {}",
            start.map_or_else(|| "?".to_string(), restore::show_time),
            window_end
                .as_deref()
                .unwrap_or("now (the last archived transaction is checked when the restore runs)")
        ),
        data_dir: format!("{} ({state}), as {}", pg1.display(), user.name),
        wal: wal_line,
        command: inv.shown(),
    };
    let target_time = match stop {
        Stop::Time(t) => Some(t),
        Stop::Latest => archive_last.map(|(t, _)| t),
    };
    Ok(Prepared {
        cfg,
        id,
        client,
        user,
        pg1,
        state,
        inv,
        redactor,
        plan,
        target_time,
        backup,
        repo_backup: chosen.repo_backup,
        repo,
    })
}

/// The provider restores here, and the target is one a restore here can reach with the
/// action asked for.
fn checked(cfg: &Config, req: &Request) -> Result<(ProviderKind, Target)> {
    let provider = crate::clients::provider_for(cfg, &req.cluster, req.provider)?;
    if !provider.capabilities().local_restore {
        refuse!(
            "cluster {} is {}'s, which restores at the provider only: give --into NAME or --in-place",
            req.cluster,
            provider.title()
        );
    }
    let Some(target) = req.when.target else {
        refuse!("give --target-time TIME or --target latest")
    };
    if target == Target::Latest && req.when.action != TargetAction::Promote {
        refuse!(
            "--target-action {} applies to a target time; --target latest always ends recovery at the end of the archived WAL and promotes",
            req.when.action.as_str()
        );
    }
    Ok((provider, target))
}

/// pgBackRest will read the config files bridgerest points it at.
fn pgbackrest_reads_its_config(cfg: &Config) -> Result<()> {
    if let Some(why) = cfg.pgbackrest.unread_by_pgbackrest() {
        refuse!("{why}");
    }
    if cfg.pgbackrest.main_config_set && !cfg.pgbackrest.main_config.exists() {
        refuse!(
            "pgbackrest.main_config = {} does not exist, and pgBackRest given --config with a missing file stops (error 55): create it, or remove main_config from {} to use pgBackRest's default (/etc/pgbackrest/pgbackrest.conf, else /etc/pgbackrest.conf)",
            cfg.pgbackrest.main_config.display(),
            cfg.path.display()
        );
    }
    Ok(())
}

impl Source {
    /// The backup `stop` needs, or why there is none.
    fn choose(&self, id: &str, stop: Stop, now: OffsetDateTime) -> Result<Backup> {
        Ok(
            restore::choose(id, stop, self.status.oldest_backup_at, &self.backups, now)
                .map_err(|e| Error::Refused(e.to_string()))?
                .clone(),
        )
    }

    /// The plan's `source` line: name, version, state (and an upgrade under way).
    fn shown(&self) -> String {
        format!(
            "{}, PostgreSQL {}, state {}{}",
            excerpt(&self.detail.name, 80),
            self.detail
                .major_version
                .map_or_else(|| "(version not given)".to_string(), |v| v.to_string()),
            excerpt(&self.status.state, 40),
            match self.status.extra.get("ongoing_upgrade") {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(u) => format!(", upgrade in progress: {}", excerpt(&u.to_string(), 120)),
            }
        )
    }
}

/// The `pgbackrest restore` invocation (its target and set still to be decided), and the
/// plan's `wal` line.
fn invocation(
    cfg: &Config,
    req: &Request,
    id: &str,
    stanza: &str,
    pg1: &Path,
) -> (Invocation, String) {
    let process_max = req
        .here
        .process_max
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (prefetch, wal_line) = restore::prefetch::choose(cfg, id, stanza, pg1, process_max);
    let inv = Invocation {
        bin: cfg.pgbackrest.bin.clone(),
        main_config: cfg
            .pgbackrest
            .main_config_set
            .then(|| cfg.pgbackrest.main_config.clone()),
        include_path: cfg
            .pgbackrest
            .include_path_set
            .then(|| cfg.pgbackrest.include_path.clone()),
        stanza: stanza.to_string(),
        pg1_path: pg1.to_path_buf(),
        set: None,
        target: req
            .when
            .target
            .and_then(Target::stop)
            .unwrap_or(Stop::Latest),
        action: req.when.action,
        process_max,
        delta: req.here.delta,
        force: req.here.force,
        prefetch,
        tablespace_map_all: None,
    };
    (inv, wal_line)
}

/// The repository's list of sets and where its archived WAL ends (its last transaction and
/// segment), where it can be read. A dry run writes nothing: it reads the repository only with
/// credentials already there. A store that cannot be reached fails a restore here, at once, as
/// what it is (pgBackRest's restore would meet it again, and end in a misleading error 75).
async fn read_repository(
    cfg: &Config,
    req: &Request,
    inv: &Invocation,
    user: &RunAs,
    src: &Source,
    id: &str,
) -> Result<(Option<RepoInfo>, Option<(OffsetDateTime, String)>)> {
    let in_file = refresh::read_existing(cfg)
        .ok()
        .flatten()
        .and_then(|t| render::previous_stanzas(&t).ok())
        .is_some_and(|p| p.contains_key(id));
    if req.dry_run && !in_file {
        return Ok((None, None));
    }
    match child::repo_info(inv, user, req.dry_run).await {
        Ok(r) => {
            let last = archive_end(inv, user, &r, &src.detail, req.here.pg_bin.as_deref()).await;
            Ok((Some(r), last))
        }
        Err(e) => match child::unreachable(&e.to_string()) {
            Some(kind) if !req.dry_run => Err(Error::Unreachable {
                kind,
                line: e.to_string(),
            }),
            _ => {
                tracing::warn!(
                    "cannot read the stanza's repository ({e:#}); the backup is restored with --set, unchecked"
                );
                Ok((None, None))
            }
        },
    }
}

/// Where recovery stops: the target given, or one drawn from the window (`start` .. the
/// archived WAL's end, else now); a time after the last archived transaction is refused.
fn resolve(
    target: Target,
    start: Option<OffsetDateTime>,
    archive_last: Option<&(OffsetDateTime, String)>,
    now: OffsetDateTime,
) -> Result<Stop> {
    let stop = match target.stop() {
        Some(s) => s,
        None => {
            let end = archive_last.map_or(now, |(t, _)| *t);
            let from = start.unwrap_or(end);
            // No whole second after the first backup's stop (pgBackRest's window starts a
            // second after it) up to the last transaction: only the end can be drawn.
            match end.unix_timestamp() < from.unix_timestamp() {
                true => Stop::Latest,
                false => Stop::Time(draw(from, end, fastrand::f64())),
            }
        }
    };
    if let (Stop::Time(t), Some((last, segment))) = (stop, archive_last) {
        if t > *last {
            refuse!(
                "target {} is after the last transaction in the archived WAL ({}, in segment {segment}): recovery cannot reach it; choose a time up to {}, or --target latest",
                restore::pgbackrest_time(t),
                restore::show_time(*last),
                restore::show_time(*last)
            );
        }
    }
    Ok(stop)
}

/// The set pgBackRest is given, and why, once the repository's own list had its say.
struct Chosen {
    label: String,
    /// `--set`; `None`: pgBackRest chooses.
    set: Option<String>,
    note: Option<String>,
    repo_backup: Option<RepoBackup>,
}

/// The backup's pgBackRest label (`--set`'s, else the API backup's), checked against the
/// repository's list where it could be read: the API's backup names are `YYYY/<label>`, and
/// that the label is pgBackRest's is an inference, so the repository's own list decides.
fn choose_set(
    given: Option<&str>,
    backup: &Backup,
    stop: Stop,
    repo: Option<&RepoInfo>,
) -> Result<Chosen> {
    let label = restore::set_label(given.unwrap_or(&backup.name)).to_string();
    if label.is_empty()
        || !label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        fail!(
            "backup {:?} has no pgBackRest label after its last '/' (letters, digits, '-', '_'): bridgerest will not pass it to pgBackRest",
            excerpt(given.unwrap_or(&backup.name), 80)
        );
    }
    let mut chosen = Chosen {
        set: Some(label.clone()),
        label,
        note: None,
        repo_backup: None,
    };
    let Some(r) = repo else {
        return Ok(chosen);
    };
    match restore::reconcile(&chosen.label, given.is_some(), stop, &r.backups) {
        Ok(restore::SetChoice::Set(s)) => {
            chosen.repo_backup = r.backups.iter().find(|b| b.label == s).cloned();
        }
        Ok(restore::SetChoice::Own { why, pick }) => {
            let shown = restore::stopped(&pick);
            tracing::warn!("{why}: restoring without --set; pgBackRest chooses {shown}");
            chosen.note = Some(format!("{why}; pgBackRest chooses itself: {shown}"));
            chosen.repo_backup = Some(pick);
            chosen.set = None;
        }
        Err(e) => refuse!("{e}"),
    }
    Ok(chosen)
}

/// The plan's `target` line.
fn target_shown(
    target: Target,
    stop: Stop,
    action: TargetAction,
    window_end: Option<&str>,
) -> String {
    match (stop, target) {
        (Stop::Time(t), Target::Random) => format!(
            "{} (drawn at random from the window), then {}",
            restore::pgbackrest_time(t),
            action.as_str()
        ),
        (Stop::Time(t), _) => format!("{}, then {}", restore::pgbackrest_time(t), action.as_str()),
        (Stop::Latest, Target::Random) => format!(
            "latest (drawn at random, from a window of less than a second){}, then promote",
            window_end.map(|e| format!(": {e}")).unwrap_or_default()
        ),
        (Stop::Latest, _) => match window_end {
            Some(end) => format!("latest: {end}, then promote"),
            None => "latest (the end of the archived WAL), then promote".to_string(),
        },
    }
}

/// The plan's `backup` line for the API's backup.
fn backup_shown(backup: &Backup) -> String {
    format!(
        "{} ({}), finished {}, {}",
        excerpt(&backup.name, 80),
        backup
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .map_or_else(|| "type not given".into(), |k| excerpt(k, 20)),
        backup
            .finished_at
            .map_or_else(|| "(running)".into(), restore::show_time),
        backup
            .size_bytes
            .map_or_else(|| "size not given".to_string(), crate::text::human_size)
    )
}

/// A time drawn uniformly (`rand` in [0, 1)) from `from` to `to`, to the second (pgBackRest's
/// targets are whole seconds here); `from` when the window is empty.
pub fn draw(from: OffsetDateTime, to: OffsetDateTime, rand: f64) -> OffsetDateTime {
    let (a, b) = (from.unix_timestamp(), to.unix_timestamp());
    if b <= a {
        return from;
    }
    let span = (b - a) as f64;
    let off = ((span + 1.0) * rand.clamp(0.0, 1.0)).floor().min(span) as i64;
    OffsetDateTime::from_unix_timestamp(a + off).unwrap_or(from)
}

/// Runs `pgbackrest restore` (again with --delta when the store refuses the credentials part
/// way, with fresh ones) after making the data directory and the WAL spool. Returns the runs
/// it took.
pub async fn restore_files(p: &mut Prepared, max: u32, progress: &mut Progress) -> Result<u32> {
    // Every check that can fail has passed: only now is anything created.
    if p.state == DirState::Missing {
        create_dir(&p.pg1, &p.user)?;
    }
    if let Some(spool) = p.inv.prefetch.as_ref().and_then(|f| f.spool.as_ref()) {
        ensure_dir(spool, &p.user)?;
    }
    for attempt in 1..=max {
        tracing::info!(
            attempt,
            of = max,
            delta = p.inv.delta,
            "running pgbackrest restore"
        );
        let res = child::run_pgbackrest(&p.inv.argv(), &p.user, progress, &p.redactor).await?;
        if res.ok() {
            progress.finish();
            return Ok(attempt);
        }
        match res.refusal {
            Some(why) if attempt < max => {
                tracing::warn!(
                    "attempt {attempt} of {max}: the store refused the credentials ({why}) at {:.1}%: fetching a new token, then running again with --delta (files already restored are kept)",
                    res.percent
                );
                if !p.client.capabilities().repo_credentials {
                    progress.finish();
                    let where_ = match p.cfg.writes_stanza(&p.id) {
                        true => format!(
                            "this cluster's [cluster.options] in {}",
                            p.cfg.path.display()
                        ),
                        false => "pgBackRest's config".to_string(),
                    };
                    fail!(
                        "pgbackrest restore failed: the store refused the credentials of the stanza ({why}), which no provider hands out for this cluster: renew them in {where_}"
                    );
                }
                p.redactor = refresh_cluster(&p.cfg, &p.client, &p.id).await?.1;
                p.inv.delta = true;
            }
            Some(why) => {
                progress.finish();
                fail!(
                    "pgbackrest restore failed {max} times; the store still refuses fresh credentials ({why}): {}",
                    res.describe()
                )
            }
            None => {
                progress.finish();
                if let Some((kind, line)) = res.unreachable.clone() {
                    return Err(Error::Unreachable { kind, line });
                }
                let hint = if res
                    .errors
                    .iter()
                    .any(|e| crate::pgbackrest::child::error_code(e) == Some(75))
                {
                    format!(" (error 75: pgBackRest found no valid backup set for this target in the repository: the backup must have finished before the target; `pgbackrest --stanza={} info` lists what it has, and --set LABEL picks one)", p.inv.stanza)
                } else {
                    String::new()
                };
                fail!(
                    "pgbackrest restore failed ({}){hint}; see pgBackRest's log for details (only a refusal of the credentials is retried)",
                    res.describe()
                )
            }
        }
    }
    progress.finish();
    fail!("pgbackrest restore was not run (--attempts 0)")
}

/// The stanza a restore will use, without writing anything: the configured name, the one in
/// the file bridgerest wrote, or the one a fresh token names.
async fn planned_stanza(cfg: &Config, client: &Client, id: &str) -> Result<String> {
    match written_stanza(cfg, id)? {
        Some(s) => Ok(s),
        None => Ok(client.create_backup_token(id).await?.stanza),
    }
}

/// The stanza name of `id` known without asking the API: the configured one, else the one in
/// the file bridgerest wrote.
pub fn written_stanza(cfg: &Config, id: &str) -> Result<Option<String>> {
    if let Some(s) = cfg
        .local_clusters()
        .find(|c| c.id == id)
        .and_then(|c| c.stanza.clone())
    {
        return Ok(Some(s));
    }
    let Some(name) = refresh::read_existing(cfg)?
        .and_then(|text| render::previous_stanzas(&text).ok())
        .and_then(|prev| prev.get(id).map(|s| s.name.clone()))
    else {
        return Ok(None);
    };
    // The file may be another user's to write (pgbackrest.owner): its section name is input,
    // and a drill names its scratch directory after it.
    if !config::is_stanza_name(&name) {
        fail!(
            "{}: the section bridgerest marked for cluster {id} is named [{}], which is not a pgBackRest stanza name (letters, digits, '-', '_', '.'; not \".\", \"..\" or \"global\"): someone changed the file; run `bridgerest refresh` to rewrite it, or set `stanza` for the cluster in {}",
            cfg.pgbackrest.config.display(),
            excerpt(&name, 80),
            cfg.path.display()
        );
    }
    Ok(Some(name))
}

/// Refreshes one cluster's stanza: its name and a redactor for every credential in the file
/// written, or the reason there are no credentials.
pub async fn refresh_cluster(
    cfg: &Config,
    client: &Client,
    id: &str,
) -> Result<(String, Redactor)> {
    let plan = refresh::run(cfg, Some(client), &Scope::cluster(cfg, id)?).await?;
    let outcome = plan
        .outcomes
        .iter()
        .find(|o| o.cluster_id == id)
        .ok_or_else(|| {
            Error::Failed("internal error: the refresh did not cover the cluster".into())
        })?;
    if let Some(e) = &outcome.error {
        fail!("cannot get credentials for cluster {id}: {e}");
    }
    tracing::info!(cluster = id, path = %cfg.pgbackrest.config.display(), "credentials refreshed");
    let stanza = outcome.stanza.clone().unwrap_or_default();
    // Every credential the file holds, so none of pgBackRest's output shows one.
    Ok((stanza, Redactor::new(plan.secrets().iter().cloned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::narrate::Kept;

    #[tokio::test]
    async fn a_restore_here_stops_when_shutdown_is_asked_for_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bridgerest.toml");
        // An API that never answers: only the shutdown can end the restore.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "cbkey_test\n").unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let text = format!(
            "[api]\nurl = \"http://{}\"\nkey_file = \"{}\"\n\n[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"{}\"\n",
            listener.local_addr().unwrap(),
            key.display(),
            dir.path().join("pg").display()
        );
        let cfg = crate::config::parse(&text, &path).unwrap();
        let req = Request::here(
            "rvf73a77ozfsvcttryebfrnlem",
            Target::Latest,
            restore::Here::default(),
        );
        let out: Narrate = std::sync::Arc::new(Kept::default());
        let (shutdown, trigger) = Shutdown::manual();
        let running = tokio::spawn(async move { run(&cfg, req, &out, &shutdown).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        trigger.fire();
        let err = tokio::time::timeout(std::time::Duration::from_secs(5), running)
            .await
            .expect("the shutdown ends it")
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, Error::Stopped { .. }), "{err}");
        assert_eq!(err.exit(), crate::exit::Exit::Interrupted);
        assert!(
            err.to_string()
                .contains("the restore of cluster rvf73a77ozfsvcttryebfrnlem stopped"),
            "{err}"
        );
        drop(listener);
    }
}
