//! The README's quick starts, run as they stand against `bridgerest-sim serve`:
//!
//! - "From nothing to a working host": every shell block of its steps, taken from README.md,
//!   run as root on this Debian 12 host with the files the .deb installs (read from Cargo.toml's
//!   `[package.metadata.deb]`) and the shipped example config. It runs in a private mount
//!   namespace whose /etc, /usr and /var are overlays on the host's: the host is not changed,
//!   and the test can run beside others. Only these are not the README's text: the install
//!   (what `apt install` of the package does: its files and its postinst), the values a user
//!   fills in (the API key; the simulator's address as the API), `check --no-repository` (the
//!   simulator's stores are not real), `systemctl` (no systemd in a namespace: the unit's
//!   `ExecStart=` is run as its `User=`, with its `LoadCredential=`), and the made-up
//!   bucket pointed at a closed local port with a short pgBackRest io-timeout.
//! - `bridgerest-sim demo`, then `serve`: the config the demo prints passes `check` and `refresh`
//!   against `serve`, whose printed credentials are the ones it accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::BufRead;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn require_root() {
    if !nix::unistd::Uid::effective().is_root() {
        panic!(
            "the README's host steps run as root, as the README says (CI does): sudo cargo test"
        );
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `'text'` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One numbered step of a README section: its title and its ```sh blocks.
#[derive(Debug)]
struct Step {
    n: usize,
    title: String,
    blocks: Vec<String>,
}

impl Step {
    fn text(&self) -> String {
        self.blocks.join("\n")
    }
}

/// The numbered steps of the README section `heading`, with their fenced `sh` blocks
/// (indented under the list item; the indentation removed).
fn steps(readme: &str, heading: &str) -> Vec<Step> {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    let body = &readme[start + heading.len() + 2..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut steps: Vec<Step> = Vec::new();
    let mut block: Option<(String, String)> = None;
    for line in body.lines() {
        if let Some((indent, text)) = &mut block {
            if line.trim_start() == "```" {
                steps
                    .last_mut()
                    .expect("a block inside a step")
                    .blocks
                    .push(std::mem::take(text));
                block = None;
            } else {
                let l = line.strip_prefix(indent.as_str()).unwrap_or_else(|| {
                    panic!("README {heading}: a block line not indented as its fence: {line:?}")
                });
                text.push_str(l);
                text.push('\n');
            }
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("```") {
            assert_eq!(
                rest, "sh",
                "README {heading}: a block that is not ```sh: {line:?}"
            );
            let indent = line[..line.len() - line.trim_start().len()].to_string();
            block = Some((indent, String::new()));
            continue;
        }
        let numbered = line
            .split_once(". **")
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if let Some((n, rest)) = numbered {
            let title = rest.split("**").next().unwrap_or_default();
            steps.push(Step {
                n: n.parse().unwrap(),
                title: title.trim_end_matches('.').to_string(),
                blocks: Vec::new(),
            });
        }
    }
    assert!(block.is_none(), "README {heading}: a block is not closed");
    steps
}

/// `bridgerest-sim serve` as the README runs it, stopped when dropped.
struct Serve {
    child: Child,
    url: String,
    /// Everything it printed before serving.
    banner: String,
}

impl Serve {
    fn start() -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bridgerest-sim"))
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        // Its banner ends with the line saying the credentials are made up.
        while !banner.contains("made-up credentials") {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("bridgerest-sim serve ended after printing:\n{banner}");
            }
            banner.push_str(&line);
        }
        let url = banner
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("serve's first line: {banner}"))
            .to_string();
        Serve { child, url, banner }
    }

    /// The value after `label: ` on the line of serve's banner that has it.
    fn printed(&self, label: &str) -> String {
        self.banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{label}: ")))
            .unwrap_or_else(|| panic!("serve printed no {label:?}:\n{}", self.banner))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What installing the .deb does, as shell: its assets and units where Cargo.toml's
/// `[package.metadata.deb]` puts them (the binary this test built for target/release's), then
/// its postinst. (dpkg also records the package; nothing here reads that.)
fn deb_install_script() -> String {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let mut script = String::new();
    let mut installed = 0;
    for asset in deb["assets"].as_array().unwrap() {
        let a: Vec<&str> = asset
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let (src, dest, mode) = (a[0], a[1], a[2]);
        let sources: Vec<PathBuf> = if src == "target/release/bridgerest" {
            vec![PathBuf::from(env!("CARGO_BIN_EXE_bridgerest"))]
        } else if let Some((dir, pattern)) = src.rsplit_once("/*") {
            let mut found: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(pattern))
                .collect();
            found.sort();
            assert!(!found.is_empty(), "asset {src} matches no file");
            found
        } else {
            vec![repo().join(src)]
        };
        for s in sources {
            let to = if dest.ends_with('/') {
                format!("/{dest}{}", s.file_name().unwrap().to_string_lossy())
            } else {
                format!("/{dest}")
            };
            script.push_str(&format!(
                "install -D -m {mode} {} {}\n",
                sh_quote(&s.to_string_lossy()),
                sh_quote(&to)
            ));
            installed += 1;
        }
    }
    assert!(installed >= 10, "{installed} assets");
    for unit in deb["systemd-units"].as_array().unwrap() {
        let name = unit["unit-name"].as_str().unwrap();
        let dir = repo().join(unit["unit-scripts"].as_str().unwrap());
        for ext in ["service", "timer"] {
            let f = dir.join(format!("{name}.{ext}"));
            if f.exists() {
                script.push_str(&format!(
                    "install -D -m 644 {} /usr/lib/systemd/system/{name}.{ext}\n",
                    sh_quote(&f.to_string_lossy())
                ));
            }
        }
    }
    let postinst = repo()
        .join(deb["maintainer-scripts"].as_str().unwrap())
        .join("postinst");
    script.push_str(&format!(
        "sh -e {} configure\n",
        sh_quote(&postinst.to_string_lossy())
    ));
    script
}

/// What `systemctl enable --now UNIT` starts, as shell: the unit's `ExecStart=` as its `User=`,
/// from /, with the API key where its `LoadCredential=api-key:...` puts it; in the background
/// (its pid in `dir`/daemon.pid, its output in daemon.log), waiting until it has written the
/// status file.
fn start_like_systemd(unit: &str, dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(repo().join("systemd").join(unit)).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{unit} has no {key}="))
            .to_string()
    };
    let (user, exec) = (value("User"), value("ExecStart"));
    let (name, key_file) = value("LoadCredential")
        .split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    assert_eq!(name, "api-key");
    format!(
        "creds=$(mktemp -d)\nchown {user}: \"$creds\"\ninstall -m 0400 -o {user} {key_file} \"$creds/api-key\"\n\
         (cd / && exec runuser -u {user} -- env CREDENTIALS_DIRECTORY=\"$creds\" {exec}) >{log} 2>&1 &\n\
         echo $! >{pid}\n\
         for _ in $(seq 150); do bridgerest status 2>/dev/null | grep -q '^(written by daemon' && break; sleep 0.2; done",
        log = dir.join("daemon.log").display(),
        pid = dir.join("daemon.pid").display()
    )
}

/// `text` with `from` replaced by `to`, which the README must contain (so a README that changes
/// is not silently run with a substitution that no longer applies).
fn fill_in(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the README's steps no longer contain {from:?}:\n{text}"
    );
    text.replace(from, to)
}

/// The stanza the steps name (`--stanza=...`), and the cluster id they configure.
fn named(text: &str, prefix: &str, end: char) -> String {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("the README's steps name no {prefix:?}:\n{text}"));
    text[at + prefix.len()..]
        .split(end)
        .next()
        .unwrap()
        .to_string()
}

/// Removes a directory when dropped.
struct Rm(PathBuf);

impl Drop for Rm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug)]
struct Ran {
    step: usize,
    title: String,
    code: i32,
    stdout: String,
    stderr: String,
}

#[test]
fn the_readme_host_steps_work_on_a_stock_debian_host() {
    require_root();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let steps = steps(&readme, "## From nothing to a working host");
    let titles: Vec<&str> = steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Install",
            "The API key",
            "Find the cluster",
            "Configure it",
            "Check",
            "Refresh",
            "Keep it fresh",
            "Restore"
        ],
        "{steps:#?}"
    );
    assert!(steps.iter().all(|s| !s.blocks.is_empty()), "{steps:#?}");
    let all: String = steps.iter().map(Step::text).collect();
    let cluster = named(&all, "id = \"", '"');
    let stanza = named(&all, "--stanza=", ' ');

    let serve = Serve::start();
    let key = serve.printed("API key (Bearer)");
    assert!(
        serve.banner.contains(&format!("{cluster} (")),
        "serve does not list the README's cluster {cluster}:\n{}",
        serve.banner
    );
    // The example config's API, on the line the user leaves as it is.
    let shipped = std::fs::read_to_string(repo().join("config/bridgerest.toml")).unwrap();
    let api_line = "url = \"https://api.crunchybridge.com\"";
    assert_eq!(shipped.matches(&format!("\n{api_line}\n")).count(), 1);
    // The sample's S3 bucket: its host (virtual-hosted style) on a closed local port.
    let bucket_host = "bridge-backups-usw1.s3.us-west-1.amazonaws.com";

    let t = tempfile::Builder::new()
        .prefix("bridgerest-readme.")
        .tempdir()
        .unwrap();
    let d = t.path();
    let mut main = String::from("set -u\n");
    for dir in ["etc", "usr", "var"] {
        for sub in ["upper", "work"] {
            std::fs::create_dir_all(d.join(sub).join(dir)).unwrap();
        }
        main.push_str(&format!(
            "mount -t overlay overlay -o lowerdir=/{dir},upperdir={u},workdir={w} /{dir} || exit 90\n",
            u = d.join("upper").join(dir).display(),
            w = d.join("work").join(dir).display()
        ));
    }
    // A stock host has none of bridgerest's own directories (other tests on this host may have
    // made them): gone from the overlays, not from the host.
    main.push_str("rm -rf /etc/bridgerest /etc/pgbackrest /var/lib/bridgerest /usr/bin/bridgerest /usr/local/bin/bridgerest || exit 91\n");
    let mut ran_steps = Vec::new();
    for step in &steps {
        let mut text = step.text();
        match step.title.as_str() {
            "Install" => {
                fill_in(&text, "apt install ./target/debian/bridgerest_*.deb", "");
                text = deb_install_script();
                // Filled in by the user: the API's address (here, the simulator's).
                text.push_str(&format!(
                    "grep -qxF {q} /etc/bridgerest/bridgerest.toml\nsed -i 's|^{api_line}$|url = \"{url}\"|' /etc/bridgerest/bridgerest.toml\n",
                    q = sh_quote(api_line),
                    url = serve.url
                ));
            }
            "The API key" => text = fill_in(&text, "cbkey_...", &key),
            "Check" => {
                text = fill_in(
                    &text,
                    "bridgerest check",
                    "bridgerest check --no-repository",
                )
            }
            "Refresh" => {
                text = format!("echo '127.0.0.1 {bucket_host}' >>/etc/hosts\n{text}");
            }
            "Keep it fresh" => {
                text = fill_in(
                    &text,
                    "systemctl enable --now bridgerest.service",
                    &start_like_systemd("bridgerest.service", d),
                )
            }
            _ => {}
        }
        let file = d.join(format!("step{}.sh", step.n));
        std::fs::write(&file, &text).unwrap();
        main.push_str(&format!(
            "bash -e -o pipefail {f} >{o} 2>{e}; echo $? >{c}\n",
            f = file.display(),
            o = d.join(format!("out{}", step.n)).display(),
            e = d.join(format!("err{}", step.n)).display(),
            c = d.join(format!("rc{}", step.n)).display()
        ));
        ran_steps.push(step);
    }
    main.push_str(&format!(
        "if [ -s {p} ]; then pid=$(cat {p}); kill $pid; for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done; fi\n",
        p = d.join("daemon.pid").display()
    ));
    let status = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "bash", "-c", &main])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        // pgBackRest gives up on the closed port within seconds.
        .env("PGBACKREST_IO_TIMEOUT", "1")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "the namespace ({}; 90: an overlay could not be mounted: the test needs root with CAP_SYS_ADMIN and overlayfs): {}",
        status.status,
        String::from_utf8_lossy(&status.stderr)
    );
    let read = |name: String| std::fs::read_to_string(d.join(name)).unwrap_or_default();
    let ran: Vec<Ran> = ran_steps
        .iter()
        .map(|s| Ran {
            step: s.n,
            title: s.title.clone(),
            code: read(format!("rc{}", s.n)).trim().parse().unwrap_or(-1),
            stdout: read(format!("out{}", s.n)),
            stderr: read(format!("err{}", s.n)),
        })
        .collect();
    for r in &ran {
        assert_eq!(r.code, 0, "step {} ({}) failed: {r:#?}", r.step, r.title);
        // Nothing warned about (a key others can read, a file bridgerest would not adopt, ...);
        // the dry run alone warns that it cannot read the made-up repository.
        assert!(
            r.title == "Restore" || !r.stderr.contains("WARN"),
            "step {} ({}): {r:#?}",
            r.step,
            r.title
        );
    }
    let out = |title: &str| &ran.iter().find(|r| r.title == title).unwrap().stdout;

    // 3: the cluster step 4 configures is among those the key sees.
    assert!(
        out("Find the cluster")
            .lines()
            .any(|l| l.starts_with(&format!("{cluster} "))),
        "{ran:#?}"
    );
    // 5: the example config, as shipped, finds Debian's pgBackRest config where pgBackRest
    // does, and pgBackRest reads the file bridgerest writes.
    let check = out("Check");
    for line in [
        "ok    pgBackRest's main config is /etc/pgbackrest.conf (found where pgBackRest looks)\n",
        "ok    pgBackRest reads /etc/pgbackrest/conf.d/bridgerest.conf (main config /etc/pgbackrest.conf, include path /etc/pgbackrest/conf.d)\n",
        "ok    pgBackRest 2.45 found (pgbackrest)\n",
    ] {
        assert!(check.contains(line), "{line:?} missing:\n{check}");
    }
    assert!(!check.contains("FAIL"), "{check}");
    // 6: refresh names the stanza the README's pgbackrest command uses, and pgBackRest, as
    // postgres, reads its repository from bridgerest's file: the sample's bucket, not the
    // package's [global] repo1-path.
    let refresh = out("Refresh");
    assert!(
        refresh
            .lines()
            .any(|l| l.starts_with(&stanza) && l.contains(&cluster) && l.ends_with(" ok")),
        "{refresh}"
    );
    assert!(
        refresh.contains(&format!("stanza: {stanza}\n")),
        "{refresh}"
    );
    assert!(refresh.contains(bucket_host), "{refresh}");
    // 7: the daemon, started as the unit starts it (as postgres) after root's refresh, writes
    // the status file root's refresh made, and `status` shows its refresh.
    let status = out("Keep it fresh");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with(&cluster) && l.split_whitespace().nth(1) == Some("ok")),
        "{status}"
    );
    assert!(
        status.contains("(written by daemon pid "),
        "{status}\ndaemon: {}",
        read("daemon.log".into())
    );
    // 8: the plan and the command.
    let plan = out("Restore");
    assert!(
        plan.contains(&format!("command:   pgbackrest --stanza={stanza} ")),
        "{plan}"
    );
    // What stays behind in the overlay: the key 0600, bridgerest's stanzas as postgres's 0600
    // file; the host's own /etc untouched.
    let upper = d.join("upper/etc");
    let meta = std::fs::metadata(upper.join("bridgerest/api-key")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert_eq!(
        std::fs::read_to_string(upper.join("bridgerest/api-key")).unwrap(),
        format!("{key}\n")
    );
    let written = upper.join("pgbackrest/conf.d/bridgerest.conf");
    let meta = std::fs::metadata(&written).unwrap();
    let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
    assert_eq!(
        (meta.uid(), meta.permissions().mode() & 0o7777),
        (postgres.uid.as_raw(), 0o600)
    );
    assert!(std::fs::read_to_string(&written)
        .unwrap()
        .contains(&format!("[{stanza}]\n")));
    assert!(!std::fs::read_to_string("/etc/hosts")
        .unwrap()
        .contains(bucket_host));
}

/// The demo prints a config; with serve's address in it, it passes `check` (repository probes
/// aside) and `refresh` against `bridgerest-sim serve`: the same sample, the same credentials,
/// and the GCS cluster's configured key clashes with nothing the token gives.
#[test]
fn the_config_the_demo_prints_works_against_serve() {
    let demo = Command::new(env!("CARGO_BIN_EXE_bridgerest-sim"))
        .arg("demo")
        .env_remove("BRIDGEREST_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "{stdout}");
    let config = PathBuf::from(named(&stdout, "bridgerest's config for it is ", ':'));
    let kept = config.parent().unwrap().to_path_buf();
    // The demo keeps its files for the user; the test removes them.
    let _cleanup = Rm(kept.clone());
    let demo_url = named(
        &stdout,
        "# The built-in simulator of the Crunchy Bridge, IONOS DBaaS and Launcher APIs runs at\n# ",
        ';',
    );
    // The demo says how to point it at serve.
    assert!(
        stdout.contains(&format!(
            "sed -i 's|{demo_url}|http://ADDR|' {}",
            config.display()
        )),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\"repo1-gcs-key\""), "{text}");
    // Everything the demo's refresh wrote is in its directory (not the host's status file).
    assert!(kept.join("status.json").is_file(), "{stdout}");

    let serve = Serve::start();
    // serve prints the key the demo's config uses.
    let key = std::fs::read_to_string(kept.join("api-key")).unwrap();
    assert_eq!(serve.printed("API key (Bearer)"), key.trim());
    assert_eq!(
        serve.printed("key (x-lnchr-key)"),
        std::fs::read_to_string(kept.join("launcher-key"))
            .unwrap()
            .trim()
    );
    std::fs::write(&config, text.replace(&demo_url, &serve.url)).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_bridgerest"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("BRIDGEREST_API_KEY")
            .env_remove("BRIDGEREST_IONOS_PASSWORD")
            .env_remove("BRIDGEREST_LAUNCHER_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let (code, check) = run(&["check", "--no-repository"]);
    assert_eq!(code, Some(0), "{check}");
    for line in [
        "ok    cluster p56biajnfvgjhftvqs7lqymspe: backup token for stanza [n2dwhq6ze5bxxoqyyf3bnzcbwu] renders\n",
        "ok    the IONOS DBaaS API accepted the credentials",
        "ok    the Launcher API accepted the credentials",
        "ok    no other pgBackRest config file sets an option bridgerest writes",
    ] {
        assert!(check.contains(line), "{line:?} missing:\n{check}");
    }
    let (code, refresh) = run(&["refresh"]);
    assert_eq!(code, Some(0), "{refresh}");
    assert_eq!(
        refresh.lines().filter(|l| l.ends_with("  ok")).count(),
        3,
        "{refresh}"
    );
    let written = std::fs::read_to_string(kept.join("conf.d/bridgerest.conf")).unwrap();
    assert_eq!(
        written.matches("repo1-gcs-key=").count(),
        1,
        "the GCS key set once:\n{}",
        written
            .lines()
            .filter(|l| l.starts_with("repo1-gcs"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
