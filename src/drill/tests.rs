use super::*;
use std::path::Path;
use std::time::Duration;
use time::macros::datetime;

#[test]
fn targets_parse() {
    assert_eq!(parse_target("latest"), Ok(Target::Latest));
    assert_eq!(parse_target("random"), Ok(Target::Random));
    assert_eq!(
        parse_target("2026-11-21T09:14:00Z"),
        Ok(Target::Time(datetime!(2026-11-21 09:14:00 UTC)))
    );
    let e = parse_target("yesterday").unwrap_err();
    assert!(e.ends_with("; or latest, or random"), "{e}");
}

#[test]
fn a_random_target_is_drawn_from_the_whole_window() {
    use crate::restore::workflow::draw;
    let (a, b) = (
        datetime!(2026-11-20 00:00:00 UTC),
        datetime!(2026-11-21 00:00:00 UTC),
    );
    assert_eq!(draw(a, b, 0.0), a);
    assert_eq!(draw(a, b, 0.999_999_999), b);
    assert_eq!(draw(a, b, 0.5), datetime!(2026-11-20 12:00:00 UTC));
    assert_eq!(draw(b, a, 0.7), b, "an empty window gives its start");
    for i in 0..100 {
        let t = draw(a, b, f64::from(i) / 100.0);
        assert!(a <= t && t <= b);
    }
}

#[test]
fn wal_positions_name_their_segments() {
    // A replay position on a boundary means the segment before it was replayed to its end.
    assert_eq!(
        crate::wal::segment_before("00000001", "0/6000000").as_deref(),
        Some("000000010000000000000005")
    );
    assert_eq!(
        crate::wal::segment_before("00000001", "0/4003EE8").as_deref(),
        Some("000000010000000000000004")
    );
    assert_eq!(
        crate::wal::segment_before("00000002", "1/0").as_deref(),
        Some("0000000200000000000000FF")
    );
    assert_eq!(
        crate::wal::segment_before("00000001", "A/1F000001").as_deref(),
        Some("000000010000000A0000001F")
    );
    assert_eq!(crate::wal::segment_before("00000001", "nonsense"), None);
    assert_eq!(
        crate::wal::next_segment("0000000100000000000000FF").as_deref(),
        Some("000000010000000100000000")
    );
    assert_eq!(
        crate::wal::next_segment("000000010000000000000005").as_deref(),
        Some("000000010000000000000006")
    );
}

#[test]
fn archived_wal_is_read_from_repo_ls() {
    let json = r#"{".":{"type":"path"},
        "0000000100000000":{"type":"path"},
        "0000000100000000/000000010000000000000003-1a2b.gz":{"type":"file","size":1000},
        "0000000100000000/000000010000000000000003.00000028.backup":{"type":"file","size":370},
        "0000000100000000/000000010000000000000004-3c4d.gz":{"type":"file","size":2000},
        "0000000100000000/000000010000000000000006-5e6f.gz":{"type":"file","size":4000},
        "00000002.history":{"type":"file","size":42}}"#;
    let files = wal_files(json).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "000000010000000000000003",
            "000000010000000000000003",
            "000000010000000000000004",
            "000000010000000000000006"
        ]
    );
    assert_eq!(wal_files("not json"), None);
}

#[test]
fn a_report_fails_on_any_failed_check_and_shows_each() {
    let mut r = Report::new(
        "abc",
        "main",
        Target::Latest,
        datetime!(2026-11-23 03:30:00 UTC),
        Path::new("/var/lib/bridgerest/drill/main"),
    );
    assert!(!r.ok(), "no restore, no success");
    r.check(CheckName::Restore, true, "restored".into());
    r.check(CheckName::Amcheck, true, "no corruption found".into());
    assert!(r.ok());
    r.check(
        CheckName::Query(1),
        false,
        "SELECT count(*) FROM orders → 0".into(),
    );
    r.finish();
    assert!(!r.ok);
    assert_eq!(
        r.problem().as_deref(),
        Some("query 1: SELECT count(*) FROM orders → 0")
    );
    let t = r.table();
    assert!(
        t.contains("drill:     cluster abc (stanza main): FAILED"),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("query 1") && l.contains("FAILED")),
        "{t}"
    );
    // The JSON has the fields scripts read.
    let v = serde_json::to_value(&r).unwrap();
    for k in [
        "cluster",
        "target",
        "backup",
        "ok",
        "checks",
        "restore_seconds",
        "recovery_seconds",
        "recovered_to",
        "bytes_fetched",
    ] {
        assert!(v.get(k).is_some(), "{k} missing: {v}");
    }
    assert_eq!(v["checks"][2]["name"], "query 1");
}

#[test]
fn reports_are_kept_per_cluster_and_summed_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut last = None;
    for (i, ok) in [true, true, false, true, false].into_iter().enumerate() {
        let mut r = Report::new(
            "abc",
            "main",
            Target::Random,
            datetime!(2026-11-23 03:30:00 UTC) + time::Duration::days(i as i64),
            dir.path(),
        );
        r.check(CheckName::Restore, ok, format!("run {i}"));
        r.finish();
        r.finished_at = Some(r.started_at + time::Duration::minutes(5));
        report::write(dir.path(), &r, 3).unwrap();
        last = Some(r);
    }
    // Another cluster's reports are not counted against this one's.
    let mut other = Report::new(
        "xyz",
        "other",
        Target::Latest,
        datetime!(2026-11-01 00:00:00 UTC),
        dir.path(),
    );
    other.check(CheckName::Restore, true, String::new());
    other.finish();
    other.finished_at = Some(other.started_at + time::Duration::minutes(5));
    report::write(dir.path(), &other, 3).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("abc-")).count(),
        3,
        "{names:?}"
    );
    assert_eq!(report::latest(dir.path(), "abc"), last);
    let s = report::summary(dir.path(), "abc").unwrap();
    assert!(!s.ok);
    assert_eq!(s.problem.as_deref(), Some("restore: run 4"));
    assert_eq!(s.last_success, Some(datetime!(2026-11-26 03:35:00 UTC)));
    let now = datetime!(2026-11-28 00:00:00 UTC);
    let p = report::drill_problem(Some(&s), now, Duration::from_secs(8 * 86400)).unwrap();
    assert!(
        p.starts_with("the last drill (2026-11-27T03:35:00Z) failed: restore: run 4"),
        "{p}"
    );
    let ok = report::summary(dir.path(), "xyz").unwrap();
    assert_eq!(
        report::drill_problem(Some(&ok), now, Duration::from_secs(30 * 86400)),
        None
    );
    let p = report::drill_problem(Some(&ok), now, Duration::from_secs(8 * 86400)).unwrap();
    assert!(
        p.starts_with("the last drill is 26days 23h 55m old (drill.max_age 8days)"),
        "{p}"
    );
    assert_eq!(
        report::drill_problem(None, now, Duration::from_secs(1)),
        None
    );
}

#[test]
fn only_a_marked_copy_is_emptied_and_a_link_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let me = crate::restore::RunAs::current().unwrap();
    let d = tempfile::tempdir().unwrap();
    let copy = d.path().join("copy");
    let c = Copy::open(&copy, &me, false).unwrap();
    let held = rt.block_on(c.fresh()).unwrap();
    assert!(held.is_empty().unwrap());
    assert!(d.path().join(".copy.bridgerest-drill").is_file());
    // The copy's tablespaces go beside it, and go with it.
    assert_eq!(c.tablespaces_path(), d.path().join("copy.tablespaces"));
    assert!(d.path().join("copy.tablespaces").is_dir());
    std::fs::create_dir_all(d.path().join("copy.tablespaces/ts1/PG_15_202209061")).unwrap();
    std::fs::create_dir_all(copy.join("base/1")).unwrap();
    std::fs::write(copy.join("postmaster.pid"), "1\n").unwrap(); // names init: never signalled
    rt.block_on(c.fresh()).unwrap(); // marked: emptied and made again
    assert!(!copy.join("base").exists());
    rt.block_on(c.remove()).unwrap();
    assert!(!copy.exists() && !d.path().join("copy.wal-spool").exists());
    assert!(!d.path().join("copy.tablespaces").exists());
    assert!(!d.path().join(".copy.bridgerest-drill").exists());
    rt.block_on(c.remove()).unwrap(); // nothing there: fine
                                      // Not made by a drill: left alone.
    std::fs::create_dir(&copy).unwrap();
    std::fs::write(copy.join("data"), "keep").unwrap();
    let e = rt.block_on(c.fresh()).unwrap_err().to_string();
    assert!(e.contains("no drill of bridgerest made it"), "{e}");
    assert!(copy.join("data").exists());
    std::fs::remove_dir_all(&copy).unwrap();
    let elsewhere = d.path().join("precious");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("data"), "keep").unwrap();
    std::os::unix::fs::symlink(&elsewhere, &copy).unwrap();
    let e = rt.block_on(c.fresh()).unwrap_err().to_string();
    assert!(e.contains("is not a directory (a link or a file)"), "{e}");
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("data")).unwrap(),
        "keep"
    );
}

#[test]
fn a_process_is_known_by_its_pid_and_start_time() {
    let me = copy::Proc::of(std::process::id() as i32).unwrap();
    assert!(me.running());
    let other = copy::Proc {
        pid: me.pid,
        start: me.start + 1,
    };
    assert!(!other.running(), "a reused pid is another process");
}

#[test]
fn a_copy_that_cannot_fit_is_refused_with_both_figures() {
    let dir = Path::new("/var/lib/bridgerest/drill");
    let need = Need {
        backup: Some(100 << 20),
        wal: Some(3 * (16 << 20)),
        spool: 512 << 20,
    };
    // 660 MiB + a tenth.
    assert_eq!(need.total(), Some((660 << 20) + (66 << 20)));
    let (ok, d) = space_check(&need, 700 << 20, dir);
    assert!(!ok);
    assert_eq!(d, "the copy needs 726.0 MiB (backup 100.0 MiB + WAL 48.0 MiB + spool 512.0 MiB + 10% margin) but /var/lib/bridgerest/drill has 700.0 MiB free: free space, or set drill.scratch to a larger file system");
    assert_eq!(
        space_check(&need, 1 << 30, dir),
        (
            true,
            "726.0 MiB needed (backup 100.0 MiB + WAL 48.0 MiB + spool 512.0 MiB + 10% margin), 1.0 GiB free".into()
        )
    );
    let unknown = Need {
        backup: None,
        wal: None,
        spool: 0,
    };
    assert!(space_check(&unknown, 1 << 30, dir).0);
    assert!(free_bytes(Path::new("/")).unwrap() > 0);
}

#[test]
fn verify_findings_name_the_bad_files() {
    let bad = "2026-11-23 12:32:19.900 P00   INFO: verify command begin 2.45: --repo1-s3-key=<redacted> --stanza=main
2026-11-23 12:32:20.468 P01   INFO: invalid checksum '20261123-123135F/pg_data/base/1/1247.gz'
2026-11-23 12:32:25.745 P00   INFO: stanza: main
stanza: main
status: error
  archiveId: 15-1, total WAL checked: 6, total valid WAL: 6
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261123-123135F, status: invalid, total files checked: 965, total valid files: 964
    missing: 0, checksum invalid: 1, size invalid: 0, other: 0
2026-11-23 12:32:25.745 P00   INFO: verify command end: completed successfully (5849ms)";
    let (ok, detail) = verify_result(true, bad);
    assert!(!ok);
    assert_eq!(detail, "invalid checksum '20261123-123135F/pg_data/base/1/1247.gz'; backup: 20261123-123135F, status: invalid, total files checked: 965, total valid files: 964");
    let good =
        "stanza: main\nstatus: ok\n  archiveId: 15-1, total WAL checked: 6, total valid WAL: 6\n";
    assert_eq!(
        verify_result(true, good),
        (
            true,
            "every backup and archived WAL file matches its checksum".into()
        )
    );
    assert!(!verify_result(false, "").0);
}

#[test]
fn a_latest_drill_passes_only_when_it_is_shown_to_reach_the_end() {
    let start = datetime!(2026-11-21 09:00:00 UTC);
    let end = datetime!(2026-11-21 10:00:00 UTC);
    // Reached the last archived commit: a proof.
    let (ok, d) = recovered_verdict(true, start, Some(end), true, Some(end), None);
    assert!(ok, "{d}");
    // The archive's end unknown (no pg_waldump, the repository unreadable, an idle cluster).
    let (ok, d) = recovered_verdict(true, start, Some(end), true, None, None);
    assert!(!ok && d.starts_with("inconclusive: recovered to"), "{d}");
    let (ok, d) = recovered_verdict(true, start, None, true, None, None);
    assert!(!ok && d.starts_with("inconclusive: no transaction"), "{d}");
    // A gap in the chain, even where the times agree.
    let gap = Some("WAL segment 000000010000000000000005 is missing".to_string());
    let (ok, d) = recovered_verdict(true, start, Some(end), true, Some(end), gap.clone());
    assert!(
        !ok && d.contains("the WAL chain has a gap: WAL segment"),
        "{d}"
    );
    // A time target reached, later WAL unread: as before.
    let t = datetime!(2026-11-21 09:30:00 UTC);
    let (ok, d) = recovered_verdict(false, start, Some(t), true, Some(t), gap);
    assert!(ok, "{d}");
    // Nothing replayed with a replayed WAL location: there was nothing to replay.
    let (ok, d) = recovered_verdict(false, start, None, true, Some(t), None);
    assert!(ok, "{d}");
    // #29 finding 13: neither a replayed transaction nor a replayed location: a copy that never
    // went through recovery proves nothing, for a time or a random target alike.
    let (ok, d) = recovered_verdict(false, start, None, false, Some(t), None);
    assert!(
        !ok && d.starts_with("inconclusive: the server reported neither"),
        "{d}"
    );
}

#[test]
fn replay_times_are_read_as_epochs() {
    use crate::recovery::epoch;
    assert_eq!(
        epoch("1763716440.123456"),
        Some(datetime!(2025-11-21 09:14:00.123456 UTC))
    );
    assert_eq!(
        epoch("1763716440"),
        Some(datetime!(2025-11-21 09:14:00 UTC))
    );
    assert_eq!(epoch("2025-11-21 09:14:00+00"), None);
}

#[test]
fn only_libraries_without_background_work_are_preloaded_in_a_copy() {
    use super::isolate::filter_preload;
    let (kept, left) = filter_preload(
        "pg_stat_statements, \"$libdir/pg_cron\", timescaledb,auto_explain.so,pg_stat_statements",
        &[],
    );
    assert_eq!(kept, ["pg_stat_statements", "auto_explain"]);
    assert_eq!(left, ["\"$libdir/pg_cron\"", "timescaledb"]);
    // drill.preload keeps one; nothing of the copy's own text is passed on.
    let (kept, left) = filter_preload("timescaledb,pg_cron", &["timescaledb".into()]);
    assert_eq!(
        (kept, left),
        (vec!["timescaledb".to_string()], vec!["pg_cron".to_string()])
    );
    let (kept, left) = filter_preload("", &[]);
    assert!(kept.is_empty() && left.is_empty());
    assert!(!crate::ids::is_library_name("a,b"));
    assert!(!crate::ids::is_library_name("../x"));
    assert!(crate::ids::is_library_name("pg_partman_bgw"));
}

#[test]
fn a_fatal_that_waiting_does_not_change_ends_the_wait() {
    use crate::recovery::refused;
    for waits in [
        "psql: error: connection to server on socket \"/x/.s.PGSQL.5432\" failed: No such file or directory",
        "psql: error: connection to server on socket \"/x/.s.PGSQL.5432\" failed: FATAL:  the database system is starting up",
        "psql: error: connection to server on socket \"/x/.s.PGSQL.5432\" failed: FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent recovery state has not been yet reached.",
        "psql: error: connection to server on socket \"/x/.s.PGSQL.5432\" failed: FATAL:  the database system is not accepting connections\nDETAIL:  Hot standby mode is disabled.",
    ] {
        assert_eq!(refused(waits), None, "{waits}");
    }
    for fails in [
        "psql: error: connection to server on socket \"/x/.s.PGSQL.5432\" failed: FATAL:  role \"postgres\" does not exist",
        "psql: error: connection to server on socket \"/x/.s.PGSQL.5432\" failed: FATAL:  database \"postgres\" does not exist",
        "ERROR:  recovery is not in progress",
    ] {
        let said = refused(fails).unwrap_or_default();
        assert!(said.contains("FATAL:") || said.contains("ERROR:"), "{fails}");
    }
}

#[test]
fn a_reports_details_pass_through_the_redactor() {
    crate::redact::register_issued("sv=2022&sig=s3cr3tSAS");
    let mut rep = Report::new(
        "c",
        "main",
        Target::Latest,
        OffsetDateTime::UNIX_EPOCH,
        Path::new("/x"),
    );
    rep.check(
        CheckName::Recovery,
        false,
        "archive-get: HTTP 403 for https://a.blob.core.windows.net/c/x?sv=2022&sig=s3cr3tSAS and {\"password\": \"pw-in-a-log\"}".into(),
    );
    let d = &rep.checks[0].detail;
    assert!(
        !d.contains("s3cr3tSAS") && !d.contains("pw-in-a-log"),
        "{d}"
    );
}

#[test]
fn a_wal_location_is_parsed_once_and_shown_as_postgresql_shows_it() {
    use crate::wal::Lsn;
    for text in ["0/4003EE8", "1/0", "A/1F000001", "FFFFFFFF/FFFFFFFF"] {
        let l: Lsn = text.parse().unwrap();
        assert_eq!(l.to_string(), text);
    }
    assert_eq!(
        "0/6000000"
            .parse::<Lsn>()
            .unwrap()
            .segment_before("00000001"),
        "000000010000000000000005"
    );
    assert!("0/xyz".parse::<Lsn>().is_err() && "nonsense".parse::<Lsn>().is_err());
    assert!("0/5000000".parse::<Lsn>().unwrap() < "1/0".parse::<Lsn>().unwrap());
}

/// #29 finding 3 and 5: the report directory is the drilling user's to write; a report counts
/// only as bridgerest could have written it, and the last one is the last by its start.
#[test]
fn forged_linked_and_future_reports_do_not_count() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let report = |started: OffsetDateTime, ok: bool| {
        let mut r = Report::new("abc", "main", Target::Random, started, dir.path());
        r.check(CheckName::Restore, ok, format!("at {started}"));
        r.finish();
        r.finished_at = Some(started + time::Duration::minutes(5));
        r
    };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let failed = report(now - time::Duration::hours(1), false);
    report::write(dir.path(), &failed, 10).unwrap();
    // A success dated 2099 would hide every later failure for good.
    let future = report(datetime!(2099-01-01 00:00:00 UTC), true);
    report::write(dir.path(), &future, 10).unwrap();
    // A success whose name is not its own time, sorting after everything by name.
    let mut misnamed = report(now - time::Duration::days(2), true);
    let json = serde_json::to_vec(&misnamed).unwrap();
    std::fs::write(dir.path().join("abc-99991231T235959Z.json"), &json).unwrap();
    // A second name of the failed report's file, and a link to it.
    let failed_path = report::report_path(dir.path(), &failed);
    misnamed.started_at = now - time::Duration::minutes(30);
    let linked = report::report_path(dir.path(), &misnamed);
    std::fs::hard_link(&failed_path, &linked).unwrap();
    assert_eq!(std::fs::metadata(&linked).unwrap().nlink(), 2);

    let history = report::history(dir.path(), Some("abc"), None);
    assert!(
        history.is_empty(),
        "a hard-linked file counts under no name: {history:?}"
    );
    std::fs::remove_file(&linked).unwrap();
    let history = report::history(dir.path(), Some("abc"), None);
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].started_at, failed.started_at);
    let s = report::summary(dir.path(), "abc").unwrap();
    assert!(!s.ok, "{s:?}");
}

/// #29 finding 12: a scratch directory that is a mount point (a file system of its own for
/// drills) is emptied and kept, never removed, and serves drill after drill.
#[test]
fn a_scratch_mount_point_is_emptied_and_kept() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: mounting needs root (CI runs as root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = tempfile::tempdir().unwrap();
    let copy = d.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&copy)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount -t tmpfs failed");
    let _unmount = Unmount(copy.clone());
    let dev = |p: &Path| std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(p).unwrap());
    let mounted = dev(&copy);
    assert_ne!(mounted, dev(d.path()));
    let me = crate::restore::RunAs::current().unwrap();
    let c = Copy::open(&copy, &me, false).unwrap();
    for _ in 0..2 {
        let held = rt.block_on(c.fresh()).unwrap();
        assert!(held.is_empty().unwrap());
        std::fs::create_dir_all(copy.join("base/1")).unwrap();
        std::fs::write(copy.join("PG_VERSION"), "15\n").unwrap();
        rt.block_on(c.remove()).unwrap();
        assert_eq!(dev(&copy), mounted, "the mount is kept");
        assert_eq!(std::fs::read_dir(&copy).unwrap().count(), 0);
        assert!(!d.path().join(".copy.bridgerest-drill").exists());
    }
}

/// #30 item 4: checks are named by an enum, written as the strings the report files, the
/// status file and the metric have always carried, and read back as the same check; a name
/// another version wrote reads as itself.
#[test]
fn check_names_are_typed_and_written_as_the_same_strings() {
    for (check, name) in [
        (CheckName::Plan, "plan"),
        (CheckName::Space, "space"),
        (CheckName::Restore, "restore"),
        (CheckName::Verify, "verify"),
        (CheckName::Isolation, "isolation"),
        (CheckName::Recovery, "recovery"),
        (CheckName::RecoveredTo, "recovered_to"),
        (CheckName::Amcheck, "amcheck"),
        (CheckName::Query(12), "query 12"),
        (CheckName::Queries, "queries"),
        (CheckName::Timeout, "timeout"),
        (CheckName::Preempted, "preempted"),
        (CheckName::Drill, "drill"),
        (CheckName::Cleanup, "cleanup"),
    ] {
        assert_eq!(serde_json::to_value(&check).unwrap(), name);
        assert_eq!(
            serde_json::from_value::<CheckName>(name.into()).unwrap(),
            check
        );
    }
    for foreign in ["wal_gap", "query 01", "query", ""] {
        let read: CheckName = serde_json::from_value(foreign.into()).unwrap();
        assert_eq!(read, CheckName::Other(foreign.into()));
        assert_eq!(serde_json::to_value(&read).unwrap(), foreign);
    }
}

/// #30 item 4: one function cleans up an interrupted drill, for `bridgerest drill` and the
/// daemon alike: the marked copy, its spool and its marker go; where the copy is not known,
/// it says the next drill does it.
#[tokio::test]
async fn an_interrupted_drill_is_cleaned_up_by_one_function() {
    let d = tempfile::tempdir().unwrap();
    let me = crate::restore::RunAs::current().unwrap();
    let scratch = d.path().join("copy");
    Copy::open(&scratch, &me, false)
        .unwrap()
        .fresh()
        .await
        .unwrap();
    std::fs::write(scratch.join("PG_VERSION"), "15\n").unwrap();
    let left = Leftover {
        scratch: scratch.clone(),
        user: me,
    };
    let cleaned = clean_up_interrupted(Some(left)).await;
    assert!(matches!(cleaned, Cleaned::Removed(_)), "{cleaned}");
    assert_eq!(
        cleaned.to_string(),
        format!("the copy in {} is removed", scratch.display())
    );
    assert!(!scratch.exists());
    assert!(!d.path().join("copy.wal-spool").exists());
    assert!(!d.path().join(".copy.bridgerest-drill").exists());
    assert_eq!(
        clean_up_interrupted(None).await.to_string(),
        "the next drill cleans up its scratch directory"
    );
}

#[test]
fn verify_reads_the_set_from_2_55_else_the_whole_repository_every_so_many_drills() {
    use crate::pgbackrest::verify::Form;
    use checks::{verify_plan, VerifyPlan};
    let drill = |hour: u8, verify: Option<(bool, &str)>| {
        let mut r = Report::new(
            "abc",
            "main",
            Target::Latest,
            datetime!(2026-11-23 00:00:00 UTC) + time::Duration::hours(hour.into()),
            Path::new("/var/lib/bridgerest/drill/main"),
        );
        r.check(CheckName::Restore, true, "restored".into());
        if let Some((ok, detail)) = verify {
            r.check(CheckName::Verify, ok, detail.into());
        }
        r
    };
    let label = Some("20261123-030000F");
    // 2.55 and later: the set, every drill, whatever came before.
    for v in ["2.55", "2.55.1", "2.58.0", "3.0"] {
        assert_eq!(
            verify_plan(
                Ok(v),
                label,
                7,
                &[drill(1, Some((true, "the whole repository: ok")))]
            ),
            VerifyPlan::Run(
                Form::Set("20261123-030000F".into()),
                format!("backup set 20261123-030000F only (pgBackRest {v} has verify --set)")
            )
        );
    }
    assert_eq!(
        Form::Set("20261123-030000F".into()).args().last().unwrap(),
        "--set=20261123-030000F"
    );
    assert!(!Form::Repository
        .args()
        .iter()
        .any(|a| a.starts_with("--set")));
    assert!(matches!(
        verify_plan(Ok("2.55"), None, 7, &[]),
        VerifyPlan::Run(Form::Repository, why) if why.contains("not known")
    ));
    // Before 2.55: the whole repository when no passed one is among the last every - 1.
    let whole = (
        true,
        "the whole repository (pgBackRest 2.45 ...): every backup ... matches",
    );
    let set = (
        true,
        "backup set X only (pgBackRest 2.55 has verify --set): ok",
    );
    let run = |p: &VerifyPlan| matches!(p, VerifyPlan::Run(Form::Repository, _));
    assert!(run(&verify_plan(Ok("2.45"), label, 3, &[])));
    let hist = [drill(1, Some(whole)), drill(2, None)];
    // One drill between: at every 2 this one runs, at every 3 the next one.
    let p = verify_plan(Ok("2.45"), label, 2, &hist);
    assert!(run(&p), "{p:?}");
    let p = verify_plan(Ok("2.45"), label, 3, &hist);
    match &p {
        VerifyPlan::Skip(why) => assert_eq!(
            why,
            "verify: the whole repository passed pgbackrest verify 2 drills ago (the drill of 2026-11-23T01:00:00Z); pgBackRest 2.45 has no verify --set, 2.55 has, so it runs at most every drill.verify_every = 3 drills"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify_plan(Ok("2.45"), label, 2, &[drill(1, Some(whole))]),
        VerifyPlan::Skip(why) if why.contains(" one drill ago ")
    ));
    // Each drill at verify_every = 1; a failed or set-only verify does not count as one.
    assert!(run(&verify_plan(
        Ok("2.45"),
        label,
        1,
        &[drill(1, Some(whole))]
    )));
    assert!(run(&verify_plan(
        Ok("2.45"),
        label,
        9,
        &[drill(1, Some((false, "the whole repository: bad")))]
    )));
    assert!(run(&verify_plan(
        Ok("2.45"),
        label,
        9,
        &[drill(1, Some(set))]
    )));
    // A version that cannot be read: the whole repository, said why.
    assert!(matches!(
        verify_plan(Err("no such file"), label, 9, &[drill(1, Some(whole))]),
        VerifyPlan::Run(Form::Repository, why) if why.contains("could not be read: no such file")
    ));
}
