//! `cargo bench --bench soak`: `bridgerest daemon` with 202 clusters against the simulator,
//! 3-minute credentials (api.token_lifetime = 3m) refreshed at half-life, a scheduled refresh
//! of every cluster and a look at every cluster's backups every 2 minutes, and a burst of
//! faults every 20 s for 8 minutes: in turn 503s and 429s (Retry-After: 3) on the token
//! requests, 12 s answers to everything, malformed token answers, 60 s backup listings, 500s on
//! everything; each burst lasts until the next (some fault is always on; with
//! `BRIDGEREST_SOAK_BURST_SECS` shorter, the API works between bursts). Prints the
//! **cluster-seconds of expired credentials**
//! (the goal is 0), the most clusters expired at once, the requests made, and what the daemon
//! logged at its default level (a line per change of a cluster's state, not per retry).
//!
//! Expiry is read from the status file the daemon writes (sampled every 250 ms): a cluster's
//! `expires_at` counts from the request that fetched its credentials, so it is never later
//! than the credentials' real end. `BRIDGEREST_SOAK_SECS` (default 480) and
//! `BRIDGEREST_SOAK_BURST_SECS` (default 20) change the run. Figures only: nothing here passes
//! or fails on them (the tests of the causes are in src/schedule/tests.rs and tests/daemon.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use bridgerest::sim::{Fault, FaultKind};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[path = "sim_only.rs"]
mod sim_only;
use sim_only::Bench;

const CLUSTERS: usize = 202;
const LIFETIME_S: u64 = 180;
const BURST_EVERY: Duration = Duration::from_secs(20);
const SAMPLE: Duration = Duration::from_millis(250);

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn fault(path: Option<&str>, method: Option<&str>, kind: FaultKind) -> Fault {
    Fault {
        path: path.map(str::to_string),
        method: method.map(str::to_string),
        times: None,
        kind,
    }
}

/// The bursts, in turn: a name and the faults.
fn bursts() -> Vec<(&'static str, Vec<Fault>)> {
    vec![
        (
            "503 on token requests",
            vec![fault(
                Some("backup-tokens"),
                None,
                FaultKind::ServerError { status: 503 },
            )],
        ),
        (
            "429 (Retry-After: 3) on token requests",
            vec![fault(
                Some("backup-tokens"),
                None,
                FaultKind::RateLimit { retry_after: 3 },
            )],
        ),
        (
            "12 s answers to everything",
            vec![fault(None, None, FaultKind::Slow { delay_ms: 12_000 })],
        ),
        (
            "malformed token answers",
            vec![fault(Some("backup-tokens"), None, FaultKind::Malformed)],
        ),
        (
            "60 s backup listings",
            vec![fault(
                Some("/backups"),
                Some("GET"),
                FaultKind::Slow { delay_ms: 60_000 },
            )],
        ),
        (
            "500 on everything",
            vec![fault(None, None, FaultKind::ServerError { status: 500 })],
        ),
    ]
}

/// (clusters in the status file, those whose credentials have expired at `now`), or `None`
/// if the file cannot be read.
fn expired(status: &std::path::Path, now: OffsetDateTime) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(status).ok()?;
    let st: serde_json::Value = serde_json::from_str(&text).ok()?;
    let clusters = st["clusters"].as_array()?;
    let gone = clusters
        .iter()
        .filter(|c| {
            c["expires_at"]
                .as_str()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .is_none_or(|x| x <= now)
        })
        .count();
    Some((clusters.len(), gone))
}

fn main() {
    let soak = env_secs("BRIDGEREST_SOAK_SECS", 480);
    let burst = env_secs("BRIDGEREST_SOAK_BURST_SECS", 20);
    let b = Bench::with(
        CLUSTERS,
        0,
        &format!("token_lifetime = \"{LIFETIME_S}s\""),
        "[daemon]\nrefresh_at = 0.5\nschedule = \"0 */2 * * * *\"\nstatus_file = \"{dir}/status.json\"",
        |st| {
            for c in &mut st.clusters {
                c.token_lifetime_secs = LIFETIME_S;
            }
        },
    );
    let (sim, config) = (&b.sim.sim, &b.config);
    let status = b.dir.path().join("status.json");
    let log = b.dir.path().join("daemon.log");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest"))
        .env_remove("BRIDGEREST_LOG")
        .arg("--config")
        .arg(config)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while expired(&status, OffsetDateTime::now_utc()) != Some((CLUSTERS, 0)) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the first refresh of every cluster did not finish: {:?}",
            expired(&status, OffsetDateTime::now_utc())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let requests0 = sim.stats().requests;

    let bursts = bursts();
    let (mut cluster_seconds, mut most, mut unread) = (0.0f64, 0usize, 0u32);
    let mut current: Option<usize> = None;
    let t0 = Instant::now();
    let mut last = t0;
    while t0.elapsed() < soak {
        let at = t0.elapsed();
        let n = (at.as_millis() / BURST_EVERY.as_millis()) as usize;
        let want = (at.as_millis() % BURST_EVERY.as_millis() < burst.as_millis()).then_some(n);
        if want != current {
            sim.set_faults(want.map_or_else(Vec::new, |n| bursts[n % bursts.len()].1.clone()));
            current = want;
        }
        std::thread::sleep(SAMPLE);
        let now = Instant::now();
        let dt = (now - last).as_secs_f64();
        last = now;
        match expired(&status, OffsetDateTime::now_utc()) {
            Some((_, gone)) => {
                cluster_seconds += gone as f64 * dt;
                most = most.max(gone);
            }
            None => unread += 1,
        }
    }
    sim.set_faults(vec![]);
    let requests = sim.stats().requests - requests0;
    let tokens = sim
        .stats()
        .by_path
        .iter()
        .filter(|(p, _)| p.contains("backup-tokens"))
        .map(|(_, n)| n)
        .sum::<u64>();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success(), "the daemon did not exit 0");
    let text = std::fs::read_to_string(&log).unwrap();
    let count = |s: &str| text.lines().filter(|l| l.contains(s)).count();

    println!(
        "daemon soak: {CLUSTERS} clusters, {LIFETIME_S} s credentials refreshed at half-life, a {} s burst of faults every {} s for {} s",
        burst.as_secs(),
        BURST_EVERY.as_secs(),
        soak.as_secs()
    );
    for (name, _) in &bursts {
        println!("  burst: {name}");
    }
    println!("  expired credentials:  {cluster_seconds:>8.1} cluster-seconds (goal 0)");
    println!("  most expired at once: {most:>8}");
    println!(
        "  requests:             {requests:>8} ({tokens} token requests in all, the first round's included)"
    );
    println!(
        "  log at the default level: {} lines; {} 'refresh failed', {} 'works again', {} 'Uninited'",
        text.lines().count(),
        count("refresh failed; the last good stanza stays"),
        count("refresh works again"),
        count("Uninited")
    );
    // The first failures, as logged (redacted), to see what the daemon met.
    for l in text
        .lines()
        .filter(|l| l.contains("refresh failed"))
        .take(3)
    {
        println!("    {l}");
    }
    if unread > 0 {
        println!("  (the status file could not be read {unread} times)");
    }
}
