//! `pgbackrest verify`: every backup and archived WAL file of a stanza checked against its
//! checksum, and its output read into a verdict.

use super::child::{output_within, Invocation, Redactor};
use crate::runas::RunAs;

/// `pgbackrest verify` of the stanza's repository: 2.45 has no `--set` for it, so every
/// backup and every archived WAL file is read and checked against its checksum. pgBackRest
/// exits 0 whatever it finds: its summary (`status: error`) and its log lines name the bad
/// files.
pub async fn run(inv: &Invocation, user: &RunAs, redactor: &Redactor) -> (bool, String) {
    let argv = inv.command_argv(&["--output=text", "--log-level-console=info", "verify"]);
    // No time limit of its own: it reads the whole repository, and the drill's timeout
    // bounds it.
    let out = match output_within(&argv, user, &[], None).await {
        Ok(o) => o,
        Err(e) => return (false, e.to_string()),
    };
    let text = redactor.apply(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    verify_result(out.status.success(), &text)
}

/// The verdict and the findings in `pgbackrest verify --output=text --log-level-console=info`
/// output.
pub fn verify_result(exited_ok: bool, text: &str) -> (bool, String) {
    let mut found: Vec<String> = vec![];
    for l in text.lines() {
        let l = l.trim();
        if let Some((_, msg)) = l.split_once("INFO: ") {
            if !msg.starts_with("verify command") && !msg.starts_with("stanza:") {
                found.push(msg.trim().to_string());
            }
        } else if let Some((_, msg)) = l.split_once("ERROR: ").or_else(|| l.split_once("WARN: ")) {
            found.push(msg.trim().to_string());
        } else if (l.starts_with("backup:") || l.starts_with("archiveId:"))
            && l.contains("status: invalid")
        {
            found.push(l.to_string());
        }
    }
    found.dedup();
    let error = !exited_ok || text.lines().any(|l| l.trim() == "status: error");
    match (error, found.is_empty()) {
        (false, _) => (
            true,
            "every backup and archived WAL file matches its checksum".into(),
        ),
        (true, true) => (
            false,
            "pgbackrest verify failed and named no file: see pgBackRest's log".into(),
        ),
        (true, false) => (false, crate::text::excerpt(&found.join("; "), 600)),
    }
}
