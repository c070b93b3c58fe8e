//! `bridgerest-sim`: the provider API simulator (Crunchy Bridge at the root, IONOS DBaaS under
//! /ionos, Launcher under `/launcher/<tenant>`), and the quick-start demo that runs the real
//! `bridgerest` binary against it. Doc comments on the arguments are the `--help` text.
#![allow(rustdoc::invalid_html_tags)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use bridgerest::sim::{
    describe_credentials, quick_start_state, RealPostgres, Sim, SimHandle, SimState,
    QUICK_START_KEY,
};

/// A local simulator of the Crunchy Bridge, IONOS DBaaS and Launcher APIs (no account needed).
#[derive(Debug, Parser)]
#[command(name = "bridgerest-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the API on a loopback address until interrupted.
    ///
    /// Prints `listening on http://ADDR` as its first line, then where each API is (Crunchy
    /// Bridge at http://ADDR, IONOS DBaaS at http://ADDR/ionos, Launcher at
    /// http://ADDR/launcher/<tenant>), the credentials each accepts and its cluster ids. Without
    /// --state it serves the quick start's sample, the one `bridgerest-sim demo` uses, so the
    /// config the demo prints works against it. Faults can be switched at run time with
    /// `PUT /_sim/faults` (a JSON list), and `GET /_sim/stats` counts requests.
    Serve {
        /// JSON state file (api_keys, clusters, faults, latency_ms); the quick start's sample
        /// if unset.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Add this many S3 clusters to the sample state.
        #[arg(long, default_value_t = 0)]
        extra_clusters: usize,
        /// Delay every answer by this many milliseconds.
        #[arg(long)]
        latency_ms: Option<u64>,
        /// The API key the sample state accepts (made up: it opens nothing but the simulator).
        #[arg(long, default_value = QUICK_START_KEY)]
        api_key: String,
        /// Make every cluster a restore creates a real PostgreSQL 15 (Debian's, run as
        /// postgres; run this as root) on its own loopback address, port 5432, with TLS, under
        /// this directory (made 0755 if missing; no one else may write it). Stopped and removed
        /// when the cluster is deleted and when the simulator ends (Ctrl-C).
        #[arg(long, value_name = "DIR")]
        real_postgres: Option<PathBuf>,
    },
    /// Run bridgerest against a fresh simulator: render the config, list the backups.
    Demo,
}

fn main() -> ExitCode {
    bridgerest::init_tls();
    let cli = Cli::parse();
    let res = match cli.command {
        Cmd::Serve {
            state,
            listen,
            extra_clusters,
            latency_ms,
            api_key,
            real_postgres,
        } => serve(
            state,
            &listen,
            extra_clusters,
            latency_ms,
            &api_key,
            real_postgres,
        ),
        Cmd::Demo => demo(),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(
    state: Option<PathBuf>,
    listen: &str,
    extra: usize,
    latency: Option<u64>,
    key: &str,
    real_postgres: Option<PathBuf>,
) -> Result<()> {
    let mut st: SimState = match &state {
        Some(p) => serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("parsing simulator state {}", p.display()))?,
        None => quick_start_state(key, extra),
    };
    if let Some(l) = latency {
        st.latency_ms = l;
    }
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen}: not an address"))?;
    if !addr.ip().is_loopback() {
        bail!("--listen {listen}: the simulator only listens on loopback addresses");
    }
    let mut sim = Sim::new(st.clone());
    if let Some(root) = real_postgres {
        sim = sim
            .with_real_postgres(RealPostgres::debian(root))
            .context("--real-postgres")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let addr = listener.local_addr()?;
        // One write: a reader that takes the first line and closes the pipe (as scripts and
        // tests do) must not make a later line fail.
        let url = format!("http://{addr}");
        let text = format!("listening on {url}\n{}", describe_credentials(&st, &url));
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        sim.serve(listener, shutdown).await.context("serving")
    })
}

fn demo() -> Result<()> {
    let exe = std::env::current_exe()?;
    let bridgerest = exe.with_file_name("bridgerest");
    if !bridgerest.exists() {
        bail!(
            "{} not found: build both binaries first (cargo build --release)",
            bridgerest.display()
        );
    }
    let state = quick_start_state(QUICK_START_KEY, 0);
    let (ionos_user, ionos_password, launcher_tenant, launcher_key) = {
        let (i, l) = (
            state.ionos.as_ref().context("sample IONOS state")?,
            state.launcher.as_ref().context("sample Launcher state")?,
        );
        (
            i.username.clone(),
            i.password.clone(),
            l.tenant.clone(),
            l.keys.first().cloned().unwrap_or_default(),
        )
    };
    // The quick start's sample, as `bridgerest-sim serve` serves it: the GCS cluster's token
    // carries no credential (as Bridge documents it), the config names the service-account key.
    let sim = SimHandle::start(state)?;
    // Kept after the demo, so the files it wrote can be opened.
    let dir = tempfile::Builder::new()
        .prefix("bridgerest-demo.")
        .tempdir()?
        .keep();
    let key_file = dir.join("api-key");
    for (file, secret) in [
        (&key_file, QUICK_START_KEY),
        (&dir.join("ionos-password"), ionos_password.as_str()),
        (&dir.join("launcher-key"), launcher_key.as_str()),
    ] {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(file)?
            .write_all(secret.as_bytes())?;
    }
    let out = dir.join("conf.d").join("bridgerest.conf");
    std::fs::create_dir(dir.join("conf.d"))?;
    let main_config = dir.join("pgbackrest.conf");
    std::fs::write(&main_config, "")?;
    let config = dir.join("bridgerest.toml");
    std::fs::write(
        &config,
        format!(
            r#"[api]
url = "{url}"
key_file = "{key}"

[ionos]
url = "{url}/ionos"
username = "{ionos_user}"
password_file = "{dir}/ionos-password"

[launcher]
url = "{url}/launcher/{launcher_tenant}"
key_file = "{dir}/launcher-key"

[pgbackrest]
config = "{out}"
main_config = "{main}"
include_path = "{include}"

[daemon]
status_file = "{dir}/status.json"

[[cluster]]
id = "rvf73a77ozfsvcttryebfrnlem"     # s3
pg1_path = "/var/lib/postgresql/15/production"

[[cluster]]
id = "drsve2t4f5e5znkmef6hmchy2e"     # azure (SAS)
pg1_path = "/var/lib/postgresql/15/analytics"

[[cluster]]
id = "p56biajnfvgjhftvqs7lqymspe"     # gcs: its token carries no credential
pg1_path = "/var/lib/postgresql/15/staging"
[cluster.options]
"process-max" = 4
"repo1-gcs-key-type" = "service"
"repo1-gcs-key" = "{gcs_key}"

[[cluster]]
provider = "ionos"                    # restored at the provider only
id = "498ae72f-411f-11eb-9d07-046c59cc737e"

[[cluster]]
provider = "launcher"                 # restored at the provider only
id = "0b7e4a52-8f3c-4d1e-9a2b-5c6d7e8f9a0b"
"#,
            url = sim.url(),
            key = key_file.display(),
            out = out.display(),
            main = main_config.display(),
            include = dir.join("conf.d").display(),
            gcs_key = dir.join("gcs-key.json").display(),
            dir = dir.display(),
        ),
    )?;
    println!(
        "# The built-in simulator of the Crunchy Bridge, IONOS DBaaS and Launcher APIs runs at\n# {}; bridgerest's config for it is {}:\n",
        sim.url(),
        config.display()
    );
    println!("{}", std::fs::read_to_string(&config)?);
    println!(
        "# 1. The clusters the credentials can see: Crunchy Bridge (every team), IONOS, Launcher\n#    (their ids go into [[cluster]])."
    );
    run(&bridgerest, &config, &["clusters"])?;
    println!("# 2. A cluster's backups, every page: a Bridge cluster's, then an IONOS cluster's\n#    backup chains (IONOS lists chains of base backups and WAL, not single backups).");
    run(
        &bridgerest,
        &config,
        &["backups", "rvf73a77ozfsvcttryebfrnlem"],
    )?;
    run(
        &bridgerest,
        &config,
        &["backups", "498ae72f-411f-11eb-9d07-046c59cc737e"],
    )?;
    // "As it was at 09:14 yesterday": the plan and the exact pgBackRest command (a dry run:
    // there is no repository behind the simulator's credentials).
    let today = time::OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let target = today - time::Duration::days(1) + time::Duration::minutes(9 * 60 + 14);
    let target = bridgerest::when::rfc3339(target);
    let restore_dir = dir.join("restore").display().to_string();
    println!("# 3. A restore of the S3 cluster as it was at 09:14 yesterday, planned (--dry-run): the\n#    window, the backup chosen, and the exact pgbackrest command.");
    let me = bridgerest::fsutil::current_user_name();
    run(
        &bridgerest,
        &config,
        &[
            "restore",
            "--cluster",
            "rvf73a77ozfsvcttryebfrnlem",
            "--target-time",
            &target,
            "--pg1-path",
            &restore_dir,
            "--user",
            &me,
            "--dry-run",
        ],
    )?;
    println!("# 4. The same time, restored at the provider: the Launcher database into a new one\n#    (pitr-clone), followed until it is ready. (IONOS: a cluster from its backup chain;\n#    Bridge: a fork. `--dry-run` shows the request without sending it.)");
    run(
        &bridgerest,
        &config,
        &[
            "restore",
            "--cluster",
            "0b7e4a52-8f3c-4d1e-9a2b-5c6d7e8f9a0b",
            "--target-time",
            &target,
            "--into",
            "billing-as-of-yesterday",
        ],
    )?;
    println!("# 5. Fresh backup tokens for every Bridge cluster, written as pgBackRest stanzas (S3,\n#    Azure, GCS). IONOS and Launcher hand out none: they restore at the provider.");
    run(&bridgerest, &config, &["refresh"])?;
    println!("# 6. What refresh writes, secrets shown as [redacted] (`render --show-secrets` shows them).");
    run(&bridgerest, &config, &["render"])?;
    println!(
        "# The files are kept in {d}: bridgerest.toml (the config), conf.d/bridgerest.conf\n# (the stanzas; it holds the simulator's made-up secrets, mode 0600), status.json (what\n# `bridgerest status` reads). Remove them with\n#   rm -r {d}",
        d = dir.display()
    );
    println!(
        "#\n# This simulator stops with the demo. `bridgerest-sim serve` serves the same clusters and\n# accepts the same credentials: with its address in the config, the config works against it\n# (`check --no-repository`: the simulator's stores are not real ones):\n#   sed -i 's|{url}|http://ADDR|' {config}\n#   bridgerest --config {config} check --no-repository",
        url = sim.url(),
        config = config.display()
    );
    Ok(())
}

fn run(bin: &Path, config: &Path, args: &[&str]) -> Result<()> {
    println!("$ bridgerest {}", args.join(" "));
    let status = std::process::Command::new(bin)
        .arg("--config")
        .arg(config)
        .args(args)
        .status()?;
    println!();
    if !status.success() {
        bail!("bridgerest {} failed ({status})", args.join(" "));
    }
    Ok(())
}
