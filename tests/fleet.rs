//! The fleet recipes under contrib/: the Slurm job array, run for real (Debian's slurmctld,
//! slurmd and munge, started by the test on 127.0.0.1), and the Kubernetes manifests (no
//! Kubernetes API server can run on these machines, so they are validated strictly against
//! Kubernetes' own schemas with PyPI's kubernetes-validate, which .ci/run installs) and the
//! config they carry, which the real binary loads and shards as the manifest's workers would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use std::path::{Path, PathBuf};
use std::process::Command;

use sim_only::*;

fn tools() -> PathBuf {
    std::env::var_os("BRIDGEREST_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/opt/bridgerest-test-tools".into())
}

fn kubernetes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/kubernetes")
}

/// `kubernetes-validate --strict` of `files` against Kubernetes `version`.
fn validate(version: &str, files: &[PathBuf]) -> (bool, String) {
    let bin = tools().join("venv/bin/kubernetes-validate");
    assert!(
        bin.exists(),
        "{} not found: {}/venv/bin/pip install kubernetes-validate (or bash .ci/run)",
        bin.display(),
        tools().display()
    );
    let out = Command::new(bin)
        .args(["--strict", "-k", version])
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(kubernetes())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_kubernetes_manifests_pass_strict_validation_and_a_typo_does_not() {
    let files = manifests();
    assert_eq!(files.len(), 3, "{files:?}");
    // Indexed Jobs with backoffLimitPerIndex are GA from 1.33; the newest the tool knows too.
    for version in ["1.33.0", "1.37.0"] {
        let (ok, out) = validate(version, &files);
        assert!(ok, "{version}: {out}");
        assert_eq!(out.matches(" passed for resource ").count(), 3, "{out}");
    }
    // Strict: a field the schema does not have is refused (the check can fail).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cronjob.yaml");
    let text = std::fs::read_to_string(kubernetes().join("cronjob.yaml")).unwrap();
    std::fs::write(
        &bad,
        text.replace("backoffLimitPerIndex:", "backofLimitPerIndex:"),
    )
    .unwrap();
    let (ok, out) = validate("1.33.0", &[bad]);
    assert!(!ok, "{out}");
    assert!(out.contains("backofLimitPerIndex"), "{out}");
    // What the design rests on.
    for want in [
        "completionMode: Indexed",
        "concurrencyPolicy: Forbid",
        "backoffLimitPerIndex: 1",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "ttlSecondsAfterFinished:",
        "activeDeadlineSeconds:",
        "sizeLimit:",
    ] {
        assert!(text.contains(want), "{want}");
    }
}

#[test]
fn the_configmaps_config_loads_and_the_jobs_workers_split_its_clusters() {
    let python = tools().join("venv/bin/python");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridgerest.toml");
    // The ConfigMap's bridgerest.toml, as the pod would see it mounted.
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys, yaml; open(sys.argv[2], 'w').write(yaml.safe_load(open(sys.argv[1]))['data']['bridgerest.toml'])",
        ])
        .arg(kubernetes().join("configmap.yaml"))
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let cronjob = std::fs::read_to_string(kubernetes().join("cronjob.yaml")).unwrap();
    let completions: u32 = cronjob
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        cronjob.contains(&format!("\"--shard-count\", \"{completions}\"")),
        "completions and --shard-count differ"
    );
    // Each worker's share, as JOB_COMPLETION_INDEX gives it: together every cluster, once.
    let mut all = Vec::new();
    for index in 0..completions {
        let out = Command::new(env!("CARGO_BIN_EXE_bridgerest"))
            .args(["--config"])
            .arg(&config)
            .args([
                "drill",
                "--all",
                "--shard-count",
                &completions.to_string(),
                "--list",
            ])
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env_remove("BRIDGEREST_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        let mut lines = stdout.lines();
        assert!(
            lines.next().unwrap().starts_with(&format!(
                "shard {index}/{completions} (from JOB_COMPLETION_INDEX)"
            )),
            "{stdout}"
        );
        all.extend(lines.map(str::to_string));
    }
    all.sort();
    assert_eq!(
        all,
        ["drsve2t4f5e5znkmef6hmchy2e", "rvf73a77ozfsvcttryebfrnlem"]
    );
}

/// A Slurm of one node on 127.0.0.1 (munged, slurmctld, slurmd, as fleet-engines.md sets them
/// up), in a directory of its own; stopped by the pids they wrote when dropped.
struct Slurm {
    dir: tempfile::TempDir,
}

impl Slurm {
    fn start() -> Slurm {
        for bin in [
            "/usr/sbin/slurmctld",
            "/usr/sbin/slurmd",
            "/usr/sbin/munged",
            "/usr/bin/sbatch",
        ] {
            assert!(
                Path::new(bin).exists(),
                "{bin} not found: apt-get install slurmctld slurmd slurm-client munge (or bash .ci/run)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        set_mode(d, 0o755);
        for (sub, owner) in [
            ("state", "slurm"),
            ("spool", "slurm"),
            ("run", "slurm"),
            ("log", "slurm"),
            ("munge", "munge"),
        ] {
            std::fs::create_dir(d.join(sub)).unwrap();
            let st = Command::new("chown")
                .arg(owner)
                .arg(d.join(sub))
                .status()
                .unwrap();
            assert!(st.success());
        }
        let port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let p = |sub: &str| d.join(sub).display().to_string();
        std::fs::write(
            d.join("slurm.conf"),
            format!(
                "ClusterName=drilltest\nSlurmctldHost={host}(127.0.0.1)\nSlurmUser=slurm\nSlurmctldPort={}\nSlurmdPort={}\nAuthType=auth/munge\nAuthInfo=socket={}\nStateSaveLocation={}\nSlurmdSpoolDir={}\nSlurmctldPidFile={}\nSlurmdPidFile={}\nSlurmctldLogFile={}\nSlurmdLogFile={}\nProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\nJobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\nNodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN\nPartitionName=drills Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
                port(),
                port(),
                p("munge/munge.socket.2"),
                p("state"),
                p("spool"),
                p("run/slurmctld.pid"),
                p("run/slurmd.pid"),
                p("log/slurmctld.log"),
                p("log/slurmd.log"),
            ),
        )
        .unwrap();
        let slurm = Slurm { dir };
        let run = |cmd: &mut Command| {
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{cmd:?}: {out:?}");
        };
        run(Command::new("runuser")
            .args(["-u", "munge", "--", "/usr/sbin/munged"])
            .args([
                format!("--socket={}", p("munge/munge.socket.2")),
                format!("--pid-file={}", p("munge/munged.pid")),
                format!("--log-file={}", p("munge/munged.log")),
                format!("--seed-file={}", p("munge/seed")),
            ]));
        run(Command::new("/usr/sbin/slurmctld")
            .arg("-f")
            .arg(d.join("slurm.conf")));
        run(Command::new("/usr/sbin/slurmd")
            .arg("-f")
            .arg(d.join("slurm.conf")));
        let t0 = std::time::Instant::now();
        loop {
            let out = slurm
                .client("sinfo")
                .args(["-h", "-o", "%t"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).trim() == "idle" {
                break;
            }
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(30),
                "the node never became idle: {out:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        slurm
    }

    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.dir.path().join("slurm.conf"));
        c
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        for pid in ["run/slurmd.pid", "run/slurmctld.pid", "munge/munged.pid"] {
            if let Ok(p) = std::fs::read_to_string(self.dir.path().join(pid)) {
                let _ = Command::new("kill").arg(p.trim()).status();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn the_slurm_job_array_drills_every_cluster_exactly_once_across_its_tasks() {
    let mut st = bridgerest::sim::sample_state(KEY, 0);
    st.restore_ms = 200;
    st.delete_ms = 200;
    let env = Env::with_state(st);
    let reports = env.path("reports");
    std::fs::write(
        &env.config,
        env.providers_config(&format!(
            "\n[drill]\nat_provider = true\namcheck = false\nreports = \"{}\"\n",
            reports.display()
        )),
    )
    .unwrap();
    let slurm = Slurm::start();
    let out_dir = slurm.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/slurm/bridgerest-drill.sbatch");
    // Two tasks of the shipped script, waited for; each drill fails its connection (the plain
    // simulator's copies are no servers), so each task exits 1.
    let run = slurm
        .client("sbatch")
        .args(["--wait", "--array=0-1", "--time=10", "--mem=512M"])
        .arg(format!("--output={}/task-%a.out", out_dir.display()))
        .arg(&script)
        .env("BRIDGEREST", env!("CARGO_BIN_EXE_bridgerest"))
        .env("BRIDGEREST_CONFIG", &env.config)
        .env_remove("BRIDGEREST_API_KEY")
        .output()
        .unwrap();
    let said =
        |i: u32| std::fs::read_to_string(out_dir.join(format!("task-{i}.out"))).unwrap_or_default();
    assert!(!run.status.success(), "{run:?}\n{}\n{}", said(0), said(1));
    let mut drilled = Vec::new();
    for i in 0..2 {
        let text = said(i);
        assert!(
            text.contains(&format!(
                "drill:     shard {i}/2 (from SLURM_ARRAY_TASK_ID)"
            )),
            "{text}\n{run:?}\n{}",
            std::fs::read_to_string(slurm.dir.path().join("log/slurmd.log")).unwrap_or_default()
        );
        drilled.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("drill:     cluster "))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string),
        );
    }
    drilled.sort();
    let mut both = vec![IONOS_CLUSTER.to_string(), LAUNCHER_DB.to_string()];
    both.sort();
    assert_eq!(drilled, both, "each cluster by exactly one task");
    // One report per cluster, each copy deleted.
    let files: Vec<_> = std::fs::read_dir(&reports).unwrap().flatten().collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in files {
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
        assert_eq!(rep["at_provider"]["deleted"], true, "{rep:#}");
    }
}

/// The Nomad job file parsed as HCL (PyPI's python-hcl2, which .ci/run installs), as JSON; or
/// the parser's complaint.
fn nomad_hcl(path: &Path) -> Result<serde_json::Value, String> {
    let out = Command::new(tools().join("venv/bin/python"))
        .args([
            "-c",
            "import hcl2, json, sys; print(json.dumps(hcl2.load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    match out.status.success() {
        true => Ok(serde_json::from_slice(&out.stdout).unwrap()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

#[test]
fn the_nomad_job_is_hcl_whose_count_matches_the_shard_count() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/nomad/bridgerest-drill.nomad.hcl");
    let job = nomad_hcl(&path).unwrap_or_else(|e| {
        panic!(
            "{e} (python-hcl2: {}/venv/bin/pip install python-hcl2, or bash .ci/run)",
            tools().display()
        )
    });
    // python-hcl2 keeps string literals quoted.
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").trim_matches('"').to_string();
    let job = &job["job"][0]["\"bridgerest-drill\""];
    assert_eq!(s(&job["type"]), "batch", "{job:#}");
    assert_eq!(job["periodic"][0]["prohibit_overlap"], true);
    let group = &job["group"][0]["\"drill\""];
    let task = &group["task"][0]["\"drill\""];
    let args: Vec<String> = task["config"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert!(
        args.ends_with(&["drill".to_string(), "--all".to_string()]),
        "{args:?}"
    );
    let count = group["count"].as_u64().unwrap();
    assert_eq!(
        s(&task["env"][0]["BRIDGEREST_SHARD_COUNT"]),
        count.to_string(),
        "count and the shard count differ"
    );
    assert!(
        task.get("kill_timeout").is_some(),
        "SIGTERM time for the copy's cleanup"
    );
    // A syntax error is one (the check can fail).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.nomad.hcl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &bad,
        text.replacen("group \"drill\" {", "group \"drill\" {{", 1),
    )
    .unwrap();
    assert!(nomad_hcl(&bad).is_err());
}
