//! A restore at the provider (`restore --into NAME`, `restore --in-place --confirm ID|NAME`): check
//! the target against the provider's recovery window, print the plan and the exact request,
//! send it once (a write without an idempotency key is never repeated blindly: after a timeout
//! or a 5xx, bridgerest first looks for what it asked for), then follow the cluster until it
//! is ready.

use std::time::{Duration, Instant};

use super::error::{fail, refuse};
use super::{Error, Result};
use time::OffsetDateTime;

use crate::config::Config;
use crate::narrate::Narrate;
use crate::provider::http::Retry;
use crate::provider::{Call, Client, DbUser, Dest, Phase, ProviderKind, WayIn, WayInAsk};
use crate::restore::Request;
use crate::restore::{show_time, Stop, Target};
use crate::shutdown::Shutdown;
use crate::text::excerpt;

/// The first wait between two looks at the cluster being restored; it grows to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(15);
/// Looks at a cluster that report an error in a row before the wait gives up.
const POLL_ERRORS: u32 = 5;

/// How a restore at the provider ended (what it said on the way went through the narrator).
#[derive(Debug)]
pub enum Outcome {
    /// `--dry-run`: the plan and the request were shown, nothing was sent.
    DryRun,
    /// `--no-wait`: the provider accepted the restore into `new_id`.
    Accepted {
        title: &'static str,
        new_id: String,
        /// How to follow it.
        follow: String,
    },
    /// The cluster is ready, after `elapsed`; `access`: how to connect to it.
    Ready {
        done: crate::provider::Restored,
        elapsed: Duration,
        access: Option<Access>,
    },
}

/// The way in to a ready cluster, as the restore shows it.
#[derive(Debug)]
pub enum Access {
    /// What the provider's answers gave; its password printed (`--show-secrets`), written as
    /// a pgpass line to `pgpass`, or not handed out.
    Known {
        way: WayIn,
        pgpass: Option<std::path::PathBuf>,
        show: bool,
    },
    /// Asking for it failed (the restore itself is done): why.
    Unknown(String),
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (way, pgpass, show) = match self {
            Access::Unknown(why) => return writeln!(f, "connect:   not known: {why}"),
            Access::Known { way, pgpass, show } => (way, pgpass, *show),
        };
        let conninfo = way.conninfo();
        writeln!(f, "connect:   psql \"{conninfo}\"")?;
        match (&way.password, pgpass) {
            (Some(p), _) if show => {
                use secrecy::ExposeSecret;
                writeln!(f, "password:  {}", p.expose_secret())?
            }
            (Some(_), Some(file)) => writeln!(
                f,
                "password:  in {} (a pgpass line, 0600): PGPASSFILE={} psql \"{conninfo}\"",
                file.display(),
                file.display()
            )?,
            (Some(_), None) => writeln!(f, "password:  not shown (--show-secrets prints it)")?,
            (None, _) => writeln!(f, "password:  not handed out by the provider")?,
        }
        for n in &way.notes {
            writeln!(f, "note:      {n}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::DryRun => writeln!(f, "(dry run: nothing was sent)"),
            Outcome::Accepted {
                title,
                new_id,
                follow,
            } => writeln!(
                f,
                "accepted: {title} is restoring into cluster {new_id}; {follow}"
            ),
            Outcome::Ready {
                done,
                elapsed,
                access,
            } => {
                writeln!(
                    f,
                    "ready: cluster {} \"{}\", host {}, after {}",
                    done.id,
                    excerpt(&done.name, 80),
                    done.host
                        .as_deref()
                        .map_or_else(|| "(not reported)".into(), |h| excerpt(h, 200)),
                    crate::text::duration(*elapsed)
                )?;
                match access {
                    Some(a) => write!(f, "{a}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// What a wait at the provider says through, and what stops it.
#[derive(Clone, Copy)]
struct Watcher<'a> {
    out: &'a Narrate,
    shutdown: &'a Shutdown,
}

pub async fn run(
    cfg: &Config,
    args: &Request,
    provider: ProviderKind,
    out: &Narrate,
    shutdown: &Shutdown,
) -> Result<Outcome> {
    let id = args.cluster.as_str();
    let w = Watcher { out, shutdown };
    let target = match args.when.target {
        Some(Target::Time(t)) => Some(Stop::Time(t)),
        // As recent as the provider restores without a time ([`crate::provider::Spec::latest`]
        // says which: a Bridge fork at the current time, an IONOS chain applied whole, a
        // Launcher database from its newest backup).
        Some(Target::Latest) if provider.capabilities().latest => Some(Stop::Latest),
        Some(Target::Random) => refuse!(
            "--target random draws a time from the window the repository shows, so it is for a restore here (or a drill): give a restore at the provider --target-time TIME"
        ),
        None if args.at.switch => None,
        _ => {
            refuse!(
                "a restore at {} needs --target-time TIME (`--target latest` is for a restore here, which replays the archived WAL to its end, or at {})",
                provider.title(),
                crate::provider::registry::titles_that(|c| c.latest && (c.into_new || c.in_place), "or")
            )
        }
    };
    match (args.at.role.as_deref(), provider.spec().roles) {
        (Some(_), None) => refuse!(
            "--role is for {}, whose API hands out a way in per role; {} hands out none",
            crate::provider::registry::titles_where(|s| s.roles.is_some(), "and"),
            provider.title()
        ),
        (Some(r), Some((is_role, form))) if !is_role(r) => refuse!(
            "--role {:?} is not a {} role: give {form}",
            excerpt(r, 60),
            provider.title()
        ),
        _ => {}
    }
    let mut dest = destination(args, provider)?;
    if args.at.switch && !provider.capabilities().switch {
        refuse!(
            "--switch is for {}, whose in-place restore may go into a database beside the cluster that is then switched to; {} restores in place itself",
            crate::provider::registry::titles_that(|c| c.switch, "and"),
            provider.title()
        );
    }
    if let Dest::New {
        db_user,
        connection,
        ..
    } = &mut dest
    {
        // What the provider's new cluster needs beyond a name, as its folder says.
        let more = crate::clients::new_cluster(
            cfg,
            provider,
            &crate::provider::spec::NewFlags {
                datacenter: args.at.datacenter.as_deref(),
                lan: args.at.lan.as_deref(),
                cidr: args.at.cidr.as_deref(),
            },
        )?;
        *connection = more.connection;
        *db_user = more.db_user;
    }
    let client = crate::clients::client_for(cfg, provider)?;
    let title = provider.title();
    // The cluster overwritten, as the provider names it and its state now.
    let overwritten = match dest {
        Dest::InPlace => {
            let c = client.get_cluster(id).await?;
            confirm_in_place(args.at.confirm.as_deref(), &c)?;
            Some(c)
        }
        Dest::New { .. } => None,
    };
    let limit = args.at.wait_timeout.unwrap_or(cfg.api.wait_timeout);
    let Some(target) = target else {
        let done = switch_only(&client, id, overwritten.as_ref(), args.dry_run, limit, w).await?;
        return Ok(with_access(cfg, &client, args, None, done).await);
    };

    let window = client.window(id).await?;
    let now = OffsetDateTime::now_utc();
    if let Some(why) = window.refuses_target(target, now) {
        refuse!("cluster {id}: {why}");
    }
    if let Dest::New { name, .. } = &dest {
        if let Some(other) = client.find_named(name).await? {
            refuse!(
                "a {title} cluster named \"{}\" exists already ({other}): choose another --into name (bridgerest tells its new cluster apart by name)",
                excerpt(name, 80)
            );
        }
    }
    let Some(call) = client.restore_call(id, target, &dest, &window).await? else {
        refuse!(
            "{title} has no in-place restore: restore into a new cluster with --into NAME (a fork), then point your application at it"
        );
    };
    let src = Source {
        provider,
        id,
        overwritten: overwritten.as_ref(),
    };
    out.say(plan_lines(&src, target, &dest, &window, now, &call).trim_end());
    if args.dry_run {
        return Ok(Outcome::DryRun);
    }
    let started = Instant::now();
    let new_id = submit(cfg, &client, &call, id, &dest, out).await?;
    if let Dest::New { name, .. } = &dest {
        record(cfg, provider, &new_id, name, id, out).await;
    }
    let follow = format!(
        "follow it with `bridgerest clusters --provider {provider}` (cluster {new_id}) or in the {title} console"
    );
    if args.at.no_wait {
        return Ok(Outcome::Accepted {
            title,
            new_id,
            follow,
        });
    }
    // An in-place restore that answers with another database went into a side database
    // (Launcher): that one is followed as a new one, and the cluster is not rolled back yet.
    let side = matches!(dest, Dest::InPlace) && new_id != id;
    watch(
        &client,
        &new_id,
        matches!(dest, Dest::InPlace) && !side,
        limit,
        &follow,
        w,
    )
    .await?;
    let done = client.restored(&new_id).await?;
    if side {
        out.say(&format!(
            "restored:  into database {} \"{}\" beside cluster {id} ({title} answered the restore with that database), after {}",
            done.id,
            excerpt(&done.name, 80),
            crate::text::duration(started.elapsed())
        ));
        if !args.at.switch {
            fail!(
                "cluster {id} is not rolled back yet: {title} restored it into database {new_id} beside it, which it must be switched to; switch with `bridgerest restore --cluster {id} --in-place --confirm {id} --switch` (or give --switch with the restore)"
            );
        }
        let done = switch(&client, id, limit, started, w).await?;
        return Ok(with_access(cfg, &client, args, None, done).await);
    }
    let db_user = match &dest {
        Dest::New { db_user, .. } => db_user.as_ref(),
        Dest::InPlace => None,
    };
    let ready = Outcome::Ready {
        done,
        elapsed: started.elapsed(),
        access: None,
    };
    Ok(with_access(cfg, &client, args, db_user, ready).await)
}

/// A ready outcome with its way in: asked of the provider, the password written to the pgpass
/// file unless `--show-secrets` (a failure to learn it is said, and the restore stands).
async fn with_access(
    cfg: &Config,
    client: &Client,
    args: &Request,
    db_user: Option<&DbUser>,
    outcome: Outcome,
) -> Outcome {
    let Outcome::Ready {
        done,
        elapsed,
        access: None,
    } = outcome
    else {
        return outcome;
    };
    let role = args.at.role.as_deref().unwrap_or("application");
    let access = match client.way_in(&done.id, WayInAsk { role, db_user }).await {
        Err(e) => Access::Unknown(e.to_string()),
        Ok(way) if args.at.show_secrets || way.password.is_none() => Access::Known {
            way,
            pgpass: None,
            show: args.at.show_secrets,
        },
        Ok(way) => {
            let name = args.at.into.as_deref().unwrap_or(&args.cluster);
            let file = args
                .at
                .pgpass
                .clone()
                .unwrap_or_else(|| pgpass_beside(&cfg.path, name));
            match write_pgpass(&file, &way) {
                Ok(()) => Access::Known {
                    way,
                    pgpass: Some(file),
                    show: false,
                },
                Err(e) => Access::Unknown(format!(
                    "its password could not be written to {}: {e} (--pgpass FILE writes it elsewhere, --show-secrets prints it)",
                    file.display()
                )),
            }
        }
    };
    Outcome::Ready {
        done,
        elapsed,
        access: Some(access),
    }
}

/// `NAME.pgpass` beside the config file, NAME made of the name's letters, digits, `.`, `-`
/// and `_` (any other character becomes `_`).
fn pgpass_beside(config: &std::path::Path, name: &str) -> std::path::PathBuf {
    let safe: String = name
        .chars()
        .take(100)
        .map(|c| match c.is_ascii_alphanumeric() || "._-".contains(c) {
            true => c,
            false => '_',
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let dir = config.parent().filter(|d| !d.as_os_str().is_empty());
    dir.unwrap_or(std::path::Path::new(".")).join(format!(
        "{}.pgpass",
        if safe.is_empty() { "cluster" } else { safe }
    ))
}

/// Writes the way in's pgpass line to `file`: 0600, this user's, atomically, in a directory
/// only this user (or root) can change; an existing file there must be this user's own.
fn write_pgpass(file: &std::path::Path, way: &WayIn) -> std::result::Result<(), String> {
    let line = way
        .pgpass_line()
        .ok_or_else(|| "its host or user is not known".to_string())?;
    let me = crate::fsutil::Owner::default();
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    crate::fsutil::check_dir_safe(dir, me).map_err(|e| e.to_string())?;
    crate::fsutil::write_atomic(file, line.as_bytes(), 0o600, me).map_err(|e| e.to_string())
}

/// Records cluster `new_id`, which this restore made, as bridgerest's own (what `destroy`
/// deletes without `--force`). A record that cannot be written fails nothing (the cluster is
/// made): it is said, with what it means.
async fn record(
    cfg: &Config,
    provider: ProviderKind,
    new_id: &str,
    name: &str,
    source: &str,
    out: &Narrate,
) {
    let c = crate::lifecycle::created::Created {
        provider,
        id: new_id.to_string(),
        name: name.to_string(),
        source: source.to_string(),
        created_at: OffsetDateTime::now_utc(),
    };
    if let Err(e) = crate::lifecycle::created::add(cfg, c).await {
        out.note(&format!(
            "warning: cluster {new_id} is not recorded as bridgerest's ({e}): `bridgerest destroy` needs --force to delete it"
        ));
    }
}

/// Follows cluster `id` ([`wait`]) for at most `limit`; Ctrl-C or SIGTERM stop the watching
/// (the provider goes on), and so does the limit, each saying how to follow it.
async fn watch(
    client: &Client,
    id: &str,
    in_place: bool,
    limit: Duration,
    follow: &str,
    w: Watcher<'_>,
) -> Result<()> {
    let title = client.kind().title();
    let watched = tokio::select! {
        r = tokio::time::timeout(limit, wait(client, id, in_place, limit, w.out)) => r,
        () = w.shutdown.wait() => {
            w.out.end_status();
            w.out.note(&format!("interrupted: {title} goes on with the restore, bridgerest only stopped watching; {follow}"));
            return Err(Error::Interrupted { id: id.to_string() });
        }
    };
    match watched {
        Ok(r) => r,
        Err(_) => fail!(
            "bridgerest stopped waiting after {} (--wait-timeout, api.wait_timeout): {title} may still be working on cluster {id}; {follow}",
            humantime::format_duration(limit)
        ),
    }
}

/// `--switch`: sends the provider's switch request for `id` (once: it is not idempotent) and
/// follows `id` until it was seen switching and is ready again.
async fn switch(
    client: &Client,
    id: &str,
    limit: Duration,
    started: Instant,
    w: Watcher<'_>,
) -> Result<Outcome> {
    let title = client.kind().title();
    let Some(call) = client.switch_call(id) else {
        fail!("{title} has no switch request");
    };
    w.out
        .say(&format!("switch:    {} {}", call.method, call.url));
    client.send_restore(&call).await?;
    let follow = format!(
        "follow it with `bridgerest clusters --provider {}` (cluster {id}) or in the {title} console",
        client.kind()
    );
    watch(client, id, true, limit, &follow, w).await?;
    Ok(Outcome::Ready {
        done: client.restored(id).await?,
        elapsed: started.elapsed(),
        access: None,
    })
}

/// `--in-place --switch` without a target: switch `id` to the database an earlier restore
/// made beside it.
async fn switch_only(
    client: &Client,
    id: &str,
    c: Option<&crate::provider::Cluster>,
    dry_run: bool,
    limit: Duration,
    w: Watcher<'_>,
) -> Result<Outcome> {
    let title = client.kind().title();
    w.out.say(&format!(
        "Switch {title} cluster {id} \"{}\" (state {}) to the database a restore made beside it",
        c.map_or_else(String::new, |c| excerpt(&c.name, 100)),
        c.and_then(|c| c.state.as_deref())
            .map_or_else(|| "not reported".into(), |s| excerpt(s, 40)),
    ));
    if dry_run {
        if let Some(call) = client.switch_call(id) {
            w.out
                .say(&format!("  request: {} {}", call.method, call.url));
        }
        return Ok(Outcome::DryRun);
    }
    switch(client, id, limit, Instant::now(), w).await
}

/// An in-place restore goes ahead only with `--confirm` repeating the overwritten cluster's id
/// or its name, exactly.
fn confirm_in_place(confirm: Option<&str>, c: &crate::provider::Cluster) -> Result<()> {
    let name = excerpt(&c.name, 80);
    let either = match c.name.trim().is_empty() {
        true => format!("its id ({})", c.id),
        false => format!(
            "its id or its name (--confirm {} or --confirm \"{name}\")",
            c.id
        ),
    };
    match confirm {
        Some(x) if x == c.id || (!c.name.trim().is_empty() && x == c.name) => Ok(()),
        Some(x) => Err(Error::Refused(format!(
            "--confirm {} is not the cluster being overwritten ({} \"{name}\"): --in-place replaces its data with its state at the target time; repeat {either} to confirm",
            excerpt(x, 80),
            c.id
        ))),
        None => Err(Error::Refused(format!(
            "--in-place overwrites cluster {} \"{name}\" with its state at the target time (everything after it is lost): add --confirm with {either} to go ahead, or restore into a new cluster with --into NAME",
            c.id
        ))),
    }
}

/// Where the restore goes, from the flags (`--in-place` is confirmed by [`confirm_in_place`]).
fn destination(args: &Request, provider: ProviderKind) -> Result<Dest> {
    let can = provider.capabilities();
    if args.at.in_place {
        if !can.in_place {
            refuse!(
                "{} has no in-place restore: restore into a new cluster with --into NAME (a fork), then point your application at it",
                provider.title()
            );
        }
        // --confirm is checked against the cluster's id and name once it is read.
        return Ok(Dest::InPlace);
    }
    let Some(name) = args.at.into.clone() else {
        fail!("neither --into nor --in-place");
    };
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        refuse!(
            "--into {:?}: the new cluster's name must be 1 to 100 characters, without control characters",
            excerpt(&name, 100)
        );
    }
    if args.at.plan.is_some() && !can.plan {
        refuse!(
            "--plan applies to Crunchy Bridge forks; {} copies the source's size (use the provider's console to resize)",
            provider.title()
        );
    }
    if (args.at.region.is_some() && !can.region) || (args.at.storage.is_some() && !can.storage) {
        refuse!(
            "{}'s pitr-clone takes only a name and a time: --region and --storage do not apply",
            provider.title()
        );
    }
    let flags = [&args.at.datacenter, &args.at.lan, &args.at.cidr];
    if flags.iter().any(|f| f.is_some()) && !can.connection {
        refuse!(
            "--datacenter, --lan and --cidr choose a new {} cluster's network; {} chooses its own",
            crate::provider::registry::titles_that(|c| c.connection, "or"),
            provider.title()
        );
    }
    Ok(Dest::New {
        name,
        plan: args.at.plan.clone(),
        region: args.at.region.clone(),
        storage: args.at.storage,
        db_user: None,
        connection: None,
        connection_given: flags.iter().all(|f| f.is_some()),
        smallest: args.at.smallest,
    })
}

/// The restore's source as the plan shows it: the provider, the cluster's id, and (in place)
/// the cluster as the provider described it.
struct Source<'a> {
    provider: ProviderKind,
    id: &'a str,
    overwritten: Option<&'a crate::provider::Cluster>,
}

/// The plan of a restore at the provider and the exact request, as shown before it is sent.
fn plan_lines(
    src: &Source<'_>,
    target: Stop,
    dest: &Dest,
    window: &crate::provider::Window,
    now: OffsetDateTime,
    call: &Call,
) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let (provider, id, overwritten) = (src.provider, src.id, src.overwritten);
    let _ = writeln!(
        o,
        "Restore {} cluster {id} to {} at the provider",
        provider.title(),
        match target {
            Stop::Time(t) => show_time(t),
            Stop::Latest => provider.spec().latest.to_string(),
        }
    );
    let _ = writeln!(
        o,
        "  window:  {} .. {} (from {})",
        window.start.map_or_else(|| "-".into(), show_time),
        window
            .end
            .map_or_else(|| format!("now ({})", show_time(now)), show_time),
        window.from
    );
    if let Some(s) = window.span_of(target) {
        let _ = writeln!(
            o,
            "  chain:   {} ({}, PostgreSQL {}, {} .. {})",
            excerpt(&s.backup_id, 80),
            if s.active { "active" } else { "inactive" },
            s.version.as_deref().map_or("not reported", |v| v),
            show_time(s.start),
            s.end.map_or_else(
                || if s.active {
                    "now".to_string()
                } else {
                    "end not reported".to_string()
                },
                show_time
            )
        );
        if target == Stop::Latest {
            let _ = writeln!(
                o,
                "  applied: the whole chain, to its end (no target time is sent)"
            );
        }
    }
    let _ = match dest {
        Dest::New { name, .. } => {
            writeln!(o, "  into:    a new cluster \"{}\"", excerpt(name, 100))
        }
        Dest::InPlace => writeln!(
            o,
            "  in place: cluster {id} \"{}\" (state {}) is overwritten with its state at {}",
            overwritten.map_or_else(String::new, |c| excerpt(&c.name, 100)),
            overwritten
                .and_then(|c| c.state.as_deref())
                .map_or_else(|| "not reported".into(), |s| excerpt(s, 40)),
            match (target, window.span_of(target)) {
                (Stop::Time(t), _) => show_time(t),
                (Stop::Latest, Some(_)) => "the end of that chain".into(),
                (Stop::Latest, None) => provider.spec().latest.to_string(),
            }
        ),
    };
    let _ = writeln!(
        o,
        "  request: {} {}{}",
        call.method,
        call.url,
        match call.retry {
            Retry::Keyed => " (with an Idempotency-Key)",
            _ => "",
        }
    );
    let body = serde_json::to_string_pretty(&call.shown).unwrap_or_default();
    for line in body.lines() {
        let _ = writeln!(o, "    {line}");
    }
    o
}

/// Sends the request; returns the id of the cluster being restored. A request the provider
/// may have acted on although it did not say so is not sent again before looking: for a new
/// cluster, by its name; in place, at the cluster's state.
async fn submit(
    cfg: &Config,
    client: &Client,
    call: &Call,
    id: &str,
    dest: &Dest,
    out: &Narrate,
) -> Result<String> {
    let title = client.kind().title();
    let attempts = cfg.api.retries + 1;
    for attempt in 1..=attempts {
        let err = match client.send_restore(call).await {
            Ok(Some(new)) => return Ok(new),
            Ok(None) => match dest {
                Dest::InPlace => return Ok(id.to_string()),
                Dest::New { name, .. } => return appeared(client, name).await,
            },
            Err(e) if call.retry == Retry::Once && e.maybe_acted() => e,
            Err(e) => return Err(e.into()),
        };
        out.note(&format!("the request got no clear answer ({err}); {title} may have acted on it, so bridgerest looks before sending it again"));
        match dest {
            Dest::New { name, .. } => {
                if let Some(found) = client.find_named(name).await? {
                    out.note(&format!(
                        "cluster \"{}\" exists ({found}): the request was accepted; following it",
                        excerpt(name, 80)
                    ));
                    return Ok(found);
                }
            }
            Dest::InPlace => {
                if let Phase::Working(state) = client.phase(id).await? {
                    out.note(&format!(
                        "cluster {id} is {state}: the request was accepted; following it"
                    ));
                    return Ok(id.to_string());
                }
            }
        }
        if attempt == attempts {
            fail!("{title} did not accept the restore after {attempts} attempts, and nothing was created: try again later: {err}");
        }
        let wait = crate::backoff::delay(
            cfg.api.retry_base,
            attempt,
            Duration::from_secs(30),
            fastrand::f64(),
        );
        out.note(&format!(
            "nothing was created: sending it again in {}",
            crate::text::duration(wait)
        ));
        tokio::time::sleep(wait).await;
    }
    unreachable!("the loop returns")
}

/// The id of the cluster named `name`, once it is listed (an accepted request whose answer
/// named none); it is looked for for about a minute.
async fn appeared(client: &Client, name: &str) -> Result<String> {
    let mut delay = POLL_FIRST;
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(id) = client.find_named(name).await? {
            return Ok(id);
        }
        if Instant::now() > until {
            fail!(
                "{} accepted the restore but named no new cluster, and none called \"{}\" is listed after a minute: look in the provider's console",
                client.kind().title(),
                excerpt(name, 80)
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(POLL_MAX);
    }
}

/// How far past a grace's end its last look comes.
const POLL_SLACK: Duration = Duration::from_millis(50);
/// How long a state the provider does not document is waited through before it is an error.
const UNKNOWN_GRACE: Duration = Duration::from_secs(180);
/// How long an in-place restore may show no sign of having started (the cluster still ready,
/// never seen working) before bridgerest says it saw none; at most the wait's own limit.
const NO_SIGN: Duration = Duration::from_secs(300);

/// Follows the cluster until it is ready: a line per state on a log, one updated line on a
/// terminal. Only a documented state of progress counts as progress; a failed or vanishing
/// cluster, or an undocumented state for more than [`UNKNOWN_GRACE`], is an error naming it.
/// In place, the cluster is ready before the restore starts and after it ends: it counts as
/// done only once it was seen working; ready all along for [`NO_SIGN`] is an error saying
/// that no sign of the restore was seen. Both graces are at most half of `limit`, the wait's
/// own bound, so that they are what a short `--wait-timeout` ends with.
async fn wait(
    client: &Client,
    id: &str,
    in_place: bool,
    limit: Duration,
    out: &Narrate,
) -> Result<()> {
    let (no_sign, unknown_grace) = (NO_SIGN.min(limit / 2), UNKNOWN_GRACE.min(limit / 2));
    let started = Instant::now();
    let title = client.kind().title();
    let tty = out.live();
    let mut delay = POLL_FIRST;
    let (mut last, mut seen_working, mut looks, mut errors) = (String::new(), false, 0u32, 0u32);
    let mut unknown_since: Option<(String, Instant)> = None;
    let end_line = || out.end_status();
    loop {
        looks += 1;
        let phase = client.phase(id).await;
        if !matches!(phase, Ok(Phase::Unknown(_))) {
            unknown_since = None;
        }
        let state = match phase {
            Ok(Phase::Ready) if !in_place || seen_working => break,
            Ok(Phase::Ready) => {
                if started.elapsed() >= no_sign {
                    end_line();
                    fail!(
                        "{title} accepted the restore but bridgerest saw no sign of it: cluster {id} was ready at every look for {} and was never seen restoring; check the cluster in the {title} console (or `bridgerest clusters --provider {}`) before relying on it",
                        crate::text::duration(started.elapsed()),
                        client.kind()
                    );
                }
                "ready; waiting for the restore to start".to_string()
            }
            Ok(Phase::Failed(msg)) => {
                end_line();
                fail!("the restore into cluster {id} failed at {title}: {msg}");
            }
            Ok(Phase::Working(s)) => {
                seen_working = true;
                errors = 0;
                s
            }
            Ok(Phase::Unknown(s)) => {
                errors = 0;
                let since = match &unknown_since {
                    Some((was, at)) if *was == s => *at,
                    _ => {
                        unknown_since = Some((s.clone(), Instant::now()));
                        Instant::now()
                    }
                };
                if since.elapsed() >= unknown_grace {
                    end_line();
                    fail!(
                        "cluster {id} has been in state {s} for {}, which {title} does not document as progress: bridgerest stops waiting; look at it in the {title} console",
                        crate::text::duration(since.elapsed())
                    );
                }
                format!("{s} (not a documented state)")
            }
            Err(e) if errors + 1 < POLL_ERRORS && e.is_transient() => {
                errors += 1;
                format!("(cannot read its state: {e})")
            }
            Err(e) => return Err(e.into()),
        };
        let shown = crate::text::duration(started.elapsed());
        if tty {
            const SPIN: [char; 4] = ['|', '/', '-', '\\'];
            out.status(&format!(
                "{} cluster {id}: {state}, {shown}",
                SPIN[looks as usize % 4]
            ));
        } else if state != last {
            out.note(&format!("cluster {id}: {state} ({shown})"));
        }
        last = state;
        // The next look comes no later than a grace's end, so a grace ends on time.
        let mut nap = delay;
        if let Some((_, at)) = &unknown_since {
            nap = nap.min(unknown_grace.saturating_sub(at.elapsed()) + POLL_SLACK);
        }
        if in_place && !seen_working {
            nap = nap.min(no_sign.saturating_sub(started.elapsed()) + POLL_SLACK);
        }
        tokio::time::sleep(nap).await;
        delay = (delay * 3 / 2).min(POLL_MAX);
    }
    end_line();
    Ok(())
}
