//! A real node_exporter serving bridgerest's Prometheus file (its textfile collector) and a
//! real Prometheus scraping it every second with bridgerest's alert rules loaded; asked
//! through Prometheus's HTTP API.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_until};

pub struct Monitoring {
    node: Child,
    prom: Child,
    port: u16,
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        for c in [&mut self.node, &mut self.prom] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Monitoring {
    /// node_exporter on `textfiles` (the directory of daemon.prometheus_textfile), Prometheus
    /// with its data under `dir`.
    pub fn start(textfiles: &Path, dir: &Path) -> Monitoring {
        let node_port = free_port();
        let node = Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{node_port}"))
            .args(["--collector.disable-defaults", "--collector.textfile"])
            .arg(format!(
                "--collector.textfile.directory={}",
                textfiles.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run prometheus-node-exporter ({e}): apt-get install prometheus-node-exporter (or run `bash .ci/run`)")
            });
        // The shipped rules, with each `for:` cut to 5 s: what is tested here is that real
        // Prometheus evaluates them on the file bridgerest writes; how long each waits is
        // tested by promtool's unit tests (tests/alerts.rs), in simulated time.
        let shipped =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus/bridgerest-rules.yml");
        std::fs::create_dir_all(dir).unwrap();
        let rules = dir.join("bridgerest-rules.yml");
        let text: String = std::fs::read_to_string(&shipped)
            .unwrap()
            .lines()
            .map(|l| match l.trim_start().starts_with("for: ") {
                true => format!("{}for: 5s\n", &l[..l.len() - l.trim_start().len()]),
                false => format!("{l}\n"),
            })
            .collect();
        assert!(text.contains("for: 5s"), "{text}");
        std::fs::write(&rules, text).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{node_port}']\n",
                rules.display()
            ),
        )
        .unwrap();
        let port = free_port();
        let prom = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run prometheus ({e}): apt-get install prometheus"));
        let m = Monitoring { node, prom, port };
        wait_until("Prometheus to be ready", Duration::from_secs(60), || {
            m.get("/-/ready").is_some_and(|b| b.contains("Ready"))
        });
        m
    }

    /// The body of a GET of `path` (plain HTTP/1.0 to 127.0.0.1), if it answered 200.
    fn get(&self, path: &str) -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.0 200").then(|| body.to_string())
    }

    /// The result of the instant query `q` (`data.result`).
    pub fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let body = self
            .get(&format!("/api/v1/query?query={enc}"))
            .unwrap_or_else(|| panic!("Prometheus refused the query {q}"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The alerts firing now, as (alertname, cluster).
    /// The labels of every firing alert named `name`.
    pub fn firing_labels(&self, name: &str) -> Vec<serde_json::Value> {
        let body = self.get("/api/v1/alerts").unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["state"] == "firing" && a["labels"]["alertname"] == name)
            .map(|a| a["labels"].clone())
            .collect()
    }

    pub fn firing(&self) -> Vec<(String, String)> {
        let body = self.get("/api/v1/alerts").unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|a| a["state"] == "firing")
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                    a["labels"]["cluster"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}
