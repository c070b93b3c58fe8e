//! The restore workflow: check the target, choose the backup, check the data directory; refresh
//! the credentials and let the repository confirm the backup and the window's end; print the
//! plan; run pgbackrest (again with --delta when the store refuses expired credentials), and
//! optionally start PostgreSQL and follow its recovery.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use time::OffsetDateTime;

use crate::cli::RestoreArgs;
use crate::config::{self, Config};
use crate::exit::{usage, Exit};
use crate::provider::excerpt;
use crate::provider::Client;
use crate::recovery::{self, Follow};
use crate::refresh::{self, Scope};
use crate::render;
use crate::restore::checks::{archive_end, version_warning};
use crate::restore::datadir::{create_dir, data_dir, ensure_dir, run_as};
use crate::restore::{self, DirState, Invocation, Progress, Redactor, Target, TargetAction};

pub async fn run(path: &Path, args: RestoreArgs) -> Result<Exit> {
    let mut cfg = crate::commands::load(path)?;
    let id = args.cluster.clone();
    let provider = crate::commands::provider_for(&cfg, &id, args.provider)?;
    if args.into.is_some() || args.in_place {
        return crate::restore::server::run(&cfg, &args, provider).await;
    }
    if !provider.has_repo_credentials() {
        return Err(usage(anyhow!(
            "{} hands out no repository credentials, so cluster {id} cannot be restored here (--pg1-path): restore it at the provider into a new cluster with --into NAME, or over itself with --in-place --confirm {id}",
            provider.title()
        )));
    }
    if !config::is_eid(&id) {
        return Err(usage(anyhow!(
            "--cluster {id:?} is not a Crunchy Bridge cluster id (26 lowercase letters and digits): see `bridgerest clusters`"
        )));
    }
    let target = match (args.target_time, args.target) {
        (Some(t), _) => Target::Time(t),
        (None, Some(t)) => t,
        (None, None) => return Err(usage(anyhow!("give --target-time TIME or --target latest"))),
    };
    if target == Target::Latest && args.target_action != TargetAction::Promote {
        return Err(usage(anyhow!(
            "--target-action {} applies to a target time; --target latest always ends recovery at the end of the archived WAL and promotes",
            args.target_action.as_str()
        )));
    }
    let pg1 = data_dir(&mut cfg, &id, args.pg1_path.as_deref())?;
    if let Some(why) = cfg.pgbackrest.unread_by_pgbackrest() {
        return Err(usage(anyhow!(why)));
    }
    if cfg.pgbackrest.main_config_set && !cfg.pgbackrest.main_config.exists() {
        return Err(usage(anyhow!(
            "pgbackrest.main_config = {} does not exist, and pgBackRest given --config with a missing file stops (error 55): create it, or remove main_config from {} to use pgBackRest's default (/etc/pgbackrest/pgbackrest.conf, else /etc/pgbackrest.conf)",
            cfg.pgbackrest.main_config.display(),
            cfg.path.display()
        )));
    }
    let user = run_as(&cfg, args.user.as_deref())?;
    let client = crate::commands::client(&cfg)?;

    // Check the target against the cluster's backups before anything is touched.
    let (status, backups, detail) = tokio::try_join!(
        client.cluster_status(&id),
        client.list_backups(&id),
        client.get_cluster(&id)
    )?;
    let now = OffsetDateTime::now_utc();
    let backup = restore::choose(&id, target, status.oldest_backup_at, &backups, now)
        .map_err(|e| usage(anyhow!(e)))?
        .clone();
    let user_set = args.set.is_some();
    let label = match &args.set {
        Some(s) => restore::set_label(s),
        None => restore::set_label(&backup.name),
    };
    if label.is_empty()
        || !label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        bail!(
            "backup {:?} has no pgBackRest label after its last '/' (letters, digits, '-', '_'): bridgerest will not pass it to pgBackRest",
            excerpt(args.set.as_deref().unwrap_or(&backup.name), 80)
        );
    }
    let state = restore::check_data_dir(&pg1, &user, args.delta || args.force)?;

    let (stanza, mut redactor) = if args.dry_run {
        (
            planned_stanza(&cfg, &client, &id).await?,
            Redactor::default(),
        )
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
        set: Some(label.to_string()),
        target,
        action: args.target_action,
        process_max: args
            .process_max
            .map(|n| n as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        delta: args.delta,
        force: args.force,
        prefetch: None,
    };
    let (prefetch, wal_line) = restore::prefetch::choose(&cfg, &id, &stanza, &pg1, inv.process_max);
    inv.prefetch = prefetch;
    // The API's backup names are `YYYY/<label>`: that the label is pgBackRest's is an
    // inference, so the repository's own list decides (credentials are fresh by now).
    // A dry run writes nothing: it reads the repository only with credentials already there.
    let mut note = None;
    let mut window_end: Option<String> = None;
    let in_file = refresh::read_existing(&cfg)
        .ok()
        .flatten()
        .and_then(|t| render::previous_stanzas(&t).ok())
        .is_some_and(|p| p.contains_key(&id));
    if !args.dry_run || in_file {
        match restore::repo_info(&inv, &user).await {
            Ok(repo) => {
                match restore::reconcile(label, user_set, target, &repo.backups) {
                    Ok(restore::SetChoice::Set(_)) => {}
                    Ok(restore::SetChoice::Own { why, pick }) => {
                        tracing::warn!("{why}: restoring without --set; pgBackRest chooses {pick}");
                        note = Some(format!("{why}; pgBackRest chooses itself: {pick}"));
                        inv.set = None;
                    }
                    Err(e) => return Err(usage(anyhow!("{e}"))),
                }
                window_end = archive_end(&inv, &user, &repo, target, &detail, args.pg_bin.as_deref()).await?;
            }
            Err(e) => tracing::warn!(
                "cannot check backup {label} against the repository ({e:#}); restoring it with --set"
            ),
        }
    }
    let when = match target {
        Target::Time(t) => format!(
            "{}, then {}",
            restore::pgbackrest_time(t),
            args.target_action.as_str()
        ),
        Target::Latest => match &window_end {
            Some(end) => format!("latest: {end}, then promote"),
            None => "latest (the end of the archived WAL), then promote".to_string(),
        },
    };
    let mut plan = String::new();
    plan.push_str(&format!("cluster:   {id} (stanza {stanza})\n"));
    plan.push_str(&format!(
        "source:    {}, PostgreSQL {}, state {}{}\n",
        excerpt(&detail.name, 80),
        detail
            .major_version
            .map_or_else(|| "(version not given)".to_string(), |v| v.to_string()),
        excerpt(&status.state, 40),
        match status.extra.get("ongoing_upgrade") {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(u) => format!(", upgrade in progress: {}", excerpt(&u.to_string(), 120)),
        }
    ));
    if let Some(w) = version_warning(detail.major_version, args.pg_bin.as_deref()) {
        tracing::warn!("{w}");
        plan.push_str(&format!("warning:   {w}\n"));
    }
    plan.push_str(&format!("target:    {when}\n"));
    if user_set {
        plan.push_str(&format!("backup:    {label} (--set)\n"));
    } else {
        plan.push_str(&format!(
            "backup:    {} ({}), finished {}, {}\n",
            excerpt(&backup.name, 80),
            backup
                .kind
                .as_deref()
                .filter(|k| !k.is_empty())
                .map_or_else(|| "type not given".into(), |k| excerpt(k, 20)),
            backup
                .finished_at
                .map_or_else(|| "(running)".into(), restore::show_time),
            backup.size_bytes.map_or_else(
                || "size not given".to_string(),
                crate::commands::backups::human_size
            )
        ));
    }
    if let Some(n) = &note {
        plan.push_str(&format!("note:      {n}\n"));
    }
    plan.push_str(&format!(
        "window:    {} .. {}\n",
        backups
            .iter()
            .filter_map(|b| b.finished_at)
            .min()
            .zip(status.oldest_backup_at)
            .map_or_else(
                || "?".to_string(),
                |(first, oldest)| restore::show_time(restore::window_start(oldest, first))
            ),
        window_end
            .as_deref()
            .unwrap_or("now (the last archived transaction is checked when the restore runs)")
    ));
    plan.push_str(&format!(
        "data dir:  {} ({state}), as {}\n",
        pg1.display(),
        user.name
    ));
    plan.push_str(&format!("wal:       {wal_line}\n"));
    plan.push_str(&format!("command:   {}\n", inv.shown()));
    print!("{plan}");
    if args.dry_run {
        return Ok(Exit::Success);
    }

    // Every check that can fail has passed: only now is anything created.
    if state == DirState::Missing {
        create_dir(&pg1, &user)?;
    }
    if let Some(spool) = inv.prefetch.as_ref().and_then(|p| p.spool.as_ref()) {
        ensure_dir(spool, &user)?;
    }
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let max = args.attempts;
    for attempt in 1..=max {
        tracing::info!(
            attempt,
            of = max,
            delta = inv.delta,
            "running pgbackrest restore"
        );
        let res = restore::run_pgbackrest(&inv.argv(), &user, &mut progress, &redactor).await?;
        if res.ok() {
            break;
        }
        match res.refusal {
            Some(why) if attempt < max => {
                tracing::warn!(
                    "attempt {attempt} of {max}: the store refused the credentials ({why}) at {:.1}%: fetching a new token, then running again with --delta (files already restored are kept)",
                    res.percent
                );
                redactor = refresh_cluster(&cfg, &client, &id).await?.1;
                inv.delta = true;
            }
            Some(why) => {
                progress.finish();
                bail!(
                    "pgbackrest restore failed {max} times; the store still refuses fresh credentials ({why}): {}",
                    res.describe()
                )
            }
            None => {
                progress.finish();
                let hint = if res.errors.iter().any(|e| e.contains("[075]")) {
                    format!(" (error 75: pgBackRest found no valid backup set for this target in the repository: the backup must have finished before the target; `pgbackrest --stanza={} info` lists what it has, and --set LABEL picks one)", inv.stanza)
                } else {
                    String::new()
                };
                bail!(
                    "pgbackrest restore failed ({}){hint}; see pgBackRest's log for details (only a refusal of the credentials is retried)",
                    res.describe()
                )
            }
        }
    }
    progress.finish();
    println!(
        "restored:  {} into {}",
        inv.set.as_deref().unwrap_or("the backup pgBackRest chose"),
        pg1.display()
    );

    let bin = recovery::bin_dir(&pg1, args.pg_bin.as_deref());
    if !args.start {
        let cmd = recovery::start_command(&pg1, &user, bin.as_deref());
        println!(
            "next:      check port and other settings in {}/postgresql.conf, then start it (or run again with --start):\n  {}",
            pg1.display(),
            restore::shell_line(&cmd)
        );
        return Ok(Exit::Success);
    }
    let done = recovery::start_and_follow(Follow {
        data: &pg1,
        user: &user,
        bin: bin.as_deref(),
        options: &args.pg_options,
        action: args.target_action,
        cfg: &cfg,
        client: &client,
        cluster: &id,
    })
    .await?;
    println!("recovery:  {}", done.state);
    // A promoted server asks for no more WAL: its spool can go (a paused one still may).
    let ours = inv.prefetch.as_ref().and_then(|p| p.spool.as_ref());
    if let (Some(spool), "promoted") = (ours, done.state) {
        if let Err(e) = std::fs::remove_dir_all(spool) {
            tracing::warn!("cannot remove the WAL spool {}: {e}", spool.display());
        }
    }
    if let Some(t) = &done.replayed_to {
        println!("recovered to: {t} (last replayed transaction)");
    }
    if let Some(lsn) = &done.lsn {
        println!("last replayed LSN: {lsn}");
    }
    Ok(Exit::Success)
}

/// The stanza a restore will use, without writing anything: the configured name, the one in
/// the file bridgerest wrote, or the one a fresh token names.
async fn planned_stanza(cfg: &Config, client: &Client, id: &str) -> Result<String> {
    if let Some(s) = cfg
        .clusters
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.stanza.clone())
    {
        return Ok(s);
    }
    if let Some(text) = refresh::read_existing(cfg)? {
        if let Ok(prev) = render::previous_stanzas(&text) {
            if let Some(s) = prev.get(id) {
                return Ok(s.name.clone());
            }
        }
    }
    Ok(client.create_backup_token(id).await?.stanza)
}

/// Refreshes one cluster's stanza: its name and a redactor for every credential in the file
/// written, or the reason there are no credentials.
async fn refresh_cluster(cfg: &Config, client: &Client, id: &str) -> Result<(String, Redactor)> {
    let plan = refresh::run(cfg, client, &Scope::cluster(cfg, id)?).await?;
    let outcome = plan
        .outcomes
        .iter()
        .find(|o| o.cluster_id == id)
        .context("internal error: the refresh did not cover the cluster")?;
    if let Some(e) = &outcome.error {
        bail!("cannot get credentials for cluster {id}: {e}");
    }
    tracing::info!(cluster = id, path = %cfg.pgbackrest.config.display(), "credentials refreshed");
    let stanza = outcome.stanza.clone().unwrap_or_default();
    // Every credential the file holds, so none of pgBackRest's output shows one.
    Ok((stanza, Redactor::new(plan.secrets().iter().cloned())))
}
