//! The shell completions and man pages under config/ are generated from the clap definitions
//! and must match them: after changing `src/cli.rs`, run
//! `BRIDGEREST_BLESS=1 cargo test --test generated` and commit the result.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bridgerest::cli::{completions, Cli, ENVIRONMENT, EXIT_STATUS, FILES};
use clap::CommandFactory;
use clap_complete::Shell;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Every generated file: path under config/ -> contents.
fn generated() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (shell, name) in [
        (Shell::Bash, "bridgerest.bash"),
        (Shell::Zsh, "_bridgerest"),
        (Shell::Fish, "bridgerest.fish"),
    ] {
        files.insert(format!("completions/{name}"), completions(shell));
    }
    let dir = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(Cli::command(), dir.path()).unwrap();
    std::fs::write(dir.path().join("bridgerest.1"), root_page()).unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        files.insert(
            format!("man/{}", e.file_name().to_string_lossy()),
            std::fs::read(e.path()).unwrap(),
        );
    }
    files
}

/// bridgerest(1): clap_mangen's sections, then FILES, ENVIRONMENT and EXIT STATUS from the
/// same tables `--help` prints, and SEE ALSO.
fn root_page() -> Vec<u8> {
    use roff::{bold, roman, Roff};
    let man = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    man.render_subcommands_section(&mut out).unwrap();
    let mut r = Roff::new();
    for (title, rows) in [
        ("FILES", FILES),
        ("ENVIRONMENT", ENVIRONMENT),
        ("EXIT STATUS", EXIT_STATUS),
    ] {
        r.control("SH", [title]);
        for (k, v) in rows {
            r.control("TP", []);
            r.text([bold(*k)]);
            r.text([roman(*v)]);
        }
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([roman(
        "pgbackrest(1), systemd.service(5); the example configuration in /usr/share/doc/bridgerest/bridgerest.toml",
    )]);
    out.extend(r.to_roff().into_bytes());
    man.render_version_section(&mut out).unwrap();
    out
}

fn committed(sub: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(root().join(sub)) else {
        return vec![];
    };
    rd.map(|e| format!("{sub}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}

#[test]
fn completions_and_man_pages_match_the_cli() {
    let want = generated();
    assert!(want.contains_key("man/bridgerest.1"));
    assert!(want.contains_key("man/bridgerest-restore.1"));
    if std::env::var_os("BRIDGEREST_BLESS").is_some() {
        for sub in ["completions", "man"] {
            for old in committed(sub) {
                std::fs::remove_file(root().join(old)).unwrap();
            }
            std::fs::create_dir_all(root().join(sub)).unwrap();
        }
        for (path, bytes) in &want {
            std::fs::write(root().join(path), bytes).unwrap();
        }
    }
    let mut stale = vec![];
    for (path, bytes) in &want {
        if std::fs::read(root().join(path)).ok().as_ref() != Some(bytes) {
            stale.push(path.clone());
        }
    }
    for path in committed("completions").into_iter().chain(committed("man")) {
        if !want.contains_key(&path) {
            stale.push(format!("{path} (no longer generated)"));
        }
    }
    assert!(
        stale.is_empty(),
        "config/{stale:?} differ from src/cli.rs: run `BRIDGEREST_BLESS=1 cargo test --test generated` and commit config/"
    );
}

#[test]
fn bash_completes_subcommands_and_restore_flags() {
    let script = root().join("completions/bridgerest.bash");
    // COMP_WORDS as bash would set it, the cursor on the last word.
    let complete = |words: &[&str]| {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let n = words.len() - 1;
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({}); COMP_CWORD={n}; _bridgerest bridgerest '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display(),
                quoted.join(" "),
                words[n],
                words[n - 1],
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let subs = complete(&["bridgerest", "re"]);
    assert_eq!(
        subs.lines().collect::<Vec<_>>(),
        ["refresh", "render", "restore"],
        "{subs}"
    );
    let flags = complete(&["bridgerest", "restore", "--target-"]);
    assert!(flags.lines().any(|l| l == "--target-time"), "{flags}");
    assert!(flags.lines().any(|l| l == "--target-action"), "{flags}");
    let actions = complete(&["bridgerest", "restore", "--target-action", ""]);
    assert_eq!(
        actions.lines().collect::<Vec<_>>(),
        ["promote", "pause", "shutdown"],
        "{actions}"
    );
}
