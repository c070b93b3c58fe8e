//! Restore drills: restore a cluster into a scratch directory from nothing, start it on a
//! private socket, let it recover to a target (the latest, a given or a random time in the
//! window), check it (recovered to the target, `pg_amcheck`, `pgbackrest verify`, the user's
//! queries), record a report, and remove it. The restore is [`crate::restore::workflow`]'s, so
//! a drill proves what a real restore would do; it holds the same per-cluster lock.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use time::OffsetDateTime;

use crate::config::Config;
use crate::exit::usage;
use crate::recovery::{self, Follow};
use crate::restore::workflow::{self, Pick, Prepared};
use crate::restore::Request as RestoreRequest;
use crate::restore::{Progress, RunAs, Target, TargetAction};
use crate::text::human_size;

pub mod copy;
pub mod isolate;
pub mod report;
pub use copy::Copy;
pub use report::{Check, Report};

pub use crate::when::{parse_drill_target as parse_target, DrillTarget};

/// One drill asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub cluster: String,
    pub target: DrillTarget,
    /// Leave the copy (and its PostgreSQL) in place.
    pub keep: bool,
    pub user: Option<String>,
    pub pg_bin: Option<PathBuf>,
}

/// The directory a drill of `stanza` restores into: `drill.scratch`, else a directory named
/// after the stanza in the default root. The name is checked here too, whatever checked it
/// before: a name like `/etc` or `..` joined to the root would name another directory.
pub fn scratch_for(cfg: &Config, stanza: &str) -> Result<PathBuf> {
    if let Some(s) = &cfg.drill.scratch {
        return Ok(s.clone());
    }
    if !crate::ids::is_stanza_name(stanza) {
        bail!(
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
pub async fn run(cfg: &Config, req: &Request) -> Result<Report> {
    let id = req.cluster.clone();
    let Some(cluster) = cfg.clusters.iter().find(|c| c.id == id) else {
        return Err(usage(anyhow!(
            "cluster {id} is not a Crunchy Bridge [[cluster]] of {}: a drill keeps its stanza fresh during the recovery like the daemon does, so add a [[cluster]] for it (`bridgerest clusters` lists the ids)",
            cfg.path.display()
        )));
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
    let lock = workflow::restore_lock(cfg, &id, "drill", &user).await?;
    let copy = Copy::open(&scratch, &user, cfg.drill.scratch.is_none())?;
    // Another cluster's drill may share a configured scratch directory.
    let _scratch_lock =
        match copy.try_lock()? {
            Ok(l) => l,
            Err(holder) => bail!(
                "another drill ({holder}) uses {}: this one does not start; give each cluster its own drill.scratch, or try again later",
                scratch.display()
            ),
        };
    let started_at = OffsetDateTime::now_utc();
    let mut rep = Report::new(&id, &stanza, req.target, started_at, &scratch);
    rep.owner = Some(user.clone());
    copy.fresh().await?;
    // A real restore of the cluster preempts the drill; drill.timeout bounds every step.
    let preempt = async {
        match &lock {
            Some(_) => workflow::preempted(cfg, &id, &user).await,
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
                "timeout",
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
                "preempted",
                format!("a restore of cluster {id} ({holder}) started: the drill stopped and removed its copy, and proves nothing this time"),
            );
            Ok(())
        }
    };
    match outcome {
        Ok(()) => {}
        // A target outside the window and the like: the asking was wrong, not the backups;
        // refused (exit 2) and not recorded as a drill.
        Err(e) if crate::exit::code_of(&e) == crate::exit::Exit::Usage => {
            if let Err(c) = copy.remove().await {
                tracing::warn!("cannot remove the copy: {c:#}");
            }
            return Err(e);
        }
        Err(e) => rep.fail("drill", format!("{e:#}")),
    }
    if keep {
        rep.kept
            .get_or_insert_with(|| scratch.display().to_string());
    } else if let Err(e) = copy.remove().await {
        rep.fail("cleanup", format!("{e:#}"));
    }
    rep.finish();
    Ok(rep)
}

/// The scratch directory of `id`'s drill where it is known without asking the API.
pub fn known_scratch(cfg: &Config, id: &str) -> Option<PathBuf> {
    let stanza = workflow::written_stanza(cfg, id).ok()??;
    scratch_for(cfg, &stanza).ok()
}

/// Stops the copy's PostgreSQL (the one the drill recorded, if it still runs) and removes the
/// copy and its WAL spool: a drill interrupted (Ctrl-C, the daemon's SIGTERM).
pub async fn remove_copy(scratch: &Path, user: &RunAs) -> Result<()> {
    Copy::open(scratch, user, false)?.remove().await
}

async fn drill(cfg: &Config, req: &Request, copy: &Copy, rep: &mut Report) -> Result<()> {
    let scratch = copy.path.as_path();
    let args = RestoreRequest {
        cluster: req.cluster.clone(),
        provider: None,
        into: None,
        in_place: false,
        switch: false,
        confirm: None,
        plan: None,
        region: None,
        storage: None,
        datacenter: None,
        lan: None,
        cidr: None,
        no_wait: false,
        wait_timeout: None,
        target_time: match req.target {
            DrillTarget::Time(t) => Some(t),
            _ => None,
        },
        target: (req.target == DrillTarget::Latest).then_some(Target::Latest),
        target_action: TargetAction::Promote,
        pg1_path: Some(scratch.to_path_buf()),
        delta: false,
        force: false,
        dry_run: false,
        set: None,
        process_max: None,
        user: req.user.clone(),
        attempts: 3,
        start: true,
        pg_options: vec![],
        pg_bin: req.pg_bin.clone(),
    };
    let pick = match req.target {
        DrillTarget::Random => Pick::Random,
        _ => Pick::Given,
    };
    let mut p = match workflow::prepare(cfg.clone(), &args, pick).await {
        Ok(p) => p,
        Err(e) if crate::exit::code_of(&e) == crate::exit::Exit::Usage => return Err(e),
        Err(e) => {
            rep.check("plan", false, format!("{e:#}"));
            return Ok(());
        }
    };
    rep.plan = p.plan.clone();
    rep.target_time = p.target_time;
    rep.backup = p
        .inv
        .set
        .clone()
        .or_else(|| p.repo_backup.as_ref().map(|b| b.label.clone()));
    tracing::info!(cluster = %p.id, target = %rep.target_shown(), backup = rep.backup.as_deref().unwrap_or("?"), "drill planned");

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
    rep.check("space", fits, detail);
    if !fits {
        return Ok(());
    }

    let t0 = Instant::now();
    let mut progress = Progress::new(false);
    let restored = workflow::restore_files(&mut p, args.attempts, &mut progress).await;
    rep.restore_seconds = Some(t0.elapsed().as_secs_f64());
    match restored {
        Ok(runs) => rep.check(
            "restore",
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
            rep.check("restore", false, format!("{e:#}"));
            // A failed restore is when the repository's checksums say most: which file is bad.
            let (ok, detail) = verify(&p).await;
            rep.check("verify", ok, detail);
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
    rep.check("isolation", true, start.said);
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
    let child = recovery::start(&follow)?;
    // Recorded at once: only this process is ever signalled by a later cleanup.
    copy.record_postmaster(child.id().unwrap_or(0))?;
    let followed = recovery::follow(&follow, child).await;
    rep.recovery_seconds = Some(t1.elapsed().as_secs_f64());
    let done = match followed {
        Ok(d) => d,
        Err(e) => {
            let log = recovery::log_tail(&p.pg1, &p.user);
            let (_, gap) = wal_gap(&p, redo_done_at(&log).as_deref(), &log).await;
            rep.check(
                "recovery",
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
        "recovery",
        done.state == "promoted",
        format!(
            "{} after {:.1} s, last replayed LSN {}",
            done.state,
            t1.elapsed().as_secs_f64(),
            done.lsn.as_deref().unwrap_or("?")
        ),
    );
    workflow::remove_spool(&p);
    rep.recovered_to = done.replayed_to;
    let log = recovery::log_tail(&p.pg1, &p.user);
    let (listing, gap) = wal_gap(&p, done.lsn.as_deref(), &log).await;
    let (ok, detail) = recovered_check(&p, rep.recovered_to, gap);
    if let (Some(t), Some(r)) = (p.target_time, rep.recovered_to) {
        rep.lag_seconds = Some((t - r).as_seconds_f64().max(0.0));
    }
    rep.check("recovered_to", ok, detail);
    rep.bytes_fetched = bytes_fetched(&p, listing.as_deref(), done.lsn.as_deref());

    let t2 = Instant::now();
    let conn = Conn {
        sock: sock.clone(),
        user: p.user.clone(),
        bin: bin.clone(),
    };
    if cfg.drill.amcheck {
        let (ok, detail) = conn.amcheck().await;
        rep.check("amcheck", ok, detail);
    }
    if cfg.drill.verify {
        let (ok, detail) = verify(&p).await;
        rep.check("verify", ok, detail);
    }
    if !cfg.drill.queries.is_empty() {
        // The queries run as a role without superuser: production's data (its functions,
        // operators and triggers) gets no superuser session to run in.
        match conn.make_query_role().await {
            Ok(()) => {
                for (i, q) in cfg.drill.queries.iter().enumerate() {
                    let (ok, detail) = conn.query(&cfg.drill.database, q).await;
                    rep.check(&format!("query {}", i + 1), ok, detail);
                }
            }
            Err(e) => rep.check("queries", false, e),
        }
    }
    rep.checks_seconds = Some(t2.elapsed().as_secs_f64());
    if req.keep {
        rep.kept = Some(format!(
            "{} (PostgreSQL running; connect: {}; stop: {})",
            scratch.display(),
            crate::restore::shell_line(&conn.psql_argv("postgres", None)),
            crate::restore::shell_line(&stop_command(scratch, &p.user, bin.as_deref()))
        ));
    }
    Ok(())
}

/// A WAL segment (PostgreSQL's default size, Bridge's).
const WAL_SEGMENT: u64 = 16 << 20;
/// The most WAL recovery keeps in pg_wal at once (restartpoints recycle the rest): the
/// default max_wal_size.
const WAL_ON_DISK_MAX: u64 = 1 << 30;
/// The spool's queue beside the copy (`archive-get-queue-max`, [`crate::restore::prefetch`]).
const SPOOL_BYTES: u64 = 512 << 20;

/// What a drill's copy takes on disk, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The database's size (the repository's, else the API's); `None`: stated by neither.
    pub backup: Option<u64>,
    /// The archived WAL recovery keeps in pg_wal (segments after the backup's start, at most
    /// [`WAL_ON_DISK_MAX`]); `None`: the repository could not be listed.
    pub wal: Option<u64>,
    /// The prefetch spool's queue beside the copy (0: none there).
    pub spool: u64,
}

impl Need {
    /// The total with a tenth more for what no one states (the server's logs, temp files).
    pub fn total(&self) -> Option<u64> {
        let sum = self.backup? + self.wal.unwrap_or(0) + self.spool;
        Some(sum + sum / 10)
    }

    fn shown(&self) -> String {
        format!(
            "backup {} + WAL {} + spool {} + 10% margin",
            self.backup.map_or_else(|| "?".into(), human_size),
            self.wal.map_or_else(|| "? (not listed)".into(), human_size),
            human_size(self.spool)
        )
    }
}

/// Whether a copy needing `need` fits in the `free` bytes of `dir`, and what was counted.
pub fn space_check(need: &Need, free: u64, dir: &Path) -> (bool, String) {
    match need.total() {
        Some(n) if n > free => (
            false,
            format!(
                "the copy needs {} ({}) but {} has {} free: free space, or set drill.scratch to a larger file system",
                human_size(n),
                need.shown(),
                dir.display(),
                human_size(free)
            ),
        ),
        Some(n) => (
            true,
            format!(
                "{} needed ({}), {} free",
                human_size(n),
                need.shown(),
                human_size(free)
            ),
        ),
        None => (
            true,
            format!(
                "size not stated by the repository or the API; {} free",
                human_size(free)
            ),
        ),
    }
}

/// The free bytes of the file system `dir` is on (for an unprivileged writer).
pub fn free_bytes(dir: &Path) -> Result<u64> {
    let st = nix::sys::statvfs::statvfs(dir)
        .with_context(|| format!("reading the free space of {}", dir.display()))?;
    #[allow(clippy::unnecessary_cast)]
    Ok(st.blocks_available() as u64 * st.fragment_size() as u64)
}

/// Makes the socket directory in the copy (0700, the user's: made through the copy's
/// descriptor) and its `pg_hba.conf`: trust on that socket only, which nobody but the user
/// and root can open, and nothing over TCP. Returns its path.
fn private_socket(copy: &crate::fsutil::Dir, user: &RunAs) -> Result<PathBuf> {
    let dir = copy.make_dir(SOCKET_DIR, 0o700, user.owner())?;
    dir.write_file(
        "pg_hba.conf",
        b"# bridgerest drill: the private socket only\nlocal all all trust\n",
        0o600,
        user.owner(),
    )?;
    Ok(dir.path.clone())
}

/// Whether the copy recovered to the target: the last replayed commit at or before it and not
/// before the backup, and by how much it falls short.
fn recovered_check(
    p: &Prepared,
    recovered: Option<OffsetDateTime>,
    gap: Option<String>,
) -> (bool, String) {
    let backup_start = p
        .repo_backup
        .as_ref()
        .and_then(|b| OffsetDateTime::from_unix_timestamp(b.start).ok())
        .filter(|t| t.unix_timestamp() > 0)
        .unwrap_or(p.backup.started_at);
    recovered_verdict(
        p.inv.target == Target::Latest,
        backup_start,
        recovered,
        p.target_time,
        gap,
    )
}

/// The `recovered_to` check: `recovered` is the last replayed commit, `target` the target's
/// time (for `latest`, the last archived commit, if it could be read), `gap` what the
/// repository says of the WAL after where replay stopped. A `latest` drill passes only when
/// it is shown to have reached the end: an unknown end or a gap is no proof.
pub fn recovered_verdict(
    latest: bool,
    backup_start: OffsetDateTime,
    recovered: Option<OffsetDateTime>,
    target: Option<OffsetDateTime>,
    gap: Option<String>,
) -> (bool, String) {
    let show = crate::restore::show_time;
    match (recovered, target) {
        (Some(r), Some(t)) => {
            let short = t - r;
            let short_s = short.as_seconds_f64().max(0.0);
            let missing = gap.as_ref().map(|m| format!(": {m}")).unwrap_or_default();
            if r > t + time::Duration::milliseconds(1) {
                (
                    false,
                    format!("recovered to {}, after the target {}", show(r), show(t)),
                )
            } else if r < backup_start {
                (
                    false,
                    format!(
                        "recovered to {}, before the backup started ({})",
                        show(r),
                        show(backup_start)
                    ),
                )
            } else if latest && short_s > 0.001 {
                (
                    false,
                    format!(
                        "recovered to {}, {} short of the last archived transaction ({}){missing}",
                        show(r),
                        secs(short_s),
                        show(t)
                    ),
                )
            } else if latest && gap.is_some() {
                (
                    false,
                    format!(
                        "recovered to {}, but the WAL chain has a gap{missing}",
                        show(r)
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "recovered to {} ({} before the target {})",
                        show(r),
                        secs(short_s),
                        show(t)
                    ),
                )
            }
        }
        // `latest` with the archive's end unknown (pg_waldump missing, archive-get failed):
        // that recovery reached the end is not shown, so the drill proves nothing.
        (Some(r), None) => (
            !latest,
            format!(
                "inconclusive: recovered to {}, but the end of the archived WAL could not be read (pg_waldump and the repository's last segment), so whether recovery reached it is unknown{}",
                show(r),
                gap.map(|m| format!("; {m}")).unwrap_or_default()
            ),
        ),
        (None, None) if latest => (
            false,
            format!(
                "inconclusive: no transaction was replayed and the end of the archived WAL could not be read (pg_waldump and the repository's last segment; an idle cluster archives no commit), so that recovery reached it is unknown{}",
                gap.map(|m| format!("; {m}")).unwrap_or_default()
            ),
        ),
        (None, Some(t)) if latest && t >= backup_start => (
            false,
            format!(
                "no transaction replayed, but the archive's last is at {}{}",
                show(t),
                gap.map(|m| format!(": {m}")).unwrap_or_default()
            ),
        ),
        (None, _) => (
            true,
            "no transaction committed between the backup's start and the target: nothing to replay"
                .to_string(),
        ),
    }
}

fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        humantime::format_duration(Duration::from_secs(s.round() as u64)).to_string()
    }
}

/// Why replay stopped after `lsn` (its last position), as far as the repository (listed
/// here, and returned) or PostgreSQL's `log` of the copy say.
async fn wal_gap(
    p: &Prepared,
    lsn: Option<&str>,
    log: &str,
) -> (Option<Vec<(String, u64)>>, Option<String>) {
    let listing = archived_wal(p).await;
    let gap = lsn
        .and_then(|lsn| gap_after(p, listing.as_deref(), lsn))
        .or_else(|| missing_wal(log));
    (listing, gap)
}

/// What `archive-get` said it could not find, from PostgreSQL's log of the copy: the WAL
/// segment missing from the repository.
pub fn missing_wal(text: &str) -> Option<String> {
    let line = text.lines().find(|l| {
        l.contains("unable to find") || (l.contains("ERROR: [") && l.contains("archive"))
    })?;
    let at = line
        .find("ERROR:")
        .or_else(|| line.find("unable"))
        .unwrap_or(0);
    Some(format!(
        "WAL missing or unreadable in the repository: {}",
        crate::text::excerpt(line[at..].trim(), 300)
    ))
}

/// The repository's bytes of the backup set, plus the archived WAL from the backup's start to
/// the segment of `lsn`, the last replayed (what a restore from nothing fetches; WAL fetched
/// ahead and not replayed is not counted).
fn bytes_fetched(
    p: &Prepared,
    listing: Option<&[(String, u64)]>,
    lsn: Option<&str>,
) -> Option<u64> {
    let b = p.repo_backup.as_ref()?;
    let set = b.repo_size?;
    let wal = (|| {
        let from = b.archive_start.as_deref()?;
        let to = crate::wal::segment_before(&from[..8], lsn?)?;
        Some(
            listing?
                .iter()
                .filter(|(seg, _)| seg.as_str() >= from && seg.as_str() <= to.as_str())
                .map(|(_, n)| n)
                .sum::<u64>(),
        )
    })();
    Some(set + wal.unwrap_or(0))
}

/// The stanza's archived WAL segments (name, bytes in the repository), sorted, from
/// `pgbackrest repo-ls` of the archive id the repository's info names.
async fn archived_wal(p: &Prepared) -> Option<Vec<(String, u64)>> {
    let id = p.repo.as_ref()?.archive_id.as_deref()?;
    let path = format!("archive/{}/{id}", p.inv.stanza);
    let argv = p
        .inv
        .command_argv(&["--output=json", "--recurse", "repo-ls", &path]);
    let out = crate::restore::output_as(&argv, &p.user, &[]).await.ok()?;
    if !out.status.success() {
        tracing::warn!(
            "cannot list the archived WAL: {}",
            crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 200)
        );
        return None;
    }
    wal_files(&String::from_utf8_lossy(&out.stdout))
}

/// The WAL segments in `repo-ls --recurse --output=json` output: (name, bytes), sorted.
pub fn wal_files(json: &str) -> Option<Vec<(String, u64)>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut out: Vec<(String, u64)> = v
        .as_object()?
        .iter()
        .filter(|(_, f)| f["type"] == "file")
        .filter_map(|(name, f)| {
            let seg = name.rsplit('/').next()?.get(..24)?;
            seg.bytes()
                .all(|c| c.is_ascii_hexdigit())
                .then(|| (seg.to_ascii_uppercase(), f["size"].as_u64().unwrap_or(0)))
        })
        .collect();
    out.sort();
    Some(out)
}

/// Why recovery stopped after the segment of `lsn`: the next segment is missing from the
/// repository (with later ones there: a broken chain), or it is there and could not be used.
fn gap_after(p: &Prepared, listing: Option<&[(String, u64)]>, lsn: &str) -> Option<String> {
    let listing = listing?;
    let tli = p.repo_backup.as_ref()?.archive_start.as_deref()?.get(..8)?;
    let at = crate::wal::segment_before(tli, lsn)?;
    let next = crate::wal::next_segment(&at)?;
    let later = listing.iter().filter(|(s, _)| *s > next).count();
    if listing.iter().any(|(s, _)| *s == next) {
        Some(format!("WAL segment {next} is in the repository, but recovery stopped before it (replay ended in {at} at {lsn}): it may be corrupt (drill.verify checks every file)"))
    } else if later > 0 {
        Some(format!("WAL segment {next} is missing from the repository ({later} later segments are there: the WAL chain is broken after {at}, so recovery cannot pass {lsn})"))
    } else {
        None
    }
}

/// The LSN PostgreSQL's log says replay ended at ("redo done at 0/5000060").
fn redo_done_at(text: &str) -> Option<String> {
    let line = text.lines().rev().find(|l| l.contains("redo done at "))?;
    let rest = line.split("redo done at ").nth(1)?;
    Some(rest.split_whitespace().next()?.to_string())
}

/// `pgbackrest verify` of the stanza's repository: 2.45 has no `--set` for it, so every
/// backup and every archived WAL file is read and checked against its checksum. pgBackRest
/// exits 0 whatever it finds: its summary (`status: error`) and its log lines name the bad
/// files.
async fn verify(p: &Prepared) -> (bool, String) {
    let argv = p
        .inv
        .command_argv(&["--output=text", "--log-level-console=info", "verify"]);
    let out = match output_long(&argv, &p.user).await {
        Ok(o) => o,
        Err(e) => return (false, format!("{e:#}")),
    };
    let text = p.redactor.apply(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    verify_result(out.status.success(), &text)
}

/// The verdict and the findings in `pgbackrest verify --output=text --log-level-console=info`
/// output.
pub fn verify_result(exited_ok: bool, text: &str) -> (bool, String) {
    let mut found: Vec<String> = vec![];
    for l in text.lines() {
        let l = l.trim();
        if let Some((_, msg)) = l.split_once("INFO: ") {
            if !msg.starts_with("verify command") && !msg.starts_with("stanza:") {
                found.push(msg.trim().to_string());
            }
        } else if let Some((_, msg)) = l.split_once("ERROR: ").or_else(|| l.split_once("WARN: ")) {
            found.push(msg.trim().to_string());
        } else if (l.starts_with("backup:") || l.starts_with("archiveId:"))
            && l.contains("status: invalid")
        {
            found.push(l.to_string());
        }
    }
    found.dedup();
    let error = !exited_ok || text.lines().any(|l| l.trim() == "status: error");
    match (error, found.is_empty()) {
        (false, _) => (
            true,
            "every backup and archived WAL file matches its checksum".into(),
        ),
        (true, true) => (
            false,
            "pgbackrest verify failed and named no file: see pgBackRest's log".into(),
        ),
        (true, false) => (false, crate::text::excerpt(&found.join("; "), 600)),
    }
}

/// Runs `argv` as `user` (no time limit of its own: a drill's checks take what they take).
async fn output_long(argv: &[String], user: &RunAs) -> Result<std::process::Output> {
    crate::restore::output_within(argv, user, &[], None).await
}

/// The copy's server, over its private socket.
struct Conn {
    sock: PathBuf,
    user: RunAs,
    bin: Option<PathBuf>,
}

impl Conn {
    fn program(&self, name: &str) -> String {
        self.bin.as_ref().map_or_else(
            || name.to_string(),
            |b| b.join(name).to_string_lossy().into_owned(),
        )
    }

    fn psql_argv(&self, db: &str, sql: Option<&str>) -> Vec<String> {
        self.psql_argv_as(None, db, sql)
    }

    fn psql_argv_as(&self, role: Option<&str>, db: &str, sql: Option<&str>) -> Vec<String> {
        let mut a = vec![
            self.program("psql"),
            "-X".into(),
            "-h".into(),
            self.sock.to_string_lossy().into_owned(),
            "-p".into(),
            PORT.to_string(),
            "-d".into(),
            db.into(),
        ];
        if let Some(r) = role {
            a.extend(["-U".into(), r.into()]);
        }
        if let Some(sql) = sql {
            a.extend([
                "-A".into(),
                "-t".into(),
                "-q".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-c".into(),
                sql.into(),
            ]);
        }
        a
    }

    /// `pg_amcheck --all --install-missing`: every index (B-tree) and table of every database;
    /// the amcheck extension is created in the copy only.
    async fn amcheck(&self) -> (bool, String) {
        let argv = vec![
            self.program("pg_amcheck"),
            "--all".into(),
            "--install-missing".into(),
            "--progress".into(),
            "-h".into(),
            self.sock.to_string_lossy().into_owned(),
            "-p".into(),
            PORT.to_string(),
        ];
        match output_long(&argv, &self.user).await {
            Err(e) => (
                false,
                format!("{e:#} (pg_amcheck ships with PostgreSQL 15's server package)"),
            ),
            Ok(o) => {
                let out = String::from_utf8_lossy(&o.stdout);
                let err = String::from_utf8_lossy(&o.stderr);
                // --progress ends with "N/N relations (100%), M/M pages (100%)".
                let last = err
                    .split(['\r', '\n'])
                    .map(str::trim)
                    .rfind(|l| l.contains("relations"))
                    .unwrap_or("")
                    .to_string();
                if o.status.success() && out.trim().is_empty() {
                    (true, format!("no corruption found: {last}"))
                } else {
                    let text: Vec<&str> = out
                        .lines()
                        .chain(err.split(['\r', '\n']))
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.contains("relations ("))
                        .take(5)
                        .collect();
                    (
                        false,
                        crate::text::excerpt(
                            &format!("pg_amcheck {}: {}", o.status, text.join("; ")),
                            600,
                        ),
                    )
                }
            }
        }
    }

    /// Makes [`isolate::QUERY_ROLE`] in the copy (as its superuser, in `postgres`).
    async fn make_query_role(&self) -> Result<(), String> {
        let argv = self.psql_argv("postgres", Some(&isolate::query_role_sql()));
        match output_long(&argv, &self.user).await {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "the role the queries run as ({}, no superuser, pg_read_all_data: PostgreSQL 14 or later) could not be made: {}",
                isolate::QUERY_ROLE,
                crate::text::excerpt(String::from_utf8_lossy(&o.stderr).trim(), 300)
            )),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    /// Runs `sql` in `db` as [`isolate::QUERY_ROLE`] with `search_path=pg_catalog`: it must
    /// succeed and its first value must not be false, 0 or empty (so
    /// `SELECT count(*) FROM public.orders` fails on an empty table).
    async fn query(&self, db: &str, sql: &str) -> (bool, String) {
        let shown = crate::text::excerpt(sql, 80);
        let argv = self.psql_argv_as(Some(isolate::QUERY_ROLE), db, Some(sql));
        let env = [("PGOPTIONS", isolate::QUERY_PGOPTIONS)];
        match crate::restore::output_within(&argv, &self.user, &env, None).await {
            Err(e) => (false, format!("{shown}: {e:#}")),
            Ok(o) if !o.status.success() => (
                false,
                format!(
                    "{shown}: {}",
                    crate::text::excerpt(String::from_utf8_lossy(&o.stderr).trim(), 300)
                ),
            ),
            Ok(o) => {
                let out = String::from_utf8_lossy(&o.stdout);
                let first = out
                    .lines()
                    .next()
                    .unwrap_or("")
                    .split('|')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let ok = !matches!(first.as_str(), "" | "f" | "false" | "0");
                let said = match first.is_empty() {
                    true => "no rows, or an empty value".to_string(),
                    false => crate::text::excerpt(&first, 60),
                };
                (ok, format!("{shown} → {said}"))
            }
        }
    }
}

/// The command that stops a kept copy.
fn stop_command(data: &Path, user: &RunAs, bin: Option<&Path>) -> Vec<String> {
    let mut a = Vec::new();
    if nix::unistd::Uid::effective() != user.uid {
        a.extend(["sudo".to_string(), "-u".into(), user.name.clone()]);
    }
    a.extend([
        bin.map_or_else(
            || "pg_ctl".into(),
            |b| b.join("pg_ctl").to_string_lossy().into_owned(),
        ),
        "-D".into(),
        data.to_string_lossy().into_owned(),
        "stop".into(),
    ]);
    a
}

#[cfg(test)]
mod tests;
