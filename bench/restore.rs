//! `cargo bench --bench restore` (as root, with the tools `.ci/run` installs): one full backup
//! of a few hundred MiB on the real S3 stack (moto behind nginx TLS, pgBackRest 2.45,
//! PostgreSQL 15), then:
//!
//! 1. overhead: wall time of `bridgerest restore` ÷ wall time of the bare `pgbackrest restore`
//!    command it prints (same arguments, another empty directory); best of two each, alternated
//!    (target ≤ 1.03);
//! 2. resumption: a `bridgerest restore --process-max 1` whose credentials are revoked at about
//!    half way; the bytes fetched from the store across all its attempts (nginx's access log)
//!    ÷ the backup's repository size (target ≤ 1.05; a rerun from scratch would be about 1.5),
//!    and, of those, what the `--delta` rerun fetched.
//!
//! 3. throughput: the bare restore's bytes per second (repository size ÷ its best time) ÷ the
//!    bytes per second of fetching the same repository files, with the same parallelism, by
//!    plain signed GETs through the same TLS front (the store's ceiling here; target ≥ 0.8).
//!
//! 4. drill: `bridgerest drill` of the same backup to the same target (restore from nothing,
//!    recovery, then amcheck, pg_checksums and the queries) at each `drill.amcheck` depth
//!    (basic, heapallindexed, full; `drill.verify` off, its default), then heapallindexed with
//!    `drill.verify` on: each one's wall time split into restore, recovery and checks, from its
//!    JSON report, and its ratio drill total ÷ (restore + recovery) (target ≤ 1.3 at the
//!    default depth, heapallindexed).
//!
//! Figures only: nothing here passes or fails on timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/real_stores/mod.rs"]
mod real_stores;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use real_stores::pg::{Kind, World, CLUSTER};
use real_stores::tree_size;

const TABLES: usize = 24;
const ROWS: usize = 100_000;

/// The access key a request was signed with (`Credential=KEY/...`).
fn access_key(line: &str) -> Option<&str> {
    let rest = &line[line.find("Credential=")? + 11..];
    rest.split('/').next()
}

/// The access keys seen in the access log so far.
fn keys_in(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut keys: Vec<String> = text
        .lines()
        .filter_map(access_key)
        .map(String::from)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Body bytes of successful GETs after the first `skip` lines of the log, signed with a key
/// not in `old`.
fn fetched(log: &Path, skip: usize, old: &[String]) -> u64 {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .skip(skip)
        .filter(|l| access_key(l).is_some_and(|k| !old.iter().any(|o| o == k)))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[0] == "GET" && f[1] == "200").then(|| f[2].parse::<u64>().ok())?
        })
        .sum()
}

/// The words of a command line as `shell_line` prints it: plain words, and words in single
/// quotes (a quote inside written `'\''`).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '\\' if !quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ' ' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Runs `f` with the page cache flushed first, and returns its wall time.
fn timed(f: impl FnOnce()) -> Duration {
    nix::unistd::sync();
    let t = Instant::now();
    f();
    t.elapsed()
}

fn restore_args(target: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["restore", "--cluster", CLUSTER, "--target-time", target]
        .map(String::from)
        .to_vec();
    a.push("--pg1-path".into());
    a.push(dir.display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn main() {
    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    for t in 0..TABLES {
        w.pg.psql(&format!(
            "CREATE TABLE bulk_{t} AS SELECT g, md5(g::text) || md5((g + {t})::text) || md5((g * 7 + {t})::text) AS v FROM generate_series(1, {ROWS}) g"
        ));
    }
    let t = Instant::now();
    w.pgbackrest_ok(&["--type=full", "backup"]);
    let backup_time = t.elapsed();
    w.insert(1, 100);
    w.pg.psql("SELECT pg_sleep(1.1)");
    let target = w.now_target();
    // A transaction after the target, so the archived WAL reaches past it (a target after the
    // last archived transaction is refused).
    w.pg.psql("SELECT pg_sleep(0.05)");
    w.insert(101, 110);
    w.pgbackrest_ok(&["check"]);
    w.sync_backups();
    let info: serde_json::Value =
        serde_json::from_str(&w.pgbackrest_ok(&["--output=json", "info"])).unwrap();
    let repo_size = info[0]["backup"][0]["info"]["repository"]["size"]
        .as_u64()
        .unwrap();
    let db_size = info[0]["backup"][0]["info"]["size"].as_u64().unwrap();
    println!(
        "backup: {:.0} MiB of data, {:.0} MiB in the repository, taken in {:.1} s",
        db_size as f64 / 1048576.0,
        repo_size as f64 / 1048576.0,
        backup_time.as_secs_f64()
    );

    // 1. Overhead of bridgerest over the pgbackrest command it runs.
    let mut ours = Vec::new();
    let mut bare = Vec::new();
    let mut command = String::new();
    // Alternated (ours, bare, bare, ours, ours, bare) so neither side always goes first.
    for round in 0..3 {
        let run_ours = |ours: &mut Vec<Duration>, command: &mut String| {
            let dir = w.new_data_dir(&format!("bridgerest-{round}"));
            let args = restore_args(&target, &dir, &[]);
            let mut res = (0, String::new(), String::new());
            ours.push(timed(|| {
                res = w.bridgerest(&args.iter().map(String::as_str).collect::<Vec<_>>());
            }));
            let (code, out, err) = res;
            assert_eq!(code, 0, "{out}{err}");
            *command = out
                .lines()
                .find_map(|l| l.strip_prefix("command:   "))
                .unwrap()
                .to_string();
        };
        if round != 1 {
            run_ours(&mut ours, &mut command);
        }

        let dir2 = w.new_data_dir(&format!("bare-{round}"));
        // The printed command, with the other directory (and its WAL spool).
        let mut argv = shell_words(&command);
        for a in argv.iter_mut() {
            if a.starts_with("--pg1-path=") {
                *a = format!("--pg1-path={}", dir2.display());
            }
            if a.starts_with("--recovery-option=restore_command=") {
                let theirs = format!("{}.wal-spool", dir2.display());
                *a = a
                    .split(' ')
                    .map(|w| {
                        if w.starts_with("--spool-path=") {
                            format!("--spool-path={theirs}")
                        } else if w.starts_with("--pg1-path=") {
                            format!("--pg1-path={}", dir2.display())
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        let mut res = (false, String::new(), String::new());
        bare.push(timed(|| res = real_stores::as_postgres(&mut cmd)));
        let (ok, out, err) = res;
        assert!(ok, "{out}{err}");
        if round == 1 {
            run_ours(&mut ours, &mut command);
        }
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap();
    println!("command: {command}");
    // 3. The store's ceiling: the same files, the same parallelism, plain GETs.
    let label = info[0]["backup"][0]["label"].as_str().unwrap();
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    let prefix = format!("pgbackrest/production/backup/main/{label}/");
    let (bytes, files, took) = w.store.fetch_all(&prefix, parallel);
    let ceiling = bytes as f64 / took.as_secs_f64();
    let rate = repo_size as f64 / best(&bare).as_secs_f64();
    println!(
        "overhead: bridgerest restore {:.2} s, bare pgbackrest restore {:.2} s, ratio {:.3} (target <= 1.03)",
        best(&ours).as_secs_f64(),
        best(&bare).as_secs_f64(),
        best(&ours).as_secs_f64() / best(&bare).as_secs_f64()
    );

    println!(
        "throughput: restore {:.1} MiB/s (the {:.1} MiB repository in {:.2} s), plain GETs of its {files} files, {parallel} at a time, {:.1} MiB/s ({:.1} MiB in {:.2} s): ratio {:.2} (target >= 0.8)",
        rate / 1048576.0,
        repo_size as f64 / 1048576.0,
        best(&bare).as_secs_f64(),
        ceiling / 1048576.0,
        bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        rate / ceiling
    );

    // 2. A restore interrupted at about half way by revoked credentials.
    let log = w.store.access_log().unwrap();
    let total = tree_size(&w.pg.data.join("base"));
    let dir = w.new_data_dir("interrupted");
    let args = restore_args(&target, &dir, &["--process-max", "1"]);
    let before = std::fs::read_to_string(&log).unwrap().lines().count();
    let child = w.spawn_bridgerest(&args.iter().map(String::as_str).collect::<Vec<_>>());
    real_stores::wait_until(
        "the restore to be half done",
        Duration::from_secs(600),
        || tree_size(&dir.join("base")) >= total / 2,
    );
    let restored_at_revoke = tree_size(&dir.join("base"));
    let old_keys = keys_in(&log); // before the refresh can add a new one
    w.store.revoke_all();
    let (code, out, err) = w.finish(child);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("running again with --delta"), "{err}");
    let rerun = fetched(&log, before, &old_keys);
    let all = fetched(&log, before, &[]);
    println!(
        "resumption: revoked with {:.0}% of base/ restored; all attempts fetched {:.1} MiB of a {:.1} MiB repository: ratio {:.2} (target <= 1.05), of which the --delta rerun {:.1} MiB",
        100.0 * restored_at_revoke as f64 / total as f64,
        all as f64 / 1048576.0,
        repo_size as f64 / 1048576.0,
        all as f64 / repo_size as f64,
        rerun as f64 / 1048576.0
    );

    // 4. Drills of the same backup, at each depth of drill.amcheck (verify off, its default),
    // then the default depth with drill.verify on.
    let base = std::fs::read_to_string(&w.config).unwrap();
    for (amcheck, verify) in [
        ("basic", false),
        ("heapallindexed", false),
        ("full", false),
        ("heapallindexed", true),
    ] {
        let drill = base.replace("verify = true\n", "").replace(
            "[drill]\n",
            &format!("[drill]\namcheck = \"{amcheck}\"\nverify = {verify}\n"),
        );
        std::fs::write(&w.config, drill).unwrap();
        let (code, out, err) =
            w.bridgerest(&["drill", "--cluster", CLUSTER, "--target", &target, "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
        let f = |k: &str| rep[k].as_f64().unwrap_or(f64::NAN);
        let checks: Vec<String> = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        let amcheck_detail = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "amcheck")
            .map_or(String::new(), |c| c["detail"].as_str().unwrap().to_string());
        println!(
            "drill (amcheck = {amcheck}{}): {:.1} s in all: restore {:.1} s, recovery {:.1} s, checks {:.1} s ({}); {:.1} MiB fetched; drill ÷ (restore + recovery) {:.2}{}\n  amcheck: {amcheck_detail}",
            if verify { ", verify on" } else { "" },
            f("total_seconds"),
            f("restore_seconds"),
            f("recovery_seconds"),
            f("checks_seconds"),
            checks.join(", "),
            rep["bytes_fetched"].as_u64().unwrap_or(0) as f64 / 1048576.0,
            f("total_seconds") / (f("restore_seconds") + f("recovery_seconds")),
            if amcheck == "heapallindexed" && !verify {
                " (the default depth; target <= 1.3)"
            } else {
                ""
            }
        );
    }
    std::fs::write(&w.config, base).unwrap();
}
