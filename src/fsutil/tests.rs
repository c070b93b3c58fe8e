//! Tests of the atomic write, the trusted reads and directory checks, and the lock.

use super::*;
use std::path::PathBuf;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use std::os::unix::fs::PermissionsExt;

#[test]
fn atomic_write_sets_mode_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.conf");
    std::fs::write(&p, "old").unwrap();
    write_atomic(&p, b"new", 0o640, Owner::default()).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "x.conf")
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn stale_temps_of_that_file_only_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.conf");
    for n in [
        ".x.conf.a1B2c3.tmp",
        ".x.conf.zz.tmp",
        ".y.conf.a1.tmp",
        "x.conf",
        ".x.conf.tmp",
    ] {
        std::fs::write(dir.path().join(n), "s").unwrap();
    }
    assert_eq!(remove_stale_temps(&p), 2);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".x.conf.tmp", ".y.conf.a1.tmp", "x.conf"]);
}

#[test]
fn missing_dir_is_named() {
    let err = write_atomic(
        Path::new("/nonexistent-bridgerest/x.conf"),
        b"x",
        0o600,
        Owner::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent-bridgerest does not exist"),
        "{err}"
    );
}

#[test]
fn system_directories_are_named() {
    for d in [
        "/",
        "/etc",
        "/proc/1/root",
        "/usr/lib/x",
        "/var/lib",
        "/etc/../etc/ssh",
    ] {
        assert!(system_dir(Path::new(d)).is_some(), "{d}");
    }
    for d in ["/var/lib/postgresql/15/restore", "/srv/pg/restore", "/data"] {
        assert_eq!(system_dir(Path::new(d)), None, "{d}");
    }
}

#[tokio::test]
async fn lock_is_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.conf");
    let take = |t: PathBuf| async move {
        FileLock::acquire(&t, Owner::default(), 0o600, Duration::from_secs(30)).await
    };
    let held = take(target.clone()).await.unwrap();
    let waiter = tokio::spawn(take(target.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !waiter.is_finished(),
        "second lock taken while the first is held"
    );
    drop(held);
    waiter.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_held_lock_times_out_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.conf");
    // Another process holds it: flock(1) from util-linux, or this test's own second open.
    let file = std::fs::File::create(FileLock::path_for(&target)).unwrap();
    let _held = Flock::lock(file, FlockArg::LockExclusive).unwrap();
    let t0 = std::time::Instant::now();
    let err = FileLock::acquire(&target, Owner::default(), 0o600, Duration::from_millis(300))
        .await
        .err()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    let msg = format!("{err:#}");
    assert!(
        msg.contains("for the lock on") && msg.contains("x.conf.lock"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "the holder is this test process: {msg}"
    );
}

#[tokio::test]
async fn lock_file_gets_the_guarded_files_owner_and_mode() {
    if !Uid::effective().is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.conf");
    let lock = FileLock::path_for(&target);
    std::fs::write(&lock, "").unwrap(); // root:root 0644, as an earlier root run left it
    let nobody = Owner {
        uid: Some(Uid::from_raw(65534)),
        gid: Some(Gid::from_raw(65534)),
    };
    drop(
        FileLock::acquire(&target, nobody, 0o640, Duration::from_secs(1))
            .await
            .unwrap(),
    );
    let meta = std::fs::metadata(&lock).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (65534, 65534, 0o640)
    );
}

#[tokio::test]
async fn a_symlinked_lock_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.conf");
    let victim = dir.path().join("victim");
    std::os::unix::fs::symlink(&victim, FileLock::path_for(&target)).unwrap();
    let err = FileLock::acquire(&target, Owner::default(), 0o600, Duration::from_secs(1))
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("is a symbolic link"), "{err:#}");
    assert!(!victim.exists(), "the link's target was created");
}

#[test]
fn symlinks_fifos_and_devices_are_neither_read_nor_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("shadow");
    std::fs::write(&secret, "root:$6$hash").unwrap();
    let link = dir.path().join("link.conf");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let err = read_trusted(&link, Owner::default()).unwrap_err();
    assert!(err.to_string().contains("is a symbolic link"), "{err}");
    let err = write_atomic(&link, b"new", 0o600, Owner::default()).unwrap_err();
    assert!(err.to_string().contains("is a symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "root:$6$hash");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    let fifo = dir.path().join("fifo.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let err = read_trusted(&fifo, Owner::default()).unwrap_err(); // and does not hang
    assert!(err.to_string().contains("is a FIFO"), "{err}");
    let err = write_atomic(&fifo, b"x", 0o600, Owner::default()).unwrap_err();
    assert!(err.to_string().contains("is a FIFO"), "{err}");

    let dev = Path::new("/dev/null");
    let err = read_trusted(dev, Owner::default()).unwrap_err();
    assert!(err.to_string().contains("is a device node"), "{err}");
}

#[test]
fn another_users_file_or_directory_is_not_trusted() {
    if !Uid::effective().is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.conf");
    std::fs::write(&p, "[s]\nrepo1-storage-host=evil.example\n").unwrap();
    nix::unistd::chown(&p, Some(Uid::from_raw(65534)), None).unwrap();
    let err = read_trusted(&p, Owner::default()).unwrap_err();
    assert!(err.to_string().contains("is owned by"), "{err}");
    let configured = Owner {
        uid: Some(Uid::from_raw(65534)),
        gid: None,
    };
    assert!(read_trusted(&p, configured).unwrap().is_some());

    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = check_dir_safe(&open, Owner::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("writable by every user (mode 0777)"),
        "{err}"
    );
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    check_dir_safe(&open, Owner::default()).unwrap();
    nix::unistd::chown(&open, Some(Uid::from_raw(65534)), None).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = check_dir_safe(&open, Owner::default()).unwrap_err();
    assert!(err.to_string().contains("is owned by"), "{err}");
}

#[test]
fn small_reads_are_bounded_and_follow_no_link() {
    let d = tempfile::tempdir().unwrap();
    let pid = d.path().join("postmaster.pid");
    std::fs::write(&pid, "4242\n/var/lib/postgresql/15/main\n").unwrap();
    assert_eq!(read_small(&pid, 5).as_deref(), Some("4242\n"));
    std::fs::remove_file(&pid).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &pid).unwrap();
    assert_eq!(read_small(&pid, 4096), None, "a link is not followed");
    assert_eq!(read_small(d.path(), 4096), None, "a directory is not read");
    assert_eq!(read_small(&d.path().join("absent"), 4096), None);
}

/// `restore --break-lock` takes a lock only from a holder that is known not to be bridgerest.
#[test]
fn a_holder_is_told_apart_from_this_program() {
    let me = Holder::Process {
        pid: std::process::id(),
        program: None,
    };
    assert_eq!(me.is_this_program(), Some(true));
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let them = Holder::Process {
        pid: other.id(),
        program: None,
    };
    assert_eq!(them.is_this_program(), Some(false));
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(Holder::Unknown.is_this_program(), None);
}

/// The lock taken over is a new file renamed over the held one: later takers meet the new
/// holder, and nothing temporary is left.
#[test]
fn a_lock_is_taken_over_from_its_holder() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("restore-x");
    let owner = Owner::default();
    let first = FileLock::try_acquire(&target, owner, 0o600)
        .unwrap()
        .unwrap();
    let new = FileLock::take_over(&target, owner, 0o600).unwrap();
    assert!(FileLock::try_acquire(&target, owner, 0o600)
        .unwrap()
        .is_err());
    drop(first);
    assert!(FileLock::try_acquire(&target, owner, 0o600)
        .unwrap()
        .is_err());
    drop(new);
    assert!(FileLock::try_acquire(&target, owner, 0o600)
        .unwrap()
        .is_ok());
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("restore-x.lock")]);
}
