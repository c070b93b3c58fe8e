//! The container image (`contrib/container/`): the Containerfile and the mmdebstrap recipe
//! (rootfs.sh) say the same things (checked here on every run), and a drill of a real
//! pgBackRest repository on the real S3 stack runs as postgres, with no root and a read-only
//! root file system (as contrib/kubernetes/ runs it), inside the image of each: rootfs.sh's
//! (mmdebstrap, podman import), and the Containerfile's own, built by `podman build` with
//! `--from` a local stand-in for `debian:bookworm-slim` (no registry is reachable here).
//!
//! The drill is `#[ignore]`d by a plain `cargo test`: it needs bridgerest's .deb
//! (`$BRIDGEREST_DEB`; `.ci/run` builds it with `.ci/deb` and then runs
//! `cargo test --test container -- --ignored`), mmdebstrap, podman and runc, and root. The
//! images are kept by podman (rootfs.sh's root file system also under the test tools
//! directory), keyed by the hash of the .deb and the recipe, so that a rerun only drills.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod real_stores;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use real_stores::pg::{Kind, World, CLUSTER, STANZA};
use real_stores::tool;

const CONTAINERFILE: &str = "contrib/container/Containerfile";
const RECIPE: &str = "contrib/container/rootfs.sh";
/// The postgres user's uid and gid in the image (and contrib/kubernetes/'s runAsUser).
const PG_UID: u32 = 999;
/// The image's name; its tag is the cache key.
const IMAGE: &str = "localhost/bridgerest-drill";

fn repo_file(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The text with shell line continuations joined.
fn joined(text: &str) -> String {
    text.replace("\\\n", " ")
}

/// The words of the first command line in `text` that starts with `start`, up to `end`.
fn command_after<'a>(text: &'a str, start: &str, end: char) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in:\n{text}"));
    let rest = &text[from + start.len()..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// What the Containerfile installs, makes and runs.
struct Recipe {
    packages: Vec<String>,
    groupadd: String,
    useradd: String,
    no_main_cluster: bool,
    user: String,
    workdir: String,
    entrypoint: serde_json::Value,
    cmd: serde_json::Value,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn containerfile() -> Recipe {
    let text = joined(&repo_file(CONTAINERFILE));
    let directive = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {CONTAINERFILE}"))
            .trim()
            .to_string()
    };
    // apt-get install's arguments: the packages, not its options nor the local .deb.
    let install = command_after(&text, "apt-get install ", ';');
    Recipe {
        packages: words(install)
            .into_iter()
            .filter(|w| !w.starts_with('-') && !w.contains('/'))
            .collect(),
        groupadd: command_after(&text, "groupadd ", ';').trim().to_string(),
        useradd: command_after(&text, "useradd ", ';').trim().to_string(),
        no_main_cluster: text.contains(
            "echo \"create_main_cluster = false\" >/etc/postgresql-common/createcluster.d/",
        ),
        user: directive("USER"),
        workdir: directive("WORKDIR"),
        entrypoint: serde_json::from_str(&directive("ENTRYPOINT")).unwrap(),
        cmd: serde_json::from_str(&directive("CMD")).unwrap(),
    }
}

fn rootfs_recipe() -> Recipe {
    let text = joined(&repo_file(RECIPE));
    let change = |name: &str| -> String {
        command_after(&text, &format!("--change '{name}="), '\'').to_string()
    };
    // The host's tools write the chroot's files: `--root "$1"` is how, not what.
    let hooked = |cmd: &str| {
        command_after(&text, &format!("{cmd} --root \"$1\" "), '\'')
            .trim()
            .to_string()
    };
    Recipe {
        packages: words(command_after(&text, "packages=\"", '"')),
        groupadd: hooked("groupadd"),
        useradd: hooked("useradd"),
        no_main_cluster: text.contains(
            "echo \"create_main_cluster = false\" >\"$1/etc/postgresql-common/createcluster.d/",
        ),
        user: change("USER"),
        workdir: change("WORKDIR"),
        entrypoint: serde_json::from_str(&change("ENTRYPOINT")).unwrap(),
        cmd: serde_json::from_str(&change("CMD")).unwrap(),
    }
}

/// The image CI runs a drill in is the one the Containerfile describes: the same packages
/// (and bridgerest's .deb in both), the same postgres user with the same fixed uid, no main
/// cluster, the same user, working directory, entrypoint and command; and that uid is the one
/// the Kubernetes manifests run as.
#[test]
fn the_containerfile_and_the_mmdebstrap_recipe_make_the_same_image() {
    let (c, r) = (containerfile(), rootfs_recipe());
    assert_eq!(
        c.packages,
        ["postgresql-15", "pgbackrest", "ca-certificates"],
        "{CONTAINERFILE}"
    );
    assert_eq!(c.packages, r.packages, "{CONTAINERFILE} and {RECIPE}");
    let cf = repo_file(CONTAINERFILE);
    assert!(
        cf.contains("COPY bridgerest_*.deb /tmp/") && cf.contains(" /tmp/bridgerest_*.deb;"),
        "{CONTAINERFILE} installs bridgerest's .deb"
    );
    assert!(
        joined(&repo_file(RECIPE)).contains("--include=\"$deb\""),
        "{RECIPE} installs bridgerest's .deb"
    );
    assert_eq!(
        c.groupadd,
        format!("--system --gid {PG_UID} postgres"),
        "{CONTAINERFILE}"
    );
    assert_eq!(
        c.useradd,
        format!("--system --uid {PG_UID} --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres"),
        "{CONTAINERFILE}"
    );
    assert_eq!(
        (&c.groupadd, &c.useradd),
        (&r.groupadd, &r.useradd),
        "{CONTAINERFILE} and {RECIPE}"
    );
    assert!(c.no_main_cluster && r.no_main_cluster);
    assert_eq!(c.user, "postgres");
    assert_eq!(
        (&c.user, &c.workdir, &c.entrypoint, &c.cmd),
        (&r.user, &r.workdir, &r.entrypoint, &r.cmd),
        "{CONTAINERFILE} and {RECIPE}"
    );
    assert_eq!(c.entrypoint, serde_json::json!(["/usr/bin/bridgerest"]));
    let k8s = repo_file("contrib/kubernetes/cronjob.yaml");
    for key in ["runAsUser", "runAsGroup", "fsGroup"] {
        assert!(
            k8s.contains(&format!("{key}: {PG_UID}\n")),
            "contrib/kubernetes/cronjob.yaml: {key} is not the image's postgres ({PG_UID})"
        );
    }
}

/// Runs a command to its end; its output, or a failure naming it.
fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn podman() -> Command {
    let mut cmd = Command::new(tool("/usr/bin/podman", "apt-get install podman runc"));
    cmd.args(["--runtime", "runc"]);
    cmd
}

/// The first 16 hex digits of the SHA-256 of `parts`: a cache key.
fn key_of(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `name:key` if podman has it; else `None`, and every other tag of `name` is removed (an
/// older package's or recipe's).
fn cached_image(name: &str, key: &str) -> Option<String> {
    let image = format!("{name}:{key}");
    let exists = podman()
        .args(["image", "exists", &image])
        .status()
        .unwrap()
        .success();
    if exists {
        eprintln!("image {image}: reused");
        return Some(image);
    }
    let old = run(podman().args([
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        &format!("reference={name}"),
    ]));
    for old in String::from_utf8_lossy(&old.stdout).lines() {
        let _ = podman().args(["rmi", "--force", old.trim()]).output();
    }
    None
}

/// The test tools directory's cache of root file systems.
fn cache_dir(sub: &str) -> PathBuf {
    let d = real_stores::tools_dir().join("container").join(sub);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The image of `deb` built by rootfs.sh: reused when podman has it, imported from the
/// cached root file system when that is there, else built. The cache is keyed by the hash of
/// the .deb and of the recipe; older keys' files and images are removed.
fn rootfs_image(deb: &Path) -> String {
    let key = key_of(&[&std::fs::read(deb).unwrap(), repo_file(RECIPE).as_bytes()]);
    if let Some(image) = cached_image(IMAGE, &key) {
        return image;
    }
    tool("/usr/bin/mmdebstrap", "apt-get install mmdebstrap");
    let cache = cache_dir("rootfs");
    for e in std::fs::read_dir(&cache).unwrap() {
        let e = e.unwrap();
        if e.file_name() != *key {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    let dir = cache.join(&key);
    std::fs::create_dir_all(&dir).unwrap();
    let tar = dir.join("rootfs.tar");
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join(RECIPE);
    if !tar.exists() {
        let partial = dir.join("rootfs.tar.partial");
        let t = Instant::now();
        run(Command::new("sh")
            .arg(&recipe)
            .arg("build")
            .arg(deb)
            .arg(&partial));
        std::fs::rename(&partial, &tar).unwrap();
        eprintln!(
            "root file system built by mmdebstrap (rootfs.sh) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let image = format!("{IMAGE}:{key}");
    let t = Instant::now();
    run(Command::new("sh")
        .arg(&recipe)
        .arg("import")
        .arg(&tar)
        .arg(&image));
    eprintln!(
        "image {image} imported in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    image
}

/// What stands in for `debian:bookworm-slim`, which no registry here serves: the same
/// thing made the same way (debuerreotype runs debootstrap's minbase; this is mmdebstrap's
/// minbase of bookworm, -updates and -security), imported once.
const BASE: &str = "localhost/bridgerest-test-base";

fn base_image() -> String {
    if let Some(image) = cached_image(BASE, "bookworm-minbase") {
        return image;
    }
    tool("/usr/bin/mmdebstrap", "apt-get install mmdebstrap");
    let tar = cache_dir("base").join("bookworm-minbase.tar");
    let t = Instant::now();
    run(Command::new("mmdebstrap")
        .args([
            "--variant=minbase",
            "--mode=root",
            "--format=tar",
            "bookworm",
        ])
        .arg(&tar));
    let image = format!("{BASE}:bookworm-minbase");
    run(podman().arg("import").arg(&tar).arg(&image));
    std::fs::remove_file(&tar).unwrap();
    eprintln!(
        "base image {image} (mmdebstrap minbase bookworm) made in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    image
}

/// The image the Containerfile itself describes, built by `podman build` from the directory
/// holding `deb` (as the README says), its FROM replaced by [`base_image`] (`--from`, never
/// pulled). Keyed by the hash of the .deb and the Containerfile.
fn containerfile_image(deb: &Path) -> String {
    const NAME: &str = "localhost/bridgerest-containerfile";
    let key = key_of(&[
        &std::fs::read(deb).unwrap(),
        repo_file(CONTAINERFILE).as_bytes(),
    ]);
    if let Some(image) = cached_image(NAME, &key) {
        return image;
    }
    let base = base_image();
    // The build context: the package alone, under its own name.
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(deb, ctx.path().join(deb.file_name().unwrap())).unwrap();
    let image = format!("{NAME}:{key}");
    let t = Instant::now();
    run(podman()
        .args([
            "build",
            "--from",
            &base,
            "--pull=never",
            "--network",
            "host",
        ])
        .args([
            "--ulimit",
            "nofile=4096:4096",
            "--ulimit",
            "nproc=4096:4096",
        ])
        .arg("--file")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(CONTAINERFILE))
        .args(["--tag", &image])
        .arg(ctx.path()));
    eprintln!(
        "image {image} built from {CONTAINERFILE} in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    image
}

/// A directory of the test's, owned by the image's postgres (the same uid here: podman runs
/// as root without a user namespace), with `mode`.
fn postgres_dir(w: &World, rel: &str, mode: u32) -> PathBuf {
    let ids = (
        nix::unistd::Uid::from_raw(PG_UID),
        nix::unistd::Gid::from_raw(PG_UID),
    );
    w.dir.mkdir_for(rel, mode, Some(ids))
}

fn owner_mode(p: &Path) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// The image each recipe makes runs a drill as postgres, without root: contrib/container's
/// rootfs.sh (mmdebstrap, podman import: what CI can build, as the Containerfile says), and
/// the Containerfile itself, built by `podman build` on a local stand-in for
/// `debian:bookworm-slim`. Each drills the same backup of a real repository on the S3 stack.
#[test]
#[ignore = "needs bridgerest's .deb in $BRIDGEREST_DEB (.ci/run: after .ci/deb), mmdebstrap, podman and runc, as root"]
fn a_drill_runs_as_postgres_without_root_in_the_image_of_each_recipe_s3() {
    let deb = std::env::var_os("BRIDGEREST_DEB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("BRIDGEREST_DEB is not set: build the package (cargo deb, or bash .ci/deb) and set it to target/debian/bridgerest_*.deb")
        });
    assert!(deb.is_file(), "{}: no such file", deb.display());
    tool("/usr/sbin/runc", "apt-get install runc");
    real_stores::require_root();
    let images = [
        ("rootfs", rootfs_image(&deb)),
        ("containerfile", containerfile_image(&deb)),
    ];

    let mut w = World::new(Kind::S3, 3600);
    w.refresh();
    w.pg.start();
    w.pgbackrest_ok(&["stanza-create"]);
    w.pg.psql("CREATE TABLE restore_check (i int)");
    w.pgbackrest_ok(&["--type=full", "backup"]);
    // Rows only the WAL after the backup holds: the drill must fetch it from the store.
    w.insert(1, 100);
    w.pgbackrest_ok(&["check"]); // switches WAL and waits until it is archived
    w.sync_backups();
    for (name, image) in &images {
        drill_in(&w, name, image);
    }
}

/// One drill in `image`, as postgres: the root file system read-only, every capability
/// dropped, no privilege to gain; the config and the CA read-only in /etc/bridgerest, the API
/// key read-only in `$CREDENTIALS_DIRECTORY`; the scratch, the state, pgBackRest's conf.d, log
/// and spool writable by postgres (as contrib/kubernetes/ mounts them), each of its own under
/// `container-NAME/`. The drill restores the backup from the real S3 store with credentials
/// from the simulator, recovers, runs every check, passes, removes its copy, and everything it
/// wrote is postgres's.
fn drill_in(w: &World, name: &str, image: &str) {
    // What the container sees. /etc/bridgerest: the config and the store's CA, no secret.
    let etc = w.dir.mkdir(&format!("container-{name}/etc"), 0o755, false);
    std::fs::copy(&w.tls.ca, etc.join("ca.pem")).unwrap();
    std::fs::set_permissions(etc.join("ca.pem"), PermissionsExt::from_mode(0o644)).unwrap();
    let mut options = String::new();
    for (k, v) in w.store.options() {
        let v = if k == "repo1-storage-ca-file" {
            "/etc/bridgerest/ca.pem".to_string()
        } else {
            v
        };
        options.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    let config = format!(
        r#"[api]
url = "{api}"
retry_base = "50ms"
timeout = "10s"

[pgbackrest]
config = "/etc/pgbackrest/conf.d/bridgerest.conf"
owner = "postgres"

[daemon]
status_file = "/var/lib/bridgerest/status.json"
prometheus_textfile = "/var/lib/bridgerest/bridgerest.prom"

[drill]
scratch = "/scratch/copy"
reports = "/var/lib/bridgerest/drills"
timeout = "10m"
verify = true
queries = ["SELECT count(*) FROM public.restore_check"]

[[cluster]]
id = "{CLUSTER}"
pg1_path = "/scratch/{CLUSTER}"
[cluster.options]
{options}"#,
        api = w.sim.url(),
    );
    std::fs::write(etc.join("bridgerest.toml"), config).unwrap();
    std::fs::set_permissions(
        etc.join("bridgerest.toml"),
        PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    // The API key, as a mounted Secret gives it: postgres's, 0600.
    let creds = postgres_dir(w, &format!("container-{name}/credentials"), 0o700);
    let key_file = creds.join("api-key");
    std::fs::copy(w.dir.path("api-key"), &key_file).unwrap();
    std::fs::set_permissions(&key_file, PermissionsExt::from_mode(0o600)).unwrap();
    nix::unistd::chown(
        &key_file,
        Some(nix::unistd::Uid::from_raw(PG_UID)),
        Some(nix::unistd::Gid::from_raw(PG_UID)),
    )
    .unwrap();
    let scratch = postgres_dir(w, &format!("container-{name}/scratch"), 0o700);
    let state = postgres_dir(w, &format!("container-{name}/state"), 0o750);
    let confd = postgres_dir(w, &format!("container-{name}/conf.d"), 0o750);
    // pgBackRest's log and spool (Debian's defaults), as emptyDirs are in Kubernetes.
    let pgbr_log = postgres_dir(w, &format!("container-{name}/pgbackrest-log"), 0o750);
    let pgbr_spool = postgres_dir(w, &format!("container-{name}/pgbackrest-spool"), 0o750);

    let mount = |host: &Path, inside: &str, ro: bool| {
        format!(
            "type=bind,source={},destination={inside}{}",
            host.display(),
            if ro { ",ro=true" } else { "" }
        )
    };
    let started = Instant::now();
    let mut cmd = podman();
    cmd.args([
        "run",
        "--rm",
        "--network",
        "host",
        "--ulimit",
        "nofile=4096:4096",
        "--ulimit",
        "nproc=4096:4096",
        "--user",
        "postgres",
        "--read-only",
        "--cap-drop",
        "all",
        "--security-opt",
        "no-new-privileges",
    ])
    .args(["--mount", &mount(&etc, "/etc/bridgerest", true)])
    .args([
        "--mount",
        &mount(&creds, "/run/credentials/bridgerest", true),
    ])
    .args(["--mount", &mount(&scratch, "/scratch", false)])
    .args(["--mount", &mount(&state, "/var/lib/bridgerest", false)])
    .args(["--mount", &mount(&confd, "/etc/pgbackrest/conf.d", false)])
    .args(["--mount", &mount(&pgbr_log, "/var/log/pgbackrest", false)])
    .args([
        "--mount",
        &mount(&pgbr_spool, "/var/spool/pgbackrest", false),
    ])
    .args([
        "--env",
        "CREDENTIALS_DIRECTORY=/run/credentials/bridgerest",
        "--env",
        "BRIDGEREST_LOG=info",
    ])
    .arg(image)
    .args([
        "--config",
        "/etc/bridgerest/bridgerest.toml",
        "drill",
        "--cluster",
        CLUSTER,
        "--target",
        "latest",
        "--json",
    ]);
    let out = cmd.output().unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    w.transcript.push(&stdout);
    w.transcript.push(&stderr);
    w.assert_no_secrets();
    eprintln!(
        "drill in the {name} image: {:.1} s (podman run to exit)",
        took.as_secs_f64()
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the drill in the {name} image failed:\n{stdout}{stderr}"
    );

    let rep: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the drill's JSON report: {e}:\n{stdout}{stderr}"));
    assert_eq!(rep["ok"], true, "{stdout}");
    assert_eq!(rep["cluster"], CLUSTER, "{stdout}");
    assert_eq!(rep["stanza"], STANZA, "{stdout}");
    let checks = rep["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "space",
            "restore",
            "isolation",
            "recovery",
            "recovered_to",
            "amcheck",
            "verify",
            "query 1",
            "checksums"
        ],
        "{stdout}"
    );
    assert!(
        checks.iter().all(|c| c["ok"] == true),
        "every check passed: {stdout}"
    );
    let detail = |name: &str| {
        checks.iter().find(|c| c["name"] == name).unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(detail("query 1").ends_with("→ 100"), "{stdout}");
    assert!(
        detail("amcheck").starts_with("no corruption found"),
        "{stdout}"
    );
    assert!(
        detail("verify").contains("matches its checksum"),
        "{stdout}"
    );
    assert!(
        rep["bytes_fetched"].as_u64().unwrap() > 1_000_000,
        "{stdout}"
    );
    assert!(rep["recovered_to"].is_string(), "{stdout}");
    assert!(rep["lag_seconds"].as_f64().unwrap() < 3.0, "{stdout}");
    assert!(stderr.contains("credentials refreshed"), "{stderr}");
    // Nothing was given up for want of root (the cluster's lock, a directory, a check): the
    // only warning is pgBackRest's about the source's user, whom this host does not know.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains("warning"))
        .filter(|l| !l.contains("WARN: unknown user 'bridgerest-src' in backup manifest"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");

    // It ran as postgres, uid 999 (without a user namespace, the same uid out here): with
    // every capability dropped, a root process could not have given its files to postgres.
    let pg = (PG_UID, PG_UID);
    let conf = confd.join("bridgerest.conf");
    let (u, g, m) = owner_mode(&conf);
    assert_eq!(((u, g), m), (pg, 0o600), "{}", conf.display());
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains(&format!("[{STANZA}]\n")));
    let status = state.join("status.json");
    assert_eq!(
        (owner_mode(&status).0, owner_mode(&status).1),
        pg,
        "status.json"
    );
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
    assert_eq!(st["written_by"], "drill", "{st}");
    assert_eq!(st["clusters"][0]["drill"]["ok"], true, "{st}");
    let reports: Vec<PathBuf> = std::fs::read_dir(state.join("drills"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let (u, g, _) = owner_mode(&reports[0]);
    assert_eq!((u, g), pg, "{}", reports[0].display());
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap();
    assert_eq!(kept["ok"], true);
    assert_eq!(kept["checks"], rep["checks"]);
    // The copy is gone; what is left in the scratch directory is postgres's.
    assert!(!scratch.join("copy").exists(), "the copy is removed");
    for e in std::fs::read_dir(&scratch).unwrap() {
        let p = e.unwrap().path();
        assert_eq!((owner_mode(&p).0, owner_mode(&p).1), pg, "{}", p.display());
    }
}
