//! Attacks on bridgerest, each reproduced against the real binary: from the `postgres` user or
//! another local user (links, FIFOs, devices and foreign files where bridgerest writes as root;
//! a held lock; a section the user wrote), from a hostile or broken API (redirects, floods,
//! pagination loops, expired credentials, control characters, values where objects belong),
//! and from what children inherit. Each test fails without the fix it names. Runs as root, as
//! CI does (some attacks need a second user).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bridgerest::sim::{sample_state, Fault, FaultKind};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;
use sim_only::*;

const NOBODY: u32 = 65534;

fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "the security tests play a second user and must run as root (CI does): sudo cargo test"
    );
}

fn fault(path: &str, kind: FaultKind) -> Fault {
    Fault {
        path: Some(path.into()),
        method: None,
        times: None,
        kind,
    }
}

/// Waits for `child` at most `limit`; kills it and fails if it is still running.
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_daemon(env: &Env) -> Child {
    env.cmd()
        .env("BRIDGEREST_LOG", "info")
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(child: &mut Child, limit: Duration) -> String {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let st = wait_within(child, limit, "daemon after SIGTERM");
    assert!(st.success(), "daemon exit: {st:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    err
}

// --- High 1: links, FIFOs and devices where bridgerest writes ---------------------------------

#[test]
fn a_symlinked_output_file_is_neither_read_nor_replaced() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let shadow = env.path("shadow");
    std::fs::write(
        &shadow,
        "root:$6$saltsalt$HASHHASHHASH:19000:0:99999:7:::\n",
    )
    .unwrap();
    set_mode(&shadow, 0o600);
    std::os::unix::fs::symlink(&shadow, &env.out).unwrap();
    for cmd in ["refresh", "render"] {
        let run = env.run(&[cmd]);
        run.assert_error(1, "bridgerest.conf is a symbolic link");
    }
    assert!(std::fs::symlink_metadata(&env.out)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&shadow)
        .unwrap()
        .starts_with("root:$6$"));
    for e in std::fs::read_dir(env.path("conf.d")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && !p.is_symlink() {
            assert!(
                !std::fs::read_to_string(&p).unwrap().contains("HASHHASH"),
                "{} holds the link target's text",
                p.display()
            );
        }
    }
}

#[test]
fn a_symlinked_lock_file_is_refused_and_its_target_not_created() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let victim = env.path("victim");
    std::os::unix::fs::symlink(&victim, env.path("conf.d/bridgerest.conf.lock")).unwrap();
    env.run(&["refresh"])
        .assert_error(1, "bridgerest.conf.lock is a symbolic link");
    assert!(!victim.exists(), "root created the link's target");
    assert!(!env.out.exists());
}

#[test]
fn a_fifo_or_device_output_is_refused_without_hanging() {
    require_root();
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    nix::unistd::mkfifo(&env.out, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = env
        .cmd()
        .arg("refresh")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let st = wait_within(&mut child, Duration::from_secs(20), "refresh of a FIFO");
    assert_eq!(st.code(), Some(1));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("bridgerest.conf is a FIFO"), "{err}");
    assert!(std::fs::symlink_metadata(&env.out)
        .unwrap()
        .file_type()
        .is_fifo());

    std::fs::remove_file(&env.out).unwrap();
    nix::sys::stat::mknod(
        &env.out,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    env.run(&["refresh"])
        .assert_error(1, "bridgerest.conf is a device node");
    assert!(std::fs::symlink_metadata(&env.out)
        .unwrap()
        .file_type()
        .is_char_device());
}

// --- Medium 10: another user's file or an open directory ----------------------------------------

#[test]
fn a_file_planted_by_another_user_is_not_adopted() {
    require_root();
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let confd = env.path("conf.d");
    set_mode(&confd, 0o777);
    env.run(&["refresh"])
        .assert_error(1, "is writable by every user (mode 0777)");
    assert!(!env.out.exists());

    // Sticky, like /tmp: the directory is usable, but a file another user made there is not.
    set_mode(&confd, 0o1777);
    let planted = format!("[{S3_STANZA}]\nrepo1-storage-host=evil.example\n");
    std::fs::write(&env.out, &planted).unwrap();
    nix::unistd::chown(&env.out, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    env.run(&["refresh"]).assert_error(
        1,
        "is owned by nobody (uid 65534), not by root or the configured owner",
    );
    assert_eq!(env.read_out(), planted);
    let check = env.run(&["check", "--no-repository"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(check.stdout.contains("FAIL  ") && check.stdout.contains("is owned by nobody"));

    // The configured owner's file is the one bridgerest keeps writing.
    std::fs::remove_file(&env.out).unwrap();
    set_mode(&confd, 0o700);
    env.write_config(&[S3_CLUSTER], "owner = \"nobody\"\n");
    assert_eq!(env.run(&["refresh"]).code, 0);
    assert_eq!(std::fs::metadata(&env.out).unwrap().uid(), NOBODY);
    assert_eq!(env.run(&["refresh"]).code, 0);
}

// --- Medium 8 and 9: the lock ---------------------------------------------------------------------

#[test]
fn a_held_lock_is_waited_for_with_a_limit_and_its_holder_named() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "lock_timeout = \"1s\"\n");
    let lock = std::fs::File::create(env.path("conf.d/bridgerest.conf.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let t0 = Instant::now();
    let run = env.run(&["refresh"]);
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    run.assert_error(1, "waited 1s for the lock on");
    assert!(
        run.error_line()
            .contains(&format!("held by pid {}", std::process::id())),
        "{run:?}"
    );
    assert!(!env.out.exists());

    // A daemon waiting for it (default limit: a minute) still stops on SIGTERM at once.
    env.write_config(
        &[S3_CLUSTER],
        &format!(
            "\n[daemon]\nstatus_file = \"{}\"\n",
            env.path("status.json").display()
        ),
    );
    let mut daemon = spawn_daemon(&env);
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    let err = stop(&mut daemon, Duration::from_secs(5));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(err.contains("waiting for the lock"), "{err}");
    drop(held);
}

#[test]
fn a_lock_file_a_root_refresh_made_belongs_to_the_files_owner() {
    require_root();
    let env = Env::new();
    env.write_config(
        &[S3_CLUSTER],
        "owner = \"nobody\"\ngroup = \"nogroup\"\nmode = \"0640\"\n",
    );
    // As an earlier version left it: root:root 0644.
    let lock = env.path("conf.d/bridgerest.conf.lock");
    std::fs::write(&lock, "").unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    let meta = std::fs::metadata(&lock).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (NOBODY, NOBODY, 0o640)
    );
}

/// The status file a root `refresh` writes, and its lock, belong to `pgbackrest.owner` (the
/// daemon's user), so the daemon can take the lock and replace the file later; and a root
/// `refresh` trusts the ones that user made.
#[test]
fn a_status_file_a_root_refresh_made_belongs_to_the_daemons_user() {
    require_root();
    let env = Env::new();
    let status = env.path("state/status.json");
    std::fs::create_dir(env.path("state")).unwrap();
    env.write_config(
        &[S3_CLUSTER],
        &format!(
            "owner = \"nobody\"\ngroup = \"nogroup\"\nmode = \"0640\"\n\n[daemon]\nstatus_file = \"{}\"\n",
            status.display()
        ),
    );
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("WARN"), "{run:?}");
    for f in [status.clone(), env.path("state/status.json.lock")] {
        let meta = std::fs::metadata(&f).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (NOBODY, NOBODY),
            "{}",
            f.display()
        );
    }
    // Again: root's refresh replaces the file its owner has.
    let run = env.run(&["refresh"]);
    assert!(!run.stderr.contains("WARN"), "{run:?}");
    assert_eq!(env.run(&["status"]).code, 0);
}

// --- High 2: a stanza bridgerest does not own ----------------------------------------------------

#[test]
fn a_stanza_the_user_wrote_elsewhere_is_not_doubled() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    // conf.d mode: the same section in the main config with an option bridgerest renders would
    // be pgBackRest's error 31 for every command.
    std::fs::write(
        env.path("pgbackrest.conf"),
        format!("[{S3_STANZA}]\nrepo1-type=posix\nrepo1-path=/var/lib/pgbackrest\n"),
    )
    .unwrap();
    let run = env.run(&["refresh"]);
    run.assert_error(1, "sets repo1-type in [2qc6yv2ztfcw7a7yoripu4zlsm]");
    assert!(run.error_line().contains("error 31"), "{run:?}");
    assert!(run.error_line().contains("set `stanza = "), "{run:?}");
    assert!(!env.out.exists());
    // The way out: a stanza name of its own.
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{text}stanza = \"bridge-prod\"\n")).unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    assert!(env.read_out().contains("[bridge-prod]\n"));
}

#[test]
fn a_renamed_stanza_leaves_no_old_section_in_a_shared_file() {
    let env = Env::new();
    let (main, base) = env.merged_base_config();
    let cluster = format!("\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n");
    std::fs::write(&env.config, format!("{base}{cluster}")).unwrap();
    std::fs::write(&main, "[global]\nstart-fast=y\n").unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    assert!(std::fs::read_to_string(&main)
        .unwrap()
        .contains(&format!("[{S3_STANZA}]\n")));
    std::fs::write(&env.config, format!("{base}{cluster}stanza = \"s2\"\n")).unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(!text.contains(S3_STANZA), "old section left:\n{text}");
    assert!(
        text.contains("[s2]\n") && text.contains("start-fast=y\n"),
        "{text}"
    );
    assert_eq!(text.matches("repo1-s3-key=").count(), 1, "{text}");
}

// --- High 3: a credential that is already expired ------------------------------------------------

#[test]
fn an_expired_credential_does_not_make_the_daemon_spin() {
    let env = Env::new();
    env.write_config(
        &[AZURE_CLUSTER],
        &format!(
            "\n[daemon]\nstatus_file = \"{}\"\n",
            env.path("status.json").display()
        ),
    );
    assert_eq!(env.run(&["refresh"]).code, 0);
    let good = env.read_out();
    env.sim.sim.set_token_override(
        AZURE_CLUSTER,
        Some(json!({"id": "agaqf6fanse45vspjcctakuyky", "repo_path": "/p", "stanza": "k3pdw5mhbjfdtm4lc6bnmutoai", "type": "azure",
                    "azure": {"azure_account": "acct", "azure_container": "c", "azure_key_type": "sas",
                              "azure_key": "sv=2022-11-02&se=2020-01-01T00%3A00%3A00Z&sr=c&sp=rl&sig=EXPIREDSIG"}})),
    );
    let before = env.token_requests();
    let mut daemon = spawn_daemon(&env);
    std::thread::sleep(Duration::from_secs(5));
    let status = env.run(&["status"]);
    let err = stop(&mut daemon, Duration::from_secs(5));
    let asked = env.token_requests() - before;
    assert!(asked <= 3, "{asked} token requests in 5 s");
    let reported = err
        .lines()
        .filter(|l| {
            l.contains("ERROR")
                && l.contains("credential from the API is already expired (clock skew?)")
        })
        .count();
    assert_eq!(reported, 1, "{err}");
    assert_eq!(env.read_out(), good, "the working stanza was replaced");
    assert_eq!(status.code, 1, "{status:?}");
    assert!(status.stdout.contains("already expired"), "{status:?}");
}

// --- High 4: what children inherit ----------------------------------------------------------------

#[test]
fn children_get_a_minimal_environment() {
    require_root();
    let mut state = sample_state(KEY, 0);
    state.clusters[0].backups = vec![
        json!({"name": "2026/20260701-010000F", "started_at": "2026-07-01T01:00:00Z", "finished_at": "2026-07-01T01:04:00Z", "type": "full"}),
    ];
    let env = Env::with_state(state);
    set_mode(env.dir.path(), 0o755);
    // Fake pgbackrest and postgres that record their environment where postgres may write.
    let bin = env.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let seen = env.path("seen");
    std::fs::create_dir(&seen).unwrap();
    set_mode(&seen, 0o777);
    for (name, then) in [("pgbackrest", "exit 0"), ("postgres", "exit 1")] {
        let script = bin.join(name);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\numask 000\n{{ tr '\\0' '\\n' < /proc/$$/environ; echo ---; }} >> {}/{name}.env\n{then}\n",
                seen.display()
            ),
        )
        .unwrap();
        set_mode(&script, 0o755);
    }
    env.write_config(
        &[],
        &format!("bin = \"{}\"\n", bin.join("pgbackrest").display()),
    );
    let data = env.path("data");
    let run = env
        .cmd()
        .env("BRIDGEREST_API_KEY", KEY)
        .env("CREDENTIALS_DIRECTORY", env.dir.path())
        .env("BRIDGEREST_LOG", "info")
        .args([
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target",
            "latest",
            "--start",
        ])
        .arg("--pg1-path")
        .arg(&data)
        .arg("--pg-bin")
        .arg(&bin)
        .output()
        .unwrap();
    let run = Run::from(run);
    for name in ["pgbackrest", "postgres"] {
        let text = std::fs::read_to_string(seen.join(format!("{name}.env")))
            .unwrap_or_else(|e| panic!("{name} did not run ({e}): {run:?}"));
        assert!(!text.contains(KEY), "{name} got the API key:\n{text}");
        for var in ["BRIDGEREST_", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET"] {
            assert!(!text.contains(var), "{name} got {var}:\n{text}");
        }
        // Every run of it (a version probe, info, restore, the server) had a PATH of ours;
        // the one that does the work ran as postgres.
        for block in text.split("---\n").filter(|b| !b.trim().is_empty()) {
            assert!(block.lines().any(|l| l.starts_with("PATH=/")), "{block}");
        }
        assert!(
            text.lines().any(|l| l == "USER=postgres"),
            "{name}: {text}\n{run:?}"
        );
    }
}

// --- Medium 5, 6, 7: redirects, floods, loops ------------------------------------------------------

#[test]
fn a_redirect_to_plain_http_is_not_followed() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    env.sim.sim.set_faults(vec![fault(
        "backup-tokens",
        FaultKind::Redirect {
            location: format!("http://127.0.0.2:{}/evil", env.sim.addr.port()),
            status: 307,
        },
    )]);
    let run = env.run(&["refresh"]);
    run.assert_error(
        1,
        "the API answered with a redirect (307 Temporary Redirect) to http://127.0.0.2",
    );
    assert!(
        run.error_line().contains("does not follow redirects"),
        "{run:?}"
    );
    assert!(!env.out.exists());
    assert_eq!(env.sim.sim.stats().by_path.get("POST /evil"), None);
}

#[test]
fn huge_bodies_are_cut_short_and_never_echoed() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    env.sim.sim.set_faults(vec![fault(
        "backup-tokens",
        FaultKind::HugeBody { bytes: 64 << 20 },
    )]);
    let run = env.run(&["refresh"]);
    run.assert_error(
        1,
        "with a body larger than 4 MiB; bridgerest reads no further",
    );
    assert!(
        run.stderr.len() < 2000,
        "{} bytes of stderr",
        run.stderr.len()
    );
    assert!(!run.stderr.contains("xxxxxxxxxx"));
    assert!(!env.out.exists());
}

#[test]
fn a_pagination_loop_is_detected() {
    let env = Env::new();
    env.write_config(&[], "");
    env.sim
        .sim
        .set_faults(vec![fault("/clusters", FaultKind::CursorLoop)]);
    let t0 = Instant::now();
    let run = env.run(&["clusters"]);
    run.assert_error(
        1,
        "next_cursor is missing or one seen before (a pagination loop)",
    );
    assert!(t0.elapsed() < Duration::from_secs(10));
    let pages = env.sim.sim.stats().by_path.get("GET /clusters").copied();
    assert!(pages.unwrap_or(0) <= 3, "{:?}", env.sim.sim.stats());
}

// --- Medium 11: render in a shared file -----------------------------------------------------------

#[test]
fn render_hides_every_secret_option_of_a_shared_file() {
    let env = Env::new();
    let (main, base) = env.merged_base_config();
    let clusters = format!(
        "\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n\n[[cluster]]\nid = \"{AZURE_CLUSTER}\"\npg1_path = \"/y\"\n"
    );
    std::fs::write(&env.config, format!("{base}{clusters}")).unwrap();
    std::fs::write(
        &main,
        "[global]\nrepo2-type=s3\nrepo2-s3-key=USERKEYID\nrepo2-s3-key-secret=USERSECRET\nrepo2-cipher-pass=USERCIPHER\n",
    )
    .unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    // The Azure cluster fails now: its last good stanza (and its secrets) is kept and shown.
    env.sim.sim.set_faults(vec![fault(
        &format!("{AZURE_CLUSTER}/backup-tokens"),
        FaultKind::ServerError { status: 503 },
    )]);
    let run = env.run(&["render"]); // scans for every issued secret, the kept ones too
    assert_eq!(run.code, 3, "{run:?}");
    for s in ["USERKEYID", "USERSECRET", "USERCIPHER"] {
        assert!(!run.stdout.contains(s), "{s} shown:\n{}", run.stdout);
    }
    assert!(
        run.stdout.contains("repo2-s3-key-secret=[redacted]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("repo1-azure-key=[redacted]"),
        "{}",
        run.stdout
    );
}

// --- Medium 12: SIGTERM against a silent API -------------------------------------------------------

#[test]
fn sigterm_does_not_wait_for_a_silent_api() {
    let env = Env::new();
    // Defaults as shipped (30 s timeout, 5 retries), an API that answers after a minute.
    std::fs::write(
        &env.config,
        env.base_config("")
            .replace("retry_base = \"20ms\"\nretries = 3\ntimeout = \"5s\"\n", "")
            + &format!("\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/x\"\n"),
    )
    .unwrap();
    env.sim.sim.set_faults(vec![fault(
        "backup-tokens",
        FaultKind::Slow { delay_ms: 60_000 },
    )]);
    let mut daemon = spawn_daemon(&env);
    std::thread::sleep(Duration::from_secs(1));
    let t0 = Instant::now();
    stop(&mut daemon, Duration::from_secs(10));
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

// --- Medium 13: a backup still running ------------------------------------------------------------

#[test]
fn a_running_backup_is_listed_but_never_chosen() {
    require_root();
    let env = Env::new();
    env.sim.sim.set_backups(
        S3_CLUSTER,
        vec![
            json!({"name": "2026/20260701-010000F", "started_at": "2026-07-01T01:00:00Z", "finished_at": "2026-07-01T01:04:00Z", "type": "full"}),
            json!({"name": "2026/20260702-010000F", "started_at": "2026-07-02T01:00:00Z", "finished_at": null, "type": "full"}),
        ],
    );
    env.write_config(&[], "");
    let list = env.run(&["backups", S3_CLUSTER]);
    assert_eq!(list.code, 0, "{list:?}");
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with("2026/20260702-010000F") && l.contains("(running)")),
        "{list:?}"
    );
    let dir = env.path("restore");
    let plan = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--dry-run",
        "--pg1-path",
        &dir.display().to_string(),
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("--set=20260701-010000F"), "{plan:?}");
}

// --- Low (14): what the API says, shown; what the config allows -------------------------------------

#[test]
fn control_characters_from_the_api_are_shown_escaped() {
    let mut state = sample_state(KEY, 0);
    state.clusters[0].name = "prod\u{1b}]0;pwned\u{7}\u{1b}[2J".into();
    let env = Env::with_state(state);
    env.write_config(&[], "");
    let run = env.run(&["clusters"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'));
    assert!(run.stdout.contains("prod\\u{1b}]0;pwned"), "{}", run.stdout);
}

#[test]
fn a_value_where_an_object_belongs_is_not_echoed() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    env.sim.sim.set_token_override(
        S3_CLUSTER,
        Some(json!({"id": "x", "repo_path": "/p", "stanza": "s", "type": "s3", "aws": "AKIASECRET:VERYSECRETVALUE"})),
    );
    let run = env.run(&["refresh"]);
    run.assert_error(
        1,
        "field `aws`: invalid type: string, expected struct RawAws",
    );
    assert!(!run.stderr.contains("VERYSECRETVALUE"), "{run:?}");
}

#[test]
fn a_world_readable_key_file_is_warned_about_and_fails_check() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    set_mode(&env.path("api-key"), 0o644);
    let run = env.run(&["refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("is readable by every user (mode 0644): chmod 0600"),
        "{run:?}"
    );
    let check = env.run(&["check", "--no-repository"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(check
        .stdout
        .lines()
        .any(|l| l.starts_with("FAIL") && l.contains("api-key is readable by every user")));
}

#[test]
fn risky_settings_are_refused_by_name() {
    let env = Env::new();
    let cases: [(&str, &str, &str); 3] = [
        (
            "timeout = \"5s\"",
            "timeout = \"0s\"",
            "api.timeout = \"0s\": must be longer than zero",
        ),
        (
            "[pgbackrest]\n",
            "[pgbackrest]\nmode = \"0640\"\n",
            "gives a group access to the credentials, but pgbackrest.group is not set",
        ),
        (
            "[pgbackrest]\n",
            "[pgbackrest]\nbin = \"bin/pgbackrest\"\n",
            "pgbackrest.bin = \"bin/pgbackrest\" is a relative path",
        ),
    ];
    for (from, to, want) in cases {
        env.write_config(&[S3_CLUSTER], "");
        let text = std::fs::read_to_string(&env.config).unwrap();
        std::fs::write(&env.config, text.replacen(from, to, 1)).unwrap();
        env.run(&["refresh"]).assert_error(2, want);
    }
    env.write_config(&[S3_CLUSTER], "");
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        text.replacen("url = \"http://", "url = \"http://ops:hunter2@", 1),
    )
    .unwrap();
    let run = env.run(&["refresh"]);
    run.assert_error(2, "api.url contains a user name or password");
    assert!(!run.stderr.contains("hunter2"), "{run:?}");
}

#[test]
fn system_directories_are_never_restore_targets() {
    let env = Env::new();
    env.write_config(&[], "");
    for dir in ["/", "/etc", "/proc/self", "/usr/lib/postgresql"] {
        let before = env.sim.sim.stats().requests;
        let run = env.run(&[
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target",
            "latest",
            "--dry-run",
            "--pg1-path",
            dir,
        ]);
        run.assert_error(2, "a system directory; a restore would overwrite it");
        assert_eq!(
            env.sim.sim.stats().requests,
            before,
            "asked the API for {dir}"
        );
    }
}

// --- Drills and restores as root: what the postgres user can write must not steer them -------

/// A directory with a file in it, which no drill may delete.
fn victim(env: &Env, name: &str) -> std::path::PathBuf {
    let v = env.path(name);
    std::fs::create_dir_all(&v).unwrap();
    std::fs::write(v.join("precious"), "keep me\n").unwrap();
    v
}

#[test]
fn a_stanza_section_renamed_to_a_path_does_not_pick_what_a_drill_deletes() {
    require_root();
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    assert_eq!(env.run(&["refresh"]).code, 0);
    let rendered = env.read_out();
    let header = format!("[{S3_STANZA}]");
    assert!(rendered.contains(&header), "{rendered}");
    // The file's owner (pgbackrest.owner, postgres on a real host) renames the section to an
    // absolute path, or to "..": a drill's scratch directory is named after the stanza.
    let v = victim(&env, "victim");
    for name in [v.display().to_string(), "..".to_string()] {
        std::fs::write(&env.out, rendered.replace(&header, &format!("[{name}]"))).unwrap();
        let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
        run.assert_error(1, "which is not a pgBackRest stanza name");
        assert!(run.error_line().contains("bridgerest.conf"), "{run:?}");
        assert!(
            v.join("precious").exists(),
            "the drill deleted {}",
            v.display()
        );
    }
}

#[test]
fn a_drill_scratch_over_a_data_directory_or_the_state_is_refused_at_load() {
    let env = Env::new();
    let pg1 = "/var/lib/postgresql/15/main";
    let state = env.path("state");
    for (scratch, says) in [
        (pg1.to_string(), "is the data directory of cluster"),
        (
            format!("{pg1}/copy"),
            "is inside the data directory of cluster",
        ),
        (
            "/var/lib/postgresql/15".to_string(),
            "contains the data directory of cluster",
        ),
        (state.display().to_string(), "is the status directory"),
        (
            env.dir.path().display().to_string(),
            "is the directory of this config file",
        ),
        (
            env.path("conf.d/..").display().to_string(),
            "is the directory of this config file",
        ),
    ] {
        let text = format!(
            "{}\n[drill]\nscratch = \"{scratch}\"\nreports = \"{}\"\n\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"{pg1}\"\n",
            env.base_config(""),
            env.path("reports").display()
        );
        std::fs::write(&env.config, text).unwrap();
        let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
        run.assert_error(2, says);
        // Both paths are named.
        assert!(
            run.error_line()
                .contains(&format!("drill.scratch = \"{scratch}\"")),
            "{run:?}"
        );
        assert_eq!(env.token_requests(), 0);
    }
}

/// `[drill]` with `scratch` (and reports and state of the env's own), for `S3_CLUSTER`.
fn drill_config(env: &Env, scratch: &std::path::Path) {
    drill_config_with(env, scratch, "", "");
}

/// [`drill_config`] with `pgbackrest` lines in `[pgbackrest]` and `drill` lines in `[drill]`.
fn drill_config_with(env: &Env, scratch: &std::path::Path, pgbackrest: &str, drill: &str) {
    let text = format!(
        "{}\n[drill]\nscratch = \"{}\"\nreports = \"{}\"\n{drill}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/var/lib/postgresql/15/main\"\n",
        env.base_config(pgbackrest),
        scratch.display(),
        env.path("state/drills").display()
    );
    std::fs::write(&env.config, text).unwrap();
}

#[test]
fn a_scratch_directory_no_drill_made_is_not_emptied() {
    require_root();
    let env = Env::new();
    let scratch = victim(&env, "drill/copy");
    drill_config(&env, &scratch);
    let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
    run.assert_error(1, "is not empty and no drill of bridgerest made it");
    assert!(scratch.join("precious").exists());
}

#[test]
fn a_link_or_a_foreign_directory_on_the_way_to_the_scratch_changes_nothing() {
    require_root();
    let env = Env::new();
    // A component swapped for a link to another tree: not followed.
    let elsewhere = env.path("elsewhere");
    victim(&env, "elsewhere/copy");
    std::os::unix::fs::symlink(&elsewhere, env.path("link")).unwrap();
    drill_config(&env, &env.path("link/copy"));
    let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
    run.assert_error(1, "link is a symbolic link or not a directory");
    assert!(elsewhere.join("copy/precious").exists());
    assert!(!env.path("state/drills").exists());
    // A directory on the way that a third user owns: they could swap what is below.
    let theirs = env.path("theirs");
    victim(&env, "theirs/copy");
    nix::unistd::chown(&theirs, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    drill_config(&env, &theirs.join("copy"));
    let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
    run.assert_error(1, "theirs is owned by nobody (uid 65534), neither root nor");
    assert!(theirs.join("copy/precious").exists());
}

#[test]
fn only_the_postmaster_a_drill_recorded_is_ever_signalled() {
    require_root();
    let env = Env::new();
    let scratch = env.path("drill/copy");
    std::fs::create_dir_all(env.path("drill")).unwrap();
    drill_config(&env, &scratch);
    // A drill that fails at its plan (the API's backups fail), its copy kept: a directory a
    // drill made, marked as such beside it.
    let backups = format!("/clusters/{S3_CLUSTER}/backups");
    env.sim.sim.set_faults(vec![fault(
        &backups,
        FaultKind::ServerError { status: 500 },
    )]);
    let run = env.run(&["drill", "--cluster", S3_CLUSTER, "--keep"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("plan"), "{run:?}");
    let marker = env.path("drill/.copy.bridgerest-drill");
    assert!(marker.is_file() && scratch.is_dir(), "{run:?}");
    // The copy's user (here: a process in it) names a process of its choosing in
    // postmaster.pid: one whose working directory is the copy, as a postmaster's is.
    let mut other = std::process::Command::new("sleep")
        .arg("60")
        .current_dir(&scratch)
        .spawn()
        .unwrap();
    let pid = other.id() as i32;
    std::fs::write(scratch.join("postmaster.pid"), format!("{pid}\n")).unwrap();
    let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
    run.assert_error(
        1,
        &format!("a PostgreSQL (pid {pid}) that no drill started runs in"),
    );
    assert!(
        other.try_wait().unwrap().is_none(),
        "root signalled pid {pid}"
    );
    // A marker forged by another user, naming that process: ignored, the copy left alone.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&marker).unwrap()).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start: u64 = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    std::fs::remove_file(&marker).unwrap();
    std::fs::write(
        &marker,
        json!({"dev": m["dev"], "ino": m["ino"], "postmaster": {"pid": pid, "start": start}})
            .to_string(),
    )
    .unwrap();
    nix::unistd::chown(&marker, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
    run.assert_error(1, "no drill of bridgerest made it");
    assert!(
        other.try_wait().unwrap().is_none(),
        "root signalled pid {pid}"
    );
    other.kill().unwrap();
    let _ = other.wait();
    // The process gone and the real marker back: the copy is a drill's, emptied.
    std::fs::remove_file(&marker).unwrap();
    std::fs::write(&marker, m.to_string()).unwrap();
    env.sim.sim.set_faults(vec![fault(
        &backups,
        FaultKind::ServerError { status: 500 },
    )]);
    let run = env.run(&["drill", "--cluster", S3_CLUSTER]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!scratch.exists() && !marker.exists(), "{run:?}");
}

#[test]
fn a_status_file_swapped_for_a_fifo_or_a_link_is_not_read() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    std::fs::create_dir_all(env.path("state")).unwrap();
    let status = env.path("state/status.json");
    // The daemon's user owns the state directory: a FIFO there would hang `status` forever.
    nix::unistd::mkfifo(&status, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = env
        .cmd()
        .arg("status")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let st = wait_within(&mut child, Duration::from_secs(10), "status on a FIFO");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(err.contains("status.json is a FIFO"), "{err}");
    // A link to a file root can read: not followed, its text never shown.
    std::fs::remove_file(&status).unwrap();
    let secret = env.path("root-only");
    std::fs::write(&secret, "{\"not\": \"yours\"}").unwrap();
    set_mode(&secret, 0o600);
    std::os::unix::fs::symlink(&secret, &status).unwrap();
    let run = env.run(&["status"]);
    run.assert_error(1, "status.json is a symbolic link");
    assert!(!run.stderr.contains("yours"), "{run:?}");
}

#[test]
fn a_drill_stops_at_its_deadline_and_removes_its_copy() {
    require_root();
    let env = Env::new();
    let scratch = env.path("drill/copy");
    std::fs::create_dir_all(env.path("drill")).unwrap();
    drill_config_with(&env, &scratch, "", "timeout = \"2s\"\n");
    // An API that answers after a minute (within api.timeout's reach of a slow answer).
    std::fs::write(
        &env.config,
        std::fs::read_to_string(&env.config)
            .unwrap()
            .replace("timeout = \"5s\"", "timeout = \"120s\""),
    )
    .unwrap();
    env.sim.sim.set_faults(vec![fault(
        &format!("/clusters/{S3_CLUSTER}/backups"),
        FaultKind::Slow { delay_ms: 60_000 },
    )]);
    let started = Instant::now();
    let run = env.run(&["drill", "--cluster", S3_CLUSTER, "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "{run:?}");
    let rep: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rep["ok"], false);
    let timeout = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "timeout")
        .unwrap_or_else(|| panic!("no timeout check: {run:?}"));
    assert!(
        timeout["detail"]
            .as_str()
            .unwrap()
            .starts_with("the drill took longer than drill.timeout (2s"),
        "{run:?}"
    );
    assert!(!scratch.exists(), "the copy is left: {run:?}");
}

#[test]
fn a_real_restore_preempts_a_drill_of_its_cluster() {
    require_root();
    let env = Env::new();
    // The restore runs pgBackRest as postgres, who must reach its files.
    std::fs::set_permissions(
        env.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let scratch = env.path("drill/copy");
    std::fs::create_dir_all(env.path("drill")).unwrap();
    // A pgBackRest that names its version and refuses everything else, at once.
    let fake = env.path("pgbackrest");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a; do last=$a; done\nif [ \"$last\" = version ]; then echo 'pgBackRest 2.45'; exit 0; fi\necho 'fake pgbackrest: no repository here' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    drill_config_with(
        &env,
        &scratch,
        &format!("bin = \"{}\"\n", fake.display()),
        "",
    );
    std::fs::write(
        &env.config,
        std::fs::read_to_string(&env.config)
            .unwrap()
            .replace("timeout = \"5s\"", "timeout = \"120s\""),
    )
    .unwrap();
    // The drill's plan waits a minute for the API; the restore's list comes at once.
    let mut slow = fault(
        &format!("/clusters/{S3_CLUSTER}/backups"),
        FaultKind::Slow { delay_ms: 60_000 },
    );
    slow.times = Some(1);
    env.sim.sim.set_faults(vec![slow]);
    let mut drill = env
        .cmd()
        .args(["drill", "--cluster", S3_CLUSTER, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let marker = env.path("drill/.copy.bridgerest-drill");
    let started = Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the drill made no copy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let data = env.path("restored");
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--pg1-path",
        data.to_str().unwrap(),
        "--attempts",
        "1",
    ]);
    // The restore got past the lock (pgBackRest itself is what failed), having stopped the
    // drill, well before the drill's minute was up.
    assert!(
        !run.stderr.contains("is running ("),
        "the restore was refused: {run:?}"
    );
    assert!(
        run.stdout.contains("the drill of cluster")
            && run.stdout.contains("stopped and removed its copy"),
        "{run:?}"
    );
    assert!(run.stderr.contains("running pgbackrest restore"), "{run:?}");
    let st = wait_within(&mut drill, Duration::from_secs(20), "the preempted drill");
    assert_eq!(st.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(50));
    let mut out = String::new();
    std::io::Read::read_to_string(drill.stdout.as_mut().unwrap(), &mut out).unwrap();
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pre = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "preempted")
        .unwrap_or_else(|| panic!("no preempted check: {out}"));
    assert!(
        pre["detail"]
            .as_str()
            .unwrap()
            .contains("started: the drill stopped and removed its copy"),
        "{out}"
    );
    assert!(!scratch.exists() && !marker.exists(), "{out}");
}

/// #29 finding 11: the restore locks are the run-as user's (its daemon drills), so that user
/// can hold one with any program and keep a root `restore` out. The error says the holder is
/// not bridgerest; `--break-lock` takes the lock from it (a new lock file renamed over the
/// held one), and the holder is left with a lock on a file that is no longer there.
#[test]
fn a_lock_another_program_holds_is_named_and_taken_only_when_asked() {
    require_root();
    let env = Env::new();
    std::fs::set_permissions(
        env.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let fake = env.path("pgbackrest");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a; do last=$a; done\nif [ \"$last\" = version ]; then echo 'pgBackRest 2.45'; exit 0; fi\necho 'fake pgbackrest: no repository here' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.write_config(&[S3_CLUSTER], &format!("bin = \"{}\"\n", fake.display()));
    // The state directory is the daemon's user's, as the package makes it.
    let state = env.path("state");
    std::fs::create_dir_all(&state).unwrap();
    let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
    nix::unistd::chown(&state, Some(postgres.uid), Some(postgres.gid)).unwrap();
    let lock = state.join(format!("restore-{S3_CLUSTER}.lock"));
    // postgres holds the lock with flock(1), a program that is not bridgerest.
    let mut squatter = std::process::Command::new("setpriv")
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "flock",
            "-n",
        ])
        .arg(&lock)
        .args(["sleep", "120"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string("/proc/locks")
        .unwrap()
        .contains(&format!(" {} ", squatter.id()))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "flock took no lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let held_ino = std::fs::metadata(&lock).unwrap().ino();
    let data = env.path("restored");
    let restore = |extra: &[&str]| {
        let mut args = vec![
            "restore",
            "--cluster",
            S3_CLUSTER,
            "--target",
            "latest",
            "--pg1-path",
            data.to_str().unwrap(),
            "--attempts",
            "1",
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let run = restore(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "pid {} (flock) holds the lock of cluster {S3_CLUSTER} ({}) and is not bridgerest",
            squatter.id(),
            lock.display()
        )) && run.stderr.contains("pass --break-lock"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("running pgbackrest restore"),
        "{run:?}"
    );
    // With --break-lock the restore gets past the lock (pgBackRest is what fails here).
    let run = restore(&["--break-lock"]);
    assert!(!run.stderr.contains("holds the lock"), "{run:?}");
    assert!(run.stderr.contains("running pgbackrest restore"), "{run:?}");
    let meta = std::fs::metadata(&lock).unwrap();
    assert_ne!(meta.ino(), held_ino, "the lock file was not replaced");
    assert_eq!(
        (meta.uid(), meta.mode() & 0o777),
        (postgres.uid.as_raw(), 0o600)
    );
    assert!(
        squatter.try_wait().unwrap().is_none(),
        "the holder was signalled"
    );
    kill(Pid::from_raw(squatter.id() as i32), Signal::SIGKILL).unwrap();
    let _ = squatter.wait();
    // No temporary lock file is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_error_body_that_echoes_the_request_shows_no_password() {
    let env = Env::new();
    std::fs::write(&env.config, env.providers_config("")).unwrap();
    // IONOS refuses the create request and quotes it back, the new cluster's database
    // password (PROVIDER_SECRETS[3]) with it.
    env.sim.sim.set_faults(vec![Fault {
        path: Some("/ionos/clusters".into()),
        method: Some("POST".into()),
        times: None,
        kind: FaultKind::EchoBody {
            status: 422,
            field: Some("/properties/credentials".into()),
        },
    }]);
    let when = (time::OffsetDateTime::now_utc() - time::Duration::days(2))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let run = env.run_unscanned(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &when,
        "--into",
        "shop-copy",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    // The refusal is shown, with what it quoted, the password hidden.
    assert!(
        run.stderr
            .contains("[(root).properties.credentials] is not valid: {\"password\":\"[redacted]\""),
        "{run:?}"
    );
    assert!(run.stderr.contains("[redacted]"), "{run:?}");
    env.assert_no_secrets(&run);
}

#[test]
fn status_shows_only_configured_clusters_and_escapes_the_files_text() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    std::fs::create_dir_all(env.path("state")).unwrap();
    // The daemon's user writes this file: it may hold anything.
    let forged = json!({
        "updated_at": "2026-12-05T08:00:00Z",
        "pid": 1,
        "written_by": "refresh",
        "clusters": [
            {"id": S3_CLUSTER, "last_error": "HTTP 503\u{1b}]0;owned\u{7}\u{1b}[2J\nFAKE ROW ok"},
            {"id": "\u{1b}[31mintruder\u{1b}[0m", "last_error": "x"},
            {"id": "unconfigured", "last_error": "y"}
        ]
    });
    std::fs::write(env.path("state/status.json"), forged.to_string()).unwrap();
    let run = env.run(&["status"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
        "{run:?}"
    );
    assert!(run.stdout.contains("HTTP 503\\u{1b}]0;owned"), "{run:?}");
    assert!(!run.stdout.contains("\nFAKE ROW"), "{run:?}");
    assert!(
        !run.stdout.contains("intruder") && !run.stdout.contains("unconfigured"),
        "{run:?}"
    );
    let json = env.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let ids: Vec<&str> = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [S3_CLUSTER]);
}

#[test]
fn a_root_refresh_leaves_the_status_lock_and_files_to_the_daemons_user() {
    require_root();
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    // The state directory is the daemon's user's (the package's /var/lib/bridgerest is
    // postgres's; nobody stands in for it here).
    let state = env.path("state");
    std::fs::create_dir_all(&state).unwrap();
    nix::unistd::chown(
        &state,
        Some(nix::unistd::Uid::from_raw(NOBODY)),
        Some(nix::unistd::Gid::from_raw(NOBODY)),
    )
    .unwrap();
    assert_eq!(env.run(&["refresh"]).code, 0);
    for name in ["status.json.lock", "status.json"] {
        let meta = std::fs::metadata(state.join(name)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY), "{name}");
    }
    // The daemon, as that user, can open the lock a root run made (its owner may write it).
    let meta = std::fs::metadata(state.join("status.json.lock")).unwrap();
    assert_eq!(meta.mode() & 0o200, 0o200);
}

#[test]
// The child is reaped by wait4 below (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn an_endless_pager_is_cut_off_within_a_bounded_memory() {
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    // Every page: 1000 small backups and a fresh cursor, without end.
    env.sim.sim.set_faults(vec![fault(
        &format!("/clusters/{S3_CLUSTER}/backups"),
        FaultKind::EndlessPages { items: 1000 },
    )]);
    let child = env
        .cmd()
        .args(["backups", S3_CLUSTER])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as nix::libc::pid_t;
    let mut stderr = child.stderr.unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).unwrap();
        s
    });
    // wait4: the child's own peak resident size (KiB).
    let mut status = 0;
    // SAFETY: a plain system call on a child of this process, with valid out-pointers.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { nix::libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid);
    let err = reader.join().unwrap();
    assert_eq!(nix::libc::WEXITSTATUS(status), 1, "{err}");
    assert!(
        err.contains("over 50000 items") && err.contains("bridgerest stops there"),
        "{err}"
    );
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(peak_mib < 150, "peak RSS {peak_mib} MiB");
    // It stopped at the bound, not at the thousandth page.
    let pages = env
        .sim
        .sim
        .stats()
        .by_path
        .get(&format!("GET /clusters/{S3_CLUSTER}/backups"))
        .copied()
        .unwrap_or(0);
    assert!(pages <= 52, "{pages} pages");
}

#[test]
fn check_flags_a_config_directory_another_user_can_swap() {
    require_root();
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    let ok = env.run(&["check", "--no-repository"]);
    assert!(
        ok.stdout.contains("no directory above ") && !ok.stdout.contains("so that user can swap"),
        "{ok:?}"
    );
    // The directory above conf.d given to another user (as a postgres-owned parent of
    // /etc/pgbackrest/conf.d would be): it could swap conf.d for a directory of its own.
    let above = env.path("");
    let above = above.components().collect::<std::path::PathBuf>();
    nix::unistd::chown(&above, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    let run = env.run(&["check", "--no-repository"]);
    nix::unistd::chown(&above, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "{} is owned by nobody (uid 65534), so that user can swap {}",
            above.display(),
            env.path("conf.d").display()
        )),
        "{run:?}"
    );
}

#[test]
fn a_config_directory_swapped_through_a_users_parent_gets_nothing_written() {
    require_root();
    let env = Env::new();
    env.write_config(&[S3_CLUSTER], "");
    // The directory above conf.d is another user's (a postgres-owned parent of
    // /etc/pgbackrest/conf.d): it swaps conf.d for a link to a root-owned directory (a
    // stand-in for /etc/modprobe.d).
    let above = env.path("");
    let above = above.components().collect::<std::path::PathBuf>();
    let canary = env.path("canary");
    std::fs::create_dir(&canary).unwrap();
    std::fs::remove_dir(env.path("conf.d")).unwrap();
    std::os::unix::fs::symlink(&canary, env.path("conf.d")).unwrap();
    nix::unistd::chown(&above, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    let run = env.run(&["refresh"]);
    nix::unistd::chown(&above, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("is a symbolic link") || run.stderr.contains("is owned by nobody"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_dir(&canary).unwrap().count(),
        0,
        "root wrote into the canary: {:?}",
        std::fs::read_dir(&canary)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
}

// --- #29: postgres racing root ------------------------------------------------------------

/// What a directory tree holds: each entry's name, type, owner, mode and content.
fn snapshot(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            // The content by its hash: a file root wrote there may hold credentials.
            let body = match m.is_file() {
                true => {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    std::fs::read(&p).unwrap_or_default().hash(&mut h);
                    format!("{:016x}", h.finish())
                }
                false => String::new(),
            };
            out.push(format!(
                "{} {:?} {}:{} {:o} {body}",
                p.display(),
                m.file_type(),
                m.uid(),
                m.gid(),
                m.mode()
            ));
            if m.is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The user the daemon runs as (nobody stands in for postgres) swaps every file and directory
/// of its own that a root `refresh` and `status` touch for a link into a root-owned canary,
/// over and over, while root runs them: nothing in the canary is created, changed, chowned or
/// removed, and root never panics.
#[test]
fn the_daemons_user_racing_root_changes_nothing_of_roots() {
    require_root();
    let env = Env::new();
    env.write_config(
        &[S3_CLUSTER],
        "owner = \"nobody\"\ngroup = \"nogroup\"\nmode = \"0640\"\n",
    );
    let nobody = (
        nix::unistd::Uid::from_raw(NOBODY),
        nix::unistd::Gid::from_raw(NOBODY),
    );
    // As the package makes them: the state directory and conf.d are the daemon's user's.
    let state = env.path("state");
    std::fs::create_dir_all(state.join("drills")).unwrap();
    for d in [state.clone(), state.join("drills"), env.path("conf.d")] {
        nix::unistd::chown(&d, Some(nobody.0), Some(nobody.1)).unwrap();
    }
    // And the directory above them (as a postgres-owned parent of conf.d would be, which
    // `check` flags): it can swap the directories themselves.
    let above = env.path("").components().collect::<std::path::PathBuf>();
    assert_eq!(env.run(&["refresh"]).code, 0);
    nix::unistd::chown(&above, Some(nobody.0), None).unwrap();
    // The canary: a root-owned directory with a root-only file (as /etc and /etc/shadow).
    let canary = env.path("canary");
    std::fs::create_dir(&canary).unwrap();
    std::fs::write(canary.join("victim"), "root's\n").unwrap();
    set_mode(&canary.join("victim"), 0o600);
    let before = snapshot(&canary);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let targets: Vec<(std::path::PathBuf, std::path::PathBuf)> = [
        ("state", ""),
        ("conf.d", ""),
        ("state/status.json", "victim"),
        ("state/status.json.lock", "victim"),
        ("state/drills", ""),
        ("conf.d/bridgerest.conf", "victim"),
        ("conf.d/bridgerest.conf.lock", "victim"),
    ]
    .into_iter()
    .map(|(t, to)| (env.path(t), canary.join(to)))
    .collect();
    let racer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (t, to) in &targets {
                    let saved = t.with_extension("saved");
                    let had = std::fs::rename(t, &saved).is_ok();
                    if std::os::unix::fs::symlink(to, t).is_ok() {
                        swaps += 1;
                    }
                    std::thread::yield_now();
                    let _ = std::fs::remove_file(t);
                    if had {
                        let _ = std::fs::rename(&saved, t);
                    }
                }
            }
            swaps
        })
    };
    for _ in 0..15 {
        for args in [&["refresh"][..], &["status"][..], &["status", "--json"][..]] {
            let run = env.run(args);
            assert_ne!(run.code, 101, "{args:?} panicked: {run:?}");
            assert!(!run.stderr.contains("panicked"), "{run:?}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    nix::unistd::chown(&above, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    assert!(swaps > 100, "the racer swapped only {swaps} times");
    assert_eq!(snapshot(&canary), before, "root changed the canary");
}
