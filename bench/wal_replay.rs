//! `cargo bench --bench wal_replay` (as root, with the tools `.ci/run` installs): how much
//! sooner a point-in-time recovery is done with the WAL prefetch bridgerest configures
//! (pgBackRest's asynchronous `archive-get`) than with pgBackRest's default (one synchronous
//! `archive-get` per segment).
//!
//! The real S3 stack (moto behind nginx TLS) with every request to the store 20 ms slower (a
//! TCP proxy between nginx and moto holds each new connection for 20 ms; nginx opens one per
//! request). A small full backup, then at least 1 GiB of WAL from inserts and updates; then
//! `bridgerest restore --start` to a target near the end, twice: with bridgerest's settings,
//! and with `"archive-async" = "n"` in `[cluster.options]` (pgBackRest's defaults). The figure
//! is the recovery time (from PostgreSQL's start to its promotion) of the first ÷ that of the
//! second (target ≤ 0.5). Figures only: nothing here passes or fails on timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/real_stores/mod.rs"]
mod real_stores;

use std::time::{Duration, Instant};

use real_stores::free_port;
use real_stores::pg::{Kind, World, CLUSTER};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const LATENCY: Duration = Duration::from_millis(20);
const WAL_BYTES: u64 = 1 << 30;

/// When bridgerest's log says PostgreSQL was started.
fn started_at(stderr: &str) -> OffsetDateTime {
    let line = stderr
        .lines()
        .find(|l| l.contains("PostgreSQL started; following its recovery"))
        .unwrap_or_else(|| panic!("no start in:\n{stderr}"));
    let stamp = line.split_whitespace().next().unwrap();
    OffsetDateTime::parse(stamp, &Rfc3339).unwrap()
}

fn main() {
    let mut w = World::with_latency(Kind::S3, 3600, LATENCY);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pg.psql("CREATE TABLE w (g int, v text)");
    w.pgbackrest_ok(&["--type=full", "backup"]);

    // At least 1 GiB of WAL: inserts, then updates of what was inserted.
    let start_lsn = w.pg.psql("SELECT pg_current_wal_lsn()");
    let made = |w: &World| -> u64 {
        w.pg.psql(&format!(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{start_lsn}')::bigint"
        ))
        .parse()
        .unwrap()
    };
    let t = Instant::now();
    let mut round = 0;
    while made(&w) < WAL_BYTES {
        w.pg.psql(&format!(
            "INSERT INTO w SELECT g, md5(g::text) || md5((g + {round})::text) FROM generate_series(1, 500000) g"
        ));
        w.pg.psql(&format!(
            "UPDATE w SET v = md5(v) || '{round}' WHERE g % 2 = 0"
        ));
        round += 1;
    }
    w.insert(1, 100);
    w.pg.psql("SELECT pg_sleep(1.1)");
    let target = w.now_target();
    w.pgbackrest_ok(&["check"]);
    w.sync_backups();
    let wal = made(&w);
    println!(
        "wal: {:.2} GiB ({} segments) made and archived in {:.0} s; store latency {} ms per request",
        wal as f64 / (1u64 << 30) as f64,
        wal / (16 << 20),
        t.elapsed().as_secs_f64(),
        LATENCY.as_millis()
    );

    let base = std::fs::read_to_string(&w.config).unwrap();
    let mut recovery = Vec::new();
    for (name, extra) in [
        ("bridgerest (archive-async prefetch)", ""),
        (
            "pgBackRest's default (sync archive-get)",
            "\"archive-async\" = \"n\"\n",
        ),
    ] {
        std::fs::write(&w.config, format!("{base}{extra}")).unwrap();
        let dir = w.new_data_dir(&format!("restored-{}", recovery.len()));
        let port = free_port();
        let args = [
            "restore".to_string(),
            "--cluster".into(),
            CLUSTER.into(),
            "--target-time".into(),
            target.clone(),
            "--pg1-path".into(),
            dir.display().to_string(),
            "--start".into(),
            "--pg-option".into(),
            format!("port={port}"),
            "--pg-option".into(),
            format!("unix_socket_directories={}", w.pg.sock.display()),
        ];
        let t = Instant::now();
        let (code, out, err) = w.bridgerest(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let ended = OffsetDateTime::now_utc();
        let total = t.elapsed();
        assert_eq!(code, 0, "{out}{err}");
        let recovered = Duration::try_from(ended - started_at(&err)).unwrap();
        let wal_line = out
            .lines()
            .find(|l| l.starts_with("wal:"))
            .unwrap_or("wal: ?");
        println!(
            "{name}: restore + recovery {:.1} s, recovery (start to promoted) {:.1} s\n  {wal_line}",
            total.as_secs_f64(),
            recovered.as_secs_f64()
        );
        let copy = w.adopt_restored(&dir, port);
        assert_eq!(copy.psql("SELECT count(*) FROM restore_check"), "100");
        drop(copy);
        recovery.push(recovered);
    }
    std::fs::write(&w.config, base).unwrap();
    println!(
        "wal replay: ratio {:.2} (target <= 0.5)",
        recovery[0].as_secs_f64() / recovery[1].as_secs_f64()
    );
}
