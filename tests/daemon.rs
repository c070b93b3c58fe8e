//! `bridgerest daemon` and `bridgerest status` with the real binary against the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

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
    let status = env.path("status.json");
    env.write_config(clusters, "");
    let text = std::fs::read_to_string(&env.config).unwrap();
    let text = text.replacen(
        "\n[pgbackrest]",
        &format!(
            "token_lifetime = \"1h\"\n\n[daemon]\nstatus_file = \"{}\"\n\n[pgbackrest]",
            status.display()
        ),
        1,
    );
    std::fs::write(&env.config, text).unwrap();
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

    // SIGHUP with a second cluster: its stanza appears.
    config(&env, &[S3_CLUSTER, AZURE_CLUSTER]);
    signal(&child, Signal::SIGHUP);
    wait_for("the reloaded config's stanza", || {
        env.read_out().contains("repo1-type=azure")
    });

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
