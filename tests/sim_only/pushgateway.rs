//! Debian's Prometheus Pushgateway on a free loopback port, with basic auth (tests of
//! `drill.push_url`: tests/provider_drills.rs, tests/fleet.rs).

use std::path::Path;

/// A Pushgateway of Debian's on a free loopback port, with basic auth (`user`, `password`),
/// stopped when dropped.
pub struct Gateway {
    child: std::process::Child,
    pub url: String,
    auth: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// Starts one whose web config (the bcrypt of `password`) is written in `dir`.
    pub fn start(dir: &Path, user: &str, password: &str) -> Gateway {
        let bin = "/usr/bin/prometheus-pushgateway";
        assert!(
            Path::new(bin).exists(),
            "{bin} not found: apt-get install prometheus-pushgateway apache2-utils (or bash .ci/run)"
        );
        let hash = std::process::Command::new("htpasswd")
            .args(["-nbBC", "4", user, password])
            .output()
            .unwrap();
        assert!(hash.status.success(), "htpasswd: {hash:?}");
        let line = String::from_utf8(hash.stdout).unwrap();
        let bcrypt = line.trim().split_once(':').unwrap().1.to_string();
        let web = dir.join("gateway-web.yml");
        std::fs::write(&web, format!("basic_auth_users:\n  {user}: '{bcrypt}'\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.config.file={}", web.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "the Pushgateway did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            auth: format!("{user}:{password}"),
        }
    }

    /// What it serves at `path` (e.g. `/metrics`, `/api/v1/metrics`), with its basic auth.
    pub fn get(&self, path: &str) -> String {
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--fail",
                "-u",
                &self.auth,
                &format!("{}{path}", self.url),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// What it serves at /metrics.
    pub fn metrics(&self) -> String {
        self.get("/metrics")
    }
}
