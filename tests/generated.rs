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
    clap_mangen::generate_to(man_command(), dir.path()).unwrap();
    std::fs::write(dir.path().join("bridgerest.1"), root_page()).unwrap();
    let values = value_names(&Cli::command());
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        let text = String::from_utf8(std::fs::read(e.path()).unwrap()).unwrap();
        files.insert(
            format!("man/{}", e.file_name().to_string_lossy()),
            synopsis_with_values(&text, &values).into_bytes(),
        );
    }
    files
}

/// The command the man pages describe: without clap's `help` subcommand, which has no page
/// (`bridgerest help X` still works; the pages point at `--help`).
fn man_command() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

/// (long option, value name) of every option that takes a value, in the whole command tree.
fn value_names(cmd: &clap::Command) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values() && !a.is_positional())
        .filter_map(|a| {
            let long = a.get_long()?.to_string();
            let value = a
                .get_value_names()
                .and_then(|v| v.first())
                .map(|v| v.to_string())
                .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
            Some((long, value))
        })
        .collect();
    for sub in cmd.get_subcommands() {
        out.extend(value_names(sub));
    }
    out
}

/// clap_mangen's SYNOPSIS shows `[--config]` for an option that takes a value: show the value.
fn synopsis_with_values(page: &str, values: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut in_synopsis = false;
    for line in page.lines() {
        let mut line = line.to_string();
        if line.starts_with(".SH") {
            in_synopsis = line == ".SH SYNOPSIS";
        } else if in_synopsis {
            for (long, value) in values {
                let from = format!("\\fB\\-\\-{}\\fR]", long.replace('-', "\\-"));
                let to = format!(
                    "\\fB\\-\\-{}\\fR \\fI{value}\\fR]",
                    long.replace('-', "\\-")
                );
                line = line.replace(&from, &to);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// bridgerest(1): clap_mangen's sections, then FILES, ENVIRONMENT and EXIT STATUS from the
/// same tables `--help` prints, and SEE ALSO.
fn root_page() -> Vec<u8> {
    use roff::{bold, roman, Roff};
    let man = clap_mangen::Man::new(man_command());
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

#[test]
fn man_pages_name_only_pages_that_exist_and_show_option_values() {
    let files = generated();
    let root = String::from_utf8(files["man/bridgerest.1"].clone()).unwrap();
    for cap in root.split("bridgerest\\-").skip(1) {
        let name = cap.split('(').next().unwrap().replace("\\-", "-");
        if cap.contains("(1)") && !name.contains(' ') {
            assert!(
                files.contains_key(&format!("man/bridgerest-{name}.1")),
                "bridgerest(1) names bridgerest-{name}(1), which has no page"
            );
        }
    }
    let restore = String::from_utf8(files["man/bridgerest-restore.1"].clone()).unwrap();
    assert!(
        restore.contains("[\\fB\\-c\\fR|\\fB\\-\\-config\\fR \\fIPATH\\fR]"),
        "{restore}"
    );
    let status = String::from_utf8(files["man/bridgerest-status.1"].clone()).unwrap();
    assert!(!status.contains("every page"), "{status}");
}
