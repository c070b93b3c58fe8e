//! The fleet recipes under contrib/: the Kubernetes manifests (no Kubernetes API server can run
//! on these machines, so they are validated strictly against Kubernetes' own schemas with
//! PyPI's kubernetes-validate, which .ci/run installs) and the config they carry, which the
//! real binary loads and shards as the manifest's workers would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

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
    std::fs::write(&bad, text.replace("backoffLimitPerIndex:", "backofLimitPerIndex:")).unwrap();
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
            .args(["drill", "--all", "--shard-count", &completions.to_string(), "--list"])
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env_remove("BRIDGEREST_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        let mut lines = stdout.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with(&format!("shard {index}/{completions} (from JOB_COMPLETION_INDEX)")),
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
