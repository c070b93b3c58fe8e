//! The checks run on a recovered copy: `pgbackrest verify`, `pg_amcheck`, the user's queries
//! (over the copy's private socket, as a role without superuser), and how to stop a kept copy;
//! the socket directory itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{isolate, PORT, SOCKET_DIR};
use crate::pgbackrest::verify::{Form, SET_SINCE};
use crate::restore::workflow::Prepared;
use crate::restore::RunAs;

/// Makes the socket directory in the copy (0700, the user's: made through the copy's
/// descriptor) and its `pg_hba.conf`: trust on that socket only, which nobody but the user
/// and root can open, and nothing over TCP. Returns its path.
pub(super) fn private_socket(
    copy: &crate::fsutil::Dir,
    user: &RunAs,
) -> crate::fsutil::Result<PathBuf> {
    let dir = copy.make_dir(SOCKET_DIR, 0o700, user.owner())?;
    dir.write_file(
        "pg_hba.conf",
        b"# bridgerest drill: the private socket only\nlocal all all trust\n",
        0o600,
        user.owner(),
    )?;
    Ok(dir.path.clone())
}

/// What a drill's `pgbackrest verify` reads, and why ([`verify_plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyPlan {
    /// Run it in this form; the reason goes before its verdict in the check's detail.
    Run(Form, String),
    /// Not this drill: the reason goes in the report's `not_checked`.
    Skip(String),
}

/// The form of `pgbackrest verify` a drill runs (#33 item 6): only the set drilled where
/// pgBackRest has `verify --set` (2.55), else the whole repository, but at most every
/// `every` drills of the cluster: when none of the last `every - 1` reports before this one
/// (`before`, the cluster's, oldest first) holds a passed whole-repository verify.
/// `version` is `pgbackrest version`'s (an error: the whole repository, said why).
pub fn verify_plan(
    version: Result<&str, &str>,
    label: Option<&str>,
    every: u32,
    before: &[super::Report],
) -> VerifyPlan {
    let v = match version {
        Ok(v) => v,
        Err(e) => {
            return VerifyPlan::Run(
                Form::Repository,
                format!("the whole repository (pgBackRest's version could not be read: {e})"),
            )
        }
    };
    let set_since = format!("{}.{}", SET_SINCE.0, SET_SINCE.1);
    if crate::pgbackrest::version_at_least(v, SET_SINCE) {
        return match label {
            Some(l) => VerifyPlan::Run(
                Form::Set(l.to_string()),
                format!("backup set {l} only (pgBackRest {v} has verify --set)"),
            ),
            None => VerifyPlan::Run(
                Form::Repository,
                "the whole repository (the backup set restored is not known)".into(),
            ),
        };
    }
    let why = format!("pgBackRest {v} has no verify --set, {set_since} has");
    // The drills since the last passed whole-repository verify, newest first.
    let since = before
        .iter()
        .rev()
        .position(|r| {
            r.checks.iter().any(|c| {
                c.name == super::CheckName::Verify && c.ok && !c.detail.starts_with("backup set ")
            })
        })
        .map(|n| (n, &before[before.len() - 1 - n]));
    match since {
        Some((n, last)) if (n as u64) + 1 < u64::from(every) => VerifyPlan::Skip(format!(
            "verify: the whole repository passed pgbackrest verify {} ago (the drill of {}); {why}, so it runs at most every drill.verify_every = {every} drills",
            match n {
                0 => "one drill".to_string(),
                n => format!("{} drills", n + 1),
            },
            crate::restore::show_time(last.started_at)
        )),
        Some((n, _)) => VerifyPlan::Run(
            Form::Repository,
            format!(
                "the whole repository ({why}; last verified {} drill(s) ago, drill.verify_every = {every})",
                n + 1
            ),
        ),
        None => VerifyPlan::Run(
            Form::Repository,
            format!("the whole repository ({why}; no passed verify of it in the reports kept)"),
        ),
    }
}

/// `pgbackrest verify` of the plan's stanza in the form given ([`crate::pgbackrest::verify`]),
/// its detail led by why that form.
pub(super) async fn verify(p: &Prepared, form: &Form, why: &str) -> (bool, String) {
    let (ok, detail) = crate::pgbackrest::verify::run(&p.inv, &p.user, &p.redactor, form).await;
    (ok, format!("{why}: {detail}"))
}

/// `pgbackrest version` of the plan's binary, off the runtime's threads.
pub(super) async fn pgbackrest_version(p: &Prepared) -> Result<String, String> {
    let bin = p.inv.bin.clone();
    tokio::task::spawn_blocking(move || crate::pgbackrest::version(&bin))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
}

/// Runs `argv` as `user` (no time limit of its own: a drill's checks take what they take).
pub(super) async fn output_long(
    argv: &[String],
    user: &RunAs,
) -> crate::pgbackrest::Result<std::process::Output> {
    crate::pgbackrest::child::output_within(argv, user, &[], None).await
}

/// The copy's server, over its private socket.
pub(super) struct Conn {
    pub(super) sock: PathBuf,
    pub(super) user: RunAs,
    pub(super) bin: Option<PathBuf>,
}

impl Conn {
    fn program(&self, name: &str) -> String {
        self.bin.as_ref().map_or_else(
            || name.to_string(),
            |b| b.join(name).to_string_lossy().into_owned(),
        )
    }

    pub(super) fn psql_argv(&self, db: &str, sql: Option<&str>) -> Vec<String> {
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

    /// `pg_amcheck --all --install-missing` at `depth`: every index (B-tree) and table of
    /// every database, with as many jobs as this process may use cores (a private copy: its
    /// locks block nobody), and `--checkunique` from PostgreSQL 17 on at the deeper depths; the
    /// amcheck extension is created in the copy only.
    pub(super) async fn amcheck(&self, depth: crate::config::Amcheck) -> (bool, String) {
        let program = self.program("pg_amcheck");
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut argv = vec![
            program.clone(),
            "--all".into(),
            "--install-missing".into(),
            "--progress".into(),
            format!("--jobs={jobs}"),
        ];
        argv.extend(depth.options().iter().map(|o| o.to_string()));
        let unique = depth != crate::config::Amcheck::Basic
            && major_of(&output_long(&[program, "--version".into()], &self.user).await)
                .is_some_and(|m| m >= 17);
        if unique {
            argv.push("--checkunique".into());
        }
        argv.extend([
            "-h".into(),
            self.sock.to_string_lossy().into_owned(),
            "-p".into(),
            PORT.to_string(),
        ]);
        let (ok, detail) = amcheck_verdict(output_long(&argv, &self.user).await);
        let mut how: Vec<&str> = depth.options().to_vec();
        if unique {
            how.push("--checkunique");
        }
        let how = match how.is_empty() {
            true => String::new(),
            false => format!(" {}", how.join(" ")),
        };
        let plural = if jobs == 1 { "" } else { "s" };
        (
            ok,
            format!("{detail} (depth {depth}{how}, {jobs} job{plural})"),
        )
    }

    /// Makes [`isolate::QUERY_ROLE`] in the copy (as its superuser, in `postgres`).
    pub(super) async fn make_query_role(&self) -> Result<(), String> {
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
    pub(super) async fn query(&self, db: &str, sql: &str) -> (bool, String) {
        let shown = crate::text::excerpt(sql, 80);
        let argv = self.psql_argv_as(Some(isolate::QUERY_ROLE), db, Some(sql));
        let env = [("PGOPTIONS", isolate::QUERY_PGOPTIONS)];
        match crate::pgbackrest::child::output_within(&argv, &self.user, &env, None).await {
            Err(e) => (false, format!("{shown}: {e:#}")),
            Ok(o) if !o.status.success() => (
                false,
                format!(
                    "{shown}: {}",
                    crate::text::excerpt(String::from_utf8_lossy(&o.stderr).trim(), 300)
                ),
            ),
            Ok(o) => first_value_verdict(&shown, &o.stdout),
        }
    }
}

/// The most of `drill.command`'s output a report keeps: its last lines, at most this many
/// bytes.
const COMMAND_TAIL_BYTES: usize = 2048;
/// ... and at most this many lines.
const COMMAND_TAIL_LINES: usize = 20;

impl Conn {
    /// The operator's `drill.command` (`argv`, never through a shell) as the run-as user, with
    /// the copy's connection in its environment (`PGHOST` the private socket's directory,
    /// `PGPORT`, `PGDATABASE` `db`, `PGUSER` the run-as user: no password exists or is
    /// given), in a process group of its own killed whole past `limit`. Passes on exit 0; the
    /// detail holds its output's tail.
    pub(super) async fn command(
        &self,
        argv: &[String],
        db: &str,
        limit: Duration,
    ) -> (bool, String) {
        let program = argv.first().map_or("", String::as_str);
        let mut cmd = self.user.command(program);
        let port = PORT.to_string();
        cmd.args(&argv[1..]).envs([
            ("PGHOST", self.sock.as_os_str()),
            ("PGPORT", std::ffi::OsStr::new(&port)),
            ("PGDATABASE", std::ffi::OsStr::new(db)),
            ("PGUSER", std::ffi::OsStr::new(&self.user.name)),
        ]);
        let t = std::time::Instant::now();
        let run = crate::pgbackrest::child::group_output(cmd, program, limit).await;
        let took = crate::text::duration_secs(t.elapsed().as_secs_f64());
        match run {
            Err(crate::pgbackrest::Error::Timeout { .. }) => (
                false,
                format!(
                    "{program} ran past drill.command_timeout ({}): killed with its process group",
                    humantime::format_duration(limit)
                ),
            ),
            Err(e) => (false, format!("{e:#}")),
            Ok(o) => {
                let ok = o.status.success();
                let status = match o.status.code() {
                    Some(c) => format!("exit {c}"),
                    None => "killed by a signal".into(),
                };
                let tail = output_tail(&o.stdout, &o.stderr);
                let said = match tail.is_empty() {
                    true => "no output".to_string(),
                    false => format!("output's tail: {tail}"),
                };
                (ok, format!("{program}: {status} after {took}; {said}"))
            }
        }
    }
}

/// The last lines of a command's stdout then stderr ([`COMMAND_TAIL_LINES`],
/// [`COMMAND_TAIL_BYTES`]), redacted, control characters dropped, joined by " | ".
pub(super) fn output_tail(stdout: &[u8], stderr: &[u8]) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    );
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            crate::redact::apply(l)
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let mut kept: Vec<String> = Vec::new();
    let mut bytes = 0;
    for l in lines.iter().rev().take(COMMAND_TAIL_LINES) {
        if bytes + l.len() > COMMAND_TAIL_BYTES {
            // The line's end, cut at a character boundary.
            let room = COMMAND_TAIL_BYTES.saturating_sub(bytes);
            let mut from = l.len() - room.min(l.len());
            while !l.is_char_boundary(from) {
                from += 1;
            }
            if from < l.len() {
                kept.push(format!("…{}", &l[from..]));
            }
            break;
        }
        bytes += l.len();
        kept.push(l.clone());
    }
    kept.reverse();
    kept.join(" | ")
}

/// Stops the copy's PostgreSQL cleanly (the one the drill recorded: a fast shutdown) and runs
/// `pg_checksums --check` on its data directory as `user`: every page's checksum.
pub(super) async fn pg_checksums(
    copy: &super::Copy,
    data: &Path,
    user: &RunAs,
    bin: Option<&Path>,
) -> (bool, String) {
    if let Some(pm) = copy.postmaster() {
        if let Err(e) = pm.stop().await {
            return (false, format!("stopping the copy for pg_checksums: {e:#}"));
        }
    }
    let program = bin.map_or_else(
        || "pg_checksums".to_string(),
        |b| b.join("pg_checksums").to_string_lossy().into_owned(),
    );
    let argv = [
        program,
        "--check".into(),
        "-D".into(),
        data.to_string_lossy().into_owned(),
    ];
    let t = std::time::Instant::now();
    match output_long(&argv, user).await {
        Err(e) => (
            false,
            format!("{e:#} (pg_checksums ships with PostgreSQL's server package)"),
        ),
        Ok(o) => {
            let out = String::from_utf8_lossy(&o.stdout);
            let err = String::from_utf8_lossy(&o.stderr);
            // "Blocks scanned: N", "Bad checksums: M"; each bad block on stderr.
            let field = |name: &str| {
                out.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .unwrap_or("?")
                    .to_string()
            };
            let took = crate::text::duration_secs(t.elapsed().as_secs_f64());
            if o.status.success() {
                (
                    true,
                    format!(
                        "no bad checksum in {} blocks of {} files (stopped copy, {took})",
                        field("Blocks scanned:"),
                        field("Files scanned:")
                    ),
                )
            } else {
                let said: Vec<&str> = err
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .take(5)
                    .collect();
                (
                    false,
                    crate::text::excerpt(
                        &format!(
                            "pg_checksums {}: {} bad checksum(s) in {} blocks: {}",
                            o.status,
                            field("Bad checksums:"),
                            field("Blocks scanned:"),
                            said.join("; ")
                        ),
                        800,
                    ),
                )
            }
        }
    }
}

/// The major version a program's `--version` names ("pg_amcheck (PostgreSQL) 17.2").
pub(super) fn major_of(run: &crate::pgbackrest::Result<std::process::Output>) -> Option<u32> {
    let o = run.as_ref().ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let v = text.split_whitespace().last()?;
    v.split(['.', 'b', 'r', 'd']).next()?.parse().ok()
}

/// What `pg_amcheck --progress` said: no corruption, or its first lines.
pub(super) fn amcheck_verdict(
    run: crate::pgbackrest::Result<std::process::Output>,
) -> (bool, String) {
    match run {
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

/// A query's verdict from psql's unaligned output: its first value must not be false, 0 or
/// empty.
pub(super) fn first_value_verdict(shown: &str, stdout: &[u8]) -> (bool, String) {
    let out = String::from_utf8_lossy(stdout);
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

/// The command that stops a kept copy.
pub(super) fn stop_command(data: &Path, user: &RunAs, bin: Option<&Path>) -> Vec<String> {
    let mut a = user.command_prefix();
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
