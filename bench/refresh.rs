//! `cargo bench --bench refresh`: refresh 500 clusters against the simulator with 20 ms of
//! latency per request (the whole time of each answer, server side) and concurrency 16.
//! Prints wall time against the ideal (requests × 20 ms ÷ 16), their ratio (target ≤ 1.1:
//! the whole process, start to exit, within 10% of the requests alone) and the peak RSS of the
//! bridgerest process (target ≤ 30 MiB). Figures only: nothing here passes or fails on
//! timing; the machine is shared, so compare medians of several runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

#[path = "sim_only.rs"]
mod sim_only;
use sim_only::Bench;

const CLUSTERS: usize = 500;
const LATENCY_MS: u64 = 20;
const CONCURRENCY: usize = 16;
const RUNS: usize = 3;

fn main() {
    let b = Bench::new(
        CLUSTERS,
        LATENCY_MS,
        &format!("concurrency = {CONCURRENCY}"),
        "",
    );
    let (sim, config) = (&b.sim, &b.config);

    let ideal = Duration::from_millis(LATENCY_MS * CLUSTERS as u64 / CONCURRENCY as u64);
    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let before = sim.sim.stats().requests;
        let start = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest"))
            .arg("--config")
            .arg(config)
            .arg("refresh")
            .output()
            .unwrap();
        let wall = start.elapsed();
        assert!(
            out.status.success(),
            "refresh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let requests = sim.sim.stats().requests - before;
        assert_eq!(requests as usize, CLUSTERS, "one token request per cluster");
        walls.push(wall);
    }
    walls.sort();
    let median = walls[RUNS / 2];
    // ru_maxrss of waited-for children: the largest peak RSS of any bridgerest run, in KiB.
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    let rss_mib = usage.max_rss() as f64 / 1024.0;
    let written = b.written();
    assert_eq!(
        written.matches("\n[").count(),
        CLUSTERS,
        "every stanza written"
    );

    println!("refresh of {CLUSTERS} clusters, {LATENCY_MS} ms per request, concurrency {CONCURRENCY} ({RUNS} runs)");
    println!(
        "  wall time (median): {:>8.1} ms   (runs: {:?})",
        ms(median),
        walls.iter().map(|w| ms(*w).round()).collect::<Vec<_>>()
    );
    println!("  ideal:              {:>8.1} ms   ({CLUSTERS} requests x {LATENCY_MS} ms / {CONCURRENCY})", ms(ideal));
    println!(
        "  ratio:              {:>8.2}      (target <= 1.1)",
        median.as_secs_f64() / ideal.as_secs_f64()
    );
    println!("  peak RSS:           {:>8.1} MiB  (target <= 30)", rss_mib);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
