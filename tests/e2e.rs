//! End to end: bridgerest-rendered configs drive the real pgBackRest 2.45 against real S3,
//! Azure and GCS stores on loopback, with credentials from the simulator that really work and
//! really expire. Needs root (PostgreSQL and pgBackRest run as postgres) and the tools
//! `.ci/run` installs; a missing tool fails the test with how to install it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::pg::{Kind, Pg, World};

/// Backup, then restore to a time between two batches of rows: exactly the first batch is back.
fn pitr_round_trip(kind: Kind) {
    let mut w = World::new(kind, 3600);
    w.refresh();
    let rendered = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    assert!(rendered.contains(&format!(
        "repo1-type={}",
        match kind {
            Kind::S3 => "s3",
            Kind::Azure | Kind::AzureShared => "azure",
            Kind::Gcs => "gcs",
        }
    )));
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pgbackrest_ok(&["check"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    w.insert(1, 100);
    // pgBackRest records backup stop times in whole seconds and wants one strictly before the
    // target: keep the target out of the backup's last second, as any real target is.
    w.pg.psql("SELECT pg_sleep(1.1)");
    let target = w.now_target();
    w.pg.psql("SELECT pg_sleep(0.05)");
    w.insert(101, 250);
    w.pgbackrest_ok(&["check"]); // switches WAL and waits until it is archived
    let (code, _) = w.info_status();
    assert_eq!(code, 0);

    let restored = w.new_data_dir("restored");
    w.pgbackrest_ok(&[
        &format!("--pg1-path={}", restored.display()),
        "--type=time",
        &format!("--target={target}"),
        "--target-action=promote",
        "restore",
    ]);
    let mut copy = Pg::restored(&restored, &w.pg.sock, &w.dir.path("pg/restored.log"));
    copy.start();
    support::wait_until(
        "the restored cluster to finish recovery",
        Duration::from_secs(120),
        || copy.psql("SELECT pg_is_in_recovery()") == "f",
    );
    assert_eq!(
        copy.psql("SELECT count(*), min(i), max(i) FROM restore_check"),
        "100|1|100",
        "restore to {target}"
    );
    w.assert_no_secrets();
}

#[test]
fn pitr_s3() {
    pitr_round_trip(Kind::S3);
}

#[test]
fn pitr_azure_sas() {
    pitr_round_trip(Kind::Azure);
}

#[test]
fn pitr_gcs() {
    pitr_round_trip(Kind::Gcs);
}

/// After the token's lifetime the store refuses the old credentials (asserted), a refresh
/// fetches new ones, and the same command works again.
fn expiry(kind: Kind, refusal: &str) {
    let lifetime = 15;
    let mut w = World::new(kind, lifetime);
    w.refresh();
    let first = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.assert_repo_readable("fresh credentials work");
    let msg = w.wait_refused(Duration::from_secs(lifetime + 60));
    assert!(
        msg.contains(refusal),
        "expected the store's {refusal} refusal, got: {msg}"
    );
    w.refresh();
    let second = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    assert_ne!(first, second, "refresh wrote new credentials");
    w.assert_repo_readable("new credentials work");
    w.assert_no_secrets();
}

#[test]
fn expiry_s3() {
    expiry(Kind::S3, "ExpiredToken");
}

#[test]
fn expiry_azure_sas() {
    expiry(Kind::Azure, "AuthorizationFailure");
}

/// The shared-key form of an Azure token works against Azurite too.
#[test]
fn azure_shared_key() {
    let mut w = World::new(Kind::AzureShared, 3600);
    w.refresh();
    let rendered = std::fs::read_to_string(w.confd.join("bridgerest.conf")).unwrap();
    assert!(
        rendered.contains("repo1-azure-key-type=shared\n"),
        "{rendered}"
    );
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.assert_repo_readable("shared key works");
    w.assert_no_secrets();
}
