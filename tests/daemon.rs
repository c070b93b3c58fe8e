//! `bridgerest daemon` and `bridgerest status` with the real binary against the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sim_only::*;

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn config(env: &Env, clusters: &[&str]) {
    config_at(
        env,
        &env.config,
        clusters,
        "1h",
        "status_file = \"{dir}/status.json\"",
    );
}

/// Writes a config to `at` for `clusters`, with `api.token_lifetime = lifetime` and `daemon`
/// lines (`{dir}` in them stands for the env's directory).
fn config_at(env: &Env, at: &std::path::Path, clusters: &[&str], lifetime: &str, daemon: &str) {
    // A [daemon] table of its own, so none from the env.
    env.write_config(clusters, "\n# status_file set below\n");
    let text = std::fs::read_to_string(&env.config).unwrap();
    let daemon = daemon.replace("{dir}", &env.dir.path().display().to_string());
    let text = text.replacen(
        "\n[pgbackrest]",
        &format!("token_lifetime = \"{lifetime}\"\n\n[daemon]\n{daemon}\n\n[pgbackrest]"),
        1,
    );
    std::fs::write(at, text).unwrap();
}

/// The real binary with `config`, none of the caller's bridgerest environment.
fn bridgerest(config: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest"));
    c.env_remove("BRIDGEREST_LOG")
        .env_remove("BRIDGEREST_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .arg("--config")
        .arg(config);
    c
}

/// `bridgerest daemon` with `config`, its output discarded.
fn quiet_daemon(config: &std::path::Path) -> Child {
    bridgerest(config)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
}

#[test]
fn daemon_renders_reloads_refuses_bad_config_and_stops_on_sigterm() {
    let env = Env::new();
    config(&env, &[S3_CLUSTER]);
    let mut child = env
        .cmd()
        .env("BRIDGEREST_LOG", "info")
        .arg("daemon")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = env.path("status.json");
    wait_for("the first render and status", || {
        status.exists() && env.out.exists()
    });
    assert!(env.read_out().contains(&format!("[{S3_STANZA}]")));
    let st = env.run(&["status"]);
    assert_eq!(st.code, 0, "{st:?}");
    assert!(st.stdout.contains(&format!("{S3_CLUSTER}  ok ")), "{st:?}");

    // SIGHUP with a second cluster, a new status file and a Prometheus text file: its stanza
    // appears, and both files follow the new config.
    config_at(
        &env,
        &env.config,
        &[S3_CLUSTER, AZURE_CLUSTER],
        "1h",
        "status_file = \"{dir}/status2.json\"\nprometheus_textfile = \"{dir}/bridgerest.prom\"\nschedule = \"0 0 * * * *\"",
    );
    signal(&child, Signal::SIGHUP);
    wait_for("the reloaded config's stanza", || {
        env.read_out().contains("repo1-type=azure")
    });
    let prom = env.path("bridgerest.prom");
    wait_for("the Prometheus text file", || prom.exists());
    let metrics = std::fs::read_to_string(&prom).unwrap();
    for c in [S3_CLUSTER, AZURE_CLUSTER] {
        assert!(
            metrics.contains(&format!("bridgerest_refresh_ok{{cluster=\"{c}\"}} 1\n")),
            "{metrics}"
        );
    }
    assert_eq!(mode_of(&prom), 0o644);
    let st2 = std::fs::read_to_string(env.path("status2.json")).unwrap();
    assert!(
        st2.contains(AZURE_CLUSTER) && st2.contains(S3_CLUSTER),
        "{st2}"
    );

    // SIGHUP with a broken config: refused, the file keeps both stanzas.
    std::fs::write(&env.config, "[api]\nurl = 3\n").unwrap();
    let before = env.read_out();
    signal(&child, Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.read_out(), before);

    // SIGTERM: exit 0 within a second.
    let t = Instant::now();
    signal(&child, Signal::SIGTERM);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "still running a second after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SIGHUP: the new config is refused, the old one keeps running"),
        "{err}"
    );
    assert!(err.contains("SIGHUP: new refresh schedule"), "{err}");
    for s in env.sim.sim.issued_secrets() {
        assert!(!err.contains(&s), "secret in the daemon's log");
    }
}

#[test]
fn status_exit_codes() {
    let env = Env::new();
    config(&env, &[S3_CLUSTER]);
    let status = env.path("status.json");
    let missing = env.run(&["status"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.error_line().contains("cannot read the status file"),
        "{missing:?}"
    );
    let write = |expires: &str, next: &str| {
        std::fs::write(&status, format!(
            r#"{{"updated_at":"2026-11-22T00:00:00Z","pid":1,"clusters":[{{"id":"{S3_CLUSTER}","last_success":"2026-11-22T00:00:00Z","expires_at":"{expires}","next_refresh":"{next}"}}]}}"#
        )).unwrap();
    };
    write("2999-01-01T01:00:00Z", "2999-01-01T00:30:00Z");
    assert_eq!(env.run(&["status"]).code, 0);
    write("2999-01-01T01:00:00Z", "2999-01-01T02:00:00Z");
    let r = env.run(&["status"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("expires before the next refresh"),
        "{r:?}"
    );
    write("2020-01-01T01:00:00Z", "2020-01-01T00:30:00Z");
    let r = env.run(&["status", "--json"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("\"expires_at\""));
}

/// Stanza sections of a pgBackRest config, which must parse.
fn sections(text: &str) -> std::collections::BTreeSet<String> {
    let ini = ini::Ini::load_from_str(text).unwrap_or_else(|e| panic!("does not parse: {e}"));
    ini.sections().flatten().map(str::to_string).collect()
}

#[test]
fn daemon_and_two_refreshes_never_lose_each_others_writes() {
    // One pgbackrest.conf shared by three writers, each managing its own cluster: the daemon
    // (refreshing every 50 ms) and two `bridgerest refresh` loops with their own configs. Each
    // rewrites the whole file from what it reads, so without the lock one writer's stanza could
    // vanish under another's write. A reader checks that a stanza, once there, stays.
    let env = Env::new();
    std::fs::write(&env.out, "[global]\nstart-fast=y\n").unwrap(); // user's file: merged
    let daemon_cfg = env.path("daemon.toml");
    config_at(
        &env,
        &daemon_cfg,
        &[S3_CLUSTER],
        "1s",
        "refresh_at = 0.05\nstatus_file = \"{dir}/status.json\"",
    );
    let others = [
        (AZURE_CLUSTER, env.path("a.toml")),
        (GCS_CLUSTER, env.path("g.toml")),
    ];
    for (c, p) in &others {
        config_at(&env, p, &[c], "1h", "status_file = \"{dir}/unused.json\"");
    }
    let mut daemon = quiet_daemon(&daemon_cfg);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (reads, seen) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = std::collections::BTreeSet::new();
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let now = sections(&std::fs::read_to_string(&env.out).unwrap());
                let lost: Vec<_> = seen.difference(&now).collect();
                assert!(
                    lost.is_empty(),
                    "stanzas {lost:?} vanished (interleaved writes)"
                );
                seen = now;
                reads += 1;
            }
            (reads, seen)
        });
        let writers: Vec<_> = others
            .iter()
            .map(|(_, p)| {
                let p = p.clone();
                s.spawn(move || {
                    for _ in 0..25 {
                        let out = bridgerest(&p).arg("refresh").output().unwrap();
                        assert!(out.status.success(), "{out:?}");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().unwrap()
    });
    signal(&daemon, Signal::SIGTERM);
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    assert!(reads > 50, "only {reads} reads");
    let text = env.read_out();
    assert!(
        text.contains("start-fast=y"),
        "the user's [global] option is gone"
    );
    assert_eq!(seen.len(), 4, "{seen:?}"); // global + three stanzas
    for kind in ["s3", "azure", "gcs"] {
        assert!(
            text.contains(&format!("repo1-type={kind}")),
            "no {kind} stanza"
        );
    }
}

/// Each section's keys (the file must parse; failures do not print it: it holds secrets).
fn shape(text: &str) -> Vec<(String, Vec<String>)> {
    let ini = ini::Ini::load_from_str(text).unwrap_or_else(|e| panic!("does not parse: {e}"));
    ini.iter()
        .map(|(sec, props)| {
            let mut keys: Vec<String> = props.iter().map(|(k, _)| k.to_string()).collect();
            keys.sort();
            (sec.unwrap_or("").to_string(), keys)
        })
        .collect()
}

#[test]
fn kill_9_mid_write_leaves_the_old_or_the_new_file() {
    let env = Env::new();
    config_at(
        &env,
        &env.config,
        &[S3_CLUSTER, AZURE_CLUSTER, GCS_CLUSTER],
        "1s",
        "refresh_at = 0.05\nstatus_file = \"{dir}/status.json\"",
    );
    let first = env.run(&["refresh"]);
    assert_eq!(first.code, 0, "{first:?}");
    let want = shape(&env.read_out());
    assert_eq!(want.len(), 4, "{want:?}"); // the general section and three stanzas
    let (mut changed, mut stale_temps) = (0, 0);
    for i in 0..40u64 {
        let old = env.read_out();
        let mut child = quiet_daemon(&env.config);
        std::thread::sleep(Duration::from_millis(20 + (i * 37) % 300));
        signal(&child, Signal::SIGKILL);
        child.wait().unwrap();
        let now = env.read_out();
        assert_eq!(shape(&now), want, "kill {i} left a file of another shape");
        let secret = now
            .lines()
            .find_map(|l| l.strip_prefix("repo1-s3-key-secret="))
            .unwrap();
        assert!(env.sim.sim.issued_secrets().iter().any(|s| s == secret));
        changed += usize::from(now != old);
        stale_temps += std::fs::read_dir(env.path("conf.d"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
    }
    assert!(
        changed >= 20,
        "only {changed} of 40 kills came after a write"
    );
    eprintln!("40 kills: {changed} after a new write; {stale_temps} temp files seen");
    // The next writer removes whatever temporary files the kills left.
    assert_eq!(env.run(&["refresh"]).code, 0);
    let temps: Vec<_> = std::fs::read_dir(env.path("conf.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn sighup_picks_up_a_rotated_api_key() {
    let env = Env::new();
    config(&env, &[S3_CLUSTER]);
    let key = env.path("api-key");
    std::fs::write(&key, "cbkey_revoked_0000000000000000\n").unwrap();
    let child = quiet_daemon(&env.config);
    let status = env.path("status.json");
    wait_for("the first (failed) round's status", || status.exists());
    let st = env.run(&["status"]);
    assert_eq!(st.code, 1, "{st:?}");
    assert!(!env.out.exists(), "a stanza without a valid key");

    // The operator puts the new key in place and reloads: the next round uses it.
    std::fs::write(&key, format!("{KEY}\n")).unwrap();
    signal(&child, Signal::SIGHUP);
    wait_for("the stanza fetched with the new key", || env.out.exists());
    assert!(env.read_out().contains(&format!("[{S3_STANZA}]")));
    // What status said last goes in the message if it never says ok (a CI run under load
    // once timed out here).
    let mut last = None;
    let start = Instant::now();
    loop {
        let st = env.run(&["status"]);
        if st.code == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for status ok; it said: {st:?}; before: {last:?}; the status file: {}",
            std::fs::read_to_string(&status).unwrap_or_default()
        );
        last = Some(st);
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_unwritable_status_file_is_logged_once_not_every_round() {
    let env = Env::new();
    config_at(
        &env,
        &env.config,
        &[S3_CLUSTER],
        "1s",
        "refresh_at = 0.05\nstatus_file = \"{dir}/missing/status.json\"",
    );
    let child = bridgerest(&env.config)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("a few rounds", || env.sim.sim.stats().requests >= 10);
    signal(&child, Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("cannot write the status file").count(),
        1,
        "{err}"
    );
    assert!(err.contains("missing does not exist"), "{err}");
}

/// A refused key (401) is "auth": shown as such by `status` and the Prometheus file, and not
/// retried like a 503, which is "transient" and retried with backoff.
#[test]
fn a_refused_key_is_auth_not_retried_like_a_503() {
    use bridgerest::sim::{Fault, FaultKind};
    let mut seen = Vec::new();
    for (kind, fault) in [
        ("auth", FaultKind::Unauthorized),
        ("transient", FaultKind::ServerError { status: 503 }),
    ] {
        let env = Env::new();
        config_at(
            &env,
            &env.config,
            &[S3_CLUSTER],
            "1h",
            "status_file = \"{dir}/status.json\"\nprometheus_textfile = \"{dir}/b.prom\"",
        );
        env.sim.sim.set_faults(vec![Fault {
            path: Some("backup-tokens".into()),
            method: None,
            times: None,
            kind: fault,
        }]);
        let mut child = quiet_daemon(&env.config);
        std::thread::sleep(Duration::from_secs(4));
        signal(&child, Signal::SIGTERM);
        assert!(child.wait().unwrap().success());
        let st: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(env.path("status.json")).unwrap())
                .unwrap();
        assert_eq!(st["clusters"][0]["last_error_kind"], kind, "{st}");
        let table = env.run(&["status"]);
        assert!(
            table
                .stdout
                .lines()
                .any(|l| l.starts_with(S3_CLUSTER) && l.contains(&format!("  {kind}  "))),
            "{table:?}"
        );
        let prom = std::fs::read_to_string(env.path("b.prom")).unwrap();
        assert!(
            prom.contains(&format!(
                "bridgerest_refresh_failing{{cluster=\"{S3_CLUSTER}\",kind=\"{kind}\"}} 1"
            )),
            "{prom}"
        );
        seen.push(env.token_requests());
    }
    // auth: one request in 4 s (the next round is daemon.retry_max away); transient: the client
    // retries each round (api.retries = 3) and the daemon rounds again within seconds.
    assert_eq!(seen[0], 1, "auth: {seen:?}");
    assert!(seen[1] >= 8, "transient: {seen:?}");
}

#[test]
fn the_daemon_watches_every_providers_backups_and_flags_old_ones() {
    let env = Env::new();
    let daemon = |max_age: &str| {
        let dir = env.dir.path().display().to_string();
        let text = env.providers_config(&format!(
            "\n[daemon]\nstatus_file = \"{dir}/status.json\"\nprometheus_textfile = \"{dir}/b.prom\"\nmax_backup_age = \"{max_age}\"\n"
        ));
        std::fs::write(
            &env.config,
            format!("{text}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/var/lib/postgresql/15/p\"\n"),
        )
        .unwrap();
    };
    // The sample's newest Bridge and Launcher backups finished about a day ago; IONOS has an
    // active chain (it reports no per-backup times).
    daemon("12h");
    let mut child = quiet_daemon(&env.config);
    let status = env.path("status.json");
    let read = || -> serde_json::Value {
        std::fs::read_to_string(&status)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    };
    let checked = |st: &serde_json::Value| {
        st["clusters"]
            .as_array()
            .is_some_and(|c| c.len() == 3 && c.iter().all(|c| !c["backups_checked_at"].is_null()))
    };
    wait_for("every cluster's backups looked at", || checked(&read()));
    let st = read();
    let by_id = |id: &str| {
        st["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap()
    };
    let bridge = by_id(S3_CLUSTER);
    assert!(
        bridge["backup_problem"]
            .as_str()
            .unwrap()
            .contains("(daemon.max_backup_age 12h)"),
        "{bridge}"
    );
    assert!(!bridge["last_backup"].is_null() && !bridge["window_start"].is_null());
    let launcher = by_id(LAUNCHER_DB);
    assert_eq!(launcher["provider"], "launcher");
    assert_eq!(launcher["watch_only"], true);
    assert!(launcher["backup_problem"].is_string(), "{launcher}");
    let ionos = by_id(IONOS_CLUSTER);
    assert!(ionos["backup_problem"].is_null(), "{ionos}");
    assert!(ionos["last_backup"].is_null() && !ionos["window_start"].is_null());

    let table = env.run(&["status"]);
    assert_eq!(table.code, 1, "{table:?}");
    let line = |id: &str| {
        table
            .stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{table:?}"))
            .to_string()
    };
    assert!(
        line(S3_CLUSTER).contains("  backups  bridge  "),
        "{table:?}"
    );
    assert!(
        line(LAUNCHER_DB).contains("  backups  launcher  "),
        "{table:?}"
    );
    assert!(line(IONOS_CLUSTER).contains("  ok  "), "{table:?}");
    assert!(
        line(IONOS_CLUSTER).contains("(server-side only)"),
        "{table:?}"
    );

    let prom = std::fs::read_to_string(env.path("b.prom")).unwrap();
    for want in [
        format!("bridgerest_last_backup_timestamp_seconds{{cluster=\"{S3_CLUSTER}\"}} "),
        format!("bridgerest_last_backup_timestamp_seconds{{cluster=\"{LAUNCHER_DB}\"}} "),
        format!(
            "bridgerest_recovery_window_start_timestamp_seconds{{cluster=\"{IONOS_CLUSTER}\"}} "
        ),
        format!("bridgerest_backup_ok{{cluster=\"{S3_CLUSTER}\"}} 0"),
        format!("bridgerest_backup_ok{{cluster=\"{IONOS_CLUSTER}\"}} 1"),
        // The labels alerts join on: the stanza refresh wrote, the name the provider gives.
        format!("bridgerest_cluster_info{{cluster=\"{S3_CLUSTER}\",stanza=\"2qc6yv2ztfcw7a7yoripu4zlsm\",name=\"production\",provider=\"bridge\"}} 1"),
        format!("bridgerest_cluster_info{{cluster=\"{LAUNCHER_DB}\",stanza=\"\",name=\"billing\",provider=\"launcher\"}} 1"),
    ] {
        assert!(prom.contains(&want), "{want}\n{prom}");
    }
    // A server-side-only cluster has no refresh metrics.
    assert!(
        !prom.contains(&format!(
            "bridgerest_refresh_ok{{cluster=\"{IONOS_CLUSTER}\"}}"
        )),
        "{prom}"
    );

    // A longer max_backup_age (SIGHUP): the day-old backups are fine.
    daemon("48h");
    signal(&child, Signal::SIGHUP);
    wait_for("the flag to clear", || {
        let st = read();
        st["clusters"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["backup_problem"].is_null()))
    });
    assert_eq!(env.run(&["status"]).code, 0);
    signal(&child, Signal::SIGTERM);
    assert!(child.wait().unwrap().success());
}

/// A timer's user (no daemon): each one-shot `refresh` writes the status file and the
/// Prometheus file, so `status` and the alerts see it; a failing refresh makes `status` exit 1
/// naming it, with the credentials it kept; a file whose daemon is gone says so.
#[test]
fn timer_refreshes_are_seen_by_status_and_the_metrics() {
    use bridgerest::sim::{Fault, FaultKind};
    let env = Env::new();
    config_at(
        &env,
        &env.config,
        &[S3_CLUSTER],
        "1h",
        "status_file = \"{dir}/status.json\"\nprometheus_textfile = \"{dir}/b.prom\"",
    );
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("status.json")).unwrap()).unwrap();
    assert_eq!(st["written_by"], "refresh", "{st}");
    assert!(st["clusters"][0]["expires_at"].is_string(), "{st}");
    let prom = std::fs::read_to_string(env.path("b.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "bridgerest_refresh_ok{{cluster=\"{S3_CLUSTER}\"}} 1"
        )),
        "{prom}"
    );
    // The stanza the timer's refresh wrote labels the cluster too.
    assert!(
        prom.contains(&format!(
            "bridgerest_cluster_info{{cluster=\"{S3_CLUSTER}\",stanza=\"2qc6yv2ztfcw7a7yoripu4zlsm\","
        )),
        "{prom}"
    );
    let table = env.run(&["status"]);
    assert_eq!(table.code, 0, "{table:?}");
    assert!(
        table.stdout.contains(&format!("{S3_CLUSTER}  ok ")),
        "{table:?}"
    );
    assert!(
        table.stdout.contains("(written by refresh pid "),
        "{table:?}"
    );
    assert!(!table.stdout.contains("daemon: "), "{table:?}");

    // The API fails: the refresh keeps the stanza and says so; status exits 1 while it fails.
    env.sim.sim.set_faults(vec![Fault {
        path: Some("backup-tokens".into()),
        method: None,
        times: None,
        kind: FaultKind::ServerError { status: 503 },
    }]);
    let run = env.run(&["refresh"]);
    assert_ne!(run.code, 0, "{run:?}");
    let table = env.run(&["status"]);
    assert_eq!(table.code, 1, "{table:?}");
    assert!(
        table.stdout.lines().any(|l| l.starts_with(S3_CLUSTER)
            && l.contains("  failing  ")
            && l.contains("  transient  ")),
        "{table:?}"
    );
    let prom = std::fs::read_to_string(env.path("b.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "bridgerest_refresh_failing{{cluster=\"{S3_CLUSTER}\",kind=\"transient\"}} 1"
        )),
        "{prom}"
    );

    // A daemon's file whose daemon is gone.
    env.sim.sim.set_faults(vec![]);
    let mut child = quiet_daemon(&env.config);
    wait_for("the daemon's status", || {
        std::fs::read_to_string(env.path("status.json")).is_ok_and(|s| s.contains("\"daemon\""))
    });
    let pid = child.id();
    let live = env.run(&["status", "--json"]);
    assert!(!live.stdout.contains("daemon_problem"), "{live:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = env.run(&["status"]);
    assert!(
        gone.stdout
            .contains("daemon: the daemon that wrote this file at ")
            && gone.stdout.contains(&format!("(pid {pid}) is not running")),
        "{gone:?}"
    );
}

/// A provider's /backups answering slowly (10 s) holds up no refresh: with 4-second
/// credentials refreshed every 2 s, the refreshes keep their times while the daemon's look at
/// the backups waits, and the credentials never expire.
#[test]
fn a_slow_backup_listing_does_not_delay_the_refreshes() {
    use bridgerest::sim::{Fault, FaultKind};
    let env = Env::new();
    config_at(
        &env,
        &env.config,
        &[S3_CLUSTER],
        "4s",
        "refresh_at = 0.5\nstatus_file = \"{dir}/status.json\"",
    );
    env.sim.sim.set_faults(vec![Fault {
        path: Some("/backups".into()),
        method: Some("GET".into()),
        times: None,
        kind: FaultKind::Slow { delay_ms: 10_000 },
    }]);
    let mut child = quiet_daemon(&env.config);
    let start = Instant::now();
    let status = env.path("status.json");
    let (mut expired, mut last) = (0, serde_json::Value::Null);
    while start.elapsed() < Duration::from_secs(9) {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(text) = std::fs::read_to_string(&status) else {
            continue;
        };
        let st: serde_json::Value = serde_json::from_str(&text).unwrap();
        let until = st["clusters"][0]["expires_at"]
            .as_str()
            .unwrap()
            .to_string();
        let until =
            time::OffsetDateTime::parse(&until, &time::format_description::well_known::Rfc3339)
                .unwrap();
        expired += usize::from(until <= time::OffsetDateTime::now_utc());
        last = st;
    }
    let tokens = env.token_requests();
    let listings = env.requests("GET /clusters/{id}/backups");
    signal(&child, Signal::SIGTERM);
    assert!(child.wait().unwrap().success());
    // Each listing times out (api.timeout 5 s) and is tried again: the look is not done yet.
    assert!(listings >= 1, "{listings}");
    assert!(
        last["clusters"][0]["backups_checked_at"].is_null(),
        "{last}"
    );
    // At 0, 2, 4, 6 and 8 s (the first round's included); inline, the listing would have held
    // the second until 10 s.
    assert!(tokens >= 4, "{tokens} token requests in 9 s");
    assert_eq!(expired, 0, "samples with expired credentials");
}

/// Without -v or BRIDGEREST_LOG the daemon says it started, was reloaded and stopped, and each
/// change of a cluster's state once (failing, then working again), not a line per retry nor
/// per refresh, and none of the cron library's `Uninited`.
#[test]
fn the_daemon_logs_what_happens_once_at_the_default_level() {
    use bridgerest::sim::{Fault, FaultKind};
    let env = Env::new();
    config_at(
        &env,
        &env.config,
        &[S3_CLUSTER],
        "4s",
        "refresh_at = 0.5\nstatus_file = \"{dir}/status.json\"",
    );
    // The first three token requests get a malformed answer (not retried by the client): the
    // cluster fails three times in a row, then works.
    env.sim.sim.set_faults(vec![Fault {
        path: Some("backup-tokens".into()),
        method: None,
        times: Some(3),
        kind: FaultKind::Malformed,
    }]);
    let child = bridgerest(&env.config)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = env.path("status.json");
    wait_for("the cluster to work again", || {
        std::fs::read_to_string(&status).is_ok_and(|s| s.contains("\"last_success\""))
    });
    // A few regular refreshes (every 2 s), and a reload.
    let tokens = env.token_requests();
    wait_for("more refreshes", || env.token_requests() >= tokens + 2);
    signal(&child, Signal::SIGHUP);
    wait_for("the refresh after the reload", || {
        env.token_requests() >= tokens + 3
    });
    signal(&child, Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    let count = |s: &str| err.lines().filter(|l| l.contains(s)).count();
    assert_eq!(count("daemon started"), 1, "{err}");
    assert_eq!(count("SIGHUP: config re-read"), 1, "{err}");
    assert_eq!(count("daemon stopped"), 1, "{err}");
    assert_eq!(
        count("refresh failed; the last good stanza stays"),
        1,
        "one line for ok → failing, none per retry:\n{err}"
    );
    assert_eq!(count("refresh works again"), 1, "{err}");
    assert!(
        err.lines().any(|l| l.contains("refresh failed")
            && l.contains(S3_CLUSTER)
            && l.contains("kind=\"malformed\"")
            || l.contains("kind=malformed")),
        "the failure names the cluster and its kind:\n{err}"
    );
    for noise in [
        "Uninited",
        "token fetched",
        "pgBackRest config written",
        "retrying",
    ] {
        assert_eq!(count(noise), 0, "{noise}:\n{err}");
    }
    assert!(env.token_requests() >= tokens + 3);
}

/// #30: a repository configured in `[cluster.options]` (`provider = "pgbackrest"`) has its
/// stanza written by the daemon beside the Bridge ones, at start and again on SIGHUP, with
/// no token asked for it; the Bridge rounds keep it.
#[test]
fn the_daemon_writes_a_stanza_from_cluster_options_at_start_and_on_sighup() {
    let env = Env::new();
    let with_path = |path: &str| {
        config(&env, &[S3_CLUSTER]);
        let mut text = std::fs::read_to_string(&env.config).unwrap();
        text.push_str(&format!(
            "\n[[cluster]]\nprovider = \"pgbackrest\"\nid = \"main\"\npg1_path = \"/var/lib/postgresql/15/restore\"\n\
             [cluster.options]\n\"repo1-type\" = \"posix\"\n\"repo1-path\" = \"{path}\"\n"
        ));
        std::fs::write(&env.config, text).unwrap();
    };
    with_path("/srv/backups/one");
    let mut child = quiet_daemon(&env.config);
    wait_for("both stanzas", || {
        let t = std::fs::read_to_string(&env.out).unwrap_or_default();
        t.contains(&format!("[{S3_STANZA}]")) && t.contains("[main]")
    });
    let text = env.read_out();
    assert!(
        text.contains("# bridgerest: cluster main (")
            && text.contains("\n[main]\npg1-path=/var/lib/postgresql/15/restore\nrepo1-path=/srv/backups/one\nrepo1-type=posix\n"),
        "{text}"
    );
    let tokens = || {
        env.sim
            .sim
            .stats()
            .by_path
            .iter()
            .filter(|(p, _)| p.contains("backup-tokens"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    assert!(tokens() >= 1);

    with_path("/srv/backups/two");
    signal(&child, Signal::SIGHUP);
    wait_for("the new option", || {
        env.read_out().contains("repo1-path=/srv/backups/two\n")
    });
    let text = env.read_out();
    assert!(text.contains(&format!("[{S3_STANZA}]")), "{text}");
    assert!(!text.contains("/srv/backups/one"), "{text}");
    signal(&child, Signal::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn with_drill_at_provider_the_schedule_drills_clusters_restored_only_there() {
    let mut st = bridgerest::sim::sample_state(KEY, 0);
    st.restore_ms = 200;
    st.delete_ms = 200;
    let env = Env::with_state(st);
    let dir = env.dir.path().display().to_string();
    let text = env.providers_config(&format!(
        "\n[daemon]\nstatus_file = \"{dir}/status.json\"\nprometheus_textfile = \"{dir}/b.prom\"\n\n[drill]\nschedule = \"*/2 * * * * *\"\nat_provider = true\namcheck = false\nreports = \"{dir}/reports\"\n"
    ));
    std::fs::write(&env.config, text).unwrap();
    let mut child = quiet_daemon(&env.config);
    let reports = env.path("reports");
    let drilled = |id: &str| {
        std::fs::read_dir(&reports)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(id))
            })
            .unwrap_or(false)
    };
    wait_for("a drill of each provider's cluster", || {
        drilled(IONOS_CLUSTER) && drilled(LAUNCHER_DB)
    });
    // The metrics mark them as drilled at the provider and scheduled.
    wait_for("the metrics of both", || {
        let prom = std::fs::read_to_string(env.path("b.prom")).unwrap_or_default();
        [IONOS_CLUSTER, LAUNCHER_DB].iter().all(|id| {
            prom.contains(&format!("bridgerest_drill_scheduled{{cluster=\"{id}\"}} 1"))
                && prom.contains(&format!("bridgerest_drill_at_provider{{cluster=\"{id}\""))
        })
    });
    signal(&child, Signal::SIGTERM);
    assert!(child.wait().unwrap().success());
    let ionos = std::fs::read_dir(&reports)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(IONOS_CLUSTER))
        .unwrap();
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ionos.path()).unwrap()).unwrap();
    assert_eq!(rep["at_provider"]["provider"], "ionos", "{rep:#}");
    assert_eq!(rep["at_provider"]["deleted"], true, "{rep:#}");
    // `status` reads the provider drills from their reports too (a drill that could not
    // connect: the plain simulator's copies are no servers).
    let status = bridgerest(&env.config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("\"at_provider\": \"ionos\""), "{text}");
}
