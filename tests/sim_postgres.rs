//! The simulator with real PostgreSQL (`Sim::with_real_postgres`, as root, with Debian's
//! PostgreSQL 15): a restore at each provider, made with the real `bridgerest` binary, is a
//! PostgreSQL on its own loopback address that speaks TLS only, lets in the role the provider
//! hands out (or the client set) with its password and no other, holds data up to the target
//! time, and is stopped and removed by `bridgerest destroy` (and by dropping the simulator).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::Command;

use bridgerest::sim::{
    sample_state, RealPostgres, Sim, SimRole, SimState, LAUNCHER_READER_PASSWORD,
};
use sim_only::*;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A target `hours_ago`, to the second.
fn at(hours_ago: i64) -> OffsetDateTime {
    (OffsetDateTime::now_utc() - time::Duration::hours(hours_ago))
        .replace_nanosecond(0)
        .unwrap()
}

/// An env whose simulator runs real PostgreSQL under a fresh root (0755, as the OS user must
/// reach it), and that root's parent. The env is dropped first (fields drop in order): the
/// simulator stops its servers before their directory goes.
struct World {
    env: Env,
    _root: tempfile::TempDir,
}

fn env() -> World {
    env_with(|_| {})
}

/// [`env`] with the sample state changed by `change`.
fn env_with(change: impl FnOnce(&mut SimState)) -> World {
    assert!(
        Path::new(PG_BIN).join("initdb").exists(),
        "PostgreSQL 15 is missing: apt-get install postgresql-15 (or bash .ci/run)"
    );
    let parent = tempfile::tempdir().unwrap();
    set_mode(parent.path(), 0o755);
    let mut st = sample_state(KEY, 0);
    st.restore_ms = 300;
    st.delete_ms = 300;
    change(&mut st);
    let sim = Sim::new(st)
        .with_real_postgres(RealPostgres::debian(parent.path().join("pg")))
        .unwrap_or_else(|e| panic!("{e}"));
    let env = Env::with_sim(sim);
    std::fs::write(&env.config, env.providers_config("")).unwrap();
    World { env, _root: parent }
}

/// psql with `conninfo` and the password in its environment (never in its arguments).
fn psql(conninfo: &str, password: &str, sql: &str) -> Run {
    let out = Command::new(Path::new(PG_BIN).join("psql"))
        .arg(format!("{conninfo} connect_timeout=5"))
        .args(["-X", "-A", "-t", "-c", sql])
        .env_clear()
        .env("PGPASSWORD", password)
        .env("PGPASSFILE", "/dev/null")
        .output()
        .unwrap();
    Run::from(out)
}

/// The value of `key=` in a `connect:` line.
fn field(connect: &str, key: &str) -> Option<String> {
    connect
        .split(['"', ' '])
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

fn line<'a>(run: &'a Run, prefix: &str) -> &'a str {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix} line: {run:?}"))
}

/// The copy at `host` lets `user` in with `password` over TLS only, refuses another password,
/// and its ticks end at most 10 minutes before `target`, not after it.
fn assert_copy(host: &str, user: &str, password: &str, target: OffsetDateTime) -> Ipv4Addr {
    let addr: Ipv4Addr = host.parse().unwrap_or_else(|_| panic!("{host}"));
    assert!(addr.is_loopback() && addr.octets()[1] >= 64, "{addr}");
    let conn =
        |mode: &str| format!("host={host} port=5432 dbname=postgres user={user} sslmode={mode}");
    let ssl = psql(
        &conn("require"),
        password,
        "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
    );
    assert_eq!((ssl.code, ssl.stdout.trim()), (0, "t"), "{ssl:?}");
    let last = psql(
        &conn("require"),
        password,
        "select extract(epoch from max(at))::bigint from bridgerest_sim.ticks",
    );
    assert_eq!(last.code, 0, "{last:?}");
    let last: i64 = last.stdout.trim().parse().unwrap();
    let t = target.unix_timestamp();
    assert!(last <= t && last > t - 600, "last tick {last}, target {t}");
    let plain = psql(&conn("disable"), password, "select 1");
    assert_ne!(plain.code, 0, "{plain:?}");
    assert!(plain.stderr.contains("no encryption"), "{plain:?}");
    let wrong = psql(&conn("require"), "not-the-password", "select 1");
    assert_ne!(wrong.code, 0, "{wrong:?}");
    assert!(
        wrong.stderr.contains("password authentication failed"),
        "{wrong:?}"
    );
    addr
}

/// `bridgerest destroy` of `id` stops its PostgreSQL and removes its files.
fn assert_destroyed(env: &Env, id: &str, addr: Ipv4Addr) {
    let real = env.sim.sim.real_postgres(id).expect("a real PostgreSQL");
    assert_eq!(real.address, addr);
    assert!(real.dir.join("data/PG_VERSION").exists(), "{real:?}");
    let run = env.run(&["destroy", "--cluster", id, "--confirm", id]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        TcpStream::connect((addr, 5432)).is_err(),
        "{addr}:5432 still accepts"
    );
    assert!(!real.dir.exists(), "{:?} is still there", real.dir);
    assert!(env.sim.sim.real_postgres(id).is_none());
}

#[test]
fn a_bridge_fork_is_a_real_postgres_with_the_roles_passwords_and_drop_stops_the_rest() {
    let world = env();
    let env = &world.env;
    let target = at(30);
    let t = target.format(&Rfc3339).unwrap();
    let run = env.run_unscanned(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target-time",
        &t,
        "--into",
        "prod-copy",
        "--show-secrets",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let connect = line(&run, "connect:   ");
    let password = line(&run, "password:  ");
    assert_eq!(
        field(connect, "user").as_deref(),
        Some("application"),
        "{connect}"
    );
    let host = field(connect, "host").unwrap();
    let addr = assert_copy(&host, "application", password, target);
    let fork = env
        .sim
        .sim
        .clusters()
        .into_iter()
        .find(|c| c.name == "prod-copy")
        .unwrap()
        .id;
    // The data belongs to application; the data is the one restore's.
    let conn = format!("host={host} port=5432 dbname=postgres user=application sslmode=require");
    let owner = psql(
        &conn,
        password,
        "select tableowner from pg_tables where tablename = 'ticks'",
    );
    assert_eq!(owner.stdout.trim(), "application", "{owner:?}");
    let source = psql(
        &conn,
        password,
        "select source from bridgerest_sim.restored",
    );
    assert_eq!(
        source.stdout.trim(),
        format!("Crunchy Bridge cluster {S3_CLUSTER}"),
        "{source:?}"
    );

    // A second copy, of the latest state, on another address; left running.
    let run = env.run(&[
        "restore",
        "--cluster",
        S3_CLUSTER,
        "--target",
        "latest",
        "--into",
        "prod-now",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let now = env
        .sim
        .sim
        .clusters()
        .into_iter()
        .find(|c| c.name == "prod-now")
        .unwrap()
        .id;
    let other = env.sim.sim.real_postgres(&now).unwrap();
    assert_ne!(other.address, addr);
    assert!(TcpStream::connect((other.address, 5432)).is_ok());

    assert_destroyed(env, &fork, addr);
    // Dropping the simulator stops the one still running and removes its files.
    drop(world);
    assert!(
        TcpStream::connect((other.address, 5432)).is_err(),
        "{other:?} outlived the simulator"
    );
    assert!(!other.dir.exists(), "{other:?}");
    assert!(
        !other.dir.parent().unwrap().exists(),
        "the simulator's own directory is gone"
    );
}

#[test]
fn an_ionos_cluster_from_a_backup_is_a_real_postgres_with_the_clients_user() {
    let world = env();
    let env = &world.env;
    let target = at(50);
    let t = target.format(&Rfc3339).unwrap();
    let run = env.run_unscanned(&[
        "restore",
        "--cluster",
        IONOS_CLUSTER,
        "--target-time",
        &t,
        "--into",
        "shop-copy",
        "--show-secrets",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let connect = line(&run, "connect:   ");
    assert_eq!(
        field(connect, "user").as_deref(),
        Some("restore_admin"),
        "{connect}"
    );
    let host = field(connect, "host").unwrap();
    let password = PROVIDER_SECRETS[3];
    assert_eq!(line(&run, "password:  "), password);
    let addr = assert_copy(&host, "restore_admin", password, target);
    // IONOS's user may create databases and is no superuser.
    let conn = format!("host={host} port=5432 dbname=postgres user=restore_admin sslmode=require");
    let rights = psql(
        &conn,
        password,
        "select rolcreatedb, rolsuper from pg_roles where rolname = current_user",
    );
    assert_eq!(rights.stdout.trim(), "t|f", "{rights:?}");
    let copy = env
        .sim
        .sim
        .ionos_clusters()
        .into_iter()
        .find(|c| c.name == "shop-copy")
        .unwrap();
    assert_destroyed(env, &copy.id, addr);
}

#[test]
fn a_launcher_clone_is_a_real_postgres_with_its_sources_roles() {
    let world = env();
    let env = &world.env;
    let target = at(20);
    let t = target.format(&Rfc3339).unwrap();
    // Launcher hands out no user or password: the clone has its source's roles, which the
    // client knows (the sample's drill_reader).
    let run = env.run(&[
        "restore",
        "--cluster",
        LAUNCHER_DB,
        "--target-time",
        &t,
        "--into",
        "billing-copy",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let connect = line(&run, "connect:   ");
    assert_eq!(field(connect, "user"), None, "{connect}");
    assert_eq!(field(connect, "port").as_deref(), Some("5432"), "{connect}");
    let host = field(connect, "host").unwrap();
    let addr = assert_copy(&host, "drill_reader", LAUNCHER_READER_PASSWORD, target);
    // It may read the data, not change it.
    let conn = format!("host={host} port=5432 dbname=postgres user=drill_reader sslmode=require");
    let write = psql(
        &conn,
        LAUNCHER_READER_PASSWORD,
        "delete from bridgerest_sim.ticks",
    );
    assert!(write.stderr.contains("permission denied"), "{write:?}");
    let copy = env
        .sim
        .sim
        .launcher_databases()
        .into_iter()
        .find(|d| d.name == "billing-copy")
        .unwrap();
    assert_destroyed(env, &copy.id, addr);
}

#[test]
fn an_in_place_restore_remakes_the_postgres_on_its_address_at_the_new_target() {
    // The sample IONOS cluster is given a user (its PostgreSQL keeps its users); Launcher's
    // database has drill_reader.
    const SHOP_PASSWORD: &str = "shop-app-password-0123";
    let world = env_with(|st| {
        st.ionos.as_mut().unwrap().clusters[0].users = vec![SimRole {
            name: "shop_app".into(),
            password: SHOP_PASSWORD.into(),
        }];
    });
    let env = &world.env;
    let mut servers = Vec::new();
    for (id, user, password) in [
        (IONOS_CLUSTER, "shop_app", SHOP_PASSWORD),
        (LAUNCHER_DB, "drill_reader", LAUNCHER_READER_PASSWORD),
    ] {
        assert!(
            env.sim.sim.real_postgres(id).is_none(),
            "a sample cluster has none until restored"
        );
        let mut first = None;
        // The second restore, to a later time, replaces the first's data on the same address.
        for hours in [60, 10] {
            let target = at(hours);
            let t = target.format(&Rfc3339).unwrap();
            let run = env.run(&[
                "restore",
                "--cluster",
                id,
                "--target-time",
                &t,
                "--in-place",
                "--confirm",
                id,
            ]);
            assert_eq!(run.code, 0, "{run:?}");
            let real = env.sim.sim.real_postgres(id).unwrap();
            let addr = assert_copy(&real.address.to_string(), user, password, target);
            assert_eq!(*first.get_or_insert(addr), addr, "{id} moved");
        }
        servers.extend(first);
    }
    // Still running when the simulator goes: it stops them.
    drop(world);
    for addr in servers {
        assert!(
            TcpStream::connect((addr, 5432)).is_err(),
            "{addr} outlived the simulator"
        );
    }
}

#[test]
fn real_postgres_is_refused_clearly_without_postgresql_15_or_with_an_open_root() {
    let parent = tempfile::tempdir().unwrap();
    set_mode(parent.path(), 0o755);
    let missing = RealPostgres {
        bin_dir: "/nonexistent/bin".into(),
        ..RealPostgres::debian(parent.path().join("pg"))
    };
    let e = Sim::new(sample_state(KEY, 0))
        .with_real_postgres(missing)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "real PostgreSQL for the simulator: PostgreSQL 15 is needed at /nonexistent/bin/postgres (not found): install postgresql-15"
    );
    let open = parent.path().join("open");
    std::fs::create_dir(&open).unwrap();
    set_mode(&open, 0o777);
    let e = Sim::new(sample_state(KEY, 0))
        .with_real_postgres(RealPostgres::debian(&open))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no one else can write"), "{e}");
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        0,
        "nothing made in it"
    );
}

/// A `[drill]` for the provider drills, and `[launcher] db_username` (the role Launcher's
/// clones keep) with its password in a 0600 file.
fn drill_config(env: &Env, queries: &str) -> String {
    let pw = env.path("launcher-db-password");
    std::fs::write(&pw, format!("{LAUNCHER_READER_PASSWORD}\n")).unwrap();
    set_mode(&pw, 0o600);
    let text = env.providers_config(&format!(
        "\n[drill]\namcheck = \"full\"\nreports = \"{}\"\nqueries = {queries}\n",
        env.path("reports").display()
    ));
    let text = text.replacen(
        "[launcher]\n",
        &format!(
            "[launcher]\ndb_username = \"drill_reader\"\ndb_password_file = \"{}\"\n",
            pw.display()
        ),
        1,
    );
    format!(
        "{text}\n[[cluster]]\nid = \"{S3_CLUSTER}\"\npg1_path = \"/var/lib/postgresql/15/s3\"\n"
    )
}

#[test]
fn a_drill_at_each_provider_checks_its_real_copy_over_tls_and_deletes_it() {
    let world = env();
    let env = &world.env;
    // The copy's data must reach its target and no further: what a drill of a sample proves.
    let queries = r#"["SELECT count(*) FROM bridgerest_sim.ticks", "SELECT max(at) <= (SELECT target FROM bridgerest_sim.restored) AND max(at) > (SELECT target FROM bridgerest_sim.restored) - interval '10 minutes' FROM bridgerest_sim.ticks"]"#;
    std::fs::write(&env.config, drill_config(env, queries)).unwrap();
    let target = at(30).format(&Rfc3339).unwrap();
    for (id, more, provider, user) in [
        (S3_CLUSTER, Some("--at-provider"), "bridge", "postgres"),
        (IONOS_CLUSTER, None, "ionos", "restore_admin"),
        (LAUNCHER_DB, None, "launcher", "drill_reader"),
    ] {
        let mut args = vec!["drill", "--cluster", id, "--target", &target, "--json"];
        args.extend(more);
        let run = env.run(&args);
        let rep: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
        assert_eq!(run.code, 0, "{provider}: {rep:#}\n{run:?}");
        assert_eq!(rep["ok"], true);
        let checks: Vec<(&str, bool)> = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["ok"].as_bool().unwrap()))
            .collect();
        let connect = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "connect")
            .unwrap();
        let detail = connect["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("as {user}, over TLS")), "{detail}");
        assert!(detail.starts_with("PostgreSQL 15."), "{detail}");
        let copy = &rep["at_provider"];
        assert_eq!(copy["provider"], provider);
        assert_eq!(copy["deleted"], true, "{rep:#}");
        let unproven = copy["not_checked"].as_array().cloned().unwrap_or_default();
        // pg_amcheck ran against the copy as the provider's role (the sample sources have
        // amcheck granted to their roles, as docs/restore.md says to prepare one). The sample
        // copies were not recovered from WAL: where recovery ended is said to be unobserved,
        // and nothing else.
        let amcheck = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "amcheck")
            .unwrap_or_else(|| panic!("{provider}: no amcheck: {rep:#}"));
        assert_eq!(amcheck["ok"], true, "{rep:#}");
        assert!(
            amcheck["detail"]
                .as_str()
                .unwrap()
                .starts_with("no corruption found: "),
            "{rep:#}"
        );
        // drill.amcheck = "full" there: as deep as the provider's role may go, said why.
        assert!(
            amcheck["detail"].as_str().unwrap().ends_with(
                "(depth heapallindexed: full needs a superuser, which the provider's role is not)"
            ),
            "{rep:#}"
        );
        assert_eq!(unproven.len(), 1, "{rep:#}");
        assert!(
            unproven[0].as_str().unwrap().starts_with("recovered_to:"),
            "{rep:#}"
        );
        assert!(
            checks.contains(&("query 1", true)) && checks.contains(&("query 2", true)),
            "{rep:#}"
        );
        let copy_id = copy["id"].as_str().unwrap();
        assert!(
            env.sim.sim.real_postgres(copy_id).is_none(),
            "{provider}: its PostgreSQL is gone"
        );
    }
}

#[test]
fn a_drill_at_the_provider_fails_when_the_copys_data_does_not_reach_the_target() {
    let world = env();
    let env = &world.env;
    // The user's own query expects data up to the target: a copy made at another time (here
    // the simulator's sample, restored to 30 hours ago, asked about 2 hours ago) fails it.
    let recent = at(2).format(&Rfc3339).unwrap();
    let queries = format!(
        r#"["SELECT max(at) > '{recent}'::timestamptz - interval '10 minutes' FROM bridgerest_sim.ticks"]"#
    );
    std::fs::write(&env.config, drill_config(env, &queries)).unwrap();
    let target = at(30).format(&Rfc3339).unwrap();
    let run = env.run(&["drill", "--cluster", IONOS_CLUSTER, "--target", &target]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("query 1  FAILED"), "{run:?}");
    assert!(run.stdout.contains("→ f"), "{run:?}");
    assert!(run.stdout.contains(", deleted, alive"), "{run:?}");
}

#[test]
fn sigterm_during_a_drill_at_the_provider_deletes_the_real_copy() {
    let world = env_with(|st| st.restore_ms = 20_000);
    let env = &world.env;
    std::fs::write(&env.config, drill_config(env, "[]")).unwrap();
    let target = at(30).format(&Rfc3339).unwrap();
    let child = env
        .cmd()
        .args(["drill", "--cluster", IONOS_CLUSTER, "--target", &target])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let copy = || {
        env.sim
            .sim
            .ionos_clusters()
            .into_iter()
            .find(|c| c.name.starts_with("bridgerest-drill-"))
    };
    let t0 = std::time::Instant::now();
    let id = loop {
        if let Some(c) = copy().filter(|c| env.sim.sim.real_postgres(&c.id).is_some()) {
            break c.id;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(30), "no copy");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let run = Run::from(child.wait_with_output().unwrap());
    env.assert_no_secrets(&run);
    assert_eq!(run.code, 130, "{run:?}");
    assert!(run.stderr.contains("accepted its deletion"), "{run:?}");
    // The provider goes on deleting it (the simulator moves on as it is asked).
    let t1 = std::time::Instant::now();
    while env.sim.sim.real_postgres(&id).is_some() {
        env.run(&["clusters", "--created"]);
        assert!(
            t1.elapsed() < std::time::Duration::from_secs(30),
            "its PostgreSQL runs on"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn drill_all_at_the_providers_passes_and_then_nothing_is_due() {
    let world = env();
    let env = &world.env;
    let text = drill_config(env, r#"["SELECT count(*) FROM bridgerest_sim.ticks"]"#).replacen(
        "[drill]\n",
        "[drill]\nat_provider = true\n",
        1,
    );
    // Only the clusters restored at their provider (the Bridge one here has no repository).
    let text = text[..text.rfind("\n[[cluster]]\nid = \"rvf").unwrap()].to_string();
    std::fs::write(&env.config, text).unwrap();
    let target = at(30).format(&Rfc3339).unwrap();
    let run = env.run(&["drill", "--all", "--target", &target]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.matches("(at the provider, ").count(),
        2,
        "{run:?}"
    );
    let due = env.run(&["drill", "--all", "--due", "--list"]);
    assert_eq!(due.code, 0, "{due:?}");
    assert_eq!(
        due.stdout,
        "every cluster (no --shard, no engine index): 0 cluster(s) due\n"
    );
}
