//! Drills at the provider against the simulator, with the real binary: the copy is made as
//! `restore --into` makes one and deleted on every way out (a failed check, a timeout, a
//! deletion that fails and is retried by the next drill), at most `drill.provider_copies` at a
//! time, and the report says what was and was not checked. The checks over a real connection
//! are in tests/sim_postgres.rs (the simulator's copies are real PostgreSQL servers there).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use bridgerest::sim::{sample_state, Fault, FaultKind, SimState};
use serde_json::Value;
use sim_only::pushgateway::Gateway;
use sim_only::*;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn days_ago(d: f64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::seconds_f64(d * 86400.0))
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

fn env(restore_ms: u64, drill: &str) -> Env {
    let mut st: SimState = sample_state(KEY, 0);
    st.restore_ms = restore_ms;
    st.delete_ms = 300;
    let env = Env::with_state(st);
    let extra = format!(
        "\n[daemon]\nstatus_file = \"{}\"\nprometheus_textfile = \"{}\"\n\n[drill]\nreports = \"{}\"\namcheck = false\n{drill}",
        env.path("state/status.json").display(),
        env.path("state/bridgerest.prom").display(),
        env.path("reports").display()
    );
    std::fs::write(&env.config, env.providers_config(&extra)).unwrap();
    env
}

fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

fn check<'a>(rep: &'a Value, name: &str) -> &'a Value {
    rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {rep:#}"))
}

/// A drill of `id` at `target` (JSON) refused by the cost guard: its `copy` check says `why`,
/// and no copy more is made.
fn assert_no_copy_made(env: &Env, id: &str, target: &str, why: &str) {
    let before = copies_left(env).len();
    let run = env.run(&["drill", "--cluster", id, "--target", target, "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let rep = report(&run);
    let said = check(&rep, "copy")["detail"].as_str().unwrap().to_string();
    assert!(said.contains(why), "{rep:#}");
    assert_eq!(copies_left(env).len(), before, "nothing new was made");
}

/// The drill copies the simulator still has, at every provider.
fn copies_left(env: &Env) -> Vec<String> {
    let s = &env.sim.sim;
    s.clusters()
        .into_iter()
        .map(|c| c.name)
        .chain(s.ionos_clusters().into_iter().map(|c| c.name))
        .chain(s.launcher_databases().into_iter().map(|d| d.name))
        .filter(|n| n.starts_with("bridgerest-drill-"))
        .collect()
}

#[test]
fn a_drill_at_the_provider_deletes_its_copy_whatever_its_checks_found() {
    let env = env(300, "");
    // IONOS: the copy is made, ready, and (its host not reachable from here: the plain
    // simulator's copies are no servers) the connection fails; the copy is deleted.
    let target = days_ago(1.0);
    let run = env.run(&[
        "drill",
        "--cluster",
        IONOS_CLUSTER,
        "--target",
        &target,
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let rep = report(&run);
    assert_eq!(rep["ok"], false);
    assert_eq!(check(&rep, "copy")["ok"], true, "{rep:#}");
    assert_eq!(check(&rep, "connect")["ok"], false, "{rep:#}");
    let copy = &rep["at_provider"];
    assert_eq!(copy["provider"], "ionos");
    assert_eq!(copy["deleted"], true, "{rep:#}");
    assert!(copy["name"]
        .as_str()
        .unwrap()
        .starts_with("bridgerest-drill-"));
    assert!(copy["ready_seconds"].as_f64().unwrap() >= 0.3, "{rep:#}");
    assert!(copy["lifetime_seconds"].as_f64().unwrap() >= copy["ready_seconds"].as_f64().unwrap());
    assert_eq!(rep["target_kind"], "time");
    assert_eq!(copies_left(&env), Vec::<String>::new());
    assert_eq!(env.requests("DELETE /ionos/clusters/{id}"), 1);
    // The copy was made from the asked time, into a new cluster (never in place).
    assert_eq!(env.requests("POST /ionos/clusters/{id}/restore"), 0);
    // The report was recorded, and the record of created clusters holds no copy.
    let files: Vec<_> = std::fs::read_dir(env.path("reports")).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let listed = env.run(&["clusters", "--created", "--json"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(!listed.stdout.contains("bridgerest-drill-"), "{listed:?}");

    // Launcher hands out no credentials: the report says what to configure; deleted too.
    let run = env.run(&[
        "drill",
        "--cluster",
        LAUNCHER_DB,
        "--target",
        &target,
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let rep = report(&run);
    let connect = check(&rep, "connect");
    assert!(
        connect["detail"]
            .as_str()
            .unwrap()
            .contains("set [launcher] db_username"),
        "{rep:#}"
    );
    assert_eq!(rep["at_provider"]["deleted"], true);
    assert_eq!(copies_left(&env), Vec::<String>::new());

    // --keep is refused (a copy there is billed), before anything is made.
    env.run(&["drill", "--cluster", IONOS_CLUSTER, "--keep"])
        .assert_error(2, "--keep is for a drill here");
}

#[test]
fn a_drill_past_its_timeout_deletes_the_copy_it_was_waiting_for() {
    let env = env(20_000, "timeout = \"2s\"\n");
    let started = std::time::Instant::now();
    let run = env.run(&[
        "drill",
        "--cluster",
        LAUNCHER_DB,
        "--target",
        &days_ago(1.0),
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let rep = report(&run);
    assert_eq!(check(&rep, "timeout")["ok"], false, "{rep:#}");
    assert_eq!(rep["at_provider"]["deleted"], true, "{rep:#}");
    assert_eq!(copies_left(&env), Vec::<String>::new());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "it did not wait the restore out"
    );
}

#[test]
fn a_copy_that_could_not_be_deleted_is_named_kept_on_record_and_deleted_by_the_next_drill() {
    let env = env(200, "");
    env.sim.sim.set_faults(vec![Fault {
        path: Some("/ionos/clusters/".into()),
        method: Some("DELETE".into()),
        times: None,
        kind: FaultKind::Error {
            status: 422,
            message: "deletion refused by the simulator".into(),
        },
    }]);
    let target = days_ago(1.0);
    let run = env.run(&[
        "drill",
        "--cluster",
        IONOS_CLUSTER,
        "--target",
        &target,
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let rep = report(&run);
    let left = check(&rep, "copy_left");
    let copy_id = rep["at_provider"]["id"].as_str().unwrap().to_string();
    assert!(
        left["detail"].as_str().unwrap().contains(&copy_id),
        "{rep:#}"
    );
    assert_eq!(rep["at_provider"]["deleted"], false);
    assert_eq!(copies_left(&env).len(), 1);
    // It stays bridgerest's: listed as created, deletable without --force.
    let listed = env.run(&["clusters", "--created"]);
    assert!(listed.stdout.contains(&copy_id), "{listed:?}");
    // The status and the metrics say so, beside the HTML page.
    let prom = std::fs::read_to_string(env.path("state/bridgerest.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "bridgerest_drill_copy_left{{cluster=\"{IONOS_CLUSTER}\",copy=\"{copy_id}\"}} 1"
        )),
        "{prom}"
    );
    assert!(
        prom.contains(&format!(
            "bridgerest_drill_at_provider{{cluster=\"{IONOS_CLUSTER}\",provider=\"ionos\"}} 1"
        )),
        "{prom}"
    );
    let status = env.run(&["status", "--json"]);
    assert!(
        status
            .stdout
            .contains(&format!("\"copy_left\": \"{copy_id}\"")),
        "{status:?}"
    );
    let page = env.path("drills.html");
    let html = env.run(&["drills", "--html", page.to_str().unwrap()]);
    assert_eq!(html.code, 0, "{html:?}");
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(
        page.contains("<td>at the provider (ionos)</td>")
            && page.contains(&format!(
                "<td>copy {copy_id}, <span class=\"failed\">not deleted</span></td>"
            )),
        "{page}"
    );

    // Another cluster's drill would make a second copy: drill.provider_copies (1) refuses.
    assert_no_copy_made(&env, LAUNCHER_DB, &target, "drill.provider_copies = 1");

    // While it cannot be deleted, the cluster's next drill makes none and names it.
    let run = env.run(&[
        "drill",
        "--cluster",
        IONOS_CLUSTER,
        "--target",
        &target,
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let rep = report(&run);
    assert!(
        check(&rep, "copy_left")["detail"]
            .as_str()
            .unwrap()
            .contains("left by an earlier drill"),
        "{rep:#}"
    );
    assert_eq!(rep["at_provider"]["id"], copy_id.as_str());
    assert_eq!(rep["at_provider"]["deleted"], false);
    assert_eq!(copies_left(&env).len(), 1, "nothing new was made");

    // The next drill of the cluster deletes the copy left first, then drills.
    env.sim.sim.set_faults(vec![]);
    let run = env.run(&["drill", "--cluster", IONOS_CLUSTER, "--target", &target]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!("deleting copy {copy_id}")),
        "{run:?}"
    );
    assert_eq!(copies_left(&env), Vec::<String>::new());
    assert!(run.stdout.contains("deleted, alive"), "{run:?}");
    // The copy is the smallest IONOS accepts (its storage the source's: its data must fit).
    for small in [
        "\"instances\": 1,",
        "\"cores\": 1,",
        "\"ram\": 2048,",
        "\"synchronizationMode\": \"ASYNCHRONOUS\"",
    ] {
        assert!(run.stdout.contains(small), "{small}: {run:?}");
    }
    assert!(!run.stdout.contains("connectionPooler"), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "drill:     cluster {IONOS_CLUSTER} (at the provider, ionos): FAILED"
        )),
        "{run:?}"
    );
}

#[test]
fn sigterm_during_a_drill_at_the_provider_asks_for_the_copys_deletion_before_exiting() {
    let env = env(30_000, "");
    let child = env
        .cmd()
        .args([
            "drill",
            "--cluster",
            LAUNCHER_DB,
            "--target",
            &days_ago(1.0),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while copies_left(&env).is_empty() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "no copy was made"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let run = Run::from(child.wait_with_output().unwrap());
    env.assert_no_secrets(&run);
    assert_eq!(run.code, 130, "{run:?}");
    assert!(run.stderr.contains("accepted its deletion"), "{run:?}");
    assert_eq!(
        env.requests("DELETE /launcher/sim-tenant/api/v1/databases/{id}"),
        1
    );
    // The provider finishes the deletion on its own (the simulator moves on as it is asked).
    let t1 = std::time::Instant::now();
    while !copies_left(&env).is_empty() {
        env.run(&["clusters", "--created"]);
        assert!(
            t1.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            copies_left(&env)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn drills_at_the_provider_wait_their_turn_one_per_cluster_and_provider_copies_at_once() {
    let env = env(4_000, "");
    let target = days_ago(1.0);
    let first = env
        .cmd()
        .args([
            "drill",
            "--cluster",
            IONOS_CLUSTER,
            "--target",
            &target,
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while copies_left(&env).is_empty() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "no copy was made"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The same cluster: refused while the first runs.
    env.run(&["drill", "--cluster", IONOS_CLUSTER, "--target", &target])
        .assert_error(
            1,
            &format!("a drill of cluster {IONOS_CLUSTER} at IONOS DBaaS is running"),
        );
    // Another cluster: drill.provider_copies = 1 is taken; nothing is made.
    assert_no_copy_made(
        &env,
        LAUNCHER_DB,
        &target,
        "drill.provider_copies = 1, and as many drills at the providers are running",
    );
    let done = Run::from(first.wait_with_output().unwrap());
    assert_eq!(done.code, 1, "{done:?}");
    assert_eq!(report(&done)["at_provider"]["deleted"], true);
    assert_eq!(copies_left(&env), Vec::<String>::new());
}

#[test]
fn drill_all_drills_every_cluster_or_this_workers_share_and_one_failure_stops_none() {
    let env = env(200, "at_provider = true\n");
    let both = [IONOS_CLUSTER, LAUNCHER_DB];
    let listed = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = env.cmd();
        cmd.args(["drill", "--all", "--list"]).args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let run = Run::from(cmd.output().unwrap());
        assert_eq!(run.code, 0, "{run:?}");
        let ids: Vec<String> = run.stdout.lines().skip(1).map(str::to_string).collect();
        (run.stdout.lines().next().unwrap_or("").to_string(), ids)
    };
    let (head, all) = listed(&[], &[]);
    assert_eq!(
        head,
        "every cluster (no --shard, no engine index): 2 cluster(s)"
    );
    assert_eq!(all, both);
    // Two shards: disjoint, and together every cluster; the engines' indexes work alike.
    let (head0, zero) = listed(&["--shard", "0/2"], &[]);
    let (_, one) = listed(&["--shard", "1/2"], &[]);
    assert!(head0.starts_with("shard 0/2 (from --shard): "), "{head0}");
    let mut union = [zero.clone(), one.clone()].concat();
    union.sort();
    let mut sorted = both.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(union, sorted, "{zero:?} {one:?}");
    let (slurm, by_slurm) = listed(
        &[],
        &[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ],
    );
    assert!(
        slurm.starts_with("shard 1/2 (from SLURM_ARRAY_TASK_ID)"),
        "{slurm}"
    );
    assert_eq!(by_slurm, one);
    let (_, by_k8s) = listed(&["--shard-count", "2"], &[("JOB_COMPLETION_INDEX", "0")]);
    assert_eq!(by_k8s, zero);
    let mut k8s = env.cmd();
    k8s.args(["drill", "--all", "--list"])
        .env("JOB_COMPLETION_INDEX", "0");
    Run::from(k8s.output().unwrap()).assert_error(2, "give --shard-count N");
    env.run(&["drill", "--all", "--shard", "2/2", "--list"])
        .assert_error(2, "the index runs from 0 to the count less one");

    // Every cluster drilled, one after the other: each fails its connection (the plain
    // simulator's copies are no servers), none stops the next; exit 1; every copy deleted.
    let run = env.run(&["drill", "--all", "--target", &days_ago(1.0), "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let reps: Vec<Value> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    let drilled: Vec<&str> = reps
        .iter()
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(drilled, both);
    assert!(
        reps.iter().all(|r| r["at_provider"]["deleted"] == true),
        "{reps:#?}"
    );
    assert!(
        run.stderr.contains("2 of the 2 failed or were not drilled"),
        "{run:?}"
    );
    assert_eq!(copies_left(&env), Vec::<String>::new());
    // Still due: neither passed.
    assert_eq!(listed(&["--due"], &[]).1, both);
}

#[test]
fn each_drill_pushes_its_cluster_group_to_a_pushgateway_with_basic_auth() {
    let password = "push-password-of-the-test";
    let env = env(200, "");
    let gw = Gateway::start(env.dir.path(), "drills", password);
    let file = env.path("push-password");
    let text = gw.configure(&env.config, &file);
    let target = days_ago(1.0);
    for id in [IONOS_CLUSTER, LAUNCHER_DB] {
        let run = env.run(&["drill", "--cluster", id, "--target", &target]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            !run.stdout.contains(password) && !run.stderr.contains(password),
            "{run:?}"
        );
        assert!(
            run.stdout.contains(&format!(
                "report:    {}/metrics/job/bridgerest_drill/cluster/{id}",
                gw.url
            )),
            "{run:?}"
        );
    }
    // One group per cluster: neither push replaced the other's.
    let m = gw.metrics();
    for (id, provider) in [(IONOS_CLUSTER, "ionos"), (LAUNCHER_DB, "launcher")] {
        for series in [
            format!("bridgerest_drill_success{{cluster=\"{id}\",instance=\"\",job=\"bridgerest_drill\"}} 0"),
            format!("bridgerest_drill_at_provider{{cluster=\"{id}\",instance=\"\",job=\"bridgerest_drill\",provider=\"{provider}\"}} 1"),
            format!("bridgerest_drill_failed_check{{check=\"connect\",cluster=\"{id}\",instance=\"\",job=\"bridgerest_drill\"}} 1"),
        ] {
            assert!(m.contains(&series), "{series}\n{m}");
        }
        assert!(
            m.contains(&format!(
                "push_time_seconds{{cluster=\"{id}\",instance=\"\",job=\"bridgerest_drill\"}}"
            )),
            "{m}"
        );
    }
    // A wrong password: the push is refused and said; the drill and its report stand.
    std::fs::write(&file, "not-the-password\n").unwrap();
    let run = env.run(&["drill", "--cluster", IONOS_CLUSTER, "--target", &target]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("cannot publish the drill to the Pushgateway"),
        "{run:?}"
    );
    assert!(run.stderr.contains("401"), "{run:?}");
    assert!(run.stdout.contains("report:    "), "{run:?}");
    // Plain http to another host is refused when the config is read.
    std::fs::write(
        &env.config,
        text.replace(&gw.url, "http://pushgateway.example:9091"),
    )
    .unwrap();
    env.run(&["drill", "--cluster", IONOS_CLUSTER])
        .assert_error(2, "in the clear; use https://");
}
