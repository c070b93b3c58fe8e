//! A fleet of Bridge clusters in one [`World`]: M clusters in the simulator, each with its own
//! id, stanza and repository path, so M real pgBackRest repositories on the world's store, all
//! fed by the world's one source PostgreSQL (its `archive_command` pushes every WAL file to
//! every stanza, one after another; one full backup per stanza); and a way to break exactly
//! one of them so that its drill fails at the restore while the others pass.

use std::path::PathBuf;
use std::time::Duration;

use super::pg::{Kind, Member, World};

/// Bridge-like cluster ids (26 lowercase letters and digits, the last one of `4aeimquy`), the
/// same on every run: the shards' sizes (rendezvous hashing of the ids) do not change from one
/// run to the next.
fn fleet_ids(m: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(32);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..m)
        .map(|_| {
            let mut id: String = (0..25)
                .map(|_| alphabet[rng.usize(..alphabet.len())] as char)
                .collect();
            id.push(b"4aeimquy"[rng.usize(..8)] as char);
            id
        })
        .collect()
}

impl World {
    /// `m` Bridge clusters, each with a full backup of a tiny database (the `restore_check`
    /// table, rows 1..=100 before the backups and 101..=110 after) in a repository of its own,
    /// the WAL after it archived, the simulator's backup lists synced and the stanzas written
    /// by `bridgerest refresh`: ready to drill, e.g. with `drill --all --shard I/N`.
    ///
    /// `drill.scratch` is left unset, so every drill's copy goes to bridgerest's default,
    /// `/var/lib/bridgerest/drill/<stanza>`: one directory per cluster, as workers that drill
    /// at the same time on one host need. The stanzas carry a random tag, so those directories
    /// are this world's alone.
    pub fn fleet(kind: Kind, m: usize) -> World {
        assert!(m >= 1);
        let tag = &bridgerest::sim::new_eid()[..8];
        let members = fleet_ids(m)
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let stanza = format!("fleet-{tag}-{i}");
                Member {
                    id,
                    name: format!("fleet-{i}"),
                    repo_path: format!("/pgbackrest/{stanza}"),
                    pg1_path: PathBuf::from(format!("restore/15/{stanza}")),
                    stanza,
                }
            })
            .collect();
        let mut w = World::build(kind, 3600, Duration::ZERO, members, false);
        w.refresh();
        w.pg.start();
        // Every stanza before the first WAL switch: the archive_command pushes to all.
        for m in &w.members {
            w.pgbackrest_ok_in(&m.stanza, &["stanza-create"]);
        }
        w.pg.psql("CREATE TABLE restore_check (i int)");
        w.insert(1, 100);
        for m in &w.members {
            w.pgbackrest_ok_in(&m.stanza, &["--type=full", "backup"]);
        }
        w.insert(101, 110);
        // A WAL switch archived into the last stanza has gone into every one before it.
        let last = &w.members[m - 1].stanza;
        w.pgbackrest_ok_in(last, &["check"]);
        for m in &w.members {
            w.sync_backups_of(m);
        }
        w
    }

    /// Breaks `m`'s repository, and only it: a file of its backup (`PG_VERSION`) is removed
    /// from the store with the repository's own credentials, so that a drill's
    /// `pgbackrest restore` fails. Returns the file's path in the repository.
    pub fn break_member(&self, m: &Member) -> String {
        let dir = format!("backup/{}", m.stanza);
        let listing =
            self.pgbackrest_ok_in(&m.stanza, &["--output=json", "--recurse", "repo-ls", &dir]);
        let v: serde_json::Value = serde_json::from_str(&listing).unwrap();
        let file = v
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.contains("/pg_data/PG_VERSION"))
            .unwrap_or_else(|| panic!("no PG_VERSION in {dir}: {listing}"))
            .clone();
        let path = format!("{dir}/{file}");
        self.pgbackrest_ok_in(&m.stanza, &["repo-rm", &path]);
        path
    }
}
