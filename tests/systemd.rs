//! The shipped systemd units: `systemd-analyze verify` accepts them (ExecStart pointed at the
//! built binary) and `systemd-analyze security --offline=yes` rates the services 1.5 or better.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn analyze() -> &'static str {
    let p = "/usr/bin/systemd-analyze";
    assert!(
        Path::new(p).exists(),
        "{p} not found: apt-get install systemd (or run `bash .ci/run`)"
    );
    p
}

#[test]
fn units_verify_and_are_hardened() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(e.path())
            .unwrap()
            .replace("/usr/bin/bridgerest", env!("CARGO_BIN_EXE_bridgerest"));
        let to = dir.path().join(e.file_name());
        std::fs::write(&to, text).unwrap();
        units.push(to);
    }
    units.sort();
    let names: Vec<String> = units
        .iter()
        .map(|u| u.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "bridgerest-refresh.service",
            "bridgerest-refresh.timer",
            "bridgerest.service"
        ]
    );
    // verify also runs `man` for each Documentation=man: page: point it at the generated ones.
    let man1 = dir.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/man")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), man1.join(e.file_name())).unwrap();
    }
    let out = Command::new(analyze())
        .env("MANPATH", dir.path().join("man"))
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for svc in ["bridgerest.service", "bridgerest-refresh.service"] {
        let out = Command::new(analyze())
            .args(["security", "--offline=yes"])
            .arg(dir.path().join(svc))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("{text}"));
        let score: f64 = line
            .split(": ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        println!("{svc}: exposure {score}");
        assert!(score <= 1.5, "{svc}: {line}");
    }
}
