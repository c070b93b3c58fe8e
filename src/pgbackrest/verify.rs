//! `pgbackrest verify`: a backup set, or every backup and archived WAL file of a stanza, checked
//! against its checksums, and its output read into a verdict.

use super::child::{output_within, Invocation, Redactor};
use crate::runas::RunAs;

/// The first pgBackRest with `verify --set` ("Allow verification of a specified backup",
/// 2.55.0's release notes).
pub const SET_SINCE: (u32, u32) = (2, 55);

/// What `pgbackrest verify` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `--set=LABEL`: that backup set's files and the WAL it needs (pgBackRest ≥ 2.55).
    Set(String),
    /// Every backup and every archived WAL file of the stanza.
    Repository,
}

impl Form {
    /// The arguments before the `verify` command word.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--output=text".to_string(),
            "--log-level-console=info".to_string(),
        ];
        if let Form::Set(label) = self {
            a.push(format!("--set={label}"));
        }
        a
    }
}

/// `pgbackrest verify` of the stanza's repository, in the form given. pgBackRest exits 0
/// whatever it finds: its summary (`status: error`) and its log lines name the bad files.
pub async fn run(
    inv: &Invocation,
    user: &RunAs,
    redactor: &Redactor,
    form: &Form,
) -> (bool, String) {
    let args = form.args();
    let mut words: Vec<&str> = args.iter().map(String::as_str).collect();
    words.push("verify");
    let argv = inv.command_argv(&words);
    // No time limit of its own: the drill's timeout bounds it.
    let out = match output_within(&argv, user, &[], None).await {
        Ok(o) => o,
        Err(e) => return (false, e.to_string()),
    };
    let text = redactor.apply(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    let (ok, detail) = verify_result(out.status.success(), &text);
    match (ok, form) {
        (true, Form::Set(label)) => (
            true,
            format!("every file of backup set {label} and the WAL it needs matches its checksum"),
        ),
        _ => (ok, detail),
    }
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
