//! The simulator-only benchmark harness (bench/refresh.rs, bench/daemon.rs; bench/restore.rs
//! uses tests/real_stores): the simulator with `n` clusters, and a config for all
//! of them in a temporary directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use bridgerest::sim::{sample_state, SimHandle};

pub const KEY: &str = "cbkey_bench";

pub struct Bench {
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Bench {
    /// `clusters` clusters answered after `latency_ms`; `api` is added to `[api]` and `tables`
    /// (e.g. a `[daemon]` table, `{dir}` standing for the directory) before `[pgbackrest]`.
    pub fn new(clusters: usize, latency_ms: u64, api: &str, tables: &str) -> Bench {
        Bench::with(clusters, latency_ms, api, tables, |_| {})
    }

    /// [`Bench::new`], with the simulator's state changed by `edit` first.
    pub fn with(
        clusters: usize,
        latency_ms: u64,
        api: &str,
        tables: &str,
        edit: impl FnOnce(&mut bridgerest::sim::SimState),
    ) -> Bench {
        let mut state = sample_state(KEY, clusters - 3);
        state.latency_ms = latency_ms;
        edit(&mut state);
        let ids: Vec<String> = state.clusters.iter().map(|c| c.id.clone()).collect();
        let sim = SimHandle::start(state).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(dir.path().join("key"), KEY).unwrap();
        let mut cfg = format!(
            "[api]\nurl = \"{}\"\nkey_file = \"{d}/key\"\n{api}\n\n{}\n\n[pgbackrest]\nconfig = \"{d}/bridgerest.conf\"\n",
            sim.url(),
            tables.replace("{dir}", &d),
        );
        for id in &ids {
            cfg.push_str(&format!(
                "\n[[cluster]]\nid = \"{id}\"\npg1_path = \"/var/lib/postgresql/15/{id}\"\n"
            ));
        }
        let config = dir.path().join("bridgerest.toml");
        std::fs::write(&config, cfg).unwrap();
        Bench { sim, dir, config }
    }

    /// The pgBackRest config the runs write.
    pub fn written(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bridgerest.conf")).unwrap()
    }
}
