//! `bridgerest restore` before pgBackRest runs (the plan, the target window, the data directory
//! checks) and `bridgerest credential-process`, with the real binary against the simulator.
//! Runs as root (the restore runs pgBackRest as another user), as CI does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bridgerest::sim::sample_state;
use serde_json::{json, Value};
use sim_only::*;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::OffsetDateTime;

fn require_root() {
    if !nix::unistd::Uid::effective().is_root() {
        panic!("the restore tests check directories as the postgres user and must run as root (CI does): sudo cargo test");
    }
}

/// 120 daily backups from 2026-07-01 01:00 (two pages of the list), each finishing at 01:04:00.
fn daily_backups() -> Vec<Value> {
    (0..120)
        .map(|d| {
            let start = datetime!(2026-07-01 01:00:00 UTC) + time::Duration::days(d);
            let stop = start + time::Duration::minutes(4);
            let label = format!(
                "{:04}{:02}{:02}-010000F",
                start.year(),
                u8::from(start.month()),
                start.day()
            );
            json!({"name": label, "started_at": start.format(&Rfc3339).unwrap(), "finished_at": stop.format(&Rfc3339).unwrap(),
                   "lsn_start": "0/2000028", "lsn_stop": "0/2000100", "size_bytes": 1_852_406_161u64 + d as u64, "type": "full"})
        })
        .collect()
}

/// An env whose S3 cluster has [`daily_backups`], a config naming its stanza, and a parent
/// directory for data directories that postgres may enter.
fn env() -> (Env, PathBuf) {
    require_root();
    let mut state = sample_state(KEY, 0);
    state.clusters[0].backups = daily_backups();
    let env = Env::with_state(state);
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pg = env.path("pg");
    std::fs::create_dir(&pg).unwrap();
    std::fs::set_permissions(&pg, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write_config(&[], "");
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"{}\"\nstanza = \"main\"\n",
        pg.join("restore").display()
    ));
    std::fs::write(&env.config, text).unwrap();
    (env, pg)
}

fn postgres_dir(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    let u = nix::unistd::User::from_name("postgres").unwrap().unwrap();
    nix::unistd::chown(path, Some(u.uid), Some(u.gid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn dry_run_prints_the_plan_and_the_exact_command() {
    let (env, pg) = env();
    let args = [
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        "2026-10-15 09:14:00+02",
        "--process-max",
        "4",
        "--dry-run",
    ];
    let run = env.run(&[&["restore"][..], &args].concat());
    assert_eq!(run.code, 0, "{run:?}");
    let shown = run
        .stdout
        .replace(&env.dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!(shown);
    // The flag form is the same command.
    let flag = env.run(&[&["--restore"][..], &args].concat());
    assert_eq!(flag.stdout, run.stdout);
    // Nothing touched: no data directory, no pgBackRest config, no token requested.
    assert!(!pg.join("restore").exists());
    assert!(!env.out.exists());
    assert_eq!(env.token_requests(), 0);
    // A target in a backup's last second takes the backup before it (pgBackRest compares
    // whole seconds); `latest` takes the newest, on the list's second page.
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        "2026-10-15T01:04:00.5Z",
        "--dry-run",
    ]);
    assert!(
        run.stdout.contains("backup:    20261014-010000F "),
        "{run:?}"
    );
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--dry-run",
    ]);
    assert!(
        run.stdout.contains("backup:    20261028-010000F "),
        "{run:?}"
    );
    assert!(run.stdout.contains(" --type=default "), "{run:?}");
}

#[test]
fn targets_outside_the_window_are_refused_with_the_window() {
    let (env, pg) = env();
    let future = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    for (target, says) in [
        ("2026-06-30T12:00:00Z", "is before 2026-07-01T01:04:01Z, the earliest time the cluster can be restored to (its oldest backup is from 2026-07-01T01:00:00Z)"),
        (future.as_str(), "is in the future"),
        ("2026-07-01T01:02:00Z", "no backup finished before target 2026-07-01 01:02:00+00 (the first, 20260701-010000F, finished at 2026-07-01T01:04:00Z"),
    ] {
        let run = env.run(&["restore", "--cluster", S3_CLUSTER, "--target-time", target]);
        assert_eq!(run.code, 2, "{target}: {run:?}");
        let line = run.error_line();
        assert!(line.contains(says), "{target}: {line}");
        assert!(line.contains("choose a time from 2026-07-01T01:04:01Z to now ("), "{line}");
    }
    assert!(!pg.join("restore").exists());
    assert!(!env.out.exists());
    assert_eq!(env.token_requests(), 0);

    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        "yesterday at 9",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not a time: use RFC 3339"),
        "{run:?}"
    );
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--target-action",
        "pause",
    ]);
    run.assert_error(2, "--target-action pause applies to a target time");
}

#[test]
fn cluster_without_backups_is_refused() {
    require_root();
    let env = Env::new();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    env.sim.sim.set_backups(S3_CLUSTER, vec![]);
    env.write_config(&[S3_CLUSTER], "");
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--pg1-path",
        &env.path("r").display().to_string(),
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.error_line(), format!("error: cluster {S3_CLUSTER} has no finished backup yet: there is nothing to restore from"));
}

#[test]
fn unsafe_data_directories_are_refused_untouched() {
    let (env, pg) = env();
    let restore = |dir: &Path, extra: &[&str]| {
        let d = dir.display().to_string();
        let mut args = vec![
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target-time",
            "2026-10-15T09:14:00Z",
            "--pg1-path",
            &d,
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };

    // PostgreSQL running: postmaster.pid names a live process (this test's).
    let live = pg.join("live");
    postgres_dir(&live);
    let pid_file = format!(
        "{}\n{}\n1700000000\n5432\n/tmp\n\n  5432001  0\nready   \n",
        std::process::id(),
        live.display()
    );
    std::fs::write(live.join("postmaster.pid"), &pid_file).unwrap();
    std::fs::write(live.join("PG_VERSION"), "15\n").unwrap();
    for extra in [&[][..], &["--delta"], &["--force"]] {
        let run = restore(&live, extra);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.error_line().contains(&format!(
                "PostgreSQL is running in {} (postmaster.pid names live process {})",
                live.display(),
                std::process::id()
            )),
            "{run:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(live.join("postmaster.pid")).unwrap(),
        pid_file
    );

    // Not empty, without --delta or --force.
    let full = pg.join("full");
    postgres_dir(&full);
    std::fs::write(full.join("PG_VERSION"), "15\n").unwrap();
    let run = restore(&full, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.error_line()
            .contains("is not empty (1 entries): pass --delta"),
        "{run:?}"
    );
    let run = restore(&full, &["--delta", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("(1 entries; restored over with --delta/--force), as postgres"),
        "{run:?}"
    );
    assert!(run.stdout.contains(" --delta restore\n"), "{run:?}");

    // Not writable by the user pgBackRest runs as.
    let roots = pg.join("roots");
    std::fs::create_dir(&roots).unwrap();
    std::fs::set_permissions(&roots, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = restore(&roots, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains(&format!("postgres cannot write {}, so pgBackRest (run as postgres) could not restore into it: give postgres access (chown postgres {})", roots.display(), roots.display())), "{run:?}");
    let hidden = env.path("hidden/restore"); // the env's private directory postgres cannot enter
    std::fs::create_dir(env.path("hidden")).unwrap();
    std::fs::set_permissions(env.path("hidden"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = restore(&hidden, &[]);
    assert!(
        run.error_line().contains(&format!(
            "postgres cannot enter {}",
            env.path("hidden").display()
        )),
        "{run:?}"
    );
    assert!(!hidden.exists());

    assert!(!env.out.exists(), "no credentials were written");
    assert_eq!(env.token_requests(), 0);
}

#[test]
fn credential_process_prints_aws_json_and_reuses_it() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER, AZURE_CLUSTER], "");
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text = text.replace("[api]\n", "[api]\ntoken_lifetime = \"2h\"\n");
    std::fs::write(&env.config, &text).unwrap();

    let before = OffsetDateTime::now_utc();
    let run = env.run_unscanned(&["credential-process", "--cluster", S3_CLUSTER]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let obj = doc.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "Expiration",
            "SecretAccessKey",
            "SessionToken",
            "Version"
        ]
    );
    assert_eq!(doc["Version"], 1);
    let issued = env.sim.sim.issued_secrets();
    for k in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
        assert!(
            issued.iter().any(|s| s == doc[k].as_str().unwrap()),
            "{k} is not an issued credential"
        );
    }
    let expires = OffsetDateTime::parse(doc["Expiration"].as_str().unwrap(), &Rfc3339).unwrap();
    let lifetime = expires - before;
    assert!(
        lifetime > time::Duration::minutes(119) && lifetime < time::Duration::minutes(121),
        "{lifetime}"
    );
    assert!(run.stderr.is_empty(), "{run:?}");
    assert_eq!(env.token_requests(), 1);

    // Reused from the 0600 cache while more than ten minutes remain.
    let again = env.run_unscanned(&["credential-process", "--cluster", S3_CLUSTER]);
    assert_eq!(again.stdout, run.stdout);
    assert_eq!(env.token_requests(), 1);
    let cache = env.path(&format!(
        "conf.d/bridgerest-{S3_CLUSTER}.s3-credentials.json"
    ));
    assert_eq!(mode_of(&cache), 0o600);

    // A lifetime within the margin: every call gets a fresh token.
    std::fs::write(&env.config, text.replace("\"2h\"", "\"5m\"")).unwrap();
    std::fs::remove_file(&cache).unwrap();
    let fresh = env.run_unscanned(&["credential-process", "--cluster", S3_CLUSTER]);
    assert_eq!(fresh.code, 0);
    assert_ne!(fresh.stdout, run.stdout);
    let fresher = env.run_unscanned(&["credential-process", "--cluster", S3_CLUSTER]);
    assert_ne!(fresher.stdout, fresh.stdout);
    assert_eq!(env.token_requests(), 3);

    // Not an S3 cluster: a clear error, nothing on stdout.
    let az = env.run(&["credential-process", "--cluster", AZURE_CLUSTER]);
    assert_eq!(az.code, 1, "{az:?}");
    assert!(az.stdout.is_empty());
    assert!(
        az.error_line()
            .contains("repository is azure, not s3: credential-process serves S3 credentials only"),
        "{az:?}"
    );
}

/// `s3_key_type = "process"` renders the credential-process command for pgBackRest 2.59+, and
/// is refused (file untouched) with the installed 2.45; `auto` falls back to static keys.
#[test]
fn s3_key_type_process_follows_the_pgbackrest_version() {
    let env = Env::new();
    let fake = env.path("pgbackrest-2.59");
    std::fs::write(&fake, "#!/bin/sh\necho 'pgBackRest 2.59.0'\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write_config(
        &[S3_CLUSTER],
        &format!("s3_key_type = \"process\"\nbin = \"{}\"\n", fake.display()),
    );
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = env.read_out();
    let exe = env!("CARGO_BIN_EXE_bridgerest");
    assert!(text.contains(&format!("repo1-s3-key-type=process\nrepo1-s3-process-cmd={exe}\nrepo1-s3-process-cmd=--config={}\nrepo1-s3-process-cmd=credential-process\nrepo1-s3-process-cmd=--cluster={S3_CLUSTER}\n", env.config.display())), "{text}");
    assert!(!text.contains("repo1-s3-key="), "{text}");

    let installed = Path::new("/usr/bin/pgbackrest");
    assert!(
        installed.exists(),
        "apt-get install pgbackrest (or run `bash .ci/run`)"
    );
    env.write_config(
        &[S3_CLUSTER],
        "s3_key_type = \"process\"\nbin = \"/usr/bin/pgbackrest\"\n",
    );
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("pgbackrest.s3_key_type = \"process\" needs pgBackRest 2.59 or newer, but the installed pgBackRest is 2.45"), "{run:?}");
    assert_eq!(env.read_out(), text, "file untouched");

    env.write_config(
        &[S3_CLUSTER],
        "s3_key_type = \"auto\"\nbin = \"/usr/bin/pgbackrest\"\n",
    );
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(env.read_out().contains("repo1-s3-key-secret="));
}

/// Debian's pgbackrest package ships /etc/pgbackrest.conf and no /etc/pgbackrest/: without
/// `main_config` in the config, the printed command has no `--config` (pgBackRest finds its
/// file itself); with one that does not exist, restore stops before anything is created.
#[test]
fn the_main_config_is_passed_only_when_configured_and_must_exist() {
    let (env, pg) = env();
    let text = std::fs::read_to_string(&env.config).unwrap();
    let main_line = format!(
        "main_config = \"{}\"\n",
        env.path("pgbackrest.conf").display()
    );
    let include_line = format!("include_path = \"{}\"\n", env.path("conf.d").display());
    assert!(text.contains(&main_line) && text.contains(&include_line));
    let args = [
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--dry-run",
    ];

    std::fs::write(
        &env.config,
        text.replace(&main_line, "").replace(&include_line, ""),
    )
    .unwrap();
    let conf_d = env.path("conf.d").display().to_string();
    // The written file must stay where pgBackRest's default include path finds it.
    let moved = std::fs::read_to_string(&env.config).unwrap().replace(
        &format!("{conf_d}/bridgerest.conf"),
        "/etc/pgbackrest/conf.d/bridgerest.conf",
    );
    std::fs::write(&env.config, moved).unwrap();
    let run = env.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let cmd = run
        .stdout
        .lines()
        .find(|l| l.starts_with("command:"))
        .unwrap();
    assert!(!cmd.contains("--config"), "{cmd}");

    std::fs::write(&env.config, &text).unwrap();
    std::fs::remove_file(env.path("pgbackrest.conf")).unwrap();
    let data = pg.join("restore");
    let run = env.run(&["restore", "--cluster", S3_CLUSTER, "--target", "latest"]);
    run.assert_error(2, "pgbackrest.main_config");
    assert!(run.error_line().contains("does not exist"), "{run:?}");
    assert!(!data.exists(), "the data directory was created");
    assert_eq!(env.token_requests(), 0);
}

/// The plan shows the source cluster's state and version, and warns before anything is
/// downloaded when this host has no PostgreSQL of that major version.
#[test]
fn the_plan_warns_about_a_postgres_version_this_host_lacks() {
    require_root();
    let mut state = sample_state(KEY, 0);
    state.clusters[0].backups = daily_backups();
    state.clusters[0].major_version = 14;
    let env = Env::with_state(state);
    env.write_config(&[], "");
    let dir = env.path("restore");
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--dry-run",
        "--pg1-path",
        &dir.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("source:    production, PostgreSQL 14, state ready\n"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("warning:   the cluster runs PostgreSQL 14, which is not installed here"),
        "{run:?}"
    );
}

#[test]
fn a_random_target_is_drawn_here_and_refused_at_the_provider() {
    let (env, pg) = env();
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "random",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    let target = plan["target"].as_str().unwrap();
    assert!(
        target.contains("(drawn at random from the window), then promote"),
        "{target}"
    );
    // The time drawn is the one the command runs pgBackRest with.
    let drawn = plan["target_time"].as_str().unwrap();
    let t = bridgerest::when::parse_time(drawn).unwrap();
    assert!(
        plan["command"].as_str().unwrap().contains(&format!(
            "--target={}",
            bridgerest::when::pgbackrest_time(t)
        )),
        "{plan}"
    );
    assert!(!pg.join("restore").exists());
    // At the provider there is no repository to draw from: refused, naming the flag.
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--into",
        "copy",
        "--target",
        "random",
        "--dry-run",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("--target random draws a time"),
        "{run:?}"
    );
    assert_eq!(env.token_requests(), 0);
}
