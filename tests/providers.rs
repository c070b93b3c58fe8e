//! Every provider against the simulator, with the real binary: IONOS DBaaS and Launcher
//! clusters (backups across pages, the recovery window), and server-side restores for all three
//! (Bridge forks, IONOS, Launcher): the dry-run plan, waiting through the states, no duplicate
//! after a timeout, a failed restore, `--in-place` confirmation, and each API's error answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use bridgerest::sim::ionos::IonosChain;
use bridgerest::sim::{sample_state, Fault, FaultKind, ForkStep, SimState};
use serde_json::json;
use sim_only::*;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn at(days_ago: f64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::seconds_f64(days_ago * 86400.0))
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

/// A state whose restores take `ms`.
fn state(ms: u64) -> SimState {
    let mut st = sample_state(KEY, 0);
    st.restore_ms = ms;
    st
}

fn env_with(st: SimState, extra: &str) -> Env {
    let env = Env::with_state(st);
    std::fs::write(&env.config, env.providers_config(extra)).unwrap();
    env
}

fn fault(path: &str, method: &str, times: u32, kind: FaultKind) -> Fault {
    Fault {
        path: Some(path.into()),
        method: Some(method.into()),
        times: Some(times),
        kind,
    }
}

#[test]
fn ionos_and_launcher_backups_every_page() {
    let mut st = state(500);
    let ionos = st.ionos.as_mut().unwrap();
    ionos.clusters[0].chains = (0..230)
        .map(|i| IonosChain {
            id: format!("{IONOS_CLUSTER}-chain-{i:03}"),
            // metadata.createdDate is optional in the model: the first has none.
            created: (i != 0).then(|| at(300.0 - i as f64)),
            earliest: at(300.0 - i as f64),
            active: i == 229,
            state: "AVAILABLE".into(),
            size_mb: 100 + i,
            version: "15".into(),
        })
        .collect();
    let launcher = st.launcher.as_mut().unwrap();
    launcher.databases[0].backups = (0..130)
        .map(|i| json!({"id": format!("b-{i:03}"), "type": "full", "status": "completed", "size_bytes": 1000,
                       "created_at": at(200.0 - i as f64), "completed_at": at(199.9 - i as f64)}))
        .collect();
    let env = env_with(st, "");

    let run = env.run(&["backups", IONOS_CLUSTER]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("CHAIN "), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 231, "{run:?}");
    assert!(run.stdout.contains("-chain-229  yes"), "{run:?}");
    // 230 chains at 100 a page: three pages, following the deprecated `links.next`.
    assert_eq!(env.requests("GET /ionos/clusters/{id}/backups"), 3);

    let run = env.run(&["backups", LAUNCHER_DB, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list.len(), 130);
    // The provider's own objects.
    assert_eq!(list[0]["status"], "completed");
    assert_eq!(
        env.requests("GET /launcher/sim-tenant/api/v1/databases/{id}/backups"),
        2
    );

    // `clusters` lists all three providers.
    let run = env.run(&["clusters"]);
    assert_eq!(run.code, 0, "{run:?}");
    for want in [
        "# Crunchy Bridge",
        "# IONOS DBaaS",
        "# Launcher",
        IONOS_CLUSTER,
        LAUNCHER_DB,
        S3_CLUSTER,
    ] {
        assert!(run.stdout.contains(want), "{want}: {run:?}");
    }
    let run = env.run(&["clusters", "--provider", "ionos", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list[0]["properties"]["displayName"], "shop-production");
}

#[test]
fn the_window_refuses_targets_before_and_after_it_for_every_provider() {
    let env = env_with(state(500), "");
    let long_ago = "2020-01-01T00:00:00Z";
    let future = &(OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&Rfc3339)
        .unwrap();
    for id in [S3_CLUSTER, IONOS_CLUSTER, LAUNCHER_DB] {
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target-time",
            long_ago,
            "--into",
            "copy",
        ]);
        run.assert_error(2, "is before the recovery window");
        assert!(
            run.error_line().contains(".. "),
            "the window is shown: {run:?}"
        );
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target-time",
            future,
            "--into",
            "copy",
        ]);
        run.assert_error(2, "is after the recovery window");
    }
    // Nothing was asked to restore.
    let posts: u64 = env
        .sim
        .sim
        .stats()
        .by_path
        .iter()
        .filter(|(k, _)| k.starts_with("POST"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(posts, 0);
}

/// The dry run's plan with the simulator's address and the times made stable.
fn stable(text: &str, env: &Env, target: &str) -> String {
    mask_times(
        &text
            .replace(&env.sim.url(), "http://SIM")
            .replace(target, "TARGET"),
    )
}

/// Every RFC 3339 time (`2026-11-23T08:50:17Z`) as `TIME`: the window's ends move with now.
fn mask_times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let is_time = b.len() >= i + 20
            && b[i].is_ascii_digit()
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z';
        if is_time {
            out.push_str("TIME");
            i += 20;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn dry_runs_print_each_providers_exact_request_and_send_nothing() {
    let env = env_with(state(500), "");
    let target = at(1.0);
    let mut shown = String::new();
    for (id, flags) in [
        (S3_CLUSTER, vec!["--into", "prod-copy", "--storage", "200"]),
        (IONOS_CLUSTER, vec!["--into", "shop-copy"]),
        (LAUNCHER_DB, vec!["--into", "billing-copy"]),
        (
            IONOS_CLUSTER,
            vec!["--in-place", "--confirm", IONOS_CLUSTER],
        ),
        (LAUNCHER_DB, vec!["--in-place", "--confirm", LAUNCHER_DB]),
    ] {
        let mut args = vec!["restore", "--cluster", id, "--target-time", &target];
        args.extend(flags);
        args.push("--dry-run");
        let run = env.run(&args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.ends_with("(dry run: nothing was sent)\n"),
            "{run:?}"
        );
        shown.push_str(&format!(
            "$ bridgerest {}\n{}\n",
            args.join(" ").replace(&target, "TARGET"),
            stable(&run.stdout, &env, &target)
        ));
    }
    insta::assert_snapshot!(shown);
    let stats = env.sim.sim.stats();
    assert!(
        stats.by_path.keys().all(|k| k.starts_with("GET")),
        "a dry run only reads: {:?}",
        stats.by_path
    );
}

#[test]
fn server_side_restores_wait_through_the_states_and_report_the_new_cluster() {
    let env = env_with(state(1500), "");
    let target = at(2.0);
    let cases = [
        (S3_CLUSTER, "prod-copy", "creating"),
        (IONOS_CLUSTER, "shop-copy", "BUSY"),
        (LAUNCHER_DB, "billing-copy", "creating"),
    ];
    for (id, name, working) in cases {
        let started = std::time::Instant::now();
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target-time",
            &target,
            "--into",
            name,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(1400),
            "it waited for the restore: {run:?}"
        );
        assert!(
            run.stderr.contains(&format!(": {working} (")),
            "the working state is shown: {run:?}"
        );
        let ready = run
            .stdout
            .lines()
            .find(|l| l.starts_with("ready: cluster "))
            .unwrap_or_else(|| panic!("{run:?}"));
        assert!(ready.contains(&format!("\"{name}\", host ")), "{ready}");
        assert!(ready.contains(" after "), "{ready}");
    }
    // Each provider made exactly one cluster, from the chosen time.
    let forks: Vec<_> = env
        .sim
        .sim
        .clusters()
        .into_iter()
        .filter(|c| c.name == "prod-copy")
        .collect();
    assert_eq!(forks.len(), 1);
    let ionos: Vec<_> = env
        .sim
        .sim
        .ionos_clusters()
        .into_iter()
        .filter(|c| c.name == "shop-copy")
        .collect();
    assert_eq!(ionos.len(), 1);
    assert_eq!(ionos[0].state, "AVAILABLE");
    let from = ionos[0].restored_from.clone().unwrap();
    assert_eq!(from["recoveryTargetTime"], target.as_str());
    assert_eq!(
        from["backupId"],
        format!("{IONOS_CLUSTER}-4oymiqu-12"),
        "the active chain"
    );
    let db: Vec<_> = env
        .sim
        .sim
        .launcher_databases()
        .into_iter()
        .filter(|d| d.name == "billing-copy")
        .collect();
    assert_eq!(db.len(), 1);
    assert_eq!(db[0].status, "running");
    // The fork carried an Idempotency-Key; a name in use is refused before anything is sent.
    assert!(!env.sim.sim.stats().idempotency_keys.is_empty());
    let run = env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "shop-copy",
    ]);
    run.assert_error(2, "named \"shop-copy\" exists already");
    // The new IONOS cluster got the configured database user (its password is scanned for in
    // every output like the other secrets).
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        text.replace("db_username = \"restore_admin\"\n", ""),
    )
    .unwrap();
    env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "shop-copy-2",
    ])
    .assert_error(2, "IONOS requires a database user for the new cluster");
    std::fs::write(&env.config, text).unwrap();

    // In place, with --confirm; --no-wait returns once accepted.
    let run = env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target-time",
        &target,
        "--in-place",
        "--confirm",
        LAUNCHER_DB,
        "--no-wait",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("accepted: Launcher is restoring into cluster"),
        "{run:?}"
    );
    let billing = env
        .sim
        .sim
        .launcher_databases()
        .into_iter()
        .find(|d| d.id == LAUNCHER_DB)
        .unwrap();
    assert_eq!(billing.status, "restoring");
}

#[test]
fn in_place_needs_confirm_and_bridge_has_none() {
    let env = env_with(state(500), "");
    let target = at(1.0);
    let base = [
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &target,
        "--in-place",
    ];
    let name = env.sim.sim.ionos_clusters()[0].name.clone();
    env.run(&base).assert_error(
        2,
        &format!("add --confirm with its id or its name (--confirm {IONOS_CLUSTER} or --confirm \"{name}\") to go ahead"),
    );
    let mut wrong = base.to_vec();
    wrong.extend(["--confirm", LAUNCHER_DB]);
    env.run(&wrong).assert_error(
        2,
        &format!("is not the cluster being overwritten ({IONOS_CLUSTER} \"{name}\")"),
    );
    // Its name confirms as well as its id; the plan names it and its state.
    let mut by_name = base.to_vec();
    by_name.extend(["--confirm", &name, "--dry-run"]);
    let run = env.run(&by_name);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "  in place: cluster {IONOS_CLUSTER} \"{name}\" (state AVAILABLE) is overwritten"
        )),
        "{run:?}"
    );
    // A name that is only like it does not.
    let mut near = base.to_vec();
    let upper = name.to_uppercase();
    near.extend(["--confirm", &upper]);
    env.run(&near)
        .assert_error(2, "is not the cluster being overwritten");
    assert_eq!(env.requests("POST /ionos/clusters/{id}/restore"), 0);
    env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &target,
        "--in-place",
        "--confirm",
        S3_CLUSTER,
    ])
    .assert_error(2, "Crunchy Bridge has no in-place restore");
    // A local restore of a provider without repository credentials names --into.
    env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target-time",
        &target,
        "--pg1-path",
        "/tmp/x",
    ])
    .assert_error(2, "Launcher hands out no repository credentials");
    let posts = env.requests("POST /ionos/clusters/{id}/restore");
    assert_eq!(posts, 0);
}

#[test]
fn a_timeout_after_the_post_does_not_create_a_second_cluster() {
    // IONOS and Launcher document no idempotency key: the request is not sent twice.
    for (id, name, post) in [
        (IONOS_CLUSTER, "shop-copy", "POST /ionos/clusters"),
        (
            LAUNCHER_DB,
            "billing-copy",
            "POST /launcher/sim-tenant/api/v1/databases/{id}/pitr-clone",
        ),
    ] {
        let env = env_with(state(300), "");
        let path = post.split(' ').nth(1).unwrap().replace("{id}", id);
        env.sim.sim.set_faults(vec![fault(
            &path,
            "POST",
            1,
            FaultKind::LateAnswer { delay_ms: 7000 },
        )]);
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target-time",
            &at(1.0),
            "--into",
            name,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("looks before sending it again"),
            "{run:?}"
        );
        assert!(
            run.stderr
                .contains("the request was accepted; following it"),
            "{run:?}"
        );
        assert_eq!(env.requests(post), 1, "sent once: {run:?}");
        let made = match id {
            IONOS_CLUSTER => env
                .sim
                .sim
                .ionos_clusters()
                .iter()
                .filter(|c| c.name == name)
                .count(),
            _ => env
                .sim
                .sim
                .launcher_databases()
                .iter()
                .filter(|d| d.name == name)
                .count(),
        };
        assert_eq!(made, 1, "{run:?}");

        // A 503 that did nothing: looked for, not found, sent again, one cluster.
        let again = format!("{name}-2");
        env.sim.sim.set_faults(vec![fault(
            &path,
            "POST",
            1,
            FaultKind::ServerError { status: 503 },
        )]);
        // (Its own address: the first copy holds the default one.)
        let when = at(1.0);
        let mut args = vec![
            "restore",
            "--cluster",
            id,
            "--target-time",
            &when,
            "--into",
            &again,
        ];
        if id == IONOS_CLUSTER {
            args.extend(["--cidr", "192.168.1.121/24"]);
        }
        let run = env.run(&args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("nothing was created: sending it again"),
            "{run:?}"
        );
        assert_eq!(env.requests(post), 3, "{run:?}");
    }
}

#[test]
fn a_restore_that_fails_at_the_provider_is_an_error_with_its_message() {
    let env = env_with(state(300), "");
    env.sim.sim.fail_restores(Some("out of storage in de/fra"));
    let run = env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &at(1.0),
        "--into",
        "shop-copy",
    ]);
    run.assert_error(1, "failed at IONOS DBaaS: metadata.state FAILED");
    let run = env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target-time",
        &at(1.0),
        "--into",
        "billing-copy",
    ]);
    run.assert_error(
        1,
        "failed at Launcher: status failed: out of storage in de/fra",
    );
}

#[test]
fn api_errors_of_ionos_and_launcher_are_one_clear_line() {
    let env = env_with(state(300), "");
    let cases: [(&str, FaultKind, &str); 5] = [
        ("401", FaultKind::Unauthorized, " refused the "),
        (
            "403",
            FaultKind::Error {
                status: 403,
                message: "Access denied.".into(),
            },
            "denied access to it (403",
        ),
        (
            "404",
            FaultKind::Error {
                status: 404,
                message: "No such cluster.".into(),
            },
            "not found (404",
        ),
        (
            "429",
            FaultKind::RateLimit { retry_after: 0 },
            "still rate limited (429) after 4 attempts",
        ),
        (
            "500",
            FaultKind::ServerError { status: 500 },
            "the API failed (500",
        ),
    ];
    for (provider, id, hint) in [
        ("ionos", IONOS_CLUSTER, "[ionos] username and password_file"),
        ("launcher", LAUNCHER_DB, "[launcher] key_file"),
    ] {
        for (what, kind, want) in &cases {
            env.sim.sim.set_faults(vec![Fault {
                path: Some(format!("/{provider}/")),
                method: None,
                times: None,
                kind: kind.clone(),
            }]);
            let run = env.run(&["backups", id]);
            run.assert_error(1, want);
            if *what == "401" {
                assert!(run.error_line().contains(hint), "{run:?}");
            }
            if *what == "403" || *what == "404" {
                assert!(
                    run.error_line().contains(if *what == "403" {
                        "Access denied."
                    } else {
                        "No such cluster."
                    }),
                    "the provider's message, from its error shape: {run:?}"
                );
            }
        }
    }
    env.sim.sim.set_faults(vec![]);
    // Without faults, wrong credentials are the 401 of each API.
    std::fs::write(env.path("ionos-password"), "wrong\n").unwrap();
    env.run(&["backups", IONOS_CLUSTER]).assert_error(
        1,
        "IONOS refused the credentials (401 Unauthorized: paas-401: Unauthorized.)",
    );
    std::fs::write(env.path("launcher-key"), "wrong\n").unwrap();
    env.run(&["backups", LAUNCHER_DB]).assert_error(
        1,
        "Launcher refused the service key (401 Unauthorized: UNAUTHORIZED: Unauthorized.)",
    );
}

#[test]
fn ionos_bearer_token_and_credentials_from_the_environment() {
    let env = Env::with_state(state(300));
    let text = env.providers_config("").replace(
        &format!(
            "username = \"ops@example.com\"\npassword_file = \"{}\"",
            env.path("ionos-password").display()
        ),
        &format!("token_file = \"{}\"", env.path("ionos-token").display()),
    );
    std::fs::write(&env.config, text).unwrap();
    let run = env.run(&["backups", IONOS_CLUSTER]);
    assert_eq!(run.code, 0, "{run:?}");
    // $BRIDGEREST_LAUNCHER_KEY wins over key_file.
    std::fs::write(env.path("launcher-key"), "wrong\n").unwrap();
    let out = env
        .cmd()
        .args(["backups", LAUNCHER_DB])
        .env("BRIDGEREST_LAUNCHER_KEY", PROVIDER_SECRETS[2])
        .output()
        .unwrap();
    let run = Run::from(out);
    env.assert_no_secrets(&run);
    assert_eq!(run.code, 0, "{run:?}");
    // A UUID not in the config, with both sections there, needs --provider.
    env.run(&["backups", "11111111-2222-3333-4444-555555555555"])
        .assert_error(2, "say which with --provider ionos or --provider launcher");
}

#[test]
fn check_covers_ionos_and_launcher() {
    let env = env_with(state(300), "");
    let run = env.run(&["check", "--no-repository"]);
    for want in [
        "ok    the IONOS DBaaS API accepted the credentials (2 clusters visible)",
        "ok    the Launcher API accepted the credentials (1 clusters visible)",
    ] {
        assert!(run.stdout.contains(want), "{want}: {run:?}");
    }
    std::fs::write(env.path("launcher-key"), "wrong\n").unwrap();
    let run = env.run(&["check", "--no-repository"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("Launcher refused the service key")),
        "{run:?}"
    );
}

#[test]
fn ctrl_c_while_waiting_says_the_provider_goes_on() {
    let env = env_with(state(60_000), "");
    let child = env
        .cmd()
        .args([
            "restore",
            "--cluster",
            IONOS_CLUSTER,
            "--target-time",
            &at(1.0),
            "--into",
            "shop-copy",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the cluster is being made (the request is in), interrupt.
    let start = std::time::Instant::now();
    while !env
        .sim
        .sim
        .ionos_clusters()
        .iter()
        .any(|c| c.name == "shop-copy")
    {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    env.assert_no_secrets(&run);
    assert_eq!(run.code, 130, "{run:?}");
    assert!(
        run.stderr
            .contains("IONOS DBaaS goes on with the restore, bridgerest only stopped watching"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("bridgerest clusters --provider ionos"),
        "{run:?}"
    );
}

/// The official IONOS SDK for this API version (`ionoscloud-dbaas-postgres` 1.x, Python), as
/// `.ci/run` installs it: a real client, against the simulator. It decodes every object the
/// simulator serves and sends the requests bridgerest sends (Basic auth, both backup lists,
/// an in-place restore, a cluster made `fromBackup`).
#[test]
fn the_official_ionos_sdk_works_against_the_simulator() {
    let tools = std::env::var_os("BRIDGEREST_TEST_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/opt/bridgerest-test-tools".into());
    let python = tools.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: python3 -m venv {}/venv && {}/venv/bin/pip install 'ionoscloud-dbaas-postgres<2' (or run `bash .ci/run`)",
        python.display(),
        tools.display(),
        tools.display()
    );
    let env = Env::with_state(state(300));
    let script = env.path("sdk.py");
    std::fs::write(
        &script,
        r#"import datetime, sys
import ionoscloud_dbaas_postgres as io
cfg = io.Configuration(host=sys.argv[1] + "/ionos", username="ops@example.com", password=sys.argv[2])
api = io.ApiClient(cfg)
clusters, backups = io.ClustersApi(api), io.BackupsApi(api)
lst = clusters.clusters_get()
c = lst.items[0]
print("cluster", c.id, c.properties.display_name, c.metadata.state)
page = backups.clusters_backups_get(limit=1)
print("page", len(page.items), page.links.next)
chains = backups.cluster_backups_get(c.id).items
active = [b for b in chains if b.properties.is_active][0]
print("active", active.id, backups.clusters_backups_find_by_id(active.id).properties.earliest_recovery_target_time.year > 2000)
t = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).replace(microsecond=0)
src = clusters.clusters_find_by_id(c.id).properties
props = io.CreateClusterProperties(
    postgres_version=src.postgres_version, instances=src.instances, cores=src.cores, ram=src.ram,
    storage_size=src.storage_size, storage_type=src.storage_type,
    connections=[io.Connection(datacenter_id=src.connections[0].datacenter_id, lan_id=src.connections[0].lan_id, cidr="192.168.1.130/24")],
    location=src.location, backup_location=src.backup_location, display_name="sdk-copy",
    maintenance_window=src.maintenance_window, synchronization_mode=src.synchronization_mode,
    credentials=io.DBUser(username="u", password="p-of-10-chars"),
    from_backup=io.CreateRestoreRequest(backup_id=active.id, recovery_target_time=t))
new = clusters.clusters_post(io.CreateClusterRequest(properties=props))
print("created", new.properties.display_name, new.metadata.state)
import time
while clusters.clusters_find_by_id(new.id).metadata.state != "AVAILABLE":
    time.sleep(0.1)
gone = clusters.clusters_delete(new.id)
print("deleting", clusters.clusters_find_by_id(new.id).metadata.state)
for _ in range(100):
    try:
        clusters.clusters_find_by_id(new.id)
        time.sleep(0.1)
    except io.ApiException as e:
        print("deleted", e.status)
        break
io.RestoresApi(api).cluster_restore_post(c.id, io.CreateRestoreRequest(backup_id=active.id, recovery_target_time=t))
print("restoring", clusters.clusters_find_by_id(c.id).metadata.state)
try:
    io.ClustersApi(io.ApiClient(io.Configuration(host=sys.argv[1] + "/ionos", username="ops@example.com", password="wrong"))).clusters_get()
except io.ApiException as e:
    print("refused", e.status)
"#,
    )
    .unwrap();
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(env.sim.url())
        .arg(PROVIDER_SECRETS[0])
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "{run:?}");
    for want in [
        &format!("cluster {IONOS_CLUSTER} shop-production AVAILABLE"),
        "page 1 /clusters/backups?offset=1&limit=1",
        &format!("active {IONOS_CLUSTER}-4oymiqu-12 True"),
        "created sdk-copy BUSY",
        "deleting DESTROYING",
        "deleted 404",
        "restoring BUSY",
        "refused 401",
    ] {
        assert!(run.stdout.contains(want), "{want}: {run:?}");
    }
}

/// The id of the Bridge fork named `name` in the simulator.
fn fork_id(env: &Env, name: &str) -> String {
    env.sim
        .sim
        .clusters()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fork {name}"))
        .id
}

#[test]
fn a_wait_has_a_limit_and_says_the_provider_goes_on() {
    let env = env_with(state(20_000), "");
    let target = at(1.0);
    let started = std::time::Instant::now();
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "slow-copy",
        "--wait-timeout",
        "2s",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let id = fork_id(&env, "slow-copy");
    assert!(
        run.error_line().contains(&format!(
            "bridgerest stopped waiting after 2s (--wait-timeout, api.wait_timeout): Crunchy Bridge may still be working on cluster {id}; follow it with"
        )),
        "{run:?}"
    );
    assert!(!run.stdout.contains("ready:"), "{run:?}");
    // The limit from the config, and a bad one named.
    std::fs::write(
        &env.config,
        env.providers_config("").replace(
            "timeout = \"5s\"",
            "timeout = \"5s\"\nwait_timeout = \"never\"",
        ),
    )
    .unwrap();
    env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "x",
    ])
    .assert_error(2, "api.wait_timeout");
}

#[test]
fn a_fork_that_leaves_creating_for_anything_but_ready_fails_naming_it() {
    let env = env_with(state(300), "");
    let target = at(1.0);
    for (state, says) in [
        (
            "destroying",
            "state destroying: the cluster is being deleted",
        ),
        // `restarting` is transient (cb 3.6.4 knows it): waited through, below.
        (
            "suspended",
            "state suspended: the cluster is suspended (its disk is kept, no server runs); resume it in the Crunchy Bridge dashboard to use it, or delete it",
        ),
    ] {
        env.sim.sim.set_faults(vec![fault(
            "/forks",
            "POST",
            1,
            FaultKind::ForkEnds {
                state: state.into(),
            },
        )]);
        let name = format!("copy-{state}");
        let run = env.run(&[
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target-time",
            &target,
            "--into",
            &name,
        ]);
        assert_eq!(run.code, 1, "{run:?}");
        let id = fork_id(&env, &name);
        assert!(
            run.error_line().contains(&format!(
                "the restore into cluster {id} failed at Crunchy Bridge: {says}"
            )),
            "{run:?}"
        );
        assert!(!run.stdout.contains("ready:"), "{run:?}");
    }
    // A state Bridge does not document is not progress: waited through a while, then named.
    env.sim.sim.set_faults(vec![fault(
        "/forks",
        "POST",
        1,
        FaultKind::ForkEnds {
            state: "migrating".into(),
        },
    )]);
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "copy-migrating",
        "--wait-timeout",
        "4s",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.error_line()
            .contains("has been in state migrating for 2.")
            && run
                .error_line()
                .contains(" s, which Crunchy Bridge does not document as progress"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("migrating (not a documented state)"),
        "{run:?}"
    );
}

/// The states bridgerest reported for cluster `id` while it waited, in order (one line each
/// when stderr is not a terminal: `cluster ID: STATE (TIME)`), each checked to be shown as
/// progress (a state that is not is followed by "(not a documented state)").
fn states_seen(run: &Run, id: &str) -> Vec<String> {
    let lead = format!("cluster {id}: ");
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&lead))
        .map(|rest| {
            let (state, time) = rest.split_once(" (").unwrap_or((rest, ""));
            assert!(
                time.starts_with(|c: char| c.is_ascii_digit()) && time.ends_with(')'),
                "{state} is not shown as progress: {run:?}"
            );
            state.to_string()
        })
        .collect()
}

fn steps(steps: &[(&str, u64)]) -> Option<Vec<ForkStep>> {
    Some(
        steps
            .iter()
            .map(|(s, ms)| ForkStep {
                state: s.to_string(),
                ms: *ms,
            })
            .collect(),
    )
}

#[test]
fn a_bridge_fork_passes_through_every_progress_state_and_ends_ready() {
    // Each state long enough for one of bridgerest's looks (at 0, 0.5, 1.25, 2.4, 4.1 and
    // 6.6 s) to fall well inside it.
    let mut st = state(1500);
    st.fork_states = steps(&[
        ("creating", 900),
        ("restoring", 900),
        ("replaying", 1400),
        ("finalizing", 2100),
    ]);
    let env = env_with(st, "");
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &at(1.0),
        "--into",
        "walked-copy",
        "--wait-timeout",
        "60s",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let id = fork_id(&env, "walked-copy");
    assert_eq!(
        states_seen(&run, &id),
        ["creating", "restoring", "replaying", "finalizing"],
        "{run:?}"
    );
    let ready = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("ready: cluster {id} \"walked-copy\", host ")))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(ready.contains(" after "), "{ready}");
}

#[test]
fn a_bridge_fork_restarting_on_its_way_is_waited_through() {
    let mut st = state(1500);
    st.fork_states = steps(&[
        ("creating", 400),
        ("restarting", 1200),
        ("finalizing", 1500),
    ]);
    let env = env_with(st, "");
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &at(1.0),
        "--into",
        "restarted-copy",
        "--wait-timeout",
        "60s",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let id = fork_id(&env, "restarted-copy");
    assert_eq!(
        states_seen(&run, &id),
        ["creating", "restarting", "finalizing"],
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!("ready: cluster {id} ")),
        "{run:?}"
    );
}

#[test]
fn a_bridge_fork_suspended_or_going_away_ends_the_wait_at_once_naming_the_state() {
    let env = env_with(state(300), "");
    let target = at(1.0);
    // The fork ends in the state instead of ready (a fork_ends fault). The undocumented-state
    // grace would be 30 s here (half the --wait-timeout): the wait must end well before.
    for (state, says) in [
        (
            "suspended",
            "state suspended: the cluster is suspended (its disk is kept, no server runs)",
        ),
        (
            "suspending",
            "state suspending: the cluster is being suspended",
        ),
    ] {
        env.sim.sim.set_faults(vec![fault(
            "/forks",
            "POST",
            1,
            FaultKind::ForkEnds {
                state: state.into(),
            },
        )]);
        let name = format!("ends-{state}");
        let started = std::time::Instant::now();
        let run = env.run(&[
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target-time",
            &target,
            "--into",
            &name,
            "--wait-timeout",
            "60s",
        ]);
        assert_eq!(run.code, 1, "{run:?}");
        let id = fork_id(&env, &name);
        assert!(
            run.error_line().contains(&format!(
                "the restore into cluster {id} failed at Crunchy Bridge: {says}"
            )),
            "{run:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}: {run:?}",
            started.elapsed()
        );
        assert!(!run.stdout.contains("ready:"), "{run:?}");
    }
    // A fork put into `destroying` part way (someone deleted it in the dashboard).
    let mut st = state(1500);
    st.fork_states = steps(&[("creating", 300), ("restoring", 30_000)]);
    let env = env_with(st, "");
    let sim = env.sim.sim.clone();
    let dropper = std::thread::spawn(move || {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(20) {
            if let Some(c) = sim.clusters().into_iter().find(|c| c.name == "dropped") {
                if c.state.as_deref() == Some("restoring") {
                    sim.set_cluster_state(&c.id, Some("destroying"));
                    return true;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    });
    let started = std::time::Instant::now();
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "dropped",
        "--wait-timeout",
        "60s",
    ]);
    assert!(dropper.join().unwrap(), "the fork was never seen restoring");
    let id = fork_id(&env, "dropped");
    run.assert_error(
        1,
        &format!(
            "the restore into cluster {id} failed at Crunchy Bridge: state destroying: the cluster is being deleted"
        ),
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn an_in_place_restore_is_ready_only_once_it_was_seen_restoring() {
    // The cluster shows nothing for 1.5 s after the restore is accepted, then restores.
    let mut st = state(1000);
    st.restore_start_ms = 1500;
    let env = env_with(st, "");
    let target = at(1.0);
    for id in [IONOS_CLUSTER, LAUNCHER_DB] {
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target-time",
            &target,
            "--in-place",
            "--confirm",
            id,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr
                .contains("ready; waiting for the restore to start"),
            "{run:?}"
        );
        // It was seen working before it was called ready.
        let working = run
            .stderr
            .find(if id == IONOS_CLUSTER {
                ": BUSY ("
            } else {
                ": restoring ("
            })
            .unwrap_or_else(|| panic!("never seen restoring: {run:?}"));
        assert!(working < run.stderr.len(), "{run:?}");
        assert!(
            run.stdout.contains(&format!("ready: cluster {id} ")),
            "{run:?}"
        );
    }
    // A restore that never shows: no `ready:` on a guess.
    let mut st = state(1000);
    st.restore_start_ms = 600_000;
    let env = env_with(st, "");
    let run = env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target-time",
        &target,
        "--in-place",
        "--confirm",
        LAUNCHER_DB,
        "--wait-timeout",
        "4s",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.error_line()
            .contains("Launcher accepted the restore but bridgerest saw no sign of it"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("ready:"), "{run:?}");
}

#[test]
fn a_launcher_restore_into_a_side_database_is_switched_to_only_when_asked() {
    let mut st = state(500);
    st.launcher.as_mut().unwrap().pitr_side = true;
    let env = env_with(st, "");
    let target = at(1.0);
    let base = [
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target-time",
        &target,
        "--in-place",
        "--confirm",
        LAUNCHER_DB,
    ];
    let run = env.run(&base);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("restored:  into database ")
            && run
                .stdout
                .contains(&format!("\"billing-pitr\" beside cluster {LAUNCHER_DB}")),
        "{run:?}"
    );
    assert!(
        run.error_line().contains(&format!(
            "cluster {LAUNCHER_DB} is not rolled back yet: Launcher restored it into database "
        )) && run.error_line().contains(&format!(
            "switch with `bridgerest restore --cluster {LAUNCHER_DB} --in-place --confirm {LAUNCHER_DB} --switch`"
        )),
        "{run:?}"
    );
    assert!(!run.stdout.contains("ready:"), "{run:?}");
    let source = |env: &Env| {
        env.sim
            .sim
            .launcher_databases()
            .into_iter()
            .find(|d| d.id == LAUNCHER_DB)
            .unwrap()
    };
    assert!(
        source(&env).restored_from.is_none(),
        "production was not rolled back"
    );
    // The offered command switches (no new restore); then the source runs the restored data.
    let run = env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--in-place",
        "--confirm",
        LAUNCHER_DB,
        "--switch",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("switch:    POST "), "{run:?}");
    assert!(run.stderr.contains(": switching ("), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("ready: cluster {LAUNCHER_DB} \"billing\"")),
        "{run:?}"
    );
    assert!(source(&env).restored_from.is_some());
    assert_eq!(
        env.requests("POST /launcher/sim-tenant/api/v1/databases/{id}/pitr"),
        1
    );
    // --switch with the restore does both; --switch elsewhere is refused by name.
    let mut both = base.to_vec();
    both.push("--switch");
    let run = env.run(&both);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("restored:  into database ") && run.stdout.contains("ready: cluster "),
        "{run:?}"
    );
    env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--in-place",
        "--confirm",
        IONOS_CLUSTER,
        "--switch",
    ])
    .assert_error(2, "--switch is for Launcher");
}

/// The JSON body a dry run printed after `request:`.
fn planned_body(stdout: &str) -> serde_json::Value {
    let body: String = stdout
        .lines()
        .skip_while(|l| !l.starts_with("  request: "))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{}\n", &l[4..]))
        .collect();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn an_ionos_copy_gets_its_own_connection_and_fits_the_apis_limits() {
    let env = env_with(state(300), "");
    let full = env.providers_config("");
    let target = at(1.0);
    let into = |extra: &[&str]| {
        let mut a = vec![
            "restore",
            "--cluster",
            IONOS_CLUSTER,
            "--target-time",
            &target,
            "--into",
            "c1",
        ];
        a.extend(extra);
        env.run(&a)
    };
    // Without a connection (no flags, no [ionos] defaults): refused, the source's named.
    let bare: String = full
        .lines()
        .filter(|l| {
            !["datacenter_id", "lan_id", "cidr"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&env.config, &bare).unwrap();
    let run = into(&[]);
    run.assert_error(2, "a new IONOS cluster needs its own connection: give --datacenter ID --lan ID --cidr ADDR/PREFIX (or [ionos] datacenter_id, lan_id, cidr)");
    assert!(
        run.error_line().contains("the source's is datacenter b2d7f7d1-34c1-4bd6-9c36-9b1e5b0c7a11, LAN 2, 192.168.1.100/24"),
        "{run:?}"
    );
    into(&[
        "--datacenter",
        "dc-1",
        "--lan",
        "3",
        "--cidr",
        "10.233.64.5/24",
    ])
    .assert_error(2, "is in 10.233.64.0/18, which IONOS keeps for itself");
    into(&[
        "--datacenter",
        "dc-1",
        "--lan",
        "3",
        "--cidr",
        "192.168.7.5",
    ])
    .assert_error(2, "is not ADDR/PREFIX");
    // The flags are sent as the connection, nothing of the source's.
    let run = into(&[
        "--datacenter",
        "dc-1",
        "--lan",
        "3",
        "--cidr",
        "192.168.7.5/24",
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        planned_body(&run.stdout)["properties"]["connections"],
        json!([{"datacenterId": "dc-1", "lanId": "3", "cidr": "192.168.7.5/24"}])
    );
    // [ionos]'s defaults are for the source's location: another region needs the flags.
    std::fs::write(&env.config, &full).unwrap();
    into(&["--region", "de/txl"])
        .assert_error(2, "--region de/txl moves the new cluster out of de/fra: give --datacenter, --lan and --cidr of a datacenter in de/txl");
    // The API's limits, with the allowed range.
    into(&["--storage", "1"]).assert_error(
        2,
        "storageSize 1024 MB (--storage 1 GB): IONOS allows 2048 to 2097152 MB (--storage 2 to 2048)",
    );
    into(&["--storage", "4096"]).assert_error(2, "storageSize 4194304 MB");
    std::fs::write(
        &env.config,
        full.replace(
            "db_username = \"restore_admin\"",
            "db_username = \"postgres\"",
        ),
    )
    .unwrap();
    into(&[]).assert_error(
        2,
        "database user \"postgres\" (ionos.db_username): IONOS keeps postgres, admin",
    );
    assert_eq!(env.requests("POST /ionos/clusters"), 0);
    std::fs::write(&env.config, &full).unwrap();
    let run = into(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // An address another cluster has: the API's 422, shown as it said it.
    let run = env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "c2",
        "--cidr",
        "192.168.1.100/24",
    ]);
    run.assert_error(1, "422");
    assert!(
        run.error_line().contains(&format!(
            "The IP address 192.168.1.100 is already used by cluster {IONOS_CLUSTER} in LAN 2"
        )),
        "{run:?}"
    );
}

#[test]
fn an_ionos_target_only_an_older_chain_covers_restores_from_that_chain() {
    let env = env_with(state(300), "");
    let old = at(20.0);
    let run = env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &old,
        "--into",
        "before-upgrade",
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let chain = format!("{IONOS_CLUSTER}-4oymiqu-11");
    assert!(
        run.stdout
            .contains(&format!("  chain:   {chain} (inactive, PostgreSQL 14, ")),
        "{run:?}"
    );
    let body = planned_body(&run.stdout);
    assert_eq!(body["properties"]["fromBackup"]["backupId"], json!(chain));
    assert_eq!(body["properties"]["postgresVersion"], json!("14"));
    let run = env.run(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &old,
        "--into",
        "before-upgrade",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let made = env
        .sim
        .sim
        .ionos_clusters()
        .into_iter()
        .find(|c| c.name == "before-upgrade")
        .unwrap();
    assert_eq!(made.postgres_version, "14");
    assert_eq!(made.restored_from.unwrap()["backupId"], json!(chain));
    // In place, the cluster runs 15: a 14 chain cannot restore over it.
    env.run(&[
        "restore", "--cluster", IONOS_CLUSTER, "--target-time", &old, "--in-place", "--confirm",
        IONOS_CLUSTER,
    ])
    .assert_error(2, &format!("is covered by backup chain {chain} of PostgreSQL 14, but cluster {IONOS_CLUSTER} runs PostgreSQL 15"));
}

/// bridgerest's own IONOS request bodies, read by the official SDK's models with client-side
/// validation on (types, enums, ranges), and every field checked against the model's
/// attributes: a misspelt field, a wrong type or an out-of-range value fails.
#[test]
fn the_official_ionos_sdk_accepts_bridgerests_request_bodies() {
    let env = env_with(state(300), "");
    let mut bodies = Vec::new();
    for (target, flags, model) in [
        (
            "time",
            vec!["--into", "sdk-checked", "--storage", "30"],
            "CreateClusterRequest",
        ),
        (
            "time",
            vec!["--in-place", "--confirm", IONOS_CLUSTER],
            "CreateRestoreRequest",
        ),
        // `--target latest`: no recoveryTargetTime ("if empty, the backup will be applied
        // completely").
        (
            "latest",
            vec!["--into", "sdk-checked"],
            "CreateClusterRequest",
        ),
        (
            "latest",
            vec!["--in-place", "--confirm", IONOS_CLUSTER],
            "CreateRestoreRequest",
        ),
    ] {
        let time = at(1.0);
        let mut args = vec!["restore", "--cluster", IONOS_CLUSTER];
        match target {
            "latest" => args.extend(["--target", "latest"]),
            _ => args.extend(["--target-time", &time]),
        }
        args.extend(flags);
        args.push("--dry-run");
        let run = env.run(&args);
        assert_eq!(run.code, 0, "{run:?}");
        bodies.push(json!({"model": model, "body": planned_body(&run.stdout)}));
    }
    // A drill's copy, as small as the API model allows (its connection fails: the plain
    // simulator's copies are no servers; the body it was created with is what counts).
    let reports = env.path("reports");
    std::fs::write(
        &env.config,
        env.providers_config(&format!(
            "\n[drill]\nreports = \"{}\"\namcheck = false\n",
            reports.display()
        )),
    )
    .unwrap();
    let time = at(1.0);
    let drill = env.run(&["drill", "--cluster", IONOS_CLUSTER, "--target", &time]);
    assert_eq!(drill.code, 1, "{drill:?}");
    let created = env.sim.sim.ionos_create_requests();
    let smallest = created.last().unwrap();
    assert_eq!(smallest["properties"]["cores"], 1, "{smallest:#}");
    assert_eq!(smallest["properties"]["ram"], 2048, "{smallest:#}");
    bodies.push(json!({"model": "CreateClusterRequest", "body": smallest}));
    // Models made while deserializing take a fresh Configuration, whose client-side validation
    // is off by default: turned on for every one. The SDK does not check enum values when it
    // reads a body: `check` does, and that every field is the model's, at any depth.
    let cases = env.path("bodies.json");
    std::fs::write(&cases, serde_json::to_string(&bodies).unwrap()).unwrap();
    let run = sdk_run(
        &env,
        r#"plain_init = io.configuration.Configuration.__init__
def validating_init(self, *a, **k):
    plain_init(self, *a, **k)
    self.client_side_validation = True
io.configuration.Configuration.__init__ = validating_init
client = io.ApiClient(io.Configuration())
assert io.Configuration().client_side_validation
class Answer:
    def __init__(self, data): self.data = data
for case in json.load(open(sys.argv[1])):
    bad = []
    check(case["body"], case["model"], "(root)", bad, {}, True)
    assert not bad, f"{case['model']}: not in the model: {bad}"
    obj = client.deserialize(Answer(json.dumps(case["body"])), case["model"])
    print("valid", case["model"], type(obj).__name__)
"#,
        &[&cases.display().to_string()],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("valid CreateClusterRequest CreateClusterRequest"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("valid CreateRestoreRequest CreateRestoreRequest"),
        "{run:?}"
    );
    assert_eq!(run.stdout.matches("valid ").count(), 5, "{run:?}");
}

/// The official IONOS SDK's Python, as `.ci/run` installs it.
fn sdk_python() -> std::path::PathBuf {
    let tools = std::env::var_os("BRIDGEREST_TEST_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/opt/bridgerest-test-tools".into());
    let python = tools.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: run `bash .ci/run`",
        python.display()
    );
    python
}

/// Runs `script` with the SDK's Python and `args`; its output.
fn sdk_run(env: &Env, script: &str, args: &[&str]) -> Run {
    let path = env.path("sdk-check.py");
    std::fs::write(&path, format!("{SDK_WALK}\n{script}")).unwrap();
    Run::from(
        std::process::Command::new(sdk_python())
            .arg(&path)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A walk over the official SDK's models (the start of the scripts that use it): `ENUMS`, every
/// enum the installed models have (`allowable_values`, the wire values) by the model's name,
/// and `check`, which holds a JSON value to a model: every enum value in it, and with `strict`
/// every field name. Where the installed Python SDK (ionoscloud-dbaas-postgres 1.2.0, 2023)
/// predates a part of the model that the Go SDK documents (sdk-go-dbaas-postgres 1.1.3 and
/// later: `connectionPooler` in `ClusterProperties` and `CreateClusterProperties`,
/// `ConnectionPooler`, `PoolMode`), the Go model's stands in, and only then.
const SDK_WALK: &str = r#"import inspect, json, sys
import ionoscloud_dbaas_postgres as io
from ionoscloud_dbaas_postgres import models
SDK_ENUMS = {n: list(c.allowable_values) for n, c in inspect.getmembers(models, inspect.isclass)
             if hasattr(c, "allowable_values")}
GO_FIELDS = {"ClusterProperties": {"connectionPooler": "ConnectionPooler"},
             "CreateClusterProperties": {"connectionPooler": "ConnectionPooler"}}
GO_MODELS = {"ConnectionPooler": {"enabled": "bool", "poolMode": "PoolMode"}}
GO_ENUMS = {n: v for n, v in {"PoolMode": ["transaction", "session"]}.items() if n not in SDK_ENUMS}
ENUMS = dict(GO_ENUMS, **SDK_ENUMS)
def fields(cls):
    model = getattr(models, cls, None)
    if model is not None and model.openapi_types:
        f = {model.attribute_map[a]: t for a, t in model.openapi_types.items()}
        for k, t in GO_FIELDS.get(cls, {}).items():
            f.setdefault(k, t)
        return f
    return GO_MODELS.get(cls)
def check(value, cls, path, out, seen, strict):
    if isinstance(cls, str) and cls.startswith("list["):
        for i, v in enumerate(value or []):
            check(v, cls[5:-1], f"{path}[{i}]", out, seen, strict)
        return
    if cls in ENUMS:
        seen.setdefault(cls, set()).add(value)
        if value not in ENUMS[cls]:
            out.append(f"{path} = {value!r} is not a {cls} ({', '.join(ENUMS[cls])})")
        return
    f = fields(cls) if isinstance(cls, str) else None
    if f is None or not isinstance(value, dict):
        return
    for k, v in value.items():
        if k in f:
            check(v, f[k], f"{path}.{k}", out, seen, strict)
        elif strict:
            out.append(f"{path}.{k} is not a field of {cls}")
def reachable(cls, found):
    """The enums a model's fields name, at any depth."""
    if isinstance(cls, str) and cls.startswith("list["):
        return reachable(cls[5:-1], found)
    if cls in ENUMS:
        found.add(cls)
    elif cls not in found:
        found.add(cls)
        for t in (fields(cls) or {}).values():
            reachable(t, found)
    return {c for c in found if c in ENUMS}
"#;

/// Every enum bridgerest accepts in what it copies and sends, or reads (`metadata.state`), and
/// every enum the simulator checks in a create request, is exactly the official SDK's model of
/// the same name (the wire values: "SSD Premium", not `SSD_PREMIUM`); every enum of the create
/// request's model is among them; and everything the simulator serves holds only the model's
/// values, its sample clusters on current storage types (two, not the deprecated "SSD").
#[test]
fn ionos_enums_are_the_official_sdks_wire_values() {
    let env = env_with(state(300), "");
    let run = sdk_run(
        &env,
        r#"import base64, urllib.request
base, auth = sys.argv[1], base64.b64encode(sys.argv[2].encode()).decode()
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Basic " + auth})
    return json.load(urllib.request.urlopen(req))
bad, seen = [], {}
lst = get("/clusters")
check(lst, "ClusterList", "GET /clusters", bad, seen, False)
for c in lst["items"]:
    check(get(f"/clusters/{c['id']}"), "ClusterResponse", f"GET /clusters/{c['id']}", bad, seen, False)
    check(get(f"/clusters/{c['id']}/backups"), "ClusterBackupList", f"GET /clusters/{c['id']}/backups", bad, seen, False)
check(get("/clusters/backups"), "ClusterBackupList", "GET /clusters/backups", bad, seen, False)
print(json.dumps({"sdk": SDK_ENUMS, "go": GO_ENUMS, "bad": bad,
                  "create": sorted(reachable("CreateClusterProperties", set())),
                  "served": {k: sorted(v) for k, v in seen.items()}}))
"#,
        &[
            &format!("{}/ionos", env.sim.url()),
            &format!("ops@example.com:{}", PROVIDER_SECRETS[0]),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let set = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let model = |name: &str| {
        let v = &out["sdk"][name];
        set(if v.is_null() { &out["go"][name] } else { v })
    };
    assert!(
        out["sdk"]["StorageType"].is_array(),
        "the SDK's models have StorageType: {out}"
    );
    let ours = |table: &[(&str, &[&str])]| -> Vec<String> {
        table.iter().map(|(n, _)| n.to_string()).collect()
    };
    for (who, table) in [
        ("bridgerest", bridgerest::provider::ionos::ENUMS),
        ("the simulator", bridgerest::sim::ionos::ENUMS),
    ] {
        for (name, values) in table {
            let values: std::collections::BTreeSet<String> =
                values.iter().map(|s| s.to_string()).collect();
            assert_eq!(values, model(name), "{who}'s {name} is not the model's");
        }
        // Every enum of a create request's properties is checked (both sides).
        for name in set(&out["create"]) {
            assert!(
                ours(table).contains(&name),
                "{who} does not check the create request's {name}"
            );
        }
    }
    // bridgerest reads `metadata.state` too; of the model's enums only ResourceType (`type`,
    // which it never reads or sends) is not its business.
    for name in out["sdk"].as_object().unwrap().keys() {
        assert!(
            ours(bridgerest::provider::ionos::ENUMS).contains(name) || name == "ResourceType",
            "the SDK's {name} is held to nothing in bridgerest"
        );
    }
    assert_eq!(
        out["bad"],
        json!([]),
        "the simulator serves values outside the model"
    );
    let storage = set(&out["served"]["StorageType"]);
    assert!(
        storage.len() >= 2 && !storage.contains("SSD"),
        "the sample is on current storage types, two of them at least: {storage:?}"
    );
    assert!(
        !set(&out["served"]["PoolMode"]).is_empty(),
        "the sample serves a connectionPooler: {out}"
    );
}

/// A cluster on "SSD Premium" storage with a connection pooler (the sample's) restores into a
/// new cluster: the create request carries the wire value and the pooler, and the simulated API
/// (which refuses any other spelling) makes the cluster. A cluster on "SSD Standard" without a
/// pooler makes a request without one.
#[test]
fn an_ionos_cluster_on_ssd_premium_restores_into_a_copy_with_its_pooler() {
    let env = env_with(state(300), "");
    let target = at(1.0);
    let args = [
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "premium-copy",
    ];
    let run = env.run(&[&args[..], &["--dry-run"]].concat());
    assert_eq!(run.code, 0, "{run:?}");
    let body = planned_body(&run.stdout);
    assert_eq!(body["properties"]["storageType"], json!("SSD Premium"));
    assert_eq!(
        body["properties"]["connectionPooler"],
        json!({"enabled": true, "poolMode": "transaction"})
    );
    let run = env.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("ready: cluster ") && run.stdout.contains("\"premium-copy\""),
        "{run:?}"
    );
    // The new cluster as the API now describes it.
    let run = env.run(&["clusters", "--provider", "ionos", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let made = list
        .iter()
        .find(|c| c["properties"]["displayName"] == "premium-copy")
        .unwrap_or_else(|| panic!("{list:?}"));
    assert_eq!(made["metadata"]["state"], "AVAILABLE");
    assert_eq!(made["properties"]["storageType"], "SSD Premium");
    assert_eq!(
        made["properties"]["connectionPooler"],
        json!({"enabled": true, "poolMode": "transaction"})
    );
    let staging = list
        .iter()
        .find(|c| c["properties"]["displayName"] == "shop-staging")
        .unwrap_or_else(|| panic!("the sample has a second IONOS cluster: {list:?}"));
    let run = env.run(&[
        "restore",
        "--cluster",
        staging["id"].as_str().unwrap(),
        "--target-time",
        &target,
        "--into",
        "staging-copy",
        "--provider",
        "ionos",
        "--cidr",
        "192.168.1.140/24",
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let body = planned_body(&run.stdout);
    assert_eq!(body["properties"]["storageType"], json!("SSD Standard"));
    assert!(
        body["properties"].get("connectionPooler").is_none(),
        "{body}"
    );
}

/// `--target latest` at IONOS: the newest chain (the active one) is applied whole, to its end:
/// `fromBackup` and the in-place restore name the chain and no `recoveryTargetTime`, and the
/// plan says so. Without an active chain the newest AVAILABLE one is taken; without any, it is
/// refused. Crunchy Bridge and Launcher still need a time.
#[test]
fn ionos_target_latest_applies_the_newest_chain_whole() {
    let env = env_with(state(300), "");
    let chain = format!("{IONOS_CLUSTER}-4oymiqu-12");
    let into = [
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target",
        "latest",
        "--into",
        "latest-copy",
    ];
    let run = env.run(&[&into[..], &["--dry-run"]].concat());
    assert_eq!(run.code, 0, "{run:?}");
    for want in [
        format!("Restore IONOS DBaaS cluster {IONOS_CLUSTER} to the end of its newest backup chain (latest) at the provider"),
        format!("  chain:   {chain} (active, PostgreSQL 15, "),
        "  applied: the whole chain, to its end (no target time is sent)".to_string(),
    ] {
        assert!(run.stdout.contains(&want), "{want}: {run:?}");
    }
    let body = planned_body(&run.stdout);
    assert_eq!(body["properties"]["fromBackup"], json!({"backupId": chain}));
    let run = env.run(&into);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("ready: cluster "), "{run:?}");
    let made = env
        .sim
        .sim
        .ionos_clusters()
        .into_iter()
        .find(|c| c.name == "latest-copy")
        .unwrap();
    assert_eq!(made.state, "AVAILABLE");
    assert_eq!(made.restored_from, Some(json!({"backupId": chain})));

    // In place.
    let in_place = [
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target",
        "latest",
        "--in-place",
        "--confirm",
        IONOS_CLUSTER,
    ];
    let run = env.run(&[&in_place[..], &["--dry-run"]].concat());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("is overwritten with its state at the end of that chain"),
        "{run:?}"
    );
    assert_eq!(planned_body(&run.stdout), json!({"backupId": chain}));
    let run = env.run(&in_place);
    assert_eq!(run.code, 0, "{run:?}");
    let src = env
        .sim
        .sim
        .ionos_clusters()
        .into_iter()
        .find(|c| c.id == IONOS_CLUSTER)
        .unwrap();
    assert_eq!(src.restored_from, Some(json!({"backupId": chain})));

    // Crunchy Bridge and Launcher restore to `latest` too now (#31 item 3; they refused it
    // before): see restore_into_target_latest_at_every_server_side_provider.
    for id in [S3_CLUSTER, LAUNCHER_DB] {
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target",
            "latest",
            "--into",
            "x",
            "--dry-run",
        ]);
        assert_eq!(run.code, 0, "{run:?}");
    }

    // No active chain: the newest AVAILABLE one; none: refused, nothing sent.
    let mut st = state(300);
    st.ionos.as_mut().unwrap().clusters[0].chains[1].active = false;
    let env = env_with(st, "");
    let run = env.run(&[&into[..], &["--dry-run"]].concat());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("  chain:   {chain} (inactive, PostgreSQL 15, ")),
        "{run:?}"
    );
    let mut st = state(300);
    for c in &mut st.ionos.as_mut().unwrap().clusters[0].chains {
        c.state = "BUSY".into();
    }
    let env = env_with(st, "");
    env.run(&into).assert_error(
        2,
        "there is no recovery window yet (no AVAILABLE backup chain of cluster",
    );
    assert_eq!(env.requests("POST /ionos/clusters"), 0);
}

/// The cluster list pages by `links` (the model's `ClusterList`), as the backup lists do:
/// bridgerest and the official SDK both follow `links.next` across three pages.
#[test]
fn the_ionos_cluster_list_pages_by_links() {
    let mut st = state(300);
    let io = st.ionos.as_mut().unwrap();
    let proto = io.clusters[0].clone();
    let mut i = 0;
    while io.clusters.len() < 250 {
        let mut c = proto.clone();
        c.id = format!("00000000-0000-4000-8000-{i:012}");
        c.name = format!("shop-{i:03}");
        c.chains = vec![];
        c.connection = json!({"datacenterId": "b2d7f7d1-34c1-4bd6-9c36-9b1e5b0c7a11", "lanId": "2",
                               "cidr": format!("10.1.{}.{}/16", i / 200, i % 200 + 1)});
        io.clusters.push(c);
        i += 1;
    }
    let env = env_with(st, "");
    let run = env.run(&["clusters", "--provider", "ionos", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list.len(), 250);
    assert_eq!(env.requests("GET /ionos/clusters"), 3);
    let run = sdk_run(
        &env,
        r#"api = io.ClustersApi(io.ApiClient(io.Configuration(host=sys.argv[1], username="ops@example.com", password=sys.argv[2])))
pages, items, offset = 0, 0, 0
while True:
    lst = api.clusters_get(limit=100, offset=offset)
    pages, items = pages + 1, items + len(lst.items)
    if lst.links is None or lst.links.next is None:
        break
    offset += 100
print("pages", pages, "items", items)
"#,
        &[&format!("{}/ionos", env.sim.url()), PROVIDER_SECRETS[0]],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("pages 3 items 250"), "{run:?}");
}

/// A time no backup can have: in UTC it is in year 10000, past the end of the `time` crate.
const FAR: &str = "9999-12-31T23:30:00-01:00";

#[test]
fn times_out_of_range_from_each_provider_are_refused_naming_the_field() {
    let mut st = state(500);
    // Bridge: the newest backup's finished_at.
    let mut backups = st.clusters[0].backups.clone();
    backups.last_mut().unwrap()["finished_at"] = json!(FAR);
    st.clusters[0].backups = backups;
    // IONOS: a backup chain's earliestRecoveryTargetTime; Launcher: a backup's completed_at.
    st.ionos.as_mut().unwrap().clusters[0].chains[0].earliest = FAR.into();
    let launcher = &mut st.launcher.as_mut().unwrap().databases[0];
    launcher.backups[0]["completed_at"] = json!(FAR);
    let env = env_with(st, "");
    let pg = env.path("pg");
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"{}\"\nstanza = \"main\"\n",
        pg.display()
    ));
    std::fs::write(&env.config, text).unwrap();
    let says = "is out of range: bridgerest accepts times from the years 1970 to 9000 (UTC)";
    // The field and the value, in one error line, exit 1 (never a panic's 101).
    let bridge = format!("`finished_at` {FAR} {says}");
    env.run(&["backups", S3_CLUSTER]).assert_error(1, &bridge);
    env.run(&["backups", S3_CLUSTER, "--json"])
        .assert_error(1, &bridge);
    for target in [vec!["--target", "latest"], vec!["--target-time", &at(1.0)]] {
        let run = env.run(
            &[
                &["restore", "--cluster", S3_CLUSTER, "--dry-run"][..],
                &target[..],
            ]
            .concat(),
        );
        run.assert_error(1, &bridge);
        assert!(!pg.exists(), "{run:?}");
    }
    env.run(&["backups", IONOS_CLUSTER]).assert_error(
        1,
        &format!("properties.`earliestRecoveryTargetTime` {FAR} {says}"),
    );
    env.run(&["backups", LAUNCHER_DB])
        .assert_error(1, &format!("field `completed_at` {FAR} {says}"));
    // A flag is input too.
    env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--dry-run",
        "--target-time",
        FAR,
    ])
    .assert_error(
        2,
        &format!("\"{FAR}\" is out of range: use a time from the years 1970 to 9000 (UTC)"),
    );
}

/// The id of the cluster a provider's simulator holds under `name` (Bridge, IONOS, Launcher).
fn made(env: &Env, name: &str) -> Option<String> {
    let sim = &env.sim.sim;
    sim.clusters()
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.id)
        .or_else(|| {
            sim.ionos_clusters()
                .into_iter()
                .find(|c| c.name == name)
                .map(|c| c.id)
        })
        .or_else(|| {
            sim.launcher_databases()
                .into_iter()
                .find(|d| d.name == name)
                .map(|d| d.id)
        })
}

/// The record of created clusters, as bridgerest wrote it.
fn record(env: &Env) -> serde_json::Value {
    let text = std::fs::read_to_string(env.path("state/created.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(json!({"clusters": []}))
}

fn recorded_ids(env: &Env) -> Vec<String> {
    record(env)["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// #31 item 3: `--target latest` at every provider that restores at the provider: a Bridge
/// fork without `target_time` (at the current time), an IONOS chain without
/// `recoveryTargetTime` (ionos_target_latest_applies_the_newest_chain_whole), a Launcher
/// database from its newest backup (pitr-clone to its finish; in place, `restore` of it).
#[test]
fn restore_into_target_latest_at_every_server_side_provider() {
    let env = env_with(state(600), "");
    let into = |id: &str, name: &str| {
        vec![
            "restore".to_string(),
            "--cluster".into(),
            id.into(),
            "--target".into(),
            "latest".into(),
            "--into".into(),
            name.into(),
        ]
    };
    let run_args = |v: &[String]| env.run(&v.iter().map(String::as_str).collect::<Vec<_>>());
    // Bridge: the plan says what latest is there, and sends no target_time.
    let mut dry = into(S3_CLUSTER, "latest-fork");
    dry.push("--dry-run".into());
    let run = run_args(&dry);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("Restore Crunchy Bridge cluster {S3_CLUSTER} to now (latest: a fork at the current time, no target_time is sent) at the provider")),
        "{run:?}"
    );
    let body = planned_body(&run.stdout);
    assert!(body.get("target_time").is_none(), "{body}");
    assert_eq!(body["name"], "latest-fork");
    let run = run_args(&into(S3_CLUSTER, "latest-fork"));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("ready: cluster "), "{run:?}");
    assert!(made(&env, "latest-fork").is_some());

    // Launcher: the newest finished backup's end, into a new database.
    let db = env
        .sim
        .sim
        .launcher_databases()
        .into_iter()
        .find(|d| d.id == LAUNCHER_DB)
        .unwrap();
    let newest = db
        .backups
        .iter()
        .max_by_key(|b| b["completed_at"].as_str().unwrap().to_string())
        .unwrap()
        .clone();
    let run = run_args(&into(LAUNCHER_DB, "billing-latest"));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "Restore Launcher cluster {LAUNCHER_DB} to the end of its newest backup (latest) at the provider"
        )),
        "{run:?}"
    );
    let copy = env
        .sim
        .sim
        .launcher_databases()
        .into_iter()
        .find(|d| d.name == "billing-latest")
        .unwrap();
    assert_eq!(copy.status, "running");
    assert_eq!(
        copy.restored_from.unwrap()["target_time"],
        newest["completed_at"]
    );
    // In place: `restore` of that backup, confirmed.
    let run = env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target",
        "latest",
        "--in-place",
        "--confirm",
        "billing",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        env.requests("POST /launcher/sim-tenant/api/v1/databases/{id}/restore"),
        1
    );
    let src = env
        .sim
        .sim
        .launcher_databases()
        .into_iter()
        .find(|d| d.id == LAUNCHER_DB)
        .unwrap();
    assert_eq!(
        src.restored_from,
        Some(json!({"backup_id": newest["id"].clone()}))
    );
    // Every cluster made is recorded as bridgerest's (the in-place one is not new).
    let ids = recorded_ids(&env);
    assert_eq!(ids.len(), 2, "{:?}", record(&env));
    assert!(ids.contains(&made(&env, "latest-fork").unwrap()));
    assert!(ids.contains(&made(&env, "billing-latest").unwrap()));
}

/// #31 item 2: `destroy` deletes only a cluster bridgerest created (else it names `--force`),
/// only with `--confirm` repeating its id or name (else nothing is sent), and waits through the
/// provider's state of deletion until the API answers 404; the record is root's, 0600, and
/// forgets the cluster. At each provider that deletes.
#[test]
fn destroy_deletes_only_what_bridgerest_created_and_waits_until_it_is_gone() {
    let mut st = state(300);
    st.delete_ms = 1200;
    let env = env_with(st, "");
    let target = at(1.0);
    for (id, name) in [
        (S3_CLUSTER, "scratch-fork"),
        (IONOS_CLUSTER, "scratch-ionos"),
        (LAUNCHER_DB, "scratch-launcher"),
    ] {
        let run = env.run(&[
            "restore",
            "--cluster",
            id,
            "--target-time",
            &target,
            "--into",
            name,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let file = env.path("state/created.json");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(mode_of(&file), 0o600);
    assert_eq!(meta.uid(), nix::unistd::Uid::effective().as_raw());
    let rec = record(&env);
    assert_eq!(rec["clusters"].as_array().unwrap().len(), 3, "{rec}");
    assert_eq!(rec["clusters"][0]["source"], S3_CLUSTER);
    assert_eq!(rec["clusters"][0]["name"], "scratch-fork");
    assert_eq!(rec["clusters"][0]["provider"], "bridge");

    // `clusters --created` lists them with their state now.
    let run = env.run(&["clusters", "--created"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("PROVIDER  ID"), "{run:?}");
    for name in ["scratch-fork", "scratch-ionos", "scratch-launcher"] {
        let id = made(&env, name).unwrap();
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(&id) && l.contains(name)),
            "{name}: {run:?}"
        );
    }

    // A cluster bridgerest did not create: refused, naming it and --force; nothing sent.
    let run = env.run(&["destroy", "--cluster", S3_CLUSTER, "--confirm", S3_CLUSTER]);
    run.assert_error(
        2,
        &format!(
            "Crunchy Bridge cluster {S3_CLUSTER} \"production\" was not created by bridgerest"
        ),
    );
    assert!(
        run.error_line().contains("add --force to delete it anyway"),
        "{run:?}"
    );
    // A wrong --confirm: refused before any DELETE.
    let fork = made(&env, "scratch-fork").unwrap();
    let run = env.run(&["destroy", "--cluster", &fork, "--confirm", "production"]);
    run.assert_error(
        2,
        &format!("--confirm production is not the cluster being deleted ({fork} \"scratch-fork\")"),
    );
    let deletes = |env: &Env| -> u64 {
        env.sim
            .sim
            .stats()
            .by_path
            .iter()
            .filter(|(k, _)| k.starts_with("DELETE"))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(deletes(&env), 0);

    // Its own: deleted, through the provider's state of deletion, until 404.
    for (name, confirm_by_name, deleting) in [
        ("scratch-fork", true, "destroying"),
        ("scratch-ionos", false, "DESTROYING"),
        ("scratch-launcher", true, "deleting"),
    ] {
        let id = made(&env, name).unwrap();
        let confirm = if confirm_by_name { name } else { id.as_str() };
        let started = std::time::Instant::now();
        let run = env.run(&["destroy", "--cluster", &id, "--confirm", confirm]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(1100),
            "it waited until the cluster was gone: {run:?}"
        );
        assert!(
            run.stderr.contains(&format!("cluster {id}: {deleting} (")),
            "the state of deletion is shown: {run:?}"
        );
        assert!(
            run.stdout.contains(&format!(
                "\"{name}\" is gone (the API no longer knows it: 404), after "
            )),
            "{run:?}"
        );
        assert!(made(&env, name).is_none(), "{name} is gone at the provider");
        assert!(!recorded_ids(&env).contains(&id), "{name} left the record");
    }
    assert_eq!(deletes(&env), 3);
    // The Bridge cluster deleted answers 404 now; one never seen still 403.
    assert_eq!(
        env.run(&["backups", &fork]).code,
        1,
        "a deleted cluster is not found"
    );

    // --force deletes one bridgerest did not create (IONOS's staging cluster).
    let staging = "7c0e5a43-9f2d-4b8e-a1c6-3d5f7e9b2c40";
    let run = env.run(&[
        "destroy",
        "--cluster",
        staging,
        "--provider",
        "ionos",
        "--confirm",
        "shop-staging",
        "--force",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("not created by bridgerest (--force)"),
        "{run:?}"
    );
    assert!(made(&env, "shop-staging").is_none());
}

/// `clusters --created`: a recorded cluster the provider no longer knows (404) is said and
/// dropped from the record; one Bridge hides (403: gone, or out of the key's reach) is kept
/// and said so. A record another user wrote is never trusted.
#[test]
fn clusters_created_drops_gone_ones_and_trusts_only_its_own_record() {
    let mut st = state(300);
    st.delete_ms = 300;
    let env = env_with(st, "");
    let target = at(1.0);
    for name in ["kept", "deleted", "hidden"] {
        let run = env.run(&[
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target-time",
            &target,
            "--into",
            name,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let (kept, deleted, hidden) = (
        made(&env, "kept").unwrap(),
        made(&env, "deleted").unwrap(),
        made(&env, "hidden").unwrap(),
    );
    let run = env.run(&[
        "destroy",
        "--cluster",
        &deleted,
        "--confirm",
        &deleted,
        "--no-wait",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("accepted: Crunchy Bridge is deleting cluster"),
        "{run:?}"
    );
    assert!(
        recorded_ids(&env).contains(&deleted),
        "kept until seen gone"
    );
    env.sim.sim.remove_cluster(&hidden);
    std::thread::sleep(std::time::Duration::from_millis(600));
    let run = env.run(&["clusters", "--created"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Crunchy Bridge cluster {deleted} \"deleted\" is gone (404): dropped from the record"
        )),
        "{run:?}"
    );
    assert!(!run.stdout.contains(&deleted), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(&kept) && l.ends_with("ready")),
        "{run:?}"
    );
    assert!(
        run.stdout.lines().any(|l| l.contains(&hidden)
            && l.contains("not visible (403: gone, or out of this key's reach)")),
        "{run:?}"
    );
    let ids = recorded_ids(&env);
    assert!(!ids.contains(&deleted) && ids.contains(&kept) && ids.contains(&hidden));
    let run = env.run(&["clusters", "--created", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["source"], S3_CLUSTER);

    // A record owned by another user is refused, and destroy says how to do without it.
    let file = env.path("state/created.json");
    std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
    let run = env.run(&["clusters", "--created"]);
    run.assert_error(
        1,
        "is owned by uid 65534: bridgerest trusts only a record it wrote itself",
    );
    env.run(&["destroy", "--cluster", &kept, "--confirm", "kept"])
        .assert_error(1, "(`destroy --force` does without it)");
}

/// #31 item 3: `backup` asks for a backup and says what the list shows since; `--wait` waits
/// for a backup newer than the request and names it. Bridge's documented no-op (a backup in
/// progress, or one requested recently) is reported as such, never as a backup started; a
/// `--wait` on it that sees nothing new times out saying so. Launcher names its backup;
/// IONOS and a self-managed repository are refused, saying why.
#[test]
fn backup_on_request_waits_for_a_newer_backup_and_reports_the_no_op() {
    let mut st = state(300);
    st.backup_duration_ms = 900;
    let env = env_with(st, "");
    let run = env.run(&["backup", "--cluster", S3_CLUSTER, "--wait"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "requested: a backup of Crunchy Bridge cluster {S3_CLUSTER} at "
        )) && run
            .stdout
            .contains("; Crunchy Bridge answered \"Backup started.\""),
        "{run:?}"
    );
    // Bridge lists a backup only once it has finished (seed 004), so nothing new is listed
    // right after the request; the wait sees it finished.
    assert!(
        !run.stdout.contains("started: backup ")
            && run
                .stdout
                .contains("no new backup is listed yet: Crunchy Bridge ignores a backup request"),
        "{run:?}"
    );
    let done = run
        .stdout
        .lines()
        .find(|l| l.starts_with("done: backup "))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(!done.contains("already running"), "{done}");
    let newest = env.sim.sim.backups(S3_CLUSTER).last().unwrap().clone();
    assert!(
        done.contains(newest["name"].as_str().unwrap()),
        "{done} names {newest}"
    );
    assert!(!newest["finished_at"].is_null());

    // Asked again at once: Bridge ignores it (requested recently); said so, never "started".
    let run = env.run(&["backup", "--cluster", S3_CLUSTER]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("started:"), "{run:?}");
    assert!(
        run.stdout.contains("no new backup is listed yet: Crunchy Bridge ignores a backup request while a backup is in progress or when one was requested recently")
            && run.stdout.contains("so this request may have been a no-op"),
        "{run:?}"
    );
    // With --wait it sees nothing newer, and says so when the wait ends.
    let run = env.run(&[
        "backup",
        "--cluster",
        S3_CLUSTER,
        "--wait",
        "--wait-timeout",
        "1s",
    ]);
    run.assert_error(
        1,
        "no backup newer than the request is listed finished after 1s (--wait-timeout, api.wait_timeout): Crunchy Bridge may not have started one",
    );

    // While a backup runs: the request is a no-op, and since Bridge does not list a running
    // backup, nothing says one runs; --wait reports the one the first request started when it
    // is listed finished.
    let run = env.run(&["backup", "--cluster", AZURE_CLUSTER]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("started: backup "), "{run:?}");
    let run = env.run(&["backup", "--cluster", AZURE_CLUSTER, "--wait"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("; Crunchy Bridge answered \"A backup is already in progress.\""),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("no new backup is listed yet: Crunchy Bridge ignores")
            && !run.stdout.contains("was already running"),
        "{run:?}"
    );
    let started: Vec<String> = env
        .sim
        .sim
        .backups(AZURE_CLUSTER)
        .iter()
        .filter(|b| b["lsn_start"] == "0/2000028")
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        started.len() == 1
            && run
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("done: backup {} finished at ", started[0]))),
        "one backup was started, not two, and --wait names it: {started:?} {run:?}"
    );
    assert_eq!(env.requests("PUT /clusters/{id}/actions/start-backup"), 5);

    // Launcher names its backup; --wait follows that one.
    let run = env.run(&["backup", "--cluster", LAUNCHER_DB, "--wait"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("(Launcher named it in its answer)"),
        "{run:?}"
    );
    assert!(run.stdout.contains("done: backup "), "{run:?}");
    assert_eq!(
        env.requests("POST /launcher/sim-tenant/api/v1/databases/{id}/backups"),
        1
    );

    // IONOS has no backup on request: refused, saying why; nothing is sent.
    let before = env.sim.sim.stats().requests;
    env.run(&["backup", "--cluster", IONOS_CLUSTER])
        .assert_error(
            2,
            "IONOS DBaaS takes no backup on request: its API has no such endpoint",
        );
    assert_eq!(env.sim.sim.stats().requests, before);
}

/// The `connect:` and `password:` lines of a ready restore.
fn way_in_lines(run: &Run) -> (String, String) {
    let line = |p: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(p))
            .unwrap_or_else(|| panic!("no {p} line: {run:?}"))
            .to_string()
    };
    (line("connect:   "), line("password:  "))
}

#[test]
fn a_restore_at_the_provider_prints_a_way_in_and_keeps_its_password_out_of_sight() {
    use std::os::unix::fs::PermissionsExt;
    let env = env_with(state(200), "");
    let target = at(2.0);
    let dir = env.config.parent().unwrap().to_path_buf();
    let into = |id: &str, name: &str, more: &[&str]| {
        let mut args = vec![
            "restore",
            "--cluster",
            id,
            "--target-time",
            &target,
            "--into",
            name,
        ];
        args.extend_from_slice(more);
        env.run(&args)
    };
    let pgpass = |file: &std::path::Path| {
        let meta = std::fs::metadata(file).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file:?}");
        std::fs::read_to_string(file).unwrap()
    };

    // Bridge: the application role's URI, from GET /clusters/{id}/roles/application; the
    // password goes to NAME.pgpass beside the config, which the output names.
    let run = into(S3_CLUSTER, "prod-copy", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let fork = fork_id(&env, "prod-copy");
    let (connect, password) = way_in_lines(&run);
    assert_eq!(
        connect,
        format!("connect:   psql \"host=p.{fork}.db.postgresbridge.com port=5432 dbname=postgres user=application sslmode=require\"")
    );
    let file = dir.join("prod-copy.pgpass");
    assert!(
        password.contains(&format!("in {} (a pgpass line, 0600)", file.display())),
        "{password}"
    );
    let line = pgpass(&file);
    let prefix = format!("p.{fork}.db.postgresbridge.com:5432:postgres:application:");
    let pw = line
        .trim_end()
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        env.sim.sim.issued_secrets().iter().any(|s| s == pw),
        "the role's own password"
    );
    assert_eq!(
        env.sim
            .sim
            .stats()
            .by_path
            .get("GET /clusters/{id}/roles/application"),
        Some(&1),
        "{:?}",
        env.sim.sim.stats().by_path
    );

    // --show-secrets prints it instead (and writes nothing); --role picks another role.
    let run = env.run_unscanned(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &target,
        "--into",
        "prod-copy-2",
        "--role",
        "postgres",
        "--show-secrets",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let (connect, password) = way_in_lines(&run);
    assert!(
        connect.contains(" user=postgres sslmode=require\""),
        "{connect}"
    );
    let shown = password.strip_prefix("password:  ").unwrap();
    assert!(
        env.sim.sim.issued_secrets().iter().any(|s| s == shown),
        "{password}"
    );
    assert!(!dir.join("prod-copy-2.pgpass").exists());

    // A role that is not one is refused before anything is created; so is --role where the
    // provider has no roles, and --show-secrets with --pgpass.
    let forks_before = env.sim.sim.clusters().len();
    into(S3_CLUSTER, "prod-copy-3", &["--role", "admin"])
        .assert_error(2, "--role \"admin\" is not a Crunchy Bridge role: give application, postgres, or u_<account id>");
    into(IONOS_CLUSTER, "shop-copy-3", &["--role", "postgres"]).assert_error(
        2,
        "--role is for Crunchy Bridge, whose API hands out a way in per role; IONOS",
    );
    let run = into(
        S3_CLUSTER,
        "prod-copy-3",
        &["--show-secrets", "--pgpass", "/root/x.pgpass"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        env.sim.sim.clusters().len(),
        forks_before,
        "nothing was created"
    );

    // IONOS: the new cluster's dnsName and the database user bridgerest created it with;
    // --pgpass names the file.
    let mine = dir.join("shop.pgpass");
    let run = into(
        IONOS_CLUSTER,
        "shop-copy",
        &["--pgpass", mine.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let (connect, password) = way_in_lines(&run);
    let copy = env
        .sim
        .sim
        .ionos_clusters()
        .into_iter()
        .find(|c| c.name == "shop-copy")
        .unwrap();
    assert!(
        connect.starts_with("connect:   psql \"host=pg-"),
        "{connect}"
    );
    assert!(
        connect.ends_with(" port=5432 dbname=postgres user=restore_admin sslmode=require\""),
        "{connect}"
    );
    assert!(password.contains(&mine.display().to_string()), "{password}");
    let line = pgpass(&mine);
    assert!(
        line.ends_with(&format!(
            ":5432:postgres:restore_admin:{}\n",
            PROVIDER_SECRETS[3]
        )),
        "{line}"
    );
    assert!(line.starts_with("pg-"), "{line} ({copy:?})");
    assert!(
        run.stdout
            .contains("note:      port 5432: the IONOS cluster answer names no port"),
        "{run:?}"
    );

    // Launcher: what its answer holds, and what it does not (no user, no password).
    let run = into(LAUNCHER_DB, "billing-copy", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let (connect, password) = way_in_lines(&run);
    assert!(
        connect.contains(".db.lnchr.cloud port=5432 sslmode=require\""),
        "{connect}"
    );
    assert_eq!(password, "password:  not handed out by the provider");
    assert!(
        run.stdout
            .contains("the database's answer held no user, password"),
        "{run:?}"
    );
    assert!(!dir.join("billing-copy.pgpass").exists());

    // A pgpass file in a directory others can write is not written; the restore stands and
    // says why.
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bad = open.path().join("x.pgpass");
    let run = into(
        S3_CLUSTER,
        "prod-copy-4",
        &["--pgpass", bad.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("connect:   not known: its password could not be written to"),
        "{run:?}"
    );
    assert!(!bad.exists());
}
