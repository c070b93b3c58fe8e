//! The `pgbackrest` child processes: the command line, `info`, and the restore itself (its
//! progress, its errors, redaction of credentials in its output, and whether the store refused
//! the credentials).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use super::error::{Error, Result, INSTALL};
use crate::runas::RunAs;
use crate::when::{pgbackrest_time, Stop, TargetAction};

/// Everything the `pgbackrest restore` command line is made of.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub bin: PathBuf,
    /// `--config` / `--config-include-path`, when the config sets them (else pgBackRest's own).
    pub main_config: Option<PathBuf>,
    pub include_path: Option<PathBuf>,
    pub stanza: String,
    pub pg1_path: PathBuf,
    /// `--set`: the backup to restore; `None` lets pgBackRest choose.
    pub set: Option<String>,
    pub target: Stop,
    pub action: TargetAction,
    pub process_max: usize,
    pub delta: bool,
    pub force: bool,
    /// WAL fetched ahead, in parallel, during the recovery (`None`: pgBackRest's own
    /// `restore_command`, one segment per `archive-get`).
    pub prefetch: Option<Prefetch>,
    /// `--tablespace-map-all`: every tablespace restored into `<dir>/<its name>` instead of
    /// its original path (a drill's copy keeps its tablespaces beside it, #29 finding 10).
    pub tablespace_map_all: Option<PathBuf>,
}

/// How the restored server's `restore_command` fetches WAL: pgBackRest's asynchronous
/// `archive-get`, which keeps up to `queue_max` of the next segments in `spool`, fetched by
/// `process_max` processes, so PostgreSQL seldom waits on the store for a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefetch {
    /// The pgbackrest binary, absolute (PostgreSQL runs the command with its own PATH).
    pub bin: PathBuf,
    /// `None`: the user's own `spool-path` applies.
    pub spool: Option<PathBuf>,
    pub process_max: usize,
    /// `None`: the user's own `archive-get-queue-max` applies.
    pub queue_max: Option<&'static str>,
}

impl Invocation {
    /// The binary, the config files when set, and the stanza: what every command here starts with.
    fn base_argv(&self) -> Vec<String> {
        let mut a = vec![self.bin.to_string_lossy().into_owned()];
        if let Some(c) = &self.main_config {
            a.push(format!("--config={}", c.display()));
        }
        if let Some(i) = &self.include_path {
            a.push(format!("--config-include-path={}", i.display()));
        }
        a.push(format!("--stanza={}", self.stanza));
        a
    }

    /// `pgbackrest <args>` for the same stanza and config files (the repository commands).
    pub fn command_argv(&self, args: &[&str]) -> Vec<String> {
        let mut a = self.base_argv();
        a.extend(args.iter().map(|s| s.to_string()));
        a
    }

    /// `pgbackrest info --output=json` for the same stanza and config files.
    pub fn info_argv(&self) -> Vec<String> {
        self.command_argv(&["--output=json", "info"])
    }

    /// The argument vector (no secrets: those stay in the config file).
    pub fn argv(&self) -> Vec<String> {
        let mut a = self.base_argv();
        a.push(format!("--pg1-path={}", self.pg1_path.display()));
        if let Some(set) = &self.set {
            a.push(format!("--set={set}"));
        }
        match self.target {
            Stop::Time(t) => {
                a.push("--type=time".into());
                a.push(format!("--target={}", pgbackrest_time(t)));
                a.push(format!("--target-action={}", self.action.as_str()));
            }
            Stop::Latest => {
                a.push("--type=default".into());
                // PostgreSQL's default at the end of WAL is to promote; other actions apply to
                // a target only, so pgBackRest takes them with --type=default too (2.45 refuses
                // --target-action there).
            }
        }
        a.push(format!("--process-max={}", self.process_max));
        if let Some(dir) = &self.tablespace_map_all {
            a.push(format!("--tablespace-map-all={}", dir.display()));
        }
        if let Some(cmd) = self.restore_command() {
            a.push(format!("--recovery-option=restore_command={cmd}"));
        }
        a.push("--log-level-console=detail".into());
        if self.delta {
            a.push("--delta".into());
        }
        if self.force {
            a.push("--force".into());
        }
        a.push("restore".into());
        a
    }

    /// The command line as a user would type it (shell-quoted where needed).
    pub fn shown(&self) -> String {
        shell_line(&self.argv())
    }

    /// The `restore_command` written for the restored server when WAL is prefetched: the
    /// same config files, stanza and data directory, asynchronous. Every word is plain (no quoting: the
    /// command goes through pgBackRest into `postgresql.auto.conf`, then through a shell);
    /// [`Prefetch`] is only made for paths that are.
    pub fn restore_command(&self) -> Option<String> {
        let p = self.prefetch.as_ref()?;
        let mut a = self.base_argv();
        a[0] = p.bin.to_string_lossy().into_owned();
        // archive-get checks that PostgreSQL runs it in pg1-path (error 32 otherwise), as the
        // restore_command pgBackRest writes itself says.
        a.push(format!("--pg1-path={}", self.pg1_path.display()));
        a.push("--archive-async".to_string());
        if let Some(s) = &p.spool {
            a.push(format!("--spool-path={}", s.display()));
        }
        if let Some(q) = p.queue_max {
            a.push(format!("--archive-get-queue-max={q}"));
        }
        a.extend([
            format!("--process-max={}", p.process_max),
            "archive-get".to_string(),
        ]);
        a.iter()
            .all(|w| is_plain(w))
            .then(|| format!("{} %f \"%p\"", a.join(" ")))
    }
}

/// A word a shell and `postgresql.auto.conf` take as it is.
pub fn is_plain(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.,:=+@".contains(c))
}

/// Joins arguments for display, quoting those a shell would split.
pub fn shell_line(argv: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-/.,:=+@%".contains(c);
    argv.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(plain) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What in pgBackRest's output says the object store refused the credentials: the store's error
/// codes (most telling first), then the HTTP statuses pgBackRest reports them with.
const REFUSALS: &[&str] = &[
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "AccessDenied",
    "SignatureDoesNotMatch",
    "AuthorizationFailure",
    "AuthenticationFailed",
    "AuthorizationPermissionMismatch",
    "failed with 401",
    "failed with 403",
    "failed with 400",
];

/// Whether a refusal is only an HTTP status (a store's error code says more).
fn is_status(refusal: &str) -> bool {
    refusal.starts_with("failed with")
}

/// The refusal a line of pgBackRest output reports, if any.
pub fn refusal(line: &str) -> Option<&'static str> {
    let lower = line.to_ascii_lowercase();
    REFUSALS
        .iter()
        .find(|r| lower.contains(&r.to_ascii_lowercase()))
        .copied()
}

/// The running percentage in a `restore file ... (8KB, 45.12%)` detail line.
pub fn progress_percent(line: &str) -> Option<f64> {
    if !line.contains("restore file ") {
        return None;
    }
    let end = line.find("%)")?;
    let start = line[..end].rfind([' ', '('])? + 1;
    line[start..end].parse().ok()
}

/// What pgBackRest's output line says about reaching the store, when it says it cannot: the
/// connection, the name, TLS, a bucket or container that is not there, no answer in time.
/// pgBackRest goes on to a misleading error after these (75 "unable to find backup set" for a
/// restore, 103 for `archive-get`): the line is the cause.
pub fn unreachable(line: &str) -> Option<&'static str> {
    const KINDS: &[(&str, &str)] = &[
        ("connection refused", "connection refused"),
        (
            "unable to get address",
            "the store's host name does not resolve",
        ),
        (
            "certificate verify failed",
            "TLS: the store's certificate is not trusted",
        ),
        (
            "unable to verify certificate",
            "TLS: the store's certificate is not trusted",
        ),
        ("[cryptoerror]", "TLS failed"),
        ("tls error", "TLS failed"),
        ("[hostconnecterror]", "cannot connect to the store"),
        ("unable to connect to", "cannot connect to the store"),
        ("nosuchbucket", "no such bucket"),
        ("bucket does not exist", "no such bucket"),
        ("containernotfound", "no such container"),
        ("timeout after", "the store did not answer in time"),
    ];
    let lower = line.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|(pat, _)| lower.contains(pat))
        .map(|(_, kind)| *kind)
}

/// pgBackRest's error code in an `ERROR: [075]: ...` line.
pub fn error_code(line: &str) -> Option<u32> {
    let rest = &line[line.find("ERROR: [")? + 8..];
    rest[..rest.find(']')?].parse().ok()
}

/// Hides credentials that may appear in pgBackRest's output: [`crate::redact`]'s, which the
/// secrets given here join (an Azure SAS `sig=` is hidden whoever's it is).
#[derive(Debug, Default, Clone)]
pub struct Redactor;

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        for s in secrets {
            crate::redact::register_issued(&s);
        }
        Redactor
    }

    pub fn apply(&self, line: &str) -> String {
        crate::redact::apply(line)
    }
}

/// How progress is shown: a bar on a terminal, a log line now and then otherwise.
pub enum Progress {
    Bar(indicatif::ProgressBar),
    Log {
        last: Option<Instant>,
        every: Duration,
        /// 100% has been logged (this run).
        done: bool,
    },
}

impl Progress {
    pub fn new(terminal: bool) -> Progress {
        if terminal {
            let bar = indicatif::ProgressBar::new(10_000);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "restore [{bar:40}] {percent:>3}% {elapsed_precise} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            Progress::Bar(bar)
        } else {
            Progress::Log {
                last: None,
                every: Duration::from_secs(5),
                done: false,
            }
        }
    }

    fn update(&mut self, pct: f64) {
        match self {
            Progress::Bar(b) => b.set_position((pct * 100.0) as u64),
            Progress::Log { last, every, done } => {
                let finished = pct >= 100.0;
                if !*done && (finished || last.is_none_or(|l| l.elapsed() >= *every)) {
                    tracing::info!("restore {pct:.1}% done");
                    *last = Some(Instant::now());
                    *done = finished;
                }
            }
        }
    }

    fn message(&self, line: &str) {
        match self {
            Progress::Bar(b) => b.println(line),
            // Off a terminal, pgBackRest's warnings and errors are log lines like the rest.
            Progress::Log { .. } => tracing::warn!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

/// How one `pgbackrest restore` run ended.
#[derive(Debug, Default)]
pub struct RunResult {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// The first refusal of the credentials seen in its output.
    pub refusal: Option<&'static str>,
    /// Its `ERROR:` lines, redacted.
    pub errors: Vec<String>,
    /// The first line saying the store could not be reached ([`unreachable()`](fn@unreachable)): its kind and
    /// the line, redacted.
    pub unreachable: Option<(&'static str, String)>,
    /// The last progress percentage it reported.
    pub percent: f64,
}

impl RunResult {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// One line for the user: pgBackRest's error (with its code), or the exit status.
    pub fn describe(&self) -> String {
        let status = match self.code {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".into(),
        };
        match self.errors.first() {
            Some(e) => format!("{status}: {}", e.trim()),
            None => status,
        }
    }
}

/// The most of a child's stdout bridgerest reads (`pgbackrest info` of a large repository,
/// a decompressed 16 MiB WAL segment, `pg_amcheck`'s report, with room to spare).
pub const MAX_STDOUT: u64 = 64 << 20;
/// The most of a child's stderr bridgerest reads.
pub const MAX_STDERR: u64 = 4 << 20;

/// Runs `cmd` (its stdin as set, or `input` fed to it) and collects its output, at most
/// [`MAX_STDOUT`] and [`MAX_STDERR`]: a child that prints more is killed and
/// [`Error::TooMuch`]; one that runs past `limit` is killed and [`Error::Timeout`]. How every
/// child's output is read: a program's output is foreign text of any size.
pub async fn capped_output(
    cmd: tokio::process::Command,
    program: &str,
    hint: &'static str,
    input: Option<Vec<u8>>,
    limit: Option<Duration>,
) -> Result<std::process::Output> {
    capped_output_of(cmd, program, hint, input, limit, false).await
}

/// Like [`capped_output`], the child in a process group of its own, which is killed whole
/// (SIGKILL to the group) when it runs past `limit`, prints too much, or has exited: nothing
/// it started outlives it. For an operator's own command (`drill.command`).
pub async fn group_output(
    cmd: tokio::process::Command,
    program: &str,
    limit: Duration,
) -> Result<std::process::Output> {
    capped_output_of(cmd, program, "", None, Some(limit), true).await
}

async fn capped_output_of(
    mut cmd: tokio::process::Command,
    program: &str,
    hint: &'static str,
    input: Option<Vec<u8>>,
    limit: Option<Duration>,
    group: bool,
) -> Result<std::process::Output> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if group {
        cmd.process_group(0);
    }
    if input.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|err| Error::Spawn {
        program: program.to_string(),
        hint,
        err,
    })?;
    // The group's id is the child's pid (process_group(0)).
    let pgid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .filter(|_| group)
        .map(nix::unistd::Pid::from_raw);
    let kill_group = move || {
        if let Some(g) = pgid {
            let _ = nix::sys::signal::killpg(g, nix::sys::signal::Signal::SIGKILL);
        }
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let wait = |e| Error::Wait {
        program: program.to_string(),
        err: e,
    };
    enum Cut {
        Io(std::io::Error),
        TooMuch(&'static str, u64),
    }
    // Reads one stream up to `max` bytes; more stops everything at once (the child, blocked
    // on a full pipe, would never close the other stream).
    async fn read(
        r: Option<impl tokio::io::AsyncRead + Unpin>,
        max: u64,
        stream: &'static str,
    ) -> std::result::Result<Vec<u8>, Cut> {
        let mut buf = Vec::new();
        let Some(r) = r else { return Ok(buf) };
        let n = r
            .take(max + 1)
            .read_to_end(&mut buf)
            .await
            .map_err(Cut::Io)?;
        match n as u64 > max {
            true => Err(Cut::TooMuch(stream, max)),
            false => Ok(buf),
        }
    }
    let run = async {
        // Fed beside the reading of its output: a program that writes before it has read all
        // of its input must not wait on us.
        let feed = async move {
            if let (Some(mut w), Some(input)) = (stdin, input) {
                let _ = w.write_all(&input).await;
            }
            Ok::<(), Cut>(())
        };
        tokio::try_join!(
            feed,
            read(stdout, MAX_STDOUT, "stdout"),
            read(stderr, MAX_STDERR, "stderr")
        )
    };
    let timed = match limit {
        Some(limit) => tokio::time::timeout(limit, run).await.ok(),
        None => Some(run.await),
    };
    let (stdout, stderr) = match timed {
        Some(Ok(((), o, e))) => (o, e),
        None => {
            kill_group();
            let _ = child.kill().await;
            return Err(Error::Timeout {
                program: program.to_string(),
                limit: limit.unwrap_or_default(),
            });
        }
        Some(Err(Cut::TooMuch(stream, max))) => {
            kill_group();
            let _ = child.kill().await;
            return Err(Error::TooMuch {
                program: program.to_string(),
                stream,
                max,
            });
        }
        Some(Err(Cut::Io(e))) => {
            kill_group();
            let _ = child.kill().await;
            return Err(wait(e));
        }
    };
    let status = child.wait().await.map_err(wait)?;
    kill_group();
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs `argv` (never through a shell) as `user` with the [`crate::runas::child_env`]
/// environment plus `env`, and returns its output; at most two minutes.
pub async fn output_as(
    argv: &[String],
    user: &RunAs,
    env: &[(&str, &str)],
) -> Result<std::process::Output> {
    output_within(argv, user, env, Some(Duration::from_secs(120))).await
}

/// Like [`output_as`], within `limit` (`None`: no limit of its own).
pub async fn output_within(
    argv: &[String],
    user: &RunAs,
    env: &[(&str, &str)],
    limit: Option<Duration>,
) -> Result<std::process::Output> {
    let (bin, args) = argv.split_first().ok_or(Error::Empty)?;
    let mut cmd = user.command(bin);
    cmd.args(args).envs(env.iter().copied());
    capped_output(cmd, bin, "", None, limit).await
}

/// Runs `argv` (never through a shell) as `user`, as [`output_as`] does, with `input` on its
/// stdin; `hint` says what to install when it cannot be started.
pub async fn output_fed(
    argv: &[String],
    user: &RunAs,
    input: Vec<u8>,
    hint: &'static str,
) -> Result<std::process::Output> {
    let (bin, args) = argv.split_first().ok_or(Error::Empty)?;
    let mut cmd = user.command(bin);
    cmd.args(args);
    capped_output(cmd, bin, hint, Some(input), Some(Duration::from_secs(120))).await
}

/// pgBackRest's `io-timeout` for a probe of the repository (a dry run, `check`): a store
/// that does not answer is named within seconds, by pgBackRest's own error.
pub const PROBE_IO_TIMEOUT: &str = "--io-timeout=5";
/// The deadline of a whole probe.
pub const PROBE_LIMIT: Duration = Duration::from_secs(30);

/// The repository's own list of the stanza's backups and WAL (`pgbackrest info` as `user`);
/// with `probe`, within [`PROBE_LIMIT`] and pgBackRest's own [`PROBE_IO_TIMEOUT`].
pub async fn repo_info(
    inv: &Invocation,
    user: &RunAs,
    probe: bool,
) -> Result<crate::pgbackrest::RepoInfo> {
    let out = match probe {
        true => {
            let argv = inv.command_argv(&[PROBE_IO_TIMEOUT, "--output=json", "info"]);
            output_within(&argv, user, &[], Some(PROBE_LIMIT)).await?
        }
        false => output_as(&inv.info_argv(), user, &[]).await?,
    };
    if !out.status.success() {
        return Err(Error::Failed {
            what: "pgbackrest info".into(),
            status: out.status,
            stderr: crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 300),
        });
    }
    crate::pgbackrest::parse_info(&String::from_utf8_lossy(&out.stdout), &inv.stanza)
}

/// Runs `argv` (never through a shell) as `user`, shows its progress, forwards its warnings and
/// errors (redacted), and reports how it ended.
pub async fn run_pgbackrest(
    argv: &[String],
    user: &RunAs,
    progress: &mut Progress,
    redactor: &Redactor,
) -> Result<RunResult> {
    let (bin, args) = argv.split_first().ok_or(Error::Empty)?;
    let mut cmd = user.command(bin);
    cmd.args(args);
    let mut child = cmd.spawn().map_err(|err| Error::Spawn {
        program: bin.clone(),
        hint: INSTALL,
        err,
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_lines(BufReader::new(out), tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_lines(BufReader::new(err), tx.clone()));
    }
    drop(tx);
    if let Progress::Log { done, .. } = progress {
        *done = false;
    }
    let mut res = RunResult::default();
    while let Some(line) = rx.recv().await {
        if let Some(p) = progress_percent(&line) {
            res.percent = p;
            progress.update(p);
            continue;
        }
        // Keep the store's error code over the bare HTTP status that precedes it.
        if res.refusal.is_none_or(is_status) {
            if let Some(r) = refusal(&line) {
                if res.refusal.is_none() || !is_status(r) {
                    res.refusal = Some(r);
                }
            }
        }
        let shown = redactor.apply(&line);
        if res.unreachable.is_none() && (line.contains("ERROR:") || line.contains("WARN:")) {
            if let Some(kind) = unreachable(&line) {
                res.unreachable = Some((kind, crate::text::excerpt(shown.trim(), 300)));
            }
        }
        if line.contains("ERROR:") {
            res.errors.push(shown.clone());
            progress.message(&format!("pgbackrest: {}", shown.trim()));
        } else if line.contains("WARN:") {
            progress.message(&format!("pgbackrest: {}", shown.trim()));
        } else {
            tracing::debug!("pgbackrest: {}", shown.trim());
        }
    }
    let status = child.wait().await.map_err(|err| Error::Wait {
        program: "pgbackrest".into(),
        err,
    })?;
    res.code = status.code();
    Ok(res)
}

async fn forward_lines<R: tokio::io::AsyncBufRead + Unpin>(
    reader: R,
    tx: tokio::sync::mpsc::Sender<String>,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {

    /// A program that prints without end is stopped at the cap, at once, not read into memory
    /// (#29: child output is foreign text of any size).
    #[tokio::test]
    async fn endless_output_is_cut_off_and_named() {
        let mut cmd = tokio::process::Command::new("yes");
        cmd.arg("y");
        let started = std::time::Instant::now();
        let e = capped_output(cmd, "yes", "", None, Some(Duration::from_secs(60)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooMuch {
                    stream: "stdout",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("yes printed more than 64"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(30));
        // Endless stderr with a quiet stdout too.
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args(["-c", "yes 1>&2"]);
        let e = capped_output(cmd, "sh", "", None, Some(Duration::from_secs(60)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooMuch {
                    stream: "stderr",
                    ..
                }
            ),
            "{e}"
        );
        // What fits is read whole, with input fed.
        let out = capped_output(
            tokio::process::Command::new("cat"),
            "cat",
            "",
            Some(b"abc".to_vec()),
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
        assert_eq!(
            (out.status.success(), out.stdout.as_slice()),
            (true, &b"abc"[..])
        );
    }
    use super::*;
    use time::macros::datetime;

    #[test]
    fn unreachable_stores_are_told_from_a_missing_backup() {
        for (line, kind) in [
            ("P00   WARN: repo1: [HostConnectError] unable to connect to '127.0.0.1:1 (127.0.0.1)': [111] Connection refused", "connection refused"),
            ("P00  ERROR: [049]: unable to get address for 'nowhere.invalid': [-2] Name or service not known", "the store's host name does not resolve"),
            ("P00   WARN: repo1: [CryptoError] unable to verify certificate presented by 'localhost:8443': [20] unable to get local issuer certificate", "TLS: the store's certificate is not trusted"),
            ("P00   WARN: repo1: [CryptoError] TLS error [1:167772427] unexpected eof while reading", "TLS failed"),
            ("P00   WARN: repo1: [FileMissingError] ... <Code>NoSuchBucket</Code>", "no such bucket"),
        ] {
            assert_eq!(unreachable(line), Some(kind), "{line}");
        }
        assert_eq!(
            unreachable("P00  ERROR: [075]: unable to find backup set with stop time less than '2026-11-21 09:14:00+00'"),
            None
        );
        assert_eq!(
            unreachable("P00   WARN: repo1: [039] HTTP request failed with 403 (Forbidden)"),
            None
        );
    }

    #[test]
    fn reads_pgbackrest_output() {
        assert_eq!(
            progress_percent(
                "P01 DETAIL: restore file /r/base/5/1249 (440KB, 12.34%) checksum 0d2f5c"
            ),
            Some(12.34)
        );
        assert_eq!(
            progress_percent(
                "P00 DETAIL: restore file /r/global/pg_control (8KB, 100.00%) checksum a"
            ),
            Some(100.0)
        );
        assert_eq!(
            progress_percent("P00 INFO: restore size = 22.2MB, file total = 970"),
            None
        );
        assert_eq!(
            error_code("P00  ERROR: [075]: unable to find backup set with stop time less than '2026-11-21 09:14:00+00'"),
            Some(75)
        );
        for line in [
            "P00   WARN: repo1: [FileReadError] HTTP request failed with 403 (Forbidden):",
            "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>",
            "P01  ERROR: [039]: HTTP request failed with 400 (Bad Request):",
            "<Code>AuthorizationFailure</Code>",
        ] {
            assert!(refusal(line).is_some(), "{line}");
        }
        assert_eq!(
            refusal("P00  ERROR: [040]: unable to restore to path '/x' because it contains files"),
            None
        );
    }

    #[test]
    fn redacts_known_secrets_and_sas_signatures() {
        let r = Redactor::new(["s3cr/et+key".to_string()]);
        assert_eq!(
            r.apply("key s3cr/et+key and s3cr%2Fet%2Bkey"),
            "key [redacted] and [redacted]"
        );
        assert_eq!(
            r.apply("/c/x?sv=2018-11-09&sig=abc%2Fdef&se=2026"),
            "/c/x?sv=2018-11-09&sig=[redacted]&se=2026"
        );
    }

    #[test]
    fn command_line_has_the_set_and_no_shell() {
        let inv = Invocation {
            bin: "/usr/bin/pgbackrest".into(),
            main_config: Some("/etc/pgbackrest/pgbackrest.conf".into()),
            include_path: Some("/etc/pgbackrest/conf.d".into()),
            stanza: "main".into(),
            pg1_path: "/var/lib/postgresql/15/restore".into(),
            set: Some("20261121-010000F".into()),
            target: Stop::Time(datetime!(2026-11-21 09:14:00 UTC)),
            action: TargetAction::Promote,
            process_max: 2,
            delta: true,
            force: false,
            prefetch: None,
            tablespace_map_all: None,
        };
        assert_eq!(inv.shown(), "/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=main --pg1-path=/var/lib/postgresql/15/restore --set=20261121-010000F --type=time '--target=2026-11-21 09:14:00+00' --target-action=promote --process-max=2 --log-level-console=detail --delta restore");
        assert_eq!(inv.argv()[7], "--target=2026-11-21 09:14:00+00");
        // With prefetch, the restored server's restore_command is asynchronous, with the same
        // config files and stanza; a path a shell would split gets none.
        let mut p = Invocation {
            prefetch: Some(Prefetch {
                bin: "/usr/bin/pgbackrest".into(),
                spool: Some("/var/spool/pgbackrest".into()),
                process_max: 4,
                queue_max: Some("512MiB"),
            }),
            ..inv
        };
        assert!(p.argv().contains(&"--recovery-option=restore_command=/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=main --pg1-path=/var/lib/postgresql/15/restore --archive-async --spool-path=/var/spool/pgbackrest --archive-get-queue-max=512MiB --process-max=4 archive-get %f \"%p\"".to_string()));
        // A drill's copy keeps its tablespaces beside it.
        p.tablespace_map_all = Some("/var/lib/bridgerest/drill/copy.tablespaces".into());
        assert!(p.argv().contains(
            &"--tablespace-map-all=/var/lib/bridgerest/drill/copy.tablespaces".to_string()
        ));
        p.main_config = Some("/etc/my pgbackrest.conf".into());
        assert_eq!(p.restore_command(), None);
        assert!(!p.argv().iter().any(|a| a.starts_with("--recovery-option")));
    }
}
