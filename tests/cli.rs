//! The real binary against the API simulator: happy paths, every bad input the tool must
//! survive (one error line, non-zero exit, previous file byte-for-byte unchanged), faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use bridgerest::sim::{sample_state, Fault, FaultKind, StoreTemplate};
use serde_json::json;
use sim_only::*;

fn ini(text: &str) -> ini::Ini {
    let opt = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..Default::default()
    };
    ini::Ini::load_from_str_opt(text, opt).unwrap()
}

#[test]
fn refresh_writes_all_three_store_types() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER, AZURE_CLUSTER, GCS_CLUSTER], "");
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.lines().filter(|l| l.ends_with("  ok")).count(),
        3,
        "{run:?}"
    );
    assert!(run.stdout.contains(&format!("{S3_STANZA}  s3 ")), "{run:?}");
    assert_eq!(mode_of(&env.out), 0o600);
    let text = env.read_out();
    let conf = ini(&text);
    let s3 = conf.section(Some(S3_STANZA)).unwrap();
    assert_eq!(s3.get("repo1-type"), Some("s3"));
    assert_eq!(
        s3.get("repo1-s3-endpoint"),
        Some("s3.us-west-1.amazonaws.com")
    );
    assert_eq!(
        s3.get("pg1-path"),
        Some(&*format!("/var/lib/postgresql/15/{S3_CLUSTER}"))
    );
    assert_eq!(
        conf.section(Some("k3pdw5mhbjfdtm4lc6bnmutoai"))
            .unwrap()
            .get("repo1-azure-key-type"),
        Some("sas")
    );
    assert!(conf
        .section(Some("n2dwhq6ze5bxxoqyyf3bnzcbwu"))
        .unwrap()
        .get("repo1-gcs-key")
        .unwrap()
        .starts_with("Bearer ya29."));
    // every issued secret is in the file (and, by Env::run, in no output)
    let issued = env.sim.sim.issued_secrets();
    assert!(issued.len() >= 5);
    for s in issued
        .iter()
        .filter(|s| s.starts_with("ASIA") || s.starts_with("ya29."))
    {
        assert!(text.contains(s.as_str()));
    }
    // no temp files left beside it
    let names: Vec<String> = std::fs::read_dir(env.path("conf.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "bridgerest.conf" || n == "bridgerest.conf.lock"),
        "{names:?}"
    );
}

#[test]
fn render_redacts_unless_asked_and_writes_nothing() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER, AZURE_CLUSTER], "");
    let run = env.run(&["render"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("repo1-s3-key-secret=[redacted]\n"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("repo1-azure-key=[redacted]\n"),
        "{run:?}"
    );
    assert!(!env.out.exists(), "render must not write");
    let shown = env.run_unscanned(&["render", "--show-secrets"]);
    assert_eq!(shown.code, 0);
    let issued = env.sim.sim.issued_secrets();
    let last_s3_secret = issued.iter().rev().find(|s| s.len() == 40).unwrap();
    assert!(
        shown
            .stdout
            .contains(&format!("repo1-s3-key-secret={last_s3_secret}\n")),
        "{shown:?}"
    );
}

/// Makes a good file first, then breaks something; the file must not change.
fn assert_refresh_fails_leaving_file(
    env: &Env,
    break_it: impl FnOnce(&Env),
    code: i32,
    expect: &[&str],
) {
    env.write_config(&[S3_CLUSTER], "");
    assert_eq!(env.run(&["refresh"]).code, 0);
    let before = std::fs::read(&env.out).unwrap();
    break_it(env);
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, code, "{run:?}");
    let line = run.error_line();
    for e in expect {
        assert!(line.contains(e), "error line lacks {e:?}: {line}");
    }
    assert_eq!(
        std::fs::read(&env.out).unwrap(),
        before,
        "previous file changed"
    );
}

#[test]
fn missing_api_key() {
    let env = Env::new();
    let key = env.path("api-key").display().to_string();
    assert_refresh_fails_leaving_file(
        &env,
        |e| std::fs::remove_file(e.path("api-key")).unwrap(),
        2,
        &["cannot read the API key", &key],
    );
}

/// Runs bridgerest as `nobody` (when the test runs as root; else as this user), the test's
/// directory open to it.
fn run_as_nobody(env: &Env, args: &[&str]) -> Run {
    use std::os::unix::process::CommandExt;
    set_mode(env.dir.path(), 0o755);
    let mut cmd = env.cmd();
    if nix::unistd::Uid::effective().is_root() {
        cmd.uid(65534).gid(65534);
    }
    let run = Run::from(cmd.args(args).output().unwrap());
    env.assert_no_secrets(&run);
    run
}

#[test]
fn unreadable_is_not_missing_config_and_key_files() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let me = if nix::unistd::Uid::effective().is_root() {
        "user nobody (uid 65534)".to_string()
    } else {
        let uid = nix::unistd::Uid::effective();
        let name = nix::unistd::User::from_uid(uid).unwrap().unwrap().name;
        format!("user {name} (uid {uid})")
    };
    // The config: there but not readable, then not there.
    set_mode(&env.config, 0o600);
    if nix::unistd::Uid::effective().is_root() {
        let run = run_as_nobody(&env, &["refresh"]);
        assert_eq!(run.code, 2, "{run:?}");
        assert_eq!(
            run.error_line(),
            format!(
                "error: cannot read config file {}: permission denied to {me}: run bridgerest as a user who may read it (the package makes it root:postgres, mode 0640: as root, or `runuser -u postgres -- bridgerest ...`), or change its group or mode",
                env.config.display()
            )
        );
        // The key file: the config readable, the key not.
        set_mode(&env.config, 0o644);
        set_mode(&env.path("api-key"), 0o600);
        let run = run_as_nobody(&env, &["refresh"]);
        assert_eq!(run.code, 2, "{run:?}");
        assert_eq!(
            run.error_line(),
            format!(
                "error: cannot read the API key from key file {}: permission denied to {me}: make it readable by the user bridgerest runs as (its owner, mode 0600)",
                env.path("api-key").display()
            )
        );
    }
    std::fs::remove_file(env.path("api-key")).unwrap();
    let run = env.run(&["refresh"]);
    run.assert_error(
        2,
        &format!(
            "cannot read the API key from key file {}: there is no such file: create it with",
            env.path("api-key").display()
        ),
    );
    std::fs::remove_file(&env.config).unwrap();
    let run = env.run(&["refresh"]);
    assert_eq!(
        run.error_line(),
        format!(
            "error: cannot read config file {}: there is no such file: create it (the example: /usr/share/doc/bridgerest/bridgerest.toml; man 5 bridgerest.toml) or pass --config",
            env.config.display()
        )
    );
}

#[test]
fn no_config_file_is_not_a_missing_key() {
    // The default config path, kept empty in a mount namespace of our own (as root) so a host
    // with /etc/bridgerest/bridgerest.toml runs the same test.
    let bin = env!("CARGO_BIN_EXE_bridgerest");
    let root = nix::unistd::Uid::effective().is_root();
    if !root && std::path::Path::new("/etc/bridgerest/bridgerest.toml").exists() {
        eprintln!("skipped: not root, and this host has /etc/bridgerest/bridgerest.toml");
        return;
    }
    let mut cmd = if root {
        let mut c = std::process::Command::new("unshare");
        c.args([
            "-m",
            "sh",
            "-c",
            "if [ -d /etc/bridgerest ]; then mount -t tmpfs none /etc/bridgerest || exit 99; fi; exec \"$0\" clusters",
            bin,
        ]);
        c
    } else {
        let mut c = std::process::Command::new(bin);
        c.arg("clusters");
        c
    };
    let out = cmd
        .env_remove("BRIDGEREST_API_KEY")
        .env_remove("BRIDGEREST_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.error_line(),
        "error: no API key, and no config file /etc/bridgerest/bridgerest.toml to name its api.key_file: create the config (the example: /usr/share/doc/bridgerest/bridgerest.toml) or pass --config, or set $BRIDGEREST_API_KEY, or LoadCredential=api-key:... in the systemd unit"
    );
}

#[test]
fn empty_api_key_file_and_env() {
    let env = Env::new();
    assert_refresh_fails_leaving_file(
        &env,
        |e| std::fs::write(e.path("api-key"), "\n").unwrap(),
        2,
        &["API key", "is empty"],
    );
    let run = Run::from(
        env.cmd()
            .env("BRIDGEREST_API_KEY", "")
            .arg("refresh")
            .output()
            .unwrap(),
    );
    run.assert_error(2, "$BRIDGEREST_API_KEY is set but empty");
}

#[test]
fn no_cluster_configured() {
    let env = Env::new();
    env.write_config(&[], "");
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 2);
    assert!(run.error_line().contains("lists no [[cluster]]"), "{run:?}");
    assert!(!env.out.exists());
}

#[test]
fn no_key_configured_anywhere() {
    let env = Env::new();
    let cfg = env.base_config("").replace(
        &format!("key_file = \"{}\"\n", env.path("api-key").display()),
        "",
    );
    std::fs::write(
        &env.config,
        format!("{cfg}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n"),
    )
    .unwrap();
    let run = env.run(&["refresh"]);
    run.assert_error(2, "no API key: set api.key_file");
}

#[test]
fn wrong_api_key_is_refused_at_once() {
    let env = Env::new();
    assert_refresh_fails_leaving_file(
        &env,
        |e| std::fs::write(e.path("api-key"), "cbkey_wrong").unwrap(),
        1,
        &["API key was refused", "401", "request_id"],
    );
    // 401 is not retried: one POST for the good run, one for the refused one
    assert_eq!(
        env.sim.sim.stats().by_path["POST /clusters/{id}/backup-tokens"],
        2
    );
}

#[test]
fn cluster_id_that_is_not_an_eid() {
    let env = Env::new();
    assert_refresh_fails_leaving_file(
        &env,
        |e| {
            let t = std::fs::read_to_string(&e.config)
                .unwrap()
                .replace(S3_CLUSTER, "my-prod-cluster");
            std::fs::write(&e.config, t).unwrap();
        },
        2,
        &[
            "\"my-prod-cluster\"",
            "not a Crunchy Bridge ID",
            "bridgerest clusters",
        ],
    );
}

#[test]
fn unknown_config_key_is_named() {
    let env = Env::new();
    assert_refresh_fails_leaving_file(
        &env,
        |e| {
            let t = std::fs::read_to_string(&e.config)
                .unwrap()
                .replace("retries = 3", "retries = 3\nretires = 4");
            std::fs::write(&e.config, t).unwrap();
        },
        2,
        &["retires"],
    );
}

#[test]
fn cluster_not_found() {
    // Bridge answers 403 for a cluster that does not exist, as for one the key cannot see.
    let env = Env::new();
    assert_refresh_fails_leaving_file(
        &env,
        |e| e.sim.sim.remove_cluster(S3_CLUSTER),
        1,
        &[
            S3_CLUSTER,
            "no such cluster, or this API key has no access to it",
            "403",
        ],
    );
}

#[test]
fn token_with_unknown_type() {
    let env = Env::new();
    let tok = json!({"id": "x", "cluster_id": S3_CLUSTER, "repo_path": "/p", "stanza": S3_STANZA, "type": "ftp"});
    assert_refresh_fails_leaving_file(
        &env,
        |e| e.sim.sim.set_token_override(S3_CLUSTER, Some(tok)),
        1,
        &["unknown store type \"ftp\"", S3_CLUSTER],
    );
}

#[test]
fn s3_token_without_aws() {
    let env = Env::new();
    let tok = json!({"id": "x", "cluster_id": S3_CLUSTER, "repo_path": "/p", "stanza": S3_STANZA, "type": "s3"});
    assert_refresh_fails_leaving_file(
        &env,
        |e| e.sim.sim.set_token_override(S3_CLUSTER, Some(tok)),
        1,
        &["type is s3 but the token has no `aws` object"],
    );
}

#[test]
fn token_missing_a_required_field() {
    let env = Env::new();
    let tok = json!({"id": "x", "repo_path": "/p", "stanza": S3_STANZA, "type": "s3", "aws": {"s3_bucket": "b", "s3_key": "k", "s3_region": "r", "s3_token": "t"}});
    assert_refresh_fails_leaving_file(
        &env,
        |e| e.sim.sim.set_token_override(S3_CLUSTER, Some(tok)),
        1,
        &["aws", "s3_key_secret"],
    );
}

#[test]
fn gcs_token_without_credential() {
    let env = Env::new();
    env.sim.sim.set_store(
        S3_CLUSTER,
        StoreTemplate::S3 {
            bucket: "b".into(),
            region: "us-east-1".into(),
            kms_key_id: None,
        },
    );
    assert_refresh_fails_leaving_file(
        &env,
        |e| {
            e.sim.sim.set_store(
                S3_CLUSTER,
                StoreTemplate::Gcs {
                    bucket: "b".into(),
                    credential: "none".into(),
                },
            )
        },
        1,
        &[
            "the backup token carries no GCS credential",
            "\"repo1-gcs-key-type\" = \"service\"",
        ],
    );
}

/// As Bridge documents a GCP cluster's token (`gcp.gcs_bucket` alone, under a type string it
/// does not document): the stanza uses the key the user configured for the cluster.
#[test]
fn gcs_token_as_documented_uses_the_configured_key() {
    let env = Env::new();
    env.sim.sim.set_token_override(
        GCS_CLUSTER,
        Some(json!({"id": "agaqf6fanse45vspjcctakuyky", "cluster_id": GCS_CLUSTER, "team_id": "eaevtjiudzeq7bsqbbpiscund4",
                    "repo_path": "/pgbackrest/staging", "stanza": "n2dwhq6ze5bxxoqyyf3bnzcbwu", "type": "gcp",
                    "gcp": {"gcs_bucket": "bridge-backups-gcs"}})),
    );
    env.write_config(&[], "");
    let t = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{t}\n[[cluster]]\nid = \"{GCS_CLUSTER}\"\npg1_path = \"/x\"\n[cluster.options]\n\"repo1-gcs-key-type\" = \"service\"\n\"repo1-gcs-key\" = \"/etc/bridgerest/gcs-key.json\"\n")).unwrap();
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    let conf = ini(&env.read_out());
    let sec = conf.section(Some("n2dwhq6ze5bxxoqyyf3bnzcbwu")).unwrap();
    assert_eq!(sec.get("repo1-type"), Some("gcs"));
    assert_eq!(sec.get("repo1-gcs-bucket"), Some("bridge-backups-gcs"));
    assert_eq!(sec.get("repo1-gcs-key-type"), Some("service"));
    assert_eq!(
        sec.get("repo1-gcs-key"),
        Some("/etc/bridgerest/gcs-key.json")
    );
}

#[test]
fn malformed_json() {
    let env = Env::new();
    assert_refresh_fails_leaving_file(
        &env,
        |e| {
            e.sim.sim.set_faults(vec![Fault {
                path: Some("backup-tokens".into()),
                method: None,
                times: None,
                kind: FaultKind::Malformed,
            }])
        },
        1,
        &["body bridgerest cannot read", "backup-tokens"],
    );
}

#[test]
fn unreachable_api() {
    let env = Env::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_refresh_fails_leaving_file(
        &env,
        |e| {
            let t = std::fs::read_to_string(&e.config)
                .unwrap()
                .replace(&e.sim.url(), &format!("http://{closed}"));
            std::fs::write(&e.config, t).unwrap();
        },
        1,
        &[
            "cannot reach the API after 4 attempts",
            &closed.to_string(),
            "check api.url",
        ],
    );
}

#[test]
fn output_directory_missing() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let t = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("conf.d/bridgerest.conf", "nowhere/bridgerest.conf");
    std::fs::write(&env.config, t).unwrap();
    let run = env.run(&["refresh"]);
    run.assert_error(
        1,
        &format!("directory {} does not exist", env.path("nowhere").display()),
    );
    assert_eq!(
        env.sim.sim.stats().requests,
        0,
        "no API call before the output directory is known good"
    );
}

#[test]
fn output_directory_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    assert_eq!(env.run(&["refresh"]).code, 2); // no config yet: usage error
    env.write_config(&[S3_CLUSTER], "");
    assert_eq!(env.run(&["refresh"]).code, 0);
    let before = std::fs::read(&env.out).unwrap();
    let root = nix::unistd::Uid::effective().is_root();
    if root {
        // root may write anywhere: run as `nobody`, who can read the config but not write the dir
        for (p, m) in [
            (env.dir.path().to_path_buf(), 0o755),
            (env.path("api-key"), 0o644),
            (env.config.clone(), 0o644),
            (env.path("conf.d"), 0o755),
        ] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        }
    } else {
        std::fs::set_permissions(env.path("conf.d"), std::fs::Permissions::from_mode(0o555))
            .unwrap();
    }
    let mut cmd = env.cmd();
    if root {
        cmd.uid(65534).gid(65534);
    }
    let run = Run::from(cmd.arg("refresh").output().unwrap());
    env.assert_no_secrets(&run);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(
        line.contains(&format!(
            "directory {} is not writable by user",
            env.path("conf.d").display()
        )),
        "{line}"
    );
    assert_eq!(std::fs::read(&env.out).unwrap(), before);
}

#[test]
fn failed_cluster_keeps_its_last_good_stanza() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER, AZURE_CLUSTER], "");
    assert_eq!(env.run(&["refresh"]).code, 0);
    let first = ini(&env.read_out());
    let az_before: Vec<(String, String)> = first
        .section(Some("k3pdw5mhbjfdtm4lc6bnmutoai"))
        .unwrap()
        .iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let s3_key_before = first
        .section(Some(S3_STANZA))
        .unwrap()
        .get("repo1-s3-key")
        .unwrap()
        .to_string();

    env.sim.sim.set_faults(vec![Fault {
        path: Some(format!("{AZURE_CLUSTER}/backup-tokens")),
        method: None,
        times: None,
        kind: FaultKind::ServerError { status: 503 },
    }]);
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains("error (previous stanza kept)"),
        "{run:?}"
    );
    assert!(
        run.error_line()
            .contains(&format!("cluster {AZURE_CLUSTER}: POST")),
        "{run:?}"
    );
    assert!(run.error_line().contains("503"), "{run:?}");
    let second = ini(&env.read_out());
    let az_after: Vec<(String, String)> = second
        .section(Some("k3pdw5mhbjfdtm4lc6bnmutoai"))
        .unwrap()
        .iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert_eq!(az_before, az_after, "azure stanza must be kept as it was");
    assert_ne!(
        second
            .section(Some(S3_STANZA))
            .unwrap()
            .get("repo1-s3-key")
            .unwrap(),
        s3_key_before,
        "s3 stanza must be fresh"
    );
}

#[test]
fn rate_limit_waits_for_retry_after_and_reuses_idempotency_key() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    env.sim.sim.set_faults(vec![Fault {
        path: Some("backup-tokens".into()),
        method: None,
        times: Some(2),
        kind: FaultKind::RateLimit { retry_after: 1 },
    }]);
    let start = std::time::Instant::now();
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(2),
        "Retry-After not honoured"
    );
    let stats = env.sim.sim.stats();
    assert_eq!(stats.by_path["POST /clusters/{id}/backup-tokens"], 3);
    assert_eq!(stats.idempotency_keys.len(), 3);
    assert!(
        stats
            .idempotency_keys
            .iter()
            .all(|k| k == &stats.idempotency_keys[0]),
        "{:?}",
        stats.idempotency_keys
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    env.sim.sim.set_faults(vec![Fault {
        path: None,
        method: None,
        times: Some(2),
        kind: FaultKind::ServerError { status: 500 },
    }]);
    assert_eq!(env.run(&["refresh"]).code, 0);
    env.sim.sim.set_faults(vec![Fault {
        path: None,
        method: None,
        times: None,
        kind: FaultKind::ServerError { status: 502 },
    }]);
    let run = env.run(&["refresh"]);
    run.assert_error(1, "502");
    assert!(run.error_line().contains("4 times"), "{run:?}");
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let env = Env::new();
    let cfg = env
        .base_config("")
        .replace("timeout = \"5s\"", "timeout = \"300ms\"");
    std::fs::write(
        &env.config,
        format!("{cfg}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n"),
    )
    .unwrap();
    env.sim.sim.set_faults(vec![Fault {
        path: Some("backup-tokens".into()),
        method: None,
        times: Some(1),
        kind: FaultKind::Slow { delay_ms: 2000 },
    }]);
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        env.sim.sim.stats().by_path["POST /clusters/{id}/backup-tokens"],
        2
    );
}

#[test]
fn backups_follow_every_page() {
    let mut state = sample_state(KEY, 0);
    state.clusters[0].backups = (0..250)
        .map(|i| json!({"name": format!("20260101-{i:06}F"), "started_at": "2026-01-01T00:00:00Z", "finished_at": format!("2026-01-01T{:02}:{:02}:00Z", i / 60, i % 60), "lsn_start": "0/1", "lsn_stop": "0/2", "size_bytes": 1000 + i, "type": ""}))
        .collect();
    let env = Env::with_state(state);
    env.write_config(&[], "");
    let run = env.run(&["backups", S3_CLUSTER, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list.len(), 250);
    assert_eq!(list[249]["name"], "20260101-000249F");
    assert_eq!(env.sim.sim.stats().by_path["GET /clusters/{id}/backups"], 3);
    let table = env.run(&["backups", S3_CLUSTER]);
    assert_eq!(table.stdout.lines().count(), 251);
    let bad = env.run(&["backups", "prod"]);
    assert_eq!(bad.code, 2);
    assert!(bad
        .error_line()
        .contains("\"prod\" is not a Crunchy Bridge cluster ID"));
}

#[test]
fn clusters_table_and_json() {
    let env = Env::new();
    env.write_config(&[], "");
    let run = env.run(&["clusters"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!(run.stdout);
    let json = env.run(&["clusters", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list[0]["plan_id"], "standard-4",
        "the API's fields are kept"
    );
}

#[test]
fn main_pgbackrest_conf_is_merged_not_replaced() {
    let env = Env::new();
    let (main, cfg) = env.merged_base_config();
    std::fs::write(
        &env.config,
        format!("{cfg}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n"),
    )
    .unwrap();
    let user = format!("[global]\n# keep me\nlog-level-file=detail\n\n[{S3_STANZA}]\narchive-async=y\nrepo1-s3-key=OLD\n\n[{S3_STANZA}:restore]\nprocess-max=8\n");
    std::fs::write(&main, &user).unwrap();
    // A section the user wrote is not taken over, even when the token names it.
    let refused = env.run(&["refresh"]);
    refused.assert_error(
        1,
        &format!(
            "stanza \"{S3_STANZA}\" is a section bridgerest did not write in {}",
            main.display()
        ),
    );
    assert!(
        refused.error_line().contains("set `stanza = "),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&main).unwrap(),
        user,
        "file changed"
    );
    // Handed over with bridgerest's mark, it is merged: the user's other lines stay.
    let user = user.replace(
        &format!("[{S3_STANZA}]\n"),
        &format!("# bridgerest: cluster {S3_CLUSTER}\n[{S3_STANZA}]\n"),
    );
    std::fs::write(&main, &user).unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    let text = std::fs::read_to_string(&main).unwrap();
    for keep in [
        "# keep me\nlog-level-file=detail\n",
        "archive-async=y\n",
        &format!("[{S3_STANZA}:restore]\nprocess-max=8\n"),
    ] {
        assert!(text.contains(keep), "lost {keep:?}:\n{text}");
    }
    assert!(!text.contains("=OLD"), "{text}");
    let conf = ini(&text);
    assert_eq!(
        conf.section(Some(S3_STANZA))
            .unwrap()
            .get_all("repo1-s3-key")
            .count(),
        1
    );
    assert_eq!(env.run(&["refresh"]).code, 0);
    let again = std::fs::read_to_string(&main).unwrap();
    assert_eq!(
        again.lines().count(),
        text.lines().count(),
        "a second merge adds nothing"
    );
}

#[test]
fn owner_group_and_mode_are_applied() {
    let env = Env::new();
    let root = nix::unistd::Uid::effective().is_root();
    let (owner, group) = if root {
        ("nobody", "nogroup")
    } else {
        ("", "")
    };
    let extra = if root {
        format!("owner = \"{owner}\"\ngroup = \"{group}\"\nmode = \"0640\"\n")
    } else {
        "mode = 0o640\n".to_string()
    };
    env.write_config(&[S3_CLUSTER], &extra);
    assert_eq!(env.run(&["refresh"]).code, 0);
    assert_eq!(mode_of(&env.out), 0o640);
    if root {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&env.out).unwrap();
        assert_eq!(meta.uid(), 65534);
        assert_eq!(meta.gid(), 65534);
    }
    env.write_config(&[S3_CLUSTER], "mode = \"0644\"\n");
    let run = env.run(&["refresh"]);
    run.assert_error(2, "would let every user read the credentials");
}

#[test]
fn gcs_service_key_gets_its_own_file() {
    let env = Env::new();
    env.sim.sim.set_store(
        GCS_CLUSTER,
        StoreTemplate::Gcs {
            bucket: "b".into(),
            credential: "key".into(),
        },
    );
    env.write_config(&[GCS_CLUSTER], "");
    assert_eq!(env.run(&["refresh"]).code, 0);
    let key_file = env.path("conf.d/n2dwhq6ze5bxxoqyyf3bnzcbwu.gcs-key.json");
    assert_eq!(mode_of(&key_file), 0o600);
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(key["type"], "service_account");
    let conf = ini(&env.read_out());
    let sec = conf.section(Some("n2dwhq6ze5bxxoqyyf3bnzcbwu")).unwrap();
    assert_eq!(sec.get("repo1-gcs-key-type"), Some("service"));
    assert_eq!(
        sec.get("repo1-gcs-key"),
        Some(&*key_file.display().to_string())
    );
}

#[test]
fn user_option_clashing_with_rendered_one_is_refused() {
    let env = Env::new();
    env.write_config(&[], "");
    let t = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{t}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n[cluster.options]\n\"repo1-s3-bucket\" = \"mine\"\n\"repo1-s3-endpoint\" = \"127.0.0.1\"\n")).unwrap();
    let run = env.run(&["refresh"]);
    run.assert_error(
        1,
        "option \"repo1-s3-bucket\" in [cluster.options] clashes with repo1-s3-bucket",
    );
    assert!(!env.out.exists());
}

#[test]
fn concurrent_refreshes_never_interleave() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER, AZURE_CLUSTER, GCS_CLUSTER], "");
    let children: Vec<_> = (0..6)
        .map(|_| {
            env.cmd()
                .arg("refresh")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let conf = ini(&env.read_out());
    assert_eq!(conf.sections().flatten().count(), 3);
    for sec in conf.sections().flatten() {
        assert_eq!(
            conf.section(Some(sec))
                .unwrap()
                .get_all("repo1-type")
                .count(),
            1
        );
    }
}

#[test]
fn check_reports_each_problem_on_its_own_line() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    std::fs::write(env.path("pgbackrest.conf"), format!("[global]\nlog-level-console=info\n\n[{S3_STANZA}]\nrepo1-s3-bucket=mine\npg1-path=/x\n")).unwrap();
    let run = env.run(&["check", "--no-repository"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "ok    config {} is valid (1 clusters)",
            env.config.display()
        )),
        "{run:?}"
    );
    assert!(run.stdout.contains("ok    API http://"), "{run:?}");
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert_eq!(fails.len(), 2, "{run:?}");
    assert!(
        fails.iter().any(
            |l| l.contains("sets repo1-s3-bucket in [2qc6yv2ztfcw7a7yoripu4zlsm]")
                && l.contains("error 31")
        ),
        "{fails:?}"
    );
    assert!(
        fails.iter().any(|l| l.contains("sets pg1-path")),
        "{fails:?}"
    );
    assert!(
        run.stdout.contains("ok    pgBackRest 2."),
        "pgBackRest must be installed for this test (apt-get install pgbackrest): {run:?}"
    );

    std::fs::write(env.path("pgbackrest.conf"), "").unwrap();
    let ok = env.run(&["check", "--no-repository"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("ok    pgBackRest reads "), "{ok:?}");

    // With a [drill] section, check also looks at what drills need.
    let with_drill = std::fs::read_to_string(&env.config).unwrap().replace(
        "\n[daemon]\n",
        &format!(
            "\n[drill]\nscratch = \"{}\"\nreports = \"{}\"\n\n[daemon]\n",
            env.path("drill/copy").display(),
            env.path("reports").display()
        ),
    );
    std::fs::write(&env.config, &with_drill).unwrap();
    let drill = env.run(&["check", "--no-repository"]);
    assert_eq!(drill.code, 0, "{drill:?}");
    for line in [
        "ok    drills can start PostgreSQL (/usr/lib/postgresql/15/bin)".to_string(),
        format!(
            "ok    drill reports: {} is writable ({} is made there)",
            env.dir.path().display(),
            env.path("reports").display()
        ),
        "ok    drill scratch space: ".to_string(),
    ] {
        assert!(drill.stdout.contains(&line), "{line} missing: {drill:?}");
    }

    // The file written outside the include path: check says pgBackRest would not read it, and
    // restore refuses before asking the API anything.
    let text = std::fs::read_to_string(&env.config).unwrap().replace(
        &format!("include_path = \"{}\"", env.path("conf.d").display()),
        &format!("include_path = \"{}\"", env.path("other.d").display()),
    );
    std::fs::write(&env.config, text).unwrap();
    let bad = env.run(&["check", "--no-repository"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    let why = "so pgBackRest would not read its stanzas: move it into";
    assert!(
        bad.stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains(why)),
        "{bad:?}"
    );
    let before = env.sim.sim.stats().requests;
    let r = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--dry-run",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.error_line().contains(why), "{r:?}");
    assert_eq!(env.sim.sim.stats().requests, before);
}

#[test]
fn version_names_the_commit_as_the_subcommand_does() {
    let env = Env::new();
    let flag = env.run(&["--version"]);
    let sub = env.run(&["version"]);
    assert_eq!(flag.code, 0, "{flag:?}");
    assert_eq!(sub.code, 0, "{sub:?}");
    assert_eq!(flag.stdout, sub.stdout);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut want = format!("bridgerest {}", env!("CARGO_PKG_VERSION"));
    if root.join(".git").exists() {
        let out = std::process::Command::new("git")
            .args(["-c", "safe.directory=*", "rev-parse", "--short=12", "HEAD"])
            .current_dir(root)
            .output()
            .unwrap();
        want = format!(
            "{want} (commit {})",
            String::from_utf8(out.stdout).unwrap().trim()
        );
    }
    assert_eq!(sub.stdout, format!("{want}\n"));
}

#[test]
fn refresh_check_and_restore_plan_as_json_without_secrets() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER, AZURE_CLUSTER], "");
    let run = env.run(&["refresh", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2, "{v}");
    let s3 = clusters
        .iter()
        .find(|c| c["cluster"] == S3_CLUSTER)
        .unwrap();
    assert_eq!(s3["stanza"], S3_STANZA);
    assert_eq!(s3["type"], "s3");
    assert_eq!(s3["ok"], true);
    assert!(s3["error"].is_null());
    // Once a cluster fails: its error and failure kind, the previous stanza kept, exit 3.
    env.sim.sim.set_faults(vec![Fault {
        path: Some(format!("{AZURE_CLUSTER}/backup-tokens")),
        method: None,
        times: None,
        kind: FaultKind::ServerError { status: 503 },
    }]);
    let run = env.run(&["refresh", "--json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let az = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == AZURE_CLUSTER)
        .unwrap()
        .clone();
    assert_eq!(az["ok"], false, "{v}");
    assert_eq!(az["previous_kept"], true, "{v}");
    assert_eq!(az["failure"], "transient", "{v}");
    assert!(az["error"].as_str().unwrap().contains("503"), "{v}");

    let run = env.run(&["check", "--no-repository", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.len() > 5, "{v}");
    assert_eq!(
        checks[0]["message"],
        format!("config {} is valid (2 clusters)", env.config.display())
    );
    assert_eq!(v["ok"], run.code == 0, "{run:?}");
    assert_eq!(
        checks.iter().all(|c| c["ok"] == true),
        run.code == 0,
        "{run:?}"
    );

    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--pg1-path",
        env.path("restore").to_str().unwrap(),
        "--dry-run",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let v: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    assert_eq!(v["cluster"], S3_CLUSTER, "{v}");
    assert_eq!(v["stanza"], S3_STANZA, "{v}");
    assert_eq!(v["dry_run"], true, "{v}");
    assert!(
        v["command"].as_str().unwrap().starts_with("pgbackrest "),
        "{v}"
    );
    assert!(
        v["data_dir"]
            .as_str()
            .unwrap()
            .contains(env.path("restore").to_str().unwrap()),
        "{v}"
    );
    // --json is for the plan of a dry run.
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--json",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--dry-run"), "{run:?}");
}

#[test]
fn verbose_raises_bridgerest_s_own_log_as_its_help_says() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let quiet = env.run(&["refresh"]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(!quiet.stderr.contains("INFO"), "{quiet:?}");
    let info = env.run(&["-v", "refresh"]);
    assert!(
        info.stderr.contains("INFO") && info.stderr.contains("token fetched"),
        "{info:?}"
    );
    assert!(!info.stderr.contains("DEBUG"), "{info:?}");
    let debug = env.run(&["refresh", "-vv"]);

    assert!(
        debug.stderr.contains("DEBUG") && debug.stderr.contains("API key loaded"),
        "{debug:?}"
    );
    // Only bridgerest's: not the HTTP client's or TLS's debug lines.
    for noise in [
        "hyper",
        "reqwest",
        "rustls",
        "starting new connection",
        "connecting to",
    ] {
        assert!(!debug.stderr.contains(noise), "{noise}: {debug:?}");
    }
    let run = Run::from(
        env.cmd()
            .env("BRIDGEREST_LOG", "bridgerest=loud")
            .arg("refresh")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .starts_with("warning: BRIDGEREST_LOG=\"bridgerest=loud\" is not a log filter"),
        "{run:?}"
    );
}

#[test]
fn clusters_lists_every_team_and_403_says_no_access() {
    let st = bridgerest::sim::sample_state_with_teams(KEY);
    let env = Env::with_state(st);
    env.write_config(&[], "");
    let run = env.run(&["clusters"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with(GCS_CLUSTER) && l.contains("Acme Ops")),
        "{run:?}"
    );
    assert!(!run.stdout.contains("hhhhhhhh"), "{run:?}");
    env.run(&["backups", "hhhhhhhhhhhhhhhhhhhhhhhhhe"])
        .assert_error(
            1,
            "no such cluster, or this API key has no access to it (403",
        );
    // check sees a cluster of an organisation team.
    env.write_config(&[GCS_CLUSTER], "");
    let check = env.run(&["check", "--no-repository"]);
    assert!(!check.stdout.contains("in none of the teams"), "{check:?}");
}

#[test]
fn check_with_an_unreachable_api_is_short_and_one_line_per_check() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    // A port nothing listens on; the harness allows 3 retries with a 5 s timeout.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&env.sim.url(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(&env.config, text).unwrap();
    let t0 = std::time::Instant::now();
    let run = env.run(&["check", "--no-repository"]);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(12),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stderr.contains("retrying"), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .all(|l| l.starts_with("ok    ") || l.starts_with("FAIL  ")),
        "{run:?}"
    );
    assert!(run.stdout.contains("FAIL  GET http://127.0.0.1"), "{run:?}");
}

/// The README's quick start: `bridgerest-sim demo` runs every step against the simulator,
/// says what each shows, redacts every secret, and keeps the files it wrote.
#[test]
fn the_quick_start_demo_works_as_the_readme_says() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest-sim"))
        .arg("demo")
        .env_remove("BRIDGEREST_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "{run:?}");
    for step in [
        "# 1. ",
        "# 2. ",
        "# 3. ",
        "# 4. ",
        "# 5. ",
        "# 6. ",
        "window:    ",
        "command:   pgbackrest ",
        // One cluster of each provider, and a restore at the provider followed to its end.
        "# IONOS DBaaS\n",
        "# Launcher\n",
        "498ae72f-411f-11eb-9d07-046c59cc737e-4oymiqu-12  yes",
        "\"billing-as-of-yesterday\", host ",
    ] {
        assert!(
            run.stdout.contains(step),
            "{step:?} missing:\n{}",
            run.stdout
        );
    }
    for secret in [
        "repo1-s3-key=",
        "repo1-s3-key-secret=",
        "repo1-s3-token=",
        "repo1-azure-key=",
        "repo1-gcs-key=",
    ] {
        let shown: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with(secret))
            .collect();
        assert!(
            !shown.is_empty() && shown.iter().all(|l| l.ends_with("=[redacted]")),
            "{secret}: {shown:?}"
        );
    }
    assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
    let kept = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("# The files are kept in "))
        .and_then(|l| l.split(':').next())
        .unwrap();
    let file = std::path::Path::new(kept).join("conf.d/bridgerest.conf");
    assert_eq!(mode_of(&file), 0o600);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("[2qc6yv2ztfcw7a7yoripu4zlsm]"));
    std::fs::remove_dir_all(kept).unwrap();
}

/// A config whose `[drill] reports` is a directory of the test's own (not made yet), with
/// the S3 and Azure clusters.
fn env_with_drill_reports() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let reports = env.path("reports");
    std::fs::write(
        &env.config,
        format!(
            "{}\n[drill]\nreports = \"{}\"\n\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n\n[[cluster]]\nid = \"{AZURE_CLUSTER}\"\npg1_path = \"/y\"\n",
            env.base_config(""),
            reports.display()
        ),
    )
    .unwrap();
    (env, reports)
}

#[test]
fn drills_lists_the_kept_reports_as_a_table_json_and_csv() {
    use bridgerest::drill::{report, Report, Target};
    use time::macros::datetime;
    let (env, reports) = env_with_drill_reports();
    let run = env.run(&["drills"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("no drill reports in "), "{run:?}");
    let make = |cluster: &str, at: time::OffsetDateTime, ok: bool| {
        let mut r = Report::new(
            cluster,
            "main",
            Target::Latest,
            at,
            std::path::Path::new("/x"),
        );
        r.check(report::CheckName::Restore, true, "restored".into());
        r.check(
            report::CheckName::RecoveredTo,
            ok,
            if ok {
                "at the target".into()
            } else {
                "short of the target, \"by 5s\"".into()
            },
        );
        r.restore_seconds = Some(4.25);
        r.recovery_seconds = Some(1.5);
        r.bytes_fetched = Some(3 << 20);
        r.finish();
        report::write(&reports, &r, 100).unwrap();
    };
    make(S3_CLUSTER, datetime!(2026-11-01 03:30:00 UTC), true);
    make(S3_CLUSTER, datetime!(2026-11-08 03:30:00 UTC), false);
    make(AZURE_CLUSTER, datetime!(2026-11-02 03:30:00 UTC), true);
    // A file another user put there under a name that is not its own cluster's: not listed.
    std::fs::write(
        reports.join("forged.json"),
        std::fs::read(
            std::fs::read_dir(&reports)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap(),
    )
    .unwrap();
    let run = env.run(&["drills"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run:?}");
    assert!(lines[0].starts_with("CLUSTER") && lines[0].contains("VERDICT"));
    assert!(lines[1].starts_with(S3_CLUSTER) && lines[1].contains("2026-11-01T03:30:00Z"));
    assert!(lines[2].starts_with(AZURE_CLUSTER));
    assert!(
        lines[3].contains("failed: recovered_to: short of the target") && lines[3].contains("4.2s"),
        "{run:?}"
    );
    assert!(
        lines[1].contains(" ok ") && lines[1].contains("3.0 MiB"),
        "{run:?}"
    );
    // One cluster, since a date; JSON; CSV.
    let run = env.run(&[
        "drills",
        "--cluster",
        S3_CLUSTER,
        "--since",
        "2026-11-05",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{run:?}");
    assert_eq!(v[0]["ok"], false);
    let run = env.run(&["drills", "--csv"]);
    let rows: Vec<&str> = run.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 4, "{run:?}");
    assert!(rows[0].starts_with("\"CLUSTER\",\"STARTED\""), "{run:?}");
    assert!(rows[3].contains("\"\"by 5s\"\""), "quotes doubled: {run:?}");
}

#[test]
fn drills_csv_is_for_machines_whole_numeric_and_defused() {
    use bridgerest::drill::{report, Report, Target};
    use time::macros::datetime;
    let (env, reports) = env_with_drill_reports();
    let long = format!("=HYPERLINK(\"http://x\") {}", "y".repeat(200));
    let mut r = Report::new(
        S3_CLUSTER,
        "main",
        Target::Latest,
        datetime!(2026-11-01 03:30:00 UTC),
        std::path::Path::new("/x"),
    );
    r.check(report::CheckName::Restore, true, "restored".into());
    r.check(report::CheckName::parse("-queries"), false, long.clone());
    r.restore_seconds = Some(4.25);
    r.lag_seconds = Some(-0.5);
    r.bytes_fetched = Some(3 << 20);
    r.backup = Some("+20261101-000000F".into());
    r.finish();
    report::write(&reports, &r, 100).unwrap();
    let run = env.run(&["drills", "--csv"]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows: Vec<&str> = run.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        rows[0],
        "\"CLUSTER\",\"STARTED\",\"FINISHED\",\"TARGET\",\"TARGET_KIND\",\"BACKUP\",\"VERDICT\",\"PROBLEM\",\"RESTORE_SECONDS\",\"RECOVERY_SECONDS\",\"CHECKS_SECONDS\",\"TOTAL_SECONDS\",\"LAG_SECONDS\",\"BYTES_FETCHED\""
    );
    let cells: Vec<String> = rows[1]
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap()
        .split("\",\"")
        .map(|c| c.replace("\"\"", "\""))
        .collect();
    assert_eq!(cells.len(), 14, "{cells:?}");
    assert_eq!(cells[0], S3_CLUSTER);
    assert_eq!(cells[1], "2026-11-01T03:30:00Z");
    assert!(
        time::OffsetDateTime::parse(&cells[2], &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{cells:?}"
    );
    assert_eq!(cells[5], "'+20261101-000000F", "formula-like cell defused");
    assert_eq!(cells[6], "failed");
    assert_eq!(cells[7], format!("'-queries: {long}"), "whole, defused");
    assert_eq!(cells[8], "4.25");
    assert_eq!(cells[9], "");
    assert_eq!(cells[12], "-0.5", "a number stays a number");
    assert_eq!(cells[13], (3u64 << 20).to_string());
}

#[test]
fn drills_cluster_must_be_a_configured_id() {
    let (env, _reports) = env_with_drill_reports();
    let run = env.run(&["drills", "--cluster", GCS_CLUSTER]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.error_line(),
        format!(
            "error: drills --cluster: no [[cluster]] in {} has id {GCS_CLUSTER}: give one of the configured ids ({S3_CLUSTER}, {AZURE_CLUSTER})",
            env.config.display()
        )
    );
    let run = env.run(&["drills", "--cluster", "x; rm -rf /"]);
    run.assert_error(2, "\"x; rm -rf /\" is not a cluster id");
    let run = env.run(&["drills", "--cluster", S3_CLUSTER]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// The drills' reports' environment with a third `[[cluster]]` (`third`), `drill.rto` set, the
/// state directory made (the signing key's), the config loaded, and a runtime to seal with.
fn page_env(
    third: &str,
    rto: &str,
) -> (
    Env,
    std::path::PathBuf,
    bridgerest::config::Config,
    tokio::runtime::Runtime,
) {
    use std::os::unix::fs::DirBuilderExt;
    let (env, reports) = env_with_drill_reports();
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[[cluster]]\nid = \"{third}\"\npg1_path = \"/z\"\n"
    ));
    text = text.replacen("[drill]\n", &format!("[drill]\nrto = \"{rto}\"\n"), 1);
    std::fs::write(&env.config, text).unwrap();
    let cfg = bridgerest::config::load(&env.config).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(env.path("state"))
        .unwrap();
    (env, reports, cfg, rt)
}

/// The screenshot `png` holds over four times the bytes of Chromium's screenshot of an empty
/// page: something was drawn.
fn assert_not_blank(env: &Env, png: &std::path::Path) {
    let blank = env.path("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank_png = env.path("blank.png");
    chromium(&format!("file://{}", blank.display()), &blank_png);
    let (shot, empty) = (
        std::fs::metadata(png).unwrap().len(),
        std::fs::metadata(&blank_png).unwrap().len(),
    );
    assert!(
        shot > empty * 4,
        "the screenshot looks blank: {shot} bytes against {empty}"
    );
}

/// Renders `url` in headless Chromium: a screenshot into `png`, and the DOM as text.
fn chromium(url: &str, png: &std::path::Path) -> String {
    let base = |extra: &[&str]| {
        let mut c = std::process::Command::new("chromium");
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1200,1500",
        ])
        .args(extra)
        .arg(url);
        c.output().unwrap_or_else(|e| {
            panic!("cannot run chromium ({e}): apt-get install chromium (or run `bash .ci/run`)")
        })
    };
    let shot = base(&[&format!("--screenshot={}", png.display())]);
    assert!(
        png.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dom = base(&["--dump-dom"]);
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
fn drills_html_is_one_offline_page_that_chromium_renders_with_every_cluster_and_verdict() {
    use bridgerest::drill::{report, seal, Report, Target};
    // A third configured cluster, never drilled: on the page, flagged.
    let (env, reports, cfg, rt) = page_env("qu3etc7usterneverdr4lledza", "2m");
    let day = time::Duration::days(7);
    let start = time::macros::datetime!(2026-09-06 03:30:00 UTC);
    for (k, cluster) in [S3_CLUSTER, AZURE_CLUSTER].iter().enumerate() {
        for i in 0..12u32 {
            let ok = !(k == 1 && i == 9);
            let mut r = Report::new(
                cluster,
                "main",
                Target::Random,
                start + day * i,
                std::path::Path::new("/x"),
            );
            r.check(report::CheckName::Restore, true, "restored".into());
            r.check(
                report::CheckName::RecoveredTo,
                ok,
                match ok {
                    true => "at the target".into(),
                    // A detail the drilling user could have written: shown, never run.
                    false => "short of the target <script>document.title='owned'</script>".into(),
                },
            );
            // One six-hour outlier among minutes: the log scale keeps the rest readable.
            r.restore_seconds = Some(match (k, i) {
                (0, 4) => 6.0 * 3600.0,
                _ => 20.0 + i as f64 * 3.0 + k as f64 * 10.0,
            });
            r.recovery_seconds = Some(5.0 + (i % 4) as f64);
            r.checks_seconds = Some(2.0);
            r.lag_seconds = Some((i % 5) as f64 * 0.4);
            r.bytes_fetched = Some(u64::from(40 + i) << 20);
            r.finish();
            rt.block_on(seal::seal(&cfg, &mut r));
            report::write(&reports, &r, 100).unwrap();
        }
    }
    let html = env.path("drills.html");
    // The period: the first drill (2026-09-06) is before it, the rest in it.
    let run = env.run(&[
        "drills",
        "--html",
        html.to_str().unwrap(),
        "--since",
        "2026-09-10",
        "--until",
        "2026-12-31",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("(22 drills)"), "{run:?}");
    let bad = env.run(&["drills", "--since", "2026-10-01", "--until", "2026-09-01"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("is not after --since"), "{bad:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing to fetch, nothing to run.
    for bad in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(bad), "the page holds {bad:?}");
    }
    assert!(page.contains("&lt;script&gt;"), "the detail is escaped");
    assert_eq!(
        page.matches("<svg").count(),
        4,
        "two charts per drilled cluster"
    );
    assert!(page.contains("log scale"), "{page}");
    let printed = env.run(&["drills", "--public-key"]);
    let fingerprint = printed
        .stdout
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("{printed:?}"))
        .to_string();
    // Rendered as a browser shows it: every cluster and verdict there, and not blank.
    let png = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("drills-report.png");
    let dom = chromium(&format!("file://{}", html.display()), &png);
    std::fs::write(png.with_extension("html"), &page).unwrap();
    for want in [
        "Period: <b>2026-09-10T00:00:00Z to 2026-12-31T00:00:00Z</b>".to_string(),
        format!("Cluster {S3_CLUSTER}"),
        format!("Cluster {AZURE_CLUSTER}"),
        "Cluster qu3etc7usterneverdr4lledza".to_string(),
        "<tr class=\"never\"><td class=\"n\">qu3etc7usterneverdr4lledza</td>".to_string(),
        "never drilled in the period: qu3etc7usterneverdr4lledza".to_string(),
        "11 drills, 11 passed, 0 failed".to_string(),
        "11 drills, 10 passed, 1 failed".to_string(),
        "recovered_to: short of the target".to_string(),
        "6 h 0 min".to_string(),
        "against an objective of 2 min 0 s: <span class=\"failed\">1 over it</span>".to_string(),
        "RTO objective (2 min 0 s)".to_string(),
        "24 signed report(s) of 2 cluster(s)".to_string(),
        format!("fingerprint <code>{fingerprint}</code>: <span class=\"ok\">all verified</span>"),
        "ISO/IEC 27001:2022 A.8.13".to_string(),
        "DORA Art. 12(3)".to_string(),
        "Recovery reached the target time".to_string(),
    ] {
        assert!(dom.contains(&want), "{want:?} not rendered");
    }
    assert!(
        dom.contains("<title>bridgerest restore drills</title>"),
        "a script ran"
    );
    assert_not_blank(&env, &png);
    // 1280 px wide: nothing wider than the window (a copy of the page with a measuring
    // script; the page itself holds none).
    let measured = env.path("measured.html");
    std::fs::write(
        &measured,
        page.replace(
            "</body>",
            "<script>document.title='W'+document.documentElement.scrollWidth+'/'+window.innerWidth</script></body>",
        ),
    )
    .unwrap();
    let dom = chromium_at(&format!("file://{}", measured.display()), 1280, &[]);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default()
        .to_string();
    let (scroll, inner) = title
        .trim_start_matches('W')
        .split_once('/')
        .map(|(a, b)| (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()))
        .unwrap_or_else(|| panic!("no measure: {title:?}"));
    assert!(
        inner >= 1200 && scroll <= inner,
        "the page overflows: {scroll} px in {inner}"
    );
    // Printed: A4 pages, not blank.
    let pdf = env.path("drills.pdf");
    chromium_at(
        &format!("file://{}", html.display()),
        1280,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let bytes = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let boxes: Vec<&str> = text
        .match_indices("/MediaBox")
        .map(|(i, _)| &text[i..i + 40])
        .collect();
    assert!(!boxes.is_empty(), "no page in the PDF");
    for b in &boxes {
        // A4: 595 x 842 points.
        assert!(
            b.contains("[0 0 595") || b.contains("[0 0 594.9"),
            "not A4: {b}"
        );
    }
    assert!(
        bytes.len() > 20_000,
        "the PDF looks blank: {} bytes",
        bytes.len()
    );
}

/// Headless chromium at `width` px with `extra` arguments; its DOM dump.
fn chromium_at(url: &str, width: u32, extra: &[&str]) -> String {
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            &format!("--window-size={width},1000"),
            "--dump-dom",
        ])
        .args(extra)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run chromium ({e})"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `xmllint --noout --schema tests/data/junit-10.xsd FILE`: Ok, or the validator's complaint.
fn junit_schema_check(file: &std::path::Path) -> Result<(), String> {
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit-10.xsd");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run xmllint ({e}): apt-get install libxml2-utils (or run `bash .ci/run`)"
            )
        });
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// #33 item 4: `drills --junit FILE` validates against the Jenkins xUnit plugin's JUnit schema
/// (which rejects a document that breaks it: the check is real), a suite per cluster with the
/// right counts, a case per check, the detail escaped (markup, `]]>`, control characters);
/// `--cluster` selects as for the table.
#[test]
fn drills_junit_validates_against_the_junit_schema_with_a_suite_per_cluster() {
    use bridgerest::drill::{report, Report, Target};
    let (env, reports) = env_with_drill_reports();
    let start = time::macros::datetime!(2026-10-04 03:30:00 UTC);
    for (k, cluster) in [S3_CLUSTER, AZURE_CLUSTER].iter().enumerate() {
        for i in 0..3u32 {
            let mut r = Report::new(
                cluster,
                "main",
                Target::Latest,
                start + time::Duration::days(7) * i,
                std::path::Path::new("/x"),
            );
            r.check(report::CheckName::Restore, true, "restored".into());
            match (k, i) {
                (1, 1) => r.check(
                    report::CheckName::Amcheck,
                    false,
                    "btree \"i\" <corrupt> & ]]> \u{1b}[31m\u{0}bad\ttuple\nnext".into(),
                ),
                (1, 2) => r.check(report::CheckName::Timeout, false, "took over 2h".into()),
                _ => r.check(report::CheckName::Amcheck, true, "no corruption".into()),
            }
            r.finish();
            r.restore_seconds = Some(20.5);
            r.recovery_seconds = Some(3.0);
            r.total_seconds = Some(30.0);
            report::write(&reports, &r, 100).unwrap();
        }
    }
    let file = env.path("drills.xml");
    let run = env.run(&["drills", "--junit", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("(6 drills, 12 checks as JUnit test cases)"),
        "{run:?}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o644
    );
    junit_schema_check(&file).unwrap_or_else(|e| panic!("drills --junit is not valid JUnit: {e}"));
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.contains("<testsuites name=\"bridgerest restore drills\" tests=\"12\" failures=\"1\" errors=\"1\" time=\"180.000\">"), "{xml}");
    assert!(xml.contains(&format!("<testsuite name=\"{S3_CLUSTER}\" tests=\"6\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"90.000\" timestamp=\"2026-10-04T03:30:00\">")), "{xml}");
    assert!(xml.contains(&format!("<testsuite name=\"{AZURE_CLUSTER}\" tests=\"6\" failures=\"1\" errors=\"1\" skipped=\"0\"")), "{xml}");
    assert!(xml.contains(&format!("<testcase name=\"amcheck @ 2026-10-11T03:30:00Z\" classname=\"{AZURE_CLUSTER}\" time=\"0.000\">")), "{xml}");
    assert!(xml.contains("<failure type=\"amcheck\" message=\"btree &quot;i&quot; &lt;corrupt&gt; &amp; ]]&gt; \u{fffd}[31m\u{fffd}bad&#9;tuple&#10;next\">"), "{xml}");
    assert!(
        xml.contains("<error type=\"timeout\" message=\"took over 2h\">"),
        "{xml}"
    );
    assert!(xml.contains(&format!("<testcase name=\"restore @ 2026-10-18T03:30:00Z\" classname=\"{S3_CLUSTER}\" time=\"20.500\"/>")), "{xml}");
    // Every test case is unique by classname and name (CI tools key results by both).
    let cases: Vec<(&str, &str)> = xml
        .split("<testcase name=\"")
        .skip(1)
        .map(|s| {
            let mut q = s.split('"');
            (q.next().unwrap(), q.nth(1).unwrap())
        })
        .collect();
    let unique: std::collections::BTreeSet<&(&str, &str)> = cases.iter().collect();
    assert_eq!((cases.len(), unique.len()), (12, 12), "{cases:?}");

    // --cluster selects one suite, as it selects the table's rows.
    let one = env.path("one.xml");
    let run = env.run(&[
        "drills",
        "--cluster",
        S3_CLUSTER,
        "--junit",
        one.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    junit_schema_check(&one).unwrap();
    let xml = std::fs::read_to_string(&one).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    assert!(
        xml.contains("tests=\"6\" failures=\"0\" errors=\"0\" time=\"90.000\">"),
        "{xml}"
    );

    // The validator is real: the same document with a suite's required count left out, or a
    // raw control character a careless escaper would let through, is rejected.
    let bad = env.path("bad.xml");
    std::fs::write(
        &bad,
        xml.replacen(
            " tests=\"6\" failures=\"0\" errors=\"0\" skipped",
            " skipped",
            1,
        ),
    )
    .unwrap();
    let e = junit_schema_check(&bad).unwrap_err();
    assert!(
        e.contains("tests") && e.contains("fails to validate"),
        "{e}"
    );
    std::fs::write(
        &bad,
        xml.replacen("restored", "restored\u{1}", 1).replacen(
            "/>",
            "><failure message=\"\u{1}\"/></testcase>",
            1,
        ),
    )
    .unwrap();
    assert!(
        junit_schema_check(&bad).is_err(),
        "a control character passed"
    );

    // A file that cannot be written is named, and nothing is half written.
    let run = env.run(&["drills", "--junit", "/nonexistent-dir/drills.xml"]);
    run.assert_error(2, "cannot write /nonexistent-dir/drills.xml");
}

/// #31: a self-managed pgBackRest repository has no API: `backup` points to `pgbackrest
/// backup`, `destroy` says who can delete; both refuse before anything is run or sent.
#[test]
fn a_self_managed_repository_takes_no_backup_and_no_destroy_here() {
    let env = Env::new();
    let text = env.base_config(
        "\n[[cluster]]\nprovider = \"pgbackrest\"\nid = \"main\"\npg1_path = \"/var/lib/postgresql/15/main\"\n",
    );
    std::fs::write(&env.config, text).unwrap();
    let run = env.run(&["backup", "--cluster", "main"]);
    run.assert_error(
        2,
        "pgBackRest repository: a self-managed repository is backed up by pgBackRest itself, not through an API: run `pgbackrest --stanza=STANZA backup`",
    );
    assert!(
        run.error_line()
            .contains("(`bridgerest backup` asks Crunchy Bridge and Launcher for one)"),
        "{run:?}"
    );
    env.run(&["destroy", "--cluster", "main", "--confirm", "main"])
        .assert_error(
            2,
            "pgBackRest repository has no cluster bridgerest can delete: `destroy` deletes clusters at Crunchy Bridge, IONOS DBaaS or Launcher",
        );
    assert_eq!(env.sim.sim.stats().requests, 0);
}

/// The picture in docs/operating.md, from realistic drills: three clusters drilled weekly for
/// ten weeks as `drill.schedule`'s default does (two on this host, one at the provider), each
/// with the checks a drill here runs and their details as bridgerest words them, and one
/// failure: a page whose checksum pg_checksums refused. Rendered in headless Chromium and
/// checked; `BRIDGEREST_BLESS=1 cargo test --test cli readme_picture` writes it to
/// contrib/drills-report.png.
#[test]
fn readme_picture_comes_from_realistic_drills() {
    use bridgerest::drill::report::{self, CheckName, ProviderCopy, Ran};
    use bridgerest::drill::{seal, Report, Target};
    let (env, reports, cfg, rt) = page_env(GCS_CLUSTER, "1h");
    let start = time::macros::datetime!(2026-09-27 03:30:00 UTC);
    let ran = Ran {
        host: "dr-restore-1".into(),
        bridgerest: env!("CARGO_PKG_VERSION").into(),
        pgbackrest: Some("2.45".into()),
        postgresql: Some("15.14 (Debian 15.14-0+deb12u1)".into()),
    };
    // (cluster, GiB restored, restore minutes, at the provider)
    let clusters = [
        (S3_CLUSTER, 12.4, 9.0, false),
        (AZURE_CLUSTER, 3.1, 2.6, false),
        (GCS_CLUSTER, 41.0, 0.0, true),
    ];
    for (k, (cluster, gib, minutes, provider)) in clusters.into_iter().enumerate() {
        for week in 0..10u32 {
            // A fixed wobble per drill, so the charts show a trend and no two drills match.
            let wobble = f64::from((week * 7 + k as u32 * 3) % 11) / 10.0 - 0.5;
            let at = start
                + time::Duration::days(7 * i64::from(week))
                + time::Duration::minutes(20 * k as i64);
            let label = format!(
                "{}-000012F",
                (at - time::Duration::days(1))
                    .date()
                    .to_string()
                    .replace('-', "")
            );
            let mut r = Report::new(
                cluster,
                "main",
                Target::Random,
                at,
                std::path::Path::new("/var/lib/bridgerest/drill/main"),
            );
            let target = at - time::Duration::hours(20 + i64::from(week % 5));
            r.target = bridgerest::restore::show_time(target);
            r.target_time = Some(target);
            r.backup = Some(label.clone());
            let lag = 0.4 + wobble.abs() * 2.0;
            r.recovered_to = Some(target - time::Duration::milliseconds((lag * 1000.0) as i64));
            r.lag_seconds = Some(lag);
            let mut ran = ran.clone();
            if provider {
                // At the provider: its copy, over TLS; no pgBackRest here.
                ran.pgbackrest = None;
                ran.postgresql = Some("16.4".into());
                let ready = 1500.0 + wobble * 240.0 + f64::from(week) * 30.0;
                r.at_provider = Some(ProviderCopy {
                    provider: "bridge".into(),
                    id: Some(format!("k3wq7dmx5vhrjpz2bne6fo{week:02}aa")),
                    name: format!("drill-{cluster}-{week}"),
                    ready_seconds: Some(ready),
                    lifetime_seconds: Some(ready + 300.0),
                    deleted: true,
                    not_checked: vec![
                        "pg_amcheck: the provider's role is no superuser: heapallindexed".into(),
                    ],
                });
                r.check(
                    CheckName::Copy,
                    true,
                    format!(
                        "made from {label}, ready after {}",
                        bridgerest::text::duration_secs(ready)
                    ),
                );
                r.check(
                    CheckName::Connect,
                    true,
                    "TLS, PostgreSQL 16.4, not in recovery".into(),
                );
                r.check(
                    CheckName::RecoveredTo,
                    true,
                    format!(
                        "the last transaction replayed committed at {}, target {}",
                        bridgerest::restore::show_time(r.recovered_to.unwrap()),
                        bridgerest::restore::show_time(target)
                    ),
                );
                r.check(
                    CheckName::Amcheck,
                    true,
                    "no corruption found: 1391/1391 relations (100%), 5373952/5373952 pages (100%)"
                        .into(),
                );
                r.check(
                    CheckName::Query(1),
                    true,
                    "SELECT count(*) FROM public.orders → 18204411".into(),
                );
                r.check_rto(
                    Some(std::time::Duration::from_secs(3600)),
                    ready,
                    "the copy was ready after",
                );
                r.check(CheckName::CopyLeft, true, "deleted".into());
                r.checks_seconds = Some(410.0 + wobble * 40.0);
            } else {
                let restore = minutes * 60.0 * (1.0 + wobble * 0.2) + f64::from(week) * 6.0;
                let recovery = 40.0 + wobble * 15.0 + f64::from(week % 3) * 20.0;
                r.restore_seconds = Some(restore);
                r.recovery_seconds = Some(recovery);
                r.bytes_fetched = Some((gib * 1.07 * 1073741824.0) as u64);
                r.check(
                    CheckName::Plan,
                    true,
                    format!("{label}, target {}", r.target),
                );
                r.check(CheckName::Space, true, format!("{:.1} GiB needed (backup {gib:.1} GiB + WAL 1.0 GiB + spool 256 MiB + 10% margin), 410.2 GiB free", gib * 1.1 + 1.4));
                r.check(
                    CheckName::Restore,
                    true,
                    format!("{label} restored from nothing in {restore:.1} s"),
                );
                r.check(
                    CheckName::Isolation,
                    true,
                    "private socket, listen_addresses='', archive_mode=off".into(),
                );
                r.check(
                    CheckName::Recovery,
                    true,
                    format!("promoted after {recovery:.1} s, last replayed LSN 3A/5C0012F8"),
                );
                r.check(
                    CheckName::RecoveredTo,
                    true,
                    format!(
                        "recovered to {} ({lag:.1} s before the target {})",
                        bridgerest::restore::show_time(r.recovered_to.unwrap()),
                        r.target
                    ),
                );
                r.check_rto(
                    Some(std::time::Duration::from_secs(3600)),
                    restore + recovery,
                    "restore and recovery took",
                );
                r.check(CheckName::Amcheck, true, format!("heapallindexed, --jobs=2: no corruption found: 812/812 relations (100%), {0}/{0} pages (100%)", (gib * 131072.0) as u64));
                r.check(
                    CheckName::Query(1),
                    true,
                    "SELECT count(*) FROM public.orders → 2291874".into(),
                );
                let bad = k == 1 && week == 6;
                r.check(
                    CheckName::Checksums,
                    !bad,
                    match bad {
                        false => format!("no bad checksum in {} blocks of 2417 files (stopped copy, 21.4 s)", (gib * 131072.0) as u64),
                        true => "pg_checksums exit status: 1: 1 bad checksum(s) in 406323 blocks: pg_checksums: error: checksum verification failed in file \"/var/lib/bridgerest/drill/main/copy/base/16384/16422\", block 1187: calculated checksum 5A1D but block contains 93C4".into(),
                    },
                );
                r.checks_seconds = Some(restore * 0.18);
            }
            r.ran = Some(ran);
            r.finish();
            if let Some(c) = r.at_provider.as_ref().and_then(|c| c.ready_seconds) {
                r.total_seconds = Some(c + r.checks_seconds.unwrap_or(0.0) + 300.0);
            }
            rt.block_on(seal::seal(&cfg, &mut r));
            report::write(&reports, &r, 100).unwrap();
        }
    }
    // The failure's follow-up, signed as `drills --note` signs it.
    let failed = report::report_name(&{
        let mut r = Report::new(
            AZURE_CLUSTER,
            "main",
            Target::Random,
            start + time::Duration::days(42) + time::Duration::minutes(20),
            std::path::Path::new("/"),
        );
        r.ok = false;
        r
    });
    let (note, file) = seal::note(&cfg, &failed, "Page 1187 of orders_2026_11 was bad in the source too (storage firmware fault). Restored that partition from the 2026-11-07 backup; the next drill passed. INC-2291.", "m.weber").unwrap();
    report::write_note(&reports, &file, &note).unwrap();
    let html = env.path("drills.html");
    let run = env.run(&[
        "drills",
        "--html",
        html.to_str().unwrap(),
        "--since",
        "2026-09-27",
        "--until",
        "2026-12-06",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("(30 drills)"), "{run:?}");
    let png = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-drills.png");
    let dom = chromium(&format!("file://{}", html.display()), &png);
    // The picture: a 1280 px window, tall enough for the summary, scope and a cluster's charts.
    let shot = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1280,3400",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    for want in [
        "30 drills of 3 clusters (3 configured)",
        "10 drills, 9 passed, 1 failed",
        "checksum verification failed in file",
        "<b>Follow-up</b> (m.weber, ",
        "<td>dr-restore-1</td>",
        "all verified",
    ] {
        assert!(dom.contains(want), "{want:?} not rendered");
    }
    assert_not_blank(&env, &png);
    if std::env::var_os("BRIDGEREST_BLESS").is_some() {
        std::fs::copy(
            &png,
            concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/drills-report.png"),
        )
        .unwrap();
    }
}
