//! End to end: bridgerest-rendered configs drive the real pgBackRest 2.45 against real S3,
//! Azure and GCS stores on loopback, with credentials from the simulator that really work and
//! really expire. Needs root (PostgreSQL and pgBackRest run as postgres) and the tools
//! `.ci/run` installs; a missing tool fails the test with how to install it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod real_stores;

use std::path::{Path, PathBuf};
use std::time::Duration;

use real_stores::free_port;
use real_stores::pg::{Kind, World, CLUSTER};
use real_stores::tree_size;

/// Backup, then `bridgerest restore --start` to a time between two batches of rows: exactly
/// the first batch is back, and recovery is reported.
fn pitr_round_trip(kind: Kind) {
    let mut w = World::new(kind, 3600);
    w.refresh();
    let rendered = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    assert!(rendered.contains(&format!(
        "repo1-type={}",
        match kind {
            Kind::S3 => "s3",
            Kind::Azure | Kind::AzureShared => "azure",
            Kind::Gcs | Kind::GcsServiceKey => "gcs",
        }
    )));
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pgbackrest_ok(&["check"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    let target = rows_around_target(&w);
    w.sync_backups();

    let restored = w.new_data_dir("restored");
    let port = free_port();
    let args = restore_args(&w, &target, &restored, port, &[]);
    let (code, out, err) = w.bridgerest(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "bridgerest restore failed:\n{out}{err}");
    let copy = w.adopt_restored(&restored, port);
    assert_eq!(
        copy.psql("SELECT count(*), min(i), max(i) FROM restore_check"),
        "100|1|100",
        "restore to {target}"
    );
    // A running data directory is refused before anything is touched.
    let live = restored.display().to_string();
    let (refused, _, why) = w.bridgerest(&[
        "restore",
        "--cluster",
        CLUSTER,
        "--target-time",
        &target,
        "--pg1-path",
        &live,
        "--delta",
    ]);
    assert_eq!(refused, 1, "{why}");
    assert!(
        why.contains(&format!("error: PostgreSQL is running in {live}")),
        "{why}"
    );
    assert_eq!(copy.psql("SELECT count(*) FROM restore_check"), "100");
    // WAL came through pgBackRest's asynchronous archive-get; this world's pgBackRest config
    // sets spool-path, which wins over bridgerest's own spool.
    let auto = std::fs::read_to_string(restored.join("postgresql.auto.conf")).unwrap();
    assert!(
        auto.contains("--archive-async --archive-get-queue-max=512MiB --process-max=")
            && !auto.contains("--spool-path="),
        "{auto}"
    );
    assert!(
        out.contains("(archive-async, spool spool-path in [global] of "),
        "{out}"
    );
    for line in [
        "wal:       prefetched: up to 512MiB ahead",
        "(the last archived transaction)\n",
        "recovery:  promoted\n",
        "recovered to: ",
        "last replayed LSN: ",
        " --set=",
        "restored:  ",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    assert!(err.contains("credentials refreshed"), "{err}");
    // It says how to reach the server it left running, and how to stop it.
    for line in [
        "server:    running (pid ".to_string(),
        format!(
            "connect:   runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h {} -p {port} -d postgres\n",
            w.sock.display()
        ),
        format!(
            "stop:      runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D {} stop\n",
            restored.display()
        ),
    ] {
        assert!(out.contains(&line), "{line:?} missing from:\n{out}");
    }
    copy_drill(&w, &target);
    w.assert_no_secrets();
}

/// A drill of the same backup to the same target: restored from nothing into the scratch
/// directory, recovered, checked (amcheck, verify, a query seeing exactly the first batch),
/// reported, and removed.
fn copy_drill(w: &World, target: &str) {
    // A target the window does not hold is refused, not recorded as a failed drill.
    let (code, out, err) = w.bridgerest(&[
        "drill",
        "--cluster",
        CLUSTER,
        "--target",
        "2099-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("error: target 2099-01-01 00:00:00+00 is in the future"),
        "{err}"
    );
    assert!(!w.dir.path("state/drills").exists());
    let (code, out, err) =
        w.bridgerest(&["drill", "--cluster", CLUSTER, "--target", target, "--json"]);
    assert_eq!(code, 0, "drill failed:\n{out}{err}");
    if std::env::var_os("BRIDGEREST_SHOW_DRILL").is_some() {
        eprintln!("{out}\n{err}");
    }
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["ok"], true, "{out}");
    assert_eq!(rep["cluster"], CLUSTER);
    let names: Vec<&str> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "space",
            "restore",
            "isolation",
            "recovery",
            "recovered_to",
            "amcheck",
            "verify",
            "query 1",
            "query 2",
            "query 3",
            "checksums"
        ],
        "{out}"
    );
    let check = |name: &str| {
        rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(check("query 1").ends_with("→ 100"), "{out}");
    // The queries ran as a role without superuser, names resolved in pg_catalog only, in a
    // copy that preloads pg_stat_statements but not pg_prewarm (its autoprewarm worker).
    assert!(check("query 2").ends_with("→ t"), "{out}");
    assert!(check("query 3").ends_with("→ t"), "{out}");
    assert!(
        check("isolation").ends_with(
            "preloaded: pg_stat_statements; left out of shared_preload_libraries: pg_prewarm (background work; drill.preload keeps one)"
        ),
        "{out}"
    );
    assert!(check("amcheck").starts_with("no corruption found"), "{out}");
    // The default depth, every row found in its indexes, with the cores this process may use.
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        check("amcheck").contains(&format!(
            "(depth heapallindexed --heapallindexed, {jobs} job"
        )),
        "{out}"
    );
    assert!(check("verify").contains("matches its checksum"), "{out}");
    // The source has data checksums on: the stopped copy's every page was checked.
    assert!(
        check("checksums").starts_with("no bad checksum in "),
        "{out}"
    );
    let t = bridgerest::restore::parse_time(target).unwrap();
    let got = time::OffsetDateTime::parse(
        rep["recovered_to"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(got <= t && t - got < time::Duration::seconds(3), "{out}");
    assert!(rep["lag_seconds"].as_f64().unwrap() < 3.0, "{out}");
    assert!(rep["bytes_fetched"].as_u64().unwrap() > 1_000_000, "{out}");
    assert!(
        rep["restore_seconds"].as_f64().unwrap() > 0.0
            && rep["recovery_seconds"].as_f64().unwrap() > 0.0,
        "{out}"
    );
    assert!(!w.dir.path("drill/copy").exists(), "the copy is removed");
    assert_nothing_runs_in(&w.dir.path("drill"));
    let reports: Vec<_> = std::fs::read_dir(w.dir.path("state/drills"))
        .unwrap()
        .collect();
    assert_eq!(reports.len(), 1);
    assert!(err.contains("credentials refreshed"), "{err}");
    // No daemon runs: the drill itself puts its result in the status file and the metrics
    // (a cron or timer user's alerts see it).
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.dir.path("state/status.json")).unwrap())
            .unwrap();
    assert_eq!(st["written_by"], "drill", "{st}");
    assert_eq!(st["clusters"][0]["drill"]["ok"], true, "{st}");
    let prom = std::fs::read_to_string(w.dir.path("state/bridgerest.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "bridgerest_drill_success{{cluster=\"{CLUSTER}\"}} 1"
        )),
        "{prom}"
    );
}

/// The owners of everything below `dir`, each once.
fn owners_below(dir: &Path) -> Vec<u32> {
    let mut owners = std::collections::BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            owners.insert(std::os::unix::fs::MetadataExt::uid(&m));
            if m.is_dir() {
                todo.push(e.path());
            }
        }
    }
    owners.into_iter().collect()
}

/// The live postmaster of `dir`, from its postmaster.pid.
fn live_postmaster(dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    (!stat
        .rsplit_once(") ")
        .is_some_and(|(_, r)| r.starts_with('Z')))
    .then_some(pid)
}

/// No process runs in or names `dir` (PostgreSQL, pgBackRest's async archive-get).
fn assert_nothing_runs_in(dir: &Path) {
    let want = dir.display().to_string();
    let mut found = vec![];
    for _ in 0..50 {
        found = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|c| c.is_ascii_digit())
            })
            .filter_map(|e| {
                let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
                let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                let zombie = stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, r)| r.starts_with('Z'));
                (!zombie && (cwd.starts_with(dir) || cmd.contains(&want)))
                    .then(|| format!("{}: {cmd}", e.file_name().to_string_lossy()))
            })
            .collect();
        if found.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("still running in {want}: {found:?}");
}

/// Inserts rows 1..=100, then (after a whole second, as pgBackRest compares backup stop times
/// in seconds) takes the target time, then rows 101..=250, and archives the WAL.
fn rows_around_target(w: &World) -> String {
    w.insert(1, 100);
    w.pg.psql("SELECT pg_sleep(1.1)");
    let target = w.now_target();
    w.pg.psql("SELECT pg_sleep(0.05)");
    w.insert(101, 250);
    w.pgbackrest_ok(&["check"]); // switches WAL and waits until it is archived
    let (code, _) = w.info_status();
    assert_eq!(code, 0);
    target
}

fn restore_args(w: &World, target: &str, dir: &Path, port: u16, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "restore",
        "--cluster",
        CLUSTER,
        "--target-time",
        target,
        "--pg1-path",
        &dir.display().to_string(),
        "--start",
        "--pg-option",
        &format!("port={port}"),
        "--pg-option",
        &format!("unix_socket_directories={}", w.sock.display()),
    ]
    .map(String::from)
    .to_vec();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// The store refuses the credentials while pgBackRest is half way through the restore:
/// bridgerest fetches a new token, runs the restore again with --delta, and the cluster comes
/// back with exactly the rows before the target.
#[test]
fn expiry_mid_restore_s3() {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    for t in 0..16 {
        w.pg.psql(&format!(
            "CREATE TABLE bulk_{t} AS SELECT g, md5(g::text) || md5((g * {t})::text) AS v FROM generate_series(1, 40000) g"
        ));
    }
    w.pgbackrest_ok(&["--type=full", "backup"]);
    let target = rows_around_target(&w);
    w.sync_backups();
    let total = tree_size(&w.pg.data.join("base"));

    let restored = w.new_data_dir("restored");
    let port = free_port();
    let args = restore_args(&w, &target, &restored, port, &["--process-max", "1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = w.spawn_bridgerest(&args);
    real_stores::wait_until(
        "the restore to be a third done",
        Duration::from_secs(120),
        || tree_size(&restored) > total / 3,
    );
    w.store.revoke_all();
    let (code, out, err) = w.finish(child);
    assert_eq!(code, 0, "bridgerest restore failed:\n{out}{err}");
    assert!(
        err.contains("attempt 1 of 3: the store refused the credentials (ExpiredToken)")
            && err.contains("running again with --delta"),
        "no refresh and --delta rerun in the log:\n{err}"
    );
    let copy = w.adopt_restored(&restored, port);
    assert_eq!(
        copy.psql("SELECT count(*), min(i), max(i) FROM restore_check"),
        "100|1|100"
    );
    assert_eq!(copy.psql("SELECT count(*) FROM bulk_15"), "40000");
    w.assert_no_secrets();
}

#[test]
fn pitr_s3() {
    pitr_round_trip(Kind::S3);
}

#[test]
fn pitr_azure_sas() {
    pitr_round_trip(Kind::Azure);
}

#[test]
fn pitr_gcs() {
    pitr_round_trip(Kind::Gcs);
}

/// `bridgerest restore --cluster CLUSTER <when> --into <name> --show-secrets`: the fork's
/// conninfo and password as printed. The password is printed on purpose: this run's output is
/// not scanned for it, but for every other secret the simulator issued (the repository's
/// credentials above all).
fn fork_into(w: &World, when: &[&str], name: &str) -> (String, String) {
    let mut args = vec!["restore", "--cluster", CLUSTER];
    args.extend(when);
    args.extend(["--into", name, "--show-secrets"]);
    let run = w.spawn_bridgerest(&args).wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    );
    let fork = w.sim.sim.clusters().into_iter().find(|c| c.name == name);
    let life = fork
        .and_then(|c| w.sim.sim.real_postgres(&c.id))
        .map(|r| r.life);
    assert!(
        run.status.success(),
        "restore --into failed:\n{out}{err}\nthe fork's PostgreSQL: {life:?}"
    );
    let line = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{out}"))
            .to_string()
    };
    let (connect, password) = (line("connect:   psql "), line("password:  "));
    for s in w.sim.sim.issued_secrets() {
        assert!(
            s == password || !format!("{out}{err}").contains(&s),
            "an issued secret other than the role's password was printed"
        );
    }
    let conninfo = connect.trim_matches('"').to_string();
    assert!(
        conninfo.contains("sslmode=require") && conninfo.contains("host=127."),
        "{conninfo}"
    );
    (conninfo, password)
}

/// psql over the network with `conninfo`, the password in its environment (never in its
/// arguments); its output, trimmed.
fn psql_tls(conninfo: &str, password: &str, sql: &str) -> String {
    let out = std::process::Command::new("/usr/lib/postgresql/15/bin/psql")
        .arg(format!("{conninfo} connect_timeout=5"))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env_clear()
        .env("PGPASSWORD", password)
        .env("PGPASSFILE", "/dev/null")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{sql}: {err}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// #31 item 7: with real PostgreSQL on, a Bridge fork of a cluster whose backups are in a real
/// repository is restored from it by the simulator (`pgbackrest restore` with freshly issued
/// credentials) to the requested time: over TLS, as the role and password `restore --into
/// --show-secrets` prints, exactly the rows committed before the target are there, the last
/// replayed transaction is not after it, and the copy does not archive. A drill at the provider
/// of the same target then passes, its `recovered_to` check read from the copy, and deletes it.
#[test]
fn a_bridge_fork_is_restored_from_the_real_repository_to_the_target_s3() {
    let mut w = World::new(Kind::S3, 3600);
    w.real_postgres_forks();
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    let target = rows_around_target(&w);
    w.sync_backups();

    let (conninfo, password) = fork_into(&w, &["--target-time", &target], "fork-at-target");
    let psql = |sql: &str| psql_tls(&conninfo, &password, sql);
    assert_eq!(
        psql("SELECT count(*), min(i), max(i) FROM restore_check"),
        "100|1|100",
        "the fork holds exactly the rows committed before {target}"
    );
    assert_eq!(
        psql(&format!(
            "SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), pg_is_in_recovery(), pg_last_xact_replay_timestamp() <= '{target}'::timestamptz, pg_last_xact_replay_timestamp() > '{target}'::timestamptz - interval '5 s', current_setting('archive_mode')"
        )),
        "t|f|t|t|off",
        "TLS, promoted, replayed up to {target} and not after it, not archiving"
    );
    // Its pgBackRest config (the repository's credentials) is private to the OS user.
    let fork = w
        .sim
        .sim
        .clusters()
        .into_iter()
        .find(|c| c.name == "fork-at-target")
        .unwrap()
        .id;
    let conf = w
        .sim
        .sim
        .real_postgres(&fork)
        .unwrap()
        .dir
        .join("pgbackrest.conf");
    let meta = std::fs::symlink_metadata(&conf).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.mode() & 0o777, meta.uid()),
        (0o600, real_stores::postgres_ids().0.as_raw()),
        "{}",
        conf.display()
    );

    // Without a target the fork recovers to the end of the archive: every row.
    let (latest, pw) = fork_into(&w, &["--target", "latest"], "fork-latest");
    assert_eq!(
        psql_tls(
            &latest,
            &pw,
            "SELECT count(*), min(i), max(i), pg_is_in_recovery() FROM restore_check"
        ),
        "250|1|250|f"
    );

    // A drill at the provider: its copy is restored the same way, checked and deleted.
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    let queries = cfg.lines().find(|l| l.starts_with("queries = ")).unwrap();
    let cfg = cfg.replace(
        queries,
        "queries = [\"SELECT count(*) = 100 AND max(i) = 100 FROM public.restore_check\"]",
    );
    std::fs::write(&w.config, cfg).unwrap();
    let (code, out, err) = w.bridgerest(&[
        "drill",
        "--cluster",
        CLUSTER,
        "--at-provider",
        "--target",
        &target,
        "--json",
    ]);
    let rep: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(
        (code, &rep["ok"]),
        (0, &serde_json::json!(true)),
        "{rep:#}\n{err}"
    );
    let check = |name: &str| {
        rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {rep:#}"))
            .clone()
    };
    assert_eq!(check("recovered_to")["ok"], true, "{rep:#}");
    assert!(
        check("query 1")["detail"]
            .as_str()
            .unwrap()
            .ends_with("→ t"),
        "{rep:#}"
    );
    let t = bridgerest::restore::parse_time(&target).unwrap();
    let got = time::OffsetDateTime::parse(
        rep["recovered_to"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(got <= t && t - got < time::Duration::seconds(5), "{rep:#}");
    assert_eq!(rep["at_provider"]["deleted"], true, "{rep:#}");
    let copy = rep["at_provider"]["id"].as_str().unwrap();
    assert!(
        w.sim.sim.real_postgres(copy).is_none(),
        "its PostgreSQL is gone"
    );

    // A fork to a time inside the only backup (after its start, before its stop): pgBackRest
    // finds no backup to restore from, and the fork fails with its error, no secret in it.
    let started = w.sim.sim.backups(CLUSTER)[0]["started_at"].clone();
    let url = format!("{}/clusters/{CLUSTER}/forks", w.sim.url());
    let status = real_stores::runtime().block_on(async {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(real_stores::pg::API_KEY)
            .json(&serde_json::json!({"name": "fork-in-the-backup", "target_time": started}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 201);
    let fork = w
        .sim
        .sim
        .clusters()
        .into_iter()
        .find(|c| c.name == "fork-in-the-backup")
        .unwrap()
        .id;
    let mut life = None;
    real_stores::wait_until(
        "the fork's restore to fail",
        Duration::from_secs(60),
        || {
            life = w.sim.sim.real_postgres(&fork).map(|r| r.life);
            !matches!(life, Some(bridgerest::sim::postgres::Life::Starting))
        },
    );
    let Some(bridgerest::sim::postgres::Life::Failed(why)) = life else {
        panic!("the fork did not fail: {life:?}");
    };
    assert!(
        why.starts_with("pgbackrest failed (exit status: 75): ERROR: [075]: unable to find backup set with stop time less than"),
        "{why}"
    );
    for s in w.sim.sim.issued_secrets() {
        assert!(!why.contains(&s), "a secret in the fork's failure: {why}");
    }
    w.assert_no_secrets();
}

/// GCS as Bridge documents it (a token with a bucket and no credential): the stanza uses the
/// service-account key configured for the cluster, and pgBackRest's own OAuth exchange with it
/// (a JWT signed with the key, checked by the token endpoint) is what lets it in.
#[test]
fn pitr_gcs_service_key() {
    pitr_round_trip(Kind::GcsServiceKey);
}

/// After the token's lifetime the store refuses the old credentials (asserted), a refresh
/// fetches new ones, and the same command works again.
fn expiry(kind: Kind, refusal: &str) {
    let lifetime = 15;
    let mut w = World::new(kind, lifetime);
    w.refresh();
    let first = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.assert_repo_readable("fresh credentials work");
    let msg = w.wait_refused(Duration::from_secs(lifetime + 60));
    assert!(
        msg.contains(refusal),
        "expected the store's {refusal} refusal, got: {msg}"
    );
    w.refresh();
    let second = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    assert_ne!(first, second, "refresh wrote new credentials");
    w.assert_repo_readable("new credentials work");
    w.assert_no_secrets();
}

#[test]
fn expiry_s3() {
    expiry(Kind::S3, "ExpiredToken");
}

#[test]
fn expiry_azure_sas() {
    expiry(Kind::Azure, "AuthorizationFailure");
}

/// The shared-key form of an Azure token works against Azurite too.
#[test]
fn azure_shared_key() {
    let mut w = World::new(Kind::AzureShared, 3600);
    w.refresh();
    let rendered = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    assert!(
        rendered.contains("repo1-azure-key-type=shared\n"),
        "{rendered}"
    );
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.assert_repo_readable("shared key works");
    w.assert_no_secrets();
}

/// Bridge's backup names are `YYYY/<label>`; that the label is pgBackRest's is an inference.
/// A name that matches no backup in the repository is said, and the restore goes ahead with
/// pgBackRest's own choice (no `--set`), named from the repository's list.
#[test]
fn a_backup_name_that_matches_no_label_falls_back_to_pgbackrests_choice() {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    let target = rows_around_target(&w);
    w.sync_backups();
    let mut backups = w.sim.sim.backups(CLUSTER);
    let label = backups[0]["name"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(1)
        .unwrap()
        .to_string();
    backups[0]["name"] = serde_json::json!("2026/20990101-000000F");
    w.sim.sim.set_backups(CLUSTER, backups);

    // A target after the last archived transaction cannot be reached: refused, naming it.
    std::thread::sleep(Duration::from_millis(1500));
    let late = time::OffsetDateTime::now_utc() - time::Duration::milliseconds(300);
    let late = format!(
        "{}+00",
        late.format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap()
    );
    let restored = w.new_data_dir("restored");
    let dir = restored.display().to_string();
    let (code, out, err) = w.bridgerest(&[
        "restore",
        "--cluster",
        CLUSTER,
        "--target-time",
        &late,
        "--pg1-path",
        &dir,
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("is after the last transaction in the archived WAL ("),
        "{err}"
    );
    assert!(err.contains("or --target latest"), "{err}");

    let (code, out, err) = w.bridgerest(&[
        "restore",
        "--cluster",
        CLUSTER,
        "--target-time",
        &target,
        "--pg1-path",
        &dir,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("note:      the API's backup 20990101-000000F is not in the repository; pgBackRest chooses itself: ")
            && out.contains(&label),
        "{out}"
    );
    let cmd = out.lines().find(|l| l.starts_with("command:")).unwrap();
    assert!(!cmd.contains("--set"), "{cmd}");
    assert!(
        out.contains("restored:  the backup pgBackRest chose"),
        "{out}"
    );
    w.assert_no_secrets();
}

/// The daemon drills on drill.schedule and records it (status, Prometheus); then broken
/// repositories fail their drills with the cause: a WAL segment missing in the middle of the
/// chain (recovery stops short, naming the segment), and a corrupted file of the backup (the
/// restore fails). Each failure is in the report, the metric and `status`, and leaves nothing
/// running in the scratch directory.
#[test]
fn drills_by_the_daemon_and_of_broken_backups_s3() {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.insert(1, 10);
    // A tablespace, at a path of the source's host (here its user's, closed to postgres): a
    // drill restores it beside its copy, never to that path (#29 finding 10).
    let src_ts = w
        .dir
        .mkdir_for("src/tablespace", 0o700, Some(real_stores::source_ids()));
    w.pg.psql(&format!(
        "CREATE TABLESPACE src_ts LOCATION '{}'",
        src_ts.display()
    ));
    w.pg.psql("CREATE TABLE ts_check (i int PRIMARY KEY) TABLESPACE src_ts");
    w.pg.psql("INSERT INTO ts_check SELECT generate_series(1, 1000)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    // A chain of WAL after the backup: four segments with rows in each.
    for i in 0..4 {
        w.insert(100 * i + 11, 100 * i + 110);
        w.pg.psql("SELECT pg_switch_wal()");
    }
    w.pgbackrest_ok(&["check"]);
    w.sync_backups();

    // This host never held the cluster (nothing at the stanza's pg1-path): the end of the
    // archived WAL is still read, from the repository alone.
    assert!(!w.pg1_path.exists());
    let (code, out, err) = w.bridgerest(&[
        "restore",
        "--cluster",
        CLUSTER,
        "--target",
        "latest",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("(the last archived transaction)"),
        "the dry run does not name the archive's end:\n{out}{err}"
    );
    assert!(
        !err.contains("cannot read the end of the archived WAL"),
        "{err}"
    );
    assert!(
        !w.pg1_path.exists(),
        "a dry run made {}",
        w.pg1_path.display()
    );

    // The daemon's drill, on its schedule.
    let text = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        text.replace(
            "[drill]\n",
            "[drill]\nschedule = \"*/2 * * * * *\"\ntarget = \"latest\"\n",
        ),
    )
    .unwrap();
    let daemon = w.spawn_bridgerest(&["daemon"]);
    let reports = w.dir.path("state/drills");
    let until = std::time::Instant::now() + Duration::from_secs(180);
    let drilled = loop {
        let done = std::fs::read_dir(&reports).is_ok_and(|d| d.count() > 0)
            && std::fs::read_to_string(w.dir.path("state/status.json"))
                .is_ok_and(|s| s.contains("\"drill\""));
        if done || std::time::Instant::now() > until {
            break done;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, _, err) = w.finish(daemon);
    assert!(drilled, "no drill report after 180 s:\n{err}");
    // The next drill was under way: SIGTERM stopped it and removed its copy.
    assert!(!w.dir.path("drill/copy").exists(), "{err}");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("scheduled drill") && err.contains("drill passed"),
        "{err}"
    );
    // Its own copy, stopped at the end, is not "an earlier drill's".
    assert!(
        !err.contains("an earlier drill started there still runs"),
        "{err}"
    );
    std::fs::write(&w.config, &text).unwrap();
    let (code, out, err) = w.bridgerest(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("LAST DRILL") && out.contains(" ok 20"),
        "{out}"
    );
    let prom = std::fs::read_to_string(w.dir.path("state/bridgerest.prom")).unwrap();
    for line in [
        format!("bridgerest_drill_success{{cluster=\"{CLUSTER}\"}} 1"),
        format!("bridgerest_drill_duration_seconds{{cluster=\"{CLUSTER}\",phase=\"restore\"}} "),
        format!("bridgerest_drill_duration_seconds{{cluster=\"{CLUSTER}\",phase=\"recovery\"}} "),
        format!("bridgerest_drill_last_success_timestamp_seconds{{cluster=\"{CLUSTER}\"}} "),
        format!("bridgerest_drill_recovery_lag_seconds{{cluster=\"{CLUSTER}\"}} 0"),
    ] {
        assert!(prom.contains(&line), "{line} missing from:\n{prom}");
    }
    assert_nothing_runs_in(&w.dir.path("drill"));

    // The file as operators read it: a real node_exporter serving it, a real Prometheus with
    // the alert rules; every dashboard panel's query returns a series.
    let mon =
        real_stores::monitoring::Monitoring::start(&w.dir.path("state"), &w.dir.path("prometheus"));
    let success = format!("bridgerest_drill_success{{cluster=\"{CLUSTER}\"}}");
    real_stores::wait_until(
        "Prometheus to scrape the drill",
        Duration::from_secs(60),
        || {
            mon.query(&success)
                .first()
                .is_some_and(|r| r["value"][1] == "1")
        },
    );
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/grafana/bridgerest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        let series: usize = panel["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                mon.query(
                    &t["expr"]
                        .as_str()
                        .unwrap()
                        .replace("$cluster", ".*")
                        .replace("$instance", ".*"),
                )
                .len()
            })
            .sum();
        assert!(series > 0, "the panel {} shows nothing", panel["title"]);
    }
    let drill_failed = ("BridgerestDrillFailed".to_string(), CLUSTER.to_string());
    assert!(!mon.firing().contains(&drill_failed), "{:?}", mon.firing());

    // A restore or drill of the cluster holds its lock: another drill does not start.
    {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(w.dir.path(&format!("state/restore-{CLUSTER}.lock")))
            .unwrap();
        let _held =
            nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
        let (code, out, err) = w.bridgerest(&["drill", "--cluster", CLUSTER]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains(&format!(
                "error: a restore or drill of cluster {CLUSTER} is running (pid "
            )),
            "{err}"
        );
        assert!(!w.dir.path("drill/copy").exists());
    }

    // A kept copy stays up; a drill killed half way leaves its PostgreSQL running: the next
    // drill stops it and starts from an empty directory (here, one then interrupted).
    let (code, out, err) = w.bridgerest(&["drill", "--cluster", CLUSTER, "--keep"]);
    assert_eq!(code, 0, "{out}{err}");
    // On the terminal, the plan comes first, then a line per phase and check as it goes.
    assert!(out.starts_with("cluster:   "), "{out}");
    let said: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("drill:     "))
        .collect();
    for (i, start) in [
        "space ok: ",
        "restoring ",
        "restore ok: ",
        "isolation ok: ",
        "starting PostgreSQL on the copy, recovering to ",
        "recovery ok: ",
        "recovered_to ok: ",
        "checking the copy",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            said.get(i).is_some_and(|l| l.starts_with(start)),
            "phase {i} is not {start:?}: {said:?}"
        );
    }
    assert!(
        !err.contains("an earlier drill started there still runs"),
        "{err}"
    );
    assert!(
        out.contains("kept:      ") && out.contains("(PostgreSQL running; connect: "),
        "{out}"
    );
    let pid = live_postmaster(&w.dir.path("drill/copy")).expect("the kept copy runs");
    // The copy's tablespace is beside it, its link in pg_tblspc points there, and the source's
    // tablespace directory is as it was.
    let links: Vec<PathBuf> = std::fs::read_dir(w.dir.path("drill/copy/pg_tblspc"))
        .unwrap()
        .map(|e| std::fs::read_link(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(
        links,
        [w.dir.path("drill/copy.tablespaces/src_ts")],
        "{out}"
    );
    assert!(
        std::fs::read_dir(w.dir.path("drill/copy.tablespaces/src_ts"))
            .unwrap()
            .any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("PG_15_")),
        "{out}"
    );
    assert!(out.contains("--tablespace-map-all="), "{out}");
    assert_eq!(
        owners_below(&src_ts),
        [real_stores::source_ids().0.as_raw()]
    );
    assert!(std::fs::read_dir(&reports).unwrap().count() >= 2);
    let killed = w.spawn_bridgerest(&["drill", "--cluster", CLUSTER]);
    // The kept copy is stopped and removed first; the new copy's server starts later.
    real_stores::wait_until(
        "the killed drill's PostgreSQL",
        Duration::from_secs(120),
        || live_postmaster(&w.dir.path("drill/copy")).is_some_and(|p| p != pid),
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(killed.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = w.finish(killed);
    let orphan = live_postmaster(&w.dir.path("drill/copy"))
        .expect("the killed drill's PostgreSQL outlives it");
    assert!(
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_err(),
        "the kept copy was stopped"
    );
    // SIGTERM (or Ctrl-C) during a drill: it stops its copy's PostgreSQL and removes the copy.
    let termed = w.spawn_bridgerest(&["drill", "--cluster", CLUSTER]);
    real_stores::wait_until("the drill's PostgreSQL", Duration::from_secs(120), || {
        live_postmaster(&w.dir.path("drill/copy")).is_some_and(|p| p != orphan)
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(termed.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, out, err) = w.finish(termed);
    assert_eq!(code, 130, "{out}{err}");
    let removed = format!(
        "error: interrupted; the copy in {} is removed",
        w.dir.path("drill/copy").display()
    );
    assert!(err.contains(&removed), "{err}");
    assert!(!w.dir.path("drill/copy").exists());
    assert!(!w.dir.path("drill/copy.tablespaces").exists());
    assert!(
        std::fs::read_to_string(format!("/proc/{orphan}/stat")).is_err(),
        "the orphan was stopped"
    );
    assert_nothing_runs_in(&w.dir.path("drill"));

    // A WAL segment in the middle of the chain is gone.
    let listing = w.pgbackrest_ok(&["--output=json", "--recurse", "repo-ls", "archive/main"]);
    let v: serde_json::Value = serde_json::from_str(&listing).unwrap();
    let mut wal: Vec<&String> = v
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.ends_with(".gz") && !k.contains(".backup"))
        .collect();
    wal.sort();
    assert!(wal.len() >= 5, "{listing}");
    let gone = wal[wal.len() - 3].clone();
    let segment = gone.rsplit('/').next().unwrap()[..24].to_string();
    let saved = w.dir.path("saved-segment");
    repo_file(&w, "repo-get", &format!("archive/main/{gone}"), &saved);
    w.pgbackrest_ok(&["repo-rm", &format!("archive/main/{gone}")]);
    let (code, out, err) = w.bridgerest(&[
        "drill",
        "--cluster",
        CLUSTER,
        "--target",
        "latest",
        "--json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    if std::env::var_os("BRIDGEREST_SHOW_DRILL").is_some() {
        eprintln!("{out}");
    }
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["ok"], false);
    let failed: Vec<&serde_json::Value> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert_eq!(failed[0]["name"], "recovered_to", "{out}");
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(
        // Short of the last archived commit, or at it (the end pg_waldump could read lies
        // before the gap) with the gap named: either way not ok.
        (detail.contains("short of the last archived transaction")
            || detail.contains("but the WAL chain has a gap"))
            && detail.contains(&format!(
                "WAL segment {segment} is missing from the repository"
            )),
        "{detail}"
    );
    assert!(rep["lag_seconds"].as_f64().unwrap() > 0.0, "{out}");
    let prom = std::fs::read_to_string(w.dir.path("state/bridgerest.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "bridgerest_drill_success{{cluster=\"{CLUSTER}\"}} 0"
        )),
        "{prom}"
    );
    let (code, out, _) = w.bridgerest(&["status"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the last drill (") && out.contains(&segment),
        "{out}"
    );
    assert_nothing_runs_in(&w.dir.path("drill"));
    assert!(!w.dir.path("drill/copy").exists());
    // Prometheus fires BridgerestDrillFailed for the cluster; with the segment back, a good
    // drill clears it.
    real_stores::wait_until(
        "BridgerestDrillFailed to fire",
        Duration::from_secs(60),
        || mon.firing().contains(&drill_failed),
    );
    // It carries the stanza (to join with pgbackrest_exporter) from bridgerest_cluster_info.
    let labels = mon.firing_labels("BridgerestDrillFailed");
    assert!(
        labels
            .iter()
            .any(|l| l["cluster"] == CLUSTER && l["stanza"] == "main"),
        "{labels:?}"
    );
    repo_file(&w, "repo-put", &format!("archive/main/{gone}"), &saved);
    let (code, out, err) = w.bridgerest(&["drill", "--cluster", CLUSTER, "--target", "latest"]);
    assert_eq!(code, 0, "{out}{err}");
    real_stores::wait_until(
        "BridgerestDrillFailed to clear",
        Duration::from_secs(60),
        || !mon.firing().contains(&drill_failed),
    );
    drop(mon);

    // A file of the backup is corrupted (emptied): the restore fails, naming it.
    let listing = w.pgbackrest_ok(&["--output=json", "--recurse", "repo-ls", "backup/main"]);
    let v: serde_json::Value = serde_json::from_str(&listing).unwrap();
    let file = v
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, f)| {
            k.contains("/pg_data/base/")
                && f["type"] == "file"
                && f["size"].as_u64().unwrap_or(0) > 1000
        })
        .map(|(k, _)| k.clone())
        .next()
        .unwrap();
    w.pgbackrest_ok(&["repo-put", &format!("backup/main/{file}")]);
    let (code, out, err) = w.bridgerest(&["drill", "--cluster", CLUSTER, "--target", "latest"]);
    assert_eq!(code, 1, "{out}{err}");
    if std::env::var_os("BRIDGEREST_SHOW_DRILL").is_some() {
        eprintln!("{out}");
    }
    assert!(
        out.contains("drill:     cluster") && out.contains("FAILED"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("restore "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("FAILED") && line.contains("pgbackrest restore failed"),
        "{line}"
    );
    // pgbackrest verify, run after the failed restore, names the file.
    let line = out
        .lines()
        .find(|l| l.starts_with("verify "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("FAILED") && line.contains(&format!("invalid checksum '{file}'")),
        "{line}"
    );
    assert_nothing_runs_in(&w.dir.path("drill"));
    assert!(!w.dir.path("drill/copy").exists());
    // The daemon's, the kept one, the WAL gap, the good one after it, the corrupt file (the
    // killed drill wrote none).
    assert_eq!(std::fs::read_dir(&reports).unwrap().count(), 5);
    w.assert_no_secrets();
}

/// `pgbackrest repo-get PATH > file` or `repo-put PATH < file`, as postgres: a repository file
/// saved and put back byte for byte.
fn repo_file(w: &World, verb: &str, path: &str, file: &Path) {
    use std::os::unix::process::CommandExt;
    let (u, g) = real_stores::postgres_ids();
    let mut cmd = std::process::Command::new("/usr/bin/pgbackrest");
    cmd.arg(format!("--config={}", w.main_config.display()))
        .arg(format!("--config-include-path={}", w.confd.display()))
        .arg("--stanza=main")
        .args([verb, path])
        .uid(u.as_raw())
        .gid(g.as_raw())
        .env("HOME", "/var/lib/postgresql")
        .current_dir("/");
    let out = match verb {
        "repo-get" => cmd.output().unwrap(),
        _ => cmd
            .stdin(std::fs::File::open(file).unwrap())
            .output()
            .unwrap(),
    };
    assert!(
        out.status.success(),
        "pgbackrest {verb} {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if verb == "repo-get" {
        assert!(!out.stdout.is_empty(), "{path} is empty");
        std::fs::write(file, &out.stdout).unwrap();
        std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
    }
}

/// `check` opens the stanza's repository with fresh credentials, as pgBackRest will; a store
/// that cannot be reached is named by check within seconds, by a dry run without two silent
/// minutes, and by a drill as what it is: not pgBackRest's "no backup set" (error 75), and no
/// `verify` after it.
#[test]
fn an_unreachable_repository_is_named_not_misdiagnosed_s3() {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.insert(1, 10);
    w.pgbackrest_ok(&["--type=full", "backup"]);
    w.pgbackrest_ok(&["check"]);
    w.sync_backups();

    let (code, out, err) = w.bridgerest(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let opened = format!("ok    cluster {CLUSTER}: repository (s3 bucket ");
    assert!(
        out.lines().any(|l| l.starts_with(&opened)
            && l.contains(" opened as postgres: 1 backups, WAL archived to ")),
        "{out}"
    );

    // The store's port closed: nothing listens there.
    let text = std::fs::read_to_string(&w.config).unwrap();
    let port = w
        .store
        .options()
        .into_iter()
        .find(|(k, _)| k == "repo1-storage-port")
        .unwrap()
        .1;
    let closed = free_port();
    std::fs::write(
        &w.config,
        text.replace(
            &format!("\"repo1-storage-port\" = \"{port}\""),
            &format!("\"repo1-storage-port\" = \"{closed}\""),
        ),
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let (code, out, err) = w.bridgerest(&["check"]);
    assert_eq!(code, 1, "{out}{err}");
    let fail = out
        .lines()
        .find(|l| l.starts_with(&format!("FAIL  cluster {CLUSTER}: repository (s3 bucket ")))
        .unwrap_or_else(|| panic!("no repository line:\n{out}"));
    assert!(
        fail.contains(&format!(
            "127.0.0.1:{closed}) cannot be opened as postgres (connection refused)"
        )),
        "{fail}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "check took {:?}",
        t0.elapsed()
    );

    // Written, the broken stanza is what a dry run and a drill meet.
    w.refresh();
    let t0 = std::time::Instant::now();
    let (code, out, err) = w.bridgerest(&[
        "restore",
        "--cluster",
        CLUSTER,
        "--target",
        "latest",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("cannot read the stanza's repository") && err.contains("onnection refused"),
        "{err}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "the dry run took {:?}",
        t0.elapsed()
    );

    let (code, out, err) = w.bridgerest(&[
        "drill",
        "--cluster",
        CLUSTER,
        "--target",
        "latest",
        "--json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let rep: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let checks = rep["checks"].as_array().unwrap();
    // The plan reads the repository first: the drill stops there, naming it.
    let failed = checks.iter().find(|c| c["ok"] == false).unwrap();
    let detail = failed["detail"].as_str().unwrap();
    assert!(
        detail.contains("the repository could not be reached (connection refused)")
            && !detail.contains("error 75"),
        "{detail}"
    );
    assert!(
        !checks.iter().any(|c| c["name"] == "verify"),
        "verify ran after an unreachable repository: {out}"
    );
    assert_nothing_runs_in(&w.dir.path("drill"));
    w.assert_no_secrets();
}

/// #29: the run-as user racing root. While root runs `restore --start` into the stanza's
/// pg1_path (in a postgres-owned directory, as /var/lib/postgresql/15 is) and a drill, a
/// watcher playing postgres swaps the data directory, the PostgreSQL log and the drill copy's
/// insides for links into a root-owned canary, over and over: nothing in the canary is
/// created, changed, chowned or removed, and root never panics.
#[test]
fn the_run_as_user_racing_root_during_restore_and_drill_changes_nothing_of_roots() {
    use std::os::unix::fs::MetadataExt;
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    let target = rows_around_target(&w);
    w.sync_backups();

    let canary = w.dir.path("canary");
    std::fs::create_dir(&canary).unwrap();
    std::fs::write(canary.join("victim"), "root's\n").unwrap();
    std::fs::set_permissions(
        canary.join("victim"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let look = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let m = std::fs::symlink_metadata(&p).unwrap();
                format!(
                    "{} {}:{} {:o} {} {}",
                    p.display(),
                    m.uid(),
                    m.gid(),
                    m.mode(),
                    m.len(),
                    m.mtime()
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = look(&canary);
    let pg1 = w.pg1_path.clone();
    let copy = w.dir.path("drill/copy");
    // Each swap starts once the data directory holds a restored file (PG_VERSION): the racer
    // plays postgres between the restore and the start, where root creates the log.
    let targets: Vec<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> = vec![
        (pg1.clone(), canary.clone(), pg1.join("PG_VERSION")),
        (
            pg1.join("bridgerest-postgres.log"),
            canary.join("victim"),
            pg1.join("PG_VERSION"),
        ),
        (pg1.join("global"), canary.clone(), pg1.join("PG_VERSION")),
        (
            copy.join("bridgerest-postgres.log"),
            canary.join("victim"),
            copy.join("PG_VERSION"),
        ),
        (copy.join("base"), canary.clone(), copy.join("PG_VERSION")),
    ];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (t, to, gate) in &targets {
                    if !gate.exists() {
                        continue;
                    }
                    let saved = t.with_extension("racer-saved");
                    let had = std::fs::rename(t, &saved).is_ok();
                    if std::os::unix::fs::symlink(to, t).is_ok() {
                        swaps += 1;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    let _ = std::fs::remove_file(t);
                    if had {
                        let _ = std::fs::rename(&saved, t);
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            swaps
        })
    };
    let port = free_port();
    let args = restore_args(&w, &target, &pg1, port, &[]);
    let (code, out, err) = w.bridgerest(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ne!(code, 101, "restore --start panicked:\n{out}{err}");
    let (code, out, err) = w.bridgerest(&["drill", "--cluster", CLUSTER, "--target", "latest"]);
    assert_ne!(code, 101, "drill panicked:\n{out}{err}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    // A server the restore may have left running is stopped.
    if let Some(pid) = live_postmaster(&pg1) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGINT,
        );
    }
    assert_nothing_runs_in(&pg1);
    assert!(swaps > 0, "the racer never got to swap anything");
    assert_eq!(look(&canary), before, "root changed the canary");
}

/// A world whose one backup set (and WAL after it) is in the S3 repository of stanza [main],
/// with that stanza as bridgerest rendered it taken out of bridgerest's file: its section text
/// (with the credentials) and the bridgerest config up to the Bridge cluster's options.
fn self_managed_world() -> (World, std::path::PathBuf, String, String) {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.insert(1, 100);
    w.pgbackrest_ok(&["--type=full", "backup"]);
    // Transactions after the backup, for the recovery to replay.
    w.insert(101, 200);
    w.pg.psql("SELECT pg_switch_wal()");
    w.pgbackrest_ok(&["check"]);
    let rendered = w.confd.join("bridgerest.conf");
    let text = std::fs::read_to_string(&rendered).unwrap();
    let section = text[text.find("[main]").expect("a [main] stanza")..].to_string();
    std::fs::remove_file(&rendered).unwrap();
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    let head = cfg[..cfg.find("[cluster.options]").unwrap()].replace(
        &format!("[[cluster]]\nid = \"{CLUSTER}\"\n"),
        "[[cluster]]\nprovider = \"pgbackrest\"\nid = \"main\"\n",
    );
    (w, rendered, section, head)
}

/// #30: a fourth provider proves the seam: `provider = "pgbackrest"`, a repository the user
/// configured in pgBackRest itself (here: the same S3 repository, its stanza copied into the
/// main pgBackRest config, nothing of bridgerest's rendered). `backups` lists the repository's
/// sets, `drill` restores and recovers it like a Crunchy Bridge cluster, the status file and
/// the metrics carry the drill; nothing asks the API or writes bridgerest's stanza file.
#[test]
fn a_self_managed_pgbackrest_repository_is_listed_and_drilled_s3() {
    let (w, rendered, section, head) = self_managed_world();
    // The user's own stanza: what bridgerest rendered, moved into pgBackRest's main config.
    let mut main = std::fs::read_to_string(&w.main_config).unwrap_or_default();
    main.push('\n');
    main.push_str(&section);
    std::fs::write(&w.main_config, main).unwrap();
    std::fs::write(&w.config, head).unwrap();
    let (code, out, err) = w.bridgerest(&["backups", "main"]);
    assert_eq!(code, 0, "{out}{err}");
    let label = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    assert!(label.ends_with('F') && out.contains(" full "), "{out}");
    // `check` reads the repository.
    let (_, out, err) = w.bridgerest(&["check"]);
    assert!(
        out.contains("cluster main: its pgBackRest repository lists 1 backup set"),
        "{out}{err}"
    );
    // (check asked the API about the key this world still has; the drill asks it nothing.)
    let api_before = w.sim.sim.stats().by_path.values().sum::<u64>();

    let (code, out, err) =
        w.bridgerest(&["drill", "--cluster", "main", "--target", "latest", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["ok"], true, "{out}");
    assert_eq!(rep["cluster"], "main");
    assert_eq!(rep["backup"], label.as_str(), "{out}");
    let check = |name: &str| {
        rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {out}"))["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(check("query 1").ends_with("→ 200"), "{out}");
    assert!(check("amcheck").starts_with("no corruption found"), "{out}");
    assert!(!w.dir.path("drill/copy").exists(), "the copy is removed");
    assert_nothing_runs_in(&w.dir.path("drill"));

    // Its result is where a Crunchy Bridge cluster's is.
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.dir.path("state/status.json")).unwrap())
            .unwrap();
    let entry = st["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "main")
        .unwrap_or_else(|| panic!("{st}"));
    assert_eq!(entry["drill"]["ok"], true, "{st}");
    assert_eq!(entry["provider"], "pgbackrest", "{st}");
    let prom = std::fs::read_to_string(w.dir.path("state/bridgerest.prom")).unwrap();
    assert!(
        prom.contains("bridgerest_drill_success{cluster=\"main\"} 1"),
        "{prom}"
    );
    let (code, out, err) = w.bridgerest(&["status"]);
    assert!(out.contains("main"), "{code} {out}{err}");
    // Nothing was asked of the API, nothing of bridgerest's was rendered.
    assert_eq!(w.sim.sim.stats().by_path.values().sum::<u64>(), api_before);
    assert!(!rendered.exists());
}

/// #30: the same repository configured the other way the issue names: `repo1-*` options (the
/// S3 keys, the CA file pgBackRest reads) in the cluster's `[cluster.options]`. `backups` reads
/// it without writing anything, `refresh` writes its stanza (pgbackrest.mode, postgres) with no API key
/// asked for and no API call, `render` shows it redacted, and `drill` restores and recovers it.
#[test]
fn a_repository_in_cluster_options_is_written_listed_and_drilled_s3() {
    let (w, rendered, section, head) = self_managed_world();
    let mut options: Vec<(String, Vec<String>)> = Vec::new();
    for line in section.lines().skip(1) {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if line.starts_with('#') || k == "pg1-path" {
            continue;
        }
        match options.iter_mut().find(|(key, _)| key == k) {
            Some((_, vs)) => vs.push(v.to_string()),
            None => options.push((k.to_string(), vec![v.to_string()])),
        }
    }
    assert!(
        options.iter().any(|(k, _)| k == "repo1-s3-key-secret"),
        "{options:?}"
    );
    let secret = options
        .iter()
        .find(|(k, _)| k == "repo1-s3-key-secret")
        .unwrap()
        .1[0]
        .clone();
    // No API key: nothing of this cluster's needs one.
    let head: String = head
        .lines()
        .filter(|l| !l.starts_with("key_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut cfg = head + "[cluster.options]\n";
    for (k, vs) in &options {
        let vs: Vec<String> = vs.iter().map(|v| format!("{v:?}")).collect();
        cfg.push_str(&format!("{k:?} = [{}]\n", vs.join(", ")));
    }
    std::fs::write(&w.config, cfg).unwrap();
    let api_before = w.sim.sim.stats().by_path.values().sum::<u64>();

    // Listing reads the repository as the stanza would be written, and writes nothing.
    let (code, out, err) = w.bridgerest(&["backups", "main"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" full "), "{out}");
    assert!(!rendered.exists(), "backups wrote the stanza");
    assert!(!out.contains(&secret) && !err.contains(&secret));

    // `render` shows it, redacted; `refresh` writes it, asking the API nothing.
    let (code, out, err) = w.bridgerest(&["render"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("[main]") && out.contains("repo1-s3-key-secret=[redacted]"),
        "{out}"
    );
    assert!(!out.contains(&secret), "{out}");
    let (code, out, err) = w.bridgerest(&["refresh"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("main"), "{out}");
    let text = std::fs::read_to_string(&rendered).unwrap();
    assert!(
        text.contains(
            "# bridgerest: cluster main (s3 repository, options from the config)\n[main]\n"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("repo1-s3-key-secret={secret}\n")));
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&rendered).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640, "pgbackrest.mode");
    assert_eq!(
        Some(meta.uid()),
        nix::unistd::User::from_name("postgres")
            .unwrap()
            .map(|u| u.uid.as_raw())
    );
    // pgBackRest itself reads the stanza bridgerest wrote.
    w.pgbackrest_ok(&["info"]);

    let (code, out, err) =
        w.bridgerest(&["drill", "--cluster", "main", "--target", "latest", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["ok"], true, "{out}");
    let q = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "query 1")
        .unwrap_or_else(|| panic!("{out}"))["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(q.ends_with("→ 200"), "{out}");
    assert!(!out.contains(&secret) && !err.contains(&secret));
    assert_eq!(w.sim.sim.stats().by_path.values().sum::<u64>(), api_before);
}

/// The drill's own checks of a local copy (#33 items 5, 7, 8): `drill.command` run as postgres
/// against the copy's private socket (passing, failing with its output's tail, killed with its
/// process group at its deadline), `pg_checksums --check` of the stopped copy (clean, then a
/// page corrupted in the source before a backup: the backup keeps it, the drill catches it),
/// and the restore-time objective missed and met.
#[test]
fn drill_command_checksums_and_rto_s3() {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.insert(1, 100);
    w.pgbackrest_ok(&["--type=full", "backup"]);
    // A transaction after the backup, for `latest` to recover to.
    w.pg.psql("CREATE TABLE later (i int)");
    w.pg.psql("INSERT INTO later VALUES (1)");
    w.pgbackrest_ok(&["check"]);
    w.sync_backups();
    let base = std::fs::read_to_string(&w.config).unwrap();
    let psql = "/usr/lib/postgresql/15/bin/psql";
    let drill = |w: &World, extra: &str| -> serde_json::Value {
        std::fs::write(
            &w.config,
            base.replace("[drill]\n", &format!("[drill]\n{extra}")),
        )
        .unwrap();
        let (code, out, err) = w.bridgerest(&[
            "drill",
            "--cluster",
            CLUSTER,
            "--target",
            "latest",
            "--json",
        ]);
        assert!(code == 0 || code == 1, "{out}{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"))
    };
    // The objective as the Prometheus file exports it.
    let assert_rto_metric = |w: &World, value: &str| {
        let prom = std::fs::read_to_string(w.dir.path("state/bridgerest.prom")).unwrap();
        assert!(
            prom.contains(&format!(
                "bridgerest_drill_rto_seconds{{cluster=\"{CLUSTER}\"}} {value}"
            )),
            "{prom}"
        );
    };
    let check = |rep: &serde_json::Value, name: &str| -> (bool, String) {
        let c = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {rep}"));
        (c["ok"] == true, c["detail"].as_str().unwrap().to_string())
    };

    // It queries the copy through $PGHOST as postgres, and passes; the objective is met.
    let rep = drill(&w, &format!(
        "rto = \"1h\"\nverify_every = 3\ncommand = [\"/bin/sh\", \"-c\", \"id -un; {psql} -X -At -c 'SELECT count(*) FROM public.restore_check'; echo \\\"$PGHOST:$PGPORT\\\"\"]\n"
    ));
    assert_eq!(rep["ok"], true, "{rep}");
    let (ok, detail) = check(&rep, "command");
    assert!(ok, "{rep}");
    assert!(
        detail.starts_with("/bin/sh: exit 0 after ")
            && detail.contains("output's tail: postgres | 100 | /")
            && detail.ends_with("/bridgerest-drill:5432"),
        "{detail}"
    );
    let (ok, detail) = check(&rep, "rto");
    assert!(
        ok && detail.contains(" within the restore-time objective of 1 h 0 min"),
        "{detail}"
    );
    let (ok, detail) = check(&rep, "checksums");
    assert!(ok && detail.starts_with("no bad checksum in "), "{detail}");
    // Who and where: this host, this bridgerest, the pgBackRest and the copy's PostgreSQL.
    assert_eq!(rep["ran"]["bridgerest"], env!("CARGO_PKG_VERSION"), "{rep}");
    assert_eq!(rep["ran"]["pgbackrest"], "2.45", "{rep}");
    assert!(
        rep["ran"]["postgresql"]
            .as_str()
            .is_some_and(|v| v.starts_with("15.")),
        "{rep}"
    );
    assert_eq!(
        rep["ran"]["host"].as_str().unwrap(),
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        "{rep}"
    );
    // pgBackRest 2.45 has no verify --set: the whole repository, the first time.
    let (ok, detail) = check(&rep, "verify");
    assert!(
        ok && detail.starts_with("the whole repository (pgBackRest 2.45 has no verify --set, 2.55 has; no passed verify of it in the reports kept): every backup and archived WAL file matches its checksum"),
        "{detail}"
    );
    assert_rto_metric(&w, "3600");

    // Exit 3 after 30 lines: failed, the last 20 lines in the detail; the objective missed.
    let rep = drill(
        &w,
        "rto = \"1ms\"\nverify_every = 3\ncommand = [\"/bin/sh\", \"-c\", \"for i in $(seq 1 29); do echo line $i; done; echo oops >&2; exit 3\"]\n",
    );
    assert_eq!(rep["ok"], false, "{rep}");
    let (ok, detail) = check(&rep, "command");
    assert!(!ok, "{rep}");
    assert!(
        detail.contains(": exit 3 after ")
            && detail.contains("output's tail: line 11 | line 12 | ")
            && detail.ends_with("line 29 | oops")
            && !detail.contains("line 10 "),
        "{detail}"
    );
    // The whole repository was verified one drill ago: not again before the third.
    assert!(
        !rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "verify"),
        "{rep}"
    );
    let skipped = rep["not_checked"].to_string();
    assert!(
        skipped.contains(
            "verify: the whole repository passed pgbackrest verify one drill ago (the drill of "
        ) && skipped.contains("so it runs at most every drill.verify_every = 3 drills"),
        "{rep}"
    );
    let (ok, detail) = check(&rep, "rto");
    assert!(
        !ok && detail.starts_with("restore and recovery took ")
            && detail.contains(" over the restore-time objective of "),
        "{detail}"
    );
    assert_rto_metric(&w, "0.001");

    // Past its deadline: killed with its process group (the background sleep too), named.
    let rep = drill(
        &w,
        "verify_every = 2\ncommand_timeout = \"2s\"\ncommand = [\"/bin/sh\", \"-c\", \"sleep 37 & sleep 37; echo never\"]\n",
    );
    let (ok, detail) = check(&rep, "command");
    assert!(!ok, "{rep}");
    assert_eq!(
        detail, "/bin/sh ran past drill.command_timeout (2s): killed with its process group",
        "{rep}"
    );
    let (ok, detail) = check(&rep, "verify");
    assert!(
        ok && detail.starts_with("the whole repository (pgBackRest 2.45 has no verify --set, 2.55 has; last verified 2 drill(s) ago, drill.verify_every = 2): "),
        "{detail}"
    );
    let left = std::process::Command::new("pgrep")
        .args(["-u", "postgres", "-f", "sleep 37"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the command's group outlived it: {}",
        String::from_utf8_lossy(&left.stdout)
    );

    // A heap page corrupted in the source (stopped), then a full backup: pgBackRest keeps the
    // page as it is (warning of its checksum), the copy has it, pg_checksums names it.
    let file = w.pg.psql("SELECT pg_relation_filepath('restore_check')");
    w.pg.stop();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(w.pg.data.join(&file))
            .unwrap();
        f.seek(SeekFrom::Start(8000)).unwrap();
        f.write_all(&[0xff; 16]).unwrap();
    }
    w.pg.start();
    let (ok, out, err) = w.pgbackrest(&["--type=full", "backup"]);
    assert!(ok, "{out}{err}");
    w.pg.psql("INSERT INTO later VALUES (2)");
    w.pgbackrest_ok(&["check"]);
    w.sync_backups();
    let rep = drill(&w, "");
    assert_eq!(rep["ok"], false, "{rep}");
    let (ok, detail) = check(&rep, "checksums");
    assert!(
        !ok && detail.contains("1 bad checksum(s)")
            && detail.contains(&format!("{file}\", block 0")),
        "{detail}"
    );
    assert_nothing_runs_in(&w.dir.path("drill"));
    w.assert_no_secrets();
}
