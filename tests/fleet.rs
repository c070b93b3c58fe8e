//! The fleet recipes under contrib/: the Slurm job array, run for real (Debian's slurmctld,
//! slurmd and munge, started by the test on 127.0.0.1), over the simulator's clusters and over
//! a fleet with real pgBackRest repositories on the real S3 stack (tests/real_stores/fleet.rs),
//! its results pushed to Debian's Pushgateway; and the Kubernetes manifests (no
//! Kubernetes API server can run on these machines, so they are validated strictly against
//! Kubernetes' own schemas with PyPI's kubernetes-validate, which .ci/run installs) and the
//! config they carry, which the real binary loads and shards as the manifest's workers would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod real_stores;
mod sim_only;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use real_stores::pg::{Kind, World};
use sim_only::pushgateway::Gateway;
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

/// A job array of the shipped script, finished.
struct Array {
    /// `sbatch --wait`'s own result: a failure when any task failed.
    run: std::process::Output,
    /// Each task's output file (its stdout and stderr).
    outputs: Vec<String>,
    /// What an assertion shows: the above and slurmd's log.
    context: String,
}

impl Slurm {
    /// Runs contrib/slurm/bridgerest-drill.sbatch as an array of `tasks` (each given `mem`)
    /// over `config` with this build's binary, and waits for it.
    fn array(&self, tasks: usize, mem: &str, config: &Path) -> Array {
        let out_dir = self.dir.path().join("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/slurm/bridgerest-drill.sbatch");
        let run = self
            .client("sbatch")
            .args(["--wait", &format!("--array=0-{}", tasks - 1), "--time=15"])
            .arg(format!("--mem={mem}"))
            .arg(format!("--output={}/task-%a.out", out_dir.display()))
            .arg(&script)
            .env("BRIDGEREST", env!("CARGO_BIN_EXE_bridgerest"))
            .env("BRIDGEREST_CONFIG", config)
            .env_remove("BRIDGEREST_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        let outputs: Vec<String> = (0..tasks)
            .map(|i| {
                std::fs::read_to_string(out_dir.join(format!("task-{i}.out"))).unwrap_or_default()
            })
            .collect();
        let context = format!(
            "{run:?}\n{}\n--- slurmd ---\n{}",
            outputs.join("\n---\n"),
            std::fs::read_to_string(self.dir.path().join("log/slurmd.log")).unwrap_or_default()
        );
        Array {
            run,
            outputs,
            context,
        }
    }

    /// Each task's exit code as Slurm recorded it (`scontrol show job`'s `ExitCode`, e.g.
    /// `1:0`), by task index.
    fn exit_codes(&self, array: &Array) -> BTreeMap<usize, String> {
        let job = String::from_utf8_lossy(&array.run.stdout)
            .split_whitespace()
            .last()
            .unwrap_or_else(|| panic!("no job id: {}", array.context))
            .to_string();
        let show = self
            .client("scontrol")
            .args(["-o", "show", "job", &job])
            .output()
            .unwrap();
        let show = String::from_utf8_lossy(&show.stdout).into_owned();
        show.lines()
            .filter_map(|line| {
                let field = |k: &str| line.split_whitespace().find_map(|f| f.strip_prefix(k));
                Some((
                    field("ArrayTaskId=")?.parse().ok()?,
                    field("ExitCode=")?.to_string(),
                ))
            })
            .collect()
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
    // Two tasks of the shipped script, waited for; each drill fails its connection (the plain
    // simulator's copies are no servers), so each task exits 1.
    let array = slurm.array(2, "512M", &env.config);
    assert!(!array.run.status.success(), "{}", array.context);
    let mut drilled = Vec::new();
    for (i, text) in array.outputs.iter().enumerate() {
        assert!(
            text.contains(&format!(
                "drill:     shard {i}/2 (from SLURM_ARRAY_TASK_ID)"
            )),
            "{}",
            array.context
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

/// Issue 32 item 6: the shipped script as a job array of 3 over 6 Bridge clusters with real
/// pgBackRest repositories on the S3 stack, one of them broken (a file of its backup removed
/// from the store), each drill's series pushed to a Pushgateway with basic auth. Every cluster is
/// drilled by exactly one task (the share `drill --all --shard I/3 --list` names), only the
/// broken cluster fails and only its task exits 1, the Pushgateway holds every cluster's group,
/// and the local reports say ok for all but the broken one.
#[test]
fn the_slurm_job_array_drills_a_fleet_of_real_repositories_and_only_the_broken_cluster_fails() {
    const CLUSTERS: usize = 6;
    const TASKS: usize = 3;
    let w = World::fleet(Kind::S3, CLUSTERS);
    let broken = w.members[CLUSTERS / 2].clone();
    let removed = w.break_member(&broken);
    let ids: Vec<String> = w.members.iter().map(|m| m.id.clone()).collect();

    // The Pushgateway, its password in a file only root reads.
    let password = "fleet-push-password-of-the-test";
    let gw = Gateway::start(w.dir.dir.path(), "drills", password);
    gw.configure(&w.config, &w.dir.path("push-password"));
    // The reports bucket: a bucket and a user of their own on the same S3 stack, the user's
    // key in a 0600 file of secret options.
    let (writer, endpoint) = w.store.reports_bucket("fleet-reports").unwrap();
    let secrets = w.dir.path("reports-store");
    std::fs::write(
        &secrets,
        format!(
            "aws_access_key_id = \"{}\"\naws_secret_access_key = \"{}\"\n",
            writer.key, writer.secret
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &secrets,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let text = std::fs::read_to_string(&w.config).unwrap().replacen(
        "[drill]\n",
        &format!(
            "[drill]\nreports_url = \"s3://fleet-reports/weekly\"\nreports_secrets_file = \"{}\"\nreports_ca_file = \"{}\"\nreports_options = {{ aws_endpoint = \"{endpoint}\", aws_region = \"us-east-1\" }}\n",
            secrets.display(),
            w.tls.ca.display()
        ),
        1,
    );
    std::fs::write(&w.config, text).unwrap();

    // Each task's share, as the real binary computes it: disjoint, together every cluster.
    let shares: Vec<Vec<String>> = (0..TASKS)
        .map(|i| {
            let (code, out, err) = w.bridgerest(&[
                "drill",
                "--all",
                "--shard",
                &format!("{i}/{TASKS}"),
                "--list",
            ]);
            assert_eq!(code, 0, "{out}{err}");
            out.lines().skip(1).map(str::to_string).collect()
        })
        .collect();
    let mut listed: Vec<String> = shares.concat();
    listed.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(listed, all, "the shares are disjoint and complete");
    let broken_task = shares.iter().position(|s| s.contains(&broken.id)).unwrap();

    let slurm = Slurm::start();
    let array = slurm.array(TASKS, "1G", &w.config);
    let (outputs, context) = (&array.outputs, &array.context);
    // One task failed, so the array did.
    assert!(!array.run.status.success(), "{context}");
    for o in outputs {
        w.transcript.push(o);
    }
    w.assert_no_secrets();
    assert!(outputs.iter().all(|o| !o.contains(password)), "{context}");

    // Each task drilled its share, every cluster exactly once; only the broken one failed.
    let mut drilled: BTreeMap<String, usize> = BTreeMap::new();
    for (i, text) in outputs.iter().enumerate() {
        assert!(
            text.contains(&format!(
                "drill:     shard {i}/{TASKS} (from SLURM_ARRAY_TASK_ID): {} cluster(s)",
                shares[i].len()
            )),
            "task {i}: {context}"
        );
        let mut mine = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("drill:     cluster ") else {
                continue;
            };
            let id = rest.split_whitespace().next().unwrap().to_string();
            // Drilled ("cluster ID (stanza S): ok"), not "cluster ID not drilled: ...".
            let verdict = if id == broken.id { "FAILED" } else { "ok" };
            assert!(
                line.ends_with(&format!("): {verdict}")),
                "{line}\n{context}"
            );
            *drilled.entry(id.clone()).or_default() += 1;
            mine.push(id);
        }
        let mut want = shares[i].clone();
        want.sort();
        mine.sort();
        assert_eq!(mine, want, "task {i} drilled its share: {context}");
    }
    assert_eq!(
        drilled.keys().cloned().collect::<Vec<_>>(),
        all,
        "{context}"
    );
    assert!(drilled.values().all(|n| *n == 1), "{drilled:?}");

    // The tasks' exit codes as Slurm recorded them: 1 for the broken cluster's task alone.
    let codes = slurm.exit_codes(&array);
    let want: BTreeMap<usize, String> = (0..TASKS)
        .map(|i| (i, if i == broken_task { "1:0" } else { "0:0" }.to_string()))
        .collect();
    assert_eq!(codes, want, "{context}");
    let text = &outputs[broken_task];
    assert!(
        text.contains(&format!(
            "drill:     1 of the {} failed or were not drilled: {}",
            shares[broken_task].len(),
            broken.id
        )),
        "{context}"
    );

    // The local reports: one per cluster, ok for all but the broken one, whose restore failed.
    let reports: Vec<serde_json::Value> = std::fs::read_dir(w.dir.path("state/drills"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect();
    let mut reported: Vec<&str> = reports
        .iter()
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    reported.sort();
    assert_eq!(reported, all, "one report per cluster");
    for r in &reports {
        let id = r["cluster"].as_str().unwrap();
        assert_eq!(r["ok"], id != broken.id, "{r:#}");
        if id == broken.id {
            let restore = r["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "restore")
                .unwrap_or_else(|| panic!("no restore check: {r:#}"));
            assert_eq!(restore["ok"], false, "{removed} is gone: {r:#}");
        }
    }

    // The Pushgateway: one group per cluster (job="bridgerest_drill", cluster=<id>), each with
    // its drill's verdict.
    let api: serde_json::Value = serde_json::from_str(&gw.get("/api/v1/metrics")).unwrap();
    let mut groups: Vec<String> = api["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["labels"]["job"] == "bridgerest_drill")
        .map(|g| g["labels"]["cluster"].as_str().unwrap().to_string())
        .collect();
    groups.sort();
    assert_eq!(groups, all, "{api:#}");
    let m = gw.metrics();
    for id in &ids {
        let success = format!(
            "bridgerest_drill_success{{cluster=\"{id}\",instance=\"\",job=\"bridgerest_drill\"}} {}",
            u8::from(*id != broken.id)
        );
        assert!(m.contains(&success), "{success}\n{m}");
        assert!(
            m.contains(&format!(
                "push_time_seconds{{cluster=\"{id}\",instance=\"\",job=\"bridgerest_drill\"}}"
            )),
            "{m}"
        );
    }

    // The bucket holds every task's reports: `drills --from` reads one per cluster, ok for all
    // but the broken one, whichever task drilled it.
    let (code, out, err) = w.bridgerest(&["drills", "--from", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(&writer.secret) && !err.contains(&writer.secret));
    let fleet: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let mut from_bucket: Vec<(String, bool)> = fleet
        .iter()
        .map(|r| {
            (
                r["cluster"].as_str().unwrap().to_string(),
                r["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    from_bucket.sort();
    let want: Vec<(String, bool)> = all
        .iter()
        .map(|id| (id.clone(), *id != broken.id))
        .collect();
    assert_eq!(from_bucket, want, "{out}");
    for o in outputs {
        assert!(
            o.contains("report:    s3://fleet-reports/weekly/"),
            "{context}"
        );
    }

    // Every copy was removed; the default scratch root keeps no directory of this fleet's.
    for m in &w.members {
        let scratch = Path::new("/var/lib/bridgerest/drill").join(&m.stanza);
        assert!(!scratch.exists(), "{} is left", scratch.display());
    }
}
