//! `cargo bench --bench daemon`: `bridgerest daemon` with 10 clusters against the simulator,
//! each refreshed every 200 ms (api.token_lifetime = 1s, daemon.refresh_at = 0.2), for 100
//! refresh cycles (one cycle = a token for each of the 10 clusters, the file rewritten, the
//! status file written; BRIDGEREST_BENCH_CYCLES=N for more). Prints the daemon's steady-state RSS after 10 and after 100 cycles
//! (target <= 10 MiB, and no growth), its peak RSS, and the CPU time per cycle. Figures only:
//! nothing here passes or fails on timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

#[path = "sim_only.rs"]
mod sim_only;
use sim_only::Bench;

const CLUSTERS: usize = 10;
/// `BRIDGEREST_BENCH_CYCLES` overrides, to look for growth over a longer run.
fn cycles_wanted() -> u64 {
    std::env::var("BRIDGEREST_BENCH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}
const WARMUP: u64 = 10;

/// (VmRSS, VmHWM) in KiB and user+system CPU time of a process.
fn sample(pid: u32) -> (u64, u64, Duration) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = |field: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap()
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as u64;
    (
        kib("VmRSS:"),
        kib("VmHWM:"),
        Duration::from_millis(ticks * 1000 / hz),
    )
}

fn main() {
    let b = Bench::new(
        CLUSTERS,
        0,
        "token_lifetime = \"1s\"",
        "[daemon]\nrefresh_at = 0.2\nstatus_file = \"{dir}/status.json\"",
    );
    let (sim, config) = (&b.sim, &b.config);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest"))
        .arg("--config")
        .arg(config)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let cycles = || sim.sim.stats().requests / CLUSTERS as u64;
    let wait_for = |n: u64| {
        let start = Instant::now();
        while cycles() < n {
            assert!(
                start.elapsed() < Duration::from_secs(60 + cycles_wanted()),
                "the daemon did only {} cycles",
                cycles()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        (cycles(), Instant::now())
    };
    let (c0, t0) = wait_for(WARMUP);
    let (rss0, _, cpu0) = sample(pid);
    let (c1, t1) = wait_for(cycles_wanted());
    let (rss1, hwm, cpu1) = sample(pid);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success(), "the daemon did not exit 0");
    let written = b.written();
    assert_eq!(
        written.matches("\n[").count(),
        CLUSTERS,
        "every stanza written"
    );

    let n = c1 - c0;
    let mib = |k: u64| k as f64 / 1024.0;
    println!("daemon with {CLUSTERS} clusters, a refresh cycle every 200 ms, cycles {c0}..{c1}");
    println!(
        "  RSS after {c0} cycles:  {:>6.1} MiB   after {c1}: {:>6.1} MiB (target <= 10; growth {:+.1} MiB)",
        mib(rss0),
        mib(rss1),
        mib(rss1) - mib(rss0)
    );
    println!("  peak RSS (VmHWM):     {:>6.1} MiB", mib(hwm));
    println!(
        "  CPU per cycle:        {:>6.2} ms     ({} ms user+system over {n} cycles, {:.1} s wall)",
        (cpu1 - cpu0).as_secs_f64() * 1000.0 / n as f64,
        (cpu1 - cpu0).as_millis(),
        (t1 - t0).as_secs_f64()
    );
}
