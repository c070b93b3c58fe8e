//! Drills at the provider: for a cluster whose provider restores only there (IONOS, Launcher),
//! or a Crunchy Bridge cluster with `--at-provider` (a fork). The copy is made as `restore
//! --into` makes one (recorded as bridgerest's own), waited for within `drill.timeout`,
//! connected to over TLS with the credentials its provider hands out (or the role the user
//! configured, where it hands out none), checked (the connection, the point recovery reached
//! where the server shows it, `pg_amcheck`, `drill.queries` in read-only transactions), and
//! then deleted — always: after a success, a failure, a timeout, and on SIGTERM (then without
//! waiting). A copy that could not be deleted fails the drill (`copy_left`, naming it), stays
//! in the record of created clusters, and is deleted first by the next drill of its cluster.
//! At most `drill.provider_copies` drill copies exist at a time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::checks::{amcheck_verdict, first_value_verdict};
use super::report::ProviderCopy;
use super::{isolate, CheckName, Error, Report, Request, Result, Target};
use crate::config::Config;
use crate::lifecycle::{created, destroy};
use crate::narrate::Narrate;
use crate::provider::{ProviderKind, WayIn};
use crate::restore::server::{Access, Outcome};
use crate::restore::{AtProvider, Here, RunAs, TargetAction, When};
use crate::shutdown::Shutdown;
use crate::text::excerpt;

/// The name every copy a drill makes at a provider begins with.
pub const COPY_PREFIX: &str = "bridgerest-drill-";

/// The provider a drill of cluster `id` runs at: one that restores only there, or any that
/// can when `asked` (`--at-provider`); `None`: the drill restores here.
pub fn provider_drill(cfg: &Config, id: &str, asked: bool) -> Option<ProviderKind> {
    let p = cfg.provider_of(id)?;
    (asked || !p.capabilities().local_restore).then_some(p)
}

/// How the making and checking of the copy ended.
enum Ended {
    Done,
    TimedOut,
    Interrupted,
}

/// One drill at `provider`, as [`super::run`] documents for a drill here; `shutdown` ends it,
/// the copy's deletion asked for first.
pub(super) async fn run(
    cfg: &Config,
    req: &Request,
    provider: ProviderKind,
    shutdown: &Shutdown,
) -> Result<Report> {
    let id = req.cluster.as_str();
    let title = provider.title();
    let caps = provider.capabilities();
    if !(caps.into_new && caps.destroy) {
        return Err(crate::restore::Error::Refused(format!(
            "cluster {id}: {title} cannot make a copy bridgerest can delete again, so it has no drill at the provider (drills there run at {})",
            crate::provider::registry::titles_that(|c| c.into_new && c.destroy, "and")
        ))
        .into());
    }
    if req.keep {
        return Err(crate::restore::Error::Refused(
            "--keep is for a drill here: a copy at the provider is billed, and is always deleted (`restore --into` makes one to keep)".into(),
        )
        .into());
    }
    let target = match req.target {
        Target::Latest if !caps.latest => {
            return Err(crate::restore::Error::Refused(format!(
                "{title} restores no copy to its latest point: drill at a time or at random (--target random)"
            ))
            .into())
        }
        t => t,
    };
    let user = crate::restore::run_as(cfg, req.user.as_deref())?;
    let client = crate::clients::client_for(cfg, provider)?;
    let out: Narrate = req
        .narrate
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(crate::narrate::Kept::default()));
    let mut rep = Report::new(id, "", req.target, OffsetDateTime::now_utc(), Path::new(""));
    rep.ran = Some(super::report::Ran::here());
    rep.narrate = crate::narrate::Along(req.narrate.clone());

    // One drill of the cluster at a time, and at most drill.provider_copies drills at the
    // providers at once (a slot each); the locks are the drilling user's, beside the status
    // file, as a restore's are.
    let state = crate::fsutil::parent(&cfg.daemon.status_file).to_path_buf();
    std::fs::create_dir_all(&state).map_err(|e| {
        Error::Copy(format!(
            "creating {} (the daemon's state directory, daemon.status_file): {e}",
            state.display()
        ))
    })?;
    let lock =
        |name: String| crate::fsutil::FileLock::try_acquire(&state.join(name), user.owner(), 0o600);
    let _cluster = match lock(format!("drill-at-provider-{id}"))? {
        Ok(l) => l,
        Err(holder) => {
            return Err(crate::restore::Error::Failed(format!(
                "a drill of cluster {id} at {title} is running ({holder}): this one does not start"
            ))
            .into())
        }
    };
    let mut slot = None;
    let mut busy = Vec::new();
    for k in 0..cfg.drill.provider_copies {
        match lock(format!("provider-copy-{k}"))? {
            Ok(l) => {
                slot = Some(l);
                break;
            }
            Err(holder) => busy.push(holder.to_string()),
        }
    }

    // What earlier drills of this cluster left there goes first; then the cost guard: a free
    // slot, and fewer drill copies on record than the slots (a copy left by a drill of another
    // cluster counts until that cluster's next drill deletes it).
    for c in drill_copies(cfg)?
        .into_iter()
        .filter(|c| c.provider == provider && c.source == id)
    {
        rep.say(&format!(
            "deleting copy {} \"{}\", which an earlier drill left at {title}",
            c.id,
            excerpt(&c.name, 80)
        ));
        if let Err(e) = delete(cfg, provider, &c.id, false, &out, shutdown).await {
            rep.fail(
                CheckName::CopyLeft,
                format!(
                    "copy {} \"{}\", left by an earlier drill, could not be deleted: {e}; no new copy is made until it is (`bridgerest destroy --cluster {} --confirm {}`)",
                    c.id,
                    excerpt(&c.name, 80),
                    c.id,
                    c.id
                ),
            );
            // The copy still there is the one the status and the metrics name.
            let mut rep = none_made(rep, provider);
            if let Some(p) = rep.at_provider.as_mut() {
                p.id = Some(c.id.clone());
                p.name.clone_from(&c.name);
                p.deleted = false;
            }
            return Ok(rep);
        }
    }
    if slot.is_none() {
        rep.fail(
            CheckName::Copy,
            format!(
                "drill.provider_copies = {}, and as many drills at the providers are running ({}): no more copy is made; this drill proves nothing",
                cfg.drill.provider_copies,
                busy.join(", ")
            ),
        );
        return Ok(none_made(rep, provider));
    }
    let others = drill_copies(cfg)?;
    if others.len() >= cfg.drill.provider_copies {
        let named: Vec<String> = others
            .iter()
            .map(|c| format!("{} at {}", c.id, c.provider.title()))
            .collect();
        rep.fail(
            CheckName::Copy,
            format!(
                "drill.provider_copies = {} and drill copies exist already ({}): no more is made; this drill proves nothing (their drills delete them, or `bridgerest destroy`)",
                cfg.drill.provider_copies,
                named.join(", ")
            ),
        );
        return Ok(none_made(rep, provider));
    }

    let target = match target {
        Target::Random => {
            let w = client.window(id).await?;
            let now = OffsetDateTime::now_utc();
            let Some(start) = w.start else {
                return Err(crate::restore::Error::Refused(format!(
                    "cluster {id}: {title} shows no start of its recovery window ({}), so no time can be drawn from it: give --target TIME",
                    w.from
                ))
                .into());
            };
            let end = w.end.unwrap_or(now).min(now);
            let span = (end - start).whole_seconds().max(0);
            let t = start + time::Duration::seconds(fastrand::i64(0..=span));
            Target::Time(t.replace_nanosecond(0).unwrap_or(t))
        }
        t => t,
    };
    if let Target::Time(t) = target {
        rep.target = crate::restore::show_time(t);
        rep.target_time = Some(t);
    }
    let now = OffsetDateTime::now_utc();
    let name = format!(
        "{COPY_PREFIX}{}",
        now.format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default()
    );
    let mut copy = ProviderCopy {
        provider: provider.spec().name.to_string(),
        id: None,
        name: name.clone(),
        ready_seconds: None,
        lifetime_seconds: None,
        deleted: false,
        not_checked: Vec::new(),
    };
    rep.say(&format!(
        "making copy \"{name}\" of cluster {id} at {title}, to {}",
        rep.target_shown()
    ));
    let t0 = Instant::now();
    let ended = {
        let body = make_and_check(cfg, req, provider, target, &out, &mut rep, &mut copy);
        tokio::select! {
            biased;
            () = shutdown.wait() => Ended::Interrupted,
            r = tokio::time::timeout(cfg.drill.timeout, body) => match r {
                Ok(()) => Ended::Done,
                Err(_) => Ended::TimedOut,
            },
        }
    };
    if let Ended::TimedOut = ended {
        rep.fail(
            CheckName::Timeout,
            format!(
                "the drill took longer than drill.timeout ({}): it stopped there",
                humantime::format_duration(cfg.drill.timeout)
            ),
        );
    }

    // The copy is deleted whatever happened: found by its id, else by its record or its name.
    let copy_id = match &copy.id {
        Some(i) => Some(i.clone()),
        None => match created::load(cfg).ok().and_then(|l| {
            l.into_iter()
                .find(|c| c.provider == provider && c.name == name)
        }) {
            Some(c) => Some(c.id),
            None => client.find_named(&name).await.ok().flatten(),
        },
    };
    copy.id.clone_from(&copy_id);
    let interrupted = matches!(ended, Ended::Interrupted);
    let deleted = match &copy_id {
        None => Ok(None),
        Some(cid) => {
            rep.say(&format!("deleting copy {cid} at {title}"));
            delete(cfg, provider, cid, interrupted, &out, &Shutdown::never())
                .await
                .map(Some)
        }
    };
    match (deleted, &copy_id) {
        (Ok(None), _) => copy.deleted = true,
        (Ok(Some(destroy::Outcome::Gone { .. })), _) => {
            copy.deleted = true;
            copy.lifetime_seconds = Some(t0.elapsed().as_secs_f64());
        }
        (Ok(Some(destroy::Outcome::Accepted { .. })), Some(cid)) => rep.fail(
            CheckName::CopyLeft,
            format!("copy {cid} \"{name}\": {title} accepted its deletion, which was not waited for (interrupted); the next drill of {id} makes sure it is gone"),
        ),
        (Err(e), Some(cid)) => rep.fail(
            CheckName::CopyLeft,
            format!("copy {cid} \"{name}\" could not be deleted at {title}: {e}; the next drill of {id} deletes it first, or `bridgerest destroy --cluster {cid} --confirm {cid}`"),
        ),
        (_, None) => {}
    }
    rep.at_provider = Some(copy);
    if interrupted {
        let what = match rep.checks.iter().find(|c| c.name == CheckName::CopyLeft) {
            Some(c) => c.detail.clone(),
            None => format!("its copy \"{name}\" at {title} was deleted"),
        };
        return Err(Error::Interrupted(what));
    }
    rep.finish();
    Ok(rep)
}

/// A drill that stopped before it made a copy: closed, marked as at the provider.
fn none_made(mut rep: Report, provider: ProviderKind) -> Report {
    rep.at_provider = Some(ProviderCopy {
        provider: provider.spec().name.to_string(),
        id: None,
        name: String::new(),
        ready_seconds: None,
        lifetime_seconds: None,
        deleted: true,
        not_checked: Vec::new(),
    });
    rep.finish();
    rep
}

/// The copies drills made that the record still holds (of every provider and cluster).
fn drill_copies(cfg: &Config) -> Result<Vec<created::Created>> {
    let all = created::load(cfg).map_err(|e| {
        Error::Copy(format!(
            "the record of the clusters bridgerest created: {e}"
        ))
    })?;
    Ok(all
        .into_iter()
        .filter(|c| c.name.starts_with(COPY_PREFIX))
        .collect())
}

/// Deletes copy `id` (one bridgerest recorded), waiting until it is gone unless `no_wait`.
async fn delete(
    cfg: &Config,
    provider: ProviderKind,
    id: &str,
    no_wait: bool,
    out: &Narrate,
    shutdown: &Shutdown,
) -> std::result::Result<destroy::Outcome, crate::lifecycle::Error> {
    let req = destroy::Request {
        cluster: id.to_string(),
        provider: Some(provider),
        confirm: id.to_string(),
        force: false,
        no_wait,
        wait_timeout: Some(cfg.api.wait_timeout.min(cfg.drill.timeout)),
    };
    destroy::run(cfg, &req, out, shutdown).await
}

/// Makes the copy (as `restore --into` does), then checks it over a connection. Every
/// outcome is a check in `rep`.
async fn make_and_check(
    cfg: &Config,
    req: &Request,
    provider: ProviderKind,
    target: Target,
    out: &Narrate,
    rep: &mut Report,
    copy: &mut ProviderCopy,
) {
    let title = provider.title();
    let caps = provider.capabilities();
    let restore = crate::restore::Request {
        cluster: req.cluster.clone(),
        provider: Some(provider),
        when: When {
            target: Some(target),
            action: TargetAction::Promote,
        },
        dry_run: false,
        here: Here::default(),
        at: AtProvider {
            into: Some(copy.name.clone()),
            // The way in is kept in memory for the checks, never printed or written.
            show_secrets: true,
            // Bridge: its superuser role, which pg_amcheck needs.
            role: provider.spec().roles.map(|_| "postgres".to_string()),
            wait_timeout: Some(cfg.drill.timeout),
            plan: cfg.drill.copy_plan.clone().filter(|_| caps.plan),
            storage: cfg.drill.copy_storage.filter(|_| caps.storage),
            smallest: true,
            ..AtProvider::default()
        },
    };
    let t0 = Instant::now();
    let made = crate::restore::server::run(cfg, &restore, provider, out, &Shutdown::never()).await;
    let (done, access) = match made {
        Ok(Outcome::Ready { done, access, .. }) => (done, access),
        Ok(other) => {
            rep.check(
                CheckName::Copy,
                false,
                format!("the copy was not seen ready: {}", other.to_string().trim()),
            );
            return;
        }
        Err(e) => {
            rep.check(CheckName::Copy, false, format!("{e:#}"));
            return;
        }
    };
    let ready = t0.elapsed().as_secs_f64();
    copy.id = Some(done.id.clone());
    copy.ready_seconds = Some(ready);
    rep.restore_seconds = Some(ready);
    rep.check(
        CheckName::Copy,
        true,
        format!(
            "cluster {} \"{}\" ready at {title} after {:.1} s",
            done.id,
            excerpt(&done.name, 80),
            ready
        ),
    );
    rep.check_rto(
        cfg.drill.rto.of(&rep.cluster),
        ready,
        &format!("the copy at {title} became ready in"),
    );
    let way = match access {
        Some(Access::Known { way, .. })
            if way.password.is_some() && way.host.is_some() && way.user.is_some() =>
        {
            way
        }
        Some(Access::Known { way, .. }) => {
            rep.check(CheckName::Connect, false, format!(
                "{title} handed out no complete way in ({}){}",
                way.notes.join("; "),
                match &provider.spec().section {
                    Some(s) => format!(": set [{}] db_username and its password, a role the source has (its copy keeps it)", s.name),
                    None => String::new(),
                }
            ));
            return;
        }
        Some(Access::Unknown(why)) => {
            rep.check(
                CheckName::Connect,
                false,
                format!("the way in is not known: {why}"),
            );
            return;
        }
        None => {
            rep.check(CheckName::Connect, false, "the way in is not known".into());
            return;
        }
    };
    // The client programs run as this process's user, not the drilling one, and read the
    // password from a pgpass file only that user can read (a Launcher role's works on the
    // source too): any database of the copy, the way in's host, port and user.
    let me = match RunAs::current() {
        Ok(me) => me,
        Err(e) => {
            rep.check(CheckName::Connect, false, format!("{e:#}"));
            return;
        }
    };
    let pgpass = match pgpass_file(&way) {
        Ok(f) => f,
        Err(e) => {
            rep.check(
                CheckName::Connect,
                false,
                format!("the pgpass file for the copy: {e}"),
            );
            return;
        }
    };
    let remote = Remote {
        way,
        pgpass,
        user: me,
        bin: req.pg_bin.clone().or_else(client_bin_dir),
        limit: cfg.drill.timeout,
    };
    rep.say("checking the copy over TLS");
    let t2 = Instant::now();
    match remote.connect().await {
        Err(e) => {
            rep.check(CheckName::Connect, false, e);
            return;
        }
        Ok(seen) => {
            if let Some(ran) = rep.ran.as_mut() {
                ran.set_postgresql(&seen.version);
            }
            rep.check(
                CheckName::Connect,
                seen.ssl && !seen.in_recovery,
                seen.detail(&remote.way),
            );
            if let Some(r) = seen.replayed_to {
                rep.recovered_to = Some(r);
                let (ok, detail) = match rep.target_time {
                    Some(t) => {
                        rep.lag_seconds = Some((t - r).as_seconds_f64().max(0.0));
                        (
                            r <= t + time::Duration::seconds(1),
                            format!(
                                "the last transaction replayed committed at {}, target {}",
                                crate::restore::show_time(r),
                                crate::restore::show_time(t)
                            ),
                        )
                    }
                    None => (
                        true,
                        format!(
                            "the last transaction replayed committed at {}",
                            crate::restore::show_time(r)
                        ),
                    ),
                };
                rep.check(CheckName::RecoveredTo, ok, detail);
            } else {
                let why = "recovered_to: the copy's server shows no replay time (pg_last_xact_replay_timestamp is empty, as after a restart): where recovery ended is not observed; drill.queries can check the data's own times".to_string();
                rep.say(&why);
                copy.not_checked.push(why);
            }
        }
    }
    if cfg.drill.amcheck.on() {
        match remote.amcheck(cfg.drill.amcheck).await {
            // A role that may not create the extension (IONOS's, Launcher's): not run, said.
            (false, detail) if detail.contains("permission denied to create extension") => {
                let why = format!("amcheck: the role {} may not create the amcheck extension in the copy, so pg_amcheck did not run ({}); drill.amcheck = false leaves it out", remote.way.user.as_deref().unwrap_or("?"), excerpt(&detail, 200));
                rep.say(&why);
                copy.not_checked.push(why);
            }
            (ok, detail) => rep.check(CheckName::Amcheck, ok, detail),
        }
    }
    for (i, q) in cfg.drill.queries.iter().enumerate() {
        let (ok, detail) = remote.query(&cfg.drill.database, q).await;
        rep.check(CheckName::Query(i + 1), ok, detail);
    }
    // The provider's copy is reached over TLS with a password: bridgerest hands no secret to
    // an operator's program, so drill.command runs on local copies only.
    if cfg.drill.command.of(&rep.cluster).is_some() {
        let why = "command: drill.command runs on copies restored on this host only (a provider's copy needs its password, which bridgerest gives to no program of the operator's)".to_string();
        rep.say(&why);
        copy.not_checked.push(why);
    }
    rep.checks_seconds = Some(t2.elapsed().as_secs_f64());
}

/// A pgpass file (0600, this user's, a new name in the temporary directory: made with
/// `O_EXCL`, never through a link) with the way in's line for any database; `None`: no password.
fn pgpass_file(way: &WayIn) -> std::io::Result<Option<tempfile::NamedTempFile>> {
    use std::io::Write;
    let any_db = WayIn {
        database: None,
        ..way.clone()
    };
    let Some(line) = any_db.pgpass_line() else {
        return Ok(None);
    };
    let mut f = tempfile::Builder::new()
        .prefix("bridgerest-pgpass-")
        .tempfile()?;
    f.write_all(line.as_bytes())?;
    f.flush()?;
    Ok(Some(f))
}

/// PostgreSQL's client programs: the newest Debian server package's, else `PATH`'s.
fn client_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("psql").exists().then_some((major, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, b)| b)
}

/// The copy at the provider, over TLS: libpq's environment names it (`PGHOST`, `PGPORT`,
/// `PGUSER`, `PGDATABASE`, `PGSSLMODE=require`); the password is in a pgpass file of this
/// process's user (`PGPASSFILE`: made 0600 with a name of its own, removed with the value),
/// never in an argument or an environment.
struct Remote {
    way: WayIn,
    pgpass: Option<tempfile::NamedTempFile>,
    user: RunAs,
    bin: Option<PathBuf>,
    limit: Duration,
}

/// What the first connection saw.
struct Seen {
    version: String,
    ssl: bool,
    in_recovery: bool,
    replayed_to: Option<OffsetDateTime>,
}

impl Seen {
    fn detail(&self, way: &WayIn) -> String {
        format!(
            "PostgreSQL {} at {}:{} as {}, {}{}",
            excerpt(&self.version, 40),
            way.host.as_deref().unwrap_or("?"),
            way.port.unwrap_or(5432),
            way.user.as_deref().unwrap_or("?"),
            if self.ssl { "over TLS" } else { "NOT over TLS" },
            if self.in_recovery {
                ", still in recovery (not promoted)"
            } else {
                ""
            }
        )
    }
}

impl Remote {
    fn program(&self, name: &str) -> String {
        self.bin.as_ref().map_or_else(
            || name.to_string(),
            |b| b.join(name).to_string_lossy().into_owned(),
        )
    }

    /// The environment the client programs get.
    fn env<'a>(&'a self, db: &'a str, port: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut env = vec![
            ("PGHOST", self.way.host.as_deref().unwrap_or("")),
            ("PGPORT", port),
            ("PGUSER", self.way.user.as_deref().unwrap_or("")),
            ("PGDATABASE", db),
            ("PGSSLMODE", "require"),
            ("PGCONNECT_TIMEOUT", "30"),
            ("PGAPPNAME", "bridgerest drill"),
        ];
        if let Some(f) = self.pgpass.as_ref().and_then(|f| f.path().to_str()) {
            env.push(("PGPASSFILE", f));
        }
        env
    }

    async fn output(
        &self,
        argv: &[String],
        db: &str,
        more: &[(&str, &str)],
    ) -> crate::pgbackrest::Result<std::process::Output> {
        let port = self.way.port.unwrap_or(5432).to_string();
        let mut env = self.env(db, &port);
        env.extend_from_slice(more);
        crate::pgbackrest::child::output_within(argv, &self.user, &env, Some(self.limit)).await
    }

    fn psql(&self, sql: &str) -> Vec<String> {
        [
            self.program("psql").as_str(),
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Connects to the way in's database: its version, TLS, whether it is promoted, and the
    /// commit time of the last transaction recovery replayed (where the server still shows it).
    async fn connect(&self) -> std::result::Result<Seen, String> {
        let db = self.way.database.as_deref().unwrap_or("postgres");
        let sql = "SELECT current_setting('server_version'), coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false), pg_is_in_recovery(), extract(epoch FROM pg_last_xact_replay_timestamp())";
        let o = self
            .output(&self.psql(sql), db, &[])
            .await
            .map_err(|e| format!("{e:#}"))?;
        if !o.status.success() {
            return Err(format!(
                "no connection to {}:{} as {} over TLS: {}",
                self.way.host.as_deref().unwrap_or("?"),
                self.way.port.unwrap_or(5432),
                self.way.user.as_deref().unwrap_or("?"),
                excerpt(String::from_utf8_lossy(&o.stderr).trim(), 300)
            ));
        }
        let text = String::from_utf8_lossy(&o.stdout);
        let cols: Vec<&str> = text.trim().split('|').collect();
        let [version, ssl, rec, replay] = cols.as_slice() else {
            return Err(format!(
                "the copy answered {:?}, not four values",
                excerpt(text.trim(), 120)
            ));
        };
        Ok(Seen {
            version: version.to_string(),
            ssl: *ssl == "t",
            in_recovery: *rec == "t",
            replayed_to: replay
                .parse::<f64>()
                .ok()
                .and_then(|s| OffsetDateTime::from_unix_timestamp_nanos((s * 1e9) as i128).ok()),
        })
    }

    /// `pg_amcheck --all --install-missing` over the connection (the role must be able to
    /// create the amcheck extension: Bridge's `postgres` can).
    /// pg_amcheck as the way in's role, at most `--heapallindexed` deep: `--parent-check`
    /// takes functions only a superuser may run, and a provider gives none.
    async fn amcheck(&self, depth: crate::config::Amcheck) -> (bool, String) {
        use crate::config::Amcheck;
        let mut argv = vec![
            self.program("pg_amcheck"),
            "--all".into(),
            "--install-missing".into(),
            "--progress".into(),
        ];
        let ran = match depth {
            Amcheck::Full | Amcheck::HeapAllIndexed => Amcheck::HeapAllIndexed,
            d => d,
        };
        argv.extend(ran.options().iter().map(|o| o.to_string()));
        let db = self.way.database.as_deref().unwrap_or("postgres");
        let (ok, detail) = amcheck_verdict(self.output(&argv, db, &[]).await);
        let why = match depth {
            Amcheck::Full => ": full needs a superuser, which the provider's role is not",
            _ => "",
        };
        (ok, format!("{detail} (depth {ran}{why})"))
    }

    /// One of `drill.queries` in `db`, in read-only transactions with `search_path`
    /// `pg_catalog` (as the way in's role: a provider's copy has no role bridgerest may make).
    async fn query(&self, db: &str, sql: &str) -> (bool, String) {
        let shown = excerpt(sql, 80);
        let more = [("PGOPTIONS", isolate::QUERY_PGOPTIONS)];
        match self.output(&self.psql(sql), db, &more).await {
            Err(e) => (false, format!("{shown}: {e:#}")),
            Ok(o) if !o.status.success() => (
                false,
                format!(
                    "{shown}: {}",
                    excerpt(String::from_utf8_lossy(&o.stderr).trim(), 300)
                ),
            ),
            Ok(o) => first_value_verdict(&shown, &o.stdout),
        }
    }
}
