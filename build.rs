//! Names the commit in `--version` and `bridgerest version`: `BRIDGEREST_VERSION` is
//! "0.1.0 (commit 4505df9c1a2b)" when built from a git checkout, or when `BRIDGEREST_COMMIT`
//! is set (a build from a tarball that knows its commit); plain "0.1.0" otherwise.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        // The checkout may be another user's (a package built as root from a user's clone).
        .args(["-c", "safe.directory=*"])
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=BRIDGEREST_COMMIT");
    let version = env!("CARGO_PKG_VERSION");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let commit = match std::env::var("BRIDGEREST_COMMIT") {
        Ok(c) if !c.trim().is_empty() => Some(c.trim().to_string()),
        // Only this crate's own checkout: not a git repository that happens to contain it.
        _ if PathBuf::from(&manifest).join(".git").exists() => {
            // Rebuild when HEAD moves: HEAD itself, the branch it points at, packed refs.
            for (dir, file) in [
                (git(&["rev-parse", "--git-dir"]), "HEAD"),
                (git(&["rev-parse", "--git-common-dir"]), "packed-refs"),
            ] {
                if let Some(d) = dir {
                    println!(
                        "cargo:rerun-if-changed={}",
                        PathBuf::from(&manifest).join(d).join(file).display()
                    );
                }
            }
            if let (Some(common), Some(branch)) = (
                git(&["rev-parse", "--git-common-dir"]),
                git(&["symbolic-ref", "-q", "HEAD"]),
            ) {
                println!(
                    "cargo:rerun-if-changed={}",
                    PathBuf::from(&manifest).join(common).join(branch).display()
                );
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        }
        _ => None,
    };
    let full = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=BRIDGEREST_VERSION={full}");
}
