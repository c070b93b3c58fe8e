//! `cargo bench --bench fleet` (as root, with the tools `.ci/run` installs): a fleet of M Bridge
//! clusters (default 6, `BRIDGEREST_BENCH_CLUSTERS`), each with a real pgBackRest repository on
//! the S3 stack (moto behind nginx TLS; tests/real_stores/fleet.rs: one tiny source database
//! backed up into every repository), every drill to `latest` and pushed to a Pushgateway:
//!
//! 1. alone: each cluster drilled by its own `bridgerest drill --cluster ID`, one after
//!    another: each process's wall time;
//! 2. fleet: N local workers (default 2, `BRIDGEREST_BENCH_WORKERS`), each a process
//!    `bridgerest --config C drill --all --shard I/N`, all started at once: the shard sizes, the
//!    fleet's wall time (the last worker's end), and fleet wall ÷ (sum of the single times ÷ N)
//!    (issue 32's target ≤ 1.15; 1 is perfect sharing, more is imbalance or contention);
//! 3. overhead per cluster, in ms: a process's wall time less the sum of its drills'
//!    `total_seconds` (their JSON reports), over its clusters (start-up, config, sharding, the
//!    push, the report files), for the single drills and for each worker; and the wall time of
//!    `drill --all --shard I/N --list` (the share alone);
//! 4. where a ratio above 1 comes from: the fleet's drills' seconds ÷ the same drills' seconds
//!    alone (contention: the workers share the cores and the store), and the slowest worker's
//!    wall ÷ the mean worker's (unequal shards); with how busy the machine's cores were in each
//!    phase and the load average, since the machine may be shared.
//!
//! Figures only: nothing here passes or fails on timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/real_stores/mod.rs"]
mod real_stores;
#[path = "../tests/sim_only/mod.rs"]
mod sim_only;

use std::time::{Duration, Instant};

use real_stores::pg::{Kind, World};
use sim_only::pushgateway::Gateway;

/// The first three fields of /proc/loadavg: how busy the machine was besides this bench.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The machine's CPU time so far, busy and in all (jiffies, every core: /proc/stat's first
/// line; idle and iowait are not busy).
fn cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// How busy the machine's cores were between two [`cpu`] readings, in percent.
fn busy(from: (u64, u64), to: (u64, u64)) -> f64 {
    100.0 * (to.0 - from.0) as f64 / (to.1 - from.1).max(1) as f64
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v}: a number")))
        .unwrap_or(default)
}

/// A finished process: its wall time and its drills' reports (`--json`).
struct Ran {
    wall: Duration,
    reports: Vec<serde_json::Value>,
}

impl Ran {
    fn drills(&self) -> f64 {
        self.reports
            .iter()
            .map(|r| r["total_seconds"].as_f64().unwrap())
            .sum()
    }

    /// Wall time not spent in a drill, per cluster, in ms.
    fn overhead_ms(&self) -> f64 {
        (self.wall.as_secs_f64() - self.drills()) * 1000.0 / self.reports.len().max(1) as f64
    }
}

/// Starts `bridgerest args` for each of `runs` at once; waits for all of them.
fn run_at_once(w: &World, runs: &[Vec<String>]) -> Vec<Ran> {
    let start = Instant::now();
    let waiting: Vec<_> = runs
        .iter()
        .map(|args| {
            let child = w.spawn_bridgerest(&args.iter().map(String::as_str).collect::<Vec<_>>());
            std::thread::spawn(move || {
                let out = child.wait_with_output().unwrap();
                (start.elapsed(), out)
            })
        })
        .collect();
    waiting
        .into_iter()
        .zip(runs)
        .map(|(t, args)| {
            let (wall, out) = t.join().unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
            w.transcript.push(&stdout);
            w.transcript.push(&stderr);
            assert!(out.status.success(), "{args:?}:\n{stdout}{stderr}");
            let v: serde_json::Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{args:?}: {e}:\n{stdout}{stderr}"));
            let reports = match v {
                serde_json::Value::Array(a) => a,
                one => vec![one],
            };
            Ran { wall, reports }
        })
        .collect()
}

fn main() {
    let clusters = env_or("BRIDGEREST_BENCH_CLUSTERS", 6);
    let workers = env_or("BRIDGEREST_BENCH_WORKERS", 2);
    let t = Instant::now();
    let w = World::fleet(Kind::S3, clusters);
    let password = "fleet-bench-push-password";
    let gw = Gateway::start(w.dir.dir.path(), "drills", password);
    let text = gw.configure(&w.config, &w.dir.path("push-password"));
    std::fs::write(
        &w.config,
        text.replacen("[drill]\n", "[drill]\ntarget = \"latest\"\n", 1),
    )
    .unwrap();
    println!(
        "fleet: {clusters} clusters, each a repository of its own on the S3 stack, made in {:.1} s; {workers} workers; {} cores, load average {}",
        t.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load()
    );

    // The shares, and what computing one costs.
    let mut shares = Vec::new();
    for i in 0..workers {
        let shard = format!("{i}/{workers}");
        let t = Instant::now();
        let (code, out, err) = w.bridgerest(&["drill", "--all", "--shard", &shard, "--list"]);
        let took = t.elapsed();
        assert_eq!(code, 0, "{out}{err}");
        let share: Vec<String> = out.lines().skip(1).map(str::to_string).collect();
        println!(
            "shard {shard}: {} cluster(s); `drill --all --shard {shard} --list` took {:.0} ms",
            share.len(),
            took.as_secs_f64() * 1000.0
        );
        shares.push(share);
    }

    // 1. Each cluster alone, one after another.
    let cpu_singles = cpu();
    let mut singles = Vec::new();
    for m in &w.members {
        let ran = run_at_once(
            &w,
            &[["drill", "--cluster", &m.id, "--json"]
                .map(String::from)
                .to_vec()],
        )
        .pop()
        .unwrap();
        let rep = &ran.reports[0];
        assert_eq!(rep["ok"], true, "{rep:#}");
        println!(
            "alone: {} {:.2} s (restore {:.2} s, recovery {:.2} s, checks {:.2} s), overhead {:.0} ms",
            m.id,
            ran.wall.as_secs_f64(),
            rep["restore_seconds"].as_f64().unwrap_or(f64::NAN),
            rep["recovery_seconds"].as_f64().unwrap_or(f64::NAN),
            rep["checks_seconds"].as_f64().unwrap_or(f64::NAN),
            ran.overhead_ms()
        );
        singles.push(ran);
    }
    let sum: f64 = singles.iter().map(|r| r.wall.as_secs_f64()).sum();
    let cpu_fleet = cpu();

    // 2. The fleet: every worker at once.
    let runs: Vec<Vec<String>> = (0..workers)
        .map(|i| {
            [
                "drill",
                "--all",
                "--shard",
                &format!("{i}/{workers}"),
                "--json",
            ]
            .map(String::from)
            .to_vec()
        })
        .collect();
    let fleet = run_at_once(&w, &runs);
    let wall = fleet.iter().map(|r| r.wall).max().unwrap();
    let cpu_end = cpu();
    for (i, ran) in fleet.iter().enumerate() {
        assert!(ran.reports.iter().all(|r| r["ok"] == true));
        assert_eq!(ran.reports.len(), shares[i].len());
        println!(
            "worker {i}/{workers}: {} cluster(s) in {:.2} s, of which drills {:.2} s; overhead {:.0} ms per cluster",
            ran.reports.len(),
            ran.wall.as_secs_f64(),
            ran.drills(),
            ran.overhead_ms()
        );
    }
    let single_overhead = singles.iter().map(Ran::overhead_ms).sum::<f64>() / singles.len() as f64;
    println!(
        "fleet: wall {:.2} s; sum of the single times {sum:.2} s, / {workers} = {:.2} s; ratio {:.3} (target <= 1.15)",
        wall.as_secs_f64(),
        sum / workers as f64,
        wall.as_secs_f64() / (sum / workers as f64)
    );
    // Where a ratio above 1 comes from: the drills themselves slower side by side (two
    // restores, amchecks and verifies, and the one store, on the same cores), or the shards
    // unequal (the slowest worker against the mean).
    let alone: f64 = singles.iter().map(Ran::drills).sum();
    let together: f64 = fleet.iter().map(Ran::drills).sum();
    let mean = fleet.iter().map(|r| r.wall.as_secs_f64()).sum::<f64>() / workers as f64;
    println!(
        "split: the drills took {together:.2} s side by side against {alone:.2} s alone (x{:.3}); slowest worker / mean worker {:.3}",
        together / alone,
        wall.as_secs_f64() / mean
    );
    let phase = |runs: &[Ran], k: &str| -> f64 {
        runs.iter()
            .flat_map(|r| &r.reports)
            .map(|rep| rep[k].as_f64().unwrap_or(0.0))
            .sum()
    };
    let phases: Vec<String> = ["restore_seconds", "recovery_seconds", "checks_seconds"]
        .iter()
        .map(|k| {
            format!(
                "{} {:.1} s vs {:.1} s (x{:.2})",
                k.trim_end_matches("_seconds"),
                phase(&fleet, k),
                phase(&singles, k),
                phase(&fleet, k) / phase(&singles, k)
            )
        })
        .collect();
    println!("by phase, side by side vs alone: {}", phases.join("; "));
    println!(
        "cores busy (the whole machine, other work included): {:.0}% while drilling alone, {:.0}% while the fleet drilled",
        busy(cpu_singles, cpu_fleet),
        busy(cpu_fleet, cpu_end)
    );
    println!("overhead: {single_overhead:.0} ms per cluster drilled alone (mean)");
    println!("load average (1, 5, 15 min) at the end: {}", load());
    w.assert_no_secrets();
    let m = gw.metrics();
    assert!(w
        .members
        .iter()
        .all(|c| m.contains(&format!("bridgerest_drill_success{{cluster=\"{}\"", c.id))));
}
