//! The shell completions and man pages under config/ are generated from the clap definitions
//! and must match them: after changing `src/cli.rs`, run
//! `BRIDGEREST_BLESS=1 cargo test --test generated` and commit the result.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bridgerest::cli::{completions, Cli, ENVIRONMENT, EXAMPLES, EXIT_STATUS, FILES};
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
        let name = e.file_name().to_string_lossy().into_owned();
        let text = String::from_utf8(std::fs::read(e.path()).unwrap()).unwrap();
        let text = synopsis_with_values(&text, &values);
        let text = match name
            .strip_prefix("bridgerest-")
            .and_then(|n| n.strip_suffix(".1"))
        {
            Some(sub) => with_examples_and_exit_status(&text, sub),
            None => text,
        };
        files.insert(format!("man/{name}"), text.into_bytes());
    }
    files.insert("man/bridgerest.toml.5".into(), config_page());
    files
}

/// A command's examples as roff (EXAMPLES, from [`EXAMPLES`]).
fn examples(sub: &str) -> roff::Roff {
    use roff::{roman, Roff};
    let mut r = Roff::new();
    let (_, list) = EXAMPLES
        .iter()
        .find(|(name, _)| *name == sub)
        .unwrap_or_else(|| panic!("bridgerest {sub} has no EXAMPLES in src/cli.rs"));
    r.control("SH", ["EXAMPLES"]);
    for (what, cmd) in *list {
        r.control("PP", []);
        r.text([roman(*what)]);
        r.control("IP", []);
        r.control("EX", []);
        r.text([roman(*cmd)]);
        r.control("EE", []);
    }
    r
}

/// The exit status table as roff.
fn exit_status() -> roff::Roff {
    use roff::{bold, roman, Roff};
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (k, v) in EXIT_STATUS {
        r.control("TP", []);
        r.text([bold(*k)]);
        r.text([roman(*v)]);
    }
    r
}

/// A command's page with EXAMPLES, EXIT STATUS and SEE ALSO before its VERSION.
fn with_examples_and_exit_status(page: &str, sub: &str) -> String {
    use roff::roman;
    let mut tail = examples(sub).to_roff();
    tail.push_str(&exit_status().to_roff());
    let mut see = roff::Roff::new();
    see.control("SH", ["SEE ALSO"]);
    see.text([roman("bridgerest(1), bridgerest.toml(5)")]);
    tail.push_str(&see.to_roff());
    match page.find(".SH VERSION") {
        Some(at) => format!("{}{tail}{}", &page[..at], &page[at..]),
        None => format!("{page}{tail}"),
    }
}

/// bridgerest.toml(5): where the file is, how it is read, its sections, and the annotated
/// example the package installs (config/bridgerest.toml), verbatim.
fn config_page() -> Vec<u8> {
    use roff::{bold, italic, roman, Roff};
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/bridgerest.toml"),
    )
    .unwrap();
    let mut r = Roff::new();
    r.control(
        "TH",
        [
            "bridgerest.toml",
            "5",
            "",
            &format!("bridgerest {}", env!("CARGO_PKG_VERSION")),
        ],
    );
    r.control("SH", ["NAME"]);
    r.text([roman("bridgerest.toml - the configuration of bridgerest")]);
    r.control("SH", ["SYNOPSIS"]);
    r.text([bold("/etc/bridgerest/bridgerest.toml")]);
    r.control("SH", ["DESCRIPTION"]);
    r.text([roman(
        "bridgerest reads one TOML file: the path given with --config, else $BRIDGEREST_CONFIG, else /etc/bridgerest/bridgerest.toml. A key it does not know is an error (exit 2), naming the file, line and column, so a typo is caught rather than ignored. Durations are written as \"30s\", \"5m\", \"1h 30m\"; file modes as \"0600\". Secrets are never in this file: it names files that hold them, each alone in a file of mode 0600 (or the environment, or a systemd credential). `bridgerest check` checks the file and what it names.",
    )]);
    r.control("SH", ["SECTIONS"]);
    for (name, what) in [
        ("[api]", "the Crunchy Bridge API: its url, the API key's file, timeouts, retries, how long a backup token's credentials are assumed to work, how long a restore at the provider is waited for."),
        ("[pgbackrest]", "the stanza file bridgerest writes (config; its owner, group and mode), the pgbackrest binary, pgBackRest's own main config and include path, how S3 credentials reach pgBackRest (s3_key_type), the lock timeout."),
        ("[daemon]", "when `bridgerest daemon` refreshes (schedule, refresh_at, retry_max), its status file and Prometheus textfile, and the backup age that is flagged (max_backup_age)."),
        ("[drill]", "restore drills: their schedule, target, scratch directory, checks (amcheck, verify, queries), timeout, and where their reports are kept. Without it the daemon runs none."),
        ("[ionos]", "IONOS Cloud DBaaS: its url, Basic auth or token, the database user and the network of a cluster made by restore --into."),
        ("[launcher]", "Launcher: the tenant's url and the service key's file."),
        ("[[cluster]]", "one per cluster: its id, its provider (bridge, the default; ionos; launcher), and for a Crunchy Bridge cluster where a restore goes (pg1_path), its stanza name and extra pgBackRest options ([cluster.options])."),
    ] {
        r.control("TP", []);
        r.text([bold(name)]);
        r.text([roman(what)]);
    }
    r.control("SH", ["EXAMPLE"]);
    r.text([
        roman("The file the package installs as "),
        italic("/etc/bridgerest/bridgerest.toml"),
        roman(" and "),
        italic("/usr/share/doc/bridgerest/bridgerest.toml"),
        roman(", every key with its default or an example, explained:"),
    ]);
    r.control("PP", []);
    r.control("EX", []);
    for line in example.lines() {
        r.text([roman(line)]);
        r.control("br", []);
    }
    r.control("EE", []);
    r.control("SH", ["FILES"]);
    r.control("TP", []);
    r.text([bold("/etc/bridgerest/bridgerest.toml")]);
    r.text([roman("the configuration")]);
    r.control("TP", []);
    r.text([bold("/usr/share/doc/bridgerest/bridgerest.toml")]);
    r.text([roman("the example, as installed")]);
    r.control("SH", ["SEE ALSO"]);
    r.text([roman("bridgerest(1), bridgerest-check(1), pgbackrest(1)")]);
    r.to_roff().into_bytes()
}

/// The command the man pages describe: without clap's `help` subcommand, which has no page
/// (`bridgerest help X` still works; the pages point at `--help`).
fn man_command() -> clap::Command {
    // The package's version, not the commit's: the pages change with the CLI only.
    Cli::command()
        .disable_help_subcommand(true)
        .version(env!("CARGO_PKG_VERSION"))
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
    out.extend(examples("").to_roff().into_bytes());
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
        "bridgerest.toml(5), pgbackrest(1), systemd.service(5); the example configuration in /usr/share/doc/bridgerest/bridgerest.toml",
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

#[test]
fn completions_offer_the_configured_cluster_ids_and_stay_quiet_without_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridgerest.toml");
    std::fs::write(
        &config,
        "[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"/x\"\n\n[[cluster]]\nid = \"drsve2t4f5e5znkmef6hmchy2e\"\npg1_path = \"/y\"\n",
    )
    .unwrap();
    // The scripts call `bridgerest` by name: this build's, first on PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_bridgerest"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let script = root().join("completions/bridgerest.bash");
    let complete = |config: &Path, words: &[&str]| {
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
            .env("PATH", &path)
            .env("BRIDGEREST_CONFIG", config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    for words in [
        &["bridgerest", "restore", "--cluster", "r"][..],
        &["bridgerest", "drills", "--cluster", "r"],
        &["bridgerest", "backups", "r"],
    ] {
        let (out, err) = complete(&config, words);
        assert_eq!(out, "rvf73a77ozfsvcttryebfrnlem\n", "{words:?}: {err}");
        assert_eq!(err, "");
    }
    let (out, _) = complete(&config, &["bridgerest", "drill", "--cluster", ""]);
    assert_eq!(out.lines().count(), 2, "{out}");
    // No config, or one that is not TOML: nothing offered, nothing said.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[cluster\n").unwrap();
    for config in [dir.path().join("none.toml"), broken] {
        let (out, err) = complete(&config, &["bridgerest", "restore", "--cluster", ""]);
        assert_eq!((out.trim(), err.as_str()), ("", ""));
    }
    // zsh and fish call the same helper for --cluster only (restore, drill, drills,
    // credential-process, backup, destroy) and for backups CLUSTER.
    for (name, calls) in [("_bridgerest", 7), ("bridgerest.fish", 7)] {
        let text = std::fs::read_to_string(root().join("completions").join(name)).unwrap();
        assert_eq!(
            text.matches("bridgerest __complete-ids 2>/dev/null")
                .count(),
            calls,
            "{name}"
        );
    }
}

#[test]
fn every_page_has_examples_and_exit_status_and_the_config_has_its_page() {
    let files = generated();
    for (name, text) in &files {
        if !name.starts_with("man/") || name.ends_with(".5") {
            continue;
        }
        let text = String::from_utf8(text.clone()).unwrap();
        assert!(text.contains("\n.SH EXAMPLES\n"), "{name} has no EXAMPLES");
        assert!(
            text.contains("\n.SH \"EXIT STATUS\"\n"),
            "{name} has no EXIT STATUS"
        );
    }
    let page = String::from_utf8(files["man/bridgerest.toml.5"].clone()).unwrap();
    assert!(page.starts_with(".TH bridgerest.toml 5 "), "{page}");
    for section in [
        "[api]",
        "[pgbackrest]",
        "[daemon]",
        "[drill]",
        "[[cluster]]",
    ] {
        assert!(page.contains(section), "{section}");
    }
    // The example, whole: every key line of config/bridgerest.toml is in it.
    let example = std::fs::read_to_string(root().join("bridgerest.toml")).unwrap();
    assert!(
        page.contains("key_file = \\(dq/etc/bridgerest/api\\-key\\(dq")
            || page.contains("key_file = \"/etc/bridgerest/api\\-key\""),
        "{page}"
    );
    assert!(example.lines().count() > 50);
    // Shipped: the .deb's assets install section 5 pages.
    let cargo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(cargo.contains("[\"config/man/*.5\", \"usr/share/man/man5/\", \"644\"]"));
}
