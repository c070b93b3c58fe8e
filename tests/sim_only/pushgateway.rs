//! Debian's Prometheus Pushgateway on a free loopback port, with basic auth (tests of
//! `drill.push_url`: tests/provider_drills.rs, tests/fleet.rs).

use std::path::Path;

/// A Pushgateway of Debian's on a free loopback port, with basic auth (`user`, `password`),
/// stopped when dropped.
pub struct Gateway {
    child: std::process::Child,
    pub url: String,
    user: String,
    password: String,
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
            user: user.into(),
            password: password.into(),
        }
    }

    /// Points the bridgerest config at `config` to this Pushgateway (`drill.push_url`,
    /// `push_user`, and `push_password_file`: `password_file`, written 0600 with the
    /// password); returns the config's new text.
    pub fn configure(&self, config: &Path, password_file: &Path) -> String {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(password_file);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(password_file)
            .unwrap()
            .write_all(format!("{}\n", self.password).as_bytes())
            .unwrap();
        let text = std::fs::read_to_string(config).unwrap().replacen(
            "[drill]\n",
            &format!(
                "[drill]\npush_url = \"{}\"\npush_user = \"{}\"\npush_password_file = \"{}\"\n",
                self.url,
                self.user,
                password_file.display()
            ),
            1,
        );
        assert!(
            text.contains("push_url"),
            "no [drill] in {}",
            config.display()
        );
        std::fs::write(config, &text).unwrap();
        text
    }

    /// What it serves at `path` (e.g. `/metrics`, `/api/v1/metrics`), with its basic auth
    /// (handed to curl on its standard input, not in its arguments).
    pub fn get(&self, path: &str) -> String {
        use std::io::Write;
        let mut curl = std::process::Command::new("curl")
            .args(["-sS", "--fail", "--config", "-"])
            .arg(format!("{}{path}", self.url))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let auth = format!("user = \"{}:{}\"\n", self.user, self.password);
        curl.stdin
            .take()
            .unwrap()
            .write_all(auth.as_bytes())
            .unwrap();
        let out = curl.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// What it serves at /metrics.
    pub fn metrics(&self) -> String {
        self.get("/metrics")
    }
}
