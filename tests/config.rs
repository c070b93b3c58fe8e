//! Every shipped example config parses, and the effective config is what it says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use bridgerest::config;

#[test]
fn example_config_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            config::load(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 1, "no example config in {}", dir.display());
}

/// The example ships no cluster (an id must come from `bridgerest clusters`); its commented
/// `[[cluster]]` block, uncommented as the comment says, is a valid one.
#[test]
fn example_config_effective_values() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/bridgerest.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(config::parse(&text, &path).unwrap().clusters.is_empty());
    // Uncommented as the comments say: `# key` lines, not `# # prose` lines.
    let uncomment = |block: &str| -> String {
        let mut out = String::new();
        for line in block.lines() {
            let line = match line.strip_prefix("# ") {
                Some(rest) if !rest.starts_with('#') => rest,
                _ => line,
            };
            out.push_str(line);
            out.push('\n');
        }
        out
    };
    let at = text
        .find("\n# [[cluster]]\n")
        .expect("the example has a commented [[cluster]] block");
    let providers = text
        .find("\n# [ionos]\n")
        .expect("the example has a commented [ionos] block");
    let providers_end = providers + 1 + text[providers + 1..].find("\n\n").unwrap();
    let drill = text
        .find("\n# [drill]\n")
        .expect("the example has a commented [drill] block");
    let drill_end = drill + 1 + text[drill + 1..].find("\n\n").unwrap();
    assert!(drill_end < providers && providers < at);
    let uncommented = format!(
        "{}{}{}{}{}{}",
        &text[..drill + 1],
        uncomment(&text[drill + 1..drill_end]),
        &text[drill_end..providers + 1],
        uncomment(&text[providers + 1..providers_end]),
        &text[providers_end..at + 1],
        uncomment(&text[at + 1..])
    );
    let cfg = config::parse(&uncommented, &path).unwrap();
    let c = &cfg.clusters[0];
    let launcher = cfg
        .section_as::<config::LauncherConfig>("launcher")
        .unwrap();
    let ionos = cfg.section_as::<config::IonosConfig>("ionos").unwrap();
    let effective = format!(
        "api.url = {}\napi.key_file = {:?}\napi.concurrency = {}\napi.timeout = {:?}\napi.retries = {}\napi.token_lifetime = {:?}\napi.wait_timeout = {:?}\npgbackrest.config = {}\npgbackrest.owner = {:?}\npgbackrest.mode = {:04o}\npgbackrest.s3_key_type = {:?}\ndaemon.max_backup_age = {:?}\nionos.url = {}\nionos.username = {:?}\nionos.password_file = {:?}\nlauncher.url = {}\nlauncher.key_file = {:?}\ndrill.schedule = {:?}\ndrill.target = {}\ndrill.scratch = {:?}\ndrill.amcheck = {}\ndrill.verify = {}\ndrill.queries = {:?}\ndrill.database = {}\ndrill.reports = {}\ndrill.keep_reports = {}\ndrill.max_age = {:?}\ndrill.preload = {:?}\ndrill.timeout = {:?}\ncluster[0].id = {}\ncluster[0].pg1_path = {}\ncluster[0].options = {:?}\nremote = {:?}\n",
        cfg.api.url, cfg.api.key_file, cfg.api.concurrency, cfg.api.timeout, cfg.api.retries, cfg.api.token_lifetime, cfg.api.wait_timeout,
        cfg.pgbackrest.config.display(), cfg.pgbackrest.owner, cfg.pgbackrest.mode, cfg.pgbackrest.s3_key_type,
        cfg.daemon.max_backup_age, ionos.url, ionos.username, ionos.password_file, launcher.url, launcher.key_file,
        cfg.drill.schedule, cfg.drill.target, cfg.drill.scratch, cfg.drill.amcheck, cfg.drill.verify, cfg.drill.queries,
        cfg.drill.database, cfg.drill.reports.display(), cfg.drill.keep_reports, cfg.drill.max_age, cfg.drill.preload, cfg.drill.timeout,
        c.id, c.pg1_path.display(), c.options, cfg.remote
    );
    insta::assert_snapshot!(effective);
}

#[test]
fn defaults_when_almost_empty() {
    let cfg = config::parse("", Path::new("x.toml")).unwrap();
    assert_eq!(cfg.api.url.as_str(), "https://api.crunchybridge.com/");
    assert_eq!(
        cfg.pgbackrest.config,
        Path::new("/etc/pgbackrest/conf.d/bridgerest.conf")
    );
    assert_eq!(cfg.pgbackrest.mode, 0o600);
    assert!(cfg.clusters.is_empty());
}

fn err(text: &str) -> String {
    format!(
        "{:#}",
        config::parse(text, Path::new("b.toml")).unwrap_err()
    )
}

#[test]
fn bad_configs_name_what_is_wrong() {
    let cl = |extra: &str| {
        format!("[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"/x\"\n{extra}")
    };
    let cases: Vec<(String, &str)> = vec![
        (
            "[api]\nurl = \"http://api.crunchybridge.com\"\n".into(),
            "must use https://",
        ),
        (
            "[api]\nurl = \"http://127.0.0.1:8080\"\n[nope]\n".into(),
            "b.toml:3:2: unknown field `nope`",
        ),
        (
            "[pgbackrest]\nmode = \"0666\"\n".into(),
            "would let every user read",
        ),
        ("[pgbackrest]\nmode = \"rw\"\n".into(), "not an octal mode"),
        (
            "[drill]\nschedule = \"weekly\"\n".into(),
            "drill.schedule = \"weekly\": not a cron expression with seconds",
        ),
        (
            "[drill]\nscratch = \"/var/lib\"\n".into(),
            "drill.scratch = \"/var/lib\": ",
        ),
        (
            "[drill]\nscratch = \"drill\"\n".into(),
            "drill.scratch = \"drill\": must be an absolute path",
        ),
        (
            "[drill]\ntarget = \"soon\"\n".into(),
            "drill.target = \"soon\": ",
        ),
        (
            "[drill]\nqueries = [\"SELECT 1\", \" \"]\n".into(),
            "drill.queries[1] is empty",
        ),
        (
            "[drill]\nkeep_reports = 0\n".into(),
            "drill.keep_reports = 0: keep at least 1",
        ),
        (
            "[drill]\nverify_every = 0\n".into(),
            "drill.verify_every = 0: give 1 (verify the whole repository at each drill)",
        ),
        (
            "[drill]\nverify_every = -2\n".into(),
            ":2:16: invalid value: integer `-2`, expected u32",
        ),
        (
            "[drill]\npreload = [\"pg_cron,timescaledb\"]\n".into(),
            "drill.preload has \"pg_cron,timescaledb\": give library names",
        ),
        (
            "[drill]\ntimeout = \"0s\"\n".into(),
            "drill.timeout = \"0s\": must be longer than zero",
        ),
        ("[drill]\nmax_age = \"often\"\n".into(), "drill.max_age"),
        (
            "[drill]\nreport = \"/x\"\n".into(),
            "unknown field `report`",
        ),
        (
            "[pgbackrest]\nconfig = \"relative.conf\"\n".into(),
            "must be an absolute file path",
        ),
        (
            "[api]\ntimeout = \"soon\"\n".into(),
            "api.timeout = \"soon\" is not a duration",
        ),
        (
            "[[cluster]]\nid = \"RVF73A77OZFSVCTTRYEBFRNLEM\"\npg1_path = \"/x\"\n".into(),
            "not a Crunchy Bridge ID",
        ),
        (
            "[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\n".into(),
            "pg1_path is missing",
        ),
        (cl("") + &cl(""), "listed twice"),
        (
            cl("[cluster.options]\n\"Repo1 Path\" = \"x\"\n"),
            "not a pgBackRest option name",
        ),
        (
            cl("[cluster.options]\n\"pg1-path\" = \"/y\"\n"),
            "pg1-path is set both",
        ),
        (
            cl("[cluster.options]\n\"x\" = \"a\\nrepo1-type=posix\"\n"),
            "line break",
        ),
        (cl("[cluster.options]\n\"x\" = 1.5\n"), "float"),
        (cl("stanza = \"global\"\n"), "not a valid stanza name"),
        (
            "[daemon]\nschedule = \"*/20 * * * *\"\n".into(),
            "daemon.schedule = \"*/20 * * * *\": not a cron expression with seconds",
        ),
        (
            "[daemon]\nschedule = \"0 61 * * * *\"\n".into(),
            "not a cron expression with seconds (sec min hour day month weekday, UTC)",
        ),
        (
            "[daemon]\nrefresh_at = 0.95\n".into(),
            "must be between 0.05 and 0.9",
        ),
        (
            "[daemon]\nprometheus_textfile = \"/var/lib/node/bridgerest.txt\"\n".into(),
            "reads only files ending in .prom",
        ),
        (
            "[daemon]\nmax_backup_age = \"0s\"\n".into(),
            "daemon.max_backup_age = \"0s\": must be longer than zero",
        ),
        // Providers: each checks its own id; keys of a local restore only where one exists.
        (
            "[[cluster]]\nprovider = \"ionos\"\nid = \"rvf73a77ozfsvcttryebfrnlem\"\n".to_string(),
            "is not an IONOS DBaaS cluster ID (a UUID",
        ),
        (
            format!("[[cluster]]\nid = \"{IONOS}\"\npg1_path = \"/x\"\n"),
            "a UUID is an IONOS or Launcher id: add provider = \"ionos\" or \"launcher\"",
        ),
        (
            format!("[[cluster]]\nprovider = \"ionos\"\nid = \"{IONOS}\"\npg1_path = \"/x\"\n"),
            "pg1_path is set, but IONOS DBaaS hands out no repository credentials",
        ),
        (
            format!("[[cluster]]\nprovider = \"launcher\"\nid = \"{IONOS}\"\n"),
            "uses provider \"launcher\", but the config has no [launcher] section",
        ),
        (
            "[[cluster]]\nprovider = \"pgbackrest\"\nid = \"main\"\npg1_path = \"/var/lib/postgresql/15/main\"\n[cluster.options]\n\"Repo1 Path\" = \"/x\"\n".into(),
            "cluster main: option \"Repo1 Path\" is not a pgBackRest option name",
        ),
        (
            "[[cluster]]\nprovider = \"pgbackrest\"\nid = \"main\"\npg1_path = \"/var/lib/postgresql/15/main\"\n[cluster.options]\npg1-path = \"/x\"\n".into(),
            "cluster main: pg1-path is set both as pg1_path and in [cluster.options]",
        ),
        (
            "[[cluster]]\nprovider = \"pgbackrest\"\nid = \"../etc\"\npg1_path = \"/var/lib/postgresql/15/main\"\n".into(),
            "cluster id \"../etc\" is not a name for a self-managed pgBackRest repository",
        ),
        (
            "[[cluster]]\nprovider = \"pgbackrest\"\nid = \"main\"\n".into(),
            "cluster main: pg1_path is missing",
        ),
        (
            format!("[[cluster]]\nprovider = \"heroku\"\nid = \"{IONOS}\"\n"),
            "provider = \"heroku\": use \"bridge\" (the default), \"ionos\", \"launcher\" or \"pgbackrest\"",
        ),
        (
            "[launcher]\nkey_file = \"/k\"\n".into(),
            "[launcher] has no url",
        ),
        (
            "[launcher]\nurl = \"http://plane.lnchr.cloud/t\"\n".into(),
            "launcher.url \"http://plane.lnchr.cloud/t\" must use https://",
        ),
        (
            "[ionos]\nurl = \"https://me:pw@api.ionos.com/databases/postgresql\"\n".into(),
            "ionos.url contains a user name or password",
        ),
        (
            "[ionos]\npassword_file = \"/p\"\n".into(),
            "sets password_file but no username",
        ),
        (
            "[ionos]\nusername = \"a\"\ntoken_file = \"/t\"\n".into(),
            "use either a token (Bearer) or a user name and password (Basic)",
        ),
        (
            "[ionos]\nregion = \"de\"\n".into(),
            "unknown field `region`",
        ),
    ];
    for (text, want) in cases {
        let e = err(&text);
        assert!(
            e.contains(want),
            "config:\n{text}\nerror: {e}\nwanted: {want}"
        );
        assert!(!e.contains('\n'), "multi-line error: {e}");
    }
}

const IONOS: &str = "498ae72f-411f-11eb-9d07-046c59cc737e";

#[test]
fn provider_sections_and_clusters_resolve() {
    let cfg = config::parse(
        &format!(
            "[ionos]\nusername = \"ops@example.com\"\npassword_file = \"/etc/bridgerest/ionos-password\"\n\
             [launcher]\nurl = \"https://plane.lnchr.cloud/t1\"\nkey_file = \"/etc/bridgerest/launcher-key\"\n\
             [[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"/x\"\n\
             [[cluster]]\nprovider = \"ionos\"\nid = \"{IONOS}\"\n\
             [[cluster]]\nprovider = \"launcher\"\nid = \"0b7e4a52-8f3c-4d1e-9a2b-5c6d7e8f9a0b\"\n"
        ),
        Path::new("b.toml"),
    )
    .unwrap();
    let ionos = cfg.section_as::<config::IonosConfig>("ionos").unwrap();
    assert_eq!(ionos.url.as_str(), config::DEFAULT_IONOS_URL);
    assert!(ionos.section);
    assert_eq!(
        cfg.section_as::<config::LauncherConfig>("launcher")
            .unwrap()
            .url
            .as_str(),
        "https://plane.lnchr.cloud/t1"
    );
    assert_eq!(cfg.clusters.len(), 1);
    let kinds: Vec<_> = cfg.remote.iter().map(|r| r.provider.as_str()).collect();
    assert_eq!(kinds, ["ionos", "launcher"]);
    assert_eq!(
        cfg.daemon.max_backup_age,
        std::time::Duration::from_secs(26 * 3600)
    );
    // Without the sections: neither is there (IONOS's default URL is for an [ionos] without
    // one; Launcher has none).
    let bare = config::parse("", Path::new("b.toml")).unwrap();
    assert!(bare.section("ionos").is_none() && bare.section("launcher").is_none());
}

/// #30: a self-managed repository is either pgBackRest's own stanza (bridgerest writes nothing
/// for it) or `repo1-*` options in `[cluster.options]` (bridgerest writes its stanza from them,
/// after the clusters whose token it fetches).
#[test]
fn a_repository_in_cluster_options_is_one_whose_stanza_bridgerest_writes() {
    let cfg = config::parse(
        "[[cluster]]\nprovider = \"pgbackrest\"\nid = \"theirs\"\npg1_path = \"/a\"\n\
         [[cluster]]\nprovider = \"pgbackrest\"\nid = \"mine\"\npg1_path = \"/b\"\n\
         [cluster.options]\nrepo1-type = \"s3\"\nrepo1-s3-bucket = \"backups\"\n\
         [[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"/c\"\n",
        Path::new("b.toml"),
    )
    .unwrap();
    let written: Vec<_> = cfg
        .written()
        .into_iter()
        .map(|(c, from)| (c.id.as_str(), from))
        .collect();
    assert_eq!(
        written,
        [
            ("rvf73a77ozfsvcttryebfrnlem", config::StanzaFrom::Token),
            ("mine", config::StanzaFrom::Options)
        ]
    );
    assert!(cfg.writes_stanza("mine") && !cfg.writes_stanza("theirs"));
    assert_eq!(cfg.repos.len(), 2);
}

#[test]
fn eids() {
    assert!(config::is_eid("rvf73a77ozfsvcttryebfrnlem"));
    assert!(!config::is_eid("rvf73a77ozfsvcttryebfrnleb")); // last char outside the final set
    assert!(!config::is_eid("rvf73a77ozfsvcttryebfrnle"));
}

#[test]
fn drill_amcheck_takes_a_depth_or_a_switch() {
    use config::Amcheck;
    for (value, depth) in [
        ("", Amcheck::HeapAllIndexed),
        ("amcheck = true", Amcheck::HeapAllIndexed),
        ("amcheck = false", Amcheck::Off),
        ("amcheck = \"basic\"", Amcheck::Basic),
        ("amcheck = \"heapallindexed\"", Amcheck::HeapAllIndexed),
        ("amcheck = \"full\"", Amcheck::Full),
    ] {
        let cfg = config::parse(&format!("[drill]\n{value}\n"), Path::new("x.toml")).unwrap();
        assert_eq!(cfg.drill.amcheck, depth, "{value}");
    }
    assert_eq!(
        Amcheck::Full.options(),
        ["--heapallindexed", "--parent-check", "--rootdescend"]
    );
    let e = err("[drill]\namcheck = \"deep\"\n");
    assert!(e.contains("drill.amcheck = \"deep\": give \"basic\", \"heapallindexed\" (the default), \"full\", or false"), "{e}");
}

#[test]
fn drill_command_is_an_argv_with_an_absolute_program() {
    let cfg = config::parse(
        "[drill]\ncommand = [\"/usr/local/bin/smoke\", \"--quick\"]\n\n[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\npg1_path = \"/var/lib/postgresql/15/restore\"\ncommand = [\"/bin/sh\", \"-c\", \"psql -c 'SELECT 1'\"]\n",
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(
        cfg.drill.command.of("rvf73a77ozfsvcttryebfrnlem"),
        Some(
            &[
                "/bin/sh".to_string(),
                "-c".into(),
                "psql -c 'SELECT 1'".into()
            ][..]
        )
    );
    assert_eq!(
        cfg.drill.command.of("another"),
        Some(&["/usr/local/bin/smoke".to_string(), "--quick".into()][..])
    );
    assert_eq!(cfg.drill.command_timeout, config::DEFAULT_COMMAND_TIMEOUT);
    let none = config::parse("[drill]\ncommand_timeout = \"90s\"\n", Path::new("x.toml")).unwrap();
    assert_eq!(none.drill.command.of("any"), None);
    assert_eq!(
        none.drill.command_timeout,
        std::time::Duration::from_secs(90)
    );

    let e = err("[drill]\ncommand = \"smoke-test --quick\"\n");
    assert!(
        e.contains("drill.command = \"smoke-test --quick\": give an argv array, e.g. [\"/usr/local/bin/smoke-test\", \"--quick\"]; bridgerest runs no shell of its own, so for a shell line write [\"/bin/sh\", \"-c\", \"smoke-test --quick\"]"),
        "{e}"
    );
    let e = err("[drill]\ncommand = [\"smoke-test\"]\n");
    assert!(
        e.contains("drill.command: the program \"smoke-test\" is not an absolute path: give its full path (e.g. /usr/local/bin/smoke-test)"),
        "{e}"
    );
    let e = err("[drill]\ncommand = []\n");
    assert!(e.contains("drill.command = []: give the program"), "{e}");
    let e = err("[[cluster]]\nid = \"rvf73a77ozfsvcttryebfrnlem\"\ncommand = [\"./check\"]\n");
    assert!(
        e.contains("cluster rvf73a77ozfsvcttryebfrnlem: command: the program \"./check\" is not an absolute path"),
        "{e}"
    );
    let e = err("[drill]\ncommand = [\"/bin/true\"]\ncommand_timeout = \"0s\"\n");
    assert!(
        e.contains("drill.command_timeout = \"0s\": must be longer than zero"),
        "{e}"
    );
}
