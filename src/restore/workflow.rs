//! The restore workflow: check the target, choose the backup, check the data directory; refresh
//! the credentials and let the repository confirm the backup and the window's end; print the
//! plan; run pgbackrest (again with --delta when the store refuses expired credentials), and
//! optionally start PostgreSQL and follow its recovery.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::error::{fail, refuse};
use super::{Error, Result};
use time::OffsetDateTime;

use crate::config::{self, Config};
use crate::exit::Exit;
use crate::pgbackrest::child::{self, Invocation, Progress, Redactor};
use crate::pgbackrest::{RepoBackup, RepoInfo};
use crate::provider::{Backup, Client};
use crate::recovery::{self, Follow};
use crate::refresh::{self, Scope};
use crate::render;
use crate::restore::checks::{archive_end, version_warning};
use crate::restore::datadir::{create_dir, data_dir, ensure_dir, run_as};
use crate::restore::Plan;
use crate::restore::Request;
use crate::restore::{self, restore_lock, ClusterLock, DirState, RunAs, Target, TargetAction};
use crate::text::excerpt;

/// How the target is given: by the command line, or (a drill) a time drawn uniformly from
/// the recovery window once the repository has said where the archived WAL ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Given,
    Random,
}

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

/// `restore --dry-run --json`: the plan's lines as fields (as printed, under their names), and
/// the target time and backup label as values; no secret is in either.
fn plan_json(p: &Prepared) -> Result<String> {
    let mut v = serde_json::to_value(&p.plan)
        .map_err(|e| Error::Failed(format!("cannot show the plan as JSON: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "target_time".into(),
            p.target_time.map(restore::show_time).into(),
        );
        o.insert("set".into(), p.inv.set.clone().into());
        o.insert("dry_run".into(), true.into());
    }
    serde_json::to_string_pretty(&v)
        .map_err(|e| Error::Failed(format!("cannot show the plan as JSON: {e}")))
}

pub async fn run(path: &Path, args: Request) -> Result<Exit> {
    let cfg = crate::config::load(path)?;
    let provider = crate::clients::provider_for(&cfg, &args.cluster, args.provider)?;
    if args.into.is_some() || args.in_place {
        return crate::restore::server::run(&cfg, &args, provider).await;
    }
    if !provider.capabilities().local_restore {
        refuse!(
            "{} hands out no repository credentials, so cluster {} cannot be restored here (--pg1-path): restore it at the provider into a new cluster with --into NAME, or over itself with --in-place --confirm {}",
            provider.title(), args.cluster, args.cluster
        );
    }
    let mut p = prepare(cfg, &args, Pick::Given).await?;
    if args.json {
        println!("{}", plan_json(&p)?);
        return Ok(Exit::Success);
    }
    print!("{}", p.plan);
    if args.dry_run {
        return Ok(Exit::Success);
    }
    let lock = restore_lock(&p.cfg, &p.id, "restore", &p.user, args.break_lock).await?;
    if lock.as_ref().is_some_and(ClusterLock::preempted_a_drill) {
        println!(
            "drill:     the drill of cluster {} that was running stopped and removed its copy",
            p.id
        );
    }
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    restore_files(&mut p, args.attempts, &mut progress).await?;
    println!(
        "restored:  {} into {}",
        p.inv
            .set
            .as_deref()
            .unwrap_or("the backup pgBackRest chose"),
        p.pg1.display()
    );

    let bin = recovery::bin_dir(&p.pg1, args.pg_bin.as_deref());
    if !args.start {
        let cmd = recovery::start_command(&p.pg1, &p.user, bin.as_deref());
        println!(
            "next:      check port and other settings in {}/postgresql.conf, then start it (or run again with --start):\n  {}",
            p.pg1.display(),
            child::shell_line(&cmd)
        );
        return Ok(Exit::Success);
    }
    let done = recovery::start_and_follow(Follow {
        data: &p.pg1,
        user: &p.user,
        bin: bin.as_deref(),
        options: &args.pg_options,
        action: args.target_action,
        cfg: &p.cfg,
        client: &p.client,
        cluster: &p.id,
    })
    .await?;
    println!("recovery:  {}", done.state);
    if done.state == recovery::RecoveryEnd::Promoted {
        remove_spool(&p);
    }
    if let Some(t) = done.replayed_to {
        println!(
            "recovered to: {} (last replayed transaction)",
            restore::show_time(t)
        );
    }
    if let Some(lsn) = &done.lsn {
        println!("last replayed LSN: {lsn}");
    }
    if let Some(r) = &done.server {
        // As the user the server runs as (from root: through runuser), quoted for a shell.
        let as_user = |program: &str, args: &[&str]| {
            let mut argv = p.user.command_prefix();
            argv.push(bin.as_deref().map_or_else(
                || program.to_string(),
                |b| b.join(program).display().to_string(),
            ));
            argv.extend(args.iter().map(|a| a.to_string()));
            child::shell_line(&argv)
        };
        println!(
            "server:    running (pid {}), port {}, socket directory {}; it keeps running after bridgerest exits",
            r.pid, r.port, r.host
        );
        let port = r.port.to_string();
        println!(
            "connect:   {}",
            as_user("psql", &["-h", &r.host, "-p", &port, "-d", "postgres"])
        );
        let data = p.pg1.display().to_string();
        println!("stop:      {}", as_user("pg_ctl", &["-D", &data, "stop"]));
    }
    Ok(Exit::Success)
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

/// Checks everything that can be checked before the restore: the target, the backup it needs,
/// the data directory, the stanza's credentials (refreshed, unless a dry run), the backup and
/// the window's end in the repository; and writes the plan.
pub async fn prepare(mut cfg: Config, args: &Request, pick: Pick) -> Result<Prepared> {
    let id = args.cluster.clone();
    let provider = crate::clients::provider_for(&cfg, &id, args.provider)?;
    if !provider.capabilities().local_restore {
        refuse!(
            "cluster {id} is {}'s, which restores at the provider only: give --into NAME or --in-place",
            provider.title()
        );
    }
    let given = match (pick, args.target_time, args.target) {
        (Pick::Random, _, _) => None,
        (_, Some(t), _) => Some(Target::Time(t)),
        (_, None, Some(t)) => Some(t),
        (_, None, None) => {
            refuse!("give --target-time TIME or --target latest")
        }
    };
    if given == Some(Target::Latest) && args.target_action != TargetAction::Promote {
        refuse!(
            "--target-action {} applies to a target time; --target latest always ends recovery at the end of the archived WAL and promotes",
            args.target_action.as_str()
        );
    }
    let pg1 = data_dir(&mut cfg, &id, args.pg1_path.as_deref())?;
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
    let user = run_as(&cfg, args.user.as_deref())?;
    let client = crate::clients::client_for(&cfg, provider)?;
    // A provider that hands out credentials refreshes the stanza; a repository the user
    // configured is read as it is.
    let refreshed = provider.has_repo_credentials();

    // Check the target against the cluster's backups before anything is touched.
    let (status, backups, detail) = tokio::try_join!(
        client.cluster_status(&id),
        client.list_backups(&id),
        client.get_cluster(&id)
    )?;
    let now = OffsetDateTime::now_utc();
    let choose = |target: Target| -> Result<Backup> {
        Ok(
            restore::choose(&id, target, status.oldest_backup_at, &backups, now)
                .map_err(|e| Error::Refused(e.to_string()))?
                .clone(),
        )
    };
    // A given target is checked at once; a drawn one once the window's end is known (the
    // window itself must have a backup either way).
    let early = choose(given.unwrap_or(Target::Latest))?;
    let state = restore::check_data_dir(&pg1, &user, args.delta || args.force)?;

    let (stanza, redactor) = if args.dry_run || !refreshed {
        (planned_stanza(&cfg, &client, &id).await?, Redactor)
    } else {
        refresh_cluster(&cfg, &client, &id).await?
    };
    let mut inv = Invocation {
        bin: cfg.pgbackrest.bin.clone(),
        main_config: cfg
            .pgbackrest
            .main_config_set
            .then(|| cfg.pgbackrest.main_config.clone()),
        include_path: cfg
            .pgbackrest
            .include_path_set
            .then(|| cfg.pgbackrest.include_path.clone()),
        stanza: stanza.clone(),
        pg1_path: pg1.clone(),
        set: None,
        target: given.unwrap_or(Target::Latest),
        action: args.target_action,
        process_max: args
            .process_max
            .map(|n| n as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        delta: args.delta,
        force: args.force,
        prefetch: None,
        tablespace_map_all: None,
    };
    let (prefetch, wal_line) = restore::prefetch::choose(&cfg, &id, &stanza, &pg1, inv.process_max);
    inv.prefetch = prefetch;
    // The repository (credentials are fresh by now) says where the archived WAL ends. A dry
    // run writes nothing: it reads the repository only with credentials already there.
    let in_file = refresh::read_existing(&cfg)
        .ok()
        .flatten()
        .and_then(|t| render::previous_stanzas(&t).ok())
        .is_some_and(|p| p.contains_key(&id));
    let mut repo = None;
    let mut archive_last: Option<(OffsetDateTime, String)> = None;
    if !args.dry_run || in_file {
        match child::repo_info(&inv, &user, args.dry_run).await {
            Ok(r) => {
                archive_last = archive_end(&inv, &user, &r, &detail, args.pg_bin.as_deref()).await;
                repo = Some(r);
            }
            // A store that cannot be reached fails the restore here, at once, as what it is
            // (pgBackRest's restore would meet it again, and end in a misleading error 75).
            Err(e) => match child::unreachable(&e.to_string()) {
                Some(kind) if !args.dry_run => {
                    return Err(Error::Unreachable {
                        kind,
                        line: e.to_string(),
                    })
                }
                _ => tracing::warn!(
                    "cannot read the stanza's repository ({e:#}); the backup is restored with --set, unchecked"
                ),
            },
        }
    }
    let first_finished = backups.iter().filter_map(|b| b.finished_at).min();
    let start = first_finished
        .zip(status.oldest_backup_at)
        .map(|(first, oldest)| restore::window_start(oldest, first));
    let target = match given {
        Some(t) => t,
        None => {
            let end = archive_last.as_ref().map_or(now, |(t, _)| *t);
            let from = start.unwrap_or(end);
            // No whole second after the first backup's stop (pgBackRest's window starts a
            // second after it) up to the last transaction: only the end can be drawn.
            match end.unix_timestamp() < from.unix_timestamp() {
                true => Target::Latest,
                false => Target::Time(draw(from, end, fastrand::f64())),
            }
        }
    };
    inv.target = target;
    if let (Target::Time(t), Some((last, segment))) = (target, &archive_last) {
        if t > *last {
            refuse!(
                "target {} is after the last transaction in the archived WAL ({}, in segment {segment}): recovery cannot reach it; choose a time up to {}, or --target latest",
                restore::pgbackrest_time(t),
                restore::show_time(*last),
                restore::show_time(*last)
            );
        }
    }
    let backup = match given {
        Some(_) => early,
        None => choose(target)?,
    };
    let user_set = args.set.is_some();
    let label = match &args.set {
        Some(s) => restore::set_label(s),
        None => restore::set_label(&backup.name),
    }
    .to_string();
    if label.is_empty()
        || !label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        fail!(
            "backup {:?} has no pgBackRest label after its last '/' (letters, digits, '-', '_'): bridgerest will not pass it to pgBackRest",
            excerpt(args.set.as_deref().unwrap_or(&backup.name), 80)
        );
    }
    // The API's backup names are `YYYY/<label>`: that the label is pgBackRest's is an
    // inference, so the repository's own list decides.
    inv.set = Some(label.clone());
    let mut note = None;
    let mut repo_backup = None;
    if let Some(r) = &repo {
        match restore::reconcile(&label, user_set, target, &r.backups) {
            Ok(restore::SetChoice::Set(s)) => {
                repo_backup = r.backups.iter().find(|b| b.label == s).cloned();
            }
            Ok(restore::SetChoice::Own { why, pick }) => {
                let shown = restore::stopped(&pick);
                tracing::warn!("{why}: restoring without --set; pgBackRest chooses {shown}");
                note = Some(format!("{why}; pgBackRest chooses itself: {shown}"));
                repo_backup = Some(pick);
                inv.set = None;
            }
            Err(e) => refuse!("{e}"),
        }
    }
    let window_end = archive_last
        .as_ref()
        .map(|(t, _)| format!("{} (the last archived transaction)", restore::show_time(*t)));
    let when = match (target, pick) {
        (Target::Time(t), Pick::Random) => format!(
            "{} (drawn at random from the window), then {}",
            restore::pgbackrest_time(t),
            args.target_action.as_str()
        ),
        (Target::Time(t), Pick::Given) => format!(
            "{}, then {}",
            restore::pgbackrest_time(t),
            args.target_action.as_str()
        ),
        (Target::Latest, Pick::Random) => format!(
            "latest (drawn at random, from a window of less than a second){}, then promote",
            window_end
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
        (Target::Latest, _) => match &window_end {
            Some(end) => format!("latest: {end}, then promote"),
            None => "latest (the end of the archived WAL), then promote".to_string(),
        },
    };
    let warning = version_warning(detail.major_version, args.pg_bin.as_deref());
    if let Some(w) = &warning {
        tracing::warn!("{w}");
    }
    let plan = Plan {
        cluster: id.clone(),
        stanza: stanza.clone(),
        source: format!(
            "{}, PostgreSQL {}, state {}{}",
            excerpt(&detail.name, 80),
            detail
                .major_version
                .map_or_else(|| "(version not given)".to_string(), |v| v.to_string()),
            excerpt(&status.state, 40),
            match status.extra.get("ongoing_upgrade") {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(u) => format!(", upgrade in progress: {}", excerpt(&u.to_string(), 120)),
            }
        ),
        warning,
        target: when,
        backup: match user_set {
            true => format!("{label} (--set)"),
            false => format!(
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
            ),
        },
        note: note.clone(),
        window: format!(
            "{} .. {}",
            start.map_or_else(|| "?".to_string(), restore::show_time),
            window_end
                .as_deref()
                .unwrap_or("now (the last archived transaction is checked when the restore runs)")
        ),
        data_dir: format!("{} ({state}), as {}", pg1.display(), user.name),
        wal: wal_line.to_string(),
        command: inv.shown(),
    };
    let target_time = match target {
        Target::Time(t) => Some(t),
        Target::Latest => archive_last.map(|(t, _)| t),
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
        repo_backup,
        repo,
    })
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
                    fail!(
                        "pgbackrest restore failed: the store refused the credentials of the stanza ({why}), which bridgerest does not manage for this cluster: renew them in pgBackRest's config"
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
    let plan = refresh::run(cfg, client, &Scope::cluster(cfg, id)?).await?;
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
