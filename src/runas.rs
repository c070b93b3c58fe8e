//! Who runs pgBackRest and PostgreSQL: the run-as user, and the environment every child of
//! bridgerest gets. Just above the ground: it uses fsutil's owner type only.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::unistd::{Gid, Uid, User};

/// The environment of every program bridgerest starts (pgBackRest, PostgreSQL, psql): a fixed
/// PATH, the user's HOME/USER/LOGNAME, the locale, TZ and TERM, and `PGBACKREST_*` (options the
/// operator set for pgBackRest on purpose). Nothing else of bridgerest's: not
/// `BRIDGEREST_API_KEY`, not `CREDENTIALS_DIRECTORY`, not `NOTIFY_SOCKET`. PostgreSQL started by
/// `--start` outlives bridgerest and hands its environment to every `archive-get`.
pub fn child_env(user: Option<&RunAs>) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = vec![(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    )];
    if let Some(u) = user {
        env.push(("HOME".into(), u.home.clone().into_os_string()));
        env.push(("USER".into(), u.name.clone().into()));
        env.push(("LOGNAME".into(), u.name.clone().into()));
    }
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        let keep = matches!(name.as_ref(), "LANG" | "LANGUAGE" | "TZ" | "TERM")
            || name.starts_with("LC_")
            || name.starts_with("PGBACKREST_");
        if keep {
            env.push((k, v));
        }
    }
    env
}

/// The user pgBackRest and PostgreSQL run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
    pub home: PathBuf,
}

/// Why the user to run as cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no user named {0} on this host: pass --user with the user that owns PostgreSQL's files (usually postgres)")]
    NoUser(String),
    #[error("uid {0} has no passwd entry")]
    NoUid(Uid),
    #[error("user name with a NUL byte")]
    NulByte,
    #[error("{what}: {err}")]
    Lookup {
        what: String,
        err: nix::errno::Errno,
    },
}

impl RunAs {
    /// As the owner of files bridgerest makes for this user (applied only when running as root).
    pub fn owner(&self) -> crate::fsutil::Owner {
        crate::fsutil::Owner {
            uid: Some(self.uid),
            gid: Some(self.gid),
        }
    }

    /// What a command printed for the user to run (as root, usually) starts with to run as this
    /// user: nothing if this process runs as it; from root `runuser -u NAME --` (util-linux,
    /// on every Debian host: a stock Debian 12 has no sudo); else `sudo -u NAME`.
    pub fn command_prefix(&self) -> Vec<String> {
        let me = nix::unistd::Uid::effective();
        if me == self.uid {
            Vec::new()
        } else if me.is_root() {
            vec![
                "runuser".into(),
                "-u".into(),
                self.name.clone(),
                "--".into(),
            ]
        } else {
            vec!["sudo".into(), "-u".into(), self.name.clone()]
        }
    }

    pub fn lookup(name: &str) -> Result<RunAs, Error> {
        let looked = |what: String| move |err| Error::Lookup { what, err };
        let user = User::from_name(name)
            .map_err(looked(format!("looking up user {name}")))?
            .ok_or_else(|| Error::NoUser(name.to_string()))?;
        let cname = std::ffi::CString::new(name).map_err(|_| Error::NulByte)?;
        let groups = nix::unistd::getgrouplist(&cname, user.gid)
            .map_err(looked(format!("reading the groups of {name}")))?;
        Ok(RunAs {
            name: name.to_string(),
            uid: user.uid,
            gid: user.gid,
            groups,
            home: user.dir,
        })
    }

    /// Who runs pgBackRest when no one is named: as root, `owner` (`pgbackrest.owner`), else
    /// postgres; otherwise this process's user.
    pub fn default_for(owner: Option<&str>) -> Result<RunAs, Error> {
        match Uid::effective().is_root() {
            true => RunAs::lookup(owner.unwrap_or("postgres")),
            false => RunAs::current(),
        }
    }

    /// The user this process runs as.
    pub fn current() -> Result<RunAs, Error> {
        let uid = Uid::effective();
        let user = User::from_uid(uid)
            .map_err(|err| Error::Lookup {
                what: "looking up the current user".into(),
                err,
            })?
            .ok_or(Error::NoUid(uid))?;
        RunAs::lookup(&user.name)
    }

    /// This user's group, when bridgerest runs as another user (root): the group a file
    /// bridgerest makes for this user's children to read is given to
    /// ([`crate::fsutil::shared_tempdir`]).
    pub fn other_group(&self) -> Option<nix::unistd::Gid> {
        (Uid::effective() != self.uid).then_some(self.gid)
    }

    /// The one way bridgerest runs a program for a while: `program` (never through a shell)
    /// as this user, with [`child_env`] for its environment, stdin closed, stdout and stderr
    /// piped, killed if bridgerest drops it.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        self.apply(&mut cmd, false);
        cmd
    }

    /// A server this user runs beyond bridgerest (the restored PostgreSQL): in a session of its
    /// own, stdin closed, stdout and stderr appended to `log`, left running if bridgerest goes.
    pub fn server(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        log: std::fs::File,
    ) -> std::io::Result<tokio::process::Command> {
        let mut cmd = tokio::process::Command::new(program);
        cmd.stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.apply(&mut cmd, true);
        Ok(cmd)
    }

    /// Makes `cmd` run as this user (from root: groups, gid, uid, set in the child before
    /// exec), and with `new_session` in a session of its own (so it outlives bridgerest), with
    /// [`child_env`] for its environment, not bridgerest's.
    fn apply(&self, cmd: &mut tokio::process::Command, new_session: bool) {
        cmd.env_clear().envs(child_env(Some(self)));
        let switch = Uid::effective() != self.uid;
        if !switch && !new_session {
            return;
        }
        let (uid, gid, groups) = (self.uid, self.gid, self.groups.clone());
        if switch {
            cmd.current_dir("/");
        }
        // SAFETY: only async-signal-safe system calls run between fork and exec; the group
        // list was built before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if new_session {
                    nix::unistd::setsid()?;
                }
                if switch {
                    nix::unistd::setgroups(&groups)?;
                    nix::unistd::setgid(gid)?;
                    nix::unistd::setuid(uid)?;
                }
                Ok(())
            });
        }
    }

    /// Whether this user may do `bits` (0o2 write, 0o1 search) on a file with `meta`.
    pub(crate) fn may(&self, meta: &std::fs::Metadata, bits: u32) -> bool {
        if self.uid.is_root() {
            return true;
        }
        let mode = meta.mode();
        let shift = if meta.uid() == self.uid.as_raw() {
            6
        } else if meta.gid() == self.gid.as_raw()
            || self.groups.iter().any(|g| g.as_raw() == meta.gid())
        {
            3
        } else {
            0
        };
        mode & (bits << shift) == bits << shift
    }
}
