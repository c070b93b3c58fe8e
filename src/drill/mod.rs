//! Restore drills: restore a cluster into a scratch directory from nothing, start it on a
//! private socket, let it recover to a target (the latest, a given or a random time in the
//! window), check it (recovered to the target, `pg_amcheck`, `pgbackrest verify`, the user's
//! queries), record a report, and remove it. The restore is [`crate::restore::workflow`]'s, so
//! a drill proves what a real restore would do; it holds the same per-cluster lock.

use std::path::PathBuf;
use std::time::Instant;

use time::OffsetDateTime;

use crate::config::Config;
use crate::pgbackrest::child::Progress;
use crate::recovery::{self, Follow};
use crate::restore::workflow;
use crate::restore::TargetAction;
use crate::restore::{Here, Request as RestoreRequest};

pub mod at_provider;
pub mod bucket;
mod checks;
pub mod copy;
mod error;
pub mod html;
pub mod isolate;
pub mod junit;
pub mod report;
pub mod seal;
pub mod shard;
pub mod sink;
mod space;
mod verdict;
mod wal_gap;

pub use crate::pgbackrest::verify::verify_result;
use crate::wal::redo_done_at;
pub use crate::wal::{missing_wal, wal_files};
use checks::{private_socket, stop_command, verify, Conn, VerifyPlan};
pub use copy::{clean_up_interrupted, Cleaned, Copy, Leftover};
use error::refuse;
pub use error::{Error, Result};
pub use report::{Check, CheckName, Report};
pub use space::{free_bytes, space_check, Need};
use space::{SPOOL_BYTES, WAL_ON_DISK_MAX, WAL_SEGMENT};
use verdict::recovered_check;
pub use verdict::recovered_verdict;
use wal_gap::{archived_wal, bytes_fetched, wal_gap};

pub use crate::when::{parse_target, Target};

/// One drill asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub cluster: String,
    pub target: Target,
    /// Leave the copy (and its PostgreSQL) in place.
    pub keep: bool,
    /// Drill at the provider (a copy made and deleted there) even where the provider hands out
    /// repository credentials; a provider that restores only there is drilled there anyway.
    pub at_provider: bool,
    pub user: Option<String>,
    pub pg_bin: Option<PathBuf>,
    /// How it says what it does as it goes: `None`, nothing but its log (the daemon); else
    /// its plan first (`say`: the terminal's stdout, unless the report goes there as JSON),
    /// then a line per phase and per check (`note`), the restore's progress as `restore` shows
    /// it.
    pub narrate: Option<crate::narrate::Narrate>,
}

/// The directory a drill of `stanza` restores into: `drill.scratch`, else a directory named
/// after the stanza in the default root. The name is checked here too, whatever checked it
/// before: a name like `/etc` or `..` joined to the root would name another directory.
pub fn scratch_for(cfg: &Config, stanza: &str) -> Result<PathBuf> {
    if let Some(s) = &cfg.drill.scratch {
        return Ok(s.clone());
    }
    if !crate::ids::is_stanza_name(stanza) {
        refuse!(
            "stanza {:?} is not a pgBackRest stanza name: no scratch directory is named after it",
            crate::text::excerpt(stanza, 80)
        );
    }
    Ok(PathBuf::from(crate::config::DEFAULT_DRILL_ROOT).join(stanza))
}

/// The private socket directory's name inside the copy (`unix_socket_directories`, with its
/// own `pg_hba.conf`: only its owner and root can reach it).
const SOCKET_DIR: &str = "bridgerest-drill";

/// The socket's port number: no TCP listens (`listen_addresses` is empty), so it only names
/// the socket in the private directory.
const PORT: u16 = 5432;

/// Runs one drill. Errors before the drill starts (a cluster not in the config, another
/// restore or drill of it running, a target outside the window) are `Err`; every failure
/// after that (the API, the repository, pgBackRest, PostgreSQL, a check) is a failed
/// [`Report`], recorded like a success.
/// One drill as `req` asks. `shutdown` (Ctrl-C, SIGTERM, the daemon's stop) ends it: its
/// children are killed with it, and its PostgreSQL, which runs in a session of its own, is
/// stopped and the copy removed ([`clean_up_interrupted`]) before [`Error::Interrupted`]
/// says so.
pub async fn run(
    cfg: &Config,
    req: &Request,
    shutdown: &crate::shutdown::Shutdown,
) -> Result<Report> {
    // At the provider: its copy's deletion is its own business, on every way out.
    if let Some(p) = at_provider::provider_drill(cfg, &req.cluster, req.at_provider) {
        return at_provider::run(cfg, req, p, shutdown).await;
    }
    // Where the copy goes, known before it starts (the stanza without asking the API).
    let left = Leftover::of(cfg, &req.cluster, req.user.as_deref());
    tokio::select! {
        biased;
        () = shutdown.wait() => Err(Error::Interrupted(clean_up_interrupted(left).await.to_string())),
        r = run_to_end(cfg, req) => r,
    }
}

async fn run_to_end(cfg: &Config, req: &Request) -> Result<Report> {
    let id = req.cluster.clone();
    let Some(cluster) = cfg.local_clusters().find(|c| c.id == id) else {
        // A drill is a restore: refused like one (exit 2).
        return Err(crate::restore::Error::Refused(format!(
            "cluster {id} is not a [[cluster]] restored here (Crunchy Bridge's, or provider = \"pgbackrest\") in {}: a drill keeps its stanza fresh during the recovery like the daemon does, so add a [[cluster]] for it (`bridgerest clusters` lists the ids)",
            cfg.path.display()
        ))
        .into());
    };
    let stanza = match workflow::written_stanza(cfg, &cluster.id)? {
        Some(s) => s,
        None => {
            crate::clients::client(cfg)?
                .create_backup_token(&id)
                .await?
                .stanza
        }
    };
    let scratch = scratch_for(cfg, &stanza)?;
    let user = crate::restore::run_as(cfg, req.user.as_deref())?;
    let lock = crate::restore::restore_lock(cfg, &id, "drill", &user, false).await?;
    let copy = Copy::open(&scratch, &user, cfg.drill.scratch.is_none())?;
    // Another cluster's drill may share a configured scratch directory.
    let _scratch_lock = match copy.try_lock()? {
        Ok(l) => l,
        Err(holder) => return Err(Error::Busy { holder, scratch }),
    };
    let started_at = OffsetDateTime::now_utc();
    let mut rep = Report::new(&id, &stanza, req.target, started_at, &scratch);
    rep.ran = Some(report::Ran::here());
    rep.owner = Some(user.clone());
    rep.narrate = crate::narrate::Along(req.narrate.clone());
    copy.fresh().await?;
    // A real restore of the cluster preempts the drill; drill.timeout bounds every step.
    let preempt = async {
        match &lock {
            Some(_) => crate::restore::preempted(cfg, &id, &user).await,
            None => std::future::pending().await,
        }
    };
    let mut keep = req.keep;
    let outcome = tokio::select! {
        r = tokio::time::timeout(cfg.drill.timeout, drill(cfg, req, &copy, &mut rep)) => r.map_err(|_| None),
        holder = preempt => Err(Some(holder)),
    };
    let outcome = match outcome {
        Ok(r) => r,
        Err(None) => {
            let last = rep
                .checks
                .last()
                .map_or("nothing".to_string(), |c| format!("the {} check", c.name));
            rep.fail(
                CheckName::Timeout,
                format!(
                    "the drill took longer than drill.timeout ({}; {} was done): it stopped there",
                    humantime::format_duration(cfg.drill.timeout),
                    last
                ),
            );
            Ok(())
        }
        Err(Some(holder)) => {
            keep = false;
            rep.fail(
                CheckName::Preempted,
                format!("a restore of cluster {id} ({holder}) started: the drill stopped and removed its copy, and proves nothing this time"),
            );
            Ok(())
        }
    };
    match outcome {
        Ok(()) => {}
        // A target outside the window and the like: the asking was wrong, not the backups;
        // refused (exit 2) and not recorded as a drill.
        Err(e) if e.exit() == crate::exit::Exit::Usage => {
            if let Err(c) = copy.remove().await {
                tracing::warn!("cannot remove the copy: {c:#}");
            }
            return Err(e);
        }
        Err(e) => rep.fail(CheckName::Drill, format!("{e:#}")),
    }
    if keep {
        rep.kept
            .get_or_insert_with(|| scratch.display().to_string());
    } else if let Err(e) = copy.remove().await {
        rep.fail(CheckName::Cleanup, format!("{e:#}"));
    }
    rep.finish();
    Ok(rep)
}

async fn drill(cfg: &Config, req: &Request, copy: &Copy, rep: &mut Report) -> Result<()> {
    let scratch = copy.path.as_path();
    let args = RestoreRequest::here(
        &req.cluster,
        req.target,
        Here {
            pg1_path: Some(scratch.to_path_buf()),
            user: req.user.clone(),
            start: true,
            pg_bin: req.pg_bin.clone(),
            ..Here::default()
        },
    );
    let mut p = match workflow::prepare(cfg.clone(), &args).await {
        Ok(p) => p,
        Err(e) if e.exit() == crate::exit::Exit::Usage => return Err(e.into()),
        Err(e) => {
            rep.check(CheckName::Plan, false, format!("{e:#}"));
            return Ok(());
        }
    };
    // The copy's tablespaces beside it, never at the source's paths (#29 finding 10).
    p.inv.tablespace_map_all = Some(copy.tablespaces_path());
    p.plan.command = p.inv.shown();
    rep.plan = p.plan.to_string();
    if let Some(out) = &req.narrate {
        out.say(&rep.plan);
    }
    rep.target_time = p.target_time;
    rep.backup = p
        .inv
        .set
        .clone()
        .or_else(|| p.repo_backup.as_ref().map(|b| b.label.clone()));
    tracing::info!(cluster = %p.id, target = %rep.target_shown(), backup = rep.backup.as_deref().unwrap_or("?"), "drill planned");
    let version = checks::pgbackrest_version(&p).await;
    if let Some(ran) = rep.ran.as_mut() {
        ran.pgbackrest = version.as_ref().ok().cloned();
    }

    // The copy must fit: the database's size as the repository states it (else the API's),
    // the WAL recovery keeps on disk, the spool's queue beside the copy, and a margin.
    let listing = archived_wal(&p).await;
    let segments = listing.as_deref().map(|l| {
        let from = p
            .repo_backup
            .as_ref()
            .and_then(|b| b.archive_start.as_deref())
            .unwrap_or("");
        l.iter().filter(|(s, _)| s.as_str() >= from).count() as u64
    });
    let need = Need {
        backup: p
            .repo_backup
            .as_ref()
            .and_then(|b| b.size)
            .or(p.backup.size_bytes),
        wal: segments.map(|n| (n * WAL_SEGMENT).min(WAL_ON_DISK_MAX)),
        spool: p
            .inv
            .prefetch
            .as_ref()
            .filter(|f| f.spool.is_some())
            .map_or(0, |_| SPOOL_BYTES),
    };
    let free = free_bytes(crate::fsutil::parent(scratch))?;
    let (fits, detail) = space_check(&need, free, crate::fsutil::parent(scratch));
    rep.check(CheckName::Space, fits, detail);
    if !fits {
        return Ok(());
    }

    rep.say(&format!(
        "restoring {} from nothing into {}",
        rep.backup.as_deref().unwrap_or("the backup"),
        p.pg1.display()
    ));
    let t0 = Instant::now();
    let mut progress = Progress::new(req.narrate.as_ref().is_some_and(|n| n.live()));
    let restored = workflow::restore_files(&mut p, args.here.attempts, &mut progress).await;
    rep.restore_seconds = Some(t0.elapsed().as_secs_f64());
    match restored {
        Ok(runs) => rep.check(
            CheckName::Restore,
            true,
            format!(
                "{} restored from nothing in {:.1} s{}",
                rep.backup.as_deref().unwrap_or("the backup"),
                t0.elapsed().as_secs_f64(),
                match runs {
                    1 => String::new(),
                    n => format!(" ({n} runs: the store refused expired credentials)"),
                }
            ),
        ),
        Err(e) => {
            rep.check(CheckName::Restore, false, format!("{e:#}"));
            // A failed restore is when the repository's checksums say most: which file is bad;
            // unless the repository could not be reached at all, where verify says nothing new.
            // Its form as any drill's, but whatever drill.verify_every says.
            if !matches!(e, crate::restore::Error::Unreachable { .. }) {
                if let VerifyPlan::Run(form, why) = checks::verify_plan(
                    version.as_deref().map_err(String::as_str),
                    rep.backup.as_deref(),
                    1,
                    &[],
                ) {
                    let (ok, detail) = verify(&p, &form, &why).await;
                    rep.check(CheckName::Verify, ok, detail);
                }
            }
            return Ok(());
        }
    }

    let sock = private_socket(&copy.held()?, &p.user)?;
    let bin = recovery::bin_dir(&p.pg1, req.pg_bin.as_deref());
    let start = isolate::start_options(
        &p.pg1,
        &p.user,
        bin.as_deref(),
        &sock,
        PORT,
        &cfg.drill.preload,
    )
    .await;
    rep.check(CheckName::Isolation, true, start.said);
    let t1 = Instant::now();
    let follow = Follow {
        data: &p.pg1,
        user: &p.user,
        bin: bin.as_deref(),
        options: &start.options,
        action: TargetAction::Promote,
        cfg: &p.cfg,
        client: &p.client,
        cluster: &p.id,
    };
    rep.say(&format!(
        "starting PostgreSQL on the copy, recovering to {}",
        rep.target_shown()
    ));
    let (child, pg_log) = recovery::start(&follow)?;
    // Recorded at once: only this process is ever signalled by a later cleanup.
    copy.record_postmaster(child.id().unwrap_or(0))?;
    let followed = recovery::follow(&follow, child, &pg_log).await;
    rep.recovery_seconds = Some(t1.elapsed().as_secs_f64());
    let done = match followed {
        Ok(d) => d,
        Err(e) => {
            let log = pg_log.tail();
            let (_, gap) = wal_gap(&p, redo_done_at(&log), &log).await;
            rep.check(
                CheckName::Recovery,
                false,
                match gap {
                    Some(m) => format!("{m}; {e:#}"),
                    None => format!("{e:#}"),
                },
            );
            return Ok(());
        }
    };
    rep.check(
        CheckName::Recovery,
        done.state == recovery::RecoveryEnd::Promoted,
        format!(
            "{} after {:.1} s, last replayed LSN {}",
            done.state,
            t1.elapsed().as_secs_f64(),
            done.lsn.map_or_else(|| "?".to_string(), |l| l.to_string())
        ),
    );
    workflow::remove_spool(&p);
    if done.state == recovery::RecoveryEnd::Promoted {
        let took = rep.restore_seconds.unwrap_or(0.0) + rep.recovery_seconds.unwrap_or(0.0);
        rep.check_rto(cfg.drill.rto.of(&p.id), took, "restore and recovery took");
    }
    rep.recovered_to = done.replayed_to;
    let log = pg_log.tail();
    let (listing, gap) = wal_gap(&p, done.lsn, &log).await;
    let (ok, detail) = recovered_check(&p, rep.recovered_to, done.lsn, gap);
    if let (Some(t), Some(r)) = (p.target_time, rep.recovered_to) {
        rep.lag_seconds = Some((t - r).as_seconds_f64().max(0.0));
    }
    rep.check(CheckName::RecoveredTo, ok, detail);
    rep.bytes_fetched = bytes_fetched(&p, listing.as_deref(), done.lsn);

    rep.say("checking the copy");
    let t2 = Instant::now();
    let conn = Conn {
        sock: sock.clone(),
        user: p.user.clone(),
        bin: bin.clone(),
    };
    if cfg.drill.amcheck.on() {
        let (ok, detail) = conn.amcheck(cfg.drill.amcheck).await;
        rep.check(CheckName::Amcheck, ok, detail);
    }
    if let (Some(ran), Ok(o)) = (
        rep.ran.as_mut(),
        checks::output_long(
            &conn.psql_argv("postgres", Some("SHOW server_version")),
            &conn.user,
        )
        .await,
    ) {
        if o.status.success() {
            ran.set_postgresql(&String::from_utf8_lossy(&o.stdout));
        }
    }
    if cfg.drill.verify {
        let before = report::history(&cfg.drill.reports, Some(&rep.cluster), None);
        match checks::verify_plan(
            version.as_deref().map_err(String::as_str),
            rep.backup.as_deref(),
            cfg.drill.verify_every,
            &before,
        ) {
            VerifyPlan::Run(form, why) => {
                let (ok, detail) = verify(&p, &form, &why).await;
                rep.check(CheckName::Verify, ok, detail);
            }
            VerifyPlan::Skip(why) => {
                rep.say(&why);
                rep.not_checked.push(why);
            }
        }
    }
    if !cfg.drill.queries.is_empty() {
        // The queries run as a role without superuser: production's data (its functions,
        // operators and triggers) gets no superuser session to run in.
        match conn.make_query_role().await {
            Ok(()) => {
                for (i, q) in cfg.drill.queries.iter().enumerate() {
                    let (ok, detail) = conn.query(&cfg.drill.database, q).await;
                    rep.check(CheckName::Query(i + 1), ok, detail);
                }
            }
            Err(e) => rep.check(CheckName::Queries, false, e),
        }
    }
    if let Some(argv) = cfg.drill.command.of(&p.id) {
        let (ok, detail) = conn
            .command(argv, &cfg.drill.database, cfg.drill.command_timeout)
            .await;
        rep.check(CheckName::Command, ok, detail);
    }
    checksums(cfg, req, copy, &p, &conn, bin.as_deref(), rep).await;
    rep.checks_seconds = Some(t2.elapsed().as_secs_f64());
    if req.keep {
        rep.kept = Some(format!(
            "{} (PostgreSQL running; connect: {}; stop: {})",
            scratch.display(),
            crate::pgbackrest::child::shell_line(&conn.psql_argv("postgres", None)),
            crate::pgbackrest::child::shell_line(&stop_command(scratch, &p.user, bin.as_deref()))
        ));
    }
    Ok(())
}

/// `pg_checksums --check` of the copy, stopped cleanly first (PostgreSQL 15's needs a cluster
/// shut down cleanly), when its data checksums are on; else, with `drill.amcheck = false` (no
/// check of the pages asked for) or a kept copy (it stays up), said as not checked.
async fn checksums(
    cfg: &Config,
    req: &Request,
    copy: &Copy,
    p: &workflow::Prepared,
    conn: &Conn,
    bin: Option<&std::path::Path>,
    rep: &mut Report,
) {
    let mut not_checked = |why: String| {
        rep.say(&why);
        rep.not_checked.push(why);
    };
    if !cfg.drill.amcheck.on() {
        return not_checked("checksums: drill.amcheck = false leaves out the checks of the copy's pages, pg_checksums too".into());
    }
    let on = checks::output_long(
        &conn.psql_argv("postgres", Some("SHOW data_checksums")),
        &conn.user,
    )
    .await;
    match on {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "on" => {}
        Ok(o) if o.status.success() => {
            return not_checked("checksums: the cluster's data checksums are off (initdb --data-checksums, or pg_checksums --enable on the stopped source, turns them on)".into());
        }
        Ok(o) => {
            return rep.fail(
                CheckName::Checksums,
                format!(
                    "SHOW data_checksums failed: {}",
                    crate::text::excerpt(String::from_utf8_lossy(&o.stderr).trim(), 300)
                ),
            )
        }
        Err(e) => return rep.fail(CheckName::Checksums, format!("SHOW data_checksums: {e:#}")),
    }
    if req.keep {
        return not_checked(
            "checksums: pg_checksums needs the copy stopped, and --keep leaves it running".into(),
        );
    }
    let (ok, detail) = checks::pg_checksums(copy, &p.pg1, &conn.user, bin).await;
    rep.check(CheckName::Checksums, ok, detail);
}

#[cfg(test)]
mod tests;
